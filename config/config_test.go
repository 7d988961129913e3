package config

import (
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"
)

func TestMatchDomain(t *testing.T) {
	pats := []string{"example.org", "*.hospital.example"}
	for d, want := range map[string]bool{
		"example.org": true, "EXAMPLE.org": true, "mail.example.org": false,
		"hospital.example": false, "a.hospital.example": true, "a.b.hospital.example": true,
		"evilhospital.example": false, "example.org.evil": false,
	} {
		if got := MatchDomain(pats, d); got != want {
			t.Errorf("MatchDomain(%q) = %v; want %v", d, got, want)
		}
	}
}

func writeConfig(t *testing.T, body string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "postseal.toml")
	if err := os.WriteFile(p, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestLoadValid(t *testing.T) {
	p := writeConfig(t, `
[milter]
max_secure_size = "25MB"
mixed_recipients = "encrypt-all"

[organization]
name = "St. Example Hospital"
internal_domains = ["hospital.example", "*.hospital.example"]

[[trigger]]
name = "confidential"
match = "[confidential]"
position = "anywhere"
marker = "(encrypted)"
marker_position = "append"

[envelope]
expire_after = "30d"
profile = "rfc9580"

[[domain]]
name = "partner.example"
password_file = "partner.pw"
`)
	cfg, err := Load(p)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Milter.MaxSecureSize != 25_000_000 || cfg.Milter.MixedRecipients != "encrypt-all" {
		t.Errorf("milter = %+v", cfg.Milter)
	}
	if len(cfg.Triggers) != 1 || cfg.Triggers[0].Name != "confidential" {
		t.Errorf("[[trigger]] should replace the defaults, got %+v", cfg.Triggers)
	}
	if time.Duration(cfg.Envelope.ExpireAfter) != 30*24*time.Hour {
		t.Errorf("expire_after = %v", cfg.Envelope.ExpireAfter)
	}
	if want := filepath.Join(filepath.Dir(p), "partner.pw"); cfg.Domains[0].PasswordFile != want {
		t.Errorf("password_file = %q; want %q (relative to the rules file)", cfg.Domains[0].PasswordFile, want)
	}
	if cfg.Milter.Reinject != "127.0.0.1:10026" {
		t.Errorf("unset keys keep their defaults; reinject = %q", cfg.Milter.Reinject)
	}
	if tr := cfg.Triggers[0]; tr.Match != "[confidential]" || tr.Marker != "(encrypted)" || tr.MarkerPosition != MarkerAppend {
		t.Errorf("custom trigger: %+v", tr)
	}
}

func TestEmptyFileIsDefaults(t *testing.T) {
	cfg, err := Load(writeConfig(t, "# nothing\n"))
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(cfg.Triggers, DefaultTriggers()) {
		t.Errorf("triggers = %+v", cfg.Triggers)
	}
	if cfg.Milter.MaxSecureSize != 10_000_000 {
		t.Errorf("max_secure_size = %d", cfg.Milter.MaxSecureSize)
	}
}

func TestLoadErrors(t *testing.T) {
	tests := []struct {
		name, body string
		line       int
		contains   string
	}{
		{"unknown key", "[milter]\nlisten = \"inet:127.0.0.1:10025\"\nlisn = 1\n", 3, "milter.lisn: unknown key"},
		{"unknown table", "\n[miltr]\nlisten = \"x\"\n", 2, "unknown key"},
		// A key that needs quotes is named quoted ("bad key") by the decoder
		// and was found on no line.
		{"unknown quoted key", "[milter]\n\n\"spool dir\" = \"x\"\n", 3, "milter.\"spool dir\": unknown key"},
		{"unknown empty key", "[milter]\n\"\" = 1\n", 2, "unknown key"},
		{"unknown quoted top-level key", "# rules\n\"max size\" = 1\n", 2, "unknown key"},
		{"unknown key in trigger", "[[trigger]]\nname = \"a\"\nmatch = \"x\"\nposition = \"anywhere\"\nmarker = \"m\"\nmarker_position = \"append\"\ncolour = \"red\"\n", 7, "trigger.colour: unknown key"},
		{"bad mixed", "[milter]\nmixed_recipients = \"sometimes\"\n", 2, "mixed_recipients"},
		{"bad size", "[milter]\n\nmax_secure_size = \"ten\"\n", 3, "size"},
		{"bad type", "[milter]\nlisten = 10025\n", 2, ""},
		{"syntax", "[milter\nlisten = 1\n", 2, ""},
		{"bad listen", "[milter]\nlisten = \"tcp:1\"\n", 2, "milter.listen"},
		{"bad second trigger position", "[[trigger]]\nname = \"a\"\nmatch = \"x\"\nposition = \"anywhere\"\nmarker = \"m\"\nmarker_position = \"append\"\n[[trigger]]\nname = \"b\"\nmatch = \"y\"\nposition = \"middle\"\nmarker = \"m\"\nmarker_position = \"append\"\n", 10, "trigger[1].position"},
		{"duplicate trigger", "[[trigger]]\nname = \"a\"\nmatch = \"x\"\nposition = \"anywhere\"\nmarker = \"m\"\nmarker_position = \"append\"\n[[trigger]]\nname = \"a\"\nmatch = \"y\"\nposition = \"anywhere\"\nmarker = \"m\"\nmarker_position = \"append\"\n", 8, "duplicate"},
		{"bad domain pattern", "[organization]\ninternal_domains = [\"example.org\", \"exa mple\"]\n", 2, "internal_domains[1]"},
		{"partner is internal", "[[domain]]\nname = \"example.org\"\npassword_file = \"x\"\n", 2, "internal domain"},
		{"scanner mode", "[scanner]\nenabled = true\nmode = \"enforce\"\n", 3, "scanner.mode"},
		{"scanner unreadable", "[scanner]\n\nunreadable = \"drop\"\n", 3, "scanner.unreadable"},
		{"scanner detector", "[scanner]\ndetectors = [\"us_ssn\", \"ssn\"]\n", 2, "unknown detector \"ssn\""},
		{"scanner pattern regex", "[scanner]\nenabled = true\n[[scanner.pattern]]\nname = \"mrn\"\nregex = \"MRN[0-9{6}\"\n", 5, "scanner.pattern[0].regex"},
		{"scanner pattern empty match", "[[scanner.pattern]]\nname = \"mrn\"\nregex = \"[0-9]*\"\n", 3, "empty string"},
		{"scanner rule named like detector", "[[scanner.keywords]]\nname = \"us_ssn\"\nwords = [\"x\"]\n", 2, "already the name"},
		{"scanner keywords without words", "[[scanner.keywords]]\nname = \"phi\"\nmin_count = 2\n", 1, "scanner.keywords[0].words"},
		{"scanner keywords negative count", "[[scanner.keywords]]\nname = \"phi\"\nwords = [\"x\"]\nmin_count = -1\n", 4, "min_count"},
		{"unknown time zone", "[organization]\ntimezone = \"Mars/Olympus\"\n", 2, "organization.timezone"},
		{"audit keep too short", "[audit]\nkeep = \"1h\"\n", 2, "audit.keep"},
		{"trigger without condition", "[[trigger]]\nname = \"x\"\nmarker = \"[S]\"\n", 1, "trigger[0]"},
		{"header without match", "[[trigger]]\nname = \"x\"\nheader = \"X-Secure\"\nmarker = \"[S]\"\n", 3, "trigger[0].header"},
		{"header is the subject", "[[trigger]]\nname = \"x\"\nheader = \"subject\"\nmatch = \"y\"\nmarker = \"[S]\"\n", 3, "trigger[0].header"},
		{"position without match", "[[trigger]]\nname = \"x\"\nsenders = [\"*@a.example\"]\nposition = \"prefix\"\nmarker = \"[S]\"\n", 4, "trigger[0].position"},
		{"internal recipient trigger", "[[trigger]]\nname = \"x\"\nrecipients = [\"*@example.org\"]\nmarker = \"[S]\"\n", 3, "trigger[0].recipients[0]"},
		{"bad sender pattern", "[[trigger]]\nname = \"x\"\nsenders = [\"oncology\"]\nmarker = \"[S]\"\n", 3, "trigger[0].senders[0]"},
		{"bad reply kind", "[[trigger]]\nname = \"x\"\nmatch = \"s\"\nmarker = \"[S]\"\nreply = [\"reply\", \"fwd\"]\n", 5, "trigger[0].reply[1]"},
		{"bad outer subject", "[envelope]\nouter_subject = \"hidden\"\n", 2, "envelope.outer_subject"},
		{"negative online copy", "[envelope]\n\nonline_copy_hours = -1\n", 3, "envelope.online_copy_hours: must be a whole number of hours from 0 (no online copy, no phone link) to 168"},
		{"online copy over a week", "[envelope]\nonline_copy_hours = 169\n", 2, "not 169"},
		{"online copy as a duration", "[envelope]\nonline_copy_hours = \"8h\"\n", 2, "online_copy_hours"},
		{"zero expiry", "[envelope]\nexpire_after = \"0s\"\n", 2, "envelope.expire_after"},
		{"bad reply allow", "[reply]\nallow = [\"reply\", \"reply\"]\n", 2, "reply.allow[1]"},
		{"bad scanner max size", "[scanner]\nmax_size = 0\n", 2, "scanner.max_size"},
		{"bad trusted proxy", "[keyserver]\ntrusted_proxies = [\"127.0.0.1\", \"proxy.example.org\"]\n", 2, "keyserver.trusted_proxies[1]"},
		{"bad profile", "[envelope]\nprofile = \"ocb\"\n", 2, "envelope.profile"},
		{"bad attachment name", "[envelope]\nattachment_name = \"../x.html\"\n", 2, "attachment_name"},
		{"bad decryptor", "[envelope]\ndecryptor = \"inline\"\n", 2, "envelope.decryptor"},
		{"bad public url", "[keyserver]\npublic_url = \"ftp://x\"\n", 2, "keyserver.public_url"},
		{"empty triggers", "trigger = []\n", 1, "at least one"},
		{"postgres with a file dsn", "[store]\ndriver = \"postgres\"\n\ndsn = \"var/postseal.db\"\n", 4, "store.dsn: with driver \"postgres\""},
		{"postgres default dsn", "[store]\ndriver = \"postgres\"\n", 1, "store.dsn"},
		{"postgres url without database", "[store]\ndriver = \"postgres\"\ndsn = \"postgres://postgres@127.0.0.1:5432\"\n", 3, "names no database"},
		{"postgres url without host", "[store]\ndriver = \"postgres\"\ndsn = \"postgres:///test\"\n", 3, "names no host"},
		{"postgres bad url", "[store]\ndriver = \"postgres\"\ndsn = \"postgres://a:b@x:port/test\"\n", 3, "store.dsn: not a valid PostgreSQL URL"},
		{"sqlite given a postgres url", "[store]\ndsn = \"postgres://postgres@127.0.0.1/test\"\n", 2, "set driver = \"postgres\""},
		{"unknown driver", "[store]\ndriver = \"mysql\"\n", 2, "store.driver"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := writeConfig(t, tt.body)
			_, err := Load(p)
			if err == nil {
				t.Fatal("no error")
			}
			var ce *Error
			if !errors.As(err, &ce) {
				t.Fatalf("error %v is not a *config.Error", err)
			}
			if ce.File != p || ce.Line != tt.line {
				t.Errorf("error %q at %s:%d; want line %d", err, ce.File, ce.Line, tt.line)
			}
			if !strings.HasPrefix(err.Error(), p+":") {
				t.Errorf("error %q does not start with the file name", err)
			}
			if tt.contains != "" && !strings.Contains(err.Error(), tt.contains) {
				t.Errorf("error %q does not mention %q", err, tt.contains)
			}
		})
	}
}

