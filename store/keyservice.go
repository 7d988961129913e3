package store

import (
	"context"
	"errors"
	"time"
)

// ErrExists is returned when a record with the same identity already exists
// (an account for the address).
var ErrExists = errors.New("already exists")

// Account is a recipient registered on the key service. Email is stored
// lower-cased; lookups are case-insensitive.
type Account struct {
	Email     string `json:"email"`
	FirstName string `json:"first_name"`
	LastName  string `json:"last_name"`
	// PasswordHash is the encoded Argon2id hash (PHC string form); the store
	// treats it as opaque.
	PasswordHash string    `json:"-"`
	Active       bool      `json:"active"`   // activated by the e-mailed link
	Disabled     bool      `json:"disabled"` // by an administrator
	Created      time.Time `json:"created"`
	Activated    time.Time `json:"activated,omitempty"`
	// SessionVersion is signed into login cookies; raising it (logout, a
	// new password) ends every session of the account.
	SessionVersion int64 `json:"-"`
	// Language is the one the owner chose for the pages and their mails
	// ("en", "es"); "" for none (the organisation's).
	Language string `json:"language,omitempty"`
}

// Token purposes.
const (
	TokenActivate = "activate"
	TokenReset    = "reset"
	// TokenReply lets the holder of an opened envelope send secure
	// replies: bound to the envelope and the address, Uses sends, expiring.
	TokenReply = "reply"
)

// Token is a single-use secret sent by e-mail. Only its hash is stored.
type Token struct {
	Hash    []byte // SHA-256 of the secret
	Purpose string // TokenActivate or TokenReset
	Email   string
	Expires time.Time
	// A pending registration (TokenActivate) carries its own password
	// hash and names: they become the account's only when this token
	// activates it with that password, so each registration stays its
	// registrant's and none overwrites another.
	PasswordHash        string
	FirstName, LastName string
	// Failures counts wrong passwords typed with this token.
	Failures int
	// EnvelopeID binds a reply token to its envelope; Uses is how many
	// sends it has left (SpendToken).
	EnvelopeID string
	Uses       int
	// Language is what a pending registration chose (see Account).
	Language string
}

// Event kinds: the audit trail. The key service's kinds are also what
// throttling counts, so that several key-service processes sharing one
// PostgreSQL throttle together.
const (
	EventRegistered   = "registered"
	EventActivated    = "activated"
	EventLoginFailed  = "login_failed"
	EventKeyReleased  = "key_released"
	EventKeyRefused   = "key_refused"
	EventResetAsked   = "reset_requested"
	EventPasswordSet  = "password_reset"
	EventKeyDisclosed = "key_disclosed" // by an administrator (postseal envelope key)
	// Changes of an envelope's state, by its sender (/sent) or an
	// administrator (postseal envelope lock|unlock|expire).
	EventEnvelopeLocked   = "envelope_locked"
	EventEnvelopeUnlocked = "envelope_unlocked"
	EventEnvelopeExpired  = "envelope_expired"
	EventExpirySet        = "envelope_expiry_set"
	EventAccountDisabled  = "account_disabled"
	EventAccountEnabled   = "account_enabled"
	EventAccountReset     = "account_reset"
	// EventSealed is written with every envelope, in its transaction.
	EventSealed = "sealed"
	// EventKeyShredded: an expired envelope's wrapped key was destroyed.
	EventKeyShredded = "key_shredded"
	// EventReceiptSent: a read receipt was queued for the sender.
	EventReceiptSent = "receipt_sent"
	// EventReplySent: a recipient's secure reply was sent.
	EventReplySent = "reply_sent"
	// EventAuditPruned is the signed checkpoint retention leaves where it
	// removed the oldest events.
	EventAuditPruned = "audit_pruned"
)

// Event is one audit record. Fields that do not apply are empty. Seq,
// PrevHash and Hash place it on the audit chain; the store sets them.
type Event struct {
	ID         int64     `json:"-"`
	Seq        int64     `json:"seq"`
	Time       time.Time `json:"time"`
	Kind       string    `json:"kind"`
	EnvelopeID string    `json:"envelope_id,omitempty"`
	// Email is the address the event is about (the recipient, the
	// account).
	Email    string `json:"address,omitempty"`
	RemoteIP string `json:"client_address,omitempty"`
	// Actor is who did it when that is not Email: "sender a@example.org",
	// "admin uid 0", "postseal".
	Actor string `json:"actor,omitempty"`
	// Auth is how the actor was authenticated and with what result
	// ("password: ok", "session", "local administrator").
	Auth string `json:"auth,omitempty"`
	// Outcome of the operation: "ok", "refused", "failed".
	Outcome  string `json:"outcome,omitempty"`
	Detail   string `json:"detail,omitempty"`
	PrevHash string `json:"prev_hash,omitempty"`
	Hash     string `json:"hash,omitempty"`
}

// EventFilter selects events; zero fields do not filter.
type EventFilter struct {
	Kind       string
	Email      string
	EnvelopeID string
	RemoteIP   string
	Since      time.Time
	Limit      int // 0 = no limit
}

// Mail is one outgoing message in the durable queue (activation, reset,
// notices). Data is the whole RFC 5322 message with CRLF line ends.
type Mail struct {
	ID   int64
	From string
	To   []string
	Data []byte
	// Route is the MTA listener the mail is submitted to; "" is RouteRelay.
	// It stays with the mail through every retry.
	Route       Route
	Attempts    int
	NextAttempt time.Time
	LastError   string
	Created     time.Time
}

// Route names the MTA listener a queued mail is submitted to.
type Route string

