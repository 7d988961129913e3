package scanner

import (
	"strings"
	"testing"
)

// RTF at its edges: control words and \'hh at the very end, a stray
// closing brace, \uc without a count, \u0, and groups nested past the
// 1,024 the reader remembers.
func TestRTFEdges(t *testing.T) {
	for in, want := range map[string]string{
		`{\rtf1 a\par`:                         "a\n",
		`{\rtf1 a\u233`:                        "aé",
		`{\rtf1 a\u-3913`:                      "a\uf0b7",
		`{\rtf1 a\'e9`:                         "aé",
		`{\rtf1 a\'e`:                          "ae", // half a \'hh: its digit is text
		`{\rtf1 a\'zzb}`:                       "ab",
		`{\rtf1 a}}b`:                          "ab",
		`{\rtf1\uc\u233?x}`:                    "éx",
		`{\rtf1\uc0\u233?x}`:                   "é?x",
		`{\rtf1\uc2\u233?!x}`:                  "éx",
		`{\rtf1\uc9\u233abcdex}`:               "éex", // \uc counts 4 at most
		`{\rtf1\u0?x}`:                         "x",
		`{\rtf1 {\u233?}x}`:                    "éx",
		`{\rtf1 a\row b\sect c\page d\cell e}`: "a\nb\nc\nd\te",
		`{\rtf1 \emdash\endash\lquote\rquote\ldblquote\rdblquote\bullet}`: "—–''\"\"•",
		`{\rtf1 a\_b\-c\~d}`: "a-bc d",
		"{\\rtf1 a\\\nb}":    "a\nb",
	} {
		if got := string(rtfText([]byte(in))); got != want {
			t.Errorf("rtfText(%q) = %q, want %q", in, got, want)
		}
	}
	// 1,024 groups deep, a skipped destination starts; the braces of
	// a 1,025th group are not remembered, so its closing brace ends
	// the 1,024th group and with it the skipping.
	in := "{\\rtf1 " + strings.Repeat("{", 1023) + `\*` + "{}A" + strings.Repeat("}", 1024)
	if got := string(rtfText([]byte(in))); got != "A" {
		t.Errorf("1,025 groups deep: %q, want A", got)
	}
}
