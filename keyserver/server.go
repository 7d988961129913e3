package keyserver

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/netip"
	"net/url"
	"runtime"
	"strings"
	"sync"
	"time"
	"unicode"

	"github.com/postseal/postseal/envelope"
	"github.com/postseal/postseal/locale"
	"github.com/postseal/postseal/policy"
	"github.com/postseal/postseal/store"
)

// Store is what the key service needs of persistence: envelope lookups, the
// account and token records, and the audit trail (also the throttling
// counter). store.SQLite (and the PostgreSQL store) implement it.
type Store interface {
	Envelope(ctx context.Context, id string) (store.Envelope, error)
	EnvelopeKey(ctx context.Context, id string) ([]byte, error)
	// OnlineCopy is an envelope's copy for the phone page (phone.go).
	OnlineCopy(ctx context.Context, id string) (store.OnlineCopy, error)
	// PutEnvelope records the envelopes of sealed secure replies.
	PutEnvelope(ctx context.Context, e store.Envelope, key []byte) error

	CreateAccount(ctx context.Context, a store.Account) error
	Account(ctx context.Context, email string) (store.Account, error)
	UpdateAccount(ctx context.Context, a store.Account) error
	PutToken(ctx context.Context, t store.Token) error
	UseToken(ctx context.Context, hash []byte, purpose string, now time.Time) (store.Token, error)
	Token(ctx context.Context, hash []byte, purpose string, now time.Time) (store.Token, error)
	SpendToken(ctx context.Context, hash []byte, purpose string, now time.Time) (store.Token, error)
	DropTokens(ctx context.Context, email, purpose string) error
	IsLiveRecipient(ctx context.Context, email string, now time.Time) (bool, error)

	FirstOpen(ctx context.Context, envelopeID, address string, at time.Time, receipt *store.Mail) (bool, error)
	SentEnvelopes(ctx context.Context, sender string, offset, limit int) ([]store.SentEnvelope, int, error)
	IsSender(ctx context.Context, address string) (bool, error)
	SetLocked(ctx context.Context, id string, locked bool, by store.Change) error
	ExpireEnvelope(ctx context.Context, id string, now time.Time, by store.Change) error
	SetExpiry(ctx context.Context, id string, at time.Time, by store.Change) error

	AddEvent(ctx context.Context, e store.Event) error
	Events(ctx context.Context, f store.EventFilter) ([]store.Event, error)
	CountEvents(ctx context.Context, f store.EventFilter) (int, error)
}

// Mailer queues a message for delivery; it returns once the message is
// durable (the mail queue retries delivery), so a page can promise a mail.
type Mailer interface {
	Enqueue(ctx context.Context, from string, to []string, msg []byte) error
}

// Metrics counts what the operator watches. The zero Deps uses a no-op.
type Metrics interface {
	KeyReleased()
	LoginFailed()
	// Refused counts a request refused by a flood limit (reasons below):
	// such refusals are counted, never stored one by one, so a flood
	// cannot fill the disk.
	Refused(reason string)
}

// Reasons given to Metrics.Refused.
const (
	refusedThrottled = "throttled"      // failed-password backoff
	refusedBusy      = "busy"           // no attempt slot within attemptWait
	refusedIP        = "limit_ip"       // form limit of the client address
	refusedAddress   = "limit_address"  // mail limit of the address asked for
	refusedOpen      = "open_busy"      // Open Online at its concurrency bound
	refusedRepeat    = "repeat_refusal" // a locked/expired refusal already recorded
	refusedReplies   = "limit_replies"  // secure replies per address per hour
)

type noMetrics struct{}

func (noMetrics) KeyReleased()   {}
func (noMetrics) LoginFailed()   {}
func (noMetrics) Refused(string) {}

