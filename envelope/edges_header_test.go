package envelope

import (
	"bytes"
	"encoding/base64"
	mathrand "math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestWriteMessageHeaderEdges: a header of exactly maxHeaderBytes is
// read, one octet more is refused; a continuation line with no field
// before it is dropped; a field name is printable ASCII without spaces,
// '!' and '~' included.
func TestWriteMessageHeaderEdges(t *testing.T) {
	s := &Sealed{Header: []Field{{"X-Postseal-Envelope", "abc"}}}
	write := func(original string) (string, error) {
		var b bytes.Buffer
		err := WriteMessage(&b, strings.NewReader(original), "", s)
		return b.String(), err
	}
	fill := "X-Big: " + strings.Repeat("a", maxHeaderBytes-len("X-Big: ")-4) + "\r\n"
	if _, err := write(fill + "\r\n"); err != nil {
		t.Errorf("a header of exactly %d octets: %v", maxHeaderBytes, err)
	}
	if _, err := write("X" + fill + "\r\n"); err == nil {
		t.Errorf("a header of %d octets accepted", maxHeaderBytes+1)
	}

	got, err := write(" stray continuation\r\n" +
		"From: a@example.org\r\n" +
		"Bad Name: spaces are not allowed\r\n" +
		" its continuation\r\n" +
		"X!Bang: 1\r\n" +
		"X~Tilde: 2\r\n" +
		"Zoë: not ASCII\r\n" +
		"\r\n")
	if err != nil {
		t.Fatal(err)
	}
	if want := "From: a@example.org\r\nX!Bang: 1\r\nX~Tilde: 2\r\nX-Postseal-Envelope: abc\r\n\r\n"; got != want {
		t.Errorf("WriteMessage header =\n%q\nwant\n%q", got, want)
	}
}

// TestLogoPartLines: the logo's base64 is in lines of 76 characters, the
// last one possibly shorter but never empty, also when the base64 is an
// exact multiple of 76.
func TestLogoPartLines(t *testing.T) {
	png := testPNG(t)
	for _, size := range []int{len(png), 57 * (len(png)/57 + 1), 57*(len(png)/57+1) + 1} {
		data := append(append([]byte(nil), png...), make([]byte, size-len(png))...)
		logo, err := NewLogo(data)
		if err != nil {
			t.Fatal(err)
		}
		opt := testOptions()
		opt.Logo = logo
		body := string(sealOK(t, testRequest(textMessage()), opt).Body)
		_, part, _ := strings.Cut(body, "Content-Disposition: inline; filename=\"logo.png\"\r\n\r\n")
		part, _, _ = strings.Cut(part, "\r\n--")
		lines := strings.Split(part, "\r\n")
		for i, l := range lines {
			if len(l) > 76 || (i < len(lines)-1 && len(l) != 76) || l == "" {
				t.Errorf("%d octets: line %d of %d is %d characters", size, i+1, len(lines), len(l))
			}
		}
		if got, err := base64.StdEncoding.DecodeString(strings.Join(lines, "")); err != nil || !bytes.Equal(got, data) {
			t.Errorf("%d octets: the logo part does not decode to the logo: %v", size, err)
		}
	}
}

func TestReadLogoSizeLimit(t *testing.T) {
	dir := t.TempDir()
	for size, ok := range map[int]bool{MaxLogoSize: true, MaxLogoSize + 1: false} {
		b := append(testPNG(t), make([]byte, size)...)[:size]
		p := filepath.Join(dir, "logo.png")
		if err := os.WriteFile(p, b, 0o644); err != nil {
			t.Fatal(err)
		}
		if _, err := ReadLogo(p); (err == nil) != ok {
			t.Errorf("a logo of %d octets: %v; want accepted %v", size, err, ok)
		}
	}
}

// TestLanguageEdges: the domain is what follows the last '@', also with
// nothing before it; a "*." pattern with no domain (config refuses it)
// matches no address, not even one whose domain ends in a dot.
func TestLanguageEdges(t *testing.T) {
	o := Options{Language: "en", Languages: map[string]string{"example.es": "es", "*.": "fr"}}
	for addr, want := range map[string]string{"@example.es": "es", "a@example.es..": "en", "a@example.org": "en"} {
		if got := o.languageFor([]string{addr}); got != want {
			t.Errorf("languageFor(%s) = %q, want %q", addr, got, want)
		}
	}
}

// TestPackLines: the packed decryptor is base64 in lines of packLine
// characters, the last one possibly shorter but never empty, also when
// the base64 is an exact multiple of packLine.
func TestPackLines(t *testing.T) {
	rnd := mathrand.New(mathrand.NewChaCha8([32]byte{}))
	exact := false
	// Random octets do not compress: around 690 of them pack to 960
	// characters of base64.
	sizes := []int{1, 100, 1500}
	for n := 640; n < 740; n++ {
		sizes = append(sizes, n)
	}
	for _, n := range sizes {
		raw := make([]byte, n)
		for i := range raw {
			raw[i] = byte(rnd.Uint32())
		}
		packed := pack(string(raw))
		lines := strings.Split(strings.TrimSuffix(packed, "\n"), "\n")
		for i, l := range lines {
			if len(l) > packLine || (i < len(lines)-1 && len(l) != packLine) || l == "" {
				t.Fatalf("%d octets: line %d of %d is %d characters", n, i+1, len(lines), len(l))
			}
		}
		exact = exact || len(lines[len(lines)-1]) == packLine
	}
	if !exact {
		t.Error("no input packed to an exact multiple of packLine: the edge was not tried")
	}
}
