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
		`{\rtf1\uc9\u233abcdex}`:               "é", // \uc9 drops nine, as LibreOffice does
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
// read as text or as RTF. A brace
// in the data of a skipped destination must not keep the text after the
// group skipped. A count past the end (or past 32 bits) is no count: what
// follows is read on as RTF, as LibreOffice shows it.
func TestRTFBin(t *testing.T) {
	for in, want := range map[string]string{
		`{\rtf1\ansi{\*\blipuid\bin1 {}Patient SSN ` + testSSN + `\par}`: "Patient SSN " + testSSN + "\n",
		`{\rtf1 a{\pict\bin2 }}b}c`:                                      "ac",
		`{\rtf1 a\bin2 \{b}`:                                             "ab",
		`{\rtf1 a\bin2xyb}`:                                              "ab", // no space: the data starts at once
		`{\rtf1 a\bin0 b}`:                                               "ab",
		`{\rtf1 a\bin-5 b}`:                                              "ab",
		`{\rtf1 a\bin99 b}`:                                              "ab", // past the end: no count, read on
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

// Ignorable destinations ({\*\x …}) that rtfText does not know are read:
// a reader that knows them may show their text (a Unicode reader shows
// \upr's \ud group, Word a text box's \shptxt in \shpinst, comments and
// footnotes). Only destinations known to hold no text are skipped, and
// of a shape's properties only the text of a WordArt shape, which
// LibreOffice also writes for a custom shape's text.
func TestRTFDestinations(t *testing.T) {
	for in, want := range map[string]string{
		`{\rtf1\ansi{\upr{See you tomorrow.}{\*\ud{Patient SSN ` + testSSN + `}}}\par}`:                                          "Patient SSN " + testSSN + "\nSee you tomorrow.Patient SSN " + testSSN + "\n",
		`{\rtf1\ansi{\upr{SSN ` + testSSN + `}{\*\ud{SSN ` + testSSN + `}}}\par}`:                                                "SSN " + testSSN + "\nSSN " + testSSN + "SSN " + testSSN + "\n",
		`{\rtf1\ansi{\shp{\*\shpinst\shpleft0\shptop0\shpright2000\shpbottom500{\shptxt Patient SSN ` + testSSN + `\par}}}\par}`: "Patient SSN " + testSSN + "\n\n",
		`{\rtf1 a{\*\unknowndest b}c}`:                                     "a\nb\nc\nac\n",
		`{\rtf1 a{\*\footnote b}c{\*\annotation{\*\atndate 1203835076}d}}`: "a\nb\nc\nd\nac\n",
		// A footnote (Word writes \footnote without \*) is read apart
		// from a number it follows.
		`{\rtf1 SSN ` + testSSN + `{\footnote \chftn 1 Source\par}\par}`:                                                                                  "SSN " + testSSN + "\n1 Source\n\n",
		`{\rtf1 {\shp{\*\shpinst{\sp{\sn shapeType}{\sv 202}}{\sp{\sn gtextUNICODE}{\sv Shape SSN ` + testSSN + `}}{\sp{\sn wzName}{\sv Shape1}}}}After}`: "Shape SSN " + testSSN + "\nAfter",
		// What is read on lines of its own splits the line it is in,
		// which follows whole as a reader shows it.
		`{\rtf1 SSN 536-22-{\*\x 99}1234\par}`:                                      "SSN 536-22-\n99\n1234\nSSN " + testSSN + "\n",
		`{\rtf1 SSN 536-22-{\*\atnid J}\chatn{\*\annotation x}1234\par}`:            "SSN 536-22-\nJ\nx\n1234\nSSN " + testSSN + "\n",
		`{\rtf1 SSN 536-22-{\*\ftnsep\chftnsep}{\*\bkmkstart b}{\*\bkmkend b}1234}`: "SSN " + testSSN,
		`{\rtf1 a{\*\footnote {\*\x}b}c}`:                                           "a\nb\nc\nac\n",
		`{\rtf1 536-22-{\*\x}1234}`:                                                 testSSN,
		// Known to hold no text: font and list data, ids, hex and binary.
		`{\rtf1 {\*\panose 02020603050405020304}{\*\blipuid 0123abcd}{\*\datafield 8001}{\*\fchars !}{\*\lchars (}{\*\mmathPr\mnaryLim1}` +
			`{\*\wgrffmtfilter 2450}{\*\listpicture{\pict 00}}{\*\defchp \f0}{\*\defpap \ql}{\*\password 1234}{\*\passwordhash 01}{\*\protusertbl 01}` +
			`{\*\pgptbl {\pgp\ipgp0}}{\*\xmlnstbl {\xmlns1 urn:x}}{\*\pnseclvl1{\pntxta .}}{\*\atrfstart 7}{\*\atrfend 7}x}`: "x",
	} {
		if got := string(rtfText([]byte(in))); got != want {
			t.Errorf("rtfText(%q) = %q, want %q", in, got, want)
		}
	}
}

// HTML mail kept as RTF: Outlook shows the HTML rebuilt from the
// {\*\htmltagN} and {\*\mhtmltagN} groups and the text outside \htmlrtf
// regions, which need not be the RTF view: rtfText returns the RTF view
// and then the HTML view, unless it is the same.
func TestRTFFromHTMLView(t *testing.T) {
	for in, want := range map[string]string{
		`{\rtf1\ansi\ansicpg1252\fromhtml1 \deff0{\fonttbl{\f0\fswiss Arial;}}` + "\r\n" +
			`{\*\htmltag19 <html>}{\*\htmltag50 <body>}{\*\htmltag64 <p>Patient SSN ` + testSSN + `</p>}` +
			`\htmlrtf See you tomorrow.\par \htmlrtf0 {\*\htmltag58 </body>}{\*\htmltag27 </html>}}`: "See you tomorrow.\n\n\n\nPatient SSN " + testSSN + "\n\n\n\n",
		`{\rtf1\ansi\fromhtml1 {\*\htmltag64 <p>}{\*\mhtmltag84 ` + testSSN + `}{\*\htmltag72 </p>}}`: "\n" + testSSN + "\n\n",
		`{\rtf1\ansi\fromhtml1 {\*\htmltag64 <p>a \{b\}\'e9}{\*\htmltag72 </p>}}`:                     "\na {b}é\n\n",
		// Without \fromhtml1 the groups are not HTML.
		`{\rtf1\ansi {\*\htmltag64 <p>Patient SSN ` + testSSN + `</p>}}`: "",
	} {
		if got := string(rtfText([]byte(in))); got != want {
			t.Errorf("rtfText(%q) = %q, want %q", in, got, want)
		}
	}
}

// The same through an .rtf attachment and an Outlook message's compressed
// RTF body: the SSN is found.
func TestRTFFindingsInViews(t *testing.T) {
	for name, rtf := range map[string]string{
		"bin":     `{\rtf1\ansi{\*\blipuid\bin1 {}Patient SSN ` + testSSN + `\par}`,
		"shptxt":  `{\rtf1\ansi{\shp{\*\shpinst{\shptxt Patient SSN ` + testSSN + `\par}}}\par}`,
		"u run":   `{\rtf1\ansi\uc1 Patient SSN \u53\u51\u54?-22-1234\par}`,
		"ud":      `{\rtf1\ansi{\upr{See you tomorrow.}{\*\ud{Patient SSN ` + testSSN + `}}}\par}`,
		"htmltag": `{\rtf1\ansi\fromhtml1 {\*\htmltag64 <p>Patient SSN ` + testSSN + `</p>}\htmlrtf See you tomorrow.\htmlrtf0}`,
	} {
		for how, m := range map[string][]byte{
			"rtf": multipartMsg("m", attachment("a.rtf", "application/rtf", []byte(rtf))),
			"msg": multipartMsg("m", attachment("m.msg", "application/vnd.ms-outlook", cfb(t, []*cfbEntry{
				{name: "__substg1.0_0037001F", data: utf16le("Results")},
				{name: "__substg1.0_10090102", data: compressRTF(rtf)}}))),
		} {
			x := extract(t, m, Limits{})
			found := false
			for _, f := range Scan(x.Text(), Options{}) {
				found = found || f.Detector == "us_ssn"
			}
			if !found {
				t.Errorf("%s, %s: no SSN in %q", name, how, x.Text())
			}
		}
	}
}
