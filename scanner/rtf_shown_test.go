package scanner

import "testing"

// rtfAttachmentFinds reports whether an .rtf attachment of rtf is found to
// hold an SSN, or records something unreadable, and its text.
func rtfAttachmentFinds(t *testing.T, rtf string) (bool, string) {
	t.Helper()
	x := extract(t, multipartMsg("m", attachment("p.rtf", "application/rtf", []byte(rtf))), Limits{})
	for _, f := range Scan(x.Text(), Options{}) {
		if f.Detector == "us_ssn" {
			return true, string(x.Text())
		}
	}
	return len(x.Unreadable) > 0 || x.Truncated, string(x.Text())
}

// RTF whose SSN LibreOffice (soffice --headless --convert-to txt) shows,
// in places the RTF view did not read (review findings): a list level's
// text, SYMBOL fields, document properties, variables and custom
// properties that fields show, \binN with a count past 32 bits or past the
// end, and a \uN whose fallback character follows a group.
func TestRTFShownElsewhere(t *testing.T) {
	for name, rtf := range map[string]string{
		// LibreOffice: "    536-22-1234 1 Patient".
		"leveltext": `{\rtf1\ansi{\*\listtable{\list\listtemplateid1{\listlevel\levelnfc0\leveljc0\levelfollow0\levelstartat1{\leveltext\'0d536-22-1234 \'00.;}{\levelnumbers\'0d;}\fi-360\li720}\listid7}}{\*\listoverridetable{\listoverride\listid7\listoverridecount0\ls1}}\pard\ls1 Patient\par}`,
		// LibreOffice: "Patient 536-22-1234".
		"symbol":     `{\rtf1\ansi Patient {\field{\*\fldinst SYMBOL 53}{\fldrslt }}{\field{\*\fldinst SYMBOL 51}{\fldrslt }}6-22-1234\par}`,
		"bin 2^32+1": `{\rtf1\ansi Patient \bin4294967297 X 536-22-1234\par}`,
		"bin 1e11":   `{\rtf1\ansi Patient \bin99999999999 X 536-22-1234\par}`,
		// LibreOffice: "Patient 536-22-1234 and 536-22-1235".
		"info via TITLE":            `{\rtf1\ansi{\info{\title 536-22-1234}{\doccomm 536-22-1235}}Patient {\field{\*\fldinst TITLE}{\fldrslt }} and {\field{\*\fldinst COMMENTS}{\fldrslt }}\par}`,
		"uc across a group":         `{\rtf1\ansi\uc1 P \u53{\*\bkmkstart a}?36-22-1234\par}`,
		"docvar via DOCVARIABLE":    `{\rtf1\ansi{\*\docvar {pid}{536-22-1234}}Patient {\field{\*\fldinst DOCVARIABLE pid}{\fldrslt }}\par}`,
		"userprops via DOCPROPERTY": `{\rtf1\ansi{\*\userprops {\propname pid}\proptype30{\staticval 536-22-1234}}Patient {\field{\*\fldinst DOCPROPERTY pid}{\fldrslt }}\par}`,
	} {
		if found, text := rtfAttachmentFinds(t, rtf); !found {
			t.Errorf("%s: no SSN found, nothing recorded; text %q", name, text)
		}
	}
}

// What those read as: each on lines of its own, a list level's text
// without its length and placeholders, a SYMBOL field's character in the
// flow when its result is empty (and not when it has one).
func TestRTFShownText(t *testing.T) {
	for in, want := range map[string]string{
		`{\rtf1{\*\listtable{\list{\listlevel{\leveltext\'02\'00.;}{\levelnumbers\'01;}}{\listname ;}}}{\*\listoverridetable{\listoverride\ls1}}a}`: ".;\na",
		`{\rtf1 {\fonttbl{\leveltext\'02x;}}a}`:                                               "a",
		`{\rtf1 a{\field{\*\fldinst SYMBOL 53}{\fldrslt }}b}`:                                 "a\nSYMBOL 53\n5b\na5b\n",
		`{\rtf1 a{\field{\*\fldinst SYMBOL 0x35 \\f Symbol}}b}`:                               "a\nSYMBOL 0x35 \\f Symbol\n5b\na5b\n",
		`{\rtf1 a{\field{\*\fldinst SYMBOL 53}{\fldrslt 5}}b}`:                                "a\nSYMBOL 53\n5b\na5b\n",
		`{\rtf1 a{\field{\*\fldinst PAGE}{\fldrslt 1}}b}`:                                     "a\nPAGE\n1b\na1b\n",
		`{\rtf1{\info{\title T}{\creatim\yr2024\mo1\dy2\hr3\min4}{\version7}{\operator O}}a}`: "T\nO\na",
		`{\rtf1 a\bin99 b}`:         "ab",
		`{\rtf1 a\bin4294967297 b}`: "ab",
		`{\rtf1 a\bin2147483647 b}`: "ab",
		`{\rtf1 a\bin3 {}}b}`:       "ab",
		// The \uN characters still to drop are group state, and \ucN
		// does not cancel them (LibreOffice shows these as
		// "P 56-22-1234", "P 5?36-22-1234", "P 536-22-1234").
		`{\rtf1\uc1 P \u53{3}36-22-1234}`:       "P 56-22-1234",
		`{\rtf1\uc1 P {\u53}?36-22-1234}`:       "P 5?36-22-1234",
		`{\rtf1\uc1 P \u53{\uc0 x}?36-22-1234}`: "P 536-22-1234",
	} {
		if got := string(rtfText([]byte(in))); got != want {
			t.Errorf("rtfText(%q) = %q, want %q", in, got, want)
		}
	}
}

// \ud is acted on only in a group directly inside \upr's, never in a
// skipped one: it cut the text back to \upr and lost it (review finding;
// LibreOffice shows "Patient SSN 536-22-1234").
func TestRTFUdOnlyInUpr(t *testing.T) {
	for _, rtf := range []string{
		`{\rtf1\ansi\upr Patient SSN 536-22-1234\par{\info{\*\ud}}}`,
		`{\rtf1\ansi{\upr Patient SSN 536-22-1234\par{\colortbl;{\*\ud}}}}`,
		`{\rtf1\ansi{\upr Patient SSN 536-22-1234\par{\x{\*\ud}}}}`,
	} {
		if found, text := rtfAttachmentFinds(t, rtf); !found {
			t.Errorf("%s: no SSN found, text %q", rtf, text)
		}
	}
}
