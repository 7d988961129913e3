// node --test web/test/: OpenPGP.js with build.mjs's rewritten joins (see
// openpgp-copies.mjs) opens messages as OpenPGP.js itself does: the same
// plaintext, or the same error (tampered ciphertext and MDC, wrong
// password, damaged or trailing compressed data, packets that break the
// message grammar). testdata/sealed-*.pgp are messages sealed by postseal
// (envelope.Seal, profiles rfc4880 and rfc9580) from a 300 kB text
// message: their SEIPD, compressed and literal packets each come in
// several 64 KiB partial bodies, as a large sealed message's do.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync, mkdtempSync, cpSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { patchOpenPGP } from '../openpgp-copies.mjs';

// OpenPGP.js's AES-GCM reads navigator.userAgent, which Node.js 20 lacks.
globalThis.navigator ??= { userAgent: 'node' };

const here = dirname(fileURLToPath(import.meta.url));
const dist = join(here, '..', 'node_modules', 'openpgp', 'dist', 'lightweight');
// A patched copy of the package's modules, next to the original.
const copy = mkdtempSync(join(tmpdir(), 'openpgp-'));
cpSync(dist, copy, { recursive: true });
const main = join(copy, 'openpgp.mjs');
writeFileSync(main, patchOpenPGP(readFileSync(main, 'utf8'), main));
const original = await import(join(dist, 'openpgp.mjs'));
const patched = await import(main);

// open decrypts bytes with the password as the securedoc page does and
// gives the plaintext or the error's message.
async function open(lib, bytes, password) {
  try {
    const message = await lib.readMessage({ binaryMessage: bytes.slice() });
    const { data } = await lib.decrypt({ message, passwords: [password], format: 'binary' });
    return { data };
  } catch (e) {
    return { error: String(e && e.message) };
  }
}

async function same(bytes, password) {
  const want = await open(original, bytes, password);
  const got = await open(patched, bytes, password);
  assert.deepEqual(got, want);
  return want;
}

const sealed = {
  rfc4880: { file: 'sealed-rfc4880.pgp', password: '_MaO2CB3hTnltH6099NB4oP4swfeNF4UUWDNRYfkxko' },
  rfc9580: { file: 'sealed-rfc9580.pgp', password: 'YCX7NIfzQJGaE9_h1BU2THhwbyqA4Dmlh9OYU8pqF2U' },
};

for (const [profile, { file, password }] of Object.entries(sealed)) {
  const bytes = new Uint8Array(readFileSync(join(here, 'testdata', file)));

  test(`${profile}: the sealed message opens to the same text`, async () => {
    const r = await same(bytes, password);
    assert.equal(r.error, undefined);
    assert.equal(r.data.length, 300004);
    assert.match(new TextDecoder().decode(r.data.subarray(0, 64)), /^From: Radiology /);
  });

  test(`${profile}: a wrong password is refused alike`, async () => {
    const r = await same(bytes, password + 'x');
    assert.match(r.error, /Session key decryption failed/);
  });

  // Bytes in the first and the last partial body of the encrypted data,
  // in the middle, and the very last (the MDC or the AEAD tag).
  for (const at of [200, 70000, bytes.length >> 1, bytes.length - 1]) {
    test(`${profile}: a message changed at byte ${at} is refused alike`, async () => {
      const bad = bytes.slice();
      bad[at] ^= 0x01;
      const r = await same(bad, password);
      assert.ok(r.error, 'a changed message must not open');
      assert.equal(r.data, undefined);
      if (profile === 'rfc4880') assert.match(r.error, /Modification detected/);
    });
  }
}

