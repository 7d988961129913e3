package store

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// phoneCopy is an online copy of a recognisable payload kept for 8 hours
// from t0.
func phoneCopy(id string) *OnlineCopy {
	armour := "-----BEGIN PGP MESSAGE-----\r\n\r\n" + strings.Repeat("wcBMA"+id+"xyz0123456789", 200) + "\r\n-----END PGP MESSAGE-----"
	return &OnlineCopy{Payload: []byte(armour), Meta: `{"from":"doc@example.org","subject":"Lab results"}`, Expires: t0.Add(8 * time.Hour)}
}

func putWithCopy(t *testing.T, s Store, id string, c *OnlineCopy) {
	t.Helper()
	e := Envelope{ID: id, Sender: "doc@example.org", Recipients: []string{"pat@partner.example"}, Kind: KindKeyService, Created: t0, Online: c}
	if err := s.PutEnvelope(context.Background(), e, bytes.Repeat([]byte{id[0]}, 32)); err != nil {
		t.Fatal(err)
	}
}

// The phone page's copy is written with its envelope, read back whole,
// kept until its time and deleted by the sweep at that time (not a
// millisecond before); the envelope remembers that it had one. Expiring
// the envelope (its key destroyed) takes the copy with it at once; a key
// destroyed by the expiry sweep takes it at the next sweep.
func testOnlineCopies(t *testing.T, db database) {
	s, _ := openDB(t, db)
	ctx := context.Background()
	want := phoneCopy("a")
	putWithCopy(t, s, "a-phone", want)
	putWithCopy(t, s, "b-phone", phoneCopy("b"))
	putEnv(t, s, "c-plain", time.Time{}, false, "pat@partner.example")

	e, err := s.Envelope(ctx, "a-phone")
	if err != nil || !e.OnlineUntil.Equal(want.Expires) {
		t.Fatalf("envelope a-phone: online until %v (%v); want %v", e.OnlineUntil, err, want.Expires)
	}
	got, err := s.OnlineCopy(ctx, "a-phone")
	if err != nil || !bytes.Equal(got.Payload, want.Payload) || got.Meta != want.Meta || !got.Expires.Equal(want.Expires) {
		t.Fatalf("online copy: %d bytes, meta %q, expires %v, %v; want the copy as put", len(got.Payload), got.Meta, got.Expires, err)
	}
	if e, _ := s.Envelope(ctx, "c-plain"); !e.OnlineUntil.IsZero() {
		t.Errorf("an envelope without a copy says online until %v", e.OnlineUntil)
	}
	if _, err := s.OnlineCopy(ctx, "c-plain"); !errors.Is(err, ErrNotFound) {
		t.Errorf("copy of an envelope without one: %v; want ErrNotFound", err)
	}

	if n, err := s.DeleteExpiredCopies(ctx, want.Expires.Add(-time.Millisecond)); err != nil || n != 0 {
		t.Fatalf("sweep before the time: %d deleted, %v; want none", n, err)
	}
	if err := s.ExpireEnvelope(ctx, "b-phone", t0.Add(time.Hour), by); err != nil {
		t.Fatal(err)
	}
	if _, err := s.OnlineCopy(ctx, "b-phone"); !errors.Is(err, ErrNotFound) {
		t.Errorf("copy of an expired envelope: %v; want it deleted with the key", err)
	}
	if _, err := s.OnlineCopy(ctx, "a-phone"); err != nil {
		t.Fatalf("the other copy went too: %v", err)
	}
	if n, err := s.DeleteExpiredCopies(ctx, want.Expires); err != nil || n != 1 {
		t.Fatalf("sweep at the time: %d deleted, %v; want 1", n, err)
	}
	if _, err := s.OnlineCopy(ctx, "a-phone"); !errors.Is(err, ErrNotFound) {
		t.Errorf("copy after the sweep: %v; want ErrNotFound", err)
	}
	if e, err := s.Envelope(ctx, "a-phone"); err != nil || !e.OnlineUntil.Equal(want.Expires) || !e.HasKey {
		t.Errorf("envelope after its copy went: %+v %v; want it whole, still saying when the copy went", e, err)
	}

	// A key destroyed by the expiry sweep: its copy goes at the next
	// sweep although its own time is not up.
	d := Envelope{ID: "d-phone", Sender: "doc@example.org", Kind: KindKeyService, Created: t0, Expires: t0.Add(time.Hour), Online: phoneCopy("d")}
	if err := s.PutEnvelope(ctx, d, make([]byte, 32)); err != nil {
		t.Fatal(err)
	}
	if n, err := s.ShredExpired(ctx, t0.Add(2*time.Hour)); err != nil || n != 1 {
		t.Fatalf("shred: %d, %v", n, err)
	}
	if n, err := s.DeleteExpiredCopies(ctx, t0.Add(2*time.Hour)); err != nil || n != 1 {
		t.Errorf("sweep after the key was destroyed: %d deleted, %v; want its copy", n, err)
	}

	// A copy without a payload or a deletion time is refused, and its
	// envelope with it.
	for name, c := range map[string]*OnlineCopy{"e-empty": {Meta: "{}", Expires: t0.Add(time.Hour)}, "f-forever": {Payload: []byte("x")}} {
		err := s.PutEnvelope(ctx, Envelope{ID: name, Sender: "doc@example.org", Kind: KindKeyService, Created: t0, Online: c}, make([]byte, 32))
		if err == nil {
			t.Errorf("%s: a copy without payload or time was stored", name)
		}
		if _, err := s.Envelope(ctx, name); !errors.Is(err, ErrNotFound) {
			t.Errorf("%s: its envelope was stored without the copy: %v", name, err)
		}
	}
}

