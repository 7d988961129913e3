package keyserver

import (
	"context"
	"errors"
	"net/http"

	"github.com/postseal/postseal/store"
)

// Forgotten password: a reset link by e-mail to the owner of the address.

func (s *Server) forgotForm(w http.ResponseWriter, r *http.Request) {
	s.render(w, http.StatusOK, "forgot", pageData{Title: "Forgot your password?", Email: normEmail(r.URL.Query().Get("email"))})
}

func (s *Server) forgot(w http.ResponseWriter, r *http.Request) {
	if !s.parseForm(w, r) {
		return
	}
	email := normEmail(r.PostForm.Get("email"))
	if !plausibleEmail(email) {
		s.render(w, http.StatusBadRequest, "forgot", pageData{Title: "Forgot your password?", Email: email, Error: "Please enter your e-mail address, like name@example.com."})
		return
	}
	ip := s.remoteIP(r)
	d := pageData{Title: "Forgot your password?", Email: email}
	if s.limitForm(w, ip, "forgot", d) || s.limitMail(w, email, ip, "forgot", d) {
		return
	}
	lang := s.requestLang(r)
	s.background(func(ctx context.Context) {
		if err := s.sendReset(ctx, email, ip, lang); err != nil {
			s.log.Error("key service: password reset", "email", email, "err", err)
		}
	})
	s.render(w, http.StatusOK, "forgot_sent", pageData{Title: "Check your mail", Email: email})
}

// sendReset mails a reset link in the account's language, else the one of
// the page that asked.
func (s *Server) sendReset(ctx context.Context, email, ip, lang string) error {
	acct, err := s.st.Account(ctx, email)
	if errors.Is(err, store.ErrNotFound) {
		return nil
	}
	if err != nil || acct.Disabled {
		return err
	}
	ok, err := s.mailAllowed(ctx, store.EventResetAsked, email)
	if err != nil || !ok {
		return err
	}
	s.event(ctx, store.EventResetAsked, email, "", ip, "")
	secret, err := s.newToken(ctx, store.Token{Purpose: store.TokenReset, Email: email}, resetTTL)
	if err != nil {
		return err
	}
	return s.sendMail(ctx, email, resetMail(s.mailTr(firstOf(acct.Language, lang)), s.cfg.Organization, ownerName(acct), s.cfg.PublicURL+"/reset/"+secret))
}

func (s *Server) resetForm(w http.ResponseWriter, r *http.Request) {
	s.render(w, http.StatusOK, "reset", pageData{Title: "Choose a new password", Token: r.PathValue("token")})
}

func (s *Server) reset(w http.ResponseWriter, r *http.Request) {
	if !s.parseForm(w, r) {
		return
	}
	ctx := r.Context()
	token := r.PathValue("token")
	pw := r.PostForm.Get("password")
	// The password is checked before the token is used, so a typo does not
	// waste the link.
	if msg := s.checkNewPassword(pw, r.PostForm.Get("confirm_password")); msg != "" {
		s.render(w, http.StatusBadRequest, "reset", pageData{Title: "Choose a new password", Token: token, Error: msg})
		return
	}
	t, ok, err := s.useToken(ctx, token, store.TokenReset)
	if err != nil {
		s.pageUnavailable(w, r, "use token", err)
		return
	}
	if !ok {
		s.sentence(w, r, http.StatusGone, "Link not valid", msgLinkInvalid+" You can ask for a new one on the \"Forgot your password?\" page.")
		return
	}
	acct, err := s.setPassword(ctx, t.Email, pw, "reset", s.remoteIP(r))
	if errors.Is(err, store.ErrNotFound) {
		s.sentence(w, r, http.StatusGone, "Link not valid", msgLinkInvalid)
		return
	}
	if err != nil {
		s.pageUnavailable(w, r, "set password", err)
		return
	}
	s.render(w, http.StatusOK, "reset_done", pageData{Title: "Password changed", Email: acct.Email})
}
