// Package config holds postseal's configuration file: one TOML file,
// strictly checked, every section of it. Unknown keys and bad values are
// errors that name the file and the line; keys absent from the file keep
// the documented defaults. The decisions taken from it live in package
// policy; this package only says what the file means.
package config

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/BurntSushi/toml"

	// Time zone names work where the system has no zone database.
	_ "time/tzdata"
)

// Config is the whole file. Field tags are the key names users write; they
// are a contract with every existing file and must not change meaning.
type Config struct {
	Milter       Milter       `toml:"milter"`
	Organization Organization `toml:"organization"`
	Triggers     []Trigger    `toml:"trigger"`
	Scanner      Scanner      `toml:"scanner"`
	Envelope     Envelope     `toml:"envelope"`
	Reply        Reply        `toml:"reply"`
	Keyserver    Keyserver    `toml:"keyserver"`
	Store        Store        `toml:"store"`
	SMTP         SMTP         `toml:"smtp"`
	Domains      []Domain     `toml:"domain"`
	Audit        Audit        `toml:"audit"`

	// Source names the file the configuration came from ("" for the
	// embedded defaults); relative paths inside it are resolved against it.
	Source string `toml:"-"`
}

// Default returns the embedded defaults: with no file at all postseal
// reproduces both seed behaviours (`*secure*` anywhere → ` [-Encrypted-]`
// appended; `++` prefix → `[SECURE MESSAGE]`, not scanned; 10 MB limit;
// read receipts on; keys never expire; reply, reply all and forward).
func Default() *Config {
	return &Config{
		Milter: Milter{
			Listen:          "inet:127.0.0.1:10025",
			MaxSecureSize:   10 * 1000 * 1000,
			Reinject:        "127.0.0.1:10026",
			MixedRecipients: MixedSplit,
			SpoolDir:        "var/spool",
			Timeout:         Duration(5 * time.Minute),
		},
		Organization: Organization{
			Name:            "Example Health",
			InternalDomains: []string{"example.org", "*.example.org"},
			HelpURL:         "http://127.0.0.1:8025/help",
			Support:         "Contact your sender or the IT service desk.",
			Language:        "en",
			Languages:       map[string]string{},
		},
		Triggers: DefaultTriggers(),
		Scanner: Scanner{
			Mode:         ScanEncrypt,
			Marker:       "[-Encrypted-]",
			NotifySender: true,
			Unreadable:   UnreadableEncrypt,
			MaxSize:      100 * 1000 * 1000,
		},
		Envelope: Envelope{
			Profile:        ProfileRFC4880,
			AttachmentName: "securedoc_{time}.html",
			Decryptor:      DecryptorLinked,
			ExpireAfter:    Never,
			ReadReceipts:   true,
			OuterSubject:   OuterKeep,
			// As long as CRES keeps a message for its phone recipients.
			OnlineCopyHours: 8,
		},
		Reply: Reply{
			Allow:         append([]ReplyKind(nil), AllReplyKinds...),
			MaxRecipients: 10,
		},
		Keyserver: Keyserver{
			Listen:            "127.0.0.1:8025",
			PublicURL:         "http://127.0.0.1:8025",
			PasswordMinLength: 12,
			LoginRate:         "5/15m",
			Argon2Memory:      19 << 20,
			Argon2Time:        2,
			Argon2Threads:     1,
			TrustedProxies:    []string{},
		},
		Store: Store{
			Driver:    "sqlite",
			DSN:       "var/postseal.db",
			MasterKey: "var/master.key",
		},
		SMTP: SMTP{
			Relay: "127.0.0.1:25",
			From:  "postseal@example.org",
		},
	}
}

// Load reads and checks a rules file. Keys absent from the file keep their
// defaults; [[trigger]] tables, when present, replace the default triggers.
// Every error names the file and, where it can, the line.
func Load(path string) (*Config, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read rules: %w", err)
	}
	return Parse(path, data)
}

