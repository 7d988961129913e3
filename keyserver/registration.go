package keyserver

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"unicode/utf8"

	"github.com/postseal/postseal/store"
)

// Registration and activation: a recipient registers a name and password,
// and an e-mailed link (with the same password typed again) activates it.

// The registration form's answers about names (keys of the catalogues).
const (
	msgFirstName  = "First name: only letters, spaces and ' - . may be used."
	msgLastName   = "Last name: only letters, spaces and ' - . may be used."
	msgNameLength = "First and last name together may have at most 64 characters."
)

// nameOK replaces *name with its NFKC form and reports whether it may be
// registered (see cleanName): what is stored is what was checked.
func nameOK(name *string) bool {
	clean, ok := cleanName(*name)
	*name = clean
	return ok
}

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
		Envelope: f.Get("envelope"), Lang: s.requestLang(r),
	}
	if l := f.Get("language"); s.cat.Has(l) {
		d.Lang = l // the registrant's choice, kept with the account
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
	case !nameOK(&d.FirstName):
		// "IT Service Desk ‹servicedesk＠example.org› via Example Health"
		// in a reply's From would pose as another sender; a line break
		// would write paragraphs into the organisation's mails.
		d.Error = msgFirstName
	case !nameOK(&d.LastName):
		d.Error = msgLastName
	case utf8.RuneCountInString(d.FirstName+" "+d.LastName) > maxDisplayName:
		d.Error = msgNameLength
	default:
		d.Error = s.checkNewPassword(pw, f.Get("confirm_password"))
	}
	if d.Error != "" {
		s.render(w, http.StatusBadRequest, "register", d)
		return
	}
	ip := s.remoteIP(r)
	if s.limitForm(w, ip, "register", d) || s.limitMail(w, d.Email, ip, "register", d) {
		return
	}
	// The hash is computed whether or not the address may register, so the
	// answer takes the same time either way; what happens next is said by
	// e-mail, to the address's owner only.
	hash, err := s.formHash.Hash(r.Context(), pw)
	if err != nil {
		s.pageUnavailable(w, r, "hash", err)
		return
	}
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
//
// Each registration waits in its own activation token, with its own
// password hash and names; nothing is written into the account until a
// token activates it with that token's password. So whoever registered
// before or after, the owner who activates with the password they chose
// ends up with that password, and a stranger's registration — whose link
// only the owner receives — can only be activated with the stranger's
// password, which the mail never shows: no text a stranger typed goes
// into a mail sent before the address is proven.
func (s *Server) registerAddress(ctx context.Context, d pageData, hash, ip string) error {
	now := s.now()
	live, err := s.st.IsLiveRecipient(ctx, d.Email, now)
	if err == nil && !live {
		// A sender registers for Sent secure messages the same way.
		live, err = s.st.IsSender(ctx, d.Email)
	}
	if err != nil || !live {
		if !live && err == nil {
			s.log.Info("key service: registration refused: neither a recipient of a live envelope nor a sender", "email", d.Email)
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
		// The account holds no password until a registration is activated.
		acct = store.Account{Email: d.Email, Created: now}
		if err := s.st.CreateAccount(ctx, acct); err != nil && !errors.Is(err, store.ErrExists) {
			return err // ErrExists: a simultaneous registration created it
		}
		s.event(ctx, store.EventRegistered, d.Email, d.Envelope, ip, "new")
	case err != nil:
		return err
	case acct.Disabled:
		s.event(ctx, store.EventRegistered, d.Email, d.Envelope, ip, "disabled")
		return nil
	case acct.Active:
		s.event(ctx, store.EventRegistered, d.Email, d.Envelope, ip, "already_active")
		return s.sendMail(ctx, d.Email, alreadyRegisteredMail(s.mailTr(firstOf(acct.Language, d.Lang)), s.cfg.Organization, ownerName(acct), d.Email, s.forgotURL(d.Email)))
	default:
		// Registered before but never activated: this registration gets a
		// link of its own; the earlier ones still activate with theirs.
		s.event(ctx, store.EventRegistered, d.Email, d.Envelope, ip, "again")
	}
	secret, err := s.newToken(ctx, store.Token{Purpose: store.TokenActivate, Email: d.Email,
		PasswordHash: hash, FirstName: d.FirstName, LastName: d.LastName, Language: d.Lang}, activationTTL)
	if err != nil {
		return err
	}
	return s.sendMail(ctx, d.Email, activationMail(s.mailTr(d.Lang), s.cfg.Organization, d.Email, s.cfg.PublicURL+"/activate/"+secret))
}

// activateForm shows a button rather than activating: mail scanners and
// link previews fetch GET links, which must not use up the token.
func (s *Server) activateForm(w http.ResponseWriter, r *http.Request) {
	s.render(w, http.StatusOK, "activate", pageData{Title: "Confirm your address", Token: r.PathValue("token")})
}

const msgLinkInvalid = "This link is no longer valid: it was used already or has expired."

// maxActivationFailures wrong passwords void an activation link: the
// owner, who chose the password, needs few; a guesser gets no more.
const maxActivationFailures = 3

func (s *Server) activate(w http.ResponseWriter, r *http.Request) {
	if !s.parseForm(w, r) {
		return
	}
	ctx := r.Context()
	ip := s.remoteIP(r)
	if s.limitForm(w, ip, "activate", pageData{Title: "Confirm your address", Token: r.PathValue("token")}) {
		return
	}
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
	// click on an unexpected "Activate" would hand them the account. The
	// password is the one of this link's registration (links made before
	// registrations waited in their tokens carry none: the account's).
	hash := t.PasswordHash
	if hash == "" {
		hash = acct.PasswordHash
	}
	ok, err = s.formHash.Verify(ctx, hash, r.PostForm.Get("password"))
	if err == nil && !ok {
		// The token stays usable for the right password, for a few tries.
		t.Failures++
		msg := "That is not the password chosen when this address was registered. If you did not register, ignore the mail; if you did, type the password chosen then, or register again to choose a new one."
		if t.Failures < maxActivationFailures {
			err = s.st.PutToken(ctx, t)
		} else {
			msg = "That is not the password chosen when this address was registered, and this link no longer works after several wrong passwords. If you registered, please register again to get a new link."
		}
		if err == nil {
			s.event(ctx, store.EventLoginFailed, acct.Email, "", ip, "activation: wrong password")
			s.render(w, http.StatusUnauthorized, "activate", pageData{Title: "Confirm your address", Token: r.PathValue("token"), Error: msg})
			return
		}
	}
	if err != nil {
		s.pageUnavailable(w, r, "activate", err)
		return
	}
	if t.PasswordHash != "" {
		acct.PasswordHash, acct.FirstName, acct.LastName = t.PasswordHash, t.FirstName, t.LastName
		if t.Language != "" {
			acct.Language = t.Language
		}
		acct.SessionVersion++ // sessions of a former password end
	}
	if !acct.Active {
		acct.Active, acct.Activated = true, s.now()
	}
	if err := s.st.UpdateAccount(ctx, acct); err != nil {
		s.pageUnavailable(w, r, "update account", err)
		return
	}
	// The other registrations' links are void: the address is proven and
	// its password chosen.
	if err := s.st.DropTokens(ctx, acct.Email, store.TokenActivate); err != nil {
		s.pageUnavailable(w, r, "drop tokens", err)
		return
	}
	s.event(ctx, store.EventActivated, acct.Email, "", ip, "")
	s.render(w, http.StatusOK, "activated", pageData{Title: "Address confirmed", Email: acct.Email})
}
