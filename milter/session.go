package milter

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"runtime/debug"
	"strings"
	"sync"
	"time"

	"github.com/postseal/postseal/policy"

	"github.com/d--j/go-milter"
)

// The MTA sends only what the filter needs and waits for an answer only
// where one can change the outcome: at the end of the header (pass now, or
// send the body) and at the end of the message. Every reply the MTA waits
// for is a round trip on the mail path; go-milter's mailfilter asks for
// more of them and cost a fifth of Postfix's throughput on untouched mail.
const (
	// Events the filter ignores are still sent, but without a reply: some
	// peers (miltertest) do not cope with events switched off altogether.
	// Protocol and Actions are exported for the bench's do-nothing milter,
	// which must negotiate exactly as postseal does to measure the floor.
	Protocol = milter.OptNoUnknown | milter.OptNoConnReply | milter.OptNoHeloReply | milter.OptNoDataReply |
		milter.OptNoMailReply | milter.OptNoRcptReply | milter.OptNoHeaderReply | milter.OptNoBodyReply |
		milter.OptHeaderLeadingSpace
	Actions = milter.OptAddHeader | milter.OptChangeHeader | milter.OptChangeBody | milter.OptRemoveRcpt
)

// Server is the milter listener.
type Server struct {
	srv *milter.Server
}

// NewServer returns a milter server for the filter.
func (f *Filter) NewServer() *Server {
	return &Server{srv: milter.NewServer(
		milter.WithDynamicMilter(func(_ uint32, _ milter.OptAction, proto milter.OptProtocol, _ milter.DataSize) milter.Milter {
			return &session{f: f, leadingSpace: proto&milter.OptHeaderLeadingSpace != 0}
		}),
		milter.WithActions(Actions),
		milter.WithProtocols(Protocol),
		milter.WithMacroRequest(milter.StageEOH, []milter.MacroName{milter.MacroQueueId}),
		milter.WithMacroRequest(milter.StageEOM, []milter.MacroName{milter.MacroQueueId}),
	)}
}

// Serve answers MTA connections on l until Shutdown or Close.
func (s *Server) Serve(l net.Listener) error {
	err := s.srv.Serve(packetListener{l})
	if errors.Is(err, milter.ErrServerClosed) {
		return nil
	}
	return err
}

// Shutdown stops accepting connections and waits for the messages in
// flight until ctx ends.
func (s *Server) Shutdown(ctx context.Context) error { return s.srv.Shutdown(ctx) }

// Close stops at once; unanswered messages are temp-failed by the MTA.
func (s *Server) Close() error { return s.srv.Close() }

// session is one MTA connection; it may carry several messages.
type session struct {
	milter.NoOpMilter
	f            *Filter
	leadingSpace bool

	policy   *policy.Policy
	trx      Transaction
	decision policy.Decision
	body     *bodyBuffer
	// early is the answer given at the end of the header, if any.
	early *Outcome
}

func (s *session) reset() {
	if s.body != nil {
		s.body.Close()
	}
	// The header and recipient lists keep their arrays for the session's
	// next message (most connections carry several): growing them anew was
	// most of what a passed message allocated. Nothing of a message
	// outlives its end, and clear drops its strings.
	fields, rcpts := s.trx.Fields, s.trx.Rcpts
	clear(fields)
	clear(rcpts)
	s.policy, s.decision, s.body, s.early = nil, policy.Decision{}, nil, nil
	s.trx = Transaction{Fields: fields[:0], Rcpts: rcpts[:0]}
}

func (s *session) MailFrom(from, _ string, _ milter.Modifier) (*milter.Response, error) {
	s.reset()
	// One policy per message, even if the rules are reloaded meanwhile.
	s.policy = s.f.Policy()
	s.trx.Sender = milter.RemoveAngle(from)
	return milter.RespContinue, nil
}

func (s *session) RcptTo(rcpt, _ string, _ milter.Modifier) (*milter.Response, error) {
	s.trx.Rcpts = append(s.trx.Rcpts, milter.RemoveAngle(rcpt))
	return milter.RespContinue, nil
}

