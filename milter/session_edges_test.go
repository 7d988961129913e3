package milter

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/d--j/go-milter"
	"github.com/postseal/postseal/config"
	"github.com/postseal/postseal/policy"
	"github.com/postseal/postseal/store"
)

// stageModifier answers the queue-id macro per stage: Postfix may know the
// queue id only at the end of the message.
type stageModifier struct {
	recorder
	queueID string
}

func (m *stageModifier) Get(milter.MacroName) string { return m.queueID }

// sendHeader drives a session through MAIL FROM (unless from is ""), one
// recipient and the header fields.
func sendHeader(s *session, m milter.Modifier, from, rcpt string, fields [][2]string) {
	if from != "" {
		s.MailFrom("<"+from+">", "", m)
	}
	s.RcptTo("<"+rcpt+">", "", m)
	for _, h := range fields {
		s.Header(h[0], " "+h[1], m)
	}
}

// The queue id the MTA gives at the end of the message is the one the
// envelope records, when the end of the header had none.
func TestSessionQueueIDAtEnd(t *testing.T) {
	st := newMemStore()
	f := newFilter(t, st, &fakeSender{})
	m := &stageModifier{}
	s := &session{f: f, leadingSpace: true}
	sendHeader(s, m, "doc@example.org", "pat@ext.example", protoHeaders)
	if r := replyCode(s.Headers(m)); r != milter.RespContinue.String() {
		t.Fatalf("end of header: %s", r)
	}
	s.BodyChunk([]byte(testBody), m)
	m.queueID = "4XQ2"
	if r := replyCode(s.EndOfMessage(m)); r != milter.RespAccept.String() {
		t.Fatalf("end of message: %s", r)
	}
	for _, e := range st.recorded() {
		if e.QueueID != "4XQ2" {
			t.Errorf("envelope queue id %q; want the one given at the end of the message", e.QueueID)
		}
	}
	if len(st.recorded()) != 1 {
		t.Errorf("%d envelopes", len(st.recorded()))
	}
}

// A peer that skips MAIL FROM still gets its message decided by the rules
// in force, not a failure.
func TestSessionWithoutMailFrom(t *testing.T) {
	f := newFilter(t, newMemStore(), &fakeSender{})
	m := &recorder{}
	s := &session{f: f, leadingSpace: true}
	sendHeader(s, m, "", "pat@ext.example", [][2]string{{"From", "doc@example.org"}, {"Subject", "Lunch"}})
	if r := replyCode(s.Headers(m)); r != milter.RespAccept.String() {
		t.Errorf("untriggered mail without MAIL FROM: %s; want accept", r)
	}
}

// At most MaxHeaders fields are held, however many the peer sends (the
// message is then refused at the end of the header).
func TestSessionHoldsAtMostMaxHeaders(t *testing.T) {
	f := New(testPolicy(t), newMemStore(), &fakeSender{}, discardLog(), Config{SpoolDir: t.TempDir(), MaxHeaders: 3})
	m := &recorder{}
	s := &session{f: f, leadingSpace: true}
	sendHeader(s, m, "doc@example.org", "pat@ext.example", protoHeaders)
	if len(s.trx.Fields) != 3 {
		t.Errorf("%d fields held of %d sent; want MaxHeaders = 3", len(s.trx.Fields), len(protoHeaders))
	}
	if r := replyCode(s.Headers(m)); !strings.Contains(r, "552") {
		t.Errorf("end of header: %s; want 552", r)
	}
}

// A body under MemMax (default 2 MiB) stays in memory: nothing of it is
// written to the spool.
func TestSessionSmallBodyInMemory(t *testing.T) {
	spool := t.TempDir()
	f := New(testPolicy(t), newMemStore(), &fakeSender{}, discardLog(), Config{SpoolDir: spool})
	m := &recorder{}
	s := &session{f: f, leadingSpace: true}
	sendHeader(s, m, "doc@example.org", "pat@ext.example", protoHeaders)
	s.Headers(m)
	s.BodyChunk(make([]byte, 64<<10), m)
	if left, _ := os.ReadDir(spool); len(left) != 0 {
		t.Errorf("%d spool files for a 64 KiB body under the default MemMax", len(left))
	}
	s.Abort(m)
}

// progressModifier counts the MTA's keep-alive calls; err makes them fail
// (the MTA went away). It keeps Postfix's rule for the body chunks.
type progressModifier struct {
	postfixBodyRule
	called chan struct{}
	err    error
}

func (m *progressModifier) Progress() error {
	_ = m.postfixBodyRule.Progress()
	select {
	case m.called <- struct{}{}:
	default:
	}
	return m.err
}

