package scanner

// Which of an Outlook message's bodies a reader shows is up to the reader
// (Outlook shows the RTF or HTML of a rich message, whatever its plain
// body says), so each body present is read: plain, HTML and compressed
// RTF, in every property type a stream of the tag has, and named in any
// case, as compound-file names compare. These are the messages a review
// found passing unseen: an SSN shown to the reader that the scanner
// neither found nor recorded unreadable.

import (
	"bytes"
	"context"
	"strings"
	"testing"
)

// msgPasses reports whether the .msg built from ents passes with neither
// an SSN found nor anything recorded (unreadable or truncated), and the
// message's text.
func msgPasses(t *testing.T, ents []*cfbEntry) (bool, string) {
	t.Helper()
	x := extract(t, multipartMsg("m", attachment("m.msg", "application/vnd.ms-outlook", cfb(t, ents))), Limits{})
	text := ""
	if p := partBySource(x, "attachment m.msg"); p != nil {
		text = string(p.Text)
	}
	for _, f := range Scan(x.Text(), Options{}) {
		if f.Detector == "us_ssn" {
			return false, text
		}
	}
	return len(x.Unreadable) == 0 && !x.Truncated, text
}

func msgSubject() *cfbEntry { return &cfbEntry{name: "__substg1.0_0037001F", data: utf16le("Results")} }

// forwardMsg is a message "Results" that forwards one: the attachment
// storage attach holds the message storage embedded (both named as given),
// which holds a subject and inner.
func forwardMsg(attach, embedded string, inner ...*cfbEntry) []*cfbEntry {
	sub := append([]*cfbEntry{{name: "__substg1.0_0037001F", data: utf16le("Results")}}, inner...)
	return []*cfbEntry{msgSubject(), {name: "__substg1.0_1000001F", data: utf16le("Forwarding.")},
		{name: attach, children: []*cfbEntry{{name: embedded, children: sub}}}}
}

const msgRTFSSN = `{\rtf1\ansi\ansicpg1252\deff0{\fonttbl{\f0 Calibri;}}\f0 Patient SSN ` + testSSN + `\par}`

