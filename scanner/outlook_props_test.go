package scanner

// An Outlook message's subject in every property type, a binary HTML body
// in UTF-16, and a compound file or OLE-object storage that holds both a
// message's property streams and an Office document: each shows a reader
// an SSN that the scanner once neither found nor recorded unreadable
// (review findings).

import (
	"strings"
	"testing"
)

// A PT_UNICODE subject is a decoy beside the PT_STRING8 one that the
// property stream may declare as the property's type.
func TestMsgSubjectEveryType(t *testing.T) {
	ents := []*cfbEntry{{name: "__substg1.0_0037001F", data: utf16le("Results")},
		{name: "__substg1.0_0037001E", data: []byte("Patient SSN " + testSSN + "\x00")},
		{name: "__substg1.0_1000001F", data: utf16le("See you tomorrow.")}}
	if passes, text := msgPasses(t, ents); passes {
		t.Errorf("a PT_STRING8 subject with the SSN beside a PT_UNICODE decoy passes; text %q", text)
	}
}

// PR_HTML (binary) holds the HTML in the message's Internet code page; in
// UTF-16 with or without a byte-order mark, as an HTML engine reads it.
func TestMsgHTMLUTF16(t *testing.T) {
	html := "<html><body><p>Patient SSN " + testSSN + "</p></body></html>"
	be := func(s string) []byte {
		b := utf16le(s)
		for i := 0; i+1 < len(b); i += 2 {
			b[i], b[i+1] = b[i+1], b[i]
		}
		return b
	}
	for name, data := range map[string][]byte{
		"UTF-16LE BOM":    append([]byte{0xFF, 0xFE}, utf16le(html)...),
		"UTF-16BE BOM":    append([]byte{0xFE, 0xFF}, be(html)...),
		"UTF-16LE no BOM": utf16le(html),
		"UTF-16BE no BOM": be(html),
		"UTF-8 BOM":       append([]byte("\xEF\xBB\xBF"), html...),
	} {
		ents := []*cfbEntry{msgSubject(), {name: "__substg1.0_10130102", data: data}}
		if passes, text := msgPasses(t, ents); passes {
			t.Errorf("%s HTML body passes; text %q", name, text)
		}
	}
	// UTF-16 cut in the middle of a character cannot be decoded: recorded.
	ents := []*cfbEntry{msgSubject(), {name: "__substg1.0_10130102", data: append([]byte{0xFF, 0xFE}, append(utf16le("<p>Patient"), 'x')...)}}
	if passes, text := msgPasses(t, ents); passes {
		t.Errorf("an odd-length UTF-16 HTML body passes; text %q", text)
	}
	// Control: HTML in a single-byte code page, a NUL at its end, is read
	// as it is, nothing recorded.
	for _, data := range [][]byte{[]byte("<p>Caf\xe9 at noon</p>\x00"), append(utf16le("<p>Noon</p>"), 0, 0)} {
		ents = []*cfbEntry{msgSubject(), {name: "__substg1.0_10130102", data: data}}
		if passes, text := msgPasses(t, ents); !passes || !strings.Contains(text, "noon") && !strings.Contains(text, "Noon") {
			t.Errorf("control: HTML body %q: passes %v, text %q", data, passes, text)
		}
	}
}

// A .msg that also holds a "PowerPoint Document" stream is still a
// message: Outlook opens it and shows its bodies.
func TestMsgWithOfficeStream(t *testing.T) {
	ents := []*cfbEntry{msgSubject(),
		{name: "__substg1.0_1000001F", data: utf16le("Patient SSN " + testSSN)},
		{name: "PowerPoint Document", data: []byte("nothing here")}}
	if passes, text := msgPasses(t, ents); passes {
		t.Errorf("a .msg with a PowerPoint Document stream passes; text %q", text)
	}
	// And the document beside the bodies is read too.
	ppt := pptRecord(0x000F, 0x03E8, pptRecord(0, 0x0FA0, utf16le("Patient SSN\r"+testSSN)))
	ents = []*cfbEntry{msgSubject(),
		{name: "__substg1.0_1000001F", data: utf16le("See you tomorrow.")},
		{name: "PowerPoint Document", data: ppt}}
	if passes, text := msgPasses(t, ents); passes {
		t.Errorf("a .msg whose PowerPoint Document stream holds the SSN passes; text %q", text)
	}
}

// An attachment stored as an OLE object (PR_ATTACH_METHOD 6) whose storage
// also holds one MAPI stream: the presentation in it is read as well.
func TestMsgOLEAttachmentWithMAPIStream(t *testing.T) {
	ppt := pptRecord(0x000F, 0x03E8, pptRecord(0, 0x0FA0, utf16le("Patient SSN\r"+testSSN)))
	ents := []*cfbEntry{msgSubject(), {name: "__substg1.0_1000001F", data: utf16le("See attached.")},
		{name: "__attach_version1.0_#00000000", children: []*cfbEntry{
			{name: "__substg1.0_3707001F", data: utf16le("deck.ppt")},
			{name: "__substg1.0_37050003", data: []byte{6, 0, 0, 0}},
			{name: "__substg1.0_3701000D", children: []*cfbEntry{
				{name: "PowerPoint Document", data: ppt},
				{name: "__substg1.0_0037001F", data: utf16le("decoy")},
			}},
		}}}
	if passes, text := msgPasses(t, ents); passes {
		t.Errorf("an OLE attachment with a stray MAPI stream passes; text %q", text)
	}
	// Control: without the stray stream the presentation is read.
	ents[2].children[2].children = ents[2].children[2].children[:1]
	if passes, text := msgPasses(t, ents); passes {
		t.Errorf("control: the OLE attachment passes; text %q", text)
	}
}
