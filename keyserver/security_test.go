package keyserver

import (
	"bytes"
	"context"
	"fmt"
	"mime"
	"net/http"
	"net/http/httptest"
	"net/mail"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/postseal/postseal/envelope"
	"github.com/postseal/postseal/store"
)

// Findings of the security review of the key service, one test each.

// TestRegisterRefusesAddressLikeNames: a name that could pose as an
// address in "Name via Org" is refused before anything is stored or sent.
func TestRegisterRefusesAddressLikeNames(t *testing.T) {
	f := newFixture(t)
	for i, name := range []string{"IT Service Desk <servicedesk@example.org>", "a@b", `"Quoted"`, "x>y"} {
		rec := f.postFormFrom("/register", registrationAs("new@ext.example", name, testPassword), fmt.Sprintf("198.51.%d.9", 100+i))
		if rec.Code != http.StatusBadRequest || !strings.Contains(rec.Body.String(), "name: only letters") {
			t.Errorf("register as %q: %d", name, rec.Code)
		}
	}
	f.srv.bg.Wait()
	if n := len(f.mail.sent()); n != 0 {
		t.Errorf("refused registrations sent %d mails", n)
	}
}

// TestReplyStoredAddressLikeName: an account registered before names were
// checked does not lend its name to From; the address stands in for it.
// Look-alikes of '<', '@' and '>' count as what they imitate.
func TestReplyStoredAddressLikeName(t *testing.T) {
	for _, last := range []string{"<servicedesk@example.org>", "‹servicedesk＠example.org›"} {
		f := newReplyFixture(t, nil)
		acct := f.account(replyReader)
		acct.FirstName, acct.LastName = "IT Service Desk", last
		if err := f.st.UpdateAccount(t.Context(), acct); err != nil {
			t.Fatal(err)
		}
		a := f.token("lab")
		if rec := f.reply("lab", replyPost{token: a.ReplyToken, kind: "forward", text: "FYI", to: []string{"kim@third.example", "colleague@example.org"}}); rec.Code != http.StatusOK {
			t.Fatalf("forward: %d %s", rec.Code, rec.Body)
		}
		for _, to := range []string{"kim@third.example", "colleague@example.org"} {
			got := f.mailTo(to)
			if len(got) != 1 {
				t.Fatalf("mail to %s: %d", to, len(got))
			}
			m, err := mail.ReadMessage(bytes.NewReader(got[0].Data))
			if err != nil {
				t.Fatal(err)
			}
			from, err := new(mime.WordDecoder).DecodeHeader(m.Header.Get("From"))
			if err != nil || strings.Contains(from, "servicedesk") || strings.Contains(from, "Service Desk") || !strings.Contains(from, replyReader) {
				t.Errorf("name %q, From to %s: %q (%v)", last, to, from, err)
			}
		}
	}
}

// TestReplyPerClientCap: many accounts behind one client address share a
// quota on top of each account's own.
func TestReplyPerClientCap(t *testing.T) {
	f := newReplyFixture(t, nil, func(c *Config) { c.RepliesPerHour = 2; c.RepliesPerClient = 3 })
	f.putAccount(replyOther, testPassword, true, false)
	a := f.token("lab")
	rec := f.postKey("lab", replyOther, testPassword, "")
	if rec.Code != http.StatusOK {
		t.Fatalf("key release to %s: %d", replyOther, rec.Code)
	}
	b := decodeAnswer(t, rec)
	for i, tok := range []string{a.ReplyToken, a.ReplyToken, b.ReplyToken} {
		if rec := f.reply("lab", replyPost{token: tok, kind: "reply", text: "x"}); rec.Code != http.StatusOK {
			t.Fatalf("reply %d: %d %s", i+1, rec.Code, rec.Body)
		}
	}
	rec = f.reply("lab", replyPost{token: b.ReplyToken, kind: "reply", text: "x"})
	if rec.Code != http.StatusTooManyRequests {
		t.Errorf("fourth reply from one client (second of its account): %d %s", rec.Code, rec.Body)
	}
}

