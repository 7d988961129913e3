package e2e

// The recipient's side in a real browser: headless Chromium opens the
// securedoc that a real Postfix delivered, from disk (file://), and through
// Open Online from the key service's own origin.

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base64"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/browser"
	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"

	"github.com/postseal/postseal/test/mta"
)

// browserTimeout bounds one step in the browser (page load, decrypt,
// download); on loopback they take well under a second.
const browserTimeout = 30 * time.Second

// startBrowser starts a headless Chromium with a fresh profile, without the
// background traffic that floods a closed network; without them it fails to look up hosts.
func startBrowser(t *testing.T) context.Context {
	t.Helper()
	if _, err := os.Stat(mta.ChromiumPath); err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("chromium is required in CI (make test-deps installs it): %v", err)
		}
		t.Skipf("chromium not installed (apt-get install chromium): %v", err)
	}
	actx, cancelAlloc := mta.NewChromium(t.TempDir())
	ctx, cancel := chromedp.NewContext(actx)
	t.Cleanup(func() { cancel(); cancelAlloc() })
	// The first Run starts the browser; it must not carry a timeout.
	if err := chromedp.Do(ctx); err != nil {
		t.Fatalf("starting chromium: %v", err)
	}
	if _, err := chromedp.Call(ctx, page.AddScriptToEvaluateOnNewDocument, page.AddScriptToEvaluateOnNewDocumentParams{Source: browserRecordBlobs}); err != nil {
		t.Fatal(err)
	}
	return ctx
}

// browserRecordBlobs is test instrumentation run in every page before its
// own scripts (the DevTools protocol injects it past the page's CSP): it
// records the type of every Blob the page turns into a URL, since the
// page's CSP forbids the test to fetch them, and every violation of the
// page's Content-Security-Policy.
const browserRecordBlobs = `(() => {
  const make = URL.createObjectURL;
  window.__blobTypes = [];
  window.__cspViolations = [];
  document.addEventListener('securitypolicyviolation', (e) => window.__cspViolations.push(e.violatedDirective + ' ' + e.blockedURI));
  URL.createObjectURL = function (b) {
    if (b instanceof Blob) window.__blobTypes.push(b.type || "(none)");
    return make.apply(this, arguments);
  };
})();`

// browserDo runs steps with the per-step deadline.
func browserDo(t *testing.T, ctx context.Context, what string, steps ...chromedp.Action[chromedp.Void]) {
	t.Helper()
	sctx, cancel := context.WithTimeout(ctx, browserTimeout)
	defer cancel()
	if err := chromedp.Do(sctx, steps...); err != nil {
		t.Fatalf("%s: %v\npage: %s", what, err, browserText(ctx, "body"))
	}
}

// browserOpenAt loads a page with the Open form (a securedoc, the phone
// page), types the password, presses Open and waits until sel shows
// ("#message", or "#error").
func browserOpenAt(t *testing.T, ctx context.Context, what, pageURL, password, sel string) {
	t.Helper()
	browserDo(t, ctx, what,
		chromedp.Navigate(pageURL),
		chromedp.WaitVisible(chromedp.CSS("#open")),
		chromedp.SetValue(chromedp.CSS("#password"), password),
		chromedp.Click(chromedp.CSS("#open")),
		chromedp.WaitVisible(chromedp.CSS(sel)),
	)
}

// browserRegisterForm fills in the key service's registration form shown
// (names, the password twice) and submits it.
func browserRegisterForm(t *testing.T, ctx context.Context, first, last, password string) {
	t.Helper()
	browserDo(t, ctx, "fill in the registration",
		chromedp.SetValue(chromedp.CSS(`input[name="first_name"]`), first),
		chromedp.SetValue(chromedp.CSS(`input[name="last_name"]`), last),
		chromedp.SetValue(chromedp.CSS(`input[name="password"]`), password),
		chromedp.SetValue(chromedp.CSS(`input[name="confirm_password"]`), password),
	)
	browserSubmit(t, ctx, `form button[type="submit"]`)
}

