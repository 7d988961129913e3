package scanner

import (
	"fmt"
	"math/rand/v2"
	"regexp/syntax"
	"slices"
	"strings"
	"testing"
)

// The rules file's limits, each at its exact edge: the largest value
// allowed compiles, one more is refused with an error naming the field.
func TestCompileRulesLimits(t *testing.T) {
	insts := func(re string) int {
		tree, err := syntax.Parse(re, syntax.Perl)
		if err != nil {
			t.Fatal(err)
		}
		prog, err := syntax.Compile(tree.Simplify())
		if err != nil {
			t.Fatal(err)
		}
		return len(prog.Inst)
	}
	// A class of one letter written 998 times: 1,000 bytes of source,
	// a program of four instructions.
	longest := "[" + strings.Repeat("a", maxRegexLen-2) + "]"
	// a{998} compiles to exactly maxProgInsts instructions.
	if n := insts(`a{998}`); n != maxProgInsts {
		t.Fatalf("a{998}: %d instructions, the test wants %d", n, maxProgInsts)
	}
	words := func(n, size int) []string {
		var ws []string
		for i := range n {
			ws = append(ws, fmt.Sprintf("w%0*d", size-1, i))
		}
		return ws
	}
	name64 := strings.Repeat("n", maxRuleName)
	for _, c := range []struct {
		p       PatternRule
		k       []KeywordRule
		wantErr string // empty: compiles
	}{
		{p: PatternRule{Name: "p", Regex: longest}},
		{p: PatternRule{Name: "p", Regex: longest + "b"}, wantErr: `pattern "p": regex: longer than 1000 bytes`},
		{p: PatternRule{Name: "p", Regex: `a{998}`}},
		{p: PatternRule{Name: "p", Regex: `a{999}`}, wantErr: `pattern "p": regex: too complex (1001 instructions, at most 1000)`},
		{p: PatternRule{Name: "p", Regex: `x`, Context: words(maxContextWords, 4)}},
		{p: PatternRule{Name: "p", Regex: `x`, Context: words(maxContextWords+1, 4)}, wantErr: `pattern "p": context: more than 64 words`},
		{p: PatternRule{Name: "p", Regex: `x`, Context: words(1, ctxBefore/2)}},
		{p: PatternRule{Name: "p", Regex: `x`, Context: words(1, ctxBefore/2+1)}, wantErr: `pattern "p": context: "w` + strings.Repeat("0", 32) + `": a context word must be UTF-8, start with a letter a-z and be at most 32 bytes`},
		{p: PatternRule{Name: "p", Regex: `x`, Context: []string{"zeta", " Alpha "}}},
		{p: PatternRule{Name: "p", Regex: `x`, Context: []string{"{x"}}, wantErr: `pattern "p": context: "{x"`},
		{p: PatternRule{Name: "p", Regex: `x`, Context: []string{"`x"}}, wantErr: `pattern "p": context: "` + "`x" + `"`},
		{p: PatternRule{Name: "p", Regex: `x`, Context: []string{"  "}}, wantErr: `pattern "p": context: "  "`},
		{p: PatternRule{Name: "p", Regex: `x`, MinCount: 0}},
		{p: PatternRule{Name: name64, Regex: `x`}},
		{p: PatternRule{Name: name64 + "n", Regex: `x`}, wantErr: `pattern "` + name64 + `n": name: longer than 64 bytes`},
		{p: PatternRule{Name: "Rule_1-a.b", Regex: `x`}},
		{p: PatternRule{Name: "rule/1", Regex: `x`}, wantErr: `pattern "rule/1": name: use only letters`},
		{p: PatternRule{Name: "p", Regex: `x`}, k: []KeywordRule{{Name: "k", Words: []string{strings.Repeat("w", maxWordLen)}}}},
		{p: PatternRule{Name: "p", Regex: `x`}, k: []KeywordRule{{Name: "k", Words: []string{strings.Repeat("w", maxWordLen+1)}}}, wantErr: `keywords "k": words: "` + strings.Repeat("w", maxWordLen+1) + `": longer than 128 bytes`},
		{p: PatternRule{Name: "p", Regex: `x`}, k: []KeywordRule{{Name: "p", Words: []string{"w"}}}, wantErr: `keywords "p": name: already used by pattern rule`},
		{p: PatternRule{Name: "p", Regex: `x`}, k: []KeywordRule{{Name: "k", Words: []string{"w"}}, {Name: "k", Words: []string{"v"}}}, wantErr: `keywords "k": name: already used by keywords rule`},
	} {
		_, err := CompileRules([]PatternRule{c.p}, c.k)
		switch {
		case c.wantErr == "" && err != nil:
			t.Errorf("%.40q: %v", c.p.Regex, err)
		case c.wantErr != "" && (err == nil || !strings.HasPrefix(err.Error(), c.wantErr)):
			t.Errorf("%.40q %v: error %v, want one starting %q", c.p.Regex, c.p.Context, err, c.wantErr)
		}
	}
}

