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

// Login sessions (the account page) are signed cookies, not server state:
// the store has no session table and needs none. The cookie holds the
// address and an expiry, MACed with the session key together with the
// account's current password hash, so changing or resetting the password
// ends every session at once. Logging out clears the cookie; a copied
// cookie stays valid until its expiry (30 minutes, renewed while used),
// which is why the account page can only change the password, never
// release a key.
type sessionSigner struct{ key []byte }

func (g sessionSigner) mac(email string, exp int64, passwordHash string) []byte {
	m := hmac.New(sha256.New, g.key)
	m.Write([]byte("postseal session v1\x00" + email + "\x00" + strconv.FormatInt(exp, 10) + "\x00" + passwordHash))
	return m.Sum(nil)
}

func (g sessionSigner) encode(email string, exp time.Time, passwordHash string) string {
	e := exp.Unix()
	return base64.RawURLEncoding.EncodeToString([]byte(email)) + "." + strconv.FormatInt(e, 10) + "." +
		base64.RawURLEncoding.EncodeToString(g.mac(email, e, passwordHash))
}

// parse splits a cookie value; the MAC is checked by the caller once the
// account (and so the password hash) is loaded.
func parseSession(v string) (email string, exp int64, mac []byte, ok bool) {
	f := strings.Split(v, ".")
	if len(f) != 3 {
		return "", 0, nil, false
	}
	e, err1 := base64.RawURLEncoding.DecodeString(f[0])
	exp, err2 := strconv.ParseInt(f[1], 10, 64)
	mac, err3 := base64.RawURLEncoding.DecodeString(f[2])
	if err1 != nil || err2 != nil || err3 != nil {
		return "", 0, nil, false
	}
	return string(e), exp, mac, true
}

func (s *Server) cookieName() string {
	if s.https {
		return "__Host-postseal-session" // Secure, Path=/, no Domain: enforced by browsers
	}
	return "postseal-session"
}

func (s *Server) setSession(w http.ResponseWriter, a store.Account) {
	exp := s.now().Add(sessionTTL)
	http.SetCookie(w, &http.Cookie{
		Name: s.cookieName(), Value: s.sessions.encode(a.Email, exp, a.PasswordHash),
		Path: "/", MaxAge: int(sessionTTL / time.Second), HttpOnly: true, Secure: s.https, SameSite: http.SameSiteStrictMode,
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
	email, exp, mac, ok := parseSession(c.Value)
	if !ok || s.now().Unix() >= exp {
		return store.Account{}, errNoSession
	}
	a, err := s.st.Account(ctx, email)
	if errors.Is(err, store.ErrNotFound) {
		return store.Account{}, errNoSession
	}
	if err != nil {
		return store.Account{}, err
	}
	if !hmac.Equal(mac, s.sessions.mac(email, exp, a.PasswordHash)) || !a.Active || a.Disabled {
		return store.Account{}, errNoSession
	}
	return a, nil
}
