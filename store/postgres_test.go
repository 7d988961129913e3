package store

import (
	"bytes"
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
	"github.com/postseal/postseal/store/pgtest"
)

func TestPostgresSuite(t *testing.T) {
	runSuite(t, func(t *testing.T) database {
		dsn := pgtest.DSN(t)
		return func(key *MasterKey) (Store, error) { return OpenPostgres(context.Background(), dsn, key) }
	})
}

// pgSchemaDSN gives a private schema and a connection to prepare it.
func pgSchemaDSN(t *testing.T) (string, *sql.DB) {
	t.Helper()
	dsn := pgtest.DSN(t)
	db, err := sql.Open("pgx", dsn)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return dsn, db
}

// A migration step that fails is named by its number (the first is 1).
func TestPostgresMigrationFailureNamesStep(t *testing.T) {
	dsn, db := pgSchemaDSN(t)
	// The first step creates this table.
	if _, err := db.Exec(`CREATE TABLE meta (x INTEGER)`); err != nil {
		t.Fatal(err)
	}
	s, err := OpenPostgres(context.Background(), dsn, testKey(t))
	if err == nil {
		s.Close()
	}
	if err == nil || !strings.Contains(err.Error(), "migration 1: ") {
		t.Errorf("open over a clashing table: %v; want migration 1 to fail", err)
	}
}

// A step whose record cannot be written is named by its number too.
func TestPostgresMigrationRecordFailureNamesStep(t *testing.T) {
	dsn, db := pgSchemaDSN(t)
	if _, err := db.Exec(`CREATE TABLE schema_migrations (version INTEGER PRIMARY KEY CHECK (version > 1), applied TIMESTAMPTZ NOT NULL DEFAULT now())`); err != nil {
		t.Fatal(err)
	}
	s, err := OpenPostgres(context.Background(), dsn, testKey(t))
	if err == nil {
		s.Close()
	}
	if err == nil || !strings.Contains(err.Error(), "migration 1: ") || !strings.Contains(err.Error(), "23514") {
		t.Errorf("open with a refusing migrations table: %v; want migration 1's record refused", err)
	}
}

// A recipient the database refuses fails the put with the database's
// reason, not with a later statement's "transaction is aborted". An
// address too long for an index entry (no compression shortens hex of
// hashes enough) is refused by the recipients' index alone.
func TestPostgresPutRefusedRecipient(t *testing.T) {
	dsn := pgtest.DSN(t)
	s, err := OpenPostgres(context.Background(), dsn, testKey(t))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	var long strings.Builder
	for i := 0; long.Len() < 20000; i++ {
		h := sha256.Sum256([]byte{byte(i), byte(i >> 8)})
		long.WriteString(hex.EncodeToString(h[:]))
	}
	e := Envelope{ID: "a", Sender: "doc@example.org", Recipients: []string{long.String() + "@ext.example"}, Kind: KindKeyService, Created: t0}
	err = s.PutEnvelope(context.Background(), e, bytes.Repeat([]byte{1}, 32))
	var pe *pgconn.PgError
	if !errors.As(err, &pe) || pe.Code != "54000" {
		t.Errorf("put with a recipient too long for the index: %v; want PostgreSQL's 54000 (index row size exceeds maximum)", err)
	}
	if _, err := s.Envelope(context.Background(), "a"); !errors.Is(err, ErrNotFound) {
		t.Errorf("the refused envelope: %v; want ErrNotFound", err)
	}
}

// The writer puts a group in one statement after the head it left; when
// another appender (another process here) moved the head, the group is
// written the long way, once, and the chain stays one gap-free run. A
// statement that fails (a duplicate) leaves the head unknown, and the
// next put finds it again.
func TestPostgresPutAtHead(t *testing.T) {
	dsn := pgtest.DSN(t)
	key := testKey(t)
	ctx := context.Background()
	a, err := OpenPostgres(ctx, dsn, key)
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	b, err := OpenPostgres(ctx, dsn, key)
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	put := func(s *Postgres, id string) error {
		return s.PutEnvelope(ctx, Envelope{ID: id, Sender: "doc@example.org", Recipients: []string{"pat@ext.example"}, Kind: KindKeyService,
			Created: t0, Expires: t0.Add(time.Hour), Online: &OnlineCopy{Payload: []byte("wcBMA" + id), Meta: "{}", Expires: t0.Add(time.Hour)}}, bytes.Repeat([]byte{9}, 32))
	}
	steps := []struct {
		s      *Postgres
		id     string
		dup    bool
		misses int
	}{
		{a, "a1", false, 0}, // learns the head (the long way, not a miss)
		{a, "a2", false, 0}, // at the head
		{b, "b1", false, 0}, // b's own first group; a's head is now stale
		{a, "a3", false, 1}, // finds it moved
		{a, "a4", false, 1},
		{a, "a4", true, 1}, // refused; the head is unknown again
		{a, "a5", false, 1},
		{a, "a6", false, 1},
	}
	for i, st := range steps {
		err := put(st.s, st.id)
		if st.dup != (err != nil) {
			t.Fatalf("step %d: put %s: %v (duplicate: %v)", i, st.id, err, st.dup)
		}
		if a.headMisses != st.misses {
			t.Errorf("step %d: put %s: %d groups found the head moved; want %d", i, st.id, a.headMisses, st.misses)
		}
	}
	if err := b.AddEvent(ctx, Event{Kind: EventLoginFailed, Email: "x@ext.example", RemoteIP: "192.0.2.1"}); err != nil {
		t.Fatal(err)
	}
	if err := put(a, "a7"); err != nil || a.headMisses != 2 {
		t.Errorf("put after another process's event: %v, %d misses; want 2", err, a.headMisses)
	}
	rep, err := a.VerifyChain(ctx, nil)
	if err != nil || rep.Broken != nil || rep.Count != 9 || rep.Head.Seq != 9 {
		t.Fatalf("chain: %+v, %v; want 9 events intact", rep, err)
	}
	for _, id := range []string{"a1", "a2", "b1", "a3", "a4", "a5", "a6", "a7"} {
		if c, err := a.OnlineCopy(ctx, id); err != nil || string(c.Payload) != "wcBMA"+id {
			t.Errorf("%s's copy: %q, %v", id, c.Payload, err)
		}
		if n, err := a.CountEvents(ctx, EventFilter{Kind: EventSealed, EnvelopeID: id}); err != nil || n != 1 {
			t.Errorf("%s: %d sealed events, %v; want 1", id, n, err)
		}
	}
}
