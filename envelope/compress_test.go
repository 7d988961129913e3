package envelope

import (
	"bytes"
	"compress/gzip"
	"crypto/rand"
	"encoding/base64"
	"io"
	"strings"
	"testing"

	"github.com/ProtonMail/go-crypto/openpgp/armor"
	"github.com/ProtonMail/go-crypto/openpgp/packet"
)

// TestCompressedPacket: the compressed packet written here (klauspost ZIP,
// partial body lengths) is read back by go-crypto for every length class:
// empty, one-octet, two-octet and five-octet final lengths, and exact and
// off-by-one multiples of the partial chunk.
func TestCompressedPacket(t *testing.T) {
	for _, n := range []int{0, 1, 191, 192, 8383, 8384, partialChunk - 1, partialChunk, partialChunk + 1, 3*partialChunk + 7, 1 << 20} {
		in := make([]byte, n)
		_, _ = rand.Read(in[:n/2]) // half noise, half zeros: both kinds of block
		var buf bytes.Buffer
		w, err := compressedPacket(nopCloser{&buf}, 0)
		if err != nil {
			t.Fatal(err)
		}
		// Odd write sizes cross the chunk boundaries anywhere.
		writePieces(t, w, in, 12345)
		p, err := packet.Read(&buf)
		if err != nil {
			t.Fatalf("%d bytes: go-crypto cannot read the packet: %v", n, err)
		}
		c, ok := p.(*packet.Compressed)
		if !ok {
			t.Fatalf("%d bytes: read a %T, want a compressed packet", n, p)
		}
		got, err := io.ReadAll(c.Body)
		if err != nil || !bytes.Equal(got, in) {
			t.Fatalf("%d bytes: inflated %d bytes (%v), want the input back", n, len(got), err)
		}
		if buf.Len() != 0 {
			t.Errorf("%d bytes: %d bytes after the packet", n, buf.Len())
		}
	}
}

// TestArmorWriter: go-crypto decodes the armour, and verifies its CRC-24
// where one is written, for lengths around the line and batch sizes.
func TestArmorWriter(t *testing.T) {
	for _, n := range []int{0, 1, 2, 3, 47, 48, 49, armorBatch - 1, armorBatch, armorBatch + 1, 100_000} {
		for _, checksum := range []bool{true, false} {
			in := make([]byte, n)
			_, _ = rand.Read(in)
			var buf bytes.Buffer
			a, err := newArmorWriter(&buf, "\n", checksum)
			if err != nil {
				t.Fatal(err)
			}
			_, _ = a.Write(in[:n/3])
			_, _ = a.Write(in[n/3:])
			if err := a.Close(); err != nil {
				t.Fatal(err)
			}
			text := buf.String()
			for i, line := range strings.Split(text, "\n") {
				if len(line) > 64 && !strings.HasPrefix(line, "-----") {
					t.Fatalf("%d bytes: line %d is %d characters", n, i+1, len(line))
				}
			}
			if strings.Contains(text, "\n=") != checksum {
				t.Errorf("%d bytes: checksum line present = %v, want %v", n, !checksum, checksum)
			}
			blk, err := armor.Decode(strings.NewReader(text))
			if err != nil {
				t.Fatalf("%d bytes, checksum %v: %v\n%s", n, checksum, err, text)
			}
			got, err := io.ReadAll(blk.Body)
			if err != nil || !bytes.Equal(got, in) || blk.Type != "PGP MESSAGE" {
				t.Fatalf("%d bytes, checksum %v: decoded %d bytes of %q (%v)", n, checksum, len(got), blk.Type, err)
			}
		}
	}
	// go-crypto's reader no longer checks the CRC (RFC 9580 drops it), so
	// it is compared with go-crypto's own encoder's.
	for _, n := range []int{1, 48, armorBatch + 5} {
		in := make([]byte, n)
		_, _ = rand.Read(in)
		var mine, theirs bytes.Buffer
		a, _ := newArmorWriter(&mine, "\n", true)
		_, _ = a.Write(in)
		_ = a.Close()
		e, _ := armor.EncodeWithChecksumOption(&theirs, "PGP MESSAGE", nil, true)
		_, _ = e.Write(in)
		_ = e.Close()
		crc := func(s string) string { return s[strings.LastIndex(s, "\n=")+1:] }
		if crc(mine.String()) != crc(theirs.String()) {
			t.Errorf("%d bytes: checksum and end %q, go-crypto writes %q", n, crc(mine.String()), crc(theirs.String()))
		}
	}
}

