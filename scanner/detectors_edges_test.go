package scanner

import (
	"fmt"
	"strings"
	"testing"
)

// The built-in detectors at the edges of their rules: each value next to
// the limit it must not cross, on both sides.

func TestSSNEdges(t *testing.T) {
	runCases(t, []tc{
		{name: "area 001", text: "SSN 001-22-1234", want: "us_ssn", at: "001-22-1234"},
		{name: "area 010", text: "SSN 010-22-1234", want: "us_ssn", at: "010-22-1234"},
		{name: "area 100", text: "SSN 100-22-1234", want: "us_ssn", at: "100-22-1234"},
		{name: "area 665", text: "SSN 665-22-1234", want: "us_ssn", at: "665-22-1234"},
		{name: "area 667", text: "SSN 667-22-1234", want: "us_ssn", at: "667-22-1234"},
		{name: "area 899", text: "SSN 899-22-1234", want: "us_ssn", at: "899-22-1234"},
		{name: "group 01", text: "SSN 536-01-1234", want: "us_ssn", at: "536-01-1234"},
		{name: "group 10", text: "SSN 536-10-1234", want: "us_ssn", at: "536-10-1234"},
		{name: "serial 0001", text: "SSN 536-22-0001", want: "us_ssn", at: "536-22-0001"},
		{name: "serial 0010", text: "SSN 536-22-0010", want: "us_ssn", at: "536-22-0010"},
		{name: "serial 0100", text: "SSN 536-22-0100", want: "us_ssn", at: "536-22-0100"},
		{name: "serial 1000", text: "SSN 536-22-1000", want: "us_ssn", at: "536-22-1000"},
		// Only the exact voided numbers are refused.
		{name: "near woolworth serial", text: "SSN 078-05-1121", want: "us_ssn", at: "078-05-1121"},
		{name: "near woolworth group", text: "SSN 078-06-1120", want: "us_ssn", at: "078-06-1120"},
		{name: "near woolworth area", text: "SSN 077-05-1120", want: "us_ssn", at: "077-05-1120"},
		{name: "woolworth area only", text: "SSN 078-22-1234", want: "us_ssn", at: "078-22-1234"},
		{name: "near advert group", text: "SSN 219-08-9999", want: "us_ssn", at: "219-08-9999"},
		{name: "near example 987 elsewhere", text: "SSN 536-65-4325", want: "us_ssn", at: "536-65-4325"},
		{name: "advert area only", text: "SSN 219-22-1234", want: "us_ssn", at: "219-22-1234"},
		{name: "near example serial", text: "SSN 123-45-6788", want: "us_ssn", at: "123-45-6788"},
		{name: "near example group", text: "SSN 123-44-6789", want: "us_ssn", at: "123-44-6789"},
		{name: "example area only", text: "SSN 123-22-1234", want: "us_ssn", at: "123-22-1234"},
		// A negative word after the value counts when no context word does.
		{name: "negative word after", text: "see 536-22-1234 (order)", want: ""},
		{name: "negative word after, context word before", text: "SSN 536-22-1234 (order)", want: "us_ssn", at: "536-22-1234"},
		// Nine digits in three groups other than 3-2-4 are no SSN.
		{name: "3-3-3", text: "SSN 536 221 234", want: ""},
		{name: "2-3-4", text: "SSN 53 622 1234", want: ""},
		{name: "3-2-4 spaced", text: "SSN 536 22 1234", want: "us_ssn", at: "536 22 1234", masked: "***-**-1234"},
		{name: "4-1-4", text: "SSN 5362 2 1234", want: ""},
		{name: "1-4-4", text: "SSN 5 3622 1234", want: ""},
		{name: "4-2-3", text: "SSN 5362 21 234", want: ""},
		{name: "3-4-2", text: "SSN 536 2212 34", want: ""},
	})
}

func TestABAPrefixEdges(t *testing.T) {
	// Federal Reserve routing symbols: 00–12, 21–32 (thrift), 61–72
	// (electronic), 80 (traveller's cheques).
	runCases(t, []tc{
		{name: "00", text: "routing 001000423", want: "aba_routing", at: "001000423"},
		{name: "12", text: "routing 121000426", want: "aba_routing", at: "121000426"},
		{name: "13", text: "routing 131000429", want: ""},
		{name: "20", text: "routing 201000427", want: ""},
		{name: "21", text: "routing 211000420", want: "aba_routing", at: "211000420"},
		{name: "32", text: "routing 321000420", want: "aba_routing", at: "321000420"},
		{name: "33", text: "routing 331000423", want: ""},
		{name: "60", text: "routing 601000425", want: ""},
		{name: "61", text: "routing 611000428", want: "aba_routing", at: "611000428"},
		{name: "72", text: "routing 721000428", want: "aba_routing", at: "721000428"},
		{name: "73", text: "routing 731000421", want: ""},
		{name: "79", text: "routing 791000429", want: ""},
		{name: "80", text: "routing 801000429", want: "aba_routing", at: "801000429"},
		{name: "81", text: "routing 811000422", want: ""},
	})
}

