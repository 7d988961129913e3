package scanner

import (
	"bytes"
	"context"
	"encoding/binary"
	"fmt"
	"slices"
	"strings"
	"testing"
)

// Word 97–2003 files built by hand: LibreOffice writes one kind of piece
// table (TestLibreOfficeDocuments reads it); Word also writes 8-bit
// pieces, formatting (Prc) entries before the pieces, and the table
// stream named 1Table. The malformed ones are the edges a crafted file
// can reach.

// wordPiece is one piece: its text at offset at of the WordDocument
// stream, 8-bit (cp1252) or UTF-16; chars, when set, is its length in
// characters and nothing is written (a piece over what is there).
type wordPiece struct {
	text  string
	at    int
	ansi  bool
	chars int
}

// wordFile describes a WordDocument stream and its table stream.
type wordFile struct {
	size      int    // of the WordDocument stream
	csw, cslw int    // lengths of the FIB's two variable arrays
	flags     uint16 // FIB flags: 0x0100 encrypted, 0x0200 1Table
	clx       []byte // raw bytes that start the Clx
	prc       [][]byte
	pieces    []wordPiece
	plcExtra  int    // bytes after the piece table, counted in its length
	clxAt     int    // fcClx: where the Clx starts in the table stream
	lcbClx    int    // its length; 0: as built, -1: none
	tables    string // the table streams present: "0", "1" or "01"
}

// build returns the streams of a .doc as a compound file.
func (w wordFile) build(t *testing.T) []byte {
	t.Helper()
	return cfb(t, w.streams())
}

// streams returns the WordDocument stream and the table streams.
func (w wordFile) streams() []*cfbEntry {
	wd := make([]byte, w.size)
	binary.LittleEndian.PutUint16(wd, 0xA5EC)
	binary.LittleEndian.PutUint16(wd[0x0A:], w.flags)
	binary.LittleEndian.PutUint16(wd[32:], uint16(w.csw))
	pos := 34 + 2*w.csw
	if pos+2 <= len(wd) {
		binary.LittleEndian.PutUint16(wd[pos:], uint16(w.cslw))
	}
	at := pos + 2 + 4*w.cslw + 2 + 33*8
	clx := slices.Clone(w.clx)
	for _, p := range w.prc {
		clx = append(append(append(clx, 1), u16(len(p))...), p...)
	}
	var cps, pcds []byte
	cp := 0
	cps = append(cps, u32(0)...)
	for _, p := range w.pieces {
		fc, text := uint32(p.at), []byte(p.text)
		if p.ansi {
			fc = uint32(2*p.at) | 0x40000000
		} else {
			text = utf16le(p.text)
		}
		if len(text) > 0 {
			copy(wd[p.at:], text)
		}
		cp += len(p.text) // ASCII only: one character a byte

		cp += p.chars
		cps = append(cps, u32(uint32(cp))...)
		pcds = append(append(append(pcds, 0, 0), u32(fc)...), 0, 0)
	}
	plc := append(append(cps, pcds...), make([]byte, w.plcExtra)...)
	clx = append(append(append(clx, 2), u32(uint32(len(plc)))...), plc...)
	tbl := append(bytes.Repeat([]byte{0xEE}, w.clxAt), clx...)
	lcb := len(clx)
	if w.lcbClx != 0 {
		lcb = max(w.lcbClx, 0)
	}
	if at+8 <= len(wd) {
		binary.LittleEndian.PutUint32(wd[at:], uint32(w.clxAt))
		binary.LittleEndian.PutUint32(wd[at+4:], uint32(lcb))
	}
	entries := []*cfbEntry{{name: "WordDocument", data: wd}}
	for _, c := range w.tables {
		data := tbl
		if (c == '1') != (w.flags&0x0200 != 0) {
			data = []byte("the other table stream") // never read
		}
		entries = append(entries, &cfbEntry{name: string(c) + "Table", data: data})
	}
	return entries
}

// wordText extracts a .doc and returns its text, or its unreadable reason.
func wordText(t *testing.T, doc []byte, lim Limits) string {
	t.Helper()
	x := extract(t, multipartMsg("doc", attachment("a.doc", "application/msword", doc)), lim)
	if len(x.Unreadable) > 0 {
		return "unreadable: " + x.Unreadable[0].Reason
	}
	if p := partBySource(x, "attachment a.doc"); p != nil {
		return string(p.Text)
	}
	return ""
}

