// Package store persists what postseal must remember about envelopes: their
// id, sender, recipients, times and the message key, wrapped with a master
// key kept in a separate file, and for a few hours the phone page's copy of
// the encrypted payload (online.go). The database never holds a message in
// clear, so a stolen database alone opens nothing.
//
// One interface, several databases: SQLite (embedded, pure Go, the default)
// and PostgreSQL for several mail servers sharing one key service.
package store

import (
	"context"
	"errors"
	"time"
)

// ErrNotFound is returned when an envelope does not exist.
var ErrNotFound = errors.New("not found")

// ErrKeyDestroyed: the envelope's key was destroyed (expired); its expiry
// can no longer change.
var ErrKeyDestroyed = errors.New("the envelope has expired and its key is destroyed")

// EnvelopeKind says how an envelope opens.
type EnvelopeKind string

const (
	// KindKeyService: a message key released by the key service.
	KindKeyService EnvelopeKind = "keyservice"
	// KindSharedPassword: opened offline with a partner's password; no key kept.
	KindSharedPassword EnvelopeKind = "shared-password"
)

// Envelope is the record of one sealed copy of a message.
type Envelope struct {
	ID      string `json:"id"`
	QueueID string `json:"queue_id,omitempty"`
	Sender  string `json:"sender"`
	// Recipients are the addresses that may open the envelope.
	Recipients []string `json:"recipients"`
	// Kind says how the envelope opens.
	Kind    EnvelopeKind `json:"kind"`
	Domain  string       `json:"domain,omitempty"`
	Trigger string       `json:"trigger,omitempty"`
	Created time.Time    `json:"created"`
	Expires time.Time    `json:"expires"` // zero: never
	Locked  bool         `json:"locked"`
	HasKey  bool         `json:"has_key"`
	// PayloadDigest is the SHA-256 (hex) of the armoured payload as
	// sealed; the key service hands it out with the key so the decryptor
	// refuses a payload someone else encrypted under the same key.
	PayloadDigest string `json:"payload_digest,omitempty"`
	// Subject is the subject as it travelled in clear (marked, or the
	// neutral one): what the sender's read receipts and Sent page show.
	Subject string `json:"subject,omitempty"`
	// MessageID of the original message, so receipts thread with it.
	MessageID string `json:"message_id,omitempty"`
	// ReadReceipts: the sender gets a receipt when each recipient first
	// opens it.
	ReadReceipts bool `json:"read_receipts"`
	// Reply lists how its recipients may answer from the opened message
	// ("reply", "reply-all", "forward"), decided when it was sealed. nil:
	// sealed before this was recorded (the key service's configuration
	// decides); empty: no answer from the page.
	Reply []string `json:"reply"`
	// ReplyAll are the original's To and Cc addresses: with the sender,
	// whom "Reply all" answers (the clear copies' recipients are in no
	// envelope). nil: not recorded; Recipients stand in.
	ReplyAll []string `json:"reply_all,omitempty"`
	// OnlineUntil is when the phone page's copy is (or was) deleted; zero:
	// the envelope never had one.
	OnlineUntil time.Time `json:"online_until,omitzero"`
	// Online, when set, is written by PutEnvelope with the envelope (its
	// Expires becomes OnlineUntil); Envelope never reads it back (see
	// OnlineCopies).
	Online *OnlineCopy `json:"-"`
}

// Store is the persistence used by the milter, the key service and the CLI.
type Store interface {
	Accounts
	Events
	EnvelopeAdmin
	MailQueue
	Audit
	Senders
	OnlineCopies
	// PutEnvelope records an envelope and its message key (nil for
	// shared-password envelopes), and its online copy when e.Online is
	// set. It returns only once the record is durable.
	PutEnvelope(ctx context.Context, e Envelope, key []byte) error
	// Envelope returns one envelope, or ErrNotFound.
	Envelope(ctx context.Context, id string) (Envelope, error)
	// Envelopes lists the newest envelopes first, at most limit.
	Envelopes(ctx context.Context, limit int) ([]Envelope, error)
	// EnvelopeKey returns the unwrapped message key, or ErrNotFound.
	EnvelopeKey(ctx context.Context, id string) ([]byte, error)
	// Ping checks that the database answers.
	Ping(ctx context.Context) error
	Close() error
}
