package scanner

// The PDF syntax: the lexer that reads tokens, and the objects they make
// (numbers, strings, names, arrays, dictionaries, references). It knows
// nothing of the document, which is why it stands apart from the object
// model (pdf_object.go): that model, the CMaps (pdf_font.go) and the content
// streams (pdf_text.go) each run it over bytes they have found.

import (
	"bytes"
	"strconv"
)

func isPDFSpace(c byte) bool {
	return c == ' ' || c == '\n' || c == '\r' || c == '\t' || c == '\f' || c == 0
}

// pdfKeyword is a bare word: obj, stream, R, true, an operator, ….
type pdfKeyword string

// pdfLexer reads PDF tokens and objects from b.
type pdfLexer struct {
	b       []byte
	i       int
	content bool // a content stream: operands are never references
}

func (l *pdfLexer) space() {
	for l.i < len(l.b) {
		c := l.b[l.i]
		if isPDFSpace(c) {
			l.i++
		} else if c == '%' {
			for l.i < len(l.b) && l.b[l.i] != '\n' && l.b[l.i] != '\r' {
				l.i++
			}
		} else {
			return
		}
	}
}

// pdfEnd marks the end of input; pdfDelim a closing delimiter.
type (
	pdfEnd   struct{}
	pdfDelim byte
)

// next returns one token: int, float64, pdfName, pdfString, pdfKeyword,
// pdfDelim ('[', ']', '<' for "<<", '>' for ">>", '{', '}') or pdfEnd.
func (l *pdfLexer) next() any {
	l.space()
	if l.i >= len(l.b) {
		return pdfEnd{}
	}
	b := l.b
	c := b[l.i]
	switch {
	case c == '(':
		s, i := pdfLiteral(b, l.i)
		l.i = i
		return pdfString(s)
	case c == '<' && l.i+1 < len(b) && b[l.i+1] == '<':
		l.i += 2
		return pdfDelim('<')
	case c == '>' && l.i+1 < len(b) && b[l.i+1] == '>':
		l.i += 2
		return pdfDelim('>')
	case c == '<':
		s, i := pdfHex(b, l.i)
		l.i = i
		return pdfString(s)
	case c == '[' || c == ']' || c == '{' || c == '}':
		l.i++
		return pdfDelim(c)
	case c == '/':
		j := l.i + 1
		for j < len(b) && pdfRegular(b[j]) {
			j++
		}
		name := pdfName(unescapeName(b[l.i+1 : j]))
		l.i = j
		return name
	case c == '-' || c == '+' || c == '.' || isDigit(c):
		j := l.i + 1
		for j < len(b) && (isDigit(b[j]) || b[j] == '.' || b[j] == '-') {
			j++
		}
		tok := string(b[l.i:j])
		l.i = j
		if n, err := strconv.Atoi(tok); err == nil {
			return n
		}
		f, _ := strconv.ParseFloat(tok, 64)
		return f
	case pdfRegular(c):
		j := l.i + 1
		for j < len(b) && pdfRegular(b[j]) {
			j++
		}
		kw := pdfKeyword(b[l.i:j])
		l.i = j
		return kw
	}
	l.i++ // a stray ')' or '>'
	return pdfDelim(c)
}

// unescapeName decodes #xx in a name.
func unescapeName(b []byte) string {
	if bytes.IndexByte(b, '#') < 0 {
		return string(b)
	}
	var out []byte
	for i := 0; i < len(b); i++ {
		if b[i] == '#' && i+2 < len(b) {
			if v, err := strconv.ParseUint(string(b[i+1:i+3]), 16, 8); err == nil {
				out = append(out, byte(v))
				i += 2
				continue
			}
		}
		out = append(out, b[i])
	}
	return string(out)
}

// maxPDFNesting bounds arrays and dictionaries inside one another.
const maxPDFNesting = 64

// object reads one object; "N G R" becomes a pdfRef. Unknown keywords
// (operators in a content stream) come back as pdfKeyword.
func (l *pdfLexer) object(depth int) any {
	t := l.next()
	return l.objectFrom(t, depth)
}

func (l *pdfLexer) objectFrom(t any, depth int) any {
	switch v := t.(type) {
	case int:
		if l.content {
			return v
		}
		// Maybe "N G R".
		save := l.i
		if g, ok := l.next().(int); ok {
			if kw, ok := l.next().(pdfKeyword); ok && kw == "R" {
				return pdfRef{v, g}
			}
		}
		l.i = save
		return v
	case pdfKeyword:
		switch v {
		case "true":
			return true
		case "false":
			return false
		case "null":
			return nil
		}
		return v
	case pdfDelim:
		if depth >= maxPDFNesting {
			return nil
		}
		switch v {
		case '[':
			var a pdfArray
			for {
				t := l.next()
				if dl, ok := t.(pdfDelim); ok && dl == ']' {
					return a
				}
				if _, ok := t.(pdfEnd); ok {
					return a
				}
				if kw, ok := t.(pdfKeyword); ok && (kw == "endobj" || kw == "stream") {
					return a
				}
				a = append(a, l.objectFrom(t, depth+1))
			}
		case '<':
			dict := pdfDict{}
			for {
				t := l.next()
				if dl, ok := t.(pdfDelim); ok && dl == '>' {
					return dict
				}
				if _, ok := t.(pdfEnd); ok {
					return dict
				}
				key, ok := t.(pdfName)
				if !ok {
					if kw, ok := t.(pdfKeyword); ok && (kw == "endobj" || kw == "stream") {
						return dict
					}
					continue
				}
				dict[key] = l.object(depth + 1)
			}
		}
		return v
	}
	return t
}
