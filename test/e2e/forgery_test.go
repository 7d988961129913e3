package e2e

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ProtonMail/go-crypto/openpgp"
	"github.com/ProtonMail/go-crypto/openpgp/armor"
	"github.com/chromedp/chromedp"

	"github.com/postseal/postseal/envelope"
	"github.com/postseal/postseal/store"
)

// htmlMessage is a message whose HTML part is html (and a text part).
func htmlMessage(subject, html string) []byte {
	return []byte(strings.ReplaceAll(fmt.Sprintf(`From: Dr Who <%s>
To: <%s>
Subject: %s
Date: Mon, 23 Nov 2026 09:00:00 +0000
MIME-Version: 1.0
Content-Type: multipart/alternative; boundary="alt"

--alt
Content-Type: text/plain; charset=utf-8

Plain alternative.
--alt
Content-Type: text/html; charset=utf-8

%s
--alt--
`, postfixSender, docRecipient, subject, html), "\n", "\r\n"))
}

// sealPage seals msg for docRecipient (with a shared password, or for ks)
// and returns the securedoc page and the sealing result.
func sealPage(t *testing.T, ks *docKeyService, opt envelope.Options, password []byte, msg []byte) ([]byte, *envelope.Sealed, string) {
	t.Helper()
	id := envelope.NewID()
	now := time.Now()
	s, err := envelope.Seal(envelope.Request{
		ID: id, Original: bytes.NewReader(msg), Recipients: []string{docRecipient}, Password: password, Now: now,
		Display: envelope.Display{From: postfixSender, To: docRecipient, Subject: "Your results", Date: now.Format(time.RFC1123Z)},
	}, opt)
	if err != nil {
		t.Fatal(err)
	}
	if ks != nil {
		// As the milter records it: with the digest of the payload sealed.
		err := ks.st.PutEnvelope(context.Background(), store.Envelope{ID: id, Sender: postfixSender, Recipients: []string{docRecipient},
			Kind: "keyservice", Created: now, Expires: now.Add(time.Hour), PayloadDigest: s.PayloadDigest}, s.Key)
		if err != nil {
			t.Fatal(err)
		}
	}
	var whole bytes.Buffer
	if err := envelope.WriteMessage(&whole, bytes.NewReader(msg), "Your results", s); err != nil {
		t.Fatal(err)
	}
	files, _ := postfixAttachments(t, whole.Bytes())
	page := files[s.AttachmentName]
	if page == nil {
		t.Fatalf("no %s in the sealed message", s.AttachmentName)
	}
	return page, s, id
}

func writeDoc(t *testing.T, page []byte) string {
	t.Helper()
	doc := filepath.Join(t.TempDir(), "securedoc.html")
	if err := os.WriteFile(doc, page, 0o644); err != nil {
		t.Fatal(err)
	}
	return "file://" + doc
}

