package keyserver

import (
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
}