func TestNPIFirstDigit(t *testing.T) {
	runCases(t, []tc{
		{name: "first digit 2", text: "NPI: 2345678900", want: "us_npi", at: "2345678900", masked: "******8900"},
		{name: "first digit 2, bad check", text: "NPI: 2345678901", want: ""},
	})
}

func TestIBANEdges(t *testing.T) {
	runCases(t, []tc{
		{name: "country and check digit at the end", text: "IBAN DE8", want: ""},
		{name: "country and letter", text: "IBAN DE8X", want: ""},
		{name: "cut after a group", text: "IBAN DE89 3704 0044 ", want: ""},
		{name: "cut inside a group", text: "IBAN DE89 3704 00", want: ""},
		{name: "at the end of the text", text: "DE89 3704 0044 0532 0130 00", want: "iban", at: "DE89 3704 0044 0532 0130 00"},
		{name: "group of three then space", text: "IBAN DE89 370 40044 0532 0130 00", want: ""},
		{name: "a full last group, then a number", text: "ES91 2100 0418 4502 0005 1332 5", want: "iban", at: "ES91 2100 0418 4502 0005 1332"},
		{name: "shortest (Norway)", text: "NO93 8601 1117 947", want: "iban", at: "NO93 8601 1117 947", masked: "NO** **** ***7 947"},
	})
}

func TestICDEdges(t *testing.T) {
	runCases(t, []tc{
		{name: "dot at the end", text: "Diagnosis: E11.", want: "icd10", at: "E11", masked: "***"},
		{name: "dot and space", text: "Diagnosis: E11. Next", want: "icd10", at: "E11", masked: "***"},
		{name: "vitamin at the start", text: "Vitamin B12 diagnosis", want: ""},
		{name: "vitamin, two spaces", text: "diagnosis: vitamin  B12", want: ""},
		{name: "vitamin glued to a word", text: "diagnosis: xvitamin B12", want: "icd10", at: "B12"},
		{name: "upper-case vitamin", text: "diagnosis: VITAMIN B12", want: ""},
		{name: "vit at the start", text: "vit. D25 diagnosis", want: ""},
		{name: "spaces at the start", text: " B12 diagnosis", want: "icd10", at: "B12"},
	})
}

func TestMBIEdges(t *testing.T) {
	runCases(t, []tc{
		{name: "dashed at the end", text: "MBI 2CN7-HJ3-KP28", want: "us_mbi", at: "2CN7-HJ3-KP28", masked: "****-***-KP28"},
		{name: "first digit 9", text: "MBI 9EG4TE5MK73", want: "us_mbi", at: "9EG4TE5MK73"},
		{name: "one dash", text: "MBI 2CN7-HJ3 KP28", want: ""},
		{name: "other dash", text: "MBI 2CN7 HJ3-KP28", want: ""},
		{name: "cut short", text: "MBI 2CN7-HJ3-KP2", want: ""},
		{name: "excluded letter L", text: "MBI 1LG4TE5MK73", want: ""},
		{name: "excluded letter I", text: "MBI 1IG4TE5MK73", want: ""},
		{name: "excluded letter B", text: "MBI 1BG4TE5MK73", want: ""},
		{name: "excluded letter Z", text: "MBI 1ZG4TE5MK73", want: ""},
		{name: "excluded letter in an AN position", text: "MBI 1EL4TE5MK73", want: ""},
		{name: "letter where a digit goes", text: "MBI 1EGATE5MK73", want: ""},
		{name: "digit where a letter goes", text: "MBI 1EG4TE5M373", want: ""},
	})
}

// A detector's score exactly at the threshold counts.
func TestScoreAtThreshold(t *testing.T) {
	// Boosted scores are float64 sums at run time (0.3 + 0.35 is
	// 0.6499999999999999 there), unless the code adds two constants.
	boosted := func(base float64) float64 { return base + ctxBoost }
	for _, c := range []struct {
		text string
		thr  float64
		want string
	}{
		{"DEA AB1234563", boosted(deaBase), "us_dea"},
		{"pay DE89370400440532013000", ibanBase, "iban"},
		{"Diagnosis: E11.9", icdBase + ctxBoost, "icd10"},
		{"ID 2CN7-HJ3-KP28", mbiDashedBase, "us_mbi"},
		{"see 536-22-1234", ssnDashedBase, "us_ssn"},
		// At the threshold a negative word still counts against it.
		{"order 536-22-1234", ssnDashedBase, ""},
	} {
		got := Scan([]byte(c.text), Options{Threshold: c.thr})
		if c.want == "" {
			if len(got) != 0 {
				t.Errorf("%q at %v: %+v, want nothing", c.text, c.thr, got)
			}
			continue
		}
		if len(got) != 1 || got[0].Detector != c.want || got[0].Score != c.thr {
			t.Errorf("%q at %v: %+v, want one %s scoring the threshold", c.text, c.thr, got, c.want)
		}
		if above := Scan([]byte(c.text), Options{Threshold: c.thr + 0.01}); len(above) != 0 {
			t.Errorf("%q at %v: %+v, want nothing", c.text, c.thr+0.01, above)
		}
	}
}

