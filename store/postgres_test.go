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
