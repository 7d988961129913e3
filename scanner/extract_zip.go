package scanner

import (
	"archive/zip"
	"bytes"
	"encoding/xml"
	"fmt"
	"io"
	"path"
	"slices"
	"strconv"
	"strings"
)

// zipDoc opens data as a ZIP container: a DOCX, an XLSX or a plain archive.
// What the contents say wins over the name, so a renamed document is still
// read as what it is.
func (e *extractor) zipDoc(k kind, prefix, p string, data []byte, zips int) {
	src := prefix + " " + p
	if bytes.HasPrefix(data, oleMagic) {
		// A legacy document named .docx, or a password-protected Office
		// document: an OLE compound file holding an encrypted package.
		e.ole(prefix, p, data, zips)
		return
	}
	zr, err := zip.NewReader(bytes.NewReader(data), int64(len(data)))
	if err != nil {
		e.unreadable(src, "corrupt "+k.String()+": "+err.Error())
		return
	}
	files := make(map[string]*zip.File, len(zr.File))
	for _, f := range zr.File {
		files[f.Name] = f
	}
	switch {
	case files["word/document.xml"] != nil:
		e.docx(src, zr, files)
	case files["xl/workbook.xml"] != nil || files["xl/sharedStrings.xml"] != nil:
		e.xlsx(src, zr)
	case files["ppt/presentation.xml"] != nil:
		e.pptx(src, zr)
	case files["content.xml"] != nil && files["mimetype"] != nil:
		e.odf(src, files)
	case k != kZIP:
		e.unreadable(src, "corrupt "+k.String()+": required part missing")
	default:
		e.archive(prefix, p, zr, zips)
	}
}

// entry reads one archive member within the limits. It checks what the
// header declares first, then counts what actually comes out, since the
// header may lie. ok is false when the entry was recorded as unreadable.
func (e *extractor) entry(src string, f *zip.File) (b []byte, ok bool) {
	if f.Flags&1 != 0 {
		e.unreadable(src, "encrypted zip entry")
		return nil, false
	}
	if f.UncompressedSize64 > uint64(e.lim.MaxEntry) {
		e.limit(src, fmt.Sprintf("declared size %d exceeds limit of %d bytes", f.UncompressedSize64, e.lim.MaxEntry))
		return nil, false
	}
	if f.UncompressedSize64 > ratioFloor && f.UncompressedSize64/max(f.CompressedSize64, 1) > uint64(e.lim.MaxRatio) {
		e.limit(src, fmt.Sprintf("compression ratio %d exceeds limit of %d", f.UncompressedSize64/max(f.CompressedSize64, 1), e.lim.MaxRatio))
		return nil, false
	}
	rc, err := f.Open()
	if err != nil {
		e.unreadable(src, "corrupt zip entry: "+err.Error())
		return nil, false
	}
	defer rc.Close()
	// The real bound: the entry limit, and the ratio applied to the
	// compressed size (never less than ratioFloor).
	lim := e.lim.MaxEntry
	if byRatio := max(int64(f.CompressedSize64)*e.lim.MaxRatio, ratioFloor); f.CompressedSize64 < 1<<40 && byRatio < lim {
		lim = byRatio
	}
	b, over, err := e.read(hinted{rc, int64(f.UncompressedSize64)}, lim, true)
	switch {
	case err == errDeadline:
		e.alive(src)
		return nil, false
	case e.work <= 0:
		e.stopped = true
		e.limit(src, fmt.Sprintf("decompression budget of %d bytes for the message used up", workFactor*e.lim.MaxTotal))
		return nil, false
	case over:
		e.limit(src, fmt.Sprintf("inflated beyond its limit of %d bytes (declared %d)", lim, f.UncompressedSize64))
		return nil, false
	case err != nil:
		e.unreadable(src, "corrupt zip entry: "+err.Error())
		return nil, false
	}
	return b, true
}

