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
	ip := s.remoteIP(r)
	leave, refused := s.refuseThrottled(w, r, email, ip, "login", d)
	if refused {
		return
	}
	defer leave()
	acct, reason, err := s.authenticate(ctx, email, pw)
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
	http.Redirect(w, r, s.cfg.PublicURL+"/account", http.StatusSeeOther)
}

// refuseThrottled answers 429 on the given form page when the address or
// the IP must wait, or the attempt could not get its turn (enterAttempt);
// it reports whether it answered. Otherwise leave must be called once the
// attempt's outcome is recorded.
func (s *Server) refuseThrottled(w http.ResponseWriter, r *http.Request, email, ip, page string, d pageData) (leave func(), refused bool) {
	leave, err := s.enterAttempt(r.Context(), email, ip)
	if err != nil {
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
	s.setSession(w, acct) // sliding expiry
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
	_, reason, err := s.authenticate(ctx, acct.Email, f.Get("current_password"))
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
	hash, err := s.hash.Hash(ctx, pw)
	if err != nil {
		return store.Account{}, err
	}
	acct, err := s.st.Account(ctx, email)
	if err != nil {
		return acct, err
	}
	acct.PasswordHash = hash
	if !acct.Active {
		acct.Active, acct.Activated = true, s.now()
	}
	if err := s.st.UpdateAccount(ctx, acct); err != nil {
		return acct, err
	}
	// Reset links sent before are void once a password is set: whoever
	// holds an older mail cannot set another one.
	if err := s.st.DropTokens(ctx, email, store.TokenReset); err != nil {
		return acct, err
	}
	s.event(ctx, store.EventPasswordSet, email, "", ip, detail)
	return acct, nil
}

func (s *Server) logout(w http.ResponseWriter, r *http.Request) {
	s.clearSession(w)
	s.sentence(w, r, http.StatusOK, "Logged out", "You are logged out.")
}
