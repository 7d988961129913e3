package config

import (
	"testing"
	"time"
)

// help_url defaults to the key service's own help page wherever the key
// service is published; a help_url given is kept.
func TestHelpURLDefault(t *testing.T) {
	for _, tt := range []struct{ body, want string }{
		{"", "http://127.0.0.1:8025/help"},
		{"[keyserver]\npublic_url = \"https://secure.example.org/\"\n", "https://secure.example.org/help"},
		{"[organization]\nhelp_url = \"https://help.example.org/mail\"\n[keyserver]\npublic_url = \"https://secure.example.org\"\n", "https://help.example.org/mail"},
	} {
		c, err := Parse("o.toml", []byte(tt.body))
		if err != nil {
			t.Fatalf("%q: %v", tt.body, err)
		}
		if c.Organization.HelpURL != tt.want {
			t.Errorf("%q: help_url %q; want %q", tt.body, c.Organization.HelpURL, tt.want)
		}
	}
	if got := Default().Organization.HelpURL; got != DefaultHelpURL(Default().Keyserver.PublicURL) {
		t.Errorf("embedded default help_url %q is not the default key service's /help", got)
	}
}

// Read receipts are on unless turned off; the time zone and audit
// retention are read as given, UTC and "keep for ever" when absent.
func TestReceiptsTimezoneAudit(t *testing.T) {
	c, err := Parse("o.toml", nil)
	if err != nil {
		t.Fatal(err)
	}
	if !c.Envelope.ReadReceipts || c.Organization.Location() != time.UTC || c.Audit.Keep != 0 {
		t.Errorf("defaults: read_receipts %v, zone %v, audit keep %v; want true, UTC, 0", c.Envelope.ReadReceipts, c.Organization.Location(), c.Audit.Keep)
	}
	c, err = Parse("o.toml", []byte("[organization]\ntimezone = \"America/Chicago\"\n[envelope]\nread_receipts = false\n[audit]\nkeep = \"400d\"\n"))
	if err != nil {
		t.Fatal(err)
	}
	if c.Envelope.ReadReceipts || c.Organization.Location().String() != "America/Chicago" || time.Duration(c.Audit.Keep) != 400*24*time.Hour {
		t.Errorf("read %v, %v, %v", c.Envelope.ReadReceipts, c.Organization.Location(), c.Audit.Keep)
	}
}
