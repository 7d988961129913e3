package scanner

import (
	"bytes"
	"context"
	"fmt"
	"strings"
	"testing"
	"time"
)

// buildPDF writes a PDF with a classic cross-reference table from object
// bodies (numbered from 1; a body of the form "<<…>>\nstream\n…" carries
// its own stream). Object 1 must be the catalogue.
func buildPDF(objs ...string) []byte {
	var b bytes.Buffer
	b.WriteString("%PDF-1.7\n")
	offs := make([]int, len(objs))
	for i, o := range objs {
		offs[i] = b.Len()
		fmt.Fprintf(&b, "%d 0 obj\n%s\nendobj\n", i+1, o)
	}
	x := b.Len()
	fmt.Fprintf(&b, "xref\n0 %d\n0000000000 65535 f \n", len(objs)+1)
	for _, o := range offs {
		fmt.Fprintf(&b, "%010d 00000 n \n", o)
	}
	fmt.Fprintf(&b, "trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n", len(objs)+1, x)
	return b.Bytes()
}

func stream(dict, data string) string {
	return fmt.Sprintf("<< %s /Length %d >>\nstream\n%s\nendstream", dict, len(data), data)
}

func pdfText(t *testing.T, pdf []byte) (*Extracted, string) {
	t.Helper()
	x := extract(t, multipartMsg("pdf", attachment("t.pdf", "application/pdf", pdf)), Limits{})
	var all []byte
	for _, p := range x.Parts {
		if p.Source != "header Subject" {
			all = append(all, p.Text...)
		}
	}
	return x, string(all)
}

// A simple font whose Differences map the codes A..J to the digits: the
// bytes say "ABC", the page says "012".
func TestPDFDifferences(t *testing.T) {
	content := "BT /F1 12 Tf 72 700 Td (SSN FDG-CC-BCDE) Tj ET"
	pdf := buildPDF(
		"<< /Type /Catalog /Pages 2 0 R >>",
		"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
		"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Resources << /Font << /F1 5 0 R >> >> /Contents 4 0 R >>",
		stream("", content),
		"<< /Type /Font /Subtype /Type1 /BaseFont /Custom /Encoding << /Type /Encoding /BaseEncoding /WinAnsiEncoding /Differences [65 /zero /one /two /three /four /five /six /seven /eight /nine] >> >>",
	)
	_, text := pdfText(t, pdf)
	if want := "SSN 536-22-1234\n"; text != want {
		t.Errorf("text %q, want %q", text, want)
	}
}

// A Type0 font with a ToUnicode CMap (bfchar and bfrange, with an array
// destination) and Identity-H two-byte codes, as word processors write.
func TestPDFToUnicode(t *testing.T) {
	cmap := `/CIDInit /ProcSet findresource begin 12 dict begin begincmap
1 begincodespacerange <0000> <FFFF> endcodespacerange
2 beginbfchar <0003> <0020> <0010> <002D> endbfchar
2 beginbfrange <0013> <001C> <0030> <0036> <0038> [<0053> <0053> <004E>] endbfrange
endcmap CMapName currentdict /CMap defineresource pop end end`
	// "SSN 536-22-1234" in glyph ids: S=0036 S=0037 N=0038 (from the array), digits 0013+d.
	hex := "<003600370038 0003 0018001600190010 00150015 0010 0014001500160017>"
	content := "BT /F1 10 Tf 1 0 0 1 72 700 Tm " + hex + " Tj ET"
	pdf := buildPDF(
		"<< /Type /Catalog /Pages 2 0 R >>",
		"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
		"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Resources << /Font << /F1 5 0 R >> >> /Contents 4 0 R >>",
		stream("", content),
		"<< /Type /Font /Subtype /Type0 /BaseFont /ABCDEF+Arial /Encoding /Identity-H /DescendantFonts [6 0 R] /ToUnicode 7 0 R >>",
		"<< /Type /Font /Subtype /CIDFontType2 /BaseFont /ABCDEF+Arial /DW 556 /W [3 [278] 16 [333]] >>",
		stream("", cmap),
	)
	_, text := pdfText(t, pdf)
	if want := "SSN 536-22-1234\n"; text != want {
		t.Errorf("text %q, want %q", text, want)
	}
}

