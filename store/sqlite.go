package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"modernc.org/sqlite" // pure-Go SQLite driver "sqlite"
	sqlite3 "modernc.org/sqlite/lib"
)

// SQLite is the embedded store.
type SQLite struct {
	sqlStore
	// puts commits envelopes in groups (groupCommit): SQLite admits one
	// writer at a time, so the busy timeout only covers other processes
	// (the CLI).
	puts *groupCommit
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
	// 2: the key service (accounts, tokens, events) and the mail queue.
	// Addresses are stored lower-cased; times are Unix milliseconds, 0 for
	// "never".
	`CREATE TABLE accounts (
		email TEXT PRIMARY KEY,
		first_name TEXT NOT NULL DEFAULT '',
		last_name TEXT NOT NULL DEFAULT '',
		password_hash TEXT NOT NULL DEFAULT '',
		active INTEGER NOT NULL DEFAULT 0,
		disabled INTEGER NOT NULL DEFAULT 0,
		created INTEGER NOT NULL,
		activated INTEGER NOT NULL DEFAULT 0
	);
	CREATE TABLE tokens (
		hash BLOB PRIMARY KEY,
		purpose TEXT NOT NULL,
		email TEXT NOT NULL,
		expires INTEGER NOT NULL
	);
	CREATE INDEX tokens_expires ON tokens(expires);
	CREATE TABLE events (
		id INTEGER PRIMARY KEY AUTOINCREMENT,
		time INTEGER NOT NULL,
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
		id INTEGER PRIMARY KEY AUTOINCREMENT,
		sender TEXT NOT NULL,
		recipients TEXT NOT NULL,
		data BLOB NOT NULL,
		attempts INTEGER NOT NULL DEFAULT 0,
		next_attempt INTEGER NOT NULL,
		last_error TEXT NOT NULL DEFAULT '',
		created INTEGER NOT NULL
	);
	CREATE INDEX mail_queue_due ON mail_queue(next_attempt);
	CREATE INDEX envelopes_expires ON envelopes(expires);`,
	// 3: the audit chain (see audit.go). Events written before it are put
	// on the chain once, at the first open (adoptEvents).
	auditSchema("INTEGER"),
	// 4: a registration waits in its activation token (its own password
	// hash and names) instead of overwriting the account, so a later
	// registration cannot take over an earlier one; wrong activation
	// passwords are counted on the token; sessions carry the account's
	// session version (logging out ends them); an envelope records the
	// digest of its payload so the decryptor can tell a forgery.
	keyServiceHardening,
	// 5: what the sender's side needs (read receipts, Sent page).
	senderSchema("INTEGER"),
	// 6: secure reply (reply tokens, each envelope's reply rights).
	replySchema,
	// 7: the language a recipient chose (see languageSchema).
	languageSchema,
	// 8: the phone page's copies (see onlineSchema).
	onlineSchema("BLOB", "INTEGER"),
	// 9: each queued mail's route (see routeSchema).
	routeSchema,
	// 10: fewer pages written per sealed message (see putPagesSchema),
	// and a recipient row kept in its primary key's b-tree alone.
	putPagesSchema + sqliteRecipientsWithoutRowid,
}

// sqliteRecipientsWithoutRowid rebuilds envelope_recipients as a WITHOUT
// ROWID table: its primary key (envelope_id, address) is all it holds
// besides opened, and as a rowid table every recipient was written twice,
// to the table and to the key's index (a WAL page each per commit).
// Dropping the child table cascades nothing; its index goes with it and is
// made again.
const sqliteRecipientsWithoutRowid = `
	CREATE TABLE envelope_recipients_new (
		envelope_id TEXT NOT NULL REFERENCES envelopes(id) ON DELETE CASCADE,
		address TEXT NOT NULL,
		opened INTEGER NOT NULL DEFAULT 0,
		PRIMARY KEY (envelope_id, address)
	) WITHOUT ROWID;
	INSERT INTO envelope_recipients_new (envelope_id, address, opened) SELECT envelope_id, address, opened FROM envelope_recipients;
	DROP TABLE envelope_recipients;
	ALTER TABLE envelope_recipients_new RENAME TO envelope_recipients;
	CREATE INDEX envelope_recipients_address ON envelope_recipients(address);`

// senderSchema is the same step for both databases. opened is when the
// recipient was first released the key (0: not yet); setting it from 0 is
// what makes one read receipt per envelope and address, whichever process
// releases the key.
func senderSchema(integer string) string {
	return `ALTER TABLE envelopes ADD COLUMN subject TEXT NOT NULL DEFAULT '';
	ALTER TABLE envelopes ADD COLUMN message_id TEXT NOT NULL DEFAULT '';
	ALTER TABLE envelopes ADD COLUMN read_receipts BOOLEAN NOT NULL DEFAULT FALSE;
	ALTER TABLE envelopes ADD COLUMN sender_norm TEXT NOT NULL DEFAULT '';
	UPDATE envelopes SET sender_norm = lower(trim(sender));
	ALTER TABLE envelope_recipients ADD COLUMN opened ` + integer + ` NOT NULL DEFAULT 0;
	CREATE INDEX envelopes_sender ON envelopes(sender_norm, created);
	CREATE INDEX events_envelope_kind ON events(envelope_id, kind);`
}

