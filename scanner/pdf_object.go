package scanner

// The PDF object model, as far as text extraction needs it: cross-reference
// tables and streams (following /Prev through incremental updates, newest
// first), indirect objects and object streams. The object syntax is read by
// pdf_lexer.go and the stream filters text is stored with are undone by
// pdf_filters.go. A file whose cross-reference data is broken is indexed
// again by searching it for "N G obj", as viewers do (pdf_reindex.go).
//
// Nothing here trusts the file: every offset is checked, recursion is
// bounded, and decoded bytes are charged to the extractor's budgets.

import (
	"bytes"
	"errors"
	"fmt"
)

type (
	pdfName   string
	pdfString []byte
	pdfArray  []any
	pdfDict   map[pdfName]any
	pdfRef    struct{ num, gen int }
	pdfStream struct {
		dict pdfDict
		raw  []byte // as stored (still encrypted and encoded)
		ref  pdfRef // the object it belongs to, for decryption
	}
)

// pdfDoc is an opened PDF.
type pdfDoc struct {
	e       *extractor
	src     string
	b       []byte
	xref    map[int]xrefEntry
	trailer pdfDict
	cache   map[int]any
	objstm  map[int]*objStream
	crypt   *pdfCrypt
	busy    map[int]bool // objects being resolved (cycles)
	loads   int          // objects parsed, bounded
	// heads: every "N G obj" in the file, in file order (objHeads), found
	// when re-indexing or when a stream's end must be searched for.
	heads      []objHead
	headsKnown bool
	stmEntries int  // object stream entries read, bounded by maxPDFObjects
	stmLimited bool // that limit recorded
}

type xrefEntry struct {
	kind byte // 1: at offset; 2: in object stream
	off  int  // offset, or the object stream's number
	idx  int  // index within the object stream
	gen  int
}

type objStream struct {
	offs  map[int]int // object number → offset in data
	order []int       // the object numbers, as the header lists them
	data  []byte
	first int
}

var (
	errPDFEncrypted = errors.New("encrypted PDF that needs a password")
	errPDFBroken    = errors.New("no readable document structure")
)

// maxPDFObjects bounds the objects parsed for one document, and the
// entries read from its object streams.
const maxPDFObjects = 1 << 20

func openPDF(e *extractor, src string, b []byte) (*pdfDoc, error) {
	d := &pdfDoc{e: e, src: src, b: b, xref: map[int]xrefEntry{}, cache: map[int]any{}, objstm: map[int]*objStream{}, busy: map[int]bool{}}
	if err := d.readXref(); err == nil {
		// The key first: an encrypted file's catalogue may be in an object
		// stream, which cannot be read without it.
		cerr := d.setupCrypt()
		if d.root() != nil {
			return d, cerr
		}
	}
	d.xref, d.trailer, d.crypt = map[int]xrefEntry{}, nil, nil
	d.resetCaches()
	return d, d.reindex()
}

// setupCrypt sets up decryption when the trailer names /Encrypt; objects
// and object streams read before the key was known are read again.
func (d *pdfDoc) setupCrypt() error {
	enc, ok := d.trailer["Encrypt"]
	if !ok || enc == nil {
		return nil
	}
	c, err := d.newCrypt(d.resolveDict(enc))
	if err != nil {
		return err
	}
	d.crypt = c
	d.resetCaches()
	return nil
}

func (d *pdfDoc) resetCaches() {
	d.cache, d.objstm, d.stmEntries = map[int]any{}, map[int]*objStream{}, 0
}

func (d *pdfDoc) root() pdfDict { return d.resolveDict(d.trailer["Root"]) }

// readXref follows the chain of cross-reference sections from startxref.
func (d *pdfDoc) readXref() error {
	tail := d.b[max(0, len(d.b)-2048):]
	k := bytes.LastIndex(tail, []byte("startxref"))
	if k < 0 {
		return errPDFBroken
	}
	lx := pdfLexer{b: tail, i: k + len("startxref")}
	off, ok := lx.next().(int)
	if !ok {
		return errPDFBroken
	}
	seen := map[int]bool{}
	for n := 0; off >= 0 && off < len(d.b) && !seen[off] && n < 1000; n++ {
		seen[off] = true
		trailer, err := d.xrefSection(off)
		if err != nil {
			return err
		}
		if d.trailer == nil {
			d.trailer = trailer
		}
		// A hybrid file's cross-reference stream completes the table.
		if x, ok := trailer["XRefStm"].(int); ok && !seen[x] {
			seen[x] = true
			if _, err := d.xrefSection(x); err != nil {
				return err
			}
		}
		prev, ok := trailer["Prev"].(int)
		if !ok {
			break
		}
		off = prev
	}
	if d.trailer == nil {
		return errPDFBroken
	}
	return nil
}

