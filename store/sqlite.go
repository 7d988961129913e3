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
	// puts feeds the one goroutine that writes envelopes. SQLite admits
	// one writer at a time: left to its busy handler, twenty sealing
	// sessions starve each other past the busy timeout and mail is
	// temp-failed. The writer commits whatever is waiting in one
	// transaction (group commit), so one fsync makes many envelopes
	// durable; the busy timeout only covers other processes (the CLI).
	puts    chan putRequest
	closing chan struct{}
	stopped sync.WaitGroup
	once    sync.Once
}

type putRequest struct {
	e       Envelope
	wrapped []byte
	done    chan error
}

// maxBatch bounds one group commit.
const maxBatch = 128

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
	s := &SQLite{db: db, key: key, puts: make(chan putRequest), closing: make(chan struct{})}
	if err := s.migrate(ctx); err != nil {
		db.Close()
		return nil, fmt.Errorf("open store %s: %w", path, err)
	}
	if err := s.checkKey(ctx); err != nil {
		db.Close()
		return nil, fmt.Errorf("open store %s: %w", path, err)
	}
	s.stopped.Add(1)
	go s.writer()
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

// PutEnvelope implements Store. It returns once the envelope is committed
// (or when ctx ends first: the record may then still be written, which is
// harmless — an envelope nobody received).
func (s *SQLite) PutEnvelope(ctx context.Context, e Envelope, key []byte) error {
	req := putRequest{e: e, done: make(chan error, 1)}
	if key != nil {
		var err error
		if req.wrapped, err = s.key.Wrap(e.ID, key); err != nil {
			return fmt.Errorf("put envelope %s: %w", e.ID, err)
		}
	}
	select {
	case s.puts <- req:
	case <-s.closing:
		return fmt.Errorf("put envelope %s: store closed", e.ID)
	case <-ctx.Done():
		return fmt.Errorf("put envelope %s: %w", e.ID, ctx.Err())
	}
	select {
	case err := <-req.done:
		if err != nil {
			return fmt.Errorf("put envelope %s: %w", e.ID, err)
		}
		return nil
	case <-ctx.Done():
		return fmt.Errorf("put envelope %s: %w", e.ID, ctx.Err())
	}
}

func (s *SQLite) writer() {
	defer s.stopped.Done()
	for {
		var first putRequest
		select {
		case first = <-s.puts:
		case <-s.closing:
			return
		}
		batch := []putRequest{first}
	more:
		for len(batch) < maxBatch {
			select {
			case r := <-s.puts:
				batch = append(batch, r)
			default:
				break more
			}
		}
		err := s.insert(batch)
		if err != nil && len(batch) > 1 {
			// One bad record (a duplicate id) must not fail the others.
			for _, r := range batch {
				r.done <- s.insert([]putRequest{r})
			}
			continue
		}
		for _, r := range batch {
			r.done <- err
		}
	}
}

// insert writes envelopes in one transaction.
func (s *SQLite) insert(batch []putRequest) error {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	for _, r := range batch {
		e := r.e
		if _, err := tx.ExecContext(ctx, `INSERT INTO envelopes (id, queue_id, sender, kind, domain, trigger_name, wrapped_key, created, expires, locked)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
			e.ID, e.QueueID, e.Sender, e.Kind, e.Domain, e.Trigger, r.wrapped, e.Created.UnixMilli(), e.Expires.UnixMilli(), e.Locked); err != nil {
			return err
		}
		for _, rc := range e.Recipients {
			if _, err := tx.ExecContext(ctx, `INSERT OR IGNORE INTO envelope_recipients (envelope_id, address) VALUES (?, ?)`, e.ID, strings.ToLower(rc)); err != nil {
				return err
			}
		}
	}
	return tx.Commit()
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

// Close implements Store: the writer finishes the batch it holds, then
// the database is closed.
func (s *SQLite) Close() error {
	s.once.Do(func() { close(s.closing) })
	s.stopped.Wait()
	return s.db.Close()
}
