package scanner

// What LibreOffice shows of RTF that rtfText skipped or misread: the
// findings of a review that compared the two (each want is in the text of
// soffice --convert-to 'txt:Text (encoded):UTF8', recorded here so these
// run without LibreOffice).

import (
	"strings"
	"testing"
)

// Review finding: LibreOffice 7.4 switches the destination of a group
// nested in a table or id it parses (fonttbl, colortbl, a style, a
// revision author, \listname, \levelnumbers, \bkmkstart/end, \generator,
// \sn, \atndate, \ffname, \objclass, \datafield, …) to the nested group's
// own destination word (\fldrslt, \field, \result, \shp, \shpinst, \sp,
// \pict, \pn, \list, \info, \upr, \ud, \object, \do, …) and shows its
// text in the body. rtfText keeps skipping. Each want is in the text of
// `soffice --convert-to 'txt:Text (encoded):UTF8'`.
func TestRTFDestinationInParsedSkip(t *testing.T) {
	for _, c := range []struct{ rtf, want, lo string }{
		{`{\rtf1\ansi{\fonttbl{\f0 Arial;}{\pn 536-22-1234}}\f0\pard Hello\par}`, "536-22-1234", "536-22-1234Hello\n"},
		{`{\rtf1\ansi{\fonttbl{\f0 Arial{\fldrslt 536-22-1235};}}\f0\pard Hello\par}`, "536-22-1235", "536-22-1235Hello\n"},
		{`{\rtf1\ansi{\colortbl;{\shp 536-22-1236}}\pard Hello\par}`, "536-22-1236", "536-22-1236Hello\n"},
		{`{\rtf1\ansi{\stylesheet{\s0 Normal{\result 536-22-1237};}}\pard Hello\par}`, "536-22-1237", "536-22-1237Hello\n"},
		{`{\rtf1\ansi\pard SSN {\*\bkmkstart a{\fldrslt 536-22-1238}}\par}`, "536-22-1238", "SSN 536-22-1238\n"},
		{`{\rtf1\ansi\pard Hello {\shp{\*\shpinst{\sp{\sn fillColor{\info 536-22-1239}}{\sv 1}}}}\par}`, "536-22-1239", "Hello 536-22-1239\n"},
		{`{\rtf1\ansi{\*\listtable{\list\listtemplateid1{\listlevel{\leveltext\'01\'00;}}{\listname {\upr 536-22-1240};}\listid1}}\pard Hello\par}`, "536-22-1240", "536-22-1240Hello\n"},
		{`{\rtf1\ansi{\*\revtbl{Unknown;}{{\sp 536-22-1241};}}\pard Hello\par}`, "536-22-1241", "536-22-1241Hello\n"},
		{`{\rtf1\ansi{\fonttbl{\f0 Arial;}{\pict{536-22-1242}}}\pard Hello\par}`, "536-22-1242", "536-22-1242Hello\n"},
		{`{\rtf1\ansi{\*\generator Word{\list 536-22-1243}}\pard Hello\par}`, "536-22-1243", "536-22-1243Hello\n"},
	} {
		if got := string(rtfText([]byte(c.rtf))); !strings.Contains(got, c.want) {
			t.Errorf("rtfText(%s) = %q; LibreOffice shows %q", c.rtf, got, c.lo)
		}
	}
}

// Review finding: a destination word met in the middle of a group LibreOffice
// parses (no nested group at all) switches that group too.
func TestRTFDestinationWordInParsedSkip(t *testing.T) {
	for _, c := range []struct{ rtf, want string }{
		{`{\rtf1\ansi{\fonttbl{\f0 Arial;}\shp 536-22-1244}\f0\pard Hello\par}`, "536-22-1244"},
		{`{\rtf1\ansi{\stylesheet{\s0 Normal\pn 536-22-1245;}}\pard Hello\par}`, "536-22-1245"},
		{`{\rtf1\ansi\pard SSN {\*\bkmkstart a\fldrslt 536-22-1246}\par}`, "536-22-1246"},
	} {
		if got := string(rtfText([]byte(c.rtf))); !strings.Contains(got, c.want) {
			t.Errorf("rtfText(%s) = %q; LibreOffice shows %s", c.rtf, got, c.want)
		}
	}
}

