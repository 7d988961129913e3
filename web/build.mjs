// Builds the securedoc decryptor: web/src/main.js and its dependencies
// bundled by esbuild into ONE script that goes inline into a 7bit
// us-ascii e-mail attachment. So the output must be ASCII only, every line
// far below SMTP's 998 octets, and free of anything that would end or
// confuse an inline <script> element. The same inputs give the same bytes:
// `make check-bundle` rebuilds and compares with the committed file.
// The one output has two forms, made from it by envelope/bundle.go: linked
// pages load it as is from the key service (at a URL naming its SHA-384,
// with that hash as its Subresource Integrity), embedded pages carry it
// gzipped in base64 and run it from a blob: URL.
//
//   node build.mjs [OUTPUT]     default OUTPUT: ../envelope/assets/decryptor.js

import { patchParseLoop } from './parse-loop.mjs';
import { patchOpenPGP } from './openpgp-copies.mjs';
import { patchTextPieces } from './text-pieces.mjs';
import * as esbuild from 'esbuild';
import { readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const out = process.argv[2] || join(here, '..', 'envelope', 'assets', 'decryptor.js');

const pkg = (name) => JSON.parse(readFileSync(join(here, 'node_modules', name, 'package.json'), 'utf8'));
const openpgpVersion = pkg('openpgp').version;
const postalVersion = pkg('postal-mime').version;
const purifyVersion = pkg('dompurify').version;

// OpenPGP.js's "lightweight" build loads what most messages never need
// through dynamic import() of separate chunks. Bundled without splitting,
// esbuild would inline them all; the securedoc only ever meets
// symmetrically encrypted AES messages (SKESK v4/v6, SEIPD v1/v2,
// ZLIB/ZIP), so the chunks for public-key curves, ed/x25519, CAST5,
// Twofish, Blowfish, 3DES and BZip2 are replaced by a stub that fails
// clearly if a message ever asks for them. That halves the script.
// Kept: argon2id (Argon2 S2K of rfc9580 shared passwords) and noble_hashes
// (streamed SHA-1/SHA-2 for the SEIPD v1 MDC and S2K), without the hashes
// no securedoc uses (MD5, RIPEMD-160, SHA-3: noHashes), which saves ~2 KB
// of every embedded page; a message asking for one fails as "Unsupported
// hash".
const stubbed = new Set(['./noble_curves.mjs', './nacl-fast.mjs', './legacy_ciphers.mjs', './unbzip2-stream.mjs']);
const openpgpEntry = join(here, 'node_modules', 'openpgp', 'dist', 'lightweight', 'openpgp.mjs');
const nobleHashes = `const nobleHashes = new Map(Object.entries({
    md5,
    sha1,
    sha224,
    sha256,
    sha384,
    sha512,
    sha3_256,
    sha3_512,
    ripemd160
}));`;
const noHashes = `const nobleHashes = new Map(Object.entries({
    sha1,
    sha224,
    sha256,
    sha384,
    sha512
}));`;

// postal-mime's html-to-text regexes hold "<!--", "<script" and
// "</script", which an inline script must not contain (an HTML comment
// opener switches the parser into "script data escaped" state, where a
// later "<script" changes how "</script>" is read). The same regexes, with
// one character put in a class, match the same text.
const inlineSafe = [
  ['/<!--/g', '/<[!]--/g'],
  ['/<script\\b/gi', '/<[s]cript\\b/gi'],
  ['/<\\/script\\b/gi', '/<\\/[s]cript\\b/gi'],
];
const inlineSafePlugin = {
  name: 'postseal-inline-safe',
  setup(build) {
    build.onLoad({ filter: /postal-mime[\\/]dist[\\/]esm[\\/]text-format\.js$/ }, (args) => {
      let src = readFileSync(args.path, 'utf8');
      for (const [from, to] of inlineSafe) {
        if (!src.includes(from)) throw new Error(`${args.path}: expected ${from} (postal-mime changed?)`);
        src = src.split(from).join(to);
      }
      return { contents: src, loader: 'js' };
    });
    // DOMPurify parses two comment strings of its own ("<!-->" for empty
    // input, "<!---->" to start a document). esbuild folds constant
    // concatenations (and String.fromCharCode), so the string is joined
    // at run time.
    build.onLoad({ filter: /dompurify[\\/]dist[\\/]purify[a-z.]*\.m?js$/ }, (args) => {
      let src = readFileSync(args.path, 'utf8');
      for (const s of ['"<!-->"', '"<!---->"']) {
        if (!src.includes(s)) throw new Error(`${args.path}: expected ${s} (DOMPurify changed?)`);
        src = src.split(s).join(`["<", "${s.slice(2)}].join("")`);
      }
      return { contents: src, loader: 'js' };
    });
  },
};

// postal-mime's base64 and pass-through decoders are replaced too (see the
// first onResolves).
// postal-mime decodes named character references (when it turns an HTML
// part into text) with the full 46 KB WHATWG table. The browser has that
// table already: an RCDATA element decodes "&name;" without running
// anything, so the table is replaced by a lookup through one.
const entitiesPlugin = {
  name: 'postseal-postal-mime',
  setup(build) {
    // A faster Base64Decoder with the same results (see src/base64-decoder.js).
    build.onResolve({ filter: /^\.\/base64-decoder\.js$/ }, (args) =>
      /postal-mime/.test(args.importer) ? { path: join(here, 'src', 'base64-decoder.js') } : undefined);
    // A PassThroughDecoder that copies lines instead of making a Blob of
    // them (see src/pass-through-decoder.js).
    build.onResolve({ filter: /^\.\/pass-through-decoder\.js$/ }, (args) =>
      /postal-mime/.test(args.importer) ? { path: join(here, 'src', 'pass-through-decoder.js') } : undefined);
    build.onResolve({ filter: /^\.\/html-entities\.js$/ }, (args) =>
      /postal-mime/.test(args.importer) ? { path: 'html-entities', namespace: 'entities' } : undefined);
    build.onLoad({ filter: /.*/, namespace: 'entities' }, () => ({
      contents: `let t;
export const htmlEntities = new Proxy({}, { get(_, name) {
  if (typeof name !== 'string' || !/^&[a-z]+[0-9]*;?$/i.test(name)) return undefined;
  t = t || document.createElement('textarea');
  t.innerHTML = name;
  return t.value === name ? undefined : t.value;
} });`,
      loader: 'js',
    }));
  },
};

// postal-mime's parse loop is rewritten (see parse-loop.mjs), and a long
// plain-text part is kept in pieces (see text-pieces.mjs).
const parseLoopPlugin = {
  name: 'postseal-parse-loop',
  setup(build) {
    build.onLoad({ filter: /postal-mime[\\/]dist[\\/]esm[\\/]postal-mime\.js$/ }, (args) => ({
      contents: patchTextPieces(patchParseLoop(readFileSync(args.path, 'utf8'), args.path), args.path, join(here, 'src', 'long-text.js')),
      loader: 'js',
    }));
  },
};

// OpenPGP.js's joins of the data it decrypts are rewritten (see
// openpgp-copies.mjs).
const openpgpPlugin = {
  name: 'postseal-openpgp-copies',
  setup(build) {
    build.onLoad({ filter: /openpgp[\\/]dist[\\/]lightweight[\\/]openpgp\.mjs$/ }, (args) =>
      ({ contents: patchOpenPGP(readFileSync(args.path, 'utf8'), args.path), loader: 'js' }));
  },
};

const stubPlugin = {
  name: 'postseal-stubs',
  setup(build) {
    // The non-minified ESM file: esbuild's own minifier and tree shaking
    // do better on it than on the pre-minified one.
    build.onResolve({ filter: /^openpgp$/ }, () => ({ path: openpgpEntry }));
    build.onResolve({ filter: /^node:/ }, (args) => ({ path: args.path, namespace: 'stub' }));
    build.onResolve({ filter: /^\.\/[a-z0-9_-]+\.mjs$/ }, (args) =>
      args.importer === openpgpEntry && stubbed.has(args.path) ? { path: args.path, namespace: 'stub' } : undefined);
    build.onLoad({ filter: /noble_hashes\.mjs$/ }, (args) => {
      const src = readFileSync(args.path, 'utf8');
      if (src.split(nobleHashes).length !== 2) throw new Error(`${args.path}: expected OpenPGP.js's table of hashes once (OpenPGP.js changed?)`);
      return { contents: src.replace(nobleHashes, noHashes), loader: 'js' };
    });
    build.onLoad({ filter: /.*/, namespace: 'stub' }, (args) => ({
      contents: `const fail = () => { throw new Error('not supported by the securedoc decryptor: ${args.path}'); };
export default new Proxy({}, { get: fail });
export const nobleCurves = new Map();
export const legacyCiphers = new Map();
export const i = { get default() { return fail(); } };`,
      loader: 'js',
    }));
  },
};

const header = `/*! postseal securedoc decryptor. Built from web/ in the postseal source
 * tree by web/build.mjs. It contains:
 *  - OpenPGP.js ${openpgpVersion} (npm package "openpgp@${openpgpVersion}"), LGPL-3.0-or-later.
 *    Its complete source is that npm package and github.com/openpgpjs/openpgpjs
 *    (tag v${openpgpVersion}); the license text is in web/LICENSES/ of postseal.
 *    Parts of it carry their own MIT notices (noble-hashes, noble-ciphers),
 *    kept at the end of this file.
 *  - postal-mime ${postalVersion} (npm package "postal-mime@${postalVersion}"), MIT-0,
 *    Copyright (c) 2021-2025 Andris Reinman.
 *  - DOMPurify ${purifyVersion} (npm package "dompurify@${purifyVersion}"), Apache-2.0 OR MPL-2.0,
 *    Copyright (c) Cure53 and other contributors.
 * You may replace the OpenPGP.js part: rebuild with web/build.mjs. */
`;

const result = await esbuild.build({
  entryPoints: [join(here, 'src', 'main.js')],
  bundle: true,
  write: false,
  format: 'iife',
  platform: 'browser',
  target: ['es2022'],
  minify: true,
  charset: 'ascii',
  lineLimit: 200,
  legalComments: 'eof',
  treeShaking: true,
  plugins: [stubPlugin, openpgpPlugin, inlineSafePlugin, entitiesPlugin, parseLoopPlugin],
  logLevel: 'warning',
  define: { 'process.env.NODE_ENV': '"production"' },
});

// esbuild's charset:'ascii' escapes non-ASCII but leaves tabs and other
// ASCII control characters raw inside string literals; minified code has
// them nowhere else, and inside a literal (string, template, regex) \xNN
// means the same. The page then holds printable ASCII and line ends only.
const js = (header + result.outputFiles[0].text).replace(/[\x00-\x09\x0b-\x1f]/g,
  (c) => '\\x' + c.charCodeAt(0).toString(16).padStart(2, '0'));

const problems = [];
for (let i = 0; i < js.length; i++) {
  const c = js.charCodeAt(i);
  if (c > 0x7e || (c < 0x20 && c !== 0x0a)) {
    problems.push(`byte 0x${c.toString(16)} at offset ${i}`);
    break;
  }
}
js.split('\n').forEach((line, i) => {
  if (line.length >= 990) problems.push(`line ${i + 1} is ${line.length} octets`);
});
// Inline script content must not close the element or open an HTML comment
// (which switches the HTML parser into "script data escaped" state);
// esbuild escapes "</script" in literals itself.
if (/<\/script|<!--|<script/i.test(js)) problems.push('contains </script, <script or <!--');
if (problems.length) {
  console.error(`build.mjs: bundle unusable inline in a 7bit page: ${problems.join('; ')}`);
  if (!process.env.DEBUG_BUILD) process.exit(1);
}
writeFileSync(out, js);
console.error(`build.mjs: wrote ${out} (${js.length} bytes)`);
