package mailer

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"strings"
	"time"

	"github.com/postseal/postseal/store"
)

// QueueStore is what the queue needs of the store: the durable mail queue
// (store.MailQueue). Several processes may share one (PostgreSQL); each
// claim hands a mail to one of them.
type QueueStore interface {
	EnqueueMail(ctx context.Context, m store.Mail) (int64, error)
	ClaimMail(ctx context.Context, now time.Time, lease time.Duration, limit int) ([]store.Mail, error)
	MailSent(ctx context.Context, id int64) error
	MailFailed(ctx context.Context, id int64, next time.Time, reason string) error
	DropMail(ctx context.Context, id int64) error
	MailPartlySent(ctx context.Context, id int64, remaining []string, next time.Time, reason string) error
}

// Sender submits one message to the recipients the MTA takes and says
// what became of the others; *SMTP is one (SMTP.SendEach).
type Sender interface {
	SendEach(ctx context.Context, from string, to []string, msg io.Reader) (Outcome, error)
}

// Backoff says when to try a failed mail again: Min, doubled after every
// failed attempt, capped at Max, with ±20% jitter so mails that failed
// together (the relay restarting) do not all come back at once. A mail
// still undelivered GiveUp after it was queued is dropped.
type Backoff struct {
	Min, Max, GiveUp time.Duration
}

// DefaultBackoff: 1m, 2m, 4m … 1h, for five days (as MTAs keep mail).
var DefaultBackoff = Backoff{Min: time.Minute, Max: time.Hour, GiveUp: 5 * 24 * time.Hour}

// Queue is the durable outgoing queue: Enqueue stores a mail, Run delivers
// what is due to the relay and retries what the relay could not take, so a
// relay or postseal restart loses nothing. Each mail names its route (the
// MTA listener it goes to: store.Route); Enqueue queues for the relay,
// Via for another route.
type Queue struct {
	store   QueueStore
	senders map[store.Route]Sender
	log     *slog.Logger

	Backoff Backoff
	// Lease is how long a claimed mail is hidden from other workers: longer
	// than one send may take. A worker that dies mid-send leaves the mail
	// due again after it.
	Lease time.Duration
	// Poll is how often the store is asked for due mail when nothing wakes
	// the queue (retries, mail queued by another process).
	Poll time.Duration

	wake chan struct{}
	now  func() time.Time
	// attempted, when set (tests), is told the outcome of every attempt.
	attempted func(m store.Mail, err error)
}

// NewQueue returns a queue over st that sends mail for the relay route
// with relay; AddRoute adds the others.
func NewQueue(st QueueStore, relay Sender, log *slog.Logger) *Queue {
	return &Queue{
		store: st, senders: map[store.Route]Sender{store.RouteRelay: relay}, log: log,
		Backoff: DefaultBackoff,
		Lease:   5 * time.Minute,
		Poll:    15 * time.Second,
		wake:    make(chan struct{}, 1),
		now:     time.Now,
	}
}

// AddRoute sends the mail queued for route r with s. Call it before Run.
func (q *Queue) AddRoute(r store.Route, s Sender) { q.senders[r] = s }

// Enqueue stores a message (RFC 5322, CRLF line ends) for delivery through
// the relay and returns once it is durable; delivery happens in Run. An
// empty from is the null reverse-path (notices that must never bounce).
func (q *Queue) Enqueue(ctx context.Context, from string, to []string, msg []byte) error {
	return q.enqueue(ctx, store.RouteRelay, from, to, msg)
}

// Via is the queue for route r: its Enqueue queues mail that is delivered
// (and retried) through r's listener only.
func (q *Queue) Via(r store.Route) RouteQueue { return RouteQueue{q: q, route: r} }

// RouteQueue queues mail for one route (Queue.Via).
type RouteQueue struct {
	q     *Queue
	route store.Route
}

// Enqueue is Queue.Enqueue for the route.
func (rq RouteQueue) Enqueue(ctx context.Context, from string, to []string, msg []byte) error {
	return rq.q.enqueue(ctx, rq.route, from, to, msg)
}

