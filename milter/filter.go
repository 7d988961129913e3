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
//     retries. Changes are sent only with the final accept, so a failure
//     leaves nothing half-applied.
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
	"strings"
	"sync/atomic"
	"time"

	"github.com/emersion/go-message/mail"
	"github.com/postseal/postseal/envelope"
)

// Sender delivers a whole message over SMTP; the milter uses it to
// re-inject sealed copies through an MTA listener without milters.
type Sender interface {
	Send(ctx context.Context, from string, to []string, msg io.Reader) error
}

// Filter is the milter's decision logic. It is safe for concurrent use.
type Filter struct {
	policy   atomic.Pointer[Policy]
	store    EnvelopeStore
	reinject Sender
	log      *slog.Logger
	obs      Observer
	now      func() time.Time
	// Spool is the private folder for bodies too large for memory.
	spool      string
	memMax     int
	maxHeaders int
	notices    Notifier
}

// Config holds the Filter's fixed settings.
type Config struct {
	// SpoolDir receives bodies larger than MemMax while they are sealed.
	SpoolDir string
	// MemMax is how much of a body is kept in memory (default 2 MiB).
	MemMax int
	// MaxHeaders is the most header fields a message may have (default
	// MaxHeaders); one with more is refused, never filtered on a part.
	MaxHeaders int
	// Notices queues the notices to senders whose mail the scanner sealed;
	// nil sends none.
	Notices Notifier
	// Observer is told every message's outcome (nil: nobody).
	Observer Observer
}

// MaxHeaders is the default cap on header fields.
const MaxHeaders = 10000

// New returns a Filter. reinject may be nil only if no message ever needs
// more than one copy (tests); such a message is then temp-failed.
func New(p *Policy, st EnvelopeStore, reinject Sender, log *slog.Logger, cfg Config) *Filter {
	if cfg.MemMax <= 0 {
		cfg.MemMax = 2 << 20
	}
	if cfg.MaxHeaders <= 0 {
		cfg.MaxHeaders = MaxHeaders
	}
	if cfg.Observer == nil {
		cfg.Observer = nopObserver{}
	}
	f := &Filter{store: st, reinject: reinject, log: log, obs: cfg.Observer, now: time.Now, spool: cfg.SpoolDir, memMax: cfg.MemMax, maxHeaders: cfg.MaxHeaders, notices: cfg.Notices}
	f.policy.Store(p)
	return f
}

// SetPolicy replaces the rules for the messages that start after it.
func (f *Filter) SetPolicy(p *Policy) { f.policy.Store(p) }

// Policy returns the rules in force.
func (f *Filter) Policy() *Policy { return f.policy.Load() }

// Field is one header field as the MTA passed it. Value is everything after
// the colon (leading space and folds included), so that Name + ":" + Value
// is the line as received.
type Field struct {
	Name  string
	Value string
}

// Transaction is one message as collected from the MTA.
type Transaction struct {
	QueueID string
	// Sender is the envelope sender, without angle brackets.
	Sender string
	// Rcpts are the envelope recipients, without angle brackets.
	Rcpts  []string
	Fields []Field
	// Body is the message body from its start (nil for none).
	Body io.ReadSeeker
	// BodySize is the body's length in bytes.
	BodySize int64
}

// headerSize is the size of the header as received (fields plus the blank line).
func (t *Transaction) headerSize() int64 {
	n := int64(2)
	for _, f := range t.Fields {
		n += int64(len(f.Name)+1+len(f.Value)) + 2
	}
	return n
}

// subjects returns the raw values of all Subject fields.
func (t *Transaction) subjects() []string {
	var out []string
	for _, f := range t.Fields {
		if strings.EqualFold(f.Name, "Subject") {
			out = append(out, f.Value)
		}
	}
	return out
}

// Original returns the message as received: header fields with CRLF line
// ends, a blank line, the body.
func (t *Transaction) Original() (io.Reader, error) {
	var h bytes.Buffer
	for _, f := range t.Fields {
		h.WriteString(f.Name)
		h.WriteByte(':')
		h.WriteString(crlf(f.Value))
		h.WriteString("\r\n")
	}
	h.WriteString("\r\n")
	if t.Body == nil {
		return &h, nil
	}
	if _, err := t.Body.Seek(0, io.SeekStart); err != nil {
		return nil, err
	}
	return io.MultiReader(&h, t.Body), nil
}

// crlf turns the bare LFs an MTA uses inside folded header values back
// into the CRLFs the message had on the wire.
func crlf(s string) string {
	if !strings.Contains(s, "\n") {
		return s
	}
	return strings.ReplaceAll(strings.ReplaceAll(s, "\r\n", "\n"), "\n", "\r\n")
}

