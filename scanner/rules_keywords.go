package scanner

import (
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Keyword rules: all word lists in one Aho-Corasick automaton.

// dict is an Aho-Corasick automaton over all keyword rules, compiled to a
// dense DFA. Bytes are mapped to classes first (ASCII letters folded, every
// byte that occurs in no word to class 0), which keeps the table small.
type dict struct {
	cls   [256]uint16
	nc    int
	delta []uint32  // (state*nc + class) → next state*nc, outFlag set when it has outputs
	outs  [][]int32 // per state: the words ending there, own and inherited
	words []dictWord
}

const outFlag = 1 << 31

type dictWord struct {
	rule               int32
	n                  int  // length in bytes
	wordStart, wordEnd bool // the word begins/ends with a letter or digit: check the boundary there
}

type dictBuilder struct {
	words []string
	rules []int
	seen  map[string]bool // word + rule, to drop duplicates
}

// add registers word for rule. ASCII letters are folded by the automaton
// itself; for other letters the lower, upper and capitalised spellings are
// added, which covers how words are written in practice ("müller",
// "MÜLLER", "Müller") without an exponential set of mixed-case variants.
func (b *dictBuilder) add(word string, rule int) error {
	word = strings.TrimSpace(word)
	if err := checkWord(word); err != nil {
		return err
	}
	if b.seen == nil {
		b.seen = map[string]bool{}
	}
	low := strings.ToLower(word)
	variants := []string{low}
	if !isASCII(low) {
		up := strings.ToUpper(low)
		r, n := utf8.DecodeRuneInString(low)
		title := string(unicode.ToTitle(r)) + low[n:]
		variants = append(variants, up, title)
	}
	for _, v := range variants {
		key := fmt.Sprint(rule, "\x00", asciiLower(v))
		if b.seen[key] {
			continue
		}
		b.seen[key] = true
		b.words = append(b.words, v)
		b.rules = append(b.rules, rule)
	}
	return nil
}

func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= utf8.RuneSelf {
			return false
		}
	}
	return true
}

func asciiLower(s string) string {
	b := []byte(s)
	for i, c := range b {
		b[i] = lower(c)
	}
	return string(b)
}

// The automaton only looks for words where a whole word can begin: at the
// start of the text, after a byte that is not an ASCII letter or digit, or
// at such a byte (a word may begin with '#', or with a non-ASCII letter).
// Inside any other word it sits in a dead state whose row stays in cache,
// instead of trying every suffix the way plain Aho-Corasick does. The exact
// boundary test (Unicode letters and digits) is made on each match; the
// automaton's test is only ever looser, so it never hides a match.
const (
	stRoot = 0 // a word may begin at the next byte
	stDead = 1 // inside a word: nothing can begin before its end
)

