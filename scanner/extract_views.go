package scanner

import (
	"bytes"
	"hash/maphash"
	"unicode"
	"unicode/utf8"
)

// Some documents hold one text in several views: an Outlook message its
// body as plain text, HTML and compressed RTF; HTML mail kept as RTF
// (\fromhtml1) an RTF rendering beside the HTML that Outlook rebuilds from
// it; an RTF document its flow with and without what stands apart from it.
// Which view a reader shows is up to the reader, so every view is scanned,
// whole: a view read only for what the others lack loses the context a
// detector needs (the words before a number) and can be cancelled by a
// decoy that differs from it only where a detector looks (review
// findings). A mail's text/plain and text/html alternatives are read the
// same way, each whole, so an admin rule's min_count counts a text shown
// twice twice. Only a view the same as one before it (ignoring white space
// around it) is left out.

// viewSet is the views of one text read so far.
type viewSet struct{ seen [][]byte }

// add appends view and a line end to out unless view is empty or the same
// as a view added before. out must end a line (or be empty).
func (vs *viewSet) add(out, view []byte) []byte {
	if !vs.novel(view) {
		return out
	}
	return append(append(out, view...), '\n')
}

// novel reports whether view is neither empty nor the same as a view seen
// before, and counts it seen.
func (vs *viewSet) novel(view []byte) bool {
	t := bytes.TrimSpace(view)
	if len(t) == 0 {
		return false
	}
	for _, s := range vs.seen {
		if bytes.Equal(s, t) {
			return false
		}
	}
	vs.seen = append(vs.seen, t)
	return true
}

// The flow view of an RTF document (rtfText) is the exception: it is the
// same text with what stands apart taken out, so only its lines that the
// RTF view lacks are added (the joins), each with the line before it in
// the flow view: the words before a number that the join makes whole.

// extraLines returns the lines of alt that are not among base's, each after
// the line of alt before it (unless that one is returned already): each
// line of base, compared with its runs of white space as one space,
// cancels one equal line of alt. The lines are returned as they are, a
// line each, empty lines left out. Lines are compared by a 64-bit hash of
// that form (hash/maphash, seeded afresh for each call).
func extraLines(base, alt []byte) []byte {
	if bytes.Equal(base, alt) {
		return nil
	}
	// The lines both begin with match each other, as do those both end
	// with: only the rest is hashed.
	var prev []byte
	if n := commonPrefixLines(base, alt); n > 0 {
		prev = lastLine(alt[:n])
		base, alt = base[n:], alt[n:]
	}
	n := commonSuffixLines(base, alt)
	base, alt = base[:len(base)-n], alt[:len(alt)-n]
	seed := maphash.MakeSeed()
	var scratch []byte
	have := make(map[uint64]int32, bytes.Count(base, []byte{'\n'})+1)
	for line := range bytes.Lines(base) {
		var k uint64
		if k, scratch = lineKey(seed, scratch, line); len(scratch) > 0 {
			have[k]++
		}
	}
	var out []byte
	prevOut := false // prev is in out already
	for line := range bytes.Lines(alt) {
		var k uint64
		if k, scratch = lineKey(seed, scratch, line); len(scratch) == 0 {
			continue
		}
		if have[k] > 0 {
			have[k]--
			prev, prevOut = line, false
			continue
		}
		if prev != nil && !prevOut {
			out = append(append(out, bytes.TrimRight(prev, "\r\n")...), '\n')
		}
		out = append(append(out, bytes.TrimRight(line, "\r\n")...), '\n')
		prev, prevOut = line, true
	}
	return out
}

// lineKey puts line into scratch with its runs of white space (as
// unicode.IsSpace has it) as one space, trimmed, and returns its hash and
// scratch (empty if the line is blank).
func lineKey(seed maphash.Seed, scratch, line []byte) (uint64, []byte) {
	scratch = scratch[:0]
	space := false
	for i := 0; i < len(line); {
		r, n := rune(line[i]), 1
		if r >= utf8.RuneSelf {
			r, n = utf8.DecodeRune(line[i:])
		}
		if unicode.IsSpace(r) {
			space = true
		} else {
			if space && len(scratch) > 0 {
				scratch = append(scratch, ' ')
			}
			scratch, space = append(scratch, line[i:i+n]...), false
		}
		i += n
	}
	return maphash.Bytes(seed, scratch), scratch
}

// commonPrefixLines is the length of the whole lines a and b begin with.
func commonPrefixLines(a, b []byte) int {
	n := 0
	for n < len(a) && n < len(b) && a[n] == b[n] {
		n++
	}
	if n == len(a) && n == len(b) {
		return n
	}
	return bytes.LastIndexByte(a[:n], '\n') + 1
}

// commonSuffixLines is the length of the whole lines a and b end with.
func commonSuffixLines(a, b []byte) int {
	n := 0
	for n < len(a) && n < len(b) && a[len(a)-1-n] == b[len(b)-1-n] {
		n++
	}
	if (n == len(a) || a[len(a)-1-n] == '\n') && (n == len(b) || b[len(b)-1-n] == '\n') {
		return n
	}
	i := bytes.IndexByte(a[len(a)-n:], '\n')
	if i < 0 {
		return 0
	}
	return n - i - 1
}

// lastLine is the last line of b that is not blank, or nil.
func lastLine(b []byte) []byte {
	for len(b) > 0 {
		i := bytes.LastIndexByte(b[:len(b)-1], '\n') + 1
		if len(bytes.TrimSpace(b[i:])) > 0 {
			return b[i:]
		}
		b = b[:i]
	}
	return nil
}
