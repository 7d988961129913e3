// The securedoc decryptor. It runs inside the securedoc page (opened from
// disk, file://) and inside the key service's Open Online page. The page
// holds the armoured message in <textarea id="payload">, its settings in
// <script type="application/json" id="postseal-data"> and the (hidden)
// form and message markup; this script wires them:
//
//   Open -> POST {publicURL}/api/v1/envelopes/{id}/key {email, password}
//        -> decrypt locally with the returned key (the OpenPGP passphrase)
//        -> parse the MIME message -> show it.
//
// For a partner's shared-password envelope (mode "password") the password
// typed is the passphrase itself and no key service is asked.

import { readMessage, decrypt } from 'openpgp';
import PostalMime from 'postal-mime';
import { dearmor } from './armor.js';
import { showMessage } from './render.js';
import { setMessages, t } from './i18n.js';
import { setupReply } from './reply.js';

const $ = (id) => document.getElementById(id);
// The select's value for "My address is not listed" (no address lacks an @).
const OTHER = 'other';

function pageData() {
  try {
    return JSON.parse($('postseal-data').textContent);
  } catch {
    return null;
  }
}

function init() {
  const data = pageData();
  const form = $('unlock');
  if (!data || !form) return;
  setMessages(data.messages);
  const select = $('email-select');
  const other = $('email-other');
  const password = $('password');
  const emailField = $('email-field');
  const otherField = $('email-other-field');

  if (data.mode === 'password') {
    emailField.hidden = true;
    otherField.hidden = true;
  } else {
    const recipients = Array.isArray(data.recipients) ? data.recipients : [];
    select.replaceChildren();
    for (const r of recipients) select.append(new Option(r, r));
    select.append(new Option(t('My address is not listed'), OTHER));
    const sync = () => {
      otherField.hidden = select.value !== OTHER;
      other.required = select.value === OTHER;
    };
    select.addEventListener('change', () => {
      sync();
      links(data, chosenEmail());
      if (select.value === OTHER) other.focus();
    });
    other.addEventListener('input', () => links(data, chosenEmail()));
    sync();
    links(data, chosenEmail());
  }
  form.hidden = false;
  // What the page says for readers without scripts ("open this file in a
  // browser", the list the select now offers) is not needed any more.
  for (const id of ['noscript-intro', 'recipients-box']) {
    const n = $(id);
    if (n) n.hidden = true;
  }
  // For tests and tools: the form is live.
  document.documentElement.dataset.decryptor = 'ready';

  function chosenEmail() {
    return data.mode === 'password' ? '' : (select.value === OTHER ? other.value : select.value).trim();
  }

  let busy = false;
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    if (busy) return;
    const email = chosenEmail();
    if (data.mode !== 'password' && !email) {
      fail({ text: t('Enter your e-mail address.') }, other);
      return;
    }
    if (!password.value) {
      // An empty password is most often a first-time reader who has none
      // yet: say where one comes from instead of only "enter it".
      fail(
        data.mode === 'password'
          ? { text: t('Enter the password agreed between your organisation and the sender.') }
          : {
              text: t(
                'Enter your password. If this is your first secure message, you have no password yet: ' +
                  'press Register, choose a password, confirm your address from the e-mail you receive, then come back and press Open.',
              ),
              links: firstStepLinks(data, email),
            },
        password,
      );
      return;
    }
    busy = true;
    const button = $('open');
    button.disabled = true;
    setStatus(t('Opening the message\u2026'));
    clearError();
    const t0 = performance.now();
    lap.start();
    try {
      const shared = data.mode === 'password';
      const answer = shared ? { key: password.value } : await fetchKey(data, email, password.value);
      lap('key');
      const parsed = await openMessage(answer.key, shared, answer.payload_sha256);
      await showMessage($('message'), parsed);
      lap('render');
      // Reply, Reply all and Forward, as far as the envelope allows; a
      // partner's shared-password envelope has no key service answer and
      // so no buttons.
      if (!shared) setupReply($('message'), data, answer, parsed);
      // The message is open: the form, the instructions and Open Online
      // have done their work. The header the file (or an Open Online post)
      // claimed goes too: the decrypted message shows its own, and only
      // that one is what was sealed.
      for (const n of [form, $('instructions'), $('open-online'), $('envelope-header')]) if (n) n.hidden = true;
      setStatus('');
      $('message').focus();
      // The message shows once the browser has laid it out, which it does
      // before anything else on the page can happen (focus alone makes
      // Firefox do it here): part of the reader's wait, so measured too.
      void $('message').offsetHeight;
      lap('layout');
      document.documentElement.dataset.openMs = String(Math.round(performance.now() - t0));
      document.documentElement.dataset.openPhases = lap.text();
    } catch (e) {
      fail(e instanceof Problem ? e : { text: t('The message could not be opened: {reason}', { reason: e && e.message ? e.message : String(e) }) }, null);
    } finally {
      busy = false;
      button.disabled = false;
    }
  });
}

