package scanner

import (
	"strings"
	"testing"
)

// An Outlook message's attachments are read from what Outlook stores as
// their data and nothing else, all of them or a limit is recorded, and an
// embedded OLE object is read or named unreadable, never passed over.
// The compound files are built by hand (cfb): no producer here writes
// .msg files.

// The attachment's bytes are its binary data stream (3701, type 0102); a
// string stream of the same tag beside it is not read in its place.
func TestMsgAttachmentDataIsTheBinary(t *testing.T) {
	msg := cfb(t, []*cfbEntry{
		{name: "__substg1.0_0037001F", data: utf16le("report")},
		{name: "__attach_version1.0_#00000000", children: []*cfbEntry{
			{name: "__substg1.0_3707001F", data: utf16le("report.txt")},
			{name: "__substg1.0_3701001F", data: utf16le("nothing to see here")},
			{name: "__substg1.0_37010102", data: []byte("SSN " + testSSN)},
		}},
	})
	x := extract(t, multipartMsg("m", attachment("m.msg", "application/vnd.ms-outlook", msg)), Limits{})
	if p := partBySource(x, "attachment m.msg > attachment report.txt"); p == nil || string(p.Text) != "SSN "+testSSN {
		t.Errorf("report.txt read as %+v, want its binary data", p)
	}
	if len(x.Unreadable) > 0 {
		t.Errorf("unreadable %+v", x.Unreadable)
	}
}

// An OLE object embedded as an attachment (its data a storage, 3701000D,
// that is not a message) is read as the compound file it is: a Word
// document's text is scanned, an object of another kind is unreadable.
func TestMsgEmbeddedOLEObject(t *testing.T) {
	doc := wordFile{size: 1024, csw: 14, cslw: 22, tables: "0", pieces: []wordPiece{{text: "SSN " + testSSN, at: 0x200, ansi: true}}}
	msg := cfb(t, []*cfbEntry{
		{name: "__substg1.0_0037001F", data: utf16le("objects")},
		{name: "__attach_version1.0_#00000000", children: []*cfbEntry{
			{name: "__substg1.0_3001001F", data: utf16le("Notes")},
			{name: "__substg1.0_3701000D", children: doc.streams()},
		}},
		{name: "__attach_version1.0_#00000001", children: []*cfbEntry{
			{name: "__substg1.0_3001001F", data: utf16le("Chart")},
			{name: "__substg1.0_3701000D", children: []*cfbEntry{{name: "CONTENTS", data: []byte("chart data")}}},
		}},
		{name: "__attach_version1.0_#00000002", children: []*cfbEntry{
			{name: "__substg1.0_3001001F", data: utf16le("by reference")},
		}},
	})
	x := extract(t, multipartMsg("m", attachment("m.msg", "application/vnd.ms-outlook", msg)), Limits{})
	if p := partBySource(x, "attachment m.msg > attachment Notes"); p == nil || !strings.Contains(string(p.Text), "SSN "+testSSN) {
		t.Errorf("the embedded Word document read as %+v, parts %q", p, x.Parts)
	}
	want := Unreadable{"attachment m.msg > attachment Chart", "unsupported OLE document"}
	if len(x.Unreadable) != 1 || x.Unreadable[0] != want {
		t.Errorf("unreadable %+v, want %+v", x.Unreadable, want)
	}
}

// MaxEntries bounds the attachments read, and the rest is recorded as cut
// short: a message whose 1,001st attachment holds an SSN is not clean.
func TestMsgAttachmentsPastMaxEntries(t *testing.T) {
	root := []*cfbEntry{{name: "__substg1.0_0037001F", data: utf16le("three files")}}
	for i, text := range []string{"one", "two", "SSN " + testSSN} {
		root = append(root, &cfbEntry{name: "__attach_version1.0_#0000000" + string(rune('0'+i)), children: []*cfbEntry{
			{name: "__substg1.0_3707001F", data: utf16le(text[:3] + ".txt")},
			{name: "__substg1.0_37010102", data: []byte(text)},
		}})
	}
	msg := cfb(t, root)
	for _, c := range []struct {
		max       int
		truncated bool
	}{{2, true}, {3, false}} {
		x := extract(t, multipartMsg("m", attachment("m.msg", "application/vnd.ms-outlook", msg)), Limits{MaxEntries: c.max})
		if x.Truncated != c.truncated {
			t.Errorf("MaxEntries %d: truncated %v, want %v (unreadable %+v)", c.max, x.Truncated, c.truncated, x.Unreadable)
		}
		if c.truncated && (len(x.Unreadable) != 1 || x.Unreadable[0] != (Unreadable{"attachment m.msg", "more than 2 attachments; the rest was not read"})) {
			t.Errorf("MaxEntries %d: unreadable %+v", c.max, x.Unreadable)
		}
	}
}
