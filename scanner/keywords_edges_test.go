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
		{Name: "phi", Words: []string{"hiv", "Zoster", "abz", "\u01c6ungla"}},
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
		{"xhiv hivx", nil},
	} {
		if got := ruleHits(r, c.text); !slices.Equal(got, c.want) {
			t.Errorf("%q: got %v, want %v", c.text, got, c.want)
		}
	}
}

// The automaton's size is bounded: word lists that would need more states
// than maxDictStates are refused, naming the limit.
func TestKeywordStatesLimit(t *testing.T) {
	// Words of 128 letters that differ in their first four: each adds at
	// least 124 states.
	var words []string
	for i := 0; len(words)*(maxWordLen-4) <= maxDictStates; i++ {
		var b strings.Builder
		for k, n := 0, i; k < 4; k, n = k+1, n/26 {
			b.WriteByte(byte('a' + n%26))
		}
		b.WriteString(strings.Repeat("q", maxWordLen-4))
		words = append(words, b.String())
	}
	_, err := CompileRules(nil, []KeywordRule{{Name: "big", Words: words}})
	if err == nil || err.Error() != "keywords: the word lists are too large (more than 262144 automaton states)" {
		t.Errorf("%d words of %d bytes: %v", len(words), maxWordLen, err)
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
