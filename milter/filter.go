// Package milter is postseal's mail filter. It speaks the milter protocol
// (go-milter) to Postfix or Sendmail, asks the rules what each message
// needs, has it sealed, and tells the MTA what to change: a new subject,
// header and body for the sealed copy kept in the MTA's transaction, and
// recipients removed when other copies were re-injected.
//
// Two rules shape this package:
//   - A message that should be sealed is never passed in the clear. Every
//     error, panic or timeout between the end of data and the final answer
//     becomes a temporary failure (451): the MTA keeps the message and
//     retries. The sealed body is written to the MTA as it is made, in
//     replace-body chunks, and the envelope is recorded after it; the MTA
//     applies changes only with the final accept, so a failure after some
//     chunks were sent still ends in a 451 and discards them.
//   - Mail that needs nothing costs next to nothing: the decision for it is
//     taken at the end of the header, and the MTA then skips sending the
//     body. Only messages that are sealed are buffered.
package milter

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/textproto"
	"runtime/debug"
	"slices"
	"strings"
	"sync/atomic"
	"time"

	"github.com/postseal/postseal/envelope"
	"github.com/postseal/postseal/policy"
)

// Sender delivers a whole message over SMTP; the milter uses it to
// re-inject sealed copies through an MTA listener without milters.
type Sender interface {
	Send(ctx context.Context, from string, to []string, msg io.Reader) error
}

// Filter is the milter's decision logic. It is safe for concurrent use.
type Filter struct {
	policy   atomic.Pointer[policy.Policy]
	store    policy.EnvelopeStore
	reinject Sender
	log      *slog.Logger
	obs      Observer
	now      func() time.Time
	// Spool is the private folder for bodies too large for memory.
	spool      string
	memMax     int
	maxHeaders int
	notices    Notifier
	// keepAlive is how often the MTA is told that a message is still
	// being worked on (tests shorten it).
	keepAlive time.Duration
}

// Config holds the Filter's fixed settings.
type Config struct {
	// SpoolDir receives bodies larger than MemMax while they are sealed.
	SpoolDir string
	// MemMax is how much of a body is kept in memory (default 2 MiB).
	MemMax int
	// MaxHeaders is the most header fields a message may have (default
	// policy.MaxHeaders); one with more is refused, never filtered on a part.
	MaxHeaders int
	// Notices queues the notices to senders whose mail the scanner sealed;
	// nil sends none.
	Notices Notifier
	// Observer is told every message's outcome (nil: nobody).
	Observer Observer
}

// New returns a Filter. reinject may be nil only if no message ever needs
// more than one copy (tests); such a message is then temp-failed.
func New(p *policy.Policy, st policy.EnvelopeStore, reinject Sender, log *slog.Logger, cfg Config) *Filter {
	if cfg.MemMax <= 0 {
		cfg.MemMax = 2 << 20
	}
	if cfg.MaxHeaders <= 0 {
		cfg.MaxHeaders = policy.MaxHeaders
	}
	if cfg.Observer == nil {
		cfg.Observer = nopObserver{}
	}
	f := &Filter{store: st, reinject: reinject, log: log, obs: cfg.Observer, now: time.Now, spool: cfg.SpoolDir, memMax: cfg.MemMax, maxHeaders: cfg.MaxHeaders, notices: cfg.Notices, keepAlive: time.Second}
	f.policy.Store(p)
	return f
}

// SetPolicy replaces the rules for the messages that start after it.
func (f *Filter) SetPolicy(p *policy.Policy) { f.policy.Store(p) }

// Policy returns the rules in force.
func (f *Filter) Policy() *policy.Policy { return f.policy.Load() }

// Field is one header field as the MTA passed it.
type Field = policy.Field

// Transaction is one message as collected from the MTA.
type Transaction struct {
	QueueID string
	// Sender is the envelope sender, without angle brackets.
	Sender string
	// Rcpts are the envelope recipients, without angle brackets.
	Rcpts  []string
	Fields policy.Header
	// Body is the message body from its start (nil for none).
	Body io.ReadSeeker
	// BodySize is the body's length in bytes.
	BodySize int64
	// header is the header as received, built by the first Original.
	header []byte
}

// headerSize is the size of the header as received (fields plus the blank line).
func (t *Transaction) headerSize() int64 { return t.Fields.Size() }

