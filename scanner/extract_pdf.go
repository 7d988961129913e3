package scanner

import (
	"bytes"
	"fmt"
	"slices"
	"unicode/utf8"
)

// PDF: the document is opened through its object model (pdf_object.go),
// decrypted when it opens without a password (pdf_crypt.go), and each
// page's text is laid out as a viewer shows it (pdf_text.go, pdf_font.go),
// one Part per page, so a finding names its page. Form field values come
// as a part of their own. A PDF whose pages show no text at all (a scan, a
// fax) is unreadable, as is a page that only paints an image.

// maxPDFPages bounds the pages read of one document.
const maxPDFPages = 10000

func (e *extractor) pdf(src string, b []byte) {
	if !bytes.Contains(b[:min(len(b), 1024)], []byte("%PDF-")) {
		e.unreadable(src, "corrupt PDF: no %PDF header")
		return
	}
	d, err := openPDF(e, src, b)
	if err == errDeadline {
		return // recorded
	}
	if err != nil {
		e.unreadable(src, "encrypted PDF: "+err.Error())
		return
	}
	fonts := map[any]*pdfFont{}
	forms := map[pdfRef][]byte{}
	pages := d.pages()
	any := false
	for i, pg := range pages {
		if !e.alive(src) {
			return
		}
		if i >= maxPDFPages {
			e.limit(src, fmt.Sprintf("more than %d pages", maxPDFPages))
			break
		}
		psrc := fmt.Sprintf("%s, page %d", src, i+1)
		pt := d.newPageText(fonts, forms)
		var content []byte
		for _, c := range pg.contents {
			data, err := d.decode(c, true)
			if err == errDeadline {
				e.alive(src)
				return
			}
			content = append(append(content, data...), '\n')
		}
		if err := pt.run(content, pg.res, 0); err == errDeadline {
			e.alive(src)
			return
		}
		text := bytes.TrimSpace(pt.out)
		switch {
		case len(text) > 0:
			any = true
			e.add(psrc, append(text, '\n'))
		case pt.shown > 0 && pt.mapped == 0:
			e.unreadable(psrc, "text in fonts without a Unicode map")
		case pt.images > 0 && len(pages) > 1:
			e.unreadable(psrc, "a page that is only an image (scanned?), no text")
		}
		if e.work <= 0 {
			e.stopped = true
			e.limit(src, fmt.Sprintf("decompression budget of %d bytes for the message used up", workFactor*e.lim.MaxTotal))
			return
		}
	}
	if len(pages) == 0 {
		// No page tree: a damaged file. Its content streams are read in
		// file order without resources.
		pt := d.newPageText(fonts, forms)
		for _, s := range d.looseStreams() {
			data, err := d.decode(s, true)
			if err == errDeadline {
				e.alive(src)
				return
			}
			if err != nil {
				continue
			}
			if pt.run(data, nil, 0) == errDeadline {
				e.alive(src)
				return
			}
			pt.sep('\n')
		}
		if text := bytes.TrimSpace(pt.out); len(text) > 0 {
			any = true
			e.add(src, append(text, '\n'))
		}
	}
	if fields := d.formFields(); len(fields) > 0 {
		any = true
		e.add(src+", form fields", fields)
	}
	if !any && !e.stopped {
		e.unreadable(src, "no extractable text in PDF (scanned image, or fonts without a Unicode map)")
	}
}

type pdfPage struct {
	ref      pdfRef // the page object, when it is one
	res      pdfDict
	contents []*pdfStream
}

// pages walks the page tree in order, with inherited resources.
func (d *pdfDoc) pages() []pdfPage {
	var out []pdfPage
	seen := map[pdfRef]bool{}
	var walk func(v any, res pdfDict, depth int)
	walk = func(v any, res pdfDict, depth int) {
		if depth > 64 || len(out) > maxPDFPages {
			return
		}
		if r, ok := v.(pdfRef); ok {
			if seen[r] {
				return
			}
			seen[r] = true
		}
		node := d.resolveDict(v)
		if node == nil {
			return
		}
		if r := d.resolveDict(node["Resources"]); r != nil {
			res = r
		}
		if kids, ok := d.resolve(node["Kids"]).(pdfArray); ok && node["Type"] != pdfName("Page") {
			for _, k := range kids {
				walk(k, res, depth+1)
			}
			return
		}
		pg := pdfPage{res: res}
		pg.ref, _ = v.(pdfRef)
		switch c := d.resolve(node["Contents"]).(type) {
		case *pdfStream:
			pg.contents = []*pdfStream{c}
		case pdfArray:
			for _, x := range c {
				if s, ok := d.resolve(x).(*pdfStream); ok {
					pg.contents = append(pg.contents, s)
				}
			}
		}
		out = append(out, pg)
	}
	if root := d.root(); root != nil {
		walk(root["Pages"], nil, 0)
	}
	return out
}

