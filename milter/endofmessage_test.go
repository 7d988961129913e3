package milter

// The end of a message: the worker that seals while the session keeps the
// MTA waiting, and what the log line of a temp-fail keeps.

import (
	"errors"
	"log/slog"
	"strings"
	"testing"
	"time"
)

// postfixBodyRule is an MTA connection that keeps Postfix's rule for
// replace-body packets (its milter client's reply loop): any other reply after a
// SMFIR_REPLBODY — SMFIR_PROGRESS included — ends the body replacement with
// the part received so far ("When SMFIR_REPLBODY is followed by some
// different request, we assume that the body replacement operation is
// complete") and a later SMFIR_REPLBODY is refused: "body replacement
// requests can't currently be mixed with other requests", a configuration
// error that closes the milter connection and applies
// milter_default_action. Both methods run under lockedModifier's lock.
type postfixBodyRule struct {
	recorder
	chunks      int
	progress    int  // keep-alives
	interleaved int  // body chunks refused: a keep-alive came before them and after another
	ended       bool // a keep-alive came after a body chunk
}

func (m *postfixBodyRule) Progress() error {
	m.progress++
	if m.chunks > 0 {
		m.ended = true
	}
	return nil
}

func (m *postfixBodyRule) ReplaceBodyRawChunk([]byte) error {
	if m.ended {
		m.interleaved++
		return errors.New("milter: body replacement requests can't currently be mixed with other requests")
	}
	m.chunks++
	m.changes++
	return nil
}

// A sealed body that takes longer than the keep-alive interval to stream
// gets keep-alives between its replace-body chunks. Postfix takes the first
// keep-alive as the end of the new body and refuses the next chunk: with
// milter_default_action = tempfail the message is refused, and refused again
// on every retry — a large message for outside is never delivered — while
// postseal logs that the MTA went away. The keep-alive must not come between
// two chunks.
func TestSessionNoKeepAliveBetweenBodyChunks(t *testing.T) {
	var logs syncBuffer
	st := newMemStore()
	f := New(testPolicy(t), st, &fakeSender{}, slog.New(slog.NewTextHandler(&logs, nil)), Config{SpoolDir: t.TempDir()})
	f.keepAlive = time.Millisecond // a seal slower than the interval, as a large message's is at 1 s
	m := &postfixBodyRule{}
	s := &session{f: f, leadingSpace: true}
	sendHeader(s, m, "doc@example.org", "pat@ext.example", protoHeaders)
	s.Headers(m)
	s.BodyChunk(incompressible(1_500_000), m)
	got := replyCode(s.EndOfMessage(m))
	if m.interleaved > 0 || got != "response=accept" {
		var line string
		for _, l := range logs.lines() {
			if strings.Contains(l, "outcome=") {
				line = l
			}
		}
		t.Errorf("%d body chunks taken, %d keep-alives, %d chunks refused after a keep-alive; answer %s, log:\n%s\nwant no keep-alive between body chunks and an accept", m.chunks, m.progress, m.interleaved, got, line)
	}
}
