package scanner

import "testing"

func TestExtraLines(t *testing.T) {
	for _, c := range []struct{ base, alt, want string }{
		{"", "", ""},
		{"a\nb\n", "a\nb\n", ""},
		{"a  b\n", " a b \r\n", ""}, // white space is not a difference
		{"hello\n", "SSN 536-22-1234\n", "SSN 536-22-1234\n"}, // a decoy view
		{"", "x\n\ny", "x\ny\n"},                              // an empty base adds all, empty lines left out
		{"x\n", "x\nx\n", "x\n"},                              // a line repeated in alt counts again
		{"x\nx\n", "x\n", ""},
		{"SSN 536-22-\n1234\n", "SSN 536-22-1234\n", "SSN 536-22-1234\n"}, // split differently
	} {
		if got := string(extraLines([]byte(c.base), []byte(c.alt))); got != c.want {
			t.Errorf("extraLines(%q, %q) = %q, want %q", c.base, c.alt, got, c.want)
		}
	}
}
