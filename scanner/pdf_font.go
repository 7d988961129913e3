package scanner

// PDF fonts, for the two things text extraction needs from them: what
// Unicode text a string's codes stand for (a ToUnicode CMap, else the
// simple font's encoding with its Differences), and how wide each glyph is,
// so that the gaps between shown strings can be told from the strings
// themselves (a number drawn digit by digit reads as one number).

import (
	"strconv"
	"strings"
	"unicode/utf16"
)

type pdfFont struct {
	twoByte bool               // Type0 with Identity-H/V: every code is two bytes
	ranges  []codespace        // a ToUnicode or encoding CMap's code lengths
	toUni   map[uint32][]rune  // code → text, from ToUnicode
	enc     *[256]rune         // simple fonts: code → rune without ToUnicode
	widths  map[uint32]float64 // code (simple) or CID (Type0) → width in glyph units/1000
	dw      float64            // default width
	scale   float64            // glyph units → text space (1/1000, or a Type3 FontMatrix)
	cidMap  map[uint32]uint32  // Type0 with a non-identity CMap: code → CID (widths)
	utf8    map[uint32][]byte  // toUni as UTF-8, made on first use
}

type codespace struct {
	n      int // bytes
	lo, hi uint32
}

// glyph is one code of a shown string.
type glyph struct {
	code  uint32
	n     int // bytes
	space bool
}

func (d *pdfDoc) font(v any, cache map[any]*pdfFont) *pdfFont {
	if r, ok := v.(pdfRef); ok {
		if f, ok := cache[r]; ok {
			return f
		}
		f := d.loadFont(d.resolveDict(v))
		cache[r] = f
		return f
	}
	return d.loadFont(d.resolveDict(v))
}

func (d *pdfDoc) loadFont(fd pdfDict) *pdfFont {
	f := &pdfFont{scale: 0.001, dw: 1000}
	if fd == nil {
		f.enc = &winAnsi
		return f
	}
	sub, _ := d.resolve(fd["Subtype"]).(pdfName)
	if tu, ok := d.resolve(fd["ToUnicode"]).(*pdfStream); ok {
		if data, err := d.decode(tu, false); err == nil {
			f.toUni, f.ranges = parseCMap(data)
		}
	}
	if sub == "Type0" {
		f.twoByte = true
		if s, ok := d.resolve(fd["Encoding"]).(*pdfStream); ok {
			// An embedded CMap: its codespace says how long codes are,
			// its cidchar/cidrange which CID (for the widths) each is.
			if data, err := d.decode(s, false); err == nil {
				f.cidMap, f.ranges = parseCIDMap(data, f.ranges)
				f.twoByte = false
			}
		}
		if len(f.ranges) == 0 {
			f.ranges = []codespace{{2, 0, 0xFFFF}}
		}
		if da := d.resolveArray(fd["DescendantFonts"]); len(da) > 0 {
			cid := d.resolveDict(da[0])
			if w, ok := d.resolveNum(cid["DW"]); ok {
				f.dw = w
			}
			f.widths = d.cidWidths(d.resolveArray(cid["W"]))
		}
		return f // without ToUnicode its codes are glyph numbers: no text
	}
	f.ranges = nil // simple fonts: one byte per code
	f.enc = d.simpleEncoding(fd, sub)
	first, _ := d.resolveInt(fd["FirstChar"])
	if ws := d.resolveArray(fd["Widths"]); ws != nil {
		f.widths = make(map[uint32]float64, len(ws))
		for i, w := range ws {
			if x, ok := d.resolveNum(w); ok {
				f.widths[uint32(first+i)] = x
			}
		}
		f.dw = 0
		if fdesc := d.resolveDict(fd["FontDescriptor"]); fdesc != nil {
			if mw, ok := d.resolveNum(fdesc["MissingWidth"]); ok {
				f.dw = mw
			}
		}
	} else {
		f.dw = 500 // the standard 14 fonts: an average width is close enough
	}
	if sub == "Type3" {
		if m := d.resolveArray(fd["FontMatrix"]); len(m) == 6 {
			if a, ok := d.resolveNum(m[0]); ok {
				f.scale = a
			}
		}
	}
	return f
}

