package e2e

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base64"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ProtonMail/go-crypto/openpgp/armor"
	"github.com/chromedp/cdproto/fetch"
	"github.com/chromedp/chromedp"
)

// browserTrackerPNG is a 1×1 PNG the intercepted tracker "serves".
const browserTrackerPNG = "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg=="

// browserPartnerMessage is a *secure* message to a partner whose HTML part
// refers to a remote image (a reading tracker).
func browserPartnerMessage(rcpt, tracker string) []byte {
	return []byte(strings.ReplaceAll(fmt.Sprintf(`From: Dr Who <%s>
To: <%s>
Subject: *secure* Referral letter
Date: Mon, 23 Nov 2026 09:00:00 +0000
Message-ID: <partner-browser@example.org>
MIME-Version: 1.0
Content-Type: multipart/alternative; boundary="alt"

--alt
Content-Type: text/plain; charset=utf-8

Partner body marker: referral for cardiology.
--alt
Content-Type: text/html; charset=utf-8

<html><body><p id="greeting">Partner body marker: referral for cardiology.</p>
<img id="tracker" src="%s" width="1" height="1" alt=""></body></html>
--alt--
`, postfixSender, rcpt, tracker), "\n", "\r\n"))
}

// browserIntercept pauses every http(s) request of the page: requests to
// the tracker are answered with a PNG, any other is failed (nothing leaves
// the machine); all are recorded.
type browserIntercept struct {
	mu   sync.Mutex
	urls []string
}

func (bi *browserIntercept) seen() []string {
	bi.mu.Lock()
	defer bi.mu.Unlock()
	return append([]string(nil), bi.urls...)
}

func startIntercept(t *testing.T, ctx context.Context, tracker string) *browserIntercept {
	t.Helper()
	bi := &browserIntercept{}
	png, _ := base64.StdEncoding.DecodeString(browserTrackerPNG)
	paused := make(chan *fetch.EventRequestPaused, 64)
	if err := chromedp.Listen(ctx, func(ev any) {
		if e, ok := ev.(*fetch.EventRequestPaused); ok {
			bi.mu.Lock()
			bi.urls = append(bi.urls, e.Request.URL)
			bi.mu.Unlock()
			paused <- e
		}
	}); err != nil {
		t.Fatal(err)
	}
	go func() {
		for {
			select {
			case <-ctx.Done():
				return
			case e := <-paused:
				if strings.HasPrefix(e.Request.URL, tracker) {
					_, _ = chromedp.Call(ctx, fetch.FulfillRequest, fetch.FulfillRequestParams{
						RequestID: e.RequestID, ResponseCode: 200, Body: png,
						ResponseHeaders: []*fetch.HeaderEntry{{Name: "Content-Type", Value: "image/png"}},
					})
				} else {
					_, _ = chromedp.Call(ctx, fetch.FailRequest, fetch.FailRequestParams{RequestID: e.RequestID, ErrorReason: "BlockedByClient"})
				}
			}
		}
	}()
	if _, err := chromedp.Call(ctx, fetch.Enable, fetch.EnableParams{Patterns: []*fetch.RequestPattern{{URLPattern: "http*://*"}}}); err != nil {
		t.Fatal(err)
	}
	return bi
}

// browserSealPartner seals msg for a partner domain with a shared password
// under the given profile (`postseal seal`) and returns the securedoc.
func browserSealPartner(t *testing.T, profile, password, rcpt string, msg []byte) []byte {
	t.Helper()
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "partner.pw"), []byte(password), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg := filepath.Join(dir, "postseal.toml")
	conf := fmt.Sprintf("[envelope]\nprofile = %q\n[store]\ndsn = \"p.db\"\nmaster_key = \"master.key\"\n[[domain]]\nname = %q\npassword_file = \"partner.pw\"\n",
		profile, rcpt[strings.IndexByte(rcpt, '@')+1:])
	if err := os.WriteFile(cfg, []byte(conf), 0o600); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(postsealBinary(t), "seal", "-c", cfg, "--from", postfixSender, "--to", rcpt)
	cmd.Stdin = bytes.NewReader(msg)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("postseal seal: %v\n%s", err, stderr.String())
	}
	files, _ := postfixAttachments(t, out)
	for name, b := range files {
		if strings.HasPrefix(name, "securedoc_") {
			return b
		}
	}
	t.Fatalf("no securedoc in the sealed message:\n%.2000s", out)
	return nil
}

