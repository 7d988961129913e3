// node --test web/test/: postal-mime as build.mjs changes it — its parse
// loop and readLine (parse-loop.mjs), long plain-text parts kept in pieces
// (text-pieces.mjs), and the replacement base64 and pass-through decoders
// (src/) — gives the same result as postal-mime itself, for messages with
// nested multiparts, boundary look-alikes, parts without a final line end,
// empty parts, base64 and quoted-printable bodies, every kind of line end,
// and long text parts in several charsets. A long part's text, kept in
// pieces (a LongText), must join to postal-mime's string.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { Worker } from 'node:worker_threads';
import { patchParseLoop } from '../parse-loop.mjs';
import { LongText, LONG_TEXT_BYTES } from '../src/long-text.js';
import { dist, main, Original, Patched, joined, counts } from './patched-postal-mime.mjs';

const crlf = (s) => s.replace(/\r?\n/g, '\r\n');
const messages = {
  'plain text': crlf('From: a@example.org\nTo: b@example.net\nSubject: hi\n\nline one\n--not a boundary\n\nlast line without end'),
  'nested multiparts': crlf(`From: a@example.org
Subject: nested
MIME-Version: 1.0
Content-Type: multipart/mixed; boundary="outer"

preamble
--outer
Content-Type: multipart/alternative; boundary="inner"

--inner
Content-Type: text/plain; charset=utf-8
Content-Transfer-Encoding: quoted-printable

caf=C3=A9 --outer is not a boundary here
--outerX neither
--inner
Content-Type: text/html

<p>caf&eacute;</p>
--inner--
--outer
Content-Type: application/octet-stream; name="a.bin"
Content-Disposition: attachment; filename="a.bin"
Content-Transfer-Encoding: base64

AAECAwQFBgcICQ==
--outer
Content-Type: text/plain

--outer--
epilogue
`),
  'boundary with trailing blanks and no end': crlf('Content-Type: multipart/mixed; boundary=b\n\n--b \t\nContent-Type: text/plain\n\nx\n--b--'),
  'empty': '',
  'header only': 'Subject: only\r\n',
  // readLine's line ends: LF alone, runs of CR before LF, a CR inside a
  // line, a part ending in CRs without LF, blank lines of CRs only.
  'line ends': 'Subject: ends\nContent-Type: text/plain\r\r\n\r\na\rb\r\n\r\r\n\nc\n\r\nd \r\r',
  'boundaries after CR runs': 'Content-Type: multipart/mixed; boundary=b\n\n--b\r\r\nContent-Type: text/plain\r\n\nx\r\n--b--\r\r\r',
  'ends in LF': 'Subject: lf\n\nbody\n',
  'ends in CR': 'Subject: cr\r\n\r\nbody\r',
  'only line ends': '\r\n\n\r\r\n',
  // A long text part, as the bench's 10 MB message (many lines per part).
  'long text': crlf('Subject: long\nContent-Type: text/plain; charset=us-ascii\n\n' +
    Array.from({ length: 3000 }, (_, i) => `line ${i} ${'x'.repeat(i % 97)}${i % 5 ? '' : '\r'}`).join('\n')),
};

