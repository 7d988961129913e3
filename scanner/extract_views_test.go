package scanner

import "testing"

// Every view is added whole, on lines of its own; only an empty one or one
// the same as an earlier one (white space around it aside) is left out.
func TestViewSet(t *testing.T) {
	for _, c := range []struct {
		views []string
		want  string
	}{
		{[]string{"", " \n"}, ""},
		{[]string{"a\nb", "a\nb\n", " a\nb "}, "a\nb\n"},
		{[]string{"a\n", "b"}, "a\n\nb\n"}, // each view as it is, then a line end
		{[]string{"Patient SSN 536 22 1234", "Patient SSN 536\t22\t1234"}, "Patient SSN 536 22 1234\nPatient SSN 536\t22\t1234\n"},
		{[]string{"Order number\n536-22-1234", "Patient SSN\n536-22-1234"}, "Order number\n536-22-1234\nPatient SSN\n536-22-1234\n"},
		{[]string{"x", "y", "x"}, "x\ny\n"},
	} {
		var vs viewSet
		var out []byte
		for _, v := range c.views {
			out = vs.add(out, []byte(v))
		}
		if string(out) != c.want {
			t.Errorf("views %q: %q, want %q", c.views, out, c.want)
		}
	}
}
func TestExtraLines(t *testing.T) {
	for _, c := range []struct{ base, alt, want string }{
		{"", "", ""},
		{"a\nb\n", "a\nb\n", ""},
		{"a  b\n", " a b \r\n", ""}, // white space is not a difference
		{"hello\n", "SSN 536-22-1234\n", "SSN 536-22-1234\n"}, // a decoy view
		{"", "x\n\ny", "x\ny\n"},                              // an empty base adds all, empty lines left out
		{"x\n", "x\nx\n", "x\nx\n"},                           // a line repeated in alt counts again (with the line before it)
		{"x\nx\n", "x\n", ""},
		{"SSN 536-22-\n1234\n", "SSN 536-22-1234\n", "SSN 536-22-1234\n"}, // split differently
		{"Patient SSN\n536-22-\n99\n1234\n", "Patient SSN\n536-22-1234\n", "Patient SSN\n536-22-1234\n"}, // with the line before it
		{"a\nb\n\nc\nd\ne\n", "a\nb\n\ncd\ne\nf\ng\n", "b\ncd\ne\nf\ng\n"},                               // empty lines are no line before
		{"a\u00a0\u2003b\n", "a b\n", ""},                                                                // a no-break and an em space are white space
	} {
		if got := string(extraLines([]byte(c.base), []byte(c.alt))); got != c.want {
			t.Errorf("extraLines(%q, %q) = %q, want %q", c.base, c.alt, got, c.want)
		}
	}
}