// browserFirstPacket returns the version octet and the S2K specifier type
// of the securedoc's first packet, which must be a symmetric-key encrypted
// session key (tag 3) with a one-octet length.
func browserFirstPacket(t *testing.T, page []byte) (version, s2kType byte) {
	t.Helper()
	armored := postfixArmorRe.Find(page)
	if armored == nil {
		t.Fatal("no armoured message in the securedoc")
	}
	blk, err := armor.Decode(bytes.NewReader(armored))
	if err != nil {
		t.Fatal(err)
	}
	b := make([]byte, 8)
	if _, err := io.ReadFull(blk.Body, b); err != nil {
		t.Fatal(err)
	}
	if b[0] != 0xC3 || b[1] >= 192 {
		t.Fatalf("first packet header %x; want a tag-3 packet with a one-octet length", b[:2])
	}
	switch b[2] {
	case 4: // version, cipher, S2K type
		return 4, b[4]
	case 6: // version, count, cipher, AEAD, S2K length, S2K type
		return 6, b[7]
	}
	t.Fatalf("SKESK version %d", b[2])
	return
}

// A partner's shared-password envelope opens in the browser with the
// agreed password alone (no address, no key service), under both
// profiles: rfc9580 derives the key with Argon2 in WebAssembly. Remote
// images stay unloaded — no request leaves the page — until the reader
// asks for them with "Show images".
func TestBrowserPartnerEnvelope(t *testing.T) {
	needRoot(t)
	const password = "agreed partner passphrase"
	const tracker = "http://tracker.invalid/pixel.png"
	rcpt := "reader@partner.example.net"
	for _, tc := range []struct {
		profile      string
		version, s2k byte
	}{
		{"rfc4880", 4, 3}, // iterated and salted
		{"rfc9580", 6, 4}, // Argon2
	} {
		t.Run(tc.profile, func(t *testing.T) {
			page := browserSealPartner(t, tc.profile, password, rcpt, browserPartnerMessage(rcpt, tracker+"?"+tc.profile))
			if v, s := browserFirstPacket(t, page); v != tc.version || s != tc.s2k {
				t.Fatalf("securedoc's session key packet v%d with S2K type %d; want v%d with %d", v, s, tc.version, tc.s2k)
			}
			doc := filepath.Join(t.TempDir(), "securedoc.html")
			if err := os.WriteFile(doc, page, 0o644); err != nil {
				t.Fatal(err)
			}
			ctx := startBrowser(t)
			bi := startIntercept(t, ctx, tracker)

			browserDo(t, ctx, "wrong shared password",
				chromedp.Navigate("file://"+doc),
				chromedp.WaitVisible(chromedp.CSS("#open")),
				chromedp.SetValue(chromedp.CSS("#password"), "not the agreed one"),
				chromedp.Click(chromedp.CSS("#open")),
				chromedp.WaitVisible(chromedp.CSS("#error")),
			)
			if browserEval[bool](t, ctx, `!document.querySelector('#message').hidden`) {
				t.Fatal("the message is shown after a wrong shared password")
			}
			if browserEval[bool](t, ctx, `!document.querySelector('#email-field').hidden`) {
				t.Error("a shared-password envelope asks for an address")
			}
			browserDo(t, ctx, "open with the shared password",
				chromedp.SetValue(chromedp.CSS("#password"), password),
				chromedp.Click(chromedp.CSS("#open")),
				chromedp.WaitVisible(chromedp.CSS("#message")),
			)
			if v := browserEval[string](t, ctx, `window.__cspViolations.join("; ")`); v != "" {
				t.Errorf("the page broke its own Content-Security-Policy: %s", v)
			}
			if got := browserText(ctx, "#msg-subject"); got != "*secure* Referral letter" {
				t.Errorf("subject shown %q", got)
			}
			frameImg := `(() => { const d = document.querySelector('#msg-html').contentDocument; const i = d && d.querySelector('img'); return i ? i.naturalWidth : -1; })()`
			greeting := browserEval[string](t, ctx, `(() => { const d = document.querySelector('#msg-html').contentDocument; const g = d && d.querySelector('p'); return g ? g.textContent : ""; })()`)
			if !strings.Contains(greeting, "referral for cardiology") {
				t.Errorf("HTML part not rendered: %q", greeting)
			}
			if !browserEval[bool](t, ctx, `!document.querySelector('#show-images').hidden`) {
				t.Fatal(`no "Show images" for a message with a remote image`)
			}
			if seen := bi.seen(); len(seen) != 0 || browserEval[int](t, ctx, frameImg) > 0 {
				t.Fatalf("remote image loaded before Show images: requests %v", seen)
			}
			browserDo(t, ctx, "Show images", chromedp.Click(chromedp.CSS("#show-images")))
			deadline := time.Now().Add(browserTimeout)
			tick := time.NewTicker(20 * time.Millisecond) // poll interval
			defer tick.Stop()
			for browserEval[int](t, ctx, frameImg) != 1 {
				if time.Now().After(deadline) {
					t.Fatalf("the image did not load after Show images; requests %v", bi.seen())
				}
				<-tick.C
			}
			seen := bi.seen()
			if len(seen) != 1 || seen[0] != tracker+"?"+tc.profile {
				t.Errorf("requests after Show images %v; want the one image", seen)
			}
			// The violation recorder works: a style the CSP does not list
			// is reported.
			browserEval[bool](t, ctx, `!!document.head.appendChild(Object.assign(document.createElement('style'), {textContent: 'p { color: red }'}))`)
			for browserEval[string](t, ctx, `window.__cspViolations.join("; ")`) == "" {
				if time.Now().After(deadline) {
					t.Fatal("an unlisted inline style was not reported as a CSP violation: the recorder sees nothing")
				}
				<-tick.C
			}
		})
	}
}

