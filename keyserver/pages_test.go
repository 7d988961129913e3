package keyserver

import (
	"bytes"
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-message"
	"github.com/postseal/postseal/store"
)

func registration(email string) url.Values {
	return url.Values{
		"email": {email}, "first_name": {"Ann"}, "last_name": {"Lee"},
		"password": {testPassword}, "confirm_password": {testPassword}, "envelope": {"env1"},
	}
}

func TestRegisterPage(t *testing.T) {
	f := newFixture(t)
	rec := f.get("/register?email=Ann%40Partner.example&envelope=env1")
	body := rec.Body.String()
	if rec.Code != 200 {
		t.Fatalf("status %d", rec.Code)
	}
	for _, want := range []string{
		`<label for="email">Email address</label>`, `<label for="first_name">First name</label>`,
		`<label for="last_name">Last name</label>`, `<label for="password">Password</label>`,
		`<label for="confirm_password">Confirm password</label>`, `<button type="submit">Register</button>`,
		`value="ann@partner.example"`, `name="envelope" value="env1"`, "Example Health",
	} {
		if !strings.Contains(body, want) {
			t.Errorf("register page lacks %s", want)
		}
	}
	h := rec.Header()
	for k, want := range map[string]string{
		"X-Content-Type-Options": "nosniff", "Referrer-Policy": "no-referrer", "X-Frame-Options": "DENY", "Cache-Control": "no-store",
	} {
		if h.Get(k) != want {
			t.Errorf("%s: %q; want %q", k, h.Get(k), want)
		}
	}
	if csp := h.Get("Content-Security-Policy"); !strings.Contains(csp, "default-src 'self'") || !strings.Contains(csp, "frame-ancestors 'none'") || !strings.Contains(csp, "script-src 'none'") {
		t.Errorf("CSP %q", csp)
	}
	if h.Get("Strict-Transport-Security") != "" {
		t.Error("HSTS on a plain-http service")
	}
	g := newFixture(t, func(c *Config) { c.PublicURL = "https://keys.example.org" })
	if g.get("/login").Header().Get("Strict-Transport-Security") == "" {
		t.Error("no HSTS on an https service")
	}
}

// The whole recipient path: register, activate from the mailed link, open.
func TestRegisterActivateRelease(t *testing.T) {
	f := newFixture(t)
	key := f.putEnvelope("env1", "ann@partner.example")
	rec := f.postForm("/register", registration("Ann@Partner.example"))
	if rec.Code != 200 || !strings.Contains(rec.Body.String(), "Check your mail") {
		t.Fatalf("register: %d %s", rec.Code, rec.Body)
	}
	link := f.link("ann@partner.example")
	if !strings.HasPrefix(link, "/activate/") {
		t.Fatalf("link %q", link)
	}
	// The registration waits in its link: the account holds no name and
	// no password until the link activates it.
	a := f.account("ann@partner.example")
	if a.Active || a.FirstName != "" || a.PasswordHash != "" {
		t.Errorf("account after registration %+v", a)
	}
	if rec := f.postKey("env1", "ann@partner.example", testPassword, ""); rec.Code != 401 {
		t.Errorf("before activation: %d; want 401", rec.Code)
	}
	// GET shows a button and does not use the token (mail scanners fetch links).
	for range 2 {
		rec = f.get(link)
		if rec.Code != 200 || !strings.Contains(rec.Body.String(), `<form method="post" action="`+link+`">`) {
			t.Fatalf("activation page: %d %s", rec.Code, rec.Body)
		}
	}
	if f.account("ann@partner.example").Active {
		t.Fatal("a GET activated the account")
	}
	// Someone else's password (an address registered by another) does not
	// activate, and the link still works for the right one.
	rec = f.postForm(link, activation("somebody else's password"))
	if rec.Code != 401 || !strings.Contains(rec.Body.String(), "not the password chosen") || f.account("ann@partner.example").Active {
		t.Fatalf("activation with a wrong password: %d %s", rec.Code, rec.Body)
	}
	rec = f.postForm(link, activation(testPassword))
	if rec.Code != 200 || !strings.Contains(rec.Body.String(), "is confirmed") {
		t.Fatalf("activate: %d %s", rec.Code, rec.Body)
	}
	if a := f.account("ann@partner.example"); !a.Active || a.Activated.IsZero() || a.FirstName != "Ann" || !strings.HasPrefix(a.PasswordHash, "$argon2id$v=19$") {
		t.Errorf("not active after activation: %+v", a)
	}
	if rec := f.postForm(link, activation(testPassword)); rec.Code != 410 {
		t.Errorf("second use of the link: %d; want 410", rec.Code)
	}
	rec = f.postKey("env1", "ann@partner.example", testPassword, "")
	if rec.Code != 200 || decodeAnswer(t, rec).Key == "" {
		t.Fatalf("after activation: %d %s", rec.Code, rec.Body)
	}
	_ = key
	for _, kind := range []string{store.EventRegistered, store.EventActivated, store.EventKeyReleased} {
		if len(f.events(kind)) != 1 {
			t.Errorf("want one %s event", kind)
		}
	}
}

