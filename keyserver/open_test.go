package keyserver

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

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

// openCapture is a fixture with envelope abc234 whose Open Online page
// also hands the request it shows to the returned pointer.
func openCapture(t *testing.T) (*fixture, *openRequest) {
	f := newFixture(t)
	f.putEnvelope("abc234", "pat@ext.example")
	got := &openRequest{}
	f.srv.openPage = func(w http.ResponseWriter, r *http.Request, p openRequest) {
		*got = p
		f.srv.renderOpen(w, r, p)
	}
	return f, got
}

func TestOpenOnline(t *testing.T) {
	f, got := openCapture(t)
	rec := postOpen(f, map[string]string{"envelope": "abc234", "payload": armored, "meta": `{"subject":"Hi"}`})
	if rec.Code != 200 {
		t.Fatalf("open: %d %s", rec.Code, rec.Body)
	}
	// The claimed subject gives way to the store's record (see
	// TestOpenOnlineTrustsTheStore).
	if got.Envelope != "abc234" || got.Stream == nil || !strings.Contains(got.Meta, `"from":"doctor@example.org"`) || strings.Contains(got.Meta, "Hi") {
		t.Errorf("fields %+v", *got)
	}
	page := rec.Body.String()
	if !strings.Contains(page, armored) || !strings.Contains(page, "abc234") {
		t.Error("the page lacks the payload or the envelope id")
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
	f.putEnvelope("abc234", "pat@ext.example")
	rec := postOpen(f, map[string]string{"envelope": "abc234", "payload": armored + strings.Repeat("A", 2_000_000)})
	if rec.Code != 413 || !strings.Contains(rec.Body.String(), "larger than the key service accepts online (2 MB)") {
		t.Errorf("too large: %d %s", rec.Code, rec.Body)
	}
}

func TestPanicIsA500(t *testing.T) {
	f := newFixture(t)
	f.putEnvelope("abc234", "pat@ext.example")
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
	var log bytes.Buffer
	g.srv.log = slog.New(slog.NewTextHandler(&log, nil))
	if rec := g.postKey("env1", "ann@partner.example", testPassword, ""); rec.Code != 200 {
		t.Fatal(rec.Code)
	}
	if h := f.account("ann@partner.example").PasswordHash; !strings.Contains(h, "m=128,") {
		t.Errorf("hash not upgraded: %s", h)
	}
	// Stored: nothing logged (only a failure to store it is).
	if strings.Contains(log.String(), "rehash") {
		t.Errorf("an upgrade that was stored logged %q", log.String())
	}
}

// Finding 2: Open Online serves a bounded number of posts at once; the
// next is told to come back (503, Retry-After) instead of adding to the
// process's memory.
func TestOpenConcurrencyBound(t *testing.T) {
	f := newFixture(t, func(c *Config) { c.OpenConcurrency = 2 })
	f.putEnvelope("abc234", "pat@ext.example")
	entered, release := make(chan struct{}), make(chan struct{})
	f.srv.openPage = func(w http.ResponseWriter, r *http.Request, p openRequest) {
		entered <- struct{}{}
		<-release
		f.srv.renderOpen(w, r, p)
	}
	done := make(chan int, 2)
	for range 2 {
		go func() { done <- postOpen(f, map[string]string{"envelope": "abc234", "payload": armored}).Code }()
		<-entered
	}
	f.srv.openPage = f.srv.renderOpen
	rec := postOpen(f, map[string]string{"envelope": "abc234", "payload": armored})
	if rec.Code != 503 || rec.Header().Get("Retry-After") != "10" {
		t.Errorf("third simultaneous post: %d, Retry-After %q; want 503 with Retry-After 10", rec.Code, rec.Header().Get("Retry-After"))
	}
	if f.metrics.refusals(refusedOpen) != 1 {
		t.Errorf("open_busy refusals: %d", f.metrics.refusals(refusedOpen))
	}
	close(release)
	for range 2 {
		if code := <-done; code != 200 {
			t.Errorf("held post: %d", code)
		}
	}
	if rec := postOpen(f, map[string]string{"envelope": "abc234", "payload": armored}); rec.Code != 200 {
		t.Errorf("after the others finished: %d", rec.Code)
	}
}

// Finding 2: the payload is streamed into the page: the page begins (with
// the payload's first bytes) while the post is still being sent, instead
// of the whole post being read into memory first.
func TestOpenStreams(t *testing.T) {
	f := newFixture(t)
	f.putEnvelope("abc234", "pat@ext.example")
	srv := httptest.NewServer(f.srv)
	defer srv.Close()
	pr, pw := io.Pipe()
	mw := multipart.NewWriter(pw)
	release := make(chan struct{})
	line := strings.Repeat("Q", 76) + "\n"
	go func() {
		_ = mw.WriteField("envelope", "abc234")
		_ = mw.WriteField("meta", `{"subject":"Hi"}`)
		part, _ := mw.CreateFormField("payload")
		_, _ = io.WriteString(part, "-----BEGIN PGP MESSAGE-----\n\n"+strings.Repeat(line, 4000))
		<-release
		_, _ = io.WriteString(part, strings.Repeat(line, 4000)+"-----END PGP MESSAGE-----\n")
		_ = mw.Close()
		_ = pw.Close()
	}()
	req, _ := http.NewRequest("POST", srv.URL+"/open", pr)
	req.Header.Set("Content-Type", mw.FormDataContentType())
	req.Header.Set("Origin", "null")
	got := make(chan *http.Response, 1)
	go func() {
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Error(err)
			close(got)
			return
		}
		got <- resp
	}()
	var resp *http.Response
	select {
	case resp = <-got:
	case <-time.After(20 * time.Second): // the post is waiting on this answer: it never comes if the body is buffered
		close(release)
		t.Fatal("no answer while the post was still being sent: the payload is read whole before the page")
	}
	if resp == nil {
		close(release)
		return
	}
	defer resp.Body.Close()
	// Read until the payload's first lines show, still before the rest is sent.
	buf := make([]byte, 0, 1<<20)
	chunk := make([]byte, 32<<10)
	for !bytes.Contains(buf, []byte("BEGIN PGP MESSAGE-----\n\n"+line+line)) {
		n, err := resp.Body.Read(chunk)
		buf = append(buf, chunk[:n]...)
		if err != nil {
			close(release)
			t.Fatalf("page ended before the payload: %v", err)
		}
	}
	close(release)
	rest, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	page := string(buf) + string(rest)
	if resp.StatusCode != 200 || strings.Count(page, line) != 8000 || !strings.Contains(page, "-----END PGP MESSAGE-----\n</textarea>") {
		t.Errorf("streamed page: %d, %d payload lines; ends %q", resp.StatusCode, strings.Count(page, line), page[max(0, strings.Index(page, "-----END")-200):min(len(page), strings.Index(page, "-----END")+100)])
	}
}

