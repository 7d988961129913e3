package scanner

// Legacy Office files and Outlook messages: OLE2 compound files (a small
// file system in one file), opened with github.com/richardlehane/mscfb.
// Word 97–2003 (.doc) text comes from the piece table, Excel 97–2003 (.xls)
// from the BIFF8 records (shared strings, labels, numbers), PowerPoint
// 97–2003 (.ppt) from its text atoms, and an Outlook .msg from its MAPI
// property streams (subject, body, and each attachment read as what it is).
// A password-protected file — legacy, or an OOXML package wrapped in a
// compound file — is unreadable.

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"math"
	"path"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"unicode/utf16"

	"github.com/richardlehane/mscfb"
)

var oleMagic = []byte("\xD0\xCF\x11\xE0\xA1\xB1\x1A\xE1")

// maxOLEStreams bounds the directory entries looked at.
const maxOLEStreams = 10000

func (e *extractor) ole(prefix, p string, data []byte, zips int) {
	src := prefix + " " + p
	r, err := mscfb.New(bytes.NewReader(data))
	if err != nil {
		e.unreadable(src, "corrupt OLE compound file: "+err.Error())
		return
	}
	streams := map[string]*mscfb.File{}
	for i, f := range r.File {
		if i >= maxOLEStreams {
			e.limit(src, fmt.Sprintf("more than %d entries", maxOLEStreams))
			break
		}
		streams[strings.Join(append(slices.Clone(f.Path), f.Name), "/")] = f
	}
	e.oleDoc(src, streams, zips)
}

// oleDoc reads the document a compound file's streams hold, named by
// their paths: the whole file's, or an object embedded in an Outlook
// message (the streams under its storage, the prefix taken off).
func (e *extractor) oleDoc(src string, streams map[string]*mscfb.File, zips int) {
	read := func(name string) ([]byte, bool) {
		f := streams[name]
		if f == nil {
			return nil, false
		}
		b, over, err := e.read(f, e.lim.MaxEntry, true)
		switch {
		case err == errDeadline:
			e.alive(src)
			return nil, false
		case over:
			e.limit(src, fmt.Sprintf("stream %s larger than %d bytes", name, e.lim.MaxEntry))
			return nil, false
		case err != nil:
			e.unreadable(src, "corrupt OLE stream: "+err.Error())
			return nil, false
		}
		return b, true
	}
	switch {
	case streams["EncryptionInfo"] != nil || streams["EncryptedPackage"] != nil:
		e.unreadable(src, "encrypted Office document (password required)")
	case streams["WordDocument"] != nil:
		e.word(src, read)
	case streams["Workbook"] != nil || streams["Book"] != nil:
		name := "Workbook"
		if streams[name] == nil {
			name = "Book"
		}
		if b, ok := read(name); ok {
			text, err := biffText(b)
			if err != nil {
				e.unreadable(src, err.Error())
				return
			}
			e.add(src, text)
		}
	case streams["PowerPoint Document"] != nil:
		if b, ok := read("PowerPoint Document"); ok {
			e.add(src, pptText(b))
		}
	case hasMAPI(streams):
		e.msg(src, streams, read, zips)
	default:
		e.unreadable(src, "unsupported OLE document")
	}
}

