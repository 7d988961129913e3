package keyserver

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"maps"
	"mime"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/emersion/go-message"
	"github.com/postseal/postseal/store"
)

// captureMailer records queued mail. It stands in for mailer.Queue on
// purpose: these tests check what the key service asks to send (and that
// it sends nothing in the enumeration cases); durable delivery is the
// queue's job and is tested in mailer/ and store/.
type captureMailer struct {
	mu   sync.Mutex
	msgs []sentMail
	fail error
}

type sentMail struct {
	From string
	To   []string
	Data []byte
	// Route is the queue's route: "" for Enqueue (the relay), else the
	// route of the via it went through.
	Route store.Route
}

func (m *captureMailer) Enqueue(ctx context.Context, from string, to []string, msg []byte) error {
	return m.enqueue("", from, to, msg)
}

func (m *captureMailer) enqueue(r store.Route, from string, to []string, msg []byte) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.fail != nil {
		return m.fail
	}
	m.msgs = append(m.msgs, sentMail{from, to, append([]byte(nil), msg...), r})
	return nil
}

// via records into m what is queued for route r (as mailer.Queue.Via).
func (m *captureMailer) via(r store.Route) Mailer { return routeCapture{m, r} }

type routeCapture struct {
	m *captureMailer
	r store.Route
}

func (c routeCapture) Enqueue(_ context.Context, from string, to []string, msg []byte) error {
	return c.m.enqueue(c.r, from, to, msg)
}

func (m *captureMailer) sent() []sentMail {
	m.mu.Lock()
	defer m.mu.Unlock()
	return append([]sentMail(nil), m.msgs...)
}

type countMetrics struct {
	released, failed atomic.Int64
	mu               sync.Mutex
	refused          map[string]int
}

func (c *countMetrics) KeyReleased() { c.released.Add(1) }
func (c *countMetrics) LoginFailed() { c.failed.Add(1) }
func (c *countMetrics) Refused(reason string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.refused == nil {
		c.refused = map[string]int{}
	}
	c.refused[reason]++
}
func (c *countMetrics) refusals(reason string) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.refused[reason]
}

// clock is a settable time source; it starts at the real time because the
// store also uses the wall clock to sweep expired tokens.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

type fixture struct {
	t       *testing.T
	st      store.Store
	srv     *Server
	mail    *captureMailer
	metrics *countMetrics
	clock   *clock
}

// testArgon2 is cheap on purpose (64 KiB, one pass): the tests count
// verifications instead of timing them, and the real cost is the bench's.
var testArgon2 = Argon2{MemoryKiB: 64, Time: 1, Threads: 1}

const testPassword = "correct horse battery"

func openStore(t *testing.T) store.Store {
	t.Helper()
	dir := t.TempDir()
	key, err := store.LoadMasterKey(filepath.Join(dir, "master.key"), true)
	if err != nil {
		t.Fatal(err)
	}
	st, err := store.OpenSQLite(context.Background(), filepath.Join(dir, "postseal.db"), key)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return st
}

func newFixture(t *testing.T, opts ...func(*Config)) *fixture {
	t.Helper()
	return newFixtureOn(t, openStore(t), &clock{t: time.Now().UTC().Truncate(time.Millisecond)}, opts...)
}

func newFixtureOn(t *testing.T, st store.Store, c *clock, opts ...func(*Config)) *fixture {
	t.Helper()
	f := &fixture{t: t, st: st, mail: &captureMailer{}, metrics: &countMetrics{}, clock: c}
	cfg := Config{
		PublicURL: "http://keys.example.org:8025", Organization: "Example Health",
		HelpURL: "http://help.example.org/", Support: "Call 555-0100.",
		From: "postseal@example.org", PasswordMinLength: 12, Argon2: testArgon2,
	}
	for _, o := range opts {
		o(&cfg)
	}
	srv, err := New(cfg, Deps{Store: st, Mailer: f.mail, Metrics: f.metrics, Now: c.Now})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(srv.Close)
	f.srv = srv
	return f
}

func (f *fixture) putEnvelope(id string, recipients ...string) []byte {
	f.t.Helper()
	key := bytes.Repeat([]byte{byte(len(id))}, 32)
	copy(key, id)
	now := f.clock.Now()
	e := store.Envelope{ID: id, Sender: "doctor@example.org", Recipients: recipients, Kind: "keyservice", Created: now, Expires: now.Add(90 * 24 * time.Hour)}
	if err := f.st.PutEnvelope(context.Background(), e, key); err != nil {
		f.t.Fatal(err)
	}
	return key
}

func (f *fixture) putAccount(email, password string, active, disabled bool) {
	f.t.Helper()
	h, err := f.srv.hash.Hash(context.Background(), password)
	if err != nil {
		f.t.Fatal(err)
	}
	a := store.Account{Email: email, FirstName: "Ann", LastName: "Lee", PasswordHash: h, Active: active, Disabled: disabled, Created: f.clock.Now()}
	if err := f.st.CreateAccount(context.Background(), a); err != nil {
		f.t.Fatal(err)
	}
}