// xrefSection reads one table or stream at off; entries already known
// (from a newer section) are kept.
func (d *pdfDoc) xrefSection(off int) (pdfDict, error) {
	lx := pdfLexer{b: d.b, i: off}
	lx.space()
	if bytes.HasPrefix(d.b[lx.i:], []byte("xref")) {
		lx.i += 4
		for {
			t := lx.next()
			if kw, ok := t.(pdfKeyword); ok && kw == "trailer" {
				dict, _ := lx.object(0).(pdfDict)
				if dict == nil {
					return nil, errPDFBroken
				}
				return dict, nil
			}
			start, ok1 := t.(int)
			count, ok2 := lx.next().(int)
			if !ok1 || !ok2 || start < 0 || count < 0 || count > 1<<24 {
				return nil, errPDFBroken
			}
			for i := 0; i < count; i++ {
				o, ok1 := lx.next().(int)
				g, ok2 := lx.next().(int)
				kw, ok3 := lx.next().(pdfKeyword)
				if !ok1 || !ok2 || !ok3 {
					return nil, errPDFBroken
				}
				num := start + i
				if _, known := d.xref[num]; known {
					continue
				}
				if kw == "n" {
					d.xref[num] = xrefEntry{kind: 1, off: o, gen: g}
				} else {
					d.xref[num] = xrefEntry{} // free: newer than older sections' entry
				}
			}
		}
	}
	// A cross-reference stream: "N G obj << /Type /XRef … >> stream".
	obj, _, err := d.parseAt(off, nil)
	if err != nil {
		return nil, err
	}
	s, ok := obj.(*pdfStream)
	if !ok || s.dict["Type"] != pdfName("XRef") {
		return nil, errPDFBroken
	}
	data, err := d.decode(s, false)
	if err != nil {
		return nil, err
	}
	w, _ := s.dict["W"].(pdfArray)
	if len(w) != 3 {
		return nil, errPDFBroken
	}
	var ws [3]int
	for i := range ws {
		ws[i], _ = w[i].(int)
		if ws[i] < 0 || ws[i] > 8 {
			return nil, errPDFBroken
		}
	}
	index := pdfArray{0, s.dict["Size"]}
	if ix, ok := s.dict["Index"].(pdfArray); ok {
		index = ix
	}
	row := ws[0] + ws[1] + ws[2]
	if row == 0 {
		return nil, errPDFBroken
	}
	field := func(p []byte) int {
		v := 0
		for _, c := range p {
			v = v<<8 | int(c)
		}
		return v
	}
	pos := 0
	for i := 0; i+1 < len(index); i += 2 {
		start, _ := index[i].(int)
		count, _ := index[i+1].(int)
		for j := 0; j < count && pos+row <= len(data); j++ {
			r := data[pos : pos+row]
			pos += row
			typ := 1
			if ws[0] > 0 {
				typ = field(r[:ws[0]])
			}
			a, b := field(r[ws[0]:ws[0]+ws[1]]), field(r[ws[0]+ws[1]:])
			num := start + j
			if _, known := d.xref[num]; known {
				continue
			}
			switch typ {
			case 1:
				d.xref[num] = xrefEntry{kind: 1, off: a, gen: b}
			case 2:
				d.xref[num] = xrefEntry{kind: 2, off: a, idx: b}
			default:
				d.xref[num] = xrefEntry{}
			}
		}
	}
	return s.dict, nil
}

// parseAt parses "N G obj <object> [stream … endstream]" at off.
func (d *pdfDoc) parseAt(off int, want *pdfRef) (any, pdfRef, error) {
	if off < 0 || off >= len(d.b) {
		return nil, pdfRef{}, errPDFBroken
	}
	lx := pdfLexer{b: d.b, i: off}
	num, ok1 := lx.next().(int)
	gen, ok2 := lx.next().(int)
	kw, ok3 := lx.next().(pdfKeyword)
	if !ok1 || !ok2 || !ok3 || kw != "obj" {
		return nil, pdfRef{}, errPDFBroken
	}
	ref := pdfRef{num, gen}
	if want != nil && want.num != num {
		return nil, ref, errPDFBroken
	}
	obj := lx.object(0)
	dict, ok := obj.(pdfDict)
	if !ok {
		return obj, ref, nil
	}
	save := lx.i
	if kw, ok := lx.next().(pdfKeyword); !ok || kw != "stream" {
		lx.i = save
		return obj, ref, nil
	}
	start := lx.i
	switch {
	case bytes.HasPrefix(d.b[start:], []byte("\r\n")):
		start += 2
	case start < len(d.b) && (d.b[start] == '\n' || d.b[start] == '\r'):
		start++
	}
	// /Length may be an indirect object; a wrong one (damaged or
	// hand-edited files) falls back to the endstream keyword.
	end := -1
	if n, ok := d.resolveShallow(dict["Length"]).(int); ok && n >= 0 && start+n <= len(d.b) {
		rest := d.b[start+n : min(len(d.b), start+n+32)]
		if bytes.Contains(rest, []byte("endstream")) {
			end = start + n
		}
	}
	if end < 0 {
		// Searched for no further than the next object: a file of many
		// streams without endstream would be searched to its end for each
		// (quadratic), and each stream would span the rest of the file.
		limit := d.nextHead(start)
		k := bytes.Index(d.b[start:limit], []byte("endstream"))
		if k < 0 {
			end = limit
		} else {
			end = start + k
			for end > start && (d.b[end-1] == '\n' || d.b[end-1] == '\r') {
				end--
			}
		}
	}
	return &pdfStream{dict: dict, raw: d.b[start:end], ref: ref}, ref, nil
}