// A plain or HTML body that says something else (or nothing) beside the
// RTF or HTML body that holds the SSN: every body is read, in the order
// plain, HTML, RTF, each whole unless it is the same as one before.
func TestMsgEveryBody(t *testing.T) {
	rtf := &cfbEntry{name: "__substg1.0_10090102", data: compressRTF(msgRTFSSN)}
	for name, c := range map[string]struct {
		ents []*cfbEntry
		text string
	}{
		"PR_BODY decoy, RTF": {[]*cfbEntry{msgSubject(), {name: "__substg1.0_1000001F", data: utf16le("See you tomorrow.")}, rtf},
			"Results\nSee you tomorrow.\nPatient SSN " + testSSN + "\n\n"},
		"PR_BODY empty, RTF": {[]*cfbEntry{msgSubject(), {name: "__substg1.0_1000001F", data: []byte{}}, rtf},
			"Results\nPatient SSN " + testSSN + "\n\n"},
		"PR_BODY 001E empty, RTF": {[]*cfbEntry{msgSubject(), {name: "__substg1.0_1000001E", data: []byte{0}}, rtf},
			"Results\nPatient SSN " + testSSN + "\n\n"},
		"PR_HTML decoy, RTF": {[]*cfbEntry{msgSubject(), {name: "__substg1.0_10130102", data: []byte("<p>See you tomorrow.</p>")}, rtf},
			"Results\n\nSee you tomorrow.\n\nPatient SSN " + testSSN + "\n\n"},
		"PR_BODY decoy, PR_HTML": {[]*cfbEntry{msgSubject(), {name: "__substg1.0_1000001F", data: utf16le("See you tomorrow.")},
			{name: "__substg1.0_10130102", data: []byte("<p>SSN " + testSSN + "</p>")}},
			"Results\nSee you tomorrow.\n\nSSN " + testSSN + "\n\n"},
		"forwarded: PR_BODY decoy, RTF": {forwardMsg("__attach_version1.0_#00000000", "__substg1.0_3701000D",
			&cfbEntry{name: "__substg1.0_1000001F", data: utf16le("See you tomorrow.")}, &cfbEntry{name: "__substg1.0_10090102", data: compressRTF(msgRTFSSN)}),
			"Results\nForwarding.\nResults\nSee you tomorrow.\nPatient SSN " + testSSN + "\n\n"},
	} {
		if passes, text := msgPasses(t, c.ents); passes || text != c.text {
			t.Errorf("%s: passes %v, text %q; want %q", name, passes, text, c.text)
		}
	}

	// Bodies that agree, as Outlook writes them: the SSN is counted once,
	// not once a body, so min_count rules are not tripped on half the data.
	agree := cfb(t, []*cfbEntry{msgSubject(),
		{name: "__substg1.0_1000001F", data: utf16le("Dear Dr. Roe,\r\n\r\nPatient SSN " + testSSN + "\r\n")},
		{name: "__substg1.0_10130102", data: []byte("<html><body><p>Dear Dr. Roe,</p><p>Patient SSN&nbsp;" + testSSN + "</p></body></html>")},
		{name: "__substg1.0_10090102", data: compressRTF(`{\rtf1\ansi Dear Dr. Roe,\par\par Patient SSN ` + testSSN + `\par}`)},
	})
	x := extract(t, multipartMsg("m", attachment("m.msg", "application/vnd.ms-outlook", agree)), Limits{})
	if fs := Scan(x.Text(), Options{}); len(fs) != 1 || len(x.Unreadable) > 0 {
		t.Errorf("agreeing bodies: findings %+v, unreadable %+v, text %q", fs, x.Unreadable, x.Text())
	}

	// A corrupt RTF body beside a good plain one is still unreadable.
	bad := compressRTF(msgRTFSSN)
	bad[len(bad)-5] ^= 1
	x = extract(t, multipartMsg("m", attachment("m.msg", "application/vnd.ms-outlook", cfb(t, []*cfbEntry{msgSubject(),
		{name: "__substg1.0_1000001F", data: utf16le("See you tomorrow.")}, {name: "__substg1.0_10090102", data: bad}}))), Limits{})
	if !unreadableFor(x, "attachment m.msg", "corrupt compressed RTF body (PR_RTF_COMPRESSED)") {
		t.Errorf("corrupt RTF beside a plain body: unreadable %+v", x.Unreadable)
	}
}

// A property has one type, but a stream of the same tag and another type
// is there to be read: a stray 001F PR_BODY does not hide the 001E one.
func TestMsgBodyEveryType(t *testing.T) {
	for name, c := range map[string]struct {
		ents []*cfbEntry
		text string
	}{
		"PR_BODY 001F decoy, 001E": {[]*cfbEntry{msgSubject(),
			{name: "__substg1.0_1000001F", data: utf16le("See you tomorrow.")},
			{name: "__substg1.0_1000001E", data: []byte("Patient SSN " + testSSN + "\x00")}},
			"Results\nSee you tomorrow.\nPatient SSN " + testSSN + "\n"},
		"PR_HTML 001F decoy, 0102": {[]*cfbEntry{msgSubject(),
			{name: "__substg1.0_1013001F", data: utf16le("<p>See you tomorrow.</p>")},
			{name: "__substg1.0_10130102", data: []byte("<p>Patient SSN " + testSSN + "</p>")}},
			"Results\n\nSee you tomorrow.\n\n\nPatient SSN " + testSSN + "\n\n"},
		"both types agree": {[]*cfbEntry{msgSubject(),
			{name: "__substg1.0_1000001F", data: utf16le("Patient SSN " + testSSN)},
			{name: "__substg1.0_1000001E", data: []byte("Patient SSN " + testSSN + "\x00")}},
			"Results\nPatient SSN " + testSSN + "\n"},
	} {
		if passes, text := msgPasses(t, c.ents); passes || text != c.text {
			t.Errorf("%s: passes %v, text %q; want %q", name, passes, text, c.text)
		}
	}
}