// A context word is matched whatever its case and surrounding spaces in
// the rules file.
func TestPatternContextWordsNormalised(t *testing.T) {
	r := mustRules(t, []PatternRule{{Name: "emp", Regex: `\b\d{6}\b`, Context: []string{"  Employee "}}}, nil)
	if got := ruleHits(r, "EMPLOYEE 104422"); !slices.Equal(got, []string{"emp@9"}) {
		t.Errorf("got %v", got)
	}
	if got := ruleHits(r, "id 104422"); got != nil {
		t.Errorf("without the word: %v", got)
	}
}

// The regex work of a scan stops exactly at the limit: a text whose one
// window costs the whole budget is searched to the end; one unit less and
// the rule reports the work-limit finding instead.
func TestPatternWorkLimitEdge(t *testing.T) {
	r := mustRules(t, []PatternRule{{Name: "p", Regex: `(?:ab|cd)(?:ef|gh)`}}, nil) // no prefilter: one chunk
	p := r.pats[0]
	text := []byte("xx abgh yy cdef zz")
	cost := len(text) * p.insts
	s := scan{t: text, thr: defaultThreshold, maxWorkTest: cost}
	hs, done := s.scanPattern(p)
	if !done || !slices.Equal(hs, []hit{{3, 7}, {11, 15}}) || s.work != cost {
		t.Errorf("budget %d: hits %v, done %v, work %d", cost, hs, done, s.work)
	}
	s = scan{t: text, thr: defaultThreshold, maxWorkTest: cost - 1}
	if hs, done := s.scanPattern(p); done || hs != nil || s.work != 0 {
		t.Errorf("budget %d: hits %v, done %v, work %d; want nothing searched", cost-1, hs, done, s.work)
	}
}

// Past the work limit the rule fires whatever its min_count, at the last
// match it did find (or at 0 when none).
func TestWorkLimitFindingOffset(t *testing.T) {
	r := mustRules(t, []PatternRule{{Name: "emp", Regex: `EMP-\d{3}`, MinCount: 5}}, nil)
	p := r.pats[0]
	// Three hits far apart, so each is its own window: the literal and a
	// margin of 2·7 − 4 = 10 bytes on each side, 24 bytes, the last one
	// cut to 17 by the end of the text.
	pad := strings.Repeat(" ", 100)
	text := []byte(pad[:50] + "EMP-101" + pad + "EMP-202" + pad + "EMP-303")
	if window := len(p.lit) + 2*(2*p.maxW-len(p.lit)); window != 24 {
		t.Fatalf("window %d bytes, the test wants 24", window)
	}
	for _, c := range []struct {
		budget int
		want   []Finding
	}{
		{24*p.insts - 1, []Finding{{Detector: "emp", Masked: WorkLimitMask, Offset: 0, Score: 1}}},
		{24 * p.insts, []Finding{{Detector: "emp", Masked: WorkLimitMask, Offset: 50, Score: 1}}},
		{(2*24+17)*p.insts - 1, []Finding{{Detector: "emp", Masked: WorkLimitMask, Offset: 157, Score: 1}}},
		{(2*24 + 17) * p.insts, nil}, // searched to the end: three matches, fewer than min_count
	} {
		s := scan{t: text, thr: defaultThreshold, maxWorkTest: c.budget}
		s.runRules(r)
		if !slices.Equal(s.out, c.want) {
			t.Errorf("budget %d: %+v, want %+v", c.budget, s.out, c.want)
		}
	}
}

