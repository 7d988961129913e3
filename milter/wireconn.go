package milter

import (
	"bufio"
	"encoding/binary"
	"fmt"
	"net"
	"sync"
)

// The milter protocol is a stream of packets: a 4-octet length, then that
// many octets (a command code and its data). go-milter reads each packet
// with two reads straight from the connection (length, then data) and
// writes each with two writes (length and code, then data). With TCP_NODELAY
// every write is a segment of its own that wakes the MTA, and every read a
// system call: a sealed message of the pipeline bench cost postseal ~60
// reads and ~14 writes, and on these virtual machines each system call and
// each wake-up is dear. packetConn reads through a buffer (the MTA sends the
// header fields without waiting for replies, so one read takes many
// packets) and holds back a write that starts a packet without finishing it
// until the rest comes, so a packet leaves in one writev.

// readBufferSize holds a typical header's worth of packets; larger reads
// (body chunks) bypass the buffer.
const readBufferSize = 8 << 10

// maxPacket bounds a packet from the MTA. The largest an MTA sends is a
// header field (Postfix's header_size_limit is 100 KiB by default) or a
// body chunk (64 KiB as negotiated); go-milter itself would allocate
// whatever length a peer announces, up to 512 MiB, before reading it.
const maxPacket = 4 << 20

// maxHeld is the most a write may be held back: a packet's length and code
// (go-milter's first write), with room to spare. Larger partial writes go
// out at once.
const maxHeld = 64

// PacketListener returns l with its connections read and written as
// packetConn does. The bench's do-nothing milter uses it too, so that the
// floor it measures has the same transport as postseal.
func PacketListener(l net.Listener) net.Listener { return packetListener{l} }

type packetListener struct{ net.Listener }

func (l packetListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	return newPacketConn(c), nil
}

type packetConn struct {
	net.Conn
	r     *bufio.Reader
	rleft uint64 // octets of the packet being read still to come

	mu   sync.Mutex // guards the write side (keep-alives come from another goroutine)
	held []byte     // the start of a packet not yet written
	f    framer     // where the octets handed to Write stand in the packet stream
	// werr is the first write error: the peer may have part of a packet,
	// so nothing more is written or read (the session then ends and the
	// MTA temp-fails the message).
	werr error
}

func newPacketConn(c net.Conn) *packetConn {
	return &packetConn{Conn: c, r: bufio.NewReaderSize(c, readBufferSize), held: make([]byte, 0, maxHeld)}
}

// Read flushes anything held back first: a peer is never left waiting for
// octets that sit here while this side waits for its answer. It stops at
// each packet's end to check the next packet's length: a packet of length
// 0 has no command code, and go-milter indexes it and panics, which would
// end the whole process; one past maxPacket is refused before go-milter
// allocates it. Either is a read error, so only that connection ends.
func (c *packetConn) Read(p []byte) (int, error) {
	c.mu.Lock()
	err := c.flushLocked()
	c.mu.Unlock()
	if err != nil {
		return 0, err
	}
	if len(p) == 0 {
		return 0, nil
	}
	if c.rleft == 0 {
		b, err := c.r.Peek(4)
		if err != nil {
			// Short of a length (the peer went away, a deadline): the
			// error; octets already here stay buffered, in frame.
			return 0, err
		}
		n := binary.BigEndian.Uint32(b)
		if n == 0 || n > maxPacket {
			return 0, fmt.Errorf("milter packet of %d octets from the MTA (want 1 to %d)", n, maxPacket)
		}
		c.rleft = 4 + uint64(n)
	}
	n, err := c.r.Read(p[:min(uint64(len(p)), c.rleft)])
	c.rleft -= uint64(n)
	return n, err
}

func (c *packetConn) Write(p []byte) (int, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.werr != nil {
		return 0, c.werr
	}
	if len(c.held) > 0 {
		held := len(c.held)
		bufs := net.Buffers{c.held, p}
		n, err := bufs.WriteTo(c.Conn)
		c.held = c.held[:0]
		c.werr = err
		written := max(int(n)-held, 0)
		c.f.advance(p[:written])
		return written, err
	}
	if c.f.atBoundary() && len(p) <= maxHeld && startsPartialPacket(p) {
		c.held = append(c.held, p...)
		c.f.advance(p)
		return len(p), nil
	}
	n, err := c.Conn.Write(p)
	c.werr = err
	c.f.advance(p[:n])
	return n, err
}

func (c *packetConn) flushLocked() error {
	if c.werr != nil {
		return c.werr
	}
	if len(c.held) == 0 {
		return nil
	}
	_, err := c.Conn.Write(c.held)
	c.held = c.held[:0]
	c.werr = err
	return err
}

// startsPartialPacket reports whether p, written at a packet boundary, is
// the start of a packet that p does not finish.
func startsPartialPacket(p []byte) bool {
	if len(p) < 4 {
		return len(p) > 0
	}
	return 4+uint64(binary.BigEndian.Uint32(p)) > uint64(len(p))
}

// framer follows packet boundaries through the octets written.
type framer struct {
	left uint64  // octets of the current packet still to come
	hdr  [4]byte // the next packet's length, as far as seen
	nh   int
}

func (f *framer) atBoundary() bool { return f.left == 0 && f.nh == 0 }

func (f *framer) advance(p []byte) {
	for len(p) > 0 {
		if f.left > 0 {
			n := min(f.left, uint64(len(p)))
			f.left -= n
			p = p[n:]
			continue
		}
		k := copy(f.hdr[f.nh:], p)
		f.nh += k
		p = p[k:]
		if f.nh == len(f.hdr) {
			f.left, f.nh = uint64(binary.BigEndian.Uint32(f.hdr[:])), 0
		}
	}
}
