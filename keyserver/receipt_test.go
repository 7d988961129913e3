package keyserver

import (
	"context"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-message"
	"github.com/postseal/postseal/store"
)

// receipts returns the read receipts queued in the store (they do not go
// through the Mailer: the store queues them with the first open).
func (f *fixture) receipts() []store.Mail {
	f.t.Helper()
	ms, err := f.st.ClaimMail(context.Background(), time.Now().Add(time.Hour), time.Minute, 100)
	if err != nil {
		f.t.Fatal(err)
	}
	return ms
}

func TestReadReceipt(t *testing.T) {
	chicago, err := time.LoadLocation("America/Chicago")
	if err != nil {
		t.Fatal(err)
	}
	f := newFixture(t, func(c *Config) { c.Location = chicago })
	f.clock.t = time.Date(2026, 12, 3, 15, 4, 0, 0, time.UTC)
	ctx := context.Background()
	now := f.clock.Now()
	e := store.Envelope{ID: "env1", Sender: "Doc@Example.org", Recipients: []string{"ann@partner.example", "bob@partner.example"}, Kind: "keyservice",
		Created: now.Add(-time.Hour), Expires: now.Add(24 * time.Hour), Subject: "Lab results [-Encrypted-]", MessageID: "<lab-1@example.org>", ReadReceipts: true}
	if err := f.st.PutEnvelope(ctx, e, make([]byte, 32)); err != nil {
		t.Fatal(err)
	}
	f.putAccount("ann@partner.example", testPassword, true, false)
	f.putAccount("bob@partner.example", testPassword, true, false)

	for range 3 { // opened three times: one receipt
		if rec := f.postKey("env1", "Ann@Partner.example", testPassword, ""); rec.Code != 200 {
			t.Fatalf("status %d: %s", rec.Code, rec.Body)
		}
	}
	got := f.receipts()
	if len(got) != 1 || got[0].To[0] != "Doc@Example.org" || got[0].From != "postseal@example.org" {
		t.Fatalf("receipts %+v; want one to the sender", got)
	}
	m, err := message.Read(strings.NewReader(string(got[0].Data)))
	if err != nil {
		t.Fatal(err)
	}
	if s := m.Header.Get("Subject"); s != "Read: Lab results [-Encrypted-]" {
		t.Errorf("Subject %q", s)
	}
	if m.Header.Get("In-Reply-To") != "<lab-1@example.org>" || m.Header.Get("Auto-Submitted") != "auto-replied" {
		t.Errorf("threading and auto-reply headers: %v", m.Header)
	}
	b, err := io.ReadAll(m.Body)
	if err != nil {
		t.Fatal(err)
	}
	body := string(b)
	for _, want := range []string{"Ann Lee <ann@partner.example>", "Thu 3 Dec 2026 09:04 CST (15:04 UTC)", "http://keys.example.org:8025/sent"} {
		if !strings.Contains(body, want) {
			t.Errorf("receipt lacks %q:\n%s", want, body)
		}
	}
	if n, _ := f.st.CountEvents(ctx, store.EventFilter{Kind: store.EventReceiptSent, EnvelopeID: "env1"}); n != 1 {
		t.Errorf("%d receipt_sent events; want 1", n)
	}
	// Another recipient: a receipt of their own.
	if rec := f.postKey("env1", "bob@partner.example", testPassword, ""); rec.Code != 200 {
		t.Fatal(rec.Body)
	}
	if got := f.receipts(); len(got) != 1 || !strings.Contains(string(got[0].Data), "bob@partner.example") {
		t.Errorf("second recipient's receipts: %d", len(got))
	}

	// Without read receipts for the envelope: the open is recorded, no mail.
	f.putEnvelope("env2", "ann@partner.example")
	if rec := f.postKey("env2", "ann@partner.example", testPassword, ""); rec.Code != 200 {
		t.Fatal(rec.Body)
	}
	if got := f.receipts(); len(got) != 0 {
		t.Errorf("receipt sent for an envelope without read receipts: %d", len(got))
	}
	page, _, err := f.st.SentEnvelopes(ctx, "doctor@example.org", 0, 10)
	if err != nil || len(page) != 1 || page[0].States[0].Opened.IsZero() {
		t.Errorf("first open of env2 not recorded: %+v, %v", page, err)
	}
}
