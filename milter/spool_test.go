package milter

import (
	"bytes"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/postseal/postseal/policy"
)

// A body of exactly the limit is kept whole and readable; one byte more is
// over, read as an error, and nothing of it stays in the spool. Both in
// memory and spilled to a file.
func TestBodyBufferLimitBoundary(t *testing.T) {
	for _, tc := range []struct {
		name   string
		memMax int
	}{{"in memory", 1 << 20}, {"spilled", 16}} {
		t.Run(tc.name, func(t *testing.T) {
			const limit = 100
			dir := t.TempDir()
			body := bytes.Repeat([]byte("y"), limit)

			b := newBodyBuffer(dir, tc.memMax, limit)
			b.Write(body[:limit/2])
			b.Write(body[limit/2:])
			if b.Over() || b.Size() != limit {
				t.Fatalf("at the limit: over %v, size %d; want not over, %d", b.Over(), b.Size(), limit)
			}
			r, err := b.Reader()
			if err != nil {
				t.Fatalf("at the limit: %v", err)
			}
			got, _ := io.ReadAll(r)
			if !bytes.Equal(got, body) {
				t.Fatalf("at the limit read %d bytes back; want the %d written", len(got), limit)
			}
			b.Close()

			b = newBodyBuffer(dir, tc.memMax, limit)
			b.Write(body)
			b.Write([]byte("z"))
			if !b.Over() || b.Size() != limit+1 {
				t.Fatalf("one past the limit: over %v, size %d", b.Over(), b.Size())
			}
			if _, err := b.Reader(); err == nil || !strings.Contains(err.Error(), "exceeds") {
				t.Fatalf("one past the limit read without the size error: %v", err)
			}
			if left, _ := os.ReadDir(dir); len(left) != 0 {
				t.Errorf("%d spool files kept for a body over the limit", len(left))
			}
			b.Close()
		})
	}
}

// A spilled body lives in the spool until Close, then is gone.
func TestBodyBufferSpillRemovedOnClose(t *testing.T) {
	dir := t.TempDir()
	b := newBodyBuffer(dir, 4, 1000)
	b.Write([]byte("plaintext body"))
	if left, _ := os.ReadDir(dir); len(left) != 1 {
		t.Fatalf("%d spool files while spilled; want 1", len(left))
	}
	b.Close()
	if left, _ := os.ReadDir(dir); len(left) != 0 {
		t.Errorf("%d spool files after Close", len(left))
	}
}

// What a crash left in the spool (plaintext bodies, even a folder) is
// removed at start, and the folder is made private again.
func TestPrepareSpoolEmptiesLeftovers(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "spool")
	if err := os.MkdirAll(filepath.Join(dir, "sub"), 0o755); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"body-123", "sub/body-456"} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte("MRN 12345678"), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	if err := PrepareSpool(dir); err != nil {
		t.Fatal(err)
	}
	left, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(left) != 0 {
		t.Errorf("left in the spool after start: %v", left)
	}
	fi, err := os.Stat(dir)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o700 {
		t.Errorf("spool mode %v; want 0700", fi.Mode().Perm())
	}
	// A fresh start creates it.
	fresh := filepath.Join(t.TempDir(), "a", "b")
	if err := PrepareSpool(fresh); err != nil {
		t.Fatal(err)
	}
	if fi, err := os.Stat(fresh); err != nil || !fi.IsDir() || fi.Mode().Perm() != 0o700 {
		t.Errorf("fresh spool: %v, %v", fi, err)
	}
}

