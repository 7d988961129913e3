package keyserver

import (
	"context"
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

// throttled checks the address and the remote IP; it returns the longer
// wait. Store errors are returned (the caller answers 503: failing open
// would let guessing run unthrottled while the database is sick).
func (s *Server) throttled(ctx context.Context, email, ip string) (time.Duration, error) {
	now := s.now()
	since := now.Add(-s.cfg.FailureWindow)
	var wait time.Duration
	for _, f := range []struct {
		filter store.EventFilter
		allow  int
	}{
		{store.EventFilter{Kind: store.EventLoginFailed, Email: email, Since: since}, s.cfg.AccountFailures},
		{store.EventFilter{Kind: store.EventLoginFailed, RemoteIP: ip, Since: since}, s.cfg.IPFailures},
	} {
		if f.filter.Email == "" && f.filter.RemoteIP == "" {
			continue
		}
		n, err := s.st.CountEvents(ctx, f.filter)
		if err != nil {
			return 0, err
		}
		if n < f.allow {
			continue
		}
		f.filter.Limit = 1
		last, err := s.st.Events(ctx, f.filter)
		if err != nil {
			return 0, err
		}
		if len(last) == 0 {
			continue
		}
		wait = max(wait, throttleWait(n, f.allow, last[0].Time, now, s.cfg.FailureWindow))
	}
	return wait, nil
}

// retrySeconds rounds a wait up to whole seconds, at least 1.
func retrySeconds(d time.Duration) int {
	return max(1, int((d+time.Second-1)/time.Second))
}
