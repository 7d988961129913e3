package store

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
)

// PostgreSQL writes a group of envelopes (groupCommit) in one statement:
// the envelopes, their online copies, recipients and sealed events, each
// table's rows passed as arrays and unnested in a data-modifying WITH,
// and the chain head's move. A statement is a round trip to the server:
// one per row (envelope, online copy, each recipient, event) was most of
// the store's time per envelope there, and one per table still made a
// group commit eight round trips (BEGIN, three tables, the head, the
// events, the head's hash, COMMIT). Now a group chained after the head
// the writer last left is one round trip (pgAtHeadSQL, Postgres.insertGroup),
// and one that must take the head first four (BEGIN, the head, the group,
// COMMIT). The foreign keys are checked at the end of the statement, when
// the envelopes are in. The rows and their order are those of the
// row-at-a-time path SQLite takes (insertEnvelopes), so the chain is the
// same.

// pgGroupInserts are the group's inserts, each table's rows unnested from
// arrays, as data-modifying WITH queries; %[1]s is a condition on all of
// them (pgAtHeadSQL's) or nothing.
const pgGroupInserts = `env AS (INSERT INTO envelopes (id, queue_id, sender, kind, domain, trigger_name, wrapped_key, created, expires, locked, payload_digest, subject, message_id, read_receipts, sender_norm, reply, reply_all, online_until)
		SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::bytea[], $8::bigint[], $9::bigint[], $10::boolean[], $11::text[], $12::text[], $13::text[], $14::boolean[], $15::text[], $16::text[], $17::text[], $18::bigint[]) %[1]s),
	onl AS (INSERT INTO online_copies (envelope_id, payload, meta, expires)
		SELECT * FROM unnest($19::text[], $20::bytea[], $21::text[], $22::bigint[]) %[1]s),
	rcpt AS (INSERT INTO envelope_recipients (envelope_id, address)
		SELECT * FROM unnest($23::text[], $24::text[]) %[1]s ON CONFLICT DO NOTHING),
	ev AS (INSERT INTO events (seq, time, kind, email, envelope_id, remote_ip, actor, auth, outcome, detail, prev_hash, hash)
		SELECT * FROM unnest($25::bigint[], $26::bigint[], $27::text[], $28::text[], $29::text[], $30::text[], $31::text[], $32::text[], $33::text[], $34::text[], $35::text[], $36::text[]) %[1]s)`

// pgGroupSQL writes a group inside the transaction that holds the head
// (chainEvents) and sets the head's hash ($37).
var pgGroupSQL = `WITH ` + fmt.Sprintf(pgGroupInserts, "") + `
	UPDATE audit_head SET hash = $37 WHERE id = 1`

// pgAtHeadSQL writes a group chained after the head the writer last left
// ($39, $40), in one statement and its own transaction: it moves the head
// to $37, $38 only if the head is still there (the UPDATE waits for a
// concurrent appender's commit and then sees its head), and inserts the
// rows only if it moved. It returns how many heads it moved (0: another
// appender got there first; nothing was written).
var pgAtHeadSQL = `WITH head AS (UPDATE audit_head SET seq = $37, hash = $38 WHERE id = 1 AND seq = $39 AND hash = $40 RETURNING 1),
	` + fmt.Sprintf(pgGroupInserts, "WHERE EXISTS (SELECT 1 FROM head)") + `
	SELECT count(*) FROM head`

const pgInsertEvents = `INSERT INTO events (seq, time, kind, email, envelope_id, remote_ip, actor, auth, outcome, detail, prev_hash, hash)
	SELECT * FROM unnest($1::bigint[], $2::bigint[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[], $8::text[], $9::text[], $10::text[], $11::text[], $12::text[])`

// pgInsertGroup writes the envelopes, their online copies and recipients,
// and their sealed events chained (chainEvents), and sets the head's hash.
func pgInsertGroup(ctx context.Context, tx *sql.Tx, rows []envelopeRow, evs []Event) error {
	args, err := pgGroupArgs(rows, evs)
	if err != nil {
		return err
	}
	_, err = tx.ExecContext(ctx, pgGroupSQL, append(args, evs[len(evs)-1].Hash)...)
	return err
}

