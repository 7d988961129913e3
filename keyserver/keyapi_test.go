package keyserver

import (
	"bytes"
	"context"
	"encoding/base64"
	"fmt"
	"net/http/httptest"
	"net/netip"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/postseal/postseal/store"
)

func TestKeyReleased(t *testing.T) {
	f := newFixture(t)
	key := f.putEnvelope("env1", "Ann.Lee@Partner.example", "bob@partner.example")
	f.putAccount("ann.lee@partner.example", testPassword, true, false)

	// Any case of the address works: addresses compare case-insensitively.
	rec := f.postKey("env1", "ANN.LEE@partner.EXAMPLE", testPassword, "198.51.100.7")
	if rec.Code != 200 {
		t.Fatalf("status %d: %s", rec.Code, rec.Body)
	}
	a := decodeAnswer(t, rec)
	if a.Key != base64.RawURLEncoding.EncodeToString(key) || a.Envelope != "env1" {
		t.Errorf("answer %+v; want the envelope's key as base64url", a)
	}
	h := rec.Header()
	if h.Get("Access-Control-Allow-Origin") != "*" || h.Get("Cache-Control") != "no-store" || h.Get("Set-Cookie") != "" {
		t.Errorf("headers %v: want CORS *, no-store, no cookie", h)
	}
	ev := f.events(store.EventKeyReleased)
	if len(ev) != 1 || ev[0].Email != "ann.lee@partner.example" || ev[0].EnvelopeID != "env1" || ev[0].RemoteIP != "198.51.100.7" || ev[0].Auth != "password: ok" || ev[0].Outcome != "ok" {
		t.Errorf("key_released events %+v", ev)
	}
	if f.metrics.released.Load() != 1 {
		t.Error("KeyReleased metric not counted")
	}
}

func TestKeyTextPlainSimpleRequest(t *testing.T) {
	f := newFixture(t)
	f.putEnvelope("env1", "ann@partner.example")
	f.putAccount("ann@partner.example", testPassword, true, false)
	req := httptest.NewRequest("POST", "/api/v1/envelopes/env1/key", strings.NewReader(`{"email":"ann@partner.example","password":"`+testPassword+`"}`))
	req.Header.Set("Content-Type", "text/plain;charset=UTF-8")
	req.Header.Set("Origin", "null")
	req.Header.Set("Sec-Fetch-Site", "cross-site")
	if rec := f.do(req, ""); rec.Code != 200 {
		t.Fatalf("text/plain JSON: status %d: %s", rec.Code, rec.Body)
	}
}

func TestKeyPreflight(t *testing.T) {
	f := newFixture(t)
	req := httptest.NewRequest("OPTIONS", "/api/v1/envelopes/env1/key", nil)
	req.Header.Set("Origin", "null")
	req.Header.Set("Access-Control-Request-Method", "POST")
	req.Header.Set("Access-Control-Request-Headers", "content-type")
	req.Header.Set("Access-Control-Request-Private-Network", "true")
	rec := f.do(req, "")
	h := rec.Header()
	if rec.Code != 204 || h.Get("Access-Control-Allow-Origin") != "*" || !strings.Contains(h.Get("Access-Control-Allow-Methods"), "POST") ||
		!strings.EqualFold(h.Get("Access-Control-Allow-Headers"), "Content-Type") || h.Get("Access-Control-Allow-Credentials") != "" ||
		h.Get("Access-Control-Allow-Private-Network") != "true" {
		t.Errorf("preflight: %d %v", rec.Code, h)
	}
	// CORS belongs to the key endpoint only.
	if rec := f.get("/register"); rec.Header().Get("Access-Control-Allow-Origin") != "" {
		t.Error("pages must not allow cross-origin reads")
	}
}

