package scanner

// Excel 97–2003 workbooks: the cells of a BIFF8 Workbook stream (shared
// strings across their CONTINUE records, labels, numbers and formula
// results). Apart from extract_office.go, which opens the compound file and
// hands the stream over: this is one record format, read from bytes alone.

import (
	"encoding/binary"
	"fmt"
	"math"
	"strconv"
)

// biffText reads the cells of an Excel 97–2003 workbook stream: strings
// (shared, inline and formula results) and numbers with all their digits,
// a tab between cells and a newline between rows.
func biffText(b []byte) ([]byte, error) {
	var out []byte
	var sst [][]byte
	lastRow := -1
	formulaRow := -1 // the last FORMULA's: a STRING record holds its text
	cell := func(row int, v []byte) {
		if lastRow >= 0 && row != lastRow {
			out = append(out, '\n')
		} else if lastRow >= 0 {
			out = append(out, '\t')
		}
		lastRow = row
		out = append(out, v...)
	}
	num := func(f float64) []byte {
		if math.IsNaN(f) || math.IsInf(f, 0) {
			return nil
		}
		return strconv.AppendFloat(nil, f, 'f', -1, 64)
	}
	for i := 0; i+4 <= len(b); {
		typ := binary.LittleEndian.Uint16(b[i:])
		n := int(binary.LittleEndian.Uint16(b[i+2:]))
		i += 4
		if i+n > len(b) {
			break
		}
		rec := b[i : i+n]
		i += n
		switch typ {
		case 0x002F: // FILEPASS
			return nil, fmt.Errorf("encrypted XLS (password required)")
		case 0x0809: // BOF: a new sheet
			if lastRow >= 0 {
				out = append(out, '\n')
			}
			lastRow = -1
		case 0x00FC: // SST, with its CONTINUE records
			segs := [][]byte{rec}
			for i+4 <= len(b) && binary.LittleEndian.Uint16(b[i:]) == 0x003C {
				m := int(binary.LittleEndian.Uint16(b[i+2:]))
				if i+4+m > len(b) {
					break
				}
				segs = append(segs, b[i+4:i+4+m])
				i += 4 + m
			}
			sst = readSST(segs)
		case 0x00FD: // LABELSST
			if len(rec) >= 10 {
				if k := int(binary.LittleEndian.Uint32(rec[6:])); k < len(sst) {
					cell(int(binary.LittleEndian.Uint16(rec)), sst[k])
				}
			}
		case 0x0204, 0x0207: // LABEL, STRING (a formula's text)
			row := formulaRow
			data := rec
			if typ == 0x0204 {
				if len(rec) < 6 {
					continue
				}
				row, data = int(binary.LittleEndian.Uint16(rec)), rec[6:]
			}
			r := &biffReader{segs: [][]byte{data}}
			cell(max(row, 0), r.xlString(false))
		case 0x0203: // NUMBER
			if len(rec) >= 14 {
				cell(int(binary.LittleEndian.Uint16(rec)), num(math.Float64frombits(binary.LittleEndian.Uint64(rec[6:]))))
			}
		case 0x027E: // RK
			if len(rec) >= 10 {
				cell(int(binary.LittleEndian.Uint16(rec)), num(rkValue(binary.LittleEndian.Uint32(rec[6:]))))
			}
		case 0x00BD: // MULRK
			if len(rec) >= 6 {
				row := int(binary.LittleEndian.Uint16(rec))
				for k := 4; k+6 <= len(rec)-2; k += 6 {
					cell(row, num(rkValue(binary.LittleEndian.Uint32(rec[k+2:]))))
				}
			}
		case 0x0006: // FORMULA: a cached number, or 0xFFFF and a STRING record next
			if len(rec) >= 14 {
				formulaRow = int(binary.LittleEndian.Uint16(rec))
				if !(rec[12] == 0xFF && rec[13] == 0xFF) {
					cell(formulaRow, num(math.Float64frombits(binary.LittleEndian.Uint64(rec[6:]))))
				}
			}
		}
	}
	return append(out, '\n'), nil
}

func rkValue(rk uint32) float64 {
	var f float64
	if rk&2 != 0 {
		f = float64(int32(rk) >> 2)
	} else {
		f = math.Float64frombits(uint64(rk&^3) << 32)
	}
	if rk&1 != 0 {
		f /= 100
	}
	return f
}

// biffReader reads across an SST record and its CONTINUE records; a
// string's characters that cross into a CONTINUE record start there with
// a new flags byte (compressed or UTF-16).
type biffReader struct {
	segs [][]byte
	s, i int
}

func (r *biffReader) next() bool {
	for r.s < len(r.segs) && r.i >= len(r.segs[r.s]) {
		r.s++
		r.i = 0
	}
	return r.s < len(r.segs)
}

func (r *biffReader) bytes(n int) []byte {
	var out []byte
	for n > 0 && r.next() {
		seg := r.segs[r.s]
		k := min(n, len(seg)-r.i)
		out = append(out, seg[r.i:r.i+k]...)
		r.i += k
		n -= k
	}
	return out
}

func (r *biffReader) u16() int {
	b := r.bytes(2)
	if len(b) < 2 {
		return 0
	}
	return int(binary.LittleEndian.Uint16(b))
}

// xlString reads an XLUnicodeString (rich: XLUnicodeRichExtendedString).
func (r *biffReader) xlString(rich bool) []byte {
	cch := r.u16()
	fl := r.bytes(1)
	if len(fl) == 0 {
		return nil
	}
	flags := fl[0]
	runs, ext := 0, 0
	if rich && flags&0x08 != 0 {
		runs = r.u16()
	}
	if rich && flags&0x04 != 0 {
		if b := r.bytes(4); len(b) == 4 {
			ext = int(int32(binary.LittleEndian.Uint32(b)))
		}
	}
	high := flags&0x01 != 0
	var out []byte
	in := r.s // the record the characters started in
	for cch > 0 {
		if r.s < len(r.segs) && r.i >= len(r.segs[r.s]) {
			r.s++
			r.i = 0
		}
		if r.s >= len(r.segs) {
			break
		}
		seg := r.segs[r.s]
		if r.s != in {
			// Continued in the next record: a new flags byte first.
			high = seg[0]&0x01 != 0
			r.i = 1
			in = r.s
		}
		w := 1
		if high {
			w = 2
		}
		k := min(cch, (len(seg)-r.i)/w)
		if k == 0 {
			r.i = len(seg)
			continue
		}
		if high {
			out = append(out, utf16LE(seg[r.i:r.i+2*k])...)
		} else {
			out = append(out, cp1252(seg[r.i:r.i+k])...)
		}
		r.i += k * w
		cch -= k
	}
	r.bytes(4*runs + max(ext, 0))
	return out
}

// readSST reads the shared strings.
func readSST(segs [][]byte) [][]byte {
	r := &biffReader{segs: segs}
	r.bytes(4) // cstTotal
	hdr := r.bytes(4)
	if len(hdr) < 4 {
		return nil
	}
	n := int(binary.LittleEndian.Uint32(hdr))
	out := make([][]byte, 0, min(n, 1<<16))
	for i := 0; i < n && r.next(); i++ {
		out = append(out, r.xlString(true))
	}
	return out
}
