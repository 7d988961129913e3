package envelope

import (
	"bytes"
	"errors"
	"io"
	"regexp"
	"strings"
	"testing"
)

func TestDecryptorBundle(t *testing.T) {
	if len(decryptorJS) < 100<<10 {
		t.Fatalf("bundle is %d bytes: not the decryptor", len(decryptorJS))
	}
	for i := 0; i < len(decryptorJS); i++ {
		if c := decryptorJS[i]; c > 0x7e || (c < 0x20 && c != '\n') {
			t.Fatalf("byte %#x at offset %d", c, i)
		}
	}
	for i, line := range strings.Split(decryptorJS, "\n") {
		if len(line) >= maxLine {
			t.Fatalf("line %d is %d octets", i+1, len(line))
		}
	}
	lower := strings.ToLower(decryptorJS)
	for _, bad := range []string{"</script", "<script", "<!--"} {
		if strings.Contains(lower, bad) {
			t.Errorf("bundle contains %q: it would break the inline script element", bad)
		}
	}
	for _, notice := range []string{"OpenPGP.js 6.3.", "LGPL-3.0-or-later", `npm package "openpgp@`, "postal-mime", "MIT-0"} {
		if !strings.Contains(decryptorJS[:2000], notice) {
			t.Errorf("license header lacks %q", notice)
		}
	}
}

func openPage(t *testing.T, p OpenPage) string {
	t.Helper()
	var b bytes.Buffer
	if err := WriteOpenPage(&b, p); err != nil {
		t.Fatalf("WriteOpenPage: %v", err)
	}
	return b.String()
}

func TestWriteOpenPage(t *testing.T) {
	req := testRequest(textMessage())
	s := sealOK(t, req, testOptions())
	armour := payloadOf(t, parseNotification(t, s).page)
	p := OpenPage{
		EnvelopeID: req.ID,
		Payload:    armour,
		Meta: PageMeta{
			From:       "Alice <alice@example.org>",
			To:         []string{"bob@partner.example", "<b>x</b>@partner.example"},
			Subject:    `<img src=x onerror=alert(1)> results`,
			Date:       "Mon, 23 Nov 2026 15:39:59 +0000",
			Recipients: []string{"bob@partner.example", "carol@partner.example"},
		},
		PublicURL:    "https://keys.example.org/",
		Organization: "Example Health",
	}
	page := openPage(t, p)

	if got := payloadOf(t, []byte(page)); strings.TrimSpace(got) != strings.TrimSpace(armour) {
		t.Error("the posted payload is not in the page unchanged")
	}
	if _, _, err := decrypt(payloadOf(t, []byte(page)), []byte(Passphrase(s.Key)), nil); err != nil {
		t.Errorf("page payload does not decrypt: %v", err)
	}
	for _, want := range []string{
		`<td id="h-subject">&lt;img src=x onerror=alert(1)&gt; results</td>`,
		`<td id="h-to">bob@partner.example, &lt;b&gt;x&lt;/b&gt;@partner.example</td>`,
		`<form id="unlock" hidden>`,
		`<iframe id="msg-html"`,
	} {
		if !strings.Contains(page, want) {
			t.Errorf("page lacks %q", want)
		}
	}
	if strings.Contains(page, `id="open-online"`) {
		t.Error("the Open Online page offers Open Online again")
	}
	d := pageDataOf(t, page)
	if d.Envelope != req.ID || d.PublicURL != "https://keys.example.org" || d.Mode != "key" ||
		strings.Join(d.Recipients, ",") != "bob@partner.example,carol@partner.example" {
		t.Errorf("postseal-data = %+v", d)
	}

	csp := OpenPageCSP(p.PublicURL)
	for _, want := range []string{
		"default-src 'none'", "script-src " + loaderHash + " blob: 'wasm-unsafe-eval'", "style-src " + pageStyleHash,
		"connect-src https://keys.example.org;", "frame-ancestors 'none'", "base-uri 'none'",
	} {
		if !strings.Contains(csp, want) {
			t.Errorf("OpenPageCSP = %q lacks %q", csp, want)
		}
	}
	if !strings.Contains(page, "<script>"+loaderJS+"</script>") || unpackDecryptor(t, page) != decryptorJS {
		t.Error("page does not carry the loader and the packed decryptor")
	}
}

