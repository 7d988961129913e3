package scanner

import (
	"bytes"
	"html"
	"strings"
)

// htmlBlock lists the elements that break the text flow. Every other tag is
// dropped without a trace, so markup inside a number ("<b>536</b>-22-1234")
// leaves the number whole; these become a line break (or a space for table
// cells), so text from neighbouring blocks does not run together.
var htmlBlock = map[string]byte{
	"p": '\n', "div": '\n', "br": '\n', "tr": '\n', "li": '\n', "table": '\n',
	"h1": '\n', "h2": '\n', "h3": '\n', "h4": '\n', "h5": '\n', "h6": '\n',
	"ul": '\n', "ol": '\n', "dl": '\n', "dt": '\n', "dd": '\n', "hr": '\n',
	"blockquote": '\n', "pre": '\n', "section": '\n', "article": '\n', "header": '\n',
	"footer": '\n', "nav": '\n', "aside": '\n', "address": '\n', "form": '\n',
	"title": '\n', "option": '\n', "caption": '\n', "tbody": '\n', "thead": '\n',
	"tfoot": '\n', "body": '\n', "head": '\n', "html": '\n', "center": '\n',
	"td": ' ', "th": ' ',
}

// htmlText reduces HTML to text: tags dropped (block tags become a line
// break), comments and the contents of script, style and similar elements
// dropped, character references decoded, non-breaking spaces made spaces.
// It is a single forward pass: every search for an end marker that fails
// ends the pass, so crafted input cannot make it quadratic.
func htmlText(b []byte) []byte {
	out := make([]byte, 0, len(b)/2)
	var run []byte // text since the last tag, still escaped
	flush := func() {
		if len(run) == 0 {
			return
		}
		if bytes.IndexByte(run, '&') >= 0 {
			s := html.UnescapeString(string(run))
			out = appendNBSP(out, s)
		} else {
			out = appendNBSP(out, string(run))
		}
		run = run[:0]
	}
	i, n := 0, len(b)
	for i < n {
		lt := bytes.IndexByte(b[i:], '<')
		if lt < 0 {
			run = append(run, b[i:]...)
			break
		}
		run = append(run, b[i:i+lt]...)
		i += lt
		// b[i] == '<'
		if i+1 >= n {
			run = append(run, '<')
			break
		}
		c := b[i+1]
		switch {
		case bytes.HasPrefix(b[i:], []byte("<!--")):
			end := bytes.Index(b[i+4:], []byte("-->"))
			if end < 0 {
				i = n
				continue
			}
			i += 4 + end + 3
			continue
		case c == '!' || c == '?':
			end := bytes.IndexByte(b[i:], '>')
			if end < 0 {
				i = n
				continue
			}
			i += end + 1
			continue
		case c == '/' || isLetter(c):
		default:
			run = append(run, '<') // a lone "<", as in "a < b"
			i++
			continue
		}
		// A tag: name, then attributes up to the '>' outside quotes.
		j := i + 1
		closing := b[j] == '/'
		if closing {
			j++
		}
		ns := j
		for j < n && (isAlnum(b[j]) || b[j] == '-' || b[j] == ':') {
			j++
		}
		name := bytes.ToLower(b[ns:j])
		end := tagEnd(b, j)
		if end < 0 {
			// Unterminated tag: keep the rest as text rather than lose it.
			run = append(run, b[i:]...)
			break
		}
		i = end + 1
		if sep, ok := htmlBlock[string(name)]; ok {
			flush()
			if sep == '\n' || len(out) > 0 && !isSpace(out[len(out)-1]) {
				out = append(out, sep)
			}
			continue
		}
		if !closing && hidesContent(name) {
			// Skip to the matching end tag.
			k := indexFold(b[i:], append([]byte("</"), name...))
			if k < 0 {
				i = n
				continue
			}
			i += k
			if e := tagEnd(b, i+2); e >= 0 {
				i = e + 1
			} else {
				i = n
			}
		}
		// Inline tag: nothing, so "<b>536</b>-22" stays "536-22".
	}
	flush()
	return out
}

func hidesContent(name []byte) bool {
	switch string(name) {
	case "script", "style", "template", "noscript", "xml":
		return true
	}
	return false
}

// tagEnd returns the index of the '>' closing the tag whose attributes start
// at j, honouring quoted attribute values; -1 if there is none.
func tagEnd(b []byte, j int) int {
	var q byte
	for ; j < len(b); j++ {
		c := b[j]
		switch {
		case q != 0:
			if c == q {
				q = 0
			}
		case c == '"' || c == '\'':
			q = c
		case c == '>':
			return j
		}
	}
	return -1
}

// indexFold is bytes.Index with ASCII case folding; sep is lower case.
func indexFold(s, sep []byte) int {
	n := len(sep)
	for i := 0; i+n <= len(s); i++ {
		k := bytes.IndexByte(s[i:], '<')
		if k < 0 {
			return -1
		}
		i += k
		if i+n > len(s) {
			return -1
		}
		ok := true
		for j := 0; j < n; j++ {
			if lower(s[i+j]) != sep[j] {
				ok = false
				break
			}
		}
		if ok {
			return i
		}
	}
	return -1
}

// appendNBSP appends s with U+00A0 replaced by a space: the detectors accept
// spaces between digit groups, and mail editors love &nbsp;.
func appendNBSP(out []byte, s string) []byte {
	for {
		k := strings.Index(s, "\u00a0")
		if k < 0 {
			return append(out, s...)
		}
		out = append(out, s[:k]...)
		out = append(out, ' ')
		s = s[k+2:]
	}
}

func isSpace(c byte) bool { return c == ' ' || c == '\n' || c == '\t' || c == '\r' }