// pgGroupArgs are pgGroupInserts' arguments ($1 to $36).
func pgGroupArgs(rows []envelopeRow, evs []Event) ([]any, error) {
	n := len(rows)
	var (
		id, queue, sender, kind, domain, trigger, digest, subject, msgID, senderNorm, reply, replyAll = make([]string, n), make([]string, n), make([]string, n), make([]string, n), make([]string, n), make([]string, n), make([]string, n), make([]string, n), make([]string, n), make([]string, n), make([]string, n), make([]string, n)
		wrapped                                                                                       = make([][]byte, n)
		created, expires, onlineUntil                                                                 = make([]int64, n), make([]int64, n), make([]int64, n)
		locked, receipts                                                                              = make([]bool, n), make([]bool, n)
		onID, onMeta                                                                                  = []string{}, []string{}
		onPayload                                                                                     = [][]byte{}
		onExpires                                                                                     = []int64{}
		rcptID, rcpt                                                                                  = []string{}, []string{}
	)
	for i, r := range rows {
		e := r.e
		if e.Online != nil {
			if e.Online.Expires.IsZero() || len(e.Online.Payload) == 0 {
				return nil, fmt.Errorf("online copy of %s: no payload or no deletion time", e.ID)
			}
			e.OnlineUntil = e.Online.Expires
			onID, onPayload, onMeta, onExpires = append(onID, e.ID), append(onPayload, e.Online.Payload), append(onMeta, e.Online.Meta), append(onExpires, e.Online.Expires.UnixMilli())
		}
		id[i], queue[i], sender[i], kind[i], domain[i], trigger[i] = e.ID, e.QueueID, e.Sender, string(e.Kind), e.Domain, e.Trigger
		wrapped[i], created[i], expires[i], locked[i] = r.wrapped, e.Created.UnixMilli(), expiresMillis(e.Expires), e.Locked
		digest[i], subject[i], msgID[i], receipts[i] = e.PayloadDigest, e.Subject, e.MessageID, e.ReadReceipts
		senderNorm[i], reply[i], replyAll[i], onlineUntil[i] = normAddress(e.Sender), jsonList(e.Reply), jsonList(e.ReplyAll), ms(e.OnlineUntil)
		for _, a := range e.Recipients {
			rcptID, rcpt = append(rcptID, e.ID), append(rcpt, strings.ToLower(a))
		}
	}
	args := []any{id, queue, sender, kind, domain, trigger, wrapped, created, expires, locked, digest, subject, msgID, receipts, senderNorm, reply, replyAll, onlineUntil,
		onID, onPayload, onMeta, onExpires, rcptID, rcpt}
	return append(args, eventArrays(evs)...), nil
}

// eventArrays are chained events' columns as pgInsertEvents takes them.
func eventArrays(evs []Event) []any {
	n := len(evs)
	seq, at := make([]int64, n), make([]int64, n)
	kind, email, envID, ip, actor, auth, outcome, detail, prev, hash := make([]string, n), make([]string, n), make([]string, n), make([]string, n), make([]string, n), make([]string, n), make([]string, n), make([]string, n), make([]string, n), make([]string, n)
	for i, e := range evs {
		seq[i], at[i], kind[i], email[i], envID[i], ip[i] = e.Seq, e.Time.UnixMilli(), e.Kind, e.Email, e.EnvelopeID, e.RemoteIP
		actor[i], auth[i], outcome[i], detail[i], prev[i], hash[i] = e.Actor, e.Auth, e.Outcome, e.Detail, e.PrevHash, e.Hash
	}
	return []any{seq, at, kind, email, envID, ip, actor, auth, outcome, detail, prev, hash}
}

// pgInsertEventRows writes chained events (Seq, PrevHash and Hash set).
func pgInsertEventRows(ctx context.Context, tx *sql.Tx, evs []Event) error {
	if _, err := tx.ExecContext(ctx, pgInsertEvents, eventArrays(evs)...); err != nil {
		return fmt.Errorf("add %d events: %w", len(evs), err)
	}
	return nil
}
