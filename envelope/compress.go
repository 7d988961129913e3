package envelope

import (
	"bytes"
	"io"
	"runtime"
	"sync"

	"github.com/klauspost/compress/flate"
)

// Compression: the message is deflated (ZIP) inside the encryption when
// that pays, decided on a sample. Text compresses 3-5×, which shrinks
// everything after it (encryption, armour, the page, the bytes through the
// MTA, the browser's work). Attachments arrive base64-encoded and are
// mostly compressed already (PDF, Office, images, archives): deflate finds
// no matches there. Huffman coding alone would still take base64 back from
// 8 bits to about 6 per character, but it costs about as much CPU as the
// smaller encryption and armour save for rfc4880, and 70% more than it
// saves for rfc9580 (measured: 10 MB of text plus base64, 0.86× the bytes
// for 1.25-1.6× the seal's CPU), so such data is stored, as the fast
// deflate levels store it themselves.
// go-crypto's compressed packet uses the standard library's compressor at
// its default level, the slowest part of a seal; klauspost/compress writes
// the same DEFLATE format several times faster, so the packet is framed
// here.

const (
	// compressSample is how much of the message start decides.
	compressSample = 64 << 10
	// compressWorth: the sample must shrink below this fraction.
	compressWorth = 0.9
	// compressLevel trades ratio for speed. Measured on 10 MB of mail text
	// (go run ./bench -rows seal-10mb,seal-10mb-rfc9580, quiet 2-core
	// machine): level 1 seals with 17-20% less CPU than level 3 (rfc4880
	// 67 -> 54 ms, rfc9580 53 -> 45 ms) for 3.3% more bytes (text to 0.259
	// instead of 0.251); the standard library's default level leaves 0.19 in
	// fifty times the time. The fastest DEFLATE known, Intel's ISA-L
	// (igzip level 1, C), takes 18 ms for the same text on one core where
	// this level takes 34 ms: it would need cgo and C code parsing what
	// strangers send inside the process that holds the keys, so the binary
	// stays pure Go.
	compressLevel = 1
)

// Buffers of the sealing layers: a sealed short message used to allocate
// ~250 KB of them (sample, chunk, armour and copy buffers), so they are
// pooled; getBuf returns one of exactly n bytes.
var bufPools sync.Map // size → *sync.Pool of *[]byte

func getBuf(n int) *[]byte {
	p, _ := bufPools.LoadOrStore(n, &sync.Pool{New: func() any { b := make([]byte, n); return &b }})
	return p.(*sync.Pool).Get().(*[]byte)
}

func putBuf(b *[]byte) {
	if p, ok := bufPools.Load(len(*b)); ok {
		p.(*sync.Pool).Put(b)
	}
}

// Compressors keep ~1 MB of tables each: one per message would be most of
// what sealing a short message allocates, so they are pooled.
var (
	flateWriters = sync.Pool{New: func() any { w, _ := flate.NewWriter(nil, compressLevel); return w }}
)

// sampleCompression decides on a sample whether compressing src pays, and
// returns a reader that yields all of src, the decision and the sample's
// compressed/plain ratio (1 when it does not pay). A source that can be
// read at any offset (a spool file, a bytes.Reader) is sampled in windows
// spread over it, since mail puts its text first and its attachments last;
// any other is sampled at its start.
func sampleCompression(src io.Reader) (io.Reader, bool, float64, error) {
	var sample []byte
	again := src
	if ra, ok := src.(interface {
		io.ReaderAt
		io.Seeker
	}); ok {
		cur, err := ra.Seek(0, io.SeekCurrent)
		if err != nil {
			return nil, false, 1, err
		}
		end, err := ra.Seek(0, io.SeekEnd)
		if err != nil {
			return nil, false, 1, err
		}
		if _, err := ra.Seek(cur, io.SeekStart); err != nil {
			return nil, false, 1, err
		}
		windows := int64(4)
		if end-cur <= compressSample {
			windows = 1 // the whole rest is the sample
		}
		buf := getBuf(compressSample)
		defer putBuf(buf)
		sample = (*buf)[:0]
		step := compressSample / int(windows)
		for i := range windows {
			win := (*buf)[len(sample) : len(sample)+step]
			n, err := ra.ReadAt(win, cur+(end-cur)*i/windows)
			if err != nil && err != io.EOF {
				return nil, false, 1, err
			}
			sample = sample[:len(sample)+n]
		}
	} else {
		// The sample is replayed from its own buffer, which the message
		// then owns: not pooled.
		sample = make([]byte, compressSample)
		n, err := io.ReadFull(src, sample)
		if err != nil && err != io.ErrUnexpectedEOF && err != io.EOF {
			return nil, false, 1, err
		}
		sample = sample[:n]
		again = io.MultiReader(bytes.NewReader(sample), src)
	}
	if len(sample) < 256 {
		// Too short to gain what the packet's own bytes cost.
		return again, false, 1, nil
	}
	ratio := sampleRatio(sample)
	if ratio >= compressWorth {
		return again, false, 1, nil
	}
	return again, true, ratio, nil
}

