package store

import (
	"context"
	"sync"
	"testing"
	"time"
)

// One receipt per envelope and address, ever: many releases at once from
// two store handles (two processes) make one first open, one queued mail
// and one receipt_sent event.
func testFirstOpen(t *testing.T, db database) {
	a, b := twoProcesses(t, db)
	ctx := context.Background()
	putEnv(t, a, "env1", t0.Add(time.Hour), false, "pat@ext.example", "kim@ext.example")
	var wg sync.WaitGroup
	var mu sync.Mutex
	firsts := 0
	for i := range 16 {
		s := a
		if i%2 == 1 {
			s = b
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			first, err := s.FirstOpen(ctx, "env1", "Pat@Ext.example", t0.Add(time.Duration(i)*time.Second), &Mail{From: "postseal@example.org", To: []string{"doc@example.org"}, Data: []byte("Subject: Read: x\r\n\r\n")})
			if err != nil {
				t.Error(err)
				return
			}
			if first {
				mu.Lock()
				firsts++
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	if firsts != 1 {
		t.Fatalf("%d releases counted as the first; want 1", firsts)
	}
	if n, err := a.MailQueueDepth(ctx); err != nil || n != 1 {
		t.Errorf("%d receipts queued, %v; want 1", n, err)
	}
	if n, err := a.CountEvents(ctx, EventFilter{Kind: EventReceiptSent, EnvelopeID: "env1", Email: "pat@ext.example"}); err != nil || n != 1 {
		t.Errorf("%d receipt_sent events, %v; want 1", n, err)
	}
	// Not a recipient: nothing to record.
	if first, err := a.FirstOpen(ctx, "env1", "eve@ext.example", t0, nil); err != nil || first {
		t.Errorf("first open by a stranger: %v, %v", first, err)
	}
	if rep, err := a.VerifyChain(ctx, nil); err != nil || rep.Broken != nil {
		t.Errorf("chain after concurrent receipts: %+v, %v", rep.Broken, err)
	}
}

// The Sent page's query: the sender's envelopes only (any case), newest
// first, paged, with each recipient's first open and first reply.
func testSentEnvelopes(t *testing.T, db database) {
	s, _ := openDB(t, db)
	ctx := context.Background()
	for i, id := range []string{"old", "mid", "new"} {
		e := Envelope{ID: id, Sender: "Doc@Example.org", Recipients: []string{"pat@ext.example", "kim@ext.example"}, Kind: "keyservice",
			Created: t0.Add(time.Duration(i) * time.Hour), Expires: t0.Add(48 * time.Hour), Subject: "Consult " + id + " [-Encrypted-]", MessageID: "<" + id + "@example.org>", ReadReceipts: true}
		if err := s.PutEnvelope(ctx, e, make([]byte, 32)); err != nil {
			t.Fatal(err)
		}
	}
	putEnv(t, s, "other", t0.Add(time.Hour), false, "pat@ext.example") // sent by doc@example.org too (putEnv)
	e := Envelope{ID: "theirs", Sender: "nurse@example.org", Recipients: []string{"pat@ext.example"}, Kind: "keyservice", Created: t0.Add(5 * time.Hour), Expires: t0.Add(48 * time.Hour)}
	if err := s.PutEnvelope(ctx, e, make([]byte, 32)); err != nil {
		t.Fatal(err)
	}
	if _, err := s.FirstOpen(ctx, "mid", "pat@ext.example", t0.Add(2*time.Hour), nil); err != nil {
		t.Fatal(err)
	}
	// A reply that failed to go out is no reply; the one that went is.
	for _, e := range []Event{
		{Time: t0.Add(150 * time.Minute), Kind: EventReplySent, EnvelopeID: "mid", Email: "pat@ext.example", Outcome: "failed"},
		{Time: t0.Add(3 * time.Hour), Kind: EventReplySent, EnvelopeID: "mid", Email: "pat@ext.example"},
	} {
		if err := s.AddEvent(ctx, e); err != nil {
			t.Fatal(err)
		}
	}
	page, total, err := s.SentEnvelopes(ctx, "DOC@example.org", 0, 2)
	if err != nil {
		t.Fatal(err)
	}
	if total != 4 || len(page) != 2 || page[0].ID != "new" || page[1].ID != "mid" {
		t.Fatalf("first page: total %d, %+v", total, page)
	}
	mid := page[1]
	if mid.Subject != "Consult mid [-Encrypted-]" || mid.MessageID != "<mid@example.org>" || !mid.ReadReceipts || !mid.HasKey {
		t.Errorf("stored at seal time: %+v", mid.Envelope)
	}
	if len(mid.States) != 2 || mid.States[1].Address != "pat@ext.example" || !mid.States[1].Opened.Equal(t0.Add(2*time.Hour)) ||
		!mid.States[1].Replied.Equal(t0.Add(3*time.Hour)) || !mid.States[0].Opened.IsZero() {
		t.Errorf("recipient states: %+v", mid.States)
	}
	rest, _, err := s.SentEnvelopes(ctx, "doc@example.org", 2, 2)
	if err != nil || len(rest) != 2 || rest[0].ID != "old" && rest[1].ID != "old" {
		t.Errorf("second page: %+v, %v", rest, err)
	}
	for addr, want := range map[string]bool{"DOC@example.org": true, "nurse@example.org": true, "pat@ext.example": false} {
		if got, err := s.IsSender(ctx, addr); err != nil || got != want {
			t.Errorf("IsSender(%s) = %v, %v", addr, got, err)
		}
	}
}