// TestSealCompressesWhenItPays: the decision on a sample, and what it
// makes of the whole message. Mail text is compressed, and so is a message
// with text and a base64 attachment (the text shrinks, the attachment's
// blocks are stored); random bytes (an 8-bit body of compressed data), gzip
// output and base64 of compressed data alone are stored. Every one opens.
func TestSealCompressesWhenItPays(t *testing.T) {
	text := []byte(strings.Repeat("Dear Bob, the results of your tests are in the attached report. ", 16_000))
	noise := make([]byte, 1<<20)
	_, _ = rand.Read(noise)
	var gz bytes.Buffer
	zw := gzip.NewWriter(&gz)
	_, _ = zw.Write(textMessage())
	_, _ = zw.Write(noise[:1<<19])
	_ = zw.Close()
	var b64 bytes.Buffer
	for enc := base64.StdEncoding.EncodeToString(noise[:700_000]); enc != ""; {
		k := min(len(enc), 76)
		b64.WriteString(enc[:k] + "\r\n")
		enc = enc[k:]
	}
	// The payload is armoured (4/3): its size against the message's tells
	// which way the packet went.
	for _, c := range []struct {
		name           string
		msg            []byte
		want           bool
		minArm, maxArm float64
	}{
		{"text", text, true, 0, 0.1},
		{"noise", noise, false, 1.3, 1.4},
		{"gzip", gz.Bytes(), false, 1.3, 1.4},
		{"base64", b64.Bytes(), false, 1.3, 1.4},
		{"text and base64 attachment", attachmentMessage(t, 600_000), true, 0.95, 1.15},
	} {
		t.Run(c.name, func(t *testing.T) {
			_, got, _, err := sampleCompression(bytes.NewReader(c.msg))
			if err != nil || got != c.want {
				t.Fatalf("sampleCompression: %v, %v; want %v", got, err, c.want)
			}
			// Through a reader that cannot seek: sampled at its start.
			src, got, _, err := sampleCompression(io.MultiReader(bytes.NewReader(c.msg)))
			if err != nil || got != c.want {
				t.Fatalf("sampleCompression (stream): %v, %v; want %v", got, err, c.want)
			}
			if all, err := io.ReadAll(src); err != nil || !bytes.Equal(all, c.msg) {
				t.Fatal("the sampled stream does not yield the whole message")
			}
			s := sealOK(t, testRequest(c.msg), testOptions())
			payload := payloadOf(t, parseNotification(t, s).page)
			if r := float64(len(payload)) / float64(len(c.msg)); r < c.minArm || r > c.maxArm {
				t.Errorf("armoured payload %.2f× the message; want %.2f to %.2f for %v", r, c.minArm, c.maxArm, c.want)
			}
			got2, _, err := decrypt(payload, []byte(Passphrase(s.Key)), nil)
			if err != nil || !bytes.Equal(got2, c.msg) {
				t.Fatalf("decrypt: %v", err)
			}
		})
	}
}

// TestCRC24: the sliced CRC-24 equals the bit-by-bit definition (RFC 4880
// §6.1) for every length up to a few steps of eight and at odd offsets.
func TestCRC24(t *testing.T) {
	bitwise := func(p []byte) uint32 {
		crc := uint32(crc24Init)
		for _, b := range p {
			crc ^= uint32(b) << 16
			for range 8 {
				crc <<= 1
				if crc&0x1000000 != 0 {
					crc ^= crc24Poly
				}
			}
		}
		return crc & 0xffffff
	}
	buf := make([]byte, 200)
	_, _ = rand.Read(buf)
	for off := range 3 {
		for n := 0; n+off <= len(buf); n++ {
			p := buf[off : off+n]
			if got, want := crc24(crc24Init, p), bitwise(p); got != want {
				t.Fatalf("crc24 of %d bytes at offset %d = %06x, want %06x", n, off, got, want)
			}
		}
	}
	// Split anywhere, the running CRC is the same.
	if got, want := crc24(crc24(crc24Init, buf[:13]), buf[13:]), bitwise(buf); got != want {
		t.Fatalf("crc24 in two calls = %06x, want %06x", got, want)
	}
}

// TestAppendLine: the table-driven line encoder writes what encoding/base64
// writes, for random lines and the extremes, after any prefix.
func TestAppendLine(t *testing.T) {
	lines := [][]byte{make([]byte, armorLineBytes), bytes.Repeat([]byte{0xff}, armorLineBytes)}
	for range 1000 {
		l := make([]byte, armorLineBytes)
		_, _ = rand.Read(l)
		lines = append(lines, l)
	}
	for _, l := range lines {
		got := appendLine([]byte("prefix"), l)
		if want := "prefix" + base64.StdEncoding.EncodeToString(l); string(got) != want {
			t.Fatalf("appendLine(%x) = %q, want %q", l, got, want)
		}
	}
}
