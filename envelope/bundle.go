package envelope

import (
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	_ "embed" // the decryptor bundle
	"encoding/base64"
	"strings"
	"sync"
)

// decryptorJS is the in-browser decryptor, built from web/ by web/build.mjs
// (`make bundle`; `make check-bundle` proves it matches its source). The
// build guarantees ASCII only, lines far below 998 octets and no "</script",
// "<script" or "<!--" anywhere, so it could also go inline as is. It starts
// and ends with its license notices (OpenPGP.js is LGPL-3.0-or-later, see
// web/LICENSES).
//
//go:embed assets/decryptor.js
var decryptorJS string

// The page does not carry the 270 KB script as such: it carries it gzipped
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

// pack returns s gzipped (no name, no time: the same bytes every start)
// and base64-encoded in lines of packLine characters.
func pack(s string) string {
	var z bytes.Buffer
	w, err := gzip.NewWriterLevel(&z, gzip.BestCompression)
	if err != nil {
		panic(err) // only for an invalid level
	}
	// Writes to a bytes.Buffer cannot fail.
	_, _ = w.Write([]byte(s))
	_ = w.Close()
	b64 := base64.StdEncoding.EncodeToString(z.Bytes())
	var b strings.Builder
	for len(b64) > packLine {
		b.WriteString(b64[:packLine] + "\n")
		b64 = b64[packLine:]
	}
	b.WriteString(b64 + "\n")
	return b.String()
}

const packLine = 960
