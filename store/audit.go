package store

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"database/sql"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"
)

// The audit log is a hash chain. Every event carries the hash of the event
// before it (PrevHash) and its own (Hash): SHA-256 over the previous hash
// and a canonical encoding of the event (EventHash). Editing a row changes
// its hash; deleting or inserting one breaks the link of the next, so
// VerifyChain names the first event where the chain breaks. Deleting the
// newest events leaves a shorter, intact chain: that is what the
// checkpoints written to the service log are for (Checkpoint).
//
// One chain per database, whatever the number of writing processes: the
// head (last sequence number and hash) is one row, audit_head, that every
// append updates first, so appends are serialised by the database (the row
// lock in PostgreSQL, the write lock in SQLite) and sequence numbers are
// gap-free.

// genesis is the previous hash of the first event.
var genesis = strings.Repeat("0", 64)

// EventHash is the chain hash of e given the previous event's hash (hex):
// SHA-256 of the 32 bytes of prev followed by "postseal audit v1", NUL,
// the sequence number and the time in Unix milliseconds as 8-byte
// big-endian integers, and then kind, envelope id, address, client address,
// actor, auth, outcome and detail, each as a 4-byte big-endian length and
// its UTF-8 bytes.
func EventHash(prev string, e Event) string {
	p, err := hex.DecodeString(prev)
	if err != nil || len(p) != sha256.Size {
		// A damaged previous hash cannot vouch for anything; hashing its
		// text keeps the result defined (and different from any valid
		// chain's).
		p = []byte(prev)
	}
	h := sha256.New()
	h.Write(p)
	h.Write(eventEncoding(e))
	return hex.EncodeToString(h.Sum(nil))
}

func eventEncoding(e Event) []byte {
	b := []byte("postseal audit v1\x00")
	b = binary.BigEndian.AppendUint64(b, uint64(e.Seq))
	b = binary.BigEndian.AppendUint64(b, uint64(e.Time.UnixMilli()))
	for _, f := range []string{e.Kind, e.EnvelopeID, e.Email, e.RemoteIP, e.Actor, e.Auth, e.Outcome, e.Detail} {
		b = binary.BigEndian.AppendUint32(b, uint32(len(f)))
		b = append(b, f...)
	}
	return b
}

// normEvent brings an event to the form it is stored (and hashed) in.
func normEvent(e Event, now time.Time) Event {
	if e.Time.IsZero() {
		e.Time = now
	}
	e.Time = time.UnixMilli(e.Time.UnixMilli()).UTC()
	e.Email = strings.ToLower(e.Email)
	if e.Outcome == "" {
		e.Outcome = "ok"
	}
	return e
}

// execer is a *sql.Tx or *sql.DB.
type execer interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
}

