package mailer

import (
	"bytes"
	"context"
	"errors"
	"net"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/postseal/postseal/test/mta"
)

// startPostfix runs a private Postfix on loopback (see test/mta).
func startPostfix(t *testing.T, o mta.Options) *mta.Postfix {
	t.Helper()
	if os.Geteuid() != 0 {
		if os.Getenv("CI") != "" {
			t.Fatal("needs root in CI")
		}
		t.Skip("needs root to run a private Postfix")
	}
	pf, err := mta.StartPostfix(o)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("maillog:\n%s", pf.MaillogTail(40))
		}
		pf.Stop()
	})
	return pf
}

func TestSendDeliversThroughPostfix(t *testing.T) {
	pf := startPostfix(t, mta.Options{})
	msg := "From: postseal@example.org\r\nTo: pat@ext.example\r\nSubject: hello\r\n\r\n.leading dot line\r\nbody\r\n"
	s := &SMTP{Addr: pf.SMTPAddr()}
	if err := s.Send(context.Background(), "postseal@example.org", []string{"pat@ext.example", "sam@ext.example"}, strings.NewReader(msg)); err != nil {
		t.Fatal(err)
	}
	for _, rcpt := range []string{"pat@ext.example", "sam@ext.example"} {
		d, err := pf.WaitDelivered(rcpt, 1, 20*time.Second)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Contains(d[0].Data, []byte("\n.leading dot line\r\nbody\r\n")) && !bytes.Contains(d[0].Data, []byte("\n.leading dot line\nbody\n")) {
			t.Errorf("%s: body not delivered intact (dot-stuffing):\n%s", rcpt, d[0].Data)
		}
	}
}

func TestSendReportsRefusal(t *testing.T) {
	pf := startPostfix(t, mta.Options{MessageSizeLimit: 1000})
	s := &SMTP{Addr: pf.SMTPAddr()}
	err := s.Send(context.Background(), "postseal@example.org", []string{"pat@ext.example"}, strings.NewReader("Subject: big\r\n\r\n"+strings.Repeat("x", 5000)+"\r\n"))
	var se *Error
	if !errors.As(err, &se) || se.Code != 552 || se.Temporary() {
		t.Fatalf("Send = %v; want a permanent 552 refusal", err)
	}
}

// An MTA that accepts the connection but never speaks must not hold the
// sender past its deadline (the milter's message would wait with it).
func TestSendTimesOutOnSilentPeer(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			defer c.Close() // held open, silent
		}
	}()
	s := &SMTP{Addr: l.Addr().String(), Timeout: 300 * time.Millisecond}
	start := time.Now()
	if err := s.Send(context.Background(), "a@example.org", []string{"b@ext.example"}, strings.NewReader("x\r\n")); err == nil {
		t.Fatal("Send to a silent peer succeeded")
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("Send took %v against a silent peer with a 300ms timeout", d)
	}
	if err := (&SMTP{Addr: "127.0.0.1:9"}).Send(context.Background(), "a@example.org", []string{"b@ext.example"}, strings.NewReader("x\r\n")); err == nil {
		t.Error("Send to a closed port succeeded")
	}
}

// refusingPostfix is a private Postfix that refuses gone@ext.example for
// good, busy@ext.example for now and full@ext.example with a 552 (which
// at RCPT TO means "try later", RFC 5321 §4.5.3.1.10), at RCPT TO, and
// takes every other recipient.
func refusingPostfix(t *testing.T) *mta.Postfix {
	t.Helper()
	return startPostfix(t, mta.Options{Postconf: []string{
		"smtpd_recipient_restrictions=check_recipient_access inline:{ {gone@ext.example=550 5.1.1 no such user}, {busy@ext.example=450 4.2.1 try again later}, {full@ext.example=552 5.5.3 too many recipients} }, permit_mynetworks, reject",
	}})
}

