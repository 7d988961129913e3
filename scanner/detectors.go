package scanner

// Scores. Each detector starts from a base that says how much a valid
// checksum is worth on its own (a nine-digit checksum is passed by one random
// number in ten, so ABA and NPI need a context word to reach the default
// threshold; an IBAN's mod-97 plus its country length is strong by itself).
// Context words add ctxBoost; negative words ("order", "tracking", ...) take
// negPenalty off. The word nearest before a value describes it ("Order
// number: …", "SSN: …"), so that one decides; words after the value count
// only when none stands before it.
const (
	ctxBoost    = 0.35
	negPenalty  = 0.3
	contPenalty = 0.3

	ssnDashedBase     = 0.65 // AAA-GG-SSSS is how SSNs are written
	ssnSpacedBase     = 0.45 // AAA GG SSSS also looks like phone fragments
	ssnContiguousBase = 0.3  // any nine-digit number; needs "SSN" nearby

	cardGroupedBase    = 0.65 // 4-4-4-4 / 4-6-5 is how cards are written
	cardContiguousBase = 0.4  // long IDs pass Luhn one time in ten
	cardWeakBase       = 0.3  // Maestro's "starts with 6" is too broad alone

	npiBase  = 0.3
	abaBase  = 0.3
	deaBase  = 0.3 // one in ten passes the checksum; KB5032189-style IDs abound
	ibanBase = 0.8
	icdBase  = 0.35
)

// Context words, lower case. A word matches at a word boundary, optionally
// followed by a plural 's'.
var ctxWords = [numDet]wordSet{
	dSSN:  newWordSet("ssn", "social security", "social sec", "social", "ss#", "soc sec", "soc. sec", "taxpayer", "ssa"),
	dCard: newWordSet("card", "visa", "mastercard", "amex", "american express", "credit", "debit", "cc", "expiry", "exp", "expires", "expiration", "cvv", "cvc", "cardholder"),
	dNPI:  newWordSet("npi", "provider", "national provider"),
	dDEA:  newWordSet("dea", "prescriber"),
	dABA:  newWordSet("routing", "aba", "rtn", "transit", "abartn"),
	dIBAN: newWordSet("iban", "bank", "account", "swift", "bic"),
	dICD:  newWordSet("diagnosis", "diagnoses", "diagnosed", "dx", "icd", "icd-10", "icd10", "diag"),
	dMBI:  newWordSet("mbi", "medicare", "beneficiary", "hicn", "cms"),
}

var negWords = newWordSet("order", "tracking", "track", "invoice", "ref", "reference", "phone", "tel", "call", "fax", "isbn", "sku", "ticket", "serial", "part", "shipment", "po")

// wordSet indexes words by first letter, so a window is walked once and
// each word start is compared only with the words that can match there;
// first marks the bytes (either case) some word begins with, so the walk
// passes every other byte with one table lookup.
type wordSet struct {
	first    [256]bool
	byLetter [26][]string
}

func newWordSet(words ...string) wordSet {
	var ws wordSet
	for _, w := range words {
		ws.byLetter[w[0]-'a'] = append(ws.byLetter[w[0]-'a'], w)
		ws.first[w[0]] = true
		ws.first[w[0]-0x20] = true
	}
	return ws
}

// ctx computes context words lazily around one candidate: only candidates
// that already passed validation pay for the window search.
type ctx struct {
	s          *scan
	start, end int
	negDone    bool
	negBefore  int // distance of the nearest negative word before, or -1
	negAfter   int
	// dist[d] is how far the context word that boosted detector d stands
	// (words after the value rank behind every word before it); -1 if none.
	dist [numDet]int
}

const (
	ctxBefore = 64
	ctxAfter  = 32
)

// nearBefore returns the distance from the value back to the start of the
// nearest word of ws before it, or -1.
func (c *ctx) nearBefore(ws *wordSet) int {
	if p := findWord(c.s.t, max(0, c.start-ctxBefore), c.start, ws, true); p >= 0 {
		return c.start - p
	}
	return -1
}

// nearAfter returns the distance from the value's end to the nearest word
// of ws after it, or -1.
func (c *ctx) nearAfter(ws *wordSet) int {
	if p := findWord(c.s.t, c.end, min(len(c.s.t), c.end+ctxAfter), ws, false); p >= 0 {
		return p - c.end
	}
	return -1
}

// has reports whether a word of ws stands in the window.
func (c *ctx) has(ws *wordSet) bool {
	return c.nearBefore(ws) >= 0 || c.nearAfter(ws) >= 0
}

