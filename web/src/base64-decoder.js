// A drop-in for postal-mime's Base64Decoder (the build substitutes it for
// postal-mime/dist/esm/base64-decoder.js), same results, made for large
// attachments. postal-mime hands the decoder one line at a time; the
// original decodes each line to a string, cleans it with a regex and splits
// it at padding, which for a 10 MB message is ~130,000 rounds and most of
// the parse time. This one only collects the line views and does the same
// work once per ~1 MB, decoding with Uint8Array.fromBase64 where the
// browser has it. web/test/base64-decoder.test.mjs checks it against the
// original.

const FLUSH = 1 << 20;

export default class Base64Decoder {
  constructor() {
    this.lines = [];
    this.size = 0;
    this.chunks = [];
    // Base64 characters after the last padding not yet decoded (< 4 of
    // them once a batch is done, or a whole open unit).
    this.remainder = '';
  }

  update(line) {
    // The view points into the message buffer, which outlives the parse.
    this.lines.push(line);
    this.size += line.length;
    if (this.size >= FLUSH) this.batch();
  }

  batch() {
    if (!this.lines.length) return;
    const joined = new Uint8Array(this.size);
    let o = 0;
    for (const l of this.lines) {
      joined.set(l, o);
      o += l.length;
    }
    this.lines = [];
    this.size = 0;
    // latin1 keeps one character per byte; anything outside the base64
    // alphabet is dropped right after, as the original does.
    const str = new TextDecoder('latin1').decode(joined).replace(/[^a-zA-Z0-9+/=]+/g, '');
    // '=' ends a base64 unit: each unit decodes on its own (some mailers
    // pad every line).
    const units = str.split(/=+/);
    for (let i = 0; i < units.length - 1; i++) {
      this.push(this.remainder + units[i]);
      this.remainder = '';
    }
    const open = this.remainder + units[units.length - 1];
    const aligned = open.length - (open.length % 4);
    this.push(open.slice(0, aligned));
    this.remainder = open.slice(aligned);
  }

  push(b64) {
    if (b64.length) this.chunks.push(decodeUnit(b64));
  }

  finalize() {
    this.batch();
    this.push(this.remainder);
    this.remainder = '';
    return new Blob(this.chunks, { type: 'application/octet-stream' }).arrayBuffer();
  }
}

// decodeUnit decodes clean base64 without padding the way postal-mime does:
// a final lone character (a truncated group) is ignored.
export function decodeUnit(s) {
  const len = s.length % 4 === 1 ? s.length - 1 : s.length;
  if (typeof Uint8Array.fromBase64 === 'function') {
    return Uint8Array.fromBase64(len === s.length ? s : s.slice(0, len));
  }
  const out = new Uint8Array(Math.floor(len / 4) * 3 + (len % 4 ? (len % 4) - 1 : 0));
  let p = 0;
  for (let i = 0; i < len; i += 4) {
    const a = code(s, i);
    const b = code(s, i + 1);
    const c = i + 2 < len ? code(s, i + 2) : 0;
    const d = i + 3 < len ? code(s, i + 3) : 0;
    out[p++] = (a << 2) | (b >> 4);
    if (p < out.length) out[p++] = ((b & 15) << 4) | (c >> 2);
    if (p < out.length) out[p++] = ((c & 3) << 6) | d;
  }
  return out;
}

const TABLE = (() => {
  const t = new Uint8Array(128);
  const abc = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';
  for (let i = 0; i < abc.length; i++) t[abc.charCodeAt(i)] = i;
  return t;
})();

function code(s, i) {
  return TABLE[s.charCodeAt(i) & 127];
}
