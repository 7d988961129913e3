// Package scanner finds sensitive data — US social security numbers, payment
// card numbers, NPI and DEA numbers, ABA routing numbers, IBANs and ICD-10
// diagnosis codes — in text, so that a message carrying them can be sealed even
// when the sender forgot to ask for it.
//
// Three choices shape the package:
//
//   - It is a byte scanner, not a set of regular expressions. Every detector
//     here starts with a digit, so one pass skips eight bytes at a time until a
//     digit shows up and only then looks closer. Go's regexp managed about
//     20 MB/s on mail-like text; this approach runs an order of magnitude or
//     more faster, which matters because every outgoing message is scanned
//     while the MTA waits.
//   - Shape alone is not evidence. Most nine- or sixteen-digit numbers in mail
//     are phone numbers, order numbers or tracking codes, so a candidate must
//     pass its checksum and issuer rules, and context words near it (e.g. "SSN",
//     "routing", "diagnosis") raise its score. Some detectors cannot pass the
//     threshold without such a word at all; words like "order" or "tracking"
//     lower it.
//   - Values are never kept. A Finding carries only a masked form (the last
//     four characters at most), so findings can be logged, counted and sent
//     back to the sender without spreading the data they are about.
//
// An organisation's own formats and word lists come in as admin rules
// (CompileRules, Options.Rules; see rules.go), which keep the same promises:
// bounded work whatever the rule, and masked findings.
package scanner

import (
	"encoding/binary"
	"math/bits"
	"slices"
)

// Finding is one detected item. The value itself is never stored, only its
// masked form, so findings are safe to log and to mail back to the sender.
type Finding struct {
	Detector string  `json:"detector"` // one of Detectors(), or an admin rule's name; Title(Detector) names it in words
	Masked   string  `json:"masked"`   // e.g. "***-**-6789"; at most the last four characters kept
	Offset   int     `json:"offset"`   // byte offset of the candidate's first byte in the text
	Score    float64 `json:"score"`    // 0..1: base score from validation, adjusted by context words
	// Where names the part of the message the finding is in, in words:
	// "message body", "subject", "attachment lab.pdf, page 1". Set by
	// Extracted.Scan; Scan on bare text leaves it empty.
	Where string `json:"where,omitempty"`
}

// Options select detectors and the score a finding needs.
type Options struct {
	Detectors []string // built-in names; empty means all, unknown names are ignored
	Threshold float64  // minimum score; zero or less means the default, 0.5
	// Rules are the admin's pattern and keyword rules; nil means none. They
	// run whatever Detectors says, and their findings have Score 1: a rule
	// is the admin's own definition of what counts.
	Rules *Rules
}

const defaultThreshold = 0.5

// det indexes the built-in detectors; the order is the order of Detectors().
type det uint8

const (
	dSSN det = iota
	dCard
	dNPI
	dDEA
	dABA
	dIBAN
	dICD
	dMBI
	numDet
)

var detNames = [numDet]string{"us_ssn", "credit_card", "us_npi", "us_dea", "aba_routing", "iban", "icd10", "us_mbi"}

// detTitles name the detectors in words, for the people who read notices.
var detTitles = [numDet]string{
	"Social Security number", "payment card number", "National Provider Identifier (NPI)",
	"DEA registration number", "bank routing number", "IBAN (bank account number)",
	"diagnosis code (ICD-10)", "Medicare Beneficiary Identifier",
}

// Detectors returns the names of the built-in detectors.
func Detectors() []string { return slices.Clone(detNames[:]) }

// Title names a detector in words ("Social Security number"); an admin
// rule's name, or any name the scanner does not know, is returned as it is.
func Title(detector string) string {
	for d, n := range detNames {
		if n == detector {
			return detTitles[d]
		}
	}
	return detector
}

