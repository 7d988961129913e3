// Package config holds postseal's configuration file (one TOML file, strictly
// checked) and the pure decisions taken from it: which trigger a subject fires,
// how the subject is rewritten, and which recipients are internal, external or
// partners with a shared password.
//
// Everything here is free of I/O beyond reading the file, so every decision can
// be table-tested and explained (`postseal explain`) without a mail server.
package config

import (
	"errors"
	"fmt"
	"net/netip"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/BurntSushi/toml"

	// Time zone names work where the system has no zone database.
	_ "time/tzdata"
)

// Config is the whole rules file. Field tags are the key names users write;
// they are part of the documented contract (DESIGN.md) and must not change.
type Config struct {
	Milter       Milter       `toml:"milter"`
	Organization Organization `toml:"organization"`
	Triggers     []Trigger    `toml:"trigger"`
	Scanner      Scanner      `toml:"scanner"`
	Envelope     Envelope     `toml:"envelope"`
	Keyserver    Keyserver    `toml:"keyserver"`
	Store        Store        `toml:"store"`
	SMTP         SMTP         `toml:"smtp"`
	Domains      []Domain     `toml:"domain"`
	Audit        Audit        `toml:"audit"`

	// Source names the file the configuration came from ("" for the
	// embedded defaults); relative paths inside it are resolved against it.
	Source string `toml:"-"`
}

// Milter configures the mail filter side.
type Milter struct {
	// Listen is "inet:HOST:PORT" or "unix:/path".
	Listen string `toml:"listen"`
	// MaxSecureSize is the largest message that will be sealed; a larger
	// triggered message is refused with 552 so the sender learns at once.
	MaxSecureSize Size `toml:"max_secure_size"`
	// Reinject is the SMTP address of an MTA listener without milters, used to
	// deliver sealed copies when one message needs more than one treatment.
	Reinject string `toml:"reinject"`
	// MixedRecipients is "split" or "encrypt-all".
	MixedRecipients string `toml:"mixed_recipients"`
	// SpoolDir holds message bodies too large to keep in memory while they are
	// filtered (plaintext: created 0700, emptied at start).
	SpoolDir string `toml:"spool_dir"`
	// Timeout bounds the work on one message; past it the message is temp-failed.
	Timeout Duration `toml:"timeout"`
}

// Organization describes the sending organisation.
type Organization struct {
	Name            string   `toml:"name"`
	InternalDomains []string `toml:"internal_domains"`
	// HelpURL is where recipients find help; unset, the key service's own
	// help page ({public_url}/help), so it follows public_url.
	HelpURL string `toml:"help_url"`
	Support string `toml:"support"`
	// Timezone is the IANA name ("America/Chicago") times are shown in to
	// senders (read receipts, the Sent page), always with UTC beside.
	Timezone string `toml:"timezone"`
	// Logo is an image file (PNG, JPEG or GIF) shown on the key service's
	// pages and inline in notifications; the same setting as
	// [envelope] brand_logo (either key, not two different files).
	Logo string `toml:"logo"`
}

// Location is the organisation's time zone (validate has checked it).
func (o Organization) Location() *time.Location {
	if loc, err := time.LoadLocation(o.Timezone); err == nil && o.Timezone != "" {
		return loc
	}
	return time.UTC
}

// Audit configures the audit log.
type Audit struct {
	// Keep is how long events are kept; older ones are removed behind a
	// signed checkpoint event. 0 keeps them for ever.
	Keep Duration `toml:"keep"`
}

// Trigger is a subject tag that asks for encryption.
type Trigger struct {
	Name string `toml:"name"`
	// Match is a literal, compared case-insensitively.
	Match string `toml:"match"`
	// Position is "anywhere" or "prefix".
	Position string `toml:"position"`
	// Marker is what the rewritten subject carries, e.g. "[-Encrypted-]".
	Marker string `toml:"marker"`
	// MarkerPosition is "append" (tag removed, marker appended) or "replace"
	// (the tag is replaced by the marker where it stood).
	MarkerPosition string `toml:"marker_position"`
	// Scan says whether the content scanner also looks at such a message.
	Scan bool `toml:"scan"`
}