// A recipient the MTA refuses for good does not cost the others their
// copy: a reply to three addresses, one of them mistyped, reaches the two
// (it used to be dropped whole, for every recipient).
func TestSendEachDeliversToTheAccepted(t *testing.T) {
	pf := refusingPostfix(t)
	s := &SMTP{Addr: pf.SMTPAddr()}
	msg := "From: postseal@example.org\r\nSubject: reply\r\n\r\nhello\r\n"
	out, err := s.SendEach(context.Background(), "postseal@example.org", []string{"pat@ext.example", "gone@ext.example", "sam@ext.example"}, strings.NewReader(msg))
	if err != nil {
		t.Fatalf("SendEach = %v; want the message sent to the two accepted recipients", err)
	}
	if len(out.Refused) != 1 || out.Refused[0].Recipient != "gone@ext.example" || out.Refused[0].Err.Code != 550 || len(out.Deferred) != 0 {
		t.Fatalf("outcome = %+v; want gone@ext.example refused with 550", out)
	}
	for _, rcpt := range []string{"pat@ext.example", "sam@ext.example"} {
		if _, err := pf.WaitDelivered(rcpt, 1, 20*time.Second); err != nil {
			t.Fatal(err)
		}
	}
	// Send keeps all or nothing (the milter temp-fails and the MTA retries
	// the whole message): the same refusal stops it before DATA.
	err = s.Send(context.Background(), "postseal@example.org", []string{"kim@ext.example", "gone@ext.example"}, strings.NewReader(msg))
	var se *Error
	if !errors.As(err, &se) || se.Code != 550 {
		t.Fatalf("Send with a refused recipient = %v; want the 550", err)
	}
	nothingFor(t, pf, "kim@ext.example")
}

// nothingFor fails unless the MTA holds no message for rcpt, queued or
// delivered (the queue is looked at first, so a message leaving it would
// show up as delivered).
func nothingFor(t *testing.T, pf *mta.Postfix, rcpt string) {
	t.Helper()
	queued, err := pf.QueuedFor(rcpt)
	if err != nil {
		t.Fatal(err)
	}
	delivered, err := pf.DeliveredTo(rcpt)
	if err != nil {
		t.Fatal(err)
	}
	if len(queued)+len(delivered) != 0 {
		t.Errorf("%s: %d queued, %d delivered; want none", rcpt, len(queued), len(delivered))
	}
}

// Recipients refused for now (450, and 552 at RCPT TO) are returned as
// deferred while the others get the message; when no recipient is taken
// nothing is sent, and a deferral is the answer (to be retried) even
// after a refusal.
func TestSendEachDefersAndRefuses(t *testing.T) {
	pf := refusingPostfix(t)
	s := &SMTP{Addr: pf.SMTPAddr()}
	out, err := s.SendEach(context.Background(), "postseal@example.org", []string{"lee@ext.example", "busy@ext.example", "gone@ext.example", "full@ext.example"}, strings.NewReader("Subject: x\r\n\r\nx\r\n"))
	if err != nil {
		t.Fatalf("SendEach = %v; want sent to lee@ext.example", err)
	}
	if len(out.Deferred) != 2 || out.Deferred[0].Recipient != "busy@ext.example" || out.Deferred[0].Err.Code != 450 ||
		out.Deferred[1].Recipient != "full@ext.example" || out.Deferred[1].Err.Code != 552 ||
		len(out.Refused) != 1 || out.Refused[0].Recipient != "gone@ext.example" {
		t.Fatalf("outcome = %+v; want busy (450) and full (552) deferred, gone refused", out)
	}
	if _, err := pf.WaitDelivered("lee@ext.example", 1, 20*time.Second); err != nil {
		t.Fatal(err)
	}
	out, err = s.SendEach(context.Background(), "postseal@example.org", []string{"gone@ext.example", "busy@ext.example"}, strings.NewReader("Subject: x\r\n\r\nx\r\n"))
	var se *Error
	if !errors.As(err, &se) || se.Code != 450 || len(out.Deferred) != 1 || len(out.Refused) != 1 {
		t.Fatalf("SendEach to a refused and a deferred recipient = %+v, %v; want the 450", out, err)
	}
	out, err = s.SendEach(context.Background(), "postseal@example.org", []string{"gone@ext.example"}, strings.NewReader("Subject: x\r\n\r\nx\r\n"))
	if !errors.As(err, &se) || se.Code != 550 || len(out.Refused) != 1 {
		t.Fatalf("SendEach to refused recipients only = %+v, %v; want the 550", out, err)
	}
}