func (q *Queue) enqueue(ctx context.Context, r store.Route, from string, to []string, msg []byte) error {
	if len(to) == 0 {
		return errors.New("queue mail: no recipients")
	}
	if _, err := q.store.EnqueueMail(ctx, store.Mail{From: from, To: to, Data: msg, Route: r}); err != nil {
		return fmt.Errorf("queue mail to %v: %w", to, err)
	}
	select {
	case q.wake <- struct{}{}:
	default: // a wake-up is already pending
	}
	return nil
}

// Wake tells Run that mail was queued in the store directly (a read
// receipt queued in the transaction that records the open).
func (q *Queue) Wake() {
	select {
	case q.wake <- struct{}{}:
	default: // a wake-up is already pending
	}
}

// Run delivers due mail until ctx ends. It wakes on Enqueue, when a retry
// it scheduled falls due, and every Poll (mail queued by another process,
// leases that ran out). Store errors are logged and retried at the next
// poll.
func (q *Queue) Run(ctx context.Context) {
	timer := time.NewTimer(0)
	defer timer.Stop()
	// retry is the soonest retry this worker scheduled and has not reached
	// yet; it survives early wake-ups (Enqueue), which must not make the
	// worker forget it and sleep a whole Poll.
	var retry time.Time
	for {
		if !retry.IsZero() && !retry.After(q.now()) {
			retry = time.Time{} // due: this round claims it
		}
		for ctx.Err() == nil {
			worked, next, err := q.deliverOne(ctx)
			if err != nil {
				q.log.Error("mail queue: store unavailable; retrying", "err", err)
				break
			}
			if !worked {
				break
			}
			if !next.IsZero() && (retry.IsZero() || next.Before(retry)) {
				retry = next
			}
		}
		wait := q.Poll
		if !retry.IsZero() {
			wait = min(wait, max(retry.Sub(q.now()), 0))
		}
		timer.Reset(wait)
		select {
		case <-ctx.Done():
			return
		case <-q.wake:
		case <-timer.C:
		}
	}
}

// deliverOne claims one due mail and tries it. It reports whether there
// was one, and when it is to be retried (zero if sent or dropped).
func (q *Queue) deliverOne(ctx context.Context) (worked bool, retry time.Time, err error) {
	// The claim is not cut short by shutdown: a claim whose lease is
	// written but whose answer is cancelled (SQLite commits UPDATE …
	// RETURNING before its rows are read) would leave the mail leased to
	// nobody until the lease runs out. Once claimed, a shutdown hands it
	// back below.
	cctx, cancelClaim := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	mails, err := q.store.ClaimMail(cctx, q.now(), q.Lease, 1)
	cancelClaim()
	if err != nil || len(mails) == 0 {
		return false, time.Time{}, err
	}
	m := mails[0]
	var sendErr error
	var out Outcome
	if sendErr = ctx.Err(); sendErr == nil {
		out, sendErr = q.send(ctx, m)
	}
	if sendErr != nil && ctx.Err() != nil {
		// Shutting down mid-send: hand the mail back at once, so the next
		// start (or another process) need not wait for the lease to run
		// out. If even that fails, the lease still brings it back.
		rctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := q.store.MailFailed(rctx, m.ID, q.now(), "interrupted by shutdown"); err != nil {
			q.log.Warn("mail queue: could not hand back a mail at shutdown; its lease will", "mail", m.ID, "err", err)
		}
		return true, time.Time{}, nil
	}
	// The outcome is recorded even when shutdown began during a send that
	// succeeded: otherwise the mail would go out twice.
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	retry, err = q.settle(sctx, m, out, sendErr)
	if q.attempted != nil {
		q.attempted(m, sendErr)
	}
	return true, retry, err
}

// send submits m through its route's listener. A route this process has
// no listener for (a newer postseal queued it into a shared database) is a
// failure to retry, never a detour through another listener: the relay
// would hand a sealed copy to the milter again.
func (q *Queue) send(ctx context.Context, m store.Mail) (Outcome, error) {
	r := m.Route
	if r == "" {
		r = store.RouteRelay
	}
	s := q.senders[r]
	if s == nil {
		return Outcome{}, fmt.Errorf("no MTA listener for route %q in this process", r)
	}
	if err := unsendable(m); err != nil {
		return Outcome{}, err
	}
	return s.SendEach(ctx, m.From, m.To, bytes.NewReader(m.Data))
}