// Parse is Load on bytes already read; name is used in error messages and to
// resolve relative paths.
func Parse(name string, data []byte) (*Config, error) {
	cfg := Default()
	cfg.Triggers = nil
	md, err := toml.Decode(string(data), cfg)
	if err != nil {
		var perr toml.ParseError
		if errors.As(err, &perr) {
			return nil, &Error{File: name, Line: perr.Position.Line, Key: perr.LastKey, Msg: perr.Message}
		}
		var pperr *toml.ParseError
		if errors.As(err, &pperr) {
			return nil, &Error{File: name, Line: pperr.Position.Line, Key: pperr.LastKey, Msg: pperr.Message}
		}
		if m := typeErrRe.FindStringSubmatch(err.Error()); m != nil {
			line, _ := strconv.Atoi(m[1])
			return nil, &Error{File: name, Line: line, Key: m[2], Msg: m[3]}
		}
		return nil, &Error{File: name, Msg: err.Error()}
	}
	loc := newLocator(data)
	if und := md.Undecoded(); len(und) > 0 {
		k := und[0]
		return nil, &Error{File: name, Line: loc.line(k), Key: k.String(), Msg: "unknown key"}
	}
	if !md.IsDefined("trigger") {
		cfg.Triggers = DefaultTriggers()
	}
	if !md.IsDefined("organization", "help_url") {
		cfg.Organization.HelpURL = DefaultHelpURL(cfg.Keyserver.PublicURL)
	}
	cfg.Source = name
	if err := cfg.validate(); err != nil {
		var ve *Error
		if errors.As(err, &ve) {
			ve.File = name
			if ve.Line == 0 && ve.Key != "" {
				ve.Line = loc.lineOfPath(ve.Key)
			}
		}
		return nil, err
	}
	cfg.resolvePaths(filepath.Dir(name))
	return cfg, nil
}

// typeErrRe picks the place out of the decoder's type errors, which are
// plain strings ("toml: line 2 (last key "milter.listen"): incompatible …").
var typeErrRe = regexp.MustCompile(`^toml: line (\d+) \(last key "([^"]*)"\): (.*)$`)

// Error is a configuration error with its place.
type Error struct {
	File string
	Line int
	Key  string
	Msg  string
}

func (e *Error) Error() string {
	var b strings.Builder
	if e.File != "" {
		b.WriteString(e.File)
		if e.Line > 0 {
			b.WriteString(":" + strconv.Itoa(e.Line))
		}
		b.WriteString(": ")
	}
	if e.Key != "" {
		b.WriteString(e.Key + ": ")
	}
	b.WriteString(e.Msg)
	return b.String()
}

func keyErr(key, format string, args ...any) error {
	return &Error{Key: key, Msg: fmt.Sprintf(format, args...)}
}

// validate checks every section, then what only the whole can tell.
func (c *Config) validate() error {
	if err := c.Milter.validate(); err != nil {
		return err
	}
	if err := c.Organization.validate(); err != nil {
		return err
	}
	if len(c.Triggers) == 0 {
		return keyErr("trigger", "at least one [[trigger]] is needed")
	}
	seen := map[string]bool{}
	for i := range c.Triggers {
		t := &c.Triggers[i]
		key := fmt.Sprintf("trigger[%d]", i)
		if err := t.validate(key, c); err != nil {
			return err
		}
		if seen[t.Name] {
			return keyErr(key+".name", "duplicate trigger name %q", t.Name)
		}
		seen[t.Name] = true
	}
	if err := c.Scanner.validate(); err != nil {
		return err
	}
	if err := c.Envelope.validate(); err != nil {
		return err
	}
	if err := c.Reply.validate(); err != nil {
		return err
	}
	if err := c.Keyserver.validate(); err != nil {
		return err
	}
	if err := c.Store.validate(); err != nil {
		return err
	}
	if err := c.SMTP.validate(); err != nil {
		return err
	}
	if c.Organization.Logo != "" && c.Envelope.BrandLogo != "" && c.Organization.Logo != c.Envelope.BrandLogo {
		return keyErr("organization.logo", "is the same setting as envelope.brand_logo, which names another file; keep one")
	}
	if err := c.Audit.validate(); err != nil {
		return err
	}
	return validateDomains(c.Domains, c.Organization.InternalDomains)
}

// resolvePaths makes file paths from the file relative to its folder, so a
// config behaves the same whatever the working directory.
func (c *Config) resolvePaths(dir string) {
	abs := func(p *string) {
		if *p != "" && !filepath.IsAbs(*p) {
			*p = filepath.Join(dir, *p)
		}
	}
	abs(&c.Milter.SpoolDir)
	abs(&c.Store.MasterKey)
	if c.Store.Driver == "sqlite" {
		abs(&c.Store.DSN)
	}
	abs(&c.Envelope.RecoveryKey)
	abs(&c.Envelope.BrandLogo)
	abs(&c.Organization.Logo)
	abs(&c.Envelope.TemplateDir)
	for i := range c.Domains {
		abs(&c.Domains[i].PasswordFile)
	}
	for i := range c.Scanner.Keywords {
		abs(&c.Scanner.Keywords[i].File)
	}
}
