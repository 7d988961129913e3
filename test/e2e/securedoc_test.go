package e2e

// The securedoc's decryptor, linked and embedded, in real browsers: a
// linked page loads the decryptor from a real key service (in-process, on
// loopback, SQLite store) and runs it only if it is the code the page pins;
// an embedded page opens with no network at all. Pages are opened from disk
// (file://) in headless Chromium (chromedp) and Firefox ESR (puppeteer-core,
// see test/firefox).

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"

	"github.com/postseal/postseal/envelope"
	"github.com/postseal/postseal/keyserver"
	"github.com/postseal/postseal/store"
	"github.com/postseal/postseal/test/mta"
)

const (
	docRecipient = "linked-reader@partner.example.net"
	docPassword  = "correct horse battery staple"
)

// docKeyService is a real key service on loopback with one active account
// (docRecipient, docPassword).
type docKeyService struct {
	URL string
	st  store.Store
}

func startDocKeyService(t *testing.T) *docKeyService {
	t.Helper()
	ctx := context.Background()
	dir := t.TempDir()
	mk, err := store.LoadMasterKey(filepath.Join(dir, "master.key"), true)
	if err != nil {
		t.Fatal(err)
	}
	st, err := store.OpenSQLite(ctx, filepath.Join(dir, "postseal.db"), mk)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	// A cheap hash: the key service's cost is not what is tested here.
	params := keyserver.Argon2{MemoryKiB: 1024, Time: 1, Threads: 1}
	hash, err := keyserver.HashPassword(params, docPassword)
	if err != nil {
		t.Fatal(err)
	}
	if err := st.CreateAccount(ctx, store.Account{Email: docRecipient, FirstName: "Lin", LastName: "Ked", PasswordHash: hash, Active: true, Created: time.Now()}); err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewUnstartedServer(nil)
	base := "http://" + ts.Listener.Addr().String()
	srv, err := keyserver.New(keyserver.Config{PublicURL: base, Organization: "Example Health", From: "postseal@example.org", Argon2: params},
		keyserver.Deps{Store: st, Mailer: discardMailer{}})
	if err != nil {
		t.Fatal(err)
	}
	ts.Config.Handler = srv
	ts.Start()
	t.Cleanup(ts.Close)
	return &docKeyService{URL: base, st: st}
}

type discardMailer struct{}

func (discardMailer) Enqueue(context.Context, string, []string, []byte) error { return nil }

// sealDoc seals a message for docRecipient and writes its securedoc page to
// a file; with ks the envelope's key is stored there.
func sealDoc(t *testing.T, ks *docKeyService, opt envelope.Options, password []byte) string {
	t.Helper()
	return sealDocOf(t, ks, opt, password, browserMessage(docRecipient, []byte("attachment bytes")))
}

// sealDocOf is sealDoc for the message msg.
func sealDocOf(t *testing.T, ks *docKeyService, opt envelope.Options, password, msg []byte) string {
	t.Helper()
	id := envelope.NewID()
	now := time.Now()
	s, err := envelope.Seal(envelope.Request{
		ID:         id,
		Original:   bytes.NewReader(msg),
		Display:    envelope.Display{From: postfixSender, To: docRecipient, Subject: "Your results", Date: now.Format(time.RFC1123Z)},
		Recipients: []string{docRecipient},
		Password:   password,
		Now:        now,
	}, opt)
	if err != nil {
		t.Fatal(err)
	}
	if ks != nil && s.Key != nil {
		err := ks.st.PutEnvelope(context.Background(), store.Envelope{ID: id, Sender: postfixSender, Recipients: []string{docRecipient},
			Kind: "keyservice", Created: now, Expires: now.Add(time.Hour)}, s.Key)
		if err != nil {
			t.Fatal(err)
		}
	}
	var whole bytes.Buffer
	if err := envelope.WriteMessage(&whole, bytes.NewReader(browserMessage(docRecipient, nil)), "Your results", s); err != nil {
		t.Fatal(err)
	}
	files, _ := postfixAttachments(t, whole.Bytes())
	page := files[s.AttachmentName]
	if page == nil {
		t.Fatalf("no %s in the sealed message", s.AttachmentName)
	}
	doc := filepath.Join(t.TempDir(), s.AttachmentName)
	if err := os.WriteFile(doc, page, 0o644); err != nil {
		t.Fatal(err)
	}
	return "file://" + doc
}

// docOpts are the sealing options of a page whose key service is at base.
func docOpts(base string, d envelope.Decryptor) envelope.Options {
	return envelope.Options{Profile: envelope.ProfileRFC4880, OrgName: "Example Health", PublicURL: base, Decryptor: d}
}