// replySchema is the same step for both databases. A reply token is bound
// to its envelope and counts its sends; an envelope keeps how its
// recipients may answer and whom Reply all reaches, as JSON lists ('null':
// sealed before they were recorded).
const replySchema = `ALTER TABLE tokens ADD COLUMN envelope_id TEXT NOT NULL DEFAULT '';
	ALTER TABLE tokens ADD COLUMN uses INTEGER NOT NULL DEFAULT 0;
	ALTER TABLE envelopes ADD COLUMN reply TEXT NOT NULL DEFAULT 'null';
	ALTER TABLE envelopes ADD COLUMN reply_all TEXT NOT NULL DEFAULT 'null';`

// languageSchema is the same step for both databases: the language a
// recipient chose at registration (empty for none), carried by the pending
// registration's token into the account; their mails are written in it.
const languageSchema = `ALTER TABLE accounts ADD COLUMN language TEXT NOT NULL DEFAULT '';
	ALTER TABLE tokens ADD COLUMN language TEXT NOT NULL DEFAULT '';`

// routeSchema is the same step for both databases: the MTA listener each
// queued mail goes to (store.Route). Mail queued before it was all for
// [smtp] relay, so that is what existing rows get.
const routeSchema = `ALTER TABLE mail_queue ADD COLUMN route TEXT NOT NULL DEFAULT 'relay';`

// putPagesSchema is the same step for both databases: the indexes every
// sealed message wrote to and no query needs. Each index is one more page a
// commit writes (SQLite: a WAL frame, two writes, copied again at the
// checkpoint), and a sealed message is mostly committed alone.
//   - events_envelope: events_envelope_kind starts with envelope_id and
//     serves every lookup it served.
//   - events_ip_time: only the key service's throttles look events up by
//     client address, never with an empty one; the sealed event has none.
//     It now holds the events that have an address (eventWhere says so,
//     so that the planners may use it).
//   - online_copies_expires: the sweep's condition is expired OR the key
//     destroyed (NOT EXISTS), which no index serves; both planners scan
//     the table (few rows: hours' worth).
const putPagesSchema = `DROP INDEX events_envelope;
	DROP INDEX events_ip_time;
	CREATE INDEX events_ip_time ON events(remote_ip, time) WHERE remote_ip <> '';
	DROP INDEX online_copies_expires;`

// keyServiceHardening is the same step for both databases.
const keyServiceHardening = `ALTER TABLE tokens ADD COLUMN password_hash TEXT NOT NULL DEFAULT '';
	ALTER TABLE tokens ADD COLUMN first_name TEXT NOT NULL DEFAULT '';
	ALTER TABLE tokens ADD COLUMN last_name TEXT NOT NULL DEFAULT '';
	ALTER TABLE tokens ADD COLUMN failures INTEGER NOT NULL DEFAULT 0;
	ALTER TABLE accounts ADD COLUMN session_version BIGINT NOT NULL DEFAULT 0;
	ALTER TABLE envelopes ADD COLUMN payload_digest TEXT NOT NULL DEFAULT '';`

// auditSchema is the same step for both databases.
func auditSchema(integer string) string {
	return `ALTER TABLE events ADD COLUMN seq ` + integer + ` NOT NULL DEFAULT 0;
	ALTER TABLE events ADD COLUMN actor TEXT NOT NULL DEFAULT '';
	ALTER TABLE events ADD COLUMN auth TEXT NOT NULL DEFAULT '';
	ALTER TABLE events ADD COLUMN outcome TEXT NOT NULL DEFAULT '';
	ALTER TABLE events ADD COLUMN prev_hash TEXT NOT NULL DEFAULT '';
	ALTER TABLE events ADD COLUMN hash TEXT NOT NULL DEFAULT '';
	CREATE UNIQUE INDEX events_seq ON events(seq) WHERE seq > 0;
	CREATE TABLE audit_head (id INTEGER PRIMARY KEY CHECK (id = 1), seq ` + integer + ` NOT NULL, hash TEXT NOT NULL);
	INSERT INTO audit_head (id, seq, hash) VALUES (1, 0, '` + genesis + `');`
}

