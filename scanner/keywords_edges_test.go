package scanner

import (
	"slices"
	"strings"
	"testing"
)

// Keyword matching at the ends of the ASCII alphabet, next to non-ASCII
// letters, and for the title-case spelling of a word whose first letter
// has one of its own.
func TestKeywordEdges(t *testing.T) {
	r := mustRules(t, nil, []KeywordRule{
		{Name: "phi", Words: []string{"hiv", "Zoster", "abz", "\u01c6ungla", "αβγ"}},
	})
	for _, c := range []struct {
		text string
		want []string
	}{
		{"ZOSTER and zoster and Zoster", []string{"phi@0", "phi@11", "phi@22"}},
		{"ABZ, abz, aBz", []string{"phi@0", "phi@5", "phi@10"}},
		{"Àhiv, hivÀ, hiv", []string{"phi@14"}},                                       // À (C3 80) is a letter on either side
		{"\u01c5ungla \u01c4UNGLA \u01c6ungla", []string{"phi@0", "phi@8", "phi@16"}}, // ǅ, Ǆ, ǆ
		{"hiv", []string{"phi@0"}},
		{"ΑΒΓ, Αβγ, αβγ", []string{"phi@0", "phi@8", "phi@16"}}, // no ASCII letter at all
		{"xhiv hivx", nil},
	} {
		if got := ruleHits(r, c.text); !slices.Equal(got, c.want) {
			t.Errorf("%q: got %v, want %v", c.text, got, c.want)
		}
	}
}

// The automaton's size is bounded: a table over 32 MiB, or one state more
// than maxDictStates, is refused, naming the limit; a table of exactly
// 32 MiB is built.
func TestKeywordAutomatonLimits(t *testing.T) {
	// head is the i-th word start of four letters; words of 128 bytes
	// that differ there share no state beyond it.
	head := func(i int) string {
		var b strings.Builder
		for k, x := 0, i; k < 4; k, x = k+1, x/26 {
			b.WriteByte(byte('a' + x%26))
		}
		return b.String()
	}
	// words returns the words given and more (a head, then 'q's), whose
	// trie has exactly n nodes below the root.
	words := func(n int, given ...string) []string {
		seen := map[string]bool{}
		for _, w := range given {
			for k := 1; k <= len(w); k++ {
				seen[w[:k]] = true
			}
		}
		out := given
		for i := 0; len(seen) < n; i++ {
			w := head(i) + strings.Repeat("q", maxWordLen-4)
			for k := 1; k <= len(w); k++ {
				if !seen[w[:k]] {
					if len(seen) == n {
						w = w[:k-1]
						break
					}
					seen[w[:k]] = true
				}
			}
			out = append(out, w)
		}
		return out
	}
	// A table over 32 MiB is refused too: 81,000 states over every ASCII
	// byte class (26 letters folded, 76 other bytes, and two).
	var ascii strings.Builder
	for c := range 128 {
		if !isLetter(byte(c)) {
			ascii.WriteByte(byte(c))
		}
	}
	var wide []string
	for i := 0; len(wide)*(maxWordLen-4) < 81000; i++ {
		wide = append(wide, head(i)+ascii.String()+strings.Repeat("q", maxWordLen-4-ascii.Len()))
	}
	_, err := CompileRules(nil, []KeywordRule{{Name: "wide", Words: wide}})
	if err == nil || !strings.HasPrefix(err.Error(), "keywords: the word lists are too large (") || !strings.HasSuffix(err.Error(), " states × 104 byte classes)") {
		t.Errorf("%d words over all ASCII bytes: %v", len(wide), err)
	}
	// Besides the trie: the root and the dead state.
	_, err = CompileRules(nil, []KeywordRule{{Name: "big", Words: words(maxDictStates - 1)}})
	if want := "keywords: the word lists are too large (more than 262144 automaton states)"; err == nil || err.Error() != want {
		t.Errorf("one state too many: %v, want %q", err, want)
	}
	// The largest table allowed, exactly 32 MiB, is built: 65,536 states
	// (the root, the dead state and 65,534 below) over 128 byte classes
	// (2, the 76 ASCII bytes that are not letters, 26 letters folded, and
	// the 24 bytes of the UTF-8 of U+4E00 to U+4E15). It is the only table
	// of that size this test builds (a few seconds under -race).
	var cjk strings.Builder
	for r := rune(0x4E00); r <= 0x4E15; r++ {
		cjk.WriteRune(r)
	}
	r, err := CompileRules(nil, []KeywordRule{{Name: "edge", Words: words(65534, "zzzz"+ascii.String()+"z", cjk.String())}})
	if err != nil || r.kw.nc != 128 || len(r.kw.delta)*4 != maxDictTableSize {
		t.Errorf("a table of exactly %d bytes: %v; want it built", maxDictTableSize, err)
	}
}

func TestRuleNames(t *testing.T) {
	var none *Rules
	if got := none.Names(); got != nil {
		t.Errorf("nil rules: %v", got)
	}
	r := mustRules(t, []PatternRule{{Name: "mrn", Regex: `x`}, {Name: "emp", Regex: `y`}}, []KeywordRule{{Name: "phi", Words: []string{"z"}}})
	if got := r.Names(); !slices.Equal(got, []string{"mrn", "emp", "phi"}) {
		t.Errorf("Names() = %v", got)
	}
}
