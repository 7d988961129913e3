package scanner

// The PDF tokenizer and object parser of pdf_lexer.go on hand-written
// syntax: every kind of token, input that ends in the middle of one, and
// the nesting bound.

import (
	"reflect"
	"strings"
	"testing"
)

// exact returns s as bytes with no spare capacity, so that reading past
// its end panics instead of finding stale bytes.
func exact(s string) []byte {
	b := []byte(s)
	return b[:len(b):len(b)]
}

// tokens lexes s to its end (at most 100 tokens).
func tokens(t *testing.T, s string) []any {
	t.Helper()
	l := pdfLexer{b: exact(s)}
	var out []any
	for range 100 {
		tok := l.next()
		if _, ok := tok.(pdfEnd); ok {
			return out
		}
		out = append(out, tok)
	}
	t.Fatalf("%q: no end after 100 tokens: %v", s, out)
	return nil
}

func TestPDFLexerTokens(t *testing.T) {
	for _, c := range []struct {
		in   string
		want []any
	}{
		{`<< /Type /Font /A#20B /#41 /C#4 /D#zz >>`, []any{pdfDelim('<'), pdfName("Type"), pdfName("Font"),
			pdfName("A B"), pdfName("A"), pdfName("C#4"), pdfName("D#zz"), pdfDelim('>')}},
		{`12 -3 +4 .5 -1.25 0012`, []any{12, -3, 4, 0.5, -1.25, 12}},
		{`(lit (nested) \) x) <48 65 6C6C 6F> <414>`, []any{pdfString("lit (nested) ) x"), pdfString("Hello"), pdfString("A@")}},
		{`[ ] { } true null R obj`, []any{pdfDelim('['), pdfDelim(']'), pdfDelim('{'), pdfDelim('}'),
			pdfKeyword("true"), pdfKeyword("null"), pdfKeyword("R"), pdfKeyword("obj")}},
		// Comments run to the end of the line, CR or LF.
		{"1 %c 2\r3 %c 4\n5%c\r\n6 % at the end", []any{1, 3, 5, 6}},
		{"%", nil},
		// Stray closing delimiters are tokens of their own.
		{"a) b>c", []any{pdfKeyword("a"), pdfDelim(')'), pdfKeyword("b"), pdfDelim('>'), pdfKeyword("c")}},
		// Input ending inside a token.
		{"<", []any{pdfString("")}},
		{">", []any{pdfDelim('>')}},
		{"<<", []any{pdfDelim('<')}},
		{">>", []any{pdfDelim('>')}},
		{"/Name", []any{pdfName("Name")}},
		{"/", []any{pdfName("")}},
		{"42", []any{42}},
		{"(open", []any{pdfString("open")}},
		{"<4142", []any{pdfString("AB")}},
		{"word", []any{pdfKeyword("word")}},
	} {
		if got := tokens(t, c.in); !reflect.DeepEqual(got, c.want) {
			t.Errorf("%q: %#v, want %#v", c.in, got, c.want)
		}
	}
}

func TestUnescapeName(t *testing.T) {
	for _, c := range []struct{ in, want string }{
		{"Plain", "Plain"},
		{"#41", "A"},
		{"A#42C", "ABC"},
		{"Two#20Words#2f", "Two Words/"},
		{"#4", "#4"},
		{"AB#", "AB#"},
		{"A#4", "A#4"},
		{"#zz#41", "#zzA"},
		{"##41", "#A"},
	} {
		if got := unescapeName(exact(c.in)); got != c.want {
			t.Errorf("unescapeName(%q) = %q, want %q", c.in, got, c.want)
		}
	}
}

func TestPDFObjects(t *testing.T) {
	for _, c := range []struct {
		in   string
		want any
	}{
		{`<< /A 1 /B [2 0 R (x) /N] /C << /D true /E false /F null >> >>`,
			pdfDict{"A": 1, "B": pdfArray{pdfRef{2, 0}, pdfString("x"), pdfName("N")}, "C": pdfDict{"D": true, "E": false, "F": nil}}},
		{`[1 R 3 4 0 R]`, pdfArray{1, pdfKeyword("R"), 3, pdfRef{4, 0}}},
		{`[1 0 obj]`, pdfArray{1, 0, pdfKeyword("obj")}},
		// A dictionary or array is cut at endobj or stream, as in a
		// damaged file whose closing delimiter is missing.
		{`<< /A 1 endobj /B 2 >>`, pdfDict{"A": 1}},
		{`<< /Length 3 stream /B 2 >>`, pdfDict{"Length": 3}},
		{`[1 2 endobj 3]`, pdfArray{1, 2}},
		{`[1 stream 3]`, pdfArray{1}},
		// … and at the end of the input.
		{`[1 2`, pdfArray{1, 2}},
		{`<< /A [1`, pdfDict{"A": pdfArray{1}}},
		// A key that is not a name is skipped with its keyword.
		{`<< 5 /A 1 junk /B 2 >>`, pdfDict{"A": 1, "B": 2}},
	} {
		l := pdfLexer{b: exact(c.in)}
		if got := l.object(0); !reflect.DeepEqual(got, c.want) {
			t.Errorf("%q: %#v, want %#v", c.in, got, c.want)
		}
	}
}

// Arrays and dictionaries nest at most maxPDFNesting deep: a deeper one is
// null, and what followed it lands in the level above.
func TestPDFNesting(t *testing.T) {
	arrays := func(n int) (levels int, inner pdfArray) {
		l := pdfLexer{b: exact(strings.Repeat("[", n) + "1" + strings.Repeat("]", n))}
		v := l.object(0)
		for {
			a, ok := v.(pdfArray)
			if !ok {
				return levels, inner
			}
			levels, inner = levels+1, a
			v = a[0]
		}
	}
	if n, inner := arrays(maxPDFNesting); n != maxPDFNesting || !reflect.DeepEqual(inner, pdfArray{1}) {
		t.Errorf("%d arrays: %d levels, innermost %v", maxPDFNesting, n, inner)
	}
	if n, inner := arrays(maxPDFNesting + 1); n != maxPDFNesting || !reflect.DeepEqual(inner, pdfArray{nil, 1}) {
		t.Errorf("%d arrays: %d levels, innermost %v", maxPDFNesting+1, n, inner)
	}
	dicts := func(n int) (levels int) {
		l := pdfLexer{b: exact(strings.Repeat("<< /A ", n) + "1" + strings.Repeat(" >>", n))}
		v := l.object(0)
		for {
			d, ok := v.(pdfDict)
			if !ok {
				return levels
			}
			levels++
			v = d["A"]
		}
	}
	if n := dicts(maxPDFNesting); n != maxPDFNesting {
		t.Errorf("%d dictionaries: %d levels", maxPDFNesting, n)
	}
	if n := dicts(maxPDFNesting + 1); n != maxPDFNesting {
		t.Errorf("%d dictionaries: %d levels", maxPDFNesting+1, n)
	}
}
