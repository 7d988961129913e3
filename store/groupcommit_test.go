package store

import (
	"bytes"
	"context"
	"fmt"
	"reflect"
	"sync"
	"testing"
	"time"
)

// groupCommitSizes runs a group writer over a real SQLite store on puts
// already waiting in its queue and returns the sizes of the inserts it
// made and each put's outcome.
func groupCommitSizes(t *testing.T, ids []string) ([]int, []error) {
	t.Helper()
	s, _ := openTemp(t)
	var mu sync.Mutex
	var sizes []int
	g := &groupCommit{puts: make(chan putRequest, len(ids)), closing: make(chan struct{}),
		insert: func(ctx context.Context, rows []envelopeRow) error {
			mu.Lock()
			sizes = append(sizes, len(rows))
			mu.Unlock()
			return s.insertEnvelopes(ctx, rows)
		}}
	reqs := make([]putRequest, len(ids))
	for i, id := range ids {
		row, err := s.wrapRow(Envelope{ID: id, Sender: "doc@example.org", Recipients: []string{"x@ext.example"}, Kind: KindKeyService, Created: t0}, bytes.Repeat([]byte{1}, 32))
		if err != nil {
			t.Fatal(err)
		}
		reqs[i] = putRequest{envelopeRow: row, done: make(chan error, 1)}
		g.puts <- reqs[i]
	}
	g.stopped.Add(1)
	go g.writer()
	errs := make([]error, len(ids))
	for i, r := range reqs {
		errs[i] = <-r.done
	}
	g.close()
	mu.Lock()
	defer mu.Unlock()
	return sizes, errs
}

// Puts waiting together are committed together, at most maxBatch in one
// transaction.
func TestGroupCommitBatchesUpToMax(t *testing.T) {
	ids := make([]string, maxBatch+2)
	for i := range ids {
		ids[i] = fmt.Sprintf("env%03d", i)
	}
	sizes, errs := groupCommitSizes(t, ids)
	for i, err := range errs {
		if err != nil {
			t.Errorf("put %s: %v", ids[i], err)
		}
	}
	if want := []int{maxBatch, 2}; !reflect.DeepEqual(sizes, want) {
		t.Errorf("insert sizes %v; want %v", sizes, want)
	}
}

// A put that fails alone is not tried again: only a group's failure is
// retried record by record, to spare the others one bad record.
func TestGroupCommitSingleFailureNotRetried(t *testing.T) {
	s, _ := openTemp(t)
	putEnv(t, s, "dup", t0, false, "x@ext.example")
	var calls int
	var mu sync.Mutex
	g := newGroupCommit(func(ctx context.Context, rows []envelopeRow) error {
		mu.Lock()
		calls++
		mu.Unlock()
		return s.insertEnvelopes(ctx, rows)
	}, sqliteCommitTimeout)
	row, err := s.wrapRow(Envelope{ID: "dup", Sender: "doc@example.org", Kind: KindKeyService, Created: t0}, bytes.Repeat([]byte{1}, 32))
	if err != nil {
		t.Fatal(err)
	}
	err = g.put(context.Background(), row)
	g.close()
	if err == nil || !s.d.isUnique(err) {
		t.Errorf("put of a duplicate id: %v; want the uniqueness violation", err)
	}
	mu.Lock()
	defer mu.Unlock()
	if calls != 1 {
		t.Errorf("a lone failing put made %d inserts; want 1", calls)
	}
}

// One duplicate among waiting puts fails alone; the others are committed.
func TestGroupCommitDuplicateFailsAlone(t *testing.T) {
	sizes, errs := groupCommitSizes(t, []string{"a", "b", "a", "c"})
	for i, err := range errs {
		if (err != nil) != (i == 2) {
			t.Errorf("put %d: %v", i, err)
		}
	}
	if want := []int{4, 1, 1, 1, 1}; !reflect.DeepEqual(sizes, want) {
		t.Errorf("insert sizes %v; want %v (the group, then each alone)", sizes, want)
	}
}

// A commit's context has a deadline where one can help: on PostgreSQL (a
// server that stops answering) but not on SQLite, where the driver would
// pay a goroutine per statement to watch it and could not interrupt a
// write stuck in the kernel anyway (busy_timeout bounds the locks).
func TestGroupCommitDeadline(t *testing.T) {
	for _, c := range []struct {
		name    string
		timeout time.Duration
		want    bool
	}{{"sqlite", sqliteCommitTimeout, false}, {"postgres", commitTimeout, true}} {
		var gotDeadline, gotDone bool
		g := newGroupCommit(func(ctx context.Context, rows []envelopeRow) error {
			_, gotDeadline = ctx.Deadline()
			gotDone = ctx.Done() != nil
			return nil
		}, c.timeout)
		err := g.put(context.Background(), envelopeRow{e: Envelope{ID: "a"}})
		g.close()
		if err != nil {
			t.Fatalf("%s: put: %v", c.name, err)
		}
		if gotDeadline != c.want || gotDone != c.want {
			t.Errorf("%s: commit context has a deadline %v, can end %v; want %v", c.name, gotDeadline, gotDone, c.want)
		}
	}
}
