package keyserver

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"embed"
	"encoding/base64"
	"errors"
	"fmt"
	"html/template"
	"io/fs"
	"net/http"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/postseal/postseal/store"
)

//go:embed templates/*.html templates/style.css
var templateFS embed.FS

type pageSet struct {
	pages map[string]*template.Template
	css   []byte
}

// loadPages parses each page together with the shared layout.
func loadPages() (*pageSet, error) {
	layout, err := templateFS.ReadFile("templates/layout.html")
	if err != nil {
		return nil, err
	}
	ps := &pageSet{pages: map[string]*template.Template{}}
	if ps.css, err = templateFS.ReadFile("templates/style.css"); err != nil {
		return nil, err
	}
	names, err := fs.Glob(templateFS, "templates/*.html")
	if err != nil {
		return nil, err
	}
	for _, n := range names {
		name := strings.TrimSuffix(strings.TrimPrefix(n, "templates/"), ".html")
		if name == "layout" {
			continue
		}
		body, err := templateFS.ReadFile(n)
		if err != nil {
			return nil, err
		}
		t, err := template.New("layout").Parse(string(layout))
		if err != nil {
			return nil, fmt.Errorf("layout: %w", err)
		}
		if _, err := t.New(name).Parse(string(body)); err != nil {
			return nil, fmt.Errorf("%s: %w", n, err)
		}
		ps.pages[name] = t
	}
	return ps, nil
}

// pageData is what every page template sees.
type pageData struct {
	Org, HelpURL, Support, Base string
	HasLogo                     bool

	Title, Error, Notice string
	Text                 string // the sentence of a message page
	Link, LinkText       string

	Email, FirstName, LastName, Envelope, Token string
	MinLen, MaxLen                              int
}

func (s *Server) render(w http.ResponseWriter, status int, page string, d pageData) {
	d.Org, d.HelpURL, d.Support = s.cfg.Organization, s.cfg.HelpURL, s.cfg.Support
	d.Base = strings.TrimRight(s.public.Path, "/")
	d.HasLogo = len(s.cfg.Logo) > 0
	d.MinLen, d.MaxLen = s.cfg.PasswordMinLength, maxPasswordLen
	t := s.pages.pages[page]
	var buf bytes.Buffer
	if t == nil {
		s.log.Error("key service: no template", "page", page)
		status, buf = http.StatusInternalServerError, *bytes.NewBufferString("Something went wrong on the key service. Please try again later.\n")
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	} else if err := t.ExecuteTemplate(&buf, "layout", d); err != nil {
		s.log.Error("key service: rendering", "page", page, "err", err)
		status, buf = http.StatusInternalServerError, *bytes.NewBufferString("Something went wrong on the key service. Please try again later.\n")
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	} else {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
	}
	w.WriteHeader(status)
	_, _ = w.Write(buf.Bytes())
}

// sentence renders a page that only says something.
func (s *Server) sentence(w http.ResponseWriter, _ *http.Request, status int, title, text string) {
	s.render(w, status, "message", pageData{Title: title, Text: text})
}

func (s *Server) pageUnavailable(w http.ResponseWriter, r *http.Request, what string, err error) {
	s.log.Error("key service: store", "op", what, "err", err)
	s.sentence(w, r, http.StatusServiceUnavailable, "Please try again later", "The key service cannot handle your request right now. Please try again in a few minutes.")
}

func (s *Server) style(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Content-Type", "text/css; charset=utf-8")
	w.Header().Set("Cache-Control", "public, max-age=3600")
	_, _ = w.Write(s.pages.css)
}

func (s *Server) logo(w http.ResponseWriter, r *http.Request) {
	if len(s.cfg.Logo) == 0 {
		s.notFound(w, r)
		return
	}
	w.Header().Set("Content-Type", http.DetectContentType(s.cfg.Logo))
	w.Header().Set("Cache-Control", "public, max-age=3600")
	_, _ = w.Write(s.cfg.Logo)
}

func (s *Server) home(w http.ResponseWriter, _ *http.Request) {
	s.render(w, http.StatusOK, "home", pageData{Title: "Secure messages"})
}

func (s *Server) notFound(w http.ResponseWriter, r *http.Request) {
	s.sentence(w, r, http.StatusNotFound, "Page not found", "There is no page at this address. To read a secure message, open the attachment of the e-mail you received.")
}

