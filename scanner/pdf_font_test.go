package scanner

import (
	"context"
	"maps"
	"slices"
	"strings"
	"testing"
)

// openTestPDF opens a document built by buildPDF (hand-made objects: the
// edges below are ones no producer writes on purpose).
func openTestPDF(t *testing.T, objs ...string) *pdfDoc {
	t.Helper()
	e := &extractor{ctx: context.Background(), lim: Limits{}.withDefaults(), out: &Extracted{}, work: 1 << 30}
	d, err := openPDF(e, "t.pdf", buildPDF(objs...))
	if err != nil {
		t.Fatal(err)
	}
	return d
}

// fontOf loads object 2 of a document whose catalogue is object 1.
func fontOf(t *testing.T, objs ...string) *pdfFont {
	t.Helper()
	d := openTestPDF(t, append([]string{"<< /Type /Catalog >>"}, objs...)...)
	return d.loadFont(d.resolveDict(pdfRef{num: 2}))
}

// fontText is the text a font gives the bytes of a shown string.
func fontText(f *pdfFont, s string) string {
	var out []byte
	for _, g := range f.glyphs([]byte(s), nil) {
		out = f.text(g, out)
	}
	return string(out)
}

func TestGlyphRune(t *testing.T) {
	for name, want := range map[string]rune{
		"space": ' ', "nine": '9', "uni00A0": ' ', "Euro": '€',
		"a": 'a', "Q": 'Q',
		"a.sc": 'a', "one_alt": '1', "five.oldstyle": '5', // suffixes cut
		".notdef": 0, "_a": 0, // a name that is all suffix
		"_":       '_', // one character is that character
		"uni0041": 'A', "uni20AC": '€',
		"uni004142": 'A', // a uni name takes its first four digits
		"uni123":    0,   // too short for uni, and "ni123" is no hex for u
		"uniZZZZ":   0,
		"u0041":     'A', "u20AC": '€', "u1F600": '😀', "u10FFFF": 0x10FFFF,
		"u123":       0, // fewer than four digits
		"u10FFFF0":   0, // more than six
		"uni1234567": 0,
		"g123":       0, "glyph7": 0,
	} {
		if got := glyphRune(name); got != want {
			t.Errorf("glyphRune(%q) = %U, want %U", name, got, want)
		}
	}
}