func TestKeyBadRequest(t *testing.T) {
	f := newFixture(t)
	f.putEnvelope("env1", "ann@partner.example")
	for name, body := range map[string]string{
		"not json":         `email=ann&password=x`,
		"missing password": `{"email":"ann@partner.example"}`,
		"missing email":    `{"password":"x"}`,
		"too large":        `{"email":"ann@partner.example","password":"` + strings.Repeat("x", maxAPIBody) + `"}`,
	} {
		req := httptest.NewRequest("POST", "/api/v1/envelopes/env1/key", strings.NewReader(body))
		rec := f.do(req, "")
		a := decodeAnswer(t, rec)
		if rec.Code != 400 || a.Error != "bad_request" || a.Message == "" {
			t.Errorf("%s: %d %+v", name, rec.Code, a)
		}
	}
}

// TestKeyEnumerationSafety: no account, not activated, disabled, wrong
// password and not a recipient give the same status, headers and bytes, and
// each costs exactly one Argon2id verification (so the same time).
func TestKeyEnumerationSafety(t *testing.T) {
	// Same address in every case, so the answers can be compared byte for
	// byte (the register link names the address): each case is set up on
	// its own store.
	type tc struct {
		name, reason string
		setup        func(f *fixture)
		password     string
	}
	cases := []tc{
		{"no account", reasonNoAccount, func(f *fixture) {}, testPassword},
		{"wrong password", reasonBadPassword, func(f *fixture) { f.putAccount("x@partner.example", testPassword, true, false) }, "wrong password!!"},
		{"not activated", reasonNotActive, func(f *fixture) { f.putAccount("x@partner.example", testPassword, false, false) }, testPassword},
		{"disabled", reasonDisabled, func(f *fixture) { f.putAccount("x@partner.example", testPassword, true, true) }, testPassword},
		{"not a recipient", reasonNotRecipient, func(f *fixture) { f.putAccount("x@partner.example", testPassword, true, false) }, testPassword},
	}
	var firstBody []byte
	var firstHeader map[string][]string
	for _, c := range cases {
		g := newFixture(t)
		if c.reason == reasonNotRecipient {
			g.putEnvelope("env1", "someone@partner.example")
		} else {
			g.putEnvelope("env1", "x@partner.example")
		}
		c.setup(g)
		before := g.srv.hash.verifies.Load()
		rec := g.postKey("env1", "x@partner.example", c.password, "")
		if n := g.srv.hash.verifies.Load() - before; n != 1 {
			t.Errorf("%s: %d Argon2 verifications; want exactly 1", c.name, n)
		}
		if rec.Code != 401 {
			t.Fatalf("%s: status %d: %s", c.name, rec.Code, rec.Body)
		}
		a := decodeAnswer(t, rec)
		if a.Error != "invalid_credentials" || a.RegisterURL != "http://keys.example.org:8025/register?email=x%40partner.example&envelope=env1" ||
			a.ForgotURL != "http://keys.example.org:8025/forgot?email=x%40partner.example" || a.Key != "" {
			t.Errorf("%s: answer %+v", c.name, a)
		}
		if firstBody == nil {
			firstBody, firstHeader = rec.Body.Bytes(), rec.Header()
		} else {
			if !bytes.Equal(firstBody, rec.Body.Bytes()) {
				t.Errorf("%s: body differs:\n%s\n%s", c.name, firstBody, rec.Body.Bytes())
			}
			for k, v := range firstHeader {
				if strings.Join(rec.Header()[k], ",") != strings.Join(v, ",") {
					t.Errorf("%s: header %s differs", c.name, k)
				}
			}
			if len(rec.Header()) != len(firstHeader) {
				t.Errorf("%s: header sets differ: %v vs %v", c.name, rec.Header(), firstHeader)
			}
		}
		ev := g.events(store.EventLoginFailed)
		if len(ev) != 1 || ev[0].Detail != c.reason || ev[0].Email != "x@partner.example" || ev[0].Auth != "password: failed" || ev[0].Outcome != "refused" {
			t.Errorf("%s: login_failed events %+v; want one with reason %s", c.name, ev, c.reason)
		}
		if g.metrics.failed.Load() != 1 {
			t.Errorf("%s: LoginFailed metric not counted", c.name)
		}
	}
}

