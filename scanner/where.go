package scanner

import (
	"sort"
	"strings"
)

// Scan runs the detectors over the message's text and names the part each
// finding is in (Finding.Where). The parts are scanned as one text, as
// Scan(x.Text(), opt) would, so an admin rule's min_count counts across
// the whole message; offsets are offsets in x.Text().
func (x *Extracted) Scan(opt Options) []Finding {
	fs := Scan(x.Text(), opt)
	starts := make([]int, len(x.Parts))
	off := 0
	for i, p := range x.Parts {
		starts[i] = off
		off += len(p.Text) + 2 // Text joins parts with a blank line
	}
	for i := range fs {
		k := sort.Search(len(starts), func(j int) bool { return starts[j] > fs[i].Offset }) - 1
		if k >= 0 {
			fs[i].Where = Where(x.Parts[k].Source)
		}
	}
	return fs
}

// Where turns a part's Source into words for the sender: "message body",
// "subject", "attachment lab.pdf, page 1", "attachment bundle.zip, file
// docs/a.docx", and for an attached message "attachment fwd.eml > message
// body". Digits in file names are masked: a name can be the very number
// ("536-22-1234.pdf"), and Where is logged and mailed.
func Where(source string) string {
	segs := strings.Split(source, " > ")
	for i, s := range segs {
		switch {
		case s == "header Subject":
			segs[i] = "subject"
		case s == "body" || strings.HasPrefix(s, "body "):
			segs[i] = "message body"
		case strings.HasPrefix(s, "archive "):
			name, suffix := cutSuffix(strings.TrimPrefix(s, "archive "))
			if outer, inner, ok := strings.Cut(name, "/"); ok {
				segs[i] = "attachment " + maskName(outer) + ", file " + maskName(inner) + suffix
			} else {
				segs[i] = "attachment " + maskName(name) + suffix
			}
		case strings.HasPrefix(s, "attachment "):
			name, suffix := cutSuffix(strings.TrimPrefix(s, "attachment "))
			segs[i] = "attachment " + maskName(name) + suffix
		}
	}
	return strings.Join(segs, " > ")
}

// cutSuffix splits the place within a document (", page 2") from its name.
func cutSuffix(s string) (name, suffix string) {
	for _, sep := range []string{", page ", ", form fields"} {
		if k := strings.LastIndex(s, sep); k >= 0 {
			return s[:k], s[k:]
		}
	}
	return s, ""
}

func maskName(s string) string {
	return strings.Map(func(r rune) rune {
		if r >= '0' && r <= '9' {
			return '*'
		}
		return r
	}, s)
}
