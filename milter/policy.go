package milter

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/mail"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/ProtonMail/go-crypto/openpgp"
	"github.com/postseal/postseal/config"
	"github.com/postseal/postseal/envelope"
	"github.com/postseal/postseal/scanner"
	"github.com/postseal/postseal/store"
)

// Policy is a checked rules file together with the files it names (the
// recovery key, the partners' shared passwords), loaded once so that a
// missing file is a start-up or reload error, never a per-message surprise.
type Policy struct {
	Config    *config.Config
	Envelope  envelope.Options
	passwords map[string][]byte // partner domain → shared password
	scan      scanner.Options
}

// LoadPolicy reads the files a configuration refers to.
func LoadPolicy(cfg *config.Config) (*Policy, error) {
	p := &Policy{
		Config: cfg,
		Envelope: envelope.Options{
			Profile:        cfg.Envelope.Profile,
			OrgName:        cfg.Organization.Name,
			HelpURL:        cfg.Organization.HelpURL,
			Support:        cfg.Organization.Support,
			PublicURL:      strings.TrimRight(cfg.Keyserver.PublicURL, "/"),
			AttachmentName: cfg.Envelope.AttachmentName,
			Decryptor:      envelope.Decryptor(cfg.Envelope.Decryptor), // validated by config
		},
		passwords: map[string][]byte{},
		scan:      scanner.Options{Detectors: cfg.Scanner.Detectors},
	}
	adminRules, err := compileScanRules(cfg.Scanner)
	if err != nil {
		return nil, err
	}
	p.scan.Rules = adminRules
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
		pw, err := os.ReadFile(d.PasswordFile)
		if err != nil {
			return nil, fmt.Errorf("domain %s: password_file: %w", d.Name, err)
		}
		pw = bytes.TrimRight(pw, "\r\n")
		if len(pw) < 8 {
			return nil, fmt.Errorf("domain %s: password_file %s: the shared password must have at least 8 characters", d.Name, d.PasswordFile)
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

// Plan is the decision for one message, taken before anything is sealed.
// It is what `postseal explain` prints.
type Plan struct {
	// Action is "pass" (deliver as received), "seal" or "reject"; "scan"
	// while the content scanner has still to decide (see Resolve).
	Action string `json:"action"`
	// Why says in words why the action was chosen.
	Why string `json:"why"`
	// Trigger is the name of the trigger that fired ("" for none).
	Trigger string `json:"trigger"`
	// Reason is "tag" or "marker" (see config.SubjectDecision).
	Reason string `json:"reason,omitempty"`
	// Subject is the subject the sealed copies carry.
	Subject string `json:"subject"`
	// OriginalSubject is the decoded subject as received.
	OriginalSubject string `json:"original_subject"`
	// Groups lists the copies to make and who gets each.
	Groups []config.Group `json:"treatment"`
	// Scan is what the content scanner found, when it looked.
	Scan *ScanReport `json:"scan,omitempty"`
	// Report: the scanner would have sealed the message but runs in report
	// mode, so it is delivered untouched.
	Report bool `json:"report,omitempty"`
}

// Plan decides what to do with a message from its raw Subject header
// values (all of them: a second Subject must not hide a tag), its envelope
// recipients and its size in bytes.
func (p *Policy) Plan(subjects []string, rcpts []string, size int64) Plan {
	plan := Plan{Action: "pass", Why: "no trigger in the subject"}
	if len(subjects) > 0 {
		plan.OriginalSubject, _ = envelope.DecodeSubject(subjects[0])
		plan.Subject = plan.OriginalSubject
	}
	var d config.SubjectDecision
	for _, raw := range subjects {
		decoded, err := envelope.DecodeSubject(raw)
		d = p.Config.DecideSubject(decoded)
		if d.Trigger == nil && err != nil {
			// An undecodable subject may still carry the tag in its raw
			// form; the rewritten subject is then built from that form.
			d = p.Config.DecideSubject(strings.TrimSpace(unfold(raw)))
		}
		if d.Trigger != nil {
			break
		}
	}
	groups := p.Config.Groups(rcpts)
	plan.Groups = groups
	sealed := 0
	for _, g := range groups {
		if g.Treatment != config.Clear {
			sealed++
		}
	}
	if d.Trigger == nil {
		if p.Config.Scanner.Enabled && sealed > 0 {
			plan.Action, plan.Why = "scan", "no trigger in the subject; the content scanner decides"
			return plan
		}
		plan.Groups = clearAll(groups)
		return plan
	}
	plan.Trigger, plan.Reason, plan.Subject = d.Trigger.Name, d.Reason, d.Subject
	switch {
	case sealed == 0:
		plan.Why = "triggered, but every recipient is internal"
	case size > int64(p.Config.Milter.MaxSecureSize):
		plan.Action = "reject"
		plan.Why = fmt.Sprintf("triggered, but the message (%s) is larger than the secure limit (%s)", humanSize(size), humanSize(int64(p.Config.Milter.MaxSecureSize)))
	default:
		plan.Action = "seal"
		plan.Why = fmt.Sprintf("trigger %q found the %s in the subject", d.Trigger.Name, d.Reason)
	}
	return plan
}

func mergeClear(groups []config.Group) []config.Group {
	if len(groups) < 2 {
		return groups
	}
	all := config.Group{Treatment: config.Clear}
	for _, g := range groups {
		all.Recipients = append(all.Recipients, g.Recipients...)
	}
	return []config.Group{all}
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

// visible returns the recipients the page may list: those named in To or
// Cc. Listing a Bcc'd address would show it to every other recipient; a
// Bcc'd recipient picks "my address is not listed" instead.
func visible(rcpts []string, d envelope.Display) []string {
	named := map[string]bool{}
	for _, h := range []string{d.To, d.Cc} {
		list, err := mail.ParseAddressList(h)
		if err != nil {
			// Unparseable header: fall back to plain substring matching below.
			continue
		}
		for _, a := range list {
			named[strings.ToLower(a.Address)] = true
		}
	}
	var out []string
	for _, r := range rcpts {
		lr := strings.ToLower(r)
		if named[lr] || (len(named) == 0 && strings.Contains(strings.ToLower(d.To+","+d.Cc), lr)) {
			out = append(out, r)
		}
	}
	return out
}

// EnvelopeStore is what sealing needs of the store.
type EnvelopeStore interface {
	PutEnvelope(ctx context.Context, e store.Envelope, key []byte) error
}

// Message is what sealing needs of a message.
type Message struct {
	QueueID string
	// Sender is the envelope sender (MAIL FROM).
	Sender  string
	Display envelope.Display
	// MessageID is the original's Message-ID field (receipts thread on it).
	MessageID string
	// Original returns a reader of the exact original bytes; it is called
	// once per sealed copy.
	Original func() (io.Reader, error)
}

// Copy is one copy of a message for one group of recipients.
type Copy struct {
	Group      config.Group
	EnvelopeID string           // "" for a clear copy
	Sealed     *envelope.Sealed // nil for a clear copy
}

// Seal makes the copies a plan asks for: every sealed group is encrypted
// and its envelope recorded durably before Seal returns. Clear groups come
// back with a nil Sealed. Any error means no copy may be delivered.
func (p *Policy) Seal(ctx context.Context, plan Plan, msg Message, st EnvelopeStore, now time.Time) ([]Copy, error) {
	copies := make([]Copy, 0, len(plan.Groups))
	display := msg.Display
	display.Subject = plan.Subject
	for _, g := range plan.Groups {
		if g.Treatment == config.Clear {
			copies = append(copies, Copy{Group: g})
			continue
		}
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		id := envelope.NewID()
		orig, err := msg.Original()
		if err != nil {
			return nil, fmt.Errorf("seal %s: read message: %w", id, err)
		}
		req := envelope.Request{ID: id, Original: orig, Display: display, Recipients: visible(g.Recipients, display), Now: now}
		if g.Treatment == config.SharedPassword {
			req.Password = p.passwords[g.Domain]
			if req.Password == nil {
				return nil, fmt.Errorf("seal %s: no shared password loaded for %s", id, g.Domain)
			}
		}
		sealed, err := envelope.Seal(req, p.Envelope)
		if err != nil {
			return nil, fmt.Errorf("seal %s: %w", id, err)
		}
		rec := store.Envelope{
			ID: id, QueueID: msg.QueueID, Sender: msg.Sender, Recipients: g.Recipients,
			Kind: string(g.Treatment), Domain: g.Domain, Trigger: plan.Trigger,
			Created: now, Expires: now.Add(time.Duration(p.Config.Envelope.ExpireAfter)),
			Subject: display.Subject, MessageID: msg.MessageID, ReadReceipts: p.Config.Envelope.ReadReceipts,
		}
		if err := st.PutEnvelope(ctx, rec, sealed.Key); err != nil {
			return nil, fmt.Errorf("seal %s: %w", id, err)
		}
		copies = append(copies, Copy{Group: g, EnvelopeID: id, Sealed: sealed})
	}
	return copies, nil
}
