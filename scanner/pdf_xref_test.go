package scanner

// Cross-reference tables and streams, their chains through /Prev and
// /XRefStm, and the re-indexing of a file whose cross-reference data is
// broken. The files are written by hand (pdfWriter), each to an edge of the
// syntax. A page that shows "1 0 obj" as text tells the two ways of
// reading apart: re-indexing takes those words for a new definition of the
// catalogue and finds no page tree, so the text would come without its
// page; only the cross-reference data puts it on page 1.

import (
	"bytes"
	"fmt"
	"maps"
	"strings"
	"testing"
)

// pdfWriter writes a PDF piece by piece, recording object offsets.
type pdfWriter struct {
	b    bytes.Buffer
	offs map[int]int
}

func newPDFWriter() *pdfWriter {
	w := &pdfWriter{offs: map[int]int{}}
	w.b.WriteString("%PDF-1.7\n")
	return w
}

func (w *pdfWriter) obj(num int, body string) {
	w.offs[num] = w.b.Len()
	fmt.Fprintf(&w.b, "%d 0 obj\n%s\nendobj\n", num, body)
}

// table writes a cross-reference table with subsections given as start,
// count pairs (objects not written are free) and returns its offset.
func (w *pdfWriter) table(trailer string, subs ...int) int {
	at := w.b.Len()
	w.b.WriteString("xref\n")
	for i := 0; i < len(subs); i += 2 {
		fmt.Fprintf(&w.b, "%d %d\n", subs[i], subs[i+1])
		for n := subs[i]; n < subs[i]+subs[i+1]; n++ {
			if off, ok := w.offs[n]; ok {
				fmt.Fprintf(&w.b, "%010d 00000 n \n", off)
			} else {
				w.b.WriteString("0000000000 65535 f \n")
			}
		}
	}
	fmt.Fprintf(&w.b, "trailer\n%s\n", trailer)
	return at
}

// xrefStream writes object num as an uncompressed cross-reference stream
// with field widths wd for the objects nums (type 1, or 0 when not
// written) and returns its offset.
func (w *pdfWriter) xrefStream(num int, wd [3]int, dict string, nums ...int) int {
	at := w.b.Len()
	w.offs[num] = at
	var data []byte
	field := func(v, width int) {
		for i := width - 1; i >= 0; i-- {
			data = append(data, byte(v>>(8*i)))
		}
	}
	for _, n := range nums {
		off, ok := w.offs[n]
		if wd[0] > 0 {
			typ := 0
			if ok {
				typ = 1
			}
			field(typ, wd[0])
		}
		field(off, wd[1])
		field(0, wd[2])
	}
	fmt.Fprintf(&w.b, "%d 0 obj\n<< /Type /XRef /W [%d %d %d] %s /Length %d >>\nstream\n%s\nendstream\nendobj\n",
		num, wd[0], wd[1], wd[2], dict, len(data), data)
	return at
}

// end returns the file so far with its startxref (the writer is unchanged).
func (w *pdfWriter) end(startxref int) []byte {
	return fmt.Appendf(bytes.Clone(w.b.Bytes()), "startxref\n%d\n%%%%EOF\n", startxref)
}

// trickText is page 1's text: it looks like an object header.
const trickText = "Syntax: 1 0 obj"

// trickObjects writes the catalogue, page tree, page and its content
// (objects 1 to 4); the content shows trickText.
func trickObjects(w *pdfWriter) {
	w.obj(1, "<< /Type /Catalog /Pages 2 0 R >>")
	w.obj(2, "<< /Type /Pages /Kids [3 0 R] /Count 1 >>")
	w.obj(3, "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Resources << /Font << /F1 << /Type /Font /Subtype /Type1 /BaseFont /Helvetica >> >> >> /Contents 4 0 R >>")
	w.obj(4, stream("", "BT /F1 12 Tf 72 700 Td ("+trickText+") Tj ET"))
}