func TestPostgresStoreConfig(t *testing.T) {
	for _, dsn := range []string{
		"postgres://postgres@127.0.0.1:5432/test?sslmode=disable",
		"postgresql://u:p@db.example.org/postseal",
		"host=127.0.0.1 dbname=test user=postgres",
	} {
		cfg, err := Load(writeConfig(t, "[store]\ndriver = \"postgres\"\ndsn = \""+dsn+"\"\n"))
		if err != nil {
			t.Errorf("%s: %v", dsn, err)
			continue
		}
		if cfg.Store.Driver != "postgres" || cfg.Store.DSN != dsn {
			t.Errorf("store = %+v; want the DSN unchanged (not made a path)", cfg.Store)
		}
	}
}

func TestParseSize(t *testing.T) {
	for in, want := range map[string]int64{"10MB": 10_000_000, "10 MB": 10_000_000, "512KiB": 524288, "1GiB": 1 << 30, "42": 42, "3kB": 3000} {
		got, err := ParseSize(in)
		if err != nil || got != want {
			t.Errorf("ParseSize(%q) = %d, %v; want %d", in, got, err, want)
		}
	}
	for _, in := range []string{"", "MB", "-1MB", "1.5MB", "10 parsecs"} {
		if _, err := ParseSize(in); err == nil {
			t.Errorf("ParseSize(%q) accepted", in)
		}
	}
}

func TestScannerConfig(t *testing.T) {
	p := writeConfig(t, `[scanner]
enabled = true
mode = "report"
detectors = ["us_ssn", "credit_card"]
[[scanner.pattern]]
name = "mrn"
regex = 'MRN[- ]?\d{7}'
context = ["record"]
[[scanner.keywords]]
name = "phi-terms"
file = "phi.txt"
min_count = 3
`)
	cfg, err := Load(p)
	if err != nil {
		t.Fatal(err)
	}
	s := cfg.Scanner
	if !s.Enabled || s.Mode != "report" || s.Unreadable != "encrypt" || !s.NotifySender || s.Marker != "[-Encrypted-]" {
		t.Errorf("scanner section %+v", s)
	}
	if s.Patterns[0].MinCount != 1 || s.Keywords[0].MinCount != 3 {
		t.Errorf("min_count defaults: pattern %d, keywords %d", s.Patterns[0].MinCount, s.Keywords[0].MinCount)
	}
	if want := filepath.Join(filepath.Dir(p), "phi.txt"); s.Keywords[0].File != want {
		t.Errorf("word list file %q, want %q (relative to the rules file)", s.Keywords[0].File, want)
	}
}