// TestReplyQuotaConcurrent: sends racing for the last slots of the hourly
// quota cannot overshoot it (the slot is reserved before delivery), and a
// send finishing while another checks the quota is not counted twice (its
// event and its reservation): with the default two requests in progress
// per client, CI once saw one reply accepted and the next refused 429.
func TestReplyQuotaConcurrent(t *testing.T) {
	for _, inFlight := range []int{0, 16} {
		t.Run(fmt.Sprint("in-flight-", inFlight), func(t *testing.T) {
			f := newReplyFixture(t, nil, func(c *Config) { c.RepliesPerHour = 2; c.ReplyConcurrency = 16; c.ClientInFlight = inFlight })
			a := f.token("lab")
			var wg sync.WaitGroup
			codes := make([]int, replyTokenUses)
			for i := range codes {
				wg.Add(1)
				go func() {
					defer wg.Done()
					codes[i] = f.reply("lab", replyPost{token: a.ReplyToken, kind: "reply", text: fmt.Sprint("x", i)}).Code
				}()
			}
			wg.Wait()
			ok := 0
			for _, c := range codes {
				if c == http.StatusOK {
					ok++
				}
			}
			if ok != 2 || len(f.mail.sent()) != 2 {
				t.Errorf("%d concurrent replies, quota 2: %d accepted (%v), %d mails", len(codes), ok, codes, len(f.mail.sent()))
			}
			if n := len(f.events(store.EventReplySent)); n != 2 {
				t.Errorf("reply events: %d", n)
			}
		})
	}
}

// TestReplyQuotaNoDoubleCount: a reservation's event is written and the
// reservation dropped as one step; a quota check waiting meanwhile sees the
// send once. The recording is held open until the second check has been
// started, so the old order (event, then release) refused it.
func TestReplyQuotaNoDoubleCount(t *testing.T) {
	st := &countingStore{}
	var q replyQuota
	now := time.Now()
	r1, refused, err := q.reserve(context.Background(), st, "a@x", "192.0.2.1", 2, 10, now)
	if err != nil || refused {
		t.Fatalf("first reservation: refused=%v err=%v", refused, err)
	}
	recorded, proceed := make(chan struct{}), make(chan struct{})
	go r1.Done(func() { st.add(); close(recorded); <-proceed })
	<-recorded
	second := make(chan bool)
	go func() {
		_, refused, err := q.reserve(context.Background(), st, "a@x", "192.0.2.1", 2, 10, now)
		if err != nil {
			t.Error(err)
		}
		second <- refused
	}()
	close(proceed)
	if <-second {
		t.Error("second send refused: the first was counted as event and as pending reservation")
	}
	if _, refused, _ := q.reserve(context.Background(), st, "a@x", "192.0.2.1", 2, 10, now); !refused {
		t.Error("third send within a quota of 2 was not refused")
	}
}

// countingStore answers CountEvents from a counter; no other method is
// called by replyQuota.
type countingStore struct {
	Store
	mu sync.Mutex
	n  int
}

func (c *countingStore) add() { c.mu.Lock(); c.n++; c.mu.Unlock() }

func (c *countingStore) CountEvents(context.Context, store.EventFilter) (int, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.n, nil
}

// TestReplySubjectCap: a subject is a line, not a megabyte.
func TestReplySubjectCap(t *testing.T) {
	f := newReplyFixture(t, nil)
	a := f.token("lab")
	rec := f.reply("lab", replyPost{token: a.ReplyToken, kind: "reply", text: "x", subject: strings.Repeat("s", 4001)})
	if rec.Code != http.StatusBadRequest || !strings.Contains(decodeAnswer(t, rec).Message, "subject is too long") {
		t.Errorf("4001-character subject: %d %s", rec.Code, rec.Body)
	}
	if len(f.mail.sent()) != 0 {
		t.Error("a refused reply was sent")
	}
	if rec := f.reply("lab", replyPost{token: a.ReplyToken, kind: "reply", text: "x", subject: strings.Repeat("s", 4000)}); rec.Code != http.StatusOK {
		t.Errorf("4000-character subject: %d %s", rec.Code, rec.Body)
	}
}