// Finding 11: every recipient holds the message key, so one of them can
// encrypt a text of their own under it and hand it to another as the
// sealed message. The decryptor checks the payload against the digest the
// key service recorded at sealing and refuses the forgery — from disk and
// through Open Online, the key service's own origin — while the genuine
// page opens.
func TestBrowserRefusesForgedPayload(t *testing.T) {
	needRoot(t)
	ks := startDocKeyService(t)
	ctx := startBrowser(t)
	page, sealed, _ := sealPage(t, ks, docOpts(ks.URL, envelope.DecryptorLinked), nil, htmlMessage("Your results", "<p>Genuine results.</p>"))
	if r := chromiumOpen(t, ctx, writeDoc(t, page), docPassword); r.Outcome != "message" || r.Subject != "Your results" {
		t.Fatalf("the genuine page: %+v", r)
	}

	// The co-recipient's forgery: their own message under the same key,
	// in the genuine page.
	var forged bytes.Buffer
	aw, err := armor.Encode(&forged, "PGP MESSAGE", nil)
	if err != nil {
		t.Fatal(err)
	}
	pw, err := openpgp.SymmetricallyEncrypt(aw, []byte(envelope.Passphrase(sealed.Key)), &openpgp.FileHints{IsBinary: true}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := pw.Write(htmlMessage("Change of bank details", "<p>Please pay the invoice to a new account.</p>")); err != nil {
		t.Fatal(err)
	}
	if err := pw.Close(); err != nil {
		t.Fatal(err)
	}
	if err := aw.Close(); err != nil {
		t.Fatal(err)
	}
	s := string(page)
	open := strings.Index(s, `<textarea id="payload"`)
	start := open + strings.Index(s[open:], ">") + 1
	end := start + strings.Index(s[start:], "</textarea>")
	forgedPage := s[:start] + "\n" + strings.ReplaceAll(forged.String(), "\r\n", "\n") + "\n" + s[end:]
	forgedURL := writeDoc(t, []byte(forgedPage))

	check := func(where string, r string, shown bool) {
		t.Helper()
		if shown || !strings.Contains(r, "not the message that was sealed") {
			t.Errorf("%s: the forgery was shown=%v, error %q; want it refused", where, shown, r)
		}
	}
	r := chromiumOpen(t, ctx, forgedURL, docPassword)
	check("from disk", r.Error, r.Outcome == "message")

	browserDo(t, ctx, "Open Online with the forged page",
		chromedp.Navigate(forgedURL),
		chromedp.WaitVisible(chromedp.CSS(`#open-online button[type="submit"]`)),
	)
	browserSubmit(t, ctx, `#open-online button[type="submit"]`)
	browserDo(t, ctx, "open online",
		chromedp.WaitVisible(chromedp.CSS("#open")),
		chromedp.SetValue(chromedp.CSS("#password"), docPassword),
		chromedp.Click(chromedp.CSS("#open")),
		chromedp.Poll[chromedp.Void](`!document.getElementById('message').hidden || !document.getElementById('error').hidden`),
	)
	if loc := browserEval[string](t, ctx, `location.href`); loc != ks.URL+"/open" {
		t.Fatalf("Open Online went to %q", loc)
	}
	check("Open Online", browserText(ctx, "#error"), browserEval[bool](t, ctx, `!document.getElementById('message').hidden`))
}

// Finding 12: the HTML filter (DOMPurify with the decryptor's own rules),
// one vector each, in a page opened from disk in Chromium.
func TestBrowserHTMLFilter(t *testing.T) {
	needRoot(t)
	ctx := startBrowser(t)
	password := []byte("partner shared password 2026")
	frameDoc := `document.querySelector('#msg-html').contentDocument`
	for _, tc := range []struct {
		name, html string
		check      string // a JS expression true when the vector was defused
	}{
		{"DeclarativeShadowRoot",
			`<div><template shadowrootmode="open"><img src="https://tracker.example/shadow.png"><p>shadow text</p></template>visible</div>`,
			`!` + frameDoc + `.querySelector('template') && ![...` + frameDoc + `.querySelectorAll('*')].some(e => e.shadowRoot) && !document.querySelector('#msg-html').srcdoc.includes('shadow.png')`},
		{"MathMLStyleMutation",
			`<math><mtext><table><mglyph><style><img src=x onerror="window.top.pwned='mathml'"></style></mglyph></table></mtext></math><p>after</p>`,
			`![...` + frameDoc + `.querySelectorAll('*')].some(e => [...e.attributes].some(a => a.name.startsWith('on'))) && !window.pwned`},
		{"HostileReferrer",
			`<head><meta name="referrer" content="unsafe-url"></head><body><p>hello</p></body>`,
			`[...` + frameDoc + `.querySelectorAll('meta[name=referrer]')].map(m => m.content).join() === 'no-referrer'`},
		{"SVGXlinkHref",
			`<svg xmlns="http://www.w3.org/2000/svg" xmlns:xlink="http://www.w3.org/1999/xlink"><image xlink:href="relative.png" width="10" height="10"/><image xlink:href="https://tracker.example/pixel.png"/><a xlink:href="javascript:top.pwned='svg'"><text y="20">svg link</text></a></svg>`,
			`!document.querySelector('#msg-html').srcdoc.includes('relative.png') && !document.querySelector('#msg-html').srcdoc.includes('javascript:') && !document.querySelector('#show-images').hidden`},
		{"DOMClobbering",
			`<img name="querySelectorAll"><img name="getElementsByTagName"><form name="body"></form><p id="clobber-text">still shown</p>`,
			`typeof ` + frameDoc + `.querySelectorAll === 'function' && ` + frameDoc + `.body.textContent.includes('still shown') && !document.querySelector('#msg-html').srcdoc.includes('name="querySelectorAll"')`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			page, _, _ := sealPage(t, nil, docOpts("", envelope.DecryptorEmbedded), password, htmlMessage("Vector "+tc.name, tc.html))
			r := chromiumOpen(t, ctx, writeDoc(t, page), string(password))
			if r.Outcome != "message" {
				t.Fatalf("the message did not open: %+v", r)
			}
			browserDo(t, ctx, "the frame loaded", chromedp.Poll[chromedp.Void](frameDoc+`.readyState === 'complete'`))
			if !browserEval[bool](t, ctx, tc.check) {
				t.Errorf("vector not defused; srcdoc:\n%s", browserEval[string](t, ctx, `document.querySelector('#msg-html').srcdoc`))
			}
		})
	}
}