// browserActivate opens an activation link, types the password and
// presses Activate.
func browserActivate(t *testing.T, ctx context.Context, link, password string) {
	t.Helper()
	browserDo(t, ctx, "activate",
		chromedp.Navigate(link),
		chromedp.WaitVisible(chromedp.CSS(`form button[type="submit"]`)),
		chromedp.SetValue(chromedp.CSS(`input[name="password"]`), password),
	)
	browserSubmit(t, ctx, `form button[type="submit"]`)
}

// browserSubmit clicks a form's button and waits for the page it loads.
func browserSubmit(t *testing.T, ctx context.Context, sel string) {
	t.Helper()
	sctx, cancel := context.WithTimeout(ctx, browserTimeout)
	defer cancel()
	if _, err := chromedp.Run(sctx, chromedp.WaitEvent(page.LoadEventFired, nil, chromedp.Click(chromedp.CSS(sel)))); err != nil {
		t.Fatalf("submit %s: %v\npage: %s", sel, err, browserText(ctx, "body"))
	}
}

// browserText is the visible text of the first element matching sel, or a
// note why there is none (for failure messages and assertions).
func browserText(ctx context.Context, sel string) string {
	sctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	s, err := chromedp.Run(sctx, chromedp.TextContent(chromedp.CSS(sel)))
	if err != nil {
		return fmt.Sprintf("(no %s: %v)", sel, err)
	}
	return s
}

func browserEval[T any](t *testing.T, ctx context.Context, expr string) T {
	t.Helper()
	sctx, cancel := context.WithTimeout(ctx, browserTimeout)
	defer cancel()
	v, err := chromedp.Run(sctx, chromedp.Evaluate[T](expr))
	if err != nil {
		t.Fatalf("evaluate %s: %v", expr, err)
	}
	return v
}

// browserHostileHTML carries what a hostile sender might put in the HTML
// part: an inline script, an event handler, a javascript: link and a form.
// Each would set window.top.pwned (or the title) if it ran.
const browserHostileHTML = `<html><body><p id="greeting">Results are attached. Hostile test content follows.</p>
<script>window.top.pwned = "script"; top.document.title = "pwned";</script>
<img src="x" onerror="window.top.pwned = 'onerror'; top.document.title = 'pwned'">
<a href="javascript:window.top.pwned='link'">link</a>
<form action="https://evil.example/steal"><input name="q"></form>
</body></html>`

// browserMessage is a *secure* message with a text part, the hostile HTML
// part and a binary attachment.
func browserMessage(rcpt string, attachment []byte) []byte {
	b64 := base64.StdEncoding.EncodeToString(attachment)
	var lines []string
	for len(b64) > 76 {
		lines, b64 = append(lines, b64[:76]), b64[76:]
	}
	lines = append(lines, b64)
	return []byte(strings.ReplaceAll(fmt.Sprintf(`From: Dr Who <%s>
To: <%s>
Subject: *secure* Your results
Date: Mon, 23 Nov 2026 09:00:00 +0000
Message-ID: <browser@example.org>
MIME-Version: 1.0
Content-Type: multipart/mixed; boundary="mixed"

--mixed
Content-Type: multipart/alternative; boundary="alt"

--alt
Content-Type: text/plain; charset=utf-8

Browser body marker: your potassium is 4.1 mmol/L.
--alt
Content-Type: text/html; charset=utf-8

%s
--alt--
--mixed
Content-Type: application/octet-stream; name="results.bin"
Content-Disposition: attachment; filename="results.bin"
Content-Transfer-Encoding: base64

%s
--mixed
Content-Type: text/html; charset=utf-8; name="page.html"
Content-Disposition: attachment; filename="page.html"

<script>window.opener && (window.opener.pwned = "attachment")</script>
--mixed--
`, postfixSender, rcpt, browserHostileHTML, strings.Join(lines, "\n")), "\n", "\r\n"))
}