// keyBase is the key service's base URL from the page data ('' if none).
function keyBase(data) {
  return String(data.publicURL || '').replace(/\/+$/, '');
}

// firstStepLinks are Register and Forgot your password? for an address.
function firstStepLinks(data, email, registerURL, forgotURL) {
  const base = keyBase(data);
  if (!base) return [];
  // The key service's pages go on in the page's language.
  const params = [];
  if (email) params.push(`email=${encodeURIComponent(email)}`);
  if (data.lang && data.lang !== 'en') params.push(`lang=${encodeURIComponent(data.lang)}`);
  const q = params.join('&');
  const reg = `${base}/register?${q ? q + '&' : ''}envelope=${encodeURIComponent(data.envelope)}`;
  return [
    { href: safeURL(registerURL, reg), text: email ? t('Register {email}', { email }) : t('Register') },
    { href: safeURL(forgotURL, `${base}/forgot${q ? '?' + q : ''}`), text: t('Forgot your password?') },
  ];
}

// links points the page's Register and Forgot your password? links at the
// address chosen, so the key service's forms come prefilled.
function links(data, email) {
  const [reg, forgot] = firstStepLinks(data, email);
  if (!reg) return;
  const r = $('register-link');
  const f = $('forgot-link');
  if (r) r.href = reg.href;
  if (f) f.href = forgot.href;
}

// Problem is a failure with a sentence for the reader and optional links.
class Problem extends Error {
  constructor(text, links = []) {
    super(text);
    this.text = text;
    this.links = links;
  }
}

function setStatus(text) {
  const s = $('status');
  if (s) s.textContent = text;
}

function clearError() {
  const box = $('error');
  box.replaceChildren();
  box.hidden = true;
}

function fail(p, focusTo) {
  setStatus('');
  const box = $('error');
  box.replaceChildren();
  const para = document.createElement('p');
  para.textContent = p.text;
  box.append(para);
  for (const l of p.links || []) {
    const q = document.createElement('p');
    const a = document.createElement('a');
    a.href = l.href;
    a.textContent = l.text;
    a.rel = 'noopener noreferrer';
    a.target = '_blank';
    q.append(a);
    box.append(q);
  }
  box.hidden = false;
  (focusTo || box).focus();
}

function minutes(seconds) {
  const m = Math.max(1, Math.ceil(seconds / 60));
  return m === 1 ? t('1 minute') : t('{n} minutes', { n: m });
}

// safeURL keeps only http(s) links from the key service's answer.
function safeURL(u, fallback) {
  try {
    const url = new URL(u);
    if (url.protocol === 'https:' || url.protocol === 'http:') return url.href;
  } catch {
    /* fall through */
  }
  return fallback;
}

async function fetchKey(data, email, password) {
  const base = keyBase(data);
  if (!base) {
    throw new Problem(
      t('This message opens only with the key service of {org}, and this file does not say where that is. Contact the sender.', {
        org: data.org || t('the sender'),
      }),
    );
  }
  const url = `${base}/api/v1/envelopes/${encodeURIComponent(data.envelope)}/key`;
  let res;
  try {
    // A text/plain body keeps this a "simple" CORS request: no preflight
    // (the page runs from file://, Origin: null).
    res = await fetch(url, {
      method: 'POST',
      body: JSON.stringify({ email, password }),
      headers: { 'Content-Type': 'text/plain;charset=UTF-8' },
      credentials: 'omit',
      cache: 'no-store',
      referrerPolicy: 'no-referrer',
    });
  } catch {
    throw new Problem(
      document.getElementById('open-online')
        ? t('The key service at {url} cannot be reached. Check your Internet connection and try again later, or use the Open Online button below.', { url: base })
        : t('The key service at {url} cannot be reached. Check your Internet connection and try again later.', { url: base }),
    );
  }
  let body = {};
  try {
    body = await res.json();
  } catch {
    /* a non-JSON answer is judged by its status alone */
  }
  if (res.ok && typeof body.key === 'string' && body.key) return body;
  const org = data.org || t('the sender\u2019s organisation');
  switch (res.status) {
    case 401:
      // The key service never says whether the address has an account, so
      // the next step is given for each case.
      throw new Problem(
        t(
          'The password is wrong, or {email} is not registered with the key service yet. Next step: ' +
            'if this is your first secure message, press Register; ' +
            'if you registered but have not confirmed your address yet, open the link in the e-mail you received and enter your password there; ' +
            'if you do not remember your password, press Forgot your password?.',
          { email },
        ),
        firstStepLinks(data, email, body.register_url, body.forgot_url),
      );
    case 403:
      throw new Problem(t('This message has been locked by {org}. Contact the sender if you still need it.', { org }));
    case 404:
      throw new Problem(t('The key service does not know this message. It may have been withdrawn; contact the sender.'));
    case 410:
      throw new Problem(t('This message has expired and can no longer be opened. Ask the sender to send it again.'));
    case 429: {
      const after = Number(body.retry_after || res.headers.get('Retry-After')) || 60;
      throw new Problem(t('Too many attempts. Try again in {wait}.', { wait: minutes(after) }));
    }
    case 400:
      throw new Problem(t('The key service did not accept the request. Check the e-mail address and try again.'));
    case 503:
      throw new Problem(t('The key service is temporarily unavailable. Try again in a few minutes.'));
  }
  if (res.ok) throw new Problem(t('The key service sent an answer this page does not understand. Try again later.'));
  throw new Problem(t('The key service answered with an error (HTTP {status}). Try again later.', { status: res.status }));
}