func TestWriteOpenPageHostilePayload(t *testing.T) {
	page := openPage(t, OpenPage{
		EnvelopeID: "abc",
		Payload:    "-----BEGIN PGP MESSAGE-----\n</textarea><script>alert(1)</script>\n-----END PGP MESSAGE-----",
		PublicURL:  "https://keys.example.org",
	})
	if strings.Contains(page, "<script>alert(1)") || !strings.Contains(page, "&lt;/textarea&gt;&lt;script&gt;alert(1)") {
		t.Error("posted payload is not escaped")
	}
	if n := len(regexp.MustCompile(`<script>`).FindAllString(page, -1)); n != 1 {
		t.Errorf("%d executable script elements, want 1", n)
	}
}

func TestWriteOpenPageNonce(t *testing.T) {
	page := openPage(t, OpenPage{EnvelopeID: "abc", PublicURL: "https://keys.example.org", Nonce: "bm9uY2U-_="})
	if !strings.Contains(page, `<script nonce="bm9uY2U-_=">`) || !strings.Contains(page, `<style nonce="bm9uY2U-_=">`) {
		t.Error("nonce not on the script and style elements")
	}
	shared := openPage(t, OpenPage{EnvelopeID: "abc", PublicURL: "https://keys.example.org", Meta: PageMeta{SharedPassword: true}})
	if pageDataOf(t, shared).Mode != "password" {
		t.Error("a shared-password envelope does not open in password mode")
	}
}

func TestWriteOpenPageRefuses(t *testing.T) {
	for name, p := range map[string]OpenPage{
		"bad id":        {EnvelopeID: `x"><script>`, PublicURL: "https://keys.example.org"},
		"no public URL": {EnvelopeID: "abc"},
		"bad nonce":     {EnvelopeID: "abc", PublicURL: "https://keys.example.org", Nonce: `x" onload="alert(1)`},
		"bad URL":       {EnvelopeID: "abc", PublicURL: "javascript:alert(1)"},
	} {
		var b bytes.Buffer
		if err := WriteOpenPage(&b, p); err == nil {
			t.Errorf("%s: no error", name)
		}
		if b.Len() != 0 {
			t.Errorf("%s: %d bytes written before the error", name, b.Len())
		}
	}
}

func TestParsePageMetaBad(t *testing.T) {
	for _, s := range []string{"", "{", `{"to":"not a list"}`, "null garbage"} {
		if m := ParsePageMeta(s); m.From != "" || m.To != nil || m.Recipients != nil {
			t.Errorf("ParsePageMeta(%q) = %+v, want empty", s, m)
		}
	}
}

// failAfter accepts n bytes, then fails every write.
type failAfter struct{ n int }

func (f *failAfter) Write(b []byte) (int, error) {
	if f.n < len(b) {
		m := max(f.n, 0)
		f.n = -1
		return m, errors.New("connection cut")
	}
	f.n -= len(b)
	return len(b), nil
}

// countReader counts what was read of it.
type countReader struct {
	r    io.Reader
	read int
}

func (c *countReader) Read(b []byte) (int, error) {
	n, err := c.r.Read(b)
	c.read += n
	return n, err
}

// A streamed payload stops at the first failed write: the key service
// cuts a client that stopped reading, and the rest of a post must not
// then be read (nor a phone copy escaped) for nobody.
func TestWriteOpenPageStopsAtAFailedWrite(t *testing.T) {
	payload := "-----BEGIN PGP MESSAGE-----\r\n\r\n" + strings.Repeat("wy4ECQMI<&\r\n", 200_000) + "-----END PGP MESSAGE-----"
	head := openPage(t, OpenPage{EnvelopeID: "abc", PublicURL: "https://keys.example.org"})
	src := &countReader{r: strings.NewReader(payload)}
	err := WriteOpenPage(&failAfter{n: len(head)/2 + 100_000}, OpenPage{EnvelopeID: "abc", PublicURL: "https://keys.example.org", PayloadReader: src})
	if err == nil || err.Error() != "connection cut" {
		t.Errorf("a failed write: %v; want its error", err)
	}
	if src.read > 200_000 {
		t.Errorf("%d of the payload's %d bytes read after the write failed", src.read, len(payload))
	}
}
