package scanner

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"
)

func mustRules(t testing.TB, p []PatternRule, k []KeywordRule) *Rules {
	t.Helper()
	r, err := CompileRules(p, k)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// ruleHits runs only the admin rules (no built-in detector is selected) and
// returns "name@offset" for each finding.
func ruleHits(r *Rules, text string) []string {
	var out []string
	for _, f := range Scan([]byte(text), Options{Detectors: []string{"none"}, Rules: r}) {
		out = append(out, fmt.Sprintf("%s@%d", f.Detector, f.Offset))
	}
	return out
}

func at(name, text, sub string, nth int) string {
	off := -1
	for range nth + 1 {
		k := strings.Index(text[off+1:], sub)
		if k < 0 {
			panic("test text lacks " + sub)
		}
		off += 1 + k
	}
	return fmt.Sprintf("%s@%d", name, off)
}

func TestPatternRules(t *testing.T) {
	mrnCtx := mustRules(t, []PatternRule{{Name: "mrn", Regex: `\b\d{7}\b`, Context: []string{"MRN", "medical record"}}}, nil)
	mrnLit := mustRules(t, []PatternRule{{Name: "mrn", Regex: `(?i)\bmrn[:#]?\s*\d{7}\b`}}, nil)
	for _, c := range []struct {
		name string
		r    *Rules
		text string
		want []string
	}{
		{"context before", mrnCtx, "Patient MRN: 4417302 seen today.", []string{at("mrn", "Patient MRN: 4417302 seen today.", "4417302", 0)}},
		{"context phrase", mrnCtx, "Medical record 4417302", []string{"mrn@15"}},
		{"context after", mrnCtx, "Chart 4417302 (MRN) attached", []string{"mrn@6"}},
		{"no context", mrnCtx, "Our office code is 4417302.", nil},
		{"negative word between", mrnCtx, "MRN on file; order 4417302 shipped", nil},
		{"context too far", mrnCtx, "MRN" + strings.Repeat(" pad", 20) + " 4417302", nil},
		{"context word inside another word", mrnCtx, "smrnx 4417302", nil},
		{"literal, case-insensitive", mrnLit, "see mrn#4417302 and MRN 5520193", []string{"mrn@4", "mrn@20"}},
		{"literal absent", mrnLit, "4417302 5520193", nil},
		{"literal, too few digits", mrnLit, "MRN 441730", nil},
		{"literal, glued", mrnLit, "XMRN 4417302", nil},
	} {
		t.Run(c.name, func(t *testing.T) {
			if got := ruleHits(c.r, c.text); !slices.Equal(got, c.want) {
				t.Errorf("%q: got %v, want %v", c.text, got, c.want)
			}
		})
	}
}

func TestMinCount(t *testing.T) {
	text := "ID EMP-10442, then EMP-20931; also EMP-33018 and hiv, HIV."
	for _, c := range []struct {
		min, kwMin int
		want       int
	}{{0, 0, 5}, {1, 1, 5}, {3, 2, 5}, {4, 2, 2}, {3, 3, 3}, {4, 3, 0}} {
		r := mustRules(t, []PatternRule{{Name: "emp", Regex: `EMP-\d{5}`, MinCount: c.min}},
			[]KeywordRule{{Name: "phi", Words: []string{"HIV"}, MinCount: c.kwMin}})
		if got := ruleHits(r, text); len(got) != c.want {
			t.Errorf("min_count %d/%d: %v, want %d findings", c.min, c.kwMin, got, c.want)
		}
	}
}

func TestKeywordRules(t *testing.T) {
	r := mustRules(t, nil, []KeywordRule{
		{Name: "phi", Words: []string{"HIV", "chemotherapy", "heart attack", "heart", "Müller", "ss#"}},
		{Name: "projects", Words: []string{"bluebird", "heart"}},
	})
	for _, c := range []struct {
		text string
		want []string
	}{
		{"HIV positive", []string{"phi@0"}},
		{"hiv-positive, Hiv.", []string{"phi@0", "phi@14"}},
		{"archive, hivx, 2hiv, hiv2, hiv_", []string{"phi@27"}}, // '_' is not a letter or digit
		{"CHEMOTHERAPY and Chemotherapy", []string{"phi@0", "phi@17"}},
		{"chemo therapy", nil},
		{"a heart attack", []string{"phi@2", "projects@2"}}, // the longer phi word counts once
		{"heart, attack", []string{"phi@0", "projects@0"}},
		{"Frau Müller, MÜLLER, müller", []string{"phi@5", "phi@14", "phi@23"}},
		{"Müllerstraße, Obermüller", nil},
		{"éhiv, hivé, —HIV—", []string{"phi@17"}}, // é is a letter, the em dash is not
		{"ss#123 and xss#", []string{"phi@0"}},    // '#' ends the word: no boundary needed after it
		{"Bluebird launch", []string{"projects@0"}},
	} {
		if got := ruleHits(r, c.text); !slices.Equal(got, c.want) {
			t.Errorf("%q: got %v, want %v", c.text, got, c.want)
		}
	}
}

func TestRuleMasks(t *testing.T) {
	r := mustRules(t, []PatternRule{{Name: "mrn", Regex: `MRN-\d{4}-\d{4}`}, {Name: "short", Regex: `Z\d{3}`}},
		[]KeywordRule{{Name: "phi", Words: []string{"leukemia"}}})
	got := Scan([]byte("MRN-4417-3029 Z123 leukemia"), Options{Rules: r})
	want := map[string]string{"mrn": "***-****-3029", "short": "****", "phi": keywordMask}
	if len(got) != 3 {
		t.Fatalf("got %+v", got)
	}
	for _, f := range got {
		if f.Masked != want[f.Detector] {
			t.Errorf("%s masked %q, want %q", f.Detector, f.Masked, want[f.Detector])
		}
		if f.Score != 1 {
			t.Errorf("%s score %v, want 1", f.Detector, f.Score)
		}
	}
	if m := maskMatch([]byte(strings.Repeat("a1", 40))); len([]rune(m)) != 33 || !strings.HasSuffix(m, "a1a1") || strings.Count(m, "*") != 28 {
		t.Errorf("long match masked %q", m)
	}
}

// Rules run beside the built-ins; Detectors selects only built-ins.
func TestRulesWithBuiltins(t *testing.T) {
	r := mustRules(t, nil, []KeywordRule{{Name: "phi", Words: []string{"ssn"}}})
	var names []string
	for _, f := range Scan([]byte("SSN 536-22-1234"), Options{Rules: r}) {
		names = append(names, f.Detector)
	}
	if !slices.Equal(names, []string{"phi", "us_ssn"}) {
		t.Errorf("got %v", names)
	}
	if got := Scan([]byte("SSN 536-22-1234"), Options{Detectors: []string{"credit_card"}, Rules: r}); len(got) != 1 || got[0].Detector != "phi" {
		t.Errorf("got %+v", got)
	}
	if got := r.Names(); !slices.Equal(got, []string{"phi"}) {
		t.Errorf("Names() = %v", got)
	}
}

func TestCompileRulesErrors(t *testing.T) {
	long := strings.Repeat("a", maxRegexLen+1)
	for _, c := range []struct {
		p    []PatternRule
		k    []KeywordRule
		want string
	}{
		{[]PatternRule{{Name: "mrn", Regex: `[0-9`}}, nil, `pattern "mrn": regex: error parsing regexp: missing closing ]`},
		{[]PatternRule{{Name: "mrn", Regex: `\d*`}}, nil, `pattern "mrn": regex: can match the empty string`},
		{[]PatternRule{{Name: "mrn", Regex: `\b`}}, nil, `pattern "mrn": regex: can match the empty string`},
		{[]PatternRule{{Name: "mrn", Regex: `MRN|`}}, nil, `pattern "mrn": regex: can match the empty string`},
		{[]PatternRule{{Name: "mrn", Regex: `(?:x{0,3}){2}`}}, nil, `pattern "mrn": regex: can match the empty string`},
		{[]PatternRule{{Name: "mrn", Regex: ""}}, nil, `pattern "mrn": regex: empty`},
		{[]PatternRule{{Name: "mrn", Regex: long}}, nil, `pattern "mrn": regex: longer than 1000 bytes`},
		{[]PatternRule{{Name: "mrn", Regex: `(\d{100}[a-z]{100}){10}`}}, nil, `pattern "mrn": regex: too complex`},
		{[]PatternRule{{Name: "mrn", Regex: `x`, MinCount: -1}}, nil, `pattern "mrn": min_count: must not be negative`},
		{[]PatternRule{{Name: "mrn", Regex: `x`, Context: []string{"#mrn"}}}, nil, `pattern "mrn": context: "#mrn": a context word must start with a letter`},
		{[]PatternRule{{Name: "us_ssn", Regex: `x`}}, nil, `pattern "us_ssn": name: already used by a built-in detector`},
		{[]PatternRule{{Name: "a b", Regex: `x`}}, nil, `pattern "a b": name: use only letters`},
		{[]PatternRule{{Name: "", Regex: `x`}}, nil, `pattern "": name: must not be empty`},
		{[]PatternRule{{Name: "x", Regex: `x`}}, []KeywordRule{{Name: "x", Words: []string{"y"}}}, `keywords "x": name: already used by pattern rule`},
		{nil, []KeywordRule{{Name: "phi"}}, `keywords "phi": words: the list is empty`},
		{nil, []KeywordRule{{Name: "phi", Words: []string{"ok", "  "}}}, `keywords "phi": words: "  ": empty word`},
		{nil, []KeywordRule{{Name: "phi", Words: []string{"\xff"}}}, `keywords "phi": words: "\xff": not valid UTF-8`},
		{nil, []KeywordRule{{Name: "phi", Words: []string{"x"}, MinCount: -2}}, `keywords "phi": min_count: must not be negative`},
	} {
		_, err := CompileRules(c.p, c.k)
		if err == nil || !strings.HasPrefix(err.Error(), c.want) {
			t.Errorf("CompileRules(%+v, %+v) = %v, want an error starting %q", c.p, c.k, err, c.want)
		}
	}
}

func TestLoadWordList(t *testing.T) {
	words, err := LoadWordList(strings.NewReader("\uFEFF# PHI terms\nHIV\r\n\n  heart attack  \n#comment\nss#\n"))
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{"HIV", "heart attack", "ss#"}; !slices.Equal(words, want) {
		t.Errorf("got %q, want %q", words, want)
	}
	if _, err := LoadWordList(strings.NewReader("ok\n" + strings.Repeat("x", 200) + "\n")); err == nil || !strings.HasPrefix(err.Error(), "line 2: ") {
		t.Errorf("long word: %v", err)
	}
	if _, err := LoadWordList(strings.NewReader("ok\n\xfe\xff\n")); err == nil || !strings.Contains(err.Error(), "line 2") {
		t.Errorf("bad UTF-8: %v", err)
	}
	if _, err := LoadWordList(strings.NewReader(strings.Repeat("x", 70<<10))); err == nil {
		t.Error("a 70 KiB line was accepted")
	}
}

// The windowed search must find exactly what the regex finds over the
// whole text, for regexes whose matches cannot overlap.
func TestPatternWindowsMatchFullSearch(t *testing.T) {
	regexes := []string{`MRN\d{3,7}`, `(?i)pt-\d{4}\b`, `\bAB\d{2}\b`, `(?i)ab[0-9é]{2}`, `é\d\d`, `\d{2}-\d{2}`, `^AB\d$`, `(?m)^AB\d$`}
	const alphabet = "ABMRNptP- \n0123456789é_"
	r := rand.New(rand.NewPCG(7, 8))
	runes := []rune(alphabet)
	for _, src := range regexes {
		rules := mustRules(t, []PatternRule{{Name: "p", Regex: src}}, nil)
		p := rules.pats[0]
		if len(p.lit) == 0 || p.maxW < 0 {
			t.Fatalf("%s: want a literal and a bounded width, got %q, %d", src, p.lit, p.maxW)
		}
		re := regexp.MustCompile(src)
		for range 300 {
			var b strings.Builder
			for range r.IntN(300) {
				b.WriteRune(runes[r.IntN(len(runes))])
			}
			text := []byte(b.String())
			var want []hit
			for _, m := range re.FindAllIndex(text, -1) {
				want = append(want, hit{m[0], m[1]})
			}
			s := scan{t: text, thr: defaultThreshold}
			if got := s.scanPattern(p); !slices.Equal(got, want) {
				t.Fatalf("%s on %q:\n got %v\nwant %v", src, text, got, want)
			}
		}
	}
}

func TestRequiredLiteral(t *testing.T) {
	for _, c := range []struct {
		re   string
		lit  string
		fold bool
		maxW int
	}{
		{`\bMRN[:#]? ?\d{7}\b`, "MRN", false, 12},
		{`(?i)mrn-\d+`, "mrn-", true, -1},
		{`(?i)ssn \d{9}`, "n ", true, 15}, // k and s have non-ASCII case variants (ſ is two bytes)
		{`(ab|cd)\d`, "", false, 3},
		{`(?:EMP){2,}x`, "EMP", false, -1},
		{`\d{4}`, "", false, 4},
		{`x.{990}`, "x", false, 3961}, // any character can be four bytes
	} {
		r, err := CompileRules([]PatternRule{{Name: "p", Regex: c.re}}, nil)
		if err != nil {
			t.Fatalf("%s: %v", c.re, err)
		}
		p := r.pats[0]
		if string(p.lit) != c.lit || p.fold != c.fold || p.maxW != c.maxW {
			t.Errorf("%s: literal %q fold %v width %d, want %q %v %d", c.re, p.lit, p.fold, p.maxW, c.lit, c.fold, c.maxW)
		}
	}
}

// An admin regex cannot make a scan unbounded: the regex engine is linear
// (work ≤ bytes searched × program size, and the program size is capped at
// compile time), and the windowed search hands each byte of the text to the
// engine at most once. This test asserts the second half on 10 MiB, counting
// the bytes handed over rather than timing anything.
func TestPatternWorkBounded(t *testing.T) {
	text := mailText(10 << 20)
	for _, c := range []struct {
		re      string
		maxFrac float64 // bytes searched / text length
	}{
		{`(?i)\bmrn[:#]?\s*\d{7}\b`, 0},                 // the literal never occurs: one memchr pass only
		{`x(a|aa)*b`, 1},                                // no width bound: the whole text once
		{`(?:[a-z]+ ){1,8}\d{3}-\d{4}`, 1},              // dense literal hits, windows merge
		{`[a-q][^u-z]{13}x`, 1},                         // classic DFA blow-up pattern: no literal
		{`(?i)patient.{0,200}\d{3}-\d{2}-\d{4}`, 1},     // wide windows around a frequent word
		{`e(?:[a-z0-9 ]{0,40}[0-9]){3}[^a-z]{0,9}z`, 1}, // nested bounded repeats
	} {
		r := mustRules(t, []PatternRule{{Name: "p", Regex: c.re}}, nil)
		s := scan{t: text, thr: defaultThreshold}
		start := time.Now()
		s.scanPattern(r.pats[0])
		el := time.Since(start)
		if lim := int(c.maxFrac * float64(len(text))); s.reBytes > lim {
			t.Errorf("%s: handed %d bytes to the regex engine, want ≤ %d (text %d)", c.re, s.reBytes, lim, len(text))
		}
		// Logged for the record only; not asserted (machines vary).
		t.Logf("%-45s searched %5.1f%% of the text in %v", c.re, 100*float64(s.reBytes)/float64(len(text)), el.Round(time.Millisecond))
	}
}

func BenchmarkScanRules(b *testing.B) {
	text := mailText(10 << 20)
	r := benchRules(b)
	b.SetBytes(int64(len(text)))
	b.ReportAllocs()
	for b.Loop() {
		Scan(text, Options{Detectors: []string{"none"}, Rules: r})
	}
}

// benchRules: 1,000 generated keywords and two patterns, one with a literal.
func benchRules(tb testing.TB) *Rules {
	rnd := rand.New(rand.NewPCG(3, 4))
	words := make([]string, 1000)
	for i := range words {
		var w bytes.Buffer
		for range 5 + rnd.IntN(8) {
			w.WriteByte(byte('a' + rnd.IntN(26)))
		}
		words[i] = w.String()
	}
	words = append(words, "treatment", "insurance")
	return mustRules(tb, []PatternRule{
		{Name: "mrn", Regex: `(?i)\bmrn[:#]?\s*\d{7}\b`},
		{Name: "emp", Regex: `\b[A-Z]{2}\d{6}\b`, Context: []string{"employee"}},
	}, []KeywordRule{{Name: "phi", Words: words}})
}
