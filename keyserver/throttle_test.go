package keyserver

import (
	"context"
	"testing"
	"time"
)

// The backoff doubles for each failure past the allowance up to the
// window, from the failure before the latest too; a wait already over is
// none (never negative).
func TestThrottleWaitEdges(t *testing.T) {
	now := time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)
	for _, c := range []struct {
		count, allow int
		last         time.Duration // before now
		window       time.Duration
		want         time.Duration
	}{
		{0, 0, 0, 4 * time.Minute, time.Minute},
		{1, 0, 0, 4 * time.Minute, 2 * time.Minute},
		{2, 0, 0, 4 * time.Minute, 4 * time.Minute},
		{3, 0, 0, 4 * time.Minute, 4 * time.Minute},
		{2, 1, 0, 10 * time.Minute, 2 * time.Minute},
		{2, 1, 90 * time.Second, 10 * time.Minute, 30 * time.Second},
		{2, 1, 2 * time.Minute, 10 * time.Minute, 0},
		{2, 1, 3 * time.Minute, 10 * time.Minute, 0},
		{1, 2, 0, 10 * time.Minute, 0},
	} {
		if got := throttleWait(c.count, c.allow, now.Add(-c.last), now, c.window); got != c.want {
			t.Errorf("count %d, allow %d, last %v ago, window %v: %v; want %v", c.count, c.allow, c.last, c.window, got, c.want)
		}
	}
}

// Retry-After is a wait rounded up to whole seconds, at least 1.
func TestRetrySeconds(t *testing.T) {
	for d, want := range map[time.Duration]int{
		0:                             1,
		time.Nanosecond:               1,
		time.Second:                   1,
		time.Second + time.Nanosecond: 2,
		1500 * time.Millisecond:       2,
		2 * time.Second:               2,
		time.Minute:                   60,
	} {
		if got := retrySeconds(d); got != want {
			t.Errorf("retrySeconds(%v) = %d; want %d", d, got, want)
		}
	}
}

// The gate of a key is dropped once its last holder or waiter has left, so
// a flood of distinct addresses leaves no memory behind; while one holds
// it the others wait, and the one waiting past its context gives up.
func TestGatesDropped(t *testing.T) {
	var g gates
	leave1, err := g.enter(context.Background(), "k", 1)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := g.enter(ctx, "k", 1); err == nil {
		t.Error("a second holder entered a gate of one slot")
	}
	if g.m["k"] == nil || g.m["k"].users != 1 {
		t.Errorf("after a waiter gave up: gate %+v; want one user", g.m["k"])
	}
	leave1()
	if len(g.m) != 0 {
		t.Errorf("%d gates left after every holder left; want none", len(g.m))
	}
	leave2, err := g.enter(context.Background(), "k", 1)
	if err != nil {
		t.Fatalf("the gate refused after its holder left: %v", err)
	}
	leave2()
	if len(g.m) != 0 {
		t.Errorf("%d gates left; want none", len(g.m))
	}
}

// An attempt is refused as busy when its address is held by another
// attempt past its wait, and admitted once the other has ended; an
// attempt whose turn is free is never refused (with no wait at all, a
// free slot and an expired wait would be picked at random).
func TestEnterAttemptWaitsItsTurn(t *testing.T) {
	f := newFixture(t)
	for i := range 40 {
		leave, err := f.srv.enterAttempt(context.Background(), "ann@partner.example", "192.0.2.1")
		if err != nil {
			t.Fatalf("attempt %d with its turn free: %v", i, err)
		}
		leave()
	}
	leave, err := f.srv.enterAttempt(context.Background(), "ann@partner.example", "192.0.2.1")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := f.srv.enterAttempt(ctx, "ann@partner.example", "192.0.2.9"); err != errBusy {
		t.Errorf("the same address while held: %v; want errBusy", err)
	}
	leave()
	leave, err = f.srv.enterAttempt(context.Background(), "ann@partner.example", "192.0.2.9")
	if err != nil {
		t.Fatalf("after the other attempt ended: %v", err)
	}
	leave()
	if len(f.srv.attempts.m) != 0 {
		t.Errorf("%d gates left after the attempts ended; want none", len(f.srv.attempts.m))
	}
}
