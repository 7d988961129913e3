package e2e

// The phone path in Chromium at a phone's viewport (390×844, mobile,
// touch): a real Postfix delivers a sealed message; the "Open on your
// phone" link is taken from the delivered notification (its HTML part,
// as a phone mail app shows it, and the same link in the text part); a
// first-time recipient registers from the page and activates from the
// mail on the phone, then opens the link — tap one — signs in and presses
// Open — tap two — and reads the message, decrypted in the browser;
// axe-core finds no serious or critical violation. Then a key service on the same
// database with its clock (keyserver.Deps.Now) moved to the copy's
// deletion time says the online copy expired, and the store's sweep at
// that time deletes the row.

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"regexp"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/postseal/postseal/keyserver"
	"github.com/postseal/postseal/store"
	"github.com/postseal/postseal/test/mta"
)

var phoneLinkRe = regexp.MustCompile(`<a href="(http://127\.0\.0\.1:\d+/m/[a-z0-9]+)">Open on your phone</a>`)

// phoneClock is the in-process key service's time.
type phoneClock struct{ ms atomic.Int64 }

func (c *phoneClock) Now() time.Time  { return time.UnixMilli(c.ms.Load()) }
func (c *phoneClock) Set(t time.Time) { c.ms.Store(t.UnixMilli()) }

