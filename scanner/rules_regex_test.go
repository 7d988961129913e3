package scanner

import (
	"regexp/syntax"
	"strings"
	"testing"
)

// What compilePattern learns from a regex's syntax tree: the fewest and
// most bytes a match spans, the literal and the class run every match
// contains. The functions take any tree; compilePattern hands them the
// simplified one (no counted repetitions), so each is checked on both.

func parseBoth(t *testing.T, re string) (raw, simple *syntax.Regexp) {
	t.Helper()
	tree, err := syntax.Parse(re, syntax.Perl)
	if err != nil {
		t.Fatalf("%s: %v", re, err)
	}
	return tree, tree.Simplify()
}

func TestRegexWidths(t *testing.T) {
	for _, c := range []struct {
		re       string
		min, max int // max -1: unbounded
	}{
		{`abc`, 3, 3},
		{`é`, 1, 2},      // a rune is at least one byte, é two
		{`(?i)k`, 1, 3},  // the Kelvin sign K is three bytes
		{`(?i)s`, 1, 2},  // the long s ſ is two
		{`(?i)é`, 1, 2},  // É is two bytes too
		{`[a-z]`, 1, 1},  // widths grow with the code point: the last one decides
		{`[a-é]`, 1, 2},  //
		{`[^a]`, 1, 4},   // up to U+10FFFF
		{`.`, 1, 4},      //
		{`(?s).`, 1, 4},  //
		{`(ab)`, 2, 2},   //
		{`(ab)?`, 0, 2},  //
		{`a*`, 0, -1},    //
		{`a+`, 1, -1},    //
		{`(ab)+`, 2, -1}, //
		{`^ab$`, 2, 2},   // assertions span nothing
		{`\b`, 0, 0},     //
		{`(?:ab){0}`, 0, 0},
		{`(?:ab){3}`, 6, 6},
		{`(?:ab){2,5}`, 4, 10},
		{`(?:ab){2,}`, 4, -1},
		{`(?:a+){2}`, 2, -1},
		{`abc|de`, 2, 3},
		{`x|yz`, 1, 2},
		{`ab|c|def`, 1, 3},
		{`(?:a*|bc)d`, 1, -1}, // the shortest branch can be empty
		{`(?:bc|a*)d`, 1, -1},
		{`(?:a|b+)c`, 2, -1},
		{`x.{990}`, 991, 3961},
		{`(?:.{100}){10}`, 1000, 4000},
		{`.{1000}.{100}`, 1100, maxWindow + 1}, // capped just above maxWindow
		{`(?:.{100}` + strings.Repeat("x", 100) + `){10}`, 2000, maxWindow + 1},
		{`(?:.{100}` + strings.Repeat("x", 100) + `){10}|x`, 1, maxWindow + 1},
		{`[^\x00-\x{10FFFF}]`, 1, 0},         // matches nothing, so never the empty string
		{`a(?:[^\x00-\x{10FFFF}]|bc)`, 2, 3}, //
		{`(?:[^\x00-\x{10FFFF}]){2}`, 2, 0},  //
	} {
		raw, simple := parseBoth(t, c.re)
		for _, tree := range []*syntax.Regexp{raw, simple} {
			if got := minWidth(tree); got != c.min {
				t.Errorf("minWidth(%s) = %d, want %d (tree %v)", c.re, got, c.min, tree)
			}
			if got := maxWidth(tree); got != c.max {
				t.Errorf("maxWidth(%s) = %d, want %d (tree %v)", c.re, got, c.max, tree)
			}
		}
	}
}

func TestRequiredLiteral(t *testing.T) {
	for _, c := range []struct {
		re   string
		lit  string // as the tree holds it: folded runes are stored upper case
		fold bool
		raw  bool // the unsimplified tree (counted repetitions)
	}{
		{re: `MRN\d{7}`, lit: "MRN"},
		{re: `(?i)mrn`, lit: "MRN", fold: true},
		{re: `é\d`, lit: "é"},    // exact literals may hold any rune
		{re: `(?i)é\d`, lit: ""}, // a folded one only ASCII: no fold flag without a literal
		{re: `(?i)ssn`, lit: "N", fold: true},
		{re: `(?i)abkcd`, lit: "AB", fold: true},   // equal pieces: the first
		{re: `(?i)abkcdke`, lit: "AB", fold: true}, //
		{re: `(?i)abc\x{80}de`, lit: "ABC", fold: true},
		{re: `(?i)a\x{80}bc`, lit: "BC", fold: true},
		{re: `(?i:ab)cd`, lit: "cd"}, // exact beats folded of the same length
		{re: `cd(?i:ab)`, lit: "cd"},
		{re: `(?i:ab)\d(?i:cd)`, lit: "AB", fold: true},
		{re: `(?i:abc)de`, lit: "ABC", fold: true}, // longer beats exact
		{re: `ab\d(?:cde)`, lit: "cde"},
		{re: `(?:MRN)+`, lit: "MRN"},
		{re: `(MRN)`, lit: "MRN"},
		{re: `(?:MRN){2,}`, lit: "MRN"},
		{re: `(?:MRN)?x`, lit: "x"},
		{re: `(?:MRN)*x`, lit: "x"},
		{re: `MRN|PID`, lit: ""},
		{re: `(?:MRN){1,2}`, lit: "MRN", raw: true},
		{re: `(?:MRN){0,2}x`, lit: "x", raw: true},
	} {
		raw, simple := parseBoth(t, c.re)
		tree := simple
		if c.raw {
			tree = raw
		}
		if lit, fold := requiredLiteral(tree); lit != c.lit || fold != c.fold {
			t.Errorf("requiredLiteral(%s) = %q %v, want %q %v", c.re, lit, fold, c.lit, c.fold)
		}
	}
}

