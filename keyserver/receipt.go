package keyserver

import (
	"context"
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
// same transaction, so it is not lost either. It names the opener by
// address only, so it carries no text a stranger chose.

// waker is implemented by a mail queue that can be told that mail was
// queued behind its back (by the store, in a transaction of its own).
type waker interface{ Wake() }

// recordOpen notes the release of env's key to acct and queues the read
// receipt when this is the first. Failures are logged: the key has been
// released, and the receipt would be a lie if the release were undone.
func (s *Server) recordOpen(ctx context.Context, env store.Envelope, acct store.Account, now time.Time) {
	var receipt *store.Mail
	if env.ReadReceipts && plausibleEmail(env.Sender) {
		msg, err := s.receiptMail(env, acct, now, s.senderLanguage(ctx, env.Sender))
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

// senderLanguage is the language of the sender's mails: the one their
// account (for Sent secure messages) stored, else the organisation's.
func (s *Server) senderLanguage(ctx context.Context, sender string) string {
	acct, err := s.st.Account(ctx, normEmail(sender))
	if err == nil && s.cat.Has(acct.Language) {
		return acct.Language
	}
	return s.cfg.Language
}

// receiptMail is the read receipt for env opened by acct at t, in lang.
func (s *Server) receiptMail(env store.Envelope, acct store.Account, t time.Time, lang string) ([]byte, error) {
	T := s.mailTr(lang)
	subject := oneLine(env.Subject)
	// The opener by address only: their names are text a stranger chose,
	// and this mail goes to staff from the organisation's address.
	who := acct.Email
	text := T("Your secure message was opened.") + "\n\n" +
		T("Subject:   %s", subject) + "\n" +
		T("Opened by: %s", who) + "\n" +
		T("Opened:    %s", s.orgTime(t, lang)) + "\n" +
		T("Sent:      %s", s.orgTime(env.Created, lang)) + "\n\n" +
		T("This is the first time this recipient opened it; you get no further receipt for them.") + "\n" +
		T("To see who opened your secure messages, or to lock one, sign in at %s/sent with this address.", s.cfg.PublicURL) + "\n"
	headers := map[string]string{"Auto-Submitted": "auto-replied", "X-Postseal-Envelope": env.ID}
	if id := oneLine(env.MessageID); id != "" && len(id) < 900 {
		headers["In-Reply-To"], headers["References"] = id, id
	}
	return mailer.Message{
		From: mail.Address{Name: s.cfg.Organization, Address: s.cfg.From}, To: []mail.Address{{Address: env.Sender}},
		Subject: T("Read: %s", subject), Text: text, Date: t, Headers: headers,
	}.Bytes()
}

// orgTime shows t in the organisation's time zone with UTC beside, its
// day and month names in lang: "Thu 3 Dec 2026 09:15 CST (15:15 UTC)"
// ("" for the zero time).
func (s *Server) orgTime(t time.Time, lang string) string {
	if t.IsZero() {
		return ""
	}
	local := t.In(s.cfg.Location)
	day := func(t time.Time) string { return s.cat.Sprintf(lang, t.Weekday().String()[:3]) }
	month := func(t time.Time) string { return s.cat.Sprintf(lang, t.Month().String()[:3]) }
	out := day(local) + local.Format(" 2 ") + month(local) + local.Format(" 2006 15:04 MST")
	if s.cfg.Location != time.UTC {
		u := t.UTC()
		if u.YearDay() != local.YearDay() {
			out += " (" + u.Format("2 ") + month(u) + u.Format(" 15:04") + " UTC)"
		} else {
			out += " (" + u.Format("15:04") + " UTC)"
		}
	}
	return out
}

// oneLine folds whitespace, line breaks included, to single spaces: a
// stored subject goes into a header.
func oneLine(s string) string { return strings.Join(strings.Fields(s), " ") }
