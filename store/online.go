// Online copies: what the phone page serves. A recipient whose phone mail
// app cannot run the securedoc follows the notification's link to the key
// service, which shows the same decryptor with the payload it kept: the
// armoured OpenPGP message exactly as the securedoc carries it (never
// plaintext) and the page's display header. It is kept for a configured
// time ([envelope] online_copy_hours) and then deleted.

package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"
)

// OnlineCopy is an envelope's copy for the phone page.
type OnlineCopy struct {
	// Payload is the ASCII-armoured OpenPGP message as it sits in the
	// securedoc (its line ends as sealed).
	Payload []byte
	// Meta is the page's display header (JSON, the securedoc's clear
	// header: From, To, Cc, Subject as travelled, Date, recipients).
	Meta string
	// Expires is when it is deleted; the key service refuses it from then
	// on even before the sweep has run.
	Expires time.Time
}

// OnlineCopies reads and sweeps the phone page's copies. They are written
// by PutEnvelope (Envelope.Online), in the envelope's own transaction.
type OnlineCopies interface {
	// OnlineCopy returns an envelope's copy, expired or not (the caller
	// judges the time), or ErrNotFound once it is deleted or if there was
	// none.
	OnlineCopy(ctx context.Context, id string) (OnlineCopy, error)
	// DeleteExpiredCopies deletes the copies whose time is up at now, and
	// those of envelopes whose key is destroyed; it returns how many.
	DeleteExpiredCopies(ctx context.Context, now time.Time) (int, error)
}

// onlineSchema is the same step for both databases: the copies live in a
// table of their own (the envelope rows every lookup reads stay small);
// online_until on the envelope remembers that there was one, so the page
// can say "expired" after the copy is gone rather than "unknown".
func onlineSchema(blob, integer string) string {
	return `CREATE TABLE online_copies (
		envelope_id TEXT PRIMARY KEY REFERENCES envelopes(id) ON DELETE CASCADE,
		payload ` + blob + ` NOT NULL,
		meta TEXT NOT NULL,
		expires ` + integer + ` NOT NULL
	);
	CREATE INDEX online_copies_expires ON online_copies(expires);
	ALTER TABLE envelopes ADD COLUMN online_until ` + integer + ` NOT NULL DEFAULT 0;`
}

// insertOnlineCopy writes an envelope's copy inside its transaction.
func (s *sqlStore) insertOnlineCopy(ctx context.Context, tx *sql.Tx, e Envelope) error {
	if e.Online == nil {
		return nil
	}
	if e.Online.Expires.IsZero() || len(e.Online.Payload) == 0 {
		return fmt.Errorf("online copy of %s: no payload or no deletion time", e.ID)
	}
	_, err := s.execTx(ctx, tx, `INSERT INTO online_copies (envelope_id, payload, meta, expires) VALUES (?, ?, ?, ?)`,
		e.ID, e.Online.Payload, e.Online.Meta, e.Online.Expires.UnixMilli())
	return err
}

// OnlineCopy implements OnlineCopies.
func (s *sqlStore) OnlineCopy(ctx context.Context, id string) (OnlineCopy, error) {
	var c OnlineCopy
	var expires int64
	err := s.db.QueryRowContext(ctx, s.q(`SELECT payload, meta, expires FROM online_copies WHERE envelope_id = ?`), id).Scan(&c.Payload, &c.Meta, &expires)
	if errors.Is(err, sql.ErrNoRows) {
		return c, fmt.Errorf("online copy of %s: %w", id, ErrNotFound)
	}
	if err != nil {
		return c, fmt.Errorf("online copy of %s: %w", id, err)
	}
	c.Expires = time.UnixMilli(expires).UTC()
	return c, nil
}

// DeleteExpiredCopies implements OnlineCopies. A copy whose envelope's key
// was destroyed (expired by its sender or an administrator) opens nothing
// any more; it goes in the same sweep.
func (s *sqlStore) DeleteExpiredCopies(ctx context.Context, now time.Time) (int, error) {
	res, err := s.db.ExecContext(ctx, s.q(`DELETE FROM online_copies WHERE expires <= ?
		OR NOT EXISTS (SELECT 1 FROM envelopes e WHERE e.id = online_copies.envelope_id AND e.wrapped_key IS NOT NULL)`), now.UnixMilli())
	if err != nil {
		return 0, fmt.Errorf("delete expired online copies: %w", err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return 0, fmt.Errorf("delete expired online copies: %w", err)
	}
	if n > 0 {
		s.shredded(ctx)
	}
	return int(n), nil
}