// The regex sees only windows reaching 2W bytes around each prefilter
// hit (W the longest match), less the hit's own length.
func TestPatternWindowSize(t *testing.T) {
	pad := strings.Repeat("x", 1000)
	for _, c := range []struct {
		re   string
		text string
		want int // bytes handed to the engine
	}{
		// Literal "MRN", W = 7: margin 2·7 − 3 = 11 on each side.
		{`MRN\d{4}`, pad + "MRN1234" + pad, 11 + 3 + 11},
		// A run of four digits, W = 7: margin 14 − 4 = 10.
		{`[A-Z]{3}\d{4}`, pad + "ABC1234" + pad, 10 + 4 + 10},
		// Two hits whose windows overlap are searched as one.
		{`MRN\d{4}`, pad + "MRN1234 MRN5678" + pad, 11 + 8 + 3 + 11},
		// At the text's edges the window is cut.
		{`MRN\d{4}`, "MRN1234", 7},
		{`MRN\d{4}`, "MRN1234 MRN5678" + pad, 8 + 3 + 11},
		// A lone digit is no run of four; a run of one digit is.
		{`[A-Z]{3}\d{4}`, pad + "7" + pad + "ABC1234" + pad, 10 + 4 + 10},
		{`(?:ab|cd)\d`, "ab1" + pad, 3 + 5},
	} {
		r := mustRules(t, []PatternRule{{Name: "p", Regex: c.re}}, nil)
		s := scan{t: []byte(c.text), thr: defaultThreshold}
		hs, done := s.scanPattern(r.pats[0])
		if !done || len(hs) == 0 {
			t.Errorf("%s: hits %v, done %v", c.re, hs, done)
		}
		if s.reBytes != c.want {
			t.Errorf("%s on %d bytes: %d bytes searched, want %d", c.re, len(c.text), s.reBytes, c.want)
		}
	}
}

// Classes that are not digits use the run prefilter too, and a class
// ending at U+0080 is not ASCII: its bytes are not searched as single bytes.
func TestPatternClassRuns(t *testing.T) {
	for _, c := range []struct {
		re, text string
		want     []string
	}{
		{`[A-Z]{5}`, "abc ZYXWV def AB CDEFG", []string{"p@4", "p@17"}},
		{`\b[XZ]{3}\b`, "ZZZ XZX YYY", []string{"p@0", "p@4"}},
		{`[a\x{80}]{3}`, "x\u0080\u0080\u0080 y", []string{"p@1"}},
		{`[0-9A-F]{6}`, "color FF00A9; 12AB", []string{"p@6"}},
	} {
		r := mustRules(t, []PatternRule{{Name: "p", Regex: c.re}}, nil)
		if got := ruleHits(r, c.text); !slices.Equal(got, c.want) {
			t.Errorf("%s on %q: %v, want %v", c.re, c.text, got, c.want)
		}
	}
}

// The folded literal finder against a naive search, from every start.
func TestLitFinderMatchesNaive(t *testing.T) {
	rnd := rand.New(rand.NewPCG(21, 22))
	alpha := []byte("aAbB-1 \xc3")
	lits := []string{"ab", "a-b", "-a", "b-", "ba1", "1", "a", "-", "aab"}
	for round := range 300 {
		lit := []byte(lits[round%len(lits)])
		fold := round%2 == 0
		text := make([]byte, rnd.IntN(40))
		for i := range text {
			text[i] = alpha[rnd.IntN(len(alpha))]
		}
		f := newLitFinder(lit, fold)
		for from := 0; from <= len(text); from++ {
			want := -1
			for s := from; s+len(lit) <= len(text); s++ {
				w := text[s : s+len(lit)]
				if fold {
					w = asciiOnlyLower(w)
				}
				if string(w) == string(lit) {
					want = s
					break
				}
			}
			if got := f.find(text, from); got != want {
				t.Fatalf("find(%q, fold %v) in %q from %d = %d, want %d", lit, fold, text, from, got, want)
			}
		}
	}
}

// Windows never begin or end inside a UTF-8 sequence, and the walk is
// bounded on bytes that are not UTF-8.
func TestRuneBoundaries(t *testing.T) {
	text := []byte("a€b\U0001D11Ec") // € three bytes at 1, the clef four at 5
	for _, c := range []struct{ i, start, end int }{
		{0, 0, 0}, {1, 1, 1}, {2, 1, 4}, {3, 1, 4}, {4, 4, 4},
		{5, 5, 5}, {6, 5, 9}, {7, 5, 9}, {8, 5, 9}, {9, 9, 9}, {10, 10, 10},
	} {
		if got := runeStart(text, c.i); got != c.start {
			t.Errorf("runeStart(%d) = %d, want %d", c.i, got, c.start)
		}
		if got := runeEnd(text, c.i); got != c.end {
			t.Errorf("runeEnd(%d) = %d, want %d", c.i, got, c.end)
		}
	}
	bad := []byte("a\x80\x80\x80\x80\x80b") // continuation bytes with no start
	if got := runeStart(bad, 5); got != 2 {
		t.Errorf("runeStart over stray bytes = %d, want 2 (three steps at most)", got)
	}
	if got := runeStart([]byte("\x80ab"), 0); got != 0 {
		t.Errorf("runeStart at a stray first byte = %d, want 0", got)
	}
	if got := runeEnd(bad, 1); got != 4 {
		t.Errorf("runeEnd over stray bytes = %d, want 4 (three steps at most)", got)
	}
}

