package envelope

import (
	"bytes"
	"errors"
	"strings"
	"testing"
)

// TestWrapTextEdges: a word that ends exactly at the width stays on the
// line, one that would end a column past it goes to the next; the width
// counts characters, not octets.
func TestWrapTextEdges(t *testing.T) {
	for _, tt := range []struct {
		in    string
		width int
		want  string
	}{
		{"aaa bbb", 7, "aaa bbb"},
		{"aaa bbb c", 7, "aaa bbb\nc"},
		{"aaa bb c", 7, "aaa bb\nc"},
		{"aa b c d e f", 5, "aa b\nc d e\nf"},
		{"ééé ééé ééé", 7, "ééé ééé\nééé"},
		{"  spaced   out\ttext ", 80, "spaced out text"},
		{"toolongword x", 4, "toolongword\nx"},
	} {
		if got := wrapText(tt.in, tt.width); got != tt.want {
			t.Errorf("wrapText(%q, %d) = %q, want %q", tt.in, tt.width, got, tt.want)
		}
	}
}

// TestAttachmentFileParam: a printable-ASCII file name (space and ~
// included) is quoted as it is; a quote or backslash is escaped and anything else
// RFC 2231-encoded.
func TestAttachmentFileParam(t *testing.T) {
	opt := testOptions()
	opt.AttachmentName = "Lab results~{time}!.html"
	body := string(sealOK(t, testRequest(textMessage()), opt).Body)
	for _, want := range []string{
		"Content-Type: text/html; charset=us-ascii; name=\"Lab results~20261123T153959!.html\"\r\n",
		"Content-Disposition: attachment; filename=\"Lab results~20261123T153959!.html\"\r\n",
	} {
		if !strings.Contains(body, want) {
			t.Errorf("body lacks %q", want)
		}
	}
	for name, want := range map[string]string{
		"securedoc.html": `filename="securedoc.html"`,
		" ~":             `filename=" ~"`,
		"a~b.html":       `filename="a~b.html"`,
		"Zoë.html":       `filename*=utf-8''Zo%C3%AB.html`,
		"a\x7fb":         `filename*=utf-8''a%7Fb`,
		"a\x1fb":         `filename*=utf-8''a%1Fb`,
		`a"b`:            `filename="a\"b"`,
		`a\b`:            `filename="a\\b"`,
	} {
		if got := fileParam("filename", name); got != want {
			t.Errorf("fileParam(%q) = %q, want %q", name, got, want)
		}
	}
}

// failWriter fails every write.
type failWriter struct{}

func (failWriter) Write([]byte) (int, error) { return 0, errors.New("disk full") }

// TestCRLFWriter: every LF becomes CRLF and every CR goes; Write reports
// all of p written, or the underlying writer's error.
func TestCRLFWriter(t *testing.T) {
	for in, want := range map[string]string{
		"":             "",
		"abc":          "abc",
		"a\nb":         "a\r\nb",
		"a\r\nb\r\n":   "a\r\nb\r\n",
		"\r\r\nx\ry\n": "\r\nxy\r\n",
	} {
		var b bytes.Buffer
		n, err := (&crlfWriter{w: &b}).Write([]byte(in))
		if err != nil || n != len(in) || b.String() != want {
			t.Errorf("Write(%q) = %d, %v, wrote %q; want %d, nil, %q", in, n, err, b.String(), len(in), want)
		}
	}
	for _, in := range []string{"abc", "a\nb", "\n"} {
		if _, err := (&crlfWriter{w: failWriter{}}).Write([]byte(in)); err == nil || err.Error() != "disk full" {
			t.Errorf("Write(%q) to a failing writer: %v; want its error", in, err)
		}
	}
}
