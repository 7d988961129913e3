// The SQL store's durable mail queue.

package store

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"sort"
	"time"
)

const mailColumns = `id, sender, recipients, data, attempts, next_attempt, last_error, created, route`

func scanMail(row interface{ Scan(...any) error }) (Mail, error) {
	var m Mail
	var to string
	var next, created int64
	if err := row.Scan(&m.ID, &m.From, &to, &m.Data, &m.Attempts, &next, &m.LastError, &created, &m.Route); err != nil {
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
	if !m.Route.Valid() {
		return 0, fmt.Errorf("enqueue mail: unknown route %q", m.Route)
	}
	if m.Route == "" {
		m.Route = RouteRelay
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
	err = tx.QueryRowContext(ctx, s.q(`INSERT INTO mail_queue (sender, recipients, data, attempts, next_attempt, last_error, created, route)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?) RETURNING id`),
		m.From, string(to), m.Data, m.Attempts, ms(m.NextAttempt), m.LastError, ms(m.Created), string(m.Route)).Scan(&id)
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

// MailPartlySent implements MailQueue.
func (s *sqlStore) MailPartlySent(ctx context.Context, id int64, remaining []string, next time.Time, reason string) error {
	if len(remaining) == 0 {
		return fmt.Errorf("mail %d partly sent: no recipients remain (use MailSent)", id)
	}
	to, err := json.Marshal(remaining)
	if err != nil {
		return fmt.Errorf("mail %d partly sent: %w", id, err)
	}
	res, err := s.db.ExecContext(ctx, s.q(`UPDATE mail_queue SET recipients = ?, attempts = attempts + 1, next_attempt = ?, last_error = ? WHERE id = ?`), string(to), ms(next), reason, id)
	return affected(res, err, fmt.Sprintf("mail %d partly sent", id))
}