// resolveShallow resolves a reference without decrypting (for /Length,
// which is a plain integer).
func (d *pdfDoc) resolveShallow(v any) any {
	r, ok := v.(pdfRef)
	if !ok {
		return v
	}
	x, ok := d.xref[r.num]
	if !ok || x.kind != 1 || d.busy[r.num] {
		return nil
	}
	d.busy[r.num] = true
	defer delete(d.busy, r.num)
	obj, _, _ := d.parseAt(x.off, &r)
	return obj
}

// resolve returns the object a reference points to (or v itself).
func (d *pdfDoc) resolve(v any) any {
	r, ok := v.(pdfRef)
	if !ok {
		return v
	}
	if obj, ok := d.cache[r.num]; ok {
		return obj
	}
	x, ok := d.xref[r.num]
	if !ok || x.kind == 0 || d.busy[r.num] {
		return nil
	}
	if d.loads++; d.loads > maxPDFObjects {
		return nil
	}
	d.busy[r.num] = true
	defer delete(d.busy, r.num)
	var obj any
	if x.kind == 1 {
		o, ref, err := d.parseAt(x.off, &r)
		if err != nil {
			return nil
		}
		obj = d.decrypt(o, ref)
	} else {
		os := d.objStream(x.off)
		if os == nil {
			return nil
		}
		off, ok := os.offs[r.num]
		if !ok {
			return nil
		}
		lx := pdfLexer{b: os.data, i: os.first + off}
		obj = lx.object(0)
	}
	d.cache[r.num] = obj
	return obj
}

func (d *pdfDoc) resolveDict(v any) pdfDict {
	dict, _ := d.resolve(v).(pdfDict)
	if dict == nil {
		if s, ok := d.resolve(v).(*pdfStream); ok {
			return s.dict
		}
	}
	return dict
}

func (d *pdfDoc) resolveArray(v any) pdfArray {
	a, _ := d.resolve(v).(pdfArray)
	return a
}

func (d *pdfDoc) resolveInt(v any) (int, bool) {
	switch n := d.resolve(v).(type) {
	case int:
		return n, true
	case float64:
		return int(n), true
	}
	return 0, false
}

func (d *pdfDoc) resolveNum(v any) (float64, bool) {
	switch n := d.resolve(v).(type) {
	case int:
		return float64(n), true
	case float64:
		return n, true
	}
	return 0, false
}

// objStream loads object stream num (cached).
func (d *pdfDoc) objStream(num int) *objStream {
	if os, ok := d.objstm[num]; ok {
		return os
	}
	d.objstm[num] = nil // a stream that refers to itself finds nil
	x, ok := d.xref[num]
	if !ok || x.kind != 1 {
		return nil
	}
	o, ref, err := d.parseAt(x.off, &pdfRef{num: num})
	if err != nil {
		return nil
	}
	s, ok := d.decrypt(o, ref).(*pdfStream)
	if !ok {
		return nil
	}
	data, err := d.decode(s, false)
	if err != nil {
		return nil
	}
	n, _ := d.resolveInt(s.dict["N"])
	first, _ := d.resolveInt(s.dict["First"])
	if first < 0 || first > len(data) || n < 0 {
		return nil
	}
	os := &objStream{offs: map[int]int{}, data: data, first: first}
	lx := pdfLexer{b: data[:first]}
	for i := 0; i < n; i++ {
		on, ok1 := lx.next().(int)
		off, ok2 := lx.next().(int)
		if !ok1 || !ok2 || off < 0 || first+off > len(data) {
			break
		}
		// A header of millions of tiny entries inflates from a small file.
		if d.stmEntries >= maxPDFObjects {
			if !d.stmLimited {
				d.stmLimited = true
				d.e.limit(d.src, fmt.Sprintf("more than %d objects in object streams", maxPDFObjects))
			}
			break
		}
		if d.stmEntries++; d.stmEntries&0xFFFF == 0 && !d.e.alive(d.src) {
			break
		}
		if _, dup := os.offs[on]; !dup {
			os.order = append(os.order, on)
		}
		os.offs[on] = off
	}
	d.objstm[num] = os
	return os
}