// members lists the bytes of a class, for messages and comparisons.
func members(cls *[256]bool) string {
	var b strings.Builder
	for c, in := range cls {
		if in {
			b.WriteByte(byte(c))
		}
	}
	return b.String()
}

func TestRequiredRun(t *testing.T) {
	for _, c := range []struct {
		re  string
		k   int
		cls string
		raw bool
	}{
		{re: `\d{3}\d{4}`, k: 7, cls: "0123456789"},
		{re: `x\d{3}\d{4}`, k: 7, cls: "0123456789"}, // adjacent pieces add up after other pieces too
		{re: `[A-Z]{2}\d{6}`, k: 6, cls: "0123456789"},
		{re: `\d+\d{3}`, k: 4, cls: "0123456789"},
		{re: `(\d\d)\d`, k: 3, cls: "0123456789"},
		{re: `\d(\d\d)`, k: 3, cls: "0123456789"},
		{re: `(?:\d\d)+`, k: 2, cls: "0123456789"},
		{re: `x(?:\d\d)+`, k: 2, cls: "0123456789"},
		{re: `[A-Z]+`, k: 1, cls: "ABCDEFGHIJKLMNOPQRSTUVWXYZ"},
		{re: `[A-Z]{5}`, k: 5, cls: "ABCDEFGHIJKLMNOPQRSTUVWXYZ"},
		{re: `[XZ]{2}`, k: 2, cls: "XZ"},
		{re: `x[ab]{2}y[cd]{3}`, k: 3, cls: "cd"}, // the rarer run
		{re: `x[cd]{3}y[ab]{2}`, k: 3, cls: "cd"},
		{re: `[ab]{2}x[cd]{2}`, k: 2, cls: "ab"}, // equally rare: the first
		{re: `[ab]{2}[cd]{2}`, k: 2, cls: "ab"},  // classes differ: no common run
		{re: `[a\x{80}]{3}`, k: 0},               // not ASCII: a byte test would be wrong
		{re: `é{3}`, k: 0},
		{re: `(?:\d{3})?x`, k: 0},
		{re: `\d{3}|\d{4}`, k: 0},
		{re: `\d{3}`, k: 3, cls: "0123456789", raw: true},
		{re: `(?:x\d{3}){1,2}`, k: 3, cls: "0123456789", raw: true},
		{re: `(?:x\d{3}){0,2}y`, k: 0, raw: true},
		{re: `[ab]{0,2}`, k: 0, raw: true},
	} {
		raw, simple := parseBoth(t, c.re)
		tree := simple
		if c.raw {
			tree = raw
		}
		r := requiredRun(tree)
		if r.k != c.k || (c.k > 0 && members(&r.cls) != c.cls) {
			t.Errorf("requiredRun(%s) = %d of %q, want %d of %q", c.re, r.k, members(&r.cls), c.k, c.cls)
		}
	}
}

// The rough byte shares that rank prefilters: spaces most common, then
// lower-case letters, line ends and light punctuation, then capitals and
// digits, other printable ASCII, and last everything else.
func TestByteFreqRanking(t *testing.T) {
	classes := [][]byte{
		{' '},
		{'a', 'm', 'z'},
		{'\n', '.', ','},
		{'A', 'Z', '0', '9'},
		{'!', '@', '`', '{', '~', '[', '/', ':'},
		{0x00, '\t', 0x1f, 0x7f, 0x80, 0xff},
	}
	for i, cl := range classes {
		for _, c := range cl {
			if byteFreq(c) != byteFreq(cl[0]) {
				t.Errorf("byteFreq(%q) = %v, byteFreq(%q) = %v: same class", c, byteFreq(c), cl[0], byteFreq(cl[0]))
			}
			if i > 0 && byteFreq(c) >= byteFreq(classes[i-1][0]) {
				t.Errorf("byteFreq(%q) = %v, not below byteFreq(%q) = %v", c, byteFreq(c), classes[i-1][0], byteFreq(classes[i-1][0]))
			}
		}
	}
	// A folded letter may be either case; other bytes count once.
	if got, want := literalFreq("a1", true), (byteFreq('a')+byteFreq('A'))*byteFreq('1'); got != want {
		t.Errorf("literalFreq(a1, fold) = %v, want %v", got, want)
	}
	if got, want := literalFreq("a1", false), byteFreq('a')*byteFreq('1'); got != want {
		t.Errorf("literalFreq(a1) = %v, want %v", got, want)
	}
	// Each further byte of a run halves its chance.
	r := classRun{k: 3}
	r.cls['x'], r.cls['y'] = true, true
	if got, want := r.freq(), 2*byteFreq('x')/4; got != want {
		t.Errorf("freq of 3 of [xy] = %v, want %v", got, want)
	}
}
