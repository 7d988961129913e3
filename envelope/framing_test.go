package envelope

import (
	"bytes"
	"errors"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/ProtonMail/go-crypto/openpgp/armor"
)

// readFraming splits one new-format packet (RFC 9580 §4.2.1) into its
// tag, its body and the length octets of each of its pieces, refusing
// any length that is not the shortest encoding of the body it announces.
func readFraming(t *testing.T, b []byte) (tag byte, body []byte, lens [][]byte) {
	t.Helper()
	if len(b) == 0 || b[0]&0xc0 != 0xc0 {
		t.Fatalf("no new-format packet header: % x", b[:min(len(b), 8)])
	}
	tag, b = b[0]&0x3f, b[1:]
	for {
		if len(b) == 0 {
			t.Fatal("packet ends inside a length")
		}
		var n, k int
		partial := false
		switch c := int(b[0]); {
		case c < 192:
			n, k = c, 1
		case c < 224:
			if len(b) < 2 {
				t.Fatal("packet ends inside a two-octet length")
			}
			n, k = (c-192)<<8+int(b[1])+192, 2
			if n < 192 {
				t.Errorf("two-octet length for %d octets", n)
			}
		case c < 255:
			n, k, partial = 1<<(c&0x1f), 1, true
		default:
			if len(b) < 5 {
				t.Fatal("packet ends inside a five-octet length")
			}
			n, k = int(b[1])<<24|int(b[2])<<16|int(b[3])<<8|int(b[4]), 5
			if n < 8384 {
				t.Errorf("five-octet length for %d octets", n)
			}
		}
		lens = append(lens, append([]byte(nil), b[:k]...))
		if len(b) < k+n {
			t.Fatalf("length %d, %d octets left", n, len(b)-k)
		}
		body, b = append(body, b[k:k+n]...), b[k+n:]
		if !partial {
			if len(b) != 0 {
				t.Errorf("%d octets after the packet", len(b))
			}
			return tag, body, lens
		}
	}
}

// TestPartialWriterFraming: the packet's lengths are the shortest the
// RFC allows for each final piece (one octet below 192, two below 8384,
// five above), every full chunk but the last goes as a partial body, and
// a body of whole chunks ends with its last chunk under a definite
// length, not with an empty piece after it.
func TestPartialWriterFraming(t *testing.T) {
	for _, c := range []struct {
		n        int
		partials int
		last     []byte
	}{
		{0, 0, []byte{0}},
		{1, 0, []byte{1}},
		{191, 0, []byte{191}},
		{192, 0, []byte{192, 0}},
		{193, 0, []byte{192, 1}},
		{8383, 0, []byte{223, 255}},
		{8384, 0, []byte{255, 0, 0, 0x20, 0xc0}},
		{partialChunk - 1, 0, []byte{255, 0, 0, 0xff, 0xff}},
		{partialChunk, 0, []byte{255, 0, 1, 0, 0}},
		{partialChunk + 1, 1, []byte{1}},
		{partialChunk + 192, 1, []byte{192, 0}},
		{3 * partialChunk, 2, []byte{255, 0, 1, 0, 0}},
	} {
		in := noise(t, c.n)
		var out bytes.Buffer
		pb := getBuf(partialChunk)
		p := &partialWriter{w: nopCloser{&out}, tag: 11, buf: (*pb)[:0], pooled: pb}
		writePieces(t, p, in, 5000)
		tag, body, lens := readFraming(t, out.Bytes())
		if tag != 11 || !bytes.Equal(body, in) {
			t.Fatalf("%d octets: tag %d, body of %d octets; want 11 and the input", c.n, tag, len(body))
		}
		if len(lens) != c.partials+1 {
			t.Fatalf("%d octets: %d pieces % x, want %d partial bodies and the last", c.n, len(lens), lens, c.partials)
		}
		for _, l := range lens[:c.partials] {
			if !bytes.Equal(l, []byte{0xe0 + 16}) {
				t.Errorf("%d octets: partial length % x, want one chunk (f0)", c.n, l)
			}
		}
		if got := lens[c.partials]; !bytes.Equal(got, c.last) {
			t.Errorf("%d octets: last length % x, want % x", c.n, got, c.last)
		}
	}
}

// cutAfter accepts n bytes and then fails every write, counting the writes
// that come after its failure: a layer must stop at the first.
type cutAfter struct {
	n, after int
	failed   bool
}

var errCut = errors.New("connection cut")

func (c *cutAfter) Write(b []byte) (int, error) {
	if c.failed {
		c.after++
		return 0, errCut
	}
	if len(b) > c.n {
		c.failed = true
		return c.n, errCut
	}
	c.n -= len(b)
	return len(b), nil
}