// parseForm reads a small urlencoded form; it answers and returns false
// when the body is too large or unreadable.
func (s *Server) parseForm(w http.ResponseWriter, r *http.Request) bool {
	r.Body = http.MaxBytesReader(w, r.Body, maxFormBody)
	if err := r.ParseForm(); err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			s.sentence(w, r, http.StatusRequestEntityTooLarge, "Too large", "The form sent is larger than this page accepts.")
			return false
		}
		s.sentence(w, r, http.StatusBadRequest, "Bad request", "The form could not be read. Please go back and try again.")
		return false
	}
	return true
}

// checkNewPassword applies the only rules that help: a minimum length, a
// maximum (the hash input is bounded), and the confirmation matching.
func (s *Server) checkNewPassword(pw, confirm string) string {
	n := utf8.RuneCountInString(pw)
	switch {
	case n < s.cfg.PasswordMinLength:
		return fmt.Sprintf("The password must have at least %d characters. A few words you will remember make a good one.", s.cfg.PasswordMinLength)
	case len(pw) > maxPasswordLen:
		return fmt.Sprintf("The password must have at most %d characters.", maxPasswordLen)
	case pw != confirm:
		return "The two passwords are not the same. Please type the same password twice."
	}
	return ""
}

// newToken stores a fresh single-use token and returns its secret: 32
// random bytes, base64url (43 characters). Only the SHA-256 is stored, so
// a database copy does not hold working links.
func (s *Server) newToken(ctx context.Context, purpose, email string, ttl time.Duration) (string, error) {
	raw := make([]byte, 32)
	if _, err := rand.Read(raw); err != nil {
		return "", err
	}
	secret := base64.RawURLEncoding.EncodeToString(raw)
	sum := sha256.Sum256([]byte(secret))
	err := s.st.PutToken(ctx, store.Token{Hash: sum[:], Purpose: purpose, Email: email, Expires: s.now().Add(ttl)})
	return secret, err
}

// useToken consumes a token from a link; false when it is malformed,
// unknown, used or expired.
func (s *Server) useToken(ctx context.Context, secret, purpose string) (store.Token, bool, error) {
	if len(secret) != 43 {
		return store.Token{}, false, nil
	}
	if _, err := base64.RawURLEncoding.DecodeString(secret); err != nil {
		return store.Token{}, false, nil
	}
	sum := sha256.Sum256([]byte(secret))
	t, err := s.st.UseToken(ctx, sum[:], purpose, s.now())
	if errors.Is(err, store.ErrNotFound) {
		return store.Token{}, false, nil
	}
	return t, err == nil, err
}

func (s *Server) sendMail(ctx context.Context, to string, c mailContent) error {
	msg, err := buildMail(s.cfg.Organization, s.cfg.From, to, c, s.now())
	if err != nil {
		return err
	}
	return s.mail.Enqueue(ctx, s.cfg.From, []string{to}, msg)
}

// mailLimit bounds how many mails of one kind an address gets per hour, so
// the forms cannot be used to flood someone's mailbox.
const mailsPerHour = 5

func (s *Server) mailAllowed(ctx context.Context, kind, email string) (bool, error) {
	n, err := s.st.CountEvents(ctx, store.EventFilter{Kind: kind, Email: email, Since: s.now().Add(-time.Hour)})
	return n < mailsPerHour, err
}

// authenticate checks a password with exactly one Argon2id verification,
// whatever the case, and returns the account and "" when it may log in, or
// the refusal reason (for the audit trail only).
func (s *Server) authenticate(ctx context.Context, email, password string) (store.Account, string, error) {
	acct, err := s.st.Account(ctx, email)
	found := err == nil
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		return acct, "", err
	}
	encoded := ""
	if found {
		encoded = acct.PasswordHash
	}
	ok, err := s.hash.Verify(ctx, encoded, password)
	if err != nil {
		return acct, "", err
	}
	switch {
	case !found:
		return acct, reasonNoAccount, nil
	case !ok:
		return acct, reasonBadPassword, nil
	case !acct.Active:
		return acct, reasonNotActive, nil
	case acct.Disabled:
		return acct, reasonDisabled, nil
	}
	if s.hash.NeedsRehash(acct.PasswordHash) {
		// The cost parameters were raised: upgrade the stored hash now
		// that the password is known. Best effort.
		if h, err := s.hash.Hash(ctx, password); err == nil {
			acct.PasswordHash = h
			if err := s.st.UpdateAccount(ctx, acct); err != nil {
				s.log.Warn("key service: rehash", "err", err)
			}
		}
	}
	return acct, "", nil
}

