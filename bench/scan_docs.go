package main

import (
	"archive/zip"
	"bytes"
	"compress/zlib"
	"context"
	"encoding/base64"
	"fmt"
	"io"
	"runtime"
	"strings"
	"time"

	"github.com/postseal/postseal/scanner"
)

// ---- scan-pdf, scan-docx -------------------------------------------------------

// The attachment rows: MB/s of documents extracted and scanned as the
// milter does (scanner.Extract on a message carrying them, then
// Extracted.Scan), against the bare parse of the same files (inflating a
// PDF's streams; unzipping a DOCX), so extraction's own cost is visible.

const docGoal = "≤ 2× the bare parse"

// benchPDF writes a PDF of pages of mail-like text as word processors and
// browsers do: a Type0 font with Identity-H codes and a ToUnicode map, each
// line placed with Td, words kerned in TJ arrays, content streams deflated.
func benchPDF(text []byte) []byte {
	lines := strings.Split(string(text), "\n")
	var b bytes.Buffer
	var offs []int
	obj := func(body string, stream []byte) int {
		offs = append(offs, b.Len())
		fmt.Fprintf(&b, "%d 0 obj\n%s", len(offs), body)
		if stream != nil {
			fmt.Fprintf(&b, "\nstream\n%s\nendstream", stream)
		}
		b.WriteString("\nendobj\n")
		return len(offs)
	}
	deflate := func(s []byte) []byte {
		var z bytes.Buffer
		w := zlib.NewWriter(&z)
		w.Write(s)
		w.Close()
		return z.Bytes()
	}
	b.WriteString("%PDF-1.7\n%\xE2\xE3\xCF\xD3\n")
	cmap := []byte("/CIDInit /ProcSet findresource begin 12 dict begin begincmap\n1 begincodespacerange <0000> <FFFF> endcodespacerange\n" +
		"1 beginbfrange <0020> <00FF> <0020> endbfrange\nendcmap CMapName currentdict /CMap defineresource pop end end")
	obj("<< /Type /Catalog /Pages 2 0 R >>", nil)
	obj("", nil) // the page tree, written once the pages are known
	z := deflate(cmap)
	tu := obj(fmt.Sprintf("<< /Length %d /Filter /FlateDecode >>", len(z)), z)
	cid := obj("<< /Type /Font /Subtype /CIDFontType2 /BaseFont /AAAAAA+Sans /CIDSystemInfo << /Registry (Adobe) /Ordering (Identity) /Supplement 0 >> /DW 500 >>", nil)
	font := obj(fmt.Sprintf("<< /Type /Font /Subtype /Type0 /BaseFont /AAAAAA+Sans /Encoding /Identity-H /DescendantFonts [%d 0 R] /ToUnicode %d 0 R >>", cid, tu), nil)
	var kids []string
	for p := 0; p*50 < len(lines); p++ {
		var c bytes.Buffer
		c.WriteString("BT /F1 10 Tf 12 TL 50 770 Td\n")
		for _, l := range lines[p*50 : min(len(lines), (p+1)*50)] {
			c.WriteString("[")
			for i, w := range strings.Fields(l) {
				if i > 0 {
					c.WriteString(" -250 ")
				}
				c.WriteString("<")
				for _, r := range []byte(w) {
					fmt.Fprintf(&c, "00%02X", r)
				}
				c.WriteString(">")
			}
			c.WriteString("] TJ T*\n")
		}
		c.WriteString("ET")
		z := deflate(c.Bytes())
		content := obj(fmt.Sprintf("<< /Length %d /Filter /FlateDecode >>", len(z)), z)
		page := obj(fmt.Sprintf("<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Resources << /Font << /F1 %d 0 R >> >> /Contents %d 0 R >>", font, content), nil)
		kids = append(kids, fmt.Sprintf("%d 0 R", page))
	}
	// The page tree goes at the end, as an update of object 2.
	offs[1] = b.Len()
	fmt.Fprintf(&b, "2 0 obj\n<< /Type /Pages /Kids [%s] /Count %d >>\nendobj\n", strings.Join(kids, " "), len(kids))
	x := b.Len()
	fmt.Fprintf(&b, "xref\n0 %d\n0000000000 65535 f \n", len(offs)+1)
	for _, o := range offs {
		fmt.Fprintf(&b, "%010d 00000 n \n", o)
	}
	fmt.Fprintf(&b, "trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n", len(offs)+1, x)
	return b.Bytes()
}

// benchDOCX writes a DOCX whose paragraphs are split into runs of a few
// words, as Word saves them, with a header.
func benchDOCX(text []byte) []byte {
	var body bytes.Buffer
	const ns = `xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main"`
	body.WriteString(`<?xml version="1.0" encoding="UTF-8" standalone="yes"?><w:document ` + ns + `><w:body>`)
	for _, l := range strings.Split(string(text), "\n") {
		body.WriteString("<w:p>")
		ws := strings.Fields(l)
		for i := 0; i < len(ws); i += 3 {
			body.WriteString(`<w:r><w:rPr><w:lang w:val="en-US"/></w:rPr><w:t xml:space="preserve">`)
			xmlEscape(&body, strings.Join(ws[i:min(i+3, len(ws))], " ")+" ")
			body.WriteString("</w:t></w:r>")
		}
		body.WriteString("</w:p>")
	}
	body.WriteString("</w:body></w:document>")
	var z bytes.Buffer
	zw := zip.NewWriter(&z)
	for _, f := range []struct {
		name string
		data []byte
	}{
		{"[Content_Types].xml", []byte(`<?xml version="1.0"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types"/>`)},
		{"word/document.xml", body.Bytes()},
		{"word/header1.xml", []byte(`<w:hdr ` + ns + `><w:p><w:r><w:t>Confidential</w:t></w:r></w:p></w:hdr>`)},
	} {
		w, _ := zw.Create(f.name)
		w.Write(f.data)
	}
	zw.Close()
	return z.Bytes()
}