// TestLayersReportFailedWrites: each sealing layer (packet framing,
// SEIPD v1, armour, parallel deflate) returns the error of the writer
// beneath from the Write that met it, with a count of at most what it was
// given (io.Writer's contract: a count past len(p) would make io.Copy
// believe more was taken than was); the armour and the parallel deflate,
// which keep the error, write nothing more after it.
func TestLayersReportFailedWrites(t *testing.T) {
	parallelCores(t)
	in := noise(t, 8*blockSize+7)
	layers := []struct {
		name   string
		sticky bool
		make   func(w io.Writer) io.Writer
	}{
		{"partial body", false, func(w io.Writer) io.Writer {
			pb := getBuf(partialChunk)
			return &partialWriter{w: nopCloser{w}, tag: 11, buf: (*pb)[:0], pooled: pb}
		}},
		{"SEIPD v1", false, func(w io.Writer) io.Writer {
			s, err := newSEIPDv1(w, noise(t, 32), strings.NewReader(strings.Repeat("r", cfbBlock)))
			if err != nil {
				t.Fatal(err)
			}
			return s
		}},
		{"armour", true, func(w io.Writer) io.Writer {
			a, err := newArmorWriter(w, "\n", true)
			if err != nil {
				t.Fatal(err)
			}
			return a
		}},
		{"parallel deflate", true, func(w io.Writer) io.Writer { return newBlockDeflater(w, 2) }},
	}
	for _, l := range layers {
		t.Run(l.name, func(t *testing.T) {
			cut := &cutAfter{n: 100}
			w := l.make(cut)
			n, err := w.Write(in)
			if !errors.Is(err, errCut) {
				t.Fatalf("Write over a failing writer: %d, %v; want its error", n, err)
			}
			if n < 0 || n >= len(in) {
				t.Errorf("Write returned a count of %d for %d octets, with an error", n, len(in))
			}
			if n2, err := w.Write(in[:10]); err == nil {
				t.Errorf("a Write after the failure took %d octets without an error", n2)
			}
			if err := w.(io.Closer).Close(); !errors.Is(err, errCut) {
				t.Errorf("Close after the failure: %v, want the writer's error", err)
			}
			if d, ok := w.(*blockDeflater); ok {
				d.abort()
			}
			if l.sticky && cut.after != 0 {
				t.Errorf("%d writes after the writer failed", cut.after)
			}
		})
	}
}

// TestBlockDeflaterAbortedRefuses: once aborted (encrypt aborts the
// compression on its way out after any error), the parallel compressor
// refuses further input with an error rather than taking it.
func TestBlockDeflaterAbortedRefuses(t *testing.T) {
	parallelCores(t)
	d := newBlockDeflater(io.Discard, 2)
	if _, err := d.Write(mailText(3 * blockSize)); err != nil {
		t.Fatal(err)
	}
	d.abort()
	if n, err := d.Write([]byte("more")); err == nil || n != 0 {
		t.Errorf("Write after abort: %d, %v; want 0 and an error", n, err)
	}
	if err := d.Close(); err == nil {
		t.Error("Close after abort: no error")
	}
}

// TestArmorSameAsGoCrypto: the armour is go-crypto's encoder's, character
// for character (lines, line ends, checksum), for every length around the
// line and batch sizes. The one difference is the empty message, where
// go-crypto writes an empty line that says nothing (see TestArmorWriter).
func TestArmorSameAsGoCrypto(t *testing.T) {
	for _, n := range []int{1, 2, 47, 48, 49, 96, 97, armorBatch - 1, armorBatch, armorBatch + 48, 100_000} {
		for _, checksum := range []bool{true, false} {
			in := noise(t, n)
			var mine, theirs bytes.Buffer
			a, err := newArmorWriter(&mine, "\n", checksum)
			if err != nil {
				t.Fatal(err)
			}
			writePieces(t, a, in, 1000)
			e, err := armor.EncodeWithChecksumOption(&theirs, "PGP MESSAGE", nil, checksum)
			if err != nil {
				t.Fatal(err)
			}
			writePieces(t, e, in, 1000)
			if mine.String() != theirs.String() {
				t.Errorf("%d octets, checksum %v: armour differs from go-crypto's:\n%q\n%q", n, checksum,
					tail(mine.String(), 200), tail(theirs.String(), 200))
			}
		}
	}
}

func tail(s string, n int) string { return s[max(0, len(s)-n):] }

// backInPool reports whether the buffer a layer held is handed out again
// by getBuf once the layer is closed: a sealed short message would
// otherwise allocate its ~250 KB of buffers anew. sync.Pool may drop an
// item (a GC, the race detector), so it is tried a few times; a buffer
// never put back is never handed out again.
func backInPool(t *testing.T, use func() (held *[]byte, closeIt func() error)) bool {
	t.Helper()
	for range 20 {
		held, closeIt := use()
		if err := closeIt(); err != nil {
			t.Fatal(err)
		}
		again := getBuf(len(*held))
		putBuf(again)
		if again == held {
			return true
		}
	}
	return false
}

