package store

import (
	"context"
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
	var downgrade []string
	switch s.(type) {
	case *SQLite:
		downgrade = []string{`ALTER TABLE mail_queue DROP COLUMN route`, fmt.Sprintf(`PRAGMA user_version = %d`, len(sqliteSchema)-1)}
	case *Postgres:
		downgrade = []string{`ALTER TABLE mail_queue DROP COLUMN route`, fmt.Sprintf(`DELETE FROM schema_migrations WHERE version = %d`, len(postgresSchema))}
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
