package scanner

// Pattern rules: admin regexes, searched only around what every match must
// contain. This file compiles a rule and works out that prefilter from the
// regex's syntax (a literal, or a run of one byte class); the search itself
// is in rules_patterns_search.go.

import (
	"bytes"
	"errors"
	"fmt"
	"math"
	"regexp"
	"regexp/syntax"
	"strings"
	"unicode"
	"unicode/utf8"
)

// WorkLimitMask is the Masked value of the finding a pattern rule reports
// when it could not search the whole text within the work limit: the rule
// fires (whatever its min_count), since whether the text matches is unknown
// and the safe answer for mail that may carry such data is to seal it.
const WorkLimitMask = "(not searched to the end: work limit)"

type pattern struct {
	name  string
	re    *regexp.Regexp
	min   int
	insts int      // size of the compiled program: the engine's work per byte
	ctx   *wordSet // nil: no context required
	maxW  int      // longest match in bytes: maxWidth, or maxUnbounded

	// The prefilter: what every match must contain. Either a literal, or
	// a run of at least k bytes of cls (e.g. the seven digits of
	// `MRN-\d{7}`), or neither.
	lit  []byte
	fold bool // lit is matched ASCII-case-insensitively (lit is lower case)
	cls  *[256]bool
	k    int
	dig  bool // cls holds only digits: skip eight bytes at a time
}

func compilePattern(p PatternRule) (*pattern, error) {
	if p.MinCount < 0 {
		return nil, errors.New("min_count: must not be negative")
	}
	if p.Regex == "" {
		return nil, errors.New("regex: empty")
	}
	if len(p.Regex) > maxRegexLen {
		return nil, fmt.Errorf("regex: longer than %d bytes", maxRegexLen)
	}
	tree, err := syntax.Parse(p.Regex, syntax.Perl)
	if err != nil {
		return nil, fmt.Errorf("regex: %w", err)
	}
	tree = tree.Simplify()
	if minWidth(tree) == 0 {
		return nil, errors.New("regex: can match the empty string, which would fire everywhere")
	}
	prog, err := syntax.Compile(tree)
	if err != nil {
		return nil, fmt.Errorf("regex: %w", err)
	}
	// The engine's work per byte grows with the program; a cap keeps the
	// worst case of any admin regex within a small factor of a simple one.
	if len(prog.Inst) > maxProgInsts {
		return nil, fmt.Errorf("regex: too complex (%d instructions, at most %d); use fewer or smaller repetitions", len(prog.Inst), maxProgInsts)
	}
	re, err := regexp.Compile(p.Regex)
	if err != nil {
		return nil, fmt.Errorf("regex: %w", err)
	}
	cp := &pattern{name: p.Name, re: re, min: max(p.MinCount, 1), insts: len(prog.Inst), maxW: maxUnbounded}
	if w := maxWidth(tree); w >= 0 && w <= maxWindow {
		cp.maxW = w
	}
	lit, fold := requiredLiteral(tree)
	run := requiredRun(tree)
	// Take whichever prefilter should hit less often in mail text.
	switch {
	case lit != "" && (run.k == 0 || literalFreq(lit, fold) <= run.freq()):
		cp.lit, cp.fold = []byte(lit), fold
		if fold {
			cp.lit = bytes.ToLower(cp.lit)
		}
	case run.k > 0:
		cp.cls, cp.k = &run.cls, run.k
		cp.dig = true
		for c, in := range run.cls {
			if in && !isDigit(byte(c)) {
				cp.dig = false
			}
		}
	}
	if len(p.Context) > 0 {
		if len(p.Context) > maxContextWords {
			return nil, fmt.Errorf("context: more than %d words", maxContextWords)
		}
		var words []string
		for _, w := range p.Context {
			lw := strings.ToLower(strings.TrimSpace(w))
			// The context window before a value is ctxBefore bytes; a
			// longer word could never be found in it.
			if lw == "" || lw[0]-'a' >= 26 || len(lw) > ctxBefore/2 || !utf8.ValidString(w) {
				return nil, fmt.Errorf("context: %q: a context word must be UTF-8, start with a letter a-z and be at most %d bytes", w, ctxBefore/2)
			}
			words = append(words, lw)
		}
		ws := newWordSet(words...)
		cp.ctx = &ws
	}
	return cp, nil
}

