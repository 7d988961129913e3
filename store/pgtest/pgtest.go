// Package pgtest gives tests a private schema on the PostgreSQL that
// POSTSEAL_TEST_PG_DSN names (default: the local test database), so that
// parallel test runs on one server never see each other's tables.
package pgtest

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"net/url"
	"os"
	"strings"
	"testing"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib" // database/sql driver "pgx"
)

// DefaultDSN is used when POSTSEAL_TEST_PG_DSN is unset.
const DefaultDSN = "postgres://postgres@127.0.0.1:5432/test?sslmode=disable"

// DSN creates a schema postseal_test_<random>, drops it when the test ends,
// and returns a DSN whose search_path selects it. Without a reachable
// server the test fails.
func DSN(t testing.TB) string {
	t.Helper()
	dsn := os.Getenv("POSTSEAL_TEST_PG_DSN")
	if dsn == "" {
		dsn = DefaultDSN
	}
	admin, err := sql.Open("pgx", dsn)
	if err != nil {
		t.Fatalf("POSTSEAL_TEST_PG_DSN: %v", err)
	}
	t.Cleanup(func() { admin.Close() })
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := admin.PingContext(ctx); err != nil {
		// Never a skip: a green run must have run the PostgreSQL tests.
		t.Fatalf("PostgreSQL at %s unreachable (make test starts one; or set POSTSEAL_TEST_PG_DSN): %v", redact(dsn), err)
	}
	b := make([]byte, 6)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	schema := "postseal_test_" + hex.EncodeToString(b)
	if _, err := admin.ExecContext(ctx, `CREATE SCHEMA `+schema); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if _, err := admin.Exec(`DROP SCHEMA ` + schema + ` CASCADE`); err != nil {
			t.Errorf("drop test schema %s: %v", schema, err)
		}
	})
	return withParam(t, dsn, "search_path", schema)
}

func withParam(t testing.TB, dsn, name, value string) string {
	t.Helper()
	if !strings.Contains(dsn, "://") {
		return dsn + " " + name + "=" + value
	}
	u, err := url.Parse(dsn)
	if err != nil {
		t.Fatalf("POSTSEAL_TEST_PG_DSN: %v", err)
	}
	q := u.Query()
	q.Set(name, value)
	u.RawQuery = q.Encode()
	return u.String()
}

func redact(dsn string) string {
	if u, err := url.Parse(dsn); err == nil && u.User != nil {
		if _, ok := u.User.Password(); ok {
			u.User = url.UserPassword(u.User.Username(), "xxx")
		}
		return u.String()
	}
	return dsn
}