// The decryptor opens both kinds of payload the sealing makes: a
// compressed one (a short message: text and HTML shrink) and one with no
// compressed packet (an attachment that is already compressed dominates
// the sample, so the message is stored), under both profiles; the
// attachment downloads byte for byte.
func TestBrowserStoredAndCompressedPayloads(t *testing.T) {
	needRoot(t)
	const password = "agreed partner passphrase"
	rcpt := "reader@partner.example.net"
	for _, profile := range []string{"rfc4880", "rfc9580"} {
		for _, tc := range []struct {
			name       string
			attachment int
			compressed bool
		}{{"compressed", 2_000, true}, {"stored", 400_000, false}} {
			t.Run(profile+"/"+tc.name, func(t *testing.T) {
				attachment := make([]byte, tc.attachment)
				if _, err := rand.Read(attachment); err != nil {
					t.Fatal(err)
				}
				msg := browserMessage(rcpt, attachment)
				page := browserSealPartner(t, profile, password, rcpt, msg)
				// Armour is 4/3 of the packets (and a line end in 64): a
				// stored message's payload is 1.37 times the message, a
				// compressed one's clearly less.
				armored := postfixArmorRe.Find(page)
				if r := float64(len(armored)) / float64(len(msg)); (r < 1.3) != tc.compressed {
					t.Fatalf("armoured payload %.2f× the message; want compressed = %v", r, tc.compressed)
				}
				doc := filepath.Join(t.TempDir(), "securedoc.html")
				if err := os.WriteFile(doc, page, 0o644); err != nil {
					t.Fatal(err)
				}
				ctx := startBrowser(t)
				browserDo(t, ctx, "open with the shared password",
					chromedp.Navigate("file://"+doc),
					chromedp.WaitVisible(chromedp.CSS("#open")),
					chromedp.SetValue(chromedp.CSS("#password"), password),
					chromedp.Click(chromedp.CSS("#open")),
					chromedp.WaitVisible(chromedp.CSS("#message")),
				)
				browserCheckMessage(t, ctx, attachment)
			})
		}
	}
}
