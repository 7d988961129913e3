package milter

import (
	"bytes"
	"encoding/binary"
	"errors"
	"io"
	"math/rand/v2"
	"net"
	"strings"
	"testing"
	"time"
)

// pipeConn is one end of an in-memory byte stream that records what was
// written to it (a stand-in for the MTA's end: a real socket cannot show
// how many writes made its octets).
type pipeConn struct {
	net.Conn // nil: only Read, Write, SetWriteDeadline and Close are used
	in       *bytes.Reader
	out      bytes.Buffer
	writes   int
	failAt   int // the write that fails (1-based); 0: none
	// wdeadline is the write deadline last set (the stand-in never
	// blocks, so it only records it).
	wdeadline time.Time
}

func (p *pipeConn) SetWriteDeadline(t time.Time) error { p.wdeadline = t; return nil }

func (p *pipeConn) Read(b []byte) (int, error) { return p.in.Read(b) }
func (p *pipeConn) Write(b []byte) (int, error) {
	p.writes++
	if p.writes == p.failAt {
		return 0, errors.New("connection reset")
	}
	return p.out.Write(b)
}

// packet frames code and data as the milter protocol does.
func packet(code byte, data []byte) []byte {
	b := binary.BigEndian.AppendUint32(nil, uint32(len(data)+1))
	return append(append(b, code), data...)
}

// go-milter writes a packet as length+code, then data: the first write is
// held until the data comes, and both leave together, octet for octet.
func TestPacketConnHoldsThePacketStart(t *testing.T) {
	pc := &pipeConn{in: bytes.NewReader(nil)}
	c := newPacketConn(pc)
	data := bytes.Repeat([]byte("b"), 70_000)
	whole := packet('y', data)
	if n, err := c.Write(whole[:5]); n != 5 || err != nil {
		t.Fatalf("Write(length+code) = %d, %v", n, err)
	}
	if pc.out.Len() != 0 {
		t.Fatalf("%d octets sent before the packet's data came; want the start held", pc.out.Len())
	}
	if n, err := c.Write(whole[5:]); n != len(data) || err != nil {
		t.Fatalf("Write(data) = %d, %v; want %d", n, err, len(data))
	}
	if !bytes.Equal(pc.out.Bytes(), whole) {
		t.Fatal("the octets sent differ from the packet")
	}
	// And so for every packet after it: the start of each is held until
	// its data comes.
	for i := range 4 {
		next := packet('y', bytes.Repeat([]byte{byte(i)}, 10+i))
		before := pc.out.Len()
		_, _ = c.Write(next[:5])
		if pc.out.Len() != before {
			t.Fatalf("packet %d: its start was sent before its data", i+2)
		}
		_, _ = c.Write(next[5:])
		if !bytes.HasSuffix(pc.out.Bytes(), next) || pc.out.Len() != before+len(next) {
			t.Fatalf("packet %d: not sent whole after its data", i+2)
		}
		whole = append(whole, next...)
	}
	// A packet without data (length 1: the code alone) is whole: it goes
	// out at once.
	if _, err := c.Write(packet('c', nil)); err != nil {
		t.Fatal(err)
	}
	if got := pc.out.Len(); got != len(whole)+5 {
		t.Fatalf("%d octets sent; want the data-less packet sent at once (%d)", got, len(whole)+5)
	}
}

// Whatever way a stream of packets is cut into writes, the octets arrive
// in order and complete, and nothing stays held at the end of a packet
// that is not a change.
func TestPacketConnAnySplitKeepsTheStream(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for trial := range 200 {
		var stream []byte
		for range 1 + r.IntN(8) {
			data := make([]byte, r.IntN(200))
			for i := range data {
				data[i] = byte(r.Uint32())
			}
			code := byte('A' + r.IntN(26))
			if r.IntN(2) == 0 {
				code = "+-2behimq"[r.IntN(9)] // a change, held to the next reply
			}
			stream = append(stream, packet(code, data)...)
		}
		stream = append(stream, packet('a', nil)...)
		pc := &pipeConn{in: bytes.NewReader(nil)}
		c := newPacketConn(pc)
		for rest := stream; len(rest) > 0; {
			n := min(len(rest), 1+r.IntN(12))
			if w, err := c.Write(rest[:n]); w != n || err != nil {
				t.Fatalf("trial %d: Write = %d, %v; want %d", trial, w, err, n)
			}
			rest = rest[n:]
		}
		if !bytes.Equal(pc.out.Bytes(), stream) {
			t.Fatalf("trial %d: %d octets sent of %d, or in another order", trial, pc.out.Len(), len(stream))
		}
	}
}

