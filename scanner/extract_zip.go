package scanner

import (
	"archive/zip"
	"bytes"
	"encoding/xml"
	"errors"
	"fmt"
	"path"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"
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

// xlsx extracts the shared strings (one per line), then the cell values
// and the page headers and footers of each worksheet (tab between cells,
// newline between rows), then the cell comments and the text of drawn
// shapes (text boxes): what a reader sees on screen or on paper. Cells
// that refer to a shared string are skipped there: the string itself is
// already out, and its index is not data.
func (e *extractor) xlsx(src string, zr *zip.Reader) {
	var shared *zip.File
	var sheets, notes []*zip.File
	for _, f := range zr.File {
		switch {
		case f.Name == "xl/sharedStrings.xml":
			shared = f
		case xlsxPart(f.Name, "xl/worksheets/"):
			sheets = append(sheets, f)
		case xlsxPart(f.Name, "xl/threadedComments/"), xlsxPart(f.Name, "xl/drawings/"),
			xlsxPart(f.Name, "xl/") && strings.HasPrefix(f.Name, "xl/comments"):
			notes = append(notes, f)
		}
	}
	byName := func(a, b *zip.File) int { return strings.Compare(a.Name, b.Name) }
	slices.SortFunc(sheets, byName)
	slices.SortFunc(notes, byName)
	if shared != nil {
		sheets = append([]*zip.File{shared}, sheets...)
	}
	sheets = append(sheets, notes...)
	var out []byte
	for i, f := range sheets {
		if i >= e.lim.MaxEntries {
			e.limit(src, fmt.Sprintf("more than %d sheets and notes", e.lim.MaxEntries))
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
	case "si", "row", "comment", "threadedComment", "p": // p: a paragraph of a drawn shape
		return append(out, '\n')
	case "c":
		return append(out, '\t')
	}
	return out
}

// xlsxPart reports whether name is an XML part directly in dir.
func xlsxPart(name, dir string) bool {
	rest, ok := strings.CutPrefix(name, dir)
	return ok && strings.HasSuffix(rest, ".xml") && !strings.Contains(rest, "/")
}

func (s *sheetML) text(inside string) bool {
	switch inside {
	case "t", "v", "text", // cells, shared strings, comments, shapes; a threaded comment's text
		"oddHeader", "oddFooter", "evenHeader", "evenFooter", "firstHeader", "firstFooter":
		return true
	}
	return false
}

func (s *sheetML) value(inside string, data, out []byte) []byte {
	switch inside {
	case "v":
	case "oddHeader", "oddFooter", "evenHeader", "evenFooter", "firstHeader", "firstFooter":
		return append(headerFooterText(out, data), '\n')
	default:
		return append(out, data...) // <si><t>, <si><r><t>, <is><t>, <text>
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

// xmlText walks an XML document and collects its text by rules. It is a
// small tokenizer of its own rather than encoding/xml, which allocated a
// name per tag and made reading a DOCX 25 times slower than unzipping it;
// the documents here need element names, attributes and character data,
// nothing else (no DTDs, no namespace resolution: rules match local
// names). The deadline is checked every few thousand tags.
func (e *extractor) xmlText(b []byte, rules xmlRules) ([]byte, error) {
	var out []byte
	var stack []string
	names := map[string]string{} // interned local names
	intern := func(n []byte) string {
		if i := bytes.IndexByte(n, ':'); i >= 0 {
			n = n[i+1:]
		}
		if s, ok := names[string(n)]; ok {
			return s
		}
		s := string(n)
		names[s] = s
		return s
	}
	for i, n := 0, 0; i < len(b); n++ {
		if n%4096 == 0 && e.ctx.Err() != nil {
			return out, errDeadline
		}
		k := bytes.IndexByte(b[i:], '<')
		if k < 0 {
			k = len(b) - i
		}
		if k > 0 && len(stack) > 0 && rules.text(stack[len(stack)-1]) {
			out = rules.value(stack[len(stack)-1], xmlUnescape(b[i:i+k]), out)
		}
		i += k
		if i >= len(b) {
			break
		}
		rest := b[i:]
		switch {
		case bytes.HasPrefix(rest, []byte("<!--")):
			end := bytes.Index(rest, []byte("-->"))
			if end < 0 {
				return out, nil
			}
			i += end + 3
		case bytes.HasPrefix(rest, []byte("<![CDATA[")):
			end := bytes.Index(rest, []byte("]]>"))
			if end < 0 {
				return out, fmt.Errorf("unterminated CDATA")
			}
			if len(stack) > 0 && rules.text(stack[len(stack)-1]) {
				out = rules.value(stack[len(stack)-1], rest[9:end], out)
			}
			i += end + 3
		case len(rest) > 1 && (rest[1] == '?' || rest[1] == '!'):
			end := bytes.IndexByte(rest, '>')
			if end < 0 {
				return out, nil
			}
			i += end + 1
		case len(rest) > 1 && rest[1] == '/':
			end := bytes.IndexByte(rest, '>')
			if end < 0 {
				return out, fmt.Errorf("unterminated end tag")
			}
			name := intern(bytes.TrimSpace(rest[2:end]))
			if len(stack) > 0 {
				stack = stack[:len(stack)-1]
			}
			out = rules.end(name, out)
			i += end + 1
		default:
			end, el, self, err := xmlStartTag(rest, intern)
			if err != nil {
				return out, err
			}
			if len(stack) > 10000 {
				return out, fmt.Errorf("XML nested too deep")
			}
			stack = append(stack, el.Name.Local)
			out = rules.start(el, out)
			if self {
				stack = stack[:len(stack)-1]
				out = rules.end(el.Name.Local, out)
			}
			i += end
		}
	}
	return out, nil
}

// xmlStartTag parses "<name attr='v' …>" or "…/>" at the start of b and
// returns its length.
func xmlStartTag(b []byte, intern func([]byte) string) (int, xml.StartElement, bool, error) {
	var el xml.StartElement
	j := 1
	for j < len(b) && !isXMLSpace(b[j]) && b[j] != '>' && b[j] != '/' {
		j++
	}
	el.Name.Local = intern(b[1:j])
	for j < len(b) {
		for j < len(b) && isXMLSpace(b[j]) {
			j++
		}
		if j >= len(b) {
			break
		}
		switch b[j] {
		case '>':
			return j + 1, el, false, nil
		case '/':
			if j+1 < len(b) && b[j+1] == '>' {
				return j + 2, el, true, nil
			}
			j++
			continue
		}
		// An attribute: name = "value" or 'value'.
		ns := j
		for j < len(b) && b[j] != '=' && b[j] != '>' && !isXMLSpace(b[j]) {
			j++
		}
		name := b[ns:j]
		for j < len(b) && isXMLSpace(b[j]) {
			j++
		}
		if j >= len(b) || b[j] != '=' {
			continue // an attribute without a value (HTML-ish): ignored
		}
		j++
		for j < len(b) && isXMLSpace(b[j]) {
			j++
		}
		if j >= len(b) || (b[j] != '"' && b[j] != '\'') {
			continue
		}
		q := b[j]
		end := bytes.IndexByte(b[j+1:], q)
		if end < 0 {
			return 0, el, false, fmt.Errorf("unterminated attribute value")
		}
		el.Attr = append(el.Attr, xml.Attr{Name: xml.Name{Local: intern(name)}, Value: string(xmlUnescape(b[j+1 : j+1+end]))})
		j += end + 2
	}
	return 0, el, false, fmt.Errorf("unterminated tag")
}

func isXMLSpace(c byte) bool { return c == ' ' || c == '\n' || c == '\r' || c == '\t' }

// xmlUnescape replaces the predefined and numeric character references;
// others are left as they are.
func xmlUnescape(s []byte) []byte {
	k := bytes.IndexByte(s, '&')
	if k < 0 {
		return s
	}
	out := append(make([]byte, 0, len(s)), s[:k]...)
	for i := k; i < len(s); i++ {
		if s[i] != '&' {
			out = append(out, s[i])
			continue
		}
		end := bytes.IndexByte(s[i:min(len(s), i+12)], ';')
		if end < 0 {
			out = append(out, '&')
			continue
		}
		ref := string(s[i+1 : i+end])
		switch ref {
		case "amp":
			out = append(out, '&')
		case "lt":
			out = append(out, '<')
		case "gt":
			out = append(out, '>')
		case "quot":
			out = append(out, '"')
		case "apos":
			out = append(out, '\'')
		default:
			var v uint64
			var err error
			switch {
			case strings.HasPrefix(ref, "#x"), strings.HasPrefix(ref, "#X"):
				v, err = strconv.ParseUint(ref[2:], 16, 32)
			case strings.HasPrefix(ref, "#"):
				v, err = strconv.ParseUint(ref[1:], 10, 32)
			default:
				err = errors.New("unknown entity")
			}
			if err != nil || v > utf8.MaxRune {
				out = append(out, '&')
				continue
			}
			out = utf8.AppendRune(out, rune(v))
		}
		i += end
	}
	return out
}

// headerFooterText appends a worksheet header's or footer's text without
// its formatting codes: &L, &C and &R start a section (a new line), &"font"
// and &K colours are dropped, "&&" is an ampersand, and any other code
// (&P page, &D date, &12 font size, …) becomes a space, so text on both
// sides stays apart. Digits after & are kept: dropping them could take
// digits off a number written right after the code.
func headerFooterText(out, h []byte) []byte {
	for i := 0; i < len(h); i++ {
		if h[i] != '&' || i+1 == len(h) {
			out = append(out, h[i])
			continue
		}
		i++
		switch c := h[i]; {
		case c == '&':
			out = append(out, '&')
		case c == 'L' || c == 'C' || c == 'R':
			if len(out) > 0 && out[len(out)-1] != '\n' {
				out = append(out, '\n')
			}
		case c == '"':
			if end := bytes.IndexByte(h[i+1:], '"'); end >= 0 {
				i += 1 + end
			} else {
				i = len(h)
			}
			out = append(out, ' ')
		case c == 'K' && i+6 < len(h):
			i += 6
			out = append(out, ' ')
		case c >= '0' && c <= '9':
			out = append(out, ' ', c)
		default:
			out = append(out, ' ')
		}
	}
	return out
}
