package envelope

import (
	"bytes"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base32"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"io"
	"io/fs"
	"strings"
	"time"

	"github.com/postseal/postseal/locale"
)

// KeySize is the length of a message key in bytes.
const KeySize = 32

// Profile names accepted in Options.Profile ("" means ProfileRFC4880).
const (
	ProfileRFC4880 = "rfc4880"
	ProfileRFC9580 = "rfc9580"
)

// maxIDLen bounds envelope ids: they travel in a header field, an HTML
// attribute and a URL path, so they are kept short and to a safe alphabet.
const maxIDLen = 128

// Seal encrypts req.Original into an OpenPGP message (see Options.Profile),
// wraps it in the securedoc page and returns the notification that replaces
// the message. The original is streamed; the result holds the only full-size
// buffer (the body, about 1.4 times the message at worst). SealTo writes
// the body out as it is made instead.
//
// req.ID must be 1 to 128 characters of [A-Za-z0-9._-] (NewID gives one):
// it goes into a header field and the page unescaped by the MIME layer.
// A zero req.Now means time.Now().
func Seal(req Request, opt Options) (*Sealed, error) {
	var body bytes.Buffer
	s, err := sealChecked(&body, &body, req, opt)
	if err != nil {
		return nil, err
	}
	s.Body = body.Bytes()
	if s.OnlinePayload != nil {
		// A slice of the body, not a copy (see sealChecked).
		start, end := int(s.onlineSpan[0]), int(s.onlineSpan[1])
		s.OnlinePayload = s.Body[start:end:end]
	}
	return s, nil
}

// SealTo is Seal writing the notification body to w in pieces as it is
// made (the original is read once, and nothing holds the whole body): the
// Sealed it returns has no Body, and its OnlinePayload is a copy of the
// payload bytes as they passed. On an error w may have received part of a
// body, which must then be discarded; w's own errors are returned wrapped.
func SealTo(w io.Writer, req Request, opt Options) (*Sealed, error) {
	return sealChecked(w, nil, req, opt)
}

// sealChecked seals into w. kept, when set, is the buffer w is: it is
// sized from the sample, and the online copy is then marked in it
// (Sealed.onlineSpan) instead of copied.
func sealChecked(w io.Writer, kept *bytes.Buffer, req Request, opt Options) (*Sealed, error) {
	if err := validateID(req.ID); err != nil {
		return nil, fmt.Errorf("seal: %w", err)
	}
	s, err := seal(w, kept, req, opt)
	if err != nil {
		return nil, fmt.Errorf("seal %s: %w", req.ID, err)
	}
	return s, nil
}

// seal writes the body to w (see sealChecked for kept).
func seal(w io.Writer, kept *bytes.Buffer, req Request, opt Options) (*Sealed, error) {
	if req.Original == nil {
		return nil, fmt.Errorf("no original message")
	}
	if req.Now.IsZero() {
		req.Now = time.Now()
	}
	prof, err := profileOf(opt.Profile)
	if err != nil {
		return nil, err
	}

	var key []byte
	passphrase := req.Password
	if passphrase == nil {
		key = make([]byte, KeySize)
		if _, err := rand.Read(key); err != nil {
			return nil, fmt.Errorf("message key: %w", err)
		}
		passphrase = []byte(Passphrase(key))
	}

	name := attachmentName(opt.AttachmentName, req.Now)
	page, err := newPage(req, opt, prof)
	if err != nil {
		return nil, err
	}
	n, err := newNotification(req, opt, name)
	if err != nil {
		return nil, err
	}

	size := originalSize(req.Original)
	src, compress, ratio, err := sampleCompression(req.Original)
	if err != nil {
		return nil, fmt.Errorf("read original: %w", err)
	}
	estimate := estimateBody(size, ratio)
	if kept != nil {
		kept.Grow(estimate)
	}
	digest := sha256.New()
	online := phoneLink(req, opt) != ""
	// The page is written straight into the body (no buffering between),
	// so the bytes written while the payload was are the payload, as the
	// attachment carries it (CRLF line ends: the page's textarea reads them
	// as the attachment's does): the online copy.
	body := &countingWriter{w: w}
	var span [2]int64
	var copied bytes.Buffer
	payload := func(w io.Writer) error {
		span[0] = body.n
		if online && kept == nil {
			// The payload only: the page and the notification are not
			// part of the online copy.
			copied.Grow(estimatePayload(size, ratio))
			body.copy = &copied
		}
		defer func() { span[1], body.copy = body.n, nil }()
		return encrypt(w, src, encryptParams{
			compress:   compress,
			size:       size,
			profile:    prof,
			passphrase: passphrase,
			human:      req.Password != nil,
			recovery:   opt.RecoveryKey,
			now:        req.Now,
			digest:     digest,
		})
	}
	if err := n.write(body, func(w io.Writer) error { return page.write(w, payload) }); err != nil {
		return nil, err
	}

	s := &Sealed{
		Key:            key,
		AttachmentName: name,
		Header: []Field{
			{Name: "MIME-Version", Value: "1.0"},
			{Name: "Content-Type", Value: `multipart/mixed; boundary="` + n.outer + `"`},
			{Name: "X-Postseal-Envelope", Value: req.ID},
		},
		PayloadDigest: hex.EncodeToString(digest.Sum(nil)),
	}
	if online {
		s.OnlinePayload, s.onlineSpan = copied.Bytes(), span
		if kept != nil {
			s.OnlinePayload = []byte{} // Seal slices it from the body
		}
		s.OnlineMeta = pageMeta(req.Display, req.Recipients, false)
	}
	return s, nil
}

