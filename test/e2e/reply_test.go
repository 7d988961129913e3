package e2e

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"io"
	"mime/multipart"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/postseal/postseal/test/mta"
)

// Secure reply from the opened message, through the private Postfix: an
// internal sender writes a *secure* message to one internal and two
// external recipients; the first external reader opens the securedoc in
// Chromium (from disk, then Open Online on a phone-sized screen) and
// answers with Reply, Reply all and Forward. Internal addresses get the
// answer in the clear, external ones a new envelope that gpg opens with
// `postseal envelope key`.
func TestSecureReply(t *testing.T) {
	needRoot(t)
	ctx := startBrowser(t)
	env := startPostfixEnv(t)
	pf, ps := env.pf, env.ps
	base := fmt.Sprintf("http://127.0.0.1:%d", ps.HTTPPort)
	const (
		nurse    = "nurse@example.org"
		reader   = "reply-reader@partner.example.net"
		other    = "reply-other@clinic.example.net"
		newcomer = "kim@third.example.net"
		password = "a reply reader's long password"
		origID   = "<referral-1@example.org>"
	)
	msg := strings.ReplaceAll(fmt.Sprintf(`From: Alice Doctor <%s>
To: %s, %s
Cc: %s
Subject: *secure* Referral for Pat
Date: Thu, 03 Dec 2026 09:00:00 +0000
Message-ID: %s
MIME-Version: 1.0
Content-Type: text/plain; charset=utf-8

Please see Pat on Monday. Diagnosis attached in the record.
`, postfixSender, reader, other, nurse, origID), "\n", "\r\n")
	mark := postfixMustAccept(t, pf, mta.SMTP, postfixSender, []string{nurse, reader, other}, []byte(msg))
	sealed := postfixOpenSealed(t, ps, postfixWait(t, pf, mark, reader, 1)[0])
	otherSealed := postfixWait(t, pf, mark, other, 1)[0]
	keyserverRegister(t, pf, mark, base, reader, sealed.ID, password, 1)
	doc := filepath.Join(t.TempDir(), sealed.AttachmentName)
	if err := os.WriteFile(doc, sealed.HTML, 0o644); err != nil {
		t.Fatal(err)
	}
	docURL := "file://" + doc
	attachment := make([]byte, 30_000)
	if _, err := rand.Read(attachment); err != nil {
		t.Fatal(err)
	}
	upload := filepath.Join(t.TempDir(), "booking.pdf")
	if err := os.WriteFile(upload, attachment, 0o644); err != nil {
		t.Fatal(err)
	}

	// openDoc opens the page at url ("": the page already shown).
	openDoc := func(t *testing.T, url string) {
		t.Helper()
		var nav []chromedp.Action[chromedp.Void]
		if url != "" {
			nav = append(nav, chromedp.Navigate(url))
		}
		browserDo(t, ctx, "open the securedoc", append(nav,
			chromedp.WaitVisible(chromedp.CSS("#open")),
			chromedp.SetValue(chromedp.CSS("#password"), password),
			chromedp.Click(chromedp.CSS("#open")),
			chromedp.WaitVisible(chromedp.CSS("#reply-actions")),
		)...)
	}
	// send answers with the compose form and returns what the page said.
	send := func(t *testing.T, kind, to, text string, files ...string) string {
		t.Helper()
		steps := []chromedp.Action[chromedp.Void]{
			chromedp.Click(chromedp.CSS("#reply-" + kind)),
			chromedp.WaitVisible(chromedp.CSS("#compose-text")),
		}
		if to != "" {
			steps = append(steps, chromedp.SetValue(chromedp.CSS("#compose-to"), to))
		}
		steps = append(steps, chromedp.SetValue(chromedp.CSS("#compose-text"), text))
		if len(files) > 0 {
			steps = append(steps, chromedp.SetUploadFiles(chromedp.CSS("#compose-files"), files))
		}
		browserDo(t, ctx, kind, append(steps,
			chromedp.Evaluate[chromedp.Void](`delete document.documentElement.dataset.reply`),
			chromedp.Click(chromedp.CSS("#compose-send")),
			chromedp.WaitVisible(chromedp.CSS("#compose-sent")),
		)...)
		return browserText(ctx, "#compose-sent")
	}

	t.Run("ReplyFromDisk", func(t *testing.T) {
		openDoc(t, docURL)
		labels := browserEval[[]string](t, ctx, `[...document.querySelectorAll('#reply-actions button')].map(b => b.textContent)`)
		if strings.Join(labels, "|") != "Reply|Reply all|Forward" {
			t.Errorf("buttons %q; want Reply, Reply all, Forward", labels)
		}
		browserDo(t, ctx, "compose a reply", chromedp.Click(chromedp.CSS("#reply-reply")), chromedp.WaitVisible(chromedp.CSS("#compose-text")))
		for sel, want := range map[string]string{"#compose-to": "To", "#compose-text": "Message", "#compose-files": "Attachments"} {
			if got := browserEval[string](t, ctx, `document.querySelector('`+sel+`').labels[0].textContent`); got != want {
				t.Errorf("%s labelled %q; want %q", sel, got, want)
			}
		}
		if to := browserEval[string](t, ctx, `document.querySelector('#compose-to').readOnly + ' ' + document.querySelector('#compose-to').value`); to != "true "+postfixSender {
			t.Errorf("Reply's To: %q", to)
		}
		if q := browserText(ctx, "#compose-quote"); !strings.Contains(q, "> Please see Pat on Monday.") {
			t.Errorf("the original is not quoted: %q", q)
		}
		said := send(t, "reply", "", "The referral is booked for Monday 10:00.", upload)
		if !strings.Contains(said, "Sent") || !strings.Contains(said, postfixSender) {
			t.Errorf("after Send the page says %q", said)
		}
		d := replyWait(t, pf, postfixSender, "The referral is booked")
		h := postfixHeader(t, d.Data)
		if s := postfixSubject(t, d.Data); s != "Re: Referral for Pat [-Encrypted-]" {
			t.Errorf("Subject %q", s)
		}
		if h.Get("In-Reply-To") != origID || h.Get("X-Postseal-Envelope") != "" {
			t.Errorf("In-Reply-To %q, X-Postseal-Envelope %q: want the original's id, in the clear", h.Get("In-Reply-To"), h.Get("X-Postseal-Envelope"))
		}
		if from, _ := h.AddressList("From"); len(from) != 1 || from[0].Address != reader {
			t.Errorf("From %v", from)
		}
		if files, _ := postfixAttachments(t, d.Data); !bytes.Equal(files["booking.pdf"], attachment) {
			t.Errorf("the attachment arrived as %d bytes, not the %d sent", len(files["booking.pdf"]), len(attachment))
		}
	})

	t.Run("ReplyAll", func(t *testing.T) {
		said := send(t, "reply-all", "", "Reply all: Monday 10:00 confirmed.")
		for _, a := range []string{postfixSender, nurse, other} {
			if !strings.Contains(said, a) {
				t.Errorf("after Send the page says %q; want %s named", said, a)
			}
		}
		replyWait(t, pf, nurse, "Reply all: Monday 10:00 confirmed.")
		replyWait(t, pf, postfixSender, "Reply all: Monday 10:00 confirmed.")
		ds := postfixWait(t, pf, mark, other, 2)
		var fresh *postfixSealed
		var freshData []byte
		for _, d := range ds {
			if !bytes.Equal(d.Data, otherSealed.Data) {
				fresh, freshData = postfixOpenSealed(t, ps, d), d.Data
			}
		}
		if fresh == nil || fresh.ID == "" {
			t.Fatal("no new envelope for the other external recipient")
		}
		if !bytes.Contains(fresh.Payload, []byte("Reply all: Monday 10:00 confirmed.")) {
			t.Errorf("the sealed reply opens to %q", postfixClip(fresh.Payload))
		}
		h := postfixHeader(t, freshData)
		if from, _ := h.AddressList("From"); len(from) != 1 || from[0].Address != "postseal@example.org" || !strings.Contains(from[0].Name, " via Example Health") {
			t.Errorf("the notification comes From %v; want the organisation's address", from)
		}
	})

	t.Run("ForwardSealed", func(t *testing.T) {
		send(t, "forward", newcomer, "Forwarding for your records.")
		d := postfixWait(t, pf, mark, newcomer, 1)[0]
		s := postfixOpenSealed(t, ps, d)
		if !bytes.Contains(s.Payload, []byte("Forwarding for your records.")) || !bytes.Contains(s.Payload, []byte("Subject: Fwd: Referral for Pat")) {
			t.Errorf("the forward opens to %q", postfixClip(s.Payload))
		}
		// The clear header: the subject the server made from the store,
		// nothing naming the forwarded envelope or its Message-ID (they
		// stay inside, for threading).
		h := postfixHeader(t, d.Data)
		if subj := postfixSubject(t, d.Data); subj != "Fwd: Referral for Pat [-Encrypted-]" {
			t.Errorf("the forward's clear Subject %q", subj)
		}
		for _, name := range []string{"X-Postseal-In-Reply-To", "References", "In-Reply-To"} {
			if v := h.Get(name); v != "" {
				t.Errorf("the forward's clear header has %s: %q", name, v)
			}
		}
		if !bytes.Contains(s.Payload, []byte("X-Postseal-In-Reply-To: ")) {
			t.Errorf("the forward's payload lost X-Postseal-In-Reply-To: %q", postfixClip(s.Payload))
		}
	})

	t.Run("OpenOnlineOnAPhone", func(t *testing.T) {
		browserDo(t, ctx, "Open Online", chromedp.EmulateViewport(390, 844), chromedp.Navigate(docURL), chromedp.WaitVisible(chromedp.CSS(`#open-online button[type="submit"]`)))
		browserSubmit(t, ctx, `#open-online button[type="submit"]`)
		openDoc(t, "")
		browserDo(t, ctx, "compose", chromedp.Click(chromedp.CSS("#reply-reply")), chromedp.WaitVisible(chromedp.CSS("#compose-text")))
		if w := browserEval[int](t, ctx, `document.documentElement.scrollWidth - window.innerWidth`); w > 0 {
			t.Errorf("the compose form is %d px wider than a 390 px screen", w)
		}
		if n := browserEval[int](t, ctx, `[...document.querySelectorAll('#reply input, #reply textarea')].filter(e => !e.closest('[hidden]') && !(e.labels && e.labels.length)).length`); n != 0 {
			t.Errorf("%d visible compose controls without a label", n)
		}
		said := send(t, "reply", "", "Sent from Open Online.")
		if !strings.Contains(said, postfixSender) {
			t.Errorf("after Send: %q", said)
		}
		replyWait(t, pf, postfixSender, "Sent from Open Online.")
		browserDo(t, ctx, "reset the screen", chromedp.ResetViewport())
	})

	t.Run("ForwardNotAllowed", func(t *testing.T) {
		cfg, err := os.ReadFile(ps.Config)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(ps.Config, append(cfg, "\n[reply]\nallow = [\"reply\", \"reply-all\"]\n"...), 0o600); err != nil {
			t.Fatal(err)
		}
		at := len(ps.Log())
		if err := ps.Reload(); err != nil {
			t.Fatal(err)
		}
		if _, err := ps.WaitLog(at, 20*time.Second, "rules reloaded"); err != nil {
			t.Fatal(err)
		}
		m2 := postfixMustAccept(t, pf, mta.SMTP, postfixSender, []string{reader}, []byte(strings.Replace(msg, origID, "<referral-2@example.org>", 1)))
		// The reader's mail so far: the first envelope, the activation, this one.
		var second *mta.Delivery
		for _, d := range postfixWait(t, pf, m2, reader, 3) {
			if bytes.Contains(d.Data, []byte("X-Postseal-Envelope")) && !bytes.Contains(d.Data, []byte(sealed.ID)) {
				second = d
			}
		}
		if second == nil {
			t.Fatal("the second message was not delivered sealed")
		}
		s := postfixOpenSealed(t, ps, second)
		doc2 := filepath.Join(t.TempDir(), "second.html")
		if err := os.WriteFile(doc2, s.HTML, 0o644); err != nil {
			t.Fatal(err)
		}
		openDoc(t, "file://"+doc2)
		labels := browserEval[[]string](t, ctx, `[...document.querySelectorAll('#reply-actions button')].map(b => b.textContent)`)
		if strings.Join(labels, "|") != "Reply|Reply all" {
			t.Errorf("buttons %q; want Reply and Reply all only", labels)
		}
		status, ans := keyserverReleaseFull(t, base, s.ID, reader, password)
		if status != 200 || ans.ReplyToken == "" {
			t.Fatalf("key release: %d %+v", status, ans)
		}
		if code := replyPostForward(t, base, s.ID, ans.ReplyToken, newcomer); code != http.StatusForbidden {
			t.Errorf("forward where [reply] allow lacks it: %d; want 403", code)
		}
	})
}

