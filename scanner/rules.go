package scanner

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"unicode/utf8"
)

// Admin rules extend the built-in detectors with an organisation's own
// formats (a medical record number, an employee ID) and dictionaries (PHI
// terms, project code names). They come from the rules file, so they are
// untrusted input in one sense: a careless regex or a huge word list must not
// turn a 10 MiB scan into minutes. Hence:
//
//   - Regexes use Go's RE2 engine (linear in the input, no backtracking
//     blow-up), are capped in source length and compiled program size, and
//     must not match the empty string. The text is searched first for what
//     every match must contain — a literal (the "MRN" of `MRN[:#]?\s*\d{7}`)
//     or a run of one ASCII class (the six digits of `[A-Z]{2}\d{6}`) — and
//     the regex runs only in bounded windows around those hits, so text
//     without them costs one fast pass. The regex work of a scan is capped;
//     past the cap the rule fires (WorkLimitMask) rather than guess.
//   - Keywords of all rules are compiled into one Aho-Corasick automaton
//     (a dense DFA over byte classes) that only looks where a whole word
//     can begin: one pass over the text whatever the number of words.
//
// Admin findings have Score 1 (the rule is the admin's own definition of
// what counts) and are reported only when the rule matched at least
// min_count times in the text.

// PatternRule is one [[scanner.pattern]] of the rules file.
type PatternRule struct {
	Name     string
	Regex    string   // RE2 syntax (Go regexp); must not match the empty string
	Context  []string // if set, a match counts only with one of these words near it (as for the built-ins: 64 bytes before, 32 after, ASCII case-insensitive, must start with a-z)
	MinCount int      // findings are reported only from this many matches on; 0 means 1
}

// KeywordRule is one [[scanner.keywords]] of the rules file. Words match
// whole words, case-insensitively; a word list file is read by the caller
// with LoadWordList.
type KeywordRule struct {
	Name     string
	Words    []string
	MinCount int // findings are reported only from this many matches on; 0 means 1
}

// Rules is a compiled, immutable set of admin rules, safe for concurrent
// use by any number of scans.
type Rules struct {
	pats  []*pattern
	kw    *dict    // nil without keyword rules
	kwMin []int    // per keyword rule: min_count
	kwNam []string // per keyword rule: name
}

// Limits on what a rules file may ask for. They bound the work per scanned
// byte (program size, window size) and the memory of the keyword automaton.
const (
	maxRuleName  = 64
	maxRegexLen  = 1000
	maxProgInsts = 1000
	maxWindow    = 4096 // longest match of a regex of bounded length
	maxUnbounded = 256  // longest match reported for other regexes; see scanPattern
	maxSpan      = 256 << 10
	// maxWork bounds the regex work of one Scan: bytes handed to the
	// engine times program instructions, summed over all pattern rules.
	// Go's engine costs about a nanosecond per unit in the worst case on
	// the machines measured, so no message spends more than a few seconds
	// in admin regexes, whatever they are.
	maxWork          = 1 << 31
	maxWordLen       = 128
	maxContextWords  = 64
	maxDictStates    = 1 << 18
	maxDictTableSize = 32 << 20 // bytes of the DFA transition table
)

// keywordMask stands in for a keyword in findings. The word is withheld
// even though it is the admin's own policy term, not the sender's data: in a
// medical dictionary the word is the diagnosis ("HIV", "chemotherapy"), which
// is as sensitive as an ICD-10 code (whose mask keeps nothing either), and
// findings go to logs and counters. The rule's name says what kind of term
// fired; a fixed mask does not even leak the word's length.
const keywordMask = "****"

