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

// HTML mail kept as RTF (\fromhtml1, as Outlook writes a message's
// PR_RTF_COMPRESSED): the HTML's markup, character references included,
// is in {\*\htmltagN …} groups, which are skipped; the text between them
// and the RTF rendering of the references (\htmlrtf … \htmlrtf0) is read.
// No tag leaks into the text and a number split by markup stays whole.
func TestRTFFromHTML(t *testing.T) {
	in := `{\rtf1\ansi\ansicpg1252\fromhtml1 \deff0{\fonttbl{\f0\fswiss Arial;}}` + "\r\n" +
		`{\*\htmltag19 <html>}{\*\htmltag34 <head>}{\*\htmltag241 <style>}{\*\htmltag241 p \{ margin:0 \}}{\*\htmltag249 </style>}` + "\r\n" +
		`{\*\htmltag41 </head>}{\*\htmltag50 <body>}\htmlrtf \lang1033 \htmlrtf0 ` + "\r\n" +
		`{\*\htmltag64 <p>}\htmlrtf {\htmlrtf0 SSN{\*\htmltag84 &nbsp;}\htmlrtf \'a0\htmlrtf0 {\*\htmltag84 <b>}\htmlrtf {\b \htmlrtf0 536{\*\htmltag92 </b>}\htmlrtf }\htmlrtf0 -22-1234` +
		`{\*\htmltag84 &amp;}\htmlrtf &\htmlrtf0 5{\*\htmltag84 &#51;}\htmlrtf 3\htmlrtf0 6{\*\htmltag116 <br>}\htmlrtf \line` + "\r\n" + `\htmlrtf0 end` + "\r\n" +
		`{\*\htmltag244 <o:p>}{\*\htmltag252 </o:p>}\htmlrtf \par` + "\r\n" + `}\htmlrtf0` + "\r\n" +
		`{\*\htmltag72 </p>}{\*\htmltag58 </body>}{\*\htmltag27 </html>}}`
	if got, want := string(rtfText([]byte(in))), "SSN 536-22-1234&536\nend\n"; got != want {
		t.Errorf("rtfText = %q, want %q", got, want)
	}
}

// \binN: the N bytes after it (after the space that ends the control
// word) are data, braces and backslashes included, skipped whole and never
// read as text or as RTF; a count past the end stops at the end. A brace
// in the data of a skipped destination must not keep the text after the
// group skipped.
func TestRTFBin(t *testing.T) {
	for in, want := range map[string]string{
		`{\rtf1\ansi{\*\blipuid\bin1 {}Patient SSN ` + testSSN + `\par}`: "Patient SSN " + testSSN + "\n",
		`{\rtf1 a{\pict\bin2 }}b}c`:                                      "ac",
		`{\rtf1 a\bin2 \{b}`:                                             "ab",
		`{\rtf1 a\bin2xyb}`:                                              "ab", // no space: the data starts at once
		`{\rtf1 a\bin0 b}`:                                               "ab",
		`{\rtf1 a\bin-5 b}`:                                              "ab",
		`{\rtf1 a\bin99 b}`:                                              "a",
		`{\rtf1 a\bin99`:                                                 "a",
	} {
		if got := string(rtfText([]byte(in))); got != want {
			t.Errorf("rtfText(%q) = %q, want %q", in, got, want)
		}
	}
}

// A \uN right after another \uN is a character of its own, not one of the
// fallback characters the first one's \uc count drops (LibreOffice shows
// `\uc1 \u53\u51\u54?-22-1234` as 536-22-1234).
func TestRTFUnicodeRun(t *testing.T) {
	for in, want := range map[string]string{
		`{\rtf1\ansi\uc1 Patient SSN \u53\u51\u54?-22-1234\par}`: "Patient SSN " + testSSN + "\n",
		`{\rtf1\uc2\u233\u233??x}`:                               "ééx",
		`{\rtf1\uc1\u233\'e9\u233?x}`:                            "ééx",
	} {
		if got := string(rtfText([]byte(in))); got != want {
			t.Errorf("rtfText(%q) = %q, want %q", in, got, want)
		}
	}
}

// \'hh that is not two hex digits is dropped with its two characters, as
// before, and costs no allocation (a 16 MiB body of them took 859 ms when
// each made an error value).
func TestRTFBadHexNoAlloc(t *testing.T) {
	in := []byte(`{\rtf1 ` + strings.Repeat(`\'zz\'3g\'+5`, 1000) + `\'4A\'4a}`)
	var got []byte
	if n := testing.AllocsPerRun(5, func() { got = rtfText(in) }); n > 2 {
		t.Errorf("%v allocations", n)
	}
	if string(got) != "JJ" {
		t.Errorf("rtfText = %q, want JJ", got)
	}
}
