package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math"
	"net"
	"net/http"
	"net/netip"
	"os"
	"os/signal"
	"reflect"
	"syscall"
	"time"

	"github.com/postseal/postseal/config"
	"github.com/postseal/postseal/envelope"
	"github.com/postseal/postseal/keyserver"
	"github.com/postseal/postseal/mailer"
	"github.com/postseal/postseal/metrics"
	"github.com/postseal/postseal/milter"
	"github.com/postseal/postseal/policy"
	"github.com/postseal/postseal/store"
)

// drainTimeout bounds how long SIGTERM waits for messages in flight.
const drainTimeout = 60 * time.Second

// sweepEvery is how often expired keys and online copies are swept: a
// copy outlives its time by at most this (the key service refuses it from
// its time on).
const sweepEvery = 10 * time.Minute

// auditCheckpointEvery is how often the audit chain's head is logged when
// it moved.
const auditCheckpointEvery = 15 * time.Minute

func cmdServe(ctx context.Context, args []string, _ io.Reader, _, stderr io.Writer) error {
	fs, cfgPath := newFlags("serve", stderr)
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	log := newLogger(stderr)
	// Signals are caught from the start: a SIGHUP from a package's
	// post-install reload must not kill a process that is still starting.
	sigs := make(chan os.Signal, 4)
	signal.Notify(sigs, syscall.SIGHUP, syscall.SIGTERM, syscall.SIGINT)
	defer signal.Stop(sigs)
	// A stop asked for while starting (a database that does not answer)
	// ends the start; it also waits in sigs, so a start that completes
	// stops at once.
	ctx, stopStarting := signal.NotifyContext(ctx, syscall.SIGTERM, syscall.SIGINT)
	defer stopStarting()
	policy, err := loadPolicy(*cfgPath)
	if err != nil {
		return err
	}
	cfg := policy.Config
	if err := milter.PrepareSpool(cfg.Milter.SpoolDir); err != nil {
		return err
	}
	st, err := openStore(ctx, cfg, true)
	if err != nil {
		return err
	}
	defer st.Close()

	m := metrics.New()
	m.QueueDepth(queueDepth(st))
	// The key service's mail (activation, reset) and the sender notices go
	// through the durable queue: a relay outage delays them, never loses
	// them. Mail that is sealed already (a secure reply's sealed copies)
	// goes to the listener without milters, as the milter's own split
	// copies do: the relay may pass the milter, which would seal it again.
	// Expired envelopes' keys are destroyed, and the phone page's copies
	// deleted when their time is up, within sweepEvery.
	queue := mailer.NewQueue(st, &mailer.SMTP{Addr: cfg.SMTP.Relay}, log)
	queue.AddRoute(store.RouteReinject, &mailer.SMTP{Addr: cfg.Milter.Reinject})
	qctx, stopQueue := context.WithCancel(context.Background())
	queueDone, shredDone, auditDone := make(chan struct{}), make(chan struct{}), make(chan struct{})
	go func() { queue.Run(qctx); close(queueDone) }()
	go func() { store.ShredEvery(qctx, st, sweepEvery, log); close(shredDone) }()
	// The audit chain's head goes to this log now, every quarter hour and
	// at shutdown (postseal audit verify --log checks against it).
	go func() {
		store.AuditEvery(qctx, st, auditCheckpointEvery, time.Duration(cfg.Audit.Keep), log)
		close(auditDone)
	}()
	defer func() { stopQueue(); <-queueDone; <-shredDone; <-auditDone }()
	filter := milter.New(policy, st, &mailer.SMTP{Addr: cfg.Milter.Reinject}, log, milter.Config{SpoolDir: cfg.Milter.SpoolDir, Notices: queue, Observer: m})
	// The key service listens before the milter: a listening milter is
	// what tells the MTA (and the tests) that postseal is up.
	ks, handler, err := keyService(cfg, st, outbox{queue, queue.Via(store.RouteReinject)}, m, log, filter.Policy)
	if err != nil {
		return err
	}
	httpSrv, err := serveHTTP(cfg.Keyserver.Listen, log, handler)
	if err != nil {
		return err
	}
	l, err := milter.Listen(cfg.Milter.Listen)
	if err != nil {
		httpSrv.Close()
		return err
	}
	mf := filter.NewServer()
	go func() {
		if err := mf.Serve(l); err != nil {
			log.Error("milter stopped", "err", err)
		}
	}()
	log.Info("postseal started", "version", version, "config", configName(cfg), "milter", cfg.Milter.Listen, "keyserver", cfg.Keyserver.Listen, "store", cfg.Store.Driver)

	for sig := range sigs {
		if sig == syscall.SIGHUP {
			reload(*cfgPath, filter, log)
			continue
		}
		log.Info("stopping: finishing messages in flight", "signal", sig.String())
		break
	}
	// The milter and the key service drain side by side, each within
	// drainTimeout: a slow upload to Open Online must not use up the time
	// of the messages in flight.
	drained := make(chan struct{})
	go func() {
		defer close(drained)
		hctx, cancel := context.WithTimeout(context.Background(), drainTimeout)
		defer cancel()
		_ = httpSrv.Shutdown(hctx)
		ks.Close() // mails being queued by registrations in flight
	}()
	mctx, cancel := context.WithTimeout(context.Background(), drainTimeout)
	defer cancel()
	if err := mf.Shutdown(mctx); err != nil {
		// Messages still in flight get no answer; the MTA temp-fails them
		// (milter_default_action = tempfail) and retries: nothing is lost.
		log.Warn("milter did not drain in time", "err", err)
		mf.Close()
	}
	<-drained
	log.Info("postseal stopped")
	return nil
}