// score applies the context rules for detector d to base.
func (c *ctx) score(d det, base float64) float64 {
	score, dist := c.scoreWith(&ctxWords[d], base)
	c.dist[d] = dist
	return score
}

// scoreWith applies the context rules with the positive words ws to base and
// returns the score and how far the boosting word stands (-1: none; words
// after the value rank behind every word before it).
func (c *ctx) scoreWith(ws *wordSet, base float64) (float64, int) {
	// The word before is searched first: when there is one, the window
	// after the value does not matter.
	posB := c.nearBefore(ws)
	if posB >= 0 {
		// Only a negative word between that one and the value can be
		// nearer: search just that stretch.
		if findWord(c.s.t, c.start-posB+1, c.start, &negWords, true) >= 0 {
			return base - negPenalty, -1
		}
		return base + ctxBoost, posB
	}
	posA := c.nearAfter(ws)
	if posA < 0 && base < c.s.thr {
		return base, -1 // negative words could only lower it further
	}
	if !c.negDone {
		c.negBefore, c.negAfter = c.nearBefore(&negWords), c.nearAfter(&negWords)
		c.negDone = true
	}
	switch {
	case c.negBefore >= 0:
		return base - negPenalty, -1
	case posA >= 0:
		return base + ctxBoost, ctxBefore + posA
	case c.negAfter >= 0:
		return base - negPenalty, -1
	}
	return base, -1
}

// findWord returns where the word of ws nearest to one end of t[lo:hi]
// starts (the end when backward, else the start), or -1; the whole word
// must lie inside the window. Case folding is ASCII-only on purpose: the
// words are ASCII and a byte compare keeps this cheap.
func findWord(t []byte, lo, hi int, ws *wordSet, backward bool) int {
	p, step := lo, 1
	if backward {
		p, step = hi-1, -1
	}
	for ; p >= lo && p < hi; p += step {
		if !ws.first[t[p]] || (p > 0 && isLetter(t[p-1])) {
			continue
		}
		for _, w := range ws.byLetter[t[p]|0x20-'a'] {
			if p+len(w) > hi {
				continue
			}
			k := 1
			for k < len(w) && lower(t[p+k]) == w[k] {
				k++
			}
			if k < len(w) {
				continue
			}
			q := p + len(w)
			if q < len(t) && t[q]|0x20 == 's' {
				q++
			}
			if q < len(t) && isLetter(t[q]) {
				continue
			}
			return p
		}
	}
	return -1
}

func lower(c byte) byte {
	if isUpper(c) {
		return c + 0x20
	}
	return c
}

// ssnScore validates nine digits in AAA-GG-SSSS, AAA GG SSSS or contiguous form
// against the SSA rules.
func ssnScore(d []byte, shape []uint8, sep byte, c *ctx) (float64, bool) {
	var base float64
	switch {
	case len(shape) == 1:
		base = ssnContiguousBase
	case len(shape) == 3 && shape[0] == 3 && shape[1] == 2 && shape[2] == 4:
		base = ssnSpacedBase
		if sep == '-' {
			base = ssnDashedBase
		}
	default:
		return 0, false
	}
	area := int(d[0])*100 + int(d[1])*10 + int(d[2])
	grp := int(d[3])*10 + int(d[4])
	serial := int(d[5])*1000 + int(d[6])*100 + int(d[7])*10 + int(d[8])
	if area == 0 || area == 666 || area >= 900 || grp == 0 || serial == 0 {
		return 0, false
	}
	// Numbers printed on sample cards and in advertising, which the SSA
	// voided; they show up in templates and test data, never as real SSNs.
	// (987-65-4320 to 4329, reserved for advertising, fall under the area
	// rule above: no area from 900 up is issued.)
	switch {
	case area == 78 && grp == 5 && serial == 1120,
		area == 219 && grp == 9 && serial == 9999,
		area == 123 && grp == 45 && serial == 6789:
		return 0, false
	}
	return c.score(dSSN, base), true
}

// luhnSum returns the Luhn sum of d, doubling every second digit from the right.
func luhnSum(d []byte) int {
	sum := 0
	dbl := false
	for k := len(d) - 1; k >= 0; k-- {
		x := int(d[k])
		if dbl {
			x *= 2
			if x > 9 {
				x -= 9
			}
		}
		sum += x
		dbl = !dbl
	}
	return sum
}

func luhn(d []byte) bool { return luhnSum(d)%10 == 0 }

// npiValid: the NPI check digit is a Luhn digit computed as if the number
// carried the ISO card prefix 80840.
func npiValid(d []byte) bool {
	if d[0] != 1 && d[0] != 2 {
		return false
	}
	buf := [15]byte{8, 0, 8, 4, 0}
	copy(buf[5:], d)
	return luhn(buf[:])
}

