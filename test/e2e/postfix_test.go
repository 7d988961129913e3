package e2e

// Harness for the Postfix tests: one private Postfix instance (see
// test/mta) with postseal as its milter, plus helpers to send mail, wait for
// deliveries in the sink, open sealed envelopes with gpg and explain
// failures with the maillog.

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"mime"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-message"
	_ "github.com/emersion/go-message/charset"
	"github.com/emersion/go-message/mail"

	"github.com/postseal/postseal/test/mta"
)

// Timeouts of the Postfix tests. Delivery on loopback takes milliseconds;
// the deadlines only bound a failure.
const (
	postfixDeliveryTimeout = 30 * time.Second
	postfixLogTimeout      = 15 * time.Second
)

// Names of the extra smtpd listeners, each with a milter port reserved for
// a postseal of its own (tests that stop or break their postseal).
const (
	postfixListenerStopped   = "stopped"
	postfixListenerStoreDown = "storedown"
)

// postfixEnv is the shared Postfix instance and the postseal it uses.
type postfixEnv struct {
	pf *mta.Postfix
	ps *Postseal // milter of the main smtpd and of sendmail(1) submissions
	// ReinjectPort is the smtpd without milters (postseal's reinject).
	ReinjectPort int
	// milterPorts are the reserved milter ports of the extra listeners.
	milterPorts map[string]int
}

func postfixMilterAddr(port int) string { return fmt.Sprintf("inet:127.0.0.1:%d", port) }

// startPostfixEnv starts the shared postseal, then a Postfix whose main
// smtpd and non_smtpd_milters use it, with a re-injection listener and the
// extra listeners. Both stop when t ends.
func startPostfixEnv(t *testing.T) *postfixEnv {
	t.Helper()
	env := &postfixEnv{
		ReinjectPort: freePort(t),
		milterPorts: map[string]int{
			postfixListenerStopped:   freePort(t),
			postfixListenerStoreDown: freePort(t),
		},
	}
	env.ps = startPostseal(t, PostsealConfig{ReinjectPort: env.ReinjectPort})
	var extra []mta.Listener
	for _, name := range []string{postfixListenerStopped, postfixListenerStoreDown} {
		extra = append(extra, mta.Listener{Name: name, Milter: postfixMilterAddr(env.milterPorts[name])})
	}
	env.pf = startPostfix(t, mta.Options{
		Milter:       postfixMilterAddr(env.ps.MilterPort),
		ReinjectPort: env.ReinjectPort,
		Listeners:    extra,
	})
	return env
}

// startPostfix starts a private Postfix that is stopped (and its folder
// removed) when t ends; on failure the maillog tail goes to the test log.
// POSTSEAL_E2E_KEEP=1 keeps the folder for a post-mortem.
func startPostfix(t testing.TB, o mta.Options) *mta.Postfix {
	t.Helper()
	o.Keep = os.Getenv("POSTSEAL_E2E_KEEP") != ""
	pf, err := mta.StartPostfix(o)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("Postfix maillog (tail) of %s:\n%s", pf.Dir, pf.MaillogTail(120))
		}
		if err := pf.Stop(); err != nil {
			t.Errorf("stopping Postfix: %v", err)
		}
	})
	return pf
}