func TestKeyEnvelopeStates(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	f.putAccount("ann@partner.example", testPassword, true, false)
	f.putEnvelope("locked1", "ann@partner.example")
	f.putEnvelope("expired1", "ann@partner.example")
	f.putEnvelope("shredded", "ann@partner.example")
	if err := f.st.SetLocked(ctx, "locked1", true, by); err != nil {
		t.Fatal(err)
	}
	if err := f.st.ExpireEnvelope(ctx, "shredded", f.clock.Now(), by); err != nil {
		t.Fatal(err)
	}
	// A shared-password envelope keeps no key here.
	now := f.clock.Now()
	if err := f.st.PutEnvelope(ctx, store.Envelope{ID: "shared1", Sender: "a@example.org", Recipients: []string{"ann@partner.example"}, Kind: "shared-password", Created: now, Expires: now.Add(time.Hour)}, nil); err != nil {
		t.Fatal(err)
	}
	check := func(id string, status int, code string) {
		t.Helper()
		before := f.srv.hash.verifies.Load()
		rec := f.postKey(id, "ann@partner.example", testPassword, "")
		a := decodeAnswer(t, rec)
		if rec.Code != status || a.Error != code || a.Key != "" || a.Message == "" {
			t.Errorf("%s: %d %+v; want %d %s", id, rec.Code, a, status, code)
		}
		if f.srv.hash.verifies.Load() != before {
			t.Errorf("%s: envelope refusals need no password check", id)
		}
	}
	check("locked1", 403, "locked")
	check("shredded", 410, "expired")
	check("nosuchenvelope", 404, "unknown_envelope")
	check("bad%20id", 404, "unknown_envelope")
	check("shared1", 404, "unknown_envelope")
	// Expiry by time: the key is refused from the expiry instant on, even
	// before the shredder has run.
	f.clock.Advance(90*24*time.Hour + time.Second)
	check("expired1", 410, "expired")
	// Unlocking does not bring back an expired key.
	if err := f.st.SetLocked(ctx, "locked1", false, by); err != nil {
		t.Fatal(err)
	}
	check("locked1", 410, "expired")
	if n := len(f.events(store.EventKeyRefused)); n != 4 {
		t.Errorf("%d key_refused events; want 4 (locked, shredded, expired twice)", n)
	}
}

func TestKeyStoreDown(t *testing.T) {
	f := newFixture(t)
	f.putEnvelope("env1", "ann@partner.example")
	f.st.Close()
	rec := f.postKey("env1", "ann@partner.example", testPassword, "")
	if a := decodeAnswer(t, rec); rec.Code != 503 || a.Error != "unavailable" {
		t.Errorf("store closed: %d %+v", rec.Code, a)
	}
}

