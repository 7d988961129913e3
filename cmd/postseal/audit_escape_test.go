package main

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/postseal/postseal/config"
	"github.com/postseal/postseal/store"
)

// TestAuditListEscapesControls: a field with a line break, a tab and a
// terminal escape (an address typed at /login before it was checked, or
// any stored text) neither forges a row nor reaches the terminal raw.
func TestAuditListEscapesControls(t *testing.T) {
	dir := t.TempDir()
	cfg := writeFile(t, dir, "postseal.toml", "[store]\ndsn = \"state/p.db\"\nmaster_key = \"state/master.key\"\n")
	if code, _, errs := runCLI(t, "", "init", "-c", cfg); code != exitOK {
		t.Fatalf("init: %s", errs)
	}
	c, err := config.Load(cfg)
	if err != nil {
		t.Fatal(err)
	}
	st, err := openStore(context.Background(), c, false)
	if err != nil {
		t.Fatal(err)
	}
	evil := "x@ext.example\n99\t2026-01-01\tenvelope_locked\x1b[2J\x1b]0;pwned\x07"
	if err := st.AddEvent(context.Background(), store.Event{Time: time.Now(), Kind: store.EventLoginFailed, Email: evil, RemoteIP: "192.0.2.1", Outcome: "bad\rpassword"}); err != nil {
		t.Fatal(err)
	}
	st.Close()
	code, out, errs := runCLI(t, "", "audit", "list", "-c", cfg)
	if code != exitOK {
		t.Fatalf("list exit %d: %s", code, errs)
	}
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if len(lines) != 2 || strings.ContainsAny(out, "\x1b\x07\r") || !strings.Contains(lines[1], `\x1b[2`) {
		t.Errorf("audit list:\n%q", out)
	}
}
