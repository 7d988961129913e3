package keyserver

import (
	"bytes"
	"context"
	"log/slog"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/postseal/postseal/locale"
	"github.com/postseal/postseal/store"
)

// newServer is New with the tests' store, a capture mailer and cfg; it
// fails the test on an error.
func newServer(t *testing.T, cfg Config, deps Deps) *Server {
	t.Helper()
	if deps.Store == nil {
		deps.Store = openStore(t)
	}
	if deps.Mailer == nil {
		deps.Mailer = &captureMailer{}
	}
	s, err := New(cfg, deps)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Close)
	return s
}

// A setting left at zero takes the default Config documents; the derived
// ones (AddressFailures, IPFailures, RepliesPerClient, the forms' hash
// slots) follow the setting they derive from.
func TestNewDefaults(t *testing.T) {
	s := newServer(t, Config{PublicURL: "https://keys.example.org/", Argon2: testArgon2}, Deps{})
	c := s.cfg
	for _, tc := range []struct {
		name      string
		got, want any
	}{
		{"PublicURL", c.PublicURL, "https://keys.example.org"},
		{"HashConcurrency", c.HashConcurrency, runtime.NumCPU()},
		{"form hash slots", cap(s.formHash.sem), max(1, runtime.NumCPU()/2)},
		{"PasswordMinLength", c.PasswordMinLength, 12},
		{"AccountFailures", c.AccountFailures, 5},
		{"AddressFailures", c.AddressFailures, 100},
		{"IPFailures", c.IPFailures, 50},
		{"FailureWindow", c.FailureWindow, 15 * time.Minute},
		{"OpenConcurrency", c.OpenConcurrency, 4},
		{"open slots", cap(s.openSem), 4},
		// A floor of 3.2 KB/s per 64 KiB chunk (pagewrite.go), and the
		// listener's WriteTimeout (cmd/postseal serve).
		{"PageStall", c.PageStall, 20 * time.Second},
		{"PageWriteTime", c.PageWriteTime, 5 * time.Minute},
		{"MaxOpenBody", c.MaxOpenBody, int64(14_000_000 + 65536)},
		{"Language", c.Language, locale.Source},
		{"MaxReplySize", c.MaxReplySize, int64(10_000_000)},
		{"RepliesPerHour", c.RepliesPerHour, 30},
		{"RepliesPerClient", c.RepliesPerClient, 60},
		{"ClientInFlight", c.ClientInFlight, perClientInFlight},
		{"ReplyConcurrency", c.ReplyConcurrency, 4},
		{"reply slots", cap(s.replySem), 4},
		{"ReplyReadTimeout", c.ReplyReadTimeout, replyReadTimeout},
		{"Organization", c.Organization, "postseal"},
		{"Location", c.Location, time.UTC},
		{"SessionKey length", len(c.SessionKey), 32},
		{"Argon2", c.Argon2, testArgon2},
	} {
		if tc.got != tc.want {
			t.Errorf("%s = %v; want %v", tc.name, tc.got, tc.want)
		}
	}
	if c.Catalog == nil || !c.Catalog.Has("es") {
		t.Errorf("Catalog = %v; want the built-in one", c.Catalog)
	}
	if s.https != true {
		t.Error("an https public URL: s.https is false")
	}
	if bytes.Equal(c.SessionKey, make([]byte, 32)) {
		t.Error("the session key is all zeros; want a random one")
	}
	if s.metrics == nil || s.log == nil || s.now == nil || s.sealed != s.mail {
		t.Errorf("metrics %v, log %v, now set %v, sealed is the mailer %v; want the no-op metrics, a discarding log, time.Now and the mailer", s.metrics, s.log, s.now != nil, s.sealed == s.mail)
	}
	if d := time.Since(s.now()); d < 0 || d > time.Minute {
		t.Errorf("now() is %v from the wall clock; want time.Now", d)
	}
	// What New did with the zero Argon2 must be what an empty Argon2 means.
	z := newServer(t, Config{PublicURL: "http://keys.example.org"}, Deps{})
	if z.cfg.Argon2 != DefaultArgon2 || z.https {
		t.Errorf("zero Argon2 became %+v, https %v; want DefaultArgon2 and false for http", z.cfg.Argon2, z.https)
	}
}

