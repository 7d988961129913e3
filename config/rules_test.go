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

func TestDecideSubjectDefaults(t *testing.T) {
	cfg := Default()
	tests := []struct {
		in, want, trigger, reason string
	}{
		{"*secure* Palliative care consult", "Palliative care consult [-Encrypted-]", "secure-tag", "tag"},
		{"Palliative *secure* care consult", "Palliative care consult [-Encrypted-]", "secure-tag", "tag"},
		{"Palliative care consult *secure*", "Palliative care consult [-Encrypted-]", "secure-tag", "tag"},
		{"*SECURE* lab", "lab [-Encrypted-]", "secure-tag", "tag"},
		{"*Secure*lab", "lab [-Encrypted-]", "secure-tag", "tag"},
		{"a *secure* b *secure* c", "a b c [-Encrypted-]", "secure-tag", "tag"},
		{"*secure*", "[-Encrypted-]", "secure-tag", "tag"},
		{"   *secure*   ", "[-Encrypted-]", "secure-tag", "tag"},
		{"Re: Lab results [-Encrypted-]", "Re: Lab results [-Encrypted-]", "secure-tag", "marker"},
		{"Re: *secure* Lab results [-Encrypted-]", "Re: Lab results [-Encrypted-]", "secure-tag", "tag"},
		{"RE: lab [-encrypted-]", "RE: lab [-encrypted-]", "secure-tag", "marker"},
		{"++ Lab results", "[SECURE MESSAGE] Lab results", "plus-prefix", "tag"},
		{"++Lab results", "[SECURE MESSAGE] Lab results", "plus-prefix", "tag"},
		{"  ++ Lab results", "[SECURE MESSAGE] Lab results", "plus-prefix", "tag"},
		{"++", "[SECURE MESSAGE]", "plus-prefix", "tag"},
		{"++ [SECURE MESSAGE] Lab", "[SECURE MESSAGE] Lab", "plus-prefix", "tag"},
		{"[SECURE MESSAGE] Lab results", "[SECURE MESSAGE] Lab results", "plus-prefix", "marker"},
		{"Re: [SECURE MESSAGE] Lab results", "Re: [SECURE MESSAGE] Lab results", "plus-prefix", "marker"},
		{"Café ++ menu", "Café ++ menu", "", ""},
		{"C++ meeting", "C++ meeting", "", ""},
		{"secure payment", "secure payment", "", ""},
		{"*secure", "*secure", "", ""},
		{"", "", "", ""},
		{"Zoë *secure* Müller", "Zoë Müller [-Encrypted-]", "secure-tag", "tag"},
		{"日本語 *secure* 件名", "日本語 件名 [-Encrypted-]", "secure-tag", "tag"},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			d := cfg.DecideSubject(tt.in)
			name := ""
			if d.Trigger != nil {
				name = d.Trigger.Name
			}
			if name != tt.trigger || d.Reason != tt.reason || d.Subject != tt.want {
				t.Errorf("DecideSubject(%q) = trigger %q reason %q subject %q; want %q %q %q", tt.in, name, d.Reason, d.Subject, tt.trigger, tt.reason, tt.want)
			}
		})
	}
}

func TestIndexFoldOffsets(t *testing.T) {
	// Folding must never yield an offset that splits a rune or runs past
	// the end (K and the Kelvin sign fold together but differ in length).
	for _, s := range []string{"\u212a*secure*", "ß*SECURE*", "*ſecure*", "é"} {
		i := indexFold(s, "*secure*")
		if i > len(s) {
			t.Fatalf("indexFold(%q) = %d beyond the string", s, i)
		}
		_ = Default().DecideSubject(s)
	}
}

