package policy

import (
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/postseal/postseal/config"
	"github.com/postseal/postseal/envelope"
	"github.com/postseal/postseal/store"
)

// openStore is the real SQLite store in a temporary directory.
func openStore(t *testing.T) *store.SQLite {
	t.Helper()
	dir := t.TempDir()
	key, err := store.LoadMasterKey(filepath.Join(dir, "master.key"), true)
	if err != nil {
		t.Fatal(err)
	}
	s, err := store.OpenSQLite(context.Background(), filepath.Join(dir, "postseal.db"), key)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

const sealOriginal = "From: Dr Who <doc@example.org>\r\nTo: pat@ext.example, c@partner.example\r\nSubject: *secure* Lab results\r\n\r\nResults attached.\r\n"

func sealMessage() Message {
	return Message{QueueID: "4XQ1", Sender: "doc@example.org", MessageID: "<m1@example.org>",
		Display:  envelope.Display{From: "Dr Who <doc@example.org>", To: "pat@ext.example, c@partner.example"},
		Original: func() (io.Reader, error) { return strings.NewReader(sealOriginal), nil }}
}

// partnerPolicy loads the default rules with one partner domain.
func partnerPolicy(t *testing.T) *Policy {
	t.Helper()
	cfg := config.Default()
	cfg.Domains = []config.Domain{{Name: "partner.example", PasswordFile: writeFile(t, "partner.pw", []byte("sixteen-chars!!!\n"))}}
	p, err := Load(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func sealDecision(p *Policy) Decision {
	return Decide(p.Config, Facts{Stage: AtEnd, Sender: "doc@example.org", Rcpts: []string{"nurse@example.org", "pat@ext.example", "c@partner.example"},
		Header: subjectHeader("*secure* Lab results"), Size: int64(len(sealOriginal)), BodyKept: true, Scan: noFindings})
}

// Seal makes one copy per group: the clear one untouched, each sealed one
// encrypted and its envelope recorded with what the key service needs.
func TestSealCopies(t *testing.T) {
	p := partnerPolicy(t)
	st := openStore(t)
	d := sealDecision(p)
	now := time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC)
	copies, err := p.Seal(context.Background(), d, sealMessage(), st, now)
	if err != nil {
		t.Fatal(err)
	}
	if len(copies) != 3 || copies[0].Sealed != nil || copies[0].EnvelopeID != "" || !slices.Equal(copies[0].Group.Recipients, []string{"nurse@example.org"}) {
		t.Fatalf("copies %+v; want clear, key service, partner", copies)
	}
	for _, c := range copies[1:] {
		if c.Sealed == nil || c.EnvelopeID == "" {
			t.Fatalf("sealed copy %+v", c)
		}
		e, err := st.Envelope(context.Background(), c.EnvelopeID)
		if err != nil {
			t.Fatalf("envelope %s not recorded: %v", c.EnvelopeID, err)
		}
		if e.Sender != "doc@example.org" || e.QueueID != "4XQ1" || !slices.Equal(e.Recipients, c.Group.Recipients) || e.Trigger != "secure-tag" ||
			e.Subject != "Lab results [-Encrypted-]" || e.MessageID != "<m1@example.org>" || !e.Created.Equal(now) || !e.Expires.IsZero() ||
			e.PayloadDigest != c.Sealed.PayloadDigest || !slices.Equal(e.ReplyAll, []string{"pat@ext.example", "c@partner.example"}) {
			t.Errorf("envelope %+v", e)
		}
		switch c.Group.Treatment {
		case KeyService:
			if e.Kind != store.KindKeyService || len(e.Reply) != 3 || !e.HasKey {
				t.Errorf("key service envelope %+v", e)
			}
		case SharedPassword:
			if e.Kind != store.KindSharedPassword || e.Domain != "partner.example" || len(e.Reply) != 0 {
				t.Errorf("partner envelope %+v", e)
			}
		}
	}
}

// Any failure on the way is an error and no copies: nothing may then be
// delivered, in the clear or sealed.
func TestSealFailures(t *testing.T) {
	p := partnerPolicy(t)
	d := sealDecision(p)
	now := time.Now()

	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	st := openStore(t)
	if copies, err := p.Seal(ctx, d, sealMessage(), st, now); !errors.Is(err, context.Canceled) || copies != nil {
		t.Errorf("cancelled: %v %v", copies, err)
	}
	if es, err := st.Envelopes(context.Background(), 10); err != nil || len(es) != 0 {
		t.Errorf("cancelled, yet recorded %d envelopes (%v)", len(es), err)
	}

	msg := sealMessage()
	msg.Original = func() (io.Reader, error) { return nil, os.ErrClosed }
	if copies, err := p.Seal(context.Background(), d, msg, st, now); !errors.Is(err, os.ErrClosed) || copies != nil || !strings.Contains(err.Error(), "read message") {
		t.Errorf("unreadable original: %v %v", copies, err)
	}

	bad := *p
	bad.Envelope.Profile = "no-such-profile"
	if copies, err := bad.Seal(context.Background(), d, sealMessage(), st, now); err == nil || copies != nil {
		t.Errorf("envelope that cannot be made: %v %v", copies, err)
	}

	nopw := *p
	nopw.passwords = map[string][]byte{}
	if copies, err := nopw.Seal(context.Background(), d, sealMessage(), st, now); err == nil || copies != nil || !strings.Contains(err.Error(), "no shared password loaded for partner.example") {
		t.Errorf("partner without a password: %v %v", copies, err)
	}

	closed := openStore(t)
	closed.Close()
	if copies, err := p.Seal(context.Background(), d, sealMessage(), closed, now); err == nil || copies != nil {
		t.Errorf("store that fails: %v %v", copies, err)
	}
}

// The page lists the recipients named in To or Cc only; when neither field
// parses, an address written in them still counts, a Bcc'd one never.
func TestVisibleRecipients(t *testing.T) {
	rcpts := []string{"pat@ext.example", "at@ext.example"}
	if got := visible(rcpts, envelope.Display{To: "Pat <pat@ext.example>"}); !slices.Equal(got, []string{"pat@ext.example"}) {
		t.Errorf("parsed To: %v; want only the named address (not a Bcc'd one that is a substring of it)", got)
	}
	if got := visible(rcpts, envelope.Display{To: "pat@ext.example, <<broken"}); !slices.Equal(got, rcpts) {
		t.Errorf("unparseable To: %v; want the addresses written in it", got)
	}
	if got := visible([]string{"hidden@bcc.example"}, envelope.Display{To: "pat@ext.example, <<broken"}); len(got) != 0 {
		t.Errorf("unparseable To, Bcc'd recipient: %v", got)
	}
}

// With online_copy_hours set, a key-service envelope is recorded with the
// phone page's copy, kept that many hours after sealing; at 0, none.
func TestSealOnlineCopy(t *testing.T) {
	cfg := config.Default()
	cfg.Envelope.OnlineCopyHours = 5
	p, err := Load(cfg)
	if err != nil {
		t.Fatal(err)
	}
	st := openStore(t)
	now := time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC)
	d := Decide(cfg, Facts{Stage: AtEnd, Sender: "doc@example.org", Rcpts: []string{"pat@ext.example"},
		Header: subjectHeader("*secure* Lab results"), Size: 100, BodyKept: true, Scan: noFindings})
	copies, err := p.Seal(context.Background(), d, sealMessage(), st, now)
	if err != nil || len(copies) != 1 {
		t.Fatalf("Seal = %v, %v", copies, err)
	}
	c, err := st.OnlineCopy(context.Background(), copies[0].EnvelopeID)
	if err != nil {
		t.Fatalf("online copy: %v", err)
	}
	if !c.Expires.Equal(now.Add(5*time.Hour)) || len(c.Payload) == 0 {
		t.Errorf("online copy expires %v (%d payload bytes); want %v", c.Expires, len(c.Payload), now.Add(5*time.Hour))
	}

	cfg.Envelope.OnlineCopyHours = 0
	p, err = Load(cfg)
	if err != nil {
		t.Fatal(err)
	}
	copies, err = p.Seal(context.Background(), d, sealMessage(), st, now)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := st.OnlineCopy(context.Background(), copies[0].EnvelopeID); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("online copy under online_copy_hours = 0: %v; want none", err)
	}
}

