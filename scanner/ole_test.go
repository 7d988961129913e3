package scanner

import (
	"bytes"
	"encoding/binary"
	"strings"
	"testing"
	"unicode/utf16"
)

// No Debian package writes Outlook .msg or PowerPoint 97 files, so these
// tests build the compound file themselves: cfb writes a version 3 compound
// file (512-byte sectors) whose streams, all under the 4096-byte cutoff,
// live in the mini stream, as Outlook stores a message's properties.

type cfbEntry struct {
	name     string
	data     []byte      // a stream
	children []*cfbEntry // a storage
}

func cfb(t testing.TB, root []*cfbEntry) []byte {
	t.Helper()
	const (
		free  = 0xFFFFFFFF
		end   = 0xFFFFFFFE
		fatSC = 0xFFFFFFFD
		none  = 0xFFFFFFFF
	)
	// Flatten the tree into directory entries (0 is the root).
	type dirent struct {
		name               string
		typ                byte
		left, right, child uint32
		start              uint32
		size               uint64
		data               []byte
	}
	ents := []*dirent{{name: "Root Entry", typ: 5, left: none, right: none, child: none}}
	var add func(parent int, kids []*cfbEntry)
	add = func(parent int, kids []*cfbEntry) {
		prev := -1
		for _, k := range kids {
			d := &dirent{name: k.name, typ: 2, left: none, right: none, child: none, data: k.data}
			if k.data == nil {
				d.typ = 1
			}
			ents = append(ents, d)
			i := len(ents) - 1
			if prev < 0 {
				ents[parent].child = uint32(i)
			} else {
				ents[prev].right = uint32(i)
			}
			prev = i
			if k.data == nil {
				add(i, k.children)
			}
		}
	}
	add(0, root)
	// The mini stream: each stream in 64-byte mini sectors.
	var mini []byte
	var minifat []uint32
	for _, d := range ents {
		if d.typ != 2 {
			continue
		}
		if len(d.data) >= 4096 {
			t.Fatalf("cfb: stream %s too large for this writer", d.name)
		}
		d.size = uint64(len(d.data))
		if len(d.data) == 0 {
			d.start = end
			continue
		}
		d.start = uint32(len(minifat))
		n := (len(d.data) + 63) / 64
		for k := 0; k < n; k++ {
			if k == n-1 {
				minifat = append(minifat, end)
			} else {
				minifat = append(minifat, uint32(len(minifat)+1))
			}
		}
		mini = append(mini, d.data...)
		mini = append(mini, make([]byte, n*64-len(d.data))...)
	}
	dirSectors := (len(ents) + 3) / 4
	miniFATSectors := max(1, (len(minifat)*4+511)/512)
	miniSectors := (len(mini) + 511) / 512
	// Sector 0: the FAT; then directory, mini FAT, mini stream.
	fat := make([]uint32, 128)
	for i := range fat {
		fat[i] = free
	}
	fat[0] = fatSC
	next := uint32(1)
	chain := func(n int) uint32 {
		if n == 0 {
			return end
		}
		start := next
		for k := 0; k < n; k++ {
			if k == n-1 {
				fat[next] = end
			} else {
				fat[next] = next + 1
			}
			next++
		}
		return start
	}
	dirStart := chain(dirSectors)
	miniFATStart := chain(miniFATSectors)
	miniStart := chain(miniSectors)
	if next > 128 {
		t.Fatal("cfb: more than one FAT sector needed")
	}
	ents[0].start, ents[0].size = miniStart, uint64(len(mini))

	var b bytes.Buffer
	le := func(v any) { binary.Write(&b, binary.LittleEndian, v) }
	b.Write(oleMagic)
	b.Write(make([]byte, 16))
	le(uint16(0x3E))
	le(uint16(3))
	le(uint16(0xFFFE))
	le(uint16(9))
	le(uint16(6))
	b.Write(make([]byte, 6))
	le(uint32(0))
	le(uint32(1))
	le(dirStart)
	le(uint32(0))
	le(uint32(4096))
	le(miniFATStart)
	le(uint32(miniFATSectors))
	le(uint32(end))
	le(uint32(0))
	le(uint32(0)) // DIFAT[0]: the FAT is sector 0
	for k := 1; k < 109; k++ {
		le(uint32(free))
	}
	le(fat)
	for i := 0; i < dirSectors*4; i++ {
		var e [128]byte
		if i < len(ents) {
			d := ents[i]
			u := utf16.Encode([]rune(d.name))
			for k, c := range u {
				binary.LittleEndian.PutUint16(e[2*k:], c)
			}
			binary.LittleEndian.PutUint16(e[64:], uint16(2*len(u)+2))
			e[66], e[67] = d.typ, 1
			binary.LittleEndian.PutUint32(e[68:], d.left)
			binary.LittleEndian.PutUint32(e[72:], d.right)
			binary.LittleEndian.PutUint32(e[76:], d.child)
			binary.LittleEndian.PutUint32(e[116:], d.start)
			binary.LittleEndian.PutUint64(e[120:], d.size)
		} else {
			binary.LittleEndian.PutUint32(e[68:], none)
			binary.LittleEndian.PutUint32(e[72:], none)
			binary.LittleEndian.PutUint32(e[76:], none)
		}
		b.Write(e[:])
	}
	mf := make([]uint32, miniFATSectors*128)
	for i := range mf {
		mf[i] = free
	}
	copy(mf, minifat)
	le(mf)
	b.Write(mini)
	b.Write(make([]byte, miniSectors*512-len(mini)))
	return b.Bytes()
}

