package mailer

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"mime"
	"mime/multipart"
	"net/mail"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/postseal/postseal/store"
	"github.com/postseal/postseal/test/mta"
)

func TestBackoffDecide(t *testing.T) {
	now := time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC)
	b := DefaultBackoff
	netErr := errors.New("dial tcp 127.0.0.1:25: connect: connection refused")
	tests := []struct {
		name     string
		attempts int
		age      time.Duration
		err      error
		jitter   float64
		wantNext time.Duration // 0: dropped
	}{
		{"first failure, network", 0, time.Minute, netErr, 0.5, time.Minute},
		{"first failure, 4xx", 0, time.Minute, &Error{Code: 451, Msg: "4.3.0 try later"}, 0.5, time.Minute},
		{"second", 1, time.Hour, netErr, 0.5, 2 * time.Minute},
		{"fourth", 3, time.Hour, netErr, 0.5, 8 * time.Minute},
		{"capped", 9, time.Hour, netErr, 0.5, time.Hour},
		{"capped, many attempts", 500, time.Hour, netErr, 0.5, time.Hour},
		{"jitter low", 2, time.Hour, netErr, 0, 4 * time.Minute * 8 / 10},
		{"jitter high", 2, time.Hour, netErr, 0.999999999, 4 * time.Minute * 12 / 10},
		{"permanent 550", 0, time.Minute, &Error{Code: 550, Msg: "5.1.1 no such user"}, 0.5, 0},
		{"permanent 552 wrapped", 0, time.Minute, fmt.Errorf("smtp send: %w", &Error{Code: 552, Msg: "too big"}), 0.5, 0},
		{"given up", 20, 5 * 24 * time.Hour, netErr, 0.5, 0},
		{"almost given up", 20, 5*24*time.Hour - time.Minute, &Error{Code: 421, Msg: "busy"}, 0.5, time.Hour},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := store.Mail{ID: 1, Attempts: tt.attempts, Created: now.Add(-tt.age)}
			next, drop := b.decide(m, tt.err, now, tt.jitter)
			if tt.wantNext == 0 {
				if drop == "" {
					t.Fatalf("retry at %v; want dropped", next)
				}
				return
			}
			if drop != "" {
				t.Fatalf("dropped (%s); want retry after %v", drop, tt.wantNext)
			}
			if got := next.Sub(now); got.Round(time.Millisecond) != tt.wantNext.Round(time.Millisecond) {
				t.Errorf("retry after %v; want %v", got, tt.wantNext)
			}
		})
	}
}