// Compound-file names compare case-insensitively, so Outlook finds a
// property, an attachment or an attached message whatever the case of its
// name; so does the scanner.
func TestMsgStreamNameCase(t *testing.T) {
	for name, c := range map[string]struct {
		ents []*cfbEntry
		text string
	}{
		"upper prefix, PR_BODY": {[]*cfbEntry{msgSubject(), {name: "__SUBSTG1.0_1000001F", data: utf16le("Patient SSN " + testSSN)}},
			"Results\nPatient SSN " + testSSN + "\n"},
		"lower hex, PR_BODY": {[]*cfbEntry{msgSubject(), {name: "__substg1.0_1000001f", data: utf16le("Patient SSN " + testSSN)}},
			"Results\nPatient SSN " + testSSN + "\n"},
		"upper prefix, RTF": {[]*cfbEntry{msgSubject(), {name: "__SUBSTG1.0_10090102", data: compressRTF(msgRTFSSN)}},
			"Results\nPatient SSN " + testSSN + "\n\n"},
		"upper attachment storage, forwarded message": {forwardMsg("__ATTACH_VERSION1.0_#00000000", "__substg1.0_3701000D",
			&cfbEntry{name: "__substg1.0_10090102", data: compressRTF(msgRTFSSN)}),
			"Results\nForwarding.\nResults\nPatient SSN " + testSSN + "\n\n"},
		"upper attached-message storage": {forwardMsg("__attach_version1.0_#00000000", "__SUBSTG1.0_3701000D",
			&cfbEntry{name: "__substg1.0_1000001F", data: utf16le("Patient SSN " + testSSN)}),
			"Results\nForwarding.\nResults\nPatient SSN " + testSSN + "\n"},
	} {
		if passes, text := msgPasses(t, c.ents); passes || text != c.text {
			t.Errorf("%s: passes %v, text %q; want %q", name, passes, text, c.text)
		}
	}

	// Two names that differ only in case: which one a reader opens is
	// the reader's, so the message is unreadable.
	x := extract(t, multipartMsg("m", attachment("m.msg", "application/vnd.ms-outlook", cfb(t, []*cfbEntry{msgSubject(),
		{name: "__substg1.0_1000001F", data: utf16le("See you tomorrow.")},
		{name: "__SUBSTG1.0_1000001F", data: utf16le("Patient SSN " + testSSN)}}))), Limits{})
	if !unreadableFor(x, "attachment m.msg", "corrupt OLE compound file: two entries named __SUBSTG1.0_1000001F") {
		t.Errorf("two names in two cases: unreadable %+v", x.Unreadable)
	}

	// An attachment's data and name in upper case.
	x = extract(t, multipartMsg("m", attachment("m.msg", "application/vnd.ms-outlook", cfb(t, []*cfbEntry{msgSubject(),
		{name: "__Attach_Version1.0_#00000000", children: []*cfbEntry{
			{name: "__SUBSTG1.0_3707001F", data: utf16le("note.txt")},
			{name: "__SUBSTG1.0_37010102", data: []byte("SSN " + testSSN)},
		}}}))), Limits{})
	if p := partBySource(x, "attachment m.msg > attachment note.txt"); p == nil || string(p.Text) != "SSN "+testSSN || len(x.Unreadable) > 0 {
		t.Errorf("upper-case attachment: parts %+v, unreadable %+v", x.Parts, x.Unreadable)
	}

	// Word, Excel and PowerPoint files with their streams named in
	// another case are read as well.
	doc := wordFile{size: 1024, csw: 14, cslw: 22, tables: "1", flags: 0x0200,
		pieces: []wordPiece{{text: "Patient SSN " + testSSN, at: 0x200, ansi: true}}}.streams()
	for _, s := range doc {
		s.name = strings.ToLower(s.name)
	}
	xls := biffRec(0x0203, u16(0, 0, 15), f64(536221234))
	rec := pptRecord
	ppt := rec(0x000F, 0x03E8, rec(0, 0x0FA0, utf16le("Patient SSN "+testSSN)))
	for name, c := range map[string]struct {
		file []byte
		text string
	}{
		"a.doc": {cfb(t, doc), "Patient SSN " + testSSN},
		"a.xls": {cfb(t, []*cfbEntry{{name: "WORKBOOK", data: bytes.Join([][]byte{biffRec(0x0809, make([]byte, 16)), xls}, nil)}}), "536221234\n"},
		"b.xls": {cfb(t, []*cfbEntry{{name: "book", data: bytes.Join([][]byte{biffRec(0x0809, make([]byte, 16)), xls}, nil)}}), "536221234\n"},
		"a.ppt": {cfb(t, []*cfbEntry{{name: "POWERPOINT DOCUMENT", data: ppt}}), "Patient SSN " + testSSN + "\n"},
	} {
		x := extract(t, multipartMsg("m", attachment(name, "application/octet-stream", c.file)), Limits{})
		if p := partBySource(x, "attachment "+name); p == nil || string(p.Text) != c.text || len(x.Unreadable) > 0 {
			t.Errorf("%s: parts %+v, unreadable %+v; want %q", name, x.Parts, x.Unreadable, c.text)
		}
	}
	x = extract(t, multipartMsg("m", attachment("locked.docx", "application/octet-stream",
		cfb(t, []*cfbEntry{{name: "encryptioninfo", data: []byte{4, 0, 4, 0}}, {name: "ENCRYPTEDPACKAGE", data: make([]byte, 100)}}))), Limits{})
	if !unreadableFor(x, "attachment locked.docx", "encrypted Office document") {
		t.Errorf("encrypted package in lower case: unreadable %+v", x.Unreadable)
	}
}