// Scan returns the findings in text whose score reaches the threshold, in
// offset order. It never fails: text that is not UTF-8 is simply bytes.
func Scan(text []byte, opt Options) []Finding {
	s := scan{t: text, thr: opt.Threshold}
	if s.thr <= 0 {
		s.thr = defaultThreshold
	}
	if len(opt.Detectors) == 0 {
		s.on = 1<<numDet - 1
	} else {
		for _, name := range opt.Detectors {
			for d, n := range detNames {
				if n == name {
					s.on |= 1 << d
				}
			}
		}
	}
	if s.on != 0 {
		s.run()
	}
	if opt.Rules != nil {
		s.runRules(opt.Rules)
	}
	// Built-in findings are produced left to right; admin rules add theirs
	// after, rule by rule, so the sort restores offset order.
	slices.SortStableFunc(s.out, func(a, b Finding) int { return a.Offset - b.Offset })
	return s.out
}

type scan struct {
	t    []byte
	on   uint16 // bit per det
	thr  float64
	out  []Finding
	gs   [maxGroups]group // numberRun's scratch space
	seps [maxGroups]byte
	// work is the admin regexes' work so far (bytes × instructions), held
	// under maxWork (or maxWorkTest when a test sets it); reBytes counts the
	// bytes alone, for tests.
	work, reBytes, maxWorkTest int
}

func (s *scan) workLimit() int {
	if s.maxWorkTest > 0 {
		return s.maxWorkTest
	}
	return maxWork
}

func (s *scan) enabled(d det) bool { return s.on&(1<<d) != 0 }

func (s *scan) emit(d det, off int, score float64, masked string) {
	s.out = append(s.out, Finding{Detector: detNames[d], Masked: masked, Offset: off, Score: clamp(score)})
}

func clamp(x float64) float64 {
	if x < 0 {
		return 0
	}
	if x > 1 {
		return 1
	}
	return x
}

// run is the single pass. Each iteration jumps to the next digit, works out
// which token the digit belongs to, hands the token to the number or the
// letter-prefix path, and resumes after the token, so digits inside a longer
// alphanumeric token are never split out into candidates of their own.
func (s *scan) run() {
	t := s.t
	n := len(t)
	i := 0
	for {
		if i = nextDigit(t, i); i >= n {
			return
		}
		// Letters glued in front: IBAN (2), DEA (2, or 1 with '9'), ICD-10 (1).
		// Three or more letters make it a word such as "abc123", not data.
		ts := i
		for ts > 0 && i-ts <= 2 && isLetter(t[ts-1]) {
			ts--
		}
		switch {
		case i-ts > 2 || !boundaryBefore(t, ts):
			i = skipAlnum(t, i)
		case ts < i:
			i = s.letterToken(ts, i)
		case t[i] != '0' && i+1 < n && isUpper(t[i+1]):
			// A digit and a capital: the shape of a Medicare number.
			end := skipAlnum(t, i)
			if s.enabled(dMBI) {
				end = s.mbi(i, end)
			}
			i = end
		default:
			i = s.numberRun(i)
		}
	}
}

// digitMask sets the high bit of each byte of x that is in '0'..'9' (the
// exact "hasbetween" trick from Bit Twiddling Hacks, 47 < b < 58: no byte
// borrows from or carries into its neighbour, so the bits are per byte).
func digitMask(x uint64) uint64 {
	const ones = 0x0101010101010101
	const high = 0x8080808080808080
	const m, n = '0' - 1, '9' + 1
	t := x & (ones * 127)
	return (ones*(127+n) - t) &^ x & (t + ones*(127-m)) & high
}

func hasDigit(x uint64) bool { return digitMask(x) != 0 }

// nextDigit returns the index of the first digit in t at or after i, or
// len(t): eight bytes at a time, landing on the digit itself.
func nextDigit(t []byte, i int) int {
	for ; i+8 <= len(t); i += 8 {
		if m := digitMask(binary.LittleEndian.Uint64(t[i:])); m != 0 {
			return i + bits.TrailingZeros64(m)>>3
		}
	}
	for i < len(t) && !isDigit(t[i]) {
		i++
	}
	return i
}

func isDigit(c byte) bool  { return c-'0' < 10 }
func isUpper(c byte) bool  { return c-'A' < 26 }
func isLetter(c byte) bool { return (c|0x20)-'a' < 26 }
func isAlnum(c byte) bool  { return isDigit(c) || isLetter(c) }

// isJoiner: punctuation that glues two alphanumeric tokens into one (file
// names, versions, decimals, dates, e-mail addresses, URLs). A number
// attached to another token through one of these is part of something else.
func isJoiner(c byte) bool {
	switch c {
	case '.', ',', '/', '\\', '-', '_', '@', '=', '&', '%', ':':
		return true
	}
	return false
}