func TestMessageBytes(t *testing.T) {
	date := time.Date(2026, 11, 23, 15, 39, 59, 0, time.UTC)
	m := Message{
		From:    mail.Address{Name: "Example Health — Secure Mail", Address: "postseal@example.org"},
		To:      []mail.Address{{Name: "Zoë Doe", Address: "zoe@ext.example"}, {Address: "b@ext.example"}},
		Subject: "Activate your account für sichere Nachrichten",
		Text:    "Hello Zoë,\n\nopen https://secure.example.org/activate/abc\n",
		HTML:    "<p>Hello Zoë,</p>\n<p><a href=\"https://secure.example.org/activate/abc\">Activate</a></p>",
		Date:    date,
		Headers: map[string]string{"Auto-Submitted": "auto-generated"},
	}
	data, err := m.Bytes()
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(bytes.ReplaceAll(data, []byte("\r\n"), nil), []byte("\n")) || bytes.Contains(bytes.ReplaceAll(data, []byte("\r\n"), nil), []byte("\r")) {
		t.Error("a line does not end in CRLF")
	}
	for _, line := range strings.Split(string(data), "\r\n") {
		if len(line) > 998 {
			t.Errorf("line of %d octets", len(line))
		}
		for _, c := range []byte(line) {
			if c >= 0x80 {
				t.Fatalf("8-bit octet in %q", line)
			}
		}
	}
	msg, err := mail.ReadMessage(bytes.NewReader(data))
	if err != nil {
		t.Fatal(err)
	}
	dec := new(mime.WordDecoder)
	subj, err := dec.DecodeHeader(msg.Header.Get("Subject"))
	if err != nil || subj != m.Subject {
		t.Errorf("subject = %q, %v", subj, err)
	}
	from, err := msg.Header.AddressList("From")
	if err != nil || len(from) != 1 || from[0].Name != m.From.Name || from[0].Address != m.From.Address {
		t.Errorf("from = %v, %v", from, err)
	}
	to, err := msg.Header.AddressList("To")
	if err != nil || len(to) != 2 || to[0].Name != "Zoë Doe" || to[1].Address != "b@ext.example" {
		t.Errorf("to = %v, %v", to, err)
	}
	if d, err := msg.Header.Date(); err != nil || !d.Equal(date) {
		t.Errorf("date = %v, %v", d, err)
	}
	if id := msg.Header.Get("Message-ID"); !strings.HasPrefix(id, "<") || !strings.HasSuffix(id, "@example.org>") {
		t.Errorf("Message-ID = %q", id)
	}
	if msg.Header.Get("MIME-Version") != "1.0" || msg.Header.Get("Auto-Submitted") != "auto-generated" {
		t.Errorf("headers = %v", msg.Header)
	}
	mt, params, err := mime.ParseMediaType(msg.Header.Get("Content-Type"))
	if err != nil || mt != "multipart/alternative" {
		t.Fatalf("content type %q, %v", mt, err)
	}
	mr := multipart.NewReader(msg.Body, params["boundary"])
	for _, want := range []struct{ ctype, content string }{
		{"text/plain; charset=utf-8", strings.ReplaceAll(m.Text, "\n", "\r\n")},
		{"text/html; charset=utf-8", strings.ReplaceAll(m.HTML, "\n", "\r\n") + "\r\n"},
	} {
		p, err := mr.NextPart() // decodes quoted-printable
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(p)
		if p.Header.Get("Content-Type") != want.ctype || string(body) != want.content {
			t.Errorf("part %s = %q; want %s %q", p.Header.Get("Content-Type"), body, want.ctype, want.content)
		}
	}
	if _, err := mr.NextPart(); err != io.EOF {
		t.Errorf("more parts than text and html: %v", err)
	}

	plain, err := Message{From: mail.Address{Address: "p@example.org"}, To: []mail.Address{{Address: "a@ext.example"}}, Subject: "Plain", Text: "only text"}.Bytes()
	if err != nil || !bytes.Contains(plain, []byte("Content-Type: text/plain; charset=utf-8\r\n")) || !bytes.HasSuffix(plain, []byte("\r\n\r\nonly text\r\n")) {
		t.Errorf("text-only message:\n%s\n%v", plain, err)
	}
	for _, bad := range []Message{
		{To: []mail.Address{{Address: "a@ext.example"}}},
		{From: mail.Address{Address: "p@example.org"}},
		{From: mail.Address{Address: "p@example.org"}, To: []mail.Address{{Address: "a@ext.example"}}, Headers: map[string]string{"X-Bad": "a\r\nBcc: x@evil.example"}},
	} {
		if _, err := bad.Bytes(); err == nil {
			t.Errorf("%+v composed; want an error", bad)
		}
	}
}

// openStore opens a SQLite store in dir (the same one on every call, as a
// restarted postseal would).
func openStore(t *testing.T, dir string) store.Store {
	t.Helper()
	key, err := store.LoadMasterKey(filepath.Join(dir, "master.key"), true)
	if err != nil {
		t.Fatal(err)
	}
	st, err := store.OpenSQLite(context.Background(), filepath.Join(dir, "postseal.db"), key)
	if err != nil {
		t.Fatal(err)
	}
	return st
}

type attempt struct {
	m   store.Mail
	err error
}

// runQueue starts a queue over st sending to addr, with short retries and
// more routes (route → address); stop ends it and waits for Run to return.
func runQueue(t *testing.T, st store.Store, addr string, poll time.Duration, routes ...map[store.Route]string) (q *Queue, attempts chan attempt, stop func()) {
	q = NewQueue(st, &SMTP{Addr: addr, Timeout: 20 * time.Second}, slog.New(slog.NewTextHandler(os.Stderr, nil)))
	for _, rs := range routes {
		for r, a := range rs {
			q.AddRoute(r, &SMTP{Addr: a, Timeout: 20 * time.Second})
		}
	}
	q.Backoff = Backoff{Min: 20 * time.Millisecond, Max: 200 * time.Millisecond, GiveUp: time.Hour}
	q.Poll = poll
	attempts = make(chan attempt, 100)
	q.attempted = func(m store.Mail, err error) { attempts <- attempt{m, err} }
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { q.Run(ctx); close(done) }()
	stop = func() { cancel(); <-done }
	t.Cleanup(stop)
	return q, attempts, stop
}

