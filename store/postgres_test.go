package store

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
)

const defaultTestPG = "postgres://postgres@127.0.0.1:5432/test?sslmode=disable"

// pgTestDB gives each test its own schema on the PostgreSQL named by
// POSTSEAL_TEST_PG_DSN, dropped at cleanup, so parallel runs never meet.
// Without a server the test fails under CI and is skipped otherwise.
func pgTestDB(t *testing.T) database {
	t.Helper()
	dsn := os.Getenv("POSTSEAL_TEST_PG_DSN")
	if dsn == "" {
		dsn = defaultTestPG
	}
	admin, err := sql.Open("pgx", dsn)
	if err != nil {
		t.Fatalf("POSTSEAL_TEST_PG_DSN: %v", err)
	}
	t.Cleanup(func() { admin.Close() })
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := admin.PingContext(ctx); err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("PostgreSQL at %s unreachable (needed under CI): %v", redactDSN(dsn), err)
		}
		t.Skipf("PostgreSQL at %s unreachable, skipping (set POSTSEAL_TEST_PG_DSN): %v", redactDSN(dsn), err)
	}
	b := make([]byte, 6)
	rand.Read(b)
	schema := "postseal_test_" + hex.EncodeToString(b)
	if _, err := admin.ExecContext(ctx, `CREATE SCHEMA `+schema); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if _, err := admin.Exec(`DROP SCHEMA ` + schema + ` CASCADE`); err != nil {
			t.Errorf("drop test schema %s: %v", schema, err)
		}
	})
	withSchema := withParam(t, dsn, "search_path", schema)
	return func(key *MasterKey) (Store, error) { return OpenPostgres(context.Background(), withSchema, key) }
}

func withParam(t *testing.T, dsn, name, value string) string {
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

func redactDSN(dsn string) string {
	if u, err := url.Parse(dsn); err == nil && u.User != nil {
		if _, ok := u.User.Password(); ok {
			u.User = url.UserPassword(u.User.Username(), "xxx")
		}
		return u.String()
	}
	return dsn
}

func TestPostgresSuite(t *testing.T) {
	runSuite(t, pgTestDB)
}