// looseStreams lists the streams of a file without a page tree that may be
// content: no fonts, images, metadata or cross-reference data.
func (d *pdfDoc) looseStreams() []*pdfStream {
	nums := make([]int, 0, len(d.xref))
	for n := range d.xref {
		nums = append(nums, n)
	}
	slices.Sort(nums)
	var out []*pdfStream
	for _, n := range nums {
		s, ok := d.resolve(pdfRef{num: n}).(*pdfStream)
		if !ok {
			continue
		}
		switch d.resolve(s.dict["Type"]) {
		case pdfName("XRef"), pdfName("ObjStm"), pdfName("Metadata"), pdfName("XObject"):
			continue
		}
		if s.dict["Length1"] != nil || s.dict["Length2"] != nil || s.dict["Subtype"] != nil {
			continue
		}
		out = append(out, s)
	}
	return out
}

// formFields lists the interactive form's fields that hold a value, as
// "name: value" lines: the name is often the very context word ("SSN").
func (d *pdfDoc) formFields() []byte {
	form := d.resolveDict(d.root()["AcroForm"])
	if form == nil {
		return nil
	}
	var out []byte
	seen := map[pdfRef]bool{}
	var walk func(v any, name string, depth int)
	walk = func(v any, name string, depth int) {
		if depth > 32 || len(out) > int(d.e.lim.MaxEntry) {
			return
		}
		if r, ok := v.(pdfRef); ok {
			if seen[r] {
				return
			}
			seen[r] = true
		}
		f := d.resolveDict(v)
		if f == nil {
			return
		}
		if t, ok := d.resolve(f["T"]).(pdfString); ok {
			name = string(pdfDecode(t))
		}
		switch val := d.resolve(f["V"]).(type) {
		case pdfString:
			out = fmt.Appendf(out, "%s: %s\n", name, pdfDecode(val))
		case pdfName:
			if val != "Off" {
				out = fmt.Appendf(out, "%s: %s\n", name, string(val))
			}
		}
		for _, k := range d.resolveArray(f["Kids"]) {
			walk(k, name, depth+1)
		}
	}
	for _, f := range d.resolveArray(form["Fields"]) {
		walk(f, "", 0)
	}
	return out
}

// pdfRegular: bytes that are neither white space nor delimiters.
func pdfRegular(c byte) bool {
	switch c {
	case ' ', '\n', '\r', '\t', '\f', 0, '(', ')', '<', '>', '[', ']', '{', '}', '/', '%':
		return false
	}
	return true
}

// pdfLiteral parses the literal string starting at s[i] == '(' and returns
// its bytes and the index after it.
func pdfLiteral(s []byte, i int) ([]byte, int) {
	var out []byte
	depth := 0
	for i++; i < len(s); i++ {
		c := s[i]
		switch c {
		case '(':
			depth++
		case ')':
			if depth == 0 {
				return out, i + 1
			}
			depth--
		case '\\':
			i++
			if i >= len(s) {
				return out, i
			}
			switch c = s[i]; c {
			case 'n':
				out = append(out, '\n')
			case 'r':
				out = append(out, '\r')
			case 't':
				out = append(out, '\t')
			case 'b':
				out = append(out, '\b')
			case 'f':
				out = append(out, '\f')
			case '\r':
				if i+1 < len(s) && s[i+1] == '\n' {
					i++
				}
			case '\n':
			default:
				if c >= '0' && c <= '7' {
					v := int(c - '0')
					for k := 0; k < 2 && i+1 < len(s) && s[i+1] >= '0' && s[i+1] <= '7'; k++ {
						i++
						v = v*8 + int(s[i]-'0')
					}
					out = append(out, byte(v))
				} else {
					out = append(out, c) // \( \) \\ and unknown escapes
				}
			}
			continue
		}
		out = append(out, c)
	}
	return out, i
}

// pdfHex parses the hex string starting at s[i] == '<'.
func pdfHex(s []byte, i int) ([]byte, int) {
	end := bytes.IndexByte(s[i:], '>')
	if end < 0 {
		end = len(s) - i
	}
	out := make([]byte, 0, end/2+1)
	var hi byte
	half := false
	for i++; i < len(s); i++ {
		c := s[i]
		var v byte
		switch {
		case c == '>':
			if half {
				out = append(out, hi<<4)
			}
			return out, i + 1
		case isDigit(c):
			v = c - '0'
		case c|0x20 >= 'a' && c|0x20 <= 'f':
			v = c | 0x20 - 'a' + 10
		default:
			continue
		}
		if half {
			out = append(out, hi<<4|v)
		} else {
			hi = v
		}
		half = !half
	}
	return out, i
}

// pdfDecode turns a string's bytes into UTF-8: UTF-16BE with a byte-order
// mark, otherwise one byte per character (PDFDocEncoding/WinAnsi agree with
// Latin-1 closely enough for digits and words).
func pdfDecode(b []byte) []byte {
	if bytes.HasPrefix(b, []byte("\xFE\xFF")) {
		return utf16ToUTF8(b[2:], true)
	}
	for _, c := range b {
		if c >= 0x80 {
			out := make([]byte, 0, len(b)+8)
			for _, c := range b {
				out = utf8.AppendRune(out, rune(c))
			}
			return out
		}
	}
	return b
}