// minWidth is the fewest bytes a match of re can span.
func minWidth(re *syntax.Regexp) int {
	switch re.Op {
	case syntax.OpLiteral:
		return len(re.Rune) // every rune is at least one byte
	case syntax.OpCharClass, syntax.OpAnyChar, syntax.OpAnyCharNotNL:
		return 1
	case syntax.OpCapture, syntax.OpPlus:
		return minWidth(re.Sub[0])
	case syntax.OpRepeat:
		return re.Min * minWidth(re.Sub[0])
	case syntax.OpConcat:
		n := 0
		for _, s := range re.Sub {
			n += minWidth(s)
		}
		return n
	case syntax.OpAlternate:
		n := -1
		for _, s := range re.Sub {
			if w := minWidth(s); n < 0 || w < n {
				n = w
			}
		}
		return max(n, 0)
	case syntax.OpNoMatch:
		return 1 // never matches at all, so never matches the empty string
	}
	return 0 // empty match, assertions, star, quest
}

// maxWidth is the most bytes a match of re can span, or -1 when unbounded.
// Results are capped just above maxWindow so that nested counts cannot
// overflow.
func maxWidth(re *syntax.Regexp) int {
	const capW = maxWindow + 1
	switch re.Op {
	case syntax.OpLiteral:
		n := 0
		for _, r := range re.Rune {
			n += runeWidth(r, re.Flags&syntax.FoldCase != 0)
		}
		return min(n, capW)
	case syntax.OpCharClass:
		if len(re.Rune) == 0 {
			return 0
		}
		return utf8.RuneLen(re.Rune[len(re.Rune)-1]) // widths grow with the code point
	case syntax.OpAnyChar, syntax.OpAnyCharNotNL:
		return utf8.UTFMax
	case syntax.OpCapture, syntax.OpQuest:
		return maxWidth(re.Sub[0])
	case syntax.OpStar, syntax.OpPlus:
		return -1
	case syntax.OpRepeat:
		if re.Max < 0 {
			return -1
		}
		w := maxWidth(re.Sub[0])
		if w < 0 {
			return -1
		}
		return min(w*re.Max, capW)
	case syntax.OpConcat, syntax.OpAlternate:
		n := 0
		for _, s := range re.Sub {
			w := maxWidth(s)
			switch {
			case w < 0:
				return -1
			case re.Op == syntax.OpConcat:
				n = min(n+w, capW)
			default:
				n = max(n, w)
			}
		}
		return n
	}
	return 0
}

// runeWidth is the UTF-8 length of r, or of its widest case variant when
// folding (the Kelvin sign K is three bytes, 'k' one).
func runeWidth(r rune, fold bool) int {
	n := utf8.RuneLen(r)
	if fold {
		for f := unicode.SimpleFold(r); f != r; f = unicode.SimpleFold(f) {
			n = max(n, utf8.RuneLen(f))
		}
	}
	return max(n, 1)
}

// requiredLiteral returns the longest literal that every match of re must
// contain, and whether it is matched case-insensitively. Case-insensitive
// literals are used only when they are plain ASCII letters and symbols
// without 'k' and 's', whose Unicode case variants (the Kelvin sign, the long
// s) an ASCII-folding search would miss.
func requiredLiteral(re *syntax.Regexp) (string, bool) {
	switch re.Op {
	case syntax.OpLiteral:
		fold := re.Flags&syntax.FoldCase != 0
		var b strings.Builder
		best := ""
		for _, r := range re.Rune {
			ok := r < utf8.RuneSelf
			if fold && (r == 'k' || r == 'K' || r == 's' || r == 'S') {
				ok = false
			}
			if !fold {
				ok = true
			}
			if !ok {
				if b.Len() > len(best) {
					best = b.String()
				}
				b.Reset()
				continue
			}
			b.WriteRune(r)
		}
		if b.Len() > len(best) {
			best = b.String()
		}
		return best, fold && best != ""
	case syntax.OpCapture, syntax.OpPlus:
		return requiredLiteral(re.Sub[0])
	case syntax.OpRepeat:
		if re.Min >= 1 {
			return requiredLiteral(re.Sub[0])
		}
	case syntax.OpConcat:
		best, bestFold := "", false
		for _, s := range re.Sub {
			// An exact literal beats a case-folded one of the same
			// length: memchr-speed search instead of two byte scans.
			if l, f := requiredLiteral(s); len(l) > len(best) || (len(l) == len(best) && l != "" && bestFold && !f) {
				best, bestFold = l, f
			}
		}
		return best, bestFold
	}
	return "", false
}

