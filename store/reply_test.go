package store

import (
	"context"
	"errors"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// A reply token is bound to its envelope and address and gives exactly
// its number of sends, also to concurrent senders.
func testReplyTokens(t *testing.T, db database) {
	s, _ := openDB(t, db)
	ctx := context.Background()
	exp := time.Now().Add(2 * time.Hour).Truncate(time.Millisecond)
	now := exp.Add(-time.Hour)
	if err := s.PutToken(ctx, Token{Hash: hash("reply1"), Purpose: TokenReply, Email: "Pat@Ext.example", EnvelopeID: "env1", Uses: 2, Expires: exp}); err != nil {
		t.Fatal(err)
	}
	got, err := s.Token(ctx, hash("reply1"), TokenReply, now)
	if err != nil || got.Email != "pat@ext.example" || got.EnvelopeID != "env1" || got.Uses != 2 || !got.Expires.Equal(exp) {
		t.Fatalf("Token = %+v, %v", got, err)
	}
	if _, err := s.SpendToken(ctx, hash("reply1"), TokenActivate, now); !errors.Is(err, ErrNotFound) {
		t.Errorf("spent with the wrong purpose: %v", err)
	}
	if _, err := s.SpendToken(ctx, hash("reply1"), TokenReply, exp); !errors.Is(err, ErrNotFound) {
		t.Errorf("spent at its expiry: %v", err)
	}
	for want := 1; want >= 0; want-- {
		got, err := s.SpendToken(ctx, hash("reply1"), TokenReply, now)
		if err != nil || got.Uses != want || got.EnvelopeID != "env1" {
			t.Fatalf("spend = %+v, %v; want %d uses left", got, err, want)
		}
	}
	if _, err := s.SpendToken(ctx, hash("reply1"), TokenReply, now); !errors.Is(err, ErrNotFound) {
		t.Errorf("spent past its count: %v", err)
	}
	if _, err := s.Token(ctx, hash("reply1"), TokenReply, now); !errors.Is(err, ErrNotFound) {
		t.Errorf("a used-up token is still found: %v", err)
	}

	const uses, senders = 3, 12
	if err := s.PutToken(ctx, Token{Hash: hash("reply2"), Purpose: TokenReply, Email: "a@ext.example", EnvelopeID: "env2", Uses: uses, Expires: exp}); err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	var ok atomic.Int32
	for range senders {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if _, err := s.SpendToken(ctx, hash("reply2"), TokenReply, now); err == nil {
				ok.Add(1)
			} else if !errors.Is(err, ErrNotFound) {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	if ok.Load() != uses {
		t.Errorf("%d concurrent spends succeeded; want %d", ok.Load(), uses)
	}
}

// An envelope keeps its reply rights and Reply all list; absent (nil) and
// empty stay apart.
func testEnvelopeReplyRights(t *testing.T, db database) {
	s, _ := openDB(t, db)
	ctx := context.Background()
	now := time.Now().UTC().Truncate(time.Millisecond)
	for _, e := range []Envelope{
		{ID: "rights", Sender: "d@example.org", Recipients: []string{"p@ext.example"}, Kind: "keyservice", Created: now,
			Reply: []string{"reply", "reply-all"}, ReplyAll: []string{"p@ext.example", "nurse@example.org"}},
		{ID: "none", Sender: "d@example.org", Recipients: []string{"p@ext.example"}, Kind: "keyservice", Created: now, Reply: []string{}},
		{ID: "old", Sender: "d@example.org", Recipients: []string{"p@ext.example"}, Kind: "keyservice", Created: now},
	} {
		if err := s.PutEnvelope(ctx, e, make([]byte, 32)); err != nil {
			t.Fatal(err)
		}
		got, err := s.Envelope(ctx, e.ID)
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(got.Reply, e.Reply) || (got.Reply == nil) != (e.Reply == nil) || !slices.Equal(got.ReplyAll, e.ReplyAll) || (got.ReplyAll == nil) != (e.ReplyAll == nil) {
			t.Errorf("%s: reply %#v reply_all %#v; want %#v %#v", e.ID, got.Reply, got.ReplyAll, e.Reply, e.ReplyAll)
		}
	}
}