// metaOfSize is Open Online meta JSON of exactly n octets, dated
// 2026-12-01 (a field the store's record leaves as posted).
func metaOfSize(n int) string {
	head := `{"date":"2026-12-01","cc":["`
	return head + strings.Repeat("c", n-len(head)-len(`"]}`)) + `"]}`
}

// The fields' edges: a meta of exactly maxMetaBytes is kept (form upload
// and urlencoded), a field the page does not know is skipped before the
// payload, a body of exactly MaxOpenBody is taken, and a busy answer asks
// to come back in openRetry.
func TestOpenOnlineFieldEdges(t *testing.T) {
	f, got := openCapture(t)
	var b bytes.Buffer
	mw := multipart.NewWriter(&b)
	for _, kv := range [][2]string{{"envelope", "abc234"}, {"extra", "skipped"}, {"meta", metaOfSize(maxMetaBytes)}, {"payload", armored}} {
		_ = mw.WriteField(kv[0], kv[1])
	}
	_ = mw.Close()
	req := httptest.NewRequest("POST", "/open", &b)
	req.Header.Set("Content-Type", mw.FormDataContentType())
	if rec := f.do(req, ""); rec.Code != 200 || !strings.Contains(got.Meta, `"date":"2026-12-01"`) {
		t.Errorf("form upload with a meta of exactly %d octets and an unknown field: %d, meta kept %v", maxMetaBytes, rec.Code, strings.Contains(got.Meta, "2026-12-01"))
	}
	urlencoded := func(meta string) *http.Request {
		body := url.Values{"envelope": {"abc234"}, "payload": {armored}, "meta": {meta}}.Encode()
		req := httptest.NewRequest("POST", "/open", strings.NewReader(body))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		return req
	}
	for n, kept := range map[int]bool{maxMetaBytes: true, maxMetaBytes + 1: false} {
		*got = openRequest{}
		rec := f.do(urlencoded(metaOfSize(n)), "")
		has := strings.Contains(got.Meta, `"date":"2026-12-01"`)
		if rec.Code != 200 || has != kept || !strings.Contains(rec.Body.String(), "wy4ECQMI") {
			t.Errorf("urlencoded with a meta of %d octets: %d, meta kept %v; want 200, kept %v", n, rec.Code, has, kept)
		}
	}
	req = urlencoded(`{"date":"2026-12-01"}`)
	f.srv.cfg.MaxOpenBody = req.ContentLength
	if rec := f.do(req, ""); rec.Code != 200 {
		t.Errorf("a body of exactly MaxOpenBody: %d", rec.Code)
	}
}

// A post cut short after its page has begun aborts the connection: the
// browser must not show a page that looks whole.
func TestOpenAbortsCutShortPost(t *testing.T) {
	f := newFixture(t, func(c *Config) { c.MaxOpenBody = 200_000 })
	f.putEnvelope("abc234", "pat@ext.example")
	logs := f.recordLog()
	srv := httptest.NewServer(f.srv)
	defer srv.Close()
	var b bytes.Buffer
	mw := multipart.NewWriter(&b)
	_ = mw.WriteField("envelope", "abc234")
	part, _ := mw.CreateFormField("payload")
	_, _ = io.WriteString(part, "-----BEGIN PGP MESSAGE-----\n\n"+strings.Repeat(strings.Repeat("Q", 76)+"\n", 4000))
	_ = mw.Close()
	// No Content-Length: the limit is found while the page is written.
	req, _ := http.NewRequest("POST", srv.URL+"/open", io.MultiReader(&b))
	req.Header.Set("Content-Type", mw.FormDataContentType())
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	page, err := io.ReadAll(resp.Body)
	if resp.StatusCode != 200 || err == nil {
		t.Errorf("a post over the limit found while streaming: %d, %d octets read, %v; want the page begun and then cut off", resp.StatusCode, len(page), err)
	}
	if lines := loggedLines(logs, "no full duplex"); len(lines) != 0 {
		t.Errorf("a real HTTP/1.1 server refused full duplex: %q", lines)
	}
	if lines := loggedLines(logs, "open page cut short"); len(lines) != 1 {
		t.Errorf("cut short logged %d times; want once", len(lines))
	}
}
