// node --test web/test/: the replacement PassThroughDecoder gives the same
// bytes as postal-mime's own, for bodies of random bytes (line ends, CRs,
// non-ASCII, empty lines) cut into lines as postal-mime cuts them.
import { test } from 'node:test';
import assert from 'node:assert/strict';
// A relative path: the package's exports map hides its internals.
import Original from '../node_modules/postal-mime/dist/esm/pass-through-decoder.js';
import Fast from '../src/pass-through-decoder.js';

function rand(n) {
  return Math.floor(Math.random() * n);
}

async function run(Decoder, bytes) {
  const d = new Decoder();
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
  for (let k = 0; k < 200; k++) {
    const bytes = new Uint8Array(rand(5000));
    for (let j = 0; j < bytes.length; j++) bytes[j] = rand(8) === 0 ? [0x0a, 0x0d, 0xe9, 0x20][rand(4)] : 0x41 + rand(26);
    assert.deepEqual(await run(Fast, bytes), await run(Original, bytes));
  }
});

test('no lines at all', async () => {
  assert.deepEqual(new Uint8Array(await new Fast().finalize()), new Uint8Array(await new Original().finalize()));
});

test('many lines (the range table grows)', async () => {
  const bytes = new Uint8Array(3000 * 3);
  for (let j = 0; j < bytes.length; j++) bytes[j] = j % 3 === 2 ? 0x0a : 0x61 + (j % 26);
  assert.deepEqual(await run(Fast, bytes), await run(Original, bytes));
});

test('lines from other buffers keep their order', async () => {
  const a = new TextEncoder().encode('one\ntwo\nthree\n');
  const b = new TextEncoder().encode('other\nbuffer\n');
  const lines = [a.subarray(0, 3), b.subarray(0, 5), a.subarray(4, 7), b.subarray(6, 12), new Uint8Array(0), a.subarray(8, 13)];
  const out = [];
  for (const D of [Fast, Original]) {
    const d = new D();
    for (const l of lines) d.update(l);
    out.push(new Uint8Array(await d.finalize()));
  }
  assert.deepEqual(out[0], out[1]);
  assert.equal(new TextDecoder().decode(out[0]), 'one\nother\ntwo\nbuffer\n\nthree\n');
});
