package envelope

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/sha1"
	"encoding/binary"
	"fmt"
	"hash"
	"io"
)

// The rfc4880 profile's encrypted packet, SEIPD v1 (RFC 4880 §5.13): the
// inner packets after a random block and the repeat of its last two
// octets, then a Modification Detection Code packet (tag 19, the SHA-1 of
// all of it), all in AES-256 CFB mode with a zero IV and no resync.
// go-crypto writes it byte by byte (and allocates a copy of every write),
// which made it two fifths of an uncompressed rfc4880 seal; this one
// encrypts a block at a time. The rfc9580 profile's SEIPD v2 stays
// go-crypto's.

const (
	seipdV1Tag     = 18
	seipdV1Version = 1
	mdcTag         = 0xd3 // new-format tag 19
	cfbBlock       = aes.BlockSize
)

// seipdV1Writer encrypts what is written to it into one SEIPD v1 packet.
type seipdV1Writer struct {
	p   *partialWriter
	cfb cfbEncrypter
	mdc hash.Hash
	out []byte // ciphertext of one write at most this long
	// pooled is out's array, back to the pool at Close.
	pooled *[]byte
}

// newSEIPDv1 starts the packet on w with an AES-256 key; random supplies
// the prefix block. Closing the writer writes the MDC and finishes the
// packet (w itself is not closed).
func newSEIPDv1(w io.Writer, key []byte, random io.Reader) (io.WriteCloser, error) {
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, fmt.Errorf("SEIPD v1: %w", err)
	}
	pb, ob := getBuf(partialChunk), getBuf(32<<10)
	s := &seipdV1Writer{
		p:   &partialWriter{w: nopCloser{w}, tag: seipdV1Tag, buf: (*pb)[:0], pooled: pb},
		cfb: cfbEncrypter{b: block, used: cfbBlock},
		mdc: sha1.New(), // the MDC is SHA-1 by definition (RFC 4880 §5.14)
		out: *ob, pooled: ob,
	}
	if _, err := s.p.Write([]byte{seipdV1Version}); err != nil {
		return nil, err
	}
	var prefix [cfbBlock + 2]byte
	if _, err := io.ReadFull(random, prefix[:cfbBlock]); err != nil {
		return nil, fmt.Errorf("SEIPD v1 prefix: %w", err)
	}
	copy(prefix[cfbBlock:], prefix[cfbBlock-2:cfbBlock])
	if _, err := s.Write(prefix[:]); err != nil {
		return nil, err
	}
	return s, nil
}

func (s *seipdV1Writer) Write(b []byte) (int, error) {
	n := len(b)
	s.mdc.Write(b)
	for len(b) > 0 {
		k := min(len(b), len(s.out))
		s.cfb.xor(s.out[:k], b[:k])
		if _, err := s.p.Write(s.out[:k]); err != nil {
			return n - len(b), err
		}
		b = b[k:]
	}
	return n, nil
}

func (s *seipdV1Writer) Close() error {
	trailer := [22]byte{mdcTag, 20}
	s.mdc.Write(trailer[:2])
	s.mdc.Sum(trailer[:2])
	var enc [22]byte
	s.cfb.xor(enc[:], trailer[:])
	if _, err := s.p.Write(enc[:]); err != nil {
		return err
	}
	if s.pooled != nil {
		s.out = nil
		putBuf(s.pooled)
		s.pooled = nil
	}
	return s.p.Close()
}

// cfbEncrypter is CFB mode encryption (RFC 4880 §13.9 without the
// resync): fre holds the ciphertext block being made, whose encryption is
// the next block's key stream; used counts its octets already made.
type cfbEncrypter struct {
	b    cipher.Block
	fre  [cfbBlock]byte
	used int
}

func (x *cfbEncrypter) xor(dst, src []byte) {
	// Finish a block begun by an earlier call.
	for x.used < cfbBlock && len(src) > 0 {
		x.fre[x.used] ^= src[0]
		dst[0] = x.fre[x.used]
		x.used++
		dst, src = dst[1:], src[1:]
	}
	// Whole blocks, eight octets at a time.
	for len(src) >= cfbBlock {
		x.b.Encrypt(x.fre[:], x.fre[:])
		a := binary.LittleEndian.Uint64(x.fre[:8]) ^ binary.LittleEndian.Uint64(src[:8])
		c := binary.LittleEndian.Uint64(x.fre[8:]) ^ binary.LittleEndian.Uint64(src[8:16])
		binary.LittleEndian.PutUint64(x.fre[:8], a)
		binary.LittleEndian.PutUint64(x.fre[8:], c)
		copy(dst[:cfbBlock], x.fre[:])
		dst, src = dst[cfbBlock:], src[cfbBlock:]
	}
	// The start of the next block.
	if len(src) > 0 {
		x.b.Encrypt(x.fre[:], x.fre[:])
		x.used = 0
		for i := range src {
			x.fre[i] ^= src[i]
			dst[i] = x.fre[i]
		}
		x.used = len(src)
	}
}

// nopCloser gives a writer the Close the packet layers call.
type nopCloser struct{ io.Writer }

func (nopCloser) Close() error { return nil }
