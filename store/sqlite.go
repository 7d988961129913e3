package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	_ "modernc.org/sqlite" // pure-Go SQLite driver "sqlite"
)

// SQLite is the embedded store.
type SQLite struct {
	db  *sql.DB
	key *MasterKey
	// writeMu serialises this process's writes. SQLite admits one writer at
	// a time; left to its busy handler, twenty sealing sessions at once
	// starve each other past the busy timeout and mail gets temp-failed.
	// The busy timeout then only covers other processes (the admin CLI).
	writeMu sync.Mutex
}

var _ Store = (*SQLite)(nil)

// sqliteSchema is applied in steps; PRAGMA user_version records the last.
var sqliteSchema = []string{
	`CREATE TABLE meta (name TEXT PRIMARY KEY, value TEXT NOT NULL);
	CREATE TABLE envelopes (
		id TEXT PRIMARY KEY,
		queue_id TEXT NOT NULL DEFAULT '',
		sender TEXT NOT NULL,
		kind TEXT NOT NULL,
		domain TEXT NOT NULL DEFAULT '',
		trigger_name TEXT NOT NULL DEFAULT '',
		wrapped_key BLOB,
		created INTEGER NOT NULL,
		expires INTEGER NOT NULL,
		locked INTEGER NOT NULL DEFAULT 0
	);
	CREATE INDEX envelopes_created ON envelopes(created);
	CREATE TABLE envelope_recipients (
		envelope_id TEXT NOT NULL REFERENCES envelopes(id) ON DELETE CASCADE,
		address TEXT NOT NULL,
		PRIMARY KEY (envelope_id, address)
	);
	CREATE INDEX envelope_recipients_address ON envelope_recipients(address);`,
}

// OpenSQLite opens (creating if needed) the database at path, checks it
// against the master key and brings the schema up to date. A DSN that
// already carries "?" parameters is passed to the driver unchanged.
func OpenSQLite(ctx context.Context, dsn string, key *MasterKey) (*SQLite, error) {
	path, params, _ := strings.Cut(strings.TrimPrefix(dsn, "file:"), "?")
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, fmt.Errorf("open store %s: %w", path, err)
	}
	// Recipient addresses and wrapped keys are nobody else's business;
	// SQLite gives its -wal and -shm files the database file's mode.
	if f, err := os.OpenFile(path, os.O_RDONLY|os.O_CREATE, 0o600); err == nil {
		f.Close()
	}
	if params == "" {
		// busy_timeout: a locked database is waited for briefly, then the
		// message is temp-failed; FULL sync: a reported write survives a crash.
		params = "_txlock=immediate&_pragma=busy_timeout(2000)&_pragma=journal_mode(WAL)&_pragma=synchronous(FULL)&_pragma=foreign_keys(1)"
	}
	db, err := sql.Open("sqlite", "file:"+path+"?"+params)
	if err != nil {
		return nil, fmt.Errorf("open store %s: %w", path, err)
	}
	s := &SQLite{db: db, key: key}
	if err := s.migrate(ctx); err != nil {
		db.Close()
		return nil, fmt.Errorf("open store %s: %w", path, err)
	}
	if err := s.checkKey(ctx); err != nil {
		db.Close()
		return nil, fmt.Errorf("open store %s: %w", path, err)
	}
	return s, nil
}

func (s *SQLite) migrate(ctx context.Context) error {
	var version int
	if err := s.db.QueryRowContext(ctx, `PRAGMA user_version`).Scan(&version); err != nil {
		return err
	}
	if version > len(sqliteSchema) {
		return fmt.Errorf("database schema %d is newer than this postseal (%d)", version, len(sqliteSchema))
	}
	for i := version; i < len(sqliteSchema); i++ {
		tx, err := s.db.BeginTx(ctx, nil)
		if err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, sqliteSchema[i]); err != nil {
			tx.Rollback()
			return fmt.Errorf("migration %d: %w", i+1, err)
		}
		if _, err := tx.ExecContext(ctx, fmt.Sprintf(`PRAGMA user_version = %d`, i+1)); err != nil {
			tx.Rollback()
			return err
		}
		if err := tx.Commit(); err != nil {
			return err
		}
	}
	return nil
}

// checkKey refuses a master key other than the one the database was
// started with: message keys wrapped with the old one would be unreadable.
func (s *SQLite) checkKey(ctx context.Context) error {
	var have string
	err := s.db.QueryRowContext(ctx, `SELECT value FROM meta WHERE name = 'master_key_id'`).Scan(&have)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		_, err = s.db.ExecContext(ctx, `INSERT INTO meta (name, value) VALUES ('master_key_id', ?)`, s.key.ID())
		return err
	case err != nil:
		return err
	case have != s.key.ID():
		return errors.New("the master key file is not the one this database was created with (restore the original master key)")
	}
	return nil
}