// Config is the key service's settings (from [keyserver], [organization],
// [smtp] and [milter] max_secure_size).
type Config struct {
	// PublicURL is the base URL recipients reach the service at; links in
	// mails and the register/forgot URLs in API answers are built from it.
	PublicURL string
	// Organization, HelpURL, Support brand the pages and mails.
	Organization string
	HelpURL      string
	Support      string
	// Logo is an image shown on the pages (served at /static/logo); nil for none.
	Logo []byte
	// From is the sender of the mails the service writes.
	From string
	// Location is the organisation's time zone, for the times shown to
	// senders; nil means UTC.
	Location *time.Location
	// PasswordMinLength is the shortest password accepted (no composition
	// rules: length is what makes a password hard to guess).
	PasswordMinLength int
	// Argon2 is the password-hash cost; zero means DefaultArgon2.
	Argon2 Argon2
	// HashConcurrency bounds simultaneous Argon2id computations of key
	// releases; 0 means the number of CPUs. The forms (register, activate,
	// login, password changes) have slots of their own, half as many (at
	// least one), so a flood of registrations never delays a key release.
	HashConcurrency int
	// AccountFailures failed logins per address from one client network
	// (IPv4 /24, IPv6 /48) within FailureWindow are allowed before
	// backoff; AddressFailures from all networks together (the ceiling
	// that keeps a distributed guesser slow); IPFailures per client
	// address. Zero means 5, 20×AccountFailures, 10×AccountFailures and
	// 15 minutes.
	AccountFailures int
	AddressFailures int
	IPFailures      int
	FailureWindow   time.Duration
	// MaxOpenBody caps a POST /open body (the armoured payload is ~1.35× the
	// message); 0 means 14 MB + 64 KiB.
	MaxOpenBody int64
	// OpenConcurrency bounds simultaneous Open Online posts; past it the
	// answer is 503 with Retry-After. 0 means 4.
	OpenConcurrency int
	// PageStall bounds how long the client of an Open Online or phone
	// page may take to accept each pageChunk of it; past it the connection
	// is cut and its page slot freed (pagewrite.go). 0 means pageStall.
	PageStall time.Duration
	// PageWriteTime bounds the whole writing of such a page, however
	// steady: the listener's WriteTimeout, which the deadlines renewed per
	// chunk replace. 0 means pageWriteTime.
	PageWriteTime time.Duration
	// TrustedProxies are reverse proxies whose X-Forwarded-For names the
	// client (see ClientAddr); empty: the peer is the client.
	TrustedProxies []netip.Prefix
	// Language is the organisation's language ([organization] language):
	// pages use it when the browser states no preference. "" is English.
	Language string
	// TemplateDir holds page templates replacing the shipped ones (its
	// keyserver/ folder, see loadPages); "" for none.
	TemplateDir string
	// Catalog holds the translations; nil is the built-in one.
	Catalog *locale.Catalog
	// MaxReplySize caps a secure reply as written (text, attachments,
	// MIME); 0 means 10 MB, the default [milter] max_secure_size.
	MaxReplySize int64
	// RepliesPerHour is how many secure replies one address may send in an
	// hour; 0 means 30.
	RepliesPerHour int
	// RepliesPerClient is how many secure replies one client address
	// (IPv6: its /64) may send in an hour, whatever the accounts; 0 means
	// 2 × RepliesPerHour.
	RepliesPerClient int
	// ClientInFlight bounds the Open Online posts and the replies one
	// client address has in progress at once, and the replies of one
	// account from any addresses, so a few slow uploads from one client
	// cannot hold every slot; 0 means 2.
	ClientInFlight int
	// ReplyReadTimeout bounds how long a reply's whole form may take to
	// arrive; past it the answer is 408 and the connection is closed. 0
	// means replyReadTimeout (60 s).
	ReplyReadTimeout time.Duration
	// ReplyConcurrency bounds replies being read and sealed at once (each
	// holds up to MaxReplySize in memory); past it the answer is 503. 0
	// means 4.
	ReplyConcurrency int
	// PhoneHours is how long a sealed message can be read from the
	// notification's "Open on your phone" link ([envelope]
	// online_copy_hours); the help page says so. 0: there is no such link.
	PhoneHours int
	// SessionKey signs login cookies; nil means a random key per process
	// (logins then last until a restart, and several processes behind one
	// name need a shared key).
	SessionKey []byte
}

// Deps are the key service's collaborators.
type Deps struct {
	Store  Store
	Mailer Mailer
	// Sealed queues mail that is sealed already — the sealed copies of
	// secure replies — for the MTA listener without milters ([milter]
	// reinject): through the relay's milter the marker in their subject
	// would have them sealed again. nil: Mailer (tests that capture mail).
	Sealed  Mailer
	Metrics Metrics // nil: no-op
	Log     *slog.Logger
	Now     func() time.Time // nil: time.Now; tests move a clock
	// Policy is the rules in force (they change on reload); secure replies
	// are decided and sealed by it. nil: no secure reply (no reply token
	// is handed out).
	Policy func() *policy.Policy
}

