package policy

import (
	"strings"
	"testing"

	"github.com/postseal/postseal/config"
)

// A language without a catalogue is a load (check-config) error naming
// the key; a known one reaches the envelope options.
func TestLanguageSettings(t *testing.T) {
	for body, want := range map[string]string{
		"[organization]\nlanguage = \"fr\"\n":                      "organization.language",
		"[organization.languages]\n\"partner.example\" = \"de\"\n": "organization.languages",
	} {
		cfg, err := config.Parse("p.toml", []byte(body))
		if err != nil {
			t.Fatal(err)
		}
		if _, err := Load(cfg); err == nil || !strings.Contains(err.Error(), want) || !strings.Contains(err.Error(), "en, es") {
			t.Errorf("%q: %v; want an %s error listing en, es", body, err, want)
		}
	}
	cfg, err := config.Parse("p.toml", []byte("[organization]\nlanguage = \"es\"\n[organization.languages]\n\"partner.example\" = \"en\"\n"))
	if err != nil {
		t.Fatal(err)
	}
	p, err := Load(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if p.Envelope.Language != "es" || p.Envelope.Languages["partner.example"] != "en" {
		t.Errorf("envelope options %q %v", p.Envelope.Language, p.Envelope.Languages)
	}
}
