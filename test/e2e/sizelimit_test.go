package e2e

import (
	"bytes"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/postseal/postseal/test/mta"
)

// TestShippedSizeLimit: the shipped main.cf.snippet's message_size_limit
// is what a tagged message at postseal's 10 MB limit needs once sealed.
// Its worst case is a body that does not compress (random 8-bit text): the
// sealed copy is ~1.4 times larger. With Postfix's default limit
// (10240000) that copy is refused; with the shipped one it is delivered.
func TestShippedSizeLimit(t *testing.T) {
	needRoot(t)
	reinject := freePort(t)
	ps := startPostseal(t, PostsealConfig{ReinjectPort: reinject})
	msg := incompressibleMessage(9_990_000)

	// The shipped snippet as is (apart from the socket): sealed, delivered.
	pf := startPostfix(t, mta.Options{Milter: postfixMilterAddr(ps.MilterPort), ReinjectPort: reinject})
	rcpt := "big@partner.example.net"
	mark := postfixMustAccept(t, pf, mta.SMTP, postfixSender, []string{rcpt}, msg)
	d := postfixWait(t, pf, mark, rcpt, 1)[0]
	if !bytes.Contains(d.Data, []byte("X-Postseal-Envelope:")) {
		t.Fatal("the large message was not sealed")
	}
	if len(d.Data) <= 10240000 {
		t.Fatalf("sealed copy of %d bytes: this message no longer shows why the limit was raised", len(d.Data))
	}
	t.Logf("a %d-byte incompressible message was delivered sealed as %d bytes", len(msg), len(d.Data))

	// Postfix's default limit refuses the sealed copy (the message itself
	// fits): the snippet's raise is needed.
	pfDefault := startPostfix(t, mta.Options{Milter: postfixMilterAddr(ps.MilterPort), ReinjectPort: reinject, MessageSizeLimit: 10240000})
	rep := postfixSend(t, pfDefault, mta.SMTP, postfixSender, []string{rcpt}, msg)
	if rep.Code/100 != 5 || !strings.Contains(rep.Text, "5.3.4") {
		t.Errorf("with message_size_limit = 10240000: %v; want 552 5.3.4 for the sealed copy", rep)
	}
}

// incompressibleMessage is a *secure* message of about size bytes whose
// body is random printable 8-bit text in lines of 990 octets.
func incompressibleMessage(size int) []byte {
	var b bytes.Buffer
	b.Grow(size + 1024)
	b.WriteString("From: Radiology <radiology@example.org>\r\nTo: <big@partner.example.net>\r\n" +
		"Subject: *secure* Raw scanner export\r\nDate: Mon, 23 Nov 2026 16:00:00 +0000\r\n" +
		"Message-ID: <incompressible@example.org>\r\nMIME-Version: 1.0\r\n" +
		"Content-Type: application/octet-stream\r\nContent-Transfer-Encoding: 8bit\r\n\r\n")
	r := rand.New(rand.NewPCG(1, 2))
	for col := 0; b.Len() < size; col++ {
		if col == 990 {
			b.WriteString("\r\n")
			col = 0
		}
		c := byte(r.IntN(256))
		if c < 0x21 || c == 0x7f { // no control characters: no CR, LF or NUL
			c = 'x'
		}
		b.WriteByte(c)
	}
	b.WriteString("\r\n")
	return b.Bytes()
}

// TestScannerLargeMail: untagged mail far over max_secure_size is scanned,
// not refused for its size alone — a clean 30 MB message passes untouched;
// the same with a Social Security number cannot be sealed (too large) and
// is refused with a sentence that says both.
func TestScannerLargeMail(t *testing.T) {
	needRoot(t)
	reinject := freePort(t)
	ps := startPostseal(t, PostsealConfig{ReinjectPort: reinject, Extra: "[scanner]\nenabled = true\n"})
	pf := startPostfix(t, mta.Options{Milter: postfixMilterAddr(ps.MilterPort), ReinjectPort: reinject, MessageSizeLimit: 40_000_000})
	rcpt := "archive@partner.example.net"
	large := func(extra string) []byte {
		var b bytes.Buffer
		b.WriteString("From: Records <records@example.org>\r\nTo: <" + rcpt + ">\r\nSubject: Quarterly export\r\n" +
			"Date: Thu, 03 Dec 2026 09:00:00 +0000\r\nMessage-ID: <export-" + strings.ReplaceAll(extra[:min(4, len(extra))], " ", "") + "@example.org>\r\n" +
			"MIME-Version: 1.0\r\nContent-Type: text/plain; charset=us-ascii\r\n\r\n")
		line := "Ward 4 linen inventory, no patient data in this line at all.\r\n"
		for b.Len() < 30_000_000 {
			b.WriteString(line)
		}
		b.WriteString(extra)
		return b.Bytes()
	}
	clean := large("End of export.\r\n")
	mark := postfixMustAccept(t, pf, mta.SMTP, postfixSender, []string{rcpt}, clean)
	postfixAssertUntouched(t, postfixWait(t, pf, mark, rcpt, 1)[0], clean)

	rep := postfixSend(t, pf, mta.SMTP, postfixSender, []string{rcpt}, large("Patient SSN: 536-22-1234\r\n"))
	if rep.Code != 552 || !strings.Contains(rep.Text, "contains a Social Security number and is too large to encrypt") {
		t.Errorf("30 MB with an SSN: %v; want 552 naming the reason", rep)
	}
}
