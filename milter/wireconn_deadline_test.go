package milter

// The write deadlines of packetConn: the flush of held octets before a
// read, and deadlines set from another goroutine.

import (
	"bytes"
	"errors"
	"io"
	"net"
	"sync"
	"testing"
	"time"
)

// The flush before a read has a write deadline of its own: go-milter sets
// one around each of its writes and clears it after, so octets held past
// a write and sent from Read would otherwise wait for an MTA that no
// longer reads for ever, and the session's goroutine with them.
func TestPacketConnReadFlushHasDeadline(t *testing.T) {
	mine, mta := net.Pipe() // writes block until the other end reads
	defer mta.Close()
	c := newPacketConn(mine)
	c.flushTimeout = 50 * time.Millisecond
	if _, err := c.Write(packet('h', []byte("X-Held\x00v\x00"))); err != nil {
		t.Fatal(err)
	}
	if len(c.held) == 0 {
		t.Fatal("the change packet was not held; the test needs it held at the read")
	}
	done := make(chan error, 1)
	go func() {
		_, err := c.Read(make([]byte, 8))
		done <- err
	}()
	select {
	case err := <-done:
		var ne net.Error
		if !errors.As(err, &ne) || !ne.Timeout() {
			t.Fatalf("Read with a held write the MTA never takes: %v; want a timeout", err)
		}
	case <-time.After(10 * time.Second):
		mine.Close() // ends the Read; the test has failed
		t.Fatal("Read still blocked on its flush after 10 s: no write deadline, or not flushTimeout's")
	}
	// The failed flush sticks: the peer may hold part of a packet.
	if _, err := c.Write(nil); err == nil {
		t.Error("a write after the failed flush succeeded; want its error kept")
	}
}

// The flush's own deadline does not outlive it: the deadline go-milter
// set for a write of its own (a keep-alive from another goroutine sets
// one, then waits for the lock) is put back, not cleared.
func TestPacketConnReadFlushKeepsWriteDeadline(t *testing.T) {
	pc := &pipeConn{in: bytes.NewReader(packet('r', []byte("reply")))}
	c := newPacketConn(pc)
	if _, err := c.Write(packet('h', []byte("X-Held\x00v\x00"))); err != nil {
		t.Fatal(err)
	}
	theirs := time.Now().Add(time.Hour)
	if err := c.SetWriteDeadline(theirs); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Read(make([]byte, 4)); err != nil {
		t.Fatal(err)
	}
	if pc.out.Len() == 0 {
		t.Fatal("nothing flushed; the test needs the held packet sent from Read")
	}
	if !pc.wdeadline.Equal(theirs) {
		t.Errorf("write deadline after the flush = %v; want the one set before it, %v", pc.wdeadline, theirs)
	}
}

// inWrite returns once a write on mine (a net.Pipe end) is under way: the
// peer has taken its first octet, and net.Pipe's Write returns only once
// the peer has taken all of it.
func inWrite(t *testing.T, mta net.Conn) {
	t.Helper()
	if _, err := mta.Read(make([]byte, 1)); err != nil {
		t.Fatal(err)
	}
}

// waitTimeout fails the test unless done yields a timeout error within
// 10 s (the writes it waits for have no deadline of their own, or one of
// an hour).
func waitTimeout(t *testing.T, what string, done <-chan error) {
	t.Helper()
	select {
	case err := <-done:
		var ne net.Error
		if !errors.As(err, &ne) || !ne.Timeout() {
			t.Fatalf("%s ended with %v; want a timeout", what, err)
		}
	case <-time.After(10 * time.Second):
		t.Fatalf("%s still blocked after 10 s", what)
	}
}

// endNow sets c's write deadline to now from another goroutine, as a
// caller ending a blocked write would, and requires both that call and
// the write (what, reporting on done) to end, the write with a timeout.
func endNow(t *testing.T, c *packetConn, what string, done <-chan error) {
	t.Helper()
	set := make(chan error, 1)
	go func() { set <- c.SetWriteDeadline(time.Now()) }()
	select {
	case err := <-set:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(10 * time.Second):
		t.Fatalf("SetWriteDeadline still blocked after 10 s behind %s", what)
	}
	waitTimeout(t, what, done)
}