// postfixMessage reads testdata/NAME.
func postfixMessage(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(repoRoot(), "testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// postfixSend sends msg to the named listener and returns the server's
// verdict; network failures end the test.
func postfixSend(t testing.TB, pf *mta.Postfix, listener, from string, rcpts []string, msg []byte) mta.Reply {
	t.Helper()
	rep, err := mta.Send(pf.Addr(listener), from, rcpts, msg)
	if err != nil {
		t.Fatalf("SMTP to %s (%s): %v (last reply %v)\nmaillog tail:\n%s", listener, pf.Addr(listener), err, rep, pf.MaillogTail(30))
	}
	return rep
}

// postfixMustAccept sends msg and fails unless Postfix queued it. It
// returns the maillog mark taken before sending (for postfixWait).
func postfixMustAccept(t testing.TB, pf *mta.Postfix, listener, from string, rcpts []string, msg []byte) int64 {
	t.Helper()
	mark := pf.LogMark()
	rep := postfixSend(t, pf, listener, from, rcpts, msg)
	if !rep.Accepted() {
		t.Fatalf("message to %v via %s not accepted: %v\nmaillog lines for the recipients:\n%s", rcpts, listener, rep, postfixLogFor(pf, rcpts...))
	}
	return mark
}

// postfixLogFor returns the maillog lines that mention any of rcpts.
func postfixLogFor(pf *mta.Postfix, rcpts ...string) string {
	var out []string
	for _, l := range strings.Split(pf.Maillog(), "\n") {
		for _, r := range rcpts {
			if strings.Contains(l, "<"+r+">") {
				out = append(out, l)
				break
			}
		}
	}
	if len(out) == 0 {
		return "(none)"
	}
	return strings.Join(out, "\n")
}

// postfixWait waits until exactly n copies were delivered to rcpt. It fails
// at once when the maillog shows, after mark, that a copy for rcpt was
// rejected by the milter, bounced or deferred.
func postfixWait(t testing.TB, pf *mta.Postfix, mark int64, rcpt string, n int) []*mta.Delivery {
	t.Helper()
	deadline := time.Now().Add(postfixDeliveryTimeout)
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	for {
		got, err := pf.DeliveredTo(rcpt)
		if err != nil {
			t.Fatal(err)
		}
		if len(got) > n {
			t.Fatalf("%d copies delivered to %s, want %d\nmaillog:\n%s", len(got), rcpt, n, postfixLogFor(pf, rcpt))
		}
		if len(got) == n {
			return got
		}
		for _, bad := range []string{"milter-reject", "status=bounced", "status=deferred"} {
			if ls := pf.MaillogGrepSince(mark, "<"+rcpt+">", bad); len(ls) > 0 {
				t.Fatalf("waiting for delivery to %s: Postfix logged:\n%s", rcpt, strings.Join(ls, "\n"))
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d of %d copies delivered to %s after %v\nmaillog lines for it:\n%s\nmaillog tail:\n%s",
				len(got), n, rcpt, postfixDeliveryTimeout, postfixLogFor(pf, rcpt), pf.MaillogTail(25))
		}
		<-tick.C
	}
}

// postfixExactlyOne waits until Postfix holds nothing more for any of
// rcpts (every copy delivered or given up), then fails unless each got
// exactly one copy. postfixWait returns at the first copy: a second one
// (the original in clear after the sealed copy) would arrive unseen.
func postfixExactlyOne(t testing.TB, pf *mta.Postfix, rcpts ...string) {
	t.Helper()
	postfixSettled(t, pf, rcpts...)
	for _, rcpt := range rcpts {
		got, err := pf.DeliveredTo(rcpt)
		if err != nil {
			t.Fatal(err)
		}
		if len(got) != 1 {
			t.Errorf("%d copies delivered to %s, want exactly 1\nmaillog:\n%s", len(got), rcpt, postfixLogFor(pf, rcpt))
		}
	}
}

// postfixSettled waits until Postfix holds nothing more for any of rcpts:
// every copy delivered or given up.
func postfixSettled(t testing.TB, pf *mta.Postfix, rcpts ...string) {
	t.Helper()
	deadline := time.Now().Add(postfixDeliveryTimeout)
	tick := time.NewTicker(20 * time.Millisecond) // poll interval
	defer tick.Stop()
	for _, rcpt := range rcpts {
		for {
			q, err := pf.QueuedFor(rcpt)
			if err != nil {
				t.Fatal(err)
			}
			if len(q) == 0 {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("still queued for %s after %v: %v", rcpt, postfixDeliveryTimeout, q)
			}
			<-tick.C
		}
	}
}

// postfixNothingDelivered fails if anything was delivered to, or is still
// queued for, rcpt, or if the maillog shows a delivery attempt for it. Call
// it after the rejection was seen (reply and log), when the verdict is final.
func postfixNothingDelivered(t testing.TB, pf *mta.Postfix, rcpt string) {
	t.Helper()
	got, err := pf.DeliveredTo(rcpt)
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range got {
		hdr, _ := postfixSplit(d.Data)
		t.Errorf("delivered to %s although rejected: %s\n%s", rcpt, d.Path, hdr)
	}
	q, err := pf.QueuedFor(rcpt)
	if err != nil {
		t.Fatal(err)
	}
	if len(q) > 0 {
		t.Errorf("still queued for %s although rejected: %v", rcpt, q)
	}
	if ls := pf.MaillogGrep("to=<"+rcpt+">", "status="); len(ls) > 0 {
		t.Errorf("Postfix tried to deliver to %s although rejected:\n%s", rcpt, strings.Join(ls, "\n"))
	}
}

// postfixSplit returns the header (with its final line end) and the body of
// a message, with CRLF normalised to LF.
func postfixSplit(data []byte) (header, body []byte) {
	data = bytes.ReplaceAll(data, []byte("\r\n"), []byte("\n"))
	if i := bytes.Index(data, []byte("\n\n")); i >= 0 {
		return data[:i+1], data[i+2:]
	}
	return data, nil
}

// postfixHeader parses the top-level header of a message.
func postfixHeader(t testing.TB, data []byte) mail.Header {
	t.Helper()
	e, err := message.Read(bytes.NewReader(data))
	if err != nil && e == nil {
		t.Fatalf("parsing message: %v", err)
	}
	return mail.Header{Header: e.Header}
}

// postfixSubject is the decoded Subject of a message.
func postfixSubject(t testing.TB, data []byte) string {
	t.Helper()
	h := postfixHeader(t, data)
	s, err := h.Subject()
	if err != nil {
		t.Fatalf("decoding Subject: %v", err)
	}
	return s
}

// postfixAssertUntouched checks that a delivered copy is the sent message:
// the delivered header ends with the sent header (Postfix only prepends
// Return-Path, X-Original-To, Delivered-To and Received) and the bodies are
// byte-identical.
func postfixAssertUntouched(t testing.TB, d *mta.Delivery, sent []byte) {
	t.Helper()
	gotHdr, gotBody := postfixSplit(d.Data)
	sentHdr, sentBody := postfixSplit(sent)
	if !bytes.HasSuffix(gotHdr, sentHdr) {
		t.Errorf("%s: header changed in transit.\nsent:\n%s\ndelivered:\n%s", d.Recipient, sentHdr, gotHdr)
	}
	if !bytes.Equal(gotBody, sentBody) {
		t.Errorf("%s: body changed in transit (%d bytes sent, %d delivered).\nsent:\n%q\ndelivered:\n%q",
			d.Recipient, len(sentBody), len(gotBody), postfixClip(sentBody), postfixClip(gotBody))
	}
	if bytes.Contains(gotHdr, []byte("X-Postseal-Envelope:")) {
		t.Errorf("%s: untouched copy carries X-Postseal-Envelope", d.Recipient)
	}
}

func postfixClip(b []byte) []byte {
	if len(b) > 2000 {
		return append(b[:2000:2000], "..."...)
	}
	return b
}

// postfixSealed is a delivered sealed copy, opened.
type postfixSealed struct {
	ID             string
	Subject        string // decoded, as delivered
	Header         []byte // delivered header
	AttachmentName string
	HTML           []byte // the securedoc page
	Payload        []byte // the decrypted original message
}

var (
	postfixArmorRe      = regexp.MustCompile(`(?s)-----BEGIN PGP MESSAGE-----.*?-----END PGP MESSAGE-----`)
	postfixSecuredocRe  = regexp.MustCompile(`^securedoc_(\d{8}T\d{6})\.html$`)
	postfixEnvelopeIDRe = regexp.MustCompile(`^[A-Za-z0-9_-]{6,}$`)
)

// postfixSealedDoc sends a *secure* browser message (browserMessage) to
// rcpt through pf, opens its sealed copy and saves the securedoc to a file,
// as a recipient does; it returns the log mark of the send, the sealed
// copy and the file's URL.
func postfixSealedDoc(t testing.TB, pf *mta.Postfix, ps *Postseal, rcpt string, attachment []byte) (int64, *postfixSealed, string) {
	t.Helper()
	mark := postfixMustAccept(t, pf, mta.SMTP, postfixSender, []string{rcpt}, browserMessage(rcpt, attachment))
	sealed := postfixOpenSealed(t, ps, postfixWait(t, pf, mark, rcpt, 1)[0])
	doc := filepath.Join(t.TempDir(), sealed.AttachmentName)
	if err := os.WriteFile(doc, sealed.HTML, 0o644); err != nil {
		t.Fatal(err)
	}
	return mark, sealed, "file://" + doc
}

// postfixOpenSealed checks the structure of a sealed copy, fetches its key
// with `postseal envelope key` and decrypts the payload with gpg.
func postfixOpenSealed(t testing.TB, ps *Postseal, d *mta.Delivery) *postfixSealed {
	t.Helper()
	s := &postfixSealed{}
	s.Header, _ = postfixSplit(d.Data)
	e, err := message.Read(bytes.NewReader(d.Data))
	if err != nil {
		t.Fatalf("%s: parsing delivered message: %v\n%s", d.Recipient, err, s.Header)
	}
	h := mail.Header{Header: e.Header}
	s.ID = strings.TrimSpace(h.Get("X-Postseal-Envelope"))
	if s.ID == "" {
		t.Fatalf("%s: delivered copy is not sealed (no X-Postseal-Envelope):\n%s", d.Recipient, postfixClip(d.Data))
	}
	if !postfixEnvelopeIDRe.MatchString(s.ID) {
		t.Errorf("%s: odd envelope id %q", d.Recipient, s.ID)
	}
	if s.Subject, err = h.Subject(); err != nil {
		t.Errorf("%s: delivered Subject does not decode: %v", d.Recipient, err)
	}
	mt, _, err := h.ContentType()
	if err != nil || mt != "multipart/mixed" {
		t.Fatalf("%s: sealed copy Content-Type %q (%v), want multipart/mixed\n%s", d.Recipient, h.Get("Content-Type"), err, s.Header)
	}
	mr := e.MultipartReader()
	var parts []*message.Entity
	var bodies [][]byte
	var altTypes []string // content types inside the first part, if multipart
	for {
		p, err := mr.NextPart()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatalf("%s: reading sealed parts: %v", d.Recipient, err)
		}
		if ar := p.MultipartReader(); ar != nil && len(parts) == 0 {
			for {
				q, err := ar.NextPart()
				if err == io.EOF {
					break
				}
				if err != nil {
					t.Fatalf("%s: reading notification parts: %v", d.Recipient, err)
				}
				mt, _, _ := q.Header.ContentType()
				altTypes = append(altTypes, mt)
			}
		}
		b, err := io.ReadAll(p.Body)
		if err != nil && !message.IsUnknownCharset(err) {
			t.Fatalf("%s: reading part: %v", d.Recipient, err)
		}
		parts = append(parts, p)
		bodies = append(bodies, b)
	}
	if len(parts) != 2 {
		t.Fatalf("%s: sealed copy has %d parts, want 2 (notification, securedoc)", d.Recipient, len(parts))
	}
	if mt, _, _ := parts[0].Header.ContentType(); mt != "multipart/alternative" {
		t.Errorf("%s: first part is %q, want multipart/alternative", d.Recipient, mt)
	} else if strings.Join(altTypes, ",") != "text/plain,text/html" {
		t.Errorf("%s: notification parts %v, want [text/plain text/html]", d.Recipient, altTypes)
	}
	att := parts[1]
	if mt, _, _ := att.Header.ContentType(); mt != "text/html" {
		t.Errorf("%s: securedoc Content-Type %q, want text/html", d.Recipient, mt)
	}
	disp, dparams, err := mime.ParseMediaType(att.Header.Get("Content-Disposition"))
	if err != nil || disp != "attachment" {
		t.Errorf("%s: securedoc Content-Disposition %q (%v), want attachment", d.Recipient, att.Header.Get("Content-Disposition"), err)
	}
	s.AttachmentName = dparams["filename"]
	if m := postfixSecuredocRe.FindStringSubmatch(s.AttachmentName); m == nil {
		t.Errorf("%s: securedoc file name %q, want securedoc_YYYYMMDDTHHMMSS.html", d.Recipient, s.AttachmentName)
	} else if ts, err := time.Parse("20060102T150405", m[1]); err != nil || time.Since(ts).Abs() > 2*time.Hour {
		t.Errorf("%s: securedoc time stamp %s is not the sealing time (now %s UTC)", d.Recipient, m[1], time.Now().UTC().Format("20060102T150405"))
	}
	s.HTML = bodies[1]
	armor := postfixArmorRe.Find(s.HTML)
	if armor == nil {
		t.Fatalf("%s: no ASCII-armoured PGP message in the securedoc (%d bytes)", d.Recipient, len(s.HTML))
	}
	key := strings.TrimSpace(ps.Run(t, "envelope", "key", s.ID))
	if key == "" || strings.ContainsAny(key, " \n") {
		t.Fatalf("postseal envelope key %s printed %q", s.ID, key)
	}
	s.Payload = postfixGPGDecrypt(t, armor, key)
	return s
}

// postfixGPGDecrypt decrypts an armoured OpenPGP message with a passphrase using
// GnuPG in a throw-away home directory.
func postfixGPGDecrypt(t testing.TB, armored []byte, passphrase string) []byte {
	t.Helper()
	home, err := os.MkdirTemp("", "gpg-")
	if err != nil {
		t.Fatal(err)
	}
	defer func() {
		exec.Command("gpgconf", "--homedir", home, "--kill", "all").Run()
		os.RemoveAll(home)
	}()
	os.Chmod(home, 0o700)
	in := filepath.Join(home, "payload.asc")
	if err := os.WriteFile(in, armored, 0o600); err != nil {
		t.Fatal(err)
	}
	// A passphrase file, not --passphrase KEY: a base64url key may start
	// with "-" and would be read as an option.
	pass := filepath.Join(home, "passphrase")
	if err := os.WriteFile(pass, []byte(passphrase), 0o600); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command("/usr/bin/gpg", "--batch", "--quiet", "--no-tty", "--homedir", home,
		"--pinentry-mode", "loopback", "--passphrase-file", pass, "--decrypt", in)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("gpg --decrypt: %v\n%s", err, stderr.String())
	}
	return out
}

