package store

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"
)

// shredAdmin answers ShredExpired from a script. A stand-in for the store:
// the loop's handling of a failing database cannot be caused on demand with
// a real one.
type shredAdmin struct {
	EnvelopeAdmin
	mu      sync.Mutex
	answers []shredAnswer
	copies  []shredAnswer // DeleteExpiredCopies' answers
	calls   int
	during  func() // called inside each ShredExpired, if set
}

type shredAnswer struct {
	n   int
	err error
}

func (a *shredAdmin) ShredExpired(context.Context, time.Time) (int, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.calls++
	if a.during != nil {
		a.during()
	}
	if len(a.answers) == 0 {
		return 0, nil
	}
	r := a.answers[0]
	a.answers = a.answers[1:]
	return r.n, r.err
}

// DeleteExpiredCopies answers from its own script (none: nothing due).
func (a *shredAdmin) DeleteExpiredCopies(context.Context, time.Time) (int, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if len(a.copies) == 0 {
		return 0, nil
	}
	r := a.copies[0]
	a.copies = a.copies[1:]
	return r.n, r.err
}

func (a *shredAdmin) count() int {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.calls
}

// syncBuffer is a log destination the test may read while the loop writes.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// ShredEvery runs at once and then every interval: destroyed keys and
// deleted online copies are logged with their count, a failure is logged
// and retried, a round with nothing to do logs nothing; it returns when
// its context ends.
func TestShredEveryLogs(t *testing.T) {
	a := &shredAdmin{answers: []shredAnswer{{2, nil}, {0, errors.New("database is locked")}, {0, nil}},
		copies: []shredAnswer{{0, errors.New("disk I/O error")}, {3, nil}, {0, nil}}}
	var logs syncBuffer
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		ShredEvery(ctx, a, time.Millisecond, slog.New(slog.NewTextHandler(&logs, nil)))
		close(done)
	}()
	deadline := time.Now().Add(10 * time.Second)
	tick := time.NewTicker(time.Millisecond) // poll interval
	defer tick.Stop()
	for a.count() < 4 {
		if time.Now().After(deadline) {
			t.Fatalf("ShredExpired called %d times in 10s with a 1ms interval", a.count())
		}
		<-tick.C
	}
	cancel()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("ShredEvery did not return after its context ended")
	}
	out := logs.String()
	if strings.Count(out, "expired envelope keys destroyed") != 1 || !strings.Contains(out, "count=2") {
		t.Errorf("log %q; want one line with count=2", out)
	}
	if strings.Count(out, "destroying expired envelope keys failed") != 1 || !strings.Contains(out, "database is locked") {
		t.Errorf("log %q; want the failure once, with its error", out)
	}
	if strings.Count(out, "expired online copies deleted") != 1 || !strings.Contains(out, "count=3") {
		t.Errorf("log %q; want one line of deleted copies with count=3", out)
	}
	if strings.Count(out, "deleting expired online copies failed") != 1 || !strings.Contains(out, "disk I/O error") {
		t.Errorf("log %q; want the copies' failure once, with its error", out)
	}
}

// A failure caused by the context ending (the store's call cut short by
// the shutdown) is the shutdown, not an error to log.
func TestShredEveryQuietAtShutdown(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	a := &shredAdmin{answers: []shredAnswer{{0, context.Canceled}}, during: cancel}
	var logs syncBuffer
	ShredEvery(ctx, a, time.Hour, slog.New(slog.NewTextHandler(&logs, nil)))
	if a.count() != 1 {
		t.Fatalf("ShredExpired called %d times; want once, at start", a.count())
	}
	if strings.Contains(logs.String(), "failed") {
		t.Errorf("a shutdown was logged as a failure: %q", logs.String())
	}
}