// Scanner configures automatic encryption: untagged mail to external
// recipients is scanned for sensitive data and sealed when it carries some.
type Scanner struct {
	Enabled bool `toml:"enabled"`
	// Mode is "encrypt" (seal what the scanner flags) or "report" (shadow
	// mode: log and count findings, deliver untouched — for tuning).
	Mode string `toml:"mode"`
	// Detectors names the built-in detectors in use; empty means all.
	Detectors []string `toml:"detectors"`
	// NotifySender sends the sender a notice naming the rules that fired.
	NotifySender bool `toml:"notify_sender"`
	// Marker is appended to the subject of mail the scanner sealed.
	Marker string `toml:"marker"`
	// Unreadable is what happens to mail with parts the scanner cannot read
	// (encrypted archives, corrupt files, limits hit): "encrypt" (the
	// default: what cannot be checked is not sent in the clear) or "ignore".
	Unreadable string           `toml:"unreadable"`
	Patterns   []ScannerPattern `toml:"pattern"`
	Keywords   []ScannerWords   `toml:"keywords"`
}

// Detectors are the names of the scanner's built-in detectors; the scanner
// package's own list is checked against this one by a test.
var Detectors = []string{"us_ssn", "credit_card", "us_npi", "us_dea", "aba_routing", "iban", "icd10", "us_mbi"}

// ScannerPattern is an admin-defined regular expression rule.
type ScannerPattern struct {
	Name     string   `toml:"name"`
	Regex    string   `toml:"regex"`
	Context  []string `toml:"context"`
	MinCount int      `toml:"min_count"`
}

// ScannerWords is an admin-defined keyword list rule: the words inline,
// or one per line in File (blank lines and "#" comments ignored).
type ScannerWords struct {
	Name     string   `toml:"name"`
	Words    []string `toml:"words"`
	File     string   `toml:"file"`
	MinCount int      `toml:"min_count"`
}

// Envelope configures sealing.
type Envelope struct {
	// Profile is "rfc4880" (SEIPD v1, GnuPG-readable) or "rfc9580" (SEIPD v2 GCM).
	Profile string `toml:"profile"`
	// AttachmentName is a pattern; "{time}" becomes YYYYMMDDTHHMMSS (UTC).
	AttachmentName string `toml:"attachment_name"`
	// Decryptor is "linked" (the page loads its decryptor from the key
	// service, pinned by hash: pages of a few KB) or "embedded" (the page
	// carries it, ~120 KB, and opens with no network). Shared-password
	// envelopes always embed it.
	Decryptor    string   `toml:"decryptor"`
	ExpireAfter  Duration `toml:"expire_after"`
	ReadReceipts bool     `toml:"read_receipts"`
	BrandLogo    string   `toml:"brand_logo"`
	TemplateDir  string   `toml:"template_dir"`
	// RecoveryKey is an OpenPGP public key file; when set every envelope is
	// also encrypted to it (for e-discovery and disaster recovery).
	RecoveryKey string `toml:"recovery_key"`
}

// Keyserver configures the recipient-facing HTTP service.
type Keyserver struct {
	Listen            string `toml:"listen"`
	PublicURL         string `toml:"public_url"`
	PasswordMinLength int    `toml:"password_min_length"`
	// LoginRate is "N/PERIOD" ("5/15m", "10/hour"): failed logins allowed
	// per address within PERIOD before each further attempt must wait, the
	// wait doubling per failure; one IP address may fail ten times as often.
	LoginRate string `toml:"login_rate"`
	// Argon2 cost of password hashes (OWASP: "19MiB", 2, 1). Raised values
	// reach each stored hash at its owner's next successful login.
	Argon2Memory  Size `toml:"argon2_memory"`
	Argon2Time    int  `toml:"argon2_time"`
	Argon2Threads int  `toml:"argon2_threads"`
	// TrustedProxies are the reverse proxies (addresses or CIDR prefixes)
	// whose X-Forwarded-For header names the client: behind a TLS proxy
	// every client is otherwise the proxy's address, and the per-IP
	// throttle and the operator-only endpoints cannot tell them apart.
	TrustedProxies []string `toml:"trusted_proxies"`
}

