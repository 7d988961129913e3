package store

import (
	"context"
	"log/slog"
	"time"
)

// ShredEvery destroys the keys of expired envelopes at once and then every
// interval until ctx ends. The key service refuses expired envelopes by
// their expiry anyway; this makes the refusal final (crypto-shredding), so
// a later database leak holds no key of an expired envelope. With several
// processes on one PostgreSQL each may run it: the UPDATE is idempotent.
func ShredEvery(ctx context.Context, a EnvelopeAdmin, interval time.Duration, log *slog.Logger) {
	t := time.NewTimer(0)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		n, err := a.ShredExpired(ctx, time.Now())
		switch {
		case err != nil && ctx.Err() == nil:
			log.Error("destroying expired envelope keys failed; retrying later", "err", err)
		case n > 0:
			log.Info("expired envelope keys destroyed", "count", n)
		}
		t.Reset(interval)
	}
}
