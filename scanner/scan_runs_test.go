package scanner

import (
	"fmt"
	"math"
	"slices"
	"testing"
)

// findingsOf renders findings as "detector@offset".
func findingsOf(fs []Finding) []string {
	var out []string
	for _, f := range fs {
		out = append(out, fmt.Sprintf("%s@%d", f.Detector, f.Offset))
	}
	return out
}

// The edges of how a run of digit groups is cut into candidates: what
// stands right before and after it, how many groups are looked at, a
// grouping that continues on either side, and the shortest card.
func TestScanRunEdges(t *testing.T) {
	seventeen := "1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17"
	for _, c := range []struct {
		text string
		want []string
	}{
		// A one-letter token glued on with a joiner, at the very start.
		{"x-536-22-1234", nil},
		{"x:536221234 SSN", []string{"us_ssn@2"}}, // a label glued with a colon
		// '+' starts an international phone number.
		{"card +4111 1111 1111 1111", nil},
		{"card 4111 1111 1111 1111", []string{"credit_card@5"}},
		// A separator as the last byte of the text.
		{"SSN 536-22-1234 ", []string{"us_ssn@4"}},
		{"SSN 536-22-1234-", []string{"us_ssn@4"}},
		// More groups than are kept: the run yields nothing, and the scan
		// goes on after it.
		{seventeen, nil},
		{seventeen + " and SSN 536-22-1234", []string{"us_ssn@" + fmt.Sprint(len(seventeen)+9)}},
		// The same grouping continuing before or after makes the card a
		// slice of a longer number; another separator ends it.
		{"use 9400 4111 1111 1111 1111 2202 please", nil},
		{"use 1234 4111 1111 1111 1111", nil},
		{"use 4111 1111 1111 1111 1234", nil},
		{"use 4111 1111 1111 1111, 1234", []string{"credit_card@4"}},
		{"use 4111-1111-1111-1111 1234", []string{"credit_card@4"}},
		// Twelve digits: the shortest Maestro number.
		{"Maestro card 675964982648", []string{"credit_card@13"}},
		{"Maestro card 6759 6498 2648", []string{"credit_card@13"}},
		// A bracket is no letter: not in a letter position of an MBI, and
		// not glue before a number.
		{"MBI 1EG4-[E5-MK73", nil},
		{"MBI 1EG4-TE5-MK73", []string{"us_mbi@4"}},
		{"SSN [536-22-1234]", []string{"us_ssn@5"}},
		{"SSN {536-22-1234}", []string{"us_ssn@5"}},
	} {
		if got := findingsOf(Scan([]byte(c.text), Options{})); !slices.Equal(got, c.want) {
			t.Errorf("Scan(%q) = %v, want %v", c.text, got, c.want)
		}
	}
}

// A grouping continuing after a card costs it score, even when a context
// word keeps it above the threshold.
func TestScanContinuedGroupingPenalty(t *testing.T) {
	alone := Scan([]byte("card 4111 1111 1111 1111"), Options{})
	continued := Scan([]byte("card 4111 1111 1111 1111 1234"), Options{})
	if len(alone) != 1 || len(continued) != 1 || continued[0].Score >= alone[0].Score {
		t.Errorf("alone %+v, continued %+v; want a lower score when the grouping continues", alone, continued)
	}
}

// Nine digits valid as both an SSN and a routing number, each with its
// context word: the nearer word decides, whichever detector is tried first.
func TestScanNearerWordWins(t *testing.T) {
	for text, want := range map[string]string{
		"routing SSN 119463415":   "us_ssn",
		"SSN routing: 119463415":  "aba_routing",
		"119463415 SSN routing":   "us_ssn",
		"119463415 routing SSN":   "aba_routing",
		"SSN 119463415 routing":   "us_ssn",
		"routing 119463415 (SSN)": "aba_routing",
	} {
		got := Scan([]byte(text), Options{})
		if len(got) != 1 || got[0].Detector != want {
			t.Errorf("Scan(%q) = %+v, want one %s", text, got, want)
		}
	}
}

// The threshold is inclusive: a finding whose score is the threshold is
// reported, and not at the next float above it.
func TestScanThresholdInclusive(t *testing.T) {
	for _, text := range []string{"see 536-22-1234", "NPI 1234567893", "SSN 536-22-1234"} {
		fs := Scan([]byte(text), Options{})
		if len(fs) != 1 {
			t.Fatalf("Scan(%q) = %+v", text, fs)
		}
		score := fs[0].Score
		if score >= 1 {
			continue // clamped: the raw score is above the threshold
		}
		if got := Scan([]byte(text), Options{Threshold: score}); len(got) != 1 {
			t.Errorf("Scan(%q) at threshold %v = %+v, want the finding", text, score, got)
		}
		if got := Scan([]byte(text), Options{Threshold: math.Nextafter(score, 2)}); len(got) != 0 {
			t.Errorf("Scan(%q) just above %v = %+v, want nothing", text, score, got)
		}
	}
}
