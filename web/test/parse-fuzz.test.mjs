// node --test web/test/: a differential fuzz of the postal-mime build.mjs
// makes (see patched-postal-mime.mjs) against postal-mime itself, written
// by a reviewer who attacked the patches, not by their author: random
// messages mixing line ends (CRLF, LF, CR runs, bare CRs), lines starting
// with "--", near-boundaries and outer boundaries inside inner parts,
// nested multiparts and digests, inline message/rfc822 up to 3 levels,
// base64 and quoted-printable, format=flowed, final lines without a line
// end, empty parts and epilogues, in many charsets (UTF-16 with and without
// a BOM, ISO-2022-JP, Shift_JIS, GB18030, unknown ones), some over 256 KB.
// Every parse must give what postal-mime gives (text joined from its
// pieces), or the same error. Fixed seeds: the same cases every run.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { LongText } from '../src/long-text.js';
import { Original, Patched, joined, counts } from './patched-postal-mime.mjs';

function rng(seed) { let s = seed >>> 0 || 1; return () => { s ^= s << 13; s >>>= 0; s ^= s >>> 17; s ^= s << 5; s >>>= 0; return s / 4294967296; }; }
let R;
const pick = (a) => a[Math.floor(R() * a.length)];
const chance = (p) => R() < p;
const int = (n) => Math.floor(R() * n);

const EOLS = ['\r\n', '\r\n', '\r\n', '\n', '\r\r\n', '\r', '\r\r\r\n', ' \r\n', '\t\n'];
const eol = () => (chance(0.7) ? CUR_EOL : pick(EOLS));
let CUR_EOL = '\r\n';
let BOUNDS = [];

// byte-level body line fragments
function lineText(big) {
  const k = int(30);
  if (k === 0) return '--';
  if (k === 1) return '--' + 'x'.repeat(int(5));
  if (k === 2 && BOUNDS.length) return '--' + pick(BOUNDS) + pick(['', '--', ' ', '\t', 'x', '-', '--x', ' --', '--  ']);
  if (k === 3) return '-- ';
  if (k === 4) return '';
  if (k === 5) return '\r';
  if (k === 6) return 'a\rb\r\rc';
  if (k === 7) return '=C3=A9=\r';
  if (k === 8) return 'caf\u00e9 na\u00efve \u20ac \u{1F600}';
  if (k === 9) return 'QUJD' + 'ZGVm'.repeat(int(20));
  if (k === 10) return '=';
  if (k === 11) return '\ufeffbom';
  if (k === 12) return '\x1b$B$3$s\x1b(B ok';
  if (k === 13) return '<b>x</b> &amp; <script>alert(1)</script>';
  if (k === 14) return '> quoted ';
  if (k === 15) return 'x'.repeat(int(big ? 2000 : 200));
  if (k === 16) return 'Subject: fake';
  if (k === 17) return chance(0.5) ? '- -' : 'a' + '\r'.repeat(int(300)) + pick(['b', '', '\r']);
  if (k === 18) return '\x00\x01\x7f';
  return 'word '.repeat(int(15)) + pick(['', ' ', '  ']);
}

function body(big) {
  const target = big ? 256 * 1024 + int(100000) : int(12) * int(8);
  let s = '';
  let n = 0;
  while (s.length < target || (n === 0 && chance(0.5))) {
    s += lineText(big) + eol();
    n++;
    if (!big && n > 40) break;
  }
  return s;
}

const CHARSETS = ['utf-8', 'utf-8', 'UTF-8', 'iso-8859-2', 'utf-16le', 'utf-16be', 'utf-16', 'iso-2022-jp', 'shift_jis', 'euc-kr', 'gb18030', 'big5', 'koi8-r', null, 'x-unknown'];
const ENCS = ['7bit', '8bit', 'binary', null, 'base64', 'quoted-printable', 'Base64', '(c) quoted-printable', 'x-uue'];

function b64(str) {
  const b = Buffer.from(str, 'latin1').toString('base64');
  let out = '';
  for (let i = 0; i < b.length; i += 76) out += b.slice(i, i + 76) + (chance(0.9) ? '\r\n' : '\n');
  return out;
}