func TestActivationMail(t *testing.T) {
	f := newFixture(t)
	f.putEnvelope("env1", "ann@partner.example")
	f.postForm("/register", registration("ann@partner.example"))
	f.srv.Close()
	sent := f.mail.sent()
	if len(sent) != 1 {
		t.Fatalf("%d mails", len(sent))
	}
	m := sent[0]
	if m.From != "postseal@example.org" || len(m.To) != 1 || m.To[0] != "ann@partner.example" {
		t.Errorf("envelope from %q to %v", m.From, m.To)
	}
	if bytes.Contains(bytes.ReplaceAll(m.Data, []byte("\r\n"), nil), []byte("\n")) {
		t.Error("bare LF in the mail; want CRLF only")
	}
	e, err := message.Read(bytes.NewReader(m.Data))
	if err != nil {
		t.Fatal(err)
	}
	if mt, _, _ := e.Header.ContentType(); mt != "multipart/alternative" {
		t.Errorf("Content-Type %q", mt)
	}
	if from := e.Header.Get("From"); !strings.Contains(from, "Example Health") || !strings.Contains(from, "<postseal@example.org>") {
		t.Errorf("From %q", from)
	}
	var types []string
	mr := e.MultipartReader()
	for {
		p, err := mr.NextPart()
		if err != nil {
			break
		}
		mt, _, _ := p.Header.ContentType()
		types = append(types, mt)
	}
	if strings.Join(types, ",") != "text/plain,text/html" {
		t.Errorf("parts %v", types)
	}
	text := mailText(t, m.Data)
	// The name is the registrant's word, not yet the owner's: not in the mail.
	if !linkRe.MatchString(text) || !strings.Contains(text, "Hello,") || strings.Contains(text, "Ann") {
		t.Errorf("activation text:\n%s", text)
	}
	if e.Header.Get("Auto-Submitted") != "auto-generated" {
		t.Error("no Auto-Submitted header")
	}
}

// Registration answers the same page whether the address may register, is
// not a recipient of any live envelope, or already has an account; only
// the mail differs, and it goes to the address's owner.
func TestRegisterEnumerationSafety(t *testing.T) {
	f := newFixture(t)
	f.putEnvelope("env1", "new@partner.example", "old@partner.example", "off@partner.example")
	f.putAccount("old@partner.example", testPassword, true, false)
	f.putAccount("off@partner.example", testPassword, true, true)
	norm := func(b []byte, addr string) string { return strings.ReplaceAll(string(b), addr, "ADDR") }
	var first string
	for _, addr := range []string{"new@partner.example", "stranger@elsewhere.example", "old@partner.example", "off@partner.example"} {
		rec := f.postForm("/register", registration(addr))
		if rec.Code != 200 {
			t.Fatalf("%s: %d", addr, rec.Code)
		}
		if first == "" {
			first = norm(rec.Body.Bytes(), addr)
		} else if got := norm(rec.Body.Bytes(), addr); got != first {
			t.Errorf("%s: page differs:\n%s\n%s", addr, got, first)
		}
	}
	f.srv.Close()
	got := map[string]string{}
	for _, m := range f.mail.sent() {
		got[m.To[0]] = mailText(t, m.Data)
	}
	if len(got) != 2 || !strings.Contains(got["new@partner.example"], "/activate/") || !strings.Contains(got["old@partner.example"], "already has an active registration") {
		t.Errorf("mails: %v; want an activation to new@, a note to old@, nothing to the stranger or the disabled account", got)
	}
	if strings.Contains(got["old@partner.example"], "/activate/") {
		t.Error("an active account got a new activation link")
	}
	if _, err := f.st.Account(context.Background(), "stranger@elsewhere.example"); err == nil {
		t.Error("an account was created for an address that is no recipient")
	}
	if a := f.account("old@partner.example"); a.FirstName != "Ann" {
		t.Error("registering again changed an active account")
	}
}