func TestBrowserOpen(t *testing.T) {
	needRoot(t)
	ctx := startBrowser(t)
	env := startPostfixEnv(t)
	pf, ps := env.pf, env.ps
	base := fmt.Sprintf("http://127.0.0.1:%d", ps.HTTPPort)
	rcpt := "browser-reader@partner.example.net"
	const password = "correct horse battery staple"

	attachment := make([]byte, 50_000)
	if _, err := rand.Read(attachment); err != nil {
		t.Fatal(err)
	}
	mark := postfixMustAccept(t, pf, mta.SMTP, postfixSender, []string{rcpt}, browserMessage(rcpt, attachment))
	sealed := postfixOpenSealed(t, ps, postfixWait(t, pf, mark, rcpt, 1)[0])
	doc := filepath.Join(t.TempDir(), sealed.AttachmentName)
	if err := os.WriteFile(doc, sealed.HTML, 0o644); err != nil {
		t.Fatal(err)
	}
	docURL := "file://" + doc

	// A first-time reader: before any attempt the page shows Register
	// (prefilled with the address chosen) and Forgot your password?.
	browserDo(t, ctx, "the first steps on the securedoc",
		chromedp.Navigate(docURL),
		chromedp.WaitVisible(chromedp.CSS("#register-link")),
		chromedp.WaitVisible(chromedp.CSS("#forgot-link")),
	)
	firstRegister := browserEval[string](t, ctx, `document.querySelector('#register-link').href`)
	if !strings.HasPrefix(firstRegister, base+"/register?") || !strings.Contains(firstRegister, "browser-reader%40partner.example.net") {
		t.Fatalf("Register before any attempt links to %q; want %s/register?email=<the address>", firstRegister, base)
	}
	if f := browserEval[string](t, ctx, `document.querySelector('#forgot-link').href`); f != base+"/forgot?email=browser-reader%40partner.example.net" {
		t.Errorf("Forgot your password? links to %q", f)
	}
	// Open with no password: the reader is told where a password comes
	// from, with the links, and nothing is asked of the key service.
	browserDo(t, ctx, "open with a blank password",
		chromedp.Click(chromedp.CSS("#open")),
		chromedp.WaitVisible(chromedp.CSS("#error")),
	)
	if msg := browserText(ctx, "#error"); !strings.Contains(msg, "no password yet") || !strings.Contains(msg, "Register") {
		t.Errorf("blank password told %q; want the way to a password", msg)
	}
	if f := browserEval[string](t, ctx, `document.activeElement.id`); f != "password" {
		t.Errorf("after a blank password the focus is on %q; want the password field", f)
	}

	// Not registered yet: the page says so, says what to do next and links
	// to the registration.
	browserOpenAt(t, ctx, "open the securedoc", docURL, password, "#error")
	if msg := browserText(ctx, "#error"); !strings.Contains(strings.ToLower(msg), "regist") || !strings.Contains(msg, "Next step") {
		t.Fatalf("unregistered recipient told %q; want a sentence about registering and the next step", msg)
	}
	register := browserEval[string](t, ctx, `(document.querySelector('#error a[href*="/register"]') || {}).href || ""`)
	if !strings.HasPrefix(register, base+"/register?") || !strings.Contains(register, "browser-reader%40partner.example.net") {
		t.Fatalf("register link %q; want %s/register?email=<the address>", register, base)
	}
	// The journey follows the page's own Register link.
	register = firstRegister

	browserDo(t, ctx, "register",
		chromedp.Navigate(register),
		chromedp.WaitVisible(chromedp.CSS(`input[name="first_name"]`)),
	)
	if got := browserEval[string](t, ctx, `document.querySelector('input[name="email"]').value`); got != rcpt {
		t.Errorf("the registration form came with the address %q; want %s", got, rcpt)
	}
	browserRegisterForm(t, ctx, "Bea", "Reader", password)
	if got := browserEval[string](t, ctx, `document.body.innerText`); !strings.Contains(got, "Check your mail") {
		t.Fatalf("after Register: %q", got)
	}

	// The activation mail arrives in the sink beside the sealed copy.
	link := mailedActivation(t, pf, mark, rcpt, 2)
	if link == "" {
		t.Fatalf("no activation link in the mails to %s", rcpt)
	}
	browserActivate(t, ctx, link, password)
	if got := browserEval[string](t, ctx, `document.body.innerText`); !strings.Contains(got, "confirmed") {
		t.Fatalf("after Activate: %q", got)
	}

	t.Run("WrongPassword", func(t *testing.T) {
		browserDo(t, ctx, "wrong password",
			chromedp.Navigate(docURL),
			chromedp.WaitVisible(chromedp.CSS("#open")),
			chromedp.SetValue(chromedp.CSS("#password"), "not the password at all"),
			chromedp.Click(chromedp.CSS("#open")),
			chromedp.WaitVisible(chromedp.CSS("#error")),
		)
		if msg := browserText(ctx, "#error"); !strings.Contains(strings.ToLower(msg), "password") {
			t.Errorf("wrong password told %q", msg)
		}
		if browserEval[bool](t, ctx, `!document.querySelector('#message').hidden`) {
			t.Error("the message is shown after a wrong password")
		}
	})

	t.Run("TooManyAttempts", func(t *testing.T) {
		// Another address ("My address is not listed"): its failures count
		// against it, not against the registered reader.
		other := "guesser@partner.example.net"
		var msg string
		for i := range 6 {
			browserDo(t, ctx, "guess",
				chromedp.Navigate(docURL),
				chromedp.WaitVisible(chromedp.CSS("#open")),
				chromedp.SetValue(chromedp.CSS("#email-select"), "other"),
				chromedp.Evaluate[chromedp.Void](`document.querySelector('#email-select').dispatchEvent(new Event('change'))`),
				chromedp.WaitVisible(chromedp.CSS("#email-other")),
				chromedp.SetValue(chromedp.CSS("#email-other"), other),
				chromedp.SetValue(chromedp.CSS("#password"), fmt.Sprintf("guess %d", i)),
				chromedp.Click(chromedp.CSS("#open")),
				chromedp.WaitVisible(chromedp.CSS("#error")),
			)
			msg = browserText(ctx, "#error")
		}
		if !strings.Contains(msg, "Too many attempts. Try again in") {
			t.Errorf("sixth guess: %q; want to be told when to try again", msg)
		}
	})

	t.Run("FromDiskKeyboardOnlyOnAPhone", func(t *testing.T) {
		// A phone-sized screen, and only the keyboard: focus the password
		// field, type, press Enter.
		browserDo(t, ctx, "open from disk",
			chromedp.EmulateViewport(390, 844),
			chromedp.Navigate(docURL),
			chromedp.WaitVisible(chromedp.CSS("#open")),
			chromedp.Focus(chromedp.CSS("#password")),
			chromedp.KeyEvent(password+"\r"),
			chromedp.WaitVisible(chromedp.CSS("#message")),
		)
		if w := browserEval[int](t, ctx, `document.documentElement.scrollWidth - window.innerWidth`); w > 0 {
			t.Errorf("the opened message is %d px wider than a 390 px screen", w)
		}
		if n := browserEval[int](t, ctx, `[...document.querySelectorAll('input, select, button')].filter(e => !e.closest('[hidden]') && e.type !== 'hidden' && e.type !== 'submit' && e.type !== 'button' && !(e.labels && e.labels.length)).length`); n != 0 {
			t.Errorf("%d visible controls without a label", n)
		}
		browserCheckMessage(t, ctx, attachment)
		browserDo(t, ctx, "reset the screen", chromedp.ResetViewport())
	})

	t.Run("OpenOnline", func(t *testing.T) {
		browserDo(t, ctx, "Open Online",
			chromedp.Navigate(docURL),
			chromedp.WaitVisible(chromedp.CSS(`#open-online button[type="submit"]`)),
		)
		browserSubmit(t, ctx, `#open-online button[type="submit"]`)
		browserDo(t, ctx, "the Open Online page", chromedp.WaitVisible(chromedp.CSS("#open")))
		if loc := browserEval[string](t, ctx, `location.href`); loc != base+"/open" {
			t.Fatalf("Open Online went to %q; want %s/open", loc, base)
		}
		browserDo(t, ctx, "open online",
			chromedp.SetValue(chromedp.CSS("#password"), password),
			chromedp.Click(chromedp.CSS("#open")),
			chromedp.WaitVisible(chromedp.CSS("#message")),
		)
		browserCheckMessage(t, ctx, attachment)
	})

	t.Run("KeyServiceUnreachable", func(t *testing.T) {
		// An envelope sealed offline for a key service that does not
		// answer: the page says so and names it.
		dir := t.TempDir()
		dead := fmt.Sprintf("http://127.0.0.1:%d", freePort(t))
		cfg := filepath.Join(dir, "postseal.toml")
		if err := os.WriteFile(cfg, []byte(fmt.Sprintf("[keyserver]\npublic_url = %q\n[store]\ndsn = \"p.db\"\nmaster_key = \"master.key\"\n", dead)), 0o600); err != nil {
			t.Fatal(err)
		}
		cmd := exec.Command(postsealBinary(t), "seal", "-c", cfg, "--from", postfixSender, "--to", rcpt)
		cmd.Stdin = bytes.NewReader(browserMessage(rcpt, []byte("x")))
		out, err := cmd.Output()
		if err != nil {
			t.Fatalf("postseal seal: %v", err)
		}
		files, _ := postfixAttachments(t, out)
		var page []byte
		for name, b := range files {
			if strings.HasPrefix(name, "securedoc_") {
				page = b
			}
		}
		doc := filepath.Join(dir, "securedoc.html")
		if err := os.WriteFile(doc, page, 0o644); err != nil {
			t.Fatal(err)
		}
		// The page loads its decryptor from the key service: it says so
		// before any password is asked.
		browserDo(t, ctx, "open with the key service down",
			chromedp.Navigate("file://"+doc),
			chromedp.WaitVisible(chromedp.CSS("#error")),
		)
		if msg := browserText(ctx, "#error"); !strings.Contains(msg, "cannot be reached") || !strings.Contains(msg, dead) {
			t.Errorf("key service down: %q; want it to say %s cannot be reached", msg, dead)
		}
	})

	// The envelope's state, as the page tells it: locked, then expired
	// (last: expiry destroys the key for good).
	for _, c := range []struct{ command, want string }{{"lock", "has been locked"}, {"expire", "has expired"}} {
		t.Run(c.command, func(t *testing.T) {
			ps.Run(t, "envelope", c.command, sealed.ID)
			browserDo(t, ctx, "open a "+c.command+"ed envelope",
				chromedp.Navigate(docURL),
				chromedp.WaitVisible(chromedp.CSS("#open")),
				chromedp.SetValue(chromedp.CSS("#password"), password),
				chromedp.Click(chromedp.CSS("#open")),
				chromedp.WaitVisible(chromedp.CSS("#error")),
			)
			if msg := browserText(ctx, "#error"); !strings.Contains(msg, c.want) {
				t.Errorf("after envelope %s: %q; want it to say the message %s", c.command, msg, c.want)
			}
			if c.command == "lock" {
				ps.Run(t, "envelope", "unlock", sealed.ID)
			}
		})
	}
}

