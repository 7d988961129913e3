package mta

import (
	"os"
	"strings"
	"testing"
	"time"
)

// TestPostfixSink checks the harness alone: a private Postfix without
// milters delivers SMTP and sendmail(1) submissions into the sink, one file
// per recipient with its Delivered-To:, and reports rejections verbatim.
func TestPostfixSink(t *testing.T) {
	if os.Geteuid() != 0 {
		if os.Getenv("CI") != "" {
			t.Fatal("needs root in CI")
		}
		t.Skip("needs root")
	}
	pf, err := StartPostfix(Options{MessageSizeLimit: 100000})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("maillog:\n%s", pf.MaillogTail(60))
		}
		if err := pf.Stop(); err != nil {
			t.Error(err)
		}
		if _, err := os.Stat(pf.Dir); !os.IsNotExist(err) {
			t.Errorf("instance folder %s left behind", pf.Dir)
		}
	})
	msg := []byte("From: a@example.org\nTo: b@partner.example.net\nSubject: sink test\nDate: Mon, 23 Nov 2026 10:00:00 +0000\nMessage-ID: <sink@example.org>\n\nline one\n.leading dot\n..two dots\nlast\n")
	rep, err := Send(pf.SMTPAddr(), "a@example.org", []string{"b@partner.example.net", "c@other.example.com"}, msg)
	if err != nil {
		t.Fatal(err)
	}
	if !rep.Accepted() || !strings.HasPrefix(rep.Text, "2.0.0 Ok: queued") {
		t.Fatalf("not accepted: %v", rep)
	}
	for _, rc := range []string{"b@partner.example.net", "c@other.example.com"} {
		got, err := pf.WaitDelivered(rc, 1, 10*time.Second)
		if err != nil {
			t.Fatal(err)
		}
		body := string(got[0].Data)
		if !strings.HasSuffix(body, "\n\nline one\n.leading dot\n..two dots\nlast\n") {
			t.Errorf("%s: body not preserved (dot-stuffing?):\n%s", rc, body)
		}
	}
	// The re-injection listener has no milter and delivers to the same sink.
	if rep, err := Send(pf.ReinjectAddr(), "a@example.org", []string{"d@partner.example.net"}, msg); err != nil || !rep.Accepted() {
		t.Fatalf("reinject: %v %v", rep, err)
	}
	if _, err := pf.WaitDelivered("d@partner.example.net", 1, 10*time.Second); err != nil {
		t.Fatal(err)
	}
	if err := pf.Sendmail("a@example.org", []string{"e@partner.example.net"}, msg); err != nil {
		t.Fatal(err)
	}
	if _, err := pf.WaitDelivered("e@partner.example.net", 1, 10*time.Second); err != nil {
		t.Fatal(err)
	}
	// Oversized: Postfix answers 552 5.3.4 and queues nothing.
	big := append([]byte("Subject: big\n\n"), []byte(strings.Repeat("x", 70) + "\n")[0:71]...)
	for len(big) < 150000 {
		big = append(big, []byte(strings.Repeat("y", 70)+"\n")...)
	}
	rep, err = Send(pf.SMTPAddr(), "a@example.org", []string{"f@partner.example.net"}, big)
	if err != nil {
		t.Fatal(err)
	}
	if rep.Code != 552 || !strings.HasPrefix(rep.Text, "5.3.4") {
		t.Errorf("oversized message: got %v, want 552 5.3.4", rep)
	}
	if q, err := pf.QueuedFor("f@partner.example.net"); err != nil || len(q) != 0 {
		t.Errorf("queued for f@: %v %v", q, err)
	}
	if n := pf.Count(); n != 4 {
		t.Errorf("sink holds %d files, want 4", n)
	}
}
