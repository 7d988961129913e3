package envelope

import (
	"bytes"
	"io"
	"runtime"
	"testing"

	"github.com/ProtonMail/go-crypto/openpgp/packet"
	"github.com/klauspost/compress/flate"
)

// parallelCores makes sure the parallel path can be taken (it needs two
// cores) for the test's duration.
func parallelCores(t *testing.T) {
	if runtime.GOMAXPROCS(0) < 2 {
		old := runtime.GOMAXPROCS(2)
		t.Cleanup(func() { runtime.GOMAXPROCS(old) })
	}
}

// readCompressed reads one compressed packet from buf with go-crypto and
// returns what it inflates to.
func readCompressed(t *testing.T, buf *bytes.Buffer) []byte {
	t.Helper()
	p, err := packet.Read(buf)
	if err != nil {
		t.Fatalf("go-crypto cannot read the packet: %v", err)
	}
	c, ok := p.(*packet.Compressed)
	if !ok {
		t.Fatalf("read a %T, want a compressed packet", p)
	}
	got, err := io.ReadAll(c.Body)
	if err != nil {
		t.Fatalf("inflate: %v", err)
	}
	if buf.Len() != 0 {
		t.Errorf("%d bytes after the packet", buf.Len())
	}
	return got
}

// TestBlockDeflater: a large message compressed in parallel blocks is one
// ZIP stream that go-crypto inflates to the input, for block-boundary
// lengths (and an empty input, when the size was only a hint), text and
// noise, written in pieces that cross the blocks anywhere; and text loses
// next to nothing against one stream, thanks to the dictionaries.
func TestBlockDeflater(t *testing.T) {
	parallelCores(t)
	text := mailText(20*blockSize + 3)
	mixed := append(mailText(3*blockSize), noise(t, 3*blockSize+dictSize+1)...)
	mixed = append(mixed, text[:2*blockSize]...)
	for _, c := range []struct {
		name string
		in   []byte
	}{
		{"empty", nil},
		{"one octet", text[:1]},
		{"block less one", text[:blockSize-1]},
		{"one block", text[:blockSize]},
		{"block and one", text[:blockSize+1]},
		{"eight blocks", text[:8*blockSize]},
		{"eight blocks and one", text[:8*blockSize+1]},
		{"text", text},
		{"text, noise, text", mixed},
	} {
		t.Run(c.name, func(t *testing.T) {
			var buf bytes.Buffer
			w, err := compressedPacket(nopCloser{&buf}, parallelMin)
			if err != nil {
				t.Fatal(err)
			}
			if w.b == nil {
				t.Fatal("a message of parallelMin bytes is compressed by one stream")
			}
			writePieces(t, w, c.in, 100_003)
			packetLen := buf.Len()
			if got := readCompressed(t, &buf); !bytes.Equal(got, c.in) {
				t.Fatalf("inflated %d bytes, want the %d input bytes back", len(got), len(c.in))
			}
			if c.name == "text" {
				var one bytes.Buffer
				z, _ := flate.NewWriter(&one, compressLevel)
				_, _ = z.Write(c.in)
				_ = z.Close()
				t.Logf("text: %d bytes in blocks, %d as one stream, of %d", packetLen, one.Len(), len(c.in))
				if packetLen > len(c.in)/3 {
					t.Errorf("text compressed in blocks to %d bytes of %d", packetLen, len(c.in))
				}
				// Independent blocks (no dictionary) lose about 1%.
				if float64(packetLen) > float64(one.Len())*1.004 {
					t.Errorf("text in blocks is %d bytes, one stream %d: the dictionaries do not reach", packetLen, one.Len())
				}
			}
		})
	}
	// A short message with no size hint streams through one compressor.
	w, err := compressedPacket(nopCloser{io.Discard}, 0)
	if err != nil {
		t.Fatal(err)
	}
	if w.b != nil {
		t.Error("a message of unknown size is compressed in parallel blocks")
	}
	w.abort()
}

// TestBlockDeflaterWriteError: when the layer beneath refuses a write, the
// error comes back from Write or Close, and abort (as encrypt calls it
// after an error) returns, which it does only once the workers have ended.
func TestBlockDeflaterWriteError(t *testing.T) {
	parallelCores(t)
	in := noise(t, 6*blockSize)
	for _, closeIt := range []bool{true, false} {
		d := newBlockDeflater(&failAfter{n: blockSize}, 2)
		var err error
		for rest := in; len(rest) > 0 && err == nil; rest = rest[min(len(rest), 50_000):] {
			_, err = d.Write(rest[:min(len(rest), 50_000)])
		}
		if closeIt {
			if cerr := d.Close(); err == nil {
				err = cerr
			}
		}
		d.abort()
		if err == nil || err.Error() != "connection cut" {
			t.Errorf("close %v: error %v, want the writer's", closeIt, err)
		}
		if d.jobs != nil || len(d.pending) != 0 || d.cur != nil {
			t.Errorf("close %v: blocks still held after abort", closeIt)
		}
	}
}