const (
	// RouteRelay is [smtp] relay, the MTA's listener with postseal as its
	// milter: mail postseal writes in the clear (activation, receipts,
	// notices, the clear copies of secure replies) is filtered like any
	// other mail.
	RouteRelay Route = "relay"
	// RouteReinject is [milter] reinject, the listener without milters:
	// mail that is sealed already (a secure reply's sealed copies). Through
	// the milter its subject's marker would have it sealed a second time,
	// a securedoc inside a securedoc.
	RouteReinject Route = "reinject"
)

// Valid reports whether r is a route the queue knows ("" counts as
// RouteRelay).
func (r Route) Valid() bool { return r == "" || r == RouteRelay || r == RouteReinject }

// Accounts is the key service's account and token persistence.
type Accounts interface {
	// CreateAccount stores a new account; ErrExists if the address has one.
	CreateAccount(ctx context.Context, a Account) error
	// Account returns the account for an address, or ErrNotFound.
	Account(ctx context.Context, email string) (Account, error)
	// UpdateAccount replaces the mutable fields (names, hash, active,
	// disabled, activated) of an existing account; ErrNotFound otherwise.
	UpdateAccount(ctx context.Context, a Account) error
	// ListAccounts returns accounts ordered by address, at most limit.
	ListAccounts(ctx context.Context, limit int) ([]Account, error)
	// PutToken stores a token.
	PutToken(ctx context.Context, t Token) error
	// UseToken atomically consumes the token with this hash and purpose:
	// it returns it and deletes it, or ErrNotFound if it does not exist,
	// was used, or expired before now.
	UseToken(ctx context.Context, hash []byte, purpose string, now time.Time) (Token, error)
	// SpendToken atomically takes one use of the token with this hash and
	// purpose and returns it with the uses left; ErrNotFound if it does not
	// exist, has no use left or expired before now. Token reads without
	// spending.
	SpendToken(ctx context.Context, hash []byte, purpose string, now time.Time) (Token, error)
	Token(ctx context.Context, hash []byte, purpose string, now time.Time) (Token, error)
	// DropTokens deletes every token of this purpose for the address.
	DropTokens(ctx context.Context, email, purpose string) error
	// IsLiveRecipient reports whether the address (case-insensitive) is a
	// recipient of at least one envelope that is neither expired at now nor
	// locked.
	IsLiveRecipient(ctx context.Context, email string, now time.Time) (bool, error)
}

// Events is the audit trail.
type Events interface {
	AddEvent(ctx context.Context, e Event) error
	// Events returns matching events, newest first.
	Events(ctx context.Context, f EventFilter) ([]Event, error)
	// CountEvents counts matching events (Limit is ignored).
	CountEvents(ctx context.Context, f EventFilter) (int, error)
}

// Change says who changes an envelope, how they proved who they are and
// from where; it becomes the change's audit event, written in the same
// transaction as the change.
type Change struct {
	Time     time.Time // zero: now
	Actor    string    // "sender a@example.org", "admin uid 0"
	Auth     string    // "session", "local administrator"
	RemoteIP string
	Detail   string
}

// EnvelopeAdmin changes an envelope's state; each change is an event.
type EnvelopeAdmin interface {
	// SetLocked locks or unlocks an envelope; ErrNotFound if unknown.
	SetLocked(ctx context.Context, id string, locked bool, by Change) error
	// ExpireEnvelope sets the expiry to now and destroys the wrapped key.
	ExpireEnvelope(ctx context.Context, id string, now time.Time, by Change) error
	// SetExpiry moves the expiry of an envelope whose key still exists;
	// ErrKeyDestroyed when it does not.
	SetExpiry(ctx context.Context, id string, at time.Time, by Change) error
	// ShredExpired destroys the keys of all envelopes expired before now and
	// returns how many it destroyed (a key_shredded event each).
	ShredExpired(ctx context.Context, now time.Time) (int, error)
}

// Audit reads and maintains the audit chain.
type Audit interface {
	// AuditEvents calls fn for each matching event, oldest first.
	AuditEvents(ctx context.Context, f EventFilter, fn func(Event) error) error
	// AuditHead is the newest event's place on the chain.
	AuditHead(ctx context.Context) (Checkpoint, error)
	// VerifyChain checks the chain against itself and the checkpoints.
	VerifyChain(ctx context.Context, checkpoints []Checkpoint) (ChainReport, error)
	// PruneEvents removes the events older than before behind a signed
	// checkpoint event; it returns how many it removed.
	PruneEvents(ctx context.Context, before time.Time) (int64, error)
}

// MailQueue is the durable outgoing-mail queue. Several processes may share
// it (PostgreSQL): ClaimMail hands each due message to one claimant for the
// lease.
type MailQueue interface {
	// EnqueueMail stores a message, due now; it returns once durable.
	EnqueueMail(ctx context.Context, m Mail) (int64, error)
	// ClaimMail returns up to limit messages due at now and pushes their
	// NextAttempt to now+lease so no other claimant takes them meanwhile.
	ClaimMail(ctx context.Context, now time.Time, lease time.Duration, limit int) ([]Mail, error)
	// MailSent removes a delivered message.
	MailSent(ctx context.Context, id int64) error
	// MailFailed records a failed attempt and when to try again.
	MailFailed(ctx context.Context, id int64, next time.Time, reason string) error
	// DropMail removes a message that failed permanently (after logging).
	DropMail(ctx context.Context, id int64) error
	// MailQueueDepth counts queued messages.
	MailQueueDepth(ctx context.Context) (int, error)
	// MailPartlySent records an attempt that reached some recipients and
	// keeps the message for the others (remaining, not empty) only, in
	// one step: the next attempt sends no one a second copy.
	MailPartlySent(ctx context.Context, id int64, remaining []string, next time.Time, reason string) error
}
