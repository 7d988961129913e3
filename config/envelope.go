package config

import (
	"fmt"
	"strings"
)

// Envelope configures sealing.
type Envelope struct {
	Profile Profile `toml:"profile"`
	// AttachmentName is a pattern; "{time}" becomes YYYYMMDDTHHMMSS (UTC).
	AttachmentName string `toml:"attachment_name"`
	// Decryptor: "linked" or "embedded"; shared-password envelopes always
	// embed it.
	Decryptor Decryptor `toml:"decryptor"`
	// ExpireAfter is how long keys are released; "never" by default
	// (senders and admins lock instead).
	ExpireAfter Expiry `toml:"expire_after"`
	// ReadReceipts mails the sender when a recipient first opens a message.
	ReadReceipts bool   `toml:"read_receipts"`
	BrandLogo    string `toml:"brand_logo"`
	TemplateDir  string `toml:"template_dir"`
	// RecoveryKey is an OpenPGP public key file; when set every envelope is
	// also encrypted to it (for e-discovery and disaster recovery).
	RecoveryKey string `toml:"recovery_key"`
	// OuterSubject is the subject sealed copies carry in clear.
	OuterSubject OuterSubject `toml:"outer_subject"`
	// NeutralSubject replaces "Secure message from <organisation>" under
	// outer_subject = "neutral".
	NeutralSubject string `toml:"neutral_subject"`
	// OnlineCopyHours is how long the key service keeps a key-service
	// envelope's armoured payload for the phone page (the notification's
	// "Open on your phone" link); 0 keeps none and sends no link.
	OnlineCopyHours int `toml:"online_copy_hours"`
}

// MaxOnlineCopyHours bounds online_copy_hours: the copy is a convenience
// for reading on a phone soon after the mail arrives, not an archive.
const MaxOnlineCopyHours = 7 * 24

func (e *Envelope) validate() error {
	if err := oneOf("envelope.profile", e.Profile, ProfileRFC4880, ProfileRFC9580); err != nil {
		return err
	}
	if err := oneOf("envelope.decryptor", e.Decryptor, DecryptorLinked, DecryptorEmbedded); err != nil {
		return err
	}
	name := e.AttachmentName
	if name == "" || strings.ContainsAny(name, "/\\\"\r\n") || !strings.HasSuffix(strings.ToLower(name), ".html") {
		return keyErr("envelope.attachment_name", "must be a file name ending in .html, not %q", name)
	}
	if err := oneOf("envelope.outer_subject", e.OuterSubject, OuterKeep, OuterNeutral); err != nil {
		return err
	}
	if strings.ContainsAny(e.NeutralSubject, "\r\n") {
		return keyErr("envelope.neutral_subject", "must be one line")
	}
	if e.OnlineCopyHours < 0 || e.OnlineCopyHours > MaxOnlineCopyHours {
		return keyErr("envelope.online_copy_hours", "must be a whole number of hours from 0 (no online copy, no phone link) to %d (a week), not %d", MaxOnlineCopyHours, e.OnlineCopyHours)
	}
	return nil
}

// Reply configures secure reply from the opened message.
type Reply struct {
	// Allow lists the buttons offered: "reply", "reply-all", "forward";
	// empty turns secure reply off.
	Allow []ReplyKind `toml:"allow"`
	// MaxRecipients caps the addresses of one Forward.
	MaxRecipients int `toml:"max_recipients"`
}

func (r *Reply) validate() error {
	if err := checkReplyKinds("reply.allow", r.Allow); err != nil {
		return err
	}
	if r.MaxRecipients < 1 || r.MaxRecipients > 100 {
		return keyErr("reply.max_recipients", "must be between 1 and 100")
	}
	return nil
}

func checkReplyKinds(key string, kinds []ReplyKind) error {
	seen := map[ReplyKind]bool{}
	for i, k := range kinds {
		if err := oneOf(fmt.Sprintf("%s[%d]", key, i), k, AllReplyKinds...); err != nil {
			return err
		}
		if seen[k] {
			return keyErr(fmt.Sprintf("%s[%d]", key, i), "%q listed twice", k)
		}
		seen[k] = true
	}
	return nil
}
