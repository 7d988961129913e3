package envelope

import (
	"bytes"
	"errors"
	"io"
	mathrand "math/rand/v2"
	"testing"
	"testing/iotest"
)

// regions is n octets whose every 64 KB region is random over an alphabet
// of its own size (2 to 17 letters): each compresses to its own ratio, all
// below compressWorth, so a sample's ratio tells which bytes were taken.
func regions(n int) []byte {
	r := mathrand.New(mathrand.NewPCG(uint64(n), 7))
	b := make([]byte, n)
	for i := range b {
		b[i] = 'a' + byte(r.IntN(2+i>>16%16))
	}
	return b
}

// TestSampleWindows: a source that can be read at any offset is sampled
// from where it stands: the whole rest when it is at most compressSample,
// or four windows spread evenly over the rest; and it is left there, to
// be read whole. The ratio returned is the sample's, octet for octet.
func TestSampleWindows(t *testing.T) {
	msg := regions(1 << 20)
	for _, cur := range []int{0, 100_003, len(msg) - compressSample - 1, len(msg) - compressSample, len(msg) - 60_000, len(msg) - 300} {
		rest := msg[cur:]
		var want []byte
		if len(rest) <= compressSample {
			want = rest
		} else {
			for i := range 4 {
				off := len(rest) * i / 4
				want = append(want, rest[off:off+compressSample/4]...)
			}
		}
		src := bytes.NewReader(msg)
		if _, err := src.Seek(int64(cur), io.SeekStart); err != nil {
			t.Fatal(err)
		}
		wantOK, wantRatio := true, sampleRatio(want)
		if wantRatio >= compressWorth {
			wantOK, wantRatio = false, 1
		}
		again, ok, ratio, err := sampleCompression(src)
		if err != nil || ok != wantOK || ratio != wantRatio {
			t.Errorf("at %d: sampleCompression: %v, %.5f, %v; want %v, %.5f", cur, ok, ratio, err, wantOK, wantRatio)
		}
		if got, err := io.ReadAll(again); err != nil || !bytes.Equal(got, rest) {
			t.Errorf("at %d: the source then yields %d octets (%v), want the %d after the position", cur, len(got), err, len(rest))
		}
	}
}

// TestSampleAtCompressWorth: a sample that shrinks to exactly
// compressWorth does not pay.
func TestSampleAtCompressWorth(t *testing.T) {
	// A run of one letter, then noise: searched for a mix whose sample
	// shrinks to exactly compressWorth, so that the test does not depend on
	// the compressor's exact output. The longer the run, the smaller the
	// output, so each length is bisected on the run's.
	r := mathrand.New(mathrand.NewPCG(4000, 9))
	noise := make([]byte, 8000)
	for i := range noise {
		noise[i] = byte(r.Uint32())
	}
	mix := func(n, k int) []byte { return append(bytes.Repeat([]byte{'a'}, k), noise[k:n]...) }
	for n := 2000; n <= len(noise); n += 10 {
		lo, hi := 0, n
		for lo < hi {
			if k := (lo + hi) / 2; sampleRatio(mix(n, k)) <= compressWorth {
				hi = k
			} else {
				lo = k + 1
			}
		}
		for k := max(0, lo-3); k <= min(n, lo+3); k++ {
			sample := mix(n, k)
			if sampleRatio(sample) != compressWorth {
				continue
			}
			if _, ok, ratio, err := sampleCompression(bytes.NewReader(sample)); err != nil || ok || ratio != 1 {
				t.Errorf("a sample at exactly compressWorth: %v, %v, %v; want not compressed, ratio 1", ok, ratio, err)
			}
			return
		}
	}
	t.Fatal("no mix of a run and noise shrinks to exactly compressWorth")
}

// TestSampleShortStream: a stream that ends before a whole sample (or at
// once) is sampled as far as it goes and then yields all of itself; only a
// reading error is an error.
func TestSampleShortStream(t *testing.T) {
	for _, msg := range [][]byte{nil, []byte("x"), mailText(compressSample - 1)} {
		src, _, _, err := sampleCompression(io.MultiReader(bytes.NewReader(msg)))
		if err != nil {
			t.Fatalf("%d octets: %v", len(msg), err)
		}
		if got, err := io.ReadAll(src); err != nil || !bytes.Equal(got, msg) {
			t.Errorf("%d octets: then yields %d (%v)", len(msg), len(got), err)
		}
	}
	cut := io.MultiReader(bytes.NewReader(mailText(1000)), iotest.ErrReader(errCut))
	if _, _, _, err := sampleCompression(cut); !errors.Is(err, errCut) {
		t.Errorf("a stream that fails: %v, want its error", err)
	}
}
