package keyserver

import (
	"context"
	"fmt"
	"net/mail"
	"strings"
	"time"

	"github.com/postseal/postseal/mailer"
	"github.com/postseal/postseal/store"
)

// Read receipts: when an address is first released the key of an envelope
// whose sender asked for receipts, the sender gets one mail saying who
// opened it and when. The store decides what is first (store.FirstOpen),
// so each envelope and address gives one receipt at most, however often
// and from whichever process it is opened; the receipt is queued in the
// same transaction, so it is not lost either.

// waker is implemented by a mail queue that can be told that mail was
// queued behind its back (by the store, in a transaction of its own).
type waker interface{ Wake() }

// recordOpen notes the release of env's key to acct and queues the read
// receipt when this is the first. Failures are logged: the key has been
// released, and the receipt would be a lie if the release were undone.
func (s *Server) recordOpen(ctx context.Context, env store.Envelope, acct store.Account, now time.Time) {
	var receipt *store.Mail
	if env.ReadReceipts && plausibleEmail(env.Sender) {
		msg, err := s.receiptMail(env, acct, now)
		if err != nil {
			s.log.Error("key service: composing read receipt", "envelope", env.ID, "err", err)
		} else {
			receipt = &store.Mail{From: s.cfg.From, To: []string{env.Sender}, Data: msg}
		}
	}
	first, err := s.st.FirstOpen(ctx, env.ID, acct.Email, now, receipt)
	if err != nil {
		s.log.Error("key service: recording first open", "envelope", env.ID, "err", err)
		return
	}
	if first && receipt != nil {
		if w, ok := s.mail.(waker); ok {
			w.Wake()
		}
	}
}

// receiptMail is the read receipt for env opened by acct at t.
func (s *Server) receiptMail(env store.Envelope, acct store.Account, t time.Time) ([]byte, error) {
	subject := oneLine(env.Subject)
	who := acct.Email
	if name := strings.TrimSpace(acct.FirstName + " " + acct.LastName); name != "" {
		who = name + " <" + acct.Email + ">"
	}
	text := fmt.Sprintf("Your secure message was opened.\n\n"+
		"Subject:   %s\n"+
		"Opened by: %s\n"+
		"Opened:    %s\n"+
		"Sent:      %s\n\n"+
		"This is the first time this recipient opened it; you get no further receipt for them.\n"+
		"To see who opened your secure messages, or to lock one, sign in at %s/sent with this address.\n",
		subject, who, s.orgTime(t), s.orgTime(env.Created), s.cfg.PublicURL)
	headers := map[string]string{"Auto-Submitted": "auto-replied", "X-Postseal-Envelope": env.ID}
	if id := oneLine(env.MessageID); id != "" && len(id) < 900 {
		headers["In-Reply-To"], headers["References"] = id, id
	}
	return mailer.Message{
		From: mail.Address{Name: s.cfg.Organization, Address: s.cfg.From}, To: []mail.Address{{Address: env.Sender}},
		Subject: "Read: " + subject, Text: text, Date: t, Headers: headers,
	}.Bytes()
}

// orgTime shows t in the organisation's time zone with UTC beside:
// "Thu 3 Dec 2026 09:15 CST (15:15 UTC)".
func (s *Server) orgTime(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	local := t.In(s.cfg.Location)
	out := local.Format("Mon 2 Jan 2006 15:04 MST")
	if s.cfg.Location != time.UTC {
		u := t.UTC()
		if u.YearDay() != local.YearDay() {
			out += " (" + u.Format("2 Jan 15:04") + " UTC)"
		} else {
			out += " (" + u.Format("15:04") + " UTC)"
		}
	}
	return out
}

// oneLine folds whitespace, line breaks included, to single spaces: a
// stored subject goes into a header.
func oneLine(s string) string { return strings.Join(strings.Fields(s), " ") }
