package scanner

import (
	"regexp"
	"slices"
	"testing"
)

func FuzzScan(f *testing.F) {
	for _, s := range []string{
		"SSN 536-22-1234",
		"card 4111 1111 1111 1111 exp 12/27",
		"IBAN: DE89 3704 0044 0532 0130 00",
		"DEA AB1234563, F91234563",
		"Diagnosis: E11.9; dx S72.001A",
		"routing 021000021 NPI 1234567893",
		"(555) 123-4567 2026-11-23 1Z999AA10123456784",
		"9400 1118 9922 3197 4284 90 4111 1111 1111 1111 1111 1111 1111 1111 1111 1111 1111 1111 1111 1111 1111 1111 1111 1111",
		"+1-2-3-4-5-6-7-8-9-0-1-2-3-4-5-6-7-8-9-0",
		"DE89 3704 0044 0532 0130 0",
		"A1", "AB1", "9", "",
	} {
		f.Add([]byte(s), 0.0)
	}
	names := Detectors()
	f.Fuzz(func(t *testing.T, text []byte, thr float64) {
		got := Scan(text, Options{Threshold: thr})
		if !slices.IsSortedFunc(got, func(a, b Finding) int { return a.Offset - b.Offset }) {
			t.Fatalf("findings not sorted: %+v", got)
		}
		for _, f := range got {
			if f.Offset < 0 || f.Offset >= len(text) {
				t.Fatalf("offset %d out of [0,%d)", f.Offset, len(text))
			}
			if f.Score < 0 || f.Score > 1 {
				t.Fatalf("score %v", f.Score)
			}
			if !slices.Contains(names, f.Detector) {
				t.Fatalf("detector %q", f.Detector)
			}
			digits := 0
			for i := 0; i < len(f.Masked); i++ {
				if isDigit(f.Masked[i]) {
					digits++
				}
			}
			if digits > 4 {
				t.Fatalf("masked %q keeps %d digits", f.Masked, digits)
			}
			if !isAlnum(text[f.Offset]) {
				t.Fatalf("offset %d does not point at a value: %q", f.Offset, text[f.Offset])
			}
		}
	})
}

// FuzzRules compiles the fuzzed regex as an admin pattern (most inputs are
// rejected, which must be an error and never a panic) and scans the fuzzed
// text with it and a keyword rule: findings stay inside the text, keep at
// most four digits, every pattern match contains the pattern's prefilter
// literal, so the prefilter cannot have invented one, and a bounded pattern
// without context words matches exactly where Go's regexp does.
func FuzzRules(f *testing.F) {
	for _, s := range [][2]string{
		{`(?i)\bmrn[:#]?\s*\d{7}\b`, "MRN: 4417302 and mrn#5520193"},
		{`EMP-\d{5}`, "EMP-10442 EMP-2093"},
		{`é\d\d`, "é12 É34 e56"},
		{`x(a|aa)*b`, "xaaab xb"},
		{`\b\d{7}\b`, "medical record 4417302"},
		{`[`, "x"},
	} {
		f.Add(s[0], []byte(s[1]))
	}
	f.Fuzz(func(t *testing.T, re string, text []byte) {
		r, err := CompileRules([]PatternRule{{Name: "p", Regex: re, Context: []string{"mrn", "medical record"}}, {Name: "q", Regex: re}},
			[]KeywordRule{{Name: "k", Words: []string{"hiv", "heart attack", "müller", re}}})
		if err != nil {
			if r, err = CompileRules(nil, []KeywordRule{{Name: "k", Words: []string{"hiv", "heart attack", "müller"}}}); err != nil {
				t.Fatal(err)
			}
		}
		got := Scan(text, Options{Rules: r})
		if !slices.IsSortedFunc(got, func(a, b Finding) int { return a.Offset - b.Offset }) {
			t.Fatalf("findings not sorted: %+v", got)
		}
		for _, fd := range got {
			if fd.Offset < 0 || fd.Offset > len(text) {
				t.Fatalf("offset %d out of [0,%d]", fd.Offset, len(text))
			}
			digits := 0
			for i := 0; i < len(fd.Masked); i++ {
				if isDigit(fd.Masked[i]) {
					digits++
				}
			}
			if digits > 4 {
				t.Fatalf("masked %q keeps %d digits", fd.Masked, digits)
			}
		}
		for _, p := range r.pats {
			s := scan{t: text, thr: defaultThreshold}
			hs, complete := s.scanPattern(p)
			for _, h := range hs {
				if !p.prefilterOK(text[h.start:h.end]) {
					t.Fatalf("%s: match %q lacks what the prefilter requires", re, text[h.start:h.end])
				}
			}
			// Searched to the end, a rule without context words whose
			// matches have a bounded length finds exactly what Go's regexp
			// finds on the whole text: the prefilter and the windows only
			// skip text where no match can be.
			if p.ctx != nil || !complete || p.maxW == maxUnbounded {
				continue
			}
			var want []hit
			for _, m := range regexp.MustCompile(re).FindAllIndex(text, -1) {
				want = append(want, hit{m[0], m[1]})
			}
			if !slices.Equal(hs, want) {
				t.Fatalf("%s on %q: rule matches %v, regexp's %v", re, text, hs, want)
			}
		}
	})
}