// appendEvents is the one way events reach the database: it puts them at
// the head of the chain inside tx. The head row is updated first, which
// serialises concurrent appenders until tx ends.
func (s *sqlStore) appendEvents(ctx context.Context, tx *sql.Tx, evs ...Event) error {
	if len(evs) == 0 {
		return nil
	}
	chained, err := s.chainEvents(ctx, tx, evs)
	if err != nil {
		return err
	}
	prev := chained[len(chained)-1].Hash
	if s.d.insertEvents != nil && len(chained) > 1 {
		if err := s.d.insertEvents(ctx, tx, chained); err != nil {
			return err
		}
	} else {
		for _, e := range chained {
			if _, err := s.execTx(ctx, tx, `INSERT INTO events (seq, time, kind, email, envelope_id, remote_ip, actor, auth, outcome, detail, prev_hash, hash)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
				e.Seq, e.Time.UnixMilli(), e.Kind, e.Email, e.EnvelopeID, e.RemoteIP, e.Actor, e.Auth, e.Outcome, e.Detail, e.PrevHash, e.Hash); err != nil {
				return fmt.Errorf("add %s event: %w", e.Kind, err)
			}
		}
	}
	if _, err := s.execTx(ctx, tx, `UPDATE audit_head SET hash = ? WHERE id = 1`, prev); err != nil {
		return fmt.Errorf("audit head: %w", err)
	}
	return nil
}

// chainEvents takes the head of the chain for evs inside tx and returns
// them as they go on it (Seq, PrevHash, Hash set); the caller inserts them
// and sets the head's hash to the last one's. Taking the head first (an
// UPDATE) serialises concurrent appenders until tx ends.
func (s *sqlStore) chainEvents(ctx context.Context, tx *sql.Tx, evs []Event) ([]Event, error) {
	var last int64
	var prev string
	row, err := s.queryRowTx(ctx, tx, `UPDATE audit_head SET seq = seq + ? WHERE id = 1 RETURNING seq, hash`, len(evs))
	if err == nil {
		err = row.Scan(&last, &prev)
	}
	if err != nil {
		return nil, fmt.Errorf("audit head: %w", err)
	}
	return linkEvents(evs, Checkpoint{Seq: last - int64(len(evs)), Hash: prev}), nil
}

// linkEvents chains evs after head (Seq, PrevHash, Hash set).
func linkEvents(evs []Event, head Checkpoint) []Event {
	now := time.Now()
	prev := head.Hash
	chained := make([]Event, len(evs))
	for i, e := range evs {
		e = normEvent(e, now)
		e.Seq = head.Seq + int64(i) + 1
		e.PrevHash = prev
		e.Hash = EventHash(prev, e)
		chained[i], prev = e, e.Hash
	}
	return chained
}

// inTx runs fn in a transaction and commits it.
func (s *sqlStore) inTx(ctx context.Context, fn func(tx *sql.Tx) error) error {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	if err := fn(tx); err != nil {
		return err
	}
	return tx.Commit()
}

// AddEvent implements Events.
func (s *sqlStore) AddEvent(ctx context.Context, e Event) error {
	if err := s.inTx(ctx, func(tx *sql.Tx) error { return s.appendEvents(ctx, tx, e) }); err != nil {
		return fmt.Errorf("add %s event: %w", e.Kind, err)
	}
	return nil
}

// adoptEvents puts the events written before the chain existed on it, in
// the order they were written. It runs once per database (recorded in
// meta): rows found without a place on the chain later were inserted
// behind postseal's back, and verification names them.
func (s *sqlStore) adoptEvents(ctx context.Context) error {
	return s.inTx(ctx, func(tx *sql.Tx) error {
		// Taking the head first serialises two processes starting at once.
		if _, err := tx.ExecContext(ctx, `UPDATE audit_head SET seq = seq WHERE id = 1`); err != nil {
			return err
		}
		res, err := tx.ExecContext(ctx, `INSERT INTO meta (name, value) VALUES ('audit_chain', 'v1') ON CONFLICT DO NOTHING`)
		if err != nil {
			return err
		}
		if n, err := res.RowsAffected(); err != nil || n == 0 {
			return err
		}
		rows, err := tx.QueryContext(ctx, `SELECT `+eventColumns+` FROM events WHERE seq = 0 ORDER BY id`)
		if err != nil {
			return err
		}
		var old []Event
		for rows.Next() {
			e, err := scanEvent(rows)
			if err != nil {
				rows.Close()
				return err
			}
			old = append(old, e)
		}
		rows.Close()
		if err := rows.Err(); err != nil || len(old) == 0 {
			return err
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM events WHERE seq = 0`); err != nil {
			return err
		}
		return s.appendEvents(ctx, tx, old...)
	})
}

const eventColumns = `id, seq, time, kind, email, envelope_id, remote_ip, actor, auth, outcome, detail, prev_hash, hash`

func scanEvent(row interface{ Scan(...any) error }) (Event, error) {
	var e Event
	var t int64
	err := row.Scan(&e.ID, &e.Seq, &t, &e.Kind, &e.Email, &e.EnvelopeID, &e.RemoteIP, &e.Actor, &e.Auth, &e.Outcome, &e.Detail, &e.PrevHash, &e.Hash)
	e.Time = time.UnixMilli(t).UTC()
	return e, err
}

