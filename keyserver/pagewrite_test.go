package keyserver

import (
	"bytes"
	"errors"
	"net/http/httptest"
	"testing"
	"time"
)

// deadlineRecorder is a response recorder whose connection takes write
// deadlines (as net/http's does) and can break: the n-th deadline and
// later ones fail with deadlineErr (0: never), and a flush with flushErr.
type deadlineRecorder struct {
	*httptest.ResponseRecorder
	deadlines   []time.Time
	failFrom    int
	deadlineErr error
	flushErr    error
	flushes     int
}

func (d *deadlineRecorder) SetWriteDeadline(t time.Time) error {
	d.deadlines = append(d.deadlines, t)
	if d.failFrom > 0 && len(d.deadlines) >= d.failFrom {
		return d.deadlineErr
	}
	return nil
}

func (d *deadlineRecorder) FlushError() error {
	d.flushes++
	return d.flushErr
}

// brokenAfter is a connection that takes limit octets and then fails,
// recording the size of each write.
type brokenAfter struct {
	limit  int
	got    bytes.Buffer
	writes []int
}

var errBroken = errors.New("connection reset")

func (b *brokenAfter) Write(p []byte) (int, error) {
	b.writes = append(b.writes, len(p))
	if room := b.limit - b.got.Len(); len(p) > room {
		b.got.Write(p[:room])
		return room, errBroken
	}
	return b.got.Write(p)
}

func pacedOver(w *deadlineRecorder, sink *brokenAfter, stall, total time.Duration) *pacedWriter {
	s := &Server{cfg: Config{PageStall: stall, PageWriteTime: total}}
	p := s.pacedPage(w)
	if sink != nil {
		p.w = sink
	}
	return p
}

// A page is written in chunks of at most pageChunk, each under a deadline
// renewed to now + PageStall (never past the page's end); a write that
// fails part way reports how much went out and its error.
func TestPacedWriterChunks(t *testing.T) {
	rec := &deadlineRecorder{ResponseRecorder: httptest.NewRecorder()}
	sink := &brokenAfter{limit: 1 << 30}
	start := time.Now()
	p := pacedOver(rec, sink, 20*time.Second, time.Minute)
	page := bytes.Repeat([]byte("x"), 2*pageChunk+5)
	if n, err := p.Write(page); n != len(page) || err != nil {
		t.Fatalf("Write: %d, %v; want %d, nil", n, err, len(page))
	}
	if len(sink.writes) != 3 || sink.writes[0] != pageChunk || sink.writes[1] != pageChunk || sink.writes[2] != 5 {
		t.Errorf("writes %v; want %d, %d, 5", sink.writes, pageChunk, pageChunk)
	}
	if len(rec.deadlines) != 3 {
		t.Fatalf("%d deadlines for 3 chunks; want one each", len(rec.deadlines))
	}
	for i, d := range rec.deadlines {
		if d.Before(start.Add(20*time.Second)) || d.After(time.Now().Add(20*time.Second)) {
			t.Errorf("deadline %d at %v from the start; want now + 20s", i, d.Sub(start))
		}
	}
	// A stall longer than what is left of the page: the page's end.
	rec2 := &deadlineRecorder{ResponseRecorder: httptest.NewRecorder()}
	p2 := pacedOver(rec2, nil, time.Hour, time.Minute)
	if _, err := p2.Write([]byte("abc")); err != nil || len(rec2.deadlines) != 1 || !rec2.deadlines[0].Equal(p2.end) {
		t.Errorf("stall past the end: %v, deadlines %v; want the end %v", err, rec2.deadlines, p2.end)
	}

	broken := &brokenAfter{limit: pageChunk + 10}
	p3 := pacedOver(&deadlineRecorder{ResponseRecorder: httptest.NewRecorder()}, broken, time.Second, time.Minute)
	if n, err := p3.Write(page); n != pageChunk+10 || !errors.Is(err, errBroken) {
		t.Errorf("a connection broken after %d octets: %d, %v; want %d and its error", pageChunk+10, n, err, pageChunk+10)
	}
}

// A deadline the connection refuses stops the page before anything more is
// written; one it does not support (a recorder) does not.
func TestPacedWriterDeadlineRefused(t *testing.T) {
	rec := &deadlineRecorder{ResponseRecorder: httptest.NewRecorder(), failFrom: 2, deadlineErr: errBroken}
	sink := &brokenAfter{limit: 1 << 30}
	p := pacedOver(rec, sink, time.Second, time.Minute)
	n, err := p.Write(bytes.Repeat([]byte("x"), pageChunk+1))
	if n != pageChunk || !errors.Is(err, errBroken) || sink.got.Len() != pageChunk {
		t.Errorf("second deadline refused: %d, %v, %d octets written; want %d, its error, and nothing after it", n, err, sink.got.Len(), pageChunk)
	}
	plain := httptest.NewRecorder()
	s := &Server{cfg: Config{PageStall: time.Second, PageWriteTime: time.Minute}}
	pp := s.pacedPage(plain)
	if n, err := pp.Write([]byte("abc")); n != 3 || err != nil || plain.Body.String() != "abc" {
		t.Errorf("a writer without deadlines: %d, %v, %q; want it written", n, err, plain.Body.String())
	}
	if err := pp.finish(); err != nil || !plain.Flushed {
		t.Errorf("finish on a writer without deadlines: %v, flushed %v; want nil and flushed", err, plain.Flushed)
	}
}

// finish flushes under a renewed deadline, then leaves the page's end as
// the connection's deadline; each failure is reported.
func TestPacedWriterFinish(t *testing.T) {
	rec := &deadlineRecorder{ResponseRecorder: httptest.NewRecorder()}
	p := pacedOver(rec, nil, time.Second, time.Minute)
	if err := p.finish(); err != nil || rec.flushes != 1 || len(rec.deadlines) != 2 || !rec.deadlines[1].Equal(p.end) {
		t.Errorf("finish: %v, %d flushes, deadlines %v; want nil, one flush, then the end %v", err, rec.flushes, rec.deadlines, p.end)
	}
	for _, tc := range []struct {
		name string
		rec  *deadlineRecorder
	}{
		{"deadline before the flush refused", &deadlineRecorder{ResponseRecorder: httptest.NewRecorder(), failFrom: 1, deadlineErr: errBroken}},
		{"flush failed", &deadlineRecorder{ResponseRecorder: httptest.NewRecorder(), flushErr: errBroken}},
		{"end deadline refused", &deadlineRecorder{ResponseRecorder: httptest.NewRecorder(), failFrom: 2, deadlineErr: errBroken}},
	} {
		p := pacedOver(tc.rec, nil, time.Second, time.Minute)
		if err := p.finish(); !errors.Is(err, errBroken) {
			t.Errorf("%s: finish returned %v; want the connection's error", tc.name, err)
		}
	}
}