// Server is the key service; it is an http.Handler.
type Server struct {
	cfg      Config
	st       Store
	mail     Mailer
	sealed   Mailer // see Deps.Sealed
	metrics  Metrics
	log      *slog.Logger
	now      func() time.Time
	hash     *hasher // key release
	formHash *hasher // everything else
	limits   *limits
	openSem  chan struct{}
	pages    *pageSet
	public   *url.URL
	https    bool
	handler  http.Handler
	sessions sessionSigner
	cat      *locale.Catalog
	// openPage renders POST /open; replaced in tests.
	openPage func(w http.ResponseWriter, r *http.Request, p openRequest)
	bg       sync.WaitGroup
	bgSem    chan struct{}
	attempts gates // see enterAttempt
	policy   func() *policy.Policy
	replySem chan struct{}
	// replyQuota reserves reply sends before delivery.
	replyQuota replyQuota
	// inFlight bounds each client's Open Online posts and replies.
	inFlight inFlight
}

const (
	maxPasswordLen = 1024 // longer gains nothing and feeds the hash megabytes
	maxFormBody    = 64 << 10
	maxAPIBody     = 16 << 10
	activationTTL  = 7 * 24 * time.Hour
	resetTTL       = time.Hour
	sessionTTL     = 30 * time.Minute
	maxBackground  = 64
)

// New checks the configuration and returns the key service.
func New(cfg Config, deps Deps) (*Server, error) {
	if deps.Store == nil || deps.Mailer == nil {
		return nil, errors.New("keyserver: a store and a mailer are needed")
	}
	u, err := url.Parse(cfg.PublicURL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("keyserver: public URL %q: want an absolute http(s) URL", cfg.PublicURL)
	}
	cfg.PublicURL = strings.TrimRight(cfg.PublicURL, "/")
	if cfg.Argon2 == (Argon2{}) {
		cfg.Argon2 = DefaultArgon2
	}
	if cfg.HashConcurrency <= 0 {
		cfg.HashConcurrency = runtime.NumCPU()
	}
	if cfg.PasswordMinLength <= 0 {
		cfg.PasswordMinLength = 12
	}
	if cfg.AccountFailures <= 0 {
		cfg.AccountFailures = 5
	}
	if cfg.AddressFailures <= 0 {
		cfg.AddressFailures = 20 * cfg.AccountFailures
	}
	if cfg.OpenConcurrency <= 0 {
		cfg.OpenConcurrency = 4
	}
	if cfg.PageStall <= 0 {
		cfg.PageStall = pageStall
	}
	if cfg.PageWriteTime <= 0 {
		cfg.PageWriteTime = pageWriteTime
	}
	if cfg.IPFailures <= 0 {
		cfg.IPFailures = 10 * cfg.AccountFailures
	}
	if cfg.FailureWindow <= 0 {
		cfg.FailureWindow = 15 * time.Minute
	}
	if cfg.MaxOpenBody <= 0 {
		cfg.MaxOpenBody = 14_000_000 + 64<<10
	}
	if cfg.Catalog == nil {
		cfg.Catalog = locale.Builtin()
	}
	if !cfg.Catalog.Has(cfg.Language) {
		cfg.Language = locale.Source
	}
	if cfg.MaxReplySize <= 0 {
		cfg.MaxReplySize = 10 * 1000 * 1000
	}
	if cfg.RepliesPerHour <= 0 {
		cfg.RepliesPerHour = 30
	}
	if cfg.RepliesPerClient <= 0 {
		cfg.RepliesPerClient = 2 * cfg.RepliesPerHour
	}
	if cfg.ClientInFlight <= 0 {
		cfg.ClientInFlight = perClientInFlight
	}
	if cfg.ReplyConcurrency <= 0 {
		cfg.ReplyConcurrency = 4
	}
	if cfg.ReplyReadTimeout <= 0 {
		cfg.ReplyReadTimeout = replyReadTimeout
	}
	if cfg.Organization == "" {
		cfg.Organization = "postseal"
	}
	if cfg.Location == nil {
		cfg.Location = time.UTC
	}
	if len(cfg.SessionKey) == 0 {
		cfg.SessionKey = make([]byte, 32)
		_, _ = rand.Read(cfg.SessionKey)
	}
	h, err := newHasher(cfg.Argon2, cfg.HashConcurrency)
	if err != nil {
		return nil, fmt.Errorf("keyserver: %w", err)
	}
	fh, err := newHasher(cfg.Argon2, max(1, cfg.HashConcurrency/2))
	if err != nil {
		return nil, fmt.Errorf("keyserver: %w", err)
	}
	pages, err := loadPages(cfg.TemplateDir)
	if err != nil {
		return nil, fmt.Errorf("keyserver: templates: %w", err)
	}
	s := &Server{
		cfg: cfg, st: deps.Store, mail: deps.Mailer, sealed: deps.Sealed, metrics: deps.Metrics, log: deps.Log, now: deps.Now,
		hash: h, formHash: fh, limits: newLimits(), openSem: make(chan struct{}, cfg.OpenConcurrency), pages: pages, public: u, https: u.Scheme == "https",
		sessions: sessionSigner{key: cfg.SessionKey}, bgSem: make(chan struct{}, maxBackground), cat: cfg.Catalog,
		policy: deps.Policy, replySem: make(chan struct{}, cfg.ReplyConcurrency),
		inFlight: inFlight{max: cfg.ClientInFlight},
	}
	if s.sealed == nil {
		s.sealed = s.mail
	}
	if s.metrics == nil {
		s.metrics = noMetrics{}
	}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	if s.now == nil {
		s.now = time.Now
	}
	s.openPage = s.renderOpen
	s.handler = s.routes()
	return s, nil
}

