package milter

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"log/slog"
	"mime/quotedprintable"
	"slices"
	"strings"
	"time"

	"github.com/postseal/postseal/policy"

	"github.com/postseal/postseal/config"
	"github.com/postseal/postseal/envelope"
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
	msg := Notice(p.Config, t.Sender, d, f.now())
	// The null reverse-path: a notice must never cause a bounce loop.
	if err := f.notices.Enqueue(ctx, "", []string{t.Sender}, msg); err != nil {
		log.Error("sender notice not queued", "err", err)
	}
}

// Notice is the mail that tells a sender why the scanner sealed their
// message: the rules that fired, how often, and masked samples — never a
// value. Lines end in CRLF.
func Notice(cfg *config.Config, sender string, plan policy.Decision, now time.Time) []byte {
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

	var b bytes.Buffer
	header := func(name, value string) { fmt.Fprintf(&b, "%s: %s\r\n", name, value) }
	header("Date", now.Format(time.RFC1123Z))
	header("From", cfg.SMTP.From)
	header("To", sender)
	header("Subject", envelope.EncodeSubject("Sent encrypted: "+subject))
	header("Message-ID", "<"+randomHex(16)+"@postseal.notice>")
	header("Auto-Submitted", "auto-generated")
	header("X-Postseal-Notice", "scanner")
	header("MIME-Version", "1.0")
	header("Content-Type", "text/plain; charset=utf-8")
	header("Content-Transfer-Encoding", "quoted-printable")
	b.WriteString("\r\n")
	qp := quotedprintable.NewWriter(&b)
	_, _ = qp.Write([]byte(strings.ReplaceAll(body.String(), "\n", "\r\n")))
	_ = qp.Close()
	return b.Bytes()
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

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}
