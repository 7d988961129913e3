// Package policy decides what happens to a message and carries the
// decision out. Decide is pure: facts about a message in, one typed
// Decision out (action, SMTP answer, reason, subject, recipient groups with
// their options). The milter at the end of the header and at the end of
// the message, `postseal explain` and `postseal seal` all call it, so they
// cannot drift apart. Seal then makes the copies a decision asks for,
// through the same code for the milter and for secure replies.
package policy

import (
	"bytes"
	"fmt"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/ProtonMail/go-crypto/openpgp"
	"github.com/postseal/postseal/config"
	"github.com/postseal/postseal/envelope"
	"github.com/postseal/postseal/locale"
	"github.com/postseal/postseal/scanner"
)

// MinSharedPassword is the shortest partner password accepted: a
// securedoc for a partner domain can be attacked offline by whoever holds
// it, so the password must carry the strength (16 random characters; the
// ones postseal domain password makes carry 120 bits).
const MinSharedPassword = 16

// Policy is a checked configuration together with the files it names (the
// recovery key, the partners' shared passwords), loaded once so that a
// missing file is a start-up or reload error, never a per-message surprise.
type Policy struct {
	Config    *config.Config
	Envelope  envelope.Options
	passwords map[string][]byte // partner domain → shared password
	scan      scanner.Options
	limits    scanner.Limits
}

// Load reads the files a configuration refers to.
func Load(cfg *config.Config) (*Policy, error) {
	p := &Policy{
		Config: cfg,
		Envelope: envelope.Options{
			Profile:        string(cfg.Envelope.Profile),
			OrgName:        cfg.Organization.Name,
			HelpURL:        cfg.Organization.HelpURL,
			Support:        cfg.Organization.Support,
			PublicURL:      strings.TrimRight(cfg.Keyserver.PublicURL, "/"),
			AttachmentName: cfg.Envelope.AttachmentName,
			Decryptor:      envelope.Decryptor(cfg.Envelope.Decryptor),
			Language:       cfg.Organization.Language,
			Languages:      cfg.Organization.Languages,
			OnlineCopy:     time.Duration(cfg.Envelope.OnlineCopyHours) * time.Hour,
		},
		passwords: map[string][]byte{},
		scan:      scanner.Options{Detectors: cfg.Scanner.Detectors},
		limits:    scanLimits(cfg.Scanner.MaxSize),
	}
	adminRules, err := compileScanRules(cfg.Scanner)
	if err != nil {
		return nil, err
	}
	p.scan.Rules = adminRules
	if err := checkLanguages(cfg.Organization); err != nil {
		return nil, err
	}
	if dir := cfg.Envelope.TemplateDir; dir != "" {
		if p.Envelope.Templates, err = envelope.LoadTemplates(dir); err != nil {
			return nil, fmt.Errorf("envelope.template_dir: %w", err)
		}
	}
	if f := cfg.LogoFile(); f != "" {
		if p.Envelope.Logo, err = envelope.ReadLogo(f); err != nil {
			return nil, fmt.Errorf("organization.logo: %w", err)
		}
	}
	if f := cfg.Envelope.RecoveryKey; f != "" {
		keys, err := readPublicKeys(f)
		if err != nil {
			return nil, fmt.Errorf("envelope.recovery_key %s: %w", f, err)
		}
		p.Envelope.RecoveryKey = keys
	}
	for _, d := range cfg.Domains {
		// MinSharedPassword: anyone holding a partner's securedoc can guess
		// its shared password offline, at the speed of their hardware.
		pw, err := os.ReadFile(d.PasswordFile)
		if err != nil {
			return nil, fmt.Errorf("domain %s: password_file: %w", d.Name, err)
		}
		pw = bytes.TrimRight(pw, "\r\n")
		if len(pw) < MinSharedPassword {
			return nil, fmt.Errorf("domain %s: password_file %s: the shared password must have at least %d characters (postseal domain password %s makes one)", d.Name, d.PasswordFile, MinSharedPassword, d.Name)
		}
		p.passwords[strings.ToLower(strings.TrimSpace(d.Name))] = pw
	}
	return p, nil
}

// compileScanRules compiles the admin's pattern and keyword rules, reading
// word-list files now so that a missing file fails the start or the reload.
func compileScanRules(sc config.Scanner) (*scanner.Rules, error) {
	if len(sc.Patterns) == 0 && len(sc.Keywords) == 0 {
		return nil, nil
	}
	pats := make([]scanner.PatternRule, len(sc.Patterns))
	for i, r := range sc.Patterns {
		pats[i] = scanner.PatternRule{Name: r.Name, Regex: r.Regex, Context: r.Context, MinCount: r.MinCount}
	}
	kws := make([]scanner.KeywordRule, len(sc.Keywords))
	for i, r := range sc.Keywords {
		words := slices.Clone(r.Words)
		if r.File != "" {
			f, err := os.Open(r.File)
			if err != nil {
				return nil, fmt.Errorf("scanner.keywords %q: %w", r.Name, err)
			}
			list, err := scanner.LoadWordList(f)
			f.Close()
			if err != nil {
				return nil, fmt.Errorf("scanner.keywords %q: %s: %w", r.Name, r.File, err)
			}
			words = append(words, list...)
		}
		kws[i] = scanner.KeywordRule{Name: r.Name, Words: words, MinCount: r.MinCount}
	}
	compiled, err := scanner.CompileRules(pats, kws)
	if err != nil {
		return nil, fmt.Errorf("scanner: %w", err)
	}
	return compiled, nil
}

func readPublicKeys(path string) (openpgp.EntityList, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	keys, err := openpgp.ReadArmoredKeyRing(bytes.NewReader(data))
	if err != nil {
		keys, err = openpgp.ReadKeyRing(bytes.NewReader(data))
	}
	if err != nil {
		return nil, fmt.Errorf("not an OpenPGP public key: %w", err)
	}
	if len(keys) == 0 {
		return nil, fmt.Errorf("no key in file")
	}
	return keys, nil
}

func unfold(s string) string {
	s = strings.ReplaceAll(s, "\r\n", "")
	return strings.ReplaceAll(s, "\n", "")
}

func humanSize(n int64) string {
	switch {
	case n >= 1000*1000:
		return fmt.Sprintf("%.1f MB", float64(n)/1e6)
	case n >= 1000:
		return fmt.Sprintf("%.1f kB", float64(n)/1e3)
	}
	return fmt.Sprintf("%d bytes", n)
}

// checkLanguages makes sure the catalogue has every language the
// configuration names (config only checks their shape).
func checkLanguages(o config.Organization) error {
	cat := locale.Builtin()
	known := strings.Join(cat.Codes(), ", ")
	if !cat.Has(o.Language) {
		return fmt.Errorf("organization.language: no catalogue for %q (available: %s)", o.Language, known)
	}
	for d, l := range o.Languages {
		if !cat.Has(l) {
			return fmt.Errorf("organization.languages: %q: no catalogue for %q (available: %s)", d, l, known)
		}
	}
	return nil
}

// scanLimits lets the scanner read a whole message up to [scanner]
// max_size: a large clean message is read to its end and passes, instead of
// being truncated (unreadable) at the scanner's default part size.
func scanLimits(maxSize config.Size) scanner.Limits {
	n := max(int64(maxSize), scanner.DefaultMaxTotal)
	return scanner.Limits{MaxTotal: n, MaxEntry: n}
}