func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) { s.handler.ServeHTTP(w, r) }

func (s *Server) routes() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("POST /api/v1/envelopes/{id}/key", s.handleKey)
	mux.HandleFunc("OPTIONS /api/v1/envelopes/{id}/key", s.handleKeyPreflight)
	mux.HandleFunc("POST /api/v1/envelopes/{id}/reply", s.handleReply)
	mux.HandleFunc("OPTIONS /api/v1/envelopes/{id}/reply", s.handleReplyPreflight)

	mux.HandleFunc("GET /register", s.registerForm)
	mux.HandleFunc("POST /register", s.register)
	mux.HandleFunc("GET /activate/{token}", s.activateForm)
	mux.HandleFunc("POST /activate/{token}", s.activate)
	mux.HandleFunc("GET /login", s.loginForm)
	mux.HandleFunc("POST /login", s.login)
	mux.HandleFunc("POST /logout", s.logout)
	mux.HandleFunc("GET /account", s.account)
	mux.HandleFunc("POST /account/password", s.changePassword)
	mux.HandleFunc("GET /forgot", s.forgotForm)
	mux.HandleFunc("POST /forgot", s.forgot)
	mux.HandleFunc("GET /reset/{token}", s.resetForm)
	mux.HandleFunc("POST /reset/{token}", s.reset)

	mux.HandleFunc("GET /help", s.help)
	mux.HandleFunc("GET /sent", s.sentList)
	mux.HandleFunc("POST /sent/{id}/lock", s.sentLock)
	mux.HandleFunc("POST /sent/{id}/unlock", s.sentUnlock)
	mux.HandleFunc("GET /sent/{id}/expire", s.sentExpireForm)
	mux.HandleFunc("POST /sent/{id}/expire", s.sentExpire)
	mux.HandleFunc("POST /sent/{id}/expiry", s.sentExpiry)

	mux.HandleFunc("GET "+envelope.PhonePathPrefix+"{id}", s.phone)
	mux.HandleFunc("GET /open", s.openInfo)
	mux.HandleFunc("POST /open", s.open)

	mux.HandleFunc("GET "+envelope.DecryptorPathPrefix+"{name}", s.decryptor)
	mux.HandleFunc("GET /static/style.css", s.style)
	mux.HandleFunc("GET /static/logo", s.logo)
	mux.HandleFunc("GET /{$}", s.home)
	mux.HandleFunc("/", s.notFound)

	// Cross-site form posts are refused by the standard library's check of
	// Sec-Fetch-Site / Origin (Go 1.25+): no token to thread through forms,
	// and it also covers the login form (login CSRF). The two endpoints that
	// a securedoc opened from file:// must reach are exempt: the key API
	// (no cookies, nothing ambient to abuse) and Open Online (it only
	// renders what was posted).
	cop := http.NewCrossOriginProtection()
	_ = cop.AddTrustedOrigin(s.public.Scheme + "://" + s.public.Host)
	cop.AddInsecureBypassPattern("POST /api/v1/envelopes/{id}/key")
	cop.AddInsecureBypassPattern("POST /api/v1/envelopes/{id}/reply")
	cop.AddInsecureBypassPattern("POST /open")
	cop.SetDenyHandler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.sentence(w, r, http.StatusForbidden, "Refused", "This form was sent from another web site. For your safety it was not accepted; open the page on this site and try again.")
	}))
	return s.recoverer(s.secureHeaders(s.language(cop.Handler(mux))))
}