// word reads a Word 97–2003 document: the FIB names the table stream and
// the piece table, whose pieces hold the text (body, headers, footers,
// notes) as cp1252 bytes or UTF-16.
func (e *extractor) word(src string, read func(string) ([]byte, bool)) {
	wd, ok := read("WordDocument")
	if !ok {
		return
	}
	if len(wd) < 0x200 || binary.LittleEndian.Uint16(wd) != 0xA5EC {
		e.unreadable(src, "corrupt DOC: no Word 97 header")
		return
	}
	flags := binary.LittleEndian.Uint16(wd[0x0A:])
	if flags&0x0100 != 0 {
		e.unreadable(src, "encrypted DOC (password required)")
		return
	}
	table := "0Table"
	if flags&0x0200 != 0 {
		table = "1Table"
	}
	// FibRgFcLcb follows two variable arrays; fcClx is its 34th pair.
	pos := 32
	csw := int(binary.LittleEndian.Uint16(wd[pos:]))
	pos += 2 + 2*csw
	if pos+2 > len(wd) {
		e.unreadable(src, "corrupt DOC: short FIB")
		return
	}
	cslw := int(binary.LittleEndian.Uint16(wd[pos:]))
	pos += 2 + 4*cslw + 2
	at := pos + 33*8
	if at+8 > len(wd) {
		e.unreadable(src, "corrupt DOC: short FIB")
		return
	}
	fcClx := int(binary.LittleEndian.Uint32(wd[at:]))
	lcbClx := int(binary.LittleEndian.Uint32(wd[at+4:]))
	tb, ok := read(table)
	if !ok {
		e.unreadable(src, "corrupt DOC: no table stream")
		return
	}
	if fcClx < 0 || lcbClx < 0 || fcClx+lcbClx > len(tb) {
		e.unreadable(src, "corrupt DOC: piece table out of range")
		return
	}
	clx := tb[fcClx : fcClx+lcbClx]
	// Skip the Prc entries (formatting) to the Pcdt.
	for len(clx) > 0 && clx[0] == 0x01 {
		if len(clx) < 3 {
			break
		}
		n := int(int16(binary.LittleEndian.Uint16(clx[1:])))
		if n < 0 || 3+n > len(clx) {
			clx = nil
			break
		}
		clx = clx[3+n:]
	}
	if len(clx) < 5 || clx[0] != 0x02 {
		e.unreadable(src, "corrupt DOC: no piece table")
		return
	}
	plc := clx[5:min(len(clx), 5+int(binary.LittleEndian.Uint32(clx[1:])))]
	n := (len(plc) - 4) / 12 // n+1 CPs of 4 bytes, n PCDs of 8
	if n <= 0 {
		e.unreadable(src, "corrupt DOC: empty piece table")
		return
	}
	var out []byte
	for i := 0; i < n; i++ {
		if int64(len(out)) >= e.lim.MaxEntry {
			// UTF-16 pieces grow in UTF-8 (CJK: 2 bytes become 3), so a
			// stream within MaxEntry can still hold more text than that.
			e.limit(src, fmt.Sprintf("text larger than %d bytes; the rest was not read", e.lim.MaxEntry))
			break
		}
		cp0 := int(binary.LittleEndian.Uint32(plc[4*i:]))
		cp1 := int(binary.LittleEndian.Uint32(plc[4*i+4:]))
		pcd := plc[4*(n+1)+8*i:]
		fc := binary.LittleEndian.Uint32(pcd[2:])
		count := cp1 - cp0
		if count <= 0 || count > len(wd) {
			continue
		}
		if fc&0x40000000 != 0 {
			off := int(fc&^0x40000000) / 2
			if off+count > len(wd) {
				continue
			}
			for _, c := range wd[off : off+count] {
				out = wordChar(out, winAnsi[c])
			}
		} else {
			off := int(fc)
			if off+2*count > len(wd) {
				continue
			}
			u := make([]uint16, count)
			for k := range u {
				u[k] = binary.LittleEndian.Uint16(wd[off+2*k:])
			}
			for _, r := range utf16.Decode(u) {
				out = wordChar(out, r)
			}
		}
	}
	e.add(src, out)
}

// wordChar appends one character of Word's text stream, turning its
// control characters into layout.
func wordChar(out []byte, r rune) []byte {
	switch r {
	case 0x0D, 0x0B, 0x0C:
		return append(out, '\n')
	case 0x07:
		return append(out, '\t') // end of a table cell
	case 0x1E:
		return append(out, '-') // non-breaking hyphen
	case 0x1F, 0x01, 0x08, 0x13, 0x14, 0x15:
		return out // optional hyphen, objects, field marks
	}
	return appendRune(out, r)
}

// pptText collects the text atoms of a PowerPoint 97–2003 document stream:
// containers are entered, atoms other than text skipped.
func pptText(b []byte) []byte {
	var out []byte
	for i := 0; i+8 <= len(b); {
		verInst := binary.LittleEndian.Uint16(b[i:])
		typ := binary.LittleEndian.Uint16(b[i+2:])
		n := int(binary.LittleEndian.Uint32(b[i+4:]))
		i += 8
		if verInst&0xF == 0xF {
			continue // a container: its records follow
		}
		if n < 0 || i+n > len(b) {
			break
		}
		// A paragraph ends in CR, a line in VT: both are newlines, turned
		// so before appendRune drops control characters.
		switch typ {
		case 0x0FA0, 0x0FBA: // TextCharsAtom, CString: UTF-16
			u := slices.Clone(b[i : i+n])
			for k := 0; k+1 < len(u); k += 2 {
				if u[k+1] == 0 && (u[k] == '\r' || u[k] == 0x0B) {
					u[k] = '\n'
				}
			}
			out = append(out, utf16LE(u)...)
			out = append(out, '\n')
		case 0x0FA8: // TextBytesAtom: cp1252
			for _, c := range b[i : i+n] {
				if c == '\r' || c == 0x0B {
					c = '\n'
				}
				out = appendRune(out, winAnsi[c])
			}
			out = append(out, '\n')
		}
		i += n
	}
	return out
}

