package scanner

// Text of a PDF page as a viewer lays it out. Producers draw text in
// pieces — a word per operator, a digit per position, kerning adjustments
// inside TJ arrays — so the pieces are placed where they land on the page
// (text matrix, font size and glyph widths, the transformation matrix) and
// joined by what lies between them: nothing when one piece starts where
// the previous ended, a space for a word gap, a tab for a wide gap (table
// columns), a newline when the baseline moves.

import (
	"bytes"
	"math"
)

type matrix [6]float64

var identity = matrix{1, 0, 0, 1, 0, 0}

// mul returns m × n (m applied first).
func (m matrix) mul(n matrix) matrix {
	return matrix{
		m[0]*n[0] + m[1]*n[2], m[0]*n[1] + m[1]*n[3],
		m[2]*n[0] + m[3]*n[2], m[2]*n[1] + m[3]*n[3],
		m[4]*n[0] + m[5]*n[2] + n[4], m[4]*n[1] + m[5]*n[3] + n[5],
	}
}

// pageText interprets the content of one page.
type pageText struct {
	d      *pdfDoc
	out    []byte
	fonts  map[any]*pdfFont
	forms  map[pdfRef][]byte
	ops    int
	draws  int // forms drawn
	images int // images painted
	shown  int // glyphs shown
	mapped int // glyphs that had text

	// Where the last glyph with text ended, in the coordinates of its
	// baseline (along it, across it), and its size on the page.
	have          bool
	along, across float64
	size          float64
	dir           [2]float64

	// Graphics and text state.
	ctm                     matrix
	stack                   []matrix
	tm, tlm                 matrix
	tc, tw, th, tl, tfs, ts float64
	font                    *pdfFont
	gl                      []glyph
	buf                     []byte
}

// maxFormDepth bounds form XObjects drawn inside one another, and
// maxFormDraws how many are drawn on one page.
const (
	maxFormDepth = 8
	maxFormDraws = 10000
)

func (d *pdfDoc) newPageText(fonts map[any]*pdfFont, forms map[pdfRef][]byte) *pageText {
	return &pageText{d: d, fonts: fonts, forms: forms, ctm: identity, tm: identity, tlm: identity, th: 1}
}

var defaultFont = &pdfFont{enc: &winAnsi, dw: 500, scale: 0.001}