// recoverer turns a panic into a 500 with a sentence instead of a dropped
// connection, and logs it.
func (s *Server) recoverer(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		defer func() {
			if v := recover(); v != nil {
				if v == http.ErrAbortHandler {
					panic(v)
				}
				s.log.Error("key service: panic", "path", r.URL.Path, "panic", fmt.Sprint(v))
				w.Header().Set("Content-Type", "text/plain; charset=utf-8")
				w.WriteHeader(http.StatusInternalServerError)
				fmt.Fprintln(w, "Something went wrong on the key service. Please try again later.")
			}
		}()
		next.ServeHTTP(w, r)
	})
}

// pageCSP allows only this origin's resources, no scripts at all (the
// pages need none), and no framing.
const pageCSP = "default-src 'self'; script-src 'none'; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"

func (s *Server) secureHeaders(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("Content-Security-Policy", pageCSP)
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("Referrer-Policy", "no-referrer")
		h.Set("X-Frame-Options", "DENY")
		h.Set("Cache-Control", "no-store")
		if s.https {
			h.Set("Strict-Transport-Security", "max-age=31536000")
		}
		next.ServeHTTP(w, r)
	})
}

// refusalEvery is how often a refusal that costs the client nothing (a
// locked or expired envelope) is recorded per address and envelope; the
// others are only counted.
const refusalEvery = time.Minute

// refusal records a key refusal that needed no password check: only for
// a recipient of the envelope (any stranger can post any address), and
// at most once per refusalEvery per address and envelope. The rest are
// counted, so a flood of them costs no disk.
func (s *Server) refusal(ctx context.Context, env store.Envelope, email, ip, detail string) {
	if isRecipient(env, email) {
		n, err := s.st.CountEvents(ctx, store.EventFilter{Kind: store.EventKeyRefused, Email: email, EnvelopeID: env.ID, Since: s.now().Add(-refusalEvery)})
		if err == nil && n == 0 {
			s.event(ctx, store.EventKeyRefused, email, env.ID, ip, detail)
			return
		}
	}
	s.metrics.Refused(refusedRepeat)
}

// event records an audit event; a failure to record is logged, not fatal
// for the request (the answer has been decided). Every event the key
// service writes goes through here.
func (s *Server) event(ctx context.Context, kind, email, envelope, ip, detail string) {
	auth, outcome := eventAuth(kind, detail)
	err := s.st.AddEvent(ctx, store.Event{Time: s.now(), Kind: kind, Email: email, EnvelopeID: envelope, RemoteIP: ip, Auth: auth, Outcome: outcome, Detail: detail})
	if err != nil {
		s.log.Error("key service: recording event", "kind", kind, "err", err)
	}
}

// eventAuth says, for the audit log, how the client was authenticated for
// an event of the key service and what came of the operation.
func eventAuth(kind, detail string) (auth, outcome string) {
	switch kind {
	case store.EventKeyReleased:
		return "password: ok", "ok"
	case store.EventLoginFailed:
		return "password: failed", "refused"
	case store.EventKeyRefused:
		return "none (refused before any password check)", "refused"
	case store.EventActivated:
		return "activation link and password: ok", "ok"
	case store.EventPasswordSet:
		if detail == "reset" {
			return "reset link: ok", "ok"
		}
		return "session and current password: ok", "ok"
	case store.EventRegistered, store.EventResetAsked:
		return "none (the mailed link proves the address)", "ok"
	}
	return "", ""
}

func normEmail(s string) string { return strings.ToLower(strings.TrimSpace(s)) }

// plausibleEmail is a shape check, not validation: the activation mail is
// what proves an address.
func plausibleEmail(s string) bool {
	at := strings.LastIndexByte(s, '@')
	return len(s) <= 254 && at > 0 && at < len(s)-1 && !strings.ContainsAny(s, " \t\r\n<>\",;") && strings.Contains(s[at:], ".") &&
		strings.IndexFunc(s, unicode.IsControl) < 0
}

// background runs work whose outcome must not show in the answer's timing
// (what registration and reset do depends on whether the address has an
// account). It is bounded: past maxBackground jobs the work runs inline.
func (s *Server) background(fn func(ctx context.Context)) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	select {
	case s.bgSem <- struct{}{}:
		s.bg.Add(1)
		go func() {
			defer s.bg.Done()
			defer func() { <-s.bgSem }()
			defer cancel()
			defer func() {
				if v := recover(); v != nil {
					s.log.Error("key service: panic in background work", "panic", fmt.Sprint(v))
				}
			}()
			fn(ctx)
		}()
	default:
		defer cancel()
		fn(ctx)
	}
}

// Close waits for background work (mails being queued) to finish.
func (s *Server) Close() { s.bg.Wait() }
