package config

import (
	"fmt"
	"net/textproto"
	"path"
	"strings"
)

// Trigger asks for encryption when all of its conditions hold: a tag in
// the subject (Match) or in another header (Header + Match), the envelope
// sender (Senders), and the external recipients it applies to
// (Recipients). At least one condition is required.
type Trigger struct {
	Name string `toml:"name"`
	// Match is a literal tag, compared case-insensitively.
	Match string `toml:"match"`
	// Position is where the tag must stand.
	Position Position `toml:"position"`
	// Header, when set, is the header field the tag is looked for in
	// instead of the subject (a mail client's "Encrypt" button); the field
	// is removed from the sealed copies.
	Header string `toml:"header"`
	// Senders are envelope sender patterns: "cfo@example.org",
	// "*@oncology.example.org", "*@*.example.org".
	Senders []string `toml:"senders"`
	// Recipients are external recipient patterns: the trigger fires for
	// those recipients only; the others are treated as if it had not fired.
	Recipients []string `toml:"recipients"`
	// Marker is what the rewritten subject carries, e.g. "[-Encrypted-]".
	Marker         string         `toml:"marker"`
	MarkerPosition MarkerPosition `toml:"marker_position"`
	// Scan also runs the content scanner over such a message: its findings
	// add the scanner's marker and the notice to the sender.
	Scan bool `toml:"scan"`

	// Per-trigger overrides of the [envelope] and [reply] defaults; nil
	// (absent) means the default.
	ExpireAfter  *Expiry       `toml:"expire_after"`
	ReadReceipt  *bool         `toml:"read_receipt"`
	Reply        *[]ReplyKind  `toml:"reply"`
	OuterSubject *OuterSubject `toml:"outer_subject"`
}

// DefaultTriggers are the two seed behaviours.
func DefaultTriggers() []Trigger {
	return []Trigger{
		{Name: "secure-tag", Match: "*secure*", Position: PositionAnywhere, Marker: "[-Encrypted-]", MarkerPosition: MarkerAppend, Scan: true},
		{Name: "plus-prefix", Match: "++", Position: PositionPrefix, Marker: "[SECURE MESSAGE]", MarkerPosition: MarkerReplace},
	}
}

// HasTag reports whether the trigger looks for a tag (in the subject or a header).
func (t *Trigger) HasTag() bool { return t.Match != "" }

// MatchSender reports whether the trigger's sender condition holds for an
// envelope sender (true when it has none).
func (t *Trigger) MatchSender(sender string) bool {
	return len(t.Senders) == 0 || MatchAddress(t.Senders, sender)
}

// MatchRecipient reports whether the trigger applies to an external
// recipient (true when it has no recipient condition).
func (t *Trigger) MatchRecipient(rcpt string) bool {
	return len(t.Recipients) == 0 || MatchAddress(t.Recipients, rcpt)
}

// MatchAddress reports whether an address matches one of the glob
// patterns ("*" any run of characters but "/"), case-insensitively.
func MatchAddress(patterns []string, addr string) bool {
	a := strings.ToLower(strings.Trim(strings.TrimSpace(addr), "<>"))
	for _, p := range patterns {
		if ok, _ := path.Match(strings.ToLower(strings.TrimSpace(p)), a); ok {
			return true
		}
	}
	return false
}

func (t *Trigger) validate(key string, c *Config) error {
	if t.Name == "" {
		return keyErr(key+".name", "must not be empty")
	}
	if t.Match == "" && t.Header == "" && len(t.Senders) == 0 && len(t.Recipients) == 0 {
		return keyErr(key, "trigger %q has no condition: give match (a subject tag), header + match, senders or recipients", t.Name)
	}
	if t.Match != "" && strings.TrimSpace(t.Match) == "" {
		return keyErr(key+".match", "must not be blank")
	}
	if t.Header != "" {
		if t.Match == "" {
			return keyErr(key+".header", "needs match: the tag looked for in the %s header", t.Header)
		}
		if strings.ContainsAny(t.Header, " :\t\r\n") || textproto.CanonicalMIMEHeaderKey(t.Header) == "Subject" {
			return keyErr(key+".header", "must be a header field name other than Subject (for the subject, leave header out), not %q", t.Header)
		}
	}
	if t.Match == "" && t.Position != "" {
		return keyErr(key+".position", "has no effect without match")
	}
	if t.Position == "" {
		t.Position = PositionAnywhere
	}
	if err := oneOf(key+".position", t.Position, PositionAnywhere, PositionPrefix); err != nil {
		return err
	}
	if strings.TrimSpace(t.Marker) == "" {
		return keyErr(key+".marker", "must not be empty")
	}
	if t.MarkerPosition == "" {
		t.MarkerPosition = MarkerAppend
	}
	if err := oneOf(key+".marker_position", t.MarkerPosition, MarkerAppend, MarkerReplace); err != nil {
		return err
	}
	for i, p := range t.Senders {
		if err := checkAddressPattern(p); err != nil {
			return keyErr(fmt.Sprintf("%s.senders[%d]", key, i), "%v", err)
		}
	}
	for i, p := range t.Recipients {
		k := fmt.Sprintf("%s.recipients[%d]", key, i)
		if err := checkAddressPattern(p); err != nil {
			return keyErr(k, "%v", err)
		}
		if d := AddrDomain(p); !strings.Contains(d, "*") && MatchDomain(c.Organization.InternalDomains, d) {
			return keyErr(k, "%q is inside the organisation: triggers seal mail to external recipients only", p)
		}
	}
	if t.Reply != nil {
		if err := checkReplyKinds(key+".reply", *t.Reply); err != nil {
			return err
		}
	}
	if t.OuterSubject != nil {
		if err := oneOf(key+".outer_subject", *t.OuterSubject, OuterKeep, OuterNeutral); err != nil {
			return err
		}
	}
	return nil
}

// checkAddressPattern accepts "user@domain", "*@domain", "*@*.domain".
func checkAddressPattern(p string) error {
	p = strings.TrimSpace(p)
	local, domain, ok := strings.Cut(p, "@")
	if !ok || local == "" || domain == "" || strings.Contains(domain, "@") || strings.ContainsAny(p, " ,;<>\"") {
		return fmt.Errorf("not an address pattern like \"user@example.org\" or \"*@example.org\": %q", p)
	}
	if _, err := path.Match(p, ""); err != nil {
		return fmt.Errorf("bad pattern %q: %v", p, err)
	}
	return nil
}