// boundaryBefore: a candidate at i must not continue a preceding token.
// After a colon only a digit counts as glue ("12:30"), so labels written
// without a space, as in "SSN:536-22-1234", still work.
func boundaryBefore(t []byte, i int) bool {
	if i == 0 {
		return true
	}
	p := t[i-1]
	if isAlnum(p) {
		return false
	}
	if isJoiner(p) && i >= 2 {
		q := t[i-2]
		if p == ':' {
			return !isDigit(q)
		}
		return !isAlnum(q)
	}
	return true
}

// boundaryAfter: a candidate ending before j must not run on into another token.
func boundaryAfter(t []byte, j int) bool {
	if j >= len(t) {
		return true
	}
	c := t[j]
	if isAlnum(c) {
		return false
	}
	if isJoiner(c) && j+1 < len(t) && isAlnum(t[j+1]) {
		return false
	}
	return true
}

func skipAlnum(t []byte, i int) int {
	for i < len(t) && isAlnum(t[i]) {
		i++
	}
	return i
}

// maxGroups bounds the digit groups kept for one run; a run with more is a
// table or a dump, and only its first groups are looked at.
const maxGroups = 16

type group struct{ start, end int }

// numberRun reads a run of digit groups joined by single spaces or dashes,
// starting at the digit t[i], evaluates it and returns where scanning resumes.
func (s *scan) numberRun(i int) int {
	t := s.t
	n := len(t)
	// Reused across runs: zeroing fresh arrays for every number showed up
	// in profiles. Only entries below ng are read.
	gs, seps := &s.gs, &s.seps
	ng := 0
	// '+' introduces international phone numbers.
	headOK := !(i > 0 && t[i-1] == '+')
	tailOK := true
	j := i
	for {
		st := j
		for j < n && isDigit(t[j]) {
			j++
		}
		if ng < maxGroups {
			gs[ng] = group{st, j}
			ng++
		} else {
			tailOK = false
		}
		if j+1 < n && (t[j] == ' ' || t[j] == '-') && isDigit(t[j+1]) {
			if ng < maxGroups {
				seps[ng-1] = t[j]
			}
			j++
			continue
		}
		break
	}
	seps[ng-1] = 0 // nothing follows the last group
	if gs[ng-1].end-gs[0].start-(ng-1) < 9 {
		// Fewer than nine digits in all (dates, times, amounts): no
		// detector takes a number that short.
		return skipAlnum(t, j)
	}
	if !boundaryAfter(t, j) {
		tailOK = false
	}
	s.evalRun(gs[:ng], seps[:ng], headOK, tailOK)
	return skipAlnum(t, j)
}

// evalRun tries spans of consecutive groups, longest first from the leftmost
// start, so "Box 12 123-45-6789" still yields the SSN while one value is never
// reported twice through overlapping spans.
func (s *scan) evalRun(gs []group, seps []byte, headOK, tailOK bool) {
	last := len(gs) - 1
	for s0 := 0; s0 <= last; {
		// A span must not begin or end at a dash: "12345-6789" is one token.
		if (s0 == 0 && !headOK) || (s0 > 0 && seps[s0-1] == '-') {
			s0++
			continue
		}
		nd, eMax := 0, s0-1
		for e := s0; e <= last; e++ {
			nd += gs[e].end - gs[e].start
			if nd > 19 {
				break
			}
			eMax = e
		}
		matched := false
		nd = 0
		for e := s0; e <= eMax; e++ {
			nd += gs[e].end - gs[e].start
		}
		for e := eMax; e >= s0; e, nd = e-1, nd-(gs[e].end-gs[e].start) {
			if (e == last && !tailOK) || (e < last && seps[e] == '-') || !viable(nd, e-s0+1) {
				continue
			}
			if s.evalSpan(gs, seps, s0, e) {
				s0 = e + 1
				matched = true
				break
			}
		}
		if !matched {
			s0++
		}
	}
}

