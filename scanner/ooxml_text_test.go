package scanner

import (
	"context"
	"encoding/xml"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"testing"
)

// textExtractor is an extractor with default limits under ctx.
func textExtractor(ctx context.Context) *extractor {
	lim := Limits{}.withDefaults()
	return &extractor{ctx: ctx, lim: lim, out: &Extracted{}, work: workFactor * lim.MaxTotal}
}

// The XML tokenizer on what documents hold besides elements and text:
// comments, CDATA, processing instructions, a DOCTYPE, stray end tags,
// references, and text after the last tag; and how it fails.
func TestXMLText(t *testing.T) {
	for _, c := range []struct {
		in, want, err string
	}{
		{`<w:p><w:r><w:t>a<!-- b --></w:t><w:t>c</w:t></w:r></w:p>`, "ac\n", ""},
		{`<w:t>a<![CDATA[<b> & ]]>c</w:t><w:p><![CDATA[not text]]></w:p>`, "a<b> & c\n", ""},
		{`<![CDATA[outside]]><w:t>x</w:t>`, "x", ""},
		{`<?xml version="1.0"?><!DOCTYPE w:document><w:t>x</w:t><?pi ?>`, "x", ""},
		{`<w:t>a<?pi?>b<!x>c</w:t>`, "abc", ""},
		{`</w:t><w:t>x</w:t>`, "x", ""}, // a stray end tag
		{`<w:t>&amp;&lt;&gt;&quot;&apos;&#65;&#x42;&#X43;&#x1F600;</w:t>`, `&<>"'ABC😀`, ""},
		{`<w:t>&nbsp; &#xZZ; &#99999999; &#x110000; &#x10FFFF; &; & &amp</w:t>`, "&nbsp; &#xZZ; &#99999999; &#x110000; \U0010FFFF &; & &amp", ""},
		{`<:t>empty prefix</:t>`, "empty prefix", ""},
		{`<w:t>ends in text`, "ends in text", ""},
		{"<w:p><w:t>x</w:t></w:p>\n", "x\n", ""},
		{`<w:t>a<!-- never closed`, "a", ""},
		{`<w:t>a<? never closed`, "a", ""},
		{`<w:t>a<![CDATA[ never closed`, "a", "unterminated CDATA"},
		{`<w:t>a</w:t`, "a", "unterminated end tag"},
		{`<w:t>a<w:r attr="never closed>`, "a", "unterminated attribute value"},
		{`<w:t>a<w:r`, "a", "unterminated tag"},
		{`<`, "", "unterminated tag"},
	} {
		got, err := textExtractor(context.Background()).xmlText([]byte(c.in), wordML{})
		if string(got) != c.want || fmt.Sprint(err) != fmt.Sprint(errors.New(c.err)) && !(c.err == "" && err == nil) {
			t.Errorf("xmlText(%q) = %q, %v; want %q, %q", c.in, got, err, c.want, c.err)
		}
	}
	// 10,001 nested elements are read; one more is refused.
	deep := strings.Repeat("<a>", 10000) + "<w:t>deep</w:t>"
	if got, err := textExtractor(context.Background()).xmlText([]byte(deep), wordML{}); string(got) != "deep" || err != nil {
		t.Errorf("10,001 deep: %q, %v", got, err)
	}
	if _, err := textExtractor(context.Background()).xmlText([]byte("<a>"+deep), wordML{}); err == nil || err.Error() != "XML nested too deep" {
		t.Errorf("10,002 deep: %v", err)
	}
}

// laterContext is done from its (after+1)th look on: the deadline passing
// in the middle of a document, with no clock involved.
type laterContext struct {
	context.Context
	after int
}

func (c *laterContext) Err() error {
	if c.after--; c.after < 0 {
		return context.DeadlineExceeded
	}
	return nil
}

// The deadline is looked at every 4,096 tags: a long document stops there
// with what it had, a short one is read whole.
func TestXMLTextDeadline(t *testing.T) {
	doc := []byte(strings.Repeat("<w:t>x</w:t>", 3000))
	got, err := textExtractor(&laterContext{context.Background(), 1}).xmlText(doc, wordML{})
	if err != errDeadline || string(got) != strings.Repeat("x", 2048) {
		t.Errorf("after one look: %d bytes, %v; want 2048 and the deadline", len(got), err)
	}
	got, err = textExtractor(&laterContext{context.Background(), 2}).xmlText(doc, wordML{})
	if err != nil || len(got) != 3000 {
		t.Errorf("after two looks: %d bytes, %v; want all 3000", len(got), err)
	}
	// Exactly 4,096 tags: the end comes before the next look.
	got, err = textExtractor(&laterContext{context.Background(), 1}).xmlText(doc[:2048*len("<w:t>x</w:t>")], wordML{})
	if err != nil || len(got) != 2048 {
		t.Errorf("4,096 tags after one look: %d bytes, %v; want all 2048", len(got), err)
	}
}