// sqliteDialect: one UPDATE … RETURNING claims atomically, since SQLite
// lets one writer at a time change the database.
var sqliteDialect = dialect{
	isUnique: func(err error) bool {
		var se *sqlite.Error
		return errors.As(err, &se) && se.Code()&0xff == sqlite3.SQLITE_CONSTRAINT
	},
	claimSQL: `UPDATE mail_queue SET next_attempt = ? WHERE id IN
		(SELECT id FROM mail_queue WHERE next_attempt <= ? ORDER BY next_attempt, id LIMIT ?)
		RETURNING ` + mailColumns,
	afterShred: func(ctx context.Context, db *sql.DB) {
		// secure_delete zeroes the freed bytes in the database file; the
		// old page versions also sit in the WAL until a checkpoint copies
		// the new ones over them. TRUNCATE empties it. Best effort: a busy
		// reader only delays it to the next automatic checkpoint.
		_, _ = db.ExecContext(ctx, `PRAGMA wal_checkpoint(TRUNCATE)`)
	},
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
		// busy_timeout: a locked database is waited for (10 s: writers from
		// two processes, each fsyncing, queue behind one another), then the
		// message is temp-failed; FULL sync: a reported write survives a crash.
		// secure_delete: a destroyed (expired) wrapped key is overwritten,
		// not left in a free page.
		params = "_txlock=immediate&_pragma=busy_timeout(10000)&_pragma=journal_mode(WAL)&_pragma=synchronous(FULL)&_pragma=foreign_keys(1)&_pragma=secure_delete(1)"
	}
	db, err := sql.Open("sqlite", "file:"+path+"?"+params)
	if err != nil {
		return nil, fmt.Errorf("open store %s: %w", path, err)
	}
	s := &SQLite{sqlStore: sqlStore{db: db, key: key, d: sqliteDialect}}
	if err := s.prepare(ctx); err != nil {
		db.Close()
		return nil, fmt.Errorf("open store %s: %w", path, err)
	}
	s.puts = newGroupCommit(s.insertEnvelopes, sqliteCommitTimeout)
	return s, nil
}

// sqliteCommitTimeout is 0: a group commit on SQLite has no deadline. What
// can hold it is a lock, which busy_timeout already bounds, or a write or
// fsync stuck in the kernel, which SQLite cannot interrupt. A deadline
// would buy nothing and cost the driver a goroutine and a progress handler
// per statement (it watches a cancellable context for each): about one
// goroutine wake-up per sealed message in the pipeline.
const sqliteCommitTimeout = 0

// openBusyWait bounds how long opening waits for another opener.
const openBusyWait = 5 * time.Second

// prepare migrates the schema and checks the master key. While another
// process opens the same new database, SQLite can answer SQLITE_BUSY
// without waiting out busy_timeout (the switch to WAL and the first WAL
// index setup need the database to themselves), so a busy answer here is
// retried with a short, growing pause, within openBusyWait.
func (s *SQLite) prepare(ctx context.Context) error {
	deadline := time.Now().Add(openBusyWait)
	pause := 10 * time.Millisecond
	for {
		err := s.migrate(ctx)
		if err == nil {
			err = s.checkKey(ctx)
		}
		if err == nil {
			err = s.adoptEvents(ctx)
		}
		var se *sqlite.Error
		if err == nil || !errors.As(err, &se) || se.Code()&0xff != sqlite3.SQLITE_BUSY || time.Now().Add(pause).After(deadline) {
			return err
		}
		select {
		case <-ctx.Done():
			return err
		case <-time.After(pause):
		}
		pause = min(2*pause, 200*time.Millisecond)
	}
}

// migrate applies the missing schema steps, one transaction each. The
// version is read inside the (immediate, so write-locked) transaction:
// two processes opening a new database at once apply each step once.
func (s *SQLite) migrate(ctx context.Context) error {
	for {
		done, err := s.migrateStep(ctx)
		if err != nil || done {
			return err
		}
	}
}

func (s *SQLite) migrateStep(ctx context.Context) (done bool, err error) {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return false, err
	}
	defer tx.Rollback()
	var version int
	if err := tx.QueryRowContext(ctx, `PRAGMA user_version`).Scan(&version); err != nil {
		return false, err
	}
	if version > len(sqliteSchema) {
		return false, fmt.Errorf("database schema %d is newer than this postseal (%d)", version, len(sqliteSchema))
	}
	if version == len(sqliteSchema) {
		return true, nil
	}
	if _, err := tx.ExecContext(ctx, sqliteSchema[version]); err != nil {
		return false, fmt.Errorf("migration %d: %w", version+1, err)
	}
	if _, err := tx.ExecContext(ctx, fmt.Sprintf(`PRAGMA user_version = %d`, version+1)); err != nil {
		return false, err
	}
	return false, tx.Commit()
}

// PutEnvelope implements Store. It returns once the envelope is committed
// (or when ctx ends first).
func (s *SQLite) PutEnvelope(ctx context.Context, e Envelope, key []byte) error {
	row, err := s.wrapRow(e, key)
	if err != nil {
		return err
	}
	return s.puts.put(ctx, row)
}

// Close implements Store: the writer finishes the batch it holds, then
// the database is closed.
func (s *SQLite) Close() error {
	s.puts.close()
	s.closeStmts()
	return s.db.Close()
}