func utf16le(s string) []byte {
	var b []byte
	for _, c := range utf16.Encode([]rune(s)) {
		b = binary.LittleEndian.AppendUint16(b, c)
	}
	return b
}

func TestExtractMsg(t *testing.T) {
	msg := cfb(t, []*cfbEntry{
		{name: "__substg1.0_0037001F", data: utf16le("Claim for J. Roe")},
		{name: "__substg1.0_1000001F", data: utf16le("Hello,\r\nSSN " + testSSN + " as discussed.\r\n")},
		{name: "__attach_version1.0_#00000000", children: []*cfbEntry{
			{name: "__substg1.0_3707001F", data: utf16le("patients.csv")},
			{name: "__substg1.0_37010102", data: []byte("name,card\r\nJane," + testCard + "\r\n")},
		}},
		{name: "__attach_version1.0_#00000001", children: []*cfbEntry{
			{name: "__substg1.0_3707001F", data: utf16le("scan.pdf")},
			{name: "__substg1.0_37010102", data: makePDF(t, false)},
		}},
	})
	x := extract(t, multipartMsg("fwd", attachment("claim.msg", "application/vnd.ms-outlook", msg)), Limits{})
	if len(x.Unreadable) > 0 {
		t.Errorf("unreadable: %+v", x.Unreadable)
	}
	fs := x.Scan(Options{})
	got := map[string]string{}
	for _, f := range fs {
		got[f.Where] += f.Detector + " "
	}
	for where, det := range map[string]string{
		"attachment claim.msg":                               "us_ssn",
		"attachment claim.msg > attachment patients.csv":     "credit_card",
		"attachment claim.msg > attachment scan.pdf, page 1": "us_ssn",
	} {
		if !strings.Contains(got[where], det) {
			t.Errorf("no %s in %q; findings by part: %v", det, where, got)
		}
	}
	if p := partBySource(x, "attachment claim.msg"); p == nil || !bytes.Contains(p.Text, []byte("Claim for J. Roe")) {
		t.Errorf("the message's subject is not read: %+v", x.Parts)
	}
}

func TestExtractPPT(t *testing.T) {
	// A slide container holding a TextCharsAtom and a TextBytesAtom.
	rec := pptRecord
	inner := append(rec(0, 0x0FA0, utf16le("Patient SSN "+testSSN)), rec(0, 0x0FA8, []byte("Card "+testCard))...)
	doc := rec(0x000F, 0x03E8, inner)
	ppt := cfb(t, []*cfbEntry{{name: "PowerPoint Document", data: doc}, {name: "Current User", data: []byte{0}}})
	x := extract(t, multipartMsg("slides", attachment("deck.ppt", "application/vnd.ms-powerpoint", ppt)), Limits{})
	fs := x.Scan(Options{})
	if len(fs) != 2 || fs[0].Detector != "us_ssn" || fs[1].Detector != "credit_card" || fs[0].Where != "attachment deck.ppt" {
		t.Errorf("ppt findings %+v, parts %+v, unreadable %+v", fs, x.Parts, x.Unreadable)
	}
}

