// node --test web/test/: postal-mime with build.mjs's parse loop and
// readLine (see parse-loop.mjs) gives the same result as postal-mime
// itself, for messages with nested multiparts, boundary look-alikes, parts
// without a final line end, empty parts, base64 and quoted-printable
// bodies, and every kind of line end.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync, mkdtempSync, cpSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { patchParseLoop } from '../parse-loop.mjs';

const here = dirname(fileURLToPath(import.meta.url));
const dist = join(here, '..', 'node_modules', 'postal-mime', 'dist', 'esm');
// A patched copy of the package's modules, next to the original.
const copy = mkdtempSync(join(tmpdir(), 'postal-mime-'));
cpSync(dist, copy, { recursive: true });
const main = join(copy, 'postal-mime.js');
writeFileSync(main, patchParseLoop(readFileSync(main, 'utf8'), main));
const Original = (await import(join(dist, 'postal-mime.js'))).default;
const Patched = (await import(main)).default;

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

for (const [name, msg] of Object.entries(messages)) {
  test(`same parse: ${name}`, async () => {
    const bytes = new TextEncoder().encode(msg);
    const want = await Original.parse(bytes, { attachmentEncoding: 'arraybuffer' });
    const got = await Patched.parse(bytes, { attachmentEncoding: 'arraybuffer' });
    assert.deepEqual(got, want);
  });
}

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

test('the rewritten readLine is the one that runs', () => {
  const src = patchParseLoop(readFileSync(join(dist, 'postal-mime.js'), 'utf8'), 'x.js');
  assert.match(src, /av\.indexOf\(0x0a, startPos\)/);
  assert.doesNotMatch(src, /const c = this\.av\[this\.readPos\+\+\]/);
});