// postfixEnvelope is `postseal envelope show ID`.
type postfixEnvelope struct {
	ID         string   `json:"id"`
	Sender     string   `json:"sender"`
	Recipients []string `json:"recipients"`
	Trigger    string   `json:"trigger"`
}

func postfixShowEnvelope(t testing.TB, ps *Postseal, id string) postfixEnvelope {
	t.Helper()
	out := ps.Run(t, "envelope", "show", id)
	var env postfixEnvelope
	if err := json.Unmarshal([]byte(out), &env); err != nil {
		t.Fatalf("postseal envelope show %s: not JSON: %v\n%s", id, err, out)
	}
	if env.ID != id {
		t.Errorf("envelope show %s: id %q", id, env.ID)
	}
	return env
}

// postfixAttachments returns the decoded attachments (by file name) and the
// decoded text/plain bodies of a message.
func postfixAttachments(t testing.TB, data []byte) (files map[string][]byte, texts []string) {
	t.Helper()
	e, err := message.Read(bytes.NewReader(data))
	if err != nil && e == nil {
		t.Fatalf("parsing message: %v", err)
	}
	files = map[string][]byte{}
	err = e.Walk(func(path []int, p *message.Entity, err error) error {
		if err != nil {
			return err
		}
		if mr := p.MultipartReader(); mr != nil {
			return nil
		}
		b, err := io.ReadAll(p.Body)
		if err != nil && !message.IsUnknownCharset(err) {
			return err
		}
		if _, params, err := mime.ParseMediaType(p.Header.Get("Content-Disposition")); err == nil && params["filename"] != "" {
			files[params["filename"]] = b
			return nil
		}
		if mt, _, _ := p.Header.ContentType(); mt == "text/plain" || mt == "" {
			texts = append(texts, string(b))
		}
		return nil
	})
	if err != nil {
		t.Fatalf("walking message: %v", err)
	}
	return files, texts
}