// run interprets one content stream with its resources.
func (p *pageText) run(content []byte, res pdfDict, depth int) error {
	d := p.d
	fontRes := d.resolveDict(res["Font"])
	xobjRes := d.resolveDict(res["XObject"])
	lx := pdfLexer{b: content, content: true}
	var args []any
	for {
		// By operators, not bytes: a small form drawn again and again
		// costs time without moving through much content.
		if p.ops&0x3FF == 0 && d.e.ctx.Err() != nil {
			return errDeadline
		}
		t := lx.next()
		if _, ok := t.(pdfEnd); ok {
			return nil
		}
		op, ok := t.(pdfKeyword)
		if !ok {
			if len(args) < 32 {
				args = append(args, lx.objectFrom(t, 0))
			} else {
				lx.objectFrom(t, 0)
			}
			continue
		}
		num := func(i int) float64 {
			if i < len(args) {
				switch v := args[i].(type) {
				case int:
					return float64(v)
				case float64:
					return v
				}
			}
			return 0
		}
		mat := func() matrix {
			var m matrix
			for i := range m {
				m[i] = num(len(args) - 6 + i)
			}
			return m
		}
		switch op {
		case "q":
			if len(p.stack) < 256 {
				p.stack = append(p.stack, p.ctm)
			}
		case "Q":
			if n := len(p.stack); n > 0 {
				p.ctm, p.stack = p.stack[n-1], p.stack[:n-1]
			}
		case "cm":
			if len(args) >= 6 {
				p.ctm = mat().mul(p.ctm)
			}
		case "BT":
			p.tm, p.tlm = identity, identity
		case "Tf":
			if len(args) >= 2 {
				name, _ := args[len(args)-2].(pdfName)
				p.tfs = num(len(args) - 1)
				p.font = defaultFont
				if fv, ok := fontRes[name]; ok {
					p.font = d.font(fv, p.fonts)
				}
			}
		case "Tc":
			p.tc = num(0)
		case "Tw":
			p.tw = num(0)
		case "Tz":
			p.th = num(0) / 100
		case "TL":
			p.tl = num(0)
		case "Ts":
			p.ts = num(0)
		case "Td":
			p.moveText(num(0), num(1))
		case "TD":
			p.tl = -num(1)
			p.moveText(num(0), num(1))
		case "Tm":
			if len(args) >= 6 {
				p.tm, p.tlm = mat(), mat()
			}
		case "T*":
			p.moveText(0, -p.tl)
		case "Tj":
			if len(args) > 0 {
				p.show(args[len(args)-1])
			}
		case "'", "\"":
			if op == "\"" && len(args) >= 3 {
				p.tw, p.tc = num(0), num(1)
			}
			p.moveText(0, -p.tl)
			if len(args) > 0 {
				p.show(args[len(args)-1])
			}
		case "TJ":
			if len(args) > 0 {
				arr, _ := args[len(args)-1].(pdfArray)
				for _, x := range arr {
					switch v := x.(type) {
					case pdfString:
						p.show(v)
					case int:
						p.advance(-float64(v) / 1000 * p.tfs * p.th)
					case float64:
						p.advance(-v / 1000 * p.tfs * p.th)
					}
				}
			}
		case "Do":
			if len(args) > 0 {
				name, _ := args[len(args)-1].(pdfName)
				if err := p.xobject(xobjRes[name], res, depth); err != nil {
					return err
				}
			}
		case "BI":
			p.images++
			skipInlineImage(&lx)
		}
		args = args[:0]
		if p.ops++; p.ops > 1<<24 {
			return nil // a page with this many operators is a drawing
		}
	}
}

// xobject draws a form (its content, recursively) or counts an image.
func (p *pageText) xobject(v any, res pdfDict, depth int) error {
	d := p.d
	s, ok := d.resolve(v).(*pdfStream)
	if !ok {
		return nil
	}
	switch d.resolve(s.dict["Subtype"]) {
	case pdfName("Image"):
		p.images++
		return nil
	case pdfName("Form"):
	default:
		return nil
	}
	if depth >= maxFormDepth {
		return nil
	}
	if p.draws++; p.draws > maxFormDraws {
		return nil // forms drawing forms, a bomb of drawing rather than of bytes
	}
	ref, isRef := v.(pdfRef)
	content, cached := p.forms[ref]
	if !isRef || !cached {
		var err error
		content, err = d.decode(s, true)
		if err == errDeadline {
			return err
		}
		if isRef {
			p.forms[ref] = content
		}
	}
	if fr := d.resolveDict(s.dict["Resources"]); fr != nil {
		res = fr
	}
	saved, savedStack := p.ctm, len(p.stack)
	if m := d.resolveArray(s.dict["Matrix"]); len(m) == 6 {
		var fm matrix
		for i := range fm {
			fm[i], _ = d.resolveNum(m[i])
		}
		p.ctm = fm.mul(p.ctm)
	}
	err := p.run(content, res, depth+1)
	p.ctm, p.stack = saved, p.stack[:min(savedStack, len(p.stack))]
	return err
}

// skipInlineImage moves past "BI … ID <data> EI".
func skipInlineImage(lx *pdfLexer) {
	k := bytes.Index(lx.b[lx.i:], []byte("ID"))
	if k < 0 {
		lx.i = len(lx.b)
		return
	}
	lx.i += k + 3
	for lx.i < len(lx.b) {
		k := bytes.Index(lx.b[lx.i:], []byte("EI"))
		if k < 0 {
			lx.i = len(lx.b)
			return
		}
		at := lx.i + k
		lx.i = at + 2
		if at > 0 && isPDFSpace(lx.b[at-1]) && (lx.i >= len(lx.b) || isPDFSpace(lx.b[lx.i])) {
			return
		}
	}
}