// reload applies a new rules file; a bad one is refused and the rules in
// force stay.
func reload(path string, filter *milter.Filter, log *slog.Logger) {
	p, err := loadPolicy(path)
	if err != nil {
		log.Error("reload refused; the previous rules stay in force", "err", err)
		return
	}
	old := filter.Policy().Config
	if p.Config.Milter.Listen != old.Milter.Listen || p.Config.Milter.Reinject != old.Milter.Reinject || p.Config.Milter.SpoolDir != old.Milter.SpoolDir ||
		p.Config.Store != old.Store || !reflect.DeepEqual(p.Config.Keyserver, old.Keyserver) || p.Config.SMTP != old.SMTP {
		log.Warn("reload: listen addresses, reinject, spool, [store], [keyserver] and [smtp] settings take effect only after a restart")
	}
	filter.SetPolicy(p)
	log.Info("rules reloaded", "config", configName(p.Config))
}

// ops are the operator's endpoints on the key service listener.
type ops struct {
	metrics   http.Handler
	masterKey string         // the master key file
	proxies   []netip.Prefix // [keyserver] trusted_proxies
}

// outbox is where the key service queues what it writes: clear mail for the
// relay, and sealed copies for the listener without milters.
type outbox struct {
	clear, sealed keyserver.Mailer
}

// newKeyserver builds the key service from the rules file.
func newKeyserver(cfg *config.Config, st store.Store, mail outbox, m keyserver.Metrics, log *slog.Logger, pol func() *policy.Policy) (*keyserver.Server, error) {
	allow, window, err := config.ParseRate(cfg.Keyserver.LoginRate)
	if err != nil {
		return nil, usagef("keyserver.login_rate: %v", err)
	}
	var logo []byte
	if f := cfg.LogoFile(); f != "" {
		l, err := envelope.ReadLogo(f)
		if err != nil {
			return nil, usagef("organization.logo: %v", err)
		}
		logo = l.Data
	}
	k := cfg.Keyserver
	return keyserver.New(keyserver.Config{
		PublicURL:         k.PublicURL,
		Organization:      cfg.Organization.Name,
		HelpURL:           cfg.Organization.HelpURL,
		Support:           cfg.Organization.Support,
		Logo:              logo,
		Language:          cfg.Organization.Language,
		TemplateDir:       cfg.Envelope.TemplateDir,
		From:              cfg.SMTP.From,
		Location:          cfg.Organization.Location(),
		PasswordMinLength: k.PasswordMinLength,
		Argon2:            keyserver.Argon2{MemoryKiB: uint32(k.Argon2Memory >> 10), Time: uint32(k.Argon2Time), Threads: uint8(k.Argon2Threads)},
		// One IP address may fail ten times as often: the key service's
		// default for IPFailures.
		AccountFailures: allow,
		FailureWindow:   window,
		TrustedProxies:  k.Proxies(),
		// Armour is ~1.35x the message; the rest is the form around it.
		MaxOpenBody: int64(cfg.Milter.MaxSecureSize)*14/10 + 256<<10,
		// A secure reply is held to the milter's limit for sealed mail.
		MaxReplySize: int64(cfg.Milter.MaxSecureSize),
		PhoneHours:   cfg.Envelope.OnlineCopyHours,
	}, keyserver.Deps{Store: st, Mailer: mail.clear, Sealed: mail.sealed, Metrics: m, Log: log, Policy: pol})
}

// keyService builds the key service from the rules file and what the key
// service listener answers: health and metrics for the operator,
// everything else is the key service.
// pol is the rules in force, by which secure replies are sealed (nil: no
// secure reply).
func keyService(cfg *config.Config, st store.Store, mail outbox, m *metrics.Metrics, log *slog.Logger, pol func() *policy.Policy) (*keyserver.Server, http.Handler, error) {
	ks, err := newKeyserver(cfg, st, mail, m, log, pol)
	if err != nil {
		return nil, nil, err
	}
	return ks, httpHandler(st, ops{metrics: m.Handler(), masterKey: cfg.Store.MasterKey, proxies: cfg.Keyserver.Proxies()}, ks), nil
}

// serveHTTP starts the key service listener.
func serveHTTP(addr string, log *slog.Logger, h http.Handler) (*http.Server, error) {
	l, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("keyserver listen %s: %w", addr, err)
	}
	srv := &http.Server{
		Handler: h,
		// Slow clients cannot hold connections open for free; the read
		// timeout leaves room for a ~14 MB Open Online post on a slow link.
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       5 * time.Minute,
		WriteTimeout:      5 * time.Minute,
		IdleTimeout:       2 * time.Minute,
		MaxHeaderBytes:    64 << 10,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
	}
	go func() {
		if err := srv.Serve(l); err != nil && !errors.Is(err, http.ErrServerClosed) {
			log.Error("key service stopped", "err", err)
		}
	}()
	return srv, nil
}

// httpHandler is what the key service listener answers.
func httpHandler(st store.Store, o ops, ks http.Handler) http.Handler {
	mux := http.NewServeMux()
	// The listener faces recipients on the internet; the operator's
	// endpoints answer the operator's networks only (loopback and private
	// addresses, where Prometheus and load balancers live).
	mux.Handle("GET /metrics", keyserver.OperatorOnly(o.metrics, o.proxies))
	mux.Handle("GET /healthz", keyserver.OperatorOnly(keyserver.Health(st, o.masterKey), o.proxies))
	mux.Handle("/", ks)
	return mux
}

// queueDepth reads the outgoing mail queue's length for the metrics; NaN
// when the store does not answer in time.
func queueDepth(st store.MailQueue) func() float64 {
	return func() float64 {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		n, err := st.MailQueueDepth(ctx)
		if err != nil {
			return math.NaN()
		}
		return float64(n)
	}
}