// heldStore holds each PutEnvelope until release yields (a value or its
// close): a record slower than the keep-alive interval. entered, if set,
// tells that a write has begun.
type heldStore struct {
	*memStore
	entered chan struct{}
	release chan struct{}
}

func (h *heldStore) PutEnvelope(ctx context.Context, e store.Envelope, key []byte) error {
	if h.entered != nil {
		h.entered <- struct{}{}
	}
	select {
	case <-h.release:
	case <-ctx.Done():
		return ctx.Err()
	}
	return h.memStore.PutEnvelope(ctx, e, key)
}

// A slow seal keeps the MTA waiting with progress messages and is then
// accepted; if the MTA has gone away meanwhile, the message is temp-failed.
func TestSessionSlowSealProgress(t *testing.T) {
	for _, gone := range []bool{false, true} {
		called := make(chan struct{}, 1)
		// Each record waits for the session to tell the MTA it is still
		// working.
		st := &heldStore{memStore: newMemStore(), release: called}
		f := New(testPolicy(t), st, &fakeSender{}, discardLog(), Config{SpoolDir: t.TempDir()})
		m := &progressModifier{called: called}
		if gone {
			m.err = errors.New("broken pipe")
		}
		s := &session{f: f, leadingSpace: true}
		// Split: the sealed copy is made and re-injected while the MTA
		// waits for the answer; the internal copy stays in place.
		sendHeader(s, m, "doc@example.org", "pat@ext.example", protoHeaders)
		s.RcptTo("<nurse@example.org>", "", m)
		s.Headers(m)
		s.BodyChunk([]byte(testBody), m)
		got := replyCode(s.EndOfMessage(m))
		switch {
		case !gone && got != milter.RespAccept.String():
			t.Errorf("slow seal: %s; want accept", got)
		case gone && !strings.Contains(got, "451"):
			t.Errorf("MTA gone during a slow seal: %s; want 451", got)
		}
	}
}

// The kept copy's envelope is recorded after its body went to the MTA; a
// slow record must keep the MTA waiting with progress messages too, until
// the answer, which then is an accept.
func TestSessionKeepAliveUntilKeptCopyRecorded(t *testing.T) {
	st := &heldStore{memStore: newMemStore(), entered: make(chan struct{}, 1), release: make(chan struct{})}
	release := sync.OnceFunc(func() { close(st.release) })
	defer release()
	f := New(testPolicy(t), st, &fakeSender{}, discardLog(), Config{SpoolDir: t.TempDir()})
	f.keepAlive = time.Millisecond
	m := &progressModifier{called: make(chan struct{}, 1)}
	s := &session{f: f, leadingSpace: true}
	// One outsider: the sealed copy is the one kept in the MTA's
	// transaction, sealed after the decision; its body is several chunks.
	sendHeader(s, m, "doc@example.org", "pat@ext.example", protoHeaders)
	s.Headers(m)
	s.BodyChunk(incompressible(200_000), m)
	answer := make(chan string, 1)
	go func() { answer <- replyCode(s.EndOfMessage(m)) }()

	bound := time.After(30 * time.Second) // a failure's bound, not a wait
	select {
	case <-st.entered:
	case <-bound:
		t.Fatal("the kept copy's envelope was never written")
	}
	if m.changes == 0 {
		t.Fatal("the record was written before any of the sealed body went to the MTA")
	}
	// Progress sent before the write began is dropped: two must arrive
	// while it is held.
	select {
	case <-m.called:
	default:
	}
	for i := range 2 {
		select {
		case <-m.called:
		case got := <-answer:
			t.Fatalf("answered %s while the record was held", got)
		case <-bound:
			t.Fatalf("%d progress messages while the kept copy's record was held; want them to go on", i)
		}
	}
	release()
	select {
	case got := <-answer:
		// The body's last chunk went out before the record, and the
		// keep-alives after it: none came between two chunks.
		if got != milter.RespAccept.String() || len(st.recorded()) != 1 || m.interleaved != 0 {
			t.Errorf("once recorded: %s, %d envelopes, %d keep-alives between body chunks; want accept, 1, 0", got, len(st.recorded()), m.interleaved)
		}
	case <-bound:
		t.Fatal("no answer once the record was written")
	}
}

// The milter's own deadline passing while the scanner reads is no verdict:
// even report mode, which would deliver, answers 451.
func TestScanPastMilterDeadline(t *testing.T) {
	cfg := config.Default()
	cfg.Scanner.Enabled, cfg.Scanner.Mode = true, config.ScanReport
	cfg.Milter.Timeout = config.Duration(1)
	p, err := policy.Load(cfg)
	if err != nil {
		t.Fatal(err)
	}
	f := New(p, newMemStore(), &fakeSender{}, discardLog(), Config{SpoolDir: t.TempDir()})
	out := decide(t, f, withBody(newTrx("Lunch", "pat@ext.example"), "See you at noon.\r\n"))
	if out.Code != 451 {
		t.Errorf("scan past the milter's deadline: %+v; want 451", out)
	}
}