func TestRegisterRefusals(t *testing.T) {
	f := newFixture(t)
	f.putEnvelope("env1", "ann@partner.example")
	for name, c := range map[string]struct {
		change func(url.Values)
		want   string
	}{
		"too short": {func(v url.Values) { v.Set("password", "short pw"); v.Set("confirm_password", "short pw") }, "at least 12 characters"},
		"too long": {func(v url.Values) {
			p := strings.Repeat("x", maxPasswordLen+1)
			v.Set("password", p)
			v.Set("confirm_password", p)
		}, "at most 1024"},
		"mismatch":   {func(v url.Values) { v.Set("confirm_password", testPassword+"!") }, "not the same"},
		"no name":    {func(v url.Values) { v.Set("last_name", " ") }, "first and last name"},
		"bad e-mail": {func(v url.Values) { v.Set("email", "ann") }, "e-mail address"},
	} {
		v := registration("ann@partner.example")
		c.change(v)
		rec := f.postForm("/register", v)
		if rec.Code != 400 || !strings.Contains(rec.Body.String(), c.want) || !strings.Contains(rec.Body.String(), `role="alert"`) {
			t.Errorf("%s: %d; want 400 saying %q: %s", name, rec.Code, c.want, rec.Body)
		}
		if strings.Contains(rec.Body.String(), testPassword) {
			t.Errorf("%s: the password is echoed back", name)
		}
	}
	f.srv.Close()
	if n := len(f.mail.sent()); n != 0 {
		t.Errorf("%d mails for refused registrations", n)
	}
	big := registration("ann@partner.example")
	big.Set("first_name", strings.Repeat("a", maxFormBody))
	if rec := f.postForm("/register", big); rec.Code != 413 {
		t.Errorf("oversized form: %d; want 413", rec.Code)
	}
}

// The store's hourly mail cap is the backstop shared by every process:
// registrations coming through other processes (here: the events they
// recorded) stop the mails, whatever this process's own limits allow.
func TestRegisterMailLimit(t *testing.T) {
	f := newFixture(t)
	f.putEnvelope("env1", "ann@partner.example")
	for range mailsPerHour {
		f.srv.event(context.Background(), store.EventRegistered, "ann@partner.example", "", "198.51.100.7", "again")
	}
	if rec := f.postForm("/register", registration("ann@partner.example")); rec.Code != 200 {
		t.Fatal(rec.Code)
	}
	f.srv.Close()
	if n := len(f.mail.sent()); n != 0 {
		t.Errorf("%d mails past the hourly cap of %d", n, mailsPerHour)
	}
}

func TestActivationExpires(t *testing.T) {
	f := newFixture(t)
	f.putEnvelope("env1", "ann@partner.example")
	f.postForm("/register", registration("ann@partner.example"))
	link := f.link("ann@partner.example")
	f.clock.Advance(activationTTL + time.Second)
	if rec := f.postForm(link, activation(testPassword)); rec.Code != 410 || !strings.Contains(rec.Body.String(), "no longer valid") {
		t.Errorf("expired link: %d %s", rec.Code, rec.Body)
	}
	for _, bad := range []string{"/activate/short", "/activate/" + strings.Repeat("A", 43)} {
		if rec := f.postForm(bad, nil); rec.Code != 410 {
			t.Errorf("%s: %d; want 410", bad, rec.Code)
		}
	}
	if f.account("ann@partner.example").Active {
		t.Error("activated by an expired link")
	}
}