// A long text: lines of words and, every so often, what a parser must not
// take for anything else: lines starting with "--", CR runs inside and at
// the end of lines, empty lines, non-ASCII.
function longBody(size, seed) {
  const words = ['patient', 'seen', 'caf\u00e9', '--', '-- ', '\r', 'na\u00efve', 'x\u20acy', '\u{1F600}', 'ok'];
  const lines = [];
  let n = 0;
  for (let i = 0; n < size; i++) {
    const k = (i * 7919 + seed) % 101;
    let line = Array.from({ length: k % 13 }, (_, j) => words[(i + j * seed) % words.length]).join(' ');
    if (k === 3) line = '--' + line;
    if (k === 5) line += '\r\r';
    if (k === 7) line = '';
    lines.push(line);
    n += line.length + 2;
  }
  return lines.join('\r\n');
}
const big = longBody(LONG_TEXT_BYTES + 40000, 3);
const messages2 = {
  'long text, one part, no final line end': crlf('Subject: long\nContent-Type: text/plain; charset=utf-8\n\n') + big,
  'long text ending in CRs': crlf('Subject: long\nContent-Type: text/plain; charset=utf-8\n\n') + big + '\r\r',
  'long text with a byte order mark': crlf('Subject: bom\nContent-Type: text/plain; charset=utf-8\n\n') + '\ufeff' + big + '\r\n',
  // A single-byte charset (Node's own windows-1252 decodes 0x80-0x9f as
  // Latin-1 in one call but not when streaming, unlike browsers).
  'long text in iso-8859-2': crlf('Subject: 8859\nContent-Type: text/plain; charset=iso-8859-2\nContent-Transfer-Encoding: 8bit\n\n') + big + '\r\n',
  'long text in utf-16le': crlf('Subject: 16\nContent-Type: text/plain; charset=utf-16le\nContent-Transfer-Encoding: binary\n\n') + big + '\r\n',
  'long flowed text (stays one string)': crlf('Subject: flowed\nContent-Type: text/plain; charset=utf-8; format=flowed; delsp=yes\n\n') + big + '\r\n',
  'long text beside an HTML part and an attachment': crlf(`Subject: mixed
MIME-Version: 1.0
Content-Type: multipart/mixed; boundary="b1"

--b1
Content-Type: text/plain; charset=utf-8

`) + big + crlf(`
--b1
Content-Type: text/html; charset=utf-8

<p>and html</p>
--b1
Content-Type: text/plain; charset=utf-8

a second short text
--b1
Content-Type: application/octet-stream; name="a.bin"
Content-Disposition: attachment; filename="a.bin"

raw bytes
--b1--
`),
  'long text as an alternative to HTML': crlf(`Subject: alt
Content-Type: multipart/alternative; boundary=alt

--alt
Content-Type: text/plain

`) + big + crlf(`
--alt
Content-Type: text/html

<p>short</p>
--alt--`),
  'long text in a forwarded message': crlf(`Subject: fwd
Content-Type: multipart/mixed; boundary=out

--out
Content-Type: text/plain

see below
--out
Content-Type: message/rfc822

Subject: inner
Content-Type: text/plain; charset=utf-8

`) + big + crlf(`
--out--
`),
  'long calendar attachment': crlf('Subject: cal\nContent-Type: text/calendar; method=request\nContent-Disposition: attachment; filename=x.ics\n\n') + big + '\r\n',
};
// Invalid UTF-8 where a piece may end: a lead byte before a line end.
const invalid = new Uint8Array([...new TextEncoder().encode(crlf('Subject: bad\nContent-Type: text/plain; charset=utf-8\n\n')),
  ...Array.from({ length: 9000 }, (_, i) => [0x61, 0x62, i % 3 ? 0x20 : 0xc3, 0xe2, 0x82, 0x0d, 0x0a]).flat()]);

const bytesOf = (msg) => (msg instanceof Uint8Array ? msg : new TextEncoder().encode(msg));
// joined is the parse result with a LongText as the string it joins to.

for (const [name, msg] of Object.entries({ ...messages, ...messages2, 'invalid UTF-8 at line ends': invalid })) {
  test(`same parse: ${name}`, async () => {
    const bytes = bytesOf(msg);
    const want = await Original.parse(bytes, { attachmentEncoding: 'arraybuffer' });
    counts.reset();
    const got = await Patched.parse(bytes, { attachmentEncoding: 'arraybuffer' });
    assert.deepEqual(joined(got), want);
    if (bytes.length > LONG_TEXT_BYTES) {
      // The long part's content was made where it lay, but for a message
      // whose last line has no line end (no room for the "\n" after it).
      const last = bytes[bytes.length - 1];
      assert.ok(last === 0x0a ? counts.inPlace > 0 : true, `${counts.inPlace} parts in place`);
      // The long body went to its decoder in runs, not line by line: a run
      // ends only before a line that starts with "--" inside a multipart
      // (one line in six here) or before the last line.
      const lines = bytes.filter((c) => c === 0x0a).length;
      assert.ok(counts.runs > 0 && counts.runs < lines / 4, `${counts.runs} runs for ${lines} lines`);
    }
  });
}

test('a long plain text is kept in pieces of about 32 KB ending at line ends', async () => {
  for (const name of ['long text, one part, no final line end', 'long text beside an HTML part and an attachment',
    'long text as an alternative to HTML', 'long text in iso-8859-2']) {
    const got = await Patched.parse(bytesOf(messages2[name]), { attachmentEncoding: 'arraybuffer' });
    if (name === 'long text beside an HTML part and an attachment') {
      // Two plain parts: joined into one string as postal-mime does.
      assert.equal(typeof got.text, 'string', name);
      assert.match(got.html, /patient/, name);
      continue;
    }
    assert.ok(got.text instanceof LongText, name);
    assert.ok(got.text.pieces.length >= 8, name);
    for (const p of got.text.pieces.slice(0, -1)) assert.match(p, /\n$/, name);
    assert.equal(got.text.length, String(got.text).length, name);
  }
  const flowed = await Patched.parse(bytesOf(messages2['long flowed text (stays one string)']), { attachmentEncoding: 'arraybuffer' });
  assert.equal(typeof flowed.text, 'string');
});