func TestXMLStartTag(t *testing.T) {
	intern := func(b []byte) string { return string(b) }
	attrs := func(kv ...string) []xml.Attr {
		var a []xml.Attr
		for i := 0; i < len(kv); i += 2 {
			a = append(a, xml.Attr{Name: xml.Name{Local: kv[i]}, Value: kv[i+1]})
		}
		return a
	}
	for _, c := range []struct {
		in    string
		n     int
		name  string
		attrs []xml.Attr
		self  bool
		err   string
	}{
		{`<c>rest`, 3, "c", nil, false, ""},
		{`<c/>rest`, 4, "c", nil, true, ""},
		{`<c />`, 5, "c", nil, true, ""},
		{`<c r="A1" t="s">`, 16, "c", attrs("r", "A1", "t", "s"), false, ""},
		{"<c\tr = 'A1'\n\r t=\"a&amp;b\"/>", 27, "c", attrs("r", "A1", "t", "a&b"), true, ""},
		{`<c t='it"s'>`, 12, "c", attrs("t", `it"s`), false, ""},
		{`<input checked t="x">`, 21, "input", attrs("t", "x"), false, ""}, // a bare attribute is passed over
		{`<c t=x u="y">`, 13, "c", attrs("u", "y"), false, ""},             // so is an unquoted value
		{`<c / t="x">`, 11, "c", attrs("t", "x"), false, ""},               // a slash not before '>'
		{`<c t>`, 5, "c", nil, false, ""},
		{`<c t=>`, 6, "c", nil, false, ""},
		{`<c t="x`, 0, "c", nil, false, "unterminated attribute value"},
		{`<c t=`, 0, "c", nil, false, "unterminated tag"},
		{`<c t`, 0, "c", nil, false, "unterminated tag"},
		{`<c /`, 0, "c", nil, false, "unterminated tag"},
		{`<c `, 0, "c", nil, false, "unterminated tag"},
	} {
		n, el, self, err := xmlStartTag([]byte(c.in), intern)
		if n != c.n || el.Name.Local != c.name || !reflect.DeepEqual(el.Attr, c.attrs) || self != c.self || fmt.Sprint(err) != fmt.Sprint(errors.New(c.err)) && !(c.err == "" && err == nil) {
			t.Errorf("xmlStartTag(%q) = %d, %q %v, %v, %v; want %d, %q %v, %v, %q", c.in, n, el.Name.Local, el.Attr, self, err, c.n, c.name, c.attrs, c.self, c.err)
		}
	}
}

// wordPart is a WordprocessingML part holding paragraphs.
func wordPart(root string, paras ...string) []byte {
	var b strings.Builder
	b.WriteString(`<?xml version="1.0" encoding="UTF-8" standalone="yes"?>` + "\r\n<w:" + root + " " + wNS + ">")
	for _, p := range paras {
		b.WriteString("<w:p><w:r><w:t>" + p + "</w:t></w:r></w:p>")
	}
	b.WriteString("</w:" + root + ">")
	return []byte(b.String())
}