func TestCrossSiteFormRefused(t *testing.T) {
	f := newFixture(t)
	f.putEnvelope("env1", "ann@partner.example")
	for name, hdr := range map[string][2]string{
		"sec-fetch-site": {"Sec-Fetch-Site", "cross-site"},
		"origin":         {"Origin", "https://evil.example"},
	} {
		for _, path := range []string{"/register", "/login", "/forgot", "/logout", "/account/password"} {
			req := newFormRequest(path, registration("ann@partner.example"))
			req.Header.Set(hdr[0], hdr[1])
			rec := f.do(req, "")
			if rec.Code != 403 || !strings.Contains(rec.Body.String(), "another web site") {
				t.Errorf("%s %s: %d; want 403 with a sentence", name, path, rec.Code)
			}
		}
	}
	f.srv.Close()
	if n := len(f.mail.sent()); n != 0 {
		t.Errorf("a cross-site post sent %d mails", n)
	}
}

func newFormRequest(path string, v url.Values) *http.Request {
	req, _ := http.NewRequest("POST", "http://keys.example.org:8025"+path, strings.NewReader(v.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	return req
}

func sessionCookie(t *testing.T, h http.Header) *http.Cookie {
	t.Helper()
	for _, c := range (&http.Response{Header: h}).Cookies() {
		if c.Name == "postseal-session" {
			return c
		}
	}
	t.Fatalf("no session cookie in %v", h)
	return nil
}

func TestLoginAccountLogout(t *testing.T) {
	f := newFixture(t)
	f.putEnvelope("env1", "ann@partner.example")
	f.putAccount("ann@partner.example", testPassword, true, false)
	f.putAccount("new@partner.example", testPassword, false, false)

	if rec := f.get("/account"); rec.Code != 303 || rec.Header().Get("Location") != "http://keys.example.org:8025/login" {
		t.Errorf("account without login: %d %q", rec.Code, rec.Header().Get("Location"))
	}
	for _, c := range []url.Values{
		{"email": {"ann@partner.example"}, "password": {"wrong password!"}},
		{"email": {"new@partner.example"}, "password": {testPassword}},
		{"email": {"nobody@partner.example"}, "password": {testPassword}},
	} {
		rec := f.postForm("/login", c)
		if rec.Code != 401 || rec.Header().Get("Set-Cookie") != "" || !strings.Contains(rec.Body.String(), "no active registration") {
			t.Errorf("login %v: %d", c, rec.Code)
		}
	}
	rec := f.postForm("/login", url.Values{"email": {"Ann@partner.example"}, "password": {testPassword}})
	if rec.Code != 303 || rec.Header().Get("Location") != "http://keys.example.org:8025/account" {
		t.Fatalf("login: %d %s", rec.Code, rec.Body)
	}
	c := sessionCookie(t, rec.Header())
	if !c.HttpOnly || c.SameSite != http.SameSiteStrictMode || c.Secure {
		t.Errorf("cookie %+v: want HttpOnly, SameSite=Strict (not Secure on http)", c)
	}
	rec = f.get("/account", c)
	if rec.Code != 200 || !strings.Contains(rec.Body.String(), "ann@partner.example") {
		t.Fatalf("account: %d", rec.Code)
	}
	// A forged cookie for another address is refused.
	forged := *c
	forged.Value = "bmV3QHBhcnRuZXIuZXhhbXBsZQ" + forged.Value[strings.IndexByte(forged.Value, '.'):]
	if rec := f.get("/account", &forged); rec.Code != 303 {
		t.Errorf("forged cookie: %d", rec.Code)
	}

	change := url.Values{"current_password": {testPassword}, "new_password": {"a new long passphrase"}, "confirm_password": {"a new long passphrase"}}
	bad := url.Values{"current_password": {"not the password"}, "new_password": change["new_password"], "confirm_password": change["confirm_password"]}
	if rec := f.postForm("/account/password", bad, c); rec.Code != 401 {
		t.Errorf("wrong current password: %d", rec.Code)
	}
	short := url.Values{"current_password": {testPassword}, "new_password": {"short"}, "confirm_password": {"short"}}
	if rec := f.postForm("/account/password", short, c); rec.Code != 400 {
		t.Errorf("short new password: %d", rec.Code)
	}
	if rec := f.postForm("/account/password", change); rec.Code != 401 {
		t.Errorf("change without session: %d", rec.Code)
	}
	rec = f.postForm("/account/password", change, c)
	if rec.Code != 200 || !strings.Contains(rec.Body.String(), "has been changed") {
		t.Fatalf("change password: %d %s", rec.Code, rec.Body)
	}
	c2 := sessionCookie(t, rec.Header())
	// The old session ended with the old password.
	if rec := f.get("/account", c); rec.Code != 303 {
		t.Errorf("old session after password change: %d", rec.Code)
	}
	if rec := f.postKey("env1", "ann@partner.example", "a new long passphrase", ""); rec.Code != 200 {
		t.Errorf("key with the new password: %d", rec.Code)
	}
	rec = f.postForm("/logout", nil, c2)
	if out := sessionCookie(t, rec.Header()); rec.Code != 200 || out.MaxAge >= 0 {
		t.Errorf("logout: %d, cookie %+v", rec.Code, out)
	}
	// Sessions expire.
	f.clock.Advance(sessionTTL + time.Second)
	if rec := f.get("/account", c2); rec.Code != 303 {
		t.Errorf("expired session: %d", rec.Code)
	}
}

func TestLoginThrottled(t *testing.T) {
	f := newFixture(t)
	f.putAccount("ann@partner.example", testPassword, true, false)
	for range 5 {
		f.postForm("/login", url.Values{"email": {"ann@partner.example"}, "password": {"wrong password!"}})
	}
	rec := f.postForm("/login", url.Values{"email": {"ann@partner.example"}, "password": {testPassword}})
	if rec.Code != 429 || rec.Header().Get("Retry-After") == "" || !strings.Contains(rec.Body.String(), "Too many failed attempts") {
		t.Errorf("login after failures: %d %q", rec.Code, rec.Header().Get("Retry-After"))
	}
}

func TestForgotReset(t *testing.T) {
	f := newFixture(t)
	f.putEnvelope("env1", "ann@partner.example")
	f.putAccount("ann@partner.example", testPassword, true, false)

	if rec := f.get("/forgot?email=ann%40partner.example"); rec.Code != 200 || !strings.Contains(rec.Body.String(), `value="ann@partner.example"`) {
		t.Errorf("forgot page: %d", rec.Code)
	}
	known := f.postForm("/forgot", url.Values{"email": {"ann@partner.example"}})
	unknown := f.postForm("/forgot", url.Values{"email": {"bob@partner.example"}})
	if known.Code != 200 || unknown.Code != 200 ||
		strings.ReplaceAll(known.Body.String(), "ann", "X") != strings.ReplaceAll(unknown.Body.String(), "bob", "X") {
		t.Errorf("forgot answers differ: %d %d", known.Code, unknown.Code)
	}
	link := f.link("ann@partner.example")
	if len(f.mail.sent()) != 1 || !strings.HasPrefix(link, "/reset/") {
		t.Fatalf("mails %d, link %q", len(f.mail.sent()), link)
	}
	if rec := f.get(link); rec.Code != 200 || !strings.Contains(rec.Body.String(), `action="`+link+`"`) {
		t.Errorf("reset page: %d", rec.Code)
	}
	// A refused password does not use up the link.
	if rec := f.postForm(link, url.Values{"password": {"short"}, "confirm_password": {"short"}}); rec.Code != 400 {
		t.Errorf("short: %d", rec.Code)
	}
	// A second link asked for meanwhile dies with the first one's use.
	f.postForm("/forgot", url.Values{"email": {"ann@partner.example"}})
	other := f.link("ann@partner.example")
	newPW := url.Values{"password": {"another good passphrase"}, "confirm_password": {"another good passphrase"}}
	if rec := f.postForm(link, newPW); rec.Code != 200 || !strings.Contains(rec.Body.String(), "is changed") {
		t.Fatalf("reset: %d %s", rec.Code, rec.Body)
	}
	if rec := f.postForm(link, newPW); rec.Code != 410 {
		t.Errorf("reused reset link: %d", rec.Code)
	}
	if rec := f.postForm(other, url.Values{"password": {"a third passphrase!"}, "confirm_password": {"a third passphrase!"}}); other == link || rec.Code != 410 {
		t.Errorf("an older reset link after the password was set: %d; want 410", rec.Code)
	}
	if rec := f.postKey("env1", "ann@partner.example", testPassword, ""); rec.Code != 401 {
		t.Errorf("old password after reset: %d", rec.Code)
	}
	if rec := f.postKey("env1", "ann@partner.example", "another good passphrase", ""); rec.Code != 200 {
		t.Errorf("new password after reset: %d", rec.Code)
	}
	// Reset links last an hour.
	f.postForm("/forgot", url.Values{"email": {"ann@partner.example"}})
	link2 := f.link("ann@partner.example")
	if link2 == link {
		t.Fatal("same link twice")
	}
	f.clock.Advance(resetTTL + time.Second)
	if rec := f.postForm(link2, newPW); rec.Code != 410 {
		t.Errorf("expired reset link: %d", rec.Code)
	}
	if n := len(f.events(store.EventPasswordSet)); n != 1 {
		t.Errorf("%d password_reset events", n)
	}
}

// A reset also activates an account that never was: the link proves the
// mailbox as the activation link does.
func TestResetActivates(t *testing.T) {
	f := newFixture(t)
	f.putAccount("ann@partner.example", testPassword, false, false)
	f.postForm("/forgot", url.Values{"email": {"ann@partner.example"}})
	link := f.link("ann@partner.example")
	f.postForm(link, url.Values{"password": {"another good passphrase"}, "confirm_password": {"another good passphrase"}})
	if !f.account("ann@partner.example").Active {
		t.Error("not active after reset")
	}
}

func TestPagesMisc(t *testing.T) {
	f := newFixture(t, func(c *Config) { c.Logo = []byte("\x89PNG\r\n\x1a\n0000") })
	for path, want := range map[string]int{"/": 200, "/static/style.css": 200, "/static/logo": 200, "/nope": 404, "/login": 200, "/open": 200} {
		if rec := f.get(path); rec.Code != want {
			t.Errorf("%s: %d; want %d", path, rec.Code, want)
		}
	}
	if ct := f.get("/static/logo").Header().Get("Content-Type"); ct != "image/png" {
		t.Errorf("logo type %q", ct)
	}
	if !strings.Contains(f.get("/").Body.String(), `src="/static/logo"`) {
		t.Error("logo not shown")
	}
	if rec := f.get("/nope"); !strings.Contains(rec.Body.String(), "There is no page") {
		t.Error("404 without a sentence")
	}
}

func TestPagesStoreDown(t *testing.T) {
	f := newFixture(t)
	f.putAccount("ann@partner.example", testPassword, true, false)
	f.st.Close()
	for path, v := range map[string]url.Values{
		"/login":                               {"email": {"ann@partner.example"}, "password": {testPassword}},
		"/activate/" + strings.Repeat("a", 43): nil,
		"/reset/" + strings.Repeat("a", 43):    {"password": {testPassword}, "confirm_password": {testPassword}},
	} {
		rec := f.postForm(path, v)
		if rec.Code != 503 || !strings.Contains(rec.Body.String(), "try again in a few minutes") {
			t.Errorf("%s with the store down: %d %s", path, rec.Code, rec.Body)
		}
	}
}

// Without a logo configured the pages show none (and /static/logo is not
// found).
func TestPagesWithoutLogo(t *testing.T) {
	f := newFixture(t)
	if body := f.get("/").Body.String(); strings.Contains(body, "static/logo") {
		t.Error("a logo shown with none configured")
	}
	if rec := f.get("/static/logo"); rec.Code != 404 {
		t.Errorf("/static/logo with none configured: %d; want 404", rec.Code)
	}
}

// A new password of exactly PasswordMinLength characters (counted as
// characters, not octets) and one of exactly maxPasswordLen octets are
// accepted; one character fewer, one octet more are not.
func TestCheckNewPasswordEdges(t *testing.T) {
	f := newFixture(t)
	for pw, ok := range map[string]bool{
		strings.Repeat("a", 12):               true,
		strings.Repeat("a", 11):               false,
		strings.Repeat("é", 12):               true,
		strings.Repeat("é", 11):               false,
		strings.Repeat("a", maxPasswordLen):   true,
		strings.Repeat("a", maxPasswordLen+1): false,
	} {
		if msg := f.srv.checkNewPassword(pw, pw); (msg == "") != ok {
			t.Errorf("a password of %d characters (%d octets): %q; want accepted %v", len([]rune(pw)), len(pw), msg, ok)
		}
	}
	if msg := f.srv.checkNewPassword(strings.Repeat("a", 12), strings.Repeat("b", 12)); msg == "" {
		t.Error("a confirmation that differs was accepted")
	}
}