func TestWordPieces(t *testing.T) {
	std := wordFile{size: 1024, csw: 14, cslw: 22, tables: "01"}
	mixed := std
	mixed.flags = 0x0200
	mixed.clxAt = 16
	mixed.prc = [][]byte{{0xAA, 0xBB}, {}}
	mixed.pieces = []wordPiece{
		{text: "Patient SSN ", at: 0x200},
		{text: "536-22-1234\r", at: 0x220, ansi: true},
		// Cell ends, a non-breaking hyphen, an optional one, a field
		// (begin, instruction, separator, result, end), a line break.
		{text: "A\x07B\x07\x07\x13 PAGE \x141\x15x\x1Ey\x1Fz\x0Bend\x0C\x01\x08.", at: 0x240},
		{text: "Gr\xfc\xdfe \x80", at: 0x300, ansi: true},
	}
	// A stream of exactly 512 bytes, the smallest FIB, with a piece
	// that ends at its last byte.
	small := wordFile{size: 0x200, csw: 14, cslw: 22, tables: "0",
		pieces: []wordPiece{{text: "SSN 536-22-1234", at: 0x200 - 15, ansi: true}}}
	// A UTF-16 piece ending at the stream's end.
	utf16End := wordFile{size: 1024, csw: 14, cslw: 22, tables: "0",
		pieces: []wordPiece{{text: "SSN 536-22-1234", at: 1024 - 30}}}
	// The FIB's last pair (fcClx, lcbClx) ending at the stream's end.
	fibEnd := wordFile{size: 1024, csw: 1, cslw: 178, tables: "0",
		pieces: []wordPiece{{text: "SSN 536-22-1234", at: 0x200}}}
	// Pieces past the stream's end, or longer than it, are passed over.
	past := wordFile{size: 0x200, csw: 14, cslw: 22, tables: "0",
		pieces: []wordPiece{
			{text: "ok ", at: 0x1C0, ansi: true},
			{at: 0x200 - 6, ansi: true, chars: 10},
			{at: 0x200 - 16, chars: 10},
			{at: 0, ansi: true, chars: 0x201},
			{at: 0x400, ansi: true, chars: 0x200}, // starting past the end
			{at: 0x200, chars: 0x200},
			{text: "also", at: 0x1D0},
		}}
	// A piece as long as the whole stream, header and all, then the
	// last 15 bytes again.
	whole := wordFile{size: 0x200, csw: 14, cslw: 22, tables: "0",
		pieces: []wordPiece{{at: 0, ansi: true, chars: 0x200}, {text: "SSN 536-22-1234", at: 0x200 - 15, ansi: true}}}
	for _, c := range []struct {
		name string
		doc  wordFile
		want string
	}{
		{"mixed", mixed, "Patient SSN 536-22-1234\nA\tB\t\t PAGE 1x-yz\nend\n.Grüße €"},
		{"512 bytes", small, "SSN 536-22-1234"},
		{"utf-16 at the end", utf16End, "SSN 536-22-1234"},
		{"FIB at the end", fibEnd, "SSN 536-22-1234"},
		{"past the end", past, "ok also"},
		// 8 bytes more than n+1 CPs and n PCDs: the n pieces are read.
		{"piece table with bytes over", wordFile{size: 1024, csw: 14, cslw: 22, tables: "0", plcExtra: 8,
			pieces: []wordPiece{{text: "SSN ", at: 0x200}, {text: "536-22-1234", at: 0x220, ansi: true}}}, "SSN 536-22-1234"},
		{"whole stream", whole, ""},
	} {
		t.Run(c.name, func(t *testing.T) {
			got := wordText(t, c.doc.build(t), Limits{})
			if c.want == "" {
				// Bytes of the header come first; what matters is
				// that the long piece is read.
				if !strings.HasSuffix(got, "SSN 536-22-1234SSN 536-22-1234") || strings.HasPrefix(got, "unreadable") {
					t.Errorf("text %q", got)
				}
			} else if got != c.want {
				t.Errorf("text %q, want %q", got, c.want)
			}
		})
	}
}

