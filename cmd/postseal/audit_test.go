package main

import (
	"bufio"
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"log/slog"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/postseal/postseal/config"
	"github.com/postseal/postseal/store"
)

// audit list, export and verify on a real store; verify fails naming the
// event after a row is edited with SQL, and after the newest events are
// removed (head included) when given the service log's checkpoints.
func TestAuditCommands(t *testing.T) {
	dir := t.TempDir()
	cfg := writeFile(t, dir, "postseal.toml", "[organization]\ntimezone = \"America/Chicago\"\n[store]\ndsn = \"state/p.db\"\nmaster_key = \"state/master.key\"\n")
	if code, _, errs := runCLI(t, "", "init", "-c", cfg); code != exitOK {
		t.Fatalf("init: %s", errs)
	}
	in := "From: doc@example.org\r\nTo: pat@ext.example\r\nSubject: *secure* consult\r\n\r\nSecret body\r\n"
	for range 2 {
		if code, _, errs := runCLI(t, in, "seal", "-c", cfg, "--from", "doc@example.org", "--to", "pat@ext.example"); code != exitOK {
			t.Fatalf("seal: %s", errs)
		}
	}
	_, list, _ := runCLI(t, "", "envelope", "list", "-c", cfg)
	id := strings.Fields(strings.Split(list, "\n")[1])[0]
	if code, _, errs := runCLI(t, "", "envelope", "lock", "-c", cfg, id); code != exitOK {
		t.Fatal(errs)
	}

	code, out, errs := runCLI(t, "", "audit", "list", "-c", cfg, "--envelope", id)
	if code != exitOK {
		t.Fatalf("list exit %d: %s", code, errs)
	}
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if len(lines) != 3 || !strings.Contains(lines[0], "America/Chicago") || !strings.Contains(lines[1], "sealed") ||
		!strings.Contains(lines[2], "envelope_locked") || !strings.Contains(lines[2], "admin uid") || !strings.Contains(lines[2], "CST") {
		t.Fatalf("list --envelope:\n%s", out)
	}

	code, out, errs = runCLI(t, "", "audit", "export", "-c", cfg)
	if code != exitOK {
		t.Fatalf("export exit %d: %s", code, errs)
	}
	var evs []store.Event
	sc := bufio.NewScanner(strings.NewReader(out))
	for sc.Scan() {
		var e store.Event
		if err := json.Unmarshal(sc.Bytes(), &e); err != nil {
			t.Fatalf("export line %q: %v", sc.Text(), err)
		}
		evs = append(evs, e)
	}
	if len(evs) != 3 || evs[2].Seq != 3 || evs[2].PrevHash != evs[1].Hash || store.EventHash(evs[2].PrevHash, evs[2]) != evs[2].Hash {
		t.Fatalf("export does not carry a chain an auditor can recompute:\n%s", out)
	}

	if code, out, errs = runCLI(t, "", "audit", "verify", "-c", cfg); code != exitOK || !strings.Contains(out, "intact: 3 events") {
		t.Fatalf("verify exit %d: %s%s", code, out, errs)
	}

	// The service log's checkpoints, as serve writes them.
	c, err := config.Load(cfg)
	if err != nil {
		t.Fatal(err)
	}
	st, err := openStore(context.Background(), c, false)
	if err != nil {
		t.Fatal(err)
	}
	var logBuf bytes.Buffer
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	store.AuditEvery(ctx, st, time.Hour, 0, slog.New(slog.NewTextHandler(&logBuf, nil)))
	st.Close()
	logFile := writeFile(t, dir, "postseal.log", "time=x level=INFO msg=\"postseal started\"\n"+logBuf.String())
	if code, out, errs = runCLI(t, "", "audit", "verify", "-c", cfg, "--log", logFile); code != exitOK || !strings.Contains(out, "checkpoints from the service log agree") {
		t.Fatalf("verify --log exit %d: %s%s", code, out, errs)
	}

	db, err := sql.Open("sqlite", filepath.Join(dir, "state", "p.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	exec := func(q string, args ...any) {
		t.Helper()
		if _, err := db.Exec(q, args...); err != nil {
			t.Fatal(err)
		}
	}
	// Removing the newest event and setting the head back: intact on its
	// own, broken against the log.
	exec(`DELETE FROM events WHERE seq = 3`)
	exec(`UPDATE audit_head SET seq = 2, hash = ?`, evs[1].Hash)
	if code, _, _ := runCLI(t, "", "audit", "verify", "-c", cfg); code != exitOK {
		t.Fatalf("a consistently shortened chain verifies without the log: exit %d", code)
	}
	if code, _, errs = runCLI(t, "", "audit", "verify", "-c", cfg, "--log", logFile); code != exitRuntime || !strings.Contains(errs, "event 3") || !strings.Contains(errs, "checkpoint") {
		t.Fatalf("verify --log after truncation: exit %d: %s", code, errs)
	}
	exec(`UPDATE events SET email = 'someone@ext.example' WHERE seq = 2`)
	if code, _, errs = runCLI(t, "", "audit", "verify", "-c", cfg); code != exitRuntime || !strings.Contains(errs, "event 2: its content does not match its hash") {
		t.Fatalf("verify after an edit: exit %d: %s", code, errs)
	}

	for _, args := range [][]string{{"audit"}, {"audit", "prune"}, {"audit", "export", "--envelope", id}, {"audit", "list", "--since", "yesterday"}, {"audit", "verify", "extra"}} {
		if code, _, _ := runCLI(t, "", append(args, "-c", cfg)...); code != exitUsage {
			t.Errorf("%v: exit %d; want %d", args, code, exitUsage)
		}
	}
}
