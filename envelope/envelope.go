// Package envelope seals a message: the exact original bytes become one
// OpenPGP message (deflated, ASCII armour), carried in a securedoc HTML page
// (which loads its decryptor from the key service, pinned by hash, or
// carries it), attached to a notification that replaces the message
// for external recipients. It also holds the subject codec (RFC 2047 in and
// out, folded) because a rewritten subject is part of the sealed copy.
//
// envelope knows nothing of milters, stores or configuration files: callers
// pass Options and a Request, and get the parts of the new message back.
package envelope

import (
	"io"
	"time"

	"github.com/ProtonMail/go-crypto/openpgp"
)

// Options are the per-organisation settings of sealing.
type Options struct {
	// Profile is "rfc4880" (SKESK v4 + SEIPD v1, AES-256; GnuPG reads it) or
	// "rfc9580" (SKESK v6 + SEIPD v2 AES-256-GCM, Argon2 S2K for passwords).
	Profile string
	// OrgName, HelpURL and Support brand the notification and the page.
	OrgName string
	HelpURL string
	Support string
	// PublicURL is the key service's base URL (no trailing slash), used for
	// the Open Online form and the registration link.
	PublicURL string
	// AttachmentName is a file name pattern; "{time}" is replaced by the
	// sealing time as YYYYMMDDTHHMMSS (UTC).
	AttachmentName string
	// Decryptor is how the page carries its decryptor ("" is linked; a
	// shared-password envelope, or one without PublicURL, always embeds it).
	Decryptor Decryptor
	// Logo, when set, is shown inline at the top of the notification's
	// HTML part (see ReadLogo).
	Logo *Logo
	// Language is the recipients' language ("en", "es"; "" is English),
	// Languages the language of recipient domains ("example.es", "*.mx")
	// where it differs: the notification and the page are written in the
	// recipients' language when all of them share one.
	Language  string
	Languages map[string]string
	// Templates are the notification's templates (see LoadTemplates); nil
	// is the shipped ones.
	Templates *Templates
	// RecoveryKey, when non-empty, is an extra recipient of every envelope.
	RecoveryKey openpgp.EntityList
	// OnlineCopy is how long the key service keeps a copy of a key-service
	// envelope's payload for the phone page; when set, the notification
	// links to {PublicURL}/m/{id} and Sealed carries the copy. 0: neither.
	OnlineCopy time.Duration
}

// Display is what the page and notification show of the original message.
// The values are decoded (UTF-8) header values.
type Display struct {
	From    string
	To      string
	Cc      string
	Subject string // the subject as the recipient sees it (rewritten)
	Date    string
}

// Request is one message to seal.
type Request struct {
	// ID is the envelope id (see NewID).
	ID string
	// Original is the message exactly as received (RFC 5322 header + body).
	Original io.Reader
	Display  Display
	// Recipients are the envelope recipients who may open this envelope.
	Recipients []string
	// Password, when set, is a partner's shared password: the envelope is
	// encrypted with it (S2K) instead of with a fresh message key.
	Password []byte
	// Now is the sealing time (attachment name, page).
	Now time.Time
}

// Sealed is the new message for the recipients of one Request.
type Sealed struct {
	// Key is the fresh 32-byte message key; nil when Request.Password was used.
	Key []byte
	// AttachmentName is the securedoc's file name.
	AttachmentName string
	// Header holds the new top-level MIME fields, in order: MIME-Version,
	// Content-Type (multipart/mixed with its boundary) and
	// X-Postseal-Envelope. Values are unfolded and carry no leading space.
	Header []Field
	// Body is the notification body that goes after the header (nil from
	// SealTo, which wrote it out instead).
	Body []byte
	// PayloadDigest is the SHA-256 (lowercase hex) of the OpenPGP message
	// in the page, unarmoured. Stored with the envelope, it lets the key
	// service's decryptor refuse a payload someone else encrypted under
	// the same message key (any recipient holds that key).
	PayloadDigest string
	// OnlinePayload is the armoured payload exactly as the securedoc in
	// the body carries it (from Seal a slice of Body, not a copy; from
	// SealTo the one copy kept as the body went out), and OnlineMeta the
	// page's display header (JSON, see PageMeta): the online copy the key
	// service keeps for the phone page. Both empty when Options.OnlineCopy
	// is 0 or the envelope opens with a shared password.
	OnlinePayload []byte
	OnlineMeta    string
	// onlineSpan is where OnlinePayload lies in the body written.
	onlineSpan [2]int64
}

// Field is one header field.
type Field struct {
	Name  string
	Value string
}