// Every part of a DOCX that holds text, the body first and the rest by
// name; the parts that hold none are not read. Runs join, a tab and a
// table cell are tabs, a break is a newline, deleted text (a tracked
// change) is still text.
func TestDOCXParts(t *testing.T) {
	body := `<?xml version="1.0"?><w:document ` + wNS + `><w:body>` +
		`<w:p><w:r><w:t>SSN</w:t><w:tab/><w:t>536-</w:t></w:r><w:del><w:r><w:delText>22-</w:delText></w:r></w:del><w:r><w:t>1234</w:t><w:br/><w:t>next</w:t><w:cr/><w:t>line</w:t></w:r></w:p>` +
		`<w:tbl><w:tr><w:tc><w:p><w:r><w:t>a</w:t></w:r></w:p></w:tc><w:tc><w:p><w:r><w:t>b</w:t></w:r></w:p></w:tc></w:tr></w:tbl>` +
		`<w:p><w:r><w:instrText>PAGE</w:instrText></w:r></w:p></w:body></w:document>`
	docx := makeZip(t,
		zfile{"[Content_Types].xml", []byte(`<Types/>`)},
		zfile{"word/header2.xml", wordPart("hdr", "header two")},
		zfile{"word/comments.xml", wordPart("comments", "a comment")},
		zfile{"word/footnotes.xml", wordPart("footnotes", "a footnote")},
		zfile{"word/document.xml", []byte(body)},
		zfile{"word/endnotes.xml", wordPart("endnotes", "an endnote")},
		zfile{"word/footer1.xml", wordPart("ftr", "footer one")},
		zfile{"word/header1.xml", wordPart("hdr", "header one")},
		zfile{"word/styles.xml", wordPart("styles", "not text")},
		zfile{"word/glossary/document.xml", wordPart("document", "not read")},
		zfile{"word/header3.txt", []byte("not XML")},
	)
	want := "SSN\t536-22-1234\nnext\nline\n" + "a\n\tb\n\t" + "\n" + "\n" +
		"a comment\n\n" + "an endnote\n\n" + "footer one\n\n" + "a footnote\n\n" + "header one\n\n" + "header two\n\n"
	x := extract(t, multipartMsg("d", attachment("r.docx", "application/octet-stream", docx)), Limits{})
	if p := partBySource(x, "attachment r.docx"); p == nil || string(p.Text) != want || len(x.Unreadable) > 0 {
		t.Errorf("parts %q, unreadable %+v; want %q", x.Parts, x.Unreadable, want)
	}

	// MaxEntries bounds the parts: two are read, the third is not.
	three := makeZip(t, zfile{"word/document.xml", wordPart("document", "body")}, zfile{"word/footer1.xml", wordPart("ftr", "footer")}, zfile{"word/header1.xml", wordPart("hdr", "header")})
	x = extract(t, multipartMsg("d", attachment("r.docx", "application/octet-stream", three)), Limits{MaxEntries: 2})
	if p := partBySource(x, "attachment r.docx"); p == nil || string(p.Text) != "body\n\nfooter\n\n" || !x.Truncated || !unreadableFor(x, "attachment r.docx", "more than 2 parts") {
		t.Errorf("MaxEntries 2: parts %q, unreadable %+v", x.Parts, x.Unreadable)
	}
	x = extract(t, multipartMsg("d", attachment("r.docx", "application/octet-stream", three)), Limits{MaxEntries: 3})
	if p := partBySource(x, "attachment r.docx"); p == nil || string(p.Text) != "body\n\nfooter\n\nheader\n\n" || x.Truncated {
		t.Errorf("MaxEntries 3: parts %q, unreadable %+v", x.Parts, x.Unreadable)
	}

	// A broken part is reported; the text before the break and the
	// parts after it are still read.
	broken := makeZip(t, zfile{"word/document.xml", wordPart("document", "body")}, zfile{"word/footer1.xml", []byte(`<w:ftr><w:p><w:t>cut</w:t><w:p`)}, zfile{"word/header1.xml", wordPart("hdr", "header")})
	x = extract(t, multipartMsg("d", attachment("r.docx", "application/octet-stream", broken)), Limits{})
	if p := partBySource(x, "attachment r.docx"); p == nil || string(p.Text) != "body\n\ncut\nheader\n\n" ||
		len(x.Unreadable) != 1 || x.Unreadable[0] != (Unreadable{"attachment r.docx/word/footer1.xml", "corrupt DOCX: unterminated tag"}) {
		t.Errorf("broken part: parts %q, unreadable %+v", x.Parts, x.Unreadable)
	}
}

