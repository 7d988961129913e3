package config

import (
	"strings"
	"unicode"
)

// SubjectDecision is what a subject asks for.
type SubjectDecision struct {
	// Trigger is the trigger that fired, nil when the subject asks for nothing.
	Trigger *Trigger
	// Reason is "tag" when the trigger's tag was found, "marker" when only
	// its marker was (a reply to a sealed message is sealed again).
	Reason string
	// Subject is the rewritten subject (decoded text). It equals the input
	// when nothing needs to change (a reply that already carries the marker).
	Subject string
}

// DecideSubject looks for the triggers' tags, then their markers, in a
// decoded subject. Triggers are tried in file order; the first that matches
// wins. Tags are literals compared case-insensitively.
func (c *Config) DecideSubject(subject string) SubjectDecision {
	for i := range c.Triggers {
		t := &c.Triggers[i]
		if out, ok := t.rewrite(subject); ok {
			return SubjectDecision{Trigger: t, Reason: "tag", Subject: out}
		}
	}
	for i := range c.Triggers {
		t := &c.Triggers[i]
		if indexFold(subject, t.Marker) >= 0 {
			return SubjectDecision{Trigger: t, Reason: "marker", Subject: subject}
		}
	}
	return SubjectDecision{Subject: subject}
}

// MarkSubject is the subject of a message the scanner sealed: the marker
// appended, unless the subject carries it already (a reply).
func MarkSubject(subject, marker string) string {
	if indexFold(subject, marker) >= 0 {
		return subject
	}
	return join(subject, marker)
}

// rewrite removes the tag and places the marker once; ok is false when the
// tag is not in the subject.
func (t *Trigger) rewrite(subject string) (string, bool) {
	var at int
	switch t.Position {
	case "prefix":
		lead := len(subject) - len(strings.TrimLeftFunc(subject, unicode.IsSpace))
		if !hasPrefixFold(subject[lead:], t.Match) {
			return "", false
		}
		at = lead
	default:
		at = indexFold(subject, t.Match)
		if at < 0 {
			return "", false
		}
	}
	before, after := subject[:at], subject[at+len(t.Match):]
	// Further copies of an anywhere-tag go too: "*secure* ... *secure*"
	// must not leave one behind in the visible subject.
	if t.Position != "prefix" {
		after = removeAllFold(after, t.Match)
		before = removeAllFold(before, t.Match)
	}
	hasMarker := indexFold(before, t.Marker) >= 0 || indexFold(after, t.Marker) >= 0
	var out string
	switch {
	case hasMarker:
		out = join(before, after)
	case t.MarkerPosition == "replace":
		out = join(join(before, t.Marker), after)
	default:
		out = join(join(before, after), t.Marker)
	}
	return out, true
}

// join glues two pieces of a subject with exactly one space where a tag was
// cut out, and trims the ends.
func join(a, b string) string {
	a = strings.TrimRightFunc(a, unicode.IsSpace)
	b = strings.TrimLeftFunc(b, unicode.IsSpace)
	switch {
	case a == "":
		return strings.TrimSpace(b)
	case b == "":
		return strings.TrimSpace(a)
	}
	return strings.TrimSpace(a + " " + b)
}

func removeAllFold(s, sub string) string {
	for {
		i := indexFold(s, sub)
		if i < 0 {
			return s
		}
		s = join(s[:i], s[i+len(sub):])
	}
}

// indexFold is a case-insensitive strings.Index that returns a byte offset
// into s. Tags and markers are compared by simple Unicode folding; lengths
// are taken from s so that the offsets are always valid.
func indexFold(s, sub string) int {
	if sub == "" {
		return -1
	}
	for i := 0; i < len(s); i++ {
		if n := prefixFoldLen(s[i:], sub); n > 0 {
			return i
		}
	}
	return -1
}

func hasPrefixFold(s, prefix string) bool { return prefixFoldLen(s, prefix) > 0 }

// prefixFoldLen reports how many bytes of s match prefix case-insensitively,
// or 0 when s does not start with prefix.
func prefixFoldLen(s, prefix string) int {
	i := 0
	for _, pr := range prefix {
		if i >= len(s) {
			return 0
		}
		sr, size := rune(s[i]), 1
		if sr >= 0x80 {
			r := []rune(s[i:min(len(s), i+4)])
			if len(r) == 0 {
				return 0
			}
			sr = r[0]
			size = len(string(sr))
		}
		if sr != pr && unicode.SimpleFold(sr) != pr && !strings.EqualFold(string(sr), string(pr)) {
			return 0
		}
		i += size
	}
	return i
}

// Treatment is what one recipient gets.
type Treatment string

const (
	// Clear: the original message, untouched (internal recipients).
	Clear Treatment = "clear"
	// KeyService: a sealed envelope opened with a key from the key service.
	KeyService Treatment = "keyservice"
	// SharedPassword: a sealed envelope opened offline with a partner's password.
	SharedPassword Treatment = "shared-password"
)

// Group is a set of recipients that get the same copy of a message.
type Group struct {
	Treatment  Treatment `json:"treatment"`
	Domain     string    `json:"domain,omitempty"` // the partner domain, for SharedPassword
	Recipients []string  `json:"recipients"`
}

// Groups sorts the envelope recipients of a triggered message into the
// copies to make: internal recipients in clear (or sealed with the others
// under mixed_recipients = "encrypt-all"), external recipients sealed for
// the key service, and each shared-password partner domain on its own.
// The order is fixed (clear, key service, partners in file order) so that
// the copy kept in place by the milter is predictable.
func (c *Config) Groups(rcpts []string) []Group {
	var clear, keyservice []string
	partners := make([][]string, len(c.Domains))
	external := 0
	for _, r := range rcpts {
		d := AddrDomain(r)
		switch {
		case c.IsInternal(r):
			clear = append(clear, r)
		case c.partnerIndex(d) >= 0:
			i := c.partnerIndex(d)
			partners[i] = append(partners[i], r)
			external++
		default:
			keyservice = append(keyservice, r)
			external++
		}
	}
	// encrypt-all seals the internal copy too, but only when the message
	// also leaves the organisation: internal-only mail stays as it is.
	if c.Milter.MixedRecipients == "encrypt-all" && external > 0 {
		keyservice = append(clear, keyservice...)
		clear = nil
	}
	var out []Group
	if len(clear) > 0 {
		out = append(out, Group{Treatment: Clear, Recipients: clear})
	}
	if len(keyservice) > 0 {
		out = append(out, Group{Treatment: KeyService, Recipients: keyservice})
	}
	for i, p := range partners {
		if len(p) > 0 {
			out = append(out, Group{Treatment: SharedPassword, Domain: strings.ToLower(strings.TrimSpace(c.Domains[i].Name)), Recipients: p})
		}
	}
	return out
}

func (c *Config) partnerIndex(domain string) int {
	for i, p := range c.Domains {
		if strings.EqualFold(strings.TrimSpace(p.Name), domain) {
			return i
		}
	}
	return -1
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