// ---- registration and activation ----

func (s *Server) registerForm(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	s.render(w, http.StatusOK, "register", pageData{Title: "Register", Email: normEmail(q.Get("email")), Envelope: q.Get("envelope")})
}

func (s *Server) register(w http.ResponseWriter, r *http.Request) {
	if !s.parseForm(w, r) {
		return
	}
	f := r.PostForm
	d := pageData{
		Title: "Register", Email: normEmail(f.Get("email")),
		FirstName: strings.TrimSpace(f.Get("first_name")), LastName: strings.TrimSpace(f.Get("last_name")),
		Envelope: f.Get("envelope"),
	}
	if !validEnvelopeID(d.Envelope) {
		d.Envelope = "" // only recorded with the event; never trusted
	}
	pw := f.Get("password")
	switch {
	case !plausibleEmail(d.Email):
		d.Error = "Please enter your e-mail address, like name@example.com."
	case d.FirstName == "" || d.LastName == "":
		d.Error = "Please enter your first and last name."
	case utf8.RuneCountInString(d.FirstName) > 100 || utf8.RuneCountInString(d.LastName) > 100:
		d.Error = "Names may have at most 100 characters."
	case strings.IndexFunc(d.FirstName+d.LastName, unicode.IsControl) >= 0:
		// A line break in a name would let a stranger write paragraphs
		// into the organisation's activation mail.
		d.Error = "Names may not contain line breaks or control characters."
	default:
		d.Error = s.checkNewPassword(pw, f.Get("confirm_password"))
	}
	if d.Error != "" {
		s.render(w, http.StatusBadRequest, "register", d)
		return
	}
	// The hash is computed whether or not the address may register, so the
	// answer takes the same time either way; what happens next is said by
	// e-mail, to the address's owner only.
	hash, err := s.hash.Hash(r.Context(), pw)
	if err != nil {
		s.pageUnavailable(w, r, "hash", err)
		return
	}
	ip := s.remoteIP(r)
	s.background(func(ctx context.Context) {
		if err := s.registerAddress(ctx, d, hash, ip); err != nil {
			s.log.Error("key service: registration", "email", d.Email, "err", err)
		}
	})
	s.render(w, http.StatusOK, "registered", pageData{Title: "Check your mail", Email: d.Email})
}

// registerAddress does the part of a registration that depends on the
// address: only recipients of a live envelope may register; an address
// with an active account gets a note instead of a new link.
func (s *Server) registerAddress(ctx context.Context, d pageData, hash, ip string) error {
	now := s.now()
	live, err := s.st.IsLiveRecipient(ctx, d.Email, now)
	if err != nil || !live {
		if !live && err == nil {
			s.log.Info("key service: registration refused: not a recipient of a live envelope", "email", d.Email)
		}
		return err
	}
	ok, err := s.mailAllowed(ctx, store.EventRegistered, d.Email)
	if err != nil {
		return err
	}
	if !ok {
		s.log.Warn("key service: registration mail limit reached", "email", d.Email)
		return nil
	}
	acct, err := s.st.Account(ctx, d.Email)
	switch {
	case errors.Is(err, store.ErrNotFound):
		acct = store.Account{Email: d.Email, FirstName: d.FirstName, LastName: d.LastName, PasswordHash: hash, Created: now}
		if err := s.st.CreateAccount(ctx, acct); err != nil {
			return err // ErrExists: a simultaneous registration won; it mails
		}
		s.event(ctx, store.EventRegistered, d.Email, d.Envelope, ip, "new")
	case err != nil:
		return err
	case acct.Disabled:
		s.event(ctx, store.EventRegistered, d.Email, d.Envelope, ip, "disabled")
		return nil
	case acct.Active:
		s.event(ctx, store.EventRegistered, d.Email, d.Envelope, ip, "already_active")
		return s.sendMail(ctx, d.Email, alreadyRegisteredMail(s.cfg.Organization, acct.FirstName, d.Email, s.forgotURL(d.Email)))
	default:
		// Registered before but never activated: the latest registration's
		// names and password count; earlier links still activate it.
		acct.FirstName, acct.LastName, acct.PasswordHash = d.FirstName, d.LastName, hash
		if err := s.st.UpdateAccount(ctx, acct); err != nil {
			return err
		}
		s.event(ctx, store.EventRegistered, d.Email, d.Envelope, ip, "again")
	}
	secret, err := s.newToken(ctx, store.TokenActivate, d.Email, activationTTL)
	if err != nil {
		return err
	}
	return s.sendMail(ctx, d.Email, activationMail(s.cfg.Organization, d.FirstName, d.Email, s.cfg.PublicURL+"/activate/"+secret))
}

