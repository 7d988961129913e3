package milter

// The end of a message: the seal while the keep-alive keeps the MTA
// waiting, and what the log line of a temp-fail keeps.

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/postseal/postseal/store"
)

// gateStore holds the first PutEnvelope until release is closed, without
// watching ctx: a record whose write has begun (or, equally, a seal busy
// encrypting a copy after it read the transaction). entered tells that it
// is held.
type gateStore struct {
	*memStore
	once    sync.Once
	entered chan struct{}
	release chan struct{}
}

func (g *gateStore) PutEnvelope(ctx context.Context, e store.Envelope, key []byte) error {
	first := false
	g.once.Do(func() { first = true })
	if first {
		g.entered <- struct{}{}
		<-g.release
	}
	return g.memStore.PutEnvelope(ctx, e, key)
}

// panickingKeepAlive is an MTA connection whose keep-alive panics
// ("connection state corrupt", as panickingBody's body chunk does) once the
// work is held in the store; it lets the work go on as it panics.
type panickingKeepAlive struct {
	recorder
	entered chan struct{}
	release chan struct{}
}

func (m *panickingKeepAlive) Progress() error {
	select {
	case <-m.entered:
		close(m.release)
		panic("connection state corrupt")
	default:
		return nil
	}
}

// signallingSender is fakeSender that tells when a copy was handed over.
type signallingSender struct {
	fakeSender
	sent chan struct{}
}

func (s *signallingSender) Send(ctx context.Context, from string, to []string, msg io.Reader) error {
	err := s.fakeSender.Send(ctx, from, to, msg)
	s.sent <- struct{}{}
	return err
}

// A panic in the keep-alive (its timer's goroutine, not the session's) is
// recovered there and stops the work: the message is temp-failed with
// reason panic, the process goes on. The work, still making the copies
// from the session's transaction, is finished before the answer and the
// session's reset (go test -race saw a worker goroutine read the
// transaction as the session reset it).
func TestSessionKeepAlivePanicTempFails(t *testing.T) {
	st := &gateStore{memStore: newMemStore(), entered: make(chan struct{}, 1), release: make(chan struct{})}
	snd := &signallingSender{sent: make(chan struct{}, 4)}
	var logs syncBuffer
	f := New(partnerPolicy(t), st, snd, slog.New(slog.NewTextHandler(&logs, nil)), Config{SpoolDir: t.TempDir()})
	f.keepAlive = time.Millisecond
	m := &panickingKeepAlive{entered: st.entered, release: st.release}
	s := &session{f: f, leadingSpace: true}
	// The partner's copy is sealed, recorded and re-injected by the work
	// before the kept copy.
	sendHeader(s, m, "doc@example.org", "pat@ext.example", protoHeaders)
	s.RcptTo("<lab@partner.example>", "", m)
	s.Headers(m)
	s.BodyChunk([]byte(testBody), m)
	got := replyCode(s.EndOfMessage(m))
	if !strings.Contains(got, "451") {
		t.Errorf("panic in the keep-alive: %s; want a 451", got)
	}
	// The work, let go as the keep-alive panicked, re-injects the
	// partner's copy from the session's transaction: before the answer,
	// not from a transaction the session has reset.
	select {
	case <-snd.sent:
	default:
		t.Error("the partner's copy was not handed over before the answer: the work outlived it")
	}
	if len(s.trx.Fields) != 0 {
		t.Errorf("session not reset after the answer")
	}
	// The panic's line tells what the work did before it stopped.
	line := tempFailLine(&logs)
	if !strings.Contains(line, "reason=panic ") {
		t.Errorf("temp-fail line:\n%s\nwant reason=panic", line)
	}
	for id := range st.recorded() {
		if !strings.Contains(line, fmt.Sprintf("reinjected=[%s] ", id)) {
			t.Errorf("temp-fail line:\n%s\nwant reinjected=[%s], the partner's copy handed over", line, id)
		}
	}
}

// tempFailLine is the last temp-fail line logged.
func tempFailLine(logs *syncBuffer) string {
	var line string
	for _, l := range logs.lines() {
		if strings.Contains(l, "outcome=tempfailed") {
			line = l
		}
	}
	return line
}

// failingNth is a Sender that hands over every copy but the nth (from 1).
type failingNth struct {
	fakeSender
	n     int
	calls int
}

func (s *failingNth) Send(ctx context.Context, from string, to []string, msg io.Reader) error {
	s.calls++
	if s.calls == s.n {
		return errors.New("421 re-injection listener busy")
	}
	return s.fakeSender.Send(ctx, from, to, msg)
}

