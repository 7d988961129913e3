package milter

import (
	"bytes"
	"context"
	"errors"
	"io"
	"log/slog"
	"maps"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ProtonMail/go-crypto/openpgp"
	"github.com/ProtonMail/go-crypto/openpgp/armor"
	"github.com/postseal/postseal/config"
	"github.com/postseal/postseal/envelope"
	"github.com/postseal/postseal/policy"
	"github.com/postseal/postseal/store"
)

// memStore is an in-memory policy.EnvelopeStore. The real stores are tested in
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

// recorded is a copy of the envelopes recorded so far, taken under the
// store's lock: a test that learns of the end of a message over a milter
// connection has no happens-before edge the race detector can see (the
// answer may leave in one writev, which it does not annotate).
func (m *memStore) recorded() map[string]store.Envelope {
	m.mu.Lock()
	defer m.mu.Unlock()
	return maps.Clone(m.envs)
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

func testPolicy(t *testing.T) *policy.Policy {
	t.Helper()
	p, err := policy.Load(config.Default())
	if err != nil {
		t.Fatal(err)
	}
	return p
}

const testBody = "Dear colleague,\r\n\r\nPatient Jane Roe, MRN 12345678, is ready for discharge.\r\n"

// newTrx is a message as an MTA hands it over: header values with their
// leading space.
func newTrx(subject string, rcpts ...string) *Transaction {
	return &Transaction{
		QueueID: "4XQ1",
		Sender:  "doc@example.org",
		Rcpts:   rcpts,
		Fields: []Field{
			{Name: "Received", Value: " from client by mx.example.org"},
			{Name: "From", Value: " Dr Who <doc@example.org>"},
			{Name: "To", Value: " pat@ext.example"},
			{Name: "Subject", Value: " " + subject},
			{Name: "MIME-Version", Value: " 1.0"},
			{Name: "Content-Type", Value: " text/plain; charset=utf-8"},
			{Name: "Content-Transfer-Encoding", Value: " 8bit"},
		},
		Body:     strings.NewReader(testBody),
		BodySize: int64(len(testBody)),
	}
}

func originalOf(t *testing.T, trx *Transaction) []byte {
	t.Helper()
	r, err := trx.Original()
	if err != nil {
		t.Fatal(err)
	}
	b, err := io.ReadAll(r)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func decide(t *testing.T, f *Filter, trx *Transaction) Outcome {
	t.Helper()
	return f.Process(context.Background(), f.Policy(), trx, true)
}

func newFilter(t *testing.T, st policy.EnvelopeStore, s Sender) *Filter {
	return New(testPolicy(t), st, s, slog.New(slog.NewTextHandler(io.Discard, nil)), Config{SpoolDir: t.TempDir()})
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
			out := decide(t, f, trx)
			if !out.Accepted() {
				t.Fatalf("outcome %+v; want accept", out)
			}
			if out.Changes != nil {
				t.Errorf("untouched mail was modified: %+v", out.Changes)
			}
			if f.Triage(f.Policy(), trx).Action == policy.NeedBody {
				t.Error("mail that passes must be decided at the end of the header")
			}
			if len(st.recorded()) != 0 {
				t.Errorf("an envelope was stored for a message that passes")
			}
		})
	}
}

