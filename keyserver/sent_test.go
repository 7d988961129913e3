package keyserver

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/postseal/postseal/store"
)

// The sender's side: an internal sender registers like a recipient (the
// activation mail proves the address), signs in, sees only their own
// envelopes with each recipient's state, and locks, unlocks, moves the
// expiry and expires them; each change is an audit event naming them, and
// the key API follows at once.
func TestSentPage(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	now := f.clock.Now()
	put := func(id, sender, subject string, created time.Time) {
		e := store.Envelope{ID: id, Sender: sender, Recipients: []string{"ann@partner.example", "bob@partner.example"}, Kind: "keyservice",
			Created: created, Expires: now.Add(30 * 24 * time.Hour), Subject: subject, ReadReceipts: true}
		if err := f.st.PutEnvelope(ctx, e, make([]byte, 32)); err != nil {
			t.Fatal(err)
		}
	}
	put("mine1", "Doc@Example.org", "Lab results [-Encrypted-]", now.Add(-2*time.Hour))
	put("mine2", "doc@example.org", "Consult <b>notes</b> [-Encrypted-]", now.Add(-time.Hour))
	put("theirs", "nurse@example.org", "Not yours [-Encrypted-]", now)
	f.putAccount("ann@partner.example", testPassword, true, false)
	if rec := f.postKey("mine1", "ann@partner.example", testPassword, ""); rec.Code != 200 {
		t.Fatal(rec.Body)
	}

	// Registration is open to senders (not a recipient of anything).
	if rec := f.postForm("/register", registration("doc@example.org")); rec.Code != 200 {
		t.Fatalf("register: %d", rec.Code)
	}
	link := f.link("doc@example.org")
	if rec := f.postForm(link, activation(testPassword)); rec.Code != 200 {
		t.Fatalf("activate: %d %s", rec.Code, rec.Body)
	}

	if rec := f.get("/sent"); rec.Code != 303 || !strings.HasSuffix(rec.Header().Get("Location"), "/login") {
		t.Errorf("/sent without a session: %d %q", rec.Code, rec.Header().Get("Location"))
	}
	rec := f.postForm("/login", url.Values{"email": {"Doc@example.org"}, "password": {testPassword}})
	if rec.Code != 303 || rec.Header().Get("Location") != "http://keys.example.org:8025/sent" {
		t.Fatalf("a sender's login goes to /sent: %d %q", rec.Code, rec.Header().Get("Location"))
	}
	c := sessionCookie(t, rec.Header())
	rec = f.get("/sent", c)
	body := rec.Body.String()
	if rec.Code != 200 || !strings.Contains(body, "Lab results [-Encrypted-]") || strings.Contains(body, "Not yours") {
		t.Fatalf("/sent: %d\n%s", rec.Code, body)
	}
	if strings.Contains(body, "<b>notes</b>") || !strings.Contains(body, "Consult &lt;b&gt;notes&lt;/b&gt;") {
		t.Error("the subject is not escaped")
	}
	if strings.Index(body, "Consult") > strings.Index(body, "Lab results") {
		t.Error("not newest first")
	}
	for _, want := range []string{"ann@partner.example</span>: <span class=\"status\">Opened ", "Not opened", ">Lock</button>", ">Expire now</button>", "Active"} {
		if !strings.Contains(body, want) {
			t.Errorf("/sent lacks %q", want)
		}
	}

	post := func(path string, v url.Values) *http.Response {
		t.Helper()
		rec := f.postForm(path, v, c)
		return rec.Result()
	}
	if r := post("/sent/theirs/lock", nil); r.StatusCode != 404 {
		t.Errorf("locking another sender's envelope: %d; want 404", r.StatusCode)
	}
	if r := f.postForm("/sent/mine1/lock", nil).Result(); r.StatusCode != 401 {
		t.Errorf("lock without a session: %d; want 401", r.StatusCode)
	}
	if r := post("/sent/mine1/lock", nil); r.StatusCode != 303 || !strings.Contains(r.Header.Get("Location"), "notice=locked") {
		t.Fatalf("lock: %d %q", r.StatusCode, r.Header.Get("Location"))
	}
	if rec := f.postKey("mine1", "ann@partner.example", testPassword, ""); rec.Code != 403 || !strings.Contains(rec.Body.String(), "locked by the sender") {
		t.Errorf("key of a locked envelope: %d %s", rec.Code, rec.Body)
	}
	if body := f.get("/sent?notice=locked", c).Body.String(); !strings.Contains(body, ">Unlock</button>") || !strings.Contains(body, "Locked") || !strings.Contains(body, "is locked") {
		t.Errorf("after lock the page offers no Unlock:\n%s", body)
	}
	ev := f.events(store.EventEnvelopeLocked)
	if len(ev) != 1 || ev[0].EnvelopeID != "mine1" || ev[0].Actor != "sender doc@example.org" || ev[0].RemoteIP != "192.0.2.1" || ev[0].Auth == "" {
		t.Errorf("lock event %+v; want who, how and from where", ev)
	}
	if r := post("/sent/mine1/unlock", nil); r.StatusCode != 303 {
		t.Fatalf("unlock: %d", r.StatusCode)
	}
	if rec := f.postKey("mine1", "ann@partner.example", testPassword, ""); rec.Code != 200 {
		t.Errorf("key after unlock: %d", rec.Code)
	}

	// Expiry: a date from today on, the end of that day in the zone.
	day := now.AddDate(0, 0, 3).Format(time.DateOnly)
	if r := post("/sent/mine2/expiry", url.Values{"expires": {day}}); r.StatusCode != 303 {
		t.Fatalf("expiry: %d", r.StatusCode)
	}
	if e, _ := f.st.Envelope(ctx, "mine2"); e.Expires.Format(time.DateOnly) != now.AddDate(0, 0, 4).Format(time.DateOnly) {
		t.Errorf("expiry stored %v; want the end of %s", e.Expires, day)
	}
	for _, bad := range []string{"yesterday", now.AddDate(0, 0, -2).Format(time.DateOnly)} {
		if r := post("/sent/mine2/expiry", url.Values{"expires": {bad}}); r.StatusCode != 400 {
			t.Errorf("expiry %q: %d; want 400", bad, r.StatusCode)
		}
	}

	// Expire now asks first; without the confirmation nothing happens.
	if rec := f.get("/sent/mine1/expire", c); rec.Code != 200 || !strings.Contains(rec.Body.String(), "cannot be undone") {
		t.Errorf("confirmation page: %d", rec.Code)
	}
	if r := post("/sent/mine1/expire", nil); r.StatusCode != 400 {
		t.Errorf("expire without confirmation: %d; want 400", r.StatusCode)
	}
	if r := post("/sent/mine1/expire", url.Values{"confirm": {"yes"}}); r.StatusCode != 303 {
		t.Fatalf("expire: %d", r.StatusCode)
	}
	if rec := f.postKey("mine1", "ann@partner.example", testPassword, ""); rec.Code != 410 {
		t.Errorf("key after expiry: %d; want 410", rec.Code)
	}
	if _, err := f.st.EnvelopeKey(ctx, "mine1"); err == nil {
		t.Error("the key survived Expire now")
	}
	if r := post("/sent/mine1/expiry", url.Values{"expires": {day}}); r.StatusCode != 409 {
		t.Errorf("new expiry for a destroyed key: %d; want 409", r.StatusCode)
	}
	if body := f.get("/sent", c).Body.String(); strings.Count(body, ">Expire now</button>") != 1 {
		t.Errorf("an expired envelope still offers its buttons")
	}
	for kind, want := range map[string]int{store.EventEnvelopeUnlocked: 1, store.EventExpirySet: 1, store.EventEnvelopeExpired: 1} {
		if ev := f.events(kind); len(ev) != want || ev[0].Actor != "sender doc@example.org" {
			t.Errorf("%s events %+v", kind, ev)
		}
	}
	if rep, err := f.st.VerifyChain(ctx, nil); err != nil || rep.Broken != nil {
		t.Errorf("audit chain after the page's changes: %+v %v", rep.Broken, err)
	}
}

