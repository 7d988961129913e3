package scanner

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"testing"
	"time"
)

// mailText generates about size bytes of e-mail-like text: prose, greetings,
// signatures, and the numbers real mail carries (phones, dates, amounts,
// order and tracking numbers), with the occasional real finding. It is
// deterministic so benchmark runs compare.
func mailText(size int) []byte {
	r := rand.New(rand.NewPCG(1, 2))
	words := []string{"the", "patient", "was", "seen", "today", "and", "we", "will", "follow", "up",
		"with", "results", "please", "find", "attached", "report", "for", "your", "review", "thanks",
		"appointment", "scheduled", "next", "week", "regarding", "invoice", "payment", "account",
		"meeting", "discussed", "treatment", "plan", "Hello", "Regards", "insurance", "claim"}
	numbers := []func() string{
		func() string { return fmt.Sprintf("(%03d) %03d-%04d", 200+r.IntN(800), r.IntN(1000), r.IntN(10000)) },
		func() string { return fmt.Sprintf("+1 %03d %03d %04d", 200+r.IntN(800), r.IntN(1000), r.IntN(10000)) },
		func() string { return fmt.Sprintf("2026-%02d-%02d", 1+r.IntN(12), 1+r.IntN(28)) },
		func() string { return fmt.Sprintf("%d/%d/2026", 1+r.IntN(12), 1+r.IntN(28)) },
		func() string { return fmt.Sprintf("$%d.%02d", r.IntN(100000), r.IntN(100)) },
		func() string { return fmt.Sprintf("order %d", 100000000+r.IntN(900000000)) },
		func() string { return fmt.Sprintf("9400%018d", r.Int64N(1e18)) },
		func() string { return fmt.Sprintf("%d", r.IntN(1000)) },
		func() string { return fmt.Sprintf("SSN %03d-%02d-%04d", 1+r.IntN(665), 1+r.IntN(99), 1+r.IntN(9999)) },
		func() string { return "card 4111 1111 1111 1111" },
		func() string { return "Diagnosis: E11.9" },
	}
	var b bytes.Buffer
	b.Grow(size + 256)
	for b.Len() < size {
		b.WriteString("Hello team,\n\n")
		for line := 0; line < 8; line++ {
			for w := 0; w < 12; w++ {
				if r.IntN(20) == 0 {
					b.WriteString(numbers[r.IntN(len(numbers))]())
				} else {
					b.WriteString(words[r.IntN(len(words))])
				}
				b.WriteByte(' ')
			}
			b.WriteByte('\n')
		}
		b.WriteString("\nRegards,\nDr. Example\nExample Health, 1 Main St, Springfield\n\n")
	}
	return b.Bytes()[:size]
}

func BenchmarkScan(b *testing.B) {
	text := mailText(10 << 20)
	b.SetBytes(int64(len(text)))
	b.ReportAllocs()
	for b.Loop() {
		Scan(text, Options{})
	}
}

// Plain prose without digits shows the cost of the skipping loop alone.
func BenchmarkScanNoDigits(b *testing.B) {
	text := bytes.Repeat([]byte("Please find the attached report for your review. "), (10<<20)/50)
	b.SetBytes(int64(len(text)))
	for b.Loop() {
		Scan(text, Options{})
	}
}

// TestSpeed logs a rough throughput; it asserts nothing about timing, since
// test machines vary and -race slows everything down.
func TestSpeed(t *testing.T) {
	text := mailText(1 << 20)
	const runs = 5
	start := time.Now()
	var n int
	for range runs {
		n = len(Scan(text, Options{}))
	}
	el := time.Since(start)
	t.Logf("1 MiB mail-like text: %d findings, %.0f MB/s", n, float64(runs*len(text))/el.Seconds()/1e6)
	if n == 0 {
		t.Fatal("generated text should contain findings")
	}
}