// chromiumOpen loads the page, lets it settle (the Open form or the error
// box shows) and, with a password, opens the message; it returns what the
// page shows as Firefox's driver does.
func chromiumOpen(t *testing.T, ctx context.Context, docURL, password string) mta.FirefoxResult {
	t.Helper()
	browserDo(t, ctx, "load "+docURL,
		chromedp.Navigate(docURL),
		chromedp.Poll[chromedp.Void](`!document.getElementById('unlock').hidden || !document.getElementById('error').hidden`),
	)
	if password != "" && browserEval[bool](t, ctx, `!document.getElementById('unlock').hidden`) {
		browserDo(t, ctx, "open",
			chromedp.SetValue(chromedp.CSS("#password"), password),
			chromedp.Click(chromedp.CSS("#open")),
			chromedp.Poll[chromedp.Void](`!document.getElementById('message').hidden || !document.getElementById('error').hidden`),
		)
	}
	var r mta.FirefoxResult
	r.Outcome = browserEval[string](t, ctx, `!document.getElementById('message').hidden ? 'message' : !document.getElementById('error').hidden ? 'error' : 'form'`)
	if r.Outcome == "error" {
		r.Error = browserText(ctx, "#error")
	}
	r.Decryptor = browserEval[string](t, ctx, `document.documentElement.dataset.decryptor || ""`)
	r.Subject = browserText(ctx, "#msg-subject")
	if err := json.Unmarshal([]byte(browserEval[string](t, ctx, `JSON.stringify(`+mta.TextLayoutJS+`)`)), &r); err != nil {
		t.Fatal(err)
	}
	return r
}

func firefoxOpen(t *testing.T, docURL, password string) mta.FirefoxResult {
	t.Helper()
	root, err := mta.RepoRoot()
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	res, err := mta.RunFirefox(ctx, root, mta.FirefoxOpen{URL: docURL, Password: password, TextLayout: true})
	if err != nil {
		t.Fatal(err)
	}
	return res[0]
}

// docBrowsers runs the same check in both browsers.
func docBrowsers(t *testing.T, check func(t *testing.T, open func(docURL, password string) mta.FirefoxResult)) {
	t.Run("Chromium", func(t *testing.T) {
		ctx := startBrowser(t)
		check(t, func(u, p string) mta.FirefoxResult { return chromiumOpen(t, ctx, u, p) })
	})
	t.Run("Firefox", func(t *testing.T) {
		check(t, func(u, p string) mta.FirefoxResult { return firefoxOpen(t, u, p) })
	})
}

func TestSecuredocLinked(t *testing.T) {
	ks := startDocKeyService(t)
	docURL := sealDoc(t, ks, docOpts(ks.URL, envelope.DecryptorLinked), nil)
	page, err := os.ReadFile(strings.TrimPrefix(docURL, "file://"))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(page, []byte(`id="postseal-loader"`)) || bytes.Contains(page, []byte("postseal-decryptor")) {
		t.Fatal("the page is not a linked one")
	}

	t.Run("OpensFromDisk", func(t *testing.T) {
		docBrowsers(t, func(t *testing.T, open func(string, string) mta.FirefoxResult) {
			if r := open(docURL, docPassword); r.Outcome != "message" || r.Subject != "*secure* Your results" {
				t.Errorf("opened: %+v; want the message with its subject", r)
			}
		})
	})

	// A key service that serves another decryptor at the pinned URL (a
	// compromised or misconfigured one): the page runs nothing and says
	// so. The same proxy serving the genuine decryptor opens the page, so
	// the refusal is the integrity check's doing.
	t.Run("ModifiedDecryptorDoesNotRun", func(t *testing.T) {
		target, _ := url.Parse(ks.URL)
		var mu sync.Mutex
		tamper := true
		a := envelope.LinkedDecryptor()
		proxy := httputil.NewSingleHostReverseProxy(target)
		ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			mu.Lock()
			bad := tamper
			mu.Unlock()
			if r.URL.Path != a.Path {
				proxy.ServeHTTP(w, r)
				return
			}
			w.Header().Set("Access-Control-Allow-Origin", "*")
			w.Header().Set("Content-Type", "text/javascript")
			w.Header().Set("Cache-Control", "no-store")
			if bad {
				// The genuine code, plus a line that would mark the page.
				_, _ = w.Write([]byte(`document.documentElement.dataset.tampered="ran";` + "\n"))
			}
			_, _ = w.Write(a.Body)
		}))
		defer ts.Close()
		// The page's key service is the proxy; the envelope lives in ks.
		docURL := sealDoc(t, ks, docOpts(ts.URL, envelope.DecryptorLinked), nil)
		docBrowsers(t, func(t *testing.T, open func(string, string) mta.FirefoxResult) {
			mu.Lock()
			tamper = true
			mu.Unlock()
			r := open(docURL, "")
			if r.Outcome != "error" || r.Decryptor != "unavailable" || !strings.Contains(r.Error, "did not send the message reader this message was sealed with") {
				t.Errorf("modified decryptor: %+v; want it refused with a sentence saying so", r)
			}
			mu.Lock()
			tamper = false
			mu.Unlock()
			if r := open(docURL, docPassword); r.Outcome != "message" || r.Decryptor != "ready" {
				t.Errorf("genuine decryptor through the same proxy: %+v; want the message", r)
			}
		})
	})

	t.Run("KeyServiceUnreachable", func(t *testing.T) {
		dead := fmt.Sprintf("http://127.0.0.1:%d", freePort(t))
		docURL := sealDoc(t, nil, docOpts(dead, envelope.DecryptorLinked), nil)
		docBrowsers(t, func(t *testing.T, open func(string, string) mta.FirefoxResult) {
			r := open(docURL, "")
			if r.Outcome != "error" || !strings.Contains(r.Error, "The key service of Example Health at "+dead+" cannot be reached") {
				t.Errorf("key service down: %+v; want a sentence saying %s cannot be reached", r, dead)
			}
		})
	})
}

