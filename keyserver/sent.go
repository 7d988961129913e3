package keyserver

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"github.com/postseal/postseal/store"
)

// Sent secure messages (/sent): an internal sender signs in like a
// recipient (registration and activation mail to their own mailbox prove
// the address) and sees the envelopes whose envelope sender is that
// address, with each recipient's state, and can lock, unlock, expire them
// or move their expiry. Every change is an audit event naming the sender.
// The pages need no script: each button is its own small form, and
// "Expire now" asks on a page of its own before it destroys the key.

const sentPerPage = 20

// sentView is what the Sent page templates see.
type sentView struct {
	Envelopes  []sentEnvelope
	Page       int
	Prev, Next string // links, "" when there is none
	Total      int
	Zone       string
	// Confirm is the envelope the expiry confirmation page is about.
	Confirm *sentEnvelope
}

// sentEnvelope is one envelope as the page shows it: times already in the
// organisation's zone and the page's language; State is an English word
// the template translates ("Active", "Locked", "Expired").
type sentEnvelope struct {
	ID, Subject, Sent, State, Expires, ExpiresDate, ExpiresMin string
	Locked, Active                                             bool
	Recipients                                                 []sentRecipient
}

// sentRecipient is one recipient's state: when they first opened and last
// replied ("" for not yet).
type sentRecipient struct {
	Address, Opened, Replied string
}

// sentAccount returns the signed-in account, or answers (a redirect to
// the login page, or 503) and returns false.
func (s *Server) sentAccount(w http.ResponseWriter, r *http.Request) (store.Account, bool) {
	acct, err := s.session(r.Context(), r)
	if errors.Is(err, errNoSession) {
		if r.Method == http.MethodGet {
			http.Redirect(w, r, s.cfg.PublicURL+"/login", http.StatusSeeOther)
		} else {
			s.sentence(w, r, http.StatusUnauthorized, "Please log in", "Your session has ended. Please log in again; nothing was changed.")
		}
		return acct, false
	}
	if err != nil {
		s.pageUnavailable(w, r, "session", err)
		return acct, false
	}
	s.renewSession(w, r, acct)
	return acct, true
}

func (s *Server) sentList(w http.ResponseWriter, r *http.Request) {
	acct, ok := s.sentAccount(w, r)
	if !ok {
		return
	}
	s.renderSent(w, r, acct, http.StatusOK, r.URL.Query().Get("notice"), "")
}

// sentNotices are the sentences shown after a change (the redirect names
// one; nothing typed by anyone reaches the page).
var sentNotices = map[string]string{
	"locked":   "The message is locked: its recipients cannot open it until you unlock it.",
	"unlocked": "The message is unlocked: its recipients can open it again.",
	"expired":  "The message has expired and its key is destroyed: nobody can open it any more.",
	"expiry":   "The expiry date is changed.",
}

func (s *Server) renderSent(w http.ResponseWriter, r *http.Request, acct store.Account, status int, notice, errMsg string) {
	page, _ := strconv.Atoi(r.URL.Query().Get("page"))
	page = max(page, 1)
	envs, total, err := s.st.SentEnvelopes(r.Context(), acct.Email, (page-1)*sentPerPage, sentPerPage)
	if err != nil {
		s.pageUnavailable(w, r, "sent envelopes", err)
		return
	}
	v := &sentView{Page: page, Total: total, Zone: s.cfg.Location.String()}
	now, lang := s.now(), s.requestLang(r)
	for _, e := range envs {
		v.Envelopes = append(v.Envelopes, s.sentEnvelope(e, now, lang))
	}
	if page > 1 {
		v.Prev = s.cfg.PublicURL + "/sent?page=" + strconv.Itoa(page-1)
	}
	if page*sentPerPage < total {
		v.Next = s.cfg.PublicURL + "/sent?page=" + strconv.Itoa(page+1)
	}
	d := pageData{Title: "Sent secure messages", Email: acct.Email, Notice: sentNotices[notice], Error: errMsg, Sent: v}
	if total == 0 {
		d.Text = "No secure message sent from " + acct.Email + " is known here."
	}
	s.render(w, status, "sent", d)
}

// sentEnvelope is e as the page shows it in lang.
func (s *Server) sentEnvelope(e store.SentEnvelope, now time.Time, lang string) sentEnvelope {
	out := sentEnvelope{ID: e.ID, Subject: e.Subject, Sent: s.orgTime(e.Created, lang), Locked: e.Locked}
	if out.Subject == "" {
		out.Subject = s.cat.Sprintf(lang, "(subject not recorded)")
	}
	switch {
	case !e.HasKey || expired(e.Envelope, now):
		out.State = "Expired"
	case e.Locked:
		out.State, out.Active = "Locked", true
	default:
		out.State, out.Active = "Active", true
	}
	if !e.Expires.IsZero() {
		out.Expires = s.orgTime(e.Expires, lang)
		out.ExpiresDate = e.Expires.In(s.cfg.Location).Format(time.DateOnly)
	}
	out.ExpiresMin = now.In(s.cfg.Location).Format(time.DateOnly)
	for _, st := range e.States {
		out.Recipients = append(out.Recipients, sentRecipient{Address: st.Address, Opened: s.orgTime(st.Opened, lang), Replied: s.orgTime(st.Replied, lang)})
	}
	return out
}