// Form field values (and their names, often the very context word) are
// text of the document.
func TestPDFFormFields(t *testing.T) {
	pdf := buildPDF(
		"<< /Type /Catalog /Pages 2 0 R /AcroForm << /Fields [5 0 R] >> >>",
		"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
		"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Resources << /Font << /F1 << /Subtype /Type1 /BaseFont /Helvetica >> >> >> /Contents 4 0 R >>",
		stream("", "BT /F1 12 Tf 72 700 Td (Intake form) Tj ET"),
		"<< /T (patient) /Kids [6 0 R 7 0 R] >>",
		"<< /T (SSN) /FT /Tx /V (536-22-1234) >>",
		"<< /T (card) /FT /Tx /V <FEFF0034003100310031002000310031003100310020003100310031003100200031003100310031> >>",
	)
	x, _ := pdfText(t, pdf)
	fs := x.Scan(Options{})
	if len(fs) != 2 || fs[0].Where != "attachment t.pdf, form fields" || fs[0].Detector != "us_ssn" || fs[1].Detector != "credit_card" {
		t.Errorf("findings %+v; parts %+v", fs, x.Parts)
	}
}

// FuzzPDF: whatever the bytes, the PDF reader does not panic and comes
// back soon after its deadline.
func FuzzPDF(f *testing.F) {
	f.Add(makePDF(f, false))
	f.Add(makePDF(f, true))
	f.Add(buildPDF("<< /Type /Catalog /Pages 2 0 R >>", "<< /Type /Pages /Kids [3 0 R 2 0 R] /Count 1 >>",
		"<< /Type /Page /Parent 2 0 R /Contents [4 0 R 4 0 R] /Resources << /XObject << /X 5 0 R >> >> >>",
		stream("", "/X Do BT (a) Tj ET"), stream("/Subtype /Form /Filter /FlateDecode", "x")))
	f.Add([]byte("%PDF-1.5\n1 0 obj << /Type /XRef /W [1 2 1] /Size 3 /Root 2 0 R /Length 4 >> stream\n\x01\x00\x09\x00\nendstream endobj\nstartxref\n9\n%%EOF"))
	f.Fuzz(func(t *testing.T, pdf []byte) {
		ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
		defer cancel()
		e := &extractor{ctx: ctx, lim: Limits{MaxTotal: 64 << 10, MaxEntry: 32 << 10}.withDefaults(), out: &Extracted{}, work: 256 << 10}
		start := time.Now()
		e.pdf("t.pdf", pdf)
		if d := time.Since(start); d > 5*time.Second {
			t.Errorf("pdf took %v", d)
		}
	})
}

// BenchmarkPDFText: pages of words shown as hex strings in kerned TJ
// arrays through a Type0 font with a ToUnicode map, as browsers write.
func BenchmarkPDFText(b *testing.B) {
	cmap := "1 begincodespacerange <0000> <FFFF> endcodespacerange 1 beginbfrange <0020> <00FF> <0020> endbfrange"
	var c bytes.Buffer
	c.WriteString("BT /F1 10 Tf 12 TL 50 770 Td\n")
	words := []string{"please", "find", "the", "attached", "report", "SSN", "536-22-1234", "card", "4111", "1111"}
	for line := 0; line < 50; line++ {
		c.WriteString("[")
		for w := 0; w < 12; w++ {
			fmt.Fprintf(&c, "<")
			for _, r := range []byte(words[(line*12+w)%len(words)]) {
				fmt.Fprintf(&c, "00%02X", r)
			}
			c.WriteString("> -250 ")
		}
		c.WriteString("] TJ T*\n")
	}
	c.WriteString("ET")
	objs := []string{"<< /Type /Catalog /Pages 2 0 R >>", ""}
	var kids []string
	for p := 0; p < 100; p++ {
		objs = append(objs, stream("", c.String()))
		objs = append(objs, fmt.Sprintf("<< /Type /Page /Parent 2 0 R /Resources << /Font << /F1 %d 0 R >> >> /Contents %d 0 R >>", 203, len(objs)))
		kids = append(kids, fmt.Sprintf("%d 0 R", len(objs)))
	}
	objs[1] = fmt.Sprintf("<< /Type /Pages /Kids [%s] /Count %d >>", strings.Join(kids, " "), len(kids))
	objs = append(objs, "<< /Type /Font /Subtype /Type0 /Encoding /Identity-H /DescendantFonts [204 0 R] /ToUnicode 205 0 R >>",
		"<< /Type /Font /Subtype /CIDFontType2 /DW 500 >>", stream("", cmap))
	pdf := buildPDF(objs...)
	b.SetBytes(int64(len(pdf)))
	for b.Loop() {
		e := &extractor{ctx: context.Background(), lim: Limits{}.withDefaults(), out: &Extracted{}, work: 1 << 30}
		e.pdf("t.pdf", pdf)
		if len(e.out.Parts) != 100 {
			b.Fatalf("%d parts, unreadable %+v", len(e.out.Parts), e.out.Unreadable)
		}
	}
}