// TestLayersReturnBuffers: the armour, packet framing and SEIPD v1 layers
// put their buffers back into the pool at Close.
func TestLayersReturnBuffers(t *testing.T) {
	if !backInPool(t, func() (*[]byte, func() error) {
		a, err := newArmorWriter(io.Discard, "\n", true)
		if err != nil {
			t.Fatal(err)
		}
		return a.pooled[0], a.Close
	}) {
		t.Error("the armour's input buffer does not go back to the pool")
	}
	if !backInPool(t, func() (*[]byte, func() error) {
		pb := getBuf(partialChunk)
		p := &partialWriter{w: nopCloser{io.Discard}, tag: 11, buf: (*pb)[:0], pooled: pb}
		return pb, p.Close
	}) {
		t.Error("the packet framing's buffer does not go back to the pool")
	}
	if !backInPool(t, func() (*[]byte, func() error) {
		w, err := newSEIPDv1(io.Discard, noise(t, 32), strings.NewReader(strings.Repeat("r", cfbBlock)))
		if err != nil {
			t.Fatal(err)
		}
		s := w.(*seipdV1Writer)
		return s.pooled, s.Close
	}) {
		t.Error("SEIPD v1's ciphertext buffer does not go back to the pool")
	}
}

// TestOriginalSizeOfFile: a spool file tells its size through Stat (it
// has no Len or Size), which decides the parallel compression.
func TestOriginalSizeOfFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "spool.eml")
	if err := os.WriteFile(path, textMessage(), 0o600); err != nil {
		t.Fatal(err)
	}
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if got, want := originalSize(f), int64(len(textMessage())); got != want {
		t.Errorf("originalSize(file) = %d, want %d", got, want)
	}
	dir, err := os.Open(filepath.Dir(path))
	if err != nil {
		t.Fatal(err)
	}
	defer dir.Close()
	if got := originalSize(dir); got != 0 {
		t.Errorf("originalSize(directory) = %d, want 0 (not a regular file)", got)
	}
}

// TestCompressedPacketWorkers: a large message gets one compressor per
// core but never more than it has blocks (an idle worker holds a
// compressor's ~1 MB of tables for nothing), and with one core it
// streams through one compressor.
func TestCompressedPacketWorkers(t *testing.T) {
	old := runtime.GOMAXPROCS(16)
	defer runtime.GOMAXPROCS(old)
	for _, c := range []struct {
		size int64
		want int
	}{
		{parallelMin, parallelMin / blockSize},
		{parallelMin + 1, parallelMin/blockSize + 1},
		{4 * parallelMin, 16},
	} {
		w, err := compressedPacket(nopCloser{io.Discard}, c.size)
		if err != nil {
			t.Fatal(err)
		}
		if w.b == nil {
			t.Fatalf("%d octets on 16 cores: one stream, want %d workers", c.size, c.want)
		}
		if w.b.maxPending != c.want {
			t.Errorf("%d octets on 16 cores: %d workers, want %d", c.size, w.b.maxPending, c.want)
		}
		w.abort()
	}
	runtime.GOMAXPROCS(1)
	w, err := compressedPacket(nopCloser{io.Discard}, 4*parallelMin)
	if err != nil {
		t.Fatal(err)
	}
	if w.b != nil {
		t.Error("one core: a large message is compressed in parallel blocks")
	}
	w.abort()
}

// TestBlockDeflaterDrainFails: a finished block written out while the next
// is handed over (the writer's work overlapping the compression) reports
// the writer's failure from that Write, as the wait for a free slot does.
func TestBlockDeflaterDrainFails(t *testing.T) {
	parallelCores(t)
	cut := &cutAfter{n: 10}
	// Four slots for three blocks: nothing waits for a free slot, so the
	// only writes are those of finished blocks at a handover.
	d := newBlockDeflater(cut, 4)
	defer d.abort()
	text := mailText(3*blockSize + 1)
	for i, end := range []int{blockSize, 2 * blockSize, 3*blockSize + 1} {
		// The oldest block is finished before the next is handed over:
		// that handover writes it out, into the failing writer.
		if len(d.pending) > 0 {
			<-d.pending[0].done
		}
		_, err := d.Write(text[i*blockSize : end])
		if cut.failed {
			if !errors.Is(err, errCut) {
				t.Fatalf("Write %d wrote out a finished block into a failing writer: %v, want its error", i+1, err)
			}
			if cut.after != 0 {
				t.Errorf("%d writes after the writer failed", cut.after)
			}
			return
		}
		if err != nil {
			t.Fatalf("Write %d: %v", i+1, err)
		}
	}
	t.Fatal("no finished block was written out at a handover")
}