// A setting given is kept: none of the defaults overrides a value the
// operator chose, even one (1) below the default.
func TestNewKeepsSettings(t *testing.T) {
	log := slog.New(slog.DiscardHandler)
	sealed := &captureMailer{}
	metrics := &countMetrics{}
	at := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	now := func() time.Time { return at }
	key := bytes.Repeat([]byte{7}, 32)
	berlin := time.FixedZone("CET", 3600)
	cfg := Config{
		PublicURL: "http://keys.example.org", Argon2: testArgon2, HashConcurrency: 4,
		PasswordMinLength: 1, AccountFailures: 1, AddressFailures: 1, IPFailures: 1,
		FailureWindow: time.Second, OpenConcurrency: 1, PageStall: time.Second, PageWriteTime: time.Second,
		MaxOpenBody: 1, Language: "es", MaxReplySize: 1, RepliesPerHour: 1, RepliesPerClient: 1,
		ClientInFlight: 1, ReplyConcurrency: 1, ReplyReadTimeout: time.Second,
		Organization: "Example", Location: berlin, SessionKey: key,
	}
	s := newServer(t, cfg, Deps{Sealed: sealed, Metrics: metrics, Log: log, Now: now})
	c := s.cfg
	for _, tc := range []struct {
		name      string
		got, want any
	}{
		{"HashConcurrency", c.HashConcurrency, 4},
		{"key release hash slots", cap(s.hash.sem), 4},
		{"form hash slots", cap(s.formHash.sem), 2},
		{"PasswordMinLength", c.PasswordMinLength, 1},
		{"AccountFailures", c.AccountFailures, 1},
		{"AddressFailures", c.AddressFailures, 1},
		{"IPFailures", c.IPFailures, 1},
		{"FailureWindow", c.FailureWindow, time.Second},
		{"OpenConcurrency", c.OpenConcurrency, 1},
		{"PageStall", c.PageStall, time.Second},
		{"PageWriteTime", c.PageWriteTime, time.Second},
		{"MaxOpenBody", c.MaxOpenBody, int64(1)},
		{"Language", c.Language, "es"},
		{"MaxReplySize", c.MaxReplySize, int64(1)},
		{"RepliesPerHour", c.RepliesPerHour, 1},
		{"RepliesPerClient", c.RepliesPerClient, 1},
		{"ClientInFlight", c.ClientInFlight, 1},
		{"ReplyConcurrency", c.ReplyConcurrency, 1},
		{"ReplyReadTimeout", c.ReplyReadTimeout, time.Second},
		{"Organization", c.Organization, "Example"},
		{"Location", c.Location, berlin},
		{"now", s.now(), at},
	} {
		if tc.got != tc.want {
			t.Errorf("%s = %v; want %v", tc.name, tc.got, tc.want)
		}
	}
	if !bytes.Equal(c.SessionKey, key) {
		t.Errorf("SessionKey = %x; want the one given", c.SessionKey)
	}
	if s.sealed != Mailer(sealed) || s.metrics != Metrics(metrics) || s.log != log {
		t.Error("Sealed, Metrics or Log given was replaced by a default")
	}
	// The forms get at least one hash slot, also when the key releases
	// have only one.
	one := newServer(t, Config{PublicURL: "http://keys.example.org", Argon2: testArgon2, HashConcurrency: 1}, Deps{})
	if cap(one.formHash.sem) != 1 {
		t.Errorf("HashConcurrency 1: %d form hash slots; want 1", cap(one.formHash.sem))
	}
	// The derived defaults follow the setting they derive from.
	d := newServer(t, Config{PublicURL: "http://keys.example.org", Argon2: testArgon2, AccountFailures: 3, RepliesPerHour: 7, Language: "xx"}, Deps{})
	if d.cfg.AddressFailures != 60 || d.cfg.IPFailures != 30 || d.cfg.RepliesPerClient != 14 || d.cfg.Language != locale.Source {
		t.Errorf("AccountFailures 3, RepliesPerHour 7, Language xx: AddressFailures %d, IPFailures %d, RepliesPerClient %d, Language %q; want 60, 30, 14, %q",
			d.cfg.AddressFailures, d.cfg.IPFailures, d.cfg.RepliesPerClient, d.cfg.Language, locale.Source)
	}
}

