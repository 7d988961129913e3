package store

import (
	"bytes"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func openTemp(t *testing.T) (*SQLite, string) {
	t.Helper()
	dir := t.TempDir()
	key, err := LoadMasterKey(filepath.Join(dir, "state", "master.key"), true)
	if err != nil {
		t.Fatal(err)
	}
	s, err := OpenSQLite(context.Background(), filepath.Join(dir, "state", "postseal.db"), key)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s, dir
}

func TestMasterKeyFile(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "sub", "master.key")
	if _, err := LoadMasterKey(path, false); err == nil {
		t.Fatal("a missing key must not be created when create is false")
	}
	k1, err := LoadMasterKey(path, true)
	if err != nil {
		t.Fatal(err)
	}
	st, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if st.Mode().Perm() != 0o600 {
		t.Errorf("master key mode %04o; want 0600", st.Mode().Perm())
	}
	k2, err := LoadMasterKey(path, true)
	if err != nil {
		t.Fatal(err)
	}
	if k1.ID() != k2.ID() {
		t.Error("loading again must give the same key, not a new one")
	}
	if err := os.Chmod(path, 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := LoadMasterKey(path, true); err == nil || !strings.Contains(err.Error(), "chmod 600") {
		t.Errorf("a world-readable master key must be refused, got %v", err)
	}
	bad := filepath.Join(dir, "bad.key")
	os.WriteFile(bad, []byte("not a key\n"), 0o600)
	if _, err := LoadMasterKey(bad, true); err == nil || !strings.Contains(err.Error(), bad) {
		t.Errorf("a garbled key must be refused naming the file, got %v", err)
	}
}

func TestWrapBindsEnvelopeID(t *testing.T) {
	k, err := LoadMasterKey(filepath.Join(t.TempDir(), "k"), true)
	if err != nil {
		t.Fatal(err)
	}
	key := bytes.Repeat([]byte{7}, 32)
	w, err := k.Wrap("a", key)
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(w, key) {
		t.Fatal("wrapped key contains the key")
	}
	if got, err := k.Unwrap("a", w); err != nil || !bytes.Equal(got, key) {
		t.Fatalf("unwrap = %x, %v", got, err)
	}
	if _, err := k.Unwrap("b", w); err == nil {
		t.Fatal("a wrapped key must not open under another envelope id")
	}
}

func TestPutGetList(t *testing.T) {
	s, _ := openTemp(t)
	ctx := context.Background()
	now := time.Now().UTC().Truncate(time.Millisecond)
	key := bytes.Repeat([]byte{0xab}, 32)
	e := Envelope{ID: "env1", QueueID: "Q1", Sender: "doc@example.org", Recipients: []string{"Pat@Ext.example", "b@ext.example"},
		Kind: "keyservice", Trigger: "secure-tag", Created: now, Expires: now.Add(time.Hour)}
	if err := s.PutEnvelope(ctx, e, key); err != nil {
		t.Fatal(err)
	}
	if err := s.PutEnvelope(ctx, Envelope{ID: "env2", Sender: "x@example.org", Recipients: []string{"c@partner.example"}, Kind: "shared-password", Domain: "partner.example", Created: now.Add(time.Second), Expires: now.Add(time.Hour)}, nil); err != nil {
		t.Fatal(err)
	}
	if err := s.PutEnvelope(ctx, e, key); err == nil {
		t.Error("a duplicate id must be refused")
	}
	got, err := s.Envelope(ctx, "env1")
	if err != nil {
		t.Fatal(err)
	}
	if got.Sender != e.Sender || !got.Created.Equal(now) || !got.HasKey || strings.Join(got.Recipients, ",") != "b@ext.example,pat@ext.example" {
		t.Errorf("envelope = %+v", got)
	}
	k, err := s.EnvelopeKey(ctx, "env1")
	if err != nil || !bytes.Equal(k, key) {
		t.Errorf("key = %x, %v", k, err)
	}
	if _, err := s.EnvelopeKey(ctx, "env2"); !errors.Is(err, ErrNotFound) {
		t.Errorf("shared-password envelope key: %v; want ErrNotFound", err)
	}
	if _, err := s.Envelope(ctx, "nope"); !errors.Is(err, ErrNotFound) {
		t.Errorf("missing envelope: %v", err)
	}
	list, err := s.Envelopes(ctx, 10)
	if err != nil || len(list) != 2 || list[0].ID != "env2" {
		t.Errorf("list = %+v, %v", list, err)
	}
}

func TestDatabaseHoldsNoKeyInClear(t *testing.T) {
	s, dir := openTemp(t)
	key := []byte("0123456789abcdef0123456789ABCDEF")
	if err := s.PutEnvelope(context.Background(), Envelope{ID: "e", Sender: "a@b", Kind: "keyservice", Created: time.Now(), Expires: time.Now()}, key); err != nil {
		t.Fatal(err)
	}
	s.Close()
	if st, err := os.Stat(filepath.Join(dir, "state", "postseal.db")); err != nil || st.Mode().Perm() != 0o600 {
		t.Errorf("database file mode: %v %v; want 0600", st.Mode(), err)
	}
	for _, f := range []string{"postseal.db", "postseal.db-wal"} {
		data, _ := os.ReadFile(filepath.Join(dir, "state", f))
		if bytes.Contains(data, key) {
			t.Errorf("%s contains the message key in clear", f)
		}
	}
}

func TestWrongMasterKeyRefused(t *testing.T) {
	dir := t.TempDir()
	db := filepath.Join(dir, "p.db")
	k1, _ := LoadMasterKey(filepath.Join(dir, "k1"), true)
	s, err := OpenSQLite(context.Background(), db, k1)
	if err != nil {
		t.Fatal(err)
	}
	s.Close()
	k2, _ := LoadMasterKey(filepath.Join(dir, "k2"), true)
	if _, err := OpenSQLite(context.Background(), db, k2); err == nil || !strings.Contains(err.Error(), "master key") {
		t.Fatalf("another master key must be refused, got %v", err)
	}
}

// A locked database (another writer holding it) must make PutEnvelope fail
// within the busy timeout, not hang: the milter then temp-fails.
func TestLockedDatabaseFails(t *testing.T) {
	s, dir := openTemp(t)
	other, err := sql.Open("sqlite", filepath.Join(dir, "state", "postseal.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	conn, err := other.Conn(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if _, err := conn.ExecContext(context.Background(), "BEGIN EXCLUSIVE"); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	err = s.PutEnvelope(context.Background(), Envelope{ID: "e", Sender: "a@b", Kind: "keyservice", Created: time.Now(), Expires: time.Now()}, make([]byte, 32))
	if err == nil {
		t.Fatal("PutEnvelope succeeded on a locked database")
	}
	if d := time.Since(start); d > 10*time.Second {
		t.Errorf("PutEnvelope took %v on a locked database", d)
	}
	conn.ExecContext(context.Background(), "ROLLBACK")
	if err := s.PutEnvelope(context.Background(), Envelope{ID: "e", Sender: "a@b", Kind: "keyservice", Created: time.Now(), Expires: time.Now()}, make([]byte, 32)); err != nil {
		t.Fatalf("after the lock is released: %v", err)
	}
}

// Many sealing sessions at once must all be recorded, none refused as busy.
func TestConcurrentPuts(t *testing.T) {
	s, _ := openTemp(t)
	const n = 200
	errs := make(chan error, n)
	for i := 0; i < n; i++ {
		go func() {
			id := fmt.Sprintf("env%03d", i)
			errs <- s.PutEnvelope(context.Background(), Envelope{ID: id, Sender: "a@example.org", Recipients: []string{"b@ext.example"}, Kind: "keyservice", Created: time.Now(), Expires: time.Now()}, make([]byte, 32))
		}()
	}
	for i := 0; i < n; i++ {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
	list, err := s.Envelopes(context.Background(), 1000)
	if err != nil || len(list) != n {
		t.Fatalf("%d envelopes, %v; want %d", len(list), err, n)
	}
}