// TestSecuredocEmbeddedOffline: a partner's shared-password envelope
// carries its decryptor and opens with no request to any network (every
// request the browser makes is recorded; only the file itself and what the
// page makes in memory may appear). Its key service address points
// nowhere, so any attempt would fail in Firefox too.
func TestSecuredocEmbeddedOffline(t *testing.T) {
	dead := fmt.Sprintf("http://127.0.0.1:%d", freePort(t))
	const shared = "partner shared password 2026"
	docURL := sealDoc(t, nil, docOpts(dead, envelope.DecryptorLinked), []byte(shared))

	t.Run("Chromium", func(t *testing.T) {
		ctx := startBrowser(t)
		var mu sync.Mutex
		var requests []string
		chromedp.Listen(ctx, func(ev any) {
			if e, ok := ev.(*network.EventRequestWillBeSent); ok {
				mu.Lock()
				requests = append(requests, e.Request.URL)
				mu.Unlock()
			}
		})
		if _, err := chromedp.Call(ctx, network.Enable, network.EnableParams{}); err != nil {
			t.Fatal(err)
		}
		if r := chromiumOpen(t, ctx, docURL, shared); r.Outcome != "message" || r.Subject != "*secure* Your results" {
			t.Fatalf("opened: %+v; want the message", r)
		}
		mu.Lock()
		defer mu.Unlock()
		for _, u := range requests {
			if !strings.HasPrefix(u, "file:") && !strings.HasPrefix(u, "blob:") && !strings.HasPrefix(u, "data:") {
				t.Errorf("the embedded page requested %s", u)
			}
		}
		if len(requests) == 0 {
			t.Error("no request recorded at all: the recorder does not work")
		}
	})
	t.Run("Firefox", func(t *testing.T) {
		if r := firefoxOpen(t, docURL, shared); r.Outcome != "message" || r.Subject != "*secure* Your results" {
			t.Errorf("opened: %+v; want the message", r)
		}
	})
}

// TestSecuredocLongText: a text part of 400 KB is shown in blocks the
// browser lays out only near the screen (render.js), and what the page
// holds is still the whole text, line for line, without a blank line
// where one block ends and the next begins.
func TestSecuredocLongText(t *testing.T) {
	dead := fmt.Sprintf("http://127.0.0.1:%d", freePort(t))
	const shared = "partner shared password 2026"
	var body strings.Builder
	for i := 0; body.Len() < 400_000; i++ {
		fmt.Fprintf(&body, "line %d of the long report: creatinine within normal limits\n", i)
	}
	msg := "From: Dr Who <" + postfixSender + ">\nTo: <" + docRecipient + ">\nSubject: *secure* Your results\n" +
		"MIME-Version: 1.0\nContent-Type: text/plain; charset=us-ascii\n\n" + body.String()
	docURL := sealDocOf(t, nil, docOpts(dead, envelope.DecryptorLinked), []byte(shared), []byte(strings.ReplaceAll(msg, "\n", "\r\n")))
	docBrowsers(t, func(t *testing.T, open func(string, string) mta.FirefoxResult) {
		r := open(docURL, shared)
		if r.Outcome != "message" {
			t.Fatalf("opened: %+v; want the message", r.Outcome)
		}
		if r.Text != body.String() {
			t.Errorf("the page's text is %d characters, want the part's %d, the same", len(r.Text), body.Len())
		}
		// 400 KB in blocks of about 32 KB.
		if r.TextBlocks < 10 || r.TextBlocks > 14 {
			t.Errorf("%d blocks, want 10-14", r.TextBlocks)
		}
		// The first block laid out: as tall as its lines, no more.
		if got, want := r.FirstBlock[0], r.FirstBlock[1]; want == 0 || got < want-5 || got > want+5 {
			t.Errorf("first block laid out %.1f px tall, want its lines' %.1f", got, want)
		}
	})
}
