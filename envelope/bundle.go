package envelope

import (
	"crypto/sha256"
	_ "embed" // the decryptor bundle
	"encoding/base64"
)

// decryptorJS is the in-browser decryptor, built from web/ by web/build.mjs
// (`make bundle`; `make check-bundle` proves it matches its source). The
// build guarantees what the 7bit page needs: ASCII only, lines far below
// 998 octets, no "</script", "<script" or "<!--" anywhere. It ends with its
// license notices (OpenPGP.js is LGPL-3.0-or-later, see web/LICENSES).
//
//go:embed assets/decryptor.js
var decryptorJS string

// decryptorHash is the CSP source that allows exactly the inline decryptor.
// Browsers hash the element's text after the HTML parser has turned CRLF
// into LF, so a page saved with CRLF line ends still matches.
var decryptorHash = cspHash(decryptorJS)

func cspHash(s string) string {
	sum := sha256.Sum256([]byte(s))
	return "'sha256-" + base64.StdEncoding.EncodeToString(sum[:]) + "'"
}