// PutEnvelope implements Store.
func (s *SQLite) PutEnvelope(ctx context.Context, e Envelope, key []byte) error {
	var wrapped []byte
	if key != nil {
		var err error
		if wrapped, err = s.key.Wrap(e.ID, key); err != nil {
			return fmt.Errorf("put envelope %s: %w", e.ID, err)
		}
	}
	s.writeMu.Lock()
	defer s.writeMu.Unlock()
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("put envelope %s: %w", e.ID, err)
	}
	defer tx.Rollback()
	if _, err := tx.ExecContext(ctx, `INSERT INTO envelopes (id, queue_id, sender, kind, domain, trigger_name, wrapped_key, created, expires, locked)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		e.ID, e.QueueID, e.Sender, e.Kind, e.Domain, e.Trigger, wrapped, e.Created.UnixMilli(), e.Expires.UnixMilli(), e.Locked); err != nil {
		return fmt.Errorf("put envelope %s: %w", e.ID, err)
	}
	for _, r := range e.Recipients {
		if _, err := tx.ExecContext(ctx, `INSERT OR IGNORE INTO envelope_recipients (envelope_id, address) VALUES (?, ?)`, e.ID, strings.ToLower(r)); err != nil {
			return fmt.Errorf("put envelope %s: %w", e.ID, err)
		}
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("put envelope %s: %w", e.ID, err)
	}
	return nil
}

const envelopeColumns = `id, queue_id, sender, kind, domain, trigger_name, wrapped_key IS NOT NULL, created, expires, locked`

func scanEnvelope(row interface{ Scan(...any) error }) (Envelope, error) {
	var e Envelope
	var created, expires int64
	err := row.Scan(&e.ID, &e.QueueID, &e.Sender, &e.Kind, &e.Domain, &e.Trigger, &e.HasKey, &created, &expires, &e.Locked)
	e.Created, e.Expires = time.UnixMilli(created).UTC(), time.UnixMilli(expires).UTC()
	return e, err
}

func (s *SQLite) recipients(ctx context.Context, e *Envelope) error {
	rows, err := s.db.QueryContext(ctx, `SELECT address FROM envelope_recipients WHERE envelope_id = ? ORDER BY address`, e.ID)
	if err != nil {
		return err
	}
	defer rows.Close()
	e.Recipients = []string{}
	for rows.Next() {
		var a string
		if err := rows.Scan(&a); err != nil {
			return err
		}
		e.Recipients = append(e.Recipients, a)
	}
	return rows.Err()
}

// Envelope implements Store.
func (s *SQLite) Envelope(ctx context.Context, id string) (Envelope, error) {
	e, err := scanEnvelope(s.db.QueryRowContext(ctx, `SELECT `+envelopeColumns+` FROM envelopes WHERE id = ?`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return Envelope{}, fmt.Errorf("envelope %s: %w", id, ErrNotFound)
	}
	if err != nil {
		return Envelope{}, fmt.Errorf("envelope %s: %w", id, err)
	}
	if err := s.recipients(ctx, &e); err != nil {
		return Envelope{}, fmt.Errorf("envelope %s: %w", id, err)
	}
	return e, nil
}

// Envelopes implements Store.
func (s *SQLite) Envelopes(ctx context.Context, limit int) ([]Envelope, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT `+envelopeColumns+` FROM envelopes ORDER BY created DESC, id LIMIT ?`, limit)
	if err != nil {
		return nil, fmt.Errorf("list envelopes: %w", err)
	}
	var out []Envelope
	for rows.Next() {
		e, err := scanEnvelope(rows)
		if err != nil {
			rows.Close()
			return nil, fmt.Errorf("list envelopes: %w", err)
		}
		out = append(out, e)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("list envelopes: %w", err)
	}
	for i := range out {
		if err := s.recipients(ctx, &out[i]); err != nil {
			return nil, fmt.Errorf("list envelopes: %w", err)
		}
	}
	return out, nil
}

// EnvelopeKey implements Store.
func (s *SQLite) EnvelopeKey(ctx context.Context, id string) ([]byte, error) {
	var wrapped []byte
	err := s.db.QueryRowContext(ctx, `SELECT wrapped_key FROM envelopes WHERE id = ?`, id).Scan(&wrapped)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("envelope %s: %w", id, ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("envelope %s key: %w", id, err)
	}
	if wrapped == nil {
		return nil, fmt.Errorf("envelope %s has no stored key (shared-password envelope): %w", id, ErrNotFound)
	}
	return s.key.Unwrap(id, wrapped)
}

// Ping implements Store.
func (s *SQLite) Ping(ctx context.Context) error { return s.db.PingContext(ctx) }

// Close implements Store.
func (s *SQLite) Close() error { return s.db.Close() }
