package config

import (
	"errors"
	"fmt"
	"net/url"
	"strings"
)

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
	if s.MasterKey == "" {
		return keyErr("store.master_key", "must not be empty")
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

func (s *SMTP) validate() error { return checkHostPort("smtp.relay", s.Relay) }

func validateDomains(domains []Domain, internal []string) error {
	seen := map[string]bool{}
	for i, d := range domains {
		key := fmt.Sprintf("domain[%d]", i)
		n := strings.ToLower(strings.TrimSpace(d.Name))
		if err := checkDomainPattern(n); err != nil || strings.HasPrefix(n, "*.") {
			return keyErr(key+".name", "must be a domain name, not %q", d.Name)
		}
		if seen[n] {
			return keyErr(key+".name", "domain %q listed twice", n)
		}
		seen[n] = true
		if MatchDomain(internal, n) {
			return keyErr(key+".name", "%q is an internal domain", n)
		}
		if d.PasswordFile == "" {
			return keyErr(key+".password_file", "must not be empty")
		}
	}
	return nil
}

// Partner returns the shared-password partner domain of an external
// address (lower case), or "" when its domain is no partner.
func (c *Config) Partner(addr string) string {
	d := AddrDomain(addr)
	for _, p := range c.Domains {
		if n := strings.ToLower(strings.TrimSpace(p.Name)); n == d {
			return n
		}
	}
	return ""
}