// pdfParts extracts pdf as attachment t.pdf: each part's text by source,
// and each unreadable source's reason under "unreadable SOURCE".
func pdfParts(t *testing.T, pdf []byte) map[string]string {
	t.Helper()
	x := extract(t, multipartMsg("pdf", attachment("t.pdf", "application/pdf", pdf)), Limits{})
	m := map[string]string{}
	for _, p := range x.Parts {
		if p.Source != "header Subject" {
			m[p.Source] = string(p.Text)
		}
	}
	for _, u := range x.Unreadable {
		m["unreadable "+u.Source] = u.Reason
	}
	return m
}

func checkParts(t *testing.T, name string, pdf []byte, want map[string]string) {
	t.Helper()
	if got := pdfParts(t, pdf); !maps.Equal(got, want) {
		t.Errorf("%s: %q, want %q", name, got, want)
	}
}

var trickPage = map[string]string{"attachment t.pdf, page 1": trickText + "\n"}

// The cross-reference table is read, not the words that look like objects;
// the same file with its startxref broken is re-indexed and the text
// loses its page.
func TestPDFXrefTable(t *testing.T) {
	w := newPDFWriter()
	trickObjects(w)
	// An empty subsection is allowed.
	x := w.table("<< /Size 5 /Root 1 0 R >>", 0, 3, 9, 0, 3, 2)
	checkParts(t, "table", w.end(x), trickPage)

	checkParts(t, "startxref broken", w.end(x+1), map[string]string{"attachment t.pdf": trickText + "\n"})

	// A /Prev beyond the end of the file ends the chain.
	w = newPDFWriter()
	trickObjects(w)
	x = w.table("<< /Size 5 /Root 1 0 R /Prev 0000000000 >>", 0, 5)
	pdf := w.end(x)
	pdf = bytes.Replace(pdf, []byte("0000000000 >>"), fmt.Appendf(nil, "%010d >>", len(pdf)), 1)
	checkParts(t, "prev at the end", pdf, trickPage)
}

// An incremental update's sections are read newest first, the newest
// entry of an object wins, and at most 1000 sections are followed.
func TestPDFXrefChain(t *testing.T) {
	chain := func(sections int) []byte {
		w := newPDFWriter()
		trickObjects(w)
		// The oldest section: the content.
		prev := w.table("<< /Size 5 >>", 4, 1)
		for range sections - 2 {
			prev = w.table(fmt.Sprintf("<< /Prev %d >>", prev))
		}
		// The newest: the catalogue, the pages and the trailer.
		return w.end(w.table(fmt.Sprintf("<< /Size 5 /Root 1 0 R /Prev %d >>", prev), 0, 4))
	}
	checkParts(t, "1000 sections", chain(1000), trickPage)
	checkParts(t, "1001 sections", chain(1001), map[string]string{"unreadable attachment t.pdf": "no extractable text in PDF (scanned image, or fonts without a Unicode map)"})

	// An update replaces the content (object 4) and deletes object 5;
	// the older section's entries for them are not used.
	w := newPDFWriter()
	trickObjects(w)
	w.obj(5, "<< /Type /Catalog /Pages 2 0 R >>")
	old := w.table("<< /Size 6 /Root 5 0 R >>", 0, 6)
	w.obj(4, stream("", "BT /F1 12 Tf 72 700 Td (New: 1 0 obj) Tj ET"))
	delete(w.offs, 5)
	x := w.table(fmt.Sprintf("<< /Size 6 /Root 1 0 R /Prev %d >>", old), 4, 2)
	checkParts(t, "update", w.end(x), map[string]string{"attachment t.pdf, page 1": "New: 1 0 obj\n"})
}

// A hybrid file: the table's trailer names a cross-reference stream
// (/XRefStm) with more entries, and /Prev an older table.
func TestPDFXrefHybrid(t *testing.T) {
	w := newPDFWriter()
	trickObjects(w)
	old := w.table("<< /Size 5 >>", 4, 1)
	stm := w.xrefStream(5, [3]int{1, 4, 1}, "/Size 6 /Index [3 1]", 3)
	x := w.table(fmt.Sprintf("<< /Size 6 /Root 1 0 R /XRefStm %d /Prev %d >>", stm, old), 0, 3)
	checkParts(t, "hybrid", w.end(x), trickPage)
}

