package store

import (
	"context"
	"log/slog"
	"time"
)

// Sweeper is what the shredding loop needs of the store.
type Sweeper interface {
	ShredExpired(ctx context.Context, now time.Time) (int, error)
	DeleteExpiredCopies(ctx context.Context, now time.Time) (int, error)
}

// ShredEvery destroys the keys of expired envelopes, and deletes the
// online copies whose time is up, at once and then every interval until
// ctx ends. The key service refuses expired envelopes and copies by their
// times anyway; this makes the refusal final (crypto-shredding), so a
// later database leak holds no key of an expired envelope and no copy kept
// past its time. With several processes on one PostgreSQL each may run
// it: the statements are idempotent.
func ShredEvery(ctx context.Context, a Sweeper, interval time.Duration, log *slog.Logger) {
	t := time.NewTimer(0)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		now := time.Now()
		n, err := a.ShredExpired(ctx, now)
		switch {
		case err != nil && ctx.Err() == nil:
			log.Error("destroying expired envelope keys failed; retrying later", "err", err)
		case n > 0:
			log.Info("expired envelope keys destroyed", "count", n)
		}
		n, err = a.DeleteExpiredCopies(ctx, now)
		switch {
		case err != nil && ctx.Err() == nil:
			log.Error("deleting expired online copies failed; retrying later", "err", err)
		case n > 0:
			log.Info("expired online copies deleted", "count", n)
		}
		t.Reset(interval)
	}
}