// Review finding: LibreOffice 7.4 shows \upr's first group AND its \ud
// group, one after the other ("SSN: 536-22-1234"); rtfText read them as
// alternatives on lines of their own, so a number split across the two was
// whole in neither view; the flow view now holds both.
func TestRTFUprBothGroups(t *testing.T) {
	for _, c := range []struct{ rtf, want string }{
		{`{\rtf1\ansi\pard SSN: {\upr{536-22-}{\*\ud{1234}}}\par}`, "536-22-1234"},
		{`{\rtf1\ansi\pard SSN: {\upr{536}{\*\ud{-22-1235}}}\par}`, "536-22-1235"},
		{`{\rtf1\ansi\pard SSN: 536-{\upr{22-}{\*\ud{1237}}}\par}`, "536-22-1237"},
	} {
		got := rtfText([]byte(c.rtf))
		if !strings.Contains(string(got), c.want) || len(Scan(got, Options{})) == 0 {
			t.Errorf("rtfText(%s) = %q; LibreOffice shows %q", c.rtf, got, "SSN: "+c.want)
		}
	}
}

// Review finding: after \uN, LibreOffice drops the next N plain characters
// (\ucN) only: a control word or symbol that makes a character (\par,
// \line, \tab, \~, \{, \}, \\, \_, \emdash, \bullet, \lquote, \sect,
// \page) is shown and does not count, so the character after it is
// dropped instead. rtfText dropped the control word's character and kept
// the one after: a digit put there joins the SSN LibreOffice shows to a
// digit, and the detector misses it.
func TestRTFUnicodeFallbackControlWord(t *testing.T) {
	for _, c := range []struct{ cw, lo string }{
		{`\line `, "SSN: A\n536-22-1234\n"},
		{`\par `, "SSN: A\n536-22-1234\n"},
		{`\tab `, "SSN: A\t536-22-1234\n"},
		{`\~`, "SSN: A\u00a0536-22-1234\n"},
		{`\{`, "SSN: A{536-22-1234\n"},
		{`\emdash `, "SSN: A—536-22-1234\n"},
	} {
		doc := `{\rtf1\ansi\pard SSN: \u65` + c.cw + `1536-22-1234\par}`
		lo := Scan([]byte(c.lo), Options{})
		got := rtfText([]byte(doc))
		ours := Scan(got, Options{})
		if len(lo) > 0 && len(ours) == 0 {
			t.Errorf("%s: LibreOffice shows %q (%d findings); rtfText reads %q: no finding", doc, c.lo, len(lo), got)
		}
	}
}

// Review finding: rtfText held \ucN to 4; LibreOffice drops N characters
// after each \uN (8 and 20 checked): the characters past the 4th were
// read, and a digit among them joins the SSN that LibreOffice shows.
func TestRTFUnicodeSkipCountOver4(t *testing.T) {
	for _, c := range []struct{ rtf, lo string }{
		{`{\rtf1\ansi\pard SSN:\uc5\u32 12345536-22-1234\par}`, "SSN: 536-22-1234\n"},
		{`{\rtf1\ansi\pard SSN:\uc8\u32 12345678536-22-1235\par}`, "SSN: 536-22-1235\n"},
	} {
		got := rtfText([]byte(c.rtf))
		if len(Scan([]byte(c.lo), Options{})) > 0 && len(Scan(got, Options{})) == 0 {
			t.Errorf("%s: LibreOffice shows %q; rtfText reads %q: no finding", c.rtf, c.lo, got)
		}
	}
}

