package milter

import (
	"context"
	"fmt"
	"log/slog"
	"net/mail"
	"slices"
	"strings"
	"time"

	"github.com/postseal/postseal/mailer"
	"github.com/postseal/postseal/policy"

	"github.com/postseal/postseal/config"
	"github.com/postseal/postseal/scanner"
)

// Notifier queues a message for delivery. The mail queue satisfies it;
// the milter only hands the notice over and never waits for delivery.
type Notifier interface {
	Enqueue(ctx context.Context, from string, to []string, msg []byte) error
}

// notifySender tells the sender that the scanner sealed their message. A
// notice that cannot be queued is logged, not fatal: the message itself is
// already secured, and failing it now would only make the sender resend.
func (f *Filter) notifySender(ctx context.Context, log *slog.Logger, p *policy.Policy, d policy.Decision, t *Transaction) {
	if f.notices == nil || !p.Config.Scanner.NotifySender || t.Sender == "" {
		return
	}
	msg, err := Notice(p.Config, t.Sender, d, f.now())
	if err != nil {
		log.Error("sender notice not written", "err", err)
		return
	}
	// The null reverse-path: a notice must never cause a bounce loop.
	if err := f.notices.Enqueue(ctx, "", []string{t.Sender}, msg); err != nil {
		log.Error("sender notice not queued", "err", err)
	}
}

// Notice is the mail that tells a sender why the scanner sealed their
// message: the rules that fired, how often, and masked samples — never a
// value. It is written like every mail postseal writes (mailer.Message).
func Notice(cfg *config.Config, sender string, plan policy.Decision, now time.Time) ([]byte, error) {
	var sealedTo []string
	for _, g := range plan.Groups {
		if g.Sealed() {
			sealedTo = append(sealedTo, g.Recipients...)
		}
	}
	subject := plan.OriginalSubject
	if subject == "" {
		subject = "(no subject)"
	}
	var body strings.Builder
	fmt.Fprintf(&body, "Your message %q to %s was sent encrypted.\n\n", subject, strings.Join(sealedTo, ", "))
	fmt.Fprintf(&body, "%s does not send this kind of data in clear e-mail. The content scanner found:\n\n", cfg.Organization.Name)
	if plan.Scan != nil {
		for _, l := range noticeLines(plan.Scan.Findings) {
			fmt.Fprintf(&body, "  - %s: %d (%s)", l.title, l.count, strings.Join(l.samples, ", "))
			if len(l.where) > 0 {
				fmt.Fprintf(&body, " in %s", joinPlaces(l.where))
			}
			body.WriteString("\n")
		}
		if len(plan.Scan.Findings) == 0 {
			body.WriteString("  - no sensitive data, but parts it could not check:\n")
		}
		for _, u := range plan.Scan.Unreadable {
			fmt.Fprintf(&body, "  - could not be checked: %s (%s)\n", scanner.Where(u.Source), u.Reason)
		}
		if plan.Scan.Truncated && len(plan.Scan.Unreadable) == 0 {
			body.WriteString("  - could not be checked completely: a size or time limit was reached\n")
		}
	}
	body.WriteString("\nThe recipients open the message in their browser after a one-time registration.\n")
	body.WriteString("Only masked values are shown above. Nothing needs to be done.\n")
	if cfg.Organization.Support != "" {
		fmt.Fprintf(&body, "\n%s\n", cfg.Organization.Support)
	}

	m := mailer.Message{
		From:    mail.Address{Address: cfg.SMTP.From},
		To:      []mail.Address{{Address: sender}},
		Subject: "Sent encrypted: " + subject,
		Text:    body.String(),
		Date:    now,
		Headers: map[string]string{"Auto-Submitted": "auto-generated", "X-Postseal-Notice": "scanner"},
	}
	return m.Bytes()
}

// noticeLine is one kind of finding in the notice: its name in words, how
// often, masked samples, and the parts it was found in.
type noticeLine struct {
	title   string
	count   int
	samples []string // at most three
	where   []string // in order of appearance, each once
}

// noticeLines groups findings by detector, in the order they first appear.
func noticeLines(fs []scanner.Finding) []noticeLine {
	var out []noticeLine
	idx := map[string]int{}
	for _, f := range fs {
		i, ok := idx[f.Detector]
		if !ok {
			i = len(out)
			idx[f.Detector] = i
			out = append(out, noticeLine{title: scanner.Title(f.Detector)})
		}
		l := &out[i]
		l.count++
		if len(l.samples) < 3 {
			l.samples = append(l.samples, f.Masked)
		}
		if f.Where != "" && !slices.Contains(l.where, f.Where) {
			l.where = append(l.where, f.Where)
		}
	}
	return out
}

// joinPlaces lists parts in a sentence: "the message body", "attachment
// a.pdf, page 1 and attachment b.docx"; past five, "and N more parts".
func joinPlaces(ws []string) string {
	ps := make([]string, 0, min(len(ws), 6))
	for i, w := range ws {
		if i == 5 {
			ps = append(ps, fmt.Sprintf("%d more parts", len(ws)-5))
			break
		}
		if w == "message body" || w == "subject" {
			w = "the " + w
		}
		ps = append(ps, w)
	}
	if len(ps) == 1 {
		return ps[0]
	}
	return strings.Join(ps[:len(ps)-1], "; ") + " and " + ps[len(ps)-1]
}
