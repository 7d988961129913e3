package scanner

import "testing"

type parseCase struct {
	in   string
	want string
	end  int
}

// checkParse runs a string parser from the start of each input.
func checkParse(t *testing.T, name string, parse func([]byte, int) ([]byte, int), cases []parseCase) {
	t.Helper()
	for _, c := range cases {
		got, end := parse([]byte(c.in), 0)
		if string(got) != c.want || end != c.end {
			t.Errorf("%s(%q) = %q, %d; want %q, %d", name, c.in, got, end, c.want, c.end)
		}
	}
}

// Literal strings: nesting, every escape, octal codes of one to three
// digits, line continuations, and a string cut off by the end of input.
func TestPDFLiteral(t *testing.T) {
	checkParse(t, "pdfLiteral", pdfLiteral, []parseCase{
		{"(abc) x", "abc", 5},
		{"(a(b)c)", "a(b)c", 7},
		{"(a\\)b)", "a)b", 6},
		{"(\\n\\r\\t\\b\\f\\(\\)\\\\\\q)", "\n\r\t\b\f()\\q", 20},
		{"(\\101\\60\\7)", "A0\x07", 11},
		{"(\\1012)", "A2", 7},    // three digits at most
		{"(\\0101)", "\x081", 7}, // \010 then 1
		{"(\\18)", "\x018", 5},   // 8 is no octal digit
		{"(\\8)", "8", 4},
		{"(\\777)", "\xff", 6}, // the high bit dropped
		{"(\\400)", "\x00", 6},
		{"(a\\\nb)", "ab", 6},   // a line continuation
		{"(a\\\r\nb)", "ab", 7}, // CR LF
		{"(a\\\rb)", "ab", 6},   // CR alone
		{"(a\\\r", "a", 4},
		{"(a\\", "a", 3}, // the end of input after a backslash
		{"(a\\1", "a\x01", 4},
		{"(a\\12", "a\n", 5},
		{"(abc", "abc", 4},
		{"(a\nb)", "a\nb", 5},
	})
	// From inside a larger input.
	if got, end := pdfLiteral([]byte("x (y) z"), 2); string(got) != "y" || end != 5 {
		t.Errorf("pdfLiteral at 2: %q, %d", got, end)
	}
}

// Hex strings: white space and junk passed over, an odd last digit as if
// followed by 0, an unterminated one read to the end.
func TestPDFHex(t *testing.T) {
	checkParse(t, "pdfHex", pdfHex, []parseCase{
		{"<414243>", "ABC", 8},
		{"<41 4 2\n43>", "ABC", 11},
		{"<6a6B>", "jk", 6},
		{"<414>", "A@", 5},
		{"<>", "", 2},
		{"<4>", "@", 3},
		{"<41zz42>", "AB", 8},
		{"<414", "A", 4},
		{"<41", "A", 3},
		{"<", "", 1},
		{"<Gg:/>", "", 6},
	})
	if got, end := pdfHex([]byte("x <41> <42>"), 2); string(got) != "A" || end != 6 {
		t.Errorf("pdfHex at 2: %q, %d", got, end)
	}
}

// Text strings outside content (form fields, names): UTF-16BE with a
// byte-order mark, else one byte per character.
func TestPDFDecode(t *testing.T) {
	for in, want := range map[string]string{
		"SSN 536":               "SSN 536",
		"caf\xe9":               "café",
		"\xe9":                  "é",
		"\x80":                  "\u0080",
		"\x7f":                  "\x7f",
		"\xfe\xff\x00A\x00\xe9": "Aé",
		"\xfe\xff":              "",
		"":                      "",
	} {
		if got := string(pdfDecode([]byte(in))); got != want {
			t.Errorf("pdfDecode(%q) = %q, want %q", in, got, want)
		}
	}
}
