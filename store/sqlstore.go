package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"sort"
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
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	evs := make([]Event, 0, len(rows))
	for _, r := range rows {
		e := r.e
		if _, err := tx.ExecContext(ctx, s.q(`INSERT INTO envelopes (id, queue_id, sender, kind, domain, trigger_name, wrapped_key, created, expires, locked, payload_digest, subject, message_id, read_receipts, sender_norm, reply, reply_all)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`),
			e.ID, e.QueueID, e.Sender, e.Kind, e.Domain, e.Trigger, r.wrapped, e.Created.UnixMilli(), expiresMillis(e.Expires), e.Locked, e.PayloadDigest, e.Subject, e.MessageID, e.ReadReceipts, normAddress(e.Sender), jsonList(e.Reply), jsonList(e.ReplyAll)); err != nil {
			return err
		}
		for _, rc := range e.Recipients {
			if _, err := tx.ExecContext(ctx, s.q(`INSERT INTO envelope_recipients (envelope_id, address) VALUES (?, ?) ON CONFLICT DO NOTHING`), e.ID, strings.ToLower(rc)); err != nil {
				return err
			}
		}
		evs = append(evs, Event{Time: e.Created, Kind: EventSealed, EnvelopeID: e.ID, Email: e.Sender, Actor: "postseal",
			Detail: fmt.Sprintf("%s; to %s; trigger %q", e.Kind, strings.Join(e.Recipients, ", "), e.Trigger)})
	}
	if err := s.appendEvents(ctx, tx, evs...); err != nil {
		return err
	}
	return tx.Commit()
}

const envelopeColumns = `id, queue_id, sender, kind, domain, trigger_name, wrapped_key IS NOT NULL, created, expires, locked, payload_digest, subject, message_id, read_receipts, reply, reply_all`

func scanEnvelope(row interface{ Scan(...any) error }) (Envelope, error) {
	var e Envelope
	var created, expires int64
	var reply, replyAll string
	err := row.Scan(&e.ID, &e.QueueID, &e.Sender, &e.Kind, &e.Domain, &e.Trigger, &e.HasKey, &created, &expires, &e.Locked, &e.PayloadDigest, &e.Subject, &e.MessageID, &e.ReadReceipts, &reply, &replyAll)
	e.Created, e.Expires = time.UnixMilli(created).UTC(), expiresTime(expires)
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

// --- EnvelopeAdmin ---

// change applies one UPDATE to an envelope and records by as an event of
// kind in the same transaction; ErrNotFound when no row changed.
func (s *sqlStore) change(ctx context.Context, id, kind string, by Change, query string, args ...any) error {
	return s.inTx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, s.q(query), args...)
		if err := affected(res, err, kind+" "+id); err != nil {
			return err
		}
		return s.appendEvents(ctx, tx, Event{Time: by.Time, Kind: kind, EnvelopeID: id, RemoteIP: by.RemoteIP, Actor: by.Actor, Auth: by.Auth, Detail: by.Detail})
	})
}

// SetLocked implements EnvelopeAdmin.
func (s *sqlStore) SetLocked(ctx context.Context, id string, locked bool, by Change) error {
	kind := EventEnvelopeUnlocked
	if locked {
		kind = EventEnvelopeLocked
	}
	return s.change(ctx, id, kind, by, `UPDATE envelopes SET locked = ? WHERE id = ?`, locked, id)
}

// ExpireEnvelope implements EnvelopeAdmin. An envelope that expired
// earlier keeps its earlier expiry.
func (s *sqlStore) ExpireEnvelope(ctx context.Context, id string, now time.Time, by Change) error {
	if by.Time.IsZero() {
		by.Time = now
	}
	err := s.change(ctx, id, EventEnvelopeExpired, by, `UPDATE envelopes SET wrapped_key = NULL,
		expires = CASE WHEN expires < ? THEN expires ELSE ? END WHERE id = ?`, now.UnixMilli(), now.UnixMilli(), id)
	if err != nil {
		return err
	}
	s.shredded(ctx)
	return nil
}