// forwardedRTF is a message with n messages attached, each an RTF body.
func forwardedRTF(t *testing.T, n int) []byte {
	ents := []*cfbEntry{msgSubject()}
	for i := range n {
		ents = append(ents, &cfbEntry{name: "__attach_version1.0_#0000000" + string(rune('A'+i)), children: []*cfbEntry{
			{name: "__substg1.0_3701000D", children: []*cfbEntry{
				{name: "__substg1.0_0037001F", data: utf16le("Results")},
				{name: "__substg1.0_10090102", data: compressRTF(msgRTFSSN)},
			}},
		}})
	}
	return cfb(t, ents)
}

// countingCtx counts the looks at its deadline, which passes after the
// first `left`.
type countingCtx struct {
	context.Context
	left, looks int
}

func (c *countingCtx) Err() error {
	c.looks++
	if c.looks > c.left {
		return context.DeadlineExceeded
	}
	return nil
}

// The attached messages' bodies stop at the deadline: once it is
// recorded no further message is begun (each looked at the deadline
// again, a read a stream). The decompression budget's end, in the second
// of 20 messages, is recorded once.
func TestMsgAttachedBodiesStop(t *testing.T) {
	const n = 20
	m := forwardedRTF(t, n)
	ctx := &countingCtx{Context: context.Background(), left: 3}
	e := textExtractor(ctx)
	e.ole("attachment", "m.msg", m, 0)
	if !deadlineRecorded(e.out) || len(e.out.Unreadable) != 1 || ctx.looks > ctx.left+4 {
		t.Errorf("deadline: unreadable %+v, %d looks after the first %d; want the deadline, and the loop stopped", e.out.Unreadable, ctx.looks-ctx.left, ctx.left)
	}

	// MaxTotal 64: a budget of 256 bytes.
	x := extract(t, multipartMsg("m", attachment("m.msg", "application/vnd.ms-outlook", m)), Limits{MaxTotal: 64})
	if len(x.Unreadable) != 1 || !strings.Contains(x.Unreadable[0].Reason, "decompression budget") || !x.Truncated {
		t.Errorf("budget: unreadable %+v", x.Unreadable)
	}
}

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

