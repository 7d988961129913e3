package keyserver

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/postseal/postseal/store"
)

// The attacks of an adversarial review of the key service, one test each.

// postFormFrom posts a same-origin form from the client address ip.
func (f *fixture) postFormFrom(path string, v url.Values, ip string, cookies ...*http.Cookie) *httptest.ResponseRecorder {
	req := httptest.NewRequest("POST", path, strings.NewReader(v.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Sec-Fetch-Site", "same-origin")
	for _, c := range cookies {
		req.AddCookie(c)
	}
	return f.do(req, ip)
}

// links returns the activation or reset paths mailed to addr, oldest first.
func (f *fixture) links(addr string) []string {
	f.t.Helper()
	f.srv.Close()
	var found []string
	for _, m := range f.mail.sent() {
		if len(m.To) == 1 && m.To[0] == addr {
			if l := linkRe.FindStringSubmatch(mailText(f.t, m.Data)); l != nil {
				found = append(found, l[1])
			}
		}
	}
	return found
}

func registrationAs(email, first, password string) url.Values {
	return url.Values{
		"email": {email}, "first_name": {first}, "last_name": {"Lee"},
		"password": {password}, "confirm_password": {password}, "envelope": {"env1"},
	}
}

// Finding 1: a stranger registers the recipient's address with a "name"
// that tells the victim a password to type, and that password. The real
// activation mail must carry none of it; and whoever registers before or
// after, the owner who activates with their own password ends up with an
// account whose password only they know.
func TestRegistrationTakeover(t *testing.T) {
	const victim = "gina@partner.example"
	// Letters, spaces and hyphens only: what a name may hold (cleanName).
	const lure = "Gina - your one-time activation password is harbor-tulip"
	const attackerPW, ownerPW = "harbor-tulip-4417", "the owner's own passphrase"

	t.Run("stranger's text is not mailed", func(t *testing.T) {
		f := newFixture(t)
		f.putEnvelope("env1", victim)
		if rec := f.postFormFrom("/register", registrationAs(victim, lure, attackerPW), "198.51.100.9"); rec.Code != 200 {
			t.Fatalf("register: %d", rec.Code)
		}
		f.srv.Close()
		sent := f.mail.sent()
		if len(sent) != 1 {
			t.Fatalf("%d mails", len(sent))
		}
		for _, needle := range []string{"harbor-tulip", "Gina", "one-time"} {
			if bytes.Contains(sent[0].Data, []byte(needle)) {
				t.Errorf("the activation mail carries the stranger's %q:\n%s", needle, mailText(t, sent[0].Data))
			}
		}
	})

	t.Run("a later registration does not take over", func(t *testing.T) {
		f := newFixture(t)
		f.putEnvelope("env1", victim)
		f.postFormFrom("/register", registrationAs(victim, "Gina", ownerPW), "203.0.113.5")
		f.srv.Close() // mailed in this order
		f.postFormFrom("/register", registrationAs(victim, "Mallory", attackerPW), "198.51.100.9")
		f.srv.Close() // mailed in this order
		links := f.links(victim)
		if len(links) != 2 {
			t.Fatalf("%d links mailed; want 2", len(links))
		}
		if rec := f.postFormFrom(links[0], activation(ownerPW), "203.0.113.5"); rec.Code != 200 {
			t.Fatalf("the owner's own link with the owner's password: %d", rec.Code)
		}
		if a := f.account(victim); a.FirstName != "Gina" {
			t.Errorf("account name %q; want the owner's", a.FirstName)
		}
		if rec := f.postKey("env1", victim, ownerPW, "203.0.113.5"); rec.Code != 200 {
			t.Errorf("owner's key release: %d", rec.Code)
		}
		if rec := f.postKey("env1", victim, attackerPW, "198.51.100.9"); rec.Code != 401 {
			t.Errorf("stranger's key release: %d; want 401", rec.Code)
		}
		// The stranger's pending link died with the activation.
		if rec := f.postFormFrom(links[1], activation(attackerPW), "203.0.113.5"); rec.Code != 410 {
			t.Errorf("stranger's link after the owner activated: %d; want 410", rec.Code)
		}
	})

	t.Run("an earlier registration does not take over", func(t *testing.T) {
		f := newFixture(t)
		f.putEnvelope("env1", victim)
		f.postFormFrom("/register", registrationAs(victim, "Mallory", attackerPW), "198.51.100.9")
		f.srv.Close() // mailed in this order
		f.postFormFrom("/register", registrationAs(victim, "Gina", ownerPW), "203.0.113.5")
		f.srv.Close() // mailed in this order
		links := f.links(victim)
		if len(links) != 2 {
			t.Fatalf("%d links mailed; want 2", len(links))
		}
		// The owner clicks the first mail: it is the stranger's
		// registration, and the owner's password does not activate it.
		if rec := f.postFormFrom(links[0], activation(ownerPW), "203.0.113.5"); rec.Code != 401 {
			t.Errorf("the stranger's link with the owner's password: %d; want 401", rec.Code)
		}
		if rec := f.postFormFrom(links[1], activation(ownerPW), "203.0.113.5"); rec.Code != 200 {
			t.Fatalf("the owner's link: %d", rec.Code)
		}
		if rec := f.postKey("env1", victim, attackerPW, "198.51.100.9"); rec.Code != 401 {
			t.Errorf("stranger's key release: %d; want 401", rec.Code)
		}
		if rec := f.postKey("env1", victim, ownerPW, "203.0.113.5"); rec.Code != 200 {
			t.Errorf("owner's key release: %d", rec.Code)
		}
	})
}

// Finding 3: requests that cost the client nothing write nothing one by
// one: an overlong address is 400 before anything is stored, throttled
// refusals are counted, and refusals for a locked envelope are recorded
// for its recipients once a minute.
func TestKeyFloodStoresNothing(t *testing.T) {
	f := newFixture(t)
	f.putEnvelope("env1", "ann@partner.example")
	f.putAccount("ann@partner.example", testPassword, true, false)
	ctx := context.Background()
	count := func() int {
		t.Helper()
		n, err := f.st.CountEvents(ctx, store.EventFilter{})
		if err != nil {
			t.Fatal(err)
		}
		return n
	}

	start := count() // the envelope's own events
	long := strings.Repeat("a", 250) + "@partner.example"
	for _, addr := range []string{long, strings.Repeat("x", 15000)} {
		rec := f.postKey("env1", addr, "some password", "198.51.100.9")
		if a := decodeAnswer(t, rec); rec.Code != 400 || a.Error != "bad_request" {
			t.Errorf("%d-octet address: %d %q; want 400", len(addr), rec.Code, a.Error)
		}
	}
	if n := count() - start; n != 0 {
		t.Errorf("%d events after overlong addresses; want none", n)
	}

	for range 5 {
		f.postKey("env1", "ann@partner.example", "wrong password!", "198.51.100.9")
	}
	base := count()
	for range 50 {
		if rec := f.postKey("env1", "ann@partner.example", "wrong password!", "198.51.100.9"); rec.Code != 429 {
			t.Fatalf("throttled: %d", rec.Code)
		}
	}
	if n := count(); n != base {
		t.Errorf("50 throttled refusals wrote %d events; want none", n-base)
	}
	if got := f.metrics.refusals(refusedThrottled); got != 50 {
		t.Errorf("throttled refusals counted: %d; want 50", got)
	}

	if err := f.st.SetLocked(ctx, "env1", true, store.Change{Actor: "admin (test)", Auth: "test"}); err != nil {
		t.Fatal(err)
	}
	base = count()
	for range 20 {
		f.postKey("env1", "ann@partner.example", "x", "203.0.113.5")
		f.postKey("env1", "stranger@partner.example", "x", "203.0.113.5")
	}
	if n := count() - base; n != 1 {
		t.Errorf("40 refusals of a locked envelope wrote %d events; want 1 (the recipient's, once a minute)", n)
	}
}

// Finding 4: registration, forgot and activation are limited per client
// address before any hashing, and key release never waits for the forms'
// hash slots.
func TestRegistrationFloodSparesKeyRelease(t *testing.T) {
	f := newFixture(t, func(c *Config) { c.HashConcurrency = 2 })
	f.putEnvelope("env1", "ann@partner.example")
	f.putAccount("ann@partner.example", testPassword, true, false)
	var ok, limited int
	for i := range 3 * formBurst {
		rec := f.postFormFrom("/register", registration("flood"+strconv.Itoa(i)+"@partner.example"), "198.51.100.9")
		switch rec.Code {
		case 200:
			ok++
		case 429:
			limited++
			if rec.Header().Get("Retry-After") == "" || !strings.Contains(rec.Body.String(), "Too many requests came from your network") {
				t.Errorf("429 without Retry-After or sentence: %s", rec.Body)
			}
		default:
			t.Fatalf("register: %d", rec.Code)
		}
	}
	if ok != formBurst || limited != 2*formBurst {
		t.Errorf("%d registrations hashed, %d limited; want %d and %d", ok, limited, formBurst, 2*formBurst)
	}
	// The same allowance covers forgot and activate.
	if rec := f.postFormFrom("/forgot", url.Values{"email": {"ann@partner.example"}}, "198.51.100.9"); rec.Code != 429 {
		t.Errorf("forgot from the flooding client: %d", rec.Code)
	}
	if rec := f.postFormFrom("/activate/"+strings.Repeat("A", 43), activation(testPassword), "198.51.100.9"); rec.Code != 429 {
		t.Errorf("activate from the flooding client: %d", rec.Code)
	}
	if rec := f.postFormFrom("/register", registration("ann2@partner.example"), "203.0.113.5"); rec.Code != 200 {
		t.Errorf("another client: %d", rec.Code)
	}

	// Every form hash slot busy: a key release still goes through.
	for range cap(f.srv.formHash.sem) {
		f.srv.formHash.sem <- struct{}{}
	}
	defer func() {
		for range cap(f.srv.formHash.sem) {
			<-f.srv.formHash.sem
		}
	}()
	done := make(chan int, 1)
	go func() { done <- f.postKey("env1", "ann@partner.example", testPassword, "203.0.113.5").Code }()
	select {
	case code := <-done:
		if code != 200 {
			t.Errorf("key release with the form slots busy: %d", code)
		}
	case <-time.After(10 * time.Second): // far beyond one cheap test hash
		t.Fatal("key release waited behind the forms' hash slots")
	}
}

// Finding 5: failures from one network do not lock the owner out on
// another; a ceiling over all networks still stops a spread-out guesser.
func TestLockoutFromAnotherNetwork(t *testing.T) {
	f := newFixture(t)
	f.putEnvelope("env1", "ann@partner.example")
	f.putAccount("ann@partner.example", testPassword, true, false)
	for i := range 8 {
		f.postKey("env1", "ann@partner.example", "wrong password "+strconv.Itoa(i), "198.51.100."+strconv.Itoa(i+1))
	}
	if rec := f.postKey("env1", "ann@partner.example", testPassword, "198.51.100.200"); rec.Code != 429 {
		t.Errorf("the guessing network: %d; want 429", rec.Code)
	}
	if rec := f.postKey("env1", "ann@partner.example", testPassword, "203.0.113.5"); rec.Code != 200 {
		t.Errorf("the owner on another network: %d; want 200", rec.Code)
	}
	rec := f.postFormFrom("/login", url.Values{"email": {"ann@partner.example"}, "password": {testPassword}}, "203.0.113.5")
	if rec.Code != 303 {
		t.Errorf("the owner's login on another network: %d; want 303", rec.Code)
	}

	// Spread over networks up to the ceiling: everyone waits.
	f2 := newFixture(t)
	f2.putEnvelope("env1", "ann@partner.example")
	f2.putAccount("ann@partner.example", testPassword, true, false)
	ceiling := f2.srv.cfg.AddressFailures
	for i := range ceiling {
		ip := netip.AddrFrom4([4]byte{10, byte(i / 4), byte(i % 4), 1}).String()
		if rec := f2.postKey("env1", "ann@partner.example", "wrong password!", ip); rec.Code != 401 {
			t.Fatalf("guess %d from %s: %d", i, ip, rec.Code)
		}
	}
	if rec := f2.postKey("env1", "ann@partner.example", testPassword, "203.0.113.5"); rec.Code != 429 {
		t.Errorf("past the ceiling of %d: %d; want 429", ceiling, rec.Code)
	}
}

// Finding 6: strangers' registrations use up their own network's share of
// an address's mails, not the owner's; when a limit is reached the page
// says so (never "check your mail" with nothing sent).
func TestMailQuotaPerSource(t *testing.T) {
	f := newFixture(t)
	f.putEnvelope("env1", "ann@partner.example")
	for i := range mailBurstPerSource + 2 {
		rec := f.postFormFrom("/register", registration("ann@partner.example"), "198.51.100.9")
		want := 200
		if i >= mailBurstPerSource {
			want = 429
		}
		if rec.Code != want {
			t.Fatalf("stranger's registration %d: %d; want %d", i, rec.Code, want)
		}
		if want == 429 && !strings.Contains(rec.Body.String(), "asked for several times recently") {
			t.Errorf("limit not told: %s", rec.Body)
		}
	}
	before := len(f.links("ann@partner.example"))
	if rec := f.postFormFrom("/register", registration("ann@partner.example"), "203.0.113.5"); rec.Code != 200 {
		t.Fatalf("owner's registration: %d", rec.Code)
	}
	if after := len(f.links("ann@partner.example")); after != before+1 {
		t.Errorf("owner's registration sent %d mails; want 1", after-before)
	}

	// The same for /forgot.
	f.putAccount("bob@partner.example", testPassword, true, false)
	for range mailBurstPerSource {
		f.postFormFrom("/forgot", url.Values{"email": {"bob@partner.example"}}, "198.51.100.77")
	}
	if rec := f.postFormFrom("/forgot", url.Values{"email": {"bob@partner.example"}}, "198.51.100.77"); rec.Code != 429 {
		t.Errorf("stranger's extra forgot: %d; want 429", rec.Code)
	}
	before = len(f.links("bob@partner.example"))
	if rec := f.postFormFrom("/forgot", url.Values{"email": {"bob@partner.example"}}, "203.0.113.5"); rec.Code != 200 {
		t.Fatalf("owner's forgot: %d", rec.Code)
	}
	if after := len(f.links("bob@partner.example")); after != before+1 {
		t.Errorf("owner's forgot sent %d mails; want 1", after-before)
	}
}

// Finding 7: an activation link is voided after a few wrong passwords.
func TestActivationVoidedAfterFailures(t *testing.T) {
	f := newFixture(t)
	f.putEnvelope("env1", "ann@partner.example")
	f.postFormFrom("/register", registration("ann@partner.example"), "203.0.113.5")
	link := f.link("ann@partner.example")
	for i := range maxActivationFailures {
		if rec := f.postFormFrom(link, activation("guess number "+strconv.Itoa(i)), "198.51.100.9"); rec.Code != 401 {
			t.Fatalf("guess %d: %d", i, rec.Code)
		}
	}
	if rec := f.postFormFrom(link, activation(testPassword), "203.0.113.5"); rec.Code != 410 {
		t.Errorf("the right password after %d wrong ones: %d; want 410 (link void)", maxActivationFailures, rec.Code)
	}
	if f.account("ann@partner.example").Active {
		t.Error("activated after the link was voided")
	}
}

// Finding 8: logging out ends the session for good (a copied cookie is
// refused), and a session used continuously still ends.
func TestLogoutEndsSession(t *testing.T) {
	f := newFixture(t)
	f.putAccount("ann@partner.example", testPassword, true, false)
	login := func() *http.Cookie {
		rec := f.postFormFrom("/login", url.Values{"email": {"ann@partner.example"}, "password": {testPassword}}, "203.0.113.5")
		if rec.Code != 303 {
			t.Fatalf("login: %d", rec.Code)
		}
		return sessionCookie(t, rec.Header())
	}
	c := login()
	copied := *c
	f.postFormFrom("/logout", nil, "203.0.113.5", c)
	if rec := f.get("/account", &copied); rec.Code != 303 {
		t.Errorf("a copied cookie after logout: %d; want 303 to the login", rec.Code)
	}

	c = login()
	for elapsed := time.Duration(0); elapsed < sessionMaxAge; elapsed += sessionTTL / 2 {
		rec := f.get("/account", c)
		if rec.Code != 200 {
			t.Fatalf("session used every %v ended after %v", sessionTTL/2, elapsed)
		}
		c = sessionCookie(t, rec.Header())
		f.clock.Advance(sessionTTL / 2)
	}
	if rec := f.get("/account", c); rec.Code != 303 {
		t.Errorf("session still valid %v after login: %d", sessionMaxAge, rec.Code)
	}
}

// Finding 9: the owner is told by mail when the password is changed or
// reset.
func TestPasswordChangeNotice(t *testing.T) {
	f := newFixture(t)
	f.putAccount("ann@partner.example", testPassword, true, false)
	notices := func() int {
		f.srv.Close()
		n := 0
		for _, m := range f.mail.sent() {
			if strings.Contains(mailText(t, m.Data), "was changed on") || strings.Contains(mailText(t, m.Data), "was reset on") {
				n++
			}
		}
		return n
	}
	rec := f.postFormFrom("/login", url.Values{"email": {"ann@partner.example"}, "password": {testPassword}}, "203.0.113.5")
	c := sessionCookie(t, rec.Header())
	change := url.Values{"current_password": {testPassword}, "new_password": {"a new long passphrase"}, "confirm_password": {"a new long passphrase"}}
	if rec := f.postFormFrom("/account/password", change, "203.0.113.5", c); rec.Code != 200 {
		t.Fatalf("change: %d", rec.Code)
	}
	if n := notices(); n != 1 {
		t.Errorf("%d notices after a change; want 1", n)
	}
	f.postFormFrom("/forgot", url.Values{"email": {"ann@partner.example"}}, "203.0.113.5")
	link := f.link("ann@partner.example")
	reset := url.Values{"password": {"yet another passphrase"}, "confirm_password": {"yet another passphrase"}}
	if rec := f.postFormFrom(link, reset, "203.0.113.5"); rec.Code != 200 {
		t.Fatalf("reset: %d", rec.Code)
	}
	if n := notices(); n != 2 {
		t.Errorf("%d notices after a change and a reset; want 2", n)
	}
}

// Finding 10: behind a trusted proxy, clients whose X-Forwarded-For hop
// cannot be read share one strict allowance instead of each connection
// (the proxy's address with a new port) counting as a new client.
func TestUnreadableForwardedForShared(t *testing.T) {
	f := newFixture(t, func(c *Config) { c.TrustedProxies = []netip.Prefix{netip.MustParsePrefix("127.0.0.1/32")} })
	f.putEnvelope("env1", "ann@partner.example")
	limited := 0
	for i := range formBurst + 5 {
		req := httptest.NewRequest("POST", "/register", strings.NewReader(registration("x"+strconv.Itoa(i)+"@partner.example").Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.Header.Set("Sec-Fetch-Site", "same-origin")
		req.Header.Set("X-Forwarded-For", "unknown")
		req.RemoteAddr = "127.0.0.1:" + strconv.Itoa(40000+i) // a new connection each time
		rec := httptest.NewRecorder()
		f.srv.ServeHTTP(rec, req)
		if rec.Code == 429 {
			limited++
		}
	}
	if limited != 5 {
		t.Errorf("%d of %d limited; want 5 (one shared allowance of %d)", limited, formBurst+5, formBurst)
	}
	b, _ := json.Marshal(map[string]string{"email": "ann@partner.example", "password": "x"})
	req := httptest.NewRequest("POST", "/api/v1/envelopes/env1/key", bytes.NewReader(b))
	req.Header.Set("X-Forwarded-For", "unknown")
	req.RemoteAddr = "127.0.0.1:50000"
	if ip := f.srv.remoteIP(req); ip != unreadableClient {
		t.Errorf("remoteIP %q; want the shared %q", ip, unreadableClient)
	}
}

// Finding 11: the key answer carries the digest of the payload as sealed,
// for the decryptor to refuse a co-recipient's forgery under the same key.
func TestKeyAnswerCarriesPayloadDigest(t *testing.T) {
	f := newFixture(t)
	digest := strings.Repeat("5e", 32)
	now := f.clock.Now()
	e := store.Envelope{ID: "env1", Sender: "doctor@example.org", Recipients: []string{"ann@partner.example"}, Kind: "keyservice",
		Created: now, Expires: now.Add(time.Hour), PayloadDigest: digest}
	if err := f.st.PutEnvelope(context.Background(), e, bytes.Repeat([]byte{7}, 32)); err != nil {
		t.Fatal(err)
	}
	f.putAccount("ann@partner.example", testPassword, true, false)
	rec := f.postKey("env1", "ann@partner.example", testPassword, "")
	if a := decodeAnswer(t, rec); rec.Code != 200 || a.PayloadSHA256 != digest {
		t.Errorf("key answer %d %s; want payload_sha256 %s", rec.Code, rec.Body, digest)
	}
}
