package store

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"
)

// A mail keeps its route from enqueue through every retry; a mail queued
// without one goes to the relay; an unknown route is refused.
func testMailQueueRoute(t *testing.T, db database) {
	s, _ := openDB(t, db)
	ctx := context.Background()
	if _, err := s.EnqueueMail(ctx, Mail{From: "p@example.org", To: []string{"a@ext.example"}, Data: []byte("x"), Route: "smtp"}); err == nil {
		t.Error("a mail with an unknown route must be refused")
	}
	want := map[int64]Route{}
	for _, r := range []Route{"", RouteRelay, RouteReinject} {
		id, err := s.EnqueueMail(ctx, Mail{From: "p@example.org", To: []string{"a@ext.example"}, Data: []byte("x"), Route: r})
		if err != nil {
			t.Fatal(err)
		}
		want[id] = r
		if r == "" {
			want[id] = RouteRelay
		}
	}
	at := time.Now().Add(time.Second)
	for attempt := range 3 {
		got, err := s.ClaimMail(ctx, at, time.Minute, 10)
		if err != nil || len(got) != len(want) {
			t.Fatalf("attempt %d: claimed %+v, %v", attempt, got, err)
		}
		for _, m := range got {
			if m.Route != want[m.ID] || m.Attempts != attempt {
				t.Errorf("attempt %d: mail %d has route %q after %d attempts; want %q", attempt, m.ID, m.Route, m.Attempts, want[m.ID])
			}
			if err := s.MailFailed(ctx, m.ID, at.Add(time.Hour), "451 try later"); err != nil {
				t.Fatal(err)
			}
		}
		at = at.Add(time.Hour)
	}
}

// Mail queued before routes were recorded was all for the relay: after
// the upgrade it still is, and none of it is lost.
func testMailQueueRouteUpgrade(t *testing.T, db database) {
	s, key := openDB(t, db)
	ctx := context.Background()
	// Back to the schema before the route column, as an older postseal
	// left it, with a mail in its queue.
	// The route step came before putPagesSchema: that one is undone first.
	undoPutPages(t, s)
	var downgrade []string
	switch s.(type) {
	case *SQLite:
		downgrade = []string{`ALTER TABLE mail_queue DROP COLUMN route`, fmt.Sprintf(`PRAGMA user_version = %d`, len(sqliteSchema)-2)}
	case *Postgres:
		downgrade = []string{`ALTER TABLE mail_queue DROP COLUMN route`, fmt.Sprintf(`DELETE FROM schema_migrations WHERE version = %d`, len(postgresSchema)-1)}
	default:
		t.Fatalf("no downgrade for %T", s)
	}
	sq := sqlOf(t, s)
	for _, q := range downgrade {
		if _, err := sq.db.ExecContext(ctx, q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	if _, err := sq.db.ExecContext(ctx, sq.q(`INSERT INTO mail_queue (sender, recipients, data, attempts, next_attempt, last_error, created)
		VALUES (?, ?, ?, 0, ?, '', ?)`), "p@example.org", `["old@ext.example"]`, []byte("queued before the upgrade"), int64(1), int64(1)); err != nil {
		t.Fatal(err)
	}
	s.Close()
	s2, err := db(key)
	if err != nil {
		t.Fatalf("upgrade: %v", err)
	}
	defer s2.Close()
	got, err := s2.ClaimMail(ctx, time.Now(), time.Minute, 10)
	if err != nil || len(got) != 1 {
		t.Fatalf("after the upgrade: claimed %+v, %v; want the old mail", got, err)
	}
	if got[0].Route != RouteRelay || string(got[0].Data) != "queued before the upgrade" {
		t.Errorf("old mail after the upgrade: route %q, data %q; want relay, intact", got[0].Route, got[0].Data)
	}
}

// A mail that reached some of its recipients keeps only the others, with
// its attempt counted, its retry time and reason, the rest unchanged; a
// partly sent mail with no one left, or an unknown one, is refused.
func testMailPartlySent(t *testing.T, db database) {
	s, _ := openDB(t, db)
	ctx := context.Background()
	data := []byte("Subject: reply\r\n\r\nx\r\n")
	id, err := s.EnqueueMail(ctx, Mail{From: "p@example.org", To: []string{"a@ext.example", "b@ext.example", "c@ext.example"}, Data: data, Route: RouteReinject})
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	if _, err := s.ClaimMail(ctx, now.Add(time.Second), time.Minute, 10); err != nil {
		t.Fatal(err)
	}
	next := now.Add(time.Hour)
	if err := s.MailPartlySent(ctx, id, []string{"c@ext.example"}, next, "452 4.5.3 too many recipients"); err != nil {
		t.Fatal(err)
	}
	if err := s.MailPartlySent(ctx, id, nil, next, "x"); err == nil {
		t.Error("MailPartlySent with no recipient left was taken")
	}
	if err := s.MailPartlySent(ctx, id+1000, []string{"c@ext.example"}, next, "x"); !errors.Is(err, ErrNotFound) {
		t.Errorf("MailPartlySent of an unknown mail = %v; want ErrNotFound", err)
	}
	if got, err := s.ClaimMail(ctx, next.Add(-time.Second), time.Minute, 10); err != nil || len(got) != 0 {
		t.Fatalf("claimed before its next attempt: %+v, %v", got, err)
	}
	got, err := s.ClaimMail(ctx, next, time.Minute, 10)
	if err != nil || len(got) != 1 {
		t.Fatalf("claim at its next attempt = %+v, %v", got, err)
	}
	m := got[0]
	if m.ID != id || fmt.Sprint(m.To) != "[c@ext.example]" || m.Attempts != 1 || m.LastError != "452 4.5.3 too many recipients" ||
		m.Route != RouteReinject || m.From != "p@example.org" || string(m.Data) != string(data) {
		t.Errorf("after a partial send: %+v", m)
	}
}

// A claim for no mail asks the database nothing: it succeeds even with
// the context already ended, and leaves a due mail unclaimed.
func TestClaimMailNone(t *testing.T) {
	s, _ := openTemp(t)
	if _, err := s.EnqueueMail(context.Background(), Mail{From: "postseal@example.org", To: []string{"pat@ext.example"}, Data: []byte("Subject: x\r\n\r\nx\r\n"), Created: t0, NextAttempt: t0}); err != nil {
		t.Fatal(err)
	}
	ended, cancel := context.WithCancel(context.Background())
	cancel()
	if got, err := s.ClaimMail(ended, t0, time.Minute, 0); err != nil || got != nil {
		t.Errorf("ClaimMail of 0 mails: %v, %v; want nothing and no error", got, err)
	}
	got, err := s.ClaimMail(context.Background(), t0, time.Minute, 1)
	if err != nil || len(got) != 1 {
		t.Errorf("ClaimMail after the claim of none: %v, %v; want the due mail", got, err)
	}
}