// replyWait waits for a clear message to rcpt whose text holds want.
func replyWait(t *testing.T, pf *mta.Postfix, rcpt, want string) *mta.Delivery {
	t.Helper()
	deadline := time.Now().Add(postfixDeliveryTimeout)
	tick := time.NewTicker(20 * time.Millisecond) // poll interval
	defer tick.Stop()
	for {
		got, err := pf.DeliveredTo(rcpt)
		if err != nil {
			t.Fatal(err)
		}
		for _, d := range got {
			if _, texts := postfixAttachments(t, d.Data); strings.Contains(strings.Join(texts, "\n"), want) {
				return d
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("no message to %s with %q after %v\nmaillog:\n%s", rcpt, want, postfixDeliveryTimeout, postfixLogFor(pf, rcpt))
		}
		<-tick.C
	}
}

type replyKeyAnswer struct {
	Key        string   `json:"key"`
	ReplyToken string   `json:"reply_token"`
	Reply      []string `json:"reply"`
}

// keyserverReleaseFull is keyserverRelease's request with the whole answer.
func keyserverReleaseFull(t *testing.T, base, id, email, password string) (int, replyKeyAnswer) {
	t.Helper()
	b, _ := json.Marshal(map[string]string{"email": email, "password": password})
	resp, err := http.Post(base+"/api/v1/envelopes/"+id+"/key", "text/plain;charset=UTF-8", bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var a replyKeyAnswer
	if err := json.NewDecoder(resp.Body).Decode(&a); err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, a
}

// replyPostForward posts a Forward as the page does and returns the status.
func replyPostForward(t *testing.T, base, id, token, to string) int {
	t.Helper()
	code, _ := replyPostAPI(t, base, id, [2]string{"reply_token", token}, [2]string{"kind", "forward"}, [2]string{"to", to}, [2]string{"text", "forward attempt"})
	return code
}

// replyPostAPI posts a reply form with fields in the order given (the
// page sends reply_token first) and returns the status and the answer.
func replyPostAPI(t *testing.T, base, id string, fields ...[2]string) (int, []byte) {
	t.Helper()
	var b bytes.Buffer
	mw := multipart.NewWriter(&b)
	for _, f := range fields {
		_ = mw.WriteField(f[0], f[1])
	}
	mw.Close()
	req, _ := http.NewRequestWithContext(context.Background(), "POST", base+"/api/v1/envelopes/"+id+"/reply", &b)
	req.Header.Set("Content-Type", mw.FormDataContentType())
	req.Header.Set("Origin", "null")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, body
}