func (d *pdfDoc) cidWidths(w pdfArray) map[uint32]float64 {
	out := map[uint32]float64{}
	for i := 0; i < len(w); {
		c1, ok := d.resolveInt(w[i])
		if !ok || i+1 >= len(w) {
			break
		}
		if arr, ok := d.resolve(w[i+1]).(pdfArray); ok {
			for k, x := range arr {
				if v, ok := d.resolveNum(x); ok && len(out) < 1<<16 {
					out[uint32(c1+k)] = v
				}
			}
			i += 2
			continue
		}
		if i+2 >= len(w) {
			break
		}
		c2, _ := d.resolveInt(w[i+1])
		v, _ := d.resolveNum(w[i+2])
		for c := c1; c <= c2 && c-c1 < 1<<16; c++ {
			out[uint32(c)] = v
		}
		i += 3
	}
	return out
}

// simpleEncoding: the base encoding named or implied, with Differences.
func (d *pdfDoc) simpleEncoding(fd pdfDict, sub pdfName) *[256]rune {
	var enc [256]rune
	base := winAnsi
	switch e := d.resolve(fd["Encoding"]).(type) {
	case pdfName:
		base = *namedEncoding(e)
	case pdfDict:
		if n, ok := d.resolve(e["BaseEncoding"]).(pdfName); ok {
			base = *namedEncoding(n)
		}
		enc = base
		code := 0
		for _, x := range d.resolveArray(e["Differences"]) {
			switch v := d.resolve(x).(type) {
			case int:
				code = v
			case pdfName:
				if code >= 0 && code < 256 {
					enc[code] = glyphRune(string(v))
				}
				code++
			}
		}
		return &enc
	}
	enc = base
	return &enc
}

func namedEncoding(n pdfName) *[256]rune {
	if n == "MacRomanEncoding" {
		return &macRoman
	}
	return &winAnsi // WinAnsi; Standard agrees on digits and letters
}

// winAnsi is Windows-1252; macRoman differs from it above 0x7F.
var winAnsi, macRoman = func() ([256]rune, [256]rune) {
	var w, m [256]rune
	for i := range w {
		w[i] = rune(i)
		m[i] = rune(i)
	}
	hi := []rune("€\x81‚ƒ„…†‡ˆ‰Š‹Œ\x8dŽ\x8f\x90‘’“”•–—˜™š›œ\x9džŸ")
	copy(w[0x80:], hi)
	mac := []rune("ÄÅÇÉÑÖÜáàâäãåçéèêëíìîïñóòôöõúùûü†°¢£§•¶ß®©™´¨≠ÆØ∞±≤≥¥µ∂∑∏π∫ªºΩæø¿¡¬√ƒ≈∆«»… ÀÃÕŒœ–—“”‘’÷◊ÿŸ⁄€‹›ﬁﬂ‡·‚„‰ÂÊÁËÈÍÎÏÌÓÔ\uf8ffÒÚÛÙıˆ˜¯˘˙˚¸˝˛ˇ")
	copy(m[0x80:], mac)
	return w, m
}()

// glyphNames maps the glyph names that matter for the detectors and their
// context words; single-letter names are the letter itself.
var glyphNames = map[string]rune{
	"space": ' ', "zero": '0', "one": '1', "two": '2', "three": '3', "four": '4', "five": '5',
	"six": '6', "seven": '7', "eight": '8', "nine": '9', "hyphen": '-', "minus": '-', "endash": '–',
	"emdash": '—', "period": '.', "comma": ',', "colon": ':', "semicolon": ';', "slash": '/',
	"numbersign": '#', "parenleft": '(', "parenright": ')', "at": '@', "underscore": '_',
	"quoteright": '’', "quoteleft": '‘', "quotesingle": '\'', "quotedbl": '"', "ampersand": '&',
	"exclam": '!', "question": '?', "percent": '%', "plus": '+', "equal": '=', "asterisk": '*',
	"bracketleft": '[', "bracketright": ']', "dollar": '$', "nbspace": ' ', "uni00A0": ' ',
	"bullet": '•', "degree": '°', "section": '§', "sterling": '£', "Euro": '€', "euro": '€',
	"adieresis": 'ä', "odieresis": 'ö', "udieresis": 'ü', "Adieresis": 'Ä', "Odieresis": 'Ö',
	"Udieresis": 'Ü', "germandbls": 'ß', "eacute": 'é', "egrave": 'è', "agrave": 'à', "ccedilla": 'ç',
	"fi": 'ﬁ', "fl": 'ﬂ', "ff": 'ﬀ', "ffi": 'ﬃ', "ffl": 'ﬄ', "less": '<', "greater": '>', "bar": '|', "backslash": '\\',
}