// A held start is sent before this side waits to read: the peer is never
// left waiting for octets held here (a writer that never finished its
// packet would otherwise deadlock both ends).
func TestPacketConnReadFlushesHeld(t *testing.T) {
	pc := &pipeConn{in: bytes.NewReader(packet('r', []byte("reply")))}
	c := newPacketConn(pc)
	start := packet('x', []byte("data"))[:5]
	if _, err := c.Write(start); err != nil {
		t.Fatal(err)
	}
	got := make([]byte, 10)
	if _, err := io.ReadFull(c, got); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(pc.out.Bytes(), start) {
		t.Errorf("sent %q before reading; want the held %q", pc.out.Bytes(), start)
	}
	if !bytes.Equal(got, packet('r', []byte("reply"))) {
		t.Errorf("read %q", got)
	}
}

// Reads go through a buffer: the header packets an MTA sends without
// waiting for replies are taken in one read, and are read back intact.
func TestPacketConnReadsBuffered(t *testing.T) {
	var stream []byte
	for i := range 20 {
		stream = append(stream, packet('L', []byte{'F', byte('a' + i), 0, 'v', 0})...)
	}
	reads := 0
	src := &countingReader{r: bytes.NewReader(stream), reads: &reads}
	c := newPacketConn(&pipeConn{Conn: nil, in: nil})
	c.r.Reset(src)
	for i := range 20 {
		var n uint32
		if err := binary.Read(c, binary.BigEndian, &n); err != nil {
			t.Fatal(err)
		}
		data := make([]byte, n)
		if _, err := io.ReadFull(c, data); err != nil {
			t.Fatal(err)
		}
		if data[0] != 'L' || data[2] != byte('a'+i) {
			t.Fatalf("packet %d read as %q", i, data)
		}
	}
	if reads != 1 {
		t.Errorf("%d reads from the connection for 20 small packets; want 1", reads)
	}
}

type countingReader struct {
	r     io.Reader
	reads *int
}

func (c *countingReader) Read(p []byte) (int, error) { *c.reads++; return c.r.Read(p) }

// A failed write of a held start with its data reports the failure and
// counts none of the data as written.
func TestPacketConnHeldWriteFails(t *testing.T) {
	pc := &pipeConn{in: bytes.NewReader(nil), failAt: 1}
	c := newPacketConn(pc)
	whole := packet('y', []byte("451 4.3.0 body"))
	if _, err := c.Write(whole[:5]); err != nil {
		t.Fatalf("holding failed: %v", err)
	}
	if n, err := c.Write(whole[5:]); err == nil || n != 0 {
		t.Errorf("Write = %d, %v; want 0 and the connection's error", n, err)
	}
}

