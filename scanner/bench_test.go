package scanner

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"runtime"
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

// BenchmarkExtract30MB extracts and scans a clean 30 MB message (a text
// body, a 12 MB PDF that is mostly images, an 8 MB CSV, a 3 MB DOCX) and
// reports the peak heap in use while doing so, above what was in use
// before: the scanner holds one part's bytes and the text extracted so far,
// never the whole message (the message itself is read from a file here).
func BenchmarkExtract30MB(b *testing.B) {
	r := rand.New(rand.NewPCG(3, 4))
	noise := func(n int) string {
		p := make([]byte, n)
		for i := range p {
			p[i] = byte(r.Uint32())
		}
		return string(p)
	}
	words := []string{"please", "find", "the", "attached", "report", "for", "your", "review", "thanks", "patient", "meeting", "invoice", "treatment", "plan", "we", "will", "follow", "up"}
	prose := func(n int) []byte {
		var p []byte
		for len(p) < n {
			p = append(append(p, words[r.IntN(len(words))]...), ' ')
		}
		return p
	}
	objs := []string{
		"<< /Type /Catalog /Pages 2 0 R >>",
		"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
		"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Resources << /Font << /F1 << /Subtype /Type1 /BaseFont /Helvetica >> >> /XObject << /I1 5 0 R /I2 6 0 R /I3 7 0 R /I4 8 0 R >> >> /Contents 4 0 R >>",
		stream("", "BT /F1 12 Tf 72 700 Td (Scanned pages attached) Tj ET /I1 Do /I2 Do /I3 Do /I4 Do"),
	}
	for range 4 {
		objs = append(objs, stream("/Type /XObject /Subtype /Image /Width 1000 /Height 1000 /BitsPerComponent 8 /ColorSpace /DeviceRGB /Filter /DCTDecode", noise(3<<20)))
	}
	pdf := buildPDF(objs...)
	var doc bytes.Buffer
	doc.WriteString(`<w:document xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main"><w:body>`)
	for i := 0; i < (3<<20)/100; i++ {
		doc.WriteString("<w:p><w:r><w:t>")
		doc.Write(prose(100))
		doc.WriteString("</w:t></w:r></w:p>")
	}
	doc.WriteString("</w:body></w:document>")
	docx := makeZip(b, zfile{"word/document.xml", doc.Bytes()})
	msg := multipartMsg("big", mimePart{header: "Content-Type: text/plain\r\n", body: prose(1 << 20)},
		attachment("scans.pdf", "application/pdf", pdf),
		attachment("table.csv", "text/csv", prose(8<<20)),
		attachment("report.docx", "application/vnd.openxmlformats-officedocument.wordprocessingml.document", docx))
	f, err := os.CreateTemp(b.TempDir(), "msg")
	if err != nil {
		b.Fatal(err)
	}
	f.Write(msg)
	size := len(msg)
	msg = nil
	b.SetBytes(int64(size))
	var peak uint64
	for b.Loop() {
		runtime.GC()
		var ms runtime.MemStats
		runtime.ReadMemStats(&ms)
		base := ms.HeapInuse
		stop := make(chan struct{})
		done := make(chan uint64)
		go func() {
			var p uint64
			t := time.NewTicker(2 * time.Millisecond)
			defer t.Stop()
			for {
				var m runtime.MemStats
				runtime.ReadMemStats(&m)
				p = max(p, m.HeapInuse)
				select {
				case <-stop:
					done <- p
					return
				case <-t.C:
				}
			}
		}()
		f.Seek(0, io.SeekStart)
		x, err := Extract(context.Background(), bufio.NewReader(f), Limits{Deadline: time.Minute})
		if err != nil || len(x.Unreadable) > 0 {
			b.Fatalf("%v %+v", err, x.Unreadable)
		}
		if fs := x.Scan(Options{}); len(fs) != 0 {
			b.Fatalf("findings in a clean message: %+v", fs)
		}
		close(stop)
		pk := <-done
		peak = max(peak, pk-min(base, pk))
	}
	b.ReportMetric(float64(size)/1e6, "msg-MB")
	b.ReportMetric(float64(peak)/1e6, "peak-heap-MB")
}

// Re-indexing a file of stream objects without /Length or endstream (as
// in TestPDFReindexStopsAtDeadline) with no deadline in reach: 25,000 objects
// (539 KB) and 100,000 (2.2 MB). Searching each stream's end used to run to
// the end of the file, so the time grew with the square of its size.
func BenchmarkPDFReindexNoEndstream(b *testing.B) {
	for _, n := range []int{25000, 100000} {
		pdf := noEndstreamPDF(n)
		b.Run(fmt.Sprintf("%dKB", len(pdf)>>10), func(b *testing.B) {
			b.SetBytes(int64(len(pdf)))
			for b.Loop() {
				e := testExtractor(context.Background())
				e.pdf("t.pdf", pdf)
			}
		})
	}
}