func TestMaskMatchExact(t *testing.T) {
	for in, want := range map[string]string{
		"ABCD1234":                    "****1234", // eight: the last four stay
		"ABC1234":                     "*******",  // seven: nothing stays
		"MRN-4417-3029":               "***-****-3029",
		"x":                           "*",
		"é1234567":                    "****4567",
		"a\tb\nc\x00d 12345678":       "* * * * ****5678", // controls and other spaces become spaces
		"ab\u00a0cd":                  "** **",            // so does a no-break space
		strings.Repeat("ab", 16):      strings.Repeat("**", 14) + "abab",
		"Z" + strings.Repeat("9", 32): "…" + strings.Repeat("*", 28) + "9999",
	} {
		if got := maskMatch([]byte(in)); got != want {
			t.Errorf("maskMatch(%q) = %q, want %q", in, got, want)
		}
	}
}

// Without a prefilter the text is searched in chunks of maxSpan − 4W
// bytes, each with 2W bytes of margin on both sides, so that no window is
// longer than maxSpan: each chunk boundary costs 4W bytes searched twice
// (unless the last chunk is short enough to join the one before).
func TestPatternChunks(t *testing.T) {
	r := mustRules(t, []PatternRule{{Name: "p", Regex: `(?:ab|cd)(?:ef|gh)`}}, nil) // W = 4
	p := r.pats[0]
	if p.maxW != 4 || len(p.lit) > 0 || p.k > 0 {
		t.Fatalf("maxW %d, literal %q, run %d: the test wants 4 and no prefilter", p.maxW, p.lit, p.k)
	}
	for _, c := range []struct {
		size, chunks int
	}{
		{maxSpan - 16, 1},
		{maxSpan + 100, 2},
		{2*maxSpan - 32, 2},
		{2*maxSpan - 8, 3}, // more than two chunks of maxSpan − 16
	} {
		text := []byte(strings.Repeat("x", c.size-4) + "abgh")
		s := scan{t: text, thr: defaultThreshold}
		hs, done := s.scanPattern(p)
		if !done || len(hs) != 1 || hs[0] != (hit{c.size - 4, c.size}) {
			t.Errorf("%d bytes: hits %v, done %v", c.size, hs, done)
		}
		if want := c.size + (c.chunks-1)*4*p.maxW; s.reBytes != want {
			t.Errorf("%d bytes: %d searched, want %d (%d chunks)", c.size, s.reBytes, want, c.chunks)
		}
	}
}

// A context word right after the match counts even without a space: the
// match itself is no word.
func TestPatternContextGlued(t *testing.T) {
	r := mustRules(t, []PatternRule{{Name: "mrn", Regex: `\d{7}`, Context: []string{"mrn"}}}, nil)
	if got := ruleHits(r, "4417302mrn"); !slices.Equal(got, []string{"mrn@0"}) {
		t.Errorf("got %v", got)
	}
}

// Overlapping windows are merged while the merged window stays within
// maxSpan bytes, exactly maxSpan included.
func TestPatternWindowMergeLimit(t *testing.T) {
	r := mustRules(t, []PatternRule{{Name: "p", Regex: `MRN\d{4}`}}, nil) // windows: 11 + 3 + 11 bytes
	// Hits every 10 bytes from 0 to 262130, whose window ends at exactly
	// maxSpan, then one 20 bytes further.
	var b strings.Builder
	for b.Len() <= maxSpan-14-10 {
		b.WriteString("MRN1234   ")
	}
	b.WriteString("MRN1234" + strings.Repeat(" ", 13) + "MRN1234" + strings.Repeat(" ", 100))
	text := []byte(b.String())
	last := len(text) - 107
	if last-20 != maxSpan-14 {
		t.Fatalf("hit at %d, the test wants it at maxSpan − 14", last-20)
	}
	s := scan{t: text, thr: defaultThreshold}
	hs, done := s.scanPattern(r.pats[0])
	if !done || len(hs) != (last-20)/10+2 {
		t.Fatalf("%d hits, done %v", len(hs), done)
	}
	// [0, maxSpan), then the last hit's window [last − 11, last + 14).
	if want := maxSpan + 25; s.reBytes != want {
		t.Errorf("%d bytes searched, want %d", s.reBytes, want)
	}
}
