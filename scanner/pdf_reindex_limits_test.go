package scanner

// What re-indexing a hostile file may cost: the work is linear in the file,
// stops at the deadline, and object streams count against the object
// budget. Hand-built bytes: no producer writes such files. The timing itself
// is in BenchmarkPDFReindexNoEndstream (bench_test.go).

import (
	"bytes"
	"compress/zlib"
	"context"
	"fmt"
	"strings"
	"testing"
)

// noEndstreamPDF has n stream objects without /Length or endstream and no
// startxref: it is re-indexed, and each stream's end must be searched for.
func noEndstreamPDF(n int) []byte {
	var b bytes.Buffer
	b.WriteString("%PDF-1.7\n")
	for i := 1; i <= n; i++ {
		fmt.Fprintf(&b, "%d 0 obj<<>>stream\n", i)
	}
	b.WriteString("%%EOF\n")
	return b.Bytes()
}

// stepCtx is a context whose deadline passes after it has been asked
// `left` times: the deadline falls part-way through the work, at the same
// point every run.
type stepCtx struct {
	context.Context
	left int
}

func (c *stepCtx) Err() error {
	if c.left--; c.left < 0 {
		return context.DeadlineExceeded
	}
	return nil
}

func testExtractor(ctx context.Context) *extractor {
	return &extractor{ctx: ctx, lim: Limits{}.withDefaults(), out: &Extracted{}, work: workFactor * DefaultMaxTotal}
}

func deadlineRecorded(x *Extracted) bool {
	for _, u := range x.Unreadable {
		if u.Reason == "deadline exceeded" {
			return x.Truncated
		}
	}
	return false
}

// Re-indexing looks at the deadline: one that passes part-way stops it
// there, recorded as a limit (the message fails closed), instead of
// indexing all 5,000 objects first.
func TestPDFReindexStopsAtDeadline(t *testing.T) {
	const n = 5000
	b := noEndstreamPDF(n)
	e := testExtractor(&stepCtx{Context: context.Background(), left: 5})
	d, err := openPDF(e, "t.pdf", b)
	if err != errDeadline || !deadlineRecorded(e.out) {
		t.Errorf("openPDF: err %v, unreadable %v; want the deadline recorded", err, e.out.Unreadable)
	}
	if len(d.xref) >= n {
		t.Errorf("re-indexing went on past the deadline: %d of %d objects indexed", len(d.xref), n)
	}
	// Through the extractor: the PDF is unreadable for the deadline, and
	// nothing else is said of it.
	e = testExtractor(&stepCtx{Context: context.Background(), left: 5})
	e.pdf("t.pdf", b)
	if !deadlineRecorded(e.out) || len(e.out.Unreadable) != 1 {
		t.Errorf("pdf: unreadable %v, want only the deadline", e.out.Unreadable)
	}
}

// A re-indexed stream with neither /Length nor endstream ends where the
// next object begins, not at the end of the file: the streams of a file
// together span no more than the file, so reading them all is linear work
// (they used to span n times half the file).
func TestPDFReindexStreamsEndAtNextObject(t *testing.T) {
	const n = 2000
	b := noEndstreamPDF(n)
	e := testExtractor(context.Background())
	d, err := openPDF(e, "t.pdf", b)
	if err != nil {
		t.Fatal(err)
	}
	total, streams := 0, 0
	for num := range d.xref {
		if s, ok := d.resolve(pdfRef{num: num}).(*pdfStream); ok {
			total += len(s.raw)
			streams++
		}
	}
	if streams != n || total > len(b) {
		t.Errorf("%d streams spanning %d bytes of a %d-byte file; want %d streams within the file", streams, total, len(b), n)
	}
	// The last one runs to the end of the file, as before.
	last := d.resolve(pdfRef{num: n}).(*pdfStream)
	if string(last.raw) != "%%EOF\n" {
		t.Errorf("last stream %q, want the rest of the file", last.raw)
	}
}

// An object stream whose header lists more objects than the document's
// object budget: the first maxPDFObjects are indexed, the rest recorded as
// a limit (fail closed), instead of an xref entry for each of millions.
func TestPDFObjStmEntriesCountAgainstObjectBudget(t *testing.T) {
	const first = 100000
	var hdr bytes.Buffer
	for i := first; i < first+maxPDFObjects+1000; i++ {
		fmt.Fprintf(&hdr, "%d 0 ", i)
	}
	var z bytes.Buffer
	zw, _ := zlib.NewWriterLevel(&z, zlib.BestSpeed)
	zw.Write(hdr.Bytes())
	zw.Close()
	var b bytes.Buffer
	b.WriteString("%PDF-1.7\n1 0 obj\n<< /Type /Catalog /Pages 2 0 R >>\nendobj\n2 0 obj\n<< /Type /Pages /Kids [] /Count 0 >>\nendobj\n")
	fmt.Fprintf(&b, "3 0 obj\n<< /Type /ObjStm /N 10000000 /First %d /Filter /FlateDecode /Length %d >>\nstream\n", hdr.Len(), z.Len())
	b.Write(z.Bytes())
	b.WriteString("\nendstream\nendobj\ntrailer\n<< /Root 1 0 R >>\n%%EOF\n") // no startxref: re-indexed
	e := testExtractor(context.Background())
	d, err := openPDF(e, "t.pdf", b.Bytes())
	if err != nil {
		t.Fatal(err)
	}
	if len(d.xref) > maxPDFObjects+3 {
		t.Errorf("xref holds %d entries, more than the budget of %d (+3 direct objects)", len(d.xref), maxPDFObjects)
	}
	limited := false
	for _, u := range e.out.Unreadable {
		limited = limited || strings.Contains(u.Reason, "objects")
	}
	if !limited || !e.out.Truncated {
		t.Errorf("unreadable %v, truncated %v: want the object limit recorded", e.out.Unreadable, e.out.Truncated)
	}
}