// failingQueue refuses every notice.
type failingQueue struct{}

func (failingQueue) Enqueue(context.Context, string, []string, []byte) error {
	return errors.New("queue full")
}

// A notice that cannot be queued is logged; the message is sealed all the
// same (the notice is a courtesy, the seal is not).
func TestNoticeQueueFailureLogged(t *testing.T) {
	p := scannerPolicy(t, nil)
	for _, q := range []Notifier{failingQueue{}, &noticeQueue{}} {
		var logs syncBuffer
		st := newMemStore()
		f := New(p, st, &fakeSender{}, slog.New(slog.NewTextHandler(&logs, nil)), Config{SpoolDir: t.TempDir(), Notices: q})
		out := decide(t, f, withBody(newTrx("Claim", "pat@ext.example"), ssnBody))
		if !out.Accepted() || len(st.recorded()) != 1 {
			t.Fatalf("%T: %+v; want sealed", q, out)
		}
		_, failing := q.(failingQueue)
		if logged := strings.Contains(strings.Join(logs.lines(), "\n"), "sender notice not queued"); logged != failing {
			t.Errorf("%T: notice failure logged = %v", q, logged)
		}
	}
}

// A temp-fail before any envelope was recorded names none in its log line
// (the line lists envelope ids only when some were made).
func TestTempFailLogWithoutEnvelopes(t *testing.T) {
	var logs syncBuffer
	st := newMemStore()
	st.err = os.ErrPermission
	f := New(testPolicy(t), st, &fakeSender{}, slog.New(slog.NewTextHandler(&logs, nil)), Config{SpoolDir: t.TempDir()})
	// Split: the internal copy stays in place, the sealed one is re-injected.
	if out := decide(t, f, newTrx("*secure* Lab results", "nurse@example.org", "pat@ext.example")); out.Code != 451 {
		t.Fatalf("%+v; want 451", out)
	}
	line := strings.Join(logs.lines(), "\n")
	if !strings.Contains(line, "outcome=tempfailed") || strings.Contains(line, "envelope_ids=") {
		t.Errorf("temp-fail line names envelopes none of which was recorded:\n%s", line)
	}
}

// recordingFirst records the first ok envelopes and refuses the others.
type recordingFirst struct {
	*memStore
	ok int
}

func (s *recordingFirst) PutEnvelope(ctx context.Context, e store.Envelope, key []byte) error {
	s.mu.Lock()
	full := len(s.envs) >= s.ok
	s.mu.Unlock()
	if full {
		return errors.New("disk full")
	}
	return s.memStore.PutEnvelope(ctx, e, key)
}

// When the kept copy's record fails, the temp-fail line names the
// envelopes that were recorded (a re-injected partner copy's) and not the
// kept copy's, which does not exist: in a session and through Process.
func TestTempFailLogNamesOnlyRecordedEnvelopes(t *testing.T) {
	for _, tc := range []struct {
		name  string
		p     *policy.Policy
		rcpts []string
	}{
		{"kept copy only", testPolicy(t), []string{"pat@ext.example"}},
		// The partner's copy is sealed, recorded and re-injected first.
		{"partner copy recorded", partnerPolicy(t), []string{"pat@ext.example", "lab@partner.example"}},
	} {
		for _, via := range []string{"session", "Process"} {
			t.Run(tc.name+" "+via, func(t *testing.T) {
				var logs syncBuffer
				st := &recordingFirst{memStore: newMemStore(), ok: len(tc.rcpts) - 1}
				f := New(tc.p, st, &fakeSender{}, slog.New(slog.NewTextHandler(&logs, nil)), Config{SpoolDir: t.TempDir()})
				var answer string
				if via == "session" {
					answer = runSession(t, f, "doc@example.org", tc.rcpts, protoHeaders, []byte(testBody)).final.SMTPReply
				} else {
					answer = strconv.Itoa(decide(t, f, newTrx("*secure* Lab results", tc.rcpts...)).Code)
				}
				if !strings.HasPrefix(answer, "451") || len(st.recorded()) != st.ok {
					t.Fatalf("answer %q with %d envelopes recorded; want 451 and %d", answer, len(st.recorded()), st.ok)
				}
				var line string
				for _, l := range logs.lines() {
					if strings.Contains(l, "outcome=tempfailed") {
						line = l
					}
				}
				var recorded []string
				for id := range st.recorded() {
					recorded = append(recorded, id)
				}
				switch {
				case len(recorded) == 0 && strings.Contains(line, "envelope_ids="):
					t.Errorf("temp-fail line names envelopes when none was recorded:\n%s", line)
				case len(recorded) == 0 && strings.Contains(line, "reinjected="):
					t.Errorf("temp-fail line names re-injected copies when none was made:\n%s", line)
				case len(recorded) > 0 && (!strings.Contains(line, fmt.Sprintf("envelope_ids=%v ", recorded)) || strings.Count(line, "envelope_ids=") != 1):
					t.Errorf("temp-fail line:\n%s\nwant envelope_ids=%v, the recorded ones only", line, recorded)
				}
			})
		}
	}
}