func (t *Transaction) display() envelope.Display {
	h := mail.HeaderFromMap(nil)
	for _, f := range t.Fields {
		h.Add(f.Name, strings.TrimSpace(unfold(f.Value)))
	}
	text := func(k string) string {
		v, err := h.Text(k)
		if err != nil {
			return h.Get(k)
		}
		return strings.TrimSpace(v)
	}
	return envelope.Display{From: text("From"), To: text("To"), Cc: text("Cc"), Date: text("Date")}
}

// field is the first header field of that name, unfolded.
func (t *Transaction) field(name string) string {
	for _, f := range t.Fields {
		if strings.EqualFold(f.Name, name) {
			return strings.TrimSpace(unfold(f.Value))
		}
	}
	return ""
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
	// Body replaces the body when non-nil.
	Body []byte
	// DelRcpts are recipients removed (their copy was re-injected).
	DelRcpts []string
}

// Replies the sender's MTA gets. The texts are meant for people.
var (
	outcomeAccept      = Outcome{}
	outcomeTempFail    = Outcome{Code: 451, Text: "4.3.0 postseal could not secure this message right now; it will be retried"}
	outcomeManyHeaders = Outcome{Code: 552, Text: "5.3.4 This message has too many header fields to be checked."}
)

func outcomeTooLarge(size, limit int64) Outcome {
	return Outcome{Code: 552, Text: fmt.Sprintf("5.3.4 This message is too large to be sent securely (%s; the limit is %s). Send large files another way or split the message.", humanSize(size), humanSize(limit))}
}

// Triage is the decision at the end of the header: whether the message
// needs its body at all. A plan that passes ends the filtering of that
// message there; for the others the body is collected and Process decides.
func (f *Filter) Triage(p *Policy, t *Transaction) (Plan, Outcome, bool) {
	if len(t.Fields) >= f.maxHeaders {
		return Plan{Action: "reject", Why: "too many header fields"}, outcomeManyHeaders, true
	}
	plan := p.Plan(t.subjects(), t.Rcpts, t.headerSize())
	switch plan.Action {
	case "pass":
		return plan, outcomeAccept, true
	case "reject":
		return plan, outcomeTooLarge(t.headerSize(), int64(p.Config.Milter.MaxSecureSize)), true
	}
	return plan, Outcome{}, false
}

// Process decides and seals one whole message, and logs and counts its
// outcome. It never returns an error: every failure becomes a temporary
// failure of the message.
func (f *Filter) Process(ctx context.Context, p *Policy, t *Transaction) Outcome {
	start := f.now()
	out, v := f.process(ctx, p, t)
	f.record(t, v, out, start)
	return out
}

// process is Process without the record, for callers that still have to
// hand the changes over before the outcome is known.
func (f *Filter) process(ctx context.Context, p *Policy, t *Transaction) (out Outcome, v verdict) {
	defer func() {
		if r := recover(); r != nil {
			f.log.Error("panic while filtering", "queue_id", t.QueueID, "panic", r, "stack", string(debug.Stack()))
			out, v.reason, v.err = outcomeTempFail, TempFailPanic, fmt.Errorf("panic: %v", r)
		}
	}()
	ctx, cancel := context.WithTimeout(ctx, time.Duration(p.Config.Milter.Timeout))
	defer cancel()

	v.size = t.headerSize() + t.BodySize
	if plan, early, done := f.Triage(p, t); done {
		v.plan = plan
		return early, v
	}
	plan := p.Plan(t.subjects(), t.Rcpts, v.size)
	v.plan = plan
	if plan.Action == "scan" {
		orig, err := t.Original()
		if err != nil {
			v.reason, v.err = TempFailSpool, fmt.Errorf("message not scanned: %w", err)
			return outcomeTempFail, v
		}
		rep := p.Scan(ctx, orig)
		plan = p.Resolve(plan, rep, v.size)
		v.plan = plan
		if rep.Interrupted && plan.Action == "pass" && p.Config.Scanner.Mode != "report" {
			// "unreadable = ignore" judges what could be read of a
			// message; a scan cut short by load or a spool that cannot be
			// read back is no verdict at all: the MTA tries again later.
			v.reason, v.err = TempFailTimeout, errors.New("message not scanned to the end (deadline or spool read error)")
			return outcomeTempFail, v
		}
		if err := ctx.Err(); err != nil {
			// The scanner stops at its own deadline; this is the milter's.
			v.reason, v.err = tempFailReason(err), fmt.Errorf("message not scanned in time: %w", err)
			return outcomeTempFail, v
		}
	}
	if plan.Action != "seal" {
		return f.unsealed(p, plan, v.size), v
	}
	sealStart := f.now()
	changes, ids, err := f.seal(ctx, p, plan, t)
	if err == nil {
		err = ctx.Err()
	}
	v.ids, v.sealTime = ids, f.now().Sub(sealStart)
	if err != nil {
		v.reason, v.err = tempFailReason(err), err
		return outcomeTempFail, v
	}
	if plan.Trigger == ScanTrigger {
		f.notifySender(ctx, f.log.With("queue_id", t.QueueID), p, plan, t)
	}
	return Outcome{Changes: changes, EnvelopeIDs: ids}, v
}