func abaValid(d []byte) bool {
	p := int(d[0])*10 + int(d[1])
	if !(p <= 12 || (p >= 21 && p <= 32) || (p >= 61 && p <= 72) || p == 80) {
		return false
	}
	sum := 3*int(d[0]+d[3]+d[6]) + 7*int(d[1]+d[4]+d[7]) + int(d[2]+d[5]+d[8])
	return sum%10 == 0
}

// dea checks the DEA registration number whose letters run from ts and whose
// seven digits start at i ('9' may stand in for the second letter).
func (s *scan) dea(ts, i int) {
	t := s.t
	j := digitRun(t, i)
	if j-i != 7 || !boundaryAfter(t, j) {
		return
	}
	switch t[ts] {
	case 'A', 'B', 'C', 'D', 'E', 'F', 'G', 'H', 'J', 'K', 'L', 'M', 'P', 'R', 'S', 'T', 'U', 'X':
	default:
		return
	}
	var d [7]int
	for k := range d {
		d[k] = int(t[i+k] - '0')
	}
	if (d[0]+d[2]+d[4]+2*(d[1]+d[3]+d[5]))%10 != d[6] {
		return
	}
	c := ctx{s: s, start: ts, end: j}
	score := c.score(dDEA, deaBase)
	if score < s.thr {
		return
	}
	s.emit(dDEA, ts, score, "*****"+string(t[j-4:j]))
}

// ibanLen is the IBAN length of each country, from the SWIFT IBAN registry.
var ibanLen = map[[2]byte]int{
	{'A', 'D'}: 24, {'A', 'E'}: 23, {'A', 'L'}: 28, {'A', 'T'}: 20, {'A', 'Z'}: 28,
	{'B', 'A'}: 20, {'B', 'E'}: 16, {'B', 'G'}: 22, {'B', 'H'}: 22, {'B', 'R'}: 29,
	{'B', 'Y'}: 28, {'C', 'H'}: 21, {'C', 'R'}: 22, {'C', 'Y'}: 28, {'C', 'Z'}: 24,
	{'D', 'E'}: 22, {'D', 'K'}: 18, {'D', 'O'}: 28, {'E', 'E'}: 20, {'E', 'G'}: 29,
	{'E', 'S'}: 24, {'F', 'I'}: 18, {'F', 'O'}: 18, {'F', 'R'}: 27, {'G', 'B'}: 22,
	{'G', 'E'}: 22, {'G', 'I'}: 23, {'G', 'L'}: 18, {'G', 'R'}: 27, {'G', 'T'}: 28,
	{'H', 'R'}: 21, {'H', 'U'}: 28, {'I', 'E'}: 22, {'I', 'L'}: 23, {'I', 'S'}: 26,
	{'I', 'T'}: 27, {'J', 'O'}: 30, {'K', 'W'}: 30, {'K', 'Z'}: 20, {'L', 'B'}: 28,
	{'L', 'C'}: 32, {'L', 'I'}: 21, {'L', 'T'}: 20, {'L', 'U'}: 20, {'L', 'V'}: 21,
	{'M', 'C'}: 27, {'M', 'D'}: 24, {'M', 'E'}: 22, {'M', 'K'}: 19, {'M', 'R'}: 27,
	{'M', 'T'}: 31, {'M', 'U'}: 30, {'N', 'L'}: 18, {'N', 'O'}: 15, {'P', 'K'}: 24,
	{'P', 'L'}: 28, {'P', 'S'}: 29, {'P', 'T'}: 25, {'Q', 'A'}: 29, {'R', 'O'}: 24,
	{'R', 'S'}: 22, {'S', 'A'}: 24, {'S', 'C'}: 31, {'S', 'E'}: 24, {'S', 'I'}: 19,
	{'S', 'K'}: 24, {'S', 'M'}: 27, {'S', 'T'}: 25, {'S', 'V'}: 28, {'T', 'L'}: 23,
	{'T', 'N'}: 24, {'T', 'R'}: 26, {'U', 'A'}: 29, {'V', 'A'}: 22, {'V', 'G'}: 24,
	{'X', 'K'}: 20,
}