func utf16LE(b []byte) []byte {
	u := make([]uint16, len(b)/2)
	for k := range u {
		u[k] = binary.LittleEndian.Uint16(b[2*k:])
	}
	var out []byte
	for _, r := range utf16.Decode(u) {
		if r == 0 {
			continue
		}
		out = appendRune(out, r)
	}
	return out
}

// hasMAPI: an Outlook message keeps its properties in __substg1.0_ streams.
func hasMAPI(streams map[string]*mscfb.File) bool {
	for name := range streams {
		if strings.HasPrefix(name, "__substg1.0_") {
			return true
		}
	}
	return false
}

// msgAttachment matches the storage of an attachment: the message's own,
// or one of a message attached to it (Outlook's "forward as attachment"),
// at any depth.
var msgAttachment = regexp.MustCompile(`^(__attach_version1\.0_#[^/]+/__substg1\.0_3701000D/)*__attach_version1\.0_#[^/]+/$`)

// msg reads an Outlook message: subject and body (plain, else HTML), then
// each attachment as the document it is, named inside the message. An
// attached message is read the same way, its attachments too.
func (e *extractor) msg(src string, streams map[string]*mscfb.File, read func(string) ([]byte, bool), zips int) {
	prop := func(dir, tag string) ([]byte, bool) {
		for _, typ := range []string{"001F", "001E", "0102"} {
			name := dir + "__substg1.0_" + tag + typ
			if streams[name] == nil {
				continue
			}
			b, ok := read(name)
			if !ok {
				return nil, false
			}
			switch typ {
			case "001F":
				return utf16LE(b), true
			case "001E":
				return cp1252(bytes.TrimRight(b, "\x00")), true
			}
			return b, true
		}
		return nil, false
	}
	// The message and any message embedded as an attachment.
	var text []byte
	body := func(dir string) {
		if s, ok := prop(dir, "0037"); ok {
			text = append(append(text, s...), '\n')
		}
		if b, ok := prop(dir, "1000"); ok {
			text = append(append(text, b...), '\n')
		} else if h, ok := prop(dir, "1013"); ok {
			text = append(append(text, htmlText(h)...), '\n')
		}
	}
	body("")
	var attach []string
	for name := range streams {
		dir, _ := path.Split(name)
		if msgAttachment.MatchString(dir) && !slices.Contains(attach, dir) {
			attach = append(attach, dir)
		}
	}
	slices.Sort(attach)
	for _, dir := range attach {
		body(dir + "__substg1.0_3701000D/") // an attached message
	}
	e.add(src, text)
	if len(attach) > e.lim.MaxEntries {
		e.limit(src, fmt.Sprintf("more than %d attachments; the rest was not read", e.lim.MaxEntries))
		attach = attach[:e.lim.MaxEntries]
	}
	outer := e.nest
	e.nest = outer + src + " > "
	defer func() { e.nest = outer }()
	for i, dir := range attach {
		if !e.alive(src) {
			break
		}
		name := ""
		for _, tag := range []string{"3707", "3704", "3001"} {
			if n, ok := prop(dir, tag); ok && len(n) > 0 {
				name = string(n)
				break
			}
		}
		if name == "" {
			name = "attachment " + strconv.Itoa(i+1)
		}
		// The attachment's bytes are PidTagAttachDataBinary (3701, binary)
		// only: a string stream of the same tag is no attachment data, and
		// reading it instead would scan a decoy beside the real file.
		if streams[dir+"__substg1.0_37010102"] == nil {
			obj := dir + "__substg1.0_3701000D/"
			sub := subStorage(streams, obj)
			if len(sub) == 0 || hasMAPI(sub) {
				continue // no data (attached by reference), or an attached message, read above
			}
			// An OLE object (an embedded workbook, document, …): read as
			// the compound file it is, or recorded as unreadable.
			e.oleDoc("attachment "+name, sub, zips) // not a message (above): no nesting to count
			continue
		}
		data, ok := read(dir + "__substg1.0_37010102")
		if !ok {
			continue // read recorded why
		}
		k := kindOf("", name)
		if k == kNone {
			var skip bool
			if k, data, skip = classify(data); skip {
				continue
			}
			if k == kNone {
				e.unreadable("attachment "+name, "unsupported file type")
				continue
			}
		}
		e.doc(k, "attachment", name, data, zips+1)
	}
}

// subStorage returns the entries under the storage dir (a path ending in
// "/"), named relative to it.
func subStorage(streams map[string]*mscfb.File, dir string) map[string]*mscfb.File {
	sub := map[string]*mscfb.File{}
	for name, f := range streams {
		if rest, ok := strings.CutPrefix(name, dir); ok && rest != "" {
			sub[rest] = f
		}
	}
	return sub
}

func cp1252(b []byte) []byte {
	out := make([]byte, 0, len(b))
	for _, c := range b {
		out = appendRune(out, winAnsi[c])
	}
	return out
}

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
