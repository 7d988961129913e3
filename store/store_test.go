package store

import (
	"bytes"
	"context"
	"database/sql"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"runtime"
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
	// The busy timeout is 10 s; a minute means it hangs, not that the
	// machine is slow.
	if d := time.Since(start); d > time.Minute {
		t.Errorf("PutEnvelope took %v on a locked database: it waits for the lock instead of failing", d)
	}
	conn.ExecContext(context.Background(), "ROLLBACK")
	if err := s.PutEnvelope(context.Background(), Envelope{ID: "e", Sender: "a@b", Kind: "keyservice", Created: time.Now(), Expires: time.Now()}, make([]byte, 32)); err != nil {
		t.Fatalf("after the lock is released: %v", err)
	}
}

func TestSQLiteSuite(t *testing.T) {
	runSuite(t, func(t *testing.T) database {
		path := filepath.Join(t.TempDir(), "postseal.db")
		return func(key *MasterKey) (Store, error) { return OpenSQLite(context.Background(), path, key) }
	})
}

// An expired envelope's wrapped key must be gone from the database files,
// not merely unlinked from its row (secure_delete, WAL checkpoint).
func TestShreddedKeyLeavesNoBytes(t *testing.T) {
	s, dir := openTemp(t)
	ctx := context.Background()
	now := time.Now()
	for _, id := range []string{"e1", "e2"} {
		if err := s.PutEnvelope(ctx, Envelope{ID: id, Sender: "a@b", Kind: "keyservice", Created: now, Expires: now.Add(time.Hour)}, make([]byte, 32)); err != nil {
			t.Fatal(err)
		}
	}
	wrapped := map[string][]byte{}
	for _, id := range []string{"e1", "e2"} {
		var w []byte
		if err := s.db.QueryRow(`SELECT wrapped_key FROM envelopes WHERE id = ?`, id).Scan(&w); err != nil || len(w) < 32 {
			t.Fatalf("wrapped key of %s: %x %v", id, w, err)
		}
		wrapped[id] = w
	}
	if err := s.ExpireEnvelope(ctx, "e1", now, by); err != nil {
		t.Fatal(err)
	}
	if n, err := s.ShredExpired(ctx, now.Add(2*time.Hour)); err != nil || n != 1 {
		t.Fatalf("shred = %d, %v", n, err)
	}
	var files [][]byte
	for _, f := range []string{"postseal.db", "postseal.db-wal"} {
		data, _ := os.ReadFile(filepath.Join(dir, "state", f))
		files = append(files, data)
	}
	all := bytes.Join(files, nil)
	if len(all) == 0 {
		t.Fatal("no database bytes read")
	}
	for id, w := range wrapped {
		if bytes.Contains(all, w[1+12:]) {
			t.Errorf("the destroyed wrapped key of %s is still in the database files", id)
		}
	}
}

func TestShredEvery(t *testing.T) {
	s, _ := openTemp(t)
	ctx, cancel := context.WithCancel(context.Background())
	now := time.Now()
	for id, exp := range map[string]time.Time{"old": now.Add(-time.Minute), "new": now.Add(time.Hour)} {
		if err := s.PutEnvelope(ctx, Envelope{ID: id, Sender: "a@b", Kind: "keyservice", Created: now, Expires: exp}, make([]byte, 32)); err != nil {
			t.Fatal(err)
		}
	}
	done := make(chan struct{})
	go func() { ShredEvery(ctx, s, time.Hour, slog.New(slog.NewTextHandler(io.Discard, nil))); close(done) }()
	// The first pass runs at once; wait for its effect (bounded).
	deadline := time.Now().Add(10 * time.Second)
	for {
		e, err := s.Envelope(context.Background(), "old")
		if err != nil {
			t.Fatal(err)
		}
		if !e.HasKey {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the expired envelope's key was not destroyed within 10s")
		}
		runtime.Gosched()
	}
	cancel()
	<-done
	if e, _ := s.Envelope(context.Background(), "new"); !e.HasKey {
		t.Error("a live envelope's key was destroyed")
	}
}

// Events written before the audit chain existed are put on it once, in
// the order written, when the upgraded database is first opened; a row
// slipped in later is not adopted.
func TestAuditAdoptsOldEvents(t *testing.T) {
	s, dir := openTemp(t)
	ctx := context.Background()
	for _, q := range []string{
		`INSERT INTO events (time, kind, email) VALUES (1, 'registered', 'a@ext.example'), (2, 'activated', 'a@ext.example')`,
		`DELETE FROM meta WHERE name = 'audit_chain'`,
	} {
		if _, err := s.db.Exec(q); err != nil {
			t.Fatal(err)
		}
	}
	s.Close()
	key, err := LoadMasterKey(filepath.Join(dir, "state", "master.key"), false)
	if err != nil {
		t.Fatal(err)
	}
	reopen := func() *SQLite {
		s, err := OpenSQLite(ctx, filepath.Join(dir, "state", "postseal.db"), key)
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	s = reopen()
	rep, err := s.VerifyChain(ctx, nil)
	if err != nil || rep.Broken != nil || rep.Count != 2 {
		t.Fatalf("after upgrade: %+v, %v; want 2 events intact", rep, err)
	}
	if _, err := s.db.Exec(`INSERT INTO events (time, kind, email) VALUES (3, 'key_released', 'eve@ext.example')`); err != nil {
		t.Fatal(err)
	}
	s.Close()
	s = reopen()
	defer s.Close()
	if rep, err := s.VerifyChain(ctx, nil); err != nil || rep.Broken == nil || !strings.Contains(rep.Broken.Reason, "not on the chain") {
		t.Fatalf("a row inserted after the upgrade: %+v, %v; want it named", rep, err)
	}
}
