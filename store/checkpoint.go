package store

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"log/slog"
	"regexp"
	"strconv"
	"strings"
	"time"
)

// CheckpointMsg is the service-log message that carries the head of the
// audit chain; ParseCheckpoints reads it back.
const CheckpointMsg = "audit checkpoint"

// AuditEvery writes the head of the audit chain to the service log at
// start, every interval when it moved, and when ctx ends (shutdown), so
// that a later removal of the newest events is detectable against the log.
// With keep > 0 it also removes events older than keep, behind a signed
// checkpoint event (PruneEvents). Several processes on one PostgreSQL may
// all run it: pruning is idempotent and each log has its checkpoints.
func AuditEvery(ctx context.Context, a Audit, interval, keep time.Duration, log *slog.Logger) {
	var last Checkpoint
	checkpoint := func(ctx context.Context, why string) {
		c, err := a.AuditHead(ctx)
		if err != nil {
			log.Error("audit checkpoint failed", "err", err)
			return
		}
		if c != last || why != "interval" {
			log.Info(CheckpointMsg, "seq", c.Seq, "head", c.Hash, "at", why)
			last = c
		}
	}
	checkpoint(ctx, "start")
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			checkpoint(sctx, "shutdown")
			cancel()
			return
		case <-t.C:
		}
		if keep > 0 {
			n, err := a.PruneEvents(ctx, time.Now().Add(-keep))
			switch {
			case err != nil && ctx.Err() == nil:
				log.Error("audit retention: removing old events failed; retrying later", "err", err)
			case n > 0:
				log.Info("audit retention: old events removed behind a signed checkpoint", "count", n, "keep", keep.String())
			}
		}
		checkpoint(ctx, "interval")
	}
}

var checkpointRe = regexp.MustCompile(`seq=(\d+) head=([0-9a-f]{64})`)

// ParseCheckpoints reads the checkpoints out of a service log (what
// AuditEvery wrote through slog's text handler, also as journald shows
// it); other lines are skipped.
func ParseCheckpoints(r io.Reader) ([]Checkpoint, error) {
	var out []Checkpoint
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if !strings.Contains(line, CheckpointMsg) {
			continue
		}
		m := checkpointRe.FindStringSubmatch(line)
		if m == nil {
			continue
		}
		seq, err := strconv.ParseInt(m[1], 10, 64)
		if err != nil {
			return nil, fmt.Errorf("checkpoint %q: %w", m[0], err)
		}
		if seq > 0 {
			out = append(out, Checkpoint{Seq: seq, Hash: m[2]})
		}
	}
	return out, sc.Err()
}