// heldBackWriter holds everything written to it until Flush, as the
// milter's replace-body chunks hold the body's end.
type heldBackWriter struct {
	held, sent int
}

func (w *heldBackWriter) Write(p []byte) (int, error) { w.held += len(p); return len(p), nil }
func (w *heldBackWriter) Flush() error                { w.sent, w.held = w.sent+w.held, 0; return nil }

// sentAtRecord tells how much of the body w had sent when the envelope was
// recorded.
type sentAtRecord struct {
	w          *heldBackWriter
	sent, held int
}

func (s *sentAtRecord) PutEnvelope(context.Context, store.Envelope, []byte) error {
	s.sent, s.held = s.w.sent, s.w.held
	return nil
}

// SealTo flushes its writer before the envelope's record, which may be
// slow: the whole body has gone out by then.
func TestSealToFlushesBeforeRecord(t *testing.T) {
	p := partnerPolicy(t)
	copies, err := p.Prepare(sealDecision(p), sealMessage(), time.Now())
	if err != nil {
		t.Fatal(err)
	}
	w := &heldBackWriter{}
	st := &sentAtRecord{w: w}
	if _, err := copies[1].Pending.SealTo(context.Background(), st, w); err != nil {
		t.Fatal(err)
	}
	if st.sent == 0 || st.held != 0 {
		t.Errorf("at the record %d bytes sent, %d held back; want all of the body sent", st.sent, st.held)
	}
}