func TestPhonePath(t *testing.T) {
	needRoot(t)
	ctx := startBrowser(t)
	axeBypassCSP(t, ctx)
	browserDo(t, ctx, "phone viewport", chromedp.EmulateViewport(390, 844, chromedp.EmulateScale(3), chromedp.EmulateMobile, chromedp.EmulateTouch))
	env := startPostfixEnv(t)
	pf, ps := env.pf, env.ps
	base := fmt.Sprintf("http://127.0.0.1:%d", ps.HTTPPort)
	rcpt := "phone-reader@partner.example.net"
	const password = "a long and memorable phone passphrase"

	mark := postfixMustAccept(t, pf, mta.SMTP, postfixSender, []string{rcpt}, browserMessage(rcpt, []byte("phone attachment")))
	d := postfixWait(t, pf, mark, rcpt, 1)[0]
	sealed := postfixOpenSealed(t, ps, d)
	m := phoneLinkRe.FindStringSubmatch(mailPart(t, d.Data, "text/html"))
	if m == nil {
		t.Fatalf("no \"Open on your phone\" link in the notification's HTML part:\n%s", mailPart(t, d.Data, "text/html"))
	}
	link := m[1]
	if link != base+"/m/"+sealed.ID || !regexp.MustCompile(`(?m)^`+regexp.QuoteMeta(link)+`\r?$`).MatchString(keyserverMailText(t, d.Data)) {
		t.Fatalf("phone link %q; want %s/m/%s, also on a line of the text part", link, base, sealed.ID)
	}
	// A first-timer: Register from the phone page, the activation link
	// from the mail, back to the phone link — all on the phone.
	browserDo(t, ctx, "the link, first time",
		chromedp.Navigate(link),
		chromedp.WaitVisible(chromedp.CSS("#register-link")),
	)
	register := browserEval[string](t, ctx, `document.querySelector('#register-link').href`)
	if !strings.HasPrefix(register, base+"/register?") || !strings.Contains(register, "envelope="+sealed.ID) {
		t.Fatalf("Register on the phone page links to %q", register)
	}
	browserDo(t, ctx, "register on the phone",
		chromedp.Navigate(register),
		chromedp.WaitVisible(chromedp.CSS(`input[name="first_name"]`)),
	)
	axeCheck(t, ctx, "/register on a phone")
	browserRegisterForm(t, ctx, "Pho", "Reader", password)
	activation := mailedActivation(t, pf, mark, rcpt, 2)
	if activation == "" {
		t.Fatalf("no activation link in the mails to %s", rcpt)
	}
	browserActivate(t, ctx, activation, password)
	if got := browserText(ctx, "h1"); got != "Address confirmed" {
		t.Fatalf("after Activate on the phone: %q", got)
	}

	start := time.Now()
	browserDo(t, ctx, "tap one: the link",
		chromedp.Navigate(link),
		chromedp.WaitVisible(chromedp.CSS("#open")),
	)
	if got := browserEval[string](t, ctx, `innerWidth + "x" + innerHeight + " " + document.documentElement.scrollWidth`); got != "390x844 390" {
		t.Errorf("viewport and page width %q; want 390x844 and nothing wider than the screen", got)
	}
	for _, sel := range []string{"#register-link", "#forgot-link"} {
		if !browserEval[bool](t, ctx, `!!document.querySelector('`+sel+`') && document.querySelector('`+sel+`').offsetParent !== null`) {
			t.Errorf("%s is not shown to a first-time reader", sel)
		}
	}
	axeCheck(t, ctx, "phone page")
	browserDo(t, ctx, "tap two: sign in and Open",
		chromedp.SetValue(chromedp.CSS("#password"), password),
		chromedp.Click(chromedp.CSS("#open")),
		chromedp.Poll[chromedp.Void](`!document.getElementById('message').hidden || !document.getElementById('error').hidden`),
	)
	if got := browserText(ctx, "#msg-text"); !strings.Contains(got, "Browser body marker") {
		t.Fatalf("phone: message text %q; error box %q", got, browserText(ctx, "#error"))
	}
	t.Logf("phone: link to message shown in %v (page, key release, decrypt)", time.Since(start).Round(time.Millisecond))
	if got := browserEval[int](t, ctx, `document.documentElement.scrollWidth`); got > 390 {
		t.Errorf("the opened message is %d px wide on a 390 px screen", got)
	}
	axeCheck(t, ctx, "message opened on the phone")

	// The copy's time: a key service on the same database with its clock
	// moved, the real one's sweep replaced by the store's call at that time.
	mk, err := store.LoadMasterKey(filepath.Join(ps.Dir, "master.key"), false)
	if err != nil {
		t.Fatal(err)
	}
	st, err := store.OpenSQLite(context.Background(), filepath.Join(ps.Dir, "postseal.db"), mk)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	rec, err := st.Envelope(context.Background(), sealed.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got := rec.OnlineUntil.Sub(rec.Created); got != 8*time.Hour {
		t.Fatalf("online copy kept %v; want the default 8h", got)
	}
	clock := &phoneClock{}
	clock.Set(rec.OnlineUntil.Add(-time.Minute))
	ts := httptest.NewUnstartedServer(nil)
	later := "http://" + ts.Listener.Addr().String()
	ks, err := keyserver.New(keyserver.Config{PublicURL: later, Organization: "Example Health", From: "postseal@example.org"},
		keyserver.Deps{Store: st, Mailer: discardMailer{}, Now: clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	ts.Config.Handler = ks
	ts.Start()
	t.Cleanup(ts.Close)
	if code := phoneStatus(t, later+"/m/"+sealed.ID); code != 200 {
		t.Fatalf("a minute before the copy's time: %d", code)
	}
	clock.Set(rec.OnlineUntil)
	expired := func(when string) {
		t.Helper()
		browserDo(t, ctx, "the link after its time ("+when+")",
			chromedp.Navigate(later+"/m/"+sealed.ID),
			chromedp.WaitVisible(chromedp.CSS("h1")),
		)
		if h, body := browserText(ctx, "h1"), browserText(ctx, "main"); h != "Online copy expired" || !strings.Contains(body, "open that attachment in a web browser on a computer") {
			t.Errorf("%s: the page says %q: %q", when, h, body)
		}
		if code := phoneStatus(t, later+"/m/"+sealed.ID); code != 410 {
			t.Errorf("%s: status %d; want 410", when, code)
		}
	}
	expired("copy still stored")
	axeCheck(t, ctx, "phone page after its time")
	if n, err := st.DeleteExpiredCopies(context.Background(), clock.Now()); err != nil || n != 1 {
		t.Fatalf("sweep at the copy's time: %d deleted, %v; want 1", n, err)
	}
	if _, err := st.OnlineCopy(context.Background(), sealed.ID); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("the copy's row after the sweep: %v; want it gone", err)
	}
	expired("row deleted")
	// The real service (its own clock) finds the row gone too: expired,
	// not unknown.
	if code := phoneStatus(t, link); code != 410 {
		t.Errorf("the real key service after the sweep: %d; want 410", code)
	}
}

func phoneStatus(t *testing.T, u string) int {
	t.Helper()
	resp, err := http.Get(u)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode
}
