package scanner

// Searching a text for a compiled pattern rule: the prefilter's hits
// (litFinder, hitIter), the windows around them that the regex runs on
// (scanPattern), and the masking of what it found. Apart from
// rules_patterns.go, which compiles a rule once and works out from the
// regex's syntax what every match must contain; this file runs, for every
// message, what that produced.

import (
	"bytes"
	"unicode"
	"unicode/utf8"
)

// litFinder finds the next occurrence of a pattern's literal.
type litFinder struct {
	lit  []byte
	fold bool
	// For folded literals: the position in lit of an anchor byte searched
	// with IndexByte in both cases (a non-letter when there is one).
	k            int
	lo, up       byte
	nextLo, next int
}

func newLitFinder(lit []byte, fold bool) *litFinder {
	f := &litFinder{lit: lit, fold: fold, nextLo: -2, next: -2}
	if fold {
		for i, c := range lit {
			if !isLetter(c) {
				f.k = i
				break
			}
		}
		f.lo = lit[f.k]
		f.up = f.lo
		if isLetter(f.lo) {
			f.up = f.lo - 0x20
		}
	}
	return f
}

// find returns the first occurrence of the literal at or after from, or -1.
func (f *litFinder) find(t []byte, from int) int {
	if !f.fold {
		if k := bytes.Index(t[from:], f.lit); k >= 0 {
			return from + k
		}
		return -1
	}
	n := len(f.lit)
	for p := from + f.k; p+n-f.k <= len(t); p++ {
		p = f.anchor(t, p)
		if p < 0 {
			return -1
		}
		if s := p - f.k; s >= from && s+n <= len(t) && equalFoldASCII(t[s:s+n], f.lit) {
			return s
		}
	}
	return -1
}

// anchor returns the first position at or after p holding the anchor byte in
// either case. The two IndexByte results are remembered so that a dense
// text does not search the same stretch twice.
func (f *litFinder) anchor(t []byte, p int) int {
	next := func(c byte, cached *int) int {
		if *cached >= p {
			return *cached
		}
		if *cached == -1 {
			return -1
		}
		k := bytes.IndexByte(t[p:], c)
		if k < 0 {
			*cached = -1
		} else {
			*cached = p + k
		}
		return *cached
	}
	a := next(f.lo, &f.nextLo)
	if f.up == f.lo {
		return a
	}
	b := next(f.up, &f.next)
	switch {
	case a < 0:
		return b
	case b < 0:
		return a
	}
	return min(a, b)
}

// equalFoldASCII compares s with the lower-case ASCII lit.
func equalFoldASCII(s, lit []byte) bool {
	for i, c := range lit {
		if lower(s[i]) != c {
			return false
		}
	}
	return true
}

// hit is one accepted match of a rule.
type hit struct{ start, end int }

// scanPattern returns the matches of p in t that pass its context rule, and
// false when the work limit stopped it before the end of the text.
//
// The regex runs only on windows reaching about 2W beyond each prefilter hit
// on both sides, W being the longest match (windows that overlap are merged
// up to maxSpan bytes). A match found at a window's first byte or ending at
// its last byte may owe itself to the cut (`\b`, `^` and `$` see the window
// edge as the text's edge) and is dropped; the margin guarantees that no
// such false match (at most W long) overlaps a real one, since every real
// match lies within W of the hit it contains. Without a prefilter the windows are consecutive
// maxSpan chunks with the same margins. Where windows overlap, a match
// starting before the end of the previous one is the same match, or one
// that non-overlapping matching would not report either.
//
// A regex without a bound on its length (`\s*`, `\d+`) is searched as if
// it had one of maxUnbounded bytes: a longer match touches a window edge and
// is not reported. Identifiers are far shorter, and a small bound keeps the
// windows around frequent hits small; regexes of bounded length up to
// maxWindow bytes are searched exactly.
func (s *scan) scanPattern(p *pattern) ([]hit, bool) {
	t := s.t
	var out []hit
	lastEnd := 0
	run := func(lo, hi int) bool {
		if s.work+(hi-lo)*p.insts > s.workLimit() {
			return false
		}
		s.work += (hi - lo) * p.insts
		s.reBytes += hi - lo
		for _, m := range p.re.FindAllIndex(t[lo:hi], -1) {
			a, b := lo+m[0], lo+m[1]
			if (a == lo && lo > 0) || (b == hi && hi < len(t)) || a < lastEnd || a == b {
				continue
			}
			lastEnd = b
			if p.ctx != nil {
				c := ctx{s: s, start: a, end: b}
				if sc, _ := c.scoreWith(p.ctx, 0); sc <= 0 {
					continue
				}
			}
			out = append(out, hit{a, b})
		}
		return true
	}
	it := p.hits(t)
	// A real match contains the literal, or at least k bytes of the run,
	// so it lies within W minus that of the hit's ends; the margin needs
	// W more for the false matches at a window edge (see above).
	margin := 2*p.maxW - max(len(p.lit), p.k)
	wlo, whi := -1, -1
	for rs, re := it.next(); rs >= 0; rs, re = it.next() {
		lo := runeStart(t, max(0, rs-margin))
		hi := runeEnd(t, min(len(t), re+margin))
		if wlo >= 0 && lo <= whi && max(whi, hi)-wlo <= maxSpan {
			whi = max(whi, hi)
			continue
		}
		if wlo >= 0 && !run(wlo, whi) {
			return out, false
		}
		wlo, whi = lo, hi
	}
	if wlo >= 0 && !run(wlo, whi) {
		return out, false
	}
	return out, true
}

