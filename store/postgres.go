package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
	_ "github.com/jackc/pgx/v5/stdlib" // database/sql driver "pgx"
)

// Postgres is the store shared by several postseal processes (several mail
// servers, one key service). It keeps the same tables as SQLite, with
// times in Unix milliseconds, so the SQL is shared (sqlStore).
type Postgres struct {
	sqlStore
	// puts commits envelopes in groups (groupCommit): each commit holds
	// the audit chain's head until it is on disk.
	puts *groupCommit
	// head is the chain's head as the writer's last group left it, when
	// headKnown; only the writer's goroutine (insertGroup) uses them.
	head      Checkpoint
	headKnown bool
	// headMisses counts the groups that found the head moved by another
	// appender and were written the long way.
	headMisses int
}

var _ Store = (*Postgres)(nil)

// postgresSchema is applied in steps, each recorded in schema_migrations.
// Append only: a released step never changes.
var postgresSchema = []string{
	`CREATE TABLE meta (name TEXT PRIMARY KEY, value TEXT NOT NULL);
	CREATE TABLE envelopes (
		id TEXT PRIMARY KEY,
		queue_id TEXT NOT NULL DEFAULT '',
		sender TEXT NOT NULL,
		kind TEXT NOT NULL,
		domain TEXT NOT NULL DEFAULT '',
		trigger_name TEXT NOT NULL DEFAULT '',
		wrapped_key BYTEA,
		created BIGINT NOT NULL,
		expires BIGINT NOT NULL,
		locked BOOLEAN NOT NULL DEFAULT FALSE
	);
	CREATE INDEX envelopes_created ON envelopes(created);
	CREATE INDEX envelopes_expires ON envelopes(expires) WHERE wrapped_key IS NOT NULL;
	CREATE TABLE envelope_recipients (
		envelope_id TEXT NOT NULL REFERENCES envelopes(id) ON DELETE CASCADE,
		address TEXT NOT NULL,
		PRIMARY KEY (envelope_id, address)
	);
	CREATE INDEX envelope_recipients_address ON envelope_recipients(address);
	CREATE TABLE accounts (
		email TEXT PRIMARY KEY,
		first_name TEXT NOT NULL DEFAULT '',
		last_name TEXT NOT NULL DEFAULT '',
		password_hash TEXT NOT NULL DEFAULT '',
		active BOOLEAN NOT NULL DEFAULT FALSE,
		disabled BOOLEAN NOT NULL DEFAULT FALSE,
		created BIGINT NOT NULL,
		activated BIGINT NOT NULL DEFAULT 0
	);
	CREATE TABLE tokens (
		hash BYTEA PRIMARY KEY,
		purpose TEXT NOT NULL,
		email TEXT NOT NULL,
		expires BIGINT NOT NULL
	);
	CREATE INDEX tokens_expires ON tokens(expires);
	CREATE TABLE events (
		id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
		time BIGINT NOT NULL,
		kind TEXT NOT NULL,
		email TEXT NOT NULL DEFAULT '',
		envelope_id TEXT NOT NULL DEFAULT '',
		remote_ip TEXT NOT NULL DEFAULT '',
		detail TEXT NOT NULL DEFAULT ''
	);
	CREATE INDEX events_kind_time ON events(kind, time);
	CREATE INDEX events_email_time ON events(email, time);
	CREATE INDEX events_ip_time ON events(remote_ip, time);
	CREATE INDEX events_envelope ON events(envelope_id);
	CREATE TABLE mail_queue (
		id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
		sender TEXT NOT NULL,
		recipients TEXT NOT NULL,
		data BYTEA NOT NULL,
		attempts INTEGER NOT NULL DEFAULT 0,
		next_attempt BIGINT NOT NULL,
		last_error TEXT NOT NULL DEFAULT '',
		created BIGINT NOT NULL
	);
	CREATE INDEX mail_queue_due ON mail_queue(next_attempt);`,
	// 2: the audit chain (see audit.go).
	auditSchema("BIGINT"),
	// 3: a registration waits in its activation token (its own password
	// hash and names) instead of overwriting the account, so a later
	// registration cannot take over an earlier one; wrong activation
	// passwords are counted on the token; sessions carry the account's
	// session version (logging out ends them); an envelope records the
	// digest of its payload so the decryptor can tell a forgery.
	keyServiceHardening,
	// 4: what the sender's side needs (see senderSchema).
	senderSchema("BIGINT"),
	// 5: secure reply (see replySchema).
	replySchema,
	// 6: the language a recipient chose (see languageSchema).
	languageSchema,
	// 7: the phone page's copies (see onlineSchema).
	onlineSchema("BYTEA", "BIGINT"),
	// 8: each queued mail's route (see routeSchema).
	routeSchema,
	// 9: fewer index pages written per sealed message (see putPagesSchema).
	putPagesSchema,
}

// postgresDialect: claims skip rows another claimant holds (SKIP LOCKED),
// so concurrent workers on several machines never wait for or share one
// mail. Placeholders are numbered by hand: the CTE uses them out of order.
var postgresDialect = dialect{
	dollar: true,
	isUnique: func(err error) bool {
		var pe *pgconn.PgError
		return errors.As(err, &pe) && pe.Code == "23505"
	},
	claimSQL: `WITH due AS (
		SELECT id FROM mail_queue WHERE next_attempt <= $2 ORDER BY next_attempt, id LIMIT $3 FOR UPDATE SKIP LOCKED)
		UPDATE mail_queue m SET next_attempt = $1 FROM due WHERE m.id = due.id
		RETURNING m.id, m.sender, m.recipients, m.data, m.attempts, m.next_attempt, m.last_error, m.created, m.route`,
	insertGroup:  pgInsertGroup,
	insertEvents: pgInsertEventRows,
}

