package envelope

import (
	"bytes"
	"crypto/aes"
	"crypto/rand"
	"fmt"
	"testing"

	"github.com/ProtonMail/go-crypto/openpgp/packet"
)

// noise is n random bytes: data that is already compressed.
func noise(t testing.TB, n int) []byte {
	t.Helper()
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return b
}

// TestCFBEncrypter: the block-at-a-time CFB gives go-crypto's OpenPGP CFB
// (no resync) octet for octet: the prefix and its repeated octets, then
// data written in pieces that start and end anywhere in a block.
func TestCFBEncrypter(t *testing.T) {
	key, prefix := noise(t, 32), noise(t, cfbBlock)
	block, err := aes.NewCipher(key)
	if err != nil {
		t.Fatal(err)
	}
	theirs, theirPrefix := packet.NewOCFBEncrypter(block, prefix, packet.OCFBNoResync)
	mine := cfbEncrypter{b: block, used: cfbBlock}
	myPrefix := make([]byte, cfbBlock+2)
	mine.xor(myPrefix, append(append([]byte{}, prefix...), prefix[cfbBlock-2:]...))
	if !bytes.Equal(myPrefix, theirPrefix) {
		t.Fatalf("prefix %x, go-crypto %x", myPrefix, theirPrefix)
	}
	data := noise(t, 5000)
	for i, n := range []int{0, 1, 15, 16, 17, 3, 32, 100, 1, 1, 1, 13, 4000} {
		if len(data) < n {
			break
		}
		want, got := make([]byte, n), make([]byte, n)
		theirs.XORKeyStream(want, data[:n])
		mine.xor(got, data[:n])
		if !bytes.Equal(got, want) {
			t.Fatalf("piece %d (%d octets): %x, go-crypto %x", i, n, got, want)
		}
		data = data[n:]
	}
}

// TestSEIPDv1 reads the packet back with go-crypto (which checks the MDC)
// for lengths around the block and partial-chunk sizes, and a flipped
// ciphertext octet fails the MDC.
func TestSEIPDv1(t *testing.T) {
	key := noise(t, 32)
	for _, n := range []int{0, 1, 15, 16, 17, partialChunk - 19, partialChunk, 3*partialChunk + 5} {
		in := noise(t, n)
		var buf bytes.Buffer
		w, err := newSEIPDv1(&buf, key, rand.Reader)
		if err != nil {
			t.Fatal(err)
		}
		writePieces(t, w, in, 7777)
		got, err := readSEIPDv1(buf.Bytes(), key)
		if err != nil || !bytes.Equal(got, in) {
			t.Fatalf("%d octets: read back %d (%v)", n, len(got), err)
		}
		if n == 0 {
			continue
		}
		bad := bytes.Clone(buf.Bytes())
		bad[len(bad)-30] ^= 1 // inside the data or the MDC packet
		if _, err := readSEIPDv1(bad, key); err == nil {
			t.Fatalf("%d octets: a flipped octet was not detected", n)
		}
	}
}

func readSEIPDv1(b, key []byte) ([]byte, error) {
	p, err := packet.Read(bytes.NewReader(b))
	if err != nil {
		return nil, err
	}
	se, ok := p.(*packet.SymmetricallyEncrypted)
	if !ok || se.Version != 1 {
		return nil, fmt.Errorf("read a %T, want a SEIPD v1 packet", p)
	}
	r, err := se.Decrypt(packet.CipherAES256, key)
	if err != nil {
		return nil, err
	}
	var out bytes.Buffer
	if _, err := out.ReadFrom(r); err != nil {
		return nil, err
	}
	return out.Bytes(), r.Close()
}
