package scanner

import (
	"bytes"
	"compress/zlib"
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"
)

// The documents here are hand-built (buildPDF): each is the edge of one
// rule of the reader, which no producer writes on purpose.

// readPDF runs the PDF reader alone on a document, with limits and a
// decompression budget.
func readPDF(t *testing.T, pdf []byte, lim Limits, work int64) *Extracted {
	t.Helper()
	e := &extractor{ctx: context.Background(), lim: lim.withDefaults(), out: &Extracted{}, work: work}
	e.pdf("t.pdf", pdf)
	return e.out
}

// parts lists "source: text" of every part.
func parts(x *Extracted) []string {
	var out []string
	for _, p := range x.Parts {
		out = append(out, p.Source+": "+string(p.Text))
	}
	return out
}

func unreadables(x *Extracted) []string {
	var out []string
	for _, u := range x.Unreadable {
		out = append(out, u.Source+": "+u.Reason)
	}
	return out
}

const helvetica = "/Resources << /Font << /F1 << /Type /Font /Subtype /Type1 /BaseFont /Helvetica >> >> >>"

// pageTreeChain is a document whose one page lies depth levels below the
// root of the page tree.
func pageTreeChain(depth int) []byte {
	objs := []string{"<< /Type /Catalog /Pages 2 0 R >>"}
	for k := range depth {
		objs = append(objs, fmt.Sprintf("<< /Type /Pages /Kids [%d 0 R] >>", k+3))
	}
	n := len(objs) + 1
	objs = append(objs, fmt.Sprintf("<< /Type /Page %s /Contents %d 0 R >>", helvetica, n+1),
		stream("", "BT /F1 10 Tf (deep) Tj ET"))
	return buildPDF(objs...)
}

// The page tree is walked 64 levels deep and no deeper; past that the
// document has no pages, and its content streams are read as loose ones.
func TestPDFPageTreeDepth(t *testing.T) {
	x := readPDF(t, pageTreeChain(64), Limits{}, 1<<30)
	if got := parts(x); !slices.Equal(got, []string{"t.pdf, page 1: deep\n"}) || len(x.Unreadable) != 0 {
		t.Errorf("64 levels: %q, %q", got, unreadables(x))
	}
	x = readPDF(t, pageTreeChain(65), Limits{}, 1<<30)
	if got := parts(x); !slices.Equal(got, []string{"t.pdf: deep\n"}) || len(x.Unreadable) != 0 {
		t.Errorf("65 levels: %q, %q", parts(x), unreadables(x))
	}
}

// At most 10,000 pages are read; a longer document is cut short, said so.
func TestPDFPageLimit(t *testing.T) {
	for _, c := range []struct {
		pages int
		cut   bool
	}{{10000, false}, {10001, true}} {
		var kids strings.Builder
		for range c.pages {
			kids.WriteString("<< /Type /Page >> ")
		}
		x := readPDF(t, buildPDF("<< /Type /Catalog /Pages 2 0 R >>", "<< /Type /Pages /Kids ["+kids.String()+"] >>"), Limits{}, 1<<30)
		if cut := unreadableFor(x, "t.pdf", "more than 10000 pages"); cut != c.cut || x.Truncated != c.cut {
			t.Errorf("%d pages: unreadable %q, truncated %v", c.pages, unreadables(x), x.Truncated)
		}
	}
}

