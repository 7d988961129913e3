package keyserver

import (
	"context"
	"errors"
	"sync"
	"time"

	"github.com/postseal/postseal/store"
)

// Throttling is computed from the login_failed events in the store, not
// from process memory, so every key-service process sharing a database
// sees the same count. Within the window an address may fail `allow`
// times; past that, each further attempt must wait base·2^(n-allow) after
// the latest failure (capped at the window), so guessing slows down
// exponentially while the owner, after a few typos, waits a minute.
const backoffBase = time.Minute

// throttleWait returns how long the client must still wait (0: go ahead)
// given count failures in the window, the latest at last.
func throttleWait(count, allow int, last, now time.Time, window time.Duration) time.Duration {
	if count < allow {
		return 0
	}
	d := backoffBase
	for i := allow; i < count && d < window; i++ {
		d *= 2
	}
	d = min(d, window)
	if wait := last.Add(d).Sub(now); wait > 0 {
		return wait
	}
	return 0
}

// throttled checks the client address, the address asked for from the
// client's network, and the address from everywhere; it returns the
// longest wait. Failures of the address are counted per client network
// (clientNetwork) so that a stranger guessing from one network does not
// lock the owner out on another; AddressFailures from all networks
// together is the ceiling that still slows a guesser spread over many.
// Store errors are returned (the caller answers 503: failing open would
// let guessing run unthrottled while the database is sick).
func (s *Server) throttled(ctx context.Context, email, ip string) (time.Duration, error) {
	now := s.now()
	since := now.Add(-s.cfg.FailureWindow)
	var wait time.Duration
	if ip != "" {
		f := store.EventFilter{Kind: store.EventLoginFailed, RemoteIP: ip, Since: since}
		n, err := s.st.CountEvents(ctx, f)
		if err != nil {
			return 0, err
		}
		if n >= s.cfg.IPFailures {
			f.Limit = 1
			last, err := s.st.Events(ctx, f)
			if err != nil {
				return 0, err
			}
			if len(last) > 0 {
				wait = throttleWait(n, s.cfg.IPFailures, last[0].Time, now, s.cfg.FailureWindow)
			}
		}
	}
	if email == "" {
		return wait, nil
	}
	f := store.EventFilter{Kind: store.EventLoginFailed, Email: email, Since: since, Limit: s.cfg.AddressFailures}
	recent, err := s.st.Events(ctx, f) // newest first
	if err != nil {
		return 0, err
	}
	network := clientNetwork(ip)
	var fromNet int
	var lastFromNet time.Time
	for _, e := range recent {
		if clientNetwork(e.RemoteIP) == network {
			if fromNet == 0 {
				lastFromNet = e.Time
			}
			fromNet++
		}
	}
	wait = max(wait, throttleWait(fromNet, s.cfg.AccountFailures, lastFromNet, now, s.cfg.FailureWindow))
	if len(recent) >= s.cfg.AddressFailures {
		n, err := s.st.CountEvents(ctx, f)
		if err != nil {
			return 0, err
		}
		wait = max(wait, throttleWait(n, s.cfg.AddressFailures, recent[0].Time, now, s.cfg.FailureWindow))
	}
	return wait, nil
}

// retrySeconds rounds a wait up to whole seconds, at least 1.
func retrySeconds(d time.Duration) int {
	return max(1, int((d+time.Second-1)/time.Second))
}

// Attempts are admitted one at a time per address and a few at a time per
// IP address. The throttle counts failures recorded in the store, and a
// failure is recorded only after its Argon2 check: without this gate a
// burst of simultaneous guesses would all see the count before any of them
// failed, and all be checked. Waiting here is bounded by attemptWait.
const (
	attemptsPerIP = 4
	attemptWait   = 30 * time.Second
)

// errBusy: an attempt waited attemptWait for its turn.
var errBusy = errors.New("too many simultaneous attempts")

// enterAttempt waits for the turn of one attempt by email from ip and
// returns the function that ends it; hold it until the attempt's outcome
// is recorded.
func (s *Server) enterAttempt(ctx context.Context, email, ip string) (func(), error) {
	ctx, cancel := context.WithTimeout(ctx, attemptWait)
	defer cancel()
	// The address first: requests queued behind one address then hold no
	// slot of their IP, which other addresses behind the same IP (a
	// proxy, a NAT) need.
	leaveAddr, err := s.attempts.enter(ctx, "address "+email, 1)
	if err != nil {
		return nil, errBusy
	}
	leaveIP, err := s.attempts.enter(ctx, "ip "+ip, attemptsPerIP)
	if err != nil {
		leaveAddr()
		return nil, errBusy
	}
	return func() { leaveIP(); leaveAddr() }, nil
}

// gates admits at most n holders per key at a time; the others wait.
type gates struct {
	mu sync.Mutex
	m  map[string]*gate
}

type gate struct {
	slots chan struct{}
	users int // holders and waiters; the gate is dropped at zero
}

func (g *gates) enter(ctx context.Context, key string, n int) (func(), error) {
	g.mu.Lock()
	if g.m == nil {
		g.m = map[string]*gate{}
	}
	e := g.m[key]
	if e == nil {
		e = &gate{slots: make(chan struct{}, n)}
		g.m[key] = e
	}
	e.users++
	g.mu.Unlock()
	done := func() {
		g.mu.Lock()
		if e.users--; e.users == 0 {
			delete(g.m, key)
		}
		g.mu.Unlock()
	}
	select {
	case e.slots <- struct{}{}:
		return func() { <-e.slots; done() }, nil
	case <-ctx.Done():
		done()
		return nil, ctx.Err()
	}
}
