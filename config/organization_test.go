package config

import "testing"

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
