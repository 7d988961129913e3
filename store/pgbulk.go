package store

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
)

// PostgreSQL writes a group of envelopes (groupCommit) with one statement
// per table, each row's values passed as arrays and unnested: a statement
// is a round trip to the server, and one per row (envelope, online copy,
// each recipient, event) was most of the store's time per envelope there.
// The rows and their order are those of the row-at-a-time path SQLite
// takes (insertEnvelopes), so the chain is the same.

const pgInsertEnvelopes = `INSERT INTO envelopes (id, queue_id, sender, kind, domain, trigger_name, wrapped_key, created, expires, locked, payload_digest, subject, message_id, read_receipts, sender_norm, reply, reply_all, online_until)
	SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::bytea[], $8::bigint[], $9::bigint[], $10::boolean[], $11::text[], $12::text[], $13::text[], $14::boolean[], $15::text[], $16::text[], $17::text[], $18::bigint[])`

const pgInsertOnline = `INSERT INTO online_copies (envelope_id, payload, meta, expires)
	SELECT * FROM unnest($1::text[], $2::bytea[], $3::text[], $4::bigint[])`

const pgInsertRecipients = `INSERT INTO envelope_recipients (envelope_id, address)
	SELECT * FROM unnest($1::text[], $2::text[]) ON CONFLICT DO NOTHING`

const pgInsertEvents = `INSERT INTO events (seq, time, kind, email, envelope_id, remote_ip, actor, auth, outcome, detail, prev_hash, hash)
	SELECT * FROM unnest($1::bigint[], $2::bigint[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[], $8::text[], $9::text[], $10::text[], $11::text[], $12::text[])`

// pgInsertRows writes the envelopes, their online copies and recipients.
func pgInsertRows(ctx context.Context, tx *sql.Tx, rows []envelopeRow) error {
	n := len(rows)
	var (
		id, queue, sender, kind, domain, trigger, digest, subject, msgID, senderNorm, reply, replyAll = make([]string, n), make([]string, n), make([]string, n), make([]string, n), make([]string, n), make([]string, n), make([]string, n), make([]string, n), make([]string, n), make([]string, n), make([]string, n), make([]string, n)
		wrapped                                                                                       = make([][]byte, n)
		created, expires, onlineUntil                                                                 = make([]int64, n), make([]int64, n), make([]int64, n)
		locked, receipts                                                                              = make([]bool, n), make([]bool, n)
		onID, onMeta                                                                                  []string
		onPayload                                                                                     [][]byte
		onExpires                                                                                     []int64
		rcptID, rcpt                                                                                  []string
	)
	for i, r := range rows {
		e := r.e
		if e.Online != nil {
			if e.Online.Expires.IsZero() || len(e.Online.Payload) == 0 {
				return fmt.Errorf("online copy of %s: no payload or no deletion time", e.ID)
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
	if _, err := tx.ExecContext(ctx, pgInsertEnvelopes, id, queue, sender, kind, domain, trigger, wrapped, created, expires, locked, digest, subject, msgID, receipts, senderNorm, reply, replyAll, onlineUntil); err != nil {
		return err
	}
	if len(onID) > 0 {
		if _, err := tx.ExecContext(ctx, pgInsertOnline, onID, onPayload, onMeta, onExpires); err != nil {
			return err
		}
	}
	if len(rcptID) > 0 {
		if _, err := tx.ExecContext(ctx, pgInsertRecipients, rcptID, rcpt); err != nil {
			return err
		}
	}
	return nil
}

// pgInsertEventRows writes chained events (Seq, PrevHash and Hash set).
func pgInsertEventRows(ctx context.Context, tx *sql.Tx, evs []Event) error {
	n := len(evs)
	seq, at := make([]int64, n), make([]int64, n)
	kind, email, envID, ip, actor, auth, outcome, detail, prev, hash := make([]string, n), make([]string, n), make([]string, n), make([]string, n), make([]string, n), make([]string, n), make([]string, n), make([]string, n), make([]string, n), make([]string, n)
	for i, e := range evs {
		seq[i], at[i], kind[i], email[i], envID[i], ip[i] = e.Seq, e.Time.UnixMilli(), e.Kind, e.Email, e.EnvelopeID, e.RemoteIP
		actor[i], auth[i], outcome[i], detail[i], prev[i], hash[i] = e.Actor, e.Auth, e.Outcome, e.Detail, e.PrevHash, e.Hash
	}
	if _, err := tx.ExecContext(ctx, pgInsertEvents, seq, at, kind, email, envID, ip, actor, auth, outcome, detail, prev, hash); err != nil {
		return fmt.Errorf("add %d events: %w", n, err)
	}
	return nil
}
