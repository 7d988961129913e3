package store

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// database opens one database (the same one on every call) with a key.
type database func(key *MasterKey) (Store, error)

// runSuite runs the store contract against a backend. newDB gives every
// test its own empty database.
func runSuite(t *testing.T, newDB func(t *testing.T) database) {
	tests := []struct {
		name string
		run  func(t *testing.T, db database)
	}{
		{"Envelopes", testEnvelopes},
		{"ConcurrentPuts", testConcurrentPuts},
		{"ReopenKeepsDataAndRefusesOtherKey", testReopen},
		{"ConcurrentOpen", testConcurrentOpen},
		{"Accounts", testAccounts},
		{"Tokens", testTokens},
		{"ConcurrentUseToken", testConcurrentUseToken},
		{"ReplyTokens", testReplyTokens},
		{"EnvelopeReplyRights", testEnvelopeReplyRights},
		{"LiveRecipient", testLiveRecipient},
		{"Events", testEvents},
		{"EnvelopeAdmin", testEnvelopeAdmin},
		{"MailQueue", testMailQueue},
		{"ConcurrentClaim", testConcurrentClaim},
		{"MailQueueRoute", testMailQueueRoute},
		{"MailQueueRouteUpgrade", testMailQueueRouteUpgrade},
		{"PutPagesUpgrade", testPutPagesUpgrade},
		{"MailPartlySent", testMailPartlySent},
		{"PendingRegistrationSessionDigest", testPendingRegistration},
		{"AuditChain", testAuditChain},
		{"AuditConcurrent", testAuditConcurrent},
		{"AuditConcurrentSealers", testAuditConcurrentSealers},
		{"FirstOpen", testFirstOpen},
		{"SentEnvelopes", testSentEnvelopes},
		{"OnlineCopies", testOnlineCopies},
		{"AuditPrune", testAuditPrune},
		{"AuditPruneForged", testAuditPruneForged},
		{"AuditDeletedHead", testAuditDeletedHead},
		{"AuditTruncatedWithHead", testAuditTruncatedWithHead},
		{"AuditPrunedYetPresent", testAuditPrunedYetPresent},
		{"AuditPruneThroughZero", testAuditPruneThroughZero},
		{"AuditCheckpointRewritten", testAuditCheckpointRewritten},
		{"AuditPruneBesideInsertedRow", testAuditPruneBesideInsertedRow},
	}
	for _, tc := range tamperCases {
		tests = append(tests, struct {
			name string
			run  func(t *testing.T, db database)
		}{"AuditTamper/" + tc.name, tc.run})
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) { tc.run(t, newDB(t)) })
	}
}