// Original returns the message as received: header fields with CRLF line
// ends, a blank line, the body. Each call returns a reader of its own from
// the message's start. The header is built once per transaction (the
// scan and every sealed copy read it; Fields must not change after the
// first call) and the body is read where it is kept, in memory or in the
// spool file, never copied: a large message is held once. The reader is an
// io.ReaderAt and io.Seeker with a Size, so that sealing samples it in
// windows and knows its length instead of copying a sample of its start.
func (t *Transaction) Original() (io.Reader, error) {
	if t.header == nil {
		t.header = t.buildHeader()
	}
	if t.Body == nil {
		return bytes.NewReader(t.header), nil
	}
	ra, ok := t.Body.(io.ReaderAt)
	if !ok {
		if _, err := t.Body.Seek(0, io.SeekStart); err != nil {
			return nil, err
		}
		return io.MultiReader(bytes.NewReader(t.header), t.Body), nil
	}
	size, err := readerSize(t.Body)
	if err != nil {
		return nil, err
	}
	m := &headedBody{header: t.header, body: ra}
	return io.NewSectionReader(m, 0, int64(len(t.header))+size), nil
}

// buildHeader is the header as it was on the wire, in one allocation.
func (t *Transaction) buildHeader() []byte {
	n := 2
	for _, f := range t.Fields {
		n += len(f.Name) + 1 + len(f.Value) + 2
		n += strings.Count(f.Value, "\n") // a bare LF becomes CRLF
	}
	h := make([]byte, 0, n)
	for _, f := range t.Fields {
		h = append(h, f.Name...)
		h = append(h, ':')
		h = append(h, crlf(f.Value)...)
		h = append(h, "\r\n"...)
	}
	return append(h, "\r\n"...)
}

// readerSize is the length of a body reader, whatever its position.
func readerSize(r io.Seeker) (int64, error) {
	if s, ok := r.(interface{ Size() int64 }); ok {
		return s.Size(), nil
	}
	cur, err := r.Seek(0, io.SeekCurrent)
	if err != nil {
		return 0, err
	}
	end, err := r.Seek(0, io.SeekEnd)
	if err != nil {
		return 0, err
	}
	_, err = r.Seek(cur, io.SeekStart)
	return end, err
}

// headedBody reads the header and then the body as one run of bytes at any
// offset. ReadAt keeps no position, so the readers Original hands out do
// not disturb one another.
type headedBody struct {
	header []byte
	body   io.ReaderAt
}

func (m *headedBody) ReadAt(p []byte, off int64) (int, error) {
	n := 0
	if off < int64(len(m.header)) {
		n = copy(p, m.header[off:])
		if n == len(p) {
			return n, nil
		}
		off = int64(len(m.header))
	}
	k, err := m.body.ReadAt(p[n:], off-int64(len(m.header)))
	return n + k, err
}

// crlf turns the bare LFs an MTA uses inside folded header values back
// into the CRLFs the message had on the wire.
func crlf(s string) string {
	if !strings.Contains(s, "\n") {
		return s
	}
	return strings.ReplaceAll(strings.ReplaceAll(s, "\r\n", "\n"), "\n", "\r\n")
}

// Outcome is the answer for one message.
type Outcome struct {
	// Code is 0 to accept, else the SMTP reply code for Text.
	Code int
	Text string
	// Changes are made to the MTA's copy before it is accepted.
	Changes *Changes
	// EnvelopeIDs are the envelopes made for the message.
	EnvelopeIDs []string
}

// Accepted reports whether the MTA may deliver the message.
func (o Outcome) Accepted() bool { return o.Code == 0 }

// Changes are the modifications to the MTA's copy of a message.
type Changes struct {
	// Subject, when non-nil, replaces the first Subject field (encoded,
	// folded with CRLF, no leading space); other Subject fields are removed.
	Subject *string
	// Remove names fields (by a predicate over the name) that are removed
	// in every occurrence: the original's MIME fields and any forged
	// X-Postseal-Envelope.
	Remove func(name string) bool
	// Add are fields appended to the header.
	Add []envelope.Field
	// Body replaces the body when non-nil (Process fills it from seal).
	Body []byte
	// seal, when set, seals the copy kept in the MTA's transaction: it
	// writes the new body to w as it is made, records the envelope, and
	// returns the header fields to add. The milter session streams it to
	// the MTA; Process writes it into Body.
	seal func(ctx context.Context, w io.Writer) ([]envelope.Field, error)
	// keptID is the envelope seal records, once it has succeeded.
	keptID string
	// DelRcpts are recipients removed (their copy was re-injected).
	DelRcpts []string
}

// outcomeTempFail is the answer to anything that failed on the way.
var outcomeTempFail = outcome(policy.TempFailDecision(""))

// outcome turns a decision that seals nothing into the MTA's answer.
func outcome(d policy.Decision) Outcome {
	code, text := d.SMTP()
	return Outcome{Code: code, Text: text}
}