// symbolField reads only the start of a field instruction: nested field
// instructions hand it text that holds theirs (review finding: 1,000
// nested {\*\fldinst groups around 1 MB of text took 4-5 s; see
// BenchmarkRTFNestedFldinst).
func TestSymbolFieldReadsItsStart(t *testing.T) {
	long := strings.Repeat("x ", 1<<19)
	if r, ok := symbolField([]byte(" SYMBOL 53 \\f Symbol " + long)); !ok || r != '5' {
		t.Errorf("symbolField(SYMBOL 53 …) = %q, %v; want '5'", r, ok)
	}
	if _, ok := symbolField([]byte(strings.Repeat(" ", maxSymbolInst) + "SYMBOL 53")); ok {
		t.Error("symbolField read past its start")
	}
}

func BenchmarkRTFNestedFldinst(b *testing.B) {
	doc := []byte(`{\rtf1 ` + strings.Repeat(`{\*\fldinst `, 1000) + strings.Repeat("x ", 1<<19) + strings.Repeat("}", 1000) + `}`)
	b.SetBytes(int64(len(doc)))
	for b.Loop() {
		rtfText(doc)
	}
}

// A second review's findings: LibreOffice 7.4's text (soffice
// --convert-to 'txt:Text (encoded):UTF8', or html for notes and headers)
// has an SSN that Scan did not find in rtfText's text. Each failed first.
func TestRTFSecondReview(t *testing.T) {
	for _, c := range []struct{ name, rtf, lo string }{
		// table/math destination words are let-out words too (not in rtfLetOut)
		{"stylesheet-in-fonttbl", `{\rtf1\ansi{\fonttbl{\f0 Arial;}{\stylesheet SSN 536-22-1234 }}\f0\pard Hello\par}`, "SSN 536-22-1234 Hello\n"},
		{"listtable-in-colortbl", `{\rtf1\ansi{\colortbl;{\listtable SSN 536-22-1234 }}\pard Hello\par}`, "SSN 536-22-1234 Hello\n"},
		{"mf-in-bkmkstart", `{\rtf1\ansi\pard SSN {\*\bkmkstart a\mf 536-22-1234}\par}`, "SSN 536-22-1234\n"},
		{"mnum-in-atnref", `{\rtf1\ansi\pard SSN {\*\atnref x{\mnum 536-22-1234}}\par}`, "SSN 536-22-1234\n"},
		// \ucN does not cancel the fallback characters still to drop
		{"uc0-in-group", `{\rtf1\ansi\pard SSN 536-22-123\u52 {\uc0 9}X end\par}`, "SSN 536-22-1234 end\n"},
		{"uc0-after-u", `{\rtf1\ansi\pard SSN 536-22-123\u52\uc0 9 end\par}`, "SSN 536-22-1234 end\n"},
		// \column is a line break
		{"column", `{\rtf1\ansi\pard SSN 536-22-1234\column 99 end\par}`, "SSN 536-22-1234\n99 end\n"},
		// \upr's first group is lost when it is out of the flow (footnote, header: LO html export shows it)
		{"upr-in-footnote", `{\rtf1\ansi{\fonttbl{\f0 Arial;}}\f0\pard Body{\footnote\pard Note {\upr{SSN 536-22-1234}{\*\ud{ none}}}}\par}`, "Note SSN 536-22-1234 none\n"},
		{"upr-in-header", `{\rtf1\ansi{\fonttbl{\f0 Arial;}}\f0{\header\pard Head {\upr{SSN 536-22-1234}{\*\ud{ none}}}\par}\pard Body\par}`, "Head SSN 536-22-1234 none\n"},
	} {
		lo := Scan([]byte(c.lo), Options{})
		if len(lo) == 0 {
			t.Errorf("%s: Scan finds nothing in LibreOffice's text either", c.name)
			continue
		}
		ours := rtfText([]byte(c.rtf))
		if got := Scan(ours, Options{}); len(got) == 0 {
			t.Errorf("%s: LibreOffice shows %q (%d findings); rtfText reads %q: no finding", c.name, c.lo, len(lo), ours)
		}
	}
}