func testKey(t *testing.T) *MasterKey {
	t.Helper()
	k, err := LoadMasterKey(filepath.Join(t.TempDir(), "master.key"), true)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// openDB opens db with a new key and closes it at the end of the test.
func openDB(t *testing.T, db database) (Store, *MasterKey) {
	t.Helper()
	key := testKey(t)
	s, err := db(key)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s, key
}

var t0 = time.Date(2026, 11, 23, 15, 39, 59, 0, time.UTC)

func putEnv(t *testing.T, s Store, id string, expires time.Time, locked bool, rcpts ...string) {
	t.Helper()
	e := Envelope{ID: id, Sender: "doc@example.org", Recipients: rcpts, Kind: "keyservice", Created: t0, Expires: expires, Locked: locked}
	if err := s.PutEnvelope(context.Background(), e, bytes.Repeat([]byte{id[0]}, 32)); err != nil {
		t.Fatal(err)
	}
}

func testEnvelopes(t *testing.T, db database) {
	s, _ := openDB(t, db)
	ctx := context.Background()
	key := bytes.Repeat([]byte{0xab}, 32)
	e := Envelope{ID: "env1", QueueID: "Q1", Sender: "doc@example.org", Recipients: []string{"Pat@Ext.example", "b@ext.example", "pat@ext.example"},
		Kind: "keyservice", Trigger: "secure-tag", Created: t0, Expires: t0.Add(time.Hour)}
	if err := s.PutEnvelope(ctx, e, key); err != nil {
		t.Fatal(err)
	}
	if err := s.PutEnvelope(ctx, Envelope{ID: "env2", Sender: "x@example.org", Recipients: []string{"c@partner.example"}, Kind: "shared-password", Domain: "partner.example", Created: t0.Add(time.Second), Expires: t0.Add(time.Hour)}, nil); err != nil {
		t.Fatal(err)
	}
	if err := s.PutEnvelope(ctx, e, key); err == nil {
		t.Error("a duplicate id must be refused")
	}
	got, err := s.Envelope(ctx, "env1")
	if err != nil {
		t.Fatal(err)
	}
	if got.Sender != e.Sender || got.QueueID != "Q1" || got.Trigger != "secure-tag" || !got.Created.Equal(t0) || !got.Expires.Equal(t0.Add(time.Hour)) ||
		!got.HasKey || got.Locked || strings.Join(got.Recipients, ",") != "b@ext.example,pat@ext.example" {
		t.Errorf("envelope = %+v", got)
	}
	if k, err := s.EnvelopeKey(ctx, "env1"); err != nil || !bytes.Equal(k, key) {
		t.Errorf("key = %x, %v", k, err)
	}
	if _, err := s.EnvelopeKey(ctx, "env2"); !errors.Is(err, ErrNotFound) {
		t.Errorf("shared-password envelope key: %v; want ErrNotFound", err)
	}
	if _, err := s.EnvelopeKey(ctx, "nope"); !errors.Is(err, ErrNotFound) {
		t.Errorf("missing envelope key: %v; want ErrNotFound", err)
	}
	if _, err := s.Envelope(ctx, "nope"); !errors.Is(err, ErrNotFound) {
		t.Errorf("missing envelope: %v", err)
	}
	list, err := s.Envelopes(ctx, 10)
	if err != nil || len(list) != 2 || list[0].ID != "env2" || list[0].Domain != "partner.example" || list[0].HasKey {
		t.Errorf("list = %+v, %v", list, err)
	}
	if list, err := s.Envelopes(ctx, 1); err != nil || len(list) != 1 {
		t.Errorf("list limit 1 = %d, %v", len(list), err)
	}
	if err := s.Ping(ctx); err != nil {
		t.Errorf("ping: %v", err)
	}
}

// Many sealing sessions at once must all be recorded, none refused as busy.
func testConcurrentPuts(t *testing.T, db database) {
	s, _ := openDB(t, db)
	const n = 100
	errs := make(chan error, n)
	for i := range n {
		go func() {
			id := fmt.Sprintf("env%03d", i)
			errs <- s.PutEnvelope(context.Background(), Envelope{ID: id, Sender: "a@example.org", Recipients: []string{"b@ext.example"}, Kind: "keyservice", Created: t0, Expires: t0}, make([]byte, 32))
		}()
	}
	for range n {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
	list, err := s.Envelopes(context.Background(), 0)
	if err != nil || len(list) != n {
		t.Fatalf("%d envelopes, %v; want %d", len(list), err, n)
	}
}

// Reopening runs the migrations again (a no-op) and keeps the data; a
// master key other than the first is refused.
func testReopen(t *testing.T, db database) {
	key := testKey(t)
	s, err := db(key)
	if err != nil {
		t.Fatal(err)
	}
	putEnv(t, s, "e1", t0.Add(time.Hour), false, "a@ext.example")
	if err := s.CreateAccount(context.Background(), Account{Email: "a@ext.example"}); err != nil {
		t.Fatal(err)
	}
	s.Close()
	for range 2 {
		s, err = db(key)
		if err != nil {
			t.Fatalf("reopen: %v", err)
		}
		if _, err := s.EnvelopeKey(context.Background(), "e1"); err != nil {
			t.Errorf("after reopen: %v", err)
		}
		if _, err := s.Account(context.Background(), "a@ext.example"); err != nil {
			t.Errorf("after reopen: %v", err)
		}
		s.Close()
	}
	if s, err := db(testKey(t)); err == nil || !strings.Contains(err.Error(), "master key") {
		if err == nil {
			s.Close()
		}
		t.Fatalf("another master key must be refused, got %v", err)
	}
}

// Two processes starting at once on an empty database: both migrate
// (one waits for the other) and both run.
func testConcurrentOpen(t *testing.T, db database) {
	key := testKey(t)
	var wg sync.WaitGroup
	errs := make([]error, 3)
	for i := range errs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			s, err := db(key)
			if err == nil {
				err = s.Ping(context.Background())
				s.Close()
			}
			errs[i] = err
		}()
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			t.Errorf("concurrent open: %v", err)
		}
	}
}

