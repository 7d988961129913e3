package keyserver

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/postseal/postseal/envelope"
)

const armored = "-----BEGIN PGP MESSAGE-----\n\nwy4ECQMI\n-----END PGP MESSAGE-----"

func postOpen(f *fixture, fields map[string]string) *httptest.ResponseRecorder {
	ct, body := multipartBody(f.t, fields)
	req := httptest.NewRequest("POST", "/open", body)
	req.Header.Set("Content-Type", ct)
	// The securedoc's form posts from file:// or a mail app.
	req.Header.Set("Origin", "null")
	req.Header.Set("Sec-Fetch-Site", "cross-site")
	return f.do(req, "")
}

func TestOpenOnline(t *testing.T) {
	f := newFixture(t)
	var got openRequest
	f.srv.openPage = func(w http.ResponseWriter, r *http.Request, p openRequest) {
		got = p
		f.srv.renderOpen(w, r, p)
	}
	rec := postOpen(f, map[string]string{"envelope": "abc234", "payload": armored, "meta": `{"subject":"Hi"}`})
	if rec.Code != 200 {
		t.Fatalf("open: %d %s", rec.Code, rec.Body)
	}
	if got.Envelope != "abc234" || got.Payload != armored || got.Meta != `{"subject":"Hi"}` {
		t.Errorf("fields %+v", got)
	}
	page := rec.Body.String()
	if !strings.Contains(page, armored) || !strings.Contains(page, "abc234") || !strings.Contains(page, "Hi") {
		t.Error("the page lacks the payload, the envelope id or the subject")
	}
	if csp := rec.Header().Get("Content-Security-Policy"); csp != envelope.OpenPageCSP("http://keys.example.org:8025") {
		t.Errorf("CSP %q; want the decryptor page's", csp)
	}
	if ct := rec.Header().Get("Content-Type"); ct != "text/html; charset=us-ascii" {
		t.Errorf("Content-Type %q", ct)
	}
	// A hostile payload is escaped into the textarea, never markup.
	rec = postOpen(f, map[string]string{"envelope": "abc234", "payload": armored + "</textarea><script>alert(1)</script>"})
	if rec.Code != 200 || strings.Contains(rec.Body.String(), "<script>alert(1)") {
		t.Errorf("hostile payload: %d, unescaped: %v", rec.Code, strings.Contains(rec.Body.String(), "<script>alert(1)"))
	}
	if rec := postOpen(f, map[string]string{"envelope": "abc234", "payload": "hello"}); rec.Code != 400 {
		t.Errorf("not armour: %d", rec.Code)
	}
	if rec := postOpen(f, map[string]string{"payload": armored}); rec.Code != 400 {
		t.Errorf("no envelope: %d", rec.Code)
	}
	req := httptest.NewRequest("POST", "/open", strings.NewReader("x"))
	req.Header.Set("Content-Type", "application/json")
	if rec := f.do(req, ""); rec.Code != 400 || !strings.Contains(rec.Body.String(), "not a form upload") {
		t.Errorf("json body: %d %s", rec.Code, rec.Body)
	}
}

func TestOpenTooLarge(t *testing.T) {
	f := newFixture(t, func(c *Config) { c.MaxOpenBody = 2_000_000 })
	rec := postOpen(f, map[string]string{"envelope": "abc234", "payload": armored + strings.Repeat("A", 2_000_000)})
	if rec.Code != 413 || !strings.Contains(rec.Body.String(), "larger than the key service accepts online (2 MB)") {
		t.Errorf("too large: %d %s", rec.Code, rec.Body)
	}
}

func TestPanicIsA500(t *testing.T) {
	f := newFixture(t)
	f.srv.openPage = func(http.ResponseWriter, *http.Request, openRequest) { panic("boom") }
	rec := postOpen(f, map[string]string{"envelope": "abc234", "payload": armored})
	if rec.Code != 500 || !strings.Contains(rec.Body.String(), "Please try again later") {
		t.Errorf("panic: %d %s", rec.Code, rec.Body)
	}
}

func TestPasswordHash(t *testing.T) {
	h, err := newHasher(testArgon2, 2)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	enc, err := h.Hash(ctx, "pässword one")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(enc, "$argon2id$v=19$m=64,t=1,p=1$") {
		t.Errorf("PHC string %q", enc)
	}
	if ok, _ := h.Verify(ctx, enc, "pässword one"); !ok {
		t.Error("right password refused")
	}
	if ok, _ := h.Verify(ctx, enc, "pässword two"); ok {
		t.Error("wrong password accepted")
	}
	for _, bad := range []string{"", "$argon2i$v=19$m=64,t=1,p=1$c2FsdHNhbHQ$aGFzaGhhc2hoYXNoaGFzaA", "$argon2id$v=19$m=99999999,t=1,p=1$c2FsdHNhbHQ$aGFzaGhhc2hoYXNoaGFzaA", "garbage"} {
		if ok, _ := h.Verify(ctx, bad, "pässword one"); ok {
			t.Errorf("malformed hash %q accepted", bad)
		}
	}
	// The dummy hash never matches, even its own random secret is unknown.
	if ok, _ := h.Verify(ctx, "", ""); ok {
		t.Error("empty hash accepted")
	}
	if h.NeedsRehash(enc) {
		t.Error("fresh hash needs rehash")
	}
	h2, _ := newHasher(Argon2{MemoryKiB: 128, Time: 1, Threads: 1}, 1)
	if !h2.NeedsRehash(enc) {
		t.Error("hash with older parameters does not need rehash")
	}
	if ok, _ := h2.Verify(ctx, enc, "pässword one"); !ok {
		t.Error("a hash keeps verifying after the parameters change")
	}
	// A cancelled wait for a hashing slot is an error, not a refusal.
	h3, _ := newHasher(testArgon2, 1)
	h3.sem <- struct{}{}
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	if _, err := h3.Verify(cctx, enc, "x"); err == nil {
		t.Error("no error when the slot wait was cancelled")
	}
}

// Raised cost parameters reach stored hashes at the next successful login.
func TestRehashOnLogin(t *testing.T) {
	f := newFixture(t)
	f.putEnvelope("env1", "ann@partner.example")
	f.putAccount("ann@partner.example", testPassword, true, false)
	g := newFixtureOn(t, f.st, f.clock, func(c *Config) { c.Argon2 = Argon2{MemoryKiB: 128, Time: 1, Threads: 1} })
	if rec := g.postKey("env1", "ann@partner.example", testPassword, ""); rec.Code != 200 {
		t.Fatal(rec.Code)
	}
	if h := f.account("ann@partner.example").PasswordHash; !strings.Contains(h, "m=128,") {
		t.Errorf("hash not upgraded: %s", h)
	}
}
