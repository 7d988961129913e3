package scanner

import (
	"strings"
	"testing"
)

// looksText decides whether content of no known type is read as text:
// valid UTF-8 (a rune cut by the end allowed) with at most 1% control
// characters other than white space.
func TestLooksText(t *testing.T) {
	ws := strings.Repeat("a\tb\r\nc\fd e ", 20) // each white space ~9%
	for _, c := range []struct {
		name string
		in   string
		want bool
	}{
		{"empty", "", false},
		{"plain", "SSN 536-22-1234", true},
		{"white space of every kind", ws, true},
		{"1% control characters", strings.Repeat("a", 99) + "\x01", true},
		{"just over 1%", strings.Repeat("a", 98) + "\x01", false},
		{"C0 controls", "\x01\x02\x03 abcdefgh", false},
		{"DEL", strings.Repeat("a\x7f", 10), false},
		{"Latin-1, not UTF-8", "caf\xe9 536-22-1234", false},
		{"invalid byte four before the end", "hello\xffabc", false},
		{"invalid byte five before the end", "hello\xffabcd", false},
		{"cut two-byte rune", "caf\xc3", true},
		{"cut three-byte rune", "price 5\xe2\x82", true},
		{"cut four-byte rune", "smile \xf0\x9f\x98", true},
		{"whole four-byte rune", "smile \xf0\x9f\x98\x80", true},
	} {
		if got := looksText([]byte(c.in)); got != c.want {
			t.Errorf("%s: looksText(%q) = %v, want %v", c.name, c.in, got, c.want)
		}
	}
	// Only the first 64 KiB are judged.
	long := strings.Repeat("a", 1<<16) + strings.Repeat("\x00", 1000)
	if !looksText([]byte(long)) {
		t.Error("control characters after the first 64 KiB were judged")
	}
	if looksText([]byte(strings.Repeat("a", 1<<16-1000) + strings.Repeat("\x00", 2000))) {
		t.Error("control characters inside the first 64 KiB were not judged")
	}
}

// UTF-16 with a byte-order mark is converted whole, surrogate pairs
// included; anything else is no UTF-16.
func TestUTF16Text(t *testing.T) {
	for _, c := range []struct {
		name string
		in   string
		want string
		ok   bool
	}{
		{"little endian", "\xff\xfeS\x00\xe9\x00\xac\x20=\xd8\x00\xde", "Sé€😀", true},
		{"big endian", "\xfe\xff\x00S\x00\xe9\x20\xac\xd8=\xde\x00", "Sé€😀", true},
		{"mark alone", "\xff\xfe", "", true},
		{"odd length", "\xff\xfeS\x00T", "", false},
		{"too short", "\xff", "", false},
		{"no mark", "S\x00S\x00", "", false},
		{"half a little-endian mark", "\xff\xffS\x00", "", false},
		{"half a big-endian mark", "\xfe\xfe\x00S", "", false},
		{"little-endian mark reversed in part", "\xfe\xfeS\x00", "", false},
	} {
		got, ok := utf16Text([]byte(c.in))
		if ok != c.ok || string(got) != c.want {
			t.Errorf("%s: utf16Text(%q) = %q, %v; want %q, %v", c.name, c.in, got, ok, c.want, c.ok)
		}
	}
}

// toUTF8: a UTF-8 mark is dropped, UTF-16 decoded (an odd last byte
// dropped), anything else returned as it is.
func TestToUTF8(t *testing.T) {
	checkConversion(t, "toUTF8", toUTF8, [][2]string{
		{"\xef\xbb\xbfSSN", "SSN"},
		{"\xff\xfeS\x00\xe9\x00\xac\x20=\xd8\x00\xde", "Sé€😀"},
		{"\xfe\xff\x00S\x00\xe9\x20\xac\xd8=\xde\x00", "Sé€😀"},
		{"\xff\xfeS\x00S", "S"},
		{"\xfe\xff\x00SS", "S"},
		{"\xff\xfe", ""},
		{"caf\xe9", "caf\xe9"},
		{"", ""},
	})
}

// csvText: cells separated by a tab, records by a newline, quotes
// removed, ragged records and stray quotes accepted.
func TestCSVText(t *testing.T) {
	checkConversion(t, "csvText", csvText, [][2]string{
		{"name,ssn\r\nJane,536-22-1234\r\n", "name\tssn\nJane\t536-22-1234\n"},
		{"\"Doe, Jane\",536-22-1234", "Doe, Jane\t536-22-1234\n"},
		{"a\nb,c,d\n", "a\nb\tc\td\n"},
		{"a\"b,c", "a\"b\tc\n"},
		{",x,", "\tx\t\n"},
		{"", ""},
	})
}

// checkConversion checks f on each {input, wanted output}.
func checkConversion(t *testing.T, name string, f func([]byte) []byte, cases [][2]string) {
	t.Helper()
	for _, c := range cases {
		if got := string(f([]byte(c[0]))); got != c[1] {
			t.Errorf("%s(%q) = %q, want %q", name, c[0], got, c[1])
		}
	}
}

// Text joins the parts, each followed by a blank line, short parts too.
func TestExtractedText(t *testing.T) {
	x := &Extracted{Parts: []Part{{Text: []byte("x")}, {Text: []byte("ab")}}}
	if got := string(x.Text()); got != "x\n\nab\n\n" {
		t.Errorf("Text() = %q", got)
	}
	one := &Extracted{Parts: []Part{{Text: []byte("x")}}}
	if got := string(one.Text()); got != "x\n\n" {
		t.Errorf("Text() = %q", got)
	}
	if got := (&Extracted{}).Text(); len(got) != 0 {
		t.Errorf("Text() of nothing = %q", got)
	}
}

// noText names archivers' junk only, by its exact name.
func TestNoText(t *testing.T) {
	for name, want := range map[string]bool{
		"__MACOSX/._report.pdf": true,
		"a/__MACOSX/x":          false,
		".DS_Store":             true,
		"docs/.DS_Store":        true,
		"x.DS_Store":            false,
		"Thumbs.db":             true,
		"pics/THUMBS.DB":        true,
		"desktop.ini":           true,
		"a/Desktop.INI":         true,
		"notes.txt":             false,
		"ssn.jpg":               false,
	} {
		if got := noText(name); got != want {
			t.Errorf("noText(%q) = %v, want %v", name, got, want)
		}
	}
}