// AuditEvents calls fn for each matching event in chain order (oldest
// first), streaming, so an export of millions of events needs no memory.
// Limit is ignored.
func (s *sqlStore) AuditEvents(ctx context.Context, f EventFilter, fn func(Event) error) error {
	where, args := eventWhere(f)
	rows, err := s.db.QueryContext(ctx, s.q(`SELECT `+eventColumns+` FROM events`+where+` ORDER BY seq, id`), args...)
	if err != nil {
		return fmt.Errorf("audit events: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		e, err := scanEvent(rows)
		if err != nil {
			return fmt.Errorf("audit events: %w", err)
		}
		if err := fn(e); err != nil {
			return err
		}
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("audit events: %w", err)
	}
	return nil
}

// Checkpoint is the head of the chain at one moment: the sequence number
// and hash of the newest event. Written to the service log, it lets
// VerifyChain tell when events up to it were removed later.
type Checkpoint struct {
	Seq  int64  `json:"seq"`
	Hash string `json:"hash"`
}

// AuditHead returns the current head of the chain (Seq 0: no event yet).
func (s *sqlStore) AuditHead(ctx context.Context) (Checkpoint, error) {
	var c Checkpoint
	if err := s.db.QueryRowContext(ctx, `SELECT seq, hash FROM audit_head WHERE id = 1`).Scan(&c.Seq, &c.Hash); err != nil {
		return c, fmt.Errorf("audit head: %w", err)
	}
	return c, nil
}

// pruneRecord is the detail of an audit_pruned event: the events up to
// Through (whose hash was Hash) were removed, Count of them, all older
// than Before; MAC signs these fields with the master key.
type pruneRecord struct {
	Through int64  `json:"through"`
	Hash    string `json:"hash"`
	Count   int64  `json:"count"`
	Before  int64  `json:"before"`
	MAC     string `json:"mac"`
}

func (r pruneRecord) signed() []byte {
	return fmt.Appendf(nil, "postseal audit prune v1\x00%d\x00%s\x00%d\x00%d", r.Through, r.Hash, r.Count, r.Before)
}

// PruneEvents removes the events older than before, behind a signed
// audit_pruned event that records where the remaining chain starts and
// the hash it continues from, so the chain stays verifiable. The boundary
// is the last event before the first one at or after before: an event
// kept never follows a removed one. It returns how many events it removed.
func (s *sqlStore) PruneEvents(ctx context.Context, before time.Time) (int64, error) {
	var removed int64
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		var head Checkpoint
		if err := tx.QueryRowContext(ctx, `UPDATE audit_head SET seq = seq WHERE id = 1 RETURNING seq, hash`).Scan(&head.Seq, &head.Hash); err != nil {
			return err
		}
		var first sql.NullInt64
		if err := tx.QueryRowContext(ctx, s.q(`SELECT MIN(seq) FROM events WHERE seq > 0 AND time >= ?`), before.UnixMilli()).Scan(&first); err != nil {
			return err
		}
		through := head.Seq
		if first.Valid {
			through = first.Int64 - 1
		}
		var rec pruneRecord
		err := tx.QueryRowContext(ctx, s.q(`SELECT hash FROM events WHERE seq = ? AND seq > 0`), through).Scan(&rec.Hash)
		if errors.Is(err, sql.ErrNoRows) {
			return nil // nothing older is left
		}
		if err != nil {
			return err
		}
		res, err := tx.ExecContext(ctx, s.q(`DELETE FROM events WHERE seq > 0 AND seq <= ?`), through)
		if err != nil {
			return err
		}
		if removed, err = res.RowsAffected(); err != nil {
			return err
		}
		rec.Through, rec.Count, rec.Before = through, removed, before.UnixMilli()
		rec.MAC = hex.EncodeToString(s.key.signAudit(rec.signed()))
		detail, err := json.Marshal(rec)
		if err != nil {
			return err
		}
		return s.appendEvents(ctx, tx, Event{Kind: EventAuditPruned, Actor: "postseal", Detail: string(detail)})
	})
	if err != nil {
		return 0, fmt.Errorf("prune audit events: %w", err)
	}
	return removed, nil
}

// ChainReport is the outcome of VerifyChain.
type ChainReport struct {
	// Count of events checked; Head is the newest one.
	Count int64
	Head  Checkpoint
	// Start is the first event of the remaining chain (1, or the one after
	// the last pruned event).
	Start int64
	// Broken is nil when the chain is intact; otherwise it names the first
	// event where it breaks and why.
	Broken *ChainBreak
}

// ChainBreak names where a chain breaks.
type ChainBreak struct {
	Seq    int64  `json:"seq"`
	ID     int64  `json:"id"`
	Reason string `json:"reason"`
}

