package envelope

import (
	"encoding/base64"
	"encoding/binary"
	"io"
)

// armorWriter writes ASCII armour (RFC 9580 §6.2) for a "PGP MESSAGE":
// base64 in lines of 64 characters and, for rfc4880, the CRC-24 line GnuPG
// 2.2 wants. go-crypto's armor encoder computes the CRC bit by bit and
// writes each line (and each line end) separately, which made armouring
// the largest cost of a seal; this one encodes a batch of whole lines at a
// time and looks the CRC up by byte.
type armorWriter struct {
	w        io.Writer
	eol      string
	checksum bool
	crc      uint32
	in       []byte // pending input, less than armorBatch bytes
	out      []byte
	err      error
	pooled   [2]*[]byte // in's and out's arrays, back to the pool at Close
}

const (
	armorLineBytes = 48 // 64 base64 characters
	armorBatch     = armorLineBytes * 512
	armorBegin     = "-----BEGIN PGP MESSAGE-----"
	armorEnd       = "-----END PGP MESSAGE-----"
)

// newArmorWriter starts the armour; eol is the line end to write ("\n" or
// "\r\n"). Close ends it without a final line end, as go-crypto's does.
func newArmorWriter(w io.Writer, eol string, checksum bool) (*armorWriter, error) {
	in, out := getBuf(armorBatch), getBuf(armorBatch/armorLineBytes*(64+2)+64)
	a := &armorWriter{w: w, eol: eol, checksum: checksum, crc: crc24Init,
		in: (*in)[:0], out: (*out)[:0], pooled: [2]*[]byte{in, out}}
	if _, err := io.WriteString(w, armorBegin+eol+eol); err != nil {
		return nil, err
	}
	return a, nil
}

func (a *armorWriter) Write(p []byte) (int, error) {
	if a.err != nil {
		return 0, a.err
	}
	n := len(p)
	for len(p) > 0 {
		k := copy(a.in[len(a.in):cap(a.in)], p)
		a.in = a.in[:len(a.in)+k]
		p = p[k:]
		if len(a.in) == cap(a.in) {
			if err := a.flush(); err != nil {
				return n - len(p), err
			}
		}
	}
	return n, nil
}

// flush encodes the pending input as lines (the last one short only at
// Close) and writes them.
func (a *armorWriter) flush() error {
	if a.checksum {
		a.crc = crc24(a.crc, a.in)
	}
	out := a.out[:0]
	in := a.in
	for len(in) >= armorLineBytes {
		out = appendLine(out, in[:armorLineBytes])
		out = append(out, a.eol...)
		in = in[armorLineBytes:]
	}
	if len(in) > 0 {
		out = base64.StdEncoding.AppendEncode(out, in)
		out = append(out, a.eol...)
	}
	a.in = a.in[:0]
	if _, err := a.w.Write(out); err != nil {
		a.err = err
		return err
	}
	return nil
}

func (a *armorWriter) Close() error {
	if a.err != nil {
		return a.err
	}
	if err := a.flush(); err != nil {
		return err
	}
	tail := armorEnd
	if a.checksum {
		sum := [3]byte{byte(a.crc >> 16), byte(a.crc >> 8), byte(a.crc)}
		tail = "=" + base64.StdEncoding.EncodeToString(sum[:]) + a.eol + armorEnd
	}
	_, err := io.WriteString(a.w, tail)
	if a.pooled[0] != nil {
		a.in, a.out = nil, nil
		putBuf(a.pooled[0])
		putBuf(a.pooled[1])
		a.pooled = [2]*[]byte{}
	}
	return err
}

// base64Pairs[v] is the two base64 characters of the 12 bits v, the first
// in the low byte: appendLine encodes six octets with four look-ups and
// one store, where encoding/base64 makes each character on its own (it
// was three quarters of an uncompressed rfc9580 seal's CPU).
var base64Pairs = func() (t [1 << 12]uint16) {
	const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
	for v := range t {
		t[v] = uint16(alphabet[v>>6]) | uint16(alphabet[v&63])<<8
	}
	return t
}()

// appendLine appends the 64 base64 characters of a 48-octet line.
func appendLine(out, line []byte) []byte {
	n := len(out)
	out = append(out, make([]byte, 64)...)
	dst := out[n : n+64]
	line = line[:armorLineBytes]
	t := &base64Pairs
	for i := 0; i < 8; i++ {
		s := line[i*6 : i*6+6]
		v := uint64(binary.BigEndian.Uint32(s))<<16 | uint64(binary.BigEndian.Uint16(s[4:]))
		binary.LittleEndian.PutUint64(dst[i*8:], uint64(t[v>>36])|uint64(t[v>>24&0xfff])<<16|
			uint64(t[v>>12&0xfff])<<32|uint64(t[v&0xfff])<<48)
	}
	return out
}

// CRC-24 of RFC 4880 §6.1.
const (
	crc24Init = 0xb704ce
	crc24Poly = 0x1864cfb
)

// crc24Tables[k][b] is the CRC of byte b followed by k zero bytes, so
// crc24 folds eight bytes per step ("slicing by 8"): the byte-at-a-time
// table loop was a fifth of an uncompressed rfc4880 seal.
var crc24Tables = func() (t [8][256]uint32) {
	for i := range t[0] {
		c := uint32(i) << 16
		for range 8 {
			c <<= 1
			if c&0x1000000 != 0 {
				c ^= crc24Poly
			}
		}
		t[0][i] = c & 0xffffff
	}
	for k := 1; k < 8; k++ {
		for i := range t[k] {
			c := t[k-1][i]
			t[k][i] = (c<<8 ^ t[0][c>>16]) & 0xffffff
		}
	}
	return t
}()

func crc24(crc uint32, p []byte) uint32 {
	t := &crc24Tables
	for len(p) >= 8 {
		// The 24-bit register meets the first three bytes.
		c := crc ^ (uint32(p[0])<<16 | uint32(p[1])<<8 | uint32(p[2]))
		crc = t[7][c>>16] ^ t[6][(c>>8)&0xff] ^ t[5][c&0xff] ^
			t[4][p[3]] ^ t[3][p[4]] ^ t[2][p[5]] ^ t[1][p[6]] ^ t[0][p[7]]
		p = p[8:]
	}
	for _, b := range p {
		crc = (crc<<8 ^ t[0][byte(crc>>16)^b]) & 0xffffff
	}
	return crc
}