test('a postal-mime without the expected loop fails the build', () => {
  assert.throws(() => patchParseLoop('while (x) { await this.processLine(a, b); }', 'x.js'), /parse loop/);
});

test('a postal-mime without the expected readLine fails the build', () => {
  const src = readFileSync(join(dist, 'postal-mime.js'), 'utf8');
  const changed = src.replace('const c = this.av[this.readPos++];', 'const c = this.av[this.readPos++] | 0;');
  assert.notEqual(changed, src);
  assert.throws(() => patchParseLoop(changed, 'x.js'), /readLine/);
  assert.doesNotThrow(() => patchParseLoop(src, 'x.js'));
});

// Work in proportion to the message (review findings): a long run of CRs
// inside a line was copied one CR at a time, each rescanning the run, and
// every line starting with "--" looked for the message's last line again.
// Either took hours here. The patched parse runs in a worker, so that a
// hang fails the test (a synchronous loop would never let a timeout fire);
// 60 s only tells a hang from an answer (both take well under a second).
function parseInWorker(bytes) {
  const src = `import { workerData, parentPort } from 'node:worker_threads';
const { default: P } = await import(workerData.main);
const r = await P.parse(workerData.bytes, { attachmentEncoding: 'arraybuffer' });
parentPort.postMessage({ ...r, text: r.text === undefined ? undefined : String(r.text) });`;
  return new Promise((resolve, reject) => {
    const w = new Worker(new URL('data:text/javascript,' + encodeURIComponent(src)), { workerData: { main: pathToFileURL(main).href, bytes } });
    const timer = setTimeout(() => {
      w.terminate();
      reject(new Error('the parse did not finish in 60 s'));
    }, 60_000);
    w.once('message', (r) => {
      clearTimeout(timer);
      w.terminate();
      resolve(r);
    });
    w.once('error', (e) => {
      clearTimeout(timer);
      reject(e);
    });
  });
}

test('a line with a million bare CRs parses as postal-mime parses it', async () => {
  const bytes = new TextEncoder().encode('Subject: cr\r\nContent-Type: text/plain\r\n\r\nx' + '\r'.repeat(1_000_000) + 'y\r\nend\r\n');
  const want = await Original.parse(bytes, { attachmentEncoding: 'arraybuffer' });
  assert.deepEqual(await parseInWorker(bytes), { ...want });
});

test('many lines starting with "--" before a long last line parse as postal-mime parses them', async () => {
  const msg = 'Content-Type: multipart/mixed; boundary=b\n\n--b\nContent-Type: text/plain\n\n' + '--\n'.repeat(200_000) + '--b--\n' + 'x'.repeat(2_000_000);
  const bytes = new TextEncoder().encode(msg);
  const want = await Original.parse(bytes, { attachmentEncoding: 'arraybuffer' });
  assert.deepEqual(await parseInWorker(bytes), { ...want });
});

test('a postal-mime without the expected attachment content fails the build', () => {
  const src = readFileSync(join(dist, 'postal-mime.js'), 'utf8');
  const changed = src.replace('attachment.content = content;', 'attachment.content = content || null;');
  assert.notEqual(changed, src);
  assert.throws(() => patchParseLoop(changed, 'x.js'), /attachment content/);
});

test('an attachment compacted in place is still an ArrayBuffer of its own', async () => {
  const msg = crlf('Subject: a\nContent-Type: multipart/mixed; boundary=b\n\n--b\nContent-Type: application/octet-stream\n\nraw\r\r\nbytes\n--b--\n');
  counts.reset();
  const got = await Patched.parse(new TextEncoder().encode(msg), { attachmentEncoding: 'arraybuffer' });
  assert.equal(counts.inPlace, 1);
  const c = got.attachments[0].content;
  assert.ok(c instanceof ArrayBuffer);
  assert.equal(new TextDecoder().decode(c), 'raw\nbytes\n');
});

test('the rewritten readLine is the one that runs', () => {
  const src = patchParseLoop(readFileSync(join(dist, 'postal-mime.js'), 'utf8'), 'x.js');
  assert.match(src, /av\.indexOf\(0x0a, startPos\)/);
  assert.doesNotMatch(src, /const c = this\.av\[this\.readPos\+\+\]/);
});
