package keyserver

import (
	"errors"
	"io"
	"net/http"
	"time"
)

// A page of Open Online or the phone is the whole payload (up to 14 MB)
// written while a page slot is held (openSlot: 4 per process, 2 per
// client). The listener's WriteTimeout (5 minutes) alone let a client that
// asks for a large page and never reads it hold a slot that long: four
// such connections from two addresses refused every page and every Open
// Online post. So the page must keep a pace: each pageChunk must be
// accepted by the connection within PageStall, or the connection is cut
// (and the slot freed) — the deadline is renewed before every chunk, so a
// slow but steady reader is served, up to PageWriteTime in all.
const (
	// pageChunk is the unit of pace: 64 KiB is a few TCP windows, so a
	// reader that reads at all accepts one long before the stall.
	pageChunk = 64 << 10
	// pageStall, per pageChunk, is a floor of 3.2 KB/s (26 kbit/s), below
	// any phone link that can load a page of megabytes at all; a client
	// that stops reading is cut within it once the socket buffers are full.
	pageStall = 20 * time.Second
	// pageWriteTime is the listener's WriteTimeout (cmd/postseal serve),
	// which a renewed deadline would otherwise outlast: a reader just
	// above the floor still holds a slot no longer than before.
	pageWriteTime = 5 * time.Minute
)

// pacedWriter writes to a response in chunks of at most pageChunk, each
// under a write deadline of now + stall (never past end).
type pacedWriter struct {
	w     io.Writer
	rc    *http.ResponseController
	stall time.Duration
	end   time.Time
}

func (s *Server) pacedPage(w http.ResponseWriter) *pacedWriter {
	return &pacedWriter{w: w, rc: http.NewResponseController(w), stall: s.cfg.PageStall, end: time.Now().Add(s.cfg.PageWriteTime)}
}

func (p *pacedWriter) Write(b []byte) (int, error) {
	n := 0
	for len(b) > 0 {
		chunk := b[:min(len(b), pageChunk)]
		if err := p.deadline(); err != nil {
			return n, err
		}
		m, err := p.w.Write(chunk)
		n += m
		if err != nil {
			return n, err
		}
		b = b[m:]
	}
	return n, nil
}

// deadline renews the write deadline for the next chunk. A response that
// takes none (a test's recorder) is written without one.
func (p *pacedWriter) deadline() error {
	d := time.Now().Add(p.stall)
	if d.After(p.end) {
		d = p.end
	}
	if err := p.rc.SetWriteDeadline(d); err != nil && !errors.Is(err, http.ErrNotSupported) {
		return err
	}
	return nil
}

// finish sends what the response still buffers under the pace, then
// leaves the connection the page's end as its deadline (the listener sets
// its own again for the next request).
func (p *pacedWriter) finish() error {
	if err := p.deadline(); err != nil {
		return err
	}
	if err := p.rc.Flush(); err != nil && !errors.Is(err, http.ErrNotSupported) {
		return err
	}
	if err := p.rc.SetWriteDeadline(p.end); err != nil && !errors.Is(err, http.ErrNotSupported) {
		return err
	}
	return nil
}
