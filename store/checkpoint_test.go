package store

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"regexp"
	"strings"
	"testing"
	"time"
)

// auditCall is one call AuditEvery made on a stepAudit; the test answers
// it on reply.
type auditCall struct {
	op     string // "head" or "prune"
	ctx    context.Context
	before time.Time // PruneEvents' cut-off
	reply  chan auditReply
}

type auditReply struct {
	head Checkpoint
	n    int64
	err  error
}

// stepAudit hands each AuditHead and PruneEvents call to the test and
// waits for its answer, so the test steps AuditEvery's loop one call at a
// time: what the loop logged for a call is written before it makes the
// next one.
type stepAudit struct {
	Audit
	calls chan auditCall
}

func (a *stepAudit) call(ctx context.Context, op string, before time.Time) auditReply {
	c := auditCall{op: op, ctx: ctx, before: before, reply: make(chan auditReply)}
	a.calls <- c
	return <-c.reply
}

func (a *stepAudit) AuditHead(ctx context.Context) (Checkpoint, error) {
	r := a.call(ctx, "head", time.Time{})
	return r.head, r.err
}

func (a *stepAudit) PruneEvents(ctx context.Context, before time.Time) (int64, error) {
	r := a.call(ctx, "prune", before)
	return r.n, r.err
}

// auditLoop is AuditEvery running on a stepAudit, logging to logs.
type auditLoop struct {
	t      *testing.T
	a      *stepAudit
	ctx    context.Context
	cancel context.CancelFunc
	done   chan struct{}
	logs   *syncBuffer
}

func startAuditEvery(t *testing.T, interval, keep time.Duration) *auditLoop {
	ctx, cancel := context.WithCancel(context.Background())
	l := &auditLoop{t: t, a: &stepAudit{calls: make(chan auditCall)}, ctx: ctx, cancel: cancel, done: make(chan struct{}), logs: &syncBuffer{}}
	t.Cleanup(cancel)
	go func() {
		AuditEvery(ctx, l.a, interval, keep, slog.New(slog.NewTextHandler(l.logs, nil)))
		close(l.done)
	}()
	return l
}

// next is the loop's next call, which must be op.
func (l *auditLoop) next(op string) auditCall {
	l.t.Helper()
	select {
	case c := <-l.a.calls:
		if c.op != op {
			l.t.Fatalf("AuditEvery called %s; want %s (log so far: %s)", c.op, op, l.logs.String())
		}
		return c
	case <-l.done:
		l.t.Fatalf("AuditEvery returned; want a %s call (log: %s)", op, l.logs.String())
	case <-time.After(10 * time.Second):
		l.t.Fatalf("no %s call in 10s", op)
	}
	return auditCall{}
}

// shutdown ends the loop's context and answers its calls until it
// returns: head for the shutdown checkpoint, which must come with a
// context of its own that is still live (a store would refuse a dead one)
// and bounded. A tick that won the race against the end of the context
// may still make the loop's calls; they are answered as if nothing moved.
func (l *auditLoop) shutdown(head Checkpoint) {
	l.t.Helper()
	l.cancel()
	shutdownCalls := 0
	for {
		select {
		case c := <-l.a.calls:
			if c.ctx == l.ctx {
				c.reply <- auditReply{head: head}
				continue
			}
			shutdownCalls++
			dl, ok := c.ctx.Deadline()
			if c.op != "head" || c.ctx.Err() != nil || !ok || time.Until(dl) > 5*time.Second {
				l.t.Errorf("shutdown %s call with context error %v, deadline %v (set: %v); want AuditHead with a live context bounded to 5s", c.op, c.ctx.Err(), dl, ok)
				c.reply <- auditReply{err: context.DeadlineExceeded}
				continue
			}
			c.reply <- auditReply{head: head}
		case <-l.done:
			if shutdownCalls != 1 {
				l.t.Fatalf("%d calls after the context ended; want one AuditHead for the shutdown checkpoint", shutdownCalls)
			}
			return
		case <-time.After(10 * time.Second):
			l.t.Fatal("AuditEvery did not return in 10s after its context ended")
		}
	}
}

var checkpointLineRe = regexp.MustCompile(`msg="audit checkpoint" seq=(\d+) head=(\w+) at=(\w+)`)

// checkpointsLogged lists the checkpoint lines of out as "seq head at".
func checkpointsLogged(out string) []string {
	var got []string
	for _, m := range checkpointLineRe.FindAllStringSubmatch(out, -1) {
		got = append(got, strings.Join(m[1:], " "))
	}
	return got
}

func hashOf(c byte) string { return strings.Repeat(string(c), 64) }

