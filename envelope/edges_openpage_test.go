package envelope

import (
	"errors"
	"io"
	"strings"
	"testing"
	"testing/iotest"
)

// TestWriteOpenPageStreamedSameAsInMemory: a payload streamed from a
// reader, whatever its read sizes, makes the same page as the same
// payload in memory: escaped, with its line ends inside kept and those at
// its very end left out.
func TestWriteOpenPageStreamedSameAsInMemory(t *testing.T) {
	payload := "-----BEGIN PGP MESSAGE-----\r\n\r\nwy4ECQMI<&\"\r\nabc\n\r\n\n-----END PGP MESSAGE-----\r\n\r\n\n"
	p := OpenPage{EnvelopeID: "abc", PublicURL: "https://keys.example.org", Payload: payload}
	want := openPage(t, p)
	if !strings.Contains(want, "wy4ECQMI&lt;&amp;&#34;\r\nabc\n\r\n\n-----END PGP MESSAGE-----\n</textarea>") {
		t.Fatalf("in memory: payload not escaped as expected:\n%s", want)
	}
	for name, r := range map[string]func() io.Reader{
		"one read":      func() io.Reader { return strings.NewReader(payload) },
		"byte by byte":  func() io.Reader { return iotest.OneByteReader(strings.NewReader(payload)) },
		"halves":        func() io.Reader { return iotest.HalfReader(strings.NewReader(payload)) },
		"data with EOF": func() io.Reader { return iotest.DataErrReader(strings.NewReader(payload)) },
	} {
		p.Payload, p.PayloadReader = "", r()
		if got := openPage(t, p); got != want {
			t.Errorf("%s: streamed page differs from the page made in memory", name)
		}
	}
}

// failingReader gives some data together with an error, then EOF.
type failingReader struct{ done bool }

func (f *failingReader) Read(b []byte) (int, error) {
	if f.done {
		return 0, io.EOF
	}
	f.done = true
	return copy(b, "-----BEGIN PGP MESSAGE-----\r\n"), errors.New("upload cut")
}

func TestWriteOpenPageReaderFails(t *testing.T) {
	err := WriteOpenPage(io.Discard, OpenPage{EnvelopeID: "abc", PublicURL: "https://keys.example.org", PayloadReader: &failingReader{}})
	if err == nil || err.Error() != "upload cut" {
		t.Errorf("a failed read: %v; want its error", err)
	}
}
