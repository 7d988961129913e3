package store

import (
	"context"
	"fmt"
	"sync"
	"time"
)

// groupCommit feeds envelope records to one goroutine per process that
// commits whatever is waiting in one transaction, so one commit (one
// fsync, one hold of the audit head) makes many envelopes durable.
//
// Both databases need it. SQLite admits one writer at a time: left to its
// busy handler, twenty sealing sessions starve each other past the busy
// timeout and mail is temp-failed. PostgreSQL takes concurrent writers,
// but every envelope appends its sealed event to the audit chain, and the
// append holds the chain's head row from its update until the commit has
// reached the disk: envelopes committed one per transaction queue behind
// one another's fsync whatever the number of connections.
//
// The guarantees are those of one envelope per transaction: an envelope,
// its recipients and its sealed event commit together or not at all (the
// chain has an event for every envelope and none for an envelope that is
// not there); the events are chained in the head's order under its lock
// (appendEvents), so a batch is a run of consecutive sequence numbers;
// and PutEnvelope returns only after the commit that holds its record.
type groupCommit struct {
	puts    chan putRequest
	closing chan struct{}
	stopped sync.WaitGroup
	once    sync.Once
	insert  func(ctx context.Context, rows []envelopeRow) error
	// timeout bounds one commit; 0 gives the commit a context without a
	// deadline (see sqliteCommitTimeout).
	timeout time.Duration
}

type putRequest struct {
	envelopeRow
	done chan error
}

// maxBatch bounds one group commit.
const maxBatch = 128

// commitTimeout bounds one group commit on a database server (a network
// that stops answering); the callers' own contexts bound how long they
// wait for it.
const commitTimeout = 30 * time.Second

func newGroupCommit(insert func(ctx context.Context, rows []envelopeRow) error, timeout time.Duration) *groupCommit {
	g := &groupCommit{puts: make(chan putRequest), closing: make(chan struct{}), insert: insert, timeout: timeout}
	g.stopped.Add(1)
	go g.writer()
	return g
}

// put hands one record to the writer and returns once it is committed (or
// when ctx ends first: the record may then still be written, which is
// harmless — an envelope nobody received).
func (g *groupCommit) put(ctx context.Context, row envelopeRow) error {
	id := row.e.ID
	req := putRequest{envelopeRow: row, done: make(chan error, 1)}
	select {
	case g.puts <- req:
	case <-g.closing:
		return fmt.Errorf("put envelope %s: store closed", id)
	case <-ctx.Done():
		return fmt.Errorf("put envelope %s: %w", id, ctx.Err())
	}
	select {
	case err := <-req.done:
		if err != nil {
			return fmt.Errorf("put envelope %s: %w", id, err)
		}
		return nil
	case <-ctx.Done():
		return fmt.Errorf("put envelope %s: %w", id, ctx.Err())
	}
}

func (g *groupCommit) writer() {
	defer g.stopped.Done()
	for {
		var first putRequest
		select {
		case first = <-g.puts:
		case <-g.closing:
			return
		}
		batch := []putRequest{first}
	more:
		for len(batch) < maxBatch {
			select {
			case r := <-g.puts:
				batch = append(batch, r)
			default:
				break more
			}
		}
		err := g.commit(batch)
		if err != nil && len(batch) > 1 {
			// One bad record (a duplicate id) must not fail the others.
			for _, r := range batch {
				r.done <- g.commit([]putRequest{r})
			}
			continue
		}
		for _, r := range batch {
			r.done <- err
		}
	}
}

func (g *groupCommit) commit(batch []putRequest) error {
	ctx := context.Background()
	if g.timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, g.timeout)
		defer cancel()
	}
	rows := make([]envelopeRow, len(batch))
	for i, r := range batch {
		rows[i] = r.envelopeRow
	}
	return g.insert(ctx, rows)
}

// close lets the writer finish the batch it holds and stops it.
func (g *groupCommit) close() {
	g.once.Do(func() { close(g.closing) })
	g.stopped.Wait()
}