func testAccounts(t *testing.T, db database) {
	s, _ := openDB(t, db)
	ctx := context.Background()
	a := Account{Email: "Pat.Doe@Ext.Example", FirstName: "Pat", LastName: "Doe", PasswordHash: "$argon2id$v=19$m=1,t=1,p=1$c2FsdA$aGFzaA", Created: t0}
	if err := s.CreateAccount(ctx, a); err != nil {
		t.Fatal(err)
	}
	for _, dup := range []string{"Pat.Doe@Ext.Example", "pat.doe@ext.example", "PAT.DOE@EXT.EXAMPLE"} {
		if err := s.CreateAccount(ctx, Account{Email: dup}); !errors.Is(err, ErrExists) {
			t.Errorf("duplicate account %s: %v; want ErrExists", dup, err)
		}
	}
	got, err := s.Account(ctx, "PAT.doe@ext.EXAMPLE")
	if err != nil {
		t.Fatal(err)
	}
	if got.Email != "pat.doe@ext.example" || got.FirstName != "Pat" || got.LastName != "Doe" || got.PasswordHash != a.PasswordHash ||
		got.Active || got.Disabled || !got.Created.Equal(t0) || !got.Activated.IsZero() {
		t.Errorf("account = %+v", got)
	}
	if _, err := s.Account(ctx, "nobody@ext.example"); !errors.Is(err, ErrNotFound) {
		t.Errorf("missing account: %v; want ErrNotFound", err)
	}
	got.Active, got.Activated, got.PasswordHash, got.FirstName, got.Language = true, t0.Add(time.Minute), "new", "Patricia", "es"
	got.Email = "Pat.Doe@EXT.example"
	if err := s.UpdateAccount(ctx, got); err != nil {
		t.Fatal(err)
	}
	got2, err := s.Account(ctx, "pat.doe@ext.example")
	if err != nil || !got2.Active || !got2.Activated.Equal(t0.Add(time.Minute)) || got2.PasswordHash != "new" || got2.FirstName != "Patricia" || !got2.Created.Equal(t0) || got2.Language != "es" {
		t.Errorf("after update = %+v, %v", got2, err)
	}
	got2.Disabled = true
	if err := s.UpdateAccount(ctx, got2); err != nil {
		t.Fatal(err)
	}
	if got3, _ := s.Account(ctx, got2.Email); !got3.Disabled {
		t.Error("disabled not stored")
	}
	if err := s.UpdateAccount(ctx, Account{Email: "nobody@ext.example"}); !errors.Is(err, ErrNotFound) {
		t.Errorf("update missing account: %v; want ErrNotFound", err)
	}
	for _, e := range []string{"c@ext.example", "b@ext.example"} {
		if err := s.CreateAccount(ctx, Account{Email: e}); err != nil {
			t.Fatal(err)
		}
	}
	list, err := s.ListAccounts(ctx, 0)
	if err != nil || len(list) != 3 || list[0].Email != "b@ext.example" || list[2].Email != "pat.doe@ext.example" || list[1].Created.IsZero() {
		t.Errorf("list = %+v, %v", list, err)
	}
	if list, err := s.ListAccounts(ctx, 2); err != nil || len(list) != 2 {
		t.Errorf("list limit 2 = %d, %v", len(list), err)
	}
}

func hash(s string) []byte { h := sha256.Sum256([]byte(s)); return h[:] }