// AuditEvery logs the head at start, at an interval only when it moved,
// and always at shutdown; a failing AuditHead is logged as an error, not
// as a checkpoint. Without a retention period it never prunes.
func TestAuditEveryCheckpoints(t *testing.T) {
	l := startAuditEvery(t, time.Millisecond, 0)
	c3, c5 := Checkpoint{Seq: 3, Hash: hashOf('a')}, Checkpoint{Seq: 5, Hash: hashOf('b')}
	for _, r := range []auditReply{
		{head: c3}, // start
		{head: c3}, // unchanged: nothing logged
		{head: c5}, // moved
		{err: errors.New("audit head: conn reset")}, // logged as a failure
		{head: c5}, // unchanged since the last checkpoint
	} {
		// keep is 0: a PruneEvents call fails next.
		l.next("head").reply <- r
	}
	l.shutdown(c5)
	out := l.logs.String()
	want := []string{"3 " + c3.Hash + " start", "5 " + c5.Hash + " interval", "5 " + c5.Hash + " shutdown"}
	if got := checkpointsLogged(out); fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("checkpoints logged %q; want %q\nlog: %s", got, want, out)
	}
	if strings.Count(out, `msg="audit checkpoint failed"`) != 1 || !strings.Contains(out, "conn reset") {
		t.Errorf("log %s; want the failing AuditHead once, with its error", out)
	}
	// What it wrote is what ParseCheckpoints reads back.
	cps, err := ParseCheckpoints(strings.NewReader(out))
	if err != nil || fmt.Sprint(cps) != fmt.Sprint([]Checkpoint{c3, c5, c5}) {
		t.Errorf("ParseCheckpoints of the log: %v, %v; want %v", cps, err, []Checkpoint{c3, c5, c5})
	}
}

// With keep > 0, each interval prunes the events older than now-keep
// before the checkpoint: removals are logged with their count, a round
// that removed nothing is quiet, a failure is logged unless it was the
// context ending.
func TestAuditEveryRetention(t *testing.T) {
	const keep = time.Hour
	started := time.Now()
	l := startAuditEvery(t, time.Millisecond, keep)
	c2 := Checkpoint{Seq: 2, Hash: hashOf('c')}
	l.next("head").reply <- auditReply{head: c2}
	for i, r := range []auditReply{{n: 3}, {n: 0}, {err: errors.New("prune audit events: database is locked")}} {
		p := l.next("prune")
		if p.before.Before(started.Add(-keep)) || p.before.After(time.Now().Add(-keep)) {
			t.Errorf("round %d: pruning before %v; want now-keep (between %v and %v)", i, p.before, started.Add(-keep), time.Now().Add(-keep))
		}
		p.reply <- r
		l.next("head").reply <- auditReply{head: c2}
	}
	// A prune cut short by the shutdown.
	p := l.next("prune")
	l.cancel()
	p.reply <- auditReply{err: fmt.Errorf("prune audit events: %w", context.Canceled)}
	l.shutdown(c2)
	out := l.logs.String()
	if strings.Count(out, "old events removed") != 1 || !strings.Contains(out, "count=3 keep=1h0m0s") {
		t.Errorf("log %s; want one removal line, count=3 keep=1h0m0s", out)
	}
	if strings.Count(out, "removing old events failed") != 1 || !strings.Contains(out, "database is locked") {
		t.Errorf("log %s; want the failing prune once, with its error (and not the one the shutdown cut short)", out)
	}
}

func TestParseCheckpoints(t *testing.T) {
	log := strings.Join([]string{
		`time=2026-12-03T10:00:00Z level=INFO msg="postseal started"`,
		// The head of an empty chain: nothing to check against.
		`time=2026-12-03T10:00:00Z level=INFO msg="audit checkpoint" seq=0 head=` + genesis + ` at=start`,
		`time=2026-12-03T10:05:00Z level=INFO msg="audit checkpoint" seq=3 head=` + hashOf('a') + ` at=interval`,
		`time=2026-12-03T10:10:00Z level=ERROR msg="audit checkpoint failed" err="audit head: conn reset"`,
		`time=2026-12-03T10:12:00Z level=INFO msg="imported" seq=9 head=` + hashOf('9'),
		// As journald shows it.
		`Dec 03 10:15:00 gw postseal[812]: time=2026-12-03T10:15:00Z level=INFO msg="audit checkpoint" seq=5 head=` + hashOf('b') + ` at=shutdown`,
	}, "\n")
	cps, err := ParseCheckpoints(strings.NewReader(log))
	want := []Checkpoint{{3, hashOf('a')}, {5, hashOf('b')}}
	if err != nil || fmt.Sprint(cps) != fmt.Sprint(want) {
		t.Errorf("ParseCheckpoints: %v, %v; want %v", cps, err, want)
	}

	bad := `msg="audit checkpoint" seq=99999999999999999999 head=` + hashOf('d')
	if cps, err := ParseCheckpoints(strings.NewReader(bad)); err == nil || !strings.Contains(err.Error(), "seq=99999999999999999999 head="+hashOf('d')) {
		t.Errorf("ParseCheckpoints of a sequence number out of range: %v, %v; want an error naming the checkpoint", cps, err)
	}
}
