package milter

import (
	"bytes"
	"context"
	"errors"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ProtonMail/go-crypto/openpgp"
	"github.com/ProtonMail/go-crypto/openpgp/armor"
	"github.com/d--j/go-milter/mailfilter"
	"github.com/d--j/go-milter/mailfilter/addr"
	"github.com/d--j/go-milter/mailfilter/testtrx"
	"github.com/postseal/postseal/envelope"
	"github.com/postseal/postseal/rules"
	"github.com/postseal/postseal/store"
)

// memStore is an in-memory EnvelopeStore. The real stores are tested in
// package store and end to end; here the milter's reaction to a store
// that works, fails or hangs is what is tested.
type memStore struct {
	mu   sync.Mutex
	envs map[string]store.Envelope
	keys map[string][]byte
	err  error
	hang bool
	boom bool
}

func newMemStore() *memStore {
	return &memStore{envs: map[string]store.Envelope{}, keys: map[string][]byte{}}
}

func (m *memStore) PutEnvelope(ctx context.Context, e store.Envelope, key []byte) error {
	if m.boom {
		panic("store exploded")
	}
	if m.hang {
		<-ctx.Done()
		return ctx.Err()
	}
	if m.err != nil {
		return m.err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	m.envs[e.ID], m.keys[e.ID] = e, key
	return nil
}

// fakeSender records re-injected messages (the real SMTP path is tested
// end to end against Postfix).
type fakeSender struct {
	mu   sync.Mutex
	sent []sentMsg
	err  error
}

type sentMsg struct {
	from string
	to   []string
	data []byte
}

func (f *fakeSender) Send(_ context.Context, from string, to []string, msg io.Reader) error {
	if f.err != nil {
		return f.err
	}
	b, err := io.ReadAll(msg)
	if err != nil {
		return err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.sent = append(f.sent, sentMsg{from, to, b})
	return nil
}

func testPolicy(t *testing.T) *Policy {
	t.Helper()
	p, err := LoadPolicy(rules.Default())
	if err != nil {
		t.Fatal(err)
	}
	return p
}

const testBody = "Dear colleague,\r\n\r\nPatient Jane Roe, MRN 12345678, is ready for discharge.\r\n"

func newTrx(subject string, rcpts ...string) *testtrx.Trx {
	hdr := "Received: from client by mx.example.org\r\nFrom: Dr Who <doc@example.org>\r\nTo: pat@ext.example\r\n" +
		"Subject: " + subject + "\r\nMIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\n"
	return (&testtrx.Trx{}).
		SetQueueId("4XQ1").
		SetMailFrom(addr.NewMailFrom("doc@example.org", "", "smtp", "", "")).
		SetRcptTosList(rcpts...).
		SetHeadersRaw([]byte(hdr)).
		SetBodyBytes([]byte(testBody))
}

func decide(t *testing.T, f *Filter, trx *testtrx.Trx) mailfilter.Decision {
	t.Helper()
	d, err := f.Decide(context.Background(), trx)
	if err != nil {
		t.Fatalf("Decide returned an error (the mailfilter would act on it): %v", err)
	}
	return d
}

func newFilter(t *testing.T, st EnvelopeStore, s Sender) *Filter {
	return New(testPolicy(t), st, s, slog.New(slog.NewTextHandler(io.Discard, nil)))
}

func TestPassUntouched(t *testing.T) {
	for _, tc := range []struct {
		name, subject string
		rcpts         []string
	}{
		{"untriggered external", "Lunch on Friday", []string{"pat@ext.example"}},
		{"tagged internal only", "*secure* Palliative care consult", []string{"nurse@example.org", "lab@ward.example.org"}},
		{"plus internal", "++ Lab results", []string{"nurse@example.org"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			st := newMemStore()
			f := newFilter(t, st, &fakeSender{})
			trx := newTrx(tc.subject, tc.rcpts...)
			if d := decide(t, f, trx); d != mailfilter.Accept {
				t.Fatalf("decision %v; want accept", d)
			}
			if mods := trx.Modifications(); len(mods) != 0 {
				t.Errorf("untouched mail was modified: %v", mods)
			}
			if len(st.envs) != 0 {
				t.Errorf("an envelope was stored for a message that passes")
			}
		})
	}
}

// modsOf sorts the modifications the filter would send to the MTA.
func modsOf(trx *testtrx.Trx) (subject string, body []byte, headers map[string][]string, delRcpts []string) {
	headers = map[string][]string{}
	for _, m := range trx.Modifications() {
		switch m.Kind {
		case testtrx.ReplaceBody:
			body = m.Body
		case testtrx.ChangeHeader, testtrx.InsertHeader:
			if m.Kind == testtrx.ChangeHeader && m.Value == "" {
				continue // a deletion
			}
			headers[m.Name] = append(headers[m.Name], m.Value)
			if m.Name == "Subject" {
				subject = m.Value
			}
		case testtrx.DelRcptTo:
			delRcpts = append(delRcpts, m.Addr)
		}
	}
	return
}

var armorRe = regexp.MustCompile(`(?s)-----BEGIN PGP MESSAGE-----.*?-----END PGP MESSAGE-----`)

// openPayload decrypts the armoured payload found in a sealed body.
func openPayload(t *testing.T, body []byte, passphrase string) []byte {
	t.Helper()
	// The securedoc may be transfer-encoded inside the notification; the
	// envelope package promises 7bit, so the armour is there verbatim.
	block := armorRe.Find(bytes.ReplaceAll(body, []byte("\r\n"), []byte("\n")))
	if block == nil {
		t.Fatal("no PGP MESSAGE in the sealed body")
	}
	a, err := armor.Decode(bytes.NewReader(block))
	if err != nil {
		t.Fatal(err)
	}
	md, err := openpgp.ReadMessage(a.Body, nil, func([]openpgp.Key, bool) ([]byte, error) { return []byte(passphrase), nil }, nil)
	if err != nil {
		t.Fatal(err)
	}
	out, err := io.ReadAll(md.UnverifiedBody)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func TestSealExternal(t *testing.T) {
	st := newMemStore()
	f := newFilter(t, st, &fakeSender{})
	trx := newTrx("*secure* Palliative care consult", "pat@ext.example", "sam@other.example")
	original, _ := io.ReadAll(trx.Data())
	if d := decide(t, f, trx); d != mailfilter.Accept {
		t.Fatalf("decision %v", d)
	}
	subject, body, headers, del := modsOf(trx)
	if strings.TrimSpace(subject) != "Palliative care consult [-Encrypted-]" {
		t.Errorf("subject = %q", subject)
	}
	if len(del) != 0 {
		t.Errorf("recipients removed: %v", del)
	}
	if len(st.envs) != 1 {
		t.Fatalf("%d envelopes stored; want 1", len(st.envs))
	}
	var id string
	for k, e := range st.envs {
		id = k
		if strings.Join(e.Recipients, ",") != "pat@ext.example,sam@other.example" || e.Sender != "doc@example.org" || e.QueueID != "4XQ1" {
			t.Errorf("stored envelope = %+v", e)
		}
	}
	if got := headers["X-Postseal-Envelope"]; len(got) != 1 || strings.TrimSpace(got[0]) != id {
		t.Errorf("X-Postseal-Envelope = %v; want %s", got, id)
	}
	if ct := headers["Content-Type"]; len(ct) != 1 || !strings.Contains(ct[0], "multipart/mixed") {
		t.Errorf("Content-Type = %v", ct)
	}
	data, _ := io.ReadAll(trx.Data())
	if bytes.Contains(data, []byte("Content-Transfer-Encoding: 8bit")) {
		t.Error("the original Content-Transfer-Encoding survived")
	}
	if bytes.Contains(body, []byte("Jane Roe")) {
		t.Error("the original body text is visible in the sealed message")
	}
	if got := openPayload(t, body, envelope.Passphrase(st.keys[id])); !bytes.Equal(got, original) {
		t.Errorf("payload differs from the original:\n%q\n%q", got, original)
	}
}

func TestSealReplyKeepsSingleMarker(t *testing.T) {
	st := newMemStore()
	f := newFilter(t, st, &fakeSender{})
	trx := newTrx("Re: Palliative care consult [-Encrypted-]", "pat@ext.example")
	if d := decide(t, f, trx); d != mailfilter.Accept {
		t.Fatalf("decision %v", d)
	}
	subject, body, _, _ := modsOf(trx)
	if subject != "" {
		t.Errorf("subject changed to %q; it already carries the marker", subject)
	}
	if body == nil || len(st.envs) != 1 {
		t.Error("a reply carrying the marker must be sealed")
	}
}

func TestSecondSubjectCannotHideTag(t *testing.T) {
	st := newMemStore()
	f := newFilter(t, st, &fakeSender{})
	trx := newTrx("Lunch", "pat@ext.example")
	trx.Headers().Add("Subject", "*secure* hidden")
	decide(t, f, trx)
	if len(st.envs) != 1 {
		t.Fatal("a tag in a second Subject header must still seal the message")
	}
	data, _ := io.ReadAll(trx.Data())
	if n := bytes.Count(data, []byte("\nSubject:")); n != 1 {
		t.Errorf("%d Subject fields after sealing; want 1\n%s", n, data)
	}
}

func TestForgedEnvelopeHeaderReplaced(t *testing.T) {
	st := newMemStore()
	f := newFilter(t, st, &fakeSender{})
	trx := newTrx("*secure* x", "pat@ext.example")
	trx.Headers().Add("X-Postseal-Envelope", "forged")
	decide(t, f, trx)
	data, _ := io.ReadAll(trx.Data())
	if bytes.Contains(data, []byte("forged")) {
		t.Error("an incoming X-Postseal-Envelope survived")
	}
}

func TestSplitMixedRecipients(t *testing.T) {
	st := newMemStore()
	s := &fakeSender{}
	f := newFilter(t, st, s)
	trx := newTrx("*secure* Palliative care consult", "nurse@example.org", "pat@ext.example")
	if d := decide(t, f, trx); d != mailfilter.Accept {
		t.Fatalf("decision %v", d)
	}
	subject, body, _, del := modsOf(trx)
	if subject != "" || body != nil {
		t.Error("the internal copy must stay the original")
	}
	if strings.Join(del, ",") != "pat@ext.example" {
		t.Errorf("deleted recipients %v; want the external one", del)
	}
	if len(s.sent) != 1 {
		t.Fatalf("%d messages re-injected; want 1", len(s.sent))
	}
	m := s.sent[0]
	if m.from != "doc@example.org" || strings.Join(m.to, ",") != "pat@ext.example" {
		t.Errorf("re-injected from %q to %v", m.from, m.to)
	}
	if !bytes.Contains(m.data, []byte("Subject: Palliative care consult [-Encrypted-]\r\n")) || !bytes.Contains(m.data, []byte("X-Postseal-Envelope: ")) {
		t.Errorf("re-injected message is not the sealed copy:\n%.600s", m.data)
	}
	if bytes.Contains(m.data, []byte("Jane Roe")) {
		t.Error("re-injected copy carries the body in clear")
	}
}

func TestEncryptAllMixed(t *testing.T) {
	p := testPolicy(t)
	p.Config.Milter.MixedRecipients = "encrypt-all"
	st := newMemStore()
	f := New(p, st, &fakeSender{err: errors.New("must not be used")}, slog.New(slog.NewTextHandler(io.Discard, nil)))
	trx := newTrx("*secure* x", "nurse@example.org", "pat@ext.example")
	if d := decide(t, f, trx); d != mailfilter.Accept {
		t.Fatalf("decision %v", d)
	}
	_, body, _, del := modsOf(trx)
	if body == nil || len(del) != 0 {
		t.Errorf("encrypt-all must seal in place for everyone (body replaced %v, deleted %v)", body != nil, del)
	}
}

func TestFailuresTempFail(t *testing.T) {
	for _, tc := range []struct {
		name   string
		st     *memStore
		sender *fakeSender
		rcpts  []string
	}{
		{"store error", &memStore{err: errors.New("disk full")}, &fakeSender{}, []string{"pat@ext.example"}},
		{"store panic", &memStore{boom: true}, &fakeSender{}, []string{"pat@ext.example"}},
		{"re-injection refused", newMemStore(), &fakeSender{err: errors.New("451 try later")}, []string{"nurse@example.org", "pat@ext.example"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFilter(t, tc.st, tc.sender)
			trx := newTrx("*secure* x", tc.rcpts...)
			d := decide(t, f, trx)
			if !strings.HasPrefix(d.String(), "451 4.3.0") {
				t.Fatalf("decision %q; want 451 4.3.0", d)
			}
		})
	}
}

func TestTimeoutTempFails(t *testing.T) {
	p := testPolicy(t)
	p.Config.Milter.Timeout = rules.Duration(200 * time.Millisecond)
	f := New(p, &memStore{hang: true}, &fakeSender{}, slog.New(slog.NewTextHandler(io.Discard, nil)))
	start := time.Now()
	d := decide(t, f, newTrx("*secure* x", "pat@ext.example"))
	if !strings.HasPrefix(d.String(), "451 4.3.0") {
		t.Fatalf("decision %q; want 451", d)
	}
	if el := time.Since(start); el > 5*time.Second {
		t.Errorf("a hanging store held the message %v", el)
	}
}

func TestTooLarge(t *testing.T) {
	p := testPolicy(t)
	p.Config.Milter.MaxSecureSize = 1000
	st := newMemStore()
	f := New(p, st, &fakeSender{}, slog.New(slog.NewTextHandler(io.Discard, nil)))
	trx := newTrx("*secure* x", "pat@ext.example").SetBodyBytes(bytes.Repeat([]byte("a\r\n"), 1000))
	d := decide(t, f, trx)
	if !strings.HasPrefix(d.String(), "552 5.3.4") || !strings.Contains(d.String(), "too large to be sent securely") {
		t.Fatalf("decision %q; want 552 5.3.4 with a reason", d)
	}
	if len(st.envs) != 0 {
		t.Error("an envelope was stored for a refused message")
	}
	// The same size untriggered passes: the limit is for sealing only.
	trx = newTrx("Lunch", "pat@ext.example").SetBodyBytes(bytes.Repeat([]byte("a\r\n"), 1000))
	if d := decide(t, f, trx); d != mailfilter.Accept {
		t.Errorf("untriggered large message: %v", d)
	}
}

func TestEncodedSubjectTriggers(t *testing.T) {
	st := newMemStore()
	f := newFilter(t, st, &fakeSender{})
	// "*secure* Überweisung" in UTF-8 base64.
	trx := newTrx("=?UTF-8?B?KnNlY3VyZSogw5xiZXJ3ZWlzdW5n?=", "pat@ext.example")
	decide(t, f, trx)
	subject, _, _, _ := modsOf(trx)
	got, err := envelope.DecodeSubject(subject)
	if err != nil || got != "Überweisung [-Encrypted-]" {
		t.Errorf("subject %q decodes to %q, %v", subject, got, err)
	}
}

// A message to a key-service recipient and a partner with a shared
// password makes two envelopes: one kept in place, one re-injected, each
// opening only with its own secret.
func TestSharedPasswordDomain(t *testing.T) {
	cfg := rules.Default()
	pw := filepath.Join(t.TempDir(), "partner.pw")
	if err := os.WriteFile(pw, []byte("correct horse battery staple\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg.Domains = []rules.Domain{{Name: "partner.example", PasswordFile: pw}}
	p, err := LoadPolicy(cfg)
	if err != nil {
		t.Fatal(err)
	}
	st, s := newMemStore(), &fakeSender{}
	f := New(p, st, s, slog.New(slog.NewTextHandler(io.Discard, nil)))
	trx := newTrx("*secure* results", "pat@ext.example", "lab@partner.example")
	original, _ := io.ReadAll(trx.Data())
	if d := decide(t, f, trx); d != mailfilter.Accept {
		t.Fatalf("decision %v", d)
	}
	_, body, _, del := modsOf(trx)
	if strings.Join(del, ",") != "lab@partner.example" || len(s.sent) != 1 || strings.Join(s.sent[0].to, ",") != "lab@partner.example" {
		t.Fatalf("partner copy not re-injected separately: deleted %v, sent %d", del, len(s.sent))
	}
	var keyID string
	for id, e := range st.envs {
		if e.Kind == "keyservice" {
			keyID = id
		} else if e.Kind != "shared-password" || e.Domain != "partner.example" || st.keys[id] != nil {
			t.Errorf("partner envelope record %+v (key stored: %v)", e, st.keys[id] != nil)
		}
	}
	if len(st.envs) != 2 || keyID == "" {
		t.Fatalf("envelopes %+v", st.envs)
	}
	if got := openPayload(t, body, envelope.Passphrase(st.keys[keyID])); !bytes.Equal(got, original) {
		t.Error("key-service copy does not open with its key")
	}
	if got := openPayload(t, s.sent[0].data, "correct horse battery staple"); !bytes.Equal(got, original) {
		t.Error("partner copy does not open with the shared password")
	}
}

func TestMissingPasswordFileIsLoadError(t *testing.T) {
	cfg := rules.Default()
	cfg.Domains = []rules.Domain{{Name: "partner.example", PasswordFile: "/nonexistent/pw"}}
	if _, err := LoadPolicy(cfg); err == nil || !strings.Contains(err.Error(), "/nonexistent/pw") {
		t.Errorf("LoadPolicy = %v; want an error naming the file", err)
	}
}

func TestVisibleRecipientsHideBcc(t *testing.T) {
	d := envelope.Display{To: "Pat <Pat@Ext.example>", Cc: "sam@other.example"}
	got := visible([]string{"pat@ext.example", "sam@other.example", "hidden@bcc.example"}, d)
	if strings.Join(got, ",") != "pat@ext.example,sam@other.example" {
		t.Errorf("visible = %v; a Bcc'd address must not be listed", got)
	}
}