// Cross-reference streams with every field width from 0 (a missing type
// is 1) to 8 octets, subsections in /Index, and data cut short.
func TestPDFXrefStream(t *testing.T) {
	for _, c := range []struct {
		name string
		wd   [3]int
		dict string
		nums []int
	}{
		{"W 1 2 1", [3]int{1, 2, 1}, "/Size 6", []int{0, 1, 2, 3, 4, 5}},
		{"no type, no generation", [3]int{0, 2, 0}, "/Size 6", []int{0, 1, 2, 3, 4, 5}},
		{"8-octet offsets", [3]int{1, 8, 1}, "/Size 6", []int{0, 1, 2, 3, 4, 5}},
		{"subsections", [3]int{1, 2, 1}, "/Size 6 /Index [1 2 3 3]", []int{1, 2, 3, 4, 5}},
		// An odd last element of /Index is ignored.
		{"odd index", [3]int{1, 2, 1}, "/Size 6 /Index [0 6 7]", []int{0, 1, 2, 3, 4, 5}},
		// /Index promises more rows than the data holds.
		{"short data", [3]int{1, 2, 1}, "/Size 6 /Index [0 9]", []int{0, 1, 2, 3, 4, 5}},
	} {
		w := newPDFWriter()
		trickObjects(w)
		x := w.xrefStream(5, c.wd, "/Root 1 0 R "+c.dict, c.nums...)
		checkParts(t, c.name, w.end(x), trickPage)
	}
	// Rows the data does not hold register nothing: an older section's
	// entry for such an object (7, the page's second content) is used.
	w := newPDFWriter()
	w.obj(1, "<< /Type /Catalog /Pages 2 0 R >>")
	w.obj(2, "<< /Type /Pages /Kids [3 0 R] /Count 1 >>")
	w.obj(3, "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Resources << /Font << /F1 << /Type /Font /Subtype /Type1 /BaseFont /Helvetica >> >> >> /Contents [4 0 R 7 0 R] >>")
	w.obj(4, stream("", "BT /F1 12 Tf 72 700 Td ("+trickText+") Tj ET"))
	w.obj(7, stream("", "BT /F1 12 Tf 72 680 Td (Card 4111 1111 1111 1111) Tj ET"))
	old := w.table("<< /Size 8 >>", 7, 1)
	x := w.xrefStream(5, [3]int{1, 2, 1}, fmt.Sprintf("/Root 1 0 R /Size 9 /Index [0 9] /Prev %d", old), 0, 1, 2, 3, 4, 5)
	checkParts(t, "short data over an older section", w.end(x), map[string]string{"attachment t.pdf, page 1": trickText + "\nCard 4111 1111 1111 1111\n"})

	// Field widths beyond 8 octets are refused, and the file re-indexed.
	w = newPDFWriter()
	trickObjects(w)
	x = w.xrefStream(5, [3]int{1, 9, 1}, "/Root 1 0 R /Size 6", 0, 1, 2, 3, 4, 5)
	checkParts(t, "9-octet offsets", w.end(x), map[string]string{"attachment t.pdf": trickText + "\n"})
}