// Oversized decides, logs and counts a message whose body was too large to
// keep: only a plan waiting for the scanner gets here (other over-limit
// mail is refused by the session). It could not be scanned, so
// `unreadable` decides.
func (f *Filter) Oversized(p *Policy, t *Transaction) Outcome {
	start := f.now()
	size := t.headerSize() + t.BodySize
	limit := int64(p.Config.Milter.MaxSecureSize)
	plan := p.Plan(t.subjects(), t.Rcpts, size)
	if plan.Action == "scan" {
		plan = p.Resolve(plan, notScanned(size, limit), size)
	}
	out := f.unsealed(p, plan, size)
	f.record(t, verdict{plan: plan, size: size}, out, start)
	return out
}

// unsealed is the answer for a plan that seals nothing.
func (f *Filter) unsealed(p *Policy, plan Plan, size int64) Outcome {
	if plan.Action != "reject" {
		return outcomeAccept
	}
	limit := int64(p.Config.Milter.MaxSecureSize)
	if plan.Trigger == "" && plan.Scan != nil {
		return Outcome{Code: 552, Text: fmt.Sprintf("5.3.4 This message must be sent securely (it carries sensitive data, or parts that could not be checked) but it is too large for that (%s; the limit is %s). Send large files another way or split the message.", humanSize(size), humanSize(limit))}
	}
	return outcomeTooLarge(size, limit)
}

// scanAttrs are the log attributes of the scanner's part in a decision:
// rule names and counts only, never the values, not even masked.
func scanAttrs(plan Plan) []any {
	if plan.Scan == nil {
		return nil
	}
	counts := map[string]int{}
	for _, c := range plan.Scan.Counts() {
		counts[c.Rule] = c.Count
	}
	return []any{"findings", counts, "unreadable", len(plan.Scan.Unreadable), "report_mode", plan.Report}
}

// seal makes the copies and re-injects all but the one kept in place. It
// returns the changes for the MTA's copy; nothing is sent to the MTA here.
func (f *Filter) seal(ctx context.Context, p *Policy, plan Plan, t *Transaction) (*Changes, []string, error) {
	msg := Message{QueueID: t.QueueID, Sender: t.Sender, Display: t.display(), MessageID: t.field("Message-ID"), Original: t.Original}
	copies, err := p.Seal(ctx, plan, msg, f.store, f.now())
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
		if err := f.reinjectCopy(ctx, plan, t, c); err != nil {
			return nil, nil, err
		}
		changes.DelRcpts = append(changes.DelRcpts, c.Group.Recipients...)
	}
	if kept := copies[0]; kept.Sealed != nil {
		subject := envelope.EncodeSubject(plan.Subject)
		for _, line := range strings.Split(subject, "\r\n") {
			if len(line) > 998-len("Subject: ") {
				return nil, nil, fmt.Errorf("encoded subject line too long (%d octets)", len(line))
			}
		}
		if plan.Subject != plan.OriginalSubject || len(t.subjects()) != 1 {
			changes.Subject = &subject
		}
		changes.Remove = isSealedAway
		changes.Add = kept.Sealed.Header
		changes.Body = kept.Sealed.Body
	}
	return changes, ids, nil
}

// isSealedAway names the fields that describe the original body or claim
// an envelope: they must not stay on the sealed copy.
func isSealedAway(name string) bool {
	switch k := textproto.CanonicalMIMEHeaderKey(name); {
	case k == "Mime-Version", k == "X-Postseal-Envelope", strings.HasPrefix(k, "Content-"):
		return true
	}
	return false
}

func (f *Filter) reinjectCopy(ctx context.Context, plan Plan, t *Transaction, c Copy) error {
	if f.reinject == nil {
		return fmt.Errorf("%w: not configured", errReinject)
	}
	orig, err := t.Original()
	if err != nil {
		return fmt.Errorf("reinject %s: %w", c.EnvelopeID, err)
	}
	var buf bytes.Buffer
	if err := envelope.WriteMessage(&buf, orig, plan.Subject, c.Sealed); err != nil {
		return fmt.Errorf("reinject %s: %w", c.EnvelopeID, err)
	}
	if err := f.reinject.Send(ctx, t.Sender, c.Group.Recipients, &buf); err != nil {
		return fmt.Errorf("reinject %s: %w: %w", c.EnvelopeID, errReinject, err)
	}
	return nil
}