// Review findings against reading a further view only for the lines the
// views before it lack: a decoy line that differs only in white space
// the detectors do not take as a separator cancelled the shown line, and
// a shown line taken out of its context lost the words the detector needs.
// Every view is read whole now.
func TestMsgViewWhitespaceDecoy(t *testing.T) {
	spaced := "536 22 1234"
	for name, plain := range map[string]string{
		"tabs":      "Patient SSN 536\t22\t1234",
		"em spaces": "Patient SSN 536\u200322\u20031234",
	} {
		ents := []*cfbEntry{msgSubject(),
			{name: "__substg1.0_1000001F", data: utf16le(plain)},
			{name: "__substg1.0_10090102", data: compressRTF(`{\rtf1\ansi Patient SSN ` + spaced + `\par}`)}}
		if passes, text := msgPasses(t, ents); passes {
			t.Errorf("%s: RTF body shows %q, the scanner passes the message; text %q", name, "Patient SSN "+spaced, text)
		}
	}
}

// The decoy plain body puts the SSN line under a negative word; the RTF
// body Outlook shows puts it under "SSN". The shown line is cancelled and
// only the keyword line is added, away from the number.
func TestMsgViewContextDecoy(t *testing.T) {
	ents := []*cfbEntry{msgSubject(),
		{name: "__substg1.0_1000001F", data: utf16le("Order number\r\n" + testSSN + "\r\n")},
		{name: "__substg1.0_10090102", data: compressRTF(`{\rtf1\ansi Patient SSN\par ` + testSSN + `\par}`)}}
	if passes, text := msgPasses(t, ents); passes {
		t.Errorf("RTF body shows %q, the scanner passes the message; text %q", "Patient SSN\n"+testSSN, text)
	}
	// Undashed: the keyword must be near. Filler keeps it away.
	filler := strings.Repeat("Kind regards from the front desk team.\r\n", 3)
	ents = []*cfbEntry{msgSubject(),
		{name: "__substg1.0_1000001F", data: utf16le("Patient SSN\r\n" + filler + "536221234\r\n")},
		{name: "__substg1.0_10090102", data: compressRTF(`{\rtf1\ansi ` + strings.ReplaceAll(filler, "\r\n", `\par `) + `Patient SSN\par 536221234\par}`)}}
	// here the plain body itself holds "SSN" far from the number; the RTF
	// view shows them adjacent.
	if passes, text := msgPasses(t, ents); passes {
		t.Errorf("undashed: RTF body shows %q, the scanner passes the message; text %q", "Patient SSN\n536221234", text)
	}
}

// One compressed RTF body, HTML kept as RTF: Outlook shows the HTML view;
// the RTF view (inside \htmlrtf) is the decoy with the same line key.
func TestMsgFromHTMLViewDecoy(t *testing.T) {
	rtf := `{\rtf1\ansi\ansicpg1252\fromhtml1 \deff0{\fonttbl{\f0 Arial;}}` +
		`{\*\htmltag64 <p>}\htmlrtf Patient SSN 536\tab 22\tab 1234\par\htmlrtf0 ` +
		`{\*\htmltag64 <p>}{\*\htmltag84 Patient SSN 536 22 1234}{\*\htmltag72 </p>}}`
	ents := []*cfbEntry{msgSubject(), {name: "__substg1.0_10090102", data: compressRTF(rtf)}}
	if passes, text := msgPasses(t, ents); passes {
		t.Errorf("HTML view shows the SSN, the scanner passes; text %q", text)
	}
}