// viable reports whether nd digits in ng groups fit any detector's shape at
// all (SSN and ABA: nine, NPI: ten in one group, cards: 12 to 19), so that
// evalRun skips the rest without copying their digits.
func viable(nd, ng int) bool {
	switch {
	case nd == 9:
		return ng == 1 || ng == 3
	case nd == 10:
		return ng == 1
	}
	return nd >= 12 && nd <= 19
}

// evalSpan validates groups s0..e as each numeric detector that fits its shape
// and emits the best-scoring finding at or above the threshold.
func (s *scan) evalSpan(gs []group, seps []byte, s0, e int) bool {
	t := s.t
	var sep byte
	for k := s0; k < e; k++ {
		if k == s0 {
			sep = seps[k]
		} else if seps[k] != sep {
			return false // mixed separators: not one formatted number
		}
	}
	var d [19]byte
	var lens [maxGroups]uint8
	nd, ng := 0, 0
	for k := s0; k <= e; k++ {
		for p := gs[k].start; p < gs[k].end; p++ {
			d[nd] = t[p] - '0'
			nd++
		}
		lens[ng] = uint8(min(gs[k].end-gs[k].start, 255))
		ng++
	}
	digits := d[:nd]
	if allSame(digits) {
		return false // 000000000, 4444 4444 ...: placeholders, not data
	}
	start, end := gs[s0].start, gs[e].end
	// The same grouping continuing on either side means this span is a slice
	// of a longer formatted number (e.g. a spaced tracking number).
	cont := sep != 0 && ((s0 > 0 && seps[s0-1] == sep) || (e < len(gs)-1 && seps[e] == sep))
	c := ctx{s: s, start: start, end: end}

	best, bestScore, bestMask, bestDist := det(numDet), -1.0, "", -1
	// nearer reports whether context distance a beats b (-1: no context).
	nearer := func(a, b int) bool { return a >= 0 && (b < 0 || a < b) }
	try := func(dt det, score float64, mask func() string) {
		if cont {
			score -= contPenalty
		}
		// On equal scores the detector whose context word stands nearer
		// wins: "SSN … routing (ABA): 119463415" is a routing number.
		if score >= s.thr && (score > bestScore || (score == bestScore && nearer(c.dist[dt], bestDist))) {
			best, bestScore, bestMask, bestDist = dt, score, mask(), c.dist[dt]
		}
	}
	shape := lens[:ng]
	switch nd {
	case 9:
		if s.enabled(dSSN) {
			if score, ok := ssnScore(digits, shape, sep, &c); ok {
				try(dSSN, score, func() string { return maskSSN(digits) })
			}
		}
		if s.enabled(dABA) && ng == 1 && abaValid(digits) {
			try(dABA, c.score(dABA, abaBase), func() string { return maskDigits(digits) })
		}
	case 10:
		if s.enabled(dNPI) && ng == 1 && npiValid(digits) {
			try(dNPI, c.score(dNPI, npiBase), func() string { return maskDigits(digits) })
		}
	}
	if nd >= 12 && s.enabled(dCard) {
		if score, ok := cardScore(digits, shape, &c); ok {
			try(dCard, score, func() string { return maskDigits(digits) })
		}
	}
	if best == numDet {
		return false
	}
	s.emit(best, start, bestScore, bestMask)
	return true
}

func allSame(d []byte) bool {
	for _, x := range d[1:] {
		if x != d[0] {
			return false
		}
	}
	return true
}

// letterToken handles a token of one or two letters followed by the digit at
// t[i] (the token starts at ts) and returns where scanning resumes.
func (s *scan) letterToken(ts, i int) int {
	t := s.t
	if i-ts == 2 {
		if s.enabled(dIBAN) && isUpper(t[ts]) && isUpper(t[ts+1]) {
			if end, ok := s.iban(ts); ok {
				return end
			}
		}
		if s.enabled(dDEA) && isUpper(t[ts+1]) {
			s.dea(ts, i)
		}
	} else {
		if s.enabled(dDEA) && t[i] == '9' {
			s.dea(ts, i+1)
		}
		if s.enabled(dICD) {
			s.icd(ts, i)
		}
	}
	return skipAlnum(t, i)
}

// digitRun returns the end of the digit run starting at i.
func digitRun(t []byte, i int) int {
	for i < len(t) && isDigit(t[i]) {
		i++
	}
	return i
}