func xmlEscape(b *bytes.Buffer, s string) {
	r := strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;")
	b.WriteString(r.Replace(s))
}

// docMessage is a message carrying the files as base64 attachments.
func docMessage(files [][]byte, name, ctype string) []byte {
	var b bytes.Buffer
	b.WriteString("From: a@example.org\r\nTo: b@example.com\r\nSubject: documents\r\nMIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=\"bnd\"\r\n\r\n")
	for i, f := range files {
		fmt.Fprintf(&b, "--bnd\r\nContent-Type: %s\r\nContent-Disposition: attachment; filename=\"%d-%s\"\r\nContent-Transfer-Encoding: base64\r\n\r\n", ctype, i, name)
		enc := base64.StdEncoding.EncodeToString(f)
		for len(enc) > 76 {
			b.WriteString(enc[:76] + "\r\n")
			enc = enc[76:]
		}
		b.WriteString(enc + "\r\n")
	}
	b.WriteString("--bnd--\r\n")
	return b.Bytes()
}

// barePDF inflates every stream of the files: what any PDF reader does
// before it looks at a page.
func barePDF(files [][]byte) int {
	n := 0
	for _, b := range files {
		for pos := 0; ; {
			k := bytes.Index(b[pos:], []byte("stream\n"))
			if k < 0 {
				break
			}
			start := pos + k + len("stream\n")
			if pos+k >= 3 && string(b[pos+k-3:pos+k]) == "end" {
				pos = start // the end of the previous one
				continue
			}
			end := bytes.Index(b[start:], []byte("\nendstream"))
			if end < 0 {
				break
			}
			if zr, err := zlib.NewReader(bytes.NewReader(b[start : start+end])); err == nil {
				m, _ := io.Copy(io.Discard, zr)
				n += int(m)
			}
			pos = start + end
		}
	}
	return n
}

// bareZip reads every entry of the files.
func bareZip(files [][]byte) int {
	n := 0
	for _, b := range files {
		zr, err := zip.NewReader(bytes.NewReader(b), int64(len(b)))
		if err != nil {
			continue
		}
		for _, f := range zr.File {
			rc, err := f.Open()
			if err != nil {
				continue
			}
			m, _ := io.Copy(io.Discard, rc)
			n += int(m)
			rc.Close()
		}
	}
	return n
}

func scanDocRows(c config) []Row {
	var rows []Row
	for _, d := range []struct {
		row, name, ctype string
		make             func([]byte) []byte
		bare             func([][]byte) int
	}{
		{"scan-pdf", "report.pdf", "application/pdf", benchPDF, barePDF},
		{"scan-docx", "report.docx", "application/vnd.openxmlformats-officedocument.wordprocessingml.document", benchDOCX, bareZip},
	} {
		if !c.want(d.row) {
			continue
		}
		// Ten documents of 1 MiB of text each.
		var files [][]byte
		size := 0
		for i := 0; i < 10; i++ {
			text, _ := scanText(1<<20, uint64(100+i))
			files = append(files, d.make(text))
			size += len(files[i])
		}
		msg := docMessage(files, d.name, d.ctype)
		findings := 0
		extract := func() {
			x, err := scanner.Extract(context.Background(), bytes.NewReader(msg), scanner.Limits{Deadline: 5 * time.Minute}) // throughput, not the per-message deadline
			if err != nil {
				fatal(err)
			}
			findings = len(x.Scan(scanner.Options{}))
			if len(x.Unreadable) > 0 {
				fatal(fmt.Errorf("%s: unreadable %+v", d.row, x.Unreadable))
			}
		}
		extract() // warm up
		d.bare(files)
		mb := float64(size) / 1e6
		var as, bs, ratios []float64
		for i := 0; i < max(c.pairs, 3); i++ {
			runtime.GC()
			t0 := time.Now()
			extract()
			a := time.Since(t0)
			runtime.GC()
			t0 = time.Now()
			d.bare(files)
			b := time.Since(t0)
			fmt.Printf("  %-14s pair %d: extract+scan %6.1f MB/s (%v)  bare parse %6.1f MB/s (%v)  ×%.2f\n", d.row, i+1, mb/a.Seconds(), a.Round(time.Millisecond), mb/b.Seconds(), b.Round(time.Millisecond), a.Seconds()/b.Seconds())
			as, bs, ratios = append(as, mb/a.Seconds()), append(bs, mb/b.Seconds()), append(ratios, a.Seconds()/b.Seconds())
		}
		rows = append(rows, Row{Name: d.row, Unit: "MB/s", Value: f(median(as)), Baseline: f(median(bs)), Ratio: f(median(ratios)), Goal: docGoal,
			Note: fmt.Sprintf("A: scanner.Extract + Extracted.Scan of a message with 10 %s attachments (%.1f MB of files, 10 MiB of text, %d findings), base64 included; B: %s; ratio = time A / time B, median of %d pairs", d.name, mb, findings, map[string]string{"scan-pdf": "inflating every stream of the same files", "scan-docx": "unzipping every entry of the same files"}[d.row], len(ratios))})
	}
	return rows
}
