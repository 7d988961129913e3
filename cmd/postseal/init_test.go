package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestInit: the first run creates the master key 0600, a second keeps it
// byte for byte, and a key others can read is refused, not replaced.
func TestInit(t *testing.T) {
	dir := t.TempDir()
	cfg := writeFile(t, dir, "postseal.toml", "[store]\nmaster_key = \"state/master.key\"\n")
	key := filepath.Join(dir, "state", "master.key")
	code, out, errs := runCLI(t, "", "init", "-c", cfg)
	if code != exitOK || !strings.Contains(out, "created master key") {
		t.Fatalf("first init: %d %s%s", code, out, errs)
	}
	fi, err := os.Stat(key)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o600 {
		t.Errorf("master key mode %v, want 0600", fi.Mode().Perm())
	}
	first, _ := os.ReadFile(key)
	code, out, errs = runCLI(t, "", "init", "-c", cfg)
	if second, _ := os.ReadFile(key); code != exitOK || !strings.Contains(out, "kept") || string(second) != string(first) {
		t.Errorf("second init: %d %s%s; key unchanged: %v", code, out, errs, string(second) == string(first))
	}
	if err := os.Chmod(key, 0o644); err != nil {
		t.Fatal(err)
	}
	if code, _, errs = runCLI(t, "", "init", "-c", cfg); code == exitOK || !strings.Contains(errs, "chmod 600") {
		t.Errorf("init with a readable key: %d %s", code, errs)
	}
	if third, _ := os.ReadFile(key); string(third) != string(first) {
		t.Error("a readable master key was replaced")
	}
}