func TestKeyThrottleAccountBackoff(t *testing.T) {
	f := newFixture(t)
	f.putEnvelope("env1", "ann@partner.example")
	f.putAccount("ann@partner.example", testPassword, true, false)
	for i := range 5 {
		if rec := f.postKey("env1", "ann@partner.example", "wrong password "+strconv.Itoa(i), "203.0.113.1"); rec.Code != 401 {
			t.Fatalf("attempt %d: %d", i, rec.Code)
		}
	}
	retry := func(ip string) int {
		t.Helper()
		rec := f.postKey("env1", "ann@partner.example", testPassword, ip)
		a := decodeAnswer(t, rec)
		if rec.Code != 429 || a.Error != "throttled" || a.Key != "" {
			t.Fatalf("after failures: %d %+v; want 429 even with the right password", rec.Code, a)
		}
		ra, err := strconv.Atoi(rec.Header().Get("Retry-After"))
		if err != nil || ra != a.RetryAfter || ra <= 0 {
			t.Fatalf("Retry-After %q, retry_after %d", rec.Header().Get("Retry-After"), a.RetryAfter)
		}
		return ra
	}
	before := f.srv.hash.verifies.Load()
	r1 := retry("203.0.113.1")
	// The throttle is per account: another IP waits too.
	if r := retry("203.0.113.99"); r != r1 {
		t.Errorf("other IP: retry %d; want %d", r, r1)
	}
	if f.srv.hash.verifies.Load() != before {
		t.Error("a throttled attempt must not run Argon2")
	}
	// After the wait, one more wrong guess doubles it.
	f.clock.Advance(time.Duration(r1) * time.Second)
	if rec := f.postKey("env1", "ann@partner.example", "still wrong pw", "203.0.113.1"); rec.Code != 401 {
		t.Fatalf("after waiting: %d; want one more attempt", rec.Code)
	}
	r2 := retry("203.0.113.1")
	if r2 <= r1 {
		t.Errorf("backoff did not grow: %d then %d", r1, r2)
	}
	f.clock.Advance(time.Duration(r2) * time.Second)
	if rec := f.postKey("env1", "ann@partner.example", testPassword, "203.0.113.1"); rec.Code != 200 {
		t.Errorf("right password after the wait: %d", rec.Code)
	}
	// Once the failures leave the window, no wait at all.
	f.clock.Advance(16 * time.Minute)
	if rec := f.postKey("env1", "ann@partner.example", "wrong again!!", "203.0.113.1"); rec.Code != 401 {
		t.Errorf("after the window: %d; want 401", rec.Code)
	}
}

func TestKeyThrottlePerIP(t *testing.T) {
	f := newFixture(t, func(c *Config) { c.IPFailures = 8 })
	f.putEnvelope("env1", "ann@partner.example")
	f.putAccount("ann@partner.example", testPassword, true, false)
	// One IP guessing across many addresses (2 each: under the per-account
	// allowance) is stopped by the per-IP count.
	for i := range 8 {
		addr := "guess" + strconv.Itoa(i/2) + "@partner.example"
		if rec := f.postKey("env1", addr, "some password", "203.0.113.5"); rec.Code != 401 {
			t.Fatalf("guess %d: %d", i, rec.Code)
		}
	}
	rec := f.postKey("env1", "ann@partner.example", testPassword, "203.0.113.5")
	if rec.Code != 429 || rec.Header().Get("Retry-After") == "" {
		t.Errorf("guessing IP: %d; want 429 with Retry-After", rec.Code)
	}
	if rec := f.postKey("env1", "ann@partner.example", testPassword, "203.0.113.6"); rec.Code != 200 {
		t.Errorf("another IP: %d; want 200", rec.Code)
	}
}

// Two key-service processes on one database throttle together: the count
// lives in the store, not in either process.
func TestKeyThrottleSharedStore(t *testing.T) {
	a := newFixture(t)
	b := newFixtureOn(t, a.st, a.clock)
	a.putEnvelope("env1", "ann@partner.example")
	a.putAccount("ann@partner.example", testPassword, true, false)
	for i := range 5 {
		srv := a
		if i%2 == 1 {
			srv = b
		}
		srv.postKey("env1", "ann@partner.example", "wrong password!", "")
	}
	if rec := b.postKey("env1", "ann@partner.example", testPassword, ""); rec.Code != 429 {
		t.Errorf("second process: %d; want 429", rec.Code)
	}
}