// The cells of an XLSX, by type: a shared string's index is not text, a
// number in E notation gets all its digits, inline strings, formula
// strings, booleans and errors are as written.
func TestXLSXCells(t *testing.T) {
	const ns = `xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"`
	sheet := func(cells string) []byte {
		return []byte(`<worksheet ` + ns + `><sheetData><row r="1">` + cells + `</row></sheetData></worksheet>`)
	}
	xlsx := makeZip(t,
		zfile{"xl/workbook.xml", []byte(`<workbook ` + ns + `/>`)},
		zfile{"xl/worksheets/sheet2.xml", sheet(`<c t="n"><v>1.5E3</v></c><c><v> 4.111111111111111e15 </v></c><c t="n"><v>1e</v></c>`)},
		zfile{"xl/worksheets/sheet1.xml", sheet(`<c t="s"><v>0</v></c><c t="inlineStr"><is><t>inline</t></is></c><c t="str"><f>A1</f><v>5.36221234E8</v></c><c t="b"><v>1</v></c><c t="e"><v>#N/A</v></c><c><v>5.36221234E8</v></c>`)},
		zfile{"xl/worksheets/_rels/sheet1.xml.rels", []byte(`<Relationships/>`)},
		zfile{"xl/worksheets/sub/sheet3.xml", sheet(`<c><v>not read</v></c>`)},
		zfile{"xl/sharedStrings.xml", []byte(`<sst ` + ns + `><si><t>shared</t></si><si><r><t>ri</t></r><r><t>ch</t></r></si></sst>`)},
	)
	want := "shared\nrich\n\n" + "\tinline\t5.36221234E8\t1\t#N/A\t536221234\t\n\n" + "1500\t4111111111111111\t1e\t\n\n"
	x := extract(t, multipartMsg("x", attachment("c.xlsx", "application/octet-stream", xlsx)), Limits{})
	if p := partBySource(x, "attachment c.xlsx"); p == nil || string(p.Text) != want || len(x.Unreadable) > 0 {
		t.Errorf("parts %q, unreadable %+v; want %q", x.Parts, x.Unreadable, want)
	}

	// MaxEntries counts the shared strings and the sheets.
	x = extract(t, multipartMsg("x", attachment("c.xlsx", "application/octet-stream", xlsx)), Limits{MaxEntries: 2})
	if p := partBySource(x, "attachment c.xlsx"); p == nil || !strings.HasSuffix(string(p.Text), "536221234\t\n\n") || !unreadableFor(x, "attachment c.xlsx", "more than 2 sheets and notes") {
		t.Errorf("MaxEntries 2: parts %q, unreadable %+v", x.Parts, x.Unreadable)
	}
	x = extract(t, multipartMsg("x", attachment("c.xlsx", "application/octet-stream", xlsx)), Limits{MaxEntries: 3})
	if x.Truncated || len(x.Unreadable) > 0 {
		t.Errorf("MaxEntries 3: unreadable %+v", x.Unreadable)
	}

	// A broken sheet is reported; the next one is still read.
	broken := makeZip(t, zfile{"xl/workbook.xml", nil}, zfile{"xl/worksheets/sheet1.xml", []byte(`<worksheet><c><v>1</v></c><![CDATA[`)}, zfile{"xl/worksheets/sheet2.xml", sheet(`<c><v>2</v></c>`)})
	x = extract(t, multipartMsg("x", attachment("c.xlsx", "application/octet-stream", broken)), Limits{})
	if p := partBySource(x, "attachment c.xlsx"); p == nil || string(p.Text) != "1\t\n2\t\n\n" ||
		len(x.Unreadable) != 1 || x.Unreadable[0] != (Unreadable{"attachment c.xlsx/xl/worksheets/sheet1.xml", "corrupt XLSX: unterminated CDATA"}) {
		t.Errorf("broken sheet: parts %q, unreadable %+v", x.Parts, x.Unreadable)
	}
}

// The deadline passing while a part is read: the part stops there, the
// reason is the deadline (not a corrupt document), and no other part is
// begun.
func TestOOXMLDeadline(t *testing.T) {
	docx := makeZip(t, zfile{"word/document.xml", wordPart("document", "body")}, zfile{"word/header1.xml", wordPart("hdr", "header")})
	xlsx := makeZip(t, zfile{"xl/workbook.xml", nil}, zfile{"xl/worksheets/sheet1.xml", []byte(`<worksheet><c><v>1</v></c></worksheet>`)}, zfile{"xl/worksheets/sheet2.xml", []byte(`<worksheet><c><v>2</v></c></worksheet>`)})
	for _, c := range []struct {
		name string
		data []byte
	}{{"d.docx", docx}, {"c.xlsx", xlsx}} {
		// One look while the first part is read, the next in xmlText.
		e := textExtractor(&laterContext{context.Background(), 1})
		e.zipDoc(kindOf("", c.name), "attachment", c.name, c.data, 0)
		if len(e.out.Parts) != 0 || !e.out.Truncated || len(e.out.Unreadable) != 1 || e.out.Unreadable[0] != (Unreadable{"attachment " + c.name, "deadline exceeded"}) {
			t.Errorf("%s: parts %q, unreadable %+v", c.name, e.out.Parts, e.out.Unreadable)
		}
	}
}
