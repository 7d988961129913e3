// The SQL store's envelope administration: lock, unlock, expire, set expiry, shred, list.

package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"
)

// change applies one UPDATE to an envelope and records by as an event of
// kind in the same transaction; ErrNotFound when no row changed.
func (s *sqlStore) change(ctx context.Context, id, kind string, by Change, query string, args ...any) error {
	return s.changeThen(ctx, id, kind, by, nil, query, args...)
}

// changeThen is change with more work in the same transaction (then, when
// not nil, after the UPDATE).
func (s *sqlStore) changeThen(ctx context.Context, id, kind string, by Change, then func(tx *sql.Tx) error, query string, args ...any) error {
	return s.inTx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, s.q(query), args...)
		if err := affected(res, err, kind+" "+id); err != nil {
			return err
		}
		if then != nil {
			if err := then(tx); err != nil {
				return fmt.Errorf("%s %s: %w", kind, id, err)
			}
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
// earlier keeps its earlier expiry; its online copy goes with its key.
func (s *sqlStore) ExpireEnvelope(ctx context.Context, id string, now time.Time, by Change) error {
	if by.Time.IsZero() {
		by.Time = now
	}
	dropCopy := func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, s.q(`DELETE FROM online_copies WHERE envelope_id = ?`), id)
		return err
	}
	err := s.changeThen(ctx, id, EventEnvelopeExpired, by, dropCopy, `UPDATE envelopes SET wrapped_key = NULL,
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