func TestThrottleWait(t *testing.T) {
	now := time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)
	w := 15 * time.Minute
	for _, c := range []struct {
		count int
		last  time.Duration // before now
		want  time.Duration
	}{
		{4, 0, 0},
		{5, 0, time.Minute},
		{5, 30 * time.Second, 30 * time.Second},
		{5, time.Minute, 0},
		{6, 0, 2 * time.Minute},
		{7, 0, 4 * time.Minute},
		{9, 0, w}, // 16 min capped at the window
		{40, 0, w},
	} {
		if got := throttleWait(c.count, 5, now.Add(-c.last), now, w); got != c.want {
			t.Errorf("count %d, last %v ago: %v; want %v", c.count, c.last, got, c.want)
		}
	}
}

// A burst of simultaneous guesses is throttled like the same guesses one
// after another: each sees the failures recorded before it (enterAttempt).
func TestThrottleBurst(t *testing.T) {
	f := newFixture(t)
	f.putEnvelope("env1", "ann@partner.example")
	f.putAccount("ann@partner.example", testPassword, true, false)
	codes := make(chan int, 40)
	var wg sync.WaitGroup
	for i := range 40 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			codes <- f.postKey("env1", "ann@partner.example", fmt.Sprintf("guess number %d", i), "198.51.100.7").Code
		}()
	}
	wg.Wait()
	close(codes)
	count := map[int]int{}
	for c := range codes {
		count[c]++
	}
	if count[401] != 5 || count[429] != 35 {
		t.Errorf("40 simultaneous wrong passwords: %v; want 5 checked (401) and 35 refused (429)", count)
	}
	if rec := f.postKey("env1", "ann@partner.example", testPassword, "198.51.100.7"); rec.Code != 429 {
		t.Errorf("the right password after the burst: %d; want 429", rec.Code)
	}
}

func TestClientAddr(t *testing.T) {
	proxy := []netip.Prefix{netip.MustParsePrefix("127.0.0.1/32"), netip.MustParsePrefix("10.9.0.0/16")}
	for _, c := range []struct {
		peer, xff string
		trusted   []netip.Prefix
		want      string
	}{
		{"198.51.100.7:1", "203.0.113.9", nil, "198.51.100.7"},         // no proxy trusted: the header is ignored
		{"198.51.100.7:1", "203.0.113.9", proxy, "198.51.100.7"},       // the peer is no trusted proxy
		{"127.0.0.1:1", "203.0.113.9", proxy, "203.0.113.9"},           // one proxy
		{"127.0.0.1:1", "203.0.113.9, 10.9.1.2", proxy, "203.0.113.9"}, // two proxies
		{"127.0.0.1:1", "6.6.6.6, 203.0.113.9", proxy, "203.0.113.9"},  // a forged hop on the left is not believed
		{"127.0.0.1:1", "", proxy, "127.0.0.1"},
		{"127.0.0.1:1", "junk, 203.0.113.9", proxy, "203.0.113.9"},
		{"127.0.0.1:1", "203.0.113.9:4711", proxy, "203.0.113.9"},
		{"127.0.0.1:1", "[2001:db8::1]", proxy, "2001:db8::1"},
		{"127.0.0.1:1", "[2001:db8::1]:443", proxy, "2001:db8::1"},
		{"[::ffff:127.0.0.1]:1", "2001:db8::5", proxy, "2001:db8::5"},
	} {
		req := httptest.NewRequest("GET", "/", nil)
		req.RemoteAddr = c.peer
		if c.xff != "" {
			req.Header.Set("X-Forwarded-For", c.xff)
		}
		if got, ok := ClientAddr(req, c.trusted); !ok || got.String() != c.want {
			t.Errorf("peer %s, X-Forwarded-For %q: %v %v; want %s", c.peer, c.xff, got, ok, c.want)
		}
	}
	// The nearest hop unreadable: no address, never the proxy's own.
	req := httptest.NewRequest("GET", "/", nil)
	req.RemoteAddr = "127.0.0.1:1"
	req.Header.Set("X-Forwarded-For", "203.0.113.9, unknown")
	if got, ok := ClientAddr(req, proxy); ok {
		t.Errorf("unreadable nearest hop: %v; want no address", got)
	}
}
