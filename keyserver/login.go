package keyserver

import (
	"context"
	"errors"
	"net/http"
	"strconv"

	"github.com/postseal/postseal/store"
)

// Login, account, logout: the account page where a recipient changes the
// password.

func (s *Server) loginForm(w http.ResponseWriter, r *http.Request) {
	s.render(w, http.StatusOK, "login", pageData{Title: "Log in", Email: normEmail(r.URL.Query().Get("email"))})
}

func (s *Server) login(w http.ResponseWriter, r *http.Request) {
	if !s.parseForm(w, r) {
		return
	}
	ctx := r.Context()
	email, pw := normEmail(r.PostForm.Get("email")), r.PostForm.Get("password")
	d := pageData{Title: "Log in", Email: email}
	if email == "" || pw == "" {
		d.Error = "Please enter your e-mail address and your password."
		s.render(w, http.StatusBadRequest, "login", d)
		return
	}
	if !plausibleEmail(email) {
		// No account has such an address; refused before anything (the
		// audit trail included) stores it.
		d.Email = ""
		d.Error = "Please enter your e-mail address, like name@example.com."
		s.render(w, http.StatusBadRequest, "login", d)
		return
	}
	ip := s.remoteIP(r)
	leave, refused := s.refuseThrottled(w, r, email, ip, "login", d)
	if refused {
		return
	}
	defer leave()
	acct, reason, err := s.authenticate(ctx, s.formHash, email, pw)
	if err != nil {
		s.pageUnavailable(w, r, "authenticate", err)
		return
	}
	if reason != "" {
		s.event(ctx, store.EventLoginFailed, email, "", ip, reason)
		s.metrics.LoginFailed()
		d.Error = "The address or the password is wrong, or the address has no active registration yet."
		s.render(w, http.StatusUnauthorized, "login", d)
		return
	}
	s.setSession(w, acct)
	// A sender lands on their sent messages, a recipient on the account.
	next := "/account"
	if sender, err := s.st.IsSender(ctx, acct.Email); err == nil && sender {
		next = "/sent"
	}
	http.Redirect(w, r, s.cfg.PublicURL+next, http.StatusSeeOther)
}

// refuseThrottled answers 429 on the given form page when the address or
// the IP must wait, or the attempt could not get its turn (enterAttempt);
// it reports whether it answered. Otherwise leave must be called once the
// attempt's outcome is recorded.
func (s *Server) refuseThrottled(w http.ResponseWriter, r *http.Request, email, ip, page string, d pageData) (leave func(), refused bool) {
	leave, err := s.enterAttempt(r.Context(), email, ip)
	if err != nil {
		s.metrics.Refused(refusedBusy)
		w.Header().Set("Retry-After", strconv.Itoa(retrySeconds(attemptWait)))
		d.Error = msgThrottled(attemptWait)
		s.render(w, http.StatusTooManyRequests, page, d)
		return nil, true
	}
	wait, err := s.throttled(r.Context(), email, ip)
	if err != nil {
		leave()
		s.pageUnavailable(w, r, "throttle", err)
		return nil, true
	}
	if wait == 0 {
		return leave, false
	}
	leave()
	s.metrics.Refused(refusedThrottled) // counted, not stored
	w.Header().Set("Retry-After", strconv.Itoa(retrySeconds(wait)))
	d.Error = msgThrottled(wait)
	s.render(w, http.StatusTooManyRequests, page, d)
	return nil, true
}

func (s *Server) account(w http.ResponseWriter, r *http.Request) {
	acct, err := s.session(r.Context(), r)
	if errors.Is(err, errNoSession) {
		http.Redirect(w, r, s.cfg.PublicURL+"/login", http.StatusSeeOther)
		return
	}
	if err != nil {
		s.pageUnavailable(w, r, "session", err)
		return
	}
	s.renewSession(w, r, acct) // sliding expiry, within the absolute lifetime
	s.render(w, http.StatusOK, "account", accountData(acct, "", ""))
}

func accountData(a store.Account, errMsg, notice string) pageData {
	return pageData{Title: "Your account", Email: a.Email, FirstName: a.FirstName, LastName: a.LastName, Error: errMsg, Notice: notice}
}