// headers returns the header the MTA's copy has after the changes.
func headers(trx *Transaction, c *Changes) map[string][]string {
	out := map[string][]string{}
	firstSubject := true
	for _, f := range trx.Fields {
		switch {
		case f.Name == "Subject" && c.Subject != nil:
			if firstSubject {
				out["Subject"] = append(out["Subject"], *c.Subject)
			}
			firstSubject = false
		case c.Remove != nil && c.Remove(f.Name):
		default:
			out[f.Name] = append(out[f.Name], strings.TrimSpace(f.Value))
		}
	}
	for _, f := range c.Add {
		out[f.Name] = append(out[f.Name], f.Value)
	}
	return out
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
	trx.Fields = append(trx.Fields, Field{Name: "Message-ID", Value: " <consult-1@example.org>"})
	original := originalOf(t, trx)
	if f.Triage(f.Policy(), trx).Action != policy.NeedBody {
		t.Fatal("a tagged message was decided before its body")
	}
	out := decide(t, f, trx)
	if !out.Accepted() || out.Changes == nil {
		t.Fatalf("outcome %+v", out)
	}
	c := out.Changes
	h := headers(trx, c)
	if got := h["Subject"]; len(got) != 1 || got[0] != "Palliative care consult [-Encrypted-]" {
		t.Errorf("subject = %q", got)
	}
	if len(c.DelRcpts) != 0 {
		t.Errorf("recipients removed: %v", c.DelRcpts)
	}
	body := c.Body
	if len(st.recorded()) != 1 {
		t.Fatalf("%d envelopes stored; want 1", len(st.recorded()))
	}
	var id string
	for k, e := range st.recorded() {
		id = k
		if strings.Join(e.Recipients, ",") != "pat@ext.example,sam@other.example" || e.Sender != "doc@example.org" || e.QueueID != "4XQ1" {
			t.Errorf("stored envelope = %+v", e)
		}
		// What the sender's read receipts and Sent page need.
		if e.Subject != "Palliative care consult [-Encrypted-]" || e.MessageID != "<consult-1@example.org>" || !e.ReadReceipts {
			t.Errorf("stored subject %q, Message-ID %q, read receipts %v", e.Subject, e.MessageID, e.ReadReceipts)
		}
	}
	if got := h["X-Postseal-Envelope"]; len(got) != 1 || got[0] != id {
		t.Errorf("X-Postseal-Envelope = %v; want %s", got, id)
	}
	if ct := h["Content-Type"]; len(ct) != 1 || !strings.Contains(ct[0], "multipart/mixed") {
		t.Errorf("Content-Type = %v", ct)
	}
	if len(h["Content-Transfer-Encoding"]) != 0 || len(h["MIME-Version"]) != 1 {
		t.Errorf("the original MIME fields survived: %v", h)
	}
	if !reflect.DeepEqual(out.EnvelopeIDs, []string{id}) {
		t.Errorf("outcome envelope ids %v", out.EnvelopeIDs)
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
	out := decide(t, f, trx)
	if !out.Accepted() || out.Changes == nil {
		t.Fatalf("outcome %+v", out)
	}
	if out.Changes.Subject != nil {
		t.Errorf("subject changed to %q; it already carries the marker", *out.Changes.Subject)
	}
	if out.Changes.Body == nil || len(st.recorded()) != 1 {
		t.Error("a reply carrying the marker must be sealed")
	}
}

func TestSecondSubjectCannotHideTag(t *testing.T) {
	st := newMemStore()
	f := newFilter(t, st, &fakeSender{})
	trx := newTrx("Lunch", "pat@ext.example")
	trx.Fields = append(trx.Fields, Field{Name: "Subject", Value: " *secure* hidden"})
	out := decide(t, f, trx)
	if len(st.recorded()) != 1 || out.Changes == nil {
		t.Fatal("a tag in a second Subject header must still seal the message")
	}
	if got := headers(trx, out.Changes)["Subject"]; len(got) != 1 {
		t.Errorf("Subject fields after sealing: %q; want one", got)
	}
}

func TestForgedEnvelopeHeaderReplaced(t *testing.T) {
	st := newMemStore()
	f := newFilter(t, st, &fakeSender{})
	trx := newTrx("*secure* x", "pat@ext.example")
	trx.Fields = append(trx.Fields, Field{Name: "x-postseal-envelope", Value: " forged"})
	out := decide(t, f, trx)
	for _, v := range headers(trx, out.Changes)["x-postseal-envelope"] {
		t.Errorf("an incoming X-Postseal-Envelope survived: %q", v)
	}
}

func TestSplitMixedRecipients(t *testing.T) {
	st := newMemStore()
	s := &fakeSender{}
	f := newFilter(t, st, s)
	trx := newTrx("*secure* Palliative care consult", "nurse@example.org", "pat@ext.example")
	out := decide(t, f, trx)
	if !out.Accepted() || out.Changes == nil {
		t.Fatalf("outcome %+v", out)
	}
	if out.Changes.Subject != nil || out.Changes.Body != nil || out.Changes.Remove != nil || len(out.Changes.Add) != 0 {
		t.Error("the internal copy must stay the original")
	}
	if strings.Join(out.Changes.DelRcpts, ",") != "pat@ext.example" {
		t.Errorf("deleted recipients %v; want the external one", out.Changes.DelRcpts)
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
	p.Config.Milter.MixedRecipients = config.MixedEncryptAll
	st := newMemStore()
	f := New(p, st, &fakeSender{err: errors.New("must not be used")}, slog.New(slog.NewTextHandler(io.Discard, nil)), Config{})
	trx := newTrx("*secure* x", "nurse@example.org", "pat@ext.example")
	out := decide(t, f, trx)
	if !out.Accepted() || out.Changes == nil || out.Changes.Body == nil || len(out.Changes.DelRcpts) != 0 {
		t.Errorf("encrypt-all must seal in place for everyone: %+v", out)
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
			out := decide(t, f, trx)
			if out.Code != 451 || !strings.HasPrefix(out.Text, "4.3.0") || out.Changes != nil {
				t.Fatalf("outcome %+v; want 451 4.3.0 and no changes", out)
			}
		})
	}
}