func (f *fixture) do(req *http.Request, ip string) *httptest.ResponseRecorder {
	if ip == "" {
		ip = "192.0.2.1"
	}
	req.RemoteAddr = ip + ":40000"
	rec := httptest.NewRecorder()
	f.srv.ServeHTTP(rec, req)
	return rec
}

func (f *fixture) postKey(id, email, password, ip string) *httptest.ResponseRecorder {
	b, _ := json.Marshal(map[string]string{"email": email, "password": password})
	req := httptest.NewRequest("POST", "/api/v1/envelopes/"+id+"/key", bytes.NewReader(b))
	req.Header.Set("Content-Type", "application/json")
	// What a securedoc opened from disk sends.
	req.Header.Set("Origin", "null")
	req.Header.Set("Sec-Fetch-Site", "cross-site")
	return f.do(req, ip)
}

// getAs is a GET from a browser that prefers lang, with cookies.
func (f *fixture) getAs(path, lang string, cookies ...*http.Cookie) *httptest.ResponseRecorder {
	req := httptest.NewRequest("GET", path, nil)
	req.Header.Set("Accept-Language", lang)
	for _, c := range cookies {
		req.AddCookie(c)
	}
	return f.do(req, "")
}

func (f *fixture) get(path string, cookies ...*http.Cookie) *httptest.ResponseRecorder {
	req := httptest.NewRequest("GET", path, nil)
	for _, c := range cookies {
		req.AddCookie(c)
	}
	return f.do(req, "")
}

// postForm posts a form as a browser does from one of the service's own
// pages (Sec-Fetch-Site: same-origin).
func (f *fixture) postForm(path string, v url.Values, cookies ...*http.Cookie) *httptest.ResponseRecorder {
	req := httptest.NewRequest("POST", path, strings.NewReader(v.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Sec-Fetch-Site", "same-origin")
	req.Header.Set("Origin", "http://keys.example.org:8025")
	for _, c := range cookies {
		req.AddCookie(c)
	}
	return f.do(req, "")
}

// activation is the form of the activation page.
func activation(password string) url.Values { return url.Values{"password": {password}} }

func decodeAnswer(t *testing.T, rec *httptest.ResponseRecorder) apiAnswer {
	t.Helper()
	var a apiAnswer
	if err := json.Unmarshal(rec.Body.Bytes(), &a); err != nil {
		t.Fatalf("answer is not JSON: %v: %q", err, rec.Body.String())
	}
	return a
}

func (f *fixture) events(kind string) []store.Event {
	f.t.Helper()
	ev, err := f.st.Events(context.Background(), store.EventFilter{Kind: kind})
	if err != nil {
		f.t.Fatal(err)
	}
	return ev
}

func (f *fixture) account(email string) store.Account {
	f.t.Helper()
	a, err := f.st.Account(context.Background(), email)
	if err != nil {
		f.t.Fatal(err)
	}
	return a
}

// mailText returns the decoded text/plain part of a queued mail.
func mailText(t *testing.T, data []byte) string {
	t.Helper()
	e, err := message.Read(bytes.NewReader(data))
	if err != nil {
		t.Fatal(err)
	}
	mr := e.MultipartReader()
	if mr == nil {
		t.Fatal("mail is not multipart")
	}
	for {
		p, err := mr.NextPart()
		if err != nil {
			t.Fatal("no text/plain part")
		}
		if mt, _, _ := p.Header.ContentType(); mt == "text/plain" {
			b, _ := io.ReadAll(p.Body)
			return string(b)
		}
	}
}

var linkRe = regexp.MustCompile(`http://keys\.example\.org:8025(/(?:activate|reset)/[A-Za-z0-9_-]{43})`)

// link finds the activation or reset path in the one mail sent to addr.
func (f *fixture) link(addr string) string {
	f.t.Helper()
	f.srv.Close() // background work done
	var found []string
	for _, m := range f.mail.sent() {
		if len(m.To) == 1 && m.To[0] == addr {
			if l := linkRe.FindStringSubmatch(mailText(f.t, m.Data)); l != nil {
				found = append(found, l[1])
			}
		}
	}
	if len(found) == 0 {
		f.t.Fatalf("no link mailed to %s", addr)
	}
	return found[len(found)-1]
}

func multipartBody(t *testing.T, fields map[string]string) (string, *bytes.Buffer) {
	t.Helper()
	var b bytes.Buffer
	mw := multipart.NewWriter(&b)
	// In the securedoc form's order (the payload last), then the rest.
	names := []string{"envelope", "meta", "payload"}
	for _, k := range slices.Sorted(maps.Keys(fields)) {
		if !slices.Contains(names, k) {
			names = append(names, k)
		}
	}
	for _, k := range names {
		v, ok := fields[k]
		if !ok {
			continue
		}
		if err := mw.WriteField(k, v); err != nil {
			t.Fatal(err)
		}
	}
	mw.Close()
	return mime.FormatMediaType("multipart/form-data", map[string]string{"boundary": mw.Boundary()}), &b
}

// by is who the tests' envelope changes are made by.
var by = store.Change{Actor: "admin (test)", Auth: "test"}
