package milter

import (
	"context"
	"errors"
	"log/slog"
	"time"

	"github.com/postseal/postseal/policy"
)

// Observer is told the outcome of every message (metrics). Each message
// whose header arrived is Seen once and, unless the MTA aborts it, ends in
// exactly one of Sealed, Passed, Rejected or TempFailed. (A broken peer's
// message that never ends its header is only TempFailed, reason protocol.)
type Observer interface {
	Seen()
	// Sealed: trigger is the trigger's name (or "scanner"), bytes the
	// original message's size, d the time spent sealing.
	Sealed(trigger string, bytes int64, d time.Duration)
	Passed()
	Rejected()
	// TempFailed: reason is one of the TempFail* constants.
	TempFailed(reason string)
	// ScanFindings: the scanner's rule (a detector or admin rule name)
	// matched n times in one message; mode is "encrypt", or "report" when
	// the message was delivered untouched in report mode.
	ScanFindings(rule string, n int, mode string)
}

// Reasons for a temporary failure: a small fixed set, so that they can be
// metric labels.
const (
	TempFailSeal     = "seal"     // sealing or recording the envelope failed
	TempFailTimeout  = "timeout"  // [milter] timeout passed
	TempFailReinject = "reinject" // a copy could not be handed to the re-injection listener
	TempFailPanic    = "panic"    // a bug; the stack is logged
	TempFailMTA      = "mta"      // the MTA went away or refused the changes
	TempFailProtocol = "protocol" // the MTA's conversation made no sense (no end of header)
	TempFailSpool    = "spool"    // the buffered body could not be read back
)

type nopObserver struct{}

func (nopObserver) Seen()                               {}
func (nopObserver) Sealed(string, int64, time.Duration) {}
func (nopObserver) Passed()                             {}
func (nopObserver) Rejected()                           {}
func (nopObserver) TempFailed(string)                   {}
func (nopObserver) ScanFindings(string, int, string)    {}

// errReinject marks errors from handing a sealed copy to the re-injection
// listener.
var errReinject = errors.New("re-injection failed")

// verdict is what is known about a message when its outcome is recorded.
type verdict struct {
	decision policy.Decision
	size     int64 // header + body, as far as known
	// reason and err explain a temporary failure.
	reason string
	err    error
	// ids are the envelopes recorded in the store (an envelope whose record
	// failed is not named as made); sealTime the time spent making them.
	ids      []string
	sealTime time.Duration
	// reinjected are the envelopes whose copy was handed to the
	// re-injection listener: it is on its way even if the message is
	// temp-failed.
	reinjected []string
}

func tempFailReason(err error) string {
	switch {
	case errors.Is(err, context.DeadlineExceeded):
		return TempFailTimeout
	case errors.Is(err, errReinject):
		return TempFailReinject
	}
	return TempFailSeal
}

// record writes the one log line for a message's outcome and tells the
// observer. The line names the message (queue id, envelope ids), the
// trigger, how many recipients got it in clear and sealed, its size and
// the time taken — never content, subjects or addresses.
func (f *Filter) record(t *Transaction, v verdict, out Outcome, start time.Time) {
	clear, sealed := 0, 0
	for _, g := range v.decision.Groups {
		if g.Sealed() {
			sealed += len(g.Recipients)
		} else {
			clear += len(g.Recipients)
		}
	}
	// Typed attributes, sized once: the line is written for every message,
	// and boxing each value into an interface allocated on every one.
	attrs := make([]slog.Attr, 0, 16)
	attrs = append(attrs, slog.String("queue_id", t.QueueID), slog.String("trigger", v.decision.Trigger),
		slog.Int("recipients_clear", clear), slog.Int("recipients_sealed", sealed),
		slog.Int64("size", v.size), slog.Duration("duration", f.now().Sub(start)))
	// The scanner's part: rule names and counts, never values.
	attrs = append(attrs, scanAttrs(v.decision)...)
	if v.decision.Scan != nil {
		mode := "encrypt"
		if v.decision.Report {
			mode = "report"
		}
		for _, c := range v.decision.Scan.Counts() {
			f.obs.ScanFindings(c.Rule, c.Count, mode)
		}
	}
	ctx := context.Background()
	switch {
	case out.Accepted() && len(out.EnvelopeIDs) > 0:
		f.log.LogAttrs(ctx, slog.LevelInfo, "message sealed", append(attrs, slog.String("outcome", "sealed"),
			slog.Any("envelope_ids", out.EnvelopeIDs), slog.Int("copies", len(v.decision.Groups)))...)
		f.obs.Sealed(v.decision.Trigger, v.size, v.sealTime)
	case out.Accepted():
		f.log.LogAttrs(ctx, slog.LevelInfo, "message passed", append(attrs, slog.String("outcome", "passed"),
			slog.String("reason", string(v.decision.Reason)), slog.String("why", v.decision.Why))...)
		f.obs.Passed()
	case out.Code >= 500:
		f.log.LogAttrs(ctx, slog.LevelInfo, "message refused", append(attrs, slog.String("outcome", "rejected"),
			slog.String("reason", string(v.decision.Reason)), slog.String("why", v.decision.Why), slog.Int("code", out.Code))...)
		f.obs.Rejected()
	default:
		if len(v.ids) > 0 {
			// Envelopes were recorded: the retry makes new ones. Those
			// whose copy was not re-injected stay unopened; the recipients
			// of those that were get a second copy from the retry.
			attrs = append(attrs, slog.Any("envelope_ids", v.ids))
		}
		if len(v.reinjected) > 0 {
			attrs = append(attrs, slog.Any("reinjected", v.reinjected))
		}
		f.log.LogAttrs(ctx, slog.LevelError, "message temp-failed", append(attrs, slog.String("outcome", "tempfailed"),
			slog.String("reason", v.reason), slog.Any("err", v.err))...)
		f.obs.TempFailed(v.reason)
	}
}