func (s *session) Header(name, value string, _ milter.Modifier) (*milter.Response, error) {
	if len(s.trx.Fields) >= s.f.maxHeaders {
		return milter.RespContinue, nil // Triage refuses the message
	}
	if !s.leadingSpace && !strings.HasPrefix(value, "\t") {
		// The MTA swallowed the space after the colon; put it back so the
		// sealed original is the message as it was sent.
		value = " " + value
	}
	s.trx.Fields = append(s.trx.Fields, Field{Name: name, Value: value})
	return milter.RespContinue, nil
}

func (s *session) Headers(m milter.Modifier) (resp *milter.Response, err error) {
	defer func() {
		if r := recover(); r != nil {
			s.f.log.Error("panic at the end of a header", "queue_id", s.trx.QueueID, "panic", r, "stack", string(debug.Stack()))
			s.f.record(&s.trx, verdict{reason: TempFailPanic, err: fmt.Errorf("panic: %v", r)}, outcomeTempFail, s.f.now())
			resp, err = milter.RespTempFail, nil
		}
	}()
	if s.policy == nil { // no MAIL FROM seen (a broken peer): be safe
		s.policy = s.f.Policy()
	}
	s.trx.QueueID = m.Get(milter.MacroQueueId)
	s.f.obs.Seen()
	start := s.f.now()
	d := s.f.Triage(s.policy, &s.trx)
	if d.Action != policy.NeedBody {
		out := outcome(d)
		s.f.record(&s.trx, verdict{decision: d, size: s.trx.headerSize()}, out, start)
		s.early = &out
		return response(out)
	}
	s.decision = d
	s.body = newBodyBuffer(s.f.spool, s.f.memMax, d.KeepBody)
	return milter.RespContinue, nil
}

func (s *session) BodyChunk(chunk []byte, _ milter.Modifier) (*milter.Response, error) {
	if s.body != nil {
		_, _ = s.body.Write(chunk)
	}
	return milter.RespContinue, nil
}

func (s *session) EndOfMessage(m milter.Modifier) (resp *milter.Response, err error) {
	defer s.reset()
	// v is what is known of the message as the work goes on: a panic's
	// line keeps it (size, envelopes recorded), and the time since start.
	start := s.f.now()
	v := verdict{decision: s.decision}
	defer func() {
		if r := recover(); r != nil {
			s.f.log.Error("panic at the end of a message", "queue_id", s.trx.QueueID, "panic", r, "stack", string(debug.Stack()))
			v.reason, v.err = TempFailPanic, fmt.Errorf("panic: %v", r)
			s.f.record(&s.trx, v, outcomeTempFail, start)
			resp, err = milter.RespTempFail, nil
		}
	}()
	switch {
	case s.early != nil:
		// Answered at the end of the header; a peer that still sends the
		// message gets the same answer again, never a different one.
		return response(*s.early)
	case s.body == nil:
		// No end of header was seen, so no body was kept: this cannot be
		// decided safely.
		s.f.record(&s.trx, verdict{reason: TempFailProtocol, err: errors.New("end of message without end of header")}, outcomeTempFail, start)
		return response(outcomeTempFail)
	}
	if q := m.Get(milter.MacroQueueId); q != "" {
		s.trx.QueueID = q
	}
	s.trx.BodySize = s.body.Size()
	v.size = s.trx.headerSize() + s.trx.BodySize
	bodyKept := !s.body.Over()
	if bodyKept {
		body, err := s.body.Reader()
		if err != nil {
			v.reason, v.err = TempFailSpool, err
			s.f.record(&s.trx, v, outcomeTempFail, start)
			return response(outcomeTempFail)
		}
		s.trx.Body = body
	}
	out, err := s.finish(m, bodyKept, &v)
	if err == nil && out.Accepted() && out.Changes != nil {
		if err = s.apply(m, out.Changes); err != nil {
			v.reason, v.err = TempFailMTA, fmt.Errorf("handing the sealed copy to the MTA: %w", err)
		}
	}
	if err != nil {
		// The connection is broken or the MTA refused a change: return
		// the error so go-milter drops the connection and the MTA, with
		// milter_default_action = tempfail, keeps the message.
		s.f.record(&s.trx, v, outcomeTempFail, start)
		return nil, err
	}
	s.f.record(&s.trx, v, out, start)
	return response(out)
}

