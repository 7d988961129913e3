package milter

import (
	"bufio"
	"encoding/binary"
	"fmt"
	"net"
	"sync"
	"time"
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

// The changes to a message (header fields, recipients, replace-body chunks)
// are packets the MTA takes without answering, and the end of the message's
// reply always follows them: packetConn holds whole change packets, up to
// maxHeldChanges octets, until a packet that is not a change (the reply, a
// progress message) or a read, so that a sealed message's body chunk, its
// header changes and the accept leave in one write instead of one each
// (each a system call here and a wake-up of the MTA). A change is only
// applied with the final accept, so none needs to reach the MTA sooner; a
// connection that ends without a reply drops what it holds, as the MTA
// would drop the changes. A full body chunk (64 KiB) is not held.
const maxHeldChanges = 64 << 10

// heldChanges holds the octets of change packets past the small start
// buffer, one array per connection while it holds them.
var heldChanges = sync.Pool{New: func() any { return new([maxHeldChanges]byte) }}

// isChange reports whether code is a milter reply that changes the message
// (SMFIR_ADDRCPT, DELRCPT, ADDRCPT_PAR, REPLBODY, CHGFROM, ADDHEADER,
// INSHEADER, CHGHEADER, QUARANTINE): the MTA sends nothing back for it.
func isChange(code byte) bool {
	switch code {
	case '+', '-', '2', 'b', 'e', 'h', 'i', 'm', 'q':
		return true
	}
	return false
}

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
	held []byte     // the start of a packet, or whole change packets, not yet written
	// small is held's array while it holds at most maxHeld octets; past
	// that held is in big, from heldChanges.
	small []byte
	big   *[maxHeldChanges]byte
	f     framer // where the octets handed to Write stand in the packet stream
	// werr is the first write error: the peer may have part of a packet,
	// so nothing more is written or read (the session then ends and the
	// MTA temp-fails the message).
	werr error
	// flushTimeout bounds the write of what is held when Read sends it:
	// go-milter sets a write deadline around each of its own writes and
	// clears it after, so that write would have none.
	flushTimeout time.Duration
	// dmu guards wdeadline, flushing, flushEnd and the Conn's write
	// deadline; it is never held across I/O, so SetWriteDeadline still
	// reaches a pending write (net.Conn: deadlines apply to pending I/O).
	// Lock order: mu, then dmu.
	dmu sync.Mutex
	// wdeadline is the write deadline last set through SetWriteDeadline
	// (go-milter's, around each write of its own, also from the keep-alive
	// goroutine): the flush's own never outlasts it or outlives the flush.
	wdeadline time.Time
	flushing  bool      // Read is sending what is held
	flushEnd  time.Time // the flush's own deadline
}

// writeDeadlineLocked is the deadline in force: wdeadline, or while Read
// flushes the earlier of it and the flush's own.
func (c *packetConn) writeDeadlineLocked() time.Time {
	if !c.flushing || !c.wdeadline.IsZero() && c.wdeadline.Before(c.flushEnd) {
		return c.wdeadline
	}
	return c.flushEnd
}

// SetWriteDeadline records t and sets it on the connection, or while Read
// flushes, the earlier of t and the flush's own. It takes dmu, not the
// write side's lock, which a blocked write holds: a deadline set from
// another goroutine still ends a pending write, as net.Conn promises.
func (c *packetConn) SetWriteDeadline(t time.Time) error {
	c.dmu.Lock()
	defer c.dmu.Unlock()
	c.wdeadline = t
	return c.Conn.SetWriteDeadline(c.writeDeadlineLocked())
}

// SetDeadline sets both deadlines, the write one as SetWriteDeadline does.
func (c *packetConn) SetDeadline(t time.Time) error {
	if err := c.Conn.SetReadDeadline(t); err != nil {
		return err
	}
	return c.SetWriteDeadline(t)
}

// readFlushTimeout is go-milter's own write timeout for a server.
const readFlushTimeout = 10 * time.Second

func newPacketConn(c net.Conn) *packetConn {
	small := make([]byte, 0, maxHeld)
	return &packetConn{Conn: c, r: bufio.NewReaderSize(c, readBufferSize), held: small, small: small, flushTimeout: readFlushTimeout}
}