// A file without usable cross-reference data is indexed by searching it
// for "N G obj": an object at the very start of the file, adjacent "obj"
// words, a catalogue that no trailer names.
func TestPDFReindex(t *testing.T) {
	content := stream("", "BT /F1 12 Tf 72 700 Td (Card 4111 1111 1111 1111) Tj ET")
	page := "<< /Type /Page /Parent 2 0 R /Resources << /Font << /F1 << /Type /Font /Subtype /Type1 /BaseFont /Helvetica >> >> >> /Contents 4 0 R >>"
	var b bytes.Buffer
	b.WriteString("1 0 obj\n<< /Type /Catalog /Pages 2 0 R >>\nendobj\n%PDF-1.4\n%objobj\n")
	fmt.Fprintf(&b, "2 0 obj\n<< /Type /Pages /Kids [3 0 R] /Count 1 >>\nendobj\n3 0 obj\n%s\nendobj\n4 0 obj\n%s\nendobj\n", page, content)
	want := map[string]string{"attachment t.pdf, page 1": "Card 4111 1111 1111 1111\n"}
	checkParts(t, "object at offset 0, no trailer", b.Bytes(), want)

	// Cut before its cross-reference table, a file has no trailer: the
	// catalogue is found among the objects.
	pdf := buildPDF("<< /Type /Pages /Kids [3 0 R] /Count 1 >>", "<< /Type /Pages /Kids [3 0 R] /Count 1 >>", page, content,
		"<< /Type /Catalog /Pages 2 0 R >>")
	pdf = pdf[:bytes.Index(pdf, []byte("xref"))]
	checkParts(t, "no trailer", pdf, want)
}

// parseAt reads a stream's data by its /Length when "endstream" follows
// it, and otherwise up to the "endstream" keyword, less the end of line.
func TestPDFStreamData(t *testing.T) {
	for _, c := range []struct{ name, obj, want string }{
		{"CRLF", "<< /Length 3 >>\nstream\r\nabc\r\nendstream", "abc"},
		{"LF", "<< /Length 3 >>\nstream\nabc\nendstream", "abc"},
		{"CR", "<< /Length 3 >>\nstream\rabc\rendstream", "abc"},
		{"length 0", "<< /Length 0 >>\nstream\nXYZ\nendstream", ""},
		{"endstream in the data", "<< /Length 15 >>\nstream\n(endstream) Tj\n\nendstream", "(endstream) Tj\n"},
		{"no length, line ends", "<< >>\nstream\nabc\r\n\nendstream", "abc"},
		{"negative length", "<< /Length -1 >>\nstream\nabc\nendstream", "abc"},
		{"length past the end", "<< /Length 1000000 >>\nstream\nabc\nendstream", "abc"},
		{"no length, empty", "<< >>\nstream\nendstream", ""},
		{"no length, only line ends", "<< >>\nstream\n\r\n\nendstream", ""},
		// The search for endstream stops at the next object after the
		// data's start, not at an object head the data itself begins with.
		{"no length, data like an object head", "<< >>\nstream\n1 0 obj\nabc\nendstream", "1 0 obj\nabc"},
		{"no endstream", "<< >>\nstream\nabc", "abc"},
		{"stream at the end", "<< >>\nstream", ""},
	} {
		b := exact("7 0 obj\n" + c.obj)
		d := memDoc(Limits{})
		d.b = b
		obj, ref, err := d.parseAt(0, &pdfRef{num: 7})
		s, ok := obj.(*pdfStream)
		if err != nil || ref != (pdfRef{7, 0}) || !ok || string(s.raw) != c.want {
			t.Errorf("%s: %#v %v %v, want %q", c.name, obj, ref, err, c.want)
		}
	}
}

// A /Length that is an indirect object is read from it.
func TestPDFIndirectLength(t *testing.T) {
	data := "BT /F1 12 Tf 72 700 Td (endstream 536-22-1234) Tj ET"
	pdf := buildPDF("<< /Type /Catalog /Pages 2 0 R >>", "<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
		"<< /Type /Page /Parent 2 0 R /Resources << /Font << /F1 << /Type /Font /Subtype /Type1 /BaseFont /Helvetica >> >> >> /Contents 4 0 R >>",
		"<< /Length 5 0 R >>\nstream\n"+data+"\nendstream", fmt.Sprint(len(data)))
	checkParts(t, "indirect length", pdf, map[string]string{"attachment t.pdf, page 1": "endstream 536-22-1234\n"})
}

