package store

import (
	"context"
	"database/sql"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"
)

// The database file and SQLite's -wal and -shm files (which take the
// database file's mode) hold recipient addresses and wrapped keys: they are
// the owner's alone, whatever the umask lets SQLite create them with. The
// file opened to create it with that mode is closed at once: a closed store
// leaves no descriptor on its files (a process that reopens its store would
// otherwise gather them).
func TestSQLiteOpenFilesOwnerOnly(t *testing.T) {
	path := filepath.Join(t.TempDir(), "state", "postseal.db")
	s, err := OpenSQLite(context.Background(), path, testKey(t))
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Ping(context.Background()); err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{path, path + "-wal", path + "-shm"} {
		fi, err := os.Stat(p)
		if err != nil {
			t.Fatal(err)
		}
		if perm := fi.Mode().Perm(); perm != 0o600 {
			t.Errorf("%s has mode %o; want 600", filepath.Base(p), perm)
		}
	}
	s.Close()
	fds, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		t.Fatal(err)
	}
	for _, fd := range fds {
		if to, err := os.Readlink(filepath.Join("/proc/self/fd", fd.Name())); err == nil && strings.HasPrefix(to, path) {
			t.Errorf("descriptor %s still open on %s after Close", fd.Name(), to)
		}
	}
}

// sqliteHoldWriteLock opens the database at path by another connection and
// keeps its write lock until the test ends, as a second postseal that is
// migrating the same database does.
func sqliteHoldWriteLock(t *testing.T, path string) {
	t.Helper()
	db, err := sql.Open("sqlite", "file:"+path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	tx, err := db.Begin()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { tx.Rollback() })
	if _, err := tx.Exec(`CREATE TABLE lock_holder (x)`); err != nil {
		t.Fatal(err)
	}
}

// An opener that finds the database locked by another opener keeps trying
// for openBusyWait before it gives up with SQLite's busy answer, instead of
// failing at the first one. The DSN leaves out busy_timeout so each try is
// answered busy at once: only prepare's retries make the wait.
func TestSQLiteOpenRetriesBusyForOpenBusyWait(t *testing.T) {
	path := filepath.Join(t.TempDir(), "postseal.db")
	sqliteHoldWriteLock(t, path)
	start := time.Now()
	s, err := OpenSQLite(context.Background(), "file:"+path+"?_txlock=immediate", testKey(t))
	took := time.Since(start)
	if err == nil {
		s.Close()
		t.Fatal("a database another connection holds the write lock on was opened")
	}
	var se *sqlite.Error
	if !errors.As(err, &se) || se.Code()&0xff != sqlite3.SQLITE_BUSY {
		t.Fatalf("open of a locked database: %v; want SQLITE_BUSY", err)
	}
	// Seconds: long enough for the other opener's migration. The last pause
	// that would end past the deadline is not taken; none is over 200 ms.
	if least := 5*time.Second - 200*time.Millisecond; took < least {
		t.Errorf("open of a locked database gave up after %v; want at least %v", took, least)
	}
}

// A schema step that fails is named by its number, counted from 1 as
// PRAGMA user_version counts the steps applied.
func TestSQLiteMigrationErrorNamesStep(t *testing.T) {
	path := filepath.Join(t.TempDir(), "postseal.db")
	db, err := sql.Open("sqlite", "file:"+path)
	if err != nil {
		t.Fatal(err)
	}
	// Step 1 is recorded as done; step 2 then meets a table it creates.
	for _, q := range []string{sqliteSchema[0], `CREATE TABLE accounts (x)`, `PRAGMA user_version = 1`} {
		if _, err := db.Exec(q); err != nil {
			db.Close()
			t.Fatal(err)
		}
	}
	db.Close()
	s, err := OpenSQLite(context.Background(), path, testKey(t))
	if err == nil {
		s.Close()
		t.Fatal("a database whose step 2 cannot apply was opened")
	}
	if !strings.Contains(err.Error(), "migration 2: ") || !strings.Contains(err.Error(), "accounts") {
		t.Errorf("failed step 2: %v; want it named migration 2", err)
	}
}