// Over a real connection, go-milter's way of writing (length+code, data)
// and reading (length, data) carries packets both ways.
func TestPacketConnOverTCP(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	done := make(chan error, 1)
	go func() {
		c, err := packetListener{l}.Accept()
		if err != nil {
			done <- err
			return
		}
		defer c.Close()
		// Echo each packet back with its code upper-cased.
		for {
			var n uint32
			if err := binary.Read(c, binary.BigEndian, &n); err != nil {
				done <- nil
				return
			}
			data := make([]byte, n)
			if _, err := io.ReadFull(c, data); err != nil {
				done <- err
				return
			}
			hdr := binary.BigEndian.AppendUint32(nil, n)
			if _, err := c.Write(append(hdr, data[0]-32)); err != nil {
				done <- err
				return
			}
			if len(data) > 1 {
				if _, err := c.Write(data[1:]); err != nil {
					done <- err
					return
				}
			}
		}
	}()
	c, err := net.Dial("tcp", l.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	_ = c.SetDeadline(time.Now().Add(30 * time.Second)) // a failure bound, not synchronisation
	for i, size := range []int{0, 1, 100, 70_000} {
		data := bytes.Repeat([]byte{byte(i)}, size)
		if _, err := c.Write(packet('m', data)); err != nil {
			t.Fatal(err)
		}
		want := packet('M', data)
		got := make([]byte, len(want))
		if _, err := io.ReadFull(c, got); err != nil {
			t.Fatalf("packet of %d octets: %v", size, err)
		}
		if !bytes.Equal(got, want) {
			t.Fatalf("packet of %d octets came back changed", size)
		}
	}
	c.Close()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}

// A write that failed leaves the connection failed: every later write and
// read reports the error, so nothing is held (and dropped at Close) or
// sent out of frame after a packet the peer got only part of. (Found by
// review: a held start counted as sent although its writev sent nothing
// made a later packet's data look like a packet start and stay held.)
func TestPacketConnWriteErrorSticks(t *testing.T) {
	pc := &pipeConn{in: bytes.NewReader(packet('r', nil)), failAt: 1}
	c := newPacketConn(pc)
	failed := packet('y', []byte("abcde"))
	if _, err := c.Write(failed[:5]); err != nil {
		t.Fatal(err)
	}
	if n, err := c.Write(failed[5:]); err == nil || n != 0 {
		t.Fatalf("Write = %d, %v; want 0 and the connection's error", n, err)
	}
	reply := packet('y', []byte("451 4.7.0 try again\x00"))
	if _, err := c.Write(reply[:5]); err == nil {
		t.Error("a write after a failed one succeeded")
	}
	if _, err := c.Write(reply[5:]); err == nil {
		t.Error("a write after a failed one succeeded")
	}
	if _, err := c.Read(make([]byte, 5)); err == nil {
		t.Error("a read after a failed write succeeded")
	}
	if len(c.held) != 0 || pc.out.Len() != 0 {
		t.Errorf("%d octets held, %d sent after the failure; want none", len(c.held), pc.out.Len())
	}
}

// A packet whose length is 0 (no command code) or past maxPacket is a
// read error: go-milter would index the empty packet and panic, killing
// the process (found by review: four zero octets from anyone who can reach
// the socket), or allocate up to 512 MiB for the announced length.
func TestPacketConnRefusesBadLengths(t *testing.T) {
	for name, stream := range map[string][]byte{
		"zero":     {0, 0, 0, 0},
		"too long": binary.BigEndian.AppendUint32(nil, maxPacket+1),
	} {
		t.Run(name, func(t *testing.T) {
			// A good packet first: it is read whole, then the bad one fails.
			good := packet('L', []byte("Subject\x00x\x00"))
			c := newPacketConn(&pipeConn{in: bytes.NewReader(append(append([]byte{}, good...), stream...))})
			got := make([]byte, len(good))
			if _, err := io.ReadFull(c, got); err != nil || !bytes.Equal(got, good) {
				t.Fatalf("good packet read as %q, %v", got, err)
			}
			var n uint32
			err := binary.Read(c, binary.BigEndian, &n)
			if err == nil || !strings.Contains(err.Error(), "milter packet") {
				t.Errorf("reading the bad length: %v (read %d); want an error naming the packet", err, n)
			}
		})
	}
	// The largest allowed packet is read whole.
	big := packet('B', make([]byte, maxPacket-1))
	c := newPacketConn(&pipeConn{in: bytes.NewReader(big)})
	got := make([]byte, len(big))
	if _, err := io.ReadFull(c, got); err != nil {
		t.Fatalf("a packet of maxPacket octets: %v", err)
	}
}

// Through the real server: the zero-length packet ends that connection
// and nothing else (before the fix the panic ended the test binary), and
// the server still answers the next connection's negotiation.
func TestServerSurvivesZeroLengthPacket(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := newFilter(t, newMemStore(), &fakeSender{}).NewServer()
	go func() { _ = srv.Serve(l) }()
	defer srv.Close()
	bad, err := net.Dial("tcp", l.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	_ = bad.SetDeadline(time.Now().Add(30 * time.Second)) // a failure bound, not synchronisation
	if _, err := bad.Write([]byte{0, 0, 0, 0}); err != nil {
		t.Fatal(err)
	}
	if _, err := bad.Read(make([]byte, 1)); err == nil {
		t.Error("the server answered a zero-length packet; want the connection closed")
	}
	bad.Close()
	// Negotiation: SMFIC_OPTNEG with version 6, all actions, all steps.
	good, err := net.Dial("tcp", l.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer good.Close()
	_ = good.SetDeadline(time.Now().Add(30 * time.Second))
	optneg := binary.BigEndian.AppendUint32(nil, 6)
	optneg = binary.BigEndian.AppendUint32(optneg, 0x1ff)
	optneg = binary.BigEndian.AppendUint32(optneg, 0x1fffff)
	if _, err := good.Write(packet('O', optneg)); err != nil {
		t.Fatal(err)
	}
	hdr := make([]byte, 5)
	if _, err := io.ReadFull(good, hdr); err != nil {
		t.Fatalf("no negotiation answer after the bad connection: %v", err)
	}
	if hdr[4] != 'O' {
		t.Errorf("answer code %q; want 'O'", hdr[4])
	}
}

// The edges of holding: a packet start of up to maxHeld octets is held, a
// longer one goes out at once; so does a length alone that says the
// packet is empty (nothing follows it), while a part of a length is held.
func TestPacketConnHoldEdges(t *testing.T) {
	long := packet('b', make([]byte, 100))
	for _, tc := range []struct {
		name  string
		write []byte
		held  bool
	}{
		{"start of maxHeld octets", long[:maxHeld], true},
		{"start of maxHeld+1 octets", long[:maxHeld+1], false},
		{"part of a length", long[:2], true},
		{"a length of 0", []byte{0, 0, 0, 0}, false},
		{"a whole packet", packet('c', []byte("x")), false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			pc := &pipeConn{in: bytes.NewReader(nil)}
			c := newPacketConn(pc)
			if n, err := c.Write(tc.write); n != len(tc.write) || err != nil {
				t.Fatalf("Write = %d, %v", n, err)
			}
			if held := pc.out.Len() == 0; held != tc.held {
				t.Errorf("%d of %d octets sent; want held = %v", pc.out.Len(), len(tc.write), tc.held)
			}
		})
	}
}

// writePacket writes a packet as go-milter does: length and code, then the
// data (if any) in a second write.
func writePacket(t *testing.T, c *packetConn, code byte, data []byte) {
	t.Helper()
	p := packet(code, data)
	if _, err := c.Write(p[:5]); err != nil {
		t.Fatal(err)
	}
	if len(data) > 0 {
		if _, err := c.Write(p[5:]); err != nil {
			t.Fatal(err)
		}
	}
}

// The changes at the end of a message (a body chunk, header changes,
// recipients) are held until the reply that follows them, and leave with
// it in one write, in order; a packet that is not a change is never held
// past its end.
func TestPacketConnHoldsChangesUntilTheReply(t *testing.T) {
	for _, reply := range []byte{'a', 't', 'y', 'c', 'p'} {
		pc := &pipeConn{in: bytes.NewReader(nil)}
		c := newPacketConn(pc)
		var want []byte
		for _, ch := range []struct {
			code byte
			data []byte
		}{
			{'b', bytes.Repeat([]byte("sealed "), 1800)}, // a chunk of a small sealed body
			{'m', []byte("\x00\x00\x00\x01Subject\x00 [secure]\x00")},
			{'i', []byte("\x00\x00\x00\x64MIME-Version\x00 1.0\x00")},
			{'h', []byte("X-Postseal-Envelope\x00 e1\x00")},
			{'-', []byte("<pat@ext.example>\x00")},
			{'+', []byte("<x@ext.example>\x00")},
			{'2', []byte("<x@ext.example>\x00\x00")},
			{'e', []byte("<s@example.org>\x00")},
			{'q', []byte("held\x00")},
		} {
			writePacket(t, c, ch.code, ch.data)
			want = append(want, packet(ch.code, ch.data)...)
		}
		if pc.writes != 0 {
			t.Fatalf("reply %q: %d writes before the reply; want the changes held", reply, pc.writes)
		}
		writePacket(t, c, reply, nil)
		want = append(want, packet(reply, nil)...)
		// (Held octets and the reply leave as one net.Buffers: one writev
		// on a socket, a write each on pipeConn.)
		if !bytes.Equal(pc.out.Bytes(), want) {
			t.Errorf("reply %q: %d octets of %d sent (or out of order); want the changes and the reply", reply, pc.out.Len(), len(want))
		}
	}
}

// Holding stops at maxHeldChanges: a full body chunk (64 KiB) goes out with
// what is held, and a change that would take the held octets past the
// bound is not kept waiting either; a read sends what is held.
func TestPacketConnHeldChangesBound(t *testing.T) {
	pc := &pipeConn{in: bytes.NewReader(packet('Q', nil))}
	c := newPacketConn(pc)
	writePacket(t, c, 'h', []byte("A\x00b\x00"))
	full := bytes.Repeat([]byte{'x'}, 65535)
	writePacket(t, c, 'b', full)
	want := append(packet('h', []byte("A\x00b\x00")), packet('b', full)...)
	if !bytes.Equal(pc.out.Bytes(), want) {
		t.Fatalf("%d octets sent; want the held change and the full chunk (%d)", pc.out.Len(), len(want))
	}
	// Exactly maxHeldChanges octets are held; one more are not.
	for _, extra := range []int{0, 1} {
		pc := &pipeConn{in: bytes.NewReader(packet('Q', nil))}
		c := newPacketConn(pc)
		first := make([]byte, maxHeldChanges-5-6+extra) // two packets, maxHeldChanges+extra octets
		writePacket(t, c, 'b', first)
		writePacket(t, c, 'h', []byte{0})
		if held := pc.writes == 0; held != (extra == 0) {
			t.Errorf("%d octets of changes: held %v; want held only up to %d", maxHeldChanges+extra, held, maxHeldChanges)
		}
		var got [5]byte
		if _, err := io.ReadFull(c, got[:]); err != nil {
			t.Fatal(err)
		}
		want := append(packet('b', first), packet('h', []byte{0})...)
		if !bytes.Equal(pc.out.Bytes(), want) {
			t.Errorf("%d octets of changes: %d sent once read; want all, in order", maxHeldChanges+extra, pc.out.Len())
		}
	}
}
