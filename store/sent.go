package store

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
	"time"
)

// Senders is what the sender's side needs: who opened what (read
// receipts) and the Sent secure messages page.
type Senders interface {
	// FirstOpen records that address was released the key of an envelope
	// at at. It returns true for the first release per envelope and address
	// only — ever, whichever process releases it — and then queues receipt
	// (when not nil) and records a receipt_sent event in the same
	// transaction, so a receipt is neither lost nor sent twice.
	FirstOpen(ctx context.Context, envelopeID, address string, at time.Time, receipt *Mail) (bool, error)
	// SentEnvelopes returns the envelopes whose sender is sender
	// (case-insensitive), newest first, from offset on, at most limit, and
	// how many there are in all.
	SentEnvelopes(ctx context.Context, sender string, offset, limit int) ([]SentEnvelope, int, error)
	// IsSender reports whether address is the sender of any envelope.
	IsSender(ctx context.Context, address string) (bool, error)
}

// SentEnvelope is an envelope as its sender sees it.
type SentEnvelope struct {
	Envelope
	// States has one entry per recipient, by address.
	States []RecipientState
}

// RecipientState is what became of an envelope for one recipient; zero
// times for "not yet".
type RecipientState struct {
	Address string
	Opened  time.Time // first key release
	Replied time.Time // first secure reply (reply_sent event)
}

// FirstOpen implements Senders. The conditional UPDATE is the guard: of
// two concurrent releases (two processes on one PostgreSQL) the second
// waits for the first's row lock and then finds opened set.
func (s *sqlStore) FirstOpen(ctx context.Context, envelopeID, address string, at time.Time, receipt *Mail) (bool, error) {
	address = strings.ToLower(address)
	first := false
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, s.q(`UPDATE envelope_recipients SET opened = ? WHERE envelope_id = ? AND address = ? AND opened = 0`), at.UnixMilli(), envelopeID, address)
		if err != nil {
			return err
		}
		n, err := res.RowsAffected()
		if err != nil || n == 0 {
			return err
		}
		first = true
		if receipt == nil {
			return nil
		}
		if _, err := s.enqueueMail(ctx, tx, *receipt); err != nil {
			return err
		}
		return s.appendEvents(ctx, tx, Event{Time: at, Kind: EventReceiptSent, EnvelopeID: envelopeID, Email: address, Actor: "postseal",
			Outcome: "queued", Detail: "read receipt to " + strings.Join(receipt.To, ", ")})
	})
	if err != nil {
		return false, fmt.Errorf("record first open of %s by %s: %w", envelopeID, address, err)
	}
	return first, nil
}

// SentEnvelopes implements Senders.
func (s *sqlStore) SentEnvelopes(ctx context.Context, sender string, offset, limit int) ([]SentEnvelope, int, error) {
	sender = normAddress(sender)
	fail := func(err error) ([]SentEnvelope, int, error) {
		return nil, 0, fmt.Errorf("sent envelopes of %s: %w", sender, err)
	}
	var total int
	if err := s.db.QueryRowContext(ctx, s.q(`SELECT COUNT(*) FROM envelopes WHERE sender_norm = ?`), sender).Scan(&total); err != nil {
		return fail(err)
	}
	rows, err := s.db.QueryContext(ctx, s.q(`SELECT `+envelopeColumns+` FROM envelopes WHERE sender_norm = ? ORDER BY created DESC, id LIMIT ? OFFSET ?`), sender, limitOrAll(limit), max(offset, 0))
	if err != nil {
		return fail(err)
	}
	var out []SentEnvelope
	index := map[string]int{}
	for rows.Next() {
		e, err := scanEnvelope(rows)
		if err != nil {
			rows.Close()
			return fail(err)
		}
		index[e.ID] = len(out)
		out = append(out, SentEnvelope{Envelope: e})
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return fail(err)
	}
	if len(out) == 0 {
		return out, total, nil
	}
	ids := make([]any, 0, len(out))
	for _, e := range out {
		ids = append(ids, e.ID)
	}
	in := strings.TrimSuffix(strings.Repeat("?, ", len(ids)), ", ")
	replied := map[[2]string]time.Time{}
	// A reply that failed to go out is no reply (its event says "failed").
	rows, err = s.db.QueryContext(ctx, s.q(`SELECT envelope_id, email, MIN(time) FROM events WHERE envelope_id IN (`+in+`) AND kind = ? AND outcome IN ('', 'ok') GROUP BY envelope_id, email`), append(ids, EventReplySent)...)
	if err != nil {
		return fail(err)
	}
	for rows.Next() {
		var id, addr string
		var t int64
		if err := rows.Scan(&id, &addr, &t); err != nil {
			rows.Close()
			return fail(err)
		}
		replied[[2]string{id, addr}] = fromMS(t)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return fail(err)
	}
	rows, err = s.db.QueryContext(ctx, s.q(`SELECT envelope_id, address, opened FROM envelope_recipients WHERE envelope_id IN (`+in+`) ORDER BY envelope_id, address`), ids...)
	if err != nil {
		return fail(err)
	}
	defer rows.Close()
	for rows.Next() {
		var id, addr string
		var opened int64
		if err := rows.Scan(&id, &addr, &opened); err != nil {
			return fail(err)
		}
		e := &out[index[id]]
		e.Recipients = append(e.Recipients, addr)
		e.States = append(e.States, RecipientState{Address: addr, Opened: fromMS(opened), Replied: replied[[2]string{id, addr}]})
	}
	if err := rows.Err(); err != nil {
		return fail(err)
	}
	return out, total, nil
}

// IsSender implements Senders.
func (s *sqlStore) IsSender(ctx context.Context, address string) (bool, error) {
	var n int
	err := s.db.QueryRowContext(ctx, s.q(`SELECT COUNT(*) FROM (SELECT 1 FROM envelopes WHERE sender_norm = ? LIMIT 1) AS sent`), normAddress(address)).Scan(&n)
	if err != nil {
		return false, fmt.Errorf("is sender %s: %w", address, err)
	}
	return n > 0, nil
}