// Messages made here, with packets the sealer does not write, to compare
// the paths where the rewritten joins meet odd data: each is encrypted
// (SKESK v4 + SEIPD v1, as the rfc4880 profile) around the packets given.
const password = 'correct horse battery staple';
// packets is a list of packets, or the bytes of the SEIPD packet's
// plaintext as they are (packets no PacketList writes).
async function seal(packets) {
  const { enums, PacketList, SymEncryptedSessionKeyPacket, SymEncryptedIntegrityProtectedDataPacket } = original;
  const sessionKey = crypto.getRandomValues(new Uint8Array(32));
  const skesk = new SymEncryptedSessionKeyPacket();
  skesk.sessionKey = sessionKey;
  skesk.sessionKeyAlgorithm = enums.symmetric.aes256;
  await skesk.encrypt(password, { ...original.config, s2kType: enums.s2k.iterated });
  const seipd = new SymEncryptedIntegrityProtectedDataPacket();
  seipd.version = 1;
  if (packets instanceof Uint8Array) seipd.packets = { write: () => packets };
  else {
    seipd.packets = new PacketList();
    seipd.packets.push(...packets);
  }
  await seipd.encrypt(enums.symmetric.aes256, sessionKey);
  const list = new PacketList();
  list.push(skesk, seipd);
  return list.write();
}

function literal(bytes) {
  const p = new original.LiteralDataPacket(new Date(0));
  p.setBytes(bytes, original.enums.literal.binary);
  return p;
}

// compressed is a compressed data packet of the given algorithm with
// the given compressed bytes (or, without them, compressing packets).
function compressed(algorithm, { bytes, packets } = {}) {
  const p = new original.CompressedDataPacket();
  p.algorithm = original.enums.compression[algorithm];
  if (bytes) p.compressed = bytes;
  else {
    p.packets = new original.PacketList();
    p.packets.push(...packets);
  }
  return p;
}

async function deflate(format, bytes) {
  return new Uint8Array(await new Response(new Blob([bytes]).stream().pipeThrough(new CompressionStream(format))).arrayBuffer());
}

// noise is n bytes that are not DEFLATE data (a block type of 3 is an
// error at once, and a fixed sequence keeps the test repeatable).
function noise(n) {
  const b = new Uint8Array(n);
  for (let i = 0, x = 1; i < n; i++) b[i] = (x = (x * 1103515245 + 12345) >>> 0) >>> 24;
  b[0] = 0x07;
  return b;
}

// text is ~340 kB of lines of words: the decompressor gives it back in
// many chunks.
const words = 'the patient was seen in clinic today for follow up of chronic kidney disease stage three'.split(' ');
const text = new TextEncoder().encode('Subject: hi\r\n\r\n' + Array.from(noise(60000), (b, i) => words[b % words.length] + (i % 12 === 11 ? '\r\n' : ' ')).join(''));
// literalBytes is the literal packet of text, header and all.
const literalList = new original.PacketList();
literalList.push(literal(text));
const literalBytes = literalList.write();
// Each: the packets in the SEIPD packet, and what opening gives: the text,
// no text, or an error.
const made = {
  'ZIP': [async () => [compressed('zip', { bytes: await deflate('deflate-raw', literalBytes) })], text],
  'ZLIB': [async () => [compressed('zlib', { bytes: await deflate('deflate', literalBytes) })], text],
  'uncompressed': [async () => [compressed('uncompressed', { bytes: literalBytes })], text],
  'no compression packet': [async () => [literal(text)], text],
  'an empty literal packet': [async () => [compressed('zip', { packets: [literal(new Uint8Array())] })], new Uint8Array()],
  'ZIP data cut short': [async () => [compressed('zip', { bytes: await deflate('deflate-raw', literalBytes).then((z) => z.subarray(0, z.length >> 1)) })], /Parsing CompressedDataPacket failed/],
  // Runtimes differ on DEFLATE data followed by more bytes (Node.js
  // ignores them): only the sameness of the two is checked.
  'ZIP data with bytes after its end': [async () => {
    const z = await deflate('deflate-raw', literalBytes);
    const more = new Uint8Array(z.length + 3);
    more.set(z);
    more.set([1, 2, 3], z.length);
    return [compressed('zip', { bytes: more })];
  }, null],
  'ZIP data that is not DEFLATE': [async () => [compressed('zip', { bytes: noise(70000) })], /Parsing CompressedDataPacket failed/],
  'empty ZIP data': [async () => [compressed('zip', { bytes: new Uint8Array() })], /Parsing CompressedDataPacket failed/],
  'two literal packets': [async () => [compressed('zip', { bytes: await deflate('deflate-raw', new Uint8Array([...literalBytes, ...literalBytes])) })], /Unexpected packet 11/],
  'a compressed packet after the literal one': [async () => [literal(text), compressed('zip', { packets: [literal(text)] })], /Unexpected packet 8/],
};