// Split with two sealed copies to re-inject: the first is recorded and
// handed over (it is on its way to its recipient), the second is recorded
// and its hand-over fails. The message is temp-failed, and its one log
// line names the envelopes that were recorded and the one whose copy went
// out (the MTA's retry sends its recipients a second copy).
func TestTempFailLogNamesReinjectedEnvelopes(t *testing.T) {
	var logs syncBuffer
	st := newMemStore()
	snd := &failingNth{n: 2}
	f := New(partnerPolicy(t), st, snd, slog.New(slog.NewTextHandler(&logs, nil)), Config{SpoolDir: t.TempDir()})
	m := &recorder{}
	s := &session{f: f, leadingSpace: true}
	sendHeader(s, m, "doc@example.org", "nurse@example.org", protoHeaders)
	s.RcptTo("<pat@ext.example>", "", m)
	s.RcptTo("<lab@partner.example>", "", m)
	if r := replyCode(s.Headers(m)); strings.Contains(r, "accept") {
		t.Fatalf("end of header: %s", r)
	}
	s.BodyChunk([]byte(testBody), m)
	got := replyCode(s.EndOfMessage(m))
	if !strings.Contains(got, "451") {
		t.Fatalf("answer %s; want 451", got)
	}
	if len(snd.sent) != 1 || len(st.recorded()) != 2 {
		t.Fatalf("%d copies handed over, %d envelopes recorded; want 1 and 2", len(snd.sent), len(st.recorded()))
	}
	line := tempFailLine(&logs)
	// The copies go out in turn: the one handed over was recorded first.
	var sent, failed string
	for id, e := range st.recorded() {
		if slices.Equal(e.Recipients, snd.sent[0].to) {
			sent = id
		} else {
			failed = id
		}
	}
	if !strings.Contains(line, fmt.Sprintf(`envelope_ids="[%s %s]" `, sent, failed)) {
		t.Errorf("temp-fail line:\n%s\ndoes not name the envelopes recorded, [%s %s]", line, sent, failed)
	}
	if !strings.Contains(line, fmt.Sprintf("reinjected=[%s] ", sent)) {
		t.Errorf("temp-fail line:\n%s\ndoes not say that the copy of envelope %s was handed over (reinjected=[%s])", line, sent, sent)
	}
}

// panickingHeader is an MTA connection that panics on a header change,
// after the sealed body went out and its envelope was recorded.
type panickingHeader struct{ recorder }

func (*panickingHeader) InsertHeader(int, string, string) error { panic("connection state corrupt") }

// A panic while the changes are handed over (after the kept copy was
// sealed and recorded) is a temp-fail; its log line keeps what is known:
// the envelope recorded, as every other temp-fail line after a record
// names it, the size and the time taken.
func TestSessionPanicInApplyLogKeepsWhatIsKnown(t *testing.T) {
	var logs syncBuffer
	st := newMemStore()
	f := New(testPolicy(t), st, &fakeSender{}, slog.New(slog.NewTextHandler(&logs, nil)), Config{SpoolDir: t.TempDir()})
	var clock sync.Mutex
	now := time.Now()
	f.now = func() time.Time {
		clock.Lock()
		defer clock.Unlock()
		now = now.Add(time.Hour)
		return now
	}
	m := &panickingHeader{}
	s := &session{f: f, leadingSpace: true}
	sendHeader(s, m, "doc@example.org", "pat@ext.example", protoHeaders)
	s.Headers(m)
	s.BodyChunk([]byte(testBody), m)
	size := s.trx.headerSize() + int64(len(testBody))
	got := replyCode(s.EndOfMessage(m))
	if !strings.Contains(got, "temp_fail") || len(st.recorded()) != 1 {
		t.Fatalf("answer %s with %d envelopes recorded; want a temp-fail and 1", got, len(st.recorded()))
	}
	line := tempFailLine(&logs)
	for id := range st.recorded() {
		if !strings.Contains(line, fmt.Sprintf("envelope_ids=[%s]", id)) {
			t.Errorf("temp-fail line:\n%s\nwant envelope_ids=[%s], the envelope recorded", line, id)
		}
	}
	// The line also gives the message's size: the header and the body
	// were known before the panic.
	if !strings.Contains(line, fmt.Sprintf(" size=%d ", size)) {
		t.Errorf("temp-fail line does not give the message's size, %d bytes", size)
	}
	// And the time since the end of the data, not since the panic: the
	// clock moves an hour at each reading, and the seal read it between.
	_, after, _ := strings.Cut(line, " duration=")
	d, err := time.ParseDuration(strings.Fields(after + " ")[0])
	if err != nil || d <= time.Hour {
		t.Errorf("temp-fail line gives duration %v (%v); want the time since the message's end of data, several readings of the clock", d, err)
	}
}

// postfixBodyRule is an MTA connection that keeps Postfix's rule for
// replace-body packets (its milter client's reply loop): any other reply
// after a SMFIR_REPLBODY — SMFIR_PROGRESS included — ends the body
// replacement with the part received so far ("When SMFIR_REPLBODY is
// followed by some different request, we assume that the body replacement
// operation is complete") and a later SMFIR_REPLBODY is refused: "body
// replacement requests can't currently be mixed with other requests", a
// configuration error that closes the milter connection and applies
// milter_default_action. Both methods run under lockedModifier's lock.
type postfixBodyRule struct {
	recorder
	chunks      int
	progress    int  // keep-alives
	interleaved int  // body chunks refused: a keep-alive came before them and after another
	ended       bool // a keep-alive came after a body chunk
}