// SetExpiry implements EnvelopeAdmin.
func (s *sqlStore) SetExpiry(ctx context.Context, id string, at time.Time, by Change) error {
	if by.Detail == "" {
		by.Detail = "expires " + at.UTC().Format(time.RFC3339)
	}
	err := s.change(ctx, id, EventExpirySet, by, `UPDATE envelopes SET expires = ? WHERE id = ? AND wrapped_key IS NOT NULL`, expiresMillis(at), id)
	if errors.Is(err, ErrNotFound) {
		if _, e := s.Envelope(ctx, id); e == nil {
			return fmt.Errorf("set expiry of %s: %w", id, ErrKeyDestroyed)
		}
	}
	return err
}

// ShredExpired implements EnvelopeAdmin.
func (s *sqlStore) ShredExpired(ctx context.Context, now time.Time) (int, error) {
	var n int
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		rows, err := tx.QueryContext(ctx, s.q(`UPDATE envelopes SET wrapped_key = NULL WHERE expires <= ? AND wrapped_key IS NOT NULL RETURNING id`), now.UnixMilli())
		if err != nil {
			return err
		}
		var evs []Event
		for rows.Next() {
			var id string
			if err := rows.Scan(&id); err != nil {
				rows.Close()
				return err
			}
			evs = append(evs, Event{Time: now, Kind: EventKeyShredded, EnvelopeID: id, Actor: "postseal", Detail: "expired"})
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return err
		}
		n = len(evs)
		return s.appendEvents(ctx, tx, evs...)
	})
	if err != nil {
		return 0, fmt.Errorf("shred expired keys: %w", err)
	}
	if n > 0 {
		s.shredded(ctx)
	}
	return n, nil
}

func (s *sqlStore) shredded(ctx context.Context) {
	if s.d.afterShred != nil {
		s.d.afterShred(ctx, s.db)
	}
}

