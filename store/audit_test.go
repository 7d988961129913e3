package store

import (
	"bytes"
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"
)

// sqlOf reaches the shared SQL of a store, for tests that tamper with rows
// as someone with the database would.
func sqlOf(t *testing.T, s Store) *sqlStore {
	t.Helper()
	switch v := s.(type) {
	case *SQLite:
		return &v.sqlStore
	case *Postgres:
		return &v.sqlStore
	}
	t.Fatalf("unknown store %T", s)
	return nil
}

func tamper(t *testing.T, s Store, query string, args ...any) {
	t.Helper()
	ss := sqlOf(t, s)
	res, err := ss.db.Exec(ss.q(query), args...)
	if err != nil {
		t.Fatalf("%s: %v", query, err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		t.Fatalf("%s changed nothing", query)
	}
}

func addEvents(t *testing.T, s Store, n int, kind string) {
	t.Helper()
	for i := range n {
		e := Event{Time: t0.Add(time.Duration(i) * time.Minute), Kind: kind, Email: fmt.Sprintf("R%d@Ext.example", i), EnvelopeID: "env1", RemoteIP: "192.0.2.7", Auth: "password: ok", Detail: "d"}
		if err := s.AddEvent(context.Background(), e); err != nil {
			t.Fatal(err)
		}
	}
}

func verify(t *testing.T, s Store, cps ...Checkpoint) ChainReport {
	t.Helper()
	rep, err := s.VerifyChain(context.Background(), cps)
	if err != nil {
		t.Fatal(err)
	}
	return rep
}

func wantIntact(t *testing.T, rep ChainReport, count int64) {
	t.Helper()
	if rep.Broken != nil {
		t.Fatalf("chain reported broken: %v", rep.Broken)
	}
	if rep.Count != count {
		t.Fatalf("verified %d events; want %d", rep.Count, count)
	}
}

func wantBroken(t *testing.T, rep ChainReport, seq int64, reason string) {
	t.Helper()
	if rep.Broken == nil {
		t.Fatalf("tampering not detected (%d events verified)", rep.Count)
	}
	if rep.Broken.Seq != seq || !strings.Contains(rep.Broken.Reason, reason) {
		t.Fatalf("broken at %v; want event %d, %q", rep.Broken, seq, reason)
	}
}

func testAuditChain(t *testing.T, db database) {
	s, _ := openDB(t, db)
	ctx := context.Background()
	wantIntact(t, verify(t, s), 0)
	putEnv(t, s, "env1", t0.Add(time.Hour), false, "r0@ext.example")
	addEvents(t, s, 5, EventKeyReleased)
	if err := s.SetLocked(ctx, "env1", true, Change{Actor: "sender doc@example.org", Auth: "session", RemoteIP: "192.0.2.1"}); err != nil {
		t.Fatal(err)
	}
	rep := verify(t, s)
	wantIntact(t, rep, 7)
	head, err := s.AuditHead(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if head != rep.Head || head.Seq != 7 || len(head.Hash) != 64 {
		t.Fatalf("head %+v, verified head %+v", head, rep.Head)
	}
	var got []Event
	if err := s.AuditEvents(ctx, EventFilter{}, func(e Event) error { got = append(got, e); return nil }); err != nil {
		t.Fatal(err)
	}
	if got[0].Kind != EventSealed || got[0].Email != "doc@example.org" || got[0].Seq != 1 || got[0].PrevHash != genesis {
		t.Errorf("first event %+v; want the seal by doc@example.org at 1 on the genesis hash", got[0])
	}
	last := got[6]
	if last.Kind != EventEnvelopeLocked || last.Actor != "sender doc@example.org" || last.Auth != "session" || last.RemoteIP != "192.0.2.1" || last.Outcome != "ok" {
		t.Errorf("lock event %+v; want who, how and from where", last)
	}
	if got[2].Email != "r1@ext.example" {
		t.Errorf("addresses are stored lower-cased: %q", got[2].Email)
	}
	for i := 1; i < len(got); i++ {
		if got[i].PrevHash != got[i-1].Hash || EventHash(got[i].PrevHash, got[i]) != got[i].Hash {
			t.Fatalf("event %d is not linked to %d", got[i].Seq, got[i-1].Seq)
		}
	}
	// The filters of audit list.
	var n int
	if err := s.AuditEvents(ctx, EventFilter{Email: "R3@ext.example"}, func(Event) error { n++; return nil }); err != nil || n != 1 {
		t.Errorf("filter by address: %d events, %v; want 1", n, err)
	}
}

type tamperCase struct {
	name   string
	change func(t *testing.T, s Store)
	seq    int64
	reason string
}

// tamperCases each change a chain of six events as someone with write
// access to the database would, and say where verification must stop.
var tamperCases = []tamperCase{
	{"edited detail", func(t *testing.T, s Store) {
		tamper(t, s, `UPDATE events SET detail = 'nothing happened' WHERE seq = 3`)
	}, 3, "does not match its hash"},
	{"edited and rehashed", func(t *testing.T, s Store) {
		var e Event
		err := s.AuditEvents(context.Background(), EventFilter{}, func(x Event) error {
			if x.Seq == 3 {
				e = x
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		e.Email = "someone-else@ext.example"
		tamper(t, s, `UPDATE events SET email = ?, hash = ? WHERE seq = 3`, e.Email, EventHash(e.PrevHash, e))
	}, 4, "link to the event before"},
	{"deleted row", func(t *testing.T, s Store) {
		tamper(t, s, `DELETE FROM events WHERE seq = 4`)
	}, 5, "events 4 to 4 are missing"},
	{"inserted row", func(t *testing.T, s Store) {
		tamper(t, s, `INSERT INTO events (time, kind, email) VALUES (1, 'key_released', 'eve@ext.example')`)
	}, 0, "not on the chain"},
	{"truncated tail", func(t *testing.T, s Store) {
		tamper(t, s, `DELETE FROM events WHERE seq >= 5`)
	}, 5, "head says 6"},
}

func (tc tamperCase) run(t *testing.T, db database) {
	s, _ := openDB(t, db)
	addEvents(t, s, 6, EventKeyReleased)
	wantIntact(t, verify(t, s), 6)
	tc.change(t, s)
	wantBroken(t, verify(t, s), tc.seq, tc.reason)
}

// Removing the tail and fixing the head leaves an intact, shorter chain:
// only a checkpoint written to the service log tells.
func testAuditTruncatedWithHead(t *testing.T, db database) {
	s, _ := openDB(t, db)
	addEvents(t, s, 6, EventKeyReleased)
	cp, err := s.AuditHead(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	var h4 string
	if err := sqlOf(t, s).db.QueryRow(`SELECT hash FROM events WHERE seq = 4`).Scan(&h4); err != nil {
		t.Fatal(err)
	}
	tamper(t, s, `DELETE FROM events WHERE seq >= 5`)
	tamper(t, s, `UPDATE audit_head SET seq = 4, hash = ?`, h4)
	wantIntact(t, verify(t, s), 4)
	wantBroken(t, verify(t, s, cp), 5, "checkpoint at event 6")
}

// twoProcesses opens db twice with one key: each handle is what a process
// holds.
func twoProcesses(t *testing.T, db database) (a, b Store) {
	t.Helper()
	a, key := openDB(t, db)
	b, err := db(key)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { b.Close() })
	return a, b
}

// concurrently runs fn(a or b, w) for w from 0 to n-1 at once, the odd w
// on b, and waits for all; it fails the test on the first error fn sent.
func concurrently(t *testing.T, a, b Store, n int, fn func(s Store, w int, errs chan<- error)) {
	t.Helper()
	var wg sync.WaitGroup
	errs := make(chan error, 1024)
	for w := range n {
		s := a
		if w%2 == 1 {
			s = b
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			fn(s, w, errs)
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
}

// Several processes write one chain: both handles write at once from many
// goroutines.
func testAuditConcurrent(t *testing.T, db database) {
	a, b := twoProcesses(t, db)
	const writers, each = 8, 15
	concurrently(t, a, b, 2*writers, func(s Store, w int, errs chan<- error) {
		for i := range each {
			errs <- s.AddEvent(context.Background(), Event{Kind: EventKeyReleased, Email: fmt.Sprintf("w%d-%d@ext.example", w, i)})
		}
	})
	wantIntact(t, verify(t, a), 2*writers*each)
	wantIntact(t, verify(t, b), 2*writers*each)
}

func testAuditPrune(t *testing.T, db database) {
	s, _ := openDB(t, db)
	ctx := context.Background()
	addEvents(t, s, 6, EventKeyReleased) // t0, t0+1m, … t0+5m
	n, err := s.PruneEvents(ctx, t0.Add(3*time.Minute))
	if err != nil || n != 3 {
		t.Fatalf("pruned %d, %v; want 3 (the events before t0+3m)", n, err)
	}
	rep := verify(t, s)
	wantIntact(t, rep, 4) // three kept and the checkpoint
	if rep.Start != 4 {
		t.Errorf("remaining chain starts at %d; want 4", rep.Start)
	}
	if n, err := s.PruneEvents(ctx, t0.Add(3*time.Minute)); err != nil || n != 0 {
		t.Errorf("pruning again: %d, %v; want nothing", n, err)
	}
	// A second prune supersedes the first checkpoint.
	if n, err := s.PruneEvents(ctx, time.Now().Add(time.Hour)); err != nil || n != 4 {
		t.Fatalf("pruned %d, %v; want all 4 (events and the older checkpoint)", n, err)
	}
	addEvents(t, s, 1, EventKeyReleased)
	wantIntact(t, verify(t, s), 2)

}

// Deleting the oldest events without a prune checkpoint is a break.
func testAuditDeletedHead(t *testing.T, db database) {
	ctx := context.Background()
	s2, _ := openDB(t, db)
	addEvents(t, s2, 4, EventKeyReleased)
	tamper(t, s2, `DELETE FROM events WHERE seq <= 2`)
	wantBroken(t, verify(t, s2), 3, "events 1 to 2 are missing")
	// A prune finds nothing older left to vouch for: the break stays.
	if _, err := s2.PruneEvents(ctx, t0.Add(90*time.Second)); err != nil {
		t.Fatal(err)
	}
	wantBroken(t, verify(t, s2), 3, "missing")
}

// An edited prune checkpoint does not verify.
func testAuditPruneForged(t *testing.T, db database) {
	ctx := context.Background()
	s3, _ := openDB(t, db)
	addEvents(t, s3, 4, EventKeyReleased)
	if _, err := s3.PruneEvents(ctx, t0.Add(2*time.Minute)); err != nil {
		t.Fatal(err)
	}
	tamper(t, s3, `UPDATE events SET detail = replace(detail, '"through":2', '"through":1') WHERE kind = 'audit_pruned'`)
	wantBroken(t, verify(t, s3), 5, "signature does not match")
}

// Sealing sessions in two processes at once (each handle is what a process
// holds): envelopes are committed in groups, key releases are appended one
// by one in between, and one envelope is a duplicate that must fail alone.
// The chain verifies, and it has exactly one sealed event for every
// envelope stored and none for the refused duplicate.
func testAuditConcurrentSealers(t *testing.T, db database) {
	a, b := twoProcesses(t, db)
	ctx := context.Background()
	putEnv(t, a, "dup", t0.Add(time.Hour), false, "x@ext.example")
	const sealers, each = 10, 12
	dupErr := make(chan error, 1)
	concurrently(t, a, b, 2*sealers, func(s Store, w int, errs chan<- error) {
		for i := range each {
			id := fmt.Sprintf("env-%02d-%02d", w, i)
			if i%4 == 3 {
				errs <- s.AddEvent(ctx, Event{Kind: EventKeyReleased, EnvelopeID: id, Email: "r@ext.example"})
				continue
			}
			errs <- s.PutEnvelope(ctx, sealerEnvelope(id, w, i), sealerKey(i))
			if w == 5 && i == 5 {
				dupErr <- s.PutEnvelope(ctx, Envelope{ID: "dup", Sender: "a@example.org", Kind: "keyservice", Created: t0, Expires: t0.Add(time.Hour)}, make([]byte, 32))
			}
		}
	})
	if err := <-dupErr; err == nil {
		t.Fatal("a second envelope with the id of a stored one was accepted")
	}
	const envelopes, releases = 1 + 2*sealers*each*3/4, 2 * sealers * each / 4
	for _, s := range []Store{a, b} {
		wantIntact(t, verify(t, s), envelopes+releases)
	}
	stored, err := a.Envelopes(ctx, 0)
	if err != nil || len(stored) != envelopes {
		t.Fatalf("%d envelopes stored (%v); want %d", len(stored), err, envelopes)
	}
	sealed := map[string]int{}
	if err := a.AuditEvents(ctx, EventFilter{Kind: EventSealed}, func(e Event) error { sealed[e.EnvelopeID]++; return nil }); err != nil {
		t.Fatal(err)
	}
	for _, e := range stored {
		if sealed[e.ID] != 1 {
			t.Errorf("envelope %s has %d sealed events; want 1", e.ID, sealed[e.ID])
		}
		delete(sealed, e.ID)
	}
	if len(sealed) != 0 {
		t.Errorf("sealed events for envelopes not stored: %v", sealed)
	}
	// What a group wrote reads back as it was put: recipients (a
	// duplicate in another case once), no key for a shared-password
	// envelope, the online copy.
	for w := range 2 * sealers {
		for i := range 3 {
			id := fmt.Sprintf("env-%02d-%02d", w, i)
			want := sealerEnvelope(id, w, i)
			got, err := b.Envelope(ctx, id)
			if err != nil || len(got.Recipients) != 2 || got.Kind != want.Kind || got.HasKey != (sealerKey(i) != nil) {
				t.Fatalf("%s read back as %+v (%v); want %+v", id, got, err, want)
			}
			if c, err := b.OnlineCopy(ctx, id); (want.Online != nil) != (err == nil) || (err == nil && !bytes.Equal(c.Payload, want.Online.Payload)) {
				t.Fatalf("%s: online copy %q, %v; want %v", id, c.Payload, err, want.Online)
			}
		}
	}
}

// sealerEnvelope is the i-th envelope sealer w puts: a key-service
// envelope with an online copy, one with none, or a shared-password one.
func sealerEnvelope(id string, w, i int) Envelope {
	e := Envelope{ID: id, Sender: "a@example.org", Recipients: []string{fmt.Sprintf("r%d@ext.example", w), "Co@Ext.example", "co@ext.example"},
		Kind: "keyservice", Created: t0, Expires: t0.Add(time.Hour)}
	switch i % 3 {
	case 0:
		e.Online = &OnlineCopy{Payload: []byte("-----BEGIN PGP MESSAGE-----\r\n" + id), Meta: "{}", Expires: t0.Add(time.Hour)}
	case 2:
		e.Kind, e.Domain = "shared-password", "ext.example"
	}
	return e
}

func sealerKey(i int) []byte {
	if i%3 == 2 {
		return nil
	}
	return make([]byte, 32)
}

// EventHash is the format every stored chain was written in: SHA-256 of
// the previous hash's 32 bytes and the encoding its comment gives, built
// here from that description. A previous hash that is not 32 bytes of hex
// is hashed as its text.
func TestEventHashFormat(t *testing.T) {
	e := Event{Seq: 7, Time: time.UnixMilli(1764756000123), Kind: EventKeyReleased, EnvelopeID: "env1", Email: "r@ext.example",
		RemoteIP: "192.0.2.7", Actor: "recipient", Auth: "password: ok", Outcome: "ok", Detail: "d"}
	hashOver := func(prev []byte) string {
		b := append(prev, "postseal audit v1\x00"...)
		b = binary.BigEndian.AppendUint64(b, 7)
		b = binary.BigEndian.AppendUint64(b, 1764756000123)
		for _, f := range []string{"key_released", "env1", "r@ext.example", "192.0.2.7", "recipient", "password: ok", "ok", "d"} {
			b = binary.BigEndian.AppendUint32(b, uint32(len(f)))
			b = append(b, f...)
		}
		h := sha256.Sum256(b)
		return hex.EncodeToString(h[:])
	}
	prev := strings.Repeat("0f", 32)
	for _, tc := range []struct {
		prev string
		over []byte
	}{
		{prev, bytes.Repeat([]byte{0x0f}, 32)},
		{genesis, make([]byte, 32)},
		{"0f0f", []byte("0f0f")},       // hex, but not 32 bytes
		{"not hex", []byte("not hex")}, // damaged
	} {
		if got, want := EventHash(tc.prev, e), hashOver(tc.over); got != want {
			t.Errorf("EventHash(%q) = %s; want %s", tc.prev, got, want)
		}
	}
}

func TestChainBreakError(t *testing.T) {
	for _, tc := range []struct {
		b    ChainBreak
		want string
	}{
		{ChainBreak{Seq: 0, ID: 17, Reason: "not on the chain"}, "event row id 17: not on the chain"},
		{ChainBreak{Seq: 5, ID: 17, Reason: "edited"}, "event 5: edited"},
		{ChainBreak{Seq: 5, Reason: "missing"}, "event 5: missing"},
	} {
		if got := tc.b.Error(); got != tc.want {
			t.Errorf("%+v: %q; want %q", tc.b, got, tc.want)
		}
	}
}

// After a prune, an event the prune checkpoint lists as removed that is
// back (a restored row) and a second event at the first kept sequence
// number (the unique index dropped first) are each named for what they are.
func testAuditPrunedYetPresent(t *testing.T, db database) {
	s, _ := openDB(t, db)
	addEvents(t, s, 6, EventKeyReleased)
	if n, err := s.PruneEvents(context.Background(), t0.Add(3*time.Minute)); err != nil || n != 3 {
		t.Fatalf("pruned %d, %v; want 3", n, err)
	}
	const row = `INSERT INTO events (seq, time, kind, email) VALUES (?, 1, 'key_released', 'eve@ext.example')`
	tamper(t, s, row, 2)
	wantBroken(t, verify(t, s), 2, "listed as removed by the prune checkpoint (which kept events from 4 on), yet present")
	tamper(t, s, `DELETE FROM events WHERE seq = 2`)
	wantIntact(t, verify(t, s), 4)
	if _, err := sqlOf(t, s).db.Exec(`DROP INDEX events_seq`); err != nil {
		t.Fatal(err)
	}
	tamper(t, s, row, 4)
	wantBroken(t, verify(t, s), 4, "a second event with the same sequence number")
}

// A prune record that says no event was removed (through 0) vouches for
// nothing, even signed with the key: it is refused, not taken as the start
// of the chain.
func testAuditPruneThroughZero(t *testing.T, db database) {
	s, _ := openDB(t, db)
	ctx := context.Background()
	addEvents(t, s, 3, EventKeyReleased)
	ss := sqlOf(t, s)
	rec := pruneRecord{Through: 0, Hash: genesis, Before: t0.UnixMilli()}
	rec.MAC = hex.EncodeToString(ss.key.signAudit(rec.signed()))
	detail, err := json.Marshal(rec)
	if err != nil {
		t.Fatal(err)
	}
	if err := ss.inTx(ctx, func(tx *sql.Tx) error {
		return ss.appendEvents(ctx, tx, Event{Kind: EventAuditPruned, Actor: "postseal", Detail: string(detail)})
	}); err != nil {
		t.Fatal(err)
	}
	wantBroken(t, verify(t, s), 4, "prune checkpoint whose signature does not match")
}

// A chain rewritten from event 3 on, every hash recomputed and the head
// row set, verifies on its own; the service log's checkpoints at or after
// the rewrite tell. Checkpoints that agree, the head's included, leave the
// chain intact.
func testAuditCheckpointRewritten(t *testing.T, db database) {
	s, _ := openDB(t, db)
	ctx := context.Background()
	addEvents(t, s, 4, EventKeyReleased)
	cp4, err := s.AuditHead(ctx)
	if err != nil {
		t.Fatal(err)
	}
	addEvents(t, s, 2, EventKeyReleased)
	cp6, err := s.AuditHead(ctx)
	if err != nil {
		t.Fatal(err)
	}
	wantIntact(t, verify(t, s, cp4, cp6), 6)

	var evs []Event
	if err := s.AuditEvents(ctx, EventFilter{}, func(e Event) error { evs = append(evs, e); return nil }); err != nil {
		t.Fatal(err)
	}
	prev := evs[1].Hash
	for _, e := range evs[2:] {
		if e.Seq == 3 {
			e.Email = "someone-else@ext.example"
		}
		e.PrevHash = prev
		e.Hash = EventHash(prev, e)
		tamper(t, s, `UPDATE events SET email = ?, prev_hash = ?, hash = ? WHERE seq = ?`, e.Email, e.PrevHash, e.Hash, e.Seq)
		prev = e.Hash
	}
	tamper(t, s, `UPDATE audit_head SET hash = ?`, prev)
	wantIntact(t, verify(t, s), 6)
	wantBroken(t, verify(t, s, cp4), 4, "differs from the checkpoint in the service log")
	wantBroken(t, verify(t, s, cp6), 6, "differs from the checkpoint in the service log")
}

// A row inserted behind postseal's back (seq 0) is not an event older than
// the chain: a prune with nothing older to remove leaves the chain alone
// (it once wrote a prune record through 0 every round, which verification
// then reported as forged instead of naming the inserted row).
func testAuditPruneBesideInsertedRow(t *testing.T, db database) {
	s, _ := openDB(t, db)
	ctx := context.Background()
	addEvents(t, s, 3, EventKeyReleased)
	tamper(t, s, `INSERT INTO events (time, kind, email) VALUES (1, 'key_released', 'eve@ext.example')`)
	if n, err := s.PruneEvents(ctx, t0); err != nil || n != 0 {
		t.Fatalf("pruned %d, %v; want nothing", n, err)
	}
	if head, err := s.AuditHead(ctx); err != nil || head.Seq != 3 {
		t.Errorf("head %+v, %v after a prune with nothing to remove; want event 3", head, err)
	}
	wantBroken(t, verify(t, s), 0, "not on the chain")
}