// CompileRules validates and compiles admin rules. An error names the rule
// and the field, e.g. `pattern "mrn": regex: missing closing ]: ...`.
// Names must be unique and must not be a built-in detector's name.
func CompileRules(pats []PatternRule, kws []KeywordRule) (*Rules, error) {
	seen := map[string]string{}
	for _, n := range detNames {
		seen[n] = "a built-in detector"
	}
	checkName := func(kind, name string) error {
		if err := validName(name); err != nil {
			return fmt.Errorf("%s %q: name: %w", kind, name, err)
		}
		if prev, dup := seen[name]; dup {
			return fmt.Errorf("%s %q: name: already used by %s", kind, name, prev)
		}
		seen[name] = kind + " rule"
		return nil
	}
	r := &Rules{}
	for _, p := range pats {
		if err := checkName("pattern", p.Name); err != nil {
			return nil, err
		}
		cp, err := compilePattern(p)
		if err != nil {
			return nil, fmt.Errorf("pattern %q: %w", p.Name, err)
		}
		r.pats = append(r.pats, cp)
	}
	var b dictBuilder
	for i, k := range kws {
		if err := checkName("keywords", k.Name); err != nil {
			return nil, err
		}
		if k.MinCount < 0 {
			return nil, fmt.Errorf("keywords %q: min_count: must not be negative", k.Name)
		}
		if len(k.Words) == 0 {
			return nil, fmt.Errorf("keywords %q: words: the list is empty", k.Name)
		}
		for _, w := range k.Words {
			if err := b.add(w, i); err != nil {
				return nil, fmt.Errorf("keywords %q: words: %q: %w", k.Name, w, err)
			}
		}
		r.kwMin = append(r.kwMin, max(k.MinCount, 1))
		r.kwNam = append(r.kwNam, k.Name)
	}
	if len(kws) > 0 {
		d, err := b.build()
		if err != nil {
			return nil, fmt.Errorf("keywords: %w", err)
		}
		r.kw = d
	}
	return r, nil
}

// Names returns the rule names in the order given to CompileRules, patterns
// first: the set of Finding.Detector values beyond Detectors().
func (r *Rules) Names() []string {
	if r == nil {
		return nil
	}
	var out []string
	for _, p := range r.pats {
		out = append(out, p.name)
	}
	return append(out, r.kwNam...)
}

func validName(name string) error {
	if name == "" {
		return errors.New("must not be empty")
	}
	if len(name) > maxRuleName {
		return fmt.Errorf("longer than %d bytes", maxRuleName)
	}
	for _, c := range []byte(name) {
		if !isAlnum(c) && c != '_' && c != '-' && c != '.' {
			return errors.New("use only letters, digits, '_', '-' and '.'")
		}
	}
	return nil
}

// LoadWordList reads a word list: one word or phrase per line, surrounding
// white space ignored, empty lines and lines starting with '#' skipped.
// Errors name the line.
func LoadWordList(r io.Reader) ([]string, error) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 4096), 64<<10)
	var words []string
	n := 0
	for sc.Scan() {
		n++
		line := sc.Text()
		if n == 1 {
			line = strings.TrimPrefix(line, "\uFEFF")
		}
		w := strings.TrimSpace(line)
		if w == "" || w[0] == '#' {
			continue
		}
		if err := checkWord(w); err != nil {
			return nil, fmt.Errorf("line %d: %q: %w", n, w, err)
		}
		words = append(words, w)
	}
	if err := sc.Err(); err != nil {
		if errors.Is(err, bufio.ErrTooLong) {
			return nil, fmt.Errorf("line %d: longer than %d bytes", n+1, 64<<10)
		}
		return nil, err
	}
	return words, nil
}

func checkWord(w string) error {
	switch {
	case strings.TrimSpace(w) == "":
		return errors.New("empty word")
	case len(w) > maxWordLen:
		return fmt.Errorf("longer than %d bytes", maxWordLen)
	case !utf8.ValidString(w):
		return errors.New("not valid UTF-8")
	}
	return nil
}

// runRules adds the findings of the admin rules r to s.out.
func (s *scan) runRules(r *Rules) {
	for _, p := range r.pats {
		hs, done := s.scanPattern(p)
		if !done {
			off := 0
			if len(hs) > 0 {
				off = hs[len(hs)-1].start
			}
			s.out = append(s.out, Finding{Detector: p.name, Masked: WorkLimitMask, Offset: off, Score: 1})
			continue
		}
		if len(hs) < p.min {
			continue
		}
		s.out = slices.Grow(s.out, len(hs))
		for _, h := range hs {
			s.out = append(s.out, Finding{Detector: p.name, Masked: maskMatch(s.t[h.start:h.end]), Offset: h.start, Score: 1})
		}
	}
	if r.kw == nil {
		return
	}
	for rule, hs := range r.kw.scan(s.t, len(r.kwNam)) {
		if len(hs) < r.kwMin[rule] {
			continue
		}
		s.out = slices.Grow(s.out, len(hs))
		for _, h := range hs {
			s.out = append(s.out, Finding{Detector: r.kwNam[rule], Masked: keywordMask, Offset: h.start, Score: 1})
		}
	}
}