// An OOXML document with a password is an encrypted package in a
// compound file: unreadable, not "unsupported".
func TestExtractEncryptedOffice(t *testing.T) {
	enc := cfb(t, []*cfbEntry{{name: "EncryptionInfo", data: []byte{4, 0, 4, 0}}, {name: "EncryptedPackage", data: make([]byte, 100)}})
	x := extract(t, multipartMsg("locked", attachment("locked.docx", "application/octet-stream", enc)), Limits{})
	if !unreadableFor(x, "attachment locked.docx", "encrypted Office document") {
		t.Errorf("unreadable %+v", x.Unreadable)
	}
}

func TestExtractPPTX(t *testing.T) {
	const ns = `xmlns:a="http://schemas.openxmlformats.org/drawingml/2006/main" xmlns:p="http://schemas.openxmlformats.org/presentationml/2006/main"`
	slide := func(text string) []byte {
		return []byte(`<p:sld ` + ns + `><p:cSld><p:spTree><p:sp><p:txBody><a:p><a:r><a:t>` + text + `</a:t></a:r></a:p></p:txBody></p:sp></p:spTree></p:cSld></p:sld>`)
	}
	pptx := makeZip(t,
		zfile{"[Content_Types].xml", []byte(`<Types/>`)},
		zfile{"ppt/presentation.xml", []byte(`<p:presentation ` + ns + `/>`)},
		zfile{"ppt/slides/slide10.xml", slide("Card 4111 1111 1111 1111")},
		zfile{"ppt/slides/slide2.xml", slide("SSN <b/>536-22-1234")},
		zfile{"ppt/notesSlides/notesSlide1.xml", slide("Speaker note: MBI 1EG4-TE5-MK73")},
		zfile{"ppt/media/image1.png", []byte("\x89PNG\r\n\x1a\n")},
	)
	x := extract(t, multipartMsg("deck", attachment("deck.pptx", "application/octet-stream", pptx)), Limits{})
	p := partBySource(x, "attachment deck.pptx")
	if p == nil || len(x.Unreadable) > 0 {
		t.Fatalf("parts %+v, unreadable %+v", x.Parts, x.Unreadable)
	}
	// Slides in their order (2 before 10), then the notes; no markup.
	if want := "SSN 536-22-1234\n\nCard 4111 1111 1111 1111\n\nSpeaker note: MBI 1EG4-TE5-MK73\n\n"; string(p.Text) != want {
		t.Errorf("pptx text %q, want %q", p.Text, want)
	}
}

func TestRTFText(t *testing.T) {
	for in, want := range map[string]string{
		`{\rtf1\ansi{\fonttbl{\f0 Arial;}}{\colortbl;\red0\green0\blue0;}\f0 SSN {\b 536}-22-1234\par Next}`: "SSN 536-22-1234\nNext",
		`{\rtf1 Gr\'fc\'dfe\tab x\line y}`:                          "Grüße\tx\ny",
		`{\rtf1\uc1 caf\u233?s \u-3913?}`:                           "cafés \uf0b7",
		`{\rtf1{\*\generator Riched20;}{\*\unknown 536-22-1234}ok}`: "536-22-1234\nok",       // an ignorable destination not known to hold no text is read
		`{\rtf1{\field{\*\fldinst HYPERLINK "x"}{\fldrslt link}}}`:  "HYPERLINK \"x\"\nlink", // a field's instruction is read apart
		`{\rtf1{\header Patient SSN 536-22-1234\par}body}`:          "Patient SSN 536-22-1234\nbody",
		`{\rtf1 a\{b\}c\\d\~e}`:                                     `a{b}c\d e`,
		`{\rtf1 unterminated \`:                                     "unterminated ",
	} {
		if got := string(rtfText([]byte(in))); got != want {
			t.Errorf("rtfText(%q) = %q, want %q", in, got, want)
		}
	}
}
