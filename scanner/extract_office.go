package scanner

// Legacy Office files and Outlook messages: OLE2 compound files (a small
// file system in one file), opened with github.com/richardlehane/mscfb.
// Word 97–2003 (.doc) text comes from the piece table, Excel 97–2003 (.xls)
// from the BIFF8 records (shared strings, labels, numbers), PowerPoint
// 97–2003 (.ppt) from its text atoms, and an Outlook .msg from its MAPI
// property streams (subject, body, and each attachment read as what it is).
// A password-protected file — legacy, or an OOXML package wrapped in a
// compound file — is unreadable. This file opens the compound file and
// reads Word and PowerPoint; the Excel records are read in extract_xls.go,
// an Outlook message in extract_outlook.go.

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"slices"
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
		name := oleKey(strings.Join(append(slices.Clone(f.Path), f.Name), "/"))
		if streams[name] != nil {
			// Names in a storage differ in more than case; which of two
			// a reader opens is up to the reader.
			e.unreadable(src, "corrupt OLE compound file: two entries named "+name)
			continue
		}
		streams[name] = f
	}
	e.oleDoc(src, streams, zips)
}

// oleKey is the key of an entry in a map of a compound file's streams:
// its path, upper-cased. Names in a compound file compare without case
// (Outlook opens __SUBSTG1.0_1000001F as __substg1.0_1000001F, Word a
// worddocument stream), so the streams are looked up by this key, the
// names written in upper case.
func oleKey(path string) string { return strings.ToUpper(path) }

// oleDoc reads the document a compound file's streams hold, keyed by
// oleKey of their paths: the whole file's, or an object embedded in an
// Outlook message (the streams under its storage, the prefix taken off).
// A message that also holds an Office document's stream is read as both:
// Outlook opens it as the message and shows its bodies, another reader
// may open the document (review finding).
func (e *extractor) oleDoc(src string, streams map[string]*mscfb.File, zips int) {
	read := e.oleReader(src, streams)
	office := e.officeDoc(src, streams, read)
	switch {
	case hasMAPI(streams):
		e.msg(src, streams, read, zips)
	case !office:
		e.unreadable(src, "unsupported OLE document")
	}
}

// oleReader returns the reader of the streams' contents, by key: within
// MaxEntry and the message's decompression budget, what it cannot read
// recorded.
func (e *extractor) oleReader(src string, streams map[string]*mscfb.File) func(string) ([]byte, bool) {
	return func(name string) ([]byte, bool) {
		f := streams[name]
		if f == nil {
			return nil, false
		}
		b, over, err := e.read(f, e.lim.MaxEntry, true)
		switch {
		case err == errDeadline:
			e.alive(src)
			return nil, false
		case over && e.work <= 0:
			// Streams are charged to the message's decompression budget:
			// once it is used up, recorded once, no more is read.
			if !e.stopped {
				e.stopped = true
				e.limit(src, fmt.Sprintf("decompression budget of %d bytes for the message used up", workFactor*e.lim.MaxTotal))
			}
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
}

// officeDoc reads the Office document whose stream the compound file
// holds (Word, Excel, PowerPoint, or an encrypted one, recorded), and
// reports whether it held one.
func (e *extractor) officeDoc(src string, streams map[string]*mscfb.File, read func(string) ([]byte, bool)) bool {
	switch {
	case streams["ENCRYPTIONINFO"] != nil || streams["ENCRYPTEDPACKAGE"] != nil:
		e.unreadable(src, "encrypted Office document (password required)")
	case streams["WORDDOCUMENT"] != nil:
		e.word(src, read)
	case streams["WORKBOOK"] != nil || streams["BOOK"] != nil:
		name := "WORKBOOK"
		if streams[name] == nil {
			name = "BOOK"
		}
		if b, ok := read(name); ok {
			text, err := biffText(b)
			if err != nil {
				e.unreadable(src, err.Error())
				break
			}
			e.add(src, text)
		}
	case streams["POWERPOINT DOCUMENT"] != nil:
		if b, ok := read("POWERPOINT DOCUMENT"); ok {
			e.add(src, pptText(b))
		}
	default:
		return false
	}
	return true
}

// word reads a Word 97–2003 document: the FIB names the table stream and
// the piece table, whose pieces hold the text (body, headers, footers,
// notes) as cp1252 bytes or UTF-16.
func (e *extractor) word(src string, read func(string) ([]byte, bool)) {
	wd, ok := read("WORDDOCUMENT")
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
	table := "0TABLE"
	if flags&0x0200 != 0 {
		table = "1TABLE"
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

func cp1252(b []byte) []byte {
	out := make([]byte, 0, len(b))
	for _, c := range b {
		out = appendRune(out, winAnsi[c])
	}
	return out
}