// facts are what the transaction tells the decision at a stage.
func (f *Filter) facts(t *Transaction, stage policy.Stage) policy.Facts {
	return policy.Facts{Stage: stage, Sender: t.Sender, Rcpts: t.Rcpts, Header: t.Fields, Size: t.headerSize(), MaxHeaders: f.maxHeaders}
}

// Triage is the decision at the end of the header: whether the message
// needs its body at all. A decision other than NeedBody ends the
// filtering of that message there; for the others the body is collected
// (up to KeepBody bytes) and Process decides.
func (f *Filter) Triage(p *policy.Policy, t *Transaction) policy.Decision {
	return policy.Decide(p.Config, f.facts(t, policy.AtHeader))
}

// Process decides and seals one whole message, and logs and counts its
// outcome. bodyKept is false when the body outgrew what the end of the
// header asked to keep. It never returns an error: every failure becomes a
// temporary failure of the message.
func (f *Filter) Process(ctx context.Context, p *policy.Policy, t *Transaction, bodyKept bool) Outcome {
	start := f.now()
	out, v := f.process(ctx, p, t, bodyKept)
	if c := out.Changes; c != nil && c.seal != nil {
		var body bytes.Buffer
		if err := f.sealKept(ctx, p, c, &body, &v); err != nil {
			out = outcomeTempFail
		} else {
			c.Body = body.Bytes()
		}
	}
	f.record(t, v, out, start)
	return out
}

// sealKept runs the kept copy's seal into w within the milter timeout:
// c.Add gets its header fields and v.ids the envelope once it is recorded.
// A failure is set in v.
func (f *Filter) sealKept(ctx context.Context, p *policy.Policy, c *Changes, w io.Writer, v *verdict) (err error) {
	ctx, cancel := context.WithTimeout(ctx, time.Duration(p.Config.Milter.Timeout))
	defer cancel()
	start := f.now()
	seal := c.seal
	c.seal = nil
	defer func() {
		if r := recover(); r != nil {
			f.log.Error("panic while sealing", "panic", r, "stack", string(debug.Stack()))
			v.reason, v.err, err = TempFailPanic, fmt.Errorf("panic: %v", r), fmt.Errorf("panic: %v", r)
		}
	}()
	fields, err := seal(ctx, w)
	if err == nil {
		v.ids = append(v.ids, c.keptID)
		err = ctx.Err()
	}
	v.sealTime += f.now().Sub(start)
	if err != nil {
		v.reason, v.err = tempFailReason(err), err
		return err
	}
	c.Add = append(c.Add, fields...)
	return nil
}

// process is Process without the record, for callers that still have to
// hand the changes over before the outcome is known.
func (f *Filter) process(ctx context.Context, p *policy.Policy, t *Transaction, bodyKept bool) (out Outcome, v verdict) {
	defer func() {
		if r := recover(); r != nil {
			f.log.Error("panic while filtering", "queue_id", t.QueueID, "panic", r, "stack", string(debug.Stack()))
			out, v.reason, v.err = outcomeTempFail, TempFailPanic, fmt.Errorf("panic: %v", r)
		}
	}()
	ctx, cancel := context.WithTimeout(ctx, time.Duration(p.Config.Milter.Timeout))
	defer cancel()

	v.size = t.headerSize() + t.BodySize
	facts := f.facts(t, policy.AtEnd)
	facts.Size, facts.BodyKept = v.size, bodyKept
	var scanErr error
	facts.Scan = func() policy.ScanReport {
		orig, err := t.Original()
		if err != nil {
			scanErr = fmt.Errorf("message not scanned: %w", err)
			return policy.ScanReport{Interrupted: true}
		}
		return p.Scan(ctx, orig)
	}
	d := policy.Decide(p.Config, facts)
	v.decision = d
	switch {
	case scanErr != nil:
		v.reason, v.err = TempFailSpool, scanErr
		return outcomeTempFail, v
	case d.Action == policy.TempFail:
		v.reason, v.err = TempFailTimeout, errors.New(d.Why)
		return outcome(d), v
	case d.Scan != nil && ctx.Err() != nil:
		// The scanner stops at its own deadline; this is the milter's.
		v.reason, v.err = tempFailReason(ctx.Err()), fmt.Errorf("message not scanned in time: %w", ctx.Err())
		return outcomeTempFail, v
	case d.Action != policy.Seal:
		return outcome(d), v
	}
	sealStart := f.now()
	changes, ids, err := f.seal(ctx, p, d, t, &v)
	if err == nil {
		err = ctx.Err()
	}
	v.sealTime = f.now().Sub(sealStart)
	if err != nil {
		v.reason, v.err = tempFailReason(err), err
		return outcomeTempFail, v
	}
	if d.Notify {
		f.notifySender(ctx, f.log.With("queue_id", t.QueueID), p, d, t)
	}
	return Outcome{Changes: changes, EnvelopeIDs: ids}, v
}

