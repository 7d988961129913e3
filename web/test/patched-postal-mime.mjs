// The postal-mime that build.mjs makes — its parse loop and readLine
// (parse-loop.mjs), long plain-text parts kept in pieces (text-pieces.mjs),
// the replacement base64 and pass-through decoders (src/) — as a patched
// copy of the package's modules next to the original, for the tests that
// compare the two (parse-loop.test.mjs, parse-fuzz.test.mjs).
import { readFileSync, writeFileSync, mkdtempSync, cpSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { patchParseLoop } from '../parse-loop.mjs';
import { patchTextPieces } from '../text-pieces.mjs';
import { LongText } from '../src/long-text.js';

// Node's one-call windows-1252 decode maps 0x80-0x9f as Latin-1, unlike
// its streaming decode and unlike browsers; postal-mime falls back to
// windows-1252 for unknown charsets. One-call decodes of windows-1252 go
// through the streaming path here, so both copies decode as a browser does.
const NativeTextDecoder = globalThis.TextDecoder;
globalThis.TextDecoder = class extends NativeTextDecoder {
  decode(input, opts) {
    if (this.encoding === 'windows-1252' && !(opts && opts.stream) && !this.streaming) {
      const d = new NativeTextDecoder('windows-1252', { fatal: this.fatal, ignoreBOM: this.ignoreBOM });
      return d.decode(input, { stream: true }) + d.decode();
    }
    this.streaming = Boolean(opts && opts.stream);
    return super.decode(input, opts);
  }
};

const here = dirname(fileURLToPath(import.meta.url));
export const dist = join(here, '..', 'node_modules', 'postal-mime', 'dist', 'esm');
const copy = mkdtempSync(join(tmpdir(), 'postal-mime-'));
cpSync(dist, copy, { recursive: true });
for (const f of ['pass-through-decoder.js', 'base64-decoder.js']) cpSync(join(here, '..', 'src', f), join(copy, f));
// main is the patched copy's entry module.
export const main = join(copy, 'postal-mime.js');
writeFileSync(main, patchTextPieces(patchParseLoop(readFileSync(main, 'utf8'), main), main, join(here, '..', 'src', 'long-text.js')));
export const Original = (await import(join(dist, 'postal-mime.js'))).default;
export const Patched = (await import(main)).default;
export const PassThrough = (await import(join(copy, 'pass-through-decoder.js'))).default;

// joined is a parse result with a LongText as the string it joins to.
export const joined = (r) => (r.text instanceof LongText ? { ...r, text: String(r.text) } : r);

// Parts handed to the pass-through decoder as runs, and parts compacted in
// the message buffer, counted since the last reset().
export const counts = { runs: 0, inPlace: 0, reset() { this.runs = 0; this.inPlace = 0; } };
const updateRun = PassThrough.prototype.updateRun;
PassThrough.prototype.updateRun = function (run) {
  counts.runs++;
  return updateRun.call(this, run);
};
const compactInPlace = PassThrough.prototype.compactInPlace;
PassThrough.prototype.compactInPlace = function () {
  const c = compactInPlace.call(this);
  if (c) counts.inPlace++;
  return c;
};
