package scanner

import (
	"bytes"
	"strings"
)

// Some documents hold one text in several views: an Outlook message its
// body as plain text, HTML and compressed RTF; HTML mail kept as RTF
// (\fromhtml1) an RTF rendering beside the HTML that Outlook rebuilds from
// it. Which view a reader shows is up to the reader, so a view that holds
// text another does not (a crafted decoy, or a writer that leaves a view
// empty) must be scanned too. Reading every view whole would count each
// finding once per view and trip rules' min_count on half the data, so a
// further view adds only its lines that the views before it do not have.

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
