package scanner

// Payment cards: the issuer (IIN) table and the card score.

// cardStrongScore: a Luhn-valid number right after "card number", "credit
// card" or "cc#" is a card whatever its issuer range, since ranges are
// assigned faster than any table here is updated.
const cardStrongScore = 0.9

// cardScore validates 12–19 digits as a payment card: the grouping must be a
// card layout, Luhn must pass and the issuer prefix must allow this length
// (or strong card wording must stand right before it).
func cardScore(d []byte, shape []uint8, c *ctx) (float64, bool) {
	grouped := false
	switch {
	case len(shape) == 1:
	case len(shape) == 3 && shape[0] == 4 && shape[1] == 6 && (shape[2] == 5 || shape[2] == 4):
		grouped = true // Amex 4-6-5, Diners 4-6-4
	case len(shape) >= 3:
		for _, l := range shape[:len(shape)-1] {
			if l != 4 {
				return 0, false
			}
		}
		if l := shape[len(shape)-1]; l < 1 || l > 4 {
			return 0, false
		}
		grouped = true
	default:
		return 0, false
	}
	if !luhn(d) {
		return 0, false
	}
	known, weak := iin(d)
	if !known || weak {
		if len(d) >= 13 && strongCardContext(c.s.t, c.start) {
			c.dist[dCard] = 0
			return cardStrongScore, true
		}
	}
	if !known {
		return 0, false
	}
	if weak {
		// The rest of the 5 and 6 ranges would claim every Luhn-valid
		// number starting with them.
		if !c.has(&ctxWords[dCard]) {
			return 0, false
		}
		return cardWeakBase + ctxBoost, true
	}
	base := cardContiguousBase
	if grouped {
		base = cardGroupedBase
	}
	return c.score(dCard, base), true
}

// cardRange is one row of the issuer table: prefixes lo..hi of the given
// number of digits, for card numbers of minLen..maxLen digits.
type cardRange struct {
	digits         int
	lo, hi         int
	minLen, maxLen int
	scheme         string // for the reader of the table
}

// cardRanges are the issuer identification ranges published by the card
// schemes (as collected in ISO/IEC 7812 registries and the schemes' own
// documentation), longest prefixes first where they overlap.
var cardRanges = []cardRange{
	{6, 506099, 506198, 16, 19, "Verve"},
	{6, 507865, 507964, 16, 19, "Verve"},
	{6, 650002, 650027, 16, 19, "Verve"},
	{6, 622126, 622925, 16, 19, "Discover (UnionPay co-brand)"},
	{4, 2200, 2204, 16, 19, "Mir"},
	{4, 2221, 2720, 16, 16, "Mastercard"},
	{4, 1800, 1800, 15, 15, "JCB (15-digit)"},
	{4, 2131, 2131, 15, 15, "JCB (15-digit)"},
	{4, 3528, 3589, 16, 19, "JCB"},
	{4, 3095, 3095, 14, 19, "Diners Club International"},
	{4, 6011, 6011, 16, 19, "Discover"},
	{4, 5018, 5018, 12, 19, "Maestro"},
	{4, 5020, 5020, 12, 19, "Maestro"},
	{4, 5038, 5038, 12, 19, "Maestro"},
	{4, 5893, 5893, 12, 19, "Maestro"},
	{4, 6304, 6304, 12, 19, "Maestro"},
	{4, 6759, 6759, 12, 19, "Maestro (UK)"},
	{4, 6761, 6763, 12, 19, "Maestro"},
	{4, 9792, 9792, 16, 16, "Troy"},
	{3, 300, 305, 14, 19, "Diners Club Carte Blanche"},
	{3, 644, 649, 16, 19, "Discover"},
	{2, 34, 34, 15, 15, "American Express"},
	{2, 37, 37, 15, 15, "American Express"},
	{2, 36, 36, 14, 19, "Diners Club International"},
	{2, 38, 39, 14, 19, "Diners Club International"},
	{2, 51, 55, 16, 16, "Mastercard"},
	{2, 62, 62, 16, 19, "UnionPay"},
	{2, 65, 65, 16, 19, "Discover"},
	{2, 81, 81, 16, 19, "UnionPay"},
	{1, 4, 4, 13, 19, "Visa"},
}

// iin reports whether d's issuer prefix belongs to a card scheme that issues
// numbers of this length, and whether only a broad rule matched (the rest
// of the 5 and 6 ranges, where Maestro and domestic schemes live), which is
// too broad to trust without context.
func iin(d []byte) (known, weak bool) {
	n := len(d)
	var pre [7]int
	for k := 1; k <= 6 && k <= n; k++ {
		pre[k] = pre[k-1]*10 + int(d[k-1])
	}
	matched := false
	for _, r := range cardRanges {
		if r.digits > n {
			continue
		}
		if p := pre[r.digits]; p >= r.lo && p <= r.hi {
			if r.scheme == "Visa" && n != 13 && n != 16 && n != 19 {
				return false, false // Visa issues 13, 16 and 19 digits only
			}
			if n >= r.minLen && n <= r.maxLen {
				return true, false
			}
			matched = true
		}
	}
	if matched {
		return false, false // a known scheme, but not of this length
	}
	if d[0] == 5 || d[0] == 6 {
		return n >= 12, true
	}
	return false, false
}

// strongCardPhrases say outright that a card number follows.
var strongCardPhrases = []string{"card number", "card no", "card num", "card #", "card#", "credit card", "debit card", "cc#", "cc #", "cc no", "cc number", "pan", "kartennummer", "numéro de carte", "numero de tarjeta"}

// strongCardContext reports whether one of strongCardPhrases ends right
// before i, with nothing but punctuation and spaces (at most eight bytes,
// "is" allowed) between it and the number.
func strongCardContext(t []byte, i int) bool {
	e := i
	for e > 0 && i-e < 8 && !isAlnum(t[e-1]) && t[e-1] != '#' {
		e--
	}
	if e >= 2 && lower(t[e-1]) == 's' && lower(t[e-2]) == 'i' && (e == 2 || t[e-3] == ' ') {
		e -= 2 // "card number is 4…"
		for e > 0 && t[e-1] == ' ' {
			e--
		}
	}
	for _, ph := range strongCardPhrases {
		k := e - len(ph)
		if k < 0 || (k > 0 && isLetter(t[k-1])) {
			continue
		}
		if equalFoldASCII(t[k:e], []byte(ph)) {
			return true
		}
	}
	return false
}
