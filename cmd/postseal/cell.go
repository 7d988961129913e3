package main

import (
	"strconv"
	"strings"
	"unicode"
)

// cell is a table field as printed: control characters (line breaks,
// tabs, terminal escapes) written as Go escapes, so stored text — an
// address typed at the key service, a name — can neither forge a row nor
// drive the administrator's terminal.
func cell(s string) string {
	if strings.IndexFunc(s, unicode.IsControl) < 0 {
		return s
	}
	var b strings.Builder
	for _, r := range s {
		if unicode.IsControl(r) {
			q := strconv.QuoteRune(r)
			b.WriteString(q[1 : len(q)-1])
			continue
		}
		b.WriteRune(r)
	}
	return b.String()
}
