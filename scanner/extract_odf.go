package scanner

// PowerPoint (.pptx) slides and notes, OpenDocument text, spreadsheets and
// presentations (.odt, .ods, .odp: content plus the headers and footers in
// styles.xml).

import (
	"archive/zip"
	"encoding/xml"
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"
)

var slideNum = regexp.MustCompile(`^ppt/(slides/slide|notesSlides/notesSlide)(\d+)\.xml$`)

// pptx reads the slides in order, then the speaker notes. DrawingML's
// <a:t>, <a:p> and <a:tc> read like WordprocessingML's.
func (e *extractor) pptx(src string, zr *zip.Reader) {
	type slide struct {
		f     *zip.File
		notes bool
		n     int
	}
	var slides []slide
	for _, f := range zr.File {
		if m := slideNum.FindStringSubmatch(f.Name); m != nil {
			n, _ := strconv.Atoi(m[2])
			slides = append(slides, slide{f, m[1] != "slides/slide", n})
		}
	}
	slices.SortFunc(slides, func(a, b slide) int {
		if a.notes != b.notes {
			if a.notes {
				return 1
			}
			return -1
		}
		return a.n - b.n
	})
	e.xmlParts(src, "PPTX", func(yield func(*zip.File, xmlRules)) {
		for _, s := range slides {
			yield(s.f, wordML{})
		}
	})
}

// odf reads an OpenDocument package's content and styles (where the
// headers and footers of its master pages live).
func (e *extractor) odf(src string, files map[string]*zip.File) {
	e.xmlParts(src, "OpenDocument", func(yield func(*zip.File, xmlRules)) {
		for _, name := range []string{"content.xml", "styles.xml"} {
			if f := files[name]; f != nil {
				yield(f, &odfML{})
			}
		}
	})
}

// xmlParts extracts the XML parts listed by each, as one document.
func (e *extractor) xmlParts(src, what string, each func(yield func(*zip.File, xmlRules))) {
	var out []byte
	n := 0
	stop := false
	each(func(f *zip.File, rules xmlRules) {
		if stop {
			return
		}
		if n++; n > e.lim.MaxEntries {
			e.limit(src, fmt.Sprintf("more than %d parts", e.lim.MaxEntries))
			stop = true
			return
		}
		b, ok := e.entry(src+"/"+f.Name, f)
		if !ok {
			return
		}
		t, err := e.xmlText(b, rules)
		out = append(append(out, t...), '\n')
		if err == errDeadline {
			e.alive(src)
			stop = true
		} else if err != nil {
			e.unreadable(src+"/"+f.Name, "corrupt "+what+": "+err.Error())
		}
	})
	e.add(src, out)
}

// odfML: OpenDocument text. Character data counts inside paragraphs,
// headings and spans; a spreadsheet cell's number is also taken from its
// office:value, which keeps every digit the display format may round.
type odfML struct{}

func (*odfML) start(el xml.StartElement, out []byte) []byte {
	switch el.Name.Local {
	case "tab":
		return append(out, '\t')
	case "line-break":
		return append(out, '\n')
	case "s":
		n := 1
		for _, a := range el.Attr {
			if a.Name.Local == "c" {
				if c, err := strconv.Atoi(a.Value); err == nil && c > 0 && c < 100 {
					n = c
				}
			}
		}
		return append(out, strings.Repeat(" ", n)...)
	case "table-cell":
		var typ, val string
		for _, a := range el.Attr {
			switch a.Name.Local {
			case "value-type":
				typ = a.Value
			case "value":
				val = a.Value
			}
		}
		if typ == "float" && val != "" {
			if f, err := strconv.ParseFloat(val, 64); err == nil {
				out = strconv.AppendFloat(out, f, 'f', -1, 64)
				return append(out, ' ')
			}
		}
	}
	return out
}

func (*odfML) end(name string, out []byte) []byte {
	switch name {
	case "p", "h", "table-row":
		return append(out, '\n')
	case "table-cell":
		return append(out, '\t')
	}
	return out
}

func (*odfML) text(inside string) bool {
	switch inside {
	case "p", "h", "span", "a", "date", "time", "page-number", "sender-firstname", "sender-lastname", "title", "subject":
		return true
	}
	return false
}

func (*odfML) value(_ string, data, out []byte) []byte { return append(out, data...) }
