// Package milter is postseal's mail filter: it collects one SMTP transaction
// through go-milter's mailfilter, asks the rules what the message needs,
// has it sealed, and applies the result to the MTA's copy (new subject,
// headers and body; recipients removed and re-injected when one message
// needs several copies).
//
// The one rule that shapes this package: a message that should be sealed is
// never passed in the clear. Every error, panic or timeout between the end
// of data and the final answer becomes a temporary failure (451) so that the
// MTA keeps the message and tries again; modifications are only sent with
// the final accept, so a failure leaves nothing half-applied.
package milter

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"runtime/debug"
	"strings"
	"sync/atomic"
	"time"

	"github.com/d--j/go-milter/mailfilter"
	"github.com/d--j/go-milter/mailfilter/header"
	"github.com/postseal/postseal/envelope"
)

// Sender delivers a whole message over SMTP; the milter uses it to
// re-inject sealed copies through an MTA listener without milters.
type Sender interface {
	Send(ctx context.Context, from string, to []string, msg io.Reader) error
}

// Filter is the milter's decision logic. It is safe for concurrent use.
type Filter struct {
	policy     atomic.Pointer[Policy]
	store      EnvelopeStore
	reinject   Sender
	log        *slog.Logger
	now        func() time.Time
	maxHeaders uint32
}

// New returns a Filter. reinject may be nil only if no message ever needs
// more than one copy (tests); such a message is then temp-failed.
func New(p *Policy, st EnvelopeStore, reinject Sender, log *slog.Logger) *Filter {
	f := &Filter{store: st, reinject: reinject, log: log, now: time.Now, maxHeaders: MaxHeaders}
	f.policy.Store(p)
	return f
}

// SetPolicy replaces the rules for the messages that start after it.
func (f *Filter) SetPolicy(p *Policy) { f.policy.Store(p) }

// Policy returns the rules in force.
func (f *Filter) Policy() *Policy { return f.policy.Load() }

// Replies the sender's MTA gets. The texts are meant for people.
var (
	replyTempFail = mailfilter.CustomErrorResponse(451, "4.3.0 postseal could not secure this message right now; it will be retried")
)

func replyTooLarge(size, limit int64) mailfilter.Decision {
	return mailfilter.CustomErrorResponse(552, fmt.Sprintf("5.3.4 This message is too large to be sent securely (%s; the limit is %s). Send large files another way or split the message.", humanSize(size), humanSize(limit)))
}

// MaxHeaders is the number of header fields collected. A message with
// that many is refused in Decide rather than filtered on a truncated header
// (a Subject beyond the limit would otherwise go unseen).
const MaxHeaders = 10000

var replyTooManyHeaders = mailfilter.CustomErrorResponse(552, "5.3.4 This message has too many header fields to be checked.")

// Options are the mailfilter options the Filter needs. Bodies larger than
// memMax spill to a temporary file (TMPDIR, which serve points at the
// private spool folder); bodies are never truncated: one over bodyMax is
// refused.
//
// Header fields are collected with TruncateWhenTooBig and the cap is
// enforced in Decide: go-milter's RejectMessageWhenTooBig for headers makes
// the MTA wait for a reply after every header line, which cost a quarter of
// Postfix's throughput on untouched mail.
func (f *Filter) Options(memMax int, bodyMax int64) []mailfilter.Option {
	return []mailfilter.Option{
		mailfilter.WithDecisionAt(mailfilter.DecisionAtEndOfMessage),
		mailfilter.WithErrorHandling(mailfilter.TempFailWhenError),
		mailfilter.WithBody(memMax, bodyMax, mailfilter.RejectMessageWhenTooBig),
		mailfilter.WithHeader(f.maxHeaders, mailfilter.TruncateWhenTooBig),
	}
}

// Decide is the mailfilter decision function.
func (f *Filter) Decide(ctx context.Context, trx mailfilter.Trx) (decision mailfilter.Decision, err error) {
	start := f.now()
	p := f.policy.Load()
	log := f.log.With("queue_id", trx.QueueId())
	defer func() {
		if r := recover(); r != nil {
			log.Error("panic while filtering; message temp-failed", "panic", r, "stack", string(debug.Stack()))
			decision, err = replyTempFail, nil
		}
	}()
	ctx, cancel := context.WithTimeout(ctx, time.Duration(p.Config.Milter.Timeout))
	defer cancel()
	if trx.Headers().Fields().Len() >= int(f.maxHeaders) {
		log.Info("message refused: too many header fields", "limit", f.maxHeaders)
		return replyTooManyHeaders, nil
	}

	rcpts := make([]string, 0, len(trx.RcptTos()))
	for _, r := range trx.RcptTos() {
		rcpts = append(rcpts, r.Addr)
	}
	var subjects []string
	for fields := trx.Headers().Fields(); fields.Next(); {
		if fields.CanonicalKey() == "Subject" {
			subjects = append(subjects, fields.Value())
		}
	}
	size, err := messageSize(trx)
	if err != nil {
		log.Error("cannot measure message; temp-failed", "err", err)
		return replyTempFail, nil
	}
	plan := p.Plan(subjects, rcpts, size)
	attrs := []any{"action", plan.Action, "trigger", plan.Trigger, "recipients", len(rcpts), "size", size}
	switch plan.Action {
	case "pass":
		log.Info("message passed", append(attrs, "why", plan.Why, "duration", time.Since(start))...)
		return mailfilter.Accept, nil
	case "reject":
		log.Info("message refused", append(attrs, "why", plan.Why)...)
		return replyTooLarge(size, int64(p.Config.Milter.MaxSecureSize)), nil
	}

	ids, err := f.seal(ctx, p, plan, trx)
	if err == nil {
		err = ctx.Err()
	}
	if err != nil {
		log.Error("message not sealed; temp-failed", append(attrs, "err", err, "duration", time.Since(start))...)
		return replyTempFail, nil
	}
	log.Info("message sealed", append(attrs, "envelope_ids", ids, "copies", len(plan.Groups), "duration", time.Since(start))...)
	return mailfilter.Accept, nil
}