func TestGroups(t *testing.T) {
	cfg := Default()
	cfg.Domains = []Domain{{Name: "partner.example", PasswordFile: "x"}}
	tests := []struct {
		name  string
		mixed string
		rcpts []string
		want  []Group
	}{
		{"external only", "split", []string{"a@ext.example"},
			[]Group{{Treatment: KeyService, Recipients: []string{"a@ext.example"}}}},
		{"internal only", "split", []string{"a@example.org", "b@lab.example.org", "root"},
			[]Group{{Treatment: Clear, Recipients: []string{"a@example.org", "b@lab.example.org", "root"}}}},
		{"wildcard does not match the parent's lookalike", "split", []string{"a@badexample.org"},
			[]Group{{Treatment: KeyService, Recipients: []string{"a@badexample.org"}}}},
		{"routed addresses leave the organisation", "split", []string{"user%gmail.com@example.org", "gmail.com!user", "user%gmail.com", `"x@gmail.com"@example.org`, "@example.org:user@gmail.com"},
			[]Group{{Treatment: KeyService, Recipients: []string{"user%gmail.com@example.org", "gmail.com!user", "user%gmail.com", `"x@gmail.com"@example.org`, "@example.org:user@gmail.com"}}}},
		{"case and trailing dot", "split", []string{"A@EXAMPLE.ORG."},
			[]Group{{Treatment: Clear, Recipients: []string{"A@EXAMPLE.ORG."}}}},
		{"mixed split", "split", []string{"a@example.org", "b@ext.example", "c@partner.example"},
			[]Group{
				{Treatment: Clear, Recipients: []string{"a@example.org"}},
				{Treatment: KeyService, Recipients: []string{"b@ext.example"}},
				{Treatment: SharedPassword, Domain: "partner.example", Recipients: []string{"c@partner.example"}},
			}},
		{"mixed encrypt-all", "encrypt-all", []string{"a@example.org", "b@ext.example"},
			[]Group{{Treatment: KeyService, Recipients: []string{"a@example.org", "b@ext.example"}}}},
		{"encrypt-all internal only stays clear", "encrypt-all", []string{"a@example.org"},
			[]Group{{Treatment: Clear, Recipients: []string{"a@example.org"}}}},
		{"partner only under encrypt-all seals internals for the key service", "encrypt-all", []string{"a@example.org", "c@partner.example"},
			[]Group{
				{Treatment: KeyService, Recipients: []string{"a@example.org"}},
				{Treatment: SharedPassword, Domain: "partner.example", Recipients: []string{"c@partner.example"}},
			}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg.Milter.MixedRecipients = tt.mixed
			got := cfg.Groups(tt.rcpts)
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("Groups(%v) = %+v; want %+v", tt.rcpts, got, tt.want)
			}
		})
	}
}

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
	d := cfg.DecideSubject("Budget [CONFIDENTIAL] draft")
	if d.Trigger == nil || d.Subject != "Budget draft (encrypted)" {
		t.Errorf("custom trigger: %+v", d)
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
		{"template dir not yet", "[envelope]\n\ntemplate_dir = \"t\"\n", 3, "envelope.template_dir"},
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

// FuzzDecideSubject checks properties of the subject rewriting on any
// input: no panic; a fired tag leaves no tag behind and exactly one marker;
// deciding again on the result fires on the marker and changes nothing.
func FuzzDecideSubject(f *testing.F) {
	for _, s := range []string{"*secure* a", "++ b", "Re: c [-Encrypted-]", "x *SECURE* y *secure*", "\u212a*secure*", "++[SECURE MESSAGE]", ""} {
		f.Add(s)
	}
	cfg := Default()
	f.Fuzz(func(t *testing.T, s string) {
		d := cfg.DecideSubject(s)
		if d.Trigger == nil {
			if d.Subject != s {
				t.Fatalf("untriggered subject changed: %q -> %q", s, d.Subject)
			}
			return
		}
		if d.Reason == "tag" && d.Trigger.Position == "anywhere" && indexFold(d.Subject, d.Trigger.Match) >= 0 {
			t.Fatalf("tag left in %q (from %q)", d.Subject, s)
		}
		if indexFold(d.Subject, d.Trigger.Marker) < 0 {
			t.Fatalf("no marker in %q (from %q)", d.Subject, s)
		}
		again := cfg.DecideSubject(d.Subject)
		if again.Trigger == nil || (again.Reason == "marker" && again.Subject != d.Subject) {
			t.Fatalf("deciding %q again: %+v", d.Subject, again)
		}
	})
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

func TestMarkSubject(t *testing.T) {
	for _, tt := range []struct{ in, want string }{
		{"Lab results", "Lab results [-Encrypted-]"},
		{"", "[-Encrypted-]"},
		{"RE: Lab results [-encrypted-]", "RE: Lab results [-encrypted-]"},
		{"  Lab results  ", "Lab results [-Encrypted-]"},
	} {
		if got := MarkSubject(tt.in, "[-Encrypted-]"); got != tt.want {
			t.Errorf("MarkSubject(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}
