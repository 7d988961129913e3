package milter

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"path/filepath"
)

// bodyBuffer holds the body of a message that is to be sealed. Up to
// memMax bytes stay in memory; more spill to a file in the spool folder
// (plaintext mail: the folder is 0700 and the file is removed on Close).
// Past limit nothing more is kept, only counted: such a message is refused
// as too large, so a body is never sealed truncated.
type bodyBuffer struct {
	dir    string
	memMax int
	limit  int64
	mem    []byte
	file   *os.File
	size   int64
	err    error // a spill failure; the message must then be temp-failed
}

func newBodyBuffer(dir string, memMax int, limit int64) *bodyBuffer {
	return &bodyBuffer{dir: dir, memMax: memMax, limit: limit}
}

// Write keeps p (or only counts it past the limit). It never fails: a spill
// error is remembered and reported by Reader, because the MTA is streaming
// and the answer only comes at the end of the message.
func (b *bodyBuffer) Write(p []byte) (int, error) {
	b.size += int64(len(p))
	if b.err != nil || b.Over() {
		b.drop()
		return len(p), nil
	}
	if b.file == nil && len(b.mem)+len(p) <= b.memMax {
		b.mem = append(b.mem, p...)
		return len(p), nil
	}
	if b.file == nil {
		f, err := os.CreateTemp(b.dir, "body-*")
		if err != nil {
			b.err = fmt.Errorf("spool body: %w", err)
			return len(p), nil
		}
		b.file = f
		if _, err := f.Write(b.mem); err != nil {
			b.err = fmt.Errorf("spool body: %w", err)
			return len(p), nil
		}
		b.mem = nil
	}
	if _, err := b.file.Write(p); err != nil {
		b.err = fmt.Errorf("spool body: %w", err)
	}
	return len(p), nil
}

// Over reports whether the body has grown past the limit.
func (b *bodyBuffer) Over() bool { return b.size > b.limit }

// Size is the number of body bytes received.
func (b *bodyBuffer) Size() int64 { return b.size }

// Reader returns the body from its start.
func (b *bodyBuffer) Reader() (io.ReadSeeker, error) {
	switch {
	case b.err != nil:
		return nil, b.err
	case b.Over():
		return nil, fmt.Errorf("body of %d bytes exceeds %d", b.size, b.limit)
	case b.file != nil:
		return io.NewSectionReader(b.file, 0, b.size), nil
	}
	return bytes.NewReader(b.mem), nil
}

func (b *bodyBuffer) drop() {
	b.mem = nil
	if b.file != nil {
		b.file.Close()
		os.Remove(b.file.Name())
		b.file = nil
	}
}

// Close removes what the buffer kept.
func (b *bodyBuffer) Close() { b.drop() }

// PrepareSpool creates the private spool folder and removes what a crash
// left there: those messages were never answered, so the MTA still has
// them and will send them again.
func PrepareSpool(dir string) error {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("spool %s: %w", dir, err)
	}
	if err := os.Chmod(dir, 0o700); err != nil {
		return fmt.Errorf("spool %s: %w", dir, err)
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		return fmt.Errorf("spool %s: %w", dir, err)
	}
	for _, e := range entries {
		if err := os.RemoveAll(filepath.Join(dir, e.Name())); err != nil {
			return fmt.Errorf("spool %s: %w", dir, err)
		}
	}
	return nil
}
