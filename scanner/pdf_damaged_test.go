package scanner

import (
	"bytes"
	"testing"
)

// A PDF with a mail header saved in front of it, as a broken client
// writes it: every offset in the file is off, so the file is read by
// re-indexing it, encrypted, with object streams, or both, as qpdf writes
// them. The trailer (with /Encrypt and /ID) comes from the last trailer
// dictionary or cross-reference stream.
func TestPDFShiftedOffsets(t *testing.T) {
	plain := cryptDoc()
	for _, v := range []struct {
		name string
		opts []string
	}{
		{"plain", nil},
		{"aes128", []string{"--encrypt", "", "owner", "128", "--use-aes=y", "--"}},
		{"object-streams", []string{"--object-streams=generate"}},
		{"aes256-object-streams", []string{"--object-streams=generate", "--encrypt", "", "owner", "256", "--"}},
		{"rc4-object-streams", []string{"--object-streams=generate", "--allow-weak-crypto", "--encrypt", "", "owner", "128", "--use-aes=n", "--"}},
	} {
		t.Run(v.name, func(t *testing.T) {
			pdf := qpdf(t, plain, append([]string{"--stream-data=preserve"}, v.opts...)...)
			checkParts(t, v.name, pdf, cryptDocParts)
			shifted := append([]byte("Content-Type: application/pdf\r\n\r\n"), pdf...)
			checkParts(t, v.name+" shifted", shifted, cryptDocParts)
		})
	}
}

// Re-indexing takes the trailer from the last "trailer" keyword, even one
// at the very start of the file: here qpdf's RC4 file with its trailer
// moved in front of the header (its keyword at the end made a comment),
// which shifts every offset.
func TestPDFTrailerAtOffsetZero(t *testing.T) {
	pdf := qpdf(t, cryptDoc(), "--stream-data=preserve", "--allow-weak-crypto", "--encrypt", "", "owner", "128", "--use-aes=n", "--")
	k := bytes.LastIndex(pdf, []byte("trailer"))
	end := bytes.Index(pdf[k:], []byte("startxref"))
	if k < 0 || end < 0 {
		t.Fatal("no trailer in qpdf's file")
	}
	moved := append([]byte("trailer"), pdf[k+len("trailer"):k+end]...)
	rest := bytes.Clone(pdf)
	rest[k] = '%'
	checkParts(t, "trailer at offset 0", append(moved, rest...), cryptDocParts)
}