// New refuses what it cannot run with: no store, no mailer, a public URL
// that is not an absolute http(s) URL.
func TestNewRefuses(t *testing.T) {
	st, mail := openStore(t), &captureMailer{}
	if _, err := New(Config{PublicURL: "http://keys.example.org", Argon2: testArgon2}, Deps{Mailer: mail}); err == nil {
		t.Error("no store: New succeeded")
	}
	if _, err := New(Config{PublicURL: "http://keys.example.org", Argon2: testArgon2}, Deps{Store: st}); err == nil {
		t.Error("no mailer: New succeeded")
	}
	for _, u := range []string{"", "keys.example.org", "ftp://keys.example.org", "http://", "https:///path", "http://keys.example.org/%zz"} {
		if _, err := New(Config{PublicURL: u, Argon2: testArgon2}, Deps{Store: st, Mailer: mail}); err == nil {
			t.Errorf("public URL %q: New succeeded", u)
		}
	}
	for _, u := range []string{"http://keys.example.org", "https://keys.example.org/base/"} {
		s, err := New(Config{PublicURL: u, Argon2: testArgon2}, Deps{Store: st, Mailer: mail})
		if err != nil {
			t.Errorf("public URL %q: %v", u, err)
			continue
		}
		s.Close()
	}
}

// The shape check of an address: at most 254 octets, something before the
// last @, a dot after it, no control character anywhere (also first).
func TestPlausibleEmail(t *testing.T) {
	local := strings.Repeat("a", 254-len("@example.org"))
	for s, want := range map[string]bool{
		local + "@example.org":       true,
		local + "a@example.org":      false,
		"a@example.org":              true,
		"@example.org":               false,
		"a@example":                  false,
		"a@":                         false,
		"a@.":                        true,
		"\x01a@example.org":          false,
		"a@example.org\x7f":          false,
		"a b@example.org":            false,
		"<a@example.org>":            false,
		"x@y@example.org":            true,
		"a@example.org,b@example.or": false,
	} {
		if got := plausibleEmail(s); got != want {
			t.Errorf("plausibleEmail(%q) = %v; want %v", s, got, want)
		}
	}
}

// The audit trail says how a password was set: by a reset link, or in a
// session with the current password.
func TestEventAuthPasswordSet(t *testing.T) {
	if auth, outcome := eventAuth(store.EventPasswordSet, "reset"); auth != "reset link: ok" || outcome != "ok" {
		t.Errorf("reset: %q %q", auth, outcome)
	}
	if auth, outcome := eventAuth(store.EventPasswordSet, "change"); auth != "session and current password: ok" || outcome != "ok" {
		t.Errorf("change: %q %q", auth, outcome)
	}
}

// An event the store could not record is logged (the answer stands); one
// recorded is not.
func TestEventNotRecordedIsLogged(t *testing.T) {
	f := newFixture(t)
	var buf bytes.Buffer
	f.srv.log = slog.New(slog.NewTextHandler(&buf, nil))
	f.srv.event(context.Background(), store.EventRegistered, "ann@partner.example", "", "192.0.2.1", "")
	if buf.Len() != 0 || len(f.events(store.EventRegistered)) != 1 {
		t.Errorf("a recorded event: log %q, %d events; want no log and the event", buf.String(), len(f.events(store.EventRegistered)))
	}
	f.st.Close()
	f.srv.event(context.Background(), store.EventRegistered, "ann@partner.example", "", "192.0.2.1", "")
	if !strings.Contains(buf.String(), "recording event") {
		t.Errorf("an event the closed store refused: log %q; want the failure logged", buf.String())
	}
}

// A panic in background work is logged (and the process goes on); work
// that ends normally logs nothing.
func TestBackgroundPanicLogged(t *testing.T) {
	f := newFixture(t)
	var buf bytes.Buffer
	f.srv.log = slog.New(slog.NewTextHandler(&buf, nil))
	ran := false
	f.srv.background(func(context.Context) { ran = true })
	f.srv.Close()
	if !ran || buf.Len() != 0 {
		t.Errorf("work that ended normally: ran %v, log %q; want it run and nothing logged", ran, buf.String())
	}
	f.srv.background(func(context.Context) { panic("boom") })
	f.srv.Close()
	if !strings.Contains(buf.String(), "panic in background work") || !strings.Contains(buf.String(), "boom") {
		t.Errorf("work that panicked: log %q; want the panic logged", buf.String())
	}
}