// hex is the lowercase hexadecimal form of a digest.
const hex = (buf) => Array.from(new Uint8Array(buf), (b) => b.toString(16).padStart(2, '0')).join('');

// checkSealed refuses a payload that is not the one sealed. Every
// recipient of a message holds its key, so one of them could encrypt a
// text of their own under it and pass it to another as this message; the
// key service gives the digest of the payload it sealed with the key.
async function checkSealed(binary, digest) {
  if (!digest) return; // sealed before digests were kept
  const subtle = globalThis.crypto && globalThis.crypto.subtle;
  if (!subtle) throw new Problem(t('This browser cannot check that the message is genuine here. Open the attachment in an up-to-date browser.'));
  if (hex(await subtle.digest('SHA-256', binary)) !== String(digest).toLowerCase()) {
    throw new Problem(
      t('This is not the message that was sealed: its content was replaced after it was sent (for example by another recipient), so it is not shown. Contact the sender.'),
    );
  }
}

// lap times the steps of an open, for the page's data-open-phases (read by
// postseal's bench to show where a browser spends the time): key fetch,
// armour to bytes, payload digest, packet parse, decryption (with
// decompression), MIME parse, render (into the DOM), layout, in ms.
const lap = (() => {
  let last = 0;
  let laps = [];
  const f = (name) => {
    const now = performance.now();
    laps.push(`${name}=${Math.round(now - last)}`);
    last = now;
  };
  f.start = () => {
    last = performance.now();
    laps = [];
  };
  f.text = () => laps.join(' ');
  return f;
})();

async function openMessage(passphrase, sharedPassword, digest) {
  const corrupt = new Problem(t('This file is damaged: the encrypted message in it cannot be read. Ask the sender to send it again.'));
  let binary;
  try {
    binary = dearmor($('payload').value);
  } catch {
    throw corrupt;
  }
  lap('dearmor');
  await checkSealed(binary, digest);
  lap('digest');
  let message;
  try {
    message = await readMessage({ binaryMessage: binary });
    lap('packets');
  } catch {
    // Bad armour or bad packets: either way the file is damaged.
    throw corrupt;
  }
  let bytes;
  try {
    ({ data: bytes } = await decrypt({ message, passwords: [passphrase], format: 'binary' }));
  } catch (e) {
    const msg = String((e && e.message) || e);
    if (/session key|passphrase|password/i.test(msg)) {
      throw new Problem(
        sharedPassword
          ? t('The password is wrong. Use the password agreed between your organisation and the sender.')
          : t('The key from the key service does not open this message: the file may have been changed. Ask the sender to send it again.'),
      );
    }
    throw corrupt;
  }
  lap('decrypt');
  try {
    // postal-mime copies a view into a buffer of its own; the decrypted
    // bytes are ours alone, so a view of a whole buffer goes as its buffer
    // (10 MB: ~30 ms less in Firefox).
    const whole = bytes.byteOffset === 0 && bytes.byteLength === bytes.buffer.byteLength;
    const parsed = await PostalMime.parse(whole ? bytes.buffer : bytes, { attachmentEncoding: 'arraybuffer' });
    lap('parse');
    return parsed;
  } catch {
    throw new Problem(t('The message was decrypted but could not be read as an e-mail.'));
  }
}

if (document.readyState === 'loading') document.addEventListener('DOMContentLoaded', init);
else init();
