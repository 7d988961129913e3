package config

import (
	"fmt"
	"regexp"
	"slices"
	"strings"
)

// Scanner configures automatic encryption: untagged mail to external
// recipients is scanned for sensitive data and sealed when it carries some.
type Scanner struct {
	Enabled bool `toml:"enabled"`
	// Mode is "encrypt" (seal what the scanner flags) or "report" (shadow
	// mode: log and count findings, deliver untouched — for tuning).
	Mode ScanMode `toml:"mode"`
	// Detectors names the built-in detectors in use; empty means all.
	Detectors []string `toml:"detectors"`
	// NotifySender sends the sender a notice naming the rules that fired.
	NotifySender bool `toml:"notify_sender"`
	// Marker is appended to the subject of mail the scanner sealed.
	Marker string `toml:"marker"`
	// Unreadable is what happens to mail with parts the scanner cannot read
	// (encrypted archives, corrupt files, limits hit): "encrypt" (the
	// default: what cannot be checked is not sent in the clear) or "ignore".
	Unreadable Unreadable `toml:"unreadable"`
	// MaxSize is the largest message scanned; a larger one is not read and
	// Unreadable decides. Set it to the MTA's own size limit or above.
	MaxSize  Size             `toml:"max_size"`
	Patterns []ScannerPattern `toml:"pattern"`
	Keywords []ScannerWords   `toml:"keywords"`
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

func (s *Scanner) validate() error {
	if err := oneOf("scanner.mode", s.Mode, ScanEncrypt, ScanReport); err != nil {
		return err
	}
	if err := oneOf("scanner.unreadable", s.Unreadable, UnreadableEncrypt, UnreadableIgnore); err != nil {
		return err
	}
	if s.MaxSize <= 0 {
		return keyErr("scanner.max_size", "must be positive")
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