// finish is the work between the end of the data and the changes: the
// decision, the copies made and recorded, and the kept copy sealed and
// streamed to the MTA, then recorded. It keeps the MTA waiting patiently
// until all of that is done: without a sign of life every second a slow
// seal, or a slow write of the kept copy's record after its body went out,
// would hit the MTA's timeout. v gets what is known of the message, also
// when finish panics; err is the MTA's refusal of a body chunk.
//
// The work runs on the session's own goroutine and the keep-alive on a
// timer, which starts a goroutine only when it fires: most messages are
// answered within the first second, and a worker goroutine and a ticker
// per message cost the scheduler's wake-ups (a futex call and a context
// switch each on these machines) for every one of them.
func (s *session) finish(m milter.Modifier, bodyKept bool, v *verdict) (Outcome, error) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	lm := &lockedModifier{Modifier: m}
	k := startKeepAlive(lm, s.f.keepAlive, cancel, s.f.log, s.trx.QueueID)
	// Every way out stops the keep-alive before the session answers: the
	// MTA must get no progress message after the answer.
	defer k.stop()
	out, wv, err := s.work(ctx, lm, bodyKept)
	*v = wv
	if gone := k.stop(); gone != nil {
		// The MTA went away (or its connection broke) while the message
		// was worked on: nothing that was made can be handed over.
		v.reason, v.err = gone.reason, gone.err
		return outcomeTempFail, nil
	}
	return out, err
}

// work decides and seals the message, streaming the kept copy's body to
// the MTA through lm; a panic is the message's temp-fail, logged here
// with what was known of it.
func (s *session) work(ctx context.Context, lm *lockedModifier, bodyKept bool) (out Outcome, wv verdict, err error) {
	defer func() {
		if r := recover(); r != nil {
			s.f.log.Error("panic at the end of a message", "queue_id", s.trx.QueueID, "panic", r, "stack", string(debug.Stack()))
			out, wv.reason, wv.err, err = outcomeTempFail, TempFailPanic, fmt.Errorf("panic: %v", r), nil
		}
	}()
	out, wv = s.f.process(ctx, s.policy, &s.trx, bodyKept)
	if c := out.Changes; out.Accepted() && c != nil && c.seal != nil {
		// The sealed body goes to the MTA as it is made. Chunks already
		// sent are only applied with the final accept: a failure here
		// answers 451 and the MTA drops them with the message.
		cw := newChunkWriter(lm)
		defer cw.release()
		serr := s.f.sealKept(ctx, s.policy, c, cw, &wv)
		if serr == nil {
			// SealTo flushed before the record; nothing is left then,
			// and what would be is refused: the body has ended.
			serr = cw.Flush()
		}
		switch {
		case cw.err != nil:
			wv.reason, wv.err = TempFailMTA, fmt.Errorf("handing the sealed copy to the MTA: %w", cw.err)
			out, err = outcomeTempFail, cw.err
		case serr != nil:
			out = outcomeTempFail
		}
	}
	return out, wv, err
}

// keepAlive sends the MTA a progress message every interval while the
// message is worked on. Its timer runs the sends on a goroutine of its
// own; they go through lm's lock, so they never come between two body
// chunks nor interleave with a chunk's packet.
type keepAlive struct {
	lm     *lockedModifier
	every  time.Duration
	cancel context.CancelFunc
	log    *slog.Logger
	qid    string
	t      *time.Timer
	// Under lm.mu:
	stopped bool
	failed  *keepAliveFailure
}

// keepAliveFailure is why the MTA could not be kept waiting.
type keepAliveFailure struct {
	reason string
	err    error
}

