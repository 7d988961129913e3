// The SQL store's accounts and their tokens (activation, reset, reply).

package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"
)

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