for (const [name, [packets, want]] of Object.entries(made)) {
  test(`a message with ${name} opens alike`, async () => {
    const bytes = await seal(await packets());
    const r = await same(bytes, password);
    if (want instanceof RegExp) assert.match(r.error, want);
    else if (want) assert.deepEqual(r, { data: want });
    // Changed ciphertext is refused for its MDC, before the packets in it
    // are read, whatever they hold.
    const bad = bytes.slice();
    bad[bad.length - 30] ^= 0x80;
    assert.match((await same(bad, password)).error, /Modification detected/);
  });
}

test('the rewrites find their text', () => {
  const src = readFileSync(join(dist, 'openpgp.mjs'), 'utf8');
  assert.notEqual(patchOpenPGP(src, 'openpgp.mjs'), src);
  assert.throws(() => patchOpenPGP(src.replace('packetbytes = await readToEnd(packetbytes);', ''), 'x.mjs'), /SEIPD v1/);
});

// A compressed packet may come in partial bodies of one byte (OpenPGP.js
// does not hold the first to the 512 the RFC asks for). Fed to the
// decompressor one by one, each its own chunk, they made a crafted message
// open up to 9 times slower than OpenPGP.js itself (a review finding):
// runs of small bodies are joined into pieces of 64 KiB or more, as
// OpenPGP.js cuts its joined input, and a body that large still goes as it
// is. The chunks the decompressor is given are counted (a wrapper around
// the runtime's own DecompressionStream, which both copies create through
// the global name when they decompress).
test('a compressed packet in one-byte partial bodies reaches the decompressor in few chunks', async () => {
  // Raw DEFLATE of the literal packet in stored blocks of one byte each:
  // a block header of 5 bytes and its byte.
  const short = new original.PacketList();
  short.push(literal(text.subarray(0, 2000)));
  const litBytes = short.write();
  const deflated = [];
  for (let i = 0; i < litBytes.length; i++) {
    const last = i === litBytes.length - 1 ? 1 : 0;
    deflated.push(last, 1, 0, 0xfe, 0xff, litBytes[i]);
  }
  const body = new Uint8Array([original.enums.compression.zip, ...deflated]);
  // New-format packet 8 (0xC8): every byte but the last in a partial body
  // of one byte (0xE0), the last with a one-octet length.
  const packet = [0xc8];
  for (let i = 0; i < body.length - 1; i++) packet.push(0xe0, body[i]);
  packet.push(1, body[body.length - 1]);
  const bytes = await seal(new Uint8Array(packet));

  const counts = [];
  const Native = globalThis.DecompressionStream;
  globalThis.DecompressionStream = class {
    constructor(format) {
      const inner = new Native(format);
      const n = counts.push(0) - 1;
      const count = new TransformStream({ transform(chunk, c) { counts[n]++; c.enqueue(chunk); } });
      count.readable.pipeTo(inner.writable).catch(() => {});
      this.writable = count.writable;
      this.readable = inner.readable;
    }
  };
  let r;
  try {
    r = await same(bytes, password);
  } finally {
    globalThis.DecompressionStream = Native;
  }
  assert.deepEqual(r, { data: text.subarray(0, 2000) });
  assert.equal(counts.length, 2, 'each copy decompresses once');
  const limit = Math.ceil(body.length / 65536) * 2 + 1;
  assert.ok(counts[0] <= limit && counts[1] <= limit, `chunks given to the decompressor: ${counts} (original, patched) for ${body.length} bytes; at most ${limit}`);
});