// startKeepAlive sends the first progress message after every; a failure
// to send one calls cancel. qid names the message in a panic's log line.
func startKeepAlive(lm *lockedModifier, every time.Duration, cancel context.CancelFunc, log *slog.Logger, qid string) *keepAlive {
	k := &keepAlive{lm: lm, every: every, cancel: cancel, log: log, qid: qid}
	// Under the lock: a tick may come before the timer is stored.
	lm.mu.Lock()
	defer lm.mu.Unlock()
	k.t = time.AfterFunc(every, k.tick)
	return k
}

func (k *keepAlive) tick() {
	k.lm.mu.Lock()
	defer k.lm.mu.Unlock()
	if k.stopped || k.failed != nil {
		return
	}
	if err := k.progressLocked(); err != nil {
		k.failed = err
		// Stop the work: no chunk may follow, and it need not go on.
		k.lm.endLocked(errors.New("the session gave up on the message"))
		k.cancel()
		return
	}
	k.t.Reset(k.every)
}

// progressLocked sends one progress message unless a body is being
// replaced; a panic (not the session's goroutine: its recover does not
// reach here) is a failure like the MTA's error.
func (k *keepAlive) progressLocked() (failed *keepAliveFailure) {
	defer func() {
		if r := recover(); r != nil {
			k.log.Error("panic at the end of a message", "queue_id", k.qid, "panic", r, "stack", string(debug.Stack()))
			failed = &keepAliveFailure{reason: TempFailPanic, err: fmt.Errorf("panic: %v", r)}
		}
	}()
	if k.lm.inBody {
		return nil
	}
	if err := k.lm.Modifier.Progress(); err != nil {
		return &keepAliveFailure{reason: TempFailMTA, err: fmt.Errorf("the MTA went away while the message was sealed: %w", err)}
	}
	return nil
}

// stop ends the keep-alive: once it returns, no progress message is being
// sent or will be. It returns why the MTA could not be kept waiting, if
// that happened.
func (k *keepAlive) stop() *keepAliveFailure {
	k.lm.mu.Lock()
	defer k.lm.mu.Unlock()
	k.stopped = true
	k.t.Stop()
	return k.failed
}

// lockedModifier lets two goroutines write to the MTA, the keep-alive and
// the sealed body's chunks: go-milter writes a packet in two parts, which
// unserialised could interleave on the connection. The keep-alive sends
// under its lock, and stays out of the body: Postfix takes any reply after
// a replace-body chunk as the end of the new body and refuses a later
// chunk, which temp-fails the message on every retry. Between the first
// chunk and the last, each chunk is a reply that resets the MTA's timer
// instead.
type lockedModifier struct {
	milter.Modifier
	mu     sync.Mutex
	inBody bool  // a chunk went out, the body's end has not
	ended  error // why no chunk may go out any more: the body ended, or the session gave up
}

func (l *lockedModifier) ReplaceBodyRawChunk(chunk []byte) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.ended != nil {
		return l.ended
	}
	l.inBody = true
	return l.Modifier.ReplaceBodyRawChunk(chunk)
}

// end stops the chunks for the reason err; the keep-alive may go on.
func (l *lockedModifier) end(err error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.endLocked(err)
}

func (l *lockedModifier) endLocked(err error) {
	l.inBody = false
	if l.ended == nil {
		l.ended = err
	}
}

// apply sends the changes to the MTA: removals last-to-first so that the
// indexes of the ones still to go stay valid, then the subject and the new
// fields, then the recipients whose copy was re-injected. (The sealed body
// was streamed before, by chunkWriter; Changes.Body is Process's, never
// the session's.)
func (s *session) apply(m milter.Modifier, c *Changes) error {
	value := func(v string) string {
		if s.leadingSpace {
			return " " + v
		}
		return v
	}
	type at struct {
		name  string
		index int
	}
	var removals []at
	seen := map[string]int{}
	firstSubject := true
	for _, fld := range s.trx.Fields {
		key := strings.ToLower(fld.Name)
		seen[key]++
		isSubject := key == "subject"
		switch {
		case isSubject && c.Subject != nil && firstSubject:
			firstSubject = false
		case isSubject && c.Subject != nil:
			removals = append(removals, at{fld.Name, seen[key]})
		case c.Remove != nil && c.Remove(fld.Name):
			removals = append(removals, at{fld.Name, seen[key]})
		}
	}
	for i := len(removals) - 1; i >= 0; i-- {
		if err := m.ChangeHeader(removals[i].index, removals[i].name, ""); err != nil {
			return err
		}
	}
	// Insert past the end: MTAs append then. (Sendmail counts header
	// fields it does not show the milter, so an exact end index misplaces.)
	end := len(s.trx.Fields) + 100
	if c.Subject != nil {
		if seen["subject"] > 0 {
			if err := m.ChangeHeader(1, "Subject", value(*c.Subject)); err != nil {
				return err
			}
		} else if err := m.InsertHeader(end, "Subject", value(*c.Subject)); err != nil {
			return err
		}
	}
	for _, fld := range c.Add {
		if err := m.InsertHeader(end, fld.Name, value(fld.Value)); err != nil {
			return err
		}
	}
	for _, r := range c.DelRcpts {
		if err := m.DeleteRecipient(r); err != nil {
			return err
		}
	}
	return nil
}

