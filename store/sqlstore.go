package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"
)

// sqlStore is what SQLite and PostgreSQL share: the same tables, times as
// Unix milliseconds, written with "?" placeholders that a dialect rewrites.
// The databases differ only where the dialect says so, so one body of SQL
// serves both and the shared test suite proves them alike.
type sqlStore struct {
	db  *sql.DB
	key *MasterKey
	d   dialect
	// stmts are the seal path's prepared statements.
	stmts stmtCache
}

// dialect is what differs between the databases.
type dialect struct {
	// dollar rewrites "?" placeholders to $1, $2, … (PostgreSQL).
	dollar bool
	// isUnique reports a unique-constraint violation.
	isUnique func(error) bool
	// claimSQL takes (lease until, now, limit) and returns the claimed rows'
	// mailColumns. It must hand a row to one claimant only.
	claimSQL string
	// afterShred runs after wrapped keys were destroyed, best effort.
	afterShred func(ctx context.Context, db *sql.DB)
	// insertGroup and insertEvents, when set, write a group of envelopes
	// (their online copies, recipients and sealed events, chained, and the
	// chain head's new hash) and of chained events in one statement
	// instead of one per row (pgbulk.go).
	insertGroup  func(ctx context.Context, tx *sql.Tx, rows []envelopeRow, evs []Event) error
	insertEvents func(ctx context.Context, tx *sql.Tx, evs []Event) error
}

// q rewrites a query for the dialect.
func (s *sqlStore) q(query string) string {
	if !s.d.dollar {
		return query
	}
	var b strings.Builder
	n := 0
	for _, r := range query {
		if r == '?' {
			n++
			b.WriteString("$" + strconv.Itoa(n))
			continue
		}
		b.WriteRune(r)
	}
	return b.String()
}

// noLimit stands for "all rows": both databases take it as a LIMIT.
const noLimit = math.MaxInt32

func limitOrAll(n int) int {
	if n <= 0 {
		return noLimit
	}
	return n
}

// normAddress is an address as lookups compare it (the key service's
// normalisation: trimmed, lower-cased).
func normAddress(a string) string { return strings.ToLower(strings.TrimSpace(a)) }

// ms and fromMS store optional times: the zero time is 0.
func ms(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixMilli()
}

func fromMS(v int64) time.Time {
	if v == 0 {
		return time.Time{}
	}
	return time.UnixMilli(v).UTC()
}

// checkKey refuses a master key other than the one the database was
// started with: message keys wrapped with the old one would be unreadable.
// The first process to start records its key; a concurrent one finds it.
func (s *sqlStore) checkKey(ctx context.Context) error {
	if _, err := s.db.ExecContext(ctx, s.q(`INSERT INTO meta (name, value) VALUES ('master_key_id', ?) ON CONFLICT DO NOTHING`), s.key.ID()); err != nil {
		return err
	}
	var have string
	if err := s.db.QueryRowContext(ctx, `SELECT value FROM meta WHERE name = 'master_key_id'`).Scan(&have); err != nil {
		return err
	}
	if have != s.key.ID() {
		return errors.New("the master key file is not the one this database was created with (restore the original master key)")
	}
	return nil
}

// envelopeRow is an envelope ready for insertion, its key already wrapped.
type envelopeRow struct {
	e       Envelope
	wrapped []byte
}

func (s *sqlStore) wrapRow(e Envelope, key []byte) (envelopeRow, error) {
	r := envelopeRow{e: e}
	if key != nil {
		var err error
		if r.wrapped, err = s.key.Wrap(e.ID, key); err != nil {
			return r, fmt.Errorf("put envelope %s: %w", e.ID, err)
		}
	}
	return r, nil
}

// insertEnvelopes writes envelopes in one transaction.
func (s *sqlStore) insertEnvelopes(ctx context.Context, rows []envelopeRow) error {
	_, err := s.insertEnvelopesHead(ctx, rows)
	return err
}

// sealedEvents are the events rows put on the chain.
func sealedEvents(rows []envelopeRow) []Event {
	evs := make([]Event, len(rows))
	for i, r := range rows {
		e := r.e
		evs[i] = Event{Time: e.Created, Kind: EventSealed, EnvelopeID: e.ID, Email: e.Sender, Actor: "postseal",
			Detail: fmt.Sprintf("%s; to %s; trigger %q", e.Kind, strings.Join(e.Recipients, ", "), e.Trigger)}
	}
	return evs
}

// insertEnvelopesHead is insertEnvelopes returning, on PostgreSQL (the
// dialect's insertGroup), the head of the chain its commit left: its last
// event (the zero Checkpoint on SQLite, which has no use for it).
func (s *sqlStore) insertEnvelopesHead(ctx context.Context, rows []envelopeRow) (Checkpoint, error) {
	var head Checkpoint
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return head, err
	}
	defer tx.Rollback()
	evs := sealedEvents(rows)
	if s.d.insertGroup != nil {
		// The head first, then everything else in one statement: a
		// statement is a round trip to the server.
		chained, err := s.chainEvents(ctx, tx, evs)
		if err != nil {
			return head, err
		}
		if err := s.d.insertGroup(ctx, tx, rows, chained); err != nil {
			return head, err
		}
		last := chained[len(chained)-1]
		return Checkpoint{Seq: last.Seq, Hash: last.Hash}, tx.Commit()
	}
	if err := s.insertRowByRow(ctx, tx, rows); err != nil {
		return head, err
	}
	if err := s.appendEvents(ctx, tx, evs...); err != nil {
		return head, err
	}
	return head, tx.Commit()
}