// The context windows at their exact edges: a word starting 64 bytes
// before the value counts, 65 does not; a word ending 32 bytes after it
// counts, 33 does not. A plural 's' is allowed.
func TestContextWindowEdges(t *testing.T) {
	for _, c := range []struct {
		text string
		want int
	}{
		{"routing" + strings.Repeat(" ", 57) + "021000021", 1},
		{"routing" + strings.Repeat(" ", 58) + "021000021", 0},
		{"021000021" + strings.Repeat(" ", 25) + "routing", 1},
		{"021000021" + strings.Repeat(" ", 26) + "routing", 0},
		{"021000021" + strings.Repeat(" ", 25) + "routing.", 1},
		{"routings: 021000021", 1},
		{"ROUTINGS: 021000021", 1},
		{"routingx 021000021", 0},
		{"routingsx 021000021", 0},
		{"021000021 routings", 1},
	} {
		if got := Scan([]byte(c.text), Options{}); len(got) != c.want {
			t.Errorf("%q: %+v, want %d finding", c.text, got, c.want)
		}
	}
}

// For a rule's own context words, only a negative word between the
// context word and the value counts: a context word that is itself a
// negative word ("reference") still boosts.
func TestContextWordThatIsNegative(t *testing.T) {
	r := mustRules(t, []PatternRule{{Name: "ref", Regex: `\b\d{7}\b`, Context: []string{"reference"}}}, nil)
	for text, want := range map[string]int{
		"Reference 4417302":        1,
		"Reference: 4417302":       1,
		"Reference, order 4417302": 0,
		"order 4417302":            0,
	} {
		if got := ruleHits(r, text); len(got) != want {
			t.Errorf("%q: %v, want %d", text, got, want)
		}
	}
}

// Each finding of a multi-part message names its part, a value at the
// very start of a part included.
func TestExtractedScanWhere(t *testing.T) {
	x := &Extracted{Parts: []Part{
		{Source: "header Subject", Text: []byte("536-22-1234")},
		{Source: "body text/plain", Text: []byte("Card: 4111 1111 1111 1111")},
		{Source: "attachment lab 7.pdf, page 2", Text: []byte("536-22-1235 and 536-22-1236")},
		{Source: "archive a.zip/b.txt", Text: []byte("x 4111 1111 1111 1111")},
	}}
	var got []string
	for _, f := range x.Scan(Options{}) {
		got = append(got, f.Detector+" in "+f.Where)
	}
	want := []string{
		"us_ssn in subject",
		"credit_card in message body",
		"us_ssn in attachment lab *.pdf, page 2",
		"us_ssn in attachment lab *.pdf, page 2",
		"credit_card in attachment a.zip, file b.txt",
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("got\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

// A value at the very end of a part is named with that part, not the next,
// however many parts come before it: each part's start counts the blank
// line that joins the parts before it (two bytes each).
func TestExtractedScanWhereAtPartEnds(t *testing.T) {
	x := &Extracted{}
	var want []string
	for i := range 8 {
		src := fmt.Sprintf("attachment p%c.txt", 'a'+i)
		x.Parts = append(x.Parts, Part{Source: src, Text: []byte(fmt.Sprintf("SSN 536-22-12%02d", 30+i))})
		want = append(want, "us_ssn in "+src)
	}
	var got []string
	for _, f := range x.Scan(Options{}) {
		got = append(got, f.Detector+" in "+f.Where)
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("got\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

// 011234564 is both a valid SSN and a valid routing number: with a word for
// each, the nearer word decides, and any word before the value ranks ahead
// of every word after it.
func TestNearestContextDecides(t *testing.T) {
	for _, c := range []struct{ text, want string }{
		{"ssn routing 011234564", "aba_routing"},
		{"routing ssn 011234564", "us_ssn"},
		{"011234564 ssn routing", "us_ssn"},
		{"011234564 routing ssn", "aba_routing"},
		{"routing" + strings.Repeat(" ", 43) + "011234564" + strings.Repeat(" ", 20) + "ssn", "aba_routing"},
		{"ssn" + strings.Repeat(" ", 47) + "011234564" + strings.Repeat(" ", 20) + "routing", "us_ssn"},
	} {
		got := Scan([]byte(c.text), Options{})
		if len(got) != 1 || got[0].Detector != c.want {
			t.Errorf("%q: %+v, want one %s", c.text, got, c.want)
		}
	}
}