func TestUTF16Runes(t *testing.T) {
	for in, want := range map[string]string{
		"\x00A\x00B":           "AB",
		"\xD8\x3D\xDE\x00":     "😀",  // a surrogate pair
		"\x00\x66\x00\x69":     "fi", // a ligature's destination: two characters
		"A":                    "A",  // one byte: the character itself
		"\x00\x41\x42":         "B",  // an odd length: the last byte
		"":                     "",
		"\x20\xAC\x00\x31":     "€1",
		"\xFB\x01":             "ﬁ",
		"\x00\x35\x00\x33\x00": "\x00", // odd: the trailing byte, not the pairs
	} {
		if got := string(utf16Runes([]byte(in))); got != want {
			t.Errorf("utf16Runes(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestAppendRune(t *testing.T) {
	for r, want := range map[rune]string{
		'A': "A", ' ': " ", '\n': "\n", '\t': "\t", 0x7F: "\x7F",
		0x00: "", 0x1F: "", '\r': "", 0x08: "", // control characters are dropped
		0xA0: " ", 0x2007: " ", 0x202F: " ", 0x2009: "\u2009", // no-break spaces become spaces
		0x2010: "-", 0x2011: "-", 0x2012: "-", 0x2013: "–", 0x200F: "\u200F",
		'é':    "é",
		0xFB00: "ff", 0xFB01: "fi", 0xFB02: "fl", 0xFB03: "ffi", 0xFB04: "ffl", 0xFB05: "st", 0xFB06: "st", // ligatures as their letters
		0xFAFF: "\uFAFF", 0xFB07: "\uFB07", 0xFB13: "\uFB13",
	} {
		if got := string(appendRune([]byte("x"), r)); got != "x"+want {
			t.Errorf("appendRune(%U) = %q, want %q", r, got, "x"+want)
		}
	}
}

func TestBeUint(t *testing.T) {
	for in, want := range map[string]uint32{
		"": 0, "\x01": 1, "\x01\x02": 0x0102, "\x01\x02\x03\x04": 0x01020304,
		"\x01\x02\x03\x04\x05": 0x01020304, // at most four bytes
	} {
		if got := beUint([]byte(in)); got != want {
			t.Errorf("beUint(%q) = %#x, want %#x", in, got, want)
		}
	}
}

// A ToUnicode CMap: its codespace ranges, bfchar (strings and glyph names),
// bfrange (incrementing a destination's last character, or an array), and
// entries a reader must pass over.
func TestParseCMap(t *testing.T) {
	cmap := `/CIDInit /ProcSet findresource begin 12 dict begin begincmap
/CMapName /Test def
4 begincodespacerange <00> <80> <8140> <9FFC> <> <FF> <0102030405> <FFFFFFFFFF> <A0> endcodespacerange
1 begincodespacerange <01020304> <01020305> endcodespacerange
6 beginbfchar
<41> <0053>
<42> /five
<43> /notaglyphname
<0102030405> <0058>
<01020304> <0059>
<44> <00660069>
<45>
endbfchar
7 beginbfrange
<8141> <8143> <0030>
<8150> <8152> [<0041> <0042> <0043> <0044>]
<8160> <815F> <0030>
<8170> <8171> <>
<8180> <8181> <D83DDE00>
<0102030405> <0102030406> <0030>
<01020305> <01020306> <0041>
<8190> <8190> <0031>
<81A0> <81A1>
endbfrange
endcmap CMapName currentdict /CMap defineresource pop end end`
	m, ranges := parseCMap([]byte(cmap))
	wantRanges := []codespace{{1, 0, 0x80}, {2, 0x8140, 0x9FFC}, {4, 0x01020304, 0x01020305}}
	if !slices.Equal(ranges, wantRanges) {
		t.Errorf("ranges %v, want %v", ranges, wantRanges)
	}
	want := map[uint32]string{
		0x41: "S", 0x42: "5", 0x44: "fi",
		0x8141: "0", 0x8142: "1", 0x8143: "2",
		0x8150: "A", 0x8151: "B", 0x8152: "C", // the array's fourth is past the range
		0x8180: "😀", 0x8181: "😁", 0x8190: "1",
		0x01020304: "Y", 0x01020305: "A", 0x01020306: "B",
	}
	got := map[uint32]string{}
	for c, rs := range m {
		got[c] = string(rs)
	}
	if !maps.Equal(got, want) {
		t.Errorf("map %v\nwant %v", got, want)
	}
}

// A range of exactly 65,537 codes (z-a == 1<<16) is still read; one more
// is not: a CMap cannot make the reader fill a map without end.
func TestParseCMapRangeBound(t *testing.T) {
	m, _ := parseCMap([]byte("1 beginbfrange <000000> <010000> <0020> endbfrange"))
	if len(m) != 1<<16+1 || string(m[0x10000]) != string(rune(0x20+0x10000)) {
		t.Errorf("%d codes from a range of 65,537", len(m))
	}
	m, _ = parseCMap([]byte("1 beginbfrange <000000> <010001> <0020> endbfrange"))
	if len(m) != 0 {
		t.Errorf("%d codes from a range of 65,538", len(m))
	}
}

// Operands left over before an unrelated keyword do not pair up with the
// next section's.
func TestParseCMapStrayOperands(t *testing.T) {
	m, _ := parseCMap([]byte("<41> <0058> def 1 beginbfchar <42> <0059> endbfchar <43> <005A> usecmap <44> endbfchar"))
	if len(m) != 1 || string(m[0x42]) != "Y" {
		t.Errorf("map %v", m)
	}
}

// An embedded encoding CMap (a Type0 font's Encoding stream): code → CID.
func TestParseCIDMap(t *testing.T) {
	cmap := `begincmap
2 begincodespacerange <00> <7F> <8000> <FFFF> endcodespacerange
4 begincidchar <41> 100 <8001> 7 <0102030405> 9 <01020304> 11 <42> endcidchar
<42> 5 def
2 begincidrange <8100> <8102> 200 <20> <21> 1 endcidrange
2 begincidrange <0102030405> <0102030406> 50 <01020300> <01020301> 60 <50> <51> endcidrange
1 begincidrange <30> <31> /x endcidrange
endcmap`
	m, ranges := parseCIDMap([]byte(cmap), nil)
	want := map[uint32]uint32{0x41: 100, 0x8001: 7, 0x01020304: 11, 0x8100: 200, 0x8101: 201, 0x8102: 202, 0x20: 1, 0x21: 2, 0x01020300: 60, 0x01020301: 61}
	if !maps.Equal(m, want) {
		t.Errorf("cids %v, want %v", m, want)
	}
	if w := []codespace{{1, 0, 0x7F}, {2, 0x8000, 0xFFFF}}; !slices.Equal(ranges, w) {
		t.Errorf("ranges %v, want %v", ranges, w)
	}
	// The ToUnicode CMap's codespace, when it has one, is kept.
	have := []codespace{{2, 0, 0xFFFF}}
	if _, r := parseCIDMap([]byte(cmap), have); !slices.Equal(r, have) {
		t.Errorf("ranges %v, want the ToUnicode ones", r)
	}
}

// A cidrange of 65,536 codes is read in full; a longer one stops there.
func TestParseCIDMapRangeBound(t *testing.T) {
	m, _ := parseCIDMap([]byte("1 begincidrange <000000> <010005> 0 endcidrange"), nil)
	if len(m) != 1<<16 || m[0xFFFF] != 0xFFFF {
		t.Errorf("%d codes, last %d", len(m), m[0xFFFF])
	}
}

// codeLen: the shortest codespace range the bytes fall in, else the first
// range's length.
func TestCodeLen(t *testing.T) {
	f := &pdfFont{ranges: []codespace{{1, 0x00, 0x80}, {2, 0x8140, 0x9FFC}, {3, 0xA00000, 0xA0FFFF}}}
	for in, want := range map[string]int{
		"\x41\x42":     1,
		"\x80\x42":     1, // the top of the one-byte range
		"\x81\x40":     2, // the bottom of the two-byte range
		"\x9F\xFC\x00": 2,
		"\x9F\xFD\x00": 1, // in no range: the first range's length
		"\xA0\x00\x00": 3,
		"\xA0\xFF\xFF": 3,
		"\x81":         1, // too short for the two-byte range
	} {
		if got := f.codeLen([]byte(in)); got != want {
			t.Errorf("codeLen(%q) = %d, want %d", in, got, want)
		}
	}
	f = &pdfFont{ranges: []codespace{{2, 0x0000, 0x00FF}, {4, 0x01000000, 0x01000010}}}
	for in, want := range map[string]int{
		"\x00\x41":         2,
		"\x01\x00\x00\x10": 4,
		"\x01\x00\x00\x11": 2, // in no range: the first range's length
		"\x01":             2,
	} {
		if got := f.codeLen([]byte(in)); got != want {
			t.Errorf("codeLen(%q) = %d, want %d", in, got, want)
		}
	}
	// A range that says codes of no bytes: taken as one byte.
	if got := (&pdfFont{ranges: []codespace{{0, 0, 0}}}).codeLen([]byte("ab")); got != 1 {
		t.Errorf("codeLen with an empty range = %d", got)
	}
}

func TestGlyphs(t *testing.T) {
	for _, c := range []struct {
		f    *pdfFont
		in   string
		want []glyph
	}{
		{&pdfFont{}, "a b", []glyph{{'a', 1, false}, {' ', 1, true}, {'b', 1, false}}},
		{&pdfFont{twoByte: true}, "\x00\x20\x01\x41\x07", []glyph{{0x20, 2, false}, {0x141, 2, false}, {0x07, 1, false}}},
		{&pdfFont{ranges: []codespace{{1, 0, 0x7F}, {2, 0x8000, 0xFFFF}}}, " \x80\x20A", []glyph{{' ', 1, true}, {0x8020, 2, false}, {'A', 1, false}}},
		{&pdfFont{ranges: []codespace{{2, 0, 0xFFFF}}}, "\x00\x20\x20", []glyph{{0x20, 2, false}, {0x20, 1, true}}},
		{&pdfFont{}, "", nil},
	} {
		got := c.f.glyphs([]byte(c.in), []glyph{{9, 9, true}})
		if !slices.Equal(got, c.want) {
			t.Errorf("glyphs(%q) = %v, want %v", c.in, got, c.want)
		}
	}
}

// The W array of a CIDFont: "c [w1 w2 …]" and "c1 c2 w".
func TestCIDWidths(t *testing.T) {
	d := openTestPDF(t, "<< /Type /Catalog >>", "[3 [250 500.5 /x 750] 10 12 600 20 [100] 30 30 900 40 [] 41 42 43 44 45 46 50 /x 700 60 61]")
	got := d.cidWidths(d.resolveArray(pdfRef{num: 2}))
	want := map[uint32]float64{3: 250, 4: 500.5, 6: 750, 10: 600, 11: 600, 12: 600, 20: 100, 30: 900, 41: 43, 42: 43, 44: 46, 45: 46}
	if !maps.Equal(got, want) {
		t.Errorf("widths %v\nwant %v", got, want)
	}
	for _, w := range []string{"[5]", "[5 6]", "[/a [100] 7 [200]]", "[]"} {
		d := openTestPDF(t, "<< /Type /Catalog >>", w)
		if got := d.cidWidths(d.resolveArray(pdfRef{num: 2})); len(got) != 0 {
			t.Errorf("cidWidths(%s) = %v", w, got)
		}
	}
}

// A c1 c2 w range of exactly 65,536 CIDs is read in full and no further;
// an array entry past 65,536 widths is dropped.
func TestCIDWidthsBound(t *testing.T) {
	d := openTestPDF(t, "<< /Type /Catalog >>", "[10 70000 5]")
	got := d.cidWidths(d.resolveArray(pdfRef{num: 2}))
	if len(got) != 1<<16 || got[10+0xFFFF] != 5 || got[9] != 0 {
		t.Errorf("%d widths, last %v", len(got), got[10+0xFFFF])
	}
	d = openTestPDF(t, "<< /Type /Catalog >>", "[0 65535 5 70000 [7 8]]")
	got = d.cidWidths(d.resolveArray(pdfRef{num: 2}))
	if len(got) != 1<<16 || got[70000] != 0 {
		t.Errorf("%d widths, one past the bound: %v", len(got), got[70000])
	}
}

// A font reference that names no font dictionary: WinAnsi codes, and
// glyphs a full em wide.
func TestLoadFontMissing(t *testing.T) {
	d := openTestPDF(t, "<< /Type /Catalog >>")
	f := d.loadFont(nil)
	if got := fontText(f, "SSN \x80"); got != "SSN €" {
		t.Errorf("text %q", got)
	}
	if w := f.width(glyph{code: 'S', n: 1}); w != 1 {
		t.Errorf("width %v, want 1", w)
	}
}

// A Type0 font with Identity-H codes: two bytes each, widths by CID from
// DW and W, text from the ToUnicode CMap.
func TestLoadFontType0(t *testing.T) {
	f := fontOf(t,
		"<< /Type /Font /Subtype /Type0 /Encoding /Identity-H /DescendantFonts [3 0 R] /ToUnicode 4 0 R >>",
		"<< /Type /Font /Subtype /CIDFontType2 /DW 600 /W [5 [250 300]] >>",
		stream("", "1 beginbfrange <0005> <0007> <0041> endbfrange"),
	)
	if got := fontText(f, "\x00\x05\x00\x06\x00\x07\x00\x08"); got != "ABC" {
		t.Errorf("text %q", got)
	}
	for code, want := range map[uint32]float64{5: 0.25, 6: 0.3, 7: 0.6} {
		if w := f.width(glyph{code: code, n: 2}); w != want {
			t.Errorf("width of %d = %v, want %v", code, w, want)
		}
	}
	// Without DescendantFonts, DW is 1000.
	f = fontOf(t, "<< /Type /Font /Subtype /Type0 /Encoding /Identity-H /DescendantFonts [] >>")
	if w := f.width(glyph{code: 5, n: 2}); w != 1 || !f.twoByte || fontText(f, "\x00\x41") != "" {
		t.Errorf("width %v, twoByte %v", w, f.twoByte)
	}
}

// A Type0 font with an embedded encoding CMap: one- and two-byte codes
// by its codespace, widths by the CIDs it maps the codes to.
func TestLoadFontType0EmbeddedCMap(t *testing.T) {
	cmap := "2 begincodespacerange <00> <7F> <8000> <FFFF> endcodespacerange 1 begincidrange <41> <43> 10 endcidrange 1 begincidchar <8001> 20 endcidchar"
	tounicode := "2 beginbfchar <41> <0035> <8001> <0036> endbfchar 1 beginbfrange <42> <43> <0033> endbfrange"
	f := fontOf(t,
		"<< /Type /Font /Subtype /Type0 /Encoding 4 0 R /DescendantFonts [3 0 R] /ToUnicode 5 0 R >>",
		"<< /Type /Font /Subtype /CIDFontType0 /DW 1000 /W [10 [500 600] 20 [750]] >>",
		stream("/Type /CMap", cmap),
		stream("", tounicode),
	)
	if got := fontText(f, "AB\x80\x01C"); got != "5364" {
		t.Errorf("text %q", got)
	}
	for code, want := range map[uint32]float64{0x41: 0.5, 0x42: 0.6, 0x43: 1, 0x8001: 0.75, 0x44: 1} {
		if w := f.width(glyph{code: code}); w != want {
			t.Errorf("width of %#x = %v, want %v", code, w, want)
		}
	}
	// An encoding CMap that does not decode: Identity-H's two bytes.
	f = fontOf(t,
		"<< /Type /Font /Subtype /Type0 /Encoding 3 0 R /ToUnicode 4 0 R >>",
		stream("/Filter /DCTDecode", cmap),
		stream("", "1 beginbfchar <0041> <0058> endbfchar"),
	)
	if got := fontText(f, "\x00\x41\x42"); got != "X" || !f.twoByte || f.cidMap != nil {
		t.Errorf("text %q, twoByte %v, cidMap %v", got, f.twoByte, f.cidMap)
	}
}

// A ToUnicode CMap that does not decode is no map at all.
func TestLoadFontBadToUnicode(t *testing.T) {
	f := fontOf(t, "<< /Type /Font /Subtype /Type1 /ToUnicode 3 0 R >>", stream("/Filter /DCTDecode", "1 beginbfchar <41> <0058> endbfchar"))
	if f.toUni != nil || fontText(f, "A") != "A" {
		t.Errorf("toUni %v, text %q", f.toUni, fontText(f, "A"))
	}
	f = fontOf(t, "<< /Type /Font /Subtype /Type1 /ToUnicode 3 0 R >>", stream("", "1 beginbfchar <41> <0058> endbfchar"))
	if got := fontText(f, "AB"); got != "XB" {
		t.Errorf("text %q", got)
	}
}

// A simple font's widths: Widths from FirstChar, MissingWidth for the
// codes outside them (0 without a FontDescriptor saying otherwise), and
// an average for the standard 14 fonts, which have no Widths.
func TestLoadFontSimpleWidths(t *testing.T) {
	f := fontOf(t,
		"<< /Type /Font /Subtype /TrueType /FirstChar 48 /Widths [500 /x 550] /FontDescriptor 3 0 R >>",
		"<< /Type /FontDescriptor /MissingWidth 250 >>",
	)
	for code, want := range map[uint32]float64{48: 0.5, 50: 0.55, 49: 0.25, 47: 0.25, 51: 0.25} {
		if w := f.width(glyph{code: code, n: 1}); w != want {
			t.Errorf("width of %d = %v, want %v", code, w, want)
		}
	}
	f = fontOf(t, "<< /Type /Font /Subtype /TrueType /FirstChar 48 /Widths [500] /FontDescriptor << /Flags 32 >> >>")
	if w := f.width(glyph{code: 49, n: 1}); w != 0 {
		t.Errorf("width outside Widths without MissingWidth = %v", w)
	}
	f = fontOf(t, "<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>")
	if w := f.width(glyph{code: 49, n: 1}); w != 0.5 || f.ranges != nil {
		t.Errorf("standard font width = %v, ranges %v", w, f.ranges)
	}
}

// A simple font with a ToUnicode CMap still takes one byte per code,
// whatever the CMap's codespace says.
func TestLoadFontSimpleOneByte(t *testing.T) {
	f := fontOf(t, "<< /Type /Font /Subtype /TrueType /ToUnicode 3 0 R >>",
		stream("", "1 begincodespacerange <0000> <FFFF> endcodespacerange 2 beginbfchar <41> <0058> <42> <0059> endbfchar"))
	if got := fontText(f, "AB"); got != "XY" {
		t.Errorf("text %q", got)
	}
}

// A Type3 font's glyph space is its FontMatrix's.
func TestLoadFontType3(t *testing.T) {
	f := fontOf(t, "<< /Type /Font /Subtype /Type3 /FontMatrix [0.01 0 0 0.01 0 0] /FirstChar 65 /Widths [50] >>")
	if w := f.width(glyph{code: 65, n: 1}); w != 0.5 {
		t.Errorf("Type3 width %v, want 0.5", w)
	}
	for _, m := range []string{"[0.01 0 0 0.01 0]", "[/a 0 0 0.01 0 0]"} {
		f = fontOf(t, "<< /Type /Font /Subtype /Type3 /FontMatrix "+m+" /FirstChar 65 /Widths [50] >>")
		if w := f.width(glyph{code: 65, n: 1}); w != 0.05 {
			t.Errorf("Type3 width with FontMatrix %s: %v, want 0.05", m, w)
		}
	}
	f = fontOf(t, "<< /Type /Font /Subtype /Type1 /FontMatrix [0.01 0 0 0.01 0 0] /FirstChar 65 /Widths [50] >>")
	if w := f.width(glyph{code: 65, n: 1}); w != 0.05 {
		t.Errorf("a Type1 font's FontMatrix is not its glyph space: %v", w)
	}
}

// Encodings: WinAnsi by default, MacRoman by name, a Differences array
// over either.
func TestSimpleEncoding(t *testing.T) {
	for _, c := range []struct{ enc, in, want string }{
		{"", "\x80\x8a\xe9", "€Šé"},
		{"/WinAnsiEncoding", "\x80\x93", "€“"},
		{"/MacRomanEncoding", "\x80\x8e\xa5", "Äé•"},
		{"/StandardEncoding", "A1", "A1"},
		{"<< /BaseEncoding /MacRomanEncoding /Differences [65 /five /six] >>", "AB\x80C", "56ÄC"},
		{"<< /Differences [65 /five 300 /six -1 /seven 255 /eight /nine] >>", "A\xffB\x80", "58B€"},
		{"<< /Differences [/five 48 /six /x.sc] >>", "\x00\x30\x31", "56x"}, // codes from 0 until a number
		{"<< /BaseEncoding 7 >>", "\x80", "€"},
		{"<< /Differences [1 /fi /fl /ff /ffi /ffl] >>", "of\x01ce \x02\x03\x04\x05", "office flffffiffl"}, // ligature glyphs as letters
	} {
		f := fontOf(t, "<< /Type /Font /Subtype /Type1 /Encoding "+c.enc+" >>")
		if c.enc == "" {
			f = fontOf(t, "<< /Type /Font /Subtype /Type1 >>")
		}
		if got := fontText(f, c.in); got != c.want {
			t.Errorf("Encoding %s: %q → %q, want %q", c.enc, c.in, got, c.want)
		}
	}
}

// A font is loaded once per reference.
func TestFontCache(t *testing.T) {
	d := openTestPDF(t, "<< /Type /Catalog >>", "<< /Type /Font /Subtype /Type1 >>")
	cache := map[any]*pdfFont{}
	a, b := d.font(pdfRef{num: 2}, cache), d.font(pdfRef{num: 2}, cache)
	if a != b || len(cache) != 1 {
		t.Errorf("a reference loaded twice: %p %p, %d cached", a, b, len(cache))
	}
}

// A CMap is read for at most 1,048,576 tokens.
func TestCMapTokenBound(t *testing.T) {
	for _, c := range []struct {
		filler int
		read   bool
	}{{1<<20 - 4, true}, {1<<20 - 3, false}} {
		cmap := strings.Repeat("x ", c.filler)
		m, _ := parseCMap([]byte(cmap + "beginbfchar <41> <0058> endbfchar"))
		if got := len(m) == 1; got != c.read {
			t.Errorf("bfchar after %d tokens: read %v", c.filler, got)
		}
		cids, _ := parseCIDMap([]byte(cmap+"begincidchar <41> 7 endcidchar"), nil)
		if got := len(cids) == 1; got != c.read {
			t.Errorf("cidchar after %d tokens: read %v", c.filler, got)
		}
	}
}

// An embedded encoding CMap without a codespace, and a ToUnicode CMap
// without one: codes are two bytes.
func TestLoadFontType0NoCodespace(t *testing.T) {
	f := fontOf(t,
		"<< /Type /Font /Subtype /Type0 /Encoding 3 0 R /ToUnicode 4 0 R >>",
		stream("/Type /CMap", "1 begincidrange <0000> <FFFF> 0 endcidrange"),
		stream("", "1 beginbfchar <0041> <0058> endbfchar"),
	)
	if got := fontText(f, "\x00\x41\x00\x41"); got != "XX" {
		t.Errorf("text %q", got)
	}
}