// TestReplyInternalCopyMarked: the clear copy of a reply or forward to an
// internal address carries X-Postseal-Reply naming the outside sender, so
// internal filters can treat it as external mail.
func TestReplyInternalCopyMarked(t *testing.T) {
	f := newReplyFixture(t, nil)
	a := f.token("lab")
	if rec := f.reply("lab", replyPost{token: a.ReplyToken, kind: "forward", text: "FYI", to: []string{"colleague@example.org"}}); rec.Code != http.StatusOK {
		t.Fatalf("forward: %d %s", rec.Code, rec.Body)
	}
	got := f.mailTo("colleague@example.org")
	if len(got) != 1 {
		t.Fatalf("mail to the colleague: %d", len(got))
	}
	m, err := mail.ReadMessage(bytes.NewReader(got[0].Data))
	if err != nil {
		t.Fatal(err)
	}
	if h := m.Header.Get(ReplyMarkHeader); h != "external sender <"+replyReader+">" {
		t.Errorf("%s: %q", ReplyMarkHeader, h)
	}
}

// TestOpenOnlineTrustsTheStore: Open Online shows only envelopes the key
// service sealed, in the mode the store records, under the sender and
// subject the store records — never what the posted meta claims.
func TestOpenOnlineTrustsTheStore(t *testing.T) {
	f := newFixture(t)
	var got openRequest
	f.srv.openPage = func(w http.ResponseWriter, r *http.Request, p openRequest) {
		got = p
		f.srv.renderOpen(w, r, p)
	}
	// An outsider's payload under an id the service never issued.
	forged := `{"shared_password":true,"from":"IT <it@example.org>","subject":"Reset your password"}`
	rec := postOpen(f, map[string]string{"envelope": "zzzz2345", "payload": armored, "meta": forged})
	if rec.Code != http.StatusNotFound || strings.Contains(rec.Body.String(), armored) {
		t.Errorf("unknown envelope: %d, payload shown %v", rec.Code, strings.Contains(rec.Body.String(), armored))
	}
	// A co-recipient's genuine payload with a claimed From and Subject.
	f.putEnvelope("abc234", "pat@ext.example", "sam@ext.example")
	ctx := t.Context()
	env, err := f.st.Envelope(ctx, "abc234")
	if err != nil {
		t.Fatal(err)
	}
	rec = postOpen(f, map[string]string{"envelope": "abc234", "payload": armored, "meta": forged})
	if rec.Code != http.StatusOK {
		t.Fatalf("known envelope: %d %s", rec.Code, rec.Body)
	}
	meta := envelope.ParsePageMeta(got.Meta)
	if meta.SharedPassword || !strings.Contains(meta.From, env.Sender) || meta.Subject == "Reset your password" {
		t.Errorf("meta shown for a key-service envelope: %+v", meta)
	}
	if strings.Contains(rec.Body.String(), "Reset your password") || strings.Contains(rec.Body.String(), "it@example.org") {
		t.Error("the page shows the claimed From or Subject")
	}
}

// TestReplyTokenDiesWithPasswordChange: whoever took a reply token before
// the owner set a new password (a reset after a stolen password) can no
// longer send with it.
func TestReplyTokenDiesWithPasswordChange(t *testing.T) {
	f := newReplyFixture(t, nil)
	a := f.token("lab")
	if _, err := f.srv.setPassword(t.Context(), replyReader, "a brand new passphrase", "reset", "192.0.2.1"); err != nil {
		t.Fatal(err)
	}
	if rec := f.reply("lab", replyPost{token: a.ReplyToken, kind: "reply", text: "x"}); rec.Code != http.StatusUnauthorized {
		t.Errorf("reply with a token from before the reset: %d %s", rec.Code, rec.Body)
	}
}