// A replace-body chunk the MTA refuses stops the writer: it reports what
// it took before the failure.
func TestChunkWriterStopsAtMTAError(t *testing.T) {
	w := &chunkWriter{m: &lockedModifier{Modifier: &refusingBody{}}, buf: make([]byte, 0, chunkSize)}
	n, err := w.Write(make([]byte, 2*chunkSize))
	if err == nil || n != chunkSize {
		t.Errorf("Write = %d, %v; want %d and the MTA's error", n, err, chunkSize)
	}
	if n, err := w.Write([]byte("x")); n != 0 || err == nil {
		t.Errorf("Write after the error = %d, %v", n, err)
	}
}

type refusingBody struct{ recorder }

// A chunk writer whose buffer went back to the pool takes no more writes
// (the array may already hold another message's body) and sends nothing.
func TestChunkWriterReleased(t *testing.T) {
	r := &recorder{}
	w := newChunkWriter(&lockedModifier{Modifier: r})
	if n, err := w.Write([]byte("first")); n != 5 || err != nil {
		t.Fatalf("Write = %d, %v before release", n, err)
	}
	w.release()
	w.release() // a second release puts nothing back twice
	if n, err := w.Write([]byte("x")); n != 0 || err == nil {
		t.Errorf("Write after release = %d, %v; want refused", n, err)
	}
	if err := w.Flush(); err == nil || r.changes != 0 {
		t.Errorf("Flush after release: %v, %d chunks sent; want refused, none", err, r.changes)
	}
}

// panickingBody is an MTA connection that panics on a body chunk.
type panickingBody struct{ recorder }

func (*panickingBody) ReplaceBodyRawChunk([]byte) error { panic("connection state corrupt") }

// A panic while the sealed body goes to the MTA is a temp-fail with reason
// panic, whether it comes inside the seal (a chunk filled while sealing)
// or at the last chunk, sent after the seal and the record: the server
// goes on serving.
func TestSessionPanicSendingBodyTempFails(t *testing.T) {
	for _, body := range [][]byte{incompressible(200_000), []byte(testBody)} {
		var logs syncBuffer
		f := New(testPolicy(t), newMemStore(), &fakeSender{}, slog.New(slog.NewTextHandler(&logs, nil)), Config{SpoolDir: t.TempDir()})
		m := &panickingBody{}
		s := &session{f: f, leadingSpace: true}
		sendHeader(s, m, "doc@example.org", "pat@ext.example", protoHeaders)
		s.Headers(m)
		s.BodyChunk(body, m)
		if got := replyCode(s.EndOfMessage(m)); !strings.Contains(got, "451") {
			t.Errorf("%d-byte body, panic sending it: %s; want 451", len(body), got)
		}
		if line := strings.Join(logs.lines(), "\n"); !strings.Contains(line, "reason=panic") || m.changes != 0 {
			t.Errorf("%d-byte body: %d header changes, log:\n%s\nwant none and a temp-fail with reason panic", len(body), m.changes, line)
		}
	}
}

func (*refusingBody) ReplaceBodyRawChunk([]byte) error { return errors.New("MTA refused") }

// Listen on TCP: an address in use is an error naming it.
func TestListenInet(t *testing.T) {
	l, err := Listen("inet:127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	if _, ok := l.Addr().(*net.TCPAddr); !ok {
		t.Errorf("listener on %v", l.Addr())
	}
	if _, err := Listen("inet:" + l.Addr().String()); err == nil || !strings.Contains(err.Error(), l.Addr().String()) {
		t.Errorf("second listener on %s: %v; want an error naming it", l.Addr(), err)
	}
	if _, err := Listen("unix:"); err == nil || !strings.Contains(err.Error(), "neither inet:HOST:PORT nor unix:/path") {
		t.Errorf(`Listen("unix:") = %v; want the forms it takes`, err)
	}
}