// affected turns "no row changed" into ErrNotFound.
func affected(res sql.Result, err error, what string) error {
	if err != nil {
		return fmt.Errorf("%s: %w", what, err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return fmt.Errorf("%s: %w", what, err)
	}
	if n == 0 {
		return fmt.Errorf("%s: %w", what, ErrNotFound)
	}
	return nil
}

// --- Accounts ---

const accountColumns = `email, first_name, last_name, password_hash, active, disabled, created, activated, session_version, language`

func scanAccount(row interface{ Scan(...any) error }) (Account, error) {
	var a Account
	var created, activated int64
	err := row.Scan(&a.Email, &a.FirstName, &a.LastName, &a.PasswordHash, &a.Active, &a.Disabled, &created, &activated, &a.SessionVersion, &a.Language)
	a.Created, a.Activated = fromMS(created), fromMS(activated)
	return a, err
}

// CreateAccount implements Accounts.
func (s *sqlStore) CreateAccount(ctx context.Context, a Account) error {
	email := strings.ToLower(a.Email)
	if a.Created.IsZero() {
		a.Created = time.Now()
	}
	_, err := s.db.ExecContext(ctx, s.q(`INSERT INTO accounts (`+accountColumns+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`),
		email, a.FirstName, a.LastName, a.PasswordHash, a.Active, a.Disabled, ms(a.Created), ms(a.Activated), a.SessionVersion, a.Language)
	if err != nil && s.d.isUnique(err) {
		return fmt.Errorf("create account %s: %w", email, ErrExists)
	}
	if err != nil {
		return fmt.Errorf("create account %s: %w", email, err)
	}
	return nil
}

// Account implements Accounts.
func (s *sqlStore) Account(ctx context.Context, email string) (Account, error) {
	email = strings.ToLower(email)
	a, err := scanAccount(s.db.QueryRowContext(ctx, s.q(`SELECT `+accountColumns+` FROM accounts WHERE email = ?`), email))
	if errors.Is(err, sql.ErrNoRows) {
		return Account{}, fmt.Errorf("account %s: %w", email, ErrNotFound)
	}
	if err != nil {
		return Account{}, fmt.Errorf("account %s: %w", email, err)
	}
	return a, nil
}

// UpdateAccount implements Accounts.
func (s *sqlStore) UpdateAccount(ctx context.Context, a Account) error {
	email := strings.ToLower(a.Email)
	res, err := s.db.ExecContext(ctx, s.q(`UPDATE accounts SET first_name = ?, last_name = ?, password_hash = ?, active = ?, disabled = ?, activated = ?, session_version = ?, language = ? WHERE email = ?`),
		a.FirstName, a.LastName, a.PasswordHash, a.Active, a.Disabled, ms(a.Activated), a.SessionVersion, a.Language, email)
	return affected(res, err, "update account "+email)
}

// ListAccounts implements Accounts.
func (s *sqlStore) ListAccounts(ctx context.Context, limit int) ([]Account, error) {
	rows, err := s.db.QueryContext(ctx, s.q(`SELECT `+accountColumns+` FROM accounts ORDER BY email LIMIT ?`), limitOrAll(limit))
	if err != nil {
		return nil, fmt.Errorf("list accounts: %w", err)
	}
	defer rows.Close()
	var out []Account
	for rows.Next() {
		a, err := scanAccount(rows)
		if err != nil {
			return nil, fmt.Errorf("list accounts: %w", err)
		}
		out = append(out, a)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("list accounts: %w", err)
	}
	return out, nil
}

// PutToken implements Accounts. Expired tokens are removed on the way, so
// tokens nobody used do not pile up.
func (s *sqlStore) PutToken(ctx context.Context, t Token) error {
	if len(t.Hash) == 0 || t.Purpose == "" {
		return errors.New("put token: hash and purpose are required")
	}
	if _, err := s.db.ExecContext(ctx, s.q(`DELETE FROM tokens WHERE expires < ?`), time.Now().UnixMilli()); err != nil {
		return fmt.Errorf("put token: %w", err)
	}
	_, err := s.db.ExecContext(ctx, s.q(`INSERT INTO tokens (hash, purpose, email, expires, password_hash, first_name, last_name, failures, envelope_id, uses, language) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`),
		t.Hash, t.Purpose, strings.ToLower(t.Email), t.Expires.UnixMilli(), t.PasswordHash, t.FirstName, t.LastName, t.Failures, t.EnvelopeID, t.Uses, t.Language)
	if err != nil && s.d.isUnique(err) {
		return fmt.Errorf("put token: %w", ErrExists)
	}
	if err != nil {
		return fmt.Errorf("put token: %w", err)
	}
	return nil
}

// UseToken implements Accounts: one DELETE … RETURNING, so of two
// concurrent uses exactly one gets the row.
func (s *sqlStore) UseToken(ctx context.Context, hash []byte, purpose string, now time.Time) (Token, error) {
	t := Token{Hash: hash, Purpose: purpose}
	var expires int64
	err := s.db.QueryRowContext(ctx, s.q(`DELETE FROM tokens WHERE hash = ? AND purpose = ? RETURNING email, expires, password_hash, first_name, last_name, failures, language`), hash, purpose).Scan(&t.Email, &expires, &t.PasswordHash, &t.FirstName, &t.LastName, &t.Failures, &t.Language)
	if errors.Is(err, sql.ErrNoRows) {
		return Token{}, fmt.Errorf("use %s token: %w", purpose, ErrNotFound)
	}
	if err != nil {
		return Token{}, fmt.Errorf("use %s token: %w", purpose, err)
	}
	t.Expires = time.UnixMilli(expires).UTC()
	if !now.Before(t.Expires) {
		return Token{}, fmt.Errorf("use %s token: expired: %w", purpose, ErrNotFound)
	}
	return t, nil
}

// SpendToken implements Accounts: one UPDATE … RETURNING, so of two
// concurrent sends on the last use exactly one gets it.
func (s *sqlStore) SpendToken(ctx context.Context, hash []byte, purpose string, now time.Time) (Token, error) {
	t := Token{Hash: hash, Purpose: purpose}
	var expires int64
	err := s.db.QueryRowContext(ctx, s.q(`UPDATE tokens SET uses = uses - 1 WHERE hash = ? AND purpose = ? AND uses > 0 AND expires > ?
		RETURNING email, expires, envelope_id, uses`), hash, purpose, now.UnixMilli()).Scan(&t.Email, &expires, &t.EnvelopeID, &t.Uses)
	if errors.Is(err, sql.ErrNoRows) {
		return Token{}, fmt.Errorf("spend %s token: %w", purpose, ErrNotFound)
	}
	if err != nil {
		return Token{}, fmt.Errorf("spend %s token: %w", purpose, err)
	}
	t.Expires = time.UnixMilli(expires).UTC()
	return t, nil
}

// Token implements Accounts.
func (s *sqlStore) Token(ctx context.Context, hash []byte, purpose string, now time.Time) (Token, error) {
	t := Token{Hash: hash, Purpose: purpose}
	var expires int64
	err := s.db.QueryRowContext(ctx, s.q(`SELECT email, expires, envelope_id, uses FROM tokens WHERE hash = ? AND purpose = ? AND uses > 0 AND expires > ?`),
		hash, purpose, now.UnixMilli()).Scan(&t.Email, &expires, &t.EnvelopeID, &t.Uses)
	if errors.Is(err, sql.ErrNoRows) {
		return Token{}, fmt.Errorf("%s token: %w", purpose, ErrNotFound)
	}
	if err != nil {
		return Token{}, fmt.Errorf("%s token: %w", purpose, err)
	}
	t.Expires = time.UnixMilli(expires).UTC()
	return t, nil
}

// DropTokens implements Accounts.
func (s *sqlStore) DropTokens(ctx context.Context, email, purpose string) error {
	if _, err := s.db.ExecContext(ctx, s.q(`DELETE FROM tokens WHERE email = ? AND purpose = ?`), strings.ToLower(email), purpose); err != nil {
		return fmt.Errorf("drop %s tokens: %w", purpose, err)
	}
	return nil
}

// IsLiveRecipient implements Accounts.
func (s *sqlStore) IsLiveRecipient(ctx context.Context, email string, now time.Time) (bool, error) {
	var n int
	err := s.db.QueryRowContext(ctx, s.q(`SELECT COUNT(*) FROM (SELECT 1 FROM envelope_recipients r JOIN envelopes e ON e.id = r.envelope_id
		WHERE r.address = ? AND e.expires > ? AND NOT e.locked LIMIT 1) AS live`), strings.ToLower(email), now.UnixMilli()).Scan(&n)
	if err != nil {
		return false, fmt.Errorf("live recipient %s: %w", email, err)
	}
	return n > 0, nil
}

// --- Events ---

// eventWhere builds the WHERE clause of a filter.
func eventWhere(f EventFilter) (string, []any) {
	var conds []string
	var args []any
	add := func(cond string, v any) {
		conds = append(conds, cond)
		args = append(args, v)
	}
	if f.Kind != "" {
		add("kind = ?", f.Kind)
	}
	if f.Email != "" {
		add("email = ?", strings.ToLower(f.Email))
	}
	if f.EnvelopeID != "" {
		add("envelope_id = ?", f.EnvelopeID)
	}
	if f.RemoteIP != "" {
		add("remote_ip = ?", f.RemoteIP)
	}
	if !f.Since.IsZero() {
		add("time >= ?", f.Since.UnixMilli())
	}
	if len(conds) == 0 {
		return "", nil
	}
	return " WHERE " + strings.Join(conds, " AND "), args
}

// Events implements Events.
func (s *sqlStore) Events(ctx context.Context, f EventFilter) ([]Event, error) {
	where, args := eventWhere(f)
	args = append(args, limitOrAll(f.Limit))
	rows, err := s.db.QueryContext(ctx, s.q(`SELECT `+eventColumns+` FROM events`+where+` ORDER BY time DESC, id DESC LIMIT ?`), args...)
	if err != nil {
		return nil, fmt.Errorf("events: %w", err)
	}
	defer rows.Close()
	var out []Event
	for rows.Next() {
		e, err := scanEvent(rows)
		if err != nil {
			return nil, fmt.Errorf("events: %w", err)
		}
		out = append(out, e)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("events: %w", err)
	}
	return out, nil
}

// CountEvents implements Events.
func (s *sqlStore) CountEvents(ctx context.Context, f EventFilter) (int, error) {
	where, args := eventWhere(f)
	var n int
	if err := s.db.QueryRowContext(ctx, s.q(`SELECT COUNT(*) FROM events`+where), args...).Scan(&n); err != nil {
		return 0, fmt.Errorf("count events: %w", err)
	}
	return n, nil
}

// --- MailQueue ---

const mailColumns = `id, sender, recipients, data, attempts, next_attempt, last_error, created`

func scanMail(row interface{ Scan(...any) error }) (Mail, error) {
	var m Mail
	var to string
	var next, created int64
	if err := row.Scan(&m.ID, &m.From, &to, &m.Data, &m.Attempts, &next, &m.LastError, &created); err != nil {
		return m, err
	}
	if err := json.Unmarshal([]byte(to), &m.To); err != nil {
		return m, fmt.Errorf("mail %d recipients: %w", m.ID, err)
	}
	m.NextAttempt, m.Created = fromMS(next), fromMS(created)
	return m, nil
}

// EnqueueMail implements MailQueue.
func (s *sqlStore) EnqueueMail(ctx context.Context, m Mail) (int64, error) {
	return s.enqueueMail(ctx, s.db, m)
}

// enqueueMail queues m within tx (or directly on the database).
func (s *sqlStore) enqueueMail(ctx context.Context, tx execer, m Mail) (int64, error) {
	if len(m.To) == 0 {
		return 0, errors.New("enqueue mail: no recipients")
	}
	now := time.Now()
	if m.Created.IsZero() {
		m.Created = now
	}
	if m.NextAttempt.IsZero() {
		m.NextAttempt = now
	}
	to, err := json.Marshal(m.To)
	if err != nil {
		return 0, fmt.Errorf("enqueue mail: %w", err)
	}
	var id int64
	err = tx.QueryRowContext(ctx, s.q(`INSERT INTO mail_queue (sender, recipients, data, attempts, next_attempt, last_error, created)
		VALUES (?, ?, ?, ?, ?, ?, ?) RETURNING id`),
		m.From, string(to), m.Data, m.Attempts, ms(m.NextAttempt), m.LastError, ms(m.Created)).Scan(&id)
	if err != nil {
		return 0, fmt.Errorf("enqueue mail: %w", err)
	}
	return id, nil
}

// ClaimMail implements MailQueue.
func (s *sqlStore) ClaimMail(ctx context.Context, now time.Time, lease time.Duration, limit int) ([]Mail, error) {
	if limit <= 0 {
		return nil, nil
	}
	rows, err := s.db.QueryContext(ctx, s.q(s.d.claimSQL), now.Add(lease).UnixMilli(), now.UnixMilli(), limit)
	if err != nil {
		return nil, fmt.Errorf("claim mail: %w", err)
	}
	defer rows.Close()
	var out []Mail
	for rows.Next() {
		m, err := scanMail(rows)
		if err != nil {
			return nil, fmt.Errorf("claim mail: %w", err)
		}
		out = append(out, m)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("claim mail: %w", err)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out, nil
}

// MailSent implements MailQueue.
func (s *sqlStore) MailSent(ctx context.Context, id int64) error {
	res, err := s.db.ExecContext(ctx, s.q(`DELETE FROM mail_queue WHERE id = ?`), id)
	return affected(res, err, fmt.Sprintf("mail %d sent", id))
}

// DropMail implements MailQueue.
func (s *sqlStore) DropMail(ctx context.Context, id int64) error {
	res, err := s.db.ExecContext(ctx, s.q(`DELETE FROM mail_queue WHERE id = ?`), id)
	return affected(res, err, fmt.Sprintf("drop mail %d", id))
}

// MailFailed implements MailQueue.
func (s *sqlStore) MailFailed(ctx context.Context, id int64, next time.Time, reason string) error {
	res, err := s.db.ExecContext(ctx, s.q(`UPDATE mail_queue SET attempts = attempts + 1, next_attempt = ?, last_error = ? WHERE id = ?`), ms(next), reason, id)
	return affected(res, err, fmt.Sprintf("mail %d failed", id))
}

// MailQueueDepth implements MailQueue.
func (s *sqlStore) MailQueueDepth(ctx context.Context) (int, error) {
	var n int
	if err := s.db.QueryRowContext(ctx, `SELECT COUNT(*) FROM mail_queue`).Scan(&n); err != nil {
		return 0, fmt.Errorf("mail queue depth: %w", err)
	}
	return n, nil
}

// neverMillis stands for "never expires" in the expires column: larger
// than every instant, so the shredding and expiry queries need no special
// case. The zero time.Time means the same in Go.
const neverMillis = math.MaxInt64

func expiresMillis(t time.Time) int64 {
	if t.IsZero() {
		return neverMillis
	}
	return t.UnixMilli()
}

func expiresTime(ms int64) time.Time {
	if ms == neverMillis {
		return time.Time{}
	}
	return time.UnixMilli(ms).UTC()
}