// insertRowByRow writes envelopes, their online copies and recipients
// with a statement per row.
func (s *sqlStore) insertRowByRow(ctx context.Context, tx *sql.Tx, rows []envelopeRow) error {
	for _, r := range rows {
		e := r.e
		if e.Online != nil {
			e.OnlineUntil = e.Online.Expires
		}
		if _, err := s.execTx(ctx, tx, insertEnvelopeSQL,
			e.ID, e.QueueID, e.Sender, e.Kind, e.Domain, e.Trigger, r.wrapped, e.Created.UnixMilli(), expiresMillis(e.Expires), e.Locked, e.PayloadDigest, e.Subject, e.MessageID, e.ReadReceipts, normAddress(e.Sender), jsonList(e.Reply), jsonList(e.ReplyAll), ms(e.OnlineUntil)); err != nil {
			return err
		}
		if err := s.insertOnlineCopy(ctx, tx, e); err != nil {
			return err
		}
		for _, rc := range e.Recipients {
			if _, err := s.execTx(ctx, tx, `INSERT INTO envelope_recipients (envelope_id, address) VALUES (?, ?) ON CONFLICT DO NOTHING`, e.ID, strings.ToLower(rc)); err != nil {
				return err
			}
		}
	}
	return nil
}

const insertEnvelopeSQL = `INSERT INTO envelopes (id, queue_id, sender, kind, domain, trigger_name, wrapped_key, created, expires, locked, payload_digest, subject, message_id, read_receipts, sender_norm, reply, reply_all, online_until)
	VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`

const envelopeColumns = `id, queue_id, sender, kind, domain, trigger_name, wrapped_key IS NOT NULL, created, expires, locked, payload_digest, subject, message_id, read_receipts, reply, reply_all, online_until`

func scanEnvelope(row interface{ Scan(...any) error }) (Envelope, error) {
	var e Envelope
	var created, expires, online int64
	var reply, replyAll string
	err := row.Scan(&e.ID, &e.QueueID, &e.Sender, &e.Kind, &e.Domain, &e.Trigger, &e.HasKey, &created, &expires, &e.Locked, &e.PayloadDigest, &e.Subject, &e.MessageID, &e.ReadReceipts, &reply, &replyAll, &online)
	e.Created, e.Expires, e.OnlineUntil = time.UnixMilli(created).UTC(), expiresTime(expires), fromMS(online)
	if err == nil {
		if e.Reply, err = fromJSONList(reply); err == nil {
			e.ReplyAll, err = fromJSONList(replyAll)
		}
	}
	return e, err
}

// jsonList stores a list that may be absent (nil → 'null') or empty ('[]').
func jsonList(l []string) string {
	b, _ := json.Marshal(l)
	return string(b)
}

func fromJSONList(s string) ([]string, error) {
	var l []string
	if err := json.Unmarshal([]byte(s), &l); err != nil {
		return nil, fmt.Errorf("stored list %q: %w", s, err)
	}
	return l, nil
}

func (s *sqlStore) recipients(ctx context.Context, e *Envelope) error {
	rows, err := s.db.QueryContext(ctx, s.q(`SELECT address FROM envelope_recipients WHERE envelope_id = ? ORDER BY address`), e.ID)
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
func (s *sqlStore) Envelope(ctx context.Context, id string) (Envelope, error) {
	e, err := scanEnvelope(s.db.QueryRowContext(ctx, s.q(`SELECT `+envelopeColumns+` FROM envelopes WHERE id = ?`), id))
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
func (s *sqlStore) Envelopes(ctx context.Context, limit int) ([]Envelope, error) {
	rows, err := s.db.QueryContext(ctx, s.q(`SELECT `+envelopeColumns+` FROM envelopes ORDER BY created DESC, id LIMIT ?`), limitOrAll(limit))
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
func (s *sqlStore) EnvelopeKey(ctx context.Context, id string) ([]byte, error) {
	var wrapped []byte
	err := s.db.QueryRowContext(ctx, s.q(`SELECT wrapped_key FROM envelopes WHERE id = ?`), id).Scan(&wrapped)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("envelope %s: %w", id, ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("envelope %s key: %w", id, err)
	}
	if wrapped == nil {
		return nil, fmt.Errorf("envelope %s has no stored key (shared-password envelope, or expired and destroyed): %w", id, ErrNotFound)
	}
	return s.key.Unwrap(id, wrapped)
}

// Ping implements Store.
func (s *sqlStore) Ping(ctx context.Context) error { return s.db.PingContext(ctx) }
