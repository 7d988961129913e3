package keyserver

import (
	"net/http"
	"net/url"
	"testing"
	"time"
)

// loginCookie logs email in with testPassword and returns the session
// cookie.
func (f *fixture) loginCookie(email string) *http.Cookie {
	f.t.Helper()
	rec := f.postForm("/login", url.Values{"email": {email}, "password": {testPassword}})
	if rec.Code != http.StatusSeeOther {
		f.t.Fatalf("login %s: %d %s", email, rec.Code, rec.Body)
	}
	return sessionCookie(f.t, rec.Header())
}

// A session ends at its expiry's second, not one second later; the cookie
// tells the browser the same lifetime in seconds.
func TestSessionEndsAtItsExpiry(t *testing.T) {
	f := newFixture(t)
	f.putAccount("ann@partner.example", testPassword, true, false)
	c := f.loginCookie("ann@partner.example")
	if c.MaxAge != int(sessionTTL/time.Second) {
		t.Errorf("login cookie Max-Age %d; want %d", c.MaxAge, int(sessionTTL/time.Second))
	}
	f.clock.Advance(sessionTTL - time.Second)
	if rec := f.get("/account", c); rec.Code != http.StatusOK {
		t.Fatalf("a second before the expiry: %d; want 200", rec.Code)
	}
	f.clock.Advance(time.Second)
	if rec := f.get("/account", c); rec.Code != http.StatusSeeOther {
		t.Errorf("at the expiry: %d; want 303 to the login", rec.Code)
	}
}

// The cookie's Max-Age shrinks to what is left of the absolute lifetime
// when that ends before the idle expiry would.
func TestSessionCookieMaxAgeNearTheEnd(t *testing.T) {
	f := newFixture(t)
	f.putAccount("ann@partner.example", testPassword, true, false)
	login := f.clock.Now()
	c := f.loginCookie("ann@partner.example")
	for elapsed := time.Duration(0); elapsed < sessionMaxAge-sessionTTL; elapsed += sessionTTL / 2 {
		f.clock.Advance(sessionTTL / 2)
		rec := f.get("/account", c)
		if rec.Code != http.StatusOK {
			t.Fatalf("after %v: %d", elapsed, rec.Code)
		}
		c = sessionCookie(t, rec.Header())
	}
	// Now 7h30m after the login: 30 minutes remain either way. Ten more
	// leave 20 minutes of the absolute lifetime, less than sessionTTL.
	f.clock.Advance(10 * time.Minute)
	rec := f.get("/account", c)
	if rec.Code != http.StatusOK {
		t.Fatalf("10 minutes later: %d", rec.Code)
	}
	// The cookie keeps the login's second (time.Unix), so what is left
	// is 20 minutes less the login's fraction of a second.
	want := int(time.Unix(login.Unix(), 0).Add(sessionMaxAge).Sub(f.clock.Now()) / time.Second)
	if got := sessionCookie(t, rec.Header()).MaxAge; got != want || want > 20*60 || want < 20*60-1 {
		t.Errorf("Max-Age %d with 20 minutes of the session left; want %d", got, want)
	}
}

// session holds the absolute lifetime by itself, not only through the
// expiry writeSession caps: a cookie signed with an expiry past it (a
// cookie of another version, a mistake in writeSession) still ends
// sessionMaxAge after its login, to the second.
func TestSessionAbsoluteLifetimeWhateverTheExpiry(t *testing.T) {
	f := newFixture(t)
	f.putAccount("ann@partner.example", testPassword, true, false)
	acct := f.account("ann@partner.example")
	now := f.clock.Now()
	at := func(issued time.Time) int {
		v := f.srv.sessions.encode(acct, now.Add(time.Hour), issued)
		req := f.get("/account", &http.Cookie{Name: "postseal-session", Value: v})
		return req.Code
	}
	if got := at(now.Add(-sessionMaxAge + time.Second)); got != http.StatusOK {
		t.Errorf("a second inside the absolute lifetime: %d; want 200", got)
	}
	if got := at(now.Add(-sessionMaxAge)); got != http.StatusSeeOther {
		t.Errorf("at the end of the absolute lifetime: %d; want 303", got)
	}
}