func TestTimeoutTempFails(t *testing.T) {
	p := testPolicy(t)
	p.Config.Milter.Timeout = config.Duration(200 * time.Millisecond)
	f := New(p, &memStore{hang: true}, &fakeSender{}, slog.New(slog.NewTextHandler(io.Discard, nil)), Config{})
	start := time.Now()
	out := decide(t, f, newTrx("*secure* x", "pat@ext.example"))
	if out.Code != 451 {
		t.Fatalf("outcome %+v; want 451", out)
	}
	if el := time.Since(start); el > 5*time.Second {
		t.Errorf("a hanging store held the message %v", el)
	}
}

func TestTooLarge(t *testing.T) {
	p := testPolicy(t)
	p.Config.Milter.MaxSecureSize = 1000
	st := newMemStore()
	f := New(p, st, &fakeSender{}, slog.New(slog.NewTextHandler(io.Discard, nil)), Config{})
	big := bytes.Repeat([]byte("a\r\n"), 1000)
	trx := newTrx("*secure* x", "pat@ext.example")
	trx.Body, trx.BodySize = bytes.NewReader(big), int64(len(big))
	out := decide(t, f, trx)
	if out.Code != 552 || !strings.HasPrefix(out.Text, "5.3.4") || !strings.Contains(out.Text, "too large to be sent securely") {
		t.Fatalf("outcome %+v; want 552 5.3.4 with a reason", out)
	}
	if len(st.recorded()) != 0 {
		t.Error("an envelope was stored for a refused message")
	}
	// The same size untriggered passes: the limit is for sealing only.
	trx = newTrx("Lunch", "pat@ext.example")
	trx.Body, trx.BodySize = bytes.NewReader(big), int64(len(big))
	if out := decide(t, f, trx); !out.Accepted() {
		t.Errorf("untriggered large message: %+v", out)
	}
}

func TestEncodedSubjectTriggers(t *testing.T) {
	st := newMemStore()
	f := newFilter(t, st, &fakeSender{})
	// "*secure* Überweisung" in UTF-8 base64.
	trx := newTrx("=?UTF-8?B?KnNlY3VyZSogw5xiZXJ3ZWlzdW5n?=", "pat@ext.example")
	out := decide(t, f, trx)
	if out.Changes == nil || out.Changes.Subject == nil {
		t.Fatalf("outcome %+v", out)
	}
	got, err := envelope.DecodeSubject(*out.Changes.Subject)
	if err != nil || got != "Überweisung [-Encrypted-]" {
		t.Errorf("subject %q decodes to %q, %v", *out.Changes.Subject, got, err)
	}
}

// A message to a key-service recipient and a partner with a shared
// password makes two envelopes: one kept in place, one re-injected, each
// opening only with its own secret.
func TestSharedPasswordDomain(t *testing.T) {
	st, s := newMemStore(), &fakeSender{}
	f := New(partnerPolicy(t), st, s, slog.New(slog.NewTextHandler(io.Discard, nil)), Config{})
	trx := newTrx("*secure* results", "pat@ext.example", "lab@partner.example")
	original := originalOf(t, trx)
	out := decide(t, f, trx)
	if !out.Accepted() || out.Changes == nil {
		t.Fatalf("outcome %+v", out)
	}
	body, del := out.Changes.Body, out.Changes.DelRcpts
	if strings.Join(del, ",") != "lab@partner.example" || len(s.sent) != 1 || strings.Join(s.sent[0].to, ",") != "lab@partner.example" {
		t.Fatalf("partner copy not re-injected separately: deleted %v, sent %d", del, len(s.sent))
	}
	var keyID string
	for id, e := range st.recorded() {
		if e.Kind == "keyservice" {
			keyID = id
		} else if e.Kind != "shared-password" || e.Domain != "partner.example" || st.keys[id] != nil {
			t.Errorf("partner envelope record %+v (key stored: %v)", e, st.keys[id] != nil)
		}
	}
	if len(st.recorded()) != 2 || keyID == "" {
		t.Fatalf("envelopes %+v", st.recorded())
	}
	if got := openPayload(t, body, envelope.Passphrase(st.keys[keyID])); !bytes.Equal(got, original) {
		t.Error("key-service copy does not open with its key")
	}
	if got := openPayload(t, s.sent[0].data, "correct horse battery staple"); !bytes.Equal(got, original) {
		t.Error("partner copy does not open with the shared password")
	}
}

// partnerPolicy is the default rules with partner.example sharing the
// password "correct horse battery staple": its copy of a message that
// also goes to a key-service recipient is re-injected.
func partnerPolicy(t *testing.T) *policy.Policy {
	t.Helper()
	cfg := config.Default()
	pw := filepath.Join(t.TempDir(), "partner.pw")
	if err := os.WriteFile(pw, []byte("correct horse battery staple\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg.Domains = []config.Domain{{Name: "partner.example", PasswordFile: pw}}
	p, err := policy.Load(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func discardLog() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }
