// node --test web/test/: the replacement Base64Decoder gives the same bytes
// as postal-mime's own, for random bodies cut into lines of random lengths,
// with padding inside, garbage characters and truncated groups.
import { test } from 'node:test';
import assert from 'node:assert/strict';
// A relative path: the package's exports map hides its internals.
import Original from '../node_modules/postal-mime/dist/esm/base64-decoder.js';
import Fast from '../src/base64-decoder.js';

function rand(n) {
  return Math.floor(Math.random() * n);
}

function body() {
  const parts = [];
  const n = 1 + rand(4);
  for (let i = 0; i < n; i++) {
    const bytes = new Uint8Array(rand(3000));
    for (let j = 0; j < bytes.length; j++) bytes[j] = rand(256);
    parts.push(Buffer.from(bytes).toString('base64'));
  }
  let s = parts.join(rand(2) ? '' : '\r\n');
  if (rand(4) === 0) s += 'A'; // a truncated group
  if (rand(4) === 0) s = s.slice(0, rand(s.length + 1));
  // garbage the alphabet does not hold, and line breaks anywhere
  let out = '';
  for (let i = 0; i < s.length; i++) {
    if (rand(200) === 0) out += ' \t*\u00e9'[rand(4)];
    out += s[i];
    if (rand(60) === 0) out += '\r\n';
  }
  return out;
}

async function run(Decoder, text) {
  const d = new Decoder();
  const bytes = new TextEncoder().encode(text);
  let start = 0;
  for (let i = 0; i <= bytes.length; i++) {
    if (i === bytes.length || bytes[i] === 0x0a) {
      let end = i;
      while (end > start && (bytes[end - 1] === 0x0d || bytes[end - 1] === 0x0a)) end--;
      d.update(bytes.subarray(start, end));
      start = i + 1;
    }
  }
  return new Uint8Array(await d.finalize());
}

test('same bytes as postal-mime', async () => {
  for (let i = 0; i < 300; i++) {
    const text = body();
    assert.deepEqual(await run(Fast, text), await run(Original, text), `input ${JSON.stringify(text.slice(0, 200))}`);
  }
});

test('large body in batches', async () => {
  const bytes = new Uint8Array(3 << 20);
  for (let j = 0; j < bytes.length; j++) bytes[j] = (j * 7919) & 255;
  const text = Buffer.from(bytes).toString('base64').replace(/.{76}/g, '$&\r\n');
  assert.deepEqual(await run(Fast, text), bytes);
  assert.deepEqual(await run(Original, text), bytes);
});

test('same bytes through Uint8Array.fromBase64', async (t) => {
  // Browsers have it (Node 20 does not): a strict stand-in that refuses
  // what a browser's would, to check what the decoder hands it.
  if (typeof Uint8Array.fromBase64 === 'function') return;
  Uint8Array.fromBase64 = (s) => {
    if (/[^A-Za-z0-9+/]/.test(s) || s.length % 4 === 1) throw new SyntaxError(`bad base64 ${s.length}`);
    return new Uint8Array(Buffer.from(s, 'base64'));
  };
  t.after(() => delete Uint8Array.fromBase64);
  for (let i = 0; i < 300; i++) {
    const text = body();
    assert.deepEqual(await run(Fast, text), await run(Original, text));
  }
});
