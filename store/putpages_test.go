package store

import (
	"bytes"
	"context"
	"encoding/binary"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

// undoPutPages takes a database back to the schema before putPagesSchema,
// as the postseal before it left it (the inverse of that step, data kept).
func undoPutPages(t *testing.T, s Store) {
	t.Helper()
	indexes := []string{`CREATE INDEX events_envelope ON events(envelope_id)`,
		`DROP INDEX events_ip_time`, `CREATE INDEX events_ip_time ON events(remote_ip, time)`,
		`CREATE INDEX online_copies_expires ON online_copies(expires)`}
	var undo []string
	switch s.(type) {
	case *SQLite:
		undo = append([]string{`CREATE TABLE envelope_recipients_old (
			envelope_id TEXT NOT NULL REFERENCES envelopes(id) ON DELETE CASCADE,
			address TEXT NOT NULL,
			opened INTEGER NOT NULL DEFAULT 0,
			PRIMARY KEY (envelope_id, address))`,
			`INSERT INTO envelope_recipients_old SELECT envelope_id, address, opened FROM envelope_recipients`,
			`DROP TABLE envelope_recipients`,
			`ALTER TABLE envelope_recipients_old RENAME TO envelope_recipients`,
			`CREATE INDEX envelope_recipients_address ON envelope_recipients(address)`},
			append(indexes, fmt.Sprintf(`PRAGMA user_version = %d`, len(sqliteSchema)-1))...)
	case *Postgres:
		undo = append(indexes, fmt.Sprintf(`DELETE FROM schema_migrations WHERE version = %d`, len(postgresSchema)))
	default:
		t.Fatalf("no downgrade for %T", s)
	}
	sq := sqlOf(t, s)
	for _, q := range undo {
		if _, err := sq.db.Exec(q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
}

// storeIndexes lists the indexes on the tables a sealed message writes,
// by name, with SQLite's automatic ones.
func storeIndexes(t *testing.T, s Store) []string {
	t.Helper()
	q := `SELECT name FROM sqlite_schema WHERE type = 'index' AND tbl_name IN ('envelopes', 'envelope_recipients', 'online_copies', 'events') ORDER BY name`
	if _, ok := s.(*Postgres); ok {
		q = `SELECT indexname FROM pg_indexes WHERE schemaname = current_schema() AND tablename IN ('envelopes', 'envelope_recipients', 'online_copies', 'events') ORDER BY indexname`
	}
	rows, err := sqlOf(t, s).db.Query(q)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var n string
		if err := rows.Scan(&n); err != nil {
			t.Fatal(err)
		}
		out = append(out, n)
	}
	return out
}

// A database from before putPagesSchema is brought to the same indexes
// as a new one, its envelopes, recipients (opened or not), online copies
// and events intact, and the client-address throttle still counts.
func testPutPagesUpgrade(t *testing.T, db database) {
	s, key := openDB(t, db)
	ctx := context.Background()
	fresh := []string{"envelope_recipients_address", "envelope_recipients_pkey", "envelopes_created", "envelopes_expires", "envelopes_pkey", "envelopes_sender",
		"events_email_time", "events_envelope_kind", "events_ip_time", "events_kind_time", "events_pkey", "events_seq", "online_copies_pkey"}
	if _, ok := s.(*SQLite); ok {
		// The recipients' key is their table (WITHOUT ROWID); the events'
		// is the rowid.
		fresh = []string{"envelope_recipients_address", "envelopes_created", "envelopes_expires", "envelopes_sender",
			"events_email_time", "events_envelope_kind", "events_ip_time", "events_kind_time", "events_seq",
			"sqlite_autoindex_envelopes_1", "sqlite_autoindex_online_copies_1"}
	}
	if got := storeIndexes(t, s); !slices.Equal(got, fresh) {
		t.Errorf("indexes of a new database:\n%v\nwant\n%v", got, fresh)
	}
	e := Envelope{ID: "old-1", Sender: "doc@example.org", Recipients: []string{"a@ext.example", "b@ext.example"}, Kind: KindKeyService,
		Created: t0, Expires: t0.Add(time.Hour), Online: &OnlineCopy{Payload: bytes.Repeat([]byte("wcBMA+/"), 2000), Meta: "{}", Expires: t0.Add(8 * time.Hour)}}
	if err := s.PutEnvelope(ctx, e, bytes.Repeat([]byte{7}, 32)); err != nil {
		t.Fatal(err)
	}
	if first, err := s.FirstOpen(ctx, "old-1", "b@ext.example", t0.Add(time.Minute), nil); err != nil || !first {
		t.Fatalf("first open: %v, %v", first, err)
	}
	for _, ip := range []string{"192.0.2.7", "192.0.2.7", "198.51.100.1"} {
		if err := s.AddEvent(ctx, Event{Time: t0, Kind: EventLoginFailed, Email: "a@ext.example", RemoteIP: ip}); err != nil {
			t.Fatal(err)
		}
	}
	undoPutPages(t, s)
	if old := storeIndexes(t, s); !slices.Contains(old, "events_envelope") || !slices.Contains(old, "online_copies_expires") {
		t.Fatalf("the downgrade left %v", old)
	}
	s.Close()
	s2, err := db(key)
	if err != nil {
		t.Fatalf("upgrade: %v", err)
	}
	defer s2.Close()
	if got := storeIndexes(t, s2); !slices.Equal(got, fresh) {
		t.Errorf("indexes after the upgrade:\n%v\nwant\n%v", got, fresh)
	}
	got, err := s2.Envelope(ctx, "old-1")
	if err != nil || strings.Join(got.Recipients, ",") != "a@ext.example,b@ext.example" || !got.OnlineUntil.Equal(t0.Add(8*time.Hour)) {
		t.Fatalf("envelope after the upgrade: %+v, %v", got, err)
	}
	if k, err := s2.EnvelopeKey(ctx, "old-1"); err != nil || !bytes.Equal(k, bytes.Repeat([]byte{7}, 32)) {
		t.Errorf("key after the upgrade: %x, %v", k, err)
	}
	if c, err := s2.OnlineCopy(ctx, "old-1"); err != nil || !bytes.Equal(c.Payload, e.Online.Payload) {
		t.Errorf("online copy after the upgrade: %d bytes, %v", len(c.Payload), err)
	}
	sent, _, err := s2.SentEnvelopes(ctx, "doc@example.org", 0, 10)
	if err != nil || len(sent) != 1 || len(sent[0].States) != 2 || !sent[0].States[0].Opened.IsZero() || !sent[0].States[1].Opened.Equal(t0.Add(time.Minute)) {
		t.Errorf("sent after the upgrade: %+v, %v; want b@ opened at t0+1m, a@ not", sent, err)
	}
	if first, err := s2.FirstOpen(ctx, "old-1", "b@ext.example", t0.Add(time.Hour), nil); err != nil || first {
		t.Errorf("a second open after the upgrade counted as first: %v, %v", first, err)
	}
	for ip, want := range map[string]int{"192.0.2.7": 2, "198.51.100.1": 1, "203.0.113.9": 0} {
		if n, err := s2.CountEvents(ctx, EventFilter{Kind: EventLoginFailed, RemoteIP: ip, Since: t0}); err != nil || n != want {
			t.Errorf("failures from %s after the upgrade: %d, %v; want %d", ip, n, err, want)
		}
	}
	if rep, err := s2.VerifyChain(ctx, nil); err != nil || rep.Broken != nil || rep.Count != 4 {
		t.Errorf("chain after the upgrade: %+v, %v; want 4 events intact", rep, err)
	}
	if err := s2.PutEnvelope(ctx, Envelope{ID: "new-1", Sender: "doc@example.org", Recipients: []string{"a@ext.example"}, Kind: KindKeyService, Created: t0, Expires: t0.Add(time.Hour)}, make([]byte, 32)); err != nil {
		t.Errorf("put after the upgrade: %v", err)
	}
}

// The key service's throttle by client address reads events_ip_time,
// which holds only events with an address: the query must say so or
// SQLite reads every event of the kind.
func TestThrottleByAddressUsesItsIndex(t *testing.T) {
	s, _ := openTemp(t)
	where, args := eventWhere(EventFilter{Kind: EventLoginFailed, RemoteIP: "192.0.2.7", Since: t0})
	rows, err := s.db.Query(`EXPLAIN QUERY PLAN SELECT COUNT(*) FROM events`+where, args...)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var plan []string
	for rows.Next() {
		var id, parent, unused int
		var detail string
		if err := rows.Scan(&id, &parent, &unused, &detail); err != nil {
			t.Fatal(err)
		}
		plan = append(plan, detail)
	}
	if p := strings.Join(plan, "; "); !strings.Contains(p, "USING INDEX events_ip_time (remote_ip=? AND time>?)") {
		t.Errorf("plan of the throttle by address: %s; want events_ip_time", p)
	}
}

// What a sealed message's commit writes on SQLite, when it commits alone
// (as in the pipeline, where puts seldom meet): one WAL page per b-tree it
// touches, and its online copy's pages. Every index here is a page per
// sealed message; one more must be worth it (BenchmarkPutEnvelope).
func TestSealedPutPages(t *testing.T) {
	s, dir := openTemp(t)
	ctx := context.Background()
	path := filepath.Join(dir, "state", "postseal.db")
	if _, err := s.db.ExecContext(ctx, `PRAGMA wal_checkpoint(TRUNCATE)`); err != nil {
		t.Fatal(err)
	}
	const puts = 20 // 20 pages each, far from the automatic checkpoint's 1,000
	payload := bytes.Repeat([]byte("wcFMA5xRl0Zm4rWcARAAq2b3+1n7\r\n"), 10240/30)
	for i := range puts {
		id := fmt.Sprintf("env%09d", i)
		e := Envelope{ID: id, Sender: "doc@example.org", Recipients: []string{"pat@ext.example"}, Kind: KindKeyService, Trigger: "subject",
			Created: t0, Expires: t0.Add(30 * 24 * time.Hour), Subject: "s", MessageID: "<" + id + "@example.org>", Reply: []string{"reply"},
			Online: &OnlineCopy{Payload: payload, Meta: `{"subject":"s"}`, Expires: t0.Add(8 * time.Hour)}}
		if err := s.PutEnvelope(ctx, e, make([]byte, 32)); err != nil {
			t.Fatal(err)
		}
	}
	owner := map[uint32]string{}
	rows, err := s.db.QueryContext(ctx, `SELECT name, pageno FROM dbstat`)
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var name string
		var page uint32
		if err := rows.Scan(&name, &page); err != nil {
			t.Fatal(err)
		}
		owner[page] = name
	}
	rows.Close()
	wal, err := os.ReadFile(path + "-wal")
	if err != nil || len(wal) < 32 {
		t.Fatalf("WAL: %d bytes, %v", len(wal), err)
	}
	// The WAL: a 32-byte header, then frames of a 24-byte header (page
	// number, then the database size on a commit's last frame) and a page.
	size := int(binary.BigEndian.Uint32(wal[8:12]))
	frames, commits := 0, 0
	written := map[string]int{}
	for off := 32; off+24+size <= len(wal); off += 24 + size {
		frames++
		written[owner[binary.BigEndian.Uint32(wal[off:])]]++
		if binary.BigEndian.Uint32(wal[off+4:]) != 0 {
			commits++
		}
	}
	if commits != puts {
		t.Fatalf("%d commits for %d puts", commits, puts)
	}
	var trees []string
	for name, n := range written {
		if n >= puts {
			trees = append(trees, name)
		}
	}
	slices.Sort(trees)
	want := []string{"audit_head", "envelope_recipients", "envelope_recipients_address", "envelopes", "envelopes_created", "envelopes_expires", "envelopes_sender",
		"events", "events_email_time", "events_envelope_kind", "events_kind_time", "events_seq", "online_copies",
		"sqlite_autoindex_envelopes_1", "sqlite_autoindex_online_copies_1", "sqlite_schema", "sqlite_sequence"}
	if !slices.Equal(trees, want) {
		t.Errorf("b-trees every sealed message writes:\n%v\nwant\n%v", trees, want)
	}
	// online_copies: the copy's leaf, its two overflow pages and the
	// parent that gains the leaf; each other b-tree one page.
	if per := float64(frames) / puts; per > 21 {
		t.Errorf("%.1f pages per sealed message; want at most 21", per)
	}
	t.Logf("%.1f pages per sealed message: %v", float64(frames)/puts, written)
}