// sampleRatio is the compressed/plain ratio of sample, each quarter
// compressed on its own. That is how deflate meets a message that mixes
// text and attachments: in blocks, each of its own kind. A block of base64
// without matches is stored at the fast levels, so one stream over a
// sample that mixes them would Huffman-code the base64 and promise more
// than the message gets.
func sampleRatio(sample []byte) float64 {
	var n countWriter
	w := flateWriters.Get().(*flate.Writer)
	defer flateWriters.Put(w)
	for i := range 4 {
		w.Reset(&n)
		_, _ = w.Write(sample[len(sample)*i/4 : len(sample)*(i+1)/4]) // writes to a counter cannot fail
		_ = w.Close()
	}
	return float64(n) / float64(len(sample))
}

type countWriter int

func (c *countWriter) Write(p []byte) (int, error) { *c += countWriter(len(p)); return len(p), nil }

// compressedPacket starts an OpenPGP Compressed Data packet (tag 8, ZIP:
// raw DEFLATE) on w, framed with partial body lengths. size is the
// message's length when known (0 otherwise): a large one is compressed in
// parallel blocks (see blockDeflater). Closing the writer finishes the
// packet and closes w, as go-crypto's own layers do; abort releases it
// after an error instead.
//
// ZIP rather than ZLIB: ZLIB adds an Adler-32 of the whole input, which
// cost as much CPU as AES-GCM over the message (hash/adler32 is plain Go),
// and which parallel blocks would each have to compute and combine. GnuPG,
// go-crypto and OpenPGP.js (DecompressionStream "deflate-raw") all inflate
// algorithm 1, and the packet's integrity is the encryption's (MDC or
// AEAD), not the checksum's.
func compressedPacket(w io.WriteCloser, size int64) (*compressedWriter, error) {
	pb := getBuf(partialChunk)
	p := &partialWriter{w: w, tag: 8, buf: (*pb)[:0], pooled: pb}
	if _, err := p.Write([]byte{1}); err != nil { // algorithm 1: ZIP
		return nil, err
	}
	c := &compressedWriter{p: p}
	if workers := runtime.GOMAXPROCS(0); workers > 1 && size >= parallelMin {
		c.b = newBlockDeflater(p, min(workers, int((size+blockSize-1)/blockSize)))
		return c, nil
	}
	c.z = flateWriters.Get().(*flate.Writer)
	c.z.Reset(p)
	return c, nil
}

// compressedWriter deflates into the packet: streaming through one
// compressor (z), or in parallel blocks (b).
type compressedWriter struct {
	z *flate.Writer
	b *blockDeflater
	p *partialWriter
}

func (c *compressedWriter) Write(b []byte) (int, error) {
	if c.b != nil {
		return c.b.Write(b)
	}
	return c.z.Write(b)
}

func (c *compressedWriter) Close() error {
	var err error
	if c.b != nil {
		err = c.b.Close()
		c.b = nil
	} else if c.z != nil {
		err = c.z.Close()
		c.releaseZ()
	}
	if err != nil {
		return err
	}
	return c.p.Close()
}

// abort stops the compression after an error (a no-op after Close): the
// block workers end and the compressor goes back to the pool.
func (c *compressedWriter) abort() {
	if c.b != nil {
		c.b.abort()
		c.b = nil
	}
	if c.z != nil {
		c.releaseZ()
	}
}

func (c *compressedWriter) releaseZ() {
	// Reset drops the reference to this message's writers before the
	// compressor goes back to the pool.
	c.z.Reset(nil)
	flateWriters.Put(c.z)
	c.z = nil
}

// partialChunk is the size of each partial body (a power of two of at
// least 512 bytes, RFC 9580 §4.2.1.4).
const partialChunk = 1 << 16

// partialWriter writes one new-format packet whose length is not known in
// advance: full chunks as partial bodies, the rest with a definite length.
type partialWriter struct {
	w       io.WriteCloser
	tag     byte
	started bool
	buf     []byte
	pooled  *[]byte // buf's array, back to the pool at Close
}

func (p *partialWriter) Write(b []byte) (int, error) {
	n := len(b)
	for len(b) > 0 {
		k := copy(p.buf[len(p.buf):cap(p.buf)], b)
		p.buf = p.buf[:len(p.buf)+k]
		b = b[k:]
		// A full chunk goes out only once more follows: the last chunk
		// must carry a definite length.
		if len(p.buf) == cap(p.buf) && len(b) > 0 {
			if err := p.emit(append([]byte(nil), p.header()...), 0xe0+16); err != nil {
				return n - len(b), err
			}
		}
	}
	return n, nil
}

func (p *partialWriter) header() []byte {
	if p.started {
		return nil
	}
	p.started = true
	return []byte{0xc0 | p.tag}
}

// emit writes the buffer after hdr and the length octet(s) lenOctets.
func (p *partialWriter) emit(hdr []byte, lenOctets ...byte) error {
	hdr = append(hdr, lenOctets...)
	if _, err := p.w.Write(hdr); err != nil {
		return err
	}
	if _, err := p.w.Write(p.buf); err != nil {
		return err
	}
	p.buf = p.buf[:0]
	return nil
}

func (p *partialWriter) Close() error {
	hdr := append([]byte(nil), p.header()...)
	n := len(p.buf)
	var err error
	switch {
	case n < 192:
		err = p.emit(hdr, byte(n))
	case n < 8384:
		n -= 192
		err = p.emit(hdr, byte(n>>8)+192, byte(n))
	default:
		err = p.emit(hdr, 0xff, byte(n>>24), byte(n>>16), byte(n>>8), byte(n))
	}
	if err != nil {
		return err
	}
	if p.pooled != nil {
		p.buf = nil
		putBuf(p.pooled)
		p.pooled = nil
	}
	return p.w.Close()
}