// browserCheckMessage checks the opened message: headers, text, the HTML in
// a sandbox where nothing hostile ran, and the attachment's bytes.
func browserCheckMessage(t *testing.T, ctx context.Context, attachment []byte) {
	t.Helper()
	if got := browserText(ctx, "#msg-subject"); got != "*secure* Your results" {
		t.Errorf("subject shown %q", got)
	}
	if got := browserText(ctx, "#msg-from"); !strings.Contains(got, postfixSender) {
		t.Errorf("from shown %q", got)
	}
	// The header the file claims is gone once the sealed one is shown: a
	// co-recipient's Open Online post could claim any From or Subject.
	if visible := browserEval[bool](t, ctx, `!!document.querySelector('#envelope-header') && !document.querySelector('#envelope-header').closest('[hidden]')`); visible {
		t.Error("the claimed header stays visible above the opened message")
	}
	if got := browserText(ctx, "#msg-text"); !strings.Contains(got, "Browser body marker: your potassium is 4.1 mmol/L.") {
		t.Errorf("text part shown %q", got)
	}
	// Chromium, not the code under test, judges the page's CSP hashes:
	// the page's own script and style ran without a violation. Parsing the
	// hostile HTML part (inertly, to sanitise it) makes Chromium report its
	// onerror attribute as a blocked inline handler (script-src-attr): that
	// is the policy refusing the message's code, not the page breaking it;
	// that nothing of it ran is checked below (pwned).
	if v := browserEval[string](t, ctx, `window.__cspViolations.filter(v => !v.startsWith("script-src-attr ")).join("; ")`); v != "" {
		t.Errorf("the page broke its own Content-Security-Policy: %s", v)
	}
	sandbox := browserEval[string](t, ctx, `document.querySelector('#msg-html').getAttribute('sandbox')`)
	if strings.Contains(sandbox, "allow-scripts") || strings.Contains(sandbox, "allow-forms") {
		t.Errorf("the HTML frame's sandbox %q allows scripts or forms", sandbox)
	}
	// The hostile content is shown inertly: its text is there, its script,
	// handler and link never ran.
	greeting := browserEval[string](t, ctx, `(() => { const d = document.querySelector('#msg-html').contentDocument; const g = d && d.querySelector('#greeting, p'); return g ? g.textContent : ""; })()`)
	if !strings.Contains(greeting, "Results are attached") {
		t.Errorf("HTML part not rendered: %q", greeting)
	}
	if pwned := browserEval[string](t, ctx, `String(window.pwned) + " " + document.title`); strings.Contains(pwned, "script") || strings.Contains(pwned, "onerror") || strings.Contains(pwned, "pwned") {
		t.Errorf("hostile content ran: %q", pwned)
	}

	dir := t.TempDir()
	on := true
	if _, err := chromedp.CallBrowser(ctx, browser.SetDownloadBehavior, browser.SetDownloadBehaviorParams{
		Behavior: browser.SetDownloadBehaviorBehaviorAllowAndName, DownloadPath: dir, EventsEnabled: &on,
	}); err != nil {
		t.Fatal(err)
	}
	dctx, cancel := context.WithTimeout(ctx, browserTimeout)
	defer cancel()
	done := make(chan string, 1)
	go func() {
		defer close(done)
		for ev, err := range chromedp.BrowserEvents(dctx, browser.DownloadProgress) {
			if err != nil {
				return
			}
			if ev.State == browser.DownloadProgressStateCompleted {
				done <- ev.GUID
				return
			}
		}
	}()
	// An attachment is always a download, never a page of this origin: no
	// blob the page made is HTML (see browserRecordBlobs).
	if types := browserEval[string](t, ctx, `window.__blobTypes.join(" ")`); strings.Contains(types, "html") || strings.Count(types, "application/octet-stream") < 2 {
		t.Errorf("blob types made by the page: %q; want the attachments as application/octet-stream", types)
	}
	if name := browserText(ctx, "#attachments"); !strings.Contains(name, "results.bin") {
		t.Errorf("attachment list %q; want results.bin with its size", name)
	}
	browserDo(t, ctx, "download", chromedp.Click(chromedp.CSS("#attachments a[download]")))
	guid, ok := <-done
	if !ok {
		t.Fatalf("no completed download within %v", browserTimeout)
	}
	got, err := os.ReadFile(filepath.Join(dir, guid))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, attachment) {
		t.Errorf("downloaded %d bytes differ from the %d sent", len(got), len(attachment))
	}
}