func (s *Server) changePassword(w http.ResponseWriter, r *http.Request) {
	if !s.parseForm(w, r) {
		return
	}
	ctx := r.Context()
	acct, err := s.session(ctx, r)
	if errors.Is(err, errNoSession) {
		s.sentence(w, r, http.StatusUnauthorized, "Please log in", "Your session has ended. Please log in again to change your password.")
		return
	}
	if err != nil {
		s.pageUnavailable(w, r, "session", err)
		return
	}
	ip := s.remoteIP(r)
	f := r.PostForm
	leave, refused := s.refuseThrottled(w, r, acct.Email, ip, "account", accountData(acct, "", ""))
	if refused {
		return
	}
	defer leave()
	if msg := s.checkNewPassword(f.Get("new_password"), f.Get("confirm_password")); msg != "" {
		s.render(w, http.StatusBadRequest, "account", accountData(acct, msg, ""))
		return
	}
	_, reason, err := s.authenticate(ctx, s.formHash, acct.Email, f.Get("current_password"))
	if err != nil {
		s.pageUnavailable(w, r, "authenticate", err)
		return
	}
	if reason != "" {
		s.event(ctx, store.EventLoginFailed, acct.Email, "", ip, reason)
		s.metrics.LoginFailed()
		s.render(w, http.StatusUnauthorized, "account", accountData(acct, "The current password is wrong.", ""))
		return
	}
	if acct, err = s.setPassword(ctx, acct.Email, f.Get("new_password"), "changed", ip); err != nil {
		s.pageUnavailable(w, r, "set password", err)
		return
	}
	s.setSession(w, acct)
	s.render(w, http.StatusOK, "account", accountData(acct, "", "Your password has been changed."))
}

// setPassword stores a new hash; the account counts as active afterwards
// (a reset link proves control of the mailbox as activation does).
func (s *Server) setPassword(ctx context.Context, email, pw, detail, ip string) (store.Account, error) {
	hash, err := s.formHash.Hash(ctx, pw)
	if err != nil {
		return store.Account{}, err
	}
	acct, err := s.st.Account(ctx, email)
	if err != nil {
		return acct, err
	}
	acct.PasswordHash = hash
	acct.SessionVersion++ // every session of the old password ends
	if !acct.Active {
		acct.Active, acct.Activated = true, s.now()
	}
	if err := s.st.UpdateAccount(ctx, acct); err != nil {
		return acct, err
	}
	// Reset links sent before are void once a password is set: whoever
	// holds an older mail cannot set another one; nor can a pending
	// registration's link replace the password now chosen; reply tokens
	// taken with the old password send nothing more.
	for _, purpose := range []string{store.TokenReset, store.TokenActivate, store.TokenReply} {
		if err := s.st.DropTokens(ctx, email, purpose); err != nil {
			return acct, err
		}
	}
	s.event(ctx, store.EventPasswordSet, email, "", ip, detail)
	// The owner hears of every change, so one they did not make (a stolen
	// session, a reset from a hijacked mailbox) does not go unnoticed.
	// The queue is durable; a failure to queue is logged, the password
	// is set either way.
	how := "changed"
	if detail == "reset" {
		how = "reset"
	}
	if err := s.sendMail(ctx, email, passwordChangedMail(s.mailTr(acct.Language), s.cfg.Organization, ownerName(acct), how, s.now(), s.forgotURL(email))); err != nil {
		s.log.Error("key service: password change notice", "email", email, "err", err)
	}
	return acct, nil
}

// logout ends the session for good: the account's session version moves
// on, so a copy of the cookie (and every other session of the account)
// is no longer valid.
func (s *Server) logout(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	acct, err := s.session(ctx, r)
	switch {
	case errors.Is(err, errNoSession):
	case err != nil:
		s.pageUnavailable(w, r, "session", err)
		return
	default:
		acct.SessionVersion++
		if err := s.st.UpdateAccount(ctx, acct); err != nil {
			s.pageUnavailable(w, r, "logout", err)
			return
		}
	}
	s.clearSession(w)
	s.sentence(w, r, http.StatusOK, "Logged out", "You are logged out.")
}