// archive extracts the members of a ZIP file whose type it knows.
func (e *extractor) archive(prefix, p string, zr *zip.Reader, zips int) {
	src := prefix + " " + p
	if zips >= e.lim.MaxDepth {
		e.limit(src, fmt.Sprintf("archives nested deeper than %d", e.lim.MaxDepth))
		return
	}
	// An office package (PowerPoint, OpenDocument, …) read as a plain ZIP.
	officePackage := false
	for _, f := range zr.File {
		if f.Name == "[Content_Types].xml" || f.Name == "mimetype" {
			officePackage = true
		}
	}
	n := 0
	for _, f := range zr.File {
		if !e.alive(src) {
			return
		}
		if f.FileInfo().IsDir() {
			continue
		}
		if n++; n > e.lim.MaxEntries {
			e.limit(src, fmt.Sprintf("more than %d entries; the rest was not read", e.lim.MaxEntries))
			return
		}
		k := kindOf("", f.Name)
		if k == kNone && noText(f.Name) {
			continue
		}
		name := p + "/" + f.Name
		b, ok := e.entry("archive "+name, f)
		if !ok {
			continue
		}
		if k == kNone {
			var skip bool
			if k, b, skip = classify(b); skip {
				continue
			}
			if k == kNone {
				// The binary parts of an office package (printer
				// settings, embedded fonts, OLE blobs) are not
				// documents; its text is in its XML parts, read above.
				if !officePackage {
					e.unreadable("archive "+name, "unsupported file type")
				}
				continue
			}
		}
		e.doc(k, "archive", name, b, zips+1)
	}
}

// docx joins the text of the body, headers, footers, foot- and endnotes and
// comments. Text is concatenated across runs within a paragraph, so a number
// Word split into several runs (spell-checking, revisions, formatting)
// comes out whole.
func (e *extractor) docx(src string, zr *zip.Reader, files map[string]*zip.File) {
	var names []string
	for name := range files {
		dir, base := path.Split(name)
		if dir != "word/" || !strings.HasSuffix(base, ".xml") {
			continue
		}
		switch {
		case base == "document.xml", base == "footnotes.xml", base == "endnotes.xml", base == "comments.xml",
			strings.HasPrefix(base, "header"), strings.HasPrefix(base, "footer"):
			names = append(names, name)
		}
	}
	slices.SortFunc(names, func(a, b string) int {
		// The body first, then the rest by name.
		switch {
		case a == b:
			return 0
		case a == "word/document.xml":
			return -1
		case b == "word/document.xml":
			return 1
		}
		return strings.Compare(a, b)
	})
	var out []byte
	for i, name := range names {
		if i >= e.lim.MaxEntries {
			e.limit(src, fmt.Sprintf("more than %d parts", e.lim.MaxEntries))
			break
		}
		b, ok := e.entry(src+"/"+name, files[name])
		if !ok {
			continue
		}
		t, err := e.xmlText(b, wordML{})
		out = append(out, t...)
		if err != nil {
			if err == errDeadline {
				e.alive(src)
				break
			}
			e.unreadable(src+"/"+name, "corrupt DOCX: "+err.Error())
		}
		out = append(out, '\n')
	}
	e.add(src, out)
}

// xlsx extracts the shared strings (one per line) and then the cell values of
// each worksheet (tab between cells, newline between rows). Cells that refer
// to a shared string are skipped there: the string itself is already out,
// and its index is not data.
func (e *extractor) xlsx(src string, zr *zip.Reader) {
	var sheets []*zip.File
	var shared *zip.File
	for _, f := range zr.File {
		switch {
		case f.Name == "xl/sharedStrings.xml":
			shared = f
		case strings.HasPrefix(f.Name, "xl/worksheets/") && strings.HasSuffix(f.Name, ".xml") && !strings.Contains(f.Name[len("xl/worksheets/"):], "/"):
			sheets = append(sheets, f)
		}
	}
	slices.SortFunc(sheets, func(a, b *zip.File) int { return strings.Compare(a.Name, b.Name) })
	if shared != nil {
		sheets = append([]*zip.File{shared}, sheets...)
	}
	var out []byte
	for i, f := range sheets {
		if i >= e.lim.MaxEntries {
			e.limit(src, fmt.Sprintf("more than %d sheets", e.lim.MaxEntries))
			break
		}
		b, ok := e.entry(src+"/"+f.Name, f)
		if !ok {
			continue
		}
		t, err := e.xmlText(b, &sheetML{})
		out = append(out, t...)
		if err != nil {
			if err == errDeadline {
				e.alive(src)
				break
			}
			e.unreadable(src+"/"+f.Name, "corrupt XLSX: "+err.Error())
		}
		out = append(out, '\n')
	}
	e.add(src, out)
}