// activateForm shows a button rather than activating: mail scanners and
// link previews fetch GET links, which must not use up the token.
func (s *Server) activateForm(w http.ResponseWriter, r *http.Request) {
	s.render(w, http.StatusOK, "activate", pageData{Title: "Confirm your address", Token: r.PathValue("token")})
}

const msgLinkInvalid = "This link is no longer valid: it was used already or has expired."

func (s *Server) activate(w http.ResponseWriter, r *http.Request) {
	if !s.parseForm(w, r) {
		return
	}
	ctx := r.Context()
	t, ok, err := s.useToken(ctx, r.PathValue("token"), store.TokenActivate)
	if err != nil {
		s.pageUnavailable(w, r, "use token", err)
		return
	}
	if !ok {
		s.sentence(w, r, http.StatusGone, "Link not valid", msgLinkInvalid+" If your address is not confirmed yet, register again to get a new link.")
		return
	}
	acct, err := s.st.Account(ctx, t.Email)
	if errors.Is(err, store.ErrNotFound) {
		s.sentence(w, r, http.StatusGone, "Link not valid", msgLinkInvalid+" Please register again.")
		return
	}
	if err != nil {
		s.pageUnavailable(w, r, "account", err)
		return
	}
	// The password chosen at registration proves that whoever activates is
	// whoever registered: otherwise someone could register another
	// person's address with a password of their own, and the owner's
	// click on an unexpected "Activate" would hand them the account.
	ok, err = s.hash.Verify(ctx, acct.PasswordHash, r.PostForm.Get("password"))
	if err == nil && !ok {
		// The token stays usable for the right password.
		err = s.st.PutToken(ctx, t)
		if err == nil {
			s.event(ctx, store.EventLoginFailed, acct.Email, "", s.remoteIP(r), "activation: wrong password")
			s.render(w, http.StatusUnauthorized, "activate", pageData{Title: "Confirm your address", Token: r.PathValue("token"),
				Error: "That is not the password chosen when this address was registered. If you did not register, ignore the mail; if you did, register again to choose a new password."})
			return
		}
	}
	if err != nil {
		s.pageUnavailable(w, r, "activate", err)
		return
	}
	if !acct.Active {
		acct.Active, acct.Activated = true, s.now()
		if err := s.st.UpdateAccount(ctx, acct); err != nil {
			s.pageUnavailable(w, r, "update account", err)
			return
		}
	}
	s.event(ctx, store.EventActivated, acct.Email, "", s.remoteIP(r), "")
	s.render(w, http.StatusOK, "activated", pageData{Title: "Address confirmed", Email: acct.Email})
}

// ---- login, account, logout ----

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

// ---- forgotten password ----

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
	s.background(func(ctx context.Context) {
		if err := s.sendReset(ctx, email, ip); err != nil {
			s.log.Error("key service: password reset", "email", email, "err", err)
		}
	})
	s.render(w, http.StatusOK, "forgot_sent", pageData{Title: "Check your mail", Email: email})
}

func (s *Server) sendReset(ctx context.Context, email, ip string) error {
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
	secret, err := s.newToken(ctx, store.TokenReset, email, resetTTL)
	if err != nil {
		return err
	}
	return s.sendMail(ctx, email, resetMail(s.cfg.Organization, acct.FirstName, s.cfg.PublicURL+"/reset/"+secret))
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