// A spool that cannot be made is an error naming it, not a start with no
// private place for bodies.
func TestPrepareSpoolError(t *testing.T) {
	file := filepath.Join(t.TempDir(), "file")
	if err := os.WriteFile(file, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	err := PrepareSpool(filepath.Join(file, "spool"))
	if err == nil || !strings.Contains(err.Error(), file) {
		t.Errorf("spool under a file: %v; want an error naming it", err)
	}
}

// A body of exactly MemMax bytes stays in memory; one byte more spills to
// the spool, and reads back whole either way.
func TestBodyBufferMemoryBoundary(t *testing.T) {
	dir := t.TempDir()
	b := newBodyBuffer(dir, 16, 100)
	defer b.Close()
	b.Write(bytes.Repeat([]byte("a"), 16))
	if left, _ := os.ReadDir(dir); len(left) != 0 {
		t.Fatalf("%d spool files for a body of exactly MemMax bytes; want it in memory", len(left))
	}
	b.Write([]byte("b"))
	if left, _ := os.ReadDir(dir); len(left) != 1 {
		t.Fatalf("%d spool files one byte past MemMax; want 1", len(left))
	}
	r, err := b.Reader()
	if err != nil {
		t.Fatal(err)
	}
	if got, _ := io.ReadAll(r); string(got) != strings.Repeat("a", 16)+"b" {
		t.Errorf("spilled body read back as %q", got)
	}
}

// A spool that cannot be written is reported when the body is read (the
// message is then temp-failed); the size still counts every byte.
func TestBodyBufferSpillError(t *testing.T) {
	b := newBodyBuffer(filepath.Join(t.TempDir(), "missing"), 4, 100)
	defer b.Close()
	b.Write([]byte("abc"))
	b.Write([]byte("defg"))
	b.Write([]byte("hij"))
	if b.Size() != 10 || b.Over() {
		t.Errorf("size %d over %v; want 10, not over", b.Size(), b.Over())
	}
	if _, err := b.Reader(); err == nil || !strings.HasPrefix(err.Error(), "spool body: ") {
		t.Errorf("Reader after a failed spill: %v; want the spool error", err)
	}
}

// A body the spool could not keep temp-fails the message, and its log line
// gives the message's size as received: header and body.
func TestSessionSpoolErrorLogsSize(t *testing.T) {
	var logs syncBuffer
	f := New(testPolicy(t), newMemStore(), &fakeSender{}, slog.New(slog.NewTextHandler(&logs, nil)),
		Config{SpoolDir: filepath.Join(t.TempDir(), "missing"), MemMax: 16})
	m := &recorder{}
	s := &session{f: f, leadingSpace: true}
	sendHeader(s, m, "doc@example.org", "pat@ext.example", protoHeaders)
	s.Headers(m)
	s.BodyChunk([]byte(testBody), m)
	if got := replyCode(s.EndOfMessage(m)); !strings.Contains(got, "451") {
		t.Fatalf("end of message with a failed spool: %s; want 451", got)
	}
	var header strings.Builder
	for _, h := range protoHeaders {
		header.WriteString(h[0] + ": " + h[1] + "\r\n")
	}
	want := fmt.Sprintf("size=%d ", header.Len()+len("\r\n")+len(testBody))
	line := strings.Join(logs.lines(), "\n")
	if !strings.Contains(line, "reason=spool") || !strings.Contains(line, want) {
		t.Errorf("spool failure line lacks reason=spool or %q:\n%s", want, line)
	}
	if m.changes != 0 {
		t.Errorf("%d changes sent for a message whose body was lost", m.changes)
	}
}

// Original reads the body where the buffer keeps it, in memory or spooled:
// every reader it hands out yields the same bytes from the start, can be
// read at any offset (sealing samples it in windows), and a spooled body is
// not copied into memory.
func TestOriginalReadsBodyInPlace(t *testing.T) {
	var body bytes.Buffer
	for i := 0; body.Len() < 4<<20; i++ {
		fmt.Fprintf(&body, "line %d of a long report\r\n", i)
	}
	for _, memMax := range []int{64 << 20, 1 << 20} {
		b := newBodyBuffer(t.TempDir(), memMax, 1<<30)
		_, _ = b.Write(body.Bytes())
		spooled := b.file != nil
		if spooled != (memMax < body.Len()) {
			t.Fatalf("memMax %d: spooled %v", memMax, spooled)
		}
		r, err := b.Reader()
		if err != nil {
			t.Fatal(err)
		}
		trx := &Transaction{Fields: policy.Header{{Name: "Subject", Value: " folded\n\tover two lines"}, {Name: "To", Value: " a@example.org"}}, Body: r, BodySize: b.Size()}
		head := "Subject: folded\r\n\tover two lines\r\nTo: a@example.org\r\n\r\n"
		want := head + body.String()

		first, err := trx.Original()
		if err != nil {
			t.Fatal(err)
		}
		part := make([]byte, 1000)
		if _, err := io.ReadFull(first, part); err != nil {
			t.Fatal(err)
		}
		// A second reader starts at the beginning, whatever the first did.
		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		second, err := trx.Original()
		if err != nil {
			t.Fatal(err)
		}
		n, err := io.Copy(io.Discard, second)
		runtime.ReadMemStats(&after)
		if err != nil || n != int64(len(want)) {
			t.Fatalf("memMax %d: second reader: %d bytes, %v; want %d", memMax, n, err, len(want))
		}
		if spooled && after.TotalAlloc-before.TotalAlloc > 1<<20 {
			t.Errorf("reading a spooled 4 MB message allocated %d bytes; want it read in place", after.TotalAlloc-before.TotalAlloc)
		}
		rest, err := io.ReadAll(first)
		if err != nil || string(part)+string(rest) != want {
			t.Fatalf("memMax %d: first reader after the second: %d bytes, %v; want the message", memMax, len(part)+len(rest), err)
		}
		ra, ok := first.(interface {
			io.ReaderAt
			io.Seeker
		})
		if !ok {
			t.Fatalf("memMax %d: Original is a %T; want an io.ReaderAt and io.Seeker", memMax, first)
		}
		// Across the end of the header, and the end of the message.
		for _, off := range []int{0, len(head) - 3, len(head), len(want) - 5} {
			got := make([]byte, 10)
			k, err := ra.ReadAt(got, int64(off))
			if end := min(off+10, len(want)); string(got[:k]) != want[off:end] || (end-off < 10 && err != io.EOF) || (end-off == 10 && err != nil) {
				t.Errorf("memMax %d: ReadAt(10 bytes, %d) = %q, %v; want %q", memMax, off, got[:k], err, want[off:end])
			}
		}
		if end, err := ra.Seek(0, io.SeekEnd); err != nil || end != int64(len(want)) {
			t.Errorf("memMax %d: Seek to the end = %d, %v; want %d", memMax, end, err, len(want))
		}
		b.Close()
	}
}
