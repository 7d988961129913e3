package scanner

// An Outlook message's subject in every property type, a binary HTML body
// in UTF-16, and a compound file or OLE-object storage that holds both a
// message's property streams and an Office document: each shows a reader
// an SSN that the scanner once neither found nor recorded unreadable
// (review findings).

import (
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