// iban checks for an IBAN starting at ts (two upper-case letters, the digit
// after them already seen), compact or in groups of four, and returns the end
// of the IBAN when one was reported.
func (s *scan) iban(ts int) (int, bool) {
	t := s.t
	want := ibanLen[[2]byte{t[ts], t[ts+1]}]
	if want == 0 || ts+3 >= len(t) || !isDigit(t[ts+3]) {
		return 0, false
	}
	var buf [34]byte
	nb, grp, j := 0, 0, ts
	for j < len(t) && nb < want {
		c := t[j]
		if isDigit(c) || isUpper(c) {
			buf[nb] = c
			nb++
			grp++
			j++
			continue
		}
		if c == ' ' && grp == 4 && j+1 < len(t) && (isDigit(t[j+1]) || isUpper(t[j+1])) {
			grp = 0
			j++
			continue
		}
		break
	}
	if nb != want || !boundaryAfter(t, j) {
		return 0, false
	}
	v := buf[:nb]
	// ISO 13616: move the first four characters to the end, letters become
	// 10..35, and the whole number mod 97 must be 1.
	rem := 0
	for k := range v {
		c := v[(k+4)%len(v)]
		if isDigit(c) {
			rem = (rem*10 + int(c-'0')) % 97
		} else {
			rem = (rem*100 + int(c-'A'+10)) % 97
		}
	}
	if rem != 1 {
		return 0, false
	}
	c := ctx{s: s, start: ts, end: j}
	score := c.score(dIBAN, ibanBase)
	if score < s.thr {
		return 0, false
	}
	s.emit(dIBAN, ts, score, maskIBAN(v))
	return j, true
}

// maskIBAN keeps the country (not secret, useful to the reader) and the last
// four characters, printed in the usual groups of four.
func maskIBAN(v []byte) string {
	out := make([]byte, 0, len(v)+len(v)/4)
	for k, c := range v {
		if k > 0 && k%4 == 0 {
			out = append(out, ' ')
		}
		if k >= 2 && k < len(v)-4 {
			c = '*'
		}
		out = append(out, c)
	}
	return string(out)
}

// icd checks for an ICD-10 code: the letter at ts, two digits at i, an
// optional "." and one to four alphanumerics. Codes such as "E11" are also
// ordinary part numbers and grid references, so they are reported only with
// a diagnosis word nearby, whatever the threshold.
func (s *scan) icd(ts, i int) {
	t := s.t
	if c := t[ts]; !isUpper(c) || c == 'U' {
		return
	}
	j := digitRun(t, i)
	if j-i != 2 {
		return
	}
	if j+1 < len(t) && t[j] == '.' && isAlnum(t[j+1]) {
		k := j + 1
		for k < len(t) && isAlnum(t[k]) && k-j <= 4 {
			k++
		}
		j = k
	}
	if !boundaryAfter(t, j) {
		return
	}
	// "Vitamin B12" (or "vit. D25") names a vitamin, and clinical mail that
	// has a diagnosis word near it mentions vitamins all the time.
	if afterWord(t, ts, "vitamin") || afterWord(t, ts, "vit") {
		return
	}
	c := ctx{s: s, start: ts, end: j}
	if !c.has(&ctxWords[dICD]) {
		return
	}
	score := icdBase + ctxBoost
	if score < s.thr {
		return
	}
	// A diagnosis code is itself the sensitive fact, so even its chapter
	// letter is masked; only its shape remains.
	m := make([]byte, j-ts)
	for k := range m {
		m[k] = '*'
		if t[ts+k] == '.' {
			m[k] = '.'
		}
	}
	s.emit(dICD, ts, score, string(m))
}

// afterWord reports whether the word w (lower case) stands right before i,
// separated by spaces or a dot and a space.
func afterWord(t []byte, i int, w string) bool {
	k := i
	for k > 0 && t[k-1] == ' ' {
		k--
	}
	if k == i {
		return false
	}
	if k > 0 && t[k-1] == '.' {
		k--
	}
	if k < len(w) || (k > len(w) && isLetter(t[k-len(w)-1])) {
		return false
	}
	for n := range len(w) {
		if lower(t[k-len(w)+n]) != w[n] {
			return false
		}
	}
	return true
}

// maskDigits prints digit values (0..9) as stars except the last four, in
// one allocation: masks are built for every finding.
func maskDigits(d []byte) string {
	var buf [19]byte
	out := buf[:len(d)]
	for k := range out {
		out[k] = '*'
		if k >= len(d)-4 {
			out[k] = '0' + d[k]
		}
	}
	return string(out)
}

// maskSSN prints nine digit values as ***-**-NNNN.
func maskSSN(d []byte) string {
	b := [11]byte{'*', '*', '*', '-', '*', '*', '-', '0' + d[5], '0' + d[6], '0' + d[7], '0' + d[8]}
	return string(b[:])
}