func testTokens(t *testing.T, db database) {
	s, _ := openDB(t, db)
	ctx := context.Background()
	// Expiry far ahead: PutToken removes tokens expired at the wall clock.
	exp := time.Now().Add(24 * time.Hour).Truncate(time.Millisecond)
	now := exp.Add(-time.Hour)
	tok := Token{Hash: hash("secret1"), Purpose: TokenActivate, Email: "Pat@Ext.Example", Expires: exp, Language: "es"}
	if err := s.PutToken(ctx, tok); err != nil {
		t.Fatal(err)
	}
	if err := s.PutToken(ctx, Token{Hash: hash("secret1"), Purpose: TokenReset, Email: "x@ext.example", Expires: exp}); !errors.Is(err, ErrExists) {
		t.Errorf("a duplicate token hash: %v; want ErrExists", err)
	}
	if _, err := s.UseToken(ctx, hash("secret1"), TokenReset, now); !errors.Is(err, ErrNotFound) {
		t.Errorf("wrong purpose: %v; want ErrNotFound", err)
	}
	if _, err := s.UseToken(ctx, hash("other"), TokenActivate, now); !errors.Is(err, ErrNotFound) {
		t.Errorf("unknown token: %v; want ErrNotFound", err)
	}
	got, err := s.UseToken(ctx, hash("secret1"), TokenActivate, now)
	if err != nil {
		t.Fatalf("use after a wrong-purpose try: %v", err)
	}
	if got.Email != "pat@ext.example" || got.Purpose != TokenActivate || !got.Expires.Equal(exp) || !bytes.Equal(got.Hash, hash("secret1")) || got.Language != "es" {
		t.Errorf("token = %+v", got)
	}
	if _, err := s.UseToken(ctx, hash("secret1"), TokenActivate, now); !errors.Is(err, ErrNotFound) {
		t.Errorf("second use: %v; want ErrNotFound", err)
	}
	if err := s.PutToken(ctx, Token{Hash: hash("secret2"), Purpose: TokenReset, Email: "b@ext.example", Expires: exp}); err != nil {
		t.Fatal(err)
	}
	for _, at := range []time.Time{exp, exp.Add(time.Second)} {
		if _, err := s.UseToken(ctx, hash("secret2"), TokenReset, at); !errors.Is(err, ErrNotFound) {
			t.Errorf("expired token used at %v: %v; want ErrNotFound", at.Sub(exp), err)
		}
	}
	if err := s.PutToken(ctx, Token{Purpose: TokenReset, Email: "b@ext.example", Expires: exp}); err == nil {
		t.Error("a token without hash must be refused")
	}
	// DropTokens: every token of that purpose for the address, no other.
	for _, tk := range []Token{
		{Hash: hash("r1"), Purpose: TokenReset, Email: "c@ext.example", Expires: exp},
		{Hash: hash("r2"), Purpose: TokenReset, Email: "C@EXT.example", Expires: exp},
		{Hash: hash("a1"), Purpose: TokenActivate, Email: "c@ext.example", Expires: exp},
		{Hash: hash("r3"), Purpose: TokenReset, Email: "d@ext.example", Expires: exp},
	} {
		if err := s.PutToken(ctx, tk); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.DropTokens(ctx, "C@ext.example", TokenReset); err != nil {
		t.Fatal(err)
	}
	for h, want := range map[string]bool{"r1": false, "r2": false, "a1": true} {
		purpose := TokenReset
		if h == "a1" {
			purpose = TokenActivate
		}
		if _, err := s.UseToken(ctx, hash(h), purpose, now); (err == nil) != want {
			t.Errorf("token %s after DropTokens: %v; want present %v", h, err, want)
		}
	}
	if _, err := s.UseToken(ctx, hash("r3"), TokenReset, now); err != nil {
		t.Errorf("another address's reset token was dropped: %v", err)
	}
}

// Two clicks on one activation link at once: exactly one wins.
func testConcurrentUseToken(t *testing.T, db database) {
	s, _ := openDB(t, db)
	ctx := context.Background()
	exp := time.Now().Add(time.Hour)
	const rounds, users = 5, 8
	for r := range rounds {
		h := hash(fmt.Sprint("race", r))
		if err := s.PutToken(ctx, Token{Hash: h, Purpose: TokenActivate, Email: "a@ext.example", Expires: exp}); err != nil {
			t.Fatal(err)
		}
		var wg sync.WaitGroup
		var mu sync.Mutex
		won, lost := 0, 0
		start := make(chan struct{})
		for range users {
			wg.Add(1)
			go func() {
				defer wg.Done()
				<-start
				_, err := s.UseToken(ctx, h, TokenActivate, time.Now())
				mu.Lock()
				defer mu.Unlock()
				switch {
				case err == nil:
					won++
				case errors.Is(err, ErrNotFound):
					lost++
				default:
					t.Errorf("use token: %v", err)
				}
			}()
		}
		close(start)
		wg.Wait()
		if won != 1 || lost != users-1 {
			t.Fatalf("round %d: %d uses won, %d lost; want exactly 1 winner", r, won, lost)
		}
	}
}

func testLiveRecipient(t *testing.T, db database) {
	s, _ := openDB(t, db)
	ctx := context.Background()
	now := t0.Add(time.Hour)
	putEnv(t, s, "live", now.Add(time.Hour), false, "Live@Ext.example", "both@ext.example")
	putEnv(t, s, "locked", now.Add(time.Hour), true, "locked@ext.example")
	putEnv(t, s, "expired", now, false, "expired@ext.example", "both@ext.example")
	for email, want := range map[string]bool{
		"live@ext.example": true, "LIVE@EXT.EXAMPLE": true, "both@ext.example": true,
		"locked@ext.example": false, "expired@ext.example": false, "nobody@ext.example": false,
	} {
		got, err := s.IsLiveRecipient(ctx, email, now)
		if err != nil || got != want {
			t.Errorf("IsLiveRecipient(%s) = %v, %v; want %v", email, got, err, want)
		}
	}
	if err := s.SetLocked(ctx, "locked", false, by); err != nil {
		t.Fatal(err)
	}
	if ok, _ := s.IsLiveRecipient(ctx, "locked@ext.example", now); !ok {
		t.Error("an unlocked envelope's recipient must be live")
	}
	if err := s.ExpireEnvelope(ctx, "live", now, by); err != nil {
		t.Fatal(err)
	}
	if ok, _ := s.IsLiveRecipient(ctx, "live@ext.example", now); ok {
		t.Error("an expired envelope's recipient must not be live")
	}
}

func testEvents(t *testing.T, db database) {
	s, _ := openDB(t, db)
	ctx := context.Background()
	evs := []Event{
		{Time: t0, Kind: EventRegistered, Email: "A@ext.example", RemoteIP: "192.0.2.1"},
		{Time: t0.Add(1 * time.Minute), Kind: EventLoginFailed, Email: "a@ext.example", EnvelopeID: "e1", RemoteIP: "192.0.2.1", Detail: "wrong password"},
		{Time: t0.Add(2 * time.Minute), Kind: EventLoginFailed, Email: "b@ext.example", EnvelopeID: "e1", RemoteIP: "192.0.2.2"},
		{Time: t0.Add(3 * time.Minute), Kind: EventKeyReleased, Email: "a@ext.example", EnvelopeID: "e2", RemoteIP: "192.0.2.1"},
	}
	for _, e := range evs {
		if err := s.AddEvent(ctx, e); err != nil {
			t.Fatal(err)
		}
	}
	all, err := s.Events(ctx, EventFilter{})
	if err != nil || len(all) != 4 {
		t.Fatalf("all events = %d, %v", len(all), err)
	}
	if all[0].Kind != EventKeyReleased || all[3].Kind != EventRegistered || all[0].ID == 0 || all[0].ID == all[1].ID {
		t.Errorf("events not newest first with ids: %+v", all)
	}
	if e := all[2]; e.Email != "a@ext.example" || e.EnvelopeID != "e1" || e.RemoteIP != "192.0.2.1" || e.Detail != "wrong password" || !e.Time.Equal(t0.Add(time.Minute)) {
		t.Errorf("event = %+v", e)
	}
	for _, c := range []struct {
		f    EventFilter
		want int
	}{
		{EventFilter{Kind: EventLoginFailed}, 2},
		{EventFilter{Email: "A@EXT.example"}, 3},
		{EventFilter{Email: "a@ext.example", Kind: EventLoginFailed}, 1},
		{EventFilter{RemoteIP: "192.0.2.1"}, 3},
		{EventFilter{EnvelopeID: "e1"}, 2},
		{EventFilter{Since: t0.Add(2 * time.Minute)}, 2},
		{EventFilter{Kind: EventLoginFailed, Since: t0.Add(90 * time.Second)}, 1},
		{EventFilter{Kind: EventActivated}, 0},
		{EventFilter{Limit: 2}, 4},
	} {
		n, err := s.CountEvents(ctx, c.f)
		if err != nil || n != c.want {
			t.Errorf("CountEvents(%+v) = %d, %v; want %d", c.f, n, err, c.want)
		}
		got, err := s.Events(ctx, c.f)
		want := c.want
		if c.f.Limit > 0 && want > c.f.Limit {
			want = c.f.Limit
		}
		if err != nil || len(got) != want {
			t.Errorf("Events(%+v) = %d, %v; want %d", c.f, len(got), err, want)
		}
	}
}

func testEnvelopeAdmin(t *testing.T, db database) {
	s, _ := openDB(t, db)
	ctx := context.Background()
	now := t0.Add(time.Hour)
	putEnv(t, s, "a", now.Add(time.Hour), false, "x@ext.example")
	putEnv(t, s, "b", now.Add(-time.Minute), false, "x@ext.example")
	putEnv(t, s, "c", now, false, "x@ext.example")
	putEnv(t, s, "d", now.Add(time.Hour), false, "x@ext.example")
	for _, err := range []error{s.SetLocked(ctx, "nope", true, by), s.ExpireEnvelope(ctx, "nope", now, by)} {
		if !errors.Is(err, ErrNotFound) {
			t.Errorf("unknown envelope: %v; want ErrNotFound", err)
		}
	}
	if err := s.SetLocked(ctx, "a", true, by); err != nil {
		t.Fatal(err)
	}
	if e, _ := s.Envelope(ctx, "a"); !e.Locked {
		t.Error("lock not stored")
	}
	if err := s.SetLocked(ctx, "a", false, by); err != nil {
		t.Fatal(err)
	}
	if e, _ := s.Envelope(ctx, "a"); e.Locked {
		t.Error("unlock not stored")
	}
	n, err := s.ShredExpired(ctx, now)
	if err != nil || n != 2 {
		t.Errorf("ShredExpired = %d, %v; want 2 (b, c)", n, err)
	}
	for kind, want := range map[string]int{EventKeyShredded: 2, EventEnvelopeLocked: 1, EventEnvelopeUnlocked: 1, EventSealed: 4} {
		if n, err := s.CountEvents(ctx, EventFilter{Kind: kind}); err != nil || n != want {
			t.Errorf("%d %s events, %v; want %d (every change is on the audit chain)", n, kind, err, want)
		}
	}
	// A new expiry needs a key to protect: b's is destroyed.
	if err := s.SetExpiry(ctx, "b", now.Add(time.Hour), by); !errors.Is(err, ErrKeyDestroyed) {
		t.Errorf("SetExpiry of a shredded envelope: %v; want ErrKeyDestroyed", err)
	}
	if err := s.SetExpiry(ctx, "d", now.Add(48*time.Hour), by); err != nil {
		t.Fatal(err)
	}
	if e, _ := s.Envelope(ctx, "d"); !e.Expires.Equal(now.Add(48 * time.Hour)) {
		t.Errorf("expiry %v not stored", e.Expires)
	}
	if n, err := s.ShredExpired(ctx, now); err != nil || n != 0 {
		t.Errorf("ShredExpired again = %d, %v; want 0", n, err)
	}
	for id, want := range map[string]bool{"a": true, "b": false, "c": false, "d": true} {
		e, err := s.Envelope(ctx, id)
		if err != nil || e.HasKey != want {
			t.Errorf("%s HasKey = %v, %v; want %v", id, e.HasKey, err, want)
		}
		if _, err := s.EnvelopeKey(ctx, id); (err == nil) != want || (!want && !errors.Is(err, ErrNotFound)) {
			t.Errorf("%s EnvelopeKey: %v", id, err)
		}
	}
	if err := s.ExpireEnvelope(ctx, "d", now, by); err != nil {
		t.Fatal(err)
	}
	e, err := s.Envelope(ctx, "d")
	if err != nil || e.HasKey || !e.Expires.Equal(now) {
		t.Errorf("expired envelope = %+v, %v", e, err)
	}
	if _, err := s.EnvelopeKey(ctx, "d"); !errors.Is(err, ErrNotFound) {
		t.Errorf("shredded key: %v; want ErrNotFound", err)
	}
	// Expiring again later keeps the first expiry.
	if err := s.ExpireEnvelope(ctx, "b", now.Add(time.Hour), by); err != nil {
		t.Fatal(err)
	}
	if e, _ := s.Envelope(ctx, "b"); !e.Expires.Equal(now.Add(-time.Minute)) {
		t.Errorf("re-expired envelope expires %v; want the earlier %v", e.Expires, now.Add(-time.Minute))
	}
}

func testMailQueue(t *testing.T, db database) {
	s, _ := openDB(t, db)
	ctx := context.Background()
	now := time.Now().Truncate(time.Millisecond)
	if _, err := s.EnqueueMail(ctx, Mail{From: "a@example.org", Data: []byte("x")}); err == nil {
		t.Error("a mail without recipients must be refused")
	}
	data := []byte("Subject: hi\r\n\r\nbody\x00\xff\r\n")
	id1, err := s.EnqueueMail(ctx, Mail{From: "postseal@example.org", To: []string{"a@ext.example", "b@ext.example"}, Data: data})
	if err != nil {
		t.Fatal(err)
	}
	id2, err := s.EnqueueMail(ctx, Mail{From: "postseal@example.org", To: []string{"c@ext.example"}, Data: []byte("2")})
	if err != nil || id2 == id1 {
		t.Fatalf("second id %d, %v", id2, err)
	}
	if n, err := s.MailQueueDepth(ctx); err != nil || n != 2 {
		t.Errorf("depth = %d, %v; want 2", n, err)
	}
	at := now.Add(time.Second) // enqueued mail is due at once
	got, err := s.ClaimMail(ctx, at, time.Minute, 10)
	if err != nil || len(got) != 2 {
		t.Fatalf("claim = %+v, %v", got, err)
	}
	m := got[0]
	if m.ID != id1 || m.From != "postseal@example.org" || strings.Join(m.To, ",") != "a@ext.example,b@ext.example" || !bytes.Equal(m.Data, data) ||
		m.Attempts != 0 || !m.NextAttempt.Equal(at.Add(time.Minute)) || m.Created.IsZero() {
		t.Errorf("claimed = %+v", m)
	}
	if again, err := s.ClaimMail(ctx, at.Add(59*time.Second), time.Minute, 10); err != nil || len(again) != 0 {
		t.Errorf("claimed again within the lease: %+v, %v", again, err)
	}
	// The claimant died: past the lease the mail is due again.
	again, err := s.ClaimMail(ctx, at.Add(time.Minute), time.Minute, 1)
	if err != nil || len(again) != 1 || again[0].ID != id1 {
		t.Fatalf("after the lease (limit 1): %+v, %v", again, err)
	}
	if err := s.MailFailed(ctx, id1, at.Add(time.Hour), "451 try later"); err != nil {
		t.Fatal(err)
	}
	if err := s.MailSent(ctx, id2); err != nil {
		t.Fatal(err)
	}
	if got, _ := s.ClaimMail(ctx, at.Add(59*time.Minute), time.Minute, 10); len(got) != 0 {
		t.Errorf("claimed before its next attempt: %+v", got)
	}
	got, err = s.ClaimMail(ctx, at.Add(time.Hour), time.Minute, 10)
	if err != nil || len(got) != 1 || got[0].Attempts != 1 || got[0].LastError != "451 try later" {
		t.Fatalf("claim after failure = %+v, %v", got, err)
	}
	if err := s.DropMail(ctx, id1); err != nil {
		t.Fatal(err)
	}
	if n, err := s.MailQueueDepth(ctx); err != nil || n != 0 {
		t.Errorf("depth = %d, %v; want 0", n, err)
	}
	for _, err := range []error{s.MailSent(ctx, id1), s.DropMail(ctx, id2), s.MailFailed(ctx, id1, at, "x")} {
		if !errors.Is(err, ErrNotFound) {
			t.Errorf("unknown mail: %v; want ErrNotFound", err)
		}
	}
	if got, err := s.ClaimMail(ctx, at.Add(48*time.Hour), time.Minute, 10); err != nil || len(got) != 0 {
		t.Errorf("claim on an empty queue = %+v, %v", got, err)
	}
}

// Several workers claiming at once never get the same mail.
func testConcurrentClaim(t *testing.T, db database) {
	s, _ := openDB(t, db)
	ctx := context.Background()
	const mails, workers = 60, 4
	for i := range mails {
		if _, err := s.EnqueueMail(ctx, Mail{From: "p@example.org", To: []string{fmt.Sprintf("r%d@ext.example", i)}, Data: []byte("x")}); err != nil {
			t.Fatal(err)
		}
	}
	now := time.Now().Add(time.Second)
	var mu sync.Mutex
	seen := map[int64]int{}
	var wg sync.WaitGroup
	start := make(chan struct{})
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			for {
				got, err := s.ClaimMail(ctx, now, time.Hour, 3)
				if err != nil {
					t.Errorf("claim: %v", err)
					return
				}
				if len(got) == 0 {
					return
				}
				mu.Lock()
				for _, m := range got {
					seen[m.ID]++
				}
				mu.Unlock()
			}
		}()
	}
	close(start)
	wg.Wait()
	if len(seen) != mails {
		t.Errorf("%d distinct mails claimed; want %d", len(seen), mails)
	}
	for id, n := range seen {
		if n != 1 {
			t.Errorf("mail %d claimed %d times", id, n)
		}
	}
}

