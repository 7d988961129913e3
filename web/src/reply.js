// Secure reply, reply all and forward from the opened message. The key
// service's answer to the key request carries a reply token (bound to this
// envelope and the reader's address), the kinds of answer the envelope
// allows and whom Reply and Reply all reach; the key service decides the
// recipients again when the reply is posted, so what this page shows is
// only what it was told. The reply goes to
//   POST {publicURL}/api/v1/envelopes/{id}/reply  (multipart/form-data)
// as a "simple" CORS request (no preflight; the page may run from file://).

import { t } from './i18n.js';

const LABELS = { reply: () => t('Reply'), 'reply-all': () => t('Reply all'), forward: () => t('Forward') };

const el = (tag, props = {}, ...children) => {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(props)) {
    if (k === 'class') e.className = v;
    else if (k === 'text') e.textContent = v;
    else if (v === true) e.setAttribute(k, '');
    else if (v !== false && v != null) e.setAttribute(k, v);
  }
  for (const c of children) if (c != null) e.append(c);
  return e;
};

function addressText(a) {
  if (!a) return '';
  if (a.group) return a.group.map(addressText).join(', ');
  return a.name && a.address ? `${a.name} <${a.address}>` : a.address || a.name || '';
}

// quote is the original as mail programs put it under an answer.
export function quote(kind, parsed) {
  const from = addressText(parsed.from);
  const date = parsed.date ? new Date(parsed.date) : null;
  const when = date && !isNaN(date) ? date.toUTCString() : '';
  const body = String(parsed.text || '').replace(/\r\n/g, '\n').replace(/\s+$/, '');
  if (kind === 'forward') {
    const lines = ['---------- ' + t('Forwarded message') + ' ----------', `From: ${from}`];
    if (when) lines.push(`Date: ${when}`);
    lines.push(`Subject: ${parsed.subject || ''}`, `To: ${(parsed.to || []).map(addressText).join(', ')}`, '', body);
    return lines.join('\n');
  }
  const intro = when ? t('On {when}, {from} wrote:', { when, from }) : t('{from} wrote:', { from });
  return intro + '\n' + body.split('\n').map((l) => (l ? '> ' + l : '>')).join('\n');
}