// scanAttrs are the log attributes of the scanner's part in a decision:
// rule names and counts only, never the values, not even masked.
func scanAttrs(d policy.Decision) []slog.Attr {
	if d.Scan == nil {
		return nil
	}
	counts := map[string]int{}
	for _, c := range d.Scan.Counts() {
		counts[c.Rule] = c.Count
	}
	return []slog.Attr{slog.Any("findings", counts), slog.Int("unreadable", len(d.Scan.Unreadable)), slog.Bool("report_mode", d.Report)}
}

// seal makes the copies and re-injects all but the one kept in place. It
// returns the changes for the MTA's copy, whose sealing (Changes.seal) is
// left to the caller; nothing is sent to the MTA here. v gets each
// envelope as it is recorded and each copy as it is handed over, so that
// a failure after them still tells of them. (The kept copy's envelope is
// recorded by its seal, after its body went out.)
func (f *Filter) seal(ctx context.Context, p *policy.Policy, d policy.Decision, t *Transaction, v *verdict) (*Changes, []string, error) {
	msg := policy.Message{QueueID: t.QueueID, Sender: t.Sender, Display: t.Fields.Display(), MessageID: t.Fields.Get("Message-ID"), Original: t.Original}
	copies, err := p.Prepare(d, msg, f.now())
	if err != nil {
		return nil, nil, err
	}
	var ids []string
	for _, c := range copies {
		if c.EnvelopeID != "" {
			ids = append(ids, c.EnvelopeID)
		}
	}
	changes := &Changes{}
	// The first copy stays in the MTA's transaction (a clear copy for the
	// internal recipients under split, else the first sealed one); the
	// others go out through the re-injection listener.
	for _, c := range copies[1:] {
		if c.Pending != nil {
			if c.Sealed, err = c.Pending.Seal(ctx, f.store); err != nil {
				return nil, nil, err
			}
			v.ids = append(v.ids, c.EnvelopeID)
		}
		if err := f.reinjectCopy(ctx, d, t, c); err != nil {
			return nil, nil, err
		}
		if c.EnvelopeID != "" {
			v.reinjected = append(v.reinjected, c.EnvelopeID)
		}
		changes.DelRcpts = append(changes.DelRcpts, c.Group.Recipients...)
	}
	if kept := copies[0]; kept.Pending != nil {
		subject := envelope.EncodeSubject(kept.Group.Subject)
		for _, line := range strings.Split(subject, "\r\n") {
			if len(line) > 998-len("Subject: ") {
				return nil, nil, fmt.Errorf("encoded subject line too long (%d octets)", len(line))
			}
		}
		if kept.Group.Subject != d.OriginalSubject || len(t.Fields.Values("Subject")) != 1 {
			changes.Subject = &subject
		}
		changes.Remove = sealedAway(d.RemoveFields)
		changes.keptID = kept.EnvelopeID
		changes.seal = func(ctx context.Context, w io.Writer) ([]envelope.Field, error) {
			s, err := kept.Pending.SealTo(ctx, f.store, w)
			if err != nil {
				return nil, err
			}
			return s.Header, nil
		}
	}
	return changes, ids, nil
}

// sealedAway names the fields that must not stay on a sealed copy: those
// that describe the original body or claim an envelope, and a header
// trigger's field (extra).
func sealedAway(extra []string) func(name string) bool {
	return func(name string) bool {
		switch k := textproto.CanonicalMIMEHeaderKey(name); {
		case k == "Mime-Version", k == "X-Postseal-Envelope", strings.HasPrefix(k, "Content-"):
			return true
		}
		return slices.ContainsFunc(extra, func(x string) bool { return strings.EqualFold(x, name) })
	}
}

func (f *Filter) reinjectCopy(ctx context.Context, d policy.Decision, t *Transaction, c policy.Copy) error {
	if f.reinject == nil {
		return fmt.Errorf("%w: not configured", errReinject)
	}
	orig, err := t.Original()
	if err != nil {
		return fmt.Errorf("reinject %s: %w", c.EnvelopeID, err)
	}
	var buf bytes.Buffer
	if err := envelope.WriteMessage(&buf, orig, c.Group.Subject, c.Sealed, d.RemoveFields...); err != nil {
		return fmt.Errorf("reinject %s: %w", c.EnvelopeID, err)
	}
	if err := f.reinject.Send(ctx, t.Sender, c.Group.Recipients, &buf); err != nil {
		return fmt.Errorf("reinject %s: %w: %w", c.EnvelopeID, errReinject, err)
	}
	return nil
}