// the raw body in binary-string (latin1) form
function leaf(depth, big) {
  const t = pick(['text/plain', 'text/plain', 'text/plain', 'text/html', 'application/octet-stream', 'message/rfc822', 'text/calendar', 'image/png']);
  let charset = pick(CHARSETS);
  if (big && t === 'text/plain') charset = pick(['utf-8', 'utf-16le', 'utf-16be', 'iso-2022-jp', 'shift_jis', 'gb18030', 'iso-8859-2', 'euc-kr', null]);
  let cte = pick(ENCS);
  let hdr = 'Content-Type: ' + t + (charset ? '; charset=' + (chance(0.2) ? `"${charset}"` : charset) : '');
  if (t === 'text/plain' && chance(0.15)) hdr += '; format=flowed' + (chance(0.5) ? '; delsp=yes' : '');
  if (t === 'text/calendar') hdr += '; method=request';
  hdr += eol();
  if (cte) hdr += 'Content-Transfer-Encoding: ' + cte + eol();
  if (chance(0.3)) hdr += 'Content-Disposition: ' + pick(['attachment', 'inline', 'attachment; filename="a.txt"', 'inline; filename=b.bin']) + eol();
  if (chance(0.2)) hdr += 'Content-ID: <c' + int(5) + '@x>' + eol();
  let raw;
  if (t === 'message/rfc822' && depth < 3) raw = message(depth + 1, big && chance(0.5));
  else {
    let text = body(big);
    // charset-encoded bytes as a binary string
    if (charset && /utf-16/i.test(charset)) {
      const le = !/be/i.test(charset);
      const u = Buffer.alloc(text.length * 2);
      for (let i = 0; i < text.length; i++) { const c = text.charCodeAt(i); if (le) u.writeUInt16LE(c, 2 * i); else u.writeUInt16BE(c, 2 * i); }
      raw = (chance(0.3) ? (le ? '\xff\xfe' : '\xfe\xff') : '') + u.toString('latin1');
    } else raw = Buffer.from(text, 'utf8').toString('latin1');
  }
  if (cte && /base64/i.test(cte) && !/\(c\)/.test(cte)) raw = b64(raw);
  if (chance(0.1)) raw = raw.replace(/[\r\n]+$/, '');
  return hdr + eol() + raw;
}

let bcount = 0;
function multipart(depth, big) {
  const b = pick(['b', 'b1', 'b1x', 'outer', '=_Part', 'b' + (bcount++), '--', 'b b', 'x']);
  const sub = pick(['mixed', 'mixed', 'alternative', 'related', 'digest', 'report']);
  const quoted = chance(0.5);
  BOUNDS.push(b);
  let s = `Content-Type: multipart/${sub}; boundary=${quoted || /[ =]/.test(b) ? `"${b}"` : b}` + eol() + eol();
  if (chance(0.4)) s += body(false);
  const n = 1 + int(4);
  for (let i = 0; i < n; i++) {
    s += '--' + b + pick(['', '', '', ' ', '\t ']) + eol();
    if (sub === 'digest' && chance(0.5)) s += eol() + message(depth + 1, false);
    else s += part(depth + 1, big && i === 0);
    if (!/[\r\n]$/.test(s)) s += eol();
  }
  if (chance(0.85)) s += '--' + b + '--' + pick(['', ' ']) + eol();
  if (chance(0.4)) s += body(false);
  if (chance(0.3)) s += 'x'.repeat(int(3000));
  BOUNDS.pop();
  return s;
}

function part(depth, big) {
  if (depth < 4 && chance(0.3)) return multipart(depth, big);
  return leaf(depth, big);
}

function message(depth, big) {
  const save = BOUNDS;
  if (chance(0.5)) BOUNDS = []; // a nested message does not see the outer boundaries... but may still contain them
  let s = 'From: a@example.org' + eol() + 'Subject: t' + int(99) + eol();
  if (chance(0.3)) s += 'MIME-Version: 1.0' + eol();
  s += part(depth, big);
  BOUNDS = save;
  return s;
}

for (const seed of [1, 2, 3, 4]) {
  test(`same parse as postal-mime: 150 random messages, seed ${seed}`, async () => {
    let big = 0;
    let longTexts = 0;
    counts.reset();
    for (let i = 0; i < 150; i++) {
      R = rng(seed * 100003 + i);
      CUR_EOL = pick(['\r\n', '\n', '\r\n']);
      BOUNDS = [];
      const isBig = chance(0.06);
      if (isBig) big++;
      const bytes = new Uint8Array(Buffer.from(message(0, isBig), 'latin1'));
      let want, got, wantErr, gotErr;
      try {
        want = await Original.parse(bytes, { attachmentEncoding: 'arraybuffer' });
      } catch (e) {
        wantErr = String(e);
      }
      try {
        got = await Patched.parse(bytes, { attachmentEncoding: 'arraybuffer' });
      } catch (e) {
        gotErr = String(e);
      }
      assert.equal(gotErr, wantErr, `case ${i}`);
      if (got) {
        if (got.text instanceof LongText) longTexts++;
        assert.deepEqual(joined(got), want, `case ${i} (${bytes.length} bytes)`);
      }
    }
    // The cases reach the new paths: runs, parts compacted in place, and
    // (over all seeds) long texts kept in pieces.
    assert.ok(counts.runs > 100 && counts.inPlace > 50, `${counts.runs} runs, ${counts.inPlace} in place`);
    totals.big += big;
    totals.longTexts += longTexts;
  });
}
const totals = { big: 0, longTexts: 0 };
test('the random messages include long ones kept in pieces', () => {
  assert.ok(totals.big >= 10 && totals.longTexts >= 3, `${totals.big} long messages, ${totals.longTexts} long texts`);
});