// putSentEnvelopes stores envelopes number from to to-1 sent by
// doc@example.org, "ea" … with subjects "Message A" …, a minute apart.
func (f *fixture) putSentEnvelopes(from, to int) {
	f.t.Helper()
	now := f.clock.Now()
	for i := from; i < to; i++ {
		e := store.Envelope{ID: "e" + string(rune('a'+i)), Sender: "doc@example.org", Recipients: []string{"ann@partner.example"}, Kind: "keyservice",
			Created: now.Add(time.Duration(i) * time.Minute), Expires: now.Add(time.Hour), Subject: "Message " + string(rune('A'+i))}
		if err := f.st.PutEnvelope(context.Background(), e, make([]byte, 32)); err != nil {
			f.t.Fatal(err)
		}
	}
}

// Pages of twenty, newest first.
func TestSentPages(t *testing.T) {
	f := newFixture(t)
	f.putSentEnvelopes(0, 25)
	f.putAccount("doc@example.org", testPassword, true, false)
	c := sessionCookie(t, f.postForm("/login", url.Values{"email": {"doc@example.org"}, "password": {testPassword}}).Header())
	first := f.get("/sent", c).Body.String()
	second := f.get("/sent?page=2", c).Body.String()
	if strings.Count(first, `class="sent"`) != 20 || strings.Count(second, `class="sent"`) != 5 {
		t.Fatalf("pages hold %d and %d envelopes; want 20 and 5", strings.Count(first, `class="sent"`), strings.Count(second, `class="sent"`))
	}
	if !strings.Contains(first, "Message Y") || !strings.Contains(first, "Older messages") || !strings.Contains(second, "Message A") || !strings.Contains(second, "Newer messages") {
		t.Error("paging links or order wrong")
	}
}

