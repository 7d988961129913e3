package e2e

// The sender's side end to end: a recipient opens a sealed message in
// Chromium and the sender's mailbox in the private Postfix receives one
// read receipt; the sender registers, signs in, sees the message opened on
// Sent secure messages and locks, unlocks and expires it from there, which
// the recipient's page follows at once; the audit chain verifies
// afterwards, against the service log too, and names the event a SQL edit
// changed.

import (
	"database/sql"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"
	_ "modernc.org/sqlite" // database/sql driver "sqlite", to tamper with the audit log

	"github.com/postseal/postseal/test/mta"
)

func TestSenderReceiptsAndSentPage(t *testing.T) {
	needRoot(t)
	ctx := startBrowser(t)
	env := startPostfixEnv(t)
	pf, ps := env.pf, env.ps
	base := fmt.Sprintf("http://127.0.0.1:%d", ps.HTTPPort)
	sender := "sender-side@example.org"
	rcpt := "receipt-reader@partner.example.net"
	const password = "a long and memorable passphrase"

	msg := strings.ReplaceAll(fmt.Sprintf(`From: Dr Side <%s>
To: <%s>
Subject: *secure* Biopsy follow-up
Date: Thu, 03 Dec 2026 09:00:00 +0000
Message-ID: <biopsy-follow-up@example.org>
MIME-Version: 1.0
Content-Type: text/plain; charset=utf-8

Sender side marker: the margins are clear.
`, sender, rcpt), "\n", "\r\n")
	mark := postfixMustAccept(t, pf, mta.SMTP, sender, []string{rcpt}, []byte(msg))
	sealed := postfixOpenSealed(t, ps, postfixWait(t, pf, mark, rcpt, 1)[0])
	doc := filepath.Join(t.TempDir(), sealed.AttachmentName)
	if err := os.WriteFile(doc, sealed.HTML, 0o644); err != nil {
		t.Fatal(err)
	}
	docURL := "file://" + doc

	// The recipient registers (over HTTP: the browser journey is
	// TestBrowserOpen's) and opens the message in Chromium.
	senderRegister(t, base, rcpt, password, "Kay", "Reader")
	senderActivate(t, senderLink(t, pf, mark, rcpt, 2), password)
	open := func(what, waitFor string) {
		t.Helper()
		browserOpenAt(t, ctx, what, docURL, password, waitFor)
	}
	open("the recipient opens the message", "#message")

	receipt := postfixWait(t, pf, mark, sender, 1)[0]
	if s := postfixSubject(t, receipt.Data); s != "Read: Biopsy follow-up [-Encrypted-]" {
		t.Errorf("receipt subject %q; want Read: and the subject as it travelled", s)
	}
	text := keyserverMailText(t, receipt.Data)
	// By address only: the opener's names are text a stranger chose.
	if !strings.Contains(text, "Opened by: "+rcpt) || strings.Contains(text, "Kay Reader") || !strings.Contains(text, "UTC") {
		t.Errorf("the receipt does not say who opened it and when:\n%s", text)
	}
	if h := postfixHeader(t, receipt.Data); h.Get("In-Reply-To") != "<biopsy-follow-up@example.org>" {
		t.Errorf("receipt In-Reply-To %q", h.Get("In-Reply-To"))
	}
	// A second open sends nothing: the store decided when the key was
	// released (the answer the page waited for), so it is final now.
	open("the recipient opens it again", "#message")
	if out := ps.Run(t, "audit", "list", "--envelope", sealed.ID); strings.Count(out, "receipt_sent") != 1 || strings.Count(out, "key_released") != 2 {
		t.Errorf("after two opens the audit log shows:\n%s\nwant two releases and one receipt", out)
	}

	// The sender registers and signs in, in the browser.
	browserDo(t, ctx, "the sender registers",
		chromedp.Navigate(base+"/register?email="+url.QueryEscape(sender)),
		chromedp.WaitVisible(chromedp.CSS(`input[name="first_name"]`)),
		chromedp.SetValue(chromedp.CSS(`input[name="first_name"]`), "Dr"),
		chromedp.SetValue(chromedp.CSS(`input[name="last_name"]`), "Side"),
		chromedp.SetValue(chromedp.CSS(`input[name="password"]`), password),
		chromedp.SetValue(chromedp.CSS(`input[name="confirm_password"]`), password),
	)
	browserSubmit(t, ctx, `form button[type="submit"]`)
	browserDo(t, ctx, "activate",
		chromedp.Navigate(senderLink(t, pf, mark, sender, 2)),
		chromedp.WaitVisible(chromedp.CSS(`input[name="password"]`)),
		chromedp.SetValue(chromedp.CSS(`input[name="password"]`), password),
	)
	browserSubmit(t, ctx, `form button[type="submit"]`)
	browserDo(t, ctx, "log in",
		chromedp.Navigate(base+"/login"),
		chromedp.WaitVisible(chromedp.CSS("#email")),
		chromedp.SetValue(chromedp.CSS("#email"), sender),
		chromedp.SetValue(chromedp.CSS("#password"), password),
	)
	browserSubmit(t, ctx, `form button[type="submit"]`)
	card := "#e-" + sealed.ID
	if loc := browserEval[string](t, ctx, `location.pathname`); loc != "/sent" {
		t.Fatalf("after login the sender is at %s: %s", loc, browserText(ctx, "main"))
	}
	if got := browserText(ctx, card); !strings.Contains(got, "Biopsy follow-up [-Encrypted-]") || !strings.Contains(got, rcpt+": Opened ") {
		t.Fatalf("Sent secure messages shows %q; want the message opened by %s", got, rcpt)
	}
	// Usable on a phone: nothing wider than a 390 px screen.
	browserDo(t, ctx, "Sent on a phone", chromedp.EmulateViewport(390, 844), chromedp.Reload(), chromedp.WaitVisible(chromedp.CSS(card)))
	if w := browserEval[int](t, ctx, `document.documentElement.scrollWidth - window.innerWidth`); w > 0 {
		t.Errorf("Sent secure messages is %d px wider than a 390 px screen", w)
	}
	browserDo(t, ctx, "reset the screen", chromedp.ResetViewport())

	// Lock: the recipient's page refuses with the lock sentence.
	browserSubmit(t, ctx, card+` form[action$="/lock"] button`)
	if got := browserText(ctx, card); !strings.Contains(got, "Locked") {
		t.Errorf("after Lock the message shows %q", got)
	}
	open("open the locked message", "#error")
	if got := browserText(ctx, "#error"); !strings.Contains(got, "has been locked") || !strings.Contains(got, "Contact the sender") {
		t.Errorf("locked message: the page says %q", got)
	}
	// Unlock: it opens again.
	browserDo(t, ctx, "back to Sent", chromedp.Navigate(base+"/sent"), chromedp.WaitVisible(chromedp.CSS(card)))
	browserSubmit(t, ctx, card+` form[action$="/unlock"] button`)
	open("open the unlocked message", "#message")
	// Expire now, confirmed on its own page: 410 and no key left.
	browserDo(t, ctx, "back to Sent", chromedp.Navigate(base+"/sent"), chromedp.WaitVisible(chromedp.CSS(card)))
	browserSubmit(t, ctx, card+` form[action$="/expire"] button`)
	if got := browserText(ctx, "main"); !strings.Contains(got, "cannot be undone") {
		t.Fatalf("Expire now did not ask first: %q", got)
	}
	browserSubmit(t, ctx, `form[action$="/expire"] button`)
	if got := browserText(ctx, card); !strings.Contains(got, "Expired") || strings.Contains(got, "Lock") {
		t.Errorf("after Expire now the message shows %q", got)
	}
	if status, ans := keyserverRelease(t, base, sealed.ID, rcpt, password); status != 410 {
		t.Errorf("key after Expire now: %d %v; want 410", status, ans)
	}
	if out := ps.Run(t, "envelope", "show", sealed.ID); !strings.Contains(out, `"has_key": false`) {
		t.Errorf("the key row is not empty after Expire now:\n%s", out)
	}
	audit := ps.Run(t, "audit", "list", "--envelope", sealed.ID)
	for _, kind := range []string{"envelope_locked", "envelope_unlocked", "envelope_expired"} {
		if !senderLineWith(audit, kind, "sender "+sender) {
			t.Errorf("no %s event naming the sender:\n%s", kind, audit)
		}
	}
	// The sender's mailbox holds the activation mail and still one receipt.
	reads := 0
	for _, d := range postfixWait(t, pf, mark, sender, 2) {
		if strings.HasPrefix(postfixSubject(t, d.Data), "Read: ") {
			reads++
		}
	}
	if reads != 1 {
		t.Errorf("%d read receipts delivered; want 1", reads)
	}

	// The chain verifies, also against the checkpoints postseal logged up
	// to its shutdown; a row edited with SQL is named.
	if out := ps.Run(t, "audit", "verify"); !strings.Contains(out, "audit chain intact") {
		t.Errorf("audit verify: %s", out)
	}
	ps.Stop()
	logFile := filepath.Join(t.TempDir(), "postseal.log")
	if err := os.WriteFile(logFile, []byte(ps.Log()), 0o600); err != nil {
		t.Fatal(err)
	}
	if out := ps.Run(t, "audit", "verify", "--log", logFile); !strings.Contains(out, "checkpoints from the service log agree") {
		t.Errorf("audit verify --log: %s", out)
	}
	db, err := sql.Open("sqlite", filepath.Join(ps.Dir, "postseal.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var seq int64
	if err := db.QueryRow(`SELECT seq FROM events WHERE kind = 'receipt_sent'`).Scan(&seq); err != nil {
		t.Fatal(err)
	}
	if _, err := db.Exec(`UPDATE events SET email = 'someone-else@partner.example.net' WHERE seq = ?`, seq); err != nil {
		t.Fatal(err)
	}
	out, err := ps.Command("audit", "verify")
	if err == nil || !strings.Contains(err.Error(), fmt.Sprintf("event %d:", seq)) || !strings.Contains(err.Error(), "exit status 1") {
		t.Errorf("audit verify after an edit of event %d: %v %s", seq, err, out)
	}
}

// senderRegister posts the registration form as a plain HTTP client.
func senderRegister(t *testing.T, base, addr, password, first, last string) {
	t.Helper()
	resp, err := http.PostForm(base+"/register", url.Values{
		"email": {addr}, "first_name": {first}, "last_name": {last}, "password": {password}, "confirm_password": {password},
	})
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || !strings.Contains(string(body), "Check your mail") {
		t.Fatalf("register %s: %d %s", addr, resp.StatusCode, body)
	}
}

// senderLink waits for n mails to addr and returns the activation link.
func senderLink(t *testing.T, pf *mta.Postfix, mark int64, addr string, n int) string {
	t.Helper()
	for _, d := range postfixWait(t, pf, mark, addr, n) {
		if m := keyserverActivationRe.FindString(keyserverMailText(t, d.Data)); m != "" {
			return m
		}
	}
	t.Fatalf("no activation link in the mails to %s", addr)
	return ""
}

func senderActivate(t *testing.T, link, password string) {
	t.Helper()
	resp, err := http.PostForm(link, url.Values{"password": {password}})
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || !strings.Contains(string(body), "is confirmed") {
		t.Fatalf("activate: %d %s", resp.StatusCode, body)
	}
}

func senderLineWith(text, a, b string) bool {
	for _, l := range strings.Split(text, "\n") {
		if strings.Contains(l, a) && strings.Contains(l, b) {
			return true
		}
	}
	return false
}