// errDeferred stands for a recipient the relay deferred at RCPT TO in the
// retry decision: to be tried again, whatever its code.
var errDeferred = errors.New("recipient deferred by the relay")

// errUnsendable marks a mail no attempt can send; it is dropped at once.
var errUnsendable = errors.New("unsendable")

// unsendable refuses a mail that no relay could take, so that it is not
// retried for days: no recipient, or an address that would break the SMTP
// command line (CR or LF; what the key service queues never has one).
func unsendable(m store.Mail) error {
	if len(m.To) == 0 {
		return fmt.Errorf("%w: no recipients", errUnsendable)
	}
	for _, a := range append([]string{m.From}, m.To...) {
		if strings.ContainsAny(a, "\r\n") {
			return fmt.Errorf("%w: address %q holds a line break", errUnsendable, a)
		}
	}
	return nil
}

// settle records the outcome of one attempt and returns when the mail is
// to be retried (zero if sent or dropped). Recipients the relay refused
// for good are logged by name; those it deferred stay queued alone, so
// their retry sends the others no second copy.
func (q *Queue) settle(ctx context.Context, m store.Mail, out Outcome, sendErr error) (time.Time, error) {
	log := q.log.With("mail", m.ID, "to", m.To, "route", m.Route, "attempt", m.Attempts+1)
	for _, r := range out.Refused {
		log.Error("mail not sent to one recipient: refused permanently by the relay", "recipient", r.Recipient, "err", r.Err)
	}
	if sendErr == nil && len(out.Deferred) == 0 {
		log.Info("mail sent")
		return time.Time{}, q.store.MailSent(ctx, m.ID)
	}
	decideOn := sendErr
	if len(out.Deferred) > 0 {
		// A recipient deferred is tried again, whatever else happened (a
		// 552 at RCPT TO is "try later", not the end of data's "too
		// large").
		decideOn = errDeferred
	}
	next, drop := q.Backoff.decide(m, decideOn, q.now(), rand.Float64())
	if sendErr == nil {
		// Sent to some: the deferred stay queued alone.
		if drop != "" {
			for _, r := range out.Deferred {
				log.Error("mail not sent to one recipient: "+drop, "recipient", r.Recipient, "err", r.Err, "queued", m.Created)
			}
			return time.Time{}, q.store.MailSent(ctx, m.ID)
		}
		remaining := make([]string, len(out.Deferred))
		for i, r := range out.Deferred {
			remaining[i] = r.Recipient
		}
		log.Warn("mail sent to some recipients; will retry the others", "deferred", remaining, "err", out.Deferred[0].Err, "next", next)
		return next, q.store.MailPartlySent(ctx, m.ID, remaining, next, out.Deferred[0].Err.Error())
	}
	if drop != "" {
		log.Error("mail dropped: "+drop, "err", sendErr, "queued", m.Created)
		return time.Time{}, q.store.DropMail(ctx, m.ID)
	}
	log.Warn("mail not sent; will retry", "err", sendErr, "next", next)
	return next, q.store.MailFailed(ctx, m.ID, next, sendErr.Error())
}

// decide is the pure retry decision after a failed attempt: a permanent
// refusal (5xx) or a mail past GiveUp is dropped (drop says why);
// anything else (4xx, network, timeout) is tried again at next. jitter is
// in [0, 1).
func (b Backoff) decide(m store.Mail, err error, now time.Time, jitter float64) (next time.Time, drop string) {
	var se *Error
	if errors.As(err, &se) && se.Code >= 500 {
		return time.Time{}, "refused permanently by the relay"
	}
	if errors.Is(err, errUnsendable) {
		return time.Time{}, "no relay can take it"
	}
	if !m.Created.IsZero() && now.Sub(m.Created) >= b.GiveUp {
		return time.Time{}, fmt.Sprintf("still undelivered after %v", b.GiveUp)
	}
	d := b.Min
	for i := 0; i < m.Attempts && d < b.Max; i++ {
		d *= 2
	}
	d = min(d, b.Max)
	d = time.Duration(float64(d) * (0.8 + 0.4*jitter))
	return now.Add(d), ""
}