func (b *ChainBreak) Error() string {
	if b.Seq == 0 && b.ID != 0 {
		return fmt.Sprintf("event row id %d: %s", b.ID, b.Reason)
	}
	return fmt.Sprintf("event %d: %s", b.Seq, b.Reason)
}

// VerifyChain checks the whole chain: each event's hash, each link, that
// sequence numbers run without gaps from the start (1, or the signed prune
// checkpoint's) to the head row, and that every checkpoint given (from the
// service log) is on the chain — a checkpoint beyond the last event means
// events were removed from the end.
func (s *sqlStore) VerifyChain(ctx context.Context, checkpoints []Checkpoint) (ChainReport, error) {
	rep := ChainReport{Start: 1}
	prev := genesis
	// The newest prune record says where the remaining chain starts.
	pruned, err := scanEvent(s.db.QueryRowContext(ctx, s.q(`SELECT `+eventColumns+` FROM events WHERE kind = ? AND seq > 0 ORDER BY seq DESC LIMIT 1`), EventAuditPruned))
	switch {
	case errors.Is(err, sql.ErrNoRows):
	case err != nil:
		return rep, fmt.Errorf("verify audit chain: %w", err)
	default:
		var rec pruneRecord
		var mac []byte
		if err := json.Unmarshal([]byte(pruned.Detail), &rec); err == nil {
			mac, _ = hex.DecodeString(rec.MAC)
		}
		if rec.Through <= 0 || !hmac.Equal(mac, s.key.signAudit(rec.signed())) {
			rep.Broken = &ChainBreak{Seq: pruned.Seq, ID: pruned.ID, Reason: "prune checkpoint whose signature does not match (forged or edited)"}
			return rep, nil
		}
		rep.Start, prev = rec.Through+1, rec.Hash
	}
	byCheckpoint := map[int64]string{}
	for _, c := range checkpoints {
		byCheckpoint[c.Seq] = c.Hash
	}
	next := rep.Start
	err = s.AuditEvents(ctx, EventFilter{}, func(e Event) error {
		var why string
		switch {
		case e.Seq == 0:
			why = "not on the chain (inserted behind postseal's back)"
		case e.Seq < next && e.Seq < rep.Start:
			why = fmt.Sprintf("listed as removed by the prune checkpoint (which kept events from %d on), yet present", rep.Start)
		case e.Seq < next:
			why = "a second event with the same sequence number (inserted)"
		case e.Seq > next:
			why = fmt.Sprintf("events %d to %d are missing (deleted)", next, e.Seq-1)
		case e.PrevHash != prev:
			why = "its link to the event before does not match (that event was edited, deleted or replaced)"
		case EventHash(prev, e) != e.Hash:
			why = "its content does not match its hash (edited)"
		}
		if h, ok := byCheckpoint[e.Seq]; ok && why == "" && h != e.Hash {
			why = "differs from the checkpoint in the service log (the chain was rewritten from here)"
		}
		if why != "" {
			rep.Broken = &ChainBreak{Seq: e.Seq, ID: e.ID, Reason: why}
			return errStop
		}
		rep.Count++
		rep.Head = Checkpoint{Seq: e.Seq, Hash: e.Hash}
		prev, next = e.Hash, e.Seq+1
		return nil
	})
	if err != nil && !errors.Is(err, errStop) {
		return rep, fmt.Errorf("verify audit chain: %w", err)
	}
	if rep.Broken != nil {
		return rep, nil
	}
	head, err := s.AuditHead(ctx)
	if err != nil {
		return rep, fmt.Errorf("verify audit chain: %w", err)
	}
	if head.Seq != rep.Head.Seq || (head.Seq != 0 && head.Hash != rep.Head.Hash) {
		rep.Broken = &ChainBreak{Seq: rep.Head.Seq + 1, Reason: fmt.Sprintf("the chain ends at event %d but its head says %d (events removed from the end)", rep.Head.Seq, head.Seq)}
		return rep, nil
	}
	for _, c := range checkpoints {
		if c.Seq > rep.Head.Seq {
			rep.Broken = &ChainBreak{Seq: rep.Head.Seq + 1, Reason: fmt.Sprintf("the service log has a checkpoint at event %d but the chain ends at %d (events removed from the end)", c.Seq, rep.Head.Seq)}
			return rep, nil
		}
	}
	return rep, nil
}

var errStop = errors.New("stop")