// setupReply adds the buttons the envelope allows and the compose form
// after root (the opened message). answer is the key service's answer.
export function setupReply(root, data, answer, parsed) {
  const kinds = (Array.isArray(answer.reply) ? answer.reply : []).filter((k) => LABELS[k]);
  const old = document.getElementById('reply');
  if (old) old.remove();
  if (!answer.reply_token || kinds.length === 0) return;
  const base = String(data.publicURL || '').replace(/\/+$/, '');
  if (!base) return;
  const replyTo = answer.reply_to || {};

  const buttons = el('p', { id: 'reply-actions' });
  for (const k of kinds) {
    buttons.append(el('button', { type: 'button', class: 'secondary', id: `reply-${k}`, 'data-kind': k, text: LABELS[k]() }), ' ');
  }
  const heading = el('h2', { id: 'compose-title' });
  const to = el('input', { id: 'compose-to', name: 'to', type: 'text', autocomplete: 'email', spellcheck: 'false' });
  const toHint = el('p', { id: 'compose-to-hint', class: 'hint', text: t('Separate several addresses with commas.') });
  const text = el('textarea', { id: 'compose-text', name: 'text', rows: '8' });
  const files = el('input', { id: 'compose-files', name: 'attachments', type: 'file', multiple: true });
  const forwarded = el('p', { id: 'compose-forwarded', class: 'hint', hidden: true });
  const quoted = el('pre', { id: 'compose-quote', 'aria-label': t('Original message') });
  const send = el('button', { id: 'compose-send', type: 'submit', text: t('Send') });
  const status = el('span', { id: 'compose-status', role: 'status', 'aria-live': 'polite' });
  const error = el('div', { id: 'compose-error', class: 'error', role: 'alert', tabindex: '-1', hidden: true });
  const form = el(
    'form',
    { id: 'compose', hidden: true, 'aria-labelledby': 'compose-title' },
    heading,
    el('div', {}, el('label', { for: 'compose-to', text: t('To') }), to),
    toHint,
    el('div', {}, el('label', { for: 'compose-text', text: t('Message') }), text),
    el('div', {}, el('label', { for: 'compose-files', text: t('Attachments') }), files),
    forwarded,
    quoted,
    error,
    el('p', {}, send, status),
  );
  const sent = el('div', { id: 'compose-sent', role: 'status', tabindex: '-1', hidden: true });
  const box = el('section', { id: 'reply', 'aria-label': t('Answer securely') }, buttons, form, sent);
  root.after(box);

  let kind = null;
  let busy = false;
  const originals = (parsed.attachments || []).filter((a) => a.disposition !== 'inline' || a.filename);
  const open = (k) => {
    kind = k;
    heading.textContent = LABELS[k]();
    const fixed = k !== 'forward';
    to.readOnly = fixed;
    to.value = fixed ? (replyTo[k] || []).join(', ') : '';
    toHint.hidden = fixed;
    forwarded.hidden = !(k === 'forward' && originals.length);
    forwarded.textContent = originals.length
      ? t('The original attachments go with it: {names}', { names: originals.map((a) => a.filename || 'attachment').join(', ') })
      : '';
    quoted.textContent = quote(k, parsed);
    error.hidden = true;
    sent.hidden = true;
    form.hidden = false;
    (fixed ? text : to).focus();
  };
  for (const b of buttons.querySelectorAll('button')) b.addEventListener('click', () => open(b.dataset.kind));

  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    if (busy || !kind) return;
    if (kind === 'forward' && !to.value.trim()) {
      showError(t('Enter the address to forward to in To.'), to);
      return;
    }
    if (!text.value.trim() && files.files.length === 0) {
      showError(t('Write a message or attach a file.'), text);
      return;
    }
    const fd = new FormData();
    // The token goes first: the key service checks it before it reads the
    // rest of the form (a client without one holds no reply slot).
    fd.append('reply_token', answer.reply_token);
    fd.append('kind', kind);
    if (kind === 'forward') fd.append('to', to.value);
    fd.append('subject', parsed.subject || '');
    fd.append('text', text.value.replace(/\s+$/, '') + '\n\n' + quoted.textContent + '\n');
    for (const f of files.files) fd.append('attachments', f, f.name);
    if (kind === 'forward') {
      for (const a of originals) fd.append('attachments', new Blob([a.content], { type: a.mimeType || 'application/octet-stream' }), a.filename || 'attachment');
    }
    busy = true;
    send.disabled = true;
    status.textContent = t('Sending\u2026');
    error.hidden = true;
    try {
      // The answer's sentences come in the page's language.
      const lang = data.lang ? `?lang=${encodeURIComponent(data.lang)}` : '';
      const url = `${base}/api/v1/envelopes/${encodeURIComponent(data.envelope)}/reply${lang}`;
      let res;
      try {
        res = await fetch(url, { method: 'POST', body: fd, credentials: 'omit', cache: 'no-store', referrerPolicy: 'no-referrer' });
      } catch {
        throw new Error(t('The key service at {base} cannot be reached, so nothing was sent. Your text is still here: try again later.', { base }));
      }
      let body = {};
      try {
        body = await res.json();
      } catch {
        /* judged by the status alone */
      }
      if (!res.ok || !body.sent) {
        const why = typeof body.message === 'string' && body.message ? body.message : t('The key service refused the reply (HTTP {status}).', { status: res.status });
        throw new Error(why + (res.status === 413 || res.status === 400 ? '' : ' ' + t('Nothing was sent.')));
      }
      const who = Array.isArray(body.recipients) ? body.recipients.join(', ') : '';
      sent.replaceChildren(el('p', { text: t('Sent') }), el('p', { text: who ? t('Sent securely to {who}.', { who }) : t('Sent securely.') }));
      sent.hidden = false;
      form.hidden = true;
      text.value = '';
      files.value = '';
      kind = null;
      document.documentElement.dataset.reply = 'sent';
      sent.focus();
    } catch (e) {
      showError(e && e.message ? e.message : String(e), null);
    } finally {
      busy = false;
      send.disabled = false;
      status.textContent = '';
    }
  });

  function showError(msg, focusTo) {
    error.replaceChildren(el('p', { text: msg }));
    error.hidden = false;
    (focusTo || error).focus();
  }
}