// What a page without text says: nothing when it is blank or shows only
// spaces, "only an image" (in a document of several pages), "fonts
// without a Unicode map" when it shows glyphs that map to no text.
func TestPDFPageOutcomes(t *testing.T) {
	const (
		image  = "<< /Type /XObject /Subtype /Image /Width 1 /Height 1 /BitsPerComponent 8 /ColorSpace /DeviceGray /Length 1 >>\nstream\nx\nendstream"
		noUni  = "<< /Type /Font /Subtype /Type0 /Encoding /Identity-H /DescendantFonts [<< /Subtype /CIDFontType2 >>] >>"
		tounic = "<< /Type /Font /Subtype /Type0 /Encoding /Identity-H /DescendantFonts [<< /Subtype /CIDFontType2 >>] /ToUnicode 4 0 R >>"
	)
	var objs []string
	page := func(res, content string) string {
		objs = append(objs, stream("", content))
		objs = append(objs, fmt.Sprintf("<< /Type /Page /Resources << %s >> /Contents %d 0 R >>", res, len(objs)+2))
		return fmt.Sprintf("%d 0 R", len(objs)+2)
	}
	objs = append(objs, image, stream("", "1 beginbfchar <0041> <0041> endbfchar"))
	fonts := "/Font << /F1 << /Subtype /Type1 >> /F2 " + noUni + " /F3 " + tounic + " >> /XObject << /Im 3 0 R >>"
	kids := []string{
		page(fonts, "BT /F1 10 Tf (SSN) Tj ET"),           // 1: text
		page(fonts, ""),                                   // 2: blank
		page(fonts, "BT /F1 10 Tf ( ) Tj ET"),             // 3: a space
		page(fonts, "q 100 0 0 100 0 0 cm /Im Do Q"),      // 4: an image
		page(fonts, "BI /W 1 /H 1 /CS /G /BPC 8 ID x EI"), // 5: an inline image
		page(fonts, "BT /F2 10 Tf <00410042> Tj ET"),      // 6: glyphs without text
		page(fonts, "/Im Do BT /F2 10 Tf <0041> Tj ET"),   // 7: both
		page(fonts, "BT /F3 10 Tf <00420041> Tj ET"),      // 8: one glyph without text, one with
		page(fonts, "BT /F3 10 Tf <0042> Tj ET /Im Do"),   // 9: an image and a glyph without text
	}
	objs = append([]string{"<< /Type /Catalog /Pages 2 0 R >>", "<< /Type /Pages /Kids [" + strings.Join(kids, " ") + "] >>"}, objs...)
	x := readPDF(t, buildPDF(objs...), Limits{}, 1<<30)
	wantParts := []string{"t.pdf, page 1: SSN\n", "t.pdf, page 8: A\n"}
	wantUnreadable := []string{
		"t.pdf, page 4: a page that is only an image (scanned?), no text",
		"t.pdf, page 5: a page that is only an image (scanned?), no text",
		"t.pdf, page 6: text in fonts without a Unicode map",
		"t.pdf, page 7: text in fonts without a Unicode map",
		"t.pdf, page 9: text in fonts without a Unicode map",
	}
	if got := parts(x); !slices.Equal(got, wantParts) {
		t.Errorf("parts %q\nwant %q", got, wantParts)
	}
	if got := unreadables(x); !slices.Equal(got, wantUnreadable) {
		t.Errorf("unreadable %q\nwant %q", got, wantUnreadable)
	}

	// A document of one page that is an image: the document is unreadable.
	x = readPDF(t, buildPDF("<< /Type /Catalog /Pages 2 0 R >>", "<< /Type /Pages /Kids [3 0 R] >>",
		"<< /Type /Page /Resources << /XObject << /Im 4 0 R >> >> /Contents 5 0 R >>", image, stream("", "/Im Do")), Limits{}, 1<<30)
	want := []string{"t.pdf: no extractable text in PDF (scanned image, or fonts without a Unicode map)"}
	if got := unreadables(x); !slices.Equal(got, want) || len(x.Parts) != 0 {
		t.Errorf("one image page: %q, parts %q", got, parts(x))
	}
}

func flateStream(t *testing.T, data string) string {
	var z bytes.Buffer
	zw := zlib.NewWriter(&z)
	zw.Write([]byte(data))
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return fmt.Sprintf("<< /Filter /FlateDecode /Length %d >>\nstream\n%s\nendstream", z.Len(), z.Bytes())
}

// The decompression budget: a page whose content uses the last of it is
// read, and the document stops there, said so once.
func TestPDFWorkBudget(t *testing.T) {
	page1, page2 := "BT /F1 10 Tf (page one) Tj ET", "BT /F1 10 Tf (page two) Tj ET"
	pdf := buildPDF("<< /Type /Catalog /Pages 2 0 R >>", "<< /Type /Pages /Kids [3 0 R 4 0 R] >>",
		"<< /Type /Page "+helvetica+" /Contents 5 0 R >>", "<< /Type /Page "+helvetica+" /Contents 6 0 R >>",
		flateStream(t, page1), flateStream(t, page2))
	x := readPDF(t, pdf, Limits{MaxTotal: 1000}, int64(len(page1)))
	if got, want := parts(x), []string{"t.pdf, page 1: page one\n"}; !slices.Equal(got, want) {
		t.Errorf("parts %q, want %q", got, want)
	}
	if got, want := unreadables(x), []string{"t.pdf: decompression budget of 4000 bytes for the message used up"}; !slices.Equal(got, want) || !x.Truncated {
		t.Errorf("unreadable %q, want %q", got, want)
	}
	// One byte more: both pages.
	x = readPDF(t, pdf, Limits{MaxTotal: 1000}, int64(len(page1)+len(page2)+1))
	if got, want := parts(x), []string{"t.pdf, page 1: page one\n", "t.pdf, page 2: page two\n"}; !slices.Equal(got, want) || len(x.Unreadable) != 0 {
		t.Errorf("parts %q, unreadable %q", got, unreadables(x))
	}
}

// formChain: form k shows k and draws form k+1, n forms deep.
func formDoc(n int, page string) []byte {
	objs := []string{"<< /Type /Catalog /Pages 2 0 R >>", "<< /Type /Pages /Kids [3 0 R] >>",
		"<< /Type /Page " + helvetica[:len(helvetica)-2] + " /XObject << /X 5 0 R >> >> /Contents 4 0 R >>",
		stream("", page)}
	for k := 1; k <= n; k++ {
		objs = append(objs, stream(fmt.Sprintf("/Type /XObject /Subtype /Form /Resources << /Font << /F1 << /Subtype /Type1 >> >> /XObject << /X %d 0 R >> >>", len(objs)+2),
			fmt.Sprintf("BT /F1 10 Tf (%d) Tj ET /X Do", k%10)))
	}
	return buildPDF(objs...)
}