// countingWriter counts what passes to w and, while copy is set, keeps a
// copy of it there.
type countingWriter struct {
	w    io.Writer
	n    int64
	copy *bytes.Buffer
}

func (c *countingWriter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.n += int64(n)
	if c.copy != nil {
		c.copy.Write(p[:n])
	}
	return n, err
}

// phoneLink is the notification's "Open on your phone" link: the key
// service's page for the envelope's online copy in the notification's
// language, kept for key-service
// envelopes only ("" when there is none). A partner's envelope opens with a
// shared password people chose, which a copy on a public page would let
// anyone holding the link guess at offline; a message key cannot be guessed.
func phoneLink(req Request, opt Options) string {
	if opt.OnlineCopy <= 0 || req.Password != nil || opt.PublicURL == "" {
		return ""
	}
	link := strings.TrimRight(opt.PublicURL, "/") + PhonePathPrefix + req.ID
	if lang := opt.pageLanguage(req.Recipients); lang != locale.Source {
		// The page speaks the notification's language, whatever the
		// phone's browser prefers (the key service keeps the choice).
		link += "?lang=" + lang
	}
	return link
}

// PhonePathPrefix is where the key service serves the phone page:
// {PublicURL}/m/{envelope id}.
const PhonePathPrefix = "/m/"

// Passphrase is the OpenPGP passphrase of a message key: its base64url form
// without padding. It is what `gpg --decrypt` asks for.
func Passphrase(key []byte) string {
	return base64.RawURLEncoding.EncodeToString(key)
}

var idEncoding = base32.StdEncoding.WithPadding(base32.NoPadding)

// NewID returns a fresh random envelope id: 16 random bytes as 26 characters
// of lowercase base32, safe in headers, URLs, file names and HTML.
func NewID() string {
	b := make([]byte, 16)
	if _, err := rand.Read(b); err != nil {
		// crypto/rand never fails on supported platforms (Go ≥ 1.24 it
		// crashes the program itself); an id without entropy must not exist.
		panic("envelope: crypto/rand: " + err.Error())
	}
	return strings.ToLower(idEncoding.EncodeToString(b))
}

func validateID(id string) error {
	if id == "" || len(id) > maxIDLen {
		return fmt.Errorf("envelope id must be 1 to %d characters", maxIDLen)
	}
	for i := 0; i < len(id); i++ {
		c := id[i]
		ok := c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '.' || c == '_' || c == '-'
		if !ok {
			return fmt.Errorf("envelope id %q: character %q not allowed", id, c)
		}
	}
	return nil
}

// attachmentName expands the "{time}" placeholder and keeps the result a
// plain file name: recipients save it to disk, so no directories or control
// characters survive.
func attachmentName(pattern string, now time.Time) string {
	if pattern == "" {
		pattern = "securedoc_{time}.html"
	}
	name := strings.ReplaceAll(pattern, "{time}", now.UTC().Format("20060102T150405"))
	name = strings.Map(func(r rune) rune {
		switch {
		case r == '/' || r == '\\' || r == '"':
			return '_'
		case r < 0x20 || r == 0x7f || (r >= 0x80 && r < 0xa0):
			return -1
		}
		return r
	}, name)
	name = strings.TrimLeft(name, ". ")
	if name == "" {
		name = "securedoc_" + now.UTC().Format("20060102T150405") + ".html"
	}
	return name
}

// originalSize is the size of the original when the reader tells it
// (0 when it does not).
func originalSize(r io.Reader) int64 {
	switch v := r.(type) {
	case interface{ Len() int }:
		return int64(v.Len())
	case interface{ Size() int64 }:
		return v.Size()
	case interface{ Stat() (fs.FileInfo, error) }:
		if fi, err := v.Stat(); err == nil && fi.Mode().IsRegular() {
			return fi.Size()
		}
	}
	return 0
}

// estimateBody guesses the final body size from the original's size n and
// the compression ratio its sample showed, so the body buffer is allocated
// once instead of doubling (each doubling briefly holds old and new
// copies).
func estimateBody(n int64, ratio float64) int {
	const overhead = 32 << 10 // page, notification, packet headers
	return armouredSize(n, ratio, overhead)
}

// estimatePayload guesses the armoured payload's size the same way: the
// online copy holds it alone.
func estimatePayload(n int64, ratio float64) int {
	const overhead = 1 << 10 // key and packet headers
	return armouredSize(n, ratio, overhead)
}

// armouredSize is the guess of the armoured payload plus overhead, or
// 32 KB when the size is not known. Armour costs 4/3 plus a line end per 64
// characters.
func armouredSize(n int64, ratio float64, overhead int64) int {
	const maxHint = 1 << 30
	if n <= 0 || n > maxHint {
		return 32 << 10
	}
	if ratio < 1 {
		// A sample is a guess: the compressor stores whole blocks of
		// base64 it compressed in a small sample, so leave room.
		n = int64(float64(n) * min(1, ratio*1.5+0.1))
	}
	armoured := n*4/3 + 4
	return int(armoured + armoured/64*2 + overhead)
}