// Proxies returns TrustedProxies parsed (validate has checked them).
func (k Keyserver) Proxies() []netip.Prefix {
	var out []netip.Prefix
	for _, p := range k.TrustedProxies {
		if pfx, err := parseProxy(p); err == nil {
			out = append(out, pfx)
		}
	}
	return out
}

func parseProxy(s string) (netip.Prefix, error) {
	if strings.Contains(s, "/") {
		p, err := netip.ParsePrefix(s)
		return p.Masked(), err
	}
	a, err := netip.ParseAddr(s)
	if err != nil {
		return netip.Prefix{}, err
	}
	return netip.PrefixFrom(a, a.BitLen()), nil
}

// Store configures persistence.
type Store struct {
	// Driver is "sqlite" or "postgres".
	Driver string `toml:"driver"`
	// DSN is a file path (sqlite) or a connection string (postgres).
	DSN string `toml:"dsn"`
	// MasterKey is the file holding the key that wraps message keys at rest.
	MasterKey string `toml:"master_key"`
}

func (s *Store) validate() error {
	if s.DSN == "" {
		return keyErr("store.dsn", "must not be empty")
	}
	switch s.Driver {
	case "sqlite":
		if isPostgresURL(s.DSN) {
			return keyErr("store.dsn", "is a PostgreSQL URL but driver is \"sqlite\"; set driver = \"postgres\"")
		}
	case "postgres":
		return checkPostgresDSN(s.DSN)
	default:
		return keyErr("store.driver", "must be \"sqlite\" or \"postgres\", not %q", s.Driver)
	}
	return nil
}

func isPostgresURL(dsn string) bool {
	return strings.HasPrefix(dsn, "postgres://") || strings.HasPrefix(dsn, "postgresql://")
}

// checkPostgresDSN accepts the two forms libpq and pgx read: a URL
// (postgres://user@host:5432/db?sslmode=disable) or key=value words
// (host=... dbname=...). The server is not contacted here.
func checkPostgresDSN(dsn string) error {
	if isPostgresURL(dsn) {
		u, err := url.Parse(dsn)
		if err != nil {
			return keyErr("store.dsn", "not a valid PostgreSQL URL: %v", errors.Unwrap(err))
		}
		if u.Host == "" && u.Query().Get("host") == "" {
			return keyErr("store.dsn", "the PostgreSQL URL names no host (postgres://USER@HOST:5432/DATABASE)")
		}
		if strings.Trim(u.Path, "/") == "" {
			return keyErr("store.dsn", "the PostgreSQL URL names no database (postgres://USER@HOST:5432/DATABASE)")
		}
		return nil
	}
	if !strings.Contains(dsn, "=") {
		return keyErr("store.dsn", "with driver \"postgres\" give a URL (postgres://USER@HOST:5432/DATABASE) or key=value words (host=HOST dbname=DATABASE)")
	}
	return nil
}

// SMTP configures outgoing mail that postseal writes itself.
type SMTP struct {
	Relay string `toml:"relay"`
	From  string `toml:"from"`
}

// Domain is a partner that agreed a shared password with the organisation:
// its recipients' envelopes open offline with that password.
type Domain struct {
	Name         string `toml:"name"`
	PasswordFile string `toml:"password_file"`
}

