package scanner

import (
	"encoding/binary"
	"fmt"
	"strings"
	"testing"
)

// An Outlook message forwarded as an attachment (an embedded message, in a
// __substg1.0_3701000D storage) keeps its own attachments there: they are
// read as the outer message's are, never passed over in silence.
func TestMsgForwardedAttachment(t *testing.T) {
	inner := []*cfbEntry{
		{name: "__substg1.0_0037001F", data: utf16le("Lab results")},
		{name: "__substg1.0_1000001F", data: utf16le("See attached.")},
		{name: "__attach_version1.0_#00000000", children: []*cfbEntry{
			{name: "__substg1.0_3707001F", data: utf16le("cards.csv")},
			{name: "__substg1.0_37010102", data: []byte("name,card\r\nJane," + testCard + "\r\n")},
		}},
	}
	msg := cfb(t, []*cfbEntry{
		{name: "__substg1.0_0037001F", data: utf16le("Fwd: Lab results")},
		{name: "__substg1.0_1000001F", data: utf16le("Forwarding.")},
		{name: "__attach_version1.0_#00000000", children: []*cfbEntry{
			{name: "__substg1.0_3001001F", data: utf16le("Lab results")},
			{name: "__substg1.0_3701000D", children: inner},
		}},
		{name: "__attach_version1.0_#00000001", children: []*cfbEntry{
			{name: "__substg1.0_3707001F", data: utf16le("note.txt")},
			{name: "__substg1.0_37010102", data: []byte("SSN " + testSSN)},
		}},
	})
	x := extract(t, multipartMsg("fwd", attachment("fwd.msg", "application/vnd.ms-outlook", msg)), Limits{})
	if len(x.Unreadable) > 0 {
		t.Errorf("unreadable: %+v", x.Unreadable)
	}
	for src, want := range map[string]string{
		"attachment fwd.msg":                          "Fwd: Lab results\nForwarding.\nLab results\nSee attached.\n",
		"attachment fwd.msg > attachment cards.csv":   "name\tcard\nJane\t" + testCard + "\n",
		"attachment fwd.msg > attachment note.txt":    "SSN " + testSSN,
		"attachment fwd.msg > attachment Lab results": "",
	} {
		p := partBySource(x, src)
		switch {
		case want == "" && p != nil:
			t.Errorf("the attached message read as a file: %q", p.Text)
		case want != "" && (p == nil || string(p.Text) != want):
			t.Errorf("%s: %+v, want %q", src, p, want)
		}
	}
}

// The properties a message may carry: 8-bit strings (001E, cp1252), an
// HTML body when there is no plain one, and an attachment's name from its
// long file name, else its short one, else its display name, else its
// number; a nameless attachment is read by what it holds.
func TestMsgProperties(t *testing.T) {
	att := func(props ...*cfbEntry) *cfbEntry { return &cfbEntry{children: props} }
	prop := func(name string, data []byte) *cfbEntry { return &cfbEntry{name: name, data: data} }
	atts := []*cfbEntry{
		att(prop("__substg1.0_3707001E", []byte("long\xe9.txt\x00")), prop("__substg1.0_3704001E", []byte("SHORT.TXT\x00")), prop("__substg1.0_37010102", []byte("one"))),
		att(prop("__substg1.0_3707001F", []byte{}), prop("__substg1.0_3704001F", utf16le("SHORT.TXT")), prop("__substg1.0_37010102", []byte("two"))),
		att(prop("__substg1.0_3001001F", utf16le("shown.txt")), prop("__substg1.0_37010102", []byte("three"))),
		att(prop("__substg1.0_37010102", []byte("SSN "+testSSN))),              // no name: text by its content
		att(prop("__substg1.0_37010102", []byte{0, 1, 2, 3, 0xff, 0xfe, 0})),   // no name, not text
		att(prop("__substg1.0_37010102", []byte("\x89PNG\r\n\x1a\n\x00\x00"))), // no name, a picture: skipped
		att(prop("__substg1.0_3707001F", utf16le("empty.bin")), prop("__substg1.0_37010102", []byte{})),
	}
	root := []*cfbEntry{
		prop("__substg1.0_0037001E", []byte("Caf\xe9 \x80 invoice\x00\x00")),
		prop("__substg1.0_10130102", []byte("<p>SSN&nbsp;<b>536</b>-22-1234</p>")),
	}
	for i, a := range atts {
		a.name = "__attach_version1.0_#0000000" + string(rune('0'+i))
		root = append(root, a)
	}
	x := extract(t, multipartMsg("m", attachment("m.msg", "application/vnd.ms-outlook", cfb(t, root))), Limits{})
	var got []string
	for _, p := range x.Parts {
		got = append(got, p.Source+": "+string(p.Text))
	}
	want := []string{
		"header Subject: m",
		"attachment m.msg: Café € invoice\n\nSSN 536-22-1234\n\n", // htmlText sets the paragraph apart
		"attachment m.msg > attachment longé.txt: one",
		"attachment m.msg > attachment SHORT.TXT: two",
		"attachment m.msg > attachment shown.txt: three",
		"attachment m.msg > attachment attachment 4: SSN " + testSSN,
	}
	if strings.Join(got, "|") != strings.Join(want, "|") {
		t.Errorf("parts\n%q, want\n%q", got, want)
	}
	if len(x.Unreadable) != 1 || x.Unreadable[0] != (Unreadable{"attachment m.msg > attachment attachment 5", "unsupported file type"}) {
		t.Errorf("unreadable %+v", x.Unreadable)
	}

	// An archive attached to a message is inside one container already.
	zipped := cfb(t, []*cfbEntry{{name: "__substg1.0_0037001F", data: utf16le("zipped")}, {name: "__attach_version1.0_#00000000", children: []*cfbEntry{
		{name: "__substg1.0_3707001F", data: utf16le("a.zip")}, {name: "__substg1.0_37010102", data: makeZip(t, zfile{"b.txt", []byte("SSN " + testSSN)})}}}})
	x = extract(t, multipartMsg("m", attachment("m.msg", "application/vnd.ms-outlook", zipped)), Limits{MaxDepth: 1})
	if len(x.Unreadable) != 1 || x.Unreadable[0] != (Unreadable{"attachment m.msg > attachment a.zip", "archives nested deeper than 1"}) {
		t.Errorf("MaxDepth 1: parts %+v, unreadable %+v", x.Parts, x.Unreadable)
	}

	// MaxEntries bounds the attachments read.
	x = extract(t, multipartMsg("m", attachment("m.msg", "application/vnd.ms-outlook", cfb(t, root))), Limits{MaxEntries: 2})
	if partBySource(x, "attachment m.msg > attachment SHORT.TXT") == nil || partBySource(x, "attachment m.msg > attachment shown.txt") != nil {
		t.Errorf("MaxEntries 2: %+v", x.Parts)
	}
}