// byteFreq is a rough share of each byte in mail text, enough to rank
// prefilters: lower-case letters are common, spaces more so, capitals,
// digits and punctuation rare.
func byteFreq(c byte) float64 {
	switch {
	case c == ' ':
		return 0.15
	case c >= 'a' && c <= 'z':
		return 0.03
	case c == '\n' || c == '.' || c == ',':
		return 0.02
	case isUpper(c) || isDigit(c):
		return 0.003
	case c >= 0x20 && c < 0x7f:
		return 0.002
	}
	return 0.0005
}

func literalFreq(lit string, fold bool) float64 {
	f := 1.0
	for i := 0; i < len(lit); i++ {
		c := lit[i]
		if fold && isLetter(c) {
			f *= byteFreq(c|0x20) + byteFreq(c&^0x20)
		} else {
			f *= byteFreq(c)
		}
	}
	return f
}

// classRun: every match contains k consecutive bytes of cls.
type classRun struct {
	cls [256]bool
	k   int
}

func (r classRun) freq() float64 {
	p := 0.0
	for c, in := range r.cls {
		if in {
			p += byteFreq(byte(c))
		}
	}
	// Digits and capitals come in runs (numbers, acronyms), so each
	// further byte of a run is far likelier than its share of the text:
	// halve the chance per byte rather than multiply by the share.
	return min(p, 1) * math.Pow(0.5, float64(r.k-1))
}

// asciiClass returns the bytes of a character class when it holds only
// ASCII characters (a byte test is then exact).
func asciiClass(re *syntax.Regexp) (cls [256]bool, ok bool) {
	if re.Op != syntax.OpCharClass || len(re.Rune) == 0 || re.Rune[len(re.Rune)-1] >= utf8.RuneSelf {
		return cls, false
	}
	for i := 0; i+1 < len(re.Rune); i += 2 {
		for c := re.Rune[i]; c <= re.Rune[i+1]; c++ {
			cls[c] = true
		}
	}
	return cls, true
}

// pureRun: re matches only bytes of one ASCII class, at least k of them
// (a class, or a repetition of one).
func pureRun(re *syntax.Regexp) (classRun, bool) {
	switch re.Op {
	case syntax.OpCharClass:
		cls, ok := asciiClass(re)
		return classRun{cls, 1}, ok
	case syntax.OpRepeat, syntax.OpPlus:
		cls, ok := asciiClass(re.Sub[0])
		k := 1
		if re.Op == syntax.OpRepeat {
			k = re.Min
		}
		return classRun{cls, k}, ok && k >= 1
	case syntax.OpCapture:
		return pureRun(re.Sub[0])
	case syntax.OpConcat: // Simplify writes \d{3} as \d\d\d
		var r classRun
		for i, sub := range re.Sub {
			q, ok := pureRun(sub)
			if !ok || (i > 0 && q.cls != r.cls) {
				return classRun{}, false
			}
			r.cls, r.k = q.cls, r.k+q.k
		}
		return r, len(re.Sub) > 0
	}
	return classRun{}, false
}

// requiredRun returns the longest run of bytes of one ASCII class that every
// match of re must contain (k == 0: none found). Adjacent pieces of the
// same class add up: `\d{3}\d{4}` needs seven digits in a row.
func requiredRun(re *syntax.Regexp) classRun {
	var best classRun
	better := func(r classRun) {
		if r.k > 0 && (best.k == 0 || r.freq() < best.freq()) {
			best = r
		}
	}
	switch re.Op {
	case syntax.OpCapture:
		return requiredRun(re.Sub[0])
	case syntax.OpCharClass, syntax.OpRepeat, syntax.OpPlus, syntax.OpConcat:
		if r, ok := pureRun(re); ok {
			return r
		}
		if re.Op == syntax.OpPlus || (re.Op == syntax.OpRepeat && re.Min >= 1) {
			return requiredRun(re.Sub[0])
		}
		if re.Op != syntax.OpConcat {
			break
		}
		var cur classRun
		for _, sub := range re.Sub {
			if r, ok := pureRun(sub); ok {
				if cur.k > 0 && cur.cls == r.cls {
					cur.k += r.k
				} else {
					cur = r
				}
				better(cur)
				continue
			}
			cur = classRun{}
			better(requiredRun(sub))
		}
	}
	return best
}
