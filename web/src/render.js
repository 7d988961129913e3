// Rendering of a parsed message (postal-mime's result) into the page. The
// message is untrusted: everything goes in as text (textContent), except
// the HTML part, which is sanitised by DOMPurify and then shown inside a
// sandboxed iframe without scripts or forms, under its own CSP. The frame
// is same-origin with this page (allow-same-origin, so that restyle below
// can apply the message's CSS through the CSSOM): the sanitiser, not the
// sandbox alone, is what keeps markup that could act on this page out.

import DOMPurify from 'dompurify';
import { encodeBase64 } from './armor.js';
import { t } from './i18n.js';
import { LongText } from './long-text.js';

const el = (tag, props = {}, ...children) => {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(props)) {
    if (k === 'class') e.className = v;
    else if (k === 'text') e.textContent = v;
    else e.setAttribute(k, v);
  }
  for (const c of children) if (c != null) e.append(c);
  return e;
};

export function formatAddress(a) {
  if (!a) return '';
  if (a.group) return `${a.name || ''}: ${a.group.map(formatAddress).join(', ')};`;
  if (a.name && a.address) return `${a.name} <${a.address}>`;
  return a.address || a.name || '';
}

const formatList = (l) => (l || []).map(formatAddress).join(', ');

export function formatSize(n) {
  if (n < 1024) return t('{n} bytes', { n });
  if (n < 1024 * 1024) return `${(n / 1024).toFixed(1)} KB`;
  return `${(n / 1024 / 1024).toFixed(1)} MB`;
}

function formatDate(d) {
  if (!d) return '';
  const t = new Date(d);
  return isNaN(t) ? String(d) : t.toLocaleString();
}

// The iframe's own policy. The default blocks every remote load: remote
// images are how mail tracks its readers. The frame also inherits the
// page's policy (a srcdoc document does, measured in Chromium), whose
// style-src admits only the page's own style: mail's <style> elements and
// style attributes are applied by restyle below instead.
const CSP_BLOCKED = "default-src 'none'; img-src data:";
const CSP_IMAGES = "default-src 'none'; img-src data: https: http:";

// What the sanitiser removes beyond its defaults (it already drops
// scripts, event handlers and javascript: URLs, and handles the
// namespace-confusion tricks of MathML, SVG and <style>): anything that
// navigates, loads or re-configures the frame (meta: a hostile
// referrer policy or refresh; base; frames, objects, links), forms, and
// <template>, whose declarative shadow roots come alive when the frame
// parses its srcdoc. Named elements are prefixed (SANITIZE_NAMED_PROPS),
// so <img name=querySelectorAll> clobbers nothing.
const PURIFY = {
  WHOLE_DOCUMENT: true,
  RETURN_DOM: true,
  SANITIZE_NAMED_PROPS: true,
  FORBID_TAGS: ['meta', 'base', 'link', 'script', 'iframe', 'frame', 'frameset', 'object', 'embed', 'portal', 'template', 'form', 'input', 'button', 'select', 'textarea', 'noscript'],
  FORBID_ATTR: ['action', 'formaction', 'ping'],
};

// URL-bearing attributes of resources (images, SVG image/use/feImage):
// cid: becomes the inline part, remote URLs wait for "Show images", the
// rest (relative URLs resolve against this page) is removed.
const RESOURCE_ATTRS = ['src', 'background', 'poster', 'href', 'xlink:href'];

