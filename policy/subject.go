package policy

import (
	"strings"
	"unicode"

	"github.com/postseal/postseal/config"
)

// markFor places a trigger's marker on a subject that had no tag to take
// out: first for marker_position = "replace", else last.
func markFor(t *config.Trigger, subject string) string {
	if indexFold(subject, t.Marker) >= 0 {
		return subject
	}
	if t.MarkerPosition == config.MarkerReplace {
		return join(t.Marker, subject)
	}
	return join(subject, t.Marker)
}

// MarkSubject is the subject of a message sealed without a tag to take
// out (the scanner, a sender or recipient trigger, a header tag): the
// marker appended, unless the subject carries it already (a reply).
func MarkSubject(subject, marker string) string {
	if indexFold(subject, marker) >= 0 {
		return subject
	}
	return join(subject, marker)
}

// rewrite removes the trigger's tag from a subject (or header value) and
// places the marker once; ok is false when the tag is not there.
func rewrite(t *config.Trigger, subject string) (string, bool) {
	var at int
	switch t.Position {
	case config.PositionPrefix:
		lead := len(subject) - len(strings.TrimLeftFunc(subject, unicode.IsSpace))
		if !hasPrefixFold(subject[lead:], t.Match) {
			return "", false
		}
		at = lead
	default:
		at = indexFold(subject, t.Match)
		if at < 0 {
			return "", false
		}
	}
	before, after := subject[:at], subject[at+len(t.Match):]
	// Further copies of an anywhere-tag go too: "*secure* ... *secure*"
	// must not leave one behind in the visible subject.
	if t.Position != config.PositionPrefix {
		after = removeAllFold(after, t.Match)
		before = removeAllFold(before, t.Match)
	}
	hasMarker := indexFold(before, t.Marker) >= 0 || indexFold(after, t.Marker) >= 0
	var out string
	switch {
	case hasMarker:
		out = join(before, after)
	case t.MarkerPosition == config.MarkerReplace:
		out = join(join(before, t.Marker), after)
	default:
		out = join(join(before, after), t.Marker)
	}
	return out, true
}

// join glues two pieces of a subject with exactly one space where a tag was
// cut out, and trims the ends.
func join(a, b string) string {
	a = strings.TrimRightFunc(a, unicode.IsSpace)
	b = strings.TrimLeftFunc(b, unicode.IsSpace)
	switch {
	case a == "":
		return strings.TrimSpace(b)
	case b == "":
		return strings.TrimSpace(a)
	}
	return strings.TrimSpace(a + " " + b)
}

func removeAllFold(s, sub string) string {
	for {
		i := indexFold(s, sub)
		if i < 0 {
			return s
		}
		s = join(s[:i], s[i+len(sub):])
	}
}

// indexFold is a case-insensitive strings.Index that returns a byte offset
// into s. Tags and markers are compared by simple Unicode folding; lengths
// are taken from s so that the offsets are always valid.
func indexFold(s, sub string) int {
	if sub == "" {
		return -1
	}
	for i := range len(s) {
		if n := prefixFoldLen(s[i:], sub); n > 0 {
			return i
		}
	}
	return -1
}

func hasPrefixFold(s, prefix string) bool { return prefixFoldLen(s, prefix) > 0 }

// prefixFoldLen reports how many bytes of s match prefix case-insensitively,
// or 0 when s does not start with prefix.
func prefixFoldLen(s, prefix string) int {
	i := 0
	for _, pr := range prefix {
		if i >= len(s) {
			return 0
		}
		sr, size := rune(s[i]), 1
		if sr >= 0x80 {
			r := []rune(s[i:min(len(s), i+4)])
			if len(r) == 0 {
				return 0
			}
			sr = r[0]
			size = len(string(sr))
		}
		if sr != pr && unicode.SimpleFold(sr) != pr && !strings.EqualFold(string(sr), string(pr)) {
			return 0
		}
		i += size
	}
	return i
}

// ReplySubject is the subject of a secure reply ("Re") or forward ("Fwd")
// to a message whose subject was original: the triggers' tags and markers
// come out (the sealed copies get the marker again, once), and a leading
// "Re:" is not doubled.
func ReplySubject(cfg *config.Config, prefix, original string) string {
	s := original
	for _, t := range cfg.Triggers {
		for _, w := range []string{t.Match, t.Marker} {
			if w != "" {
				s = removeAllFold(s, w)
			}
		}
	}
	if m := cfg.Scanner.Marker; m != "" {
		s = removeAllFold(s, m)
	}
	s = strings.Join(strings.Fields(s), " ")
	if n := prefixFoldLen(s, prefix+":"); n > 0 {
		return prefix + ": " + strings.TrimSpace(s[n:])
	}
	return join(prefix+":", s)
}