func (p *pageText) moveText(tx, ty float64) {
	p.tlm = matrix{1, 0, 0, 1, tx, ty}.mul(p.tlm)
	p.tm = p.tlm
}

// advance moves the text position by tx along the text line:
// translate(tx, 0) × tm.
func (p *pageText) advance(tx float64) {
	p.tm[4] += tx * p.tm[0]
	p.tm[5] += tx * p.tm[1]
}

// show places one string. Its glyphs follow one another by their widths,
// so only where the string starts is compared with where the last one
// ended; inside it the text is taken as it comes.
func (p *pageText) show(v any) {
	s, ok := v.(pdfString)
	if !ok {
		return
	}
	f := p.font
	if f == nil {
		f = defaultFont
	}
	if f == defaultFont && bytes.HasPrefix(s, []byte("\xFE\xFF")) {
		// No font at all, a Unicode string: a hand-made or damaged file.
		p.place(pdfDecode(s), 0.5*p.tfs*float64(len(s)-2)/2)
		return
	}
	p.gl = f.glyphs(s, p.gl)
	buf := p.buf[:0]
	var tx float64
	for _, g := range p.gl {
		p.shown++
		adv := f.width(g)*p.tfs + p.tc
		if g.space {
			adv += p.tw
		}
		n := len(buf)
		buf = f.text(g, buf)
		if len(buf) > n {
			p.mapped++
		} else if n == 0 {
			p.advance(adv * p.th) // nothing shown yet: the string starts later
			continue
		}
		tx += adv * p.th
	}
	p.buf = buf
	if len(buf) == 0 {
		p.advance(tx)
		return
	}
	p.place(buf, tx)
}

// place writes text whose glyph starts at the current text position and
// moves the position by tx (text space) for the next one.
func (p *pageText) place(t []byte, tx float64) {
	// The text rendering matrix is [tfs·th 0 0 tfs 0 ts] × tm × ctm; only
	// its origin, baseline direction and height are needed.
	m := p.tm.mul(p.ctm)
	x, y := p.ts*m[2]+m[4], p.ts*m[3]+m[5]
	size := math.Abs(p.tfs) * math.Hypot(m[2], m[3])
	if size == 0 {
		size = 1
	}
	dir := [2]float64{m[0], m[1]}
	if l := math.Hypot(dir[0], dir[1]); l > 0 {
		dir[0], dir[1] = dir[0]/l, dir[1]/l
	} else {
		dir = [2]float64{1, 0}
	}
	along, across := x*dir[0]+y*dir[1], -x*dir[1]+y*dir[0]
	if p.have {
		ref := max(size, p.size)
		turned := math.Abs(dir[0]-p.dir[0])+math.Abs(dir[1]-p.dir[1]) > 0.1
		gap := along - p.along
		switch {
		case turned || math.Abs(across-p.across) > 0.5*ref:
			p.sep('\n')
		case gap > 1.5*ref || gap < -ref:
			p.sep('\t')
		case gap > 0.2*ref:
			p.sep(' ')
		}
	}
	p.out = append(p.out, t...)
	p.advance(tx)
	// The end, along the baseline: the origin moved by tx in text space.
	ex, ey := x+tx*m[0], y+tx*m[1]
	p.along = ex*dir[0] + ey*dir[1]
	p.across = across
	p.size, p.dir, p.have = size, dir, true
}

// sep writes a separator unless the text already ends in white space.
func (p *pageText) sep(c byte) {
	if n := len(p.out); n == 0 {
		return
	} else if last := p.out[n-1]; last == '\n' || (c != '\n' && (last == ' ' || last == '\t')) {
		return
	} else if c == '\n' && (last == ' ' || last == '\t') {
		p.out[n-1] = '\n'
		return
	}
	p.out = append(p.out, c)
}