// glyphRune maps a glyph name to its character: the table above, a name
// of one letter, uniXXXX / uXXXX[XX], with suffixes (".sc", "_alt") cut.
func glyphRune(name string) rune {
	if i := strings.IndexAny(name, "._"); i > 0 {
		name = name[:i]
	}
	if r, ok := glyphNames[name]; ok {
		return r
	}
	if len(name) == 1 {
		return rune(name[0])
	}
	for _, p := range []string{"uni", "u"} {
		if h, ok := strings.CutPrefix(name, p); ok && len(h) >= 4 && len(h) <= 6 {
			if v, err := strconv.ParseUint(h[:4], 16, 32); err == nil && p == "uni" {
				return rune(v)
			}
			if v, err := strconv.ParseUint(h, 16, 32); err == nil {
				return rune(v)
			}
		}
	}
	return 0
}

// glyphs splits a shown string into its codes.
func (f *pdfFont) glyphs(s []byte, out []glyph) []glyph {
	out = out[:0]
	for i := 0; i < len(s); {
		n := 1
		switch {
		case f.twoByte:
			n = 2
		case len(f.ranges) > 0:
			n = f.codeLen(s[i:])
		}
		if i+n > len(s) {
			n = len(s) - i
		}
		var c uint32
		for _, b := range s[i : i+n] {
			c = c<<8 | uint32(b)
		}
		out = append(out, glyph{code: c, n: n, space: n == 1 && c == 32})
		i += n
	}
	return out
}

// codeLen: the shortest codespace range the bytes fall in (9.7.6.2).
func (f *pdfFont) codeLen(s []byte) int {
	for n := 1; n <= 4 && n <= len(s); n++ {
		var c uint32
		for _, b := range s[:n] {
			c = c<<8 | uint32(b)
		}
		for _, r := range f.ranges {
			if r.n == n && c >= r.lo && c <= r.hi {
				return n
			}
		}
	}
	if f.ranges[0].n > 0 {
		return f.ranges[0].n
	}
	return 1
}

// text appends the text of one code.
func (f *pdfFont) text(g glyph, out []byte) []byte {
	if f.utf8 == nil && f.toUni != nil {
		// Once per font: the map's runes as UTF-8, ready to append.
		f.utf8 = make(map[uint32][]byte, len(f.toUni))
		for c, rs := range f.toUni {
			var b []byte
			for _, r := range rs {
				b = appendRune(b, r)
			}
			f.utf8[c] = b
		}
	}
	if b, ok := f.utf8[g.code]; ok {
		return append(out, b...)
	}
	if f.enc != nil && g.code < 256 {
		if r := f.enc[g.code]; r != 0 {
			return appendRune(out, r)
		}
	}
	return out
}

// ligatures are U+FB00..U+FB06 as the letters they join: fonts draw "fi"
// as one glyph, and the word must still read as written.
var ligatures = [...]string{"ff", "fi", "fl", "ffi", "ffl", "st", "st"}

func appendRune(out []byte, r rune) []byte {
	switch {
	case r >= 0xFB00 && r <= 0xFB06:
		return append(out, ligatures[r-0xFB00]...)
	case r == 0xA0 || r == 0x2007 || r == 0x202F:
		r = ' ' // no-break spaces between number groups are spaces
	case r == 0x2010 || r == 0x2011 || r == 0x2012:
		r = '-'
	case r < 0x20 && r != '\n' && r != '\t':
		return out
	}
	return append(out, string(r)...)
}

// width of a code in text space units (before the font size).
func (f *pdfFont) width(g glyph) float64 {
	key := g.code
	if f.cidMap != nil {
		key = f.cidMap[g.code]
	}
	if w, ok := f.widths[key]; ok {
		return w * f.scale
	}
	return f.dw * f.scale
}

