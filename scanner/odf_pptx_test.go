package scanner

import (
	"context"
	"encoding/binary"
	"fmt"
	"slices"
	"strings"
	"testing"
)

// OpenDocument markup: runs of spaces (text:s, text:c times, 1 to 99),
// tabs, line breaks, and a float cell's office:value ahead of its shown
// text; other value types give only their text.
func TestODFText(t *testing.T) {
	for _, c := range []struct{ in, want string }{
		{`<text:p>a<text:s/>b<text:s text:c="3"/>c<text:s text:c="1"/>d</text:p>`, "a b   c d\n"},
		{`<text:p>a<text:s text:c="99"/>b</text:p>`, "a" + strings.Repeat(" ", 99) + "b\n"},
		{`<text:p>a<text:s text:c="100"/>b<text:s text:c="0"/>c<text:s text:c="-2"/>d<text:s text:c="x"/>e<text:s text:d="5"/>f</text:p>`, "a b c d e f\n"},
		{`<text:h>T<text:tab/>1<text:line-break/>2</text:h>`, "T\t1\n2\n"},
		{`<table:table-row><table:table-cell office:value-type="float" office:value="1.5E3"><text:p>1,500</text:p></table:table-cell>` +
			`<table:table-cell office:value-type="float" office:value=""><text:p>empty</text:p></table:table-cell>` +
			`<table:table-cell office:value-type="float" office:value="n/a"><text:p>bad</text:p></table:table-cell>` +
			`<table:table-cell office:value-type="currency" office:value="12.5"><text:p>$12.50</text:p></table:table-cell>` +
			`<table:table-cell office:value="7"><text:p>untyped</text:p></table:table-cell></table:table-row>`,
			"1500 1,500\n\tempty\n\tbad\n\t$12.50\n\tuntyped\n\t\n"},
		{`<text:p><text:span>s</text:span><text:a>a</text:a><text:date>d</text:date><text:time>t</text:time><text:page-number>1</text:page-number>` +
			`<text:sender-firstname>f</text:sender-firstname><text:sender-lastname>l</text:sender-lastname><text:title>T</text:title><text:subject>S</text:subject><text:note-citation>x</text:note-citation></text:p>`,
			"sadt1flTS\n"},
	} {
		got, err := textExtractor(context.Background()).xmlText([]byte(c.in), &odfML{})
		if string(got) != c.want || err != nil {
			t.Errorf("odf %q = %q, %v; want %q", c.in, got, err, c.want)
		}
	}
}

const pptxNS = `xmlns:a="http://schemas.openxmlformats.org/drawingml/2006/main" xmlns:p="http://schemas.openxmlformats.org/presentationml/2006/main"`

func pptxSlide(text string) []byte {
	return []byte(`<p:sld ` + pptxNS + `><p:cSld><p:spTree><p:sp><p:txBody><a:p><a:r><a:t>` + text + `</a:t></a:r></a:p></p:txBody></p:sp></p:spTree></p:cSld></p:sld>`)
}

