package scanner

import (
	"bytes"
	"strings"
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
// RTF view lacks are added (the joins).

// extraLines returns the lines of alt that are not among base's: each line
// of base, compared with its runs of white space as one space, cancels one
// equal line of alt. The rest of alt is returned as it is, a line each,
// empty lines left out.
func extraLines(base, alt []byte) []byte {
	have := map[string]int{}
	for line := range bytes.Lines(base) {
		if k := lineKey(line); k != "" {
			have[k]++
		}
	}
	var out []byte
	for line := range bytes.Lines(alt) {
		k := lineKey(line)
		switch {
		case k == "":
		case have[k] > 0:
			have[k]--
		default:
			out = append(append(out, bytes.TrimRight(line, "\r\n")...), '\n')
		}
	}
	return out
}

// lineKey is line with its runs of white space as one space, trimmed.
func lineKey(line []byte) string {
	return strings.Join(strings.Fields(string(line)), " ")
}