// Default returns the embedded defaults: with no file at all postseal
// reproduces both seed behaviours (`*secure*` anywhere → ` [-Encrypted-]`
// appended; `++` prefix → `[SECURE MESSAGE]`, not scanned; 10 MB limit).
func Default() *Config {
	return &Config{
		Milter: Milter{
			Listen:          "inet:127.0.0.1:10025",
			MaxSecureSize:   10 * 1000 * 1000,
			Reinject:        "127.0.0.1:10026",
			MixedRecipients: "split",
			SpoolDir:        "var/spool",
			Timeout:         Duration(5 * time.Minute),
		},
		Organization: Organization{
			Name:            "Example Health",
			InternalDomains: []string{"example.org", "*.example.org"},
			HelpURL:         "http://127.0.0.1:8025/help",
			Support:         "Contact your sender or the IT service desk.",
		},
		Triggers: DefaultTriggers(),
		Scanner: Scanner{
			Mode:         "encrypt",
			Marker:       "[-Encrypted-]",
			NotifySender: true,
			Unreadable:   "encrypt",
		},
		Envelope: Envelope{
			Profile:        "rfc4880",
			AttachmentName: "securedoc_{time}.html",
			Decryptor:      "linked",
			ExpireAfter:    Duration(90 * 24 * time.Hour),
			ReadReceipts:   true,
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

// LogoFile is the organisation's logo file: [organization] logo or its
// other name [envelope] brand_logo; "" for none.
func (c *Config) LogoFile() string {
	if c.Organization.Logo != "" {
		return c.Organization.Logo
	}
	return c.Envelope.BrandLogo
}

// DefaultHelpURL is the key service's own help page under publicURL.
func DefaultHelpURL(publicURL string) string {
	return strings.TrimRight(publicURL, "/") + "/help"
}

// DefaultTriggers are the two seed behaviours.
func DefaultTriggers() []Trigger {
	return []Trigger{
		{Name: "secure-tag", Match: "*secure*", Position: "anywhere", Marker: "[-Encrypted-]", MarkerPosition: "append", Scan: true},
		{Name: "plus-prefix", Match: "++", Position: "prefix", Marker: "[SECURE MESSAGE]", MarkerPosition: "replace", Scan: false},
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
			return nil, &Error{File: name, Line: perr.Position.Line, Msg: perr.Message}
		}
		var pperr *toml.ParseError
		if errors.As(err, &pperr) {
			return nil, &Error{File: name, Line: pperr.Position.Line, Msg: pperr.Message}
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

func (s *Scanner) validate() error {
	switch s.Mode {
	case "encrypt", "report":
	default:
		return keyErr("scanner.mode", "must be \"encrypt\" or \"report\", not %q", s.Mode)
	}
	switch s.Unreadable {
	case "encrypt", "ignore":
	default:
		return keyErr("scanner.unreadable", "must be \"encrypt\" or \"ignore\", not %q", s.Unreadable)
	}
	if strings.TrimSpace(s.Marker) == "" {
		return keyErr("scanner.marker", "must not be empty")
	}
	for _, d := range s.Detectors {
		if !slices.Contains(Detectors, d) {
			return keyErr("scanner.detectors", "unknown detector %q (known: %s)", d, strings.Join(Detectors, ", "))
		}
	}
	names := map[string]bool{}
	for _, d := range Detectors {
		names[d] = true
	}
	rule := func(key, name string, minCount *int) error {
		if strings.TrimSpace(name) == "" {
			return keyErr(key+".name", "must not be empty")
		}
		if names[name] {
			return keyErr(key+".name", "%q is already the name of a detector or another rule", name)
		}
		names[name] = true
		if *minCount < 0 {
			return keyErr(key+".min_count", "must be 1 or more")
		}
		if *minCount == 0 {
			*minCount = 1
		}
		return nil
	}
	for i := range s.Patterns {
		p := &s.Patterns[i]
		key := fmt.Sprintf("scanner.pattern[%d]", i)
		if err := rule(key, p.Name, &p.MinCount); err != nil {
			return err
		}
		if p.Regex == "" {
			return keyErr(key+".regex", "must not be empty")
		}
		re, err := regexp.Compile(p.Regex)
		if err != nil {
			return keyErr(key+".regex", "%v", err)
		}
		if re.MatchString("") {
			return keyErr(key+".regex", "matches the empty string, so it would fire on every message")
		}
	}
	for i := range s.Keywords {
		k := &s.Keywords[i]
		key := fmt.Sprintf("scanner.keywords[%d]", i)
		if err := rule(key, k.Name, &k.MinCount); err != nil {
			return err
		}
		if len(k.Words) == 0 && k.File == "" {
			return keyErr(key+".words", "give the words, or a word-list file in \"file\"")
		}
		for j, w := range k.Words {
			if strings.TrimSpace(w) == "" {
				return keyErr(fmt.Sprintf("%s.words[%d]", key, j), "must not be empty")
			}
		}
	}
	return nil
}

func keyErr(key, format string, args ...any) error {
	return &Error{Key: key, Msg: fmt.Sprintf(format, args...)}
}

func (c *Config) validate() error {
	if err := checkListen("milter.listen", c.Milter.Listen); err != nil {
		return err
	}
	if c.Milter.MaxSecureSize <= 0 {
		return keyErr("milter.max_secure_size", "must be positive")
	}
	if err := checkHostPort("milter.reinject", c.Milter.Reinject); err != nil {
		return err
	}
	switch c.Milter.MixedRecipients {
	case "split", "encrypt-all":
	default:
		return keyErr("milter.mixed_recipients", "must be \"split\" or \"encrypt-all\", not %q", c.Milter.MixedRecipients)
	}
	if c.Milter.SpoolDir == "" {
		return keyErr("milter.spool_dir", "must not be empty")
	}
	if c.Milter.Timeout <= 0 {
		return keyErr("milter.timeout", "must be positive")
	}
	if c.Organization.Name == "" {
		return keyErr("organization.name", "must not be empty")
	}
	for i, d := range c.Organization.InternalDomains {
		if err := checkDomainPattern(d); err != nil {
			return keyErr(fmt.Sprintf("organization.internal_domains[%d]", i), "%v", err)
		}
	}
	if len(c.Triggers) == 0 {
		return keyErr("trigger", "at least one [[trigger]] is needed")
	}
	seen := map[string]bool{}
	for i, t := range c.Triggers {
		key := fmt.Sprintf("trigger[%d]", i)
		if t.Name == "" {
			return keyErr(key+".name", "must not be empty")
		}
		if seen[t.Name] {
			return keyErr(key+".name", "duplicate trigger name %q", t.Name)
		}
		seen[t.Name] = true
		if strings.TrimSpace(t.Match) == "" {
			return keyErr(key+".match", "must not be empty")
		}
		switch t.Position {
		case "anywhere", "prefix":
		default:
			return keyErr(key+".position", "must be \"anywhere\" or \"prefix\", not %q", t.Position)
		}
		if strings.TrimSpace(t.Marker) == "" {
			return keyErr(key+".marker", "must not be empty")
		}
		switch t.MarkerPosition {
		case "append", "replace":
		default:
			return keyErr(key+".marker_position", "must be \"append\" or \"replace\", not %q", t.MarkerPosition)
		}
	}
	if err := c.Scanner.validate(); err != nil {
		return err
	}
	switch c.Envelope.Profile {
	case "rfc4880", "rfc9580":
	default:
		return keyErr("envelope.profile", "must be \"rfc4880\" or \"rfc9580\", not %q", c.Envelope.Profile)
	}
	switch c.Envelope.Decryptor {
	case "linked", "embedded":
	default:
		return keyErr("envelope.decryptor", "must be \"linked\" or \"embedded\", not %q", c.Envelope.Decryptor)
	}
	name := c.Envelope.AttachmentName
	if name == "" || strings.ContainsAny(name, "/\\\"\r\n") || !strings.HasSuffix(strings.ToLower(name), ".html") {
		return keyErr("envelope.attachment_name", "must be a file name ending in .html, not %q", name)
	}
	// Accepted keys of features still to come are refused when used, so
	// that a setting never silently does nothing.
	if c.Envelope.TemplateDir != "" {
		return keyErr("envelope.template_dir", "template overrides are not part of this version of postseal; remove the key")
	}
	if c.Organization.Logo != "" && c.Envelope.BrandLogo != "" && c.Organization.Logo != c.Envelope.BrandLogo {
		return keyErr("organization.logo", "is the same setting as envelope.brand_logo, which names another file; keep one")
	}
	if c.Envelope.ExpireAfter <= 0 {
		return keyErr("envelope.expire_after", "must be positive")
	}
	if c.Keyserver.PublicURL == "" || !(strings.HasPrefix(c.Keyserver.PublicURL, "http://") || strings.HasPrefix(c.Keyserver.PublicURL, "https://")) {
		return keyErr("keyserver.public_url", "must be an http:// or https:// URL, not %q", c.Keyserver.PublicURL)
	}
	if err := checkHostPort("keyserver.listen", c.Keyserver.Listen); err != nil {
		return err
	}
	if c.Keyserver.PasswordMinLength < 8 {
		return keyErr("keyserver.password_min_length", "must be at least 8")
	}
	if _, _, err := ParseRate(c.Keyserver.LoginRate); err != nil {
		return keyErr("keyserver.login_rate", "%v", err)
	}
	if m := c.Keyserver.Argon2Memory; m < 7<<20 || m > 4<<30 {
		return keyErr("keyserver.argon2_memory", "must be between \"7MiB\" and \"4GiB\" (OWASP: \"19MiB\" with argon2_time = 2)")
	}
	if t := c.Keyserver.Argon2Time; t < 1 || t > 100 {
		return keyErr("keyserver.argon2_time", "must be between 1 and 100")
	}
	for i, p := range c.Keyserver.TrustedProxies {
		if _, err := parseProxy(p); err != nil {
			return keyErr(fmt.Sprintf("keyserver.trusted_proxies[%d]", i), "%q is not an IP address or CIDR prefix", p)
		}
	}
	if p := c.Keyserver.Argon2Threads; p < 1 || p > 255 {
		return keyErr("keyserver.argon2_threads", "must be between 1 and 255")
	}
	if err := c.Store.validate(); err != nil {
		return err
	}
	if c.Store.MasterKey == "" {
		return keyErr("store.master_key", "must not be empty")
	}
	if tz := c.Organization.Timezone; tz != "" {
		if _, err := time.LoadLocation(tz); err != nil {
			return keyErr("organization.timezone", "%q is not a time zone name like \"America/Chicago\" or \"UTC\"", tz)
		}
	}
	if k := time.Duration(c.Audit.Keep); k != 0 && k < 24*time.Hour {
		return keyErr("audit.keep", "must be at least \"1d\" (or 0 to keep events for ever)")
	}
	if err := checkHostPort("smtp.relay", c.SMTP.Relay); err != nil {
		return err
	}
	seenDomain := map[string]bool{}
	for i, d := range c.Domains {
		key := fmt.Sprintf("domain[%d]", i)
		n := strings.ToLower(strings.TrimSpace(d.Name))
		if err := checkDomainPattern(n); err != nil || strings.HasPrefix(n, "*.") {
			return keyErr(key+".name", "must be a domain name, not %q", d.Name)
		}
		if seenDomain[n] {
			return keyErr(key+".name", "domain %q listed twice", n)
		}
		seenDomain[n] = true
		if MatchDomain(c.Organization.InternalDomains, n) {
			return keyErr(key+".name", "%q is an internal domain", n)
		}
		if d.PasswordFile == "" {
			return keyErr(key+".password_file", "must not be empty")
		}
	}
	return nil
}

// resolvePaths makes file paths from the rules file relative to its folder,
// so a config behaves the same whatever the working directory.
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

func checkListen(key, v string) error {
	switch {
	case strings.HasPrefix(v, "inet:"):
		return checkHostPort(key, strings.TrimPrefix(v, "inet:"))
	case strings.HasPrefix(v, "unix:") && len(v) > len("unix:"):
		return nil
	}
	return keyErr(key, "must be \"inet:HOST:PORT\" or \"unix:/path\", not %q", v)
}

func checkHostPort(key, v string) error {
	i := strings.LastIndexByte(v, ':')
	if i <= 0 {
		return keyErr(key, "must be HOST:PORT, not %q", v)
	}
	p, err := strconv.Atoi(v[i+1:])
	if err != nil || p <= 0 || p > 65535 {
		return keyErr(key, "must be HOST:PORT with a port 1-65535, not %q", v)
	}
	return nil
}

func checkDomainPattern(d string) error {
	s := strings.TrimPrefix(d, "*.")
	if s == "" || strings.ContainsAny(s, " @*/:") || strings.HasPrefix(s, ".") || strings.HasSuffix(s, ".") {
		return fmt.Errorf("not a domain or *.domain pattern: %q", d)
	}
	return nil
}

// Size is a byte count written as "10MB", "512KiB" or a bare number.
type Size int64

// UnmarshalText implements encoding.TextUnmarshaler.
func (s *Size) UnmarshalText(b []byte) error {
	v, err := ParseSize(string(b))
	if err != nil {
		return err
	}
	*s = Size(v)
	return nil
}

// MarshalText implements encoding.TextMarshaler.
func (s Size) MarshalText() ([]byte, error) { return []byte(strconv.FormatInt(int64(s), 10)), nil }

// ParseSize parses sizes with SI (kB, MB, GB = 1000^n) and IEC (KiB, MiB,
// GiB = 1024^n) units; "10MB" is 10,000,000 bytes, as Postfix counts.
func ParseSize(s string) (int64, error) {
	t := strings.TrimSpace(s)
	units := []struct {
		suffix string
		mult   int64
	}{{"KiB", 1 << 10}, {"MiB", 1 << 20}, {"GiB", 1 << 30}, {"kB", 1000}, {"KB", 1000}, {"MB", 1000 * 1000}, {"GB", 1000 * 1000 * 1000}, {"B", 1}}
	mult := int64(1)
	for _, u := range units {
		if strings.HasSuffix(t, u.suffix) {
			mult = u.mult
			t = strings.TrimSpace(strings.TrimSuffix(t, u.suffix))
			break
		}
	}
	n, err := strconv.ParseInt(t, 10, 64)
	if err != nil || n < 0 || n > (1<<62)/mult {
		return 0, fmt.Errorf("not a size like \"10MB\": %q", s)
	}
	return n * mult, nil
}

// Duration is a time.Duration written as "90d", "12h" or "30m".
type Duration time.Duration

// UnmarshalText implements encoding.TextUnmarshaler; "d" counts days.
func (d *Duration) UnmarshalText(b []byte) error {
	s := strings.TrimSpace(string(b))
	if strings.HasSuffix(s, "d") {
		n, err := strconv.Atoi(strings.TrimSuffix(s, "d"))
		if err != nil || n < 0 {
			return fmt.Errorf("not a duration like \"90d\" or \"12h\": %q", s)
		}
		*d = Duration(time.Duration(n) * 24 * time.Hour)
		return nil
	}
	v, err := time.ParseDuration(s)
	if err != nil {
		return fmt.Errorf("not a duration like \"90d\" or \"12h\": %q", s)
	}
	*d = Duration(v)
	return nil
}

// MarshalText implements encoding.TextMarshaler.
func (d Duration) MarshalText() ([]byte, error) { return []byte(time.Duration(d).String()), nil }

// ParseRate reads "N/PERIOD": a count and the period it is allowed in.
// PERIOD is a unit (s, min, hour, day) or a duration ("15m", "2h").
func ParseRate(v string) (n int, per time.Duration, err error) {
	count, period, ok := strings.Cut(strings.TrimSpace(v), "/")
	n, cerr := strconv.Atoi(strings.TrimSpace(count))
	if !ok || cerr != nil || n < 1 || n > 10000 {
		return 0, 0, fmt.Errorf("not a rate like \"5/15m\": %q", v)
	}
	period = strings.TrimSpace(period)
	switch period {
	case "s", "sec", "second":
		per = time.Second
	case "min", "minute":
		per = time.Minute
	case "h", "hour":
		per = time.Hour
	case "d", "day":
		per = 24 * time.Hour
	default:
		var d Duration
		if err := d.UnmarshalText([]byte(period)); err != nil {
			return 0, 0, fmt.Errorf("not a rate like \"5/15m\": %q", v)
		}
		per = time.Duration(d)
	}
	if per < time.Second || per > 7*24*time.Hour {
		return 0, 0, fmt.Errorf("the period of %q must be between 1s and 7d", v)
	}
	return n, per, nil
}