// xmlRules says, for one OOXML vocabulary, which character data is text and
// where line breaks go. Elements are matched by local name, so any namespace
// prefix works.
type xmlRules interface {
	start(el xml.StartElement, out []byte) []byte
	end(name string, out []byte) []byte
	text(inside string) bool // whether character data directly inside this element is text
	value(inside string, data []byte, out []byte) []byte
}

// wordML: WordprocessingML (document.xml and friends).
type wordML struct{}

func (wordML) start(el xml.StartElement, out []byte) []byte {
	switch el.Name.Local {
	case "tab":
		return append(out, '\t')
	case "br", "cr":
		return append(out, '\n')
	}
	return out
}

func (wordML) end(name string, out []byte) []byte {
	switch name {
	case "p":
		return append(out, '\n')
	case "tc":
		return append(out, '\t')
	}
	return out
}

func (wordML) text(inside string) bool { return inside == "t" || inside == "delText" }

func (wordML) value(_ string, data, out []byte) []byte { return append(out, data...) }

// sheetML: SpreadsheetML shared strings and worksheets.
type sheetML struct {
	cellType string // t attribute of the current <c>
}

func (s *sheetML) start(el xml.StartElement, out []byte) []byte {
	if el.Name.Local == "c" {
		s.cellType = ""
		for _, a := range el.Attr {
			if a.Name.Local == "t" {
				s.cellType = a.Value
			}
		}
	}
	return out
}

func (s *sheetML) end(name string, out []byte) []byte {
	switch name {
	case "si", "row":
		return append(out, '\n')
	case "c":
		return append(out, '\t')
	}
	return out
}

func (s *sheetML) text(inside string) bool { return inside == "t" || inside == "v" }

func (s *sheetML) value(inside string, data, out []byte) []byte {
	if inside != "v" {
		return append(out, data...) // <si><t>, <si><r><t>, <is><t>
	}
	switch s.cellType {
	case "s":
		return out // index into the shared strings
	case "", "n":
		// Numbers as Excel writes them: "4111111111111111", but also
		// "5.36221234E8"; print those with all their digits.
		v := string(bytes.TrimSpace(data))
		if strings.ContainsAny(v, "eE") {
			if f, err := strconv.ParseFloat(v, 64); err == nil {
				return strconv.AppendFloat(out, f, 'f', -1, 64)
			}
		}
	}
	return append(out, data...)
}

// xmlText streams through an XML document and collects its text by rules.
// The deadline is checked every few thousand tokens.
func (e *extractor) xmlText(b []byte, rules xmlRules) ([]byte, error) {
	d := xml.NewDecoder(bytes.NewReader(b))
	d.Strict = false
	var out []byte
	var stack []string
	for n := 0; ; n++ {
		if n%4096 == 0 && e.ctx.Err() != nil {
			return out, errDeadline
		}
		tok, err := d.RawToken()
		if err == io.EOF {
			return out, nil
		}
		if err != nil {
			return out, err
		}
		switch t := tok.(type) {
		case xml.StartElement:
			if len(stack) > 10000 {
				return out, fmt.Errorf("XML nested too deep")
			}
			stack = append(stack, t.Name.Local)
			out = rules.start(t, out)
		case xml.EndElement:
			if len(stack) > 0 {
				stack = stack[:len(stack)-1]
			}
			out = rules.end(t.Name.Local, out)
		case xml.CharData:
			if len(stack) > 0 && rules.text(stack[len(stack)-1]) {
				out = rules.value(stack[len(stack)-1], t, out)
			}
		}
	}
}