// prepareHTML sanitises the untrusted HTML with DOMPurify (parsed
// inertly: nothing runs), maps cid: references to data: URLs of the
// inline parts, makes web and mail links open in a new tab (all other
// links are removed), and puts the CSP and the referrer policy first in
// the head so they cover everything after them. It also reports whether
// the message refers to remote images.
export async function prepareHTML(html, attachments) {
  const root = DOMPurify.sanitize(html, PURIFY);
  const doc = document.implementation.createHTMLDocument('');
  doc.replaceChild(doc.importNode(root, true), doc.documentElement);
  // Element methods, not the document's: named elements can shadow
  // properties of a document, never of Element.prototype.
  const all = (sel) => Element.prototype.querySelectorAll.call(doc.documentElement, sel);
  const cids = new Map();
  for (const a of attachments) {
    if (a.contentId) cids.set(a.contentId.replace(/^<|>$/g, '').toLowerCase(), a);
  }
  const used = new Set();
  const dataURLs = new Map();
  const dataURL = (a) => {
    if (!dataURLs.has(a)) {
      const type = /^image\/[a-z0-9.+-]+$/i.test(a.mimeType || '') ? a.mimeType : 'application/octet-stream';
      dataURLs.set(a, `data:${type};base64,${encodeBase64(new Uint8Array(a.content))}`);
    }
    return dataURLs.get(a);
  };
  let remote = false;
  const isLink = (n) => /^(a|area)$/i.test(n.localName);
  for (const n of all('*')) {
    for (const attr of RESOURCE_ATTRS) {
      if ((attr === 'href' || attr === 'xlink:href') && isLink(n)) continue;
      const v = n.getAttribute(attr);
      if (v == null) continue;
      const m = /^\s*cid:(.*)$/i.exec(v);
      if (m) {
        const a = cids.get(decodeURIComponent(m[1].trim()).replace(/^<|>$/g, '').toLowerCase());
        if (a) {
          used.add(a);
          n.setAttribute(attr, dataURL(a));
        } else n.removeAttribute(attr);
      } else if (/^\s*(https?:)?\/\//i.test(v)) remote = true;
      // A relative URL would resolve against this page (a file on disk, or
      // the key service): it is nobody's image.
      else if (!/^\s*data:/i.test(v)) n.removeAttribute(attr);
    }
    if (!n.hasAttribute('srcset')) continue;
    const srcset = n.getAttribute('srcset');
    if (srcset != null) {
      if (/(^|,)\s*(https?:)?\/\//i.test(srcset)) remote = true;
      else n.removeAttribute('srcset');
    }
  }
  if (/url\(\s*['"]?\s*(https?:)?\/\//i.test(html)) remote = true;
  for (const a of all('a, area')) {
    // Links open in a new tab, outside the sandbox; only web and mail
    // links: a javascript: or file: link has no business in a message.
    // SVG links carry xlink:href, which is not followed: removed.
    a.removeAttribute('xlink:href');
    const href = a.getAttribute('href');
    if (href == null) continue;
    if (!/^\s*(https?:|mailto:|tel:)/i.test(href)) {
      a.removeAttribute('href');
      continue;
    }
    a.setAttribute('target', '_blank');
    a.setAttribute('rel', 'noopener noreferrer');
  }
  const head = all('head')[0] || doc.documentElement.insertBefore(doc.createElement('head'), doc.documentElement.firstChild);
  const charset = doc.createElement('meta');
  charset.setAttribute('charset', 'utf-8');
  const csp = doc.createElement('meta');
  csp.setAttribute('http-equiv', 'Content-Security-Policy');
  const referrer = doc.createElement('meta');
  referrer.setAttribute('name', 'referrer');
  referrer.setAttribute('content', 'no-referrer');
  head.prepend(charset, csp, referrer);
  const render = (images) => {
    csp.setAttribute('content', images ? CSP_IMAGES : CSP_BLOCKED);
    return '<!DOCTYPE html>' + doc.documentElement.outerHTML;
  };
  return { render, remote, used };
}

// restyle applies the message's own CSS, which the inherited policy kept
// from applying: <style> elements become constructed style sheets and
// style attributes are set through the CSSOM; neither is inline markup
// under CSP. The sandbox allows this page's script into the frame
// (allow-same-origin) while nothing inside the frame can run. Remote URLs
// in the CSS stay under the frame's img-src. Then the frame is sized to
// its content so the page, not the frame, scrolls.
function restyle(frame) {
  let doc;
  try {
    doc = frame.contentDocument;
  } catch {
    return;
  }
  if (!doc || !doc.documentElement) return;
  const win = doc.defaultView;
  const sheets = [];
  for (const s of doc.querySelectorAll('style')) {
    try {
      const sheet = new win.CSSStyleSheet();
      sheet.replaceSync(s.textContent);
      sheets.push(sheet);
    } catch {
      /* a sheet the browser refuses is skipped, as a mail client would */
    }
  }
  doc.adoptedStyleSheets = sheets;
  for (const e of doc.querySelectorAll('[style]')) e.style.cssText = e.getAttribute('style');
  const fit = () => {
    // The root's scrollHeight is at least the frame's own height; the
    // body's is its content's.
    const h = Math.max(doc.body ? doc.body.scrollHeight : 0, doc.documentElement.offsetHeight) + 24;
    frame.style.height = Math.min(Math.max(h, 120), 20000) + 'px';
  };
  fit();
  for (const img of doc.images) if (!img.complete) img.addEventListener('load', fit);
}

// A text part longer than LONG_TEXT goes into the <pre> as blocks of about
// TEXT_BLOCK characters, each ending at a line end, that the browser lays
// out only when they come near the screen (content-visibility: auto): as
// one text, 10 MB took 1 s of layout in Firefox and 5 s in Chromium before
// the message showed, though the reader sees only its first screen. Each
// block keeps its line end, so the <pre>'s text is the part's text as
// before, and find in page and the accessibility tree still see all of it.
// A LongText (a long part postal-mime kept in the pieces it decoded, see
// long-text.js) gives one block per piece, never joined into one string.
export const LONG_TEXT = 256 * 1024;
export const TEXT_BLOCK = 32 * 1024;

export function setText(pre, text) {
  if (text instanceof LongText) {
    setBlocks(pre, text.pieces);
    return;
  }
  if (text.length <= LONG_TEXT) {
    pre.textContent = text;
    return;
  }
  const pieces = [];
  for (let i = 0; i < text.length; ) {
    const nl = text.indexOf('\n', i + TEXT_BLOCK);
    const end = nl < 0 ? text.length : nl + 1;
    pieces.push(text.slice(i, end));
    i = end;
  }
  setBlocks(pre, pieces);
}

function setBlocks(pre, pieces) {
  pre.replaceChildren();
  // An unseen block is as tall as its lines (a long line wraps, which the
  // browser learns when it lays the block out: 'auto' keeps that height).
  const lh = parseFloat(getComputedStyle(pre).lineHeight) || 20;
  const blocks = [];
  for (const piece of pieces) {
    let lines = 1;
    for (let j = piece.indexOf('\n'); j >= 0 && j < piece.length - 1; j = piece.indexOf('\n', j + 1)) lines++;
    const b = document.createElement('div');
    b.textContent = piece;
    b.style.contentVisibility = 'auto';
    b.style.containIntrinsicBlockSize = `auto ${Math.round(lines * lh)}px`;
    blocks.push(b);
  }
  pre.append(...blocks);
}

// showMessage fills #message. parsed is postal-mime's result.
export async function showMessage(root, parsed) {
  const attachments = parsed.attachments || [];
  const set = (id, v) => {
    const n = root.querySelector('#' + id);
    n.textContent = v;
    n.closest('tr').hidden = !v;
  };
  set('msg-from', formatAddress(parsed.from));
  set('msg-to', formatList(parsed.to));
  set('msg-cc', formatList(parsed.cc));
  set('msg-date', formatDate(parsed.date));
  set('msg-subject', parsed.subject || '');

  const text = root.querySelector('#msg-text');
  const textBox = root.querySelector('#msg-text-box');
  const frameBox = root.querySelector('#msg-html-box');
  const frame = root.querySelector('#msg-html');
  const showImages = root.querySelector('#show-images');
  const hasHTML = typeof parsed.html === 'string' && parsed.html.trim() !== '';
  setText(text, parsed.text || '');
  let used = new Set();
  if (hasHTML) {
    const prepared = await prepareHTML(parsed.html, attachments);
    used = prepared.used;
    frame.onload = () => restyle(frame);
    frame.srcdoc = prepared.render(false);
    frameBox.hidden = false;
    showImages.hidden = !prepared.remote;
    showImages.onclick = () => {
      frame.srcdoc = prepared.render(true);
      showImages.hidden = true;
      frame.focus();
    };
    // With an HTML part, the plain text is the alternative: kept, folded.
    textBox.open = false;
  } else {
    frameBox.hidden = true;
    textBox.open = true;
  }
  textBox.hidden = !parsed.text;
  root.querySelector('#msg-text-summary').hidden = !hasHTML;

  const list = root.querySelector('#attachments');
  list.replaceChildren();
  let n = 0;
  for (const a of attachments) {
    // Inline images shown in the HTML are not listed again.
    if (used.has(a) && a.disposition !== 'attachment') continue;
    n++;
    const name = a.filename || `attachment-${n}${a.mimeType === 'message/rfc822' ? '.eml' : ''}`;
    // Always a download, never a page: a blob: URL has this page's origin
    // (the key service's, in Open Online), so an HTML or SVG attachment
    // opened in a tab would run with it.
    const blob = new Blob([a.content], { type: 'application/octet-stream' });
    const link = el('a', { href: URL.createObjectURL(blob), download: name, text: name });
    list.append(el('li', {}, link, ` (${formatSize(blob.size)})`));
  }
  root.querySelector('#attachments-box').hidden = n === 0;
  root.hidden = false;
}