// TestLanguageLinksStayOnSite: the language picker on any page, the 404
// of an encoded "//host" path included, links within the service.
func TestLanguageLinksStayOnSite(t *testing.T) {
	f := newFixture(t)
	for _, path := range []string{"/%2F%2Fevil.com", "/%2F%5Cevil.com", "/%5C%5Cevil.com"} {
		body := f.get(path).Body.String()
		for _, m := range regexp.MustCompile(`href="([^"]*lang=[^"]*)"`).FindAllStringSubmatch(body, -1) {
			if h := m[1]; strings.HasPrefix(h, "//") || strings.Contains(h, `\`) || strings.Contains(h, "://") {
				t.Errorf("GET %s: language link %q leaves the site", path, h)
			}
		}
		if !strings.Contains(body, "lang=") {
			t.Errorf("GET %s: no language links", path)
		}
	}
}

// TestLoginRefusesImplausibleAddress: an address with control characters
// or over 254 octets is refused before anything is stored.
func TestLoginRefusesImplausibleAddress(t *testing.T) {
	f := newFixture(t)
	for _, email := range []string{"x@ext.example\n99\tforged", "x\x1b[2J@ext.example", strings.Repeat("a", 250) + "@ext.example"} {
		rec := f.postForm("/login", url.Values{"email": {email}, "password": {"whatever it is"}})
		if rec.Code != http.StatusBadRequest {
			t.Errorf("login as %q: %d", email, rec.Code)
		}
	}
	if evs := f.events(store.EventLoginFailed); len(evs) != 0 {
		t.Errorf("refused logins stored %d events: %q", len(evs), evs[0].Email)
	}
}

// TestStrangerCannotUseUpOwnersMail: requests for the owner's address
// from other networks (three /24s, each up to its own quota) leave the
// owner's own reset request from their network answered with a mail.
func TestStrangerCannotUseUpOwnersMail(t *testing.T) {
	f := newFixture(t)
	const owner = "ann@partner.example"
	f.putAccount(owner, testPassword, true, false)
	for _, net := range []string{"198.51.100", "198.51.101", "198.51.102"} {
		for i := range 3 {
			f.postFormFrom("/forgot", url.Values{"email": {owner}}, fmt.Sprintf("%s.%d", net, 10+i))
		}
	}
	f.srv.bg.Wait()
	before := len(f.mail.sent())
	rec := f.postFormFrom("/forgot", url.Values{"email": {owner}}, "203.0.113.5")
	if rec.Code != http.StatusOK {
		t.Fatalf("the owner's own request: %d", rec.Code)
	}
	f.srv.bg.Wait()
	if got := len(f.mail.sent()); got != before+1 {
		t.Errorf("the owner's request sent %d mails; want 1", got-before)
	}
}

// TestOpenPerClientBound: one client holding posts open (slow uploads)
// takes at most perClientInFlight of the Open Online slots; others still
// get theirs.
func TestOpenPerClientBound(t *testing.T) {
	f := newFixture(t, func(c *Config) { c.OpenConcurrency = 4 })
	f.putEnvelope("abc234", "pat@ext.example")
	entered, release := make(chan struct{}), make(chan struct{})
	f.srv.openPage = func(w http.ResponseWriter, r *http.Request, p openRequest) {
		entered <- struct{}{}
		<-release
		f.srv.renderOpen(w, r, p)
	}
	post := func(ip string) int {
		ct, body := multipartBody(t, map[string]string{"envelope": "abc234", "payload": armored})
		req := httptest.NewRequest("POST", "/open", body)
		req.Header.Set("Content-Type", ct)
		req.Header.Set("Origin", "null")
		req.Header.Set("Sec-Fetch-Site", "cross-site")
		return f.do(req, ip).Code
	}
	done := make(chan int, perClientInFlight)
	for range perClientInFlight {
		go func() { done <- post("198.51.100.7") }()
		<-entered
	}
	f.srv.openPage = f.srv.renderOpen
	if code := post("198.51.100.7"); code != http.StatusServiceUnavailable {
		t.Errorf("a third post from the same client: %d", code)
	}
	if code := post("203.0.113.8"); code != http.StatusOK {
		t.Errorf("another client's post: %d", code)
	}
	close(release)
	for range perClientInFlight {
		if code := <-done; code != http.StatusOK {
			t.Errorf("held post: %d", code)
		}
	}
}
