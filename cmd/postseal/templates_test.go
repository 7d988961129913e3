package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// check-config fails (exit 2) on a template_dir template that does not
// parse, naming the file and the line; working overrides pass.
func TestCheckConfigTemplates(t *testing.T) {
	dir := t.TempDir()
	tdir := filepath.Join(dir, "templates")
	if err := os.MkdirAll(filepath.Join(tdir, "keyserver"), 0o755); err != nil {
		t.Fatal(err)
	}
	cfg := writeFile(t, dir, "p.toml", "[envelope]\ntemplate_dir = \"templates\"\n")
	good := map[string]string{
		"notification.txt":    "{{.T \"You have received a secure message from %s.\" .Org}}\n",
		"keyserver/help.html": "{{define \"content\"}}<p>Call {{.Support}}.</p>{{end}}\n",
	}
	for name, body := range good {
		writeFile(t, tdir, name, body)
	}
	if code, _, errs := runCLI(t, "", "check-config", "-c", cfg); code != exitOK {
		t.Fatalf("working overrides: exit %d: %s", code, errs)
	}
	for name, body := range map[string]string{
		"keyserver/register.html": "{{define \"content\"}}\n<p>{{.T \"Register\"}</p>{{end}}\n",
		"notification.html":       "<p>\n{{.T \"x\"}</p>\n",
	} {
		path := writeFile(t, tdir, name, body)
		code, _, errs := runCLI(t, "", "check-config", "-c", cfg)
		if code != exitUsage || !strings.Contains(errs, path) || !strings.Contains(errs, ":2") {
			t.Errorf("%s: exit %d, stderr %q; want 2 naming the file and line 2", name, code, errs)
		}
		if err := os.Remove(path); err != nil {
			t.Fatal(err)
		}
	}
}