func (b *dictBuilder) build() (*dict, error) {
	d := &dict{}
	// Byte classes: 0 for bytes in no word that end a word, 1 for letters
	// and digits in no word, then one per byte (ASCII letters folded).
	for c := range 256 {
		if isAlnum(byte(c)) {
			d.cls[c] = 1
		}
	}
	nc := 2
	for _, w := range b.words {
		for i := 0; i < len(w); i++ {
			c := lower(w[i])
			if d.cls[c] < 2 {
				d.cls[c] = uint16(nc)
				nc++
			}
		}
	}
	for c := 'A'; c <= 'Z'; c++ {
		d.cls[c] = d.cls[c+0x20]
	}
	d.nc = nc
	restart := make([]bool, nc) // a word may begin after (or at) a byte of this class
	for c := range 256 {
		restart[d.cls[c]] = !isAlnum(byte(c))
	}
	type node struct {
		next map[uint16]int32
		fail int32
		out  []int32
	}
	nodes := []node{{next: map[uint16]int32{}}, {}} // stRoot, stDead
	for id, w := range b.words {
		st := int32(stRoot)
		for i := 0; i < len(w); i++ {
			c := d.cls[w[i]]
			nx, ok := nodes[st].next[c]
			if !ok {
				if len(nodes) >= maxDictStates {
					return nil, fmt.Errorf("the word lists are too large (more than %d automaton states)", maxDictStates)
				}
				nx = int32(len(nodes))
				nodes = append(nodes, node{next: map[uint16]int32{}})
				nodes[st].next[c] = nx
			}
			st = nx
		}
		nodes[st].out = append(nodes[st].out, int32(id))
		first, _ := utf8.DecodeRuneInString(w)
		last, _ := utf8.DecodeLastRuneInString(w)
		d.words = append(d.words, dictWord{rule: int32(b.rules[id]), n: len(w), wordStart: isWordRune(first), wordEnd: isWordRune(last)})
	}
	if size := len(nodes) * nc * 4; size > maxDictTableSize {
		return nil, fmt.Errorf("the word lists are too large (%d states × %d byte classes)", len(nodes), nc)
	}
	d.delta = make([]uint32, len(nodes)*nc)
	d.outs = make([][]int32, len(nodes))
	enc := func(st int32) uint32 {
		v := uint32(int(st) * nc)
		if len(nodes[st].out) > 0 {
			v |= outFlag
		}
		return v
	}
	row := func(st int32) []uint32 { return d.delta[int(st)*nc : int(st+1)*nc] }
	// Root and dead rows first; every other row falls back on them.
	var queue []int32
	for c, v := range nodes[stRoot].next {
		nodes[v].fail = stDead
		if restart[c] {
			nodes[v].fail = stRoot
		}
		queue = append(queue, v)
	}
	rr, dr := row(stRoot), row(stDead)
	for c := range nc {
		v, ok := nodes[stRoot].next[uint16(c)]
		switch {
		case ok:
			rr[c] = enc(v)
		case restart[c]:
			rr[c] = enc(stRoot)
		default:
			rr[c] = enc(stDead)
		}
		dr[c] = enc(stDead)
		if restart[c] {
			dr[c] = rr[c]
		}
	}
	// Breadth-first, so that a state's fail state (shallower) is complete
	// before the state's own row copies from it.
	for qi := 0; qi < len(queue); qi++ {
		u := queue[qi]
		fr := row(nodes[u].fail)
		for c, v := range nodes[u].next {
			f := int32(int(fr[c]&^outFlag) / nc)
			nodes[v].fail = f
			nodes[v].out = append(nodes[v].out, nodes[f].out...)
			queue = append(queue, v)
		}
		ur := row(u)
		for c := range nc {
			if v, ok := nodes[u].next[uint16(c)]; ok {
				ur[c] = enc(v)
			} else {
				ur[c] = fr[c]
			}
		}
		d.outs[u] = nodes[u].out
	}
	return d, nil
}

func isWordRune(r rune) bool { return unicode.IsLetter(r) || unicode.IsDigit(r) }

// wordRuneBefore reports whether a letter or digit ends just before i.
func wordRuneBefore(t []byte, i int) bool {
	if i == 0 {
		return false
	}
	if c := t[i-1]; c < utf8.RuneSelf {
		return isAlnum(c)
	}
	r, _ := utf8.DecodeLastRune(t[:i])
	return isWordRune(r)
}

// wordRuneAt reports whether a letter or digit starts at i.
func wordRuneAt(t []byte, i int) bool {
	if i >= len(t) {
		return false
	}
	if c := t[i]; c < utf8.RuneSelf {
		return isAlnum(c)
	}
	r, _ := utf8.DecodeRune(t[i:])
	return isWordRune(r)
}

// scanKeywords runs the automaton once over t and returns each keyword
// rule's whole-word matches. Where one rule matches two words that overlap
// and one contains the other ("heart", "heart attack"), only the longer
// counts.
func (d *dict) scan(t []byte, nrules int) [][]hit {
	out := make([][]hit, nrules)
	st := uint32(stRoot)
	dead := uint32(stDead * d.nc)
	delta, cls := d.delta, &d.cls
	for i := 0; i < len(t); {
		st = delta[st+uint32(cls[t[i]])]
		i++
		if st == dead {
			// The rest of this word cannot start a match: pass it with
			// a plain loop instead of the dependent table walk.
			for i < len(t) && isAlnum(t[i]) {
				i++
			}
			continue
		}
		if st&outFlag == 0 {
			continue
		}
		st &^= outFlag
		end := i
		for _, id := range d.outs[int(st)/d.nc] {
			w := &d.words[id]
			start := end - w.n
			if (w.wordStart && wordRuneBefore(t, start)) || (w.wordEnd && wordRuneAt(t, end)) {
				continue
			}
			hs := out[w.rule]
			if len(hs) > 0 && hs[len(hs)-1].start <= start && hs[len(hs)-1].end == end {
				continue // inside a longer match of the same rule ending here
			}
			for len(hs) > 0 && hs[len(hs)-1].start >= start {
				hs = hs[:len(hs)-1]
			}
			out[w.rule] = append(hs, hit{start, end})
		}
	}
	return out
}
