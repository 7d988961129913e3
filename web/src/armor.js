// ASCII armour to bytes, fast enough for a 10 MB message (~14 MB of
// armour): OpenPGP.js's own unarmour goes through its stream machinery, and
// Uint8Array.from(atob(s), fn) calls a function per byte (over a second
// for 10 MB). This takes the base64 body between the header block and the
// checksum/END line and decodes it with Uint8Array.fromBase64 where the
// browser has it, else drops line breaks with one regex pass and decodes
// with a table loop.

const BEGIN = '-----BEGIN PGP MESSAGE-----';

export class ArmorError extends Error {}

export function dearmor(text) {
  const start = text.indexOf(BEGIN);
  if (start < 0) throw new ArmorError('no armoured OpenPGP message');
  // Armour headers (e.g. "Comment: ...") end at the first empty line; a
  // message without headers has its empty line right after BEGIN.
  const lineEnd = text.indexOf('\n', start);
  if (lineEnd < 0) throw new ArmorError('armour ends after its first line');
  let body = lineEnd + 1;
  for (let pos = body; ; ) {
    const nl = text.indexOf('\n', pos);
    if (nl < 0) throw new ArmorError('armour has no body');
    const line = text.slice(pos, nl).trim();
    if (line === '') {
      body = nl + 1;
      break;
    }
    if (!line.includes(':')) {
      // No header block and no empty line (lenient writers): base64
      // never holds a colon, so the body starts here.
      body = pos;
      break;
    }
    pos = nl + 1;
  }
  let end = text.indexOf('-----END PGP MESSAGE-----', body);
  if (end < 0) throw new ArmorError('armour has no END line');
  // The optional CRC24 line "=XXXX" sits on its own line before END.
  const crc = text.lastIndexOf('\n=', end);
  if (crc >= body) end = crc;
  // Uint8Array.fromBase64 skips ASCII whitespace itself: the line breaks
  // stay in, which spares a regex pass over the whole body and a copy of
  // it (3.5 MB of armour for the bench's 10 MB message, which compresses;
  // up to 14 MB for one that does not): Firefox took 110-290 ms for this
  // step with them, 35-95 without.
  if (typeof Uint8Array.fromBase64 === 'function') return decodeBase64(text.slice(body, end));
  return decodeBase64(text.slice(body, end).replace(/[\r\n\t ]+/g, ''));
}

const table = (() => {
  const t = new Int16Array(128).fill(-1);
  const abc = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';
  for (let i = 0; i < abc.length; i++) t[abc.charCodeAt(i)] = i;
  return t;
})();

export function decodeBase64(s) {
  if (typeof Uint8Array.fromBase64 === 'function') {
    try {
      return Uint8Array.fromBase64(s);
    } catch {
      throw new ArmorError('armour body is not base64');
    }
  }
  let len = s.length;
  while (len > 0 && s.charCodeAt(len - 1) === 61) len--; // '='
  if (len % 4 === 1) throw new ArmorError('armour body has a bad length');
  const out = new Uint8Array(Math.floor((len * 3) / 4));
  let o = 0;
  let i = 0;
  const full = len - (len % 4);
  for (; i < full; i += 4) {
    const a = lookup(s, i);
    const b = lookup(s, i + 1);
    const c = lookup(s, i + 2);
    const d = lookup(s, i + 3);
    const n = (a << 18) | (b << 12) | (c << 6) | d;
    out[o++] = n >> 16;
    out[o++] = (n >> 8) & 255;
    out[o++] = n & 255;
  }
  const rest = len - full;
  if (rest >= 2) {
    const n = (lookup(s, i) << 18) | (lookup(s, i + 1) << 12) | (rest === 3 ? lookup(s, i + 2) << 6 : 0);
    out[o++] = n >> 16;
    if (rest === 3) out[o++] = (n >> 8) & 255;
  }
  return out;
}

function lookup(s, i) {
  const c = s.charCodeAt(i);
  const v = c < 128 ? table[c] : -1;
  if (v < 0) throw new ArmorError('armour body is not base64');
  return v;
}

// encodeBase64 is for data: URLs of inline (cid:) images.
export function encodeBase64(bytes) {
  if (typeof bytes.toBase64 === 'function') return bytes.toBase64();
  const abc = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';
  const parts = [];
  let chunk = '';
  let i = 0;
  for (; i + 2 < bytes.length; i += 3) {
    const n = (bytes[i] << 16) | (bytes[i + 1] << 8) | bytes[i + 2];
    chunk += abc[n >> 18] + abc[(n >> 12) & 63] + abc[(n >> 6) & 63] + abc[n & 63];
    if (chunk.length >= 8192) {
      parts.push(chunk);
      chunk = '';
    }
  }
  if (i < bytes.length) {
    const n = (bytes[i] << 16) | ((i + 1 < bytes.length ? bytes[i + 1] : 0) << 8);
    chunk += abc[n >> 18] + abc[(n >> 12) & 63] + (i + 1 < bytes.length ? abc[(n >> 6) & 63] : '=') + '=';
  }
  parts.push(chunk);
  return parts.join('');
}