// Each way a .doc can be broken has its own reason, and none panics.
func TestWordMalformed(t *testing.T) {
	ok := func(f func(*wordFile)) wordFile {
		w := wordFile{size: 1024, csw: 14, cslw: 22, tables: "0", pieces: []wordPiece{{text: "SSN 536-22-1234", at: 0x200}}}
		f(&w)
		return w
	}
	for _, c := range []struct {
		name string
		doc  wordFile
		want string
	}{
		{"511 bytes", ok(func(w *wordFile) { w.size = 0x1FF; w.pieces[0].at = 0x1E0 }), "corrupt DOC: no Word 97 header"},
		{"encrypted", ok(func(w *wordFile) { w.flags = 0x0100 }), "encrypted DOC (password required)"},
		// csw puts the next count at the very end of the stream.
		{"csw past the end", ok(func(w *wordFile) { w.size = 0x200; w.csw = 239; w.pieces = nil }), "corrupt DOC: short FIB"},
		// fcClx and lcbClx would start 4 bytes before the end.
		{"fcClx past the end", ok(func(w *wordFile) { w.csw = 1; w.cslw = 179; w.pieces[0].at = 0x100 }), "corrupt DOC: short FIB"},
		{"no table stream", ok(func(w *wordFile) { w.flags = 0x0200; w.tables = "0" }), "corrupt DOC: no table stream"},
		{"Clx past the table stream", ok(func(w *wordFile) { w.clxAt = 16; w.lcbClx = 40 }), "corrupt DOC: piece table out of range"},
		{"empty Clx", ok(func(w *wordFile) { w.lcbClx = -1 }), "corrupt DOC: no piece table"},
		{"Prc past the Clx", ok(func(w *wordFile) { w.prc = [][]byte{{1, 2}}; w.lcbClx = 4 }), "corrupt DOC: no piece table"},
		{"Prc of negative length", ok(func(w *wordFile) { w.clx = []byte{1, 0xFF, 0xFF} }), "corrupt DOC: no piece table"},
		{"Prc cut short", ok(func(w *wordFile) { w.clx = []byte{1, 0}; w.lcbClx = 2 }), "corrupt DOC: no piece table"},
		{"no Pcdt", ok(func(w *wordFile) { w.lcbClx = 4 }), "corrupt DOC: no piece table"},
		{"empty piece table", ok(func(w *wordFile) { w.pieces = nil; w.lcbClx = 5 }), "corrupt DOC: empty piece table"},
	} {
		t.Run(c.name, func(t *testing.T) {
			if got := wordText(t, c.doc.build(t), Limits{}); got != "unreadable: "+c.want {
				t.Errorf("got %q, want unreadable: %q", got, c.want)
			}
		})
	}
}

// The text stops at the first piece that brings it to MaxEntry bytes.
func TestWordMaxEntry(t *testing.T) {
	w := wordFile{size: 1024, csw: 14, cslw: 22, tables: "0"}
	for range 3 {
		w.pieces = append(w.pieces, wordPiece{text: strings.Repeat("x", 256), at: 0x200, ansi: true})
	}
	for _, c := range []struct {
		max  int64
		want int
	}{{512, 512}, {513, 768}, {1024, 768}} {
		e := textExtractor(context.Background())
		e.lim.MaxEntry = c.max
		read := func(name string) ([]byte, bool) {
			for _, s := range w.streams() {
				if oleKey(s.name) == name {
					return s.data, true
				}
			}
			return nil, false
		}
		e.word("attachment a.doc", read)
		if len(e.out.Parts) != 1 || len(e.out.Parts[0].Text) != c.want {
			t.Errorf("MaxEntry %d: parts %q, want %d bytes", c.max, e.out.Parts, c.want)
		}
		// Pieces left unread are recorded: the text is cut short.
		cut := c.want < 768
		if e.out.Truncated != cut || cut && (len(e.out.Unreadable) != 1 || e.out.Unreadable[0].Reason != fmt.Sprintf("text larger than %d bytes; the rest was not read", c.max)) {
			t.Errorf("MaxEntry %d: truncated %v, unreadable %+v, want cut %v", c.max, e.out.Truncated, e.out.Unreadable, cut)
		}
	}
}