func waitAttempt(t *testing.T, attempts chan attempt) attempt {
	t.Helper()
	select {
	case a := <-attempts:
		return a
	case <-time.After(30 * time.Second):
		t.Fatal("no delivery attempt within 30s")
		return attempt{}
	}
}

func depth(t *testing.T, st store.Store) int {
	t.Helper()
	n, err := st.MailQueueDepth(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// Mail queued while the relay is down is kept across a postseal restart
// and delivered once the relay is up; mail queued later is sent at once
// (Enqueue wakes the queue; the poll interval here is an hour).
func TestQueueSurvivesRelayDownAndRestart(t *testing.T) {
	port, err := mta.FreePort()
	if err != nil {
		t.Fatal(err)
	}
	addr := fmt.Sprintf("127.0.0.1:%d", port)
	dir := t.TempDir()
	msg := func(rcpt, subject string) []byte {
		b, err := Message{From: mail.Address{Address: "postseal@example.org"}, To: []mail.Address{{Address: rcpt}}, Subject: subject, Text: "Activate: https://secure.example.org/activate/x\n"}.Bytes()
		if err != nil {
			t.Fatal(err)
		}
		return b
	}

	st1 := openStore(t, dir)
	q1, attempts1, stop1 := runQueue(t, st1, addr, time.Hour)
	if err := q1.Enqueue(context.Background(), "postseal@example.org", []string{"pat@ext.example"}, msg("pat@ext.example", "first")); err != nil {
		t.Fatal(err)
	}
	for range 2 { // the first try and one retry fail: nothing listens
		if a := waitAttempt(t, attempts1); a.err == nil {
			t.Fatal("delivered with the relay down")
		}
	}
	if err := q1.Enqueue(context.Background(), "", []string{"sam@ext.example"}, msg("sam@ext.example", "second, null sender")); err != nil {
		t.Fatal(err)
	}
	stop1()
	st1.Close()

	pf := startPostfix(t, mta.Options{SMTPPort: port})
	st2 := openStore(t, dir)
	defer st2.Close()
	if n := depth(t, st2); n != 2 {
		t.Fatalf("%d mails queued after the restart; want 2", n)
	}
	q2, attempts2, _ := runQueue(t, st2, addr, time.Hour)
	for range 2 {
		if a := waitAttempt(t, attempts2); a.err != nil {
			t.Fatalf("mail %d: %v", a.m.ID, a.err)
		}
	}
	for _, rcpt := range []string{"pat@ext.example", "sam@ext.example"} {
		d, err := pf.WaitDelivered(rcpt, 1, 20*time.Second)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Contains(d[0].Data, []byte("activate/x")) {
			t.Errorf("%s got:\n%s", rcpt, d[0].Data)
		}
	}
	if n := depth(t, st2); n != 0 {
		t.Errorf("%d mails left in the queue after delivery", n)
	}

	if err := q2.Enqueue(context.Background(), "postseal@example.org", []string{"kim@ext.example"}, msg("kim@ext.example", "third")); err != nil {
		t.Fatal(err)
	}
	if a := waitAttempt(t, attempts2); a.err != nil {
		t.Fatal(a.err)
	}
	if _, err := pf.WaitDelivered("kim@ext.example", 1, 20*time.Second); err != nil {
		t.Fatal(err)
	}
}

// A permanent refusal (5xx) is not retried: the mail is dropped.
func TestQueueDropsPermanentRefusal(t *testing.T) {
	pf := startPostfix(t, mta.Options{MessageSizeLimit: 1000})
	st := openStore(t, t.TempDir())
	defer st.Close()
	q, attempts, _ := runQueue(t, st, pf.SMTPAddr(), time.Hour)
	if err := q.Enqueue(context.Background(), "postseal@example.org", []string{"pat@ext.example"}, []byte("Subject: big\r\n\r\n"+strings.Repeat("x", 5000)+"\r\n")); err != nil {
		t.Fatal(err)
	}
	a := waitAttempt(t, attempts)
	var se *Error
	if !errors.As(a.err, &se) || se.Code != 552 {
		t.Fatalf("attempt: %v; want 552", a.err)
	}
	if n := depth(t, st); n != 0 {
		t.Errorf("%d mails still queued after a permanent refusal; want 0", n)
	}
}

// A queued mail goes to the recipients the relay takes, once: one it
// refuses for good is left out (the mail used to be dropped for all), one
// it refuses for now stays queued alone, so its retries send the others
// no second copy.
func TestQueueSendsToTheRecipientsTheRelayTakes(t *testing.T) {
	pf := refusingPostfix(t)
	st := openStore(t, t.TempDir())
	defer st.Close()
	q, attempts, stop := runQueue(t, st, pf.SMTPAddr(), time.Hour)
	if err := q.Enqueue(context.Background(), "postseal@example.org", []string{"pat@ext.example", "gone@ext.example", "busy@ext.example"}, []byte("Subject: reply\r\n\r\nx\r\n")); err != nil {
		t.Fatal(err)
	}
	if a := waitAttempt(t, attempts); a.err != nil {
		t.Fatalf("attempt: %v; want sent to pat@ext.example", a.err)
	}
	a := waitAttempt(t, attempts)
	var se *Error
	if fmt.Sprint(a.m.To) != "[busy@ext.example]" || a.m.Attempts != 1 || !errors.As(a.err, &se) || se.Code != 450 {
		t.Fatalf("retry = %v to %v (attempt %d); want busy@ext.example alone, deferred again", a.err, a.m.To, a.m.Attempts+1)
	}
	stop()
	if _, err := pf.WaitDelivered("pat@ext.example", 1, 20*time.Second); err != nil {
		t.Fatal(err)
	}
	if n := depth(t, st); n != 1 {
		t.Errorf("%d mails queued; want the one for busy@ext.example", n)
	}
}

// A mail no relay could take (an address with a line break, which would
// end the SMTP command) is dropped at its first attempt, not retried for
// days.
func TestQueueDropsUnsendableMail(t *testing.T) {
	st := openStore(t, t.TempDir())
	defer st.Close()
	q, attempts, _ := runQueue(t, st, "127.0.0.1:1", time.Hour)
	if err := q.Enqueue(context.Background(), "postseal@example.org", []string{"pat@ext.example\r\nRCPT TO:<x@ext.example>"}, []byte("Subject: x\r\n\r\nx\r\n")); err != nil {
		t.Fatal(err)
	}
	if a := waitAttempt(t, attempts); !errors.Is(a.err, errUnsendable) {
		t.Fatalf("attempt: %v; want unsendable", a.err)
	}
	if n := depth(t, st); n != 0 {
		t.Errorf("%d mails still queued after an unsendable one; want 0", n)
	}
}

// hangingSender stands for a relay that never answers: SendEach returns only
// when the queue shuts down.
type hangingSender struct{ called chan struct{} }

func (h hangingSender) SendEach(ctx context.Context, _ string, _ []string, _ io.Reader) (Outcome, error) {
	close(h.called)
	<-ctx.Done()
	return Outcome{}, ctx.Err()
}

// A shutdown in the middle of a send hands the mail back at once: the next
// start does not wait for the lease to run out.
func TestQueueShutdownMidSendHandsMailBack(t *testing.T) {
	st := openStore(t, t.TempDir())
	defer st.Close()
	h := hangingSender{called: make(chan struct{})}
	q := NewQueue(st, h, slog.New(slog.NewTextHandler(io.Discard, nil)))
	q.Poll = time.Hour
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { q.Run(ctx); close(done) }()
	if err := q.Enqueue(context.Background(), "postseal@example.org", []string{"pat@ext.example"}, []byte("Subject: x\r\n\r\nx\r\n")); err != nil {
		t.Fatal(err)
	}
	<-h.called
	cancel()
	<-done
	due, err := st.ClaimMail(context.Background(), time.Now(), time.Minute, 10)
	if err != nil {
		t.Fatal(err)
	}
	if len(due) != 1 {
		t.Fatalf("%d mails due right after the shutdown; want the interrupted one (lease %v)", len(due), q.Lease)
	}
}
