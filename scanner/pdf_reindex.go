package scanner

// Re-indexing: a PDF whose cross-reference data is broken (or names no
// readable catalogue) is read by searching it for "N G obj", as viewers do.
// The definition later in the file wins, whether it stands directly or in
// an object stream, as in an incremental update. The work is linear in the
// file and stops at the deadline.

import (
	"bytes"
	"maps"
	"slices"
	"strconv"
)

// reindex finds every "N G obj" in the file and takes the trailer from the
// last trailer dictionary or cross-reference stream that names a /Root.
// An encrypted file is indexed again once its key is known, for the
// objects in its object streams. It stops at the deadline (errDeadline).
func (d *pdfDoc) reindex() error {
	d.heads, d.headsKnown = objHeads(d.b), true
	t, err := d.indexHeads()
	if err != nil {
		return err
	}
	d.trailer = t
	if k := bytes.LastIndex(d.b, []byte("trailer")); k >= 0 {
		lx := pdfLexer{b: d.b, i: k + len("trailer")}
		if t, ok := lx.object(0).(pdfDict); ok && t["Root"] != nil {
			d.trailer = t
		}
	}
	if d.trailer == nil {
		d.trailer = pdfDict{}
	}
	if enc, ok := d.trailer["Encrypt"]; ok && enc != nil {
		if err := d.setupCrypt(); err != nil {
			return err
		}
		d.xref = map[int]xrefEntry{}
		if _, err := d.indexHeads(); err != nil {
			return err
		}
	}
	if d.root() == nil {
		// No trailer names the catalogue: take the lowest-numbered object
		// that is one.
		for _, num := range slices.Sorted(maps.Keys(d.xref)) {
			if !d.e.alive(d.src) {
				return errDeadline
			}
			if c, ok := d.resolve(pdfRef{num: num}).(pdfDict); ok && c["Type"] == pdfName("Catalog") {
				d.trailer["Root"] = pdfRef{num: num}
				break
			}
		}
	}
	return nil
}

// objHead is where "N G obj" stands in a file.
type objHead struct{ num, gen, off int }

// objHeads finds every "N G obj" in b, in file order.
func objHeads(b []byte) []objHead {
	var heads []objHead
	for pos := 0; ; {
		k := bytes.Index(b[pos:], []byte("obj"))
		if k < 0 {
			return heads
		}
		at := pos + k
		pos = at + 3
		// Walk back over "N G " ("endobj" has neither).
		j := at - 1
		for j >= 0 && isPDFSpace(b[j]) {
			j--
		}
		ge := j + 1
		for j >= 0 && isDigit(b[j]) {
			j--
		}
		gs := j + 1
		for j >= 0 && isPDFSpace(b[j]) {
			j--
		}
		ne := j + 1
		for j >= 0 && isDigit(b[j]) {
			j--
		}
		ns := j + 1
		if gs == ge || ns == ne || ne == gs {
			continue
		}
		num, err1 := strconv.Atoi(string(b[ns:ne]))
		gen, err2 := strconv.Atoi(string(b[gs:ge]))
		if err1 != nil || err2 != nil {
			continue
		}
		heads = append(heads, objHead{num, gen, ns})
	}
}

// indexHeads indexes the objects found by objHeads in file order, so the
// definition later in the file wins, whether it stands directly or inside
// an object stream (its objects count as where the stream stands). It
// returns the dictionary of the last cross-reference stream that names a
// /Root.
func (d *pdfDoc) indexHeads() (trailer pdfDict, err error) {
	for i, h := range d.heads {
		if i&0xFF == 0 && !d.e.alive(d.src) {
			return trailer, errDeadline
		}
		d.xref[h.num] = xrefEntry{kind: 1, off: h.off, gen: h.gen}
		obj, _, err := d.parseAt(h.off, nil)
		if err != nil {
			continue
		}
		s, ok := obj.(*pdfStream)
		if !ok {
			continue
		}
		switch s.dict["Type"] {
		case pdfName("ObjStm"):
			delete(d.objstm, h.num) // an earlier stream of the same number
			if os := d.objStream(h.num); os != nil {
				for _, n := range os.order {
					d.xref[n] = xrefEntry{kind: 2, off: h.num, idx: os.offs[n]}
				}
			}
		case pdfName("XRef"):
			if s.dict["Root"] != nil {
				trailer = s.dict
			}
		}
	}
	return trailer, nil
}

// nextHead returns where the first "N G obj" after off stands, or the end
// of the file.
func (d *pdfDoc) nextHead(off int) int {
	if !d.headsKnown {
		d.heads, d.headsKnown = objHeads(d.b), true
	}
	i, _ := slices.BinarySearchFunc(d.heads, off+1, func(h objHead, off int) int { return h.off - off })
	if i < len(d.heads) {
		return d.heads[i].off
	}
	return len(d.b)
}