// seal makes the copies, re-injects all but the one kept in place, and
// changes the MTA's copy. Nothing reaches the MTA unless every step worked:
// the changes to trx are sent only with the final accept.
func (f *Filter) seal(ctx context.Context, p *Policy, plan Plan, trx mailfilter.Trx) ([]string, error) {
	h := trx.Headers()
	msg := Message{
		QueueID:  trx.QueueId(),
		Sender:   trx.MailFrom().Addr,
		Display:  display(h),
		Original: func() (io.Reader, error) { return trx.Data(), nil },
	}
	copies, err := p.Seal(ctx, plan, msg, f.store, f.now())
	if err != nil {
		return nil, err
	}
	var ids []string
	for _, c := range copies {
		if c.EnvelopeID != "" {
			ids = append(ids, c.EnvelopeID)
		}
	}
	// The first copy stays in the MTA's transaction (a clear copy for the
	// internal recipients under split, else the first sealed one); the
	// others go out through the re-injection listener.
	for _, c := range copies[1:] {
		if err := f.reinjectCopy(ctx, trx, plan, c); err != nil {
			return nil, err
		}
		for _, r := range c.Group.Recipients {
			trx.DelRcptTo(r)
		}
	}
	if kept := copies[0]; kept.Sealed != nil {
		if err := applySealed(h, plan, kept.Sealed); err != nil {
			return nil, err
		}
		trx.ReplaceBody(bytes.NewReader(kept.Sealed.Body))
	}
	return ids, nil
}

func (f *Filter) reinjectCopy(ctx context.Context, trx mailfilter.Trx, plan Plan, c Copy) error {
	if f.reinject == nil {
		return errors.New("re-injection is not configured")
	}
	var buf bytes.Buffer
	if err := envelope.WriteMessage(&buf, trx.Data(), plan.Subject, c.Sealed); err != nil {
		return fmt.Errorf("reinject %s: %w", c.EnvelopeID, err)
	}
	if err := f.reinject.Send(ctx, trx.MailFrom().Addr, c.Group.Recipients, &buf); err != nil {
		return fmt.Errorf("reinject %s: %w", c.EnvelopeID, err)
	}
	return nil
}

// applySealed rewrites the MTA's header: the subject, the top-level MIME
// fields of the notification, and the envelope id. Fields describing the
// original body (Content-*) must go, or they would describe the wrong body.
func applySealed(h header.Header, plan Plan, s *envelope.Sealed) error {
	subject := envelope.EncodeSubject(plan.Subject)
	for _, line := range strings.Split(subject, "\r\n") {
		if len(line) > 998-len("Subject: ") {
			return fmt.Errorf("encoded subject line too long (%d octets)", len(line))
		}
	}
	// Postfix and Sendmail expect LF inside milter header values.
	subject = strings.ReplaceAll(subject, "\r\n", "\n")
	seenSubject := false
	for fields := h.Fields(); fields.Next(); {
		key := fields.CanonicalKey()
		switch {
		case key == "Subject":
			if plan.Subject == plan.OriginalSubject && !seenSubject {
				seenSubject = true
				continue // unchanged (a reply that already has the marker)
			}
			if seenSubject {
				fields.Del()
				continue
			}
			seenSubject = true
			fields.Set(subject)
		case key == "Mime-Version", strings.HasPrefix(key, "Content-"), key == "X-Postseal-Envelope":
			fields.Del()
		}
	}
	if !seenSubject && plan.Subject != "" {
		h.Add("Subject", subject)
	}
	for _, fld := range s.Header {
		h.Add(fld.Name, fld.Value)
	}
	return nil
}

func display(h header.Header) envelope.Display {
	text := func(k string) string {
		v, err := h.Text(k)
		if err != nil {
			return strings.TrimSpace(h.UnfoldedValue(k))
		}
		return strings.TrimSpace(v)
	}
	return envelope.Display{From: text("From"), To: text("To"), Cc: text("Cc"), Date: text("Date")}
}

// messageSize is the size of the message as the MTA passed it (header
// fields as received plus body).
func messageSize(trx mailfilter.Trx) (int64, error) {
	var n int64
	for fields := trx.Headers().Fields(); fields.Next(); {
		n += int64(len(fields.Raw())) + 2
	}
	body := trx.Body()
	if body == nil {
		return n, nil
	}
	end, err := body.Seek(0, io.SeekEnd)
	if err != nil {
		return 0, err
	}
	if _, err := body.Seek(0, io.SeekStart); err != nil {
		return 0, err
	}
	return n + 2 + end, nil
}