// by is who the tests' envelope changes are made by.
var by = Change{Actor: "admin (test)", Auth: "test"}

// A pending registration's hash, names and failure count travel with its
// token; the session version and the payload digest are kept.
func testPendingRegistration(t *testing.T, db database) {
	s, _ := openDB(t, db)
	ctx := context.Background()
	tok := Token{Hash: hash("pending"), Purpose: TokenActivate, Email: "Pat@Ext.example", Expires: time.Now().Add(time.Hour),
		PasswordHash: "$argon2id$example", FirstName: "Pat", LastName: "Lee", Failures: 2}
	if err := s.PutToken(ctx, tok); err != nil {
		t.Fatal(err)
	}
	got, err := s.UseToken(ctx, tok.Hash, TokenActivate, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	if got.PasswordHash != tok.PasswordHash || got.FirstName != "Pat" || got.LastName != "Lee" || got.Failures != 2 || got.Email != "pat@ext.example" {
		t.Errorf("token came back as %+v", got)
	}

	a := Account{Email: "pat@ext.example", Created: t0, SessionVersion: 3}
	if err := s.CreateAccount(ctx, a); err != nil {
		t.Fatal(err)
	}
	if got, _ := s.Account(ctx, a.Email); got.SessionVersion != 3 {
		t.Errorf("session version after create: %d", got.SessionVersion)
	}
	a.SessionVersion = 4
	if err := s.UpdateAccount(ctx, a); err != nil {
		t.Fatal(err)
	}
	if got, _ := s.Account(ctx, a.Email); got.SessionVersion != 4 {
		t.Errorf("session version after update: %d", got.SessionVersion)
	}

	e := Envelope{ID: "digest1", Sender: "doc@example.org", Recipients: []string{"pat@ext.example"}, Kind: "keyservice", Created: t0, Expires: t0.Add(time.Hour),
		PayloadDigest: strings.Repeat("ab", 32)}
	if err := s.PutEnvelope(ctx, e, bytes.Repeat([]byte{1}, 32)); err != nil {
		t.Fatal(err)
	}
	if got, err := s.Envelope(ctx, "digest1"); err != nil || got.PayloadDigest != e.PayloadDigest {
		t.Errorf("envelope digest: %q %v", got.PayloadDigest, err)
	}
}