// A deadline set from another goroutine ends a write already blocked, as
// net.Conn promises: SetWriteDeadline does not wait for the write side's
// lock, which the blocked write holds (review finding; it waited for
// ever behind a write without a deadline).
func TestPacketConnDeadlineEndsPendingWrite(t *testing.T) {
	mine, mta := net.Pipe()
	defer mta.Close()
	defer mine.Close()
	c := newPacketConn(mine)
	wrote := make(chan error, 1)
	go func() {
		_, err := c.Write(packet('y', []byte("a reply: not held")))
		wrote <- err
	}()
	inWrite(t, mta)
	endNow(t, c, "the pending Write", wrote)
}

// So for Read's flush: a deadline set meanwhile from another goroutine
// ends it, and is not put off by the flush's own later one.
func TestPacketConnDeadlineEndsReadFlush(t *testing.T) {
	c, mta := heldOnPipe(t)
	read := readAsync(c)
	inWrite(t, mta)
	endNow(t, c, "Read's flush", read)
}

// A write deadline sooner than the flush's own stays in force for the
// flush (review finding: the flush replaced it with its own, later one).
func TestPacketConnReadFlushKeepsSoonerDeadline(t *testing.T) {
	c, _ := heldOnPipe(t)
	if err := c.SetWriteDeadline(time.Now().Add(50 * time.Millisecond)); err != nil {
		t.Fatal(err)
	}
	waitTimeout(t, "Read's flush", readAsync(c))
}

// heldOnPipe returns a packetConn over a net.Pipe whose MTA end (returned)
// reads only when the test does, with a change packet held and an hour's
// flushTimeout.
func heldOnPipe(t *testing.T) (*packetConn, net.Conn) {
	t.Helper()
	mine, mta := net.Pipe()
	t.Cleanup(func() { mine.Close(); mta.Close() })
	c := newPacketConn(mine)
	c.flushTimeout = time.Hour
	if _, err := c.Write(packet('h', []byte("X-Held\x00v\x00"))); err != nil {
		t.Fatal(err)
	}
	return c, mta
}

// readAsync reads from c on another goroutine and reports the error.
func readAsync(c *packetConn) <-chan error {
	read := make(chan error, 1)
	go func() {
		_, err := c.Read(make([]byte, 8))
		read <- err
	}()
	return read
}

// deadlineConn records the write deadline, from any goroutine.
type deadlineConn struct {
	net.Conn // nil: only Read, Write and SetWriteDeadline are used
	mu       sync.Mutex
	deadline time.Time
	out      bytes.Buffer
}

func (d *deadlineConn) SetWriteDeadline(t time.Time) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.deadline = t
	return nil
}

func (d *deadlineConn) Write(b []byte) (int, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.out.Write(b)
}

func (d *deadlineConn) Read([]byte) (int, error) { return 0, io.EOF }

// Read's flush and a SetWriteDeadline from another goroutine, in either
// order: the deadline set is the one in force after both, and -race sees
// no unguarded access (written by the reviewer: with SetWriteDeadline's
// lock removed it is a data race on wdeadline, which the tests above run
// on one goroutine cannot see).
func TestPacketConnConcurrentDeadlineAndFlush(t *testing.T) {
	for range 50 {
		dc := &deadlineConn{}
		c := newPacketConn(dc)
		if _, err := c.Write(packet('h', []byte("X-Held\x00v\x00"))); err != nil {
			t.Fatal(err)
		}
		theirs := time.Now().Add(time.Hour)
		var wg sync.WaitGroup
		wg.Go(func() { _, _ = c.Read(make([]byte, 4)) })
		wg.Go(func() { _ = c.SetWriteDeadline(theirs) })
		wg.Wait()
		dc.mu.Lock()
		got := dc.deadline
		dc.mu.Unlock()
		if !got.Equal(theirs) {
			t.Fatalf("deadline after both = %v; want %v", got, theirs)
		}
	}
}