// Forms drawn inside forms: eight levels are drawn, the ninth is not.
func TestPDFFormDepth(t *testing.T) {
	x := readPDF(t, formDoc(9, "/X Do BT /F1 10 Tf (end) Tj ET"), Limits{}, 1<<30)
	if got, want := parts(x), []string{"t.pdf, page 1: 12345678end\n"}; !slices.Equal(got, want) {
		t.Errorf("parts %q, want %q", got, want)
	}
}

// A page draws at most 10,000 forms.
func TestPDFFormDraws(t *testing.T) {
	x := readPDF(t, formDoc(1, strings.Repeat("/X Do ", 10001)), Limits{}, 1<<30)
	if len(x.Parts) != 1 || string(x.Parts[0].Text) != strings.Repeat("1", 10000)+"\n" {
		t.Errorf("%d parts, %d bytes", len(x.Parts), len(x.Parts[0].Text))
	}
}

// A form's own resources name its fonts; a form without them uses its
// page's. The page goes on after the form.
func TestPDFFormResources(t *testing.T) {
	const cmap = "1 beginbfchar <0041> <0058> endbfchar"
	pdf := buildPDF("<< /Type /Catalog /Pages 2 0 R >>", "<< /Type /Pages /Kids [3 0 R] >>",
		"<< /Type /Page "+helvetica[:len(helvetica)-2]+" /XObject << /A 5 0 R /B 6 0 R >> >> /Contents 4 0 R >>",
		stream("", "/A Do /B Do BT /F1 10 Tf 0 -20 Td (A) Tj ET"),
		stream("/Subtype /Form /Resources << /Font << /F1 7 0 R >> >>", "BT /F1 10 Tf <0041> Tj ET"),
		stream("/Subtype /Form", "BT /F1 10 Tf 0 -40 Td <0042> Tj ET"),
		"<< /Type /Font /Subtype /Type0 /Encoding /Identity-H /DescendantFonts [<< /Subtype /CIDFontType2 >>] /ToUnicode 8 0 R >>",
		stream("", cmap))
	x := readPDF(t, pdf, Limits{}, 1<<30)
	if got, want := parts(x), []string{"t.pdf, page 1: X\nB\nA\n"}; !slices.Equal(got, want) {
		t.Errorf("parts %q, want %q", got, want)
	}
}

// fieldChain: a field whose value lies depth levels below the top.
func fieldChain(depth int) []byte {
	objs := []string{"<< /Type /Catalog /AcroForm << /Fields [2 0 R] >> >>"}
	for k := range depth {
		objs = append(objs, fmt.Sprintf("<< /T (f%d) /Kids [%d 0 R] >>", k, k+3))
	}
	return buildPDF(append(objs, "<< /V (536-22-1234) >>")...)
}

// Form fields: 32 levels deep and no deeper; a check box that is off is
// no value; a kid without a name takes its parent's; the values stop
// once they pass MaxEntry.
func TestPDFFormFieldEdges(t *testing.T) {
	x := readPDF(t, fieldChain(32), Limits{}, 1<<30)
	if got, want := parts(x), []string{"t.pdf, form fields: f31: 536-22-1234\n"}; !slices.Equal(got, want) {
		t.Errorf("32 levels: %q", got)
	}
	x = readPDF(t, fieldChain(33), Limits{}, 1<<30)
	if len(x.Parts) != 0 {
		t.Errorf("33 levels: %q", parts(x))
	}
	fields := buildPDF("<< /Type /Catalog /AcroForm << /Fields [2 0 R 3 0 R 4 0 R 5 0 R] >> >>",
		"<< /T (agree) /FT /Btn /V /Yes >>", "<< /T (spam) /FT /Btn /V /Off >>",
		"<< /T (name) /V (Jane) >>", "<< /T (ssn) /V (536-22-1234) >>")
	x = readPDF(t, fields, Limits{}, 1<<30)
	if got, want := parts(x), []string{"t.pdf, form fields: agree: Yes\nname: Jane\nssn: 536-22-1234\n"}; !slices.Equal(got, want) {
		t.Errorf("fields %q, want %q", got, want)
	}
	// "agree: Yes\n" and "name: Jane\n" are 22 bytes: at MaxEntry 22 the
	// next field is still read, at 21 not.
	x = readPDF(t, fields, Limits{MaxEntry: 22}, 1<<30)
	if got, want := parts(x), []string{"t.pdf, form fields: agree: Yes\nname: Jane\nssn: 536-22-1234\n"}; !slices.Equal(got, want) {
		t.Errorf("MaxEntry 22: %q", got)
	}
	x = readPDF(t, fields, Limits{MaxEntry: 21}, 1<<30)
	if got, want := parts(x), []string{"t.pdf, form fields: agree: Yes\nname: Jane\n"}; !slices.Equal(got, want) {
		t.Errorf("MaxEntry 21: %q", got)
	}
}