// parseCMap reads the bfchar and bfrange sections of a ToUnicode CMap and
// its codespace ranges.
func parseCMap(b []byte) (map[uint32][]rune, []codespace) {
	m := map[uint32][]rune{}
	var ranges []codespace
	lx := pdfLexer{b: b}
	var ops []any
	for n := 0; n < 1<<20; n++ {
		t := lx.next()
		if _, ok := t.(pdfEnd); ok {
			break
		}
		kw, ok := t.(pdfKeyword)
		if !ok {
			if dl, ok := t.(pdfDelim); ok && dl == '[' {
				ops = append(ops, lx.objectFrom(t, 0)) // a bfrange's array of destinations
				continue
			}
			ops = append(ops, t)
			continue
		}
		switch kw {
		case "begincodespacerange", "beginbfchar", "beginbfrange":
			ops = ops[:0]
		case "endcodespacerange":
			for i := 0; i+1 < len(ops); i += 2 {
				lo, ok1 := ops[i].(pdfString)
				hi, ok2 := ops[i+1].(pdfString)
				if ok1 && ok2 && len(lo) > 0 && len(lo) <= 4 {
					ranges = append(ranges, codespace{len(lo), beUint(lo), beUint(hi)})
				}
			}
			ops = ops[:0]
		case "endbfchar":
			for i := 0; i+1 < len(ops); i += 2 {
				src, ok := ops[i].(pdfString)
				if !ok || len(src) > 4 {
					continue
				}
				switch dst := ops[i+1].(type) {
				case pdfString:
					m[beUint(src)] = utf16Runes(dst)
				case pdfName:
					if r := glyphRune(string(dst)); r != 0 {
						m[beUint(src)] = []rune{r}
					}
				}
			}
			ops = ops[:0]
		case "endbfrange":
			for i := 0; i+2 < len(ops); i += 3 {
				lo, ok1 := ops[i].(pdfString)
				hi, ok2 := ops[i+1].(pdfString)
				if !ok1 || !ok2 || len(lo) > 4 {
					continue
				}
				a, z := beUint(lo), beUint(hi)
				if z < a || z-a > 1<<16 {
					continue
				}
				switch dst := ops[i+2].(type) {
				case pdfString:
					rs := utf16Runes(dst)
					if len(rs) == 0 {
						continue
					}
					for c := a; c <= z; c++ {
						r := append([]rune{}, rs...)
						r[len(r)-1] += rune(c - a)
						m[c] = r
					}
				case pdfArray:
					for k, x := range dst {
						if s, ok := x.(pdfString); ok && a+uint32(k) <= z {
							m[a+uint32(k)] = utf16Runes(s)
						}
					}
				}
			}
			ops = ops[:0]
		default:
			ops = ops[:0]
		}
	}
	return m, ranges
}

// parseCIDMap reads an embedded encoding CMap: its codespace ranges (when
// the ToUnicode CMap named none) and its code → CID mappings.
func parseCIDMap(b []byte, have []codespace) (map[uint32]uint32, []codespace) {
	m := map[uint32]uint32{}
	_, ranges := parseCMap(b)
	if len(have) > 0 {
		ranges = have
	}
	lx := pdfLexer{b: b}
	var ops []any
	for n := 0; n < 1<<20; n++ {
		t := lx.next()
		if _, ok := t.(pdfEnd); ok {
			break
		}
		kw, ok := t.(pdfKeyword)
		if !ok {
			ops = append(ops, t)
			continue
		}
		switch kw {
		case "endcidchar":
			for i := 0; i+1 < len(ops); i += 2 {
				src, ok1 := ops[i].(pdfString)
				cid, ok2 := ops[i+1].(int)
				if ok1 && ok2 && len(src) <= 4 {
					m[beUint(src)] = uint32(cid)
				}
			}
		case "endcidrange":
			for i := 0; i+2 < len(ops); i += 3 {
				lo, ok1 := ops[i].(pdfString)
				hi, ok2 := ops[i+1].(pdfString)
				cid, ok3 := ops[i+2].(int)
				if !ok1 || !ok2 || !ok3 || len(lo) > 4 {
					continue
				}
				a, z := beUint(lo), beUint(hi)
				for c := a; c <= z && c-a < 1<<16; c++ {
					m[c] = uint32(cid) + c - a
				}
			}
		}
		ops = ops[:0]
	}
	return m, ranges
}

func beUint(b []byte) uint32 {
	var v uint32
	for _, c := range b[:min(len(b), 4)] {
		v = v<<8 | uint32(c)
	}
	return v
}

// utf16Runes decodes a ToUnicode destination (UTF-16BE).
func utf16Runes(b []byte) []rune {
	u := make([]uint16, len(b)/2)
	for i := range u {
		u[i] = uint16(b[2*i])<<8 | uint16(b[2*i+1])
	}
	if len(b)%2 == 1 { // a one-byte destination: take it as a character
		return []rune{rune(b[len(b)-1])}
	}
	return utf16.Decode(u)
}