func (m *postfixBodyRule) Progress() error {
	m.progress++
	if m.chunks > 0 {
		m.ended = true
	}
	return nil
}

func (m *postfixBodyRule) ReplaceBodyRawChunk([]byte) error {
	if m.ended {
		m.interleaved++
		return errors.New("milter: body replacement requests can't currently be mixed with other requests")
	}
	m.chunks++
	m.changes++
	return nil
}

// A sealed body that takes longer than the keep-alive interval to stream
// gets keep-alives between its replace-body chunks. Postfix takes the first
// keep-alive as the end of the new body and refuses the next chunk: with
// milter_default_action = tempfail the message is refused, and refused again
// on every retry — a large message for outside is never delivered — while
// postseal logs that the MTA went away. The keep-alive must not come between
// two chunks.
func TestSessionNoKeepAliveBetweenBodyChunks(t *testing.T) {
	var logs syncBuffer
	st := newMemStore()
	f := New(testPolicy(t), st, &fakeSender{}, slog.New(slog.NewTextHandler(&logs, nil)), Config{SpoolDir: t.TempDir()})
	f.keepAlive = time.Millisecond // a seal slower than the interval, as a large message's is at 1 s
	m := &postfixBodyRule{}
	s := &session{f: f, leadingSpace: true}
	sendHeader(s, m, "doc@example.org", "pat@ext.example", protoHeaders)
	s.Headers(m)
	s.BodyChunk(incompressible(1_500_000), m)
	got := replyCode(s.EndOfMessage(m))
	if m.interleaved > 0 || got != "response=accept" {
		var line string
		for _, l := range logs.lines() {
			if strings.Contains(l, "outcome=") {
				line = l
			}
		}
		t.Errorf("%d body chunks taken, %d keep-alives, %d chunks refused after a keep-alive; answer %s, log:\n%s\nwant no keep-alive between body chunks and an accept", m.chunks, m.progress, m.interleaved, got, line)
	}
}

// Once the chunks are ended, none goes out, and the first reason is the one
// every later chunk gets (the body's end, or why the session gave up).
func TestLockedModifierEndKeepsTheFirstReason(t *testing.T) {
	r := &recorder{}
	l := &lockedModifier{Modifier: r}
	if err := l.ReplaceBodyRawChunk([]byte("a")); err != nil || r.changes != 1 {
		t.Fatalf("first chunk: %v, %d changes; want it sent", err, r.changes)
	}
	first, second := errors.New("the body ended"), errors.New("the session gave up")
	l.end(first)
	l.end(second)
	if err := l.ReplaceBodyRawChunk([]byte("b")); err != first || r.changes != 1 {
		t.Errorf("chunk after end: %v, %d changes; want %q and nothing sent", err, r.changes, first)
	}
}

// countingProgress counts progress messages; err makes them fail.
type countingProgress struct {
	recorder
	progress int
	err      error
}

func (m *countingProgress) Progress() error { m.progress++; return m.err }

// The keep-alive's timer may fire as it is stopped: once stop has returned
// (the session is about to answer), a late tick sends nothing, since the
// MTA takes no progress message after the answer. Before, a tick sends one
// and arms the next.
func TestKeepAliveSendsNothingOnceStopped(t *testing.T) {
	m := &countingProgress{}
	// The timer never fires by itself here: the ticks are called.
	k := startKeepAlive(&lockedModifier{Modifier: m}, time.Hour, func() {}, discardLog(), "Q1")
	k.tick()
	if m.progress != 1 {
		t.Fatalf("%d progress messages from a tick; want 1", m.progress)
	}
	if failed := k.stop(); failed != nil {
		t.Errorf("stop after a progress message the MTA took: %v", failed.err)
	}
	k.tick()
	if m.progress != 1 {
		t.Errorf("%d progress messages after stop; want none after the first", m.progress-1)
	}
}

// A progress message the MTA refuses (it went away) stops the work: its
// context is cancelled, no body chunk goes out any more, no other progress
// message is tried, and stop tells why, as the MTA's failure.
func TestKeepAliveFailureStopsTheWork(t *testing.T) {
	m := &countingProgress{err: errors.New("broken pipe")}
	lm := &lockedModifier{Modifier: m}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	k := startKeepAlive(lm, time.Hour, cancel, discardLog(), "Q1")
	k.tick()
	k.tick()
	if m.progress != 1 || ctx.Err() == nil {
		t.Errorf("%d progress messages tried, context %v; want 1 and cancelled", m.progress, ctx.Err())
	}
	if err := lm.ReplaceBodyRawChunk([]byte("x")); err == nil || m.changes != 0 {
		t.Errorf("body chunk after the MTA went away: %v, %d sent; want refused", err, m.changes)
	}
	failed := k.stop()
	if failed == nil || failed.reason != TempFailMTA || !strings.Contains(failed.err.Error(), "broken pipe") {
		t.Errorf("stop = %+v; want reason %s with the MTA's error", failed, TempFailMTA)
	}
}