func (s *session) Abort(_ milter.Modifier) error {
	s.reset()
	return nil
}

func (s *session) Cleanup(_ milter.Modifier) { s.reset() }

func response(o Outcome) (*milter.Response, error) {
	if o.Accepted() {
		return milter.RespAccept, nil
	}
	r, err := milter.RejectWithCodeAndReason(uint16(o.Code), o.Text)
	if err != nil {
		return milter.RespTempFail, nil
	}
	return r, nil
}

// chunkSize is the largest replace-body chunk every MTA takes (the
// protocol's smallest negotiated data size).
const chunkSize = int(milter.DataSize64K)

// chunkWriter sends what is written to it as replace-body chunks of
// chunkSize bytes; err keeps the MTA's error, so that it can be told from
// a failure of the sealing that writes.
type chunkWriter struct {
	m   *lockedModifier
	buf []byte
	err error
	// pooled is buf's array, taken from chunkBufs, when it was.
	pooled *[chunkSize]byte
}

// chunkBufs keeps the chunk writers' buffers between messages: a new one
// for every sealed message was the milter's largest garbage (64 KiB, a
// large object cleared at each allocation, and more GC cycles). A chunk is
// written out before Write or Flush returns (go-milter and packetConn
// keep no part of it), so the array is free again once the body is out.
var chunkBufs = sync.Pool{New: func() any { return new([chunkSize]byte) }}

func newChunkWriter(m *lockedModifier) *chunkWriter {
	a := chunkBufs.Get().(*[chunkSize]byte)
	return &chunkWriter{m: m, buf: a[:0], pooled: a}
}

// release gives the buffer back; the writer takes no more writes.
func (w *chunkWriter) release() {
	if w.pooled == nil {
		return
	}
	chunkBufs.Put(w.pooled)
	w.pooled, w.buf = nil, nil
	if w.err == nil {
		w.err = errors.New("replace-body chunk after the chunk writer was released")
	}
}

func (w *chunkWriter) Write(p []byte) (int, error) {
	if w.err != nil {
		return 0, w.err
	}
	n := len(p)
	for len(p) > 0 {
		k := copy(w.buf[len(w.buf):cap(w.buf)], p)
		w.buf, p = w.buf[:len(w.buf)+k], p[k:]
		if len(w.buf) == cap(w.buf) {
			if err := w.send(); err != nil {
				return n - len(p), err
			}
		}
	}
	return n, nil
}

// Flush sends what is buffered and ends the body: Pending.SealTo calls it
// once the whole body is written, before the slow part, the envelope's
// record, through which the MTA then gets keep-alives again.
func (w *chunkWriter) Flush() error {
	if err := w.send(); err != nil {
		return err
	}
	w.m.end(errors.New("replace-body chunk after the end of the body"))
	return nil
}

// send sends what is buffered.
func (w *chunkWriter) send() error {
	if w.err != nil || len(w.buf) == 0 {
		return w.err
	}
	if err := w.m.ReplaceBodyRawChunk(w.buf); err != nil {
		w.err = err
		return err
	}
	w.buf = w.buf[:0]
	return nil
}
