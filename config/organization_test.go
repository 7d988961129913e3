package config

import (
	"errors"
	"strings"
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

// [organization] logo and [envelope] brand_logo are one setting: either
// key names the file, two different files are an error at the key's line.
func TestLogoOneSetting(t *testing.T) {
	for body, want := range map[string]string{
		"[organization]\nlogo = \"img/logo.png\"\n":                              "/etc/p/img/logo.png",
		"[envelope]\nbrand_logo = \"img/logo.png\"\n":                            "/etc/p/img/logo.png",
		"[organization]\nlogo = \"a.png\"\n[envelope]\nbrand_logo = \"a.png\"\n": "/etc/p/a.png",
		"": "",
	} {
		c, err := Parse("/etc/p/postseal.toml", []byte(body))
		if err != nil {
			t.Fatalf("%q: %v", body, err)
		}
		if got := c.LogoFile(); got != want {
			t.Errorf("%q: logo %q; want %q", body, got, want)
		}
	}
	_, err := Parse("/etc/p/postseal.toml", []byte("[organization]\nlogo = \"a.png\"\n[envelope]\nbrand_logo = \"b.png\"\n"))
	var ce *Error
	if !errors.As(err, &ce) || ce.Key != "organization.logo" || ce.Line != 2 {
		t.Errorf("two logos: %v; want an organization.logo error at line 2", err)
	}
}

func TestLanguageSettings(t *testing.T) {
	c, err := Parse("o.toml", []byte("[organization]\nlanguage = \"es\"\n[organization.languages]\n\"partner.example\" = \"en\"\n\"*.mx\" = \"es\"\n"))
	if err != nil {
		t.Fatal(err)
	}
	if c.Organization.Language != "es" || c.Organization.Languages["*.mx"] != "es" || c.Organization.Languages["partner.example"] != "en" {
		t.Errorf("organization %+v", c.Organization)
	}
	// Recipient domains are matched lower-cased: so are the keys.
	c, err = Parse("o.toml", []byte("[organization.languages]\n\"Hospital.ES\" = \"es\"\n\"*.MX\" = \"es\"\n\"*.mx\" = \"es\"\n"))
	if err != nil {
		t.Fatal(err)
	}
	if l := c.Organization.Languages; len(l) != 2 || l["hospital.es"] != "es" || l["*.mx"] != "es" {
		t.Errorf("languages %v; want the keys lower-cased", l)
	}
	if Default().Organization.Language != "en" {
		t.Error("the default language is not English")
	}
	for _, body := range []string{
		"[organization]\nlanguage = \"Spanish\"\n",
		"[organization]\nlanguage = \"\"\n",
		"[organization.languages]\n\"partner.example\" = \"español\"\n",
		"[organization.languages]\n\"bad domain\" = \"es\"\n",
		"[organization.languages]\n\"Partner.example\" = \"es\"\n\"partner.EXAMPLE\" = \"en\"\n",
	} {
		_, err := Parse("o.toml", []byte(body))
		var ce *Error
		if !errors.As(err, &ce) || !strings.HasPrefix(ce.Key, "organization.language") || ce.Line == 0 {
			t.Errorf("%q: %v; want an organization.language(s) error with its line", body, err)
		}
	}
}

// organization.name is written on the secure message's page, whose lines
// are bounded: 64 characters are accepted, 65 refused at the name's line.
func TestOrganisationNameLength(t *testing.T) {
	name := strings.Repeat("病", MaxOrgNameRunes)
	if _, err := Parse("o.toml", []byte("[organization]\nname = \""+name+"\"\n")); err != nil {
		t.Fatalf("a %d-character name: %v", MaxOrgNameRunes, err)
	}
	_, err := Parse("o.toml", []byte("[organization]\nname = \""+name+"病\"\n"))
	var ce *Error
	if !errors.As(err, &ce) || ce.Key != "organization.name" || ce.Line != 2 || !strings.Contains(err.Error(), "65 characters") {
		t.Errorf("a %d-character name: %v; want an organization.name error at line 2 naming its length", MaxOrgNameRunes+1, err)
	}
}
