package main

import (
	"bytes"
	"fmt"
	mathrand "math/rand/v2"
	"regexp"
	"runtime"
	"strings"
	"time"

	"github.com/postseal/postseal/scanner"
)

// ---- scan-rules --------------------------------------------------------------

// scanRulesRow measures admin rules alone: 1,000 keywords (a PHI-term list
// of that size; three of them occur in the text) and two patterns, one with
// a literal prefilter and one with a digit-run prefilter. The baseline is
// what an admin would otherwise get from Go regexp: one case-insensitive
// whole-word alternation of the 1,000 words, plus the two patterns. That
// alternation runs at about 0.1 MB/s, so B is timed on the first 256 KiB
// of the same text (both engines are linear in the input, so MB/s
// compares); both must count the same matches there.
func scanRulesRow(c config) Row {
	const goal = "admin rules must not make the scan slow"
	text, _ := scanText(10<<20, 4)
	r := mathrand.New(mathrand.NewPCG(5, 6))
	words := []string{"referral", "pharmacy", "treatment"}
	for len(words) < 1000 {
		var b strings.Builder
		for range 5 + r.IntN(8) {
			b.WriteByte(byte('a' + r.IntN(26)))
		}
		words = append(words, b.String())
	}
	patterns := []scanner.PatternRule{
		{Name: "mrn", Regex: `(?i)\bmrn[:#]?\s*\d{7}\b`},
		{Name: "employee_id", Regex: `\b[A-Z]{2}\d{6}\b`},
	}
	rules, err := scanner.CompileRules(patterns, []scanner.KeywordRule{{Name: "phi_terms", Words: words}})
	if err != nil {
		return notRun("scan-rules", goal, err.Error())
	}
	res := []*regexp.Regexp{regexp.MustCompile(`(?i)\b(?:` + strings.Join(words, "|") + `)\b`)}
	for _, p := range patterns {
		res = append(res, regexp.MustCompile(p.Regex))
	}
	// "none" selects no built-in detector: the rules alone are measured.
	opt := scanner.Options{Detectors: []string{"none"}, Rules: rules}
	prefix := text[:bytes.LastIndexByte(text[:256<<10], '\n')+1]
	countB := func() int {
		n := 0
		for _, re := range res {
			n += len(re.FindAllIndex(prefix, -1))
		}
		return n
	}
	na, nb := len(scanner.Scan(prefix, opt)), countB()
	mb, mbB := float64(len(text))/1e6, float64(len(prefix))/1e6
	var as, bs, ratios []float64
	for i := 0; i < c.pairs; i++ {
		runtime.GC()
		t0 := time.Now()
		scanner.Scan(text, opt)
		a := time.Since(t0)
		runtime.GC()
		t0 = time.Now()
		countB()
		b := time.Since(t0)
		ra, rb := mb/a.Seconds(), mbB/b.Seconds()
		fmt.Printf("  %-14s pair %d: rules %7.0f MB/s (%v)  regexp %6.2f MB/s (%v)  ratio %.0f\n", "scan-rules", i+1, ra, a.Round(time.Microsecond), rb, b.Round(time.Millisecond), ra/rb)
		as, bs, ratios = append(as, ra), append(bs, rb), append(ratios, ra/rb)
	}
	note := fmt.Sprintf("A: scanner.Scan with admin rules only (1,000 keywords by Aho-Corasick, 2 patterns with prefilters) on 10 MiB (%.1f MB) of mail-like text; B: Go regexp, a (?i)\\b(?:w1|…|w1000)\\b alternation plus the 2 patterns, on the first %.2f MB; one core, median of %d pairs; both find %d matches in that prefix",
		mb, mbB, c.pairs, na)
	if na != nb {
		note = fmt.Sprintf("WARNING: A finds %d, B finds %d in the prefix; ", na, nb) + note
	}
	return Row{Name: "scan-rules", Unit: "MB/s", Value: f(median(as)), Baseline: f(median(bs)), Ratio: f(median(ratios)), Goal: goal, Note: note}
}
