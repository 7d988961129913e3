package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/postseal/postseal/config"
	"github.com/postseal/postseal/mailer"
	"github.com/postseal/postseal/metrics"
	"github.com/postseal/postseal/store"
)

// wired is the key service listener's handler as `serve` builds it from a
// rules file, on a SQLite store of its own.
type wired struct {
	cfg *config.Config
	st  store.Store
	h   http.Handler
}

func newWired(t *testing.T, toml string) *wired {
	t.Helper()
	dir := t.TempDir()
	path := writeFile(t, dir, "postseal.toml", "[store]\ndsn = \"p.db\"\nmaster_key = \"master.key\"\n"+toml)
	cfg, err := config.Load(path)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	st, err := openStore(ctx, cfg, true)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	queue := mailer.NewQueue(st, &mailer.SMTP{Addr: "127.0.0.1:1"}, log) // never run: mail stays queued
	ks, h, err := keyService(cfg, st, outbox{queue, queue.Via(store.RouteReinject)}, metrics.New(), log, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(ks.Close)
	return &wired{cfg: cfg, st: st, h: h}
}

// do sends req from remote (ip:port), through a proxy naming xff if set.
func (w *wired) do(req *http.Request, remote, xff string) *httptest.ResponseRecorder {
	req.RemoteAddr = remote
	if xff != "" {
		req.Header.Set("X-Forwarded-For", xff)
	}
	rec := httptest.NewRecorder()
	w.h.ServeHTTP(rec, req)
	return rec
}

func (w *wired) postKey(id, email, remote, xff string) *httptest.ResponseRecorder {
	b, _ := json.Marshal(map[string]string{"email": email, "password": "not the password"})
	req := httptest.NewRequest("POST", "/api/v1/envelopes/"+id+"/key", bytes.NewReader(b))
	req.Header.Set("Content-Type", "application/json")
	return w.do(req, remote, xff)
}

// failures records n failed logins from ip, each for another address (so
// only the per-IP count can reach its limit).
func (w *wired) failures(t *testing.T, ip string, n int) {
	t.Helper()
	for i := range n {
		e := store.Event{Time: time.Now(), Kind: store.EventLoginFailed, Email: fmt.Sprintf("guess%d@ext.example", i), RemoteIP: ip, Detail: "no_account"}
		if err := w.st.AddEvent(context.Background(), e); err != nil {
			t.Fatal(err)
		}
	}
}

// One IP address may fail ten times the login rate (here 2/1h: 20) before
// it is throttled; the client is the one the trusted proxy names.
func TestServePerIPLimitThroughTrustedProxy(t *testing.T) {
	w := newWired(t, "[keyserver]\nlogin_rate = \"2/1h\"\ntrusted_proxies = [\"127.0.0.1/32\"]\n")
	now := time.Now()
	if err := w.st.PutEnvelope(context.Background(), store.Envelope{ID: "env1", Sender: "doc@example.org", Recipients: []string{"pat@ext.example"}, Kind: "keyservice", Created: now, Expires: now.Add(time.Hour)}, bytes.Repeat([]byte{7}, 32)); err != nil {
		t.Fatal(err)
	}
	const guesser, other = "203.0.113.7", "203.0.113.8"
	w.failures(t, guesser, 19)
	if rec := w.postKey("env1", "new1@ext.example", "127.0.0.1:40000", guesser); rec.Code != http.StatusUnauthorized {
		t.Fatalf("19 failures from %s (limit 20): %d %s; want 401, not yet throttled", guesser, rec.Code, rec.Body)
	}
	// That attempt was the 20th failure: the next one is throttled.
	if rec := w.postKey("env1", "new2@ext.example", "127.0.0.1:40000", guesser); rec.Code != http.StatusTooManyRequests {
		t.Fatalf("20 failures from %s: %d %s; want 429", guesser, rec.Code, rec.Body)
	}
	// Another client behind the same proxy is not held by the guesser's count.
	if rec := w.postKey("env1", "new3@ext.example", "127.0.0.1:40000", other); rec.Code != http.StatusUnauthorized {
		t.Errorf("another client behind the proxy: %d %s; want 401", rec.Code, rec.Body)
	}
	// Without a proxy in between, the guesser is throttled by its own address.
	if rec := w.postKey("env1", "new4@ext.example", guesser+":40000", ""); rec.Code != http.StatusTooManyRequests {
		t.Errorf("the guesser directly: %d; want 429", rec.Code)
	}
}

// The operator's endpoints answer the operator's networks, as named by the
// trusted proxy; /healthz says which part is down, with a 503.
func TestServeHealthzAndOperatorOnly(t *testing.T) {
	w := newWired(t, "[keyserver]\ntrusted_proxies = [\"127.0.0.1/32\"]\n")
	get := func(path, remote, xff string) *httptest.ResponseRecorder {
		return w.do(httptest.NewRequest("GET", path, nil), remote, xff)
	}
	health := func() (int, map[string]string) {
		rec := get("/healthz", "127.0.0.1:40000", "")
		var status map[string]string
		if err := json.Unmarshal(rec.Body.Bytes(), &status); err != nil {
			t.Fatalf("/healthz answered %d %q: %v", rec.Code, rec.Body, err)
		}
		return rec.Code, status
	}
	for _, path := range []string{"/healthz", "/metrics"} {
		if rec := get(path, "127.0.0.1:40000", "203.0.113.7"); rec.Code != http.StatusForbidden {
			t.Errorf("%s for an internet client behind the proxy: %d; want 403", path, rec.Code)
		}
		if rec := get(path, "198.51.100.1:40000", "10.0.0.5"); rec.Code != http.StatusForbidden {
			t.Errorf("%s from an untrusted peer claiming a private address: %d; want 403", path, rec.Code)
		}
		if rec := get(path, "127.0.0.1:40000", "10.0.0.5"); rec.Code != http.StatusOK {
			t.Errorf("%s for the operator's network behind the proxy: %d; want 200", path, rec.Code)
		}
	}
	if code, status := health(); code != http.StatusOK || status["status"] != "ok" || status["store"] != "ok" || status["master_key"] != "ok" {
		t.Fatalf("healthy: %d %v", code, status)
	}
	if err := os.Remove(filepath.Join(filepath.Dir(w.cfg.Source), "master.key")); err != nil {
		t.Fatal(err)
	}
	if code, status := health(); code != http.StatusServiceUnavailable || status["status"] != "unavailable" || status["master_key"] == "ok" || status["store"] != "ok" {
		t.Errorf("master key file gone: %d %v; want 503 naming the master key", code, status)
	}
	w.st.Close() // the database is down
	if code, status := health(); code != http.StatusServiceUnavailable || status["store"] == "ok" {
		t.Errorf("store closed: %d %v; want 503 naming the store", code, status)
	}
}

// The help page explains the notification's phone link for as long as
// [envelope] online_copy_hours keeps the copies, and not when it is 0.
func TestServeHelpPhoneHours(t *testing.T) {
	for toml, want := range map[string]string{"": "works for 8 hours", "[envelope]\nonline_copy_hours = 3\n": "works for 3 hours", "[envelope]\nonline_copy_hours = 0\n": ""} {
		w := newWired(t, toml)
		body := w.do(httptest.NewRequest("GET", "/help", nil), "192.0.2.1:40000", "").Body.String()
		if got := strings.Contains(body, "Open on your phone"); got != (want != "") || !strings.Contains(body, want) {
			t.Errorf("%q: help page mentions the phone link: %v; want %q", toml, got, want)
		}
	}
}
