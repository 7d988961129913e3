package scanner

import (
	"archive/zip"
	"bytes"
	"compress/flate"
	"compress/zlib"
	"context"
	"encoding/base64"
	"fmt"
	"hash/crc32"
	"io"
	"strings"
	"testing"
	"time"
)

// Fixtures are built here rather than stored: every DOCX, XLSX, ZIP and PDF
// below is the smallest file of its kind that real readers accept.

const (
	testSSN   = "536-22-1234"
	testCard  = "4111 1111 1111 1111"
	testCard2 = "5500000000000004" // Mastercard test number, as a numeric cell
)

type zfile struct {
	name string
	data []byte
}

func makeZip(t testing.TB, files ...zfile) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	for _, f := range files {
		w, err := zw.Create(f.name)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := w.Write(f.data); err != nil {
			t.Fatal(err)
		}
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

const wNS = `xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main"`

// makeDOCX: the SSN is split across two runs, as Word does after an edit.
func makeDOCX(t testing.TB) []byte {
	doc := `<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<w:document ` + wNS + `><w:body>
<w:p><w:r><w:t>Patient SSN: 536-</w:t></w:r><w:r><w:rPr><w:b/></w:rPr><w:t>22-1234</w:t></w:r></w:p>
<w:p><w:r><w:t xml:space="preserve">Second </w:t></w:r><w:r><w:t>paragraph &amp; more</w:t></w:r></w:p>
</w:body></w:document>`
	hdr := `<w:hdr ` + wNS + `><w:p><w:r><w:t>Confidential header</w:t></w:r></w:p></w:hdr>`
	ftr := `<w:ftr ` + wNS + `><w:p><w:r><w:t>Footer text</w:t></w:r></w:p></w:ftr>`
	return makeZip(t,
		zfile{"[Content_Types].xml", []byte(`<?xml version="1.0"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types"/>`)},
		zfile{"word/document.xml", []byte(doc)},
		zfile{"word/header1.xml", []byte(hdr)},
		zfile{"word/footer1.xml", []byte(ftr)},
	)
}

// makeXLSX: one card number in the shared strings, another as a numeric cell.
func makeXLSX(t testing.TB) []byte {
	const ns = `xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"`
	shared := `<sst ` + ns + ` count="3" uniqueCount="3"><si><t>Card</t></si><si><t>` + testCard + `</t></si><si><r><t>Rich </t></r><r><t>text</t></r></si></sst>`
	sheet := `<worksheet ` + ns + `><sheetData>
<row r="1"><c r="A1" t="s"><v>0</v></c><c r="B1" t="s"><v>1</v></c></row>
<row r="2"><c r="A2" t="inlineStr"><is><t>Card number</t></is></c><c r="B2"><v>` + testCard2 + `</v></c></row>
<row r="3"><c r="A3"><v>5.36221234E8</v></c></row>
</sheetData></worksheet>`
	return makeZip(t,
		zfile{"[Content_Types].xml", []byte(`<Types/>`)},
		zfile{"xl/workbook.xml", []byte(`<workbook ` + ns + `/>`)},
		zfile{"xl/sharedStrings.xml", []byte(shared)},
		zfile{"xl/worksheets/sheet1.xml", []byte(sheet)},
	)
}

// makePDF writes a minimal PDF with one uncompressed content stream and one
// FlateDecode stream; xref offsets are computed, so strict readers open it.
func makePDF(t testing.TB, encrypted bool) []byte {
	plain := []byte("BT /F1 12 Tf 72 720 Td (Patient SSN: 536-) Tj [(22)-10(-1234)] TJ ET")
	var z bytes.Buffer
	zw := zlib.NewWriter(&z)
	zw.Write([]byte("BT /F1 12 Tf 72 700 Td [(Card )-250(4111 1111 )] TJ (1111 1111) Tj T* (Esc\\(aped\\) \\101) ' ET"))
	zw.Close()
	var b bytes.Buffer
	var offs []int
	obj := func(body string, stream []byte) {
		offs = append(offs, b.Len())
		fmt.Fprintf(&b, "%d 0 obj\n%s", len(offs), body)
		if stream != nil {
			b.WriteString("\nstream\n")
			b.Write(stream)
			b.WriteString("\nendstream")
		}
		b.WriteString("\nendobj\n")
	}
	b.WriteString("%PDF-1.4\n%\xE2\xE3\xCF\xD3\n")
	obj("<< /Type /Catalog /Pages 2 0 R >>", nil)
	obj("<< /Type /Pages /Kids [3 0 R] /Count 1 >>", nil)
	obj("<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents [4 0 R 5 0 R] /Resources << /Font << /F1 6 0 R >> >> >>", nil)
	obj(fmt.Sprintf("<< /Length %d >>", len(plain)), plain)
	obj(fmt.Sprintf("<< /Length %d /Filter /FlateDecode >>", z.Len()), z.Bytes())
	obj("<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>", nil)
	xref := b.Len()
	fmt.Fprintf(&b, "xref\n0 %d\n0000000000 65535 f \n", len(offs)+1)
	for _, o := range offs {
		fmt.Fprintf(&b, "%010d 00000 n \n", o)
	}
	enc := ""
	if encrypted {
		enc = " /Encrypt 7 0 R"
	}
	fmt.Fprintf(&b, "trailer\n<< /Size %d /Root 1 0 R%s >>\nstartxref\n%d\n%%%%EOF\n", len(offs)+1, enc, xref)
	return b.Bytes()
}

// mimePart is one part of a test message.
type mimePart struct {
	header string // complete header lines, CRLF-terminated
	body   []byte
}

func b64(b []byte) []byte {
	s := base64.StdEncoding.EncodeToString(b)
	var out []byte
	for len(s) > 76 {
		out = append(out, s[:76]+"\r\n"...)
		s = s[76:]
	}
	return append(out, s+"\r\n"...)
}

func attachment(name, ctype string, data []byte) mimePart {
	return mimePart{
		header: "Content-Type: " + ctype + "; name=\"" + name + "\"\r\n" +
			"Content-Disposition: attachment; filename=\"" + name + "\"\r\n" +
			"Content-Transfer-Encoding: base64\r\n",
		body: b64(data),
	}
}

func multipartMsg(subject string, parts ...mimePart) []byte {
	const bnd = "b0und4ry"
	var b bytes.Buffer
	b.WriteString("From: a@example.org\r\nTo: b@example.com\r\nSubject: " + subject + "\r\nMIME-Version: 1.0\r\n")
	b.WriteString("Content-Type: multipart/mixed; boundary=\"" + bnd + "\"\r\n\r\npreamble\r\n")
	for _, p := range parts {
		b.WriteString("--" + bnd + "\r\n" + p.header + "\r\n")
		b.Write(p.body)
		b.WriteString("\r\n")
	}
	b.WriteString("--" + bnd + "--\r\n")
	return b.Bytes()
}

func extract(t testing.TB, msg []byte, lim Limits) *Extracted {
	t.Helper()
	start := time.Now()
	x, err := Extract(context.Background(), bytes.NewReader(msg), lim)
	if err != nil {
		t.Fatalf("Extract: %v", err)
	}
	t.Logf("Extract: %d parts, %d unreadable, truncated=%v in %v", len(x.Parts), len(x.Unreadable), x.Truncated, time.Since(start))
	return x
}

func partBySource(x *Extracted, src string) *Part {
	for i := range x.Parts {
		if x.Parts[i].Source == src {
			return &x.Parts[i]
		}
	}
	return nil
}

func unreadableFor(x *Extracted, src, reason string) bool {
	for _, u := range x.Unreadable {
		if u.Source == src && strings.Contains(u.Reason, reason) {
			return true
		}
	}
	return false
}

func TestExtractSinglePart(t *testing.T) {
	msg := "Subject: hi\r\nContent-Type: text/html\r\nContent-Transfer-Encoding: base64\r\n\r\n" +
		string(b64([]byte("<table><tr><td>SSN</td><td>536-22-1234</td></tr></table>")))
	x := extract(t, []byte(msg), Limits{})
	p := partBySource(x, "body text/html")
	if p == nil || !bytes.Contains(p.Text, []byte("SSN 536-22-1234")) {
		t.Fatalf("parts: %+v", x.Parts)
	}
	// No Content-Type at all: text/plain.
	x = extract(t, []byte("Subject: x\r\n\r\nSSN 536-22-1234\r\n"), Limits{})
	if p := partBySource(x, "body text/plain"); p == nil {
		t.Fatalf("parts: %+v", x.Parts)
	}
}

func TestExtractNotParseable(t *testing.T) {
	if _, err := Extract(context.Background(), strings.NewReader("\x00\x01 no header here\r\n"), Limits{}); err == nil {
		t.Error("want an error for a message without a header")
	}
}

// zeroDeflate returns a raw deflate stream of n zero bytes, written by hand
// (one fixed-Huffman block: a literal 0, then <length 258, distance 1>
// copies), so a 1 GiB bomb takes milliseconds to build even under -race.
func zeroDeflate(n int64) []byte {
	var out []byte
	var acc uint64
	var nb uint
	put := func(v uint64, bits uint) { // LSB first
		acc |= v << nb
		nb += bits
		for nb >= 8 {
			out = append(out, byte(acc))
			acc >>= 8
			nb -= 8
		}
	}
	code := func(c uint64, bits uint) { // Huffman codes go MSB first
		var r uint64
		for i := uint(0); i < bits; i++ {
			r = r<<1 | (c>>i)&1
		}
		put(r, bits)
	}
	put(1, 1) // BFINAL
	put(1, 2) // BTYPE = fixed Huffman
	lit0 := func() { code(0x30, 8) }
	if n > 0 {
		lit0()
		n--
	}
	for ; n >= 258; n -= 258 {
		code(0xC5, 8) // length code 285 = 258
		code(0, 5)    // distance code 0 = 1
	}
	for ; n > 0; n-- {
		lit0()
	}
	code(0, 7) // end of block
	put(0, 7)  // flush
	return out
}

// zeroZip is a ZIP with one deflated entry of n zero bytes (13 bits per
// 258 bytes: 6.6 MB for 1 GiB).
func zeroZip(t testing.TB, name string, n int64) []byte {
	return paddedZeroZip(t, name, n, 0)
}

// paddedZeroZip is zeroZip with the compressed data padded to c bytes
// after the deflate stream's last block (inflating ignores them), so the
// entry's compression ratio is what a test needs; c 0 adds nothing.
func paddedZeroZip(t testing.TB, name string, n, c int64) []byte {
	raw := zeroDeflate(n)
	if int64(len(raw)) > c && c > 0 {
		t.Fatalf("deflate stream of %d bytes > %d", len(raw), c)
	}
	raw = append(raw, make([]byte, max(c-int64(len(raw)), 0))...)
	crc := crc32.NewIEEE()
	zero := make([]byte, 1<<20)
	for left := n; left > 0; left -= int64(len(zero)) {
		crc.Write(zero[:min(left, int64(len(zero)))])
	}
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	w, err := zw.CreateRaw(&zip.FileHeader{
		Name: name, Method: zip.Deflate, CRC32: crc.Sum32(),
		CompressedSize64: uint64(len(raw)), UncompressedSize64: uint64(n),
	})
	if err != nil {
		t.Fatal(err)
	}
	w.Write(raw)
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func TestZeroDeflate(t *testing.T) {
	for _, n := range []int64{0, 1, 2, 258, 259, 1000, 1 << 20} {
		b, err := io.ReadAll(flate.NewReader(bytes.NewReader(zeroDeflate(n))))
		if err != nil || int64(len(b)) != n || bytes.ContainsFunc(b, func(r rune) bool { return r != 0 }) {
			t.Errorf("zeroDeflate(%d): %d bytes, %v", n, len(b), err)
		}
	}
	z := zeroZip(t, "z", 1<<20)
	zr, _ := zip.NewReader(bytes.NewReader(z), int64(len(z)))
	rc, _ := zr.File[0].Open()
	if b, err := io.ReadAll(rc); err != nil || len(b) != 1<<20 {
		t.Errorf("zeroZip: %d, %v", len(b), err)
	}
}

func textBytes(x *Extracted) int64 {
	var n int64
	for _, p := range x.Parts {
		n += int64(len(p.Text))
	}
	return n
}

func TestExtractZipBomb(t *testing.T) {
	if testing.Short() {
		t.Skip("builds a 1 GiB entry")
	}
	start := time.Now()
	bomb := zeroZip(t, "zeros.txt", 1<<30)
	t.Logf("1 GiB of zeros: %d bytes zipped, built in %v", len(bomb), time.Since(start))
	lim := Limits{MaxEntry: 16 << 20}
	x := extract(t, multipartMsg("bomb", attachment("bomb.zip", "application/zip", bomb)), lim)
	if n := textBytes(x); n > lim.MaxEntry {
		t.Errorf("extracted %d bytes > MaxEntry", n)
	}
	if !x.Truncated || !unreadableFor(x, "archive bomb.zip/zeros.txt", "exceeds limit") {
		t.Errorf("bomb not reported: truncated=%v %+v", x.Truncated, x.Unreadable)
	}
}

// lyingZip declares a tiny entry but holds 64 MiB of deflated zeros. The
// declared size passes every check; what stops it is counting the bytes
// that come out (archive/zip's own check against the declared size, and
// behind it the extractor's limited read).
func lyingZip(t testing.TB) []byte {
	var raw bytes.Buffer
	raw.Write(zeroDeflate(64 << 20))
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	w, err := zw.CreateRaw(&zip.FileHeader{
		Name: "small.txt", Method: zip.Deflate,
		CompressedSize64: uint64(raw.Len()), UncompressedSize64: 100, CRC32: 0,
	})
	if err != nil {
		t.Fatal(err)
	}
	w.Write(raw.Bytes())
	zw.Close()
	return buf.Bytes()
}

func TestExtractLyingSizes(t *testing.T) {
	lim := Limits{MaxEntry: 1 << 20}
	x := extract(t, multipartMsg("lie", attachment("lie.zip", "application/zip", lyingZip(t))), lim)
	if n := textBytes(x); n > lim.MaxEntry {
		t.Errorf("extracted %d bytes > MaxEntry", n)
	}
	if len(x.Unreadable) == 0 {
		t.Errorf("lying entry not reported")
	}
	for _, u := range x.Unreadable {
		t.Logf("%s: %s", u.Source, u.Reason)
	}
}

func TestExtractLimits(t *testing.T) {
	t.Run("depth", func(t *testing.T) {
		z := makeZip(t, zfile{"deep.txt", []byte("SSN 536-22-1234")})
		for i := range 5 {
			z = makeZip(t, zfile{fmt.Sprintf("level%d.zip", i), z})
		}
		x := extract(t, multipartMsg("deep", attachment("outer.zip", "application/zip", z)), Limits{MaxDepth: 3})
		if !x.Truncated || len(x.Parts) != 1 { // the subject only
			t.Errorf("depth not bounded: %+v", x)
		}
		found := false
		for _, u := range x.Unreadable {
			found = found || strings.Contains(u.Reason, "nested deeper than 3")
			t.Logf("%s: %s", u.Source, u.Reason)
		}
		if !found {
			t.Error("no depth reason")
		}
		// Within the depth it is read.
		z = makeZip(t, zfile{"b.zip", makeZip(t, zfile{"c.zip", makeZip(t, zfile{"d.txt", []byte("SSN 536-22-1234")})})})
		x = extract(t, multipartMsg("ok", attachment("a.zip", "application/zip", z)), Limits{MaxDepth: 3})
		if partBySource(x, "archive a.zip/b.zip/c.zip/d.txt") == nil || x.Truncated {
			t.Errorf("depth 3 not read: %+v", x)
		}
	})
	t.Run("entries", func(t *testing.T) {
		var files []zfile
		for i := range 50 {
			files = append(files, zfile{fmt.Sprintf("f%02d.txt", i), []byte("x")})
		}
		x := extract(t, multipartMsg("many", attachment("many.zip", "application/zip", makeZip(t, files...))), Limits{MaxEntries: 10})
		n := 0
		for _, p := range x.Parts {
			if strings.HasPrefix(p.Source, "archive many.zip/") {
				n++
			}
		}
		if n != 10 || !x.Truncated || !unreadableFor(x, "attachment many.zip", "more than 10 entries") {
			t.Errorf("entries: read %d, %+v", n, x)
		}
	})
	t.Run("ratio", func(t *testing.T) {
		z := zeroZip(t, "z.txt", 4<<20) // ~4 KiB compressed: ratio ~1000
		x := extract(t, multipartMsg("ratio", attachment("r.zip", "application/zip", z)), Limits{})
		if !unreadableFor(x, "archive r.zip/z.txt", "compression ratio") {
			t.Errorf("ratio: %+v", x.Unreadable)
		}
	})
	t.Run("total", func(t *testing.T) {
		big := bytes.Repeat([]byte("0123456789\n"), 1000)
		x := extract(t, multipartMsg("total",
			attachment("a.txt", "text/plain", big), attachment("b.txt", "text/plain", big), attachment("c.txt", "text/plain", big)),
			Limits{MaxTotal: 15000})
		if n := textBytes(x); n != 15000 || !x.Truncated {
			t.Errorf("total: %d bytes, truncated=%v", n, x.Truncated)
		}
	})
	t.Run("entry", func(t *testing.T) {
		big := bytes.Repeat([]byte("0123456789\n"), 1000)
		x := extract(t, multipartMsg("entry", attachment("a.txt", "text/plain", big), attachment("d.docx", "application/octet-stream", makeDOCX(t))),
			Limits{MaxEntry: 1000})
		if p := partBySource(x, "attachment a.txt"); p == nil || len(p.Text) != 1000 {
			t.Errorf("entry: %+v", x.Parts)
		}
		if !x.Truncated || !unreadableFor(x, "attachment a.txt", "larger than 1000") || !unreadableFor(x, "attachment d.docx", "larger than 1000") {
			t.Errorf("entry: %+v", x.Unreadable)
		}
	})
	t.Run("deadline", func(t *testing.T) {
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		x, err := Extract(ctx, bytes.NewReader(multipartMsg("late", attachment("a.txt", "text/plain", []byte("SSN 536-22-1234")))), Limits{})
		if err != nil {
			t.Fatal(err)
		}
		if !x.Truncated || len(x.Unreadable) == 0 || x.Unreadable[0].Reason != "deadline exceeded" {
			t.Errorf("deadline: %+v", x)
		}
	})
}

func TestHTMLText(t *testing.T) {
	for in, want := range map[string]string{
		"<b>536</b>-22-1234":                      "536-22-1234",
		"a<br>b<br/>c":                            "a\nb\nc",
		"<td>SSN</td><td>536-22-1234</td>":        "SSN 536-22-1234 ",
		"x &lt; y &amp;&amp; 1 < 2":               "x < y && 1 < 2",
		"<a href='x>y'>link</a>":                  "link",
		"<SCRIPT>var a='<b>';</SCRIPT>ok":         "ok",
		"<style>x</style  >ok<!-- c -->!":         "ok!",
		"tail <a href=\"unterminated":             "tail <a href=\"unterminated",
		"<!DOCTYPE html><p>x&nbsp;y</p>":          "\nx y\n",
		"<script>never closed 536-22-1234":        "",
		"4111<span>&#32;</span>1111 1111 1111":    "4111 1111 1111 1111",
		"<p>a</p\n><P CLASS=\"c\">b</P>":          "\na\n\nb\n",
		"<o:p></o:p>536<o:p>-22-</o:p>1234<x-y>!": "536-22-1234!",
		"<":      "<",
		"a <3 b": "a <3 b",
		"<!-- unterminated comment 536-22-1234 ...": "",
	} {
		if got := string(htmlText([]byte(in))); got != want {
			t.Errorf("htmlText(%q) = %q, want %q", in, got, want)
		}
	}
}

// The layout of shown strings: pieces that touch are joined, a word gap
// is a space, a wide gap (table columns) a tab, a new baseline a newline.
func TestPDFContent(t *testing.T) {
	e := &extractor{ctx: context.Background(), lim: Limits{}.withDefaults(), out: &Extracted{}}
	d := &pdfDoc{e: e, xref: map[int]xrefEntry{}, cache: map[int]any{}}
	for in, want := range map[string]string{
		"BT /F1 12 Tf (536-) Tj (22-1234) Tj ET":                                                     "536-22-1234",
		"BT /F1 12 Tf [(5)20(36-22)-30(-1234)] TJ ET":                                                "536-22-1234",
		"BT /F1 12 Tf [(SSN:)-400(536)] TJ ET":                                                       "SSN: 536",
		"BT /F1 12 Tf (a) Tj 0 -14 Td (b) Tj 10 0 Td (c) Tj ET":                                      "a\nb c",
		"BT /F1 12 Tf 1 0 0 1 100 700 Tm (5) Tj 1 0 0 1 106 700 Tm (3) Tj 1 0 0 1 112 700 Tm (6) Tj": "536",
		"BT /F1 12 Tf 1 0 0 1 100 700 Tm (Name) Tj 1 0 0 1 300 700 Tm (SSN) Tj ET":                   "Name\tSSN",
		"BT /F1 12 Tf 1 0 0 1 10 700 Tm (a) Tj 1 0 0 1 50 700 Tm (b) Tj 1 0 0 1 10 680 Tm (c) Tj ET": "a\tb\nc",
		"BT /F1 12 Tf 0 1 -1 0 300 100 Tm (53) Tj (6) Tj ET":                                         "536",
		"q 2 0 0 2 0 0 cm BT /F1 6 Tf 10 10 Td (53) Tj 6 0 Td (6) Tj ET Q":                           "536",
		"BT <FEFF00530053004E> Tj ET":                                                                "SSN",
		"BT /F1 12 Tf <3533362D> Tj ET":                                                              "536-",
		"BT /F1 12 Tf (nested (paren) \\\\ \\) x) Tj ET":                                             "nested (paren) \\ ) x",
		"BT /F1 12 Tf (caf\\351) Tj ET":                                                              "café",
		"BT /F1 12 Tf (a) Tj BI /W 1 ID \x00EI\xff EI (b) Tj ET":                                     "ab",
		"BT (unterminated": "",
		"BT [(x":           "",
	} {
		p := d.newPageText(map[any]*pdfFont{}, map[pdfRef][]byte{})
		err := p.run([]byte(in), nil, 0)
		if got := string(bytes.TrimSpace(p.out)); err != nil || got != want {
			t.Errorf("run(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
}

// A FlateDecode stream declares no size at all: only the bytes read count.
func TestExtractPDFBomb(t *testing.T) {
	// zlib: header, deflate data (one stored block of text, then the
	// zeros), no checksum: reading stops long before it would be needed.
	var z bytes.Buffer
	text := []byte("BT (SSN 536-22-1234) Tj ET ")
	z.Write([]byte{0x78, 0x01, 0x00, byte(len(text)), 0, ^byte(len(text)), 0xFF})
	z.Write(text)
	z.Write(zeroDeflate(64 << 20))
	pdf := fmt.Appendf(nil, "%%PDF-1.4\n1 0 obj << /Length %d /Filter /FlateDecode >>\nstream\n%s\nendstream\nendobj\n", z.Len(), z.Bytes())
	lim := Limits{MaxEntry: 1 << 20}
	x := extract(t, multipartMsg("pdf bomb", attachment("bomb.pdf", "application/pdf", pdf)), lim)
	if n := textBytes(x); n > lim.MaxEntry {
		t.Errorf("extracted %d bytes > MaxEntry", n)
	}
	if !x.Truncated || !unreadableFor(x, "attachment bomb.pdf", "inflated beyond") {
		t.Errorf("pdf bomb not reported: %+v", x.Unreadable)
	}
	if p := partBySource(x, "attachment bomb.pdf"); p == nil || !bytes.Contains(p.Text, []byte(testSSN)) {
		t.Errorf("text before the bomb lost: %+v", x.Parts)
	}
}

// The scanner's own deadline is the message's (Truncated); the caller's
// context ending is not (Interrupted).
func TestExtractInterrupted(t *testing.T) {
	msg := multipartMsg("x", attachment("a.txt", "text/plain", bytes.Repeat([]byte("word "), 1<<20)))
	x, err := Extract(context.Background(), bytes.NewReader(msg), Limits{Deadline: time.Nanosecond})
	if err != nil || !x.Truncated || x.Interrupted {
		t.Errorf("own deadline: truncated %v, interrupted %v, %v; want truncated only", x.Truncated, x.Interrupted, err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	x, err = Extract(ctx, bytes.NewReader(msg), Limits{})
	if err != nil || !x.Interrupted {
		t.Errorf("caller's context ended: interrupted %v, %v; want interrupted", x.Interrupted, err)
	}
}