// Objects in an object stream: /N bounds the header's pairs, and an offset
// past the data ends it.
func TestPDFObjectStream(t *testing.T) {
	objs := "<< /A 1 >> (two) [3]"
	// Offsets out of order, one at the very end of the data (an empty
	// object): it does not hide the object listed after it.
	h2, h3, h4 := "10 0 11 11 12 999 13 17", "20 0 21 11 22 17", fmt.Sprintf("30 %d 31 0", len(objs))
	objStm := func(n int, h string) string {
		return stream(fmt.Sprintf("/Type /ObjStm /N %d /First %d", n, len(h)+1), h+" "+objs)
	}
	pdf := buildPDF("<< /Type /Catalog >>", objStm(4, h2), objStm(2, h3), objStm(2, h4))
	d := openPDFBytes(t, pdf)
	for n := 10; n <= 13; n++ {
		d.xref[n] = xrefEntry{kind: 2, off: 2}
	}
	for n := 20; n <= 22; n++ {
		d.xref[n] = xrefEntry{kind: 2, off: 3}
	}
	d.xref[31] = xrefEntry{kind: 2, off: 4}
	got := []any{}
	for _, n := range []int{10, 11, 12, 13, 20, 21, 22, 31} {
		got = append(got, d.resolve(pdfRef{num: n}))
	}
	want := []any{pdfDict{"A": 1}, pdfString("two"), nil, nil, pdfDict{"A": 1}, pdfString("two"), nil, pdfDict{"A": 1}}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("objects %v, want %v", got, want)
	}
}

// resolve parses at most maxPDFObjects objects for one document.
func TestPDFObjectBudget(t *testing.T) {
	pdf := buildPDF("<< /Type /Catalog >>", "(two)", "(three)")
	d := openPDFBytes(t, pdf)
	d.loads = maxPDFObjects - 1
	if got, _ := d.resolve(pdfRef{num: 2}).(pdfString); string(got) != "two" {
		t.Errorf("the last object allowed: %v", got)
	}
	if got := d.resolve(pdfRef{num: 3}); got != nil {
		t.Errorf("one object too many: %v", got)
	}
	// A stream's dictionary is a dictionary too.
	pdf = buildPDF("<< /Type /Catalog >>", stream("/Type /XObject", "x"))
	d = openPDFBytes(t, pdf)
	if got := d.resolveDict(pdfRef{num: 2}); got["Type"] != pdfName("XObject") {
		t.Errorf("a stream's dictionary: %v", got)
	}
}

// startxref is looked for in the last 2048 bytes, its first byte
// included (a file padded after %%EOF).
func TestPDFStartxrefAtTheEdge(t *testing.T) {
	w := newPDFWriter()
	trickObjects(w)
	pdf := w.end(w.table("<< /Size 5 /Root 1 0 R >>", 0, 5))
	k := bytes.LastIndex(pdf, []byte("startxref"))
	pdf = append(pdf, bytes.Repeat([]byte(" "), 2048-(len(pdf)-k))...)
	if len(pdf)-bytes.LastIndex(pdf, []byte("startxref")) != 2048 {
		t.Fatal("startxref is not 2048 bytes from the end")
	}
	checkParts(t, "startxref 2048 bytes from the end", pdf, trickPage)
}

// A cross-reference table at the very start of the file (offset 0),
// before the header.
func TestPDFXrefAtOffsetZero(t *testing.T) {
	body := newPDFWriter()
	trickObjects(body)
	table := func(shift int) string {
		var b strings.Builder
		b.WriteString("xref\n0 5\n0000000000 65535 f \n")
		for n := 1; n <= 4; n++ {
			fmt.Fprintf(&b, "%010d 00000 n \n", body.offs[n]+shift)
		}
		b.WriteString("trailer\n<< /Size 5 /Root 1 0 R >>\n")
		return b.String()
	}
	pdf := append([]byte(table(len(table(0)))), body.b.Bytes()...)
	pdf = fmt.Appendf(pdf, "startxref\n0\n%%%%EOF\n")
	checkParts(t, "xref at offset 0", pdf, trickPage)
}