// Slides in their numbers' order (not their names'), then the notes in
// theirs; MaxEntries bounds the parts read.
func TestPPTXOrder(t *testing.T) {
	// The notes come first in the archive.
	files := []zfile{{"ppt/presentation.xml", []byte(`<p:presentation ` + pptxNS + `/>`)}, {"ppt/notesSlides/notesSlide2.xml", pptxSlide("note 2")}}
	for _, n := range []int{10, 3, 1, 2} {
		files = append(files, zfile{fmt.Sprintf("ppt/slides/slide%d.xml", n), pptxSlide(fmt.Sprint("slide ", n))})
	}
	files = append(files, zfile{"ppt/notesSlides/notesSlide1.xml", pptxSlide("note 1")},
		zfile{"ppt/slides/_rels/slide1.xml.rels", []byte("<Relationships/>")}, zfile{"ppt/slideLayouts/slideLayout1.xml", pptxSlide("layout")})
	pptx := makeZip(t, files...)
	for _, c := range []struct {
		max    int
		want   string
		reason string
	}{
		{0, "slide 1\n\nslide 2\n\nslide 3\n\nslide 10\n\nnote 1\n\nnote 2\n\n", ""},
		{6, "slide 1\n\nslide 2\n\nslide 3\n\nslide 10\n\nnote 1\n\nnote 2\n\n", ""},
		{5, "slide 1\n\nslide 2\n\nslide 3\n\nslide 10\n\nnote 1\n\n", "more than 5 parts"},
	} {
		x := extract(t, multipartMsg("deck", attachment("d.pptx", "application/octet-stream", pptx)), Limits{MaxEntries: c.max})
		p := partBySource(x, "attachment d.pptx")
		if p == nil || string(p.Text) != c.want {
			t.Errorf("MaxEntries %d: parts %q, want %q", c.max, x.Parts, c.want)
		}
		if got := len(x.Unreadable) > 0 && x.Unreadable[0] == (Unreadable{"attachment d.pptx", c.reason}); got != (c.reason != "") || len(x.Unreadable) > 1 {
			t.Errorf("MaxEntries %d: unreadable %+v, want %q", c.max, x.Unreadable, c.reason)
		}
	}
	// A broken slide is reported, the others are read.
	broken := makeZip(t, zfile{"ppt/presentation.xml", nil}, zfile{"ppt/slides/slide1.xml", []byte(`<p:sld><a:t>cut</a:t><a:t`)}, zfile{"ppt/slides/slide2.xml", pptxSlide("two")})
	x := extract(t, multipartMsg("deck", attachment("d.pptx", "application/octet-stream", broken)), Limits{})
	if p := partBySource(x, "attachment d.pptx"); p == nil || string(p.Text) != "cut\ntwo\n\n" ||
		len(x.Unreadable) != 1 || x.Unreadable[0] != (Unreadable{"attachment d.pptx/ppt/slides/slide1.xml", "corrupt PPTX: unterminated tag"}) {
		t.Errorf("broken slide: parts %q, unreadable %+v", x.Parts, x.Unreadable)
	}
	// The deadline passing in the first slide: no other is begun.
	e := textExtractor(&laterContext{context.Background(), 1})
	e.zipDoc(kZIP, "attachment", "d.pptx", pptx, 0)
	if strings.TrimSpace(string(e.out.Text())) != "" || len(e.out.Unreadable) != 1 || e.out.Unreadable[0] != (Unreadable{"attachment d.pptx", "deadline exceeded"}) {
		t.Errorf("deadline: parts %q, unreadable %+v", e.out.Parts, e.out.Unreadable)
	}
}

// pptRecord is one PowerPoint 97 record: its version and instance, type,
// length and body.
func pptRecord(verInst, typ uint16, body []byte) []byte {
	b := binary.LittleEndian.AppendUint16(nil, verInst)
	b = binary.LittleEndian.AppendUint16(b, typ)
	b = binary.LittleEndian.AppendUint32(b, uint32(len(body)))
	return append(b, body...)
}

// PowerPoint 97's records: containers are entered, text atoms (UTF-16,
// 8-bit cp1252, CString) read, other atoms passed over; a record cut
// short ends the stream. A paragraph's CR and a line's VT are newlines:
// they were dropped, and "SSN" and the number in the next paragraph made
// one word the detectors did not take for an SSN.
func TestPPTText(t *testing.T) {
	rec, cat := pptRecord, slices.Concat[[]byte]
	for _, c := range []struct {
		in   []byte
		want string
	}{
		{cat(rec(0, 0x0FA0, nil), rec(0x000F, 0x03E8, cat(rec(0, 0x0FA0, utf16le("SSN\r536-22-1234\v!")), rec(0, 0x0FA8, []byte("Gr\xfc\xdfe \x80\r\vx")))), rec(0, 0x0FBA, utf16le("name\x00d"))),
			"\nSSN\n536-22-1234\n!\nGrüße €\n\nx\nnamed\n"},
		{cat(rec(0, 0x0FA0, utf16le("a")), rec(0, 0x0FA0, nil)), "a\n\n"},                                        // an empty atom last
		{rec(0, 0x0FA0, []byte{'a', 0, '\r'}), "a\n"},                                                            // an odd byte over
		{cat(rec(0, 0x0FA0, utf16le("a")), rec(0, 0x03F3, []byte{1, 2}), rec(0, 0x0FA8, []byte("b"))), "a\nb\n"}, // an atom of another type
		{cat(rec(0, 0x0FA0, utf16le("a")), rec(0, 0x0FA8, []byte("bcd"))[:10]), "a\n"},                           // cut short
		{cat(rec(0, 0x0FA0, utf16le("a")), []byte{0, 0, 0xA0, 0x0F, 0, 0, 0}), "a\n"},                            // a header cut short
	} {
		if got := string(pptText(c.in)); got != c.want {
			t.Errorf("pptText = %q, want %q", got, c.want)
		}
	}
	doc := rec(0x000F, 0x03E8, rec(0, 0x0FA0, utf16le("Patient SSN\r"+testSSN)))
	x := extract(t, multipartMsg("slides", attachment("deck.ppt", "application/vnd.ms-powerpoint", cfb(t, []*cfbEntry{{name: "PowerPoint Document", data: doc}}))), Limits{})
	if fs := x.Scan(Options{}); len(fs) != 1 || fs[0].Detector != "us_ssn" {
		t.Errorf("an SSN in the paragraph after its label: findings %+v in %q", fs, x.Text())
	}
}