// hitIter walks the regions of a text that the prefilter says a match must
// overlap, in order.
type hitIter struct {
	p      *pattern
	t      []byte
	f      *litFinder
	rs, re int // the last region returned
}

func (p *pattern) hits(t []byte) *hitIter {
	it := &hitIter{p: p, t: t, rs: -1}
	if len(p.lit) > 0 {
		it.f = newLitFinder(p.lit, p.fold)
	}
	return it
}

// next returns the next region, or -1, -1.
func (it *hitIter) next() (int, int) {
	p, t := it.p, it.t
	switch {
	case it.f != nil:
		// Literal hits may overlap: search on from the last one's second byte.
		at := it.f.find(t, it.rs+1)
		it.rs, it.re = at, at+len(p.lit)
	case p.k > 0:
		i := max(it.re, 0)
		it.rs, it.re = -1, -1
		for i < len(t) {
			if p.dig {
				i = nextDigit(t, i)
			}
			for i < len(t) && !p.cls[t[i]] {
				i++
			}
			if i >= len(t) {
				break
			}
			j := i + 1
			for j < len(t) && p.cls[t[j]] {
				j++
			}
			if j-i >= p.k {
				it.rs, it.re = i, j
				break
			}
			i = j
		}
	default:
		// No prefilter: consecutive chunks, sized so that a chunk with
		// its margins is one maxSpan window.
		from := max(it.re, 0)
		if from >= len(t) {
			it.rs, it.re = -1, -1
			break
		}
		it.rs, it.re = from, min(len(t), from+maxSpan-4*p.maxW)
	}
	return it.rs, it.re
}

// runeStart moves i back to the first byte of the UTF-8 sequence it is in,
// so a window never begins in the middle of a character.
func runeStart(t []byte, i int) int {
	for k := 0; k < utf8.UTFMax-1 && i > 0 && i < len(t) && !utf8.RuneStart(t[i]); k++ {
		i--
	}
	return i
}

// runeEnd moves i forward to the next character boundary.
func runeEnd(t []byte, i int) int {
	for k := 0; k < utf8.UTFMax-1 && i < len(t) && !utf8.RuneStart(t[i]); k++ {
		i++
	}
	return i
}

// maskMatch keeps the last four letters or digits of a match of at least
// eight, so no more than half of a value ever shows; everything else that
// is a letter or digit becomes '*', other printable characters (separators)
// stay, the rest (controls, line breaks, spaces other than U+0020: IsPrint
// admits no other space) become spaces. Long matches are cut to their last
// 32 characters.
func maskMatch(v []byte) string {
	runes := []rune(string(v))
	if len(runes) > 32 {
		runes = append([]rune{'…'}, runes[len(runes)-32:]...)
	}
	alnum := 0
	for _, r := range runes {
		if unicode.IsLetter(r) || unicode.IsDigit(r) {
			alnum++
		}
	}
	keep := 0
	if alnum >= 8 {
		keep = 4
	}
	for i := len(runes) - 1; i >= 0; i-- {
		r := runes[i]
		if unicode.IsLetter(r) || unicode.IsDigit(r) {
			if keep > 0 {
				keep--
				continue
			}
			runes[i] = '*'
		} else if !unicode.IsPrint(r) {
			runes[i] = ' '
		}
	}
	return string(runes)
}