// OpenPostgres connects to the database named by dsn (a postgres:// URL or
// key=value string; search_path selects the schema), brings the schema up
// to date and checks it against the master key.
func OpenPostgres(ctx context.Context, dsn string, key *MasterKey) (*Postgres, error) {
	db, err := sql.Open("pgx", dsn)
	if err != nil {
		return nil, fmt.Errorf("open postgres store: %w", err)
	}
	// Enough for the key service's bursts without crowding the server's
	// default 100 connections when several postseal processes share it.
	db.SetMaxOpenConns(20)
	db.SetMaxIdleConns(5)
	db.SetConnMaxIdleTime(5 * time.Minute)
	s := &Postgres{sqlStore: sqlStore{db: db, key: key, d: postgresDialect}}
	pingCtx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if err := db.PingContext(pingCtx); err != nil {
		db.Close()
		return nil, fmt.Errorf("open postgres store: %w", err)
	}
	if err := s.migrate(ctx); err != nil {
		db.Close()
		return nil, fmt.Errorf("open postgres store: %w", err)
	}
	if err := s.checkKey(ctx); err != nil {
		db.Close()
		return nil, fmt.Errorf("open postgres store: %w", err)
	}
	if err := s.adoptEvents(ctx); err != nil {
		db.Close()
		return nil, fmt.Errorf("open postgres store: audit chain: %w", err)
	}
	s.puts = newGroupCommit(s.insertGroup, commitTimeout)
	return s, nil
}

// insertGroup commits a group of envelopes (groupCommit's insert). When
// the writer knows the head its last group left, the group is chained
// after it and written in one statement that is its own transaction
// (pgAtHeadSQL): one round trip instead of four (BEGIN, the head, the
// group, COMMIT). The statement moves the head only from there and writes
// nothing otherwise, so the chain stays one gap-free run whoever else
// appends; a group that finds the head moved (the key service's events,
// another process) is written in a transaction that takes the head
// (insertEnvelopesHead), which tells the writer where it is again.
func (s *Postgres) insertGroup(ctx context.Context, rows []envelopeRow) error {
	if s.headKnown {
		// Until this statement is known to have committed, the head is
		// not known (an error may come after the commit).
		s.headKnown = false
		evs := linkEvents(sealedEvents(rows), s.head)
		args, err := pgGroupArgs(rows, evs)
		if err != nil {
			return err
		}
		last := evs[len(evs)-1]
		var moved int
		if err := s.db.QueryRowContext(ctx, pgAtHeadSQL, append(args, last.Seq, last.Hash, s.head.Seq, s.head.Hash)...).Scan(&moved); err != nil {
			return err
		}
		if moved == 1 {
			s.head, s.headKnown = Checkpoint{Seq: last.Seq, Hash: last.Hash}, true
			return nil
		}
		s.headMisses++
	}
	head, err := s.insertEnvelopesHead(ctx, rows)
	if err == nil {
		s.head, s.headKnown = head, true
	}
	return err
}

// migrate applies the missing steps in one transaction under an advisory
// lock held until commit, so two processes starting at once neither race
// nor apply a step twice: the second waits and then finds nothing to do.
// The lock is per schema, so separate installations (or test runs) on one
// server do not wait for each other.
func (s *Postgres) migrate(ctx context.Context) error {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	if _, err := tx.ExecContext(ctx, `SELECT pg_advisory_xact_lock(hashtext('postseal schema ' || coalesce(current_schema(), '')))`); err != nil {
		return fmt.Errorf("migration lock: %w", err)
	}
	if _, err := tx.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, applied TIMESTAMPTZ NOT NULL DEFAULT now())`); err != nil {
		return fmt.Errorf("migrations table: %w", err)
	}
	var version int
	if err := tx.QueryRowContext(ctx, `SELECT COALESCE(MAX(version), 0) FROM schema_migrations`).Scan(&version); err != nil {
		return err
	}
	if version > len(postgresSchema) {
		return fmt.Errorf("database schema %d is newer than this postseal (%d)", version, len(postgresSchema))
	}
	for i := version; i < len(postgresSchema); i++ {
		if _, err := tx.ExecContext(ctx, postgresSchema[i]); err != nil {
			return fmt.Errorf("migration %d: %w", i+1, err)
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO schema_migrations (version) VALUES ($1)`, i+1); err != nil {
			return fmt.Errorf("migration %d: %w", i+1, err)
		}
	}
	return tx.Commit()
}

// PutEnvelope implements Store. It returns once the envelope is committed
// (or when ctx ends first).
func (s *Postgres) PutEnvelope(ctx context.Context, e Envelope, key []byte) error {
	row, err := s.wrapRow(e, key)
	if err != nil {
		return err
	}
	return s.puts.put(ctx, row)
}

// Close implements Store: the writer finishes the batch it holds, then
// the connections are closed.
func (s *Postgres) Close() error {
	s.puts.close()
	s.closeStmts()
	return s.db.Close()
}
