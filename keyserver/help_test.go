package keyserver

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// The help page is there (it is the default help_url) and covers what a
// recipient gets stuck on, naming the organisation's support.
func TestHelpPage(t *testing.T) {
	f := newFixture(t)
	rec := f.get("/help")
	if rec.Code != 200 {
		t.Fatalf("GET /help: %d", rec.Code)
	}
	body := rec.Body.String()
	for _, want := range []string{
		"Help with secure messages", "Example Health", "securedoc_", "Register", "Forgot your password?",
		"Open Online", "phone", "locked", "expire", "Call 555-0100.",
		"If you have concerns about the validity of a message, contact the sender directly",
		`href="/register"`, `href="/forgot"`,
	} {
		if !strings.Contains(body, want) {
			t.Errorf("help page lacks %q", want)
		}
	}
	if strings.Contains(body, "Open on your phone") {
		t.Error("the help page offers a phone link the service has no copies for")
	}
	f = newFixture(t, func(c *Config) { c.PhoneHours = 8 })
	if body := f.get("/help").Body.String(); !strings.Contains(body, "tap Open on your phone in the e-mail") || !strings.Contains(body, "works for 8 hours") {
		t.Error("the help page does not explain the phone link")
	}
	if body := f.getAs("/help", "es").Body.String(); !strings.Contains(body, "toque Abrir en el teléfono en el correo") || !strings.Contains(body, "durante 8 horas") {
		t.Error("the Spanish help page does not explain the phone link")
	}
	f = newFixture(t, func(c *Config) { c.PhoneHours = 1 })
	if body := f.get("/help").Body.String(); !strings.Contains(body, "works for 1 hour after") {
		t.Error("the help page for a one-hour copy does not say 1 hour")
	}
	if body := f.getAs("/help", "es").Body.String(); !strings.Contains(body, "durante 1 hora desde") {
		t.Error("the Spanish help page for a one-hour copy does not say 1 hora")
	}
}

// A page in template_dir's keyserver/ folder replaces the shipped one.
func TestPageTemplateOverride(t *testing.T) {
	dir := t.TempDir()
	if err := os.MkdirAll(filepath.Join(dir, "keyserver"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "keyserver", "help.html"), []byte(`{{define "content"}}<p id="ours">Call the clinic desk. {{.T "Register"}}</p>{{end}}`), 0o644); err != nil {
		t.Fatal(err)
	}
	f := newFixture(t, func(c *Config) { c.TemplateDir = dir })
	if body := f.get("/help").Body.String(); !strings.Contains(body, `<p id="ours">Call the clinic desk. Register</p>`) {
		t.Errorf("help page not from the override:\n%s", body)
	}
	if body := f.get("/register").Body.String(); !strings.Contains(body, `<label for="first_name">First name</label>`) {
		t.Error("a page not overridden is no longer the shipped one")
	}
	if err := CheckTemplates(filepath.Join(dir, "missing")); err != nil {
		t.Errorf("a template_dir without keyserver/ pages: %v", err)
	}
}
