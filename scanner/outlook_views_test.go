package scanner

// Which of an Outlook message's bodies a reader shows is up to the reader
// (Outlook shows the RTF or HTML of a rich message, whatever its plain
// body says), so each body present is read: plain, HTML and compressed
// RTF, in every property type a stream of the tag has, and named in any
// case, as compound-file names compare. These are the messages a review
// found passing unseen: an SSN shown to the reader that the scanner
// neither found nor recorded unreadable.

import (
	"context"
	"strings"
	"testing"
)

func msgSubject() *cfbEntry { return &cfbEntry{name: "__substg1.0_0037001F", data: utf16le("Results")} }

const msgRTFSSN = `{\rtf1\ansi\ansicpg1252\deff0{\fonttbl{\f0 Calibri;}}\f0 Patient SSN ` + testSSN + `\par}`

// A stream read past the message's decompression budget overdraws it by
// the byte that tells the read over its limit; the next read then found a
// negative limit and sliced at it (a panic). The budget's end is recorded
// once, as such, not as a stream larger than MaxEntry.
func TestMsgBudgetOverdrawn(t *testing.T) {
	// MaxTotal 64: a budget of 256 bytes, used up by PR_BODY.
	m := cfb(t, []*cfbEntry{msgSubject(),
		{name: "__substg1.0_1000001F", data: utf16le(strings.Repeat("x", 150))},
		{name: "__substg1.0_10130102", data: []byte("<p>SSN " + testSSN + "</p>")},
		{name: "__substg1.0_10090102", data: compressRTF(msgRTFSSN)}})
	x := extract(t, multipartMsg("m", attachment("m.msg", "application/vnd.ms-outlook", m)), Limits{MaxTotal: 64})
	if !x.Truncated || len(x.Unreadable) != 1 || x.Unreadable[0] != (Unreadable{"attachment m.msg", "decompression budget of 256 bytes for the message used up"}) {
		t.Errorf("unreadable %+v, truncated %v", x.Unreadable, x.Truncated)
	}
	e := textExtractor(context.Background())
	e.work = -1
	b, over, err := e.read(strings.NewReader("abc"), 10, true)
	if len(b) != 0 || !over || err != nil {
		t.Errorf("read = %q, %v, %v; want nothing, over", b, over, err)
	}
}