// ownEnvelope loads the envelope named in the path if acct sent it; a
// stranger's envelope is answered exactly like an unknown one.
func (s *Server) ownEnvelope(w http.ResponseWriter, r *http.Request, acct store.Account) (store.Envelope, bool) {
	id := r.PathValue("id")
	if !validEnvelopeID(id) {
		s.notFound(w, r)
		return store.Envelope{}, false
	}
	env, err := s.st.Envelope(r.Context(), id)
	if errors.Is(err, store.ErrNotFound) || (err == nil && normEmail(env.Sender) != acct.Email) {
		s.notFound(w, r)
		return store.Envelope{}, false
	}
	if err != nil {
		s.pageUnavailable(w, r, "envelope", err)
		return store.Envelope{}, false
	}
	return env, true
}

func (s *Server) senderChange(r *http.Request, acct store.Account, detail string) store.Change {
	return store.Change{Time: s.now(), Actor: "sender " + acct.Email, Auth: "key service session (password)", RemoteIP: s.remoteIP(r), Detail: detail}
}

// sentChange runs one change of the sender's own envelope and goes back
// to the list with a notice.
func (s *Server) sentChange(w http.ResponseWriter, r *http.Request, notice string, change func(ctx context.Context, env store.Envelope, by store.Change) error) {
	if !s.parseForm(w, r) {
		return
	}
	acct, ok := s.sentAccount(w, r)
	if !ok {
		return
	}
	env, ok := s.ownEnvelope(w, r, acct)
	if !ok {
		return
	}
	err := change(r.Context(), env, s.senderChange(r, acct, "Sent secure messages page"))
	switch {
	case errors.Is(err, store.ErrKeyDestroyed):
		s.renderSent(w, r, acct, http.StatusConflict, "", "This message has expired and its key is destroyed; it cannot be opened again.")
		return
	case errors.Is(err, errBadDate):
		s.renderSent(w, r, acct, http.StatusBadRequest, "", "Please give the new expiry as a date from today on.")
		return
	case errors.Is(err, errNotConfirmed):
		s.renderSent(w, r, acct, http.StatusBadRequest, "", "Nothing was changed: expiring a message needs the confirmation.")
		return
	case err != nil:
		s.pageUnavailable(w, r, "change envelope", err)
		return
	}
	q := url.Values{"notice": {notice}}
	if p := r.PostForm.Get("page"); p != "" {
		q.Set("page", p)
	}
	http.Redirect(w, r, s.cfg.PublicURL+"/sent?"+q.Encode()+"#e-"+env.ID, http.StatusSeeOther)
}

var (
	errBadDate      = errors.New("bad date")
	errNotConfirmed = errors.New("not confirmed")
)

func (s *Server) sentLock(w http.ResponseWriter, r *http.Request) {
	s.sentChange(w, r, "locked", func(ctx context.Context, env store.Envelope, by store.Change) error {
		return s.st.SetLocked(ctx, env.ID, true, by)
	})
}

func (s *Server) sentUnlock(w http.ResponseWriter, r *http.Request) {
	s.sentChange(w, r, "unlocked", func(ctx context.Context, env store.Envelope, by store.Change) error {
		return s.st.SetLocked(ctx, env.ID, false, by)
	})
}

// sentExpireForm asks before the key is destroyed.
func (s *Server) sentExpireForm(w http.ResponseWriter, r *http.Request) {
	acct, ok := s.sentAccount(w, r)
	if !ok {
		return
	}
	env, ok := s.ownEnvelope(w, r, acct)
	if !ok {
		return
	}
	se := s.sentEnvelope(store.SentEnvelope{Envelope: env}, s.now(), s.requestLang(r))
	s.render(w, http.StatusOK, "sent_expire", pageData{Title: "Expire this message?", Email: acct.Email, Sent: &sentView{Confirm: &se}})
}

func (s *Server) sentExpire(w http.ResponseWriter, r *http.Request) {
	s.sentChange(w, r, "expired", func(ctx context.Context, env store.Envelope, by store.Change) error {
		if r.PostForm.Get("confirm") != "yes" {
			return errNotConfirmed
		}
		return s.st.ExpireEnvelope(ctx, env.ID, s.now(), by)
	})
}

// sentExpiry moves the expiry to the end of the given day in the
// organisation's time zone.
func (s *Server) sentExpiry(w http.ResponseWriter, r *http.Request) {
	s.sentChange(w, r, "expiry", func(ctx context.Context, env store.Envelope, by store.Change) error {
		day, err := time.ParseInLocation(time.DateOnly, r.PostForm.Get("expires"), s.cfg.Location)
		if err != nil {
			return errBadDate
		}
		at := day.AddDate(0, 0, 1)
		if !at.After(s.now()) {
			return errBadDate
		}
		by.Detail = "Sent secure messages page: expires " + at.UTC().Format(time.RFC3339)
		return s.st.SetExpiry(ctx, env.ID, at, by)
	})
}
