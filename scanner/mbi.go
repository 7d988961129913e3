package scanner

// The Medicare Beneficiary Identifier (MBI), as CMS specifies it: eleven
// characters, C A AN N A AN N A A N N — C a digit 1–9, N a digit, A a
// capital letter other than S, L, O, I, B and Z, AN either — printed as
// it is or in groups of 4-3-4 with dashes. It has no check digit, but the
// fixed positions of digits and letters are rare enough in other tokens
// that the dashed form counts on its own; the bare form needs a Medicare
// word nearby or no negative word.

const (
	mbiDashedBase = 0.65
	mbiBareBase   = 0.55
)

// mbiPos says what each of the eleven positions holds.
const mbiPos = "CAXNAXNAANN" // X: AN

func mbiLetter(c byte) bool {
	return isUpper(c) && c != 'S' && c != 'L' && c != 'O' && c != 'I' && c != 'B' && c != 'Z'
}

// mbiValid checks eleven characters against mbiPos.
func mbiValid(v []byte) bool {
	for k, c := range v {
		var ok bool
		switch mbiPos[k] {
		case 'C':
			ok = c >= '1' && c <= '9'
		case 'N':
			ok = isDigit(c)
		case 'A':
			ok = mbiLetter(c)
		default:
			ok = isDigit(c) || mbiLetter(c)
		}
		if !ok {
			return false
		}
	}
	return true
}

// mbi checks for an MBI starting at the digit t[i], whose first
// alphanumeric run ends at end, and returns where scanning resumes.
func (s *scan) mbi(i, end int) int {
	t := s.t
	var v [11]byte
	var j int
	base := mbiBareBase
	switch {
	case end-i == 11:
		copy(v[:], t[i:end])
		j = end
	case end-i == 4 && i+13 <= len(t) && t[i+4] == '-' && t[i+8] == '-':
		copy(v[:4], t[i:i+4])
		copy(v[4:7], t[i+5:i+8])
		copy(v[7:], t[i+9:i+13])
		j, base = i+13, mbiDashedBase
	default:
		return end
	}
	if !mbiValid(v[:]) || !boundaryAfter(t, j) {
		return end
	}
	c := ctx{s: s, start: i, end: j}
	score := c.score(dMBI, base)
	if score < s.thr {
		return end
	}
	m := "*******"
	if base == mbiDashedBase {
		m = "****-***-"
	}
	s.emit(dMBI, i, score, m+string(v[7:]))
	return j
}
