package config

import (
	"fmt"
	"regexp"
	"strings"
	"time"
	"unicode/utf8"
)

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
	// Language is what recipients read (notification, securedoc, the key
	// service's pages when the browser states no preference): a language
	// of the built-in catalogue, "en" or "es".
	Language string `toml:"language"`
	// Languages maps recipient domains ("example.es", "*.mx") to the
	// language of their notifications, where it differs from Language.
	Languages map[string]string `toml:"languages"`
}

// langRe is the shape of a language code ("es", "pt-BR"); whether the
// catalogue has it is checked where the catalogue is loaded.
var langRe = regexp.MustCompile(`^[a-z]{2,3}(-[A-Za-z0-9]{2,8})*$`)

// LogoFile is the organisation's logo file: [organization] logo or its
// other name [envelope] brand_logo; "" for none.
func (c *Config) LogoFile() string {
	if c.Organization.Logo != "" {
		return c.Organization.Logo
	}
	return c.Envelope.BrandLogo
}

// Location is the organisation's time zone (validate has checked it).
func (o Organization) Location() *time.Location {
	if loc, err := time.LoadLocation(o.Timezone); err == nil && o.Timezone != "" {
		return loc
	}
	return time.UTC
}

// DefaultHelpURL is the key service's own help page under publicURL.
func DefaultHelpURL(publicURL string) string {
	return strings.TrimRight(publicURL, "/") + "/help"
}

// MaxOrgNameRunes bounds organization.name: the name is written on pages
// sent as mail, whose lines may not pass 998 octets, and a character
// outside ASCII is written there as a 9-octet reference (&#128512;).
const MaxOrgNameRunes = 64

func (o *Organization) validate() error {
	if o.Name == "" {
		return keyErr("organization.name", "must not be empty")
	}
	if n := utf8.RuneCountInString(o.Name); n > MaxOrgNameRunes {
		return keyErr("organization.name", "is %d characters long; at most %d fit the secure message's page", n, MaxOrgNameRunes)
	}
	if tz := o.Timezone; tz != "" {
		if _, err := time.LoadLocation(tz); err != nil {
			return keyErr("organization.timezone", "%q is not a time zone name like \"America/Chicago\" or \"UTC\"", tz)
		}
	}
	if !langRe.MatchString(o.Language) {
		return keyErr("organization.language", "must be a language code like \"en\" or \"es\", not %q", o.Language)
	}
	// Domains are matched lower-cased (the recipient's domain is): a key
	// "Hospital.es" would otherwise never match, and two keys differing
	// only in case would be picked by map order.
	lower := make(map[string]string, len(o.Languages))
	for d, l := range o.Languages {
		if err := checkDomainPattern(d); err != nil {
			return keyErr("organization.languages", "%q: %v", d, err)
		}
		if !langRe.MatchString(l) {
			return keyErr("organization.languages", "%q: must be a language code like \"es\", not %q", d, l)
		}
		ld := strings.ToLower(d)
		if prev, dup := lower[ld]; dup && prev != l {
			return keyErr("organization.languages", "%q is given twice (letter case does not matter), as %q and %q", ld, prev, l)
		}
		lower[ld] = l
	}
	if o.Languages != nil {
		o.Languages = lower
	}
	for i, d := range o.InternalDomains {
		if err := checkDomainPattern(d); err != nil {
			return keyErr(fmt.Sprintf("organization.internal_domains[%d]", i), "%v", err)
		}
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

// IsInternal reports whether an address belongs to the organisation. An
// address without a domain is local to the MTA and so internal — unless it
// carries routing: Postfix by default sends "user%gmail.com@example.org"
// and "gmail.com!user" to user@gmail.com (allow_percent_hack,
// swap_bangpath), so such an address is outside whatever domain it names.
func (c *Config) IsInternal(addr string) bool {
	if routed(addr) {
		return false
	}
	d := AddrDomain(addr)
	return d == "" || MatchDomain(c.Organization.InternalDomains, d)
}

// routed reports whether the local part of an address routes elsewhere
// (%-hack, bang path, source route) or is quoted, which may hide any of
// these: such recipients are treated as external, so they are sealed.
func routed(addr string) bool {
	a := strings.Trim(strings.TrimSpace(addr), "<>")
	local := a
	if i := strings.LastIndexByte(a, '@'); i >= 0 {
		local = a[:i]
	}
	return strings.ContainsAny(local, `%!@:,\"`)
}

// AddrDomain returns the lower-cased domain of an address ("" if it has none).
func AddrDomain(addr string) string {
	a := strings.Trim(strings.TrimSpace(addr), "<>")
	i := strings.LastIndexByte(a, '@')
	if i < 0 {
		return ""
	}
	return strings.TrimSuffix(strings.ToLower(a[i+1:]), ".")
}

// MatchDomain reports whether domain matches one of the patterns: an exact
// name, or "*.name" for any subdomain of name (not name itself).
func MatchDomain(patterns []string, domain string) bool {
	domain = strings.TrimSuffix(strings.ToLower(domain), ".")
	for _, p := range patterns {
		p = strings.TrimSuffix(strings.ToLower(strings.TrimSpace(p)), ".")
		if rest, ok := strings.CutPrefix(p, "*."); ok {
			if strings.HasSuffix(domain, "."+rest) {
				return true
			}
			continue
		}
		if domain == p {
			return true
		}
	}
	return false
}