// A deleted copy's bytes are gone from the database files (secure_delete
// and the WAL checkpoint), as a destroyed key's are.
func TestDeletedCopyLeavesNoBytes(t *testing.T) {
	s, dir := openTemp(t)
	ctx := context.Background()
	c := phoneCopy("q")
	putWithCopy(t, s, "q-phone", c)
	if n, err := s.DeleteExpiredCopies(ctx, c.Expires); err != nil || n != 1 {
		t.Fatalf("sweep: %d, %v", n, err)
	}
	var all []byte
	for _, f := range []string{"postseal.db", "postseal.db-wal"} {
		data, _ := os.ReadFile(filepath.Join(dir, "state", f))
		all = append(all, data...)
	}
	if len(all) == 0 {
		t.Fatal("no database bytes read")
	}
	if bytes.Contains(all, []byte("wcBMAqxyz0123456789wcBMA")) {
		t.Error("the deleted copy's payload is still in the database files")
	}
}

// What the online copy costs a sealing on SQLite: PutEnvelope (a durable
// commit, FULL sync) without a copy and with the copy of a 20 KB and a
// 1 MB message (armour ~1.36x).
func BenchmarkPutEnvelopeOnlineCopy(b *testing.B) {
	for _, c := range []struct {
		name string
		size int
	}{{"none", 0}, {"20KB", 27 << 10}, {"1MB", 1360 << 10}} {
		b.Run(c.name, func(b *testing.B) {
			dir := b.TempDir()
			key, err := LoadMasterKey(filepath.Join(dir, "master.key"), true)
			if err != nil {
				b.Fatal(err)
			}
			s, err := OpenSQLite(context.Background(), filepath.Join(dir, "postseal.db"), key)
			if err != nil {
				b.Fatal(err)
			}
			defer s.Close()
			payload := bytes.Repeat([]byte("wcBMA0123456789+/"), c.size/17+1)[:c.size]
			b.SetBytes(int64(c.size))
			for i := 0; b.Loop(); i++ {
				e := Envelope{ID: fmt.Sprintf("bench-%d", i), Sender: "doc@example.org", Kind: KindKeyService, Created: t0}
				if c.size > 0 {
					e.Online = &OnlineCopy{Payload: payload, Meta: "{}", Expires: t0.Add(8 * time.Hour)}
				}
				if err := s.PutEnvelope(context.Background(), e, make([]byte, 32)); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