// emptyStreams is a compound file of n empty streams under the root, the
// directory a chain of right siblings: as many entries as a test needs,
// which cfb's one FAT sector cannot hold.
func emptyStreams(n int) []byte {
	const end, none, fatSect = 0xFFFFFFFE, 0xFFFFFFFF, 0xFFFFFFFD
	dirSectors := (n + 1 + 3) / 4
	fatSectors := 1
	for fatSectors*128 < fatSectors+dirSectors {
		fatSectors++
	}
	fat := make([]uint32, fatSectors*128)
	for i := range fat {
		fat[i] = none
	}
	for i := range fatSectors {
		fat[i] = fatSect
	}
	for i := range dirSectors {
		fat[fatSectors+i] = uint32(fatSectors + i + 1)
	}
	fat[fatSectors+dirSectors-1] = end
	var b []byte
	b = append(b, oleMagic...)
	b = append(b, make([]byte, 16)...)
	b = append(b, u16(0x3E, 3, 0xFFFE, 9, 6)...)
	b = append(b, make([]byte, 6)...)
	b = append(b, u32(0, uint32(fatSectors), uint32(fatSectors), 0, 4096, end, 0, end, 0)...)
	for i := range 109 {
		if i < fatSectors {
			b = append(b, u32(uint32(i))...)
		} else {
			b = append(b, u32(none)...)
		}
	}
	b = append(b, u32(fat...)...)
	for i := range dirSectors * 4 {
		var e [128]byte
		left, right, child := uint32(none), uint32(none), uint32(none)
		switch {
		case i == 0:
			copy(e[:], utf16le("Root Entry"))
			binary.LittleEndian.PutUint16(e[64:], 22)
			e[66] = 5
			child = 1
		case i <= n:
			copy(e[:], utf16le(fmt.Sprintf("s%05d", i)))
			binary.LittleEndian.PutUint16(e[64:], 14)
			e[66] = 2
			if i < n {
				right = uint32(i + 1)
			}
		}
		e[67] = 1
		binary.LittleEndian.PutUint32(e[68:], left)
		binary.LittleEndian.PutUint32(e[72:], right)
		binary.LittleEndian.PutUint32(e[76:], child)
		binary.LittleEndian.PutUint32(e[116:], end)
		b = append(b, e[:]...)
	}
	return b
}

// At most 10,000 directory entries (the root and 9,999 streams) are
// looked at; one more is recorded as a limit.
func TestOLEEntryLimit(t *testing.T) {
	for _, c := range []struct {
		n       int
		limited bool
	}{{maxOLEStreams - 1, false}, {maxOLEStreams, true}} {
		x := extract(t, multipartMsg("many", attachment("many.doc", "application/msword", emptyStreams(c.n))), Limits{})
		if unreadableFor(x, "attachment many.doc", "more than 10000 entries") != c.limited || x.Truncated != c.limited ||
			!unreadableFor(x, "attachment many.doc", "unsupported OLE document") {
			t.Errorf("%d streams: truncated %v, unreadable %+v", c.n, x.Truncated, x.Unreadable)
		}
	}
}