// The paging links: none around a single full page, "Older" from the
// first of two pages to the second and "Newer" back to the first; a
// sender with nothing sent is told so; a change made from page 2 goes
// back to page 2.
func TestSentPagingLinks(t *testing.T) {
	f := newFixture(t)
	put := f.putSentEnvelopes
	f.putAccount("doc@example.org", testPassword, true, false)
	c := sessionCookie(t, f.postForm("/login", url.Values{"email": {"doc@example.org"}, "password": {testPassword}}).Header())
	if body := f.get("/sent", c).Body.String(); !strings.Contains(body, "No secure message sent from doc@example.org is known here.") {
		t.Errorf("a sender with nothing sent:\n%s", body)
	}
	put(0, sentPerPage)
	if body := f.get("/sent", c).Body.String(); strings.Contains(body, "Older messages") || strings.Contains(body, "Newer messages") || strings.Contains(body, "No secure message") {
		t.Errorf("exactly one page offers paging links or says nothing was sent:\n%s", body)
	}
	put(sentPerPage, sentPerPage+5)
	first, second := f.get("/sent", c).Body.String(), f.get("/sent?page=2", c).Body.String()
	if !strings.Contains(first, `<a href="http://keys.example.org:8025/sent?page=2">Older messages</a>`) || strings.Contains(first, "Newer messages") {
		t.Errorf("page 1 of 2: want only an Older link to page 2")
	}
	if !strings.Contains(second, `<a href="http://keys.example.org:8025/sent?page=1">Newer messages</a>`) || strings.Contains(second, "Older messages") {
		t.Errorf("page 2 of 2: want only a Newer link to page 1")
	}
	rec := f.postForm("/sent/ea/lock", url.Values{"page": {"2"}}, c)
	if loc := rec.Header().Get("Location"); rec.Code != 303 || !strings.Contains(loc, "page=2") {
		t.Errorf("lock from page 2: %d %q; want back to page 2", rec.Code, loc)
	}
}
