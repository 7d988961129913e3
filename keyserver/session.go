package keyserver

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/postseal/postseal/store"
)

// Login sessions (the account page) are signed cookies: the cookie holds
// the address, an expiry and the time of the login, MACed with the
// session key together with the account's password hash and session
// version. Changing or resetting the password ends every session (the
// hash changes), and so does logging out: it moves the account's session
// version on, so a copied cookie is worthless afterwards. A session slides
// while used (sessionTTL idle) but never outlives sessionMaxAge from its
// login.
type sessionSigner struct{ key []byte }

// sessionMaxAge is the absolute lifetime of a login.
const sessionMaxAge = 8 * time.Hour

func (g sessionSigner) mac(email string, exp, issued, version int64, passwordHash string) []byte {
	m := hmac.New(sha256.New, g.key)
	m.Write([]byte("postseal session v2\x00" + email + "\x00" + strconv.FormatInt(exp, 10) + "\x00" + strconv.FormatInt(issued, 10) +
		"\x00" + strconv.FormatInt(version, 10) + "\x00" + passwordHash))
	return m.Sum(nil)
}

func (g sessionSigner) encode(a store.Account, exp, issued time.Time) string {
	e, i := exp.Unix(), issued.Unix()
	return base64.RawURLEncoding.EncodeToString([]byte(a.Email)) + "." + strconv.FormatInt(e, 10) + "." + strconv.FormatInt(i, 10) + "." +
		base64.RawURLEncoding.EncodeToString(g.mac(a.Email, e, i, a.SessionVersion, a.PasswordHash))
}

type sessionValue struct {
	email       string
	exp, issued int64
	mac         []byte
}

// parseSession splits a cookie value; the MAC is checked by the caller
// once the account (and so its hash and version) is loaded.
func parseSession(v string) (sessionValue, bool) {
	f := strings.Split(v, ".")
	if len(f) != 4 {
		return sessionValue{}, false
	}
	e, err1 := base64.RawURLEncoding.DecodeString(f[0])
	exp, err2 := strconv.ParseInt(f[1], 10, 64)
	issued, err3 := strconv.ParseInt(f[2], 10, 64)
	mac, err4 := base64.RawURLEncoding.DecodeString(f[3])
	if err1 != nil || err2 != nil || err3 != nil || err4 != nil {
		return sessionValue{}, false
	}
	return sessionValue{string(e), exp, issued, mac}, true
}

func (s *Server) cookieName() string {
	if s.https {
		return "__Host-postseal-session" // Secure, Path=/, no Domain: enforced by browsers
	}
	return "postseal-session"
}

// setSession starts a new session (a login, a password just changed).
func (s *Server) setSession(w http.ResponseWriter, a store.Account) {
	s.writeSession(w, a, s.now())
}

// renewSession slides the expiry of the request's session, keeping the
// time of its login.
func (s *Server) renewSession(w http.ResponseWriter, r *http.Request, a store.Account) {
	issued := s.now()
	if c, err := r.Cookie(s.cookieName()); err == nil {
		if sc, ok := parseSession(c.Value); ok {
			issued = time.Unix(sc.issued, 0)
		}
	}
	s.writeSession(w, a, issued)
}

func (s *Server) writeSession(w http.ResponseWriter, a store.Account, issued time.Time) {
	exp := s.now().Add(sessionTTL)
	if end := issued.Add(sessionMaxAge); end.Before(exp) {
		exp = end
	}
	http.SetCookie(w, &http.Cookie{
		Name: s.cookieName(), Value: s.sessions.encode(a, exp, issued),
		Path: "/", MaxAge: max(1, int(exp.Sub(s.now())/time.Second)), HttpOnly: true, Secure: s.https, SameSite: http.SameSiteStrictMode,
	})
}

func (s *Server) clearSession(w http.ResponseWriter) {
	http.SetCookie(w, &http.Cookie{Name: s.cookieName(), Value: "", Path: "/", MaxAge: -1, HttpOnly: true, Secure: s.https, SameSite: http.SameSiteStrictMode})
}

var errNoSession = errors.New("no valid session")

// session returns the logged-in account, errNoSession, or a store error.
func (s *Server) session(ctx context.Context, r *http.Request) (store.Account, error) {
	c, err := r.Cookie(s.cookieName())
	if err != nil {
		return store.Account{}, errNoSession
	}
	sc, ok := parseSession(c.Value)
	now := s.now().Unix()
	if !ok || now >= sc.exp || now >= sc.issued+int64(sessionMaxAge/time.Second) {
		return store.Account{}, errNoSession
	}
	a, err := s.st.Account(ctx, sc.email)
	if errors.Is(err, store.ErrNotFound) {
		return store.Account{}, errNoSession
	}
	if err != nil {
		return store.Account{}, err
	}
	if !hmac.Equal(sc.mac, s.sessions.mac(sc.email, sc.exp, sc.issued, a.SessionVersion, a.PasswordHash)) || !a.Active || a.Disabled {
		return store.Account{}, errNoSession
	}
	return a, nil
}
