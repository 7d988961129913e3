package keyserver

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/postseal/postseal/store"
	"github.com/postseal/postseal/store/pgtest"
)

// pgStores opens n stores (n processes, as far as the key service can
// tell) on one fresh schema of the PostgreSQL named by POSTSEAL_TEST_PG_DSN
// (default: the local test database). Without a server the test fails
// under CI and is skipped otherwise.
func pgStores(t *testing.T, n int) []store.Store {
	t.Helper()
	dsn := pgtest.DSN(t)
	key, err := store.LoadMasterKey(filepath.Join(t.TempDir(), "master.key"), true)
	if err != nil {
		t.Fatal(err)
	}
	var out []store.Store
	for range n {
		st, err := store.OpenPostgres(context.Background(), dsn, key)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { st.Close() })
		out = append(out, st)
	}
	return out
}

// Two key-service processes on one PostgreSQL: a key sealed through one
// is released by the other, and failures seen by either throttle both.
func TestPostgresTwoProcesses(t *testing.T) {
	sts := pgStores(t, 2)
	c := &clock{t: time.Now().UTC().Truncate(time.Millisecond)}
	a := newFixtureOn(t, sts[0], c)
	b := newFixtureOn(t, sts[1], c)
	a.putEnvelope("pgenv1", "ann@partner.example")
	a.putAccount("ann@partner.example", testPassword, true, false)
	if rec := b.postKey("pgenv1", "ann@partner.example", testPassword, ""); rec.Code != 200 {
		t.Fatalf("release through the other process: %d %s", rec.Code, rec.Body)
	}
	for i := range 5 {
		f := a
		if i%2 == 1 {
			f = b
		}
		if rec := f.postKey("pgenv1", "ann@partner.example", "wrong password!", ""); rec.Code != 401 {
			t.Fatalf("failure %d: %d", i, rec.Code)
		}
	}
	for _, f := range []*fixture{a, b} {
		if rec := f.postKey("pgenv1", "ann@partner.example", testPassword, ""); rec.Code != 429 {
			t.Errorf("after 5 failures across both: %d; want 429", rec.Code)
		}
	}
	// Registration on one, activation on the other.
	a.putEnvelope("pgenv2", "bob@partner.example")
	a.postForm("/register", registration("bob@partner.example"))
	link := a.link("bob@partner.example")
	if rec := b.postForm(link, activation(testPassword)); rec.Code != 200 {
		t.Errorf("activation through the other process: %d", rec.Code)
	}
	if rec := b.postForm(link, activation(testPassword)); rec.Code != 410 {
		t.Errorf("second use: %d", rec.Code)
	}
}
