package e2e

// The message pipeline end to end: SMTP (or sendmail(1)) → a private Postfix
// → postseal as milter → Postfix's virtual delivery into the sink. Every
// subtest uses its own recipient addresses, so they run in parallel against
// one Postfix and one postseal; the two that stop or break their postseal
// get one of their own behind a dedicated smtpd listener.

import (
	"bytes"
	"context"
	"database/sql"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"

	_ "modernc.org/sqlite"

	"github.com/postseal/postseal/test/mta"
)

const postfixSender = "alice@example.org"

func TestPostfix(t *testing.T) {
	needRoot(t)
	env := startPostfixEnv(t)
	pf, ps := env.pf, env.ps
	// Runs after every subtest: bodies spilled to disk while filtered are
	// plaintext mail, so the spool must be private and left empty.
	t.Cleanup(func() {
		spool := filepath.Join(ps.Dir, "spool")
		st, err := os.Stat(spool)
		if err != nil || st.Mode().Perm() != 0o700 {
			t.Errorf("spool %s: %v, mode %v; want a 0700 folder", spool, err, st.Mode())
		}
		if left, _ := os.ReadDir(spool); len(left) != 0 {
			t.Errorf("spool %s holds %d files after the messages were handled", spool, len(left))
		}
	})

	t.Run("SecureExternalAttachment", func(t *testing.T) {
		t.Parallel()
		rcpt := "secure-attach@partner.example.net"
		sent := postfixMessage(t, "secure-attachment.eml")
		mark := postfixMustAccept(t, pf, mta.SMTP, postfixSender, []string{rcpt}, sent)
		d := postfixWait(t, pf, mark, rcpt, 1)[0]
		s := postfixOpenSealed(t, ps, d)
		postfixCheckSecureAttachment(t, d, s, sent)
		envl := postfixShowEnvelope(t, ps, s.ID)
		if !slices.Equal(envl.Recipients, []string{rcpt}) {
			t.Errorf("envelope recipients %v, want [%s]", envl.Recipients, rcpt)
		}
		if envl.Sender != postfixSender {
			t.Errorf("envelope sender %q, want %q", envl.Sender, postfixSender)
		}
	})

	t.Run("PlusPlusExternal", func(t *testing.T) {
		t.Parallel()
		rcpt := "plusplus@partner.example.net"
		sent := postfixMessage(t, "plusplus.eml")
		mark := postfixMustAccept(t, pf, mta.SMTP, postfixSender, []string{rcpt}, sent)
		d := postfixWait(t, pf, mark, rcpt, 1)[0]
		s := postfixOpenSealed(t, ps, d)
		if s.Subject != "[SECURE MESSAGE] Lab results" {
			t.Errorf("delivered Subject %q, want %q", s.Subject, "[SECURE MESSAGE] Lab results")
		}
		postfixCheckPayload(t, s, sent, "Subject: ++ Lab results")
		postfixCheckHidden(t, d, "plusplus body marker", "Potassium")
	})

	t.Run("HugeHeaders", func(t *testing.T) {
		// A header field of 50 KB (a long References chain): untouched
		// mail passes byte for byte, tagged mail is sealed with it whole.
		// (Fields over ~60 KB are cut by Postfix itself whenever any milter
		// is configured, so they cannot pass unchanged; see README.)
		t.Parallel()
		var refs strings.Builder
		for i := 0; refs.Len() < 50_000; i++ {
			fmt.Fprintf(&refs, "\n <ref%06d.thread@lists.example.org>", i)
		}
		for _, tc := range []struct{ rcpt, subject string }{
			{"huge-plain@partner.example.net", "Long thread"},
			{"huge-secure@partner.example.net", "*secure* Long thread"},
		} {
			sent := []byte("From: Alice <alice@example.org>\nTo: <" + tc.rcpt + ">\nSubject: " + tc.subject +
				"\nReferences:" + refs.String() + "\nMessage-ID: <huge." + tc.rcpt + ">\nDate: Mon, 23 Nov 2026 16:00:00 +0000\n\nBody of the long thread.\n")
			mark := postfixMustAccept(t, pf, mta.SMTP, postfixSender, []string{tc.rcpt}, sent)
			d := postfixWait(t, pf, mark, tc.rcpt, 1)[0]
			if strings.HasPrefix(tc.subject, "*secure*") {
				s := postfixOpenSealed(t, ps, d)
				postfixCheckPayload(t, s, sent, "Subject: "+tc.subject)
			} else {
				postfixAssertUntouched(t, d, sent)
			}
		}
	})

	t.Run("UntriggeredExternal", func(t *testing.T) {
		t.Parallel()
		rcpt := "plain@partner.example.net"
		sent := postfixMessage(t, "plain.eml")
		mark := postfixMustAccept(t, pf, mta.SMTP, postfixSender, []string{rcpt}, sent)
		d := postfixWait(t, pf, mark, rcpt, 1)[0]
		postfixAssertUntouched(t, d, sent)
		if got := postfixSubject(t, d.Data); got != "Lunch on Friday" {
			t.Errorf("Subject %q, want %q", got, "Lunch on Friday")
		}
	})

	t.Run("InternalOnlyTagged", func(t *testing.T) {
		t.Parallel()
		rcpts := []string{"internal-bob@example.org", "internal-ward7@cardio.example.org"}
		sent := postfixMessage(t, "internal-secure.eml")
		mark := postfixMustAccept(t, pf, mta.SMTP, postfixSender, rcpts, sent)
		for _, rcpt := range rcpts {
			d := postfixWait(t, pf, mark, rcpt, 1)[0]
			postfixAssertUntouched(t, d, sent)
			if got := postfixSubject(t, d.Data); got != "*secure* Handover ward 7" {
				t.Errorf("%s: Subject %q, want the tag kept: %q", rcpt, got, "*secure* Handover ward 7")
			}
		}
	})

	t.Run("MixedSplit", func(t *testing.T) {
		t.Parallel()
		internal, external := "split-int@example.org", "split-ext@partner.example.net"
		sent := postfixMessage(t, "secure-attachment.eml")
		mark := postfixMustAccept(t, pf, mta.SMTP, postfixSender, []string{internal, external}, sent)
		di := postfixWait(t, pf, mark, internal, 1)[0]
		de := postfixWait(t, pf, mark, external, 1)[0]
		// No clear copy reaches the external recipient after the sealed one.
		postfixExactlyOne(t, pf, internal, external)
		postfixAssertUntouched(t, di, sent)
		s := postfixOpenSealed(t, ps, de)
		postfixCheckSecureAttachment(t, de, s, sent)
		envl := postfixShowEnvelope(t, ps, s.ID)
		if !slices.Equal(envl.Recipients, []string{external}) {
			t.Errorf("envelope recipients %v, want only the external [%s]", envl.Recipients, external)
		}
		// The sealed copy went out through the re-injection listener.
		if ls := pf.MaillogGrep("postfix-"+mta.Reinject+"/", "client=localhost"); len(ls) == 0 {
			t.Errorf("no session on the re-injection listener in the maillog")
		}
	})

	t.Run("UTF8Subject", func(t *testing.T) {
		t.Parallel()
		rcpt := "utf8@partner.example.net"
		sent := postfixMessage(t, "utf8-subject.eml")
		mark := postfixMustAccept(t, pf, mta.SMTP, postfixSender, []string{rcpt}, sent)
		d := postfixWait(t, pf, mark, rcpt, 1)[0]
		s := postfixOpenSealed(t, ps, d)
		want := "Befund für Müller – Überweisung [-Encrypted-]"
		if s.Subject != want {
			t.Errorf("delivered Subject %q, want %q", s.Subject, want)
		}
		if strings.Contains(strings.ToLower(s.Subject), "*secure*") {
			t.Errorf("tag left in the subject: %q", s.Subject)
		}
		for _, line := range strings.Split(string(s.Header), "\n") {
			if len(line) > 998 {
				t.Errorf("header line of %d octets", len(line))
			}
			for _, c := range []byte(line) {
				if c >= 0x80 {
					t.Errorf("raw 8-bit octet in header line %q (want RFC 2047)", line)
					break
				}
			}
		}
		postfixCheckPayload(t, s, sent, "Subject: =?UTF-8?B?KnNlY3VyZSogQmVmdW5kIGbDvHIgTcO8bGxlciDigJMgw5xiZXJ3ZWlzdW5n?=")
		postfixCheckHidden(t, d, "utf8 body marker")
	})

	t.Run("ReplyWithMarker", func(t *testing.T) {
		t.Parallel()
		rcpt := "reply@partner.example.net"
		sent := postfixMessage(t, "reply-encrypted.eml")
		mark := postfixMustAccept(t, pf, mta.SMTP, postfixSender, []string{rcpt}, sent)
		d := postfixWait(t, pf, mark, rcpt, 1)[0]
		s := postfixOpenSealed(t, ps, d)
		if want := "Re: Lab results [-Encrypted-]"; s.Subject != want {
			t.Errorf("delivered Subject %q, want %q (marker not doubled)", s.Subject, want)
		}
		postfixCheckPayload(t, s, sent, "Subject: Re: Lab results [-Encrypted-]")
		postfixCheckHidden(t, d, "reply body marker")
	})

	t.Run("Oversized11MB", func(t *testing.T) {
		t.Parallel()
		rcpt := "oversize@partner.example.net"
		msg := postfixLargeMessage(11_000_000)
		mark := pf.LogMark()
		rep := postfixSend(t, pf, mta.SMTP, postfixSender, []string{rcpt}, msg)
		if rep.Stage != "EOM" || rep.Code != 552 || !strings.HasPrefix(rep.Text, "5.3.4") {
			t.Fatalf("11 MB triggered message: got %v, want 552 5.3.4 after the data\nmaillog:\n%s", rep, postfixLogFor(pf, rcpt))
		}
		if _, err := pf.WaitMaillog(mark, postfixLogTimeout, "milter-reject", "to=<"+rcpt+">"); err != nil {
			t.Fatal(err)
		}
		postfixNothingDelivered(t, pf, rcpt)
	})

	t.Run("SecureLarge5MB", func(t *testing.T) {
		// Above the in-memory limit: the body spills to the spool while
		// filtered, and the sealed copy (≈1.1× larger) still fits Postfix.
		t.Parallel()
		rcpt := "large@partner.example.net"
		sent := postfixLargeMessage(5_000_000)
		mark := postfixMustAccept(t, pf, mta.SMTP, postfixSender, []string{rcpt}, sent)
		d := postfixWait(t, pf, mark, rcpt, 1)[0]
		s := postfixOpenSealed(t, ps, d)
		if s.Subject != "Imaging report (large) [-Encrypted-]" {
			t.Errorf("subject %q", s.Subject)
		}
		postfixCheckPayload(t, s, sent, "Subject: *secure* Imaging report (large)")
		postfixCheckHidden(t, d, "lorem ipsum dolor sit amet")
	})

	t.Run("ConcurrentSeal", func(t *testing.T) {
		// 20 sessions at once, as a busy relay would: every triggered
		// message must be accepted and sealed, none temp-failed because
		// sealing or the store cannot keep up with concurrency.
		t.Parallel()
		const sessions, each = 20, 5
		rcpt := "concurrent@partner.example.net"
		base := postfixMessage(t, "plusplus.eml")
		mark := pf.LogMark()
		var wg sync.WaitGroup
		errs := make(chan string, sessions*each)
		for s := 0; s < sessions; s++ {
			wg.Add(1)
			go func(s int) {
				defer wg.Done()
				for i := 0; i < each; i++ {
					msg := bytes.Replace(base, []byte("<plusplus."), []byte(fmt.Sprintf("<concurrent-%d-%d.", s, i)), 1)
					rep, err := mta.Send(pf.SMTPAddr(), postfixSender, []string{rcpt}, msg)
					if err != nil || !rep.Accepted() {
						errs <- fmt.Sprintf("session %d message %d: %v %v", s, i, rep, err)
					}
				}
			}(s)
		}
		wg.Wait()
		close(errs)
		var failed []string
		for e := range errs {
			failed = append(failed, e)
		}
		if len(failed) > 0 {
			t.Fatalf("%d of %d concurrent triggered messages not accepted, e.g.:\n%s", len(failed), sessions*each, strings.Join(failed[:min(len(failed), 5)], "\n"))
		}
		got := postfixWait(t, pf, mark, rcpt, sessions*each)
		for _, d := range got {
			if hdr, _ := postfixSplit(d.Data); !bytes.Contains(hdr, []byte("\nX-Postseal-Envelope: ")) {
				t.Fatalf("a concurrent message was delivered unsealed:\n%s", hdr)
			}
		}
		postfixOpenSealed(t, ps, got[len(got)/2])
	})

	t.Run("SendmailSubmission", func(t *testing.T) {
		t.Parallel()
		rcpt := "sendmail-ext@partner.example.net"
		sent := postfixMessage(t, "secure-attachment.eml")
		mark := pf.LogMark()
		if err := pf.Sendmail(postfixSender, []string{rcpt}, sent); err != nil {
			t.Fatal(err)
		}
		d := postfixWait(t, pf, mark, rcpt, 1)[0]
		s := postfixOpenSealed(t, ps, d)
		postfixCheckSecureAttachment(t, d, s, sent)
		if ls := pf.MaillogGrepSince(mark, "postfix/pickup", "from=<"+postfixSender+">"); len(ls) == 0 {
			t.Errorf("no pickup(8) line in the maillog: the message did not take the sendmail path")
		}
	})

	t.Run("MilterStopped", func(t *testing.T) {
		t.Parallel()
		own := startPostseal(t, PostsealConfig{ReinjectPort: env.ReinjectPort, MilterPort: env.milterPorts[postfixListenerStopped]})
		sent := postfixMessage(t, "plusplus.eml")
		// While it runs, the listener seals: proves it uses this postseal.
		before := "stopped-before@partner.example.net"
		mark := postfixMustAccept(t, pf, postfixListenerStopped, postfixSender, []string{before}, sent)
		postfixOpenSealed(t, own, postfixWait(t, pf, mark, before, 1)[0])

		own.Stop()
		after := "stopped-after@partner.example.net"
		mark = pf.LogMark()
		rep := postfixSend(t, pf, postfixListenerStopped, postfixSender, []string{after}, sent)
		if rep.Code != 451 || !strings.HasPrefix(rep.Text, "4.7.1") {
			t.Fatalf("milter down: got %v, want 451 4.7.1\nmaillog tail:\n%s", rep, pf.MaillogTail(20))
		}
		if _, err := pf.WaitMaillog(mark, postfixLogTimeout, "postfix-"+postfixListenerStopped+"/", "Milter service "+postfixMilterAddr(env.milterPorts[postfixListenerStopped])); err != nil {
			t.Fatal(err)
		}
		postfixNothingDelivered(t, pf, after)
	})

	t.Run("StoreUnavailable", func(t *testing.T) {
		t.Parallel()
		own := startPostseal(t, PostsealConfig{ReinjectPort: env.ReinjectPort, MilterPort: env.milterPorts[postfixListenerStoreDown]})
		dbPath := filepath.Join(own.Dir, "postseal.db")
		if _, err := os.Stat(dbPath); err != nil {
			t.Logf("note: %s does not exist after start (%v); the lock creates it", dbPath, err)
		}
		ctx := context.Background()
		db, err := sql.Open("sqlite", "file:"+dbPath+"?_pragma=busy_timeout(10000)")
		if err != nil {
			t.Fatal(err)
		}
		defer db.Close()
		conn, err := db.Conn(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := conn.ExecContext(ctx, "BEGIN EXCLUSIVE"); err != nil {
			t.Fatalf("locking the store: %v", err)
		}
		locked := true
		unlock := func() {
			if locked {
				locked = false
				if _, err := conn.ExecContext(ctx, "ROLLBACK"); err != nil {
					t.Errorf("unlocking the store: %v", err)
				}
				conn.Close()
			}
		}
		defer unlock()

		rcpt := "storedown@partner.example.net"
		sent := postfixMessage(t, "secure-attachment.eml")
		mark := pf.LogMark()
		rep := postfixSend(t, pf, postfixListenerStoreDown, postfixSender, []string{rcpt}, sent)
		if rep.Code != 451 || !strings.HasPrefix(rep.Text, "4.3.0") {
			t.Fatalf("store locked: got %v, want 451 4.3.0\nmaillog:\n%s", rep, postfixLogFor(pf, rcpt))
		}
		if _, err := pf.WaitMaillog(mark, postfixLogTimeout, "milter-reject", "to=<"+rcpt+">"); err != nil {
			t.Fatal(err)
		}
		postfixNothingDelivered(t, pf, rcpt)

		unlock()
		mark = postfixMustAccept(t, pf, postfixListenerStoreDown, postfixSender, []string{rcpt}, sent)
		d := postfixWait(t, pf, mark, rcpt, 1)[0]
		s := postfixOpenSealed(t, own, d)
		postfixCheckSecureAttachment(t, d, s, sent)
	})
}

// postfixCheckSecureAttachment checks a sealed copy of
// testdata/secure-attachment.eml: the visible subject, nothing of the
// content in the clear, and the decrypted payload with its PDF attachment.
func postfixCheckSecureAttachment(t *testing.T, d *mta.Delivery, s *postfixSealed, sent []byte) {
	t.Helper()
	if want := "Palliative care consult [-Encrypted-]"; s.Subject != want {
		t.Errorf("delivered Subject %q, want %q", s.Subject, want)
	}
	if !bytes.Contains(s.Header, []byte("\nFrom: Dr. Alice Example <alice@example.org>\n")) {
		t.Errorf("sealed copy lost the original From:\n%s", s.Header)
	}
	postfixCheckHidden(t, d, "consult-notes-0042", "MRN 0042-7731", "family meeting", "JVBERi0xLjQK")
	postfixCheckPayload(t, s, sent, "Subject: *secure* Palliative care consult")
	wantFiles, _ := postfixAttachments(t, sent)
	gotFiles, gotTexts := postfixAttachments(t, s.Payload)
	pdf, ok := gotFiles["consult-notes-0042.pdf"]
	switch {
	case !ok:
		t.Errorf("decrypted payload has no consult-notes-0042.pdf attachment (has %d files)", len(gotFiles))
	case !bytes.Equal(pdf, wantFiles["consult-notes-0042.pdf"]):
		t.Errorf("decrypted attachment differs: %d bytes, want %d", len(pdf), len(wantFiles["consult-notes-0042.pdf"]))
	case !bytes.HasPrefix(pdf, []byte("%PDF-1.4")):
		t.Errorf("decrypted attachment is not the PDF: %q", pdf[:min(len(pdf), 16)])
	}
	if len(gotTexts) == 0 || !strings.Contains(gotTexts[0], "family meeting is confirmed") {
		t.Errorf("decrypted text body: %q", gotTexts)
	}
}

// postfixCheckPayload checks that the decrypted payload is the original
// message: its Subject line is there, the body is byte-identical, and the
// whole message is the one sent with only Postfix's Received: field before
// it (line ends normalised).
func postfixCheckPayload(t *testing.T, s *postfixSealed, sent []byte, subjectLine string) {
	t.Helper()
	hdr, body := postfixSplit(s.Payload)
	if !bytes.Contains(append([]byte("\n"), hdr...), []byte("\n"+subjectLine+"\n")) {
		t.Errorf("decrypted payload lacks the original %q; its header:\n%s", subjectLine, hdr)
	}
	_, sentBody := postfixSplit(sent)
	if !bytes.Equal(body, sentBody) {
		t.Errorf("decrypted body differs from the sent body (%d vs %d bytes)\ngot:\n%q\nwant:\n%q",
			len(body), len(sentBody), postfixClip(body), postfixClip(sentBody))
	}
	norm := bytes.ReplaceAll(s.Payload, []byte("\r\n"), []byte("\n"))
	sentNorm := bytes.ReplaceAll(sent, []byte("\r\n"), []byte("\n"))
	if !bytes.HasSuffix(norm, sentNorm) {
		t.Errorf("decrypted payload is not the sent message (plus Postfix's Received:); header:\n%s", hdr)
		return
	}
	prefix := string(norm[:len(norm)-len(sentNorm)])
	for _, line := range strings.SplitAfter(prefix, "\n") {
		if line != "" && !strings.HasPrefix(line, "Received:") && !strings.HasPrefix(line, " ") && !strings.HasPrefix(line, "\t") {
			t.Errorf("decrypted payload has %q before the sent message; only Received: is expected", line)
		}
	}
}

// postfixCheckHidden fails if any of the secrets is readable in the
// delivered copy.
func postfixCheckHidden(t *testing.T, d *mta.Delivery, secrets ...string) {
	t.Helper()
	for _, s := range secrets {
		if bytes.Contains(d.Data, []byte(s)) {
			t.Errorf("%s: %q is readable in the delivered sealed copy", d.Recipient, s)
		}
	}
}

// postfixLargeMessage is a triggered text message of about size bytes.
func postfixLargeMessage(size int) []byte {
	var b bytes.Buffer
	b.Grow(size + 1024)
	b.WriteString("From: Radiology <radiology@example.org>\n" +
		"To: Pat Partner <pat@partner.example.net>\n" +
		"Subject: *secure* Imaging report (large)\n" +
		"Date: Mon, 23 Nov 2026 16:00:00 +0000\n" +
		"Message-ID: <large.20261123160000@example.org>\n" +
		"MIME-Version: 1.0\n" +
		"Content-Type: text/plain; charset=us-ascii\n\n")
	for i := 0; b.Len() < size; i++ {
		fmt.Fprintf(&b, "%08d slice %05d: lorem ipsum dolor sit amet consectetur adipiscing elit\n", i, i%99991)
	}
	return b.Bytes()
}

// The key service answers health checks and serves its pages; Open Online
// refuses a form without a payload with a sentence and renders the
// decryptor for an armoured one.
func TestKeyServiceEndpoints(t *testing.T) {
	needRoot(t)
	ps := startPostseal(t, PostsealConfig{})
	base := fmt.Sprintf("http://127.0.0.1:%d", ps.HTTPPort)
	resp, err := http.Get(base + "/healthz")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || !strings.Contains(string(body), `"ok"`) {
		t.Errorf("/healthz: %d %s", resp.StatusCode, body)
	}
	resp, err = http.Get(base + "/register")
	if err != nil {
		t.Fatal(err)
	}
	body, _ = io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || !strings.Contains(string(body), "Confirm password") {
		t.Errorf("/register: %d %s", resp.StatusCode, body)
	}
	for _, c := range []struct {
		form   string
		status int
		want   string
	}{
		{"envelope=x&payload=y", http.StatusBadRequest, "did not carry a secure message"},
		// An id the service never issued is not shown on its origin.
		{"envelope=abc234&payload=" + url.QueryEscape("-----BEGIN PGP MESSAGE-----\n\nwy4E\n-----END PGP MESSAGE-----"), http.StatusNotFound, "knows no secure message"},
	} {
		resp, err = http.Post(base+"/open", "application/x-www-form-urlencoded", strings.NewReader(c.form))
		if err != nil {
			t.Fatal(err)
		}
		body, _ = io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != c.status || !strings.Contains(string(body), c.want) {
			t.Errorf("/open %s: %d %.300s", c.form, resp.StatusCode, body)
		}
	}
}
