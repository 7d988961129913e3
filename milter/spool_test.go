package milter

import (
	"bytes"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
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
