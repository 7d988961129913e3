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
