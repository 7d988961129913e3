package store

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// An expiry change the administrator gave no reason for is logged with the
// new time; one with a reason keeps it.
func TestSetExpiryDetail(t *testing.T) {
	s, _ := openTemp(t)
	ctx := context.Background()
	putEnv(t, s, "a", t0.Add(time.Hour), false, "x@ext.example")
	putEnv(t, s, "b", t0.Add(time.Hour), false, "x@ext.example")
	at := t0.Add(48 * time.Hour)
	if err := s.SetExpiry(ctx, "a", at, by); err != nil {
		t.Fatal(err)
	}
	withReason := by
	withReason.Detail = "ticket 42"
	if err := s.SetExpiry(ctx, "b", at, withReason); err != nil {
		t.Fatal(err)
	}
	for id, want := range map[string]string{"a": "expires 2026-11-25T15:39:59Z", "b": "ticket 42"} {
		evs, err := s.Events(ctx, EventFilter{Kind: EventExpirySet, EnvelopeID: id})
		if err != nil {
			t.Fatal(err)
		}
		if len(evs) != 1 || evs[0].Detail != want {
			t.Errorf("expiry events of %s: %+v; want one with detail %q", id, evs, want)
		}
	}
}

// walBytes is the size of the SQLite store's write-ahead log in dir.
func walBytes(t *testing.T, dir string) int64 {
	t.Helper()
	fi, err := os.Stat(filepath.Join(dir, "state", "postseal.db-wal"))
	if err != nil {
		t.Fatal(err)
	}
	return fi.Size()
}

// A sweep that destroyed nothing leaves the write-ahead log alone: the
// TRUNCATE checkpoint that wipes destroyed keys' old pages waits for
// readers and rewrites pages, a cost only a destruction justifies. Each
// sweep runs every few minutes.
func TestShredSweepsCheckpointOnlyAfterDestroying(t *testing.T) {
	s, dir := openTemp(t)
	ctx := context.Background()
	putEnv(t, s, "a", t0.Add(time.Hour), false, "x@ext.example")
	putWithCopy(t, s, "b", phoneCopy("b"))
	before := walBytes(t, dir)
	if before == 0 {
		t.Fatal("the write-ahead log is empty after two envelopes")
	}
	if n, err := s.ShredExpired(ctx, t0); err != nil || n != 0 {
		t.Fatalf("ShredExpired before any expiry: %d, %v", n, err)
	}
	if got := walBytes(t, dir); got != before {
		t.Errorf("ShredExpired destroying nothing changed the log from %d to %d octets", before, got)
	}
	if n, err := s.DeleteExpiredCopies(ctx, t0); err != nil || n != 0 {
		t.Fatalf("DeleteExpiredCopies before any expiry: %d, %v", n, err)
	}
	if got := walBytes(t, dir); got != before {
		t.Errorf("DeleteExpiredCopies deleting nothing changed the log from %d to %d octets", before, got)
	}
	// The other side: a destruction empties it.
	if n, err := s.ShredExpired(ctx, t0.Add(2*time.Hour)); err != nil || n != 1 {
		t.Fatalf("ShredExpired after the expiry: %d, %v", n, err)
	}
	if got := walBytes(t, dir); got != 0 {
		t.Errorf("after a key was destroyed the log holds %d octets; want a TRUNCATE checkpoint", got)
	}
}
