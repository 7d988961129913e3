package envelope

import (
	"bytes"
	"crypto/sha256"
	"crypto/sha512"
	_ "embed" // the decryptor bundle
	"encoding/base64"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/klauspost/compress/gzip"
)

// Decryptor says how a securedoc carries its decryptor.
type Decryptor string

const (
	// DecryptorLinked: the page holds a small loader that fetches the
	// decryptor from the key service at a content-addressed URL and runs it
	// only if it matches the hash the page names (Subresource Integrity).
	// Pages stay small and the browser caches the decryptor across
	// messages; the page's own hash pins the code it runs.
	DecryptorLinked Decryptor = "linked"
	// DecryptorEmbedded: the page carries the whole decryptor (packed, see
	// decryptorPacked) and opens with no network at all.
	DecryptorEmbedded Decryptor = "embedded"
)

// ParseDecryptor reads the [envelope] decryptor setting ("" is linked).
func ParseDecryptor(s string) (Decryptor, error) {
	switch Decryptor(s) {
	case "", DecryptorLinked:
		return DecryptorLinked, nil
	case DecryptorEmbedded:
		return DecryptorEmbedded, nil
	}
	return "", fmt.Errorf("decryptor %q: want %q or %q", s, DecryptorLinked, DecryptorEmbedded)
}

// DecryptorAsset is the decryptor as the key service serves it to linked
// pages.
type DecryptorAsset struct {
	// Path is the URL path below the key service's public URL; it names
	// the content (base64url SHA-384), so it can be cached for good.
	Path string
	// Integrity is the Subresource Integrity value linked pages pin.
	Integrity string
	// Body is the script; Gzip the same, gzip-compressed for clients that
	// accept it.
	Body, Gzip []byte
}

// LinkedDecryptor returns the decryptor this build's linked pages load.
var LinkedDecryptor = sync.OnceValue(func() DecryptorAsset {
	sum := sha512.Sum384([]byte(decryptorJS))
	return DecryptorAsset{
		Path:      DecryptorPathPrefix + base64.RawURLEncoding.EncodeToString(sum[:]) + ".js",
		Integrity: "sha384-" + base64.StdEncoding.EncodeToString(sum[:]),
		Body:      []byte(decryptorJS),
		Gzip:      gzipBest(decryptorJS),
	}
})

// DecryptorPathPrefix is where the key service serves decryptors.
const DecryptorPathPrefix = "/decryptor/"

// linkedLoaderJS loads the linked decryptor named by its own data-src and
// data-integrity attributes. A script that fails to load, or loads but
// does not match its integrity value, is not run and fires "error"; the
// loader then asks once more without SRI to tell the reader which it was:
// no answer at all (data-down: the key service cannot be reached) or an
// answer that is not the pinned code (data-bad). It passes its own nonce
// on, for a key service that serves pages under a nonce-based policy.
const linkedLoaderJS = `(()=>{` +
	`const l=document.currentScript,d=l.dataset,s=document.createElement("script");` +
	`s.src=d.src;s.integrity=d.integrity;s.crossOrigin="anonymous";s.referrerPolicy="no-referrer";s.nonce=l.nonce;` +
	`s.onerror=()=>fetch(d.src,{cache:"no-store",credentials:"omit",referrerPolicy:"no-referrer"}).then(()=>d.bad,()=>d.down).then(t=>{` +
	`const e=document.getElementById("error"),p=document.createElement("p");` +
	`p.textContent=t;e.replaceChildren(p);e.hidden=false;document.documentElement.dataset.decryptor="unavailable"});` +
	`l.after(s)})()`

// linkedLoaderHash is the CSP source that allows exactly linkedLoaderJS.
var linkedLoaderHash = cspHash(linkedLoaderJS)

// decryptorJS is the in-browser decryptor, built from web/ by web/build.mjs
// (`make bundle`; `make check-bundle` proves it matches its source). The
// build guarantees ASCII only, lines far below 998 octets and no "</script",
// "<script" or "<!--" anywhere, so it could also go inline as is. It starts
// and ends with its license notices (OpenPGP.js is LGPL-3.0-or-later, see
// web/LICENSES).
//
//go:embed assets/decryptor.js
var decryptorJS string

// An embedded page does not carry the 270 KB script as such: it carries it gzipped
// and in base64 (~120 KB) inside a <script type="text/plain"> element that
// nothing executes, plus a small inline loader, allowed by its hash, that
// inflates it with the browser's DecompressionStream and runs it from a
// blob: URL. That keeps a securedoc for a short message near 130 KB instead
// of 280 KB. The policy admits blob: scripts: only script already running
// in the page can mint a blob: URL. The compressed form is made here, at
// first use (~25 ms, not at every start of the binary), so the committed
// bundle stays the plain, reproducible esbuild output.
var decryptorPacked = sync.OnceValue(func() string { return pack(decryptorJS) })

// loaderJS runs the packed decryptor. It passes its own nonce on, for a key
// service that serves the page under a nonce-based policy of its own.
const loaderJS = `(async()=>{` +
	`const d=document.getElementById("postseal-decryptor");` +
	`if(!d||typeof DecompressionStream!=="function")return;` +
	`const t=d.textContent.replace(/\s+/g,"");` +
	`const b=Uint8Array.fromBase64?Uint8Array.fromBase64(t):Uint8Array.from(atob(t),c=>c.charCodeAt(0));` +
	`const js=await new Response(new Blob([b]).stream().pipeThrough(new DecompressionStream("gzip"))).blob();` +
	`const s=document.createElement("script");` +
	`s.nonce=document.currentScript?document.currentScript.nonce:"";` +
	`s.src=URL.createObjectURL(new Blob([js],{type:"text/javascript"}));` +
	`document.body.append(s)})()`

// loaderHash is the CSP source that allows exactly the inline loader.
// Browsers hash an element's text after the HTML parser has turned CRLF
// into LF; the loader is one line, so line ends cannot matter.
var loaderHash = cspHash(loaderJS)

func cspHash(s string) string {
	sum := sha256.Sum256([]byte(s))
	return "'sha256-" + base64.StdEncoding.EncodeToString(sum[:]) + "'"
}

// gzipBest returns s gzipped (no name, no time: the same bytes every
// start) at klauspost/compress's best level, which makes the decryptor
// 0.6% smaller than the standard library's (104,907 against 105,580 bytes
// for the 314 KB script): every embedded page carries it.
func gzipBest(s string) []byte {
	var z bytes.Buffer
	w, _ := gzip.NewWriterLevel(&z, gzip.BestCompression) // a valid level cannot fail
	// Its zero ModTime would write the seconds of year 1 as MTIME (a date
	// in 2042); the Unix epoch writes 0, "no time".
	w.ModTime = time.Unix(0, 0)
	_, _ = w.Write([]byte(s)) // writes to a bytes.Buffer cannot fail
	_ = w.Close()
	return z.Bytes()
}

// pack returns s gzipped (gzipBest) and base64-encoded in lines of
// packLine characters.
func pack(s string) string {
	b64 := base64.StdEncoding.EncodeToString(gzipBest(s))
	var b strings.Builder
	for len(b64) > packLine {
		b.WriteString(b64[:packLine] + "\n")
		b64 = b64[packLine:]
	}
	b.WriteString(b64 + "\n")
	return b.String()
}

const packLine = 960
