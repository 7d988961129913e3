package scanner

import (
	"bytes"
	"context"
	"encoding/binary"
	"testing"
	"time"
)

// FuzzExtract: whatever the message, Extract does not panic, keeps to
// MaxTotal and comes back soon after its deadline.
func FuzzExtract(f *testing.F) {
	f.Add([]byte("Subject: hi\r\n\r\nSSN 536-22-1234\r\n"))
	f.Add([]byte("Subject: x\r\nContent-Type: text/html\r\n\r\n<b>536</b>-22-1234<script>x</script>"))
	f.Add(multipartMsg("seed",
		mimePart{header: "Content-Type: text/plain; charset=iso-8859-1\r\nContent-Transfer-Encoding: quoted-printable\r\n", body: []byte("f=FCr 536-22-1234")},
		attachment("a.docx", "application/octet-stream", makeDOCX(f)),
		attachment("b.xlsx", "application/octet-stream", makeXLSX(f)),
		attachment("c.pdf", "application/pdf", makePDF(f, false)),
		attachment("d.zip", "application/zip", makeZip(f, zfile{"e.csv", []byte("a,536-22-1234")})),
		attachment("f.zip", "application/zip", encryptedZip(f)),
		attachment("g.msg", "application/octet-stream", cfb(f, []*cfbEntry{
			{name: "__substg1.0_1000001F", data: utf16le("SSN 536-22-1234")},
			{name: "__attach_version1.0_#00000000", children: []*cfbEntry{
				{name: "__substg1.0_3707001F", data: utf16le("a.rtf")},
				{name: "__substg1.0_37010102", data: []byte(`{\rtf1 SSN {\b 536}-22-1234\par}`)},
			}},
		})),
		attachment("h.msg", "application/octet-stream", cfb(f, []*cfbEntry{
			{name: "__substg1.0_10090102", data: compressRTF(`{\rtf1 SSN 536-22-1234\par}`)},
		})),
	))
	f.Add([]byte("Content-Type: multipart/mixed; boundary=x\r\n\r\n--x\r\nContent-Type: message/rfc822\r\n\r\nSubject: inner\r\n\r\nbody\r\n--x--\r\n"))
	const maxTotal = 64 << 10
	f.Fuzz(func(t *testing.T, msg []byte) {
		ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
		defer cancel()
		start := time.Now()
		x, err := Extract(ctx, bytes.NewReader(msg), Limits{MaxTotal: maxTotal, MaxEntry: 32 << 10, Deadline: time.Second})
		if d := time.Since(start); d > 5*time.Second {
			t.Errorf("Extract took %v", d)
		}
		if err != nil {
			return
		}
		if n := textBytes(x); n > maxTotal {
			t.Errorf("%d bytes of text > MaxTotal", n)
		}
	})
}

// FuzzDecompressRTF: compressed RTF data (the header made to fit it, CRC
// included, so the fuzzer gets past it) decompresses or fails, never
// panics, and never gives more than its declared size or the limit.
func FuzzDecompressRTF(f *testing.F) {
	for _, c := range rtfcpSpec {
		b := unhex(f, c.hex)
		f.Add(b[16:], uint16(binary.LittleEndian.Uint32(b[4:])))
	}
	f.Add(lzfu(append(lits("{\\rtf1 5"), lzTok{ref: true, off: 214, n: 17})), uint16(50))
	f.Fuzz(func(t *testing.T, data []byte, rawSize uint16) {
		const limit = 4096
		if out, err := decompressRTF(data, limit); err == nil && len(out) > limit {
			t.Errorf("%d bytes out, over the limit", len(out))
		}
		out, err := decompressRTF(rtfcp(rtfcpCompressed, int(rawSize), data), limit)
		if err == nil && (len(out) > int(rawSize) || len(out) > limit) {
			t.Errorf("%d bytes out, RAWSIZE %d", len(out), rawSize)
		}
	})
}