// Read flushes anything held back first, within flushTimeout: a peer is
// never left waiting for octets that sit here while this side waits for
// its answer. It stops at
// each packet's end to check the next packet's length: a packet of length
// 0 has no command code, and go-milter indexes it and panics, which would
// end the whole process; one past maxPacket is refused before go-milter
// allocates it. Either is a read error, so only that connection ends.
func (c *packetConn) Read(p []byte) (int, error) {
	c.mu.Lock()
	var err error
	if len(c.held) > 0 && c.werr == nil {
		c.dmu.Lock()
		c.flushing, c.flushEnd = true, time.Now().Add(c.flushTimeout)
		_ = c.Conn.SetWriteDeadline(c.writeDeadlineLocked())
		c.dmu.Unlock()
		err = c.flushLocked()
		c.dmu.Lock()
		c.flushing = false
		_ = c.Conn.SetWriteDeadline(c.wdeadline)
		c.dmu.Unlock()
	} else {
		err = c.werr
	}
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
	if c.hold(p) {
		return len(p), nil
	}
	if len(c.held) > 0 {
		held := len(c.held)
		var n int64
		var err error
		if held+len(p) <= cap(c.held) {
			// The reply after held changes: one write of both. (A plain
			// write is also what go test -race takes as ordering the
			// peer's read after it; a writev is not.)
			var k int
			k, err = c.Conn.Write(append(c.held, p...))
			n = int64(k)
		} else {
			bufs := net.Buffers{c.held, p}
			n, err = bufs.WriteTo(c.Conn)
		}
		c.dropHeld()
		c.werr = err
		written := max(int(n)-held, 0)
		c.f.advance(p[:written])
		return written, err
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
	c.dropHeld()
	c.werr = err
	return err
}

// hold keeps p back, with what is held already, if nothing needs it sent
// now: every packet p ends is a change, and p ends at a packet's end or
// is a packet's start of at most maxHeld octets (go-milter's length and
// code, whose data comes next), within maxHeldChanges octets in all.
func (c *packetConn) hold(p []byte) bool {
	if len(p) == 0 || len(c.held)+len(p) > maxHeldChanges {
		return false
	}
	start := c.f.atBoundary()
	g := c.f
	if !g.advance(p) || !g.atBoundary() && !(start && len(p) <= maxHeld) {
		return false
	}
	if len(c.held)+len(p) > cap(c.held) {
		c.big = heldChanges.Get().(*[maxHeldChanges]byte)
		c.held = append(c.big[:0], c.held...)
	}
	c.held = append(c.held, p...)
	c.f = g
	return true
}

// dropHeld empties held once its octets are written (or cannot be).
func (c *packetConn) dropHeld() {
	c.held = c.small[:0]
	if c.big != nil {
		heldChanges.Put(c.big)
		c.big = nil
	}
}

// framer follows packet boundaries through the octets written.
type framer struct {
	left   uint64  // octets of the current packet still to come
	hdr    [4]byte // the next packet's length, as far as seen
	nh     int
	code   byte // the current packet's command code, once seen
	atCode bool // the next octet is the current packet's code
}

func (f *framer) atBoundary() bool { return f.left == 0 && f.nh == 0 }

// advance follows p and reports whether every packet p ends is a change
// (isChange; true if p ends none).
func (f *framer) advance(p []byte) (changes bool) {
	changes = true
	for len(p) > 0 {
		if f.left > 0 {
			if f.atCode {
				f.code, f.atCode = p[0], false
			}
			n := min(f.left, uint64(len(p)))
			f.left -= n
			p = p[n:]
			if f.left == 0 && !isChange(f.code) {
				changes = false
			}
			continue
		}
		k := copy(f.hdr[f.nh:], p)
		f.nh += k
		p = p[k:]
		if f.nh == len(f.hdr) {
			f.left, f.nh = uint64(binary.BigEndian.Uint32(f.hdr[:])), 0
			f.atCode = true
			if f.left == 0 {
				changes = false // no code: not a change
			}
		}
	}
	return changes
}
