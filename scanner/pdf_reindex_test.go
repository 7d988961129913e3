package scanner

// Re-indexing (a file read by searching it for "N G obj"): when it happens,
// which definition of an object wins, and what it may cost. The files here
// are hand-built bytes: malformed or adversarial layouts no producer writes
// (qpdf checks the encrypted ones are valid and shows what they hold).

import (
	"bytes"
	"fmt"
	"maps"
	"slices"
	"strings"
	"testing"
)

// rc4PDF writes an RC4 (R3, 40-bit, empty user password) encrypted PDF
// with a cross-reference stream: the objects in stm inside object stream 8,
// those in direct as plain objects ("STREAM:" bodies as streams); before
// them, stale copies the xref does not list (direct, and object streams
// numbered 11). Objects are written in number order, so the bytes never vary.
func rc4PDF(stm, direct, stale map[int]string, staleStm ...map[int]string) []byte {
	encDict, id, cipher := handRC4("/V 2 /Length 40", 3, 5, false, false, false)
	enc := func(num int, b []byte) []byte { return cipher(num, true, b) }
	var b bytes.Buffer
	b.WriteString("%PDF-1.6\n")
	offs := map[int]int{}
	write := func(num int, body string) int {
		at := b.Len()
		fmt.Fprintf(&b, "%d 0 obj\n%s\nendobj\n", num, body)
		return at
	}
	objStm := func(num int, objs map[int]string) (int, map[int]int) {
		var hdr, data bytes.Buffer
		idx := map[int]int{}
		for i, n := range slices.Sorted(maps.Keys(objs)) {
			fmt.Fprintf(&hdr, "%d %d ", n, data.Len())
			data.WriteString(objs[n] + "\n")
			idx[n] = i
		}
		cs := enc(num, []byte(hdr.String()+data.String()))
		return write(num, fmt.Sprintf("<< /Type /ObjStm /N %d /First %d /Length %d >>\nstream\n%s\nendstream", len(objs), hdr.Len(), len(cs), cs)), idx
	}
	for _, n := range slices.Sorted(maps.Keys(stale)) {
		write(n, stale[n])
	}
	for _, ss := range staleStm {
		objStm(11, ss)
	}
	for _, n := range slices.Sorted(maps.Keys(direct)) {
		body := direct[n]
		if s, ok := strings.CutPrefix(body, "STREAM:"); ok {
			data := enc(n, []byte(s))
			offs[n] = write(n, fmt.Sprintf("<< /Length %d >>\nstream\n%s\nendstream", len(data), data))
		} else {
			offs[n] = write(n, body)
		}
	}
	var idx map[int]int
	offs[8], idx = objStm(8, stm)
	offs[7] = write(7, encDict)
	offs[9] = b.Len()
	size := 10
	var x []byte
	for n := 0; n < size; n++ {
		if k, ok := idx[n]; ok {
			x = append(x, 2, 0, 0, 0, 8, 0, byte(k))
		} else if off, ok := offs[n]; ok {
			x = append(x, 1, byte(off>>24), byte(off>>16), byte(off>>8), byte(off), 0, 0)
		} else {
			x = append(x, 0, 0, 0, 0, 0, 0xFF, 0xFF)
		}
	}
	fmt.Fprintf(&b, "9 0 obj\n<< /Type /XRef /Size %d /W [1 4 2] /Root 1 0 R /Encrypt 7 0 R /ID [<%X><%X>] /Length %d >>\nstream\n%s\nendstream\nendobj\n", size, id, id, len(x), x)
	fmt.Fprintf(&b, "startxref\n%d\n%%%%EOF\n", offs[9])
	return b.Bytes()
}

// The catalogue and a filled-in field in the object stream; the pages direct.
var (
	rc4Stm = map[int]string{
		1: "<< /Type /Catalog /Pages 2 0 R /AcroForm << /Fields [6 0 R] >> >>",
		6: "<< /T (card) /FT /Tx /V (4111 1111 1111 1111) >>",
	}
	rc4Direct = map[int]string{
		2: "<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
		3: "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Resources << /Font << /F1 5 0 R >> >> /Contents 4 0 R >>",
		4: "STREAM:BT /F1 12 Tf 72 700 Td (Hello) Tj ET",
		5: "<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
	}
)

// An encrypted file whose catalogue is in an object stream has valid xref
// data: it is read through it (the key first, then the catalogue), not
// re-indexed, so a stale direct copy of the field the xref no longer lists
// does not hide the card number.
func TestPDFEncryptedCatalogueInObjectStream(t *testing.T) {
	pdf := rc4PDF(rc4Stm, rc4Direct, map[int]string{6: "<< /T <> /FT /Tx >>"})
	plain := qpdf(t, pdf, "--decrypt", "--stream-data=uncompress", "--object-streams=disable")
	if !bytes.Contains(plain, []byte("/V (4111 1111 1111 1111)")) {
		t.Fatalf("qpdf does not see the field value:\n%s", plain)
	}
	checkParts(t, "stale direct object", pdf, map[string]string{
		"attachment t.pdf, page 1":      "Hello\n",
		"attachment t.pdf, form fields": "card: 4111 1111 1111 1111\n",
	})
}

// Re-indexing takes the definition later in the file, whether direct or in
// an object stream: the stale direct copy of object 6 and the stale object
// stream holding it both come before object stream 8. The xref stream is cut
// off (no startxref), so the file is re-indexed. Object streams used to be
// walked in map order, so the stale stream won about a third of the time:
// the extraction is run 64 times (all 64 passing by chance on the old code:
// about 0.65^64 < 1e-11).
func TestPDFReindexLaterDefinitionWins(t *testing.T) {
	pdf := rc4PDF(rc4Stm, rc4Direct, map[int]string{6: "<< /T <> /FT /Tx >>"}, map[int]string{6: "<< /T (card) /FT /Tx >>"})
	plain := qpdf(t, pdf, "--decrypt", "--stream-data=uncompress", "--object-streams=disable")
	if !bytes.Contains(plain, []byte("/V (4111 1111 1111 1111)")) {
		t.Fatalf("qpdf does not see the field value:\n%s", plain)
	}
	broken := pdf[:bytes.LastIndex(pdf, []byte("startxref"))]
	if p := pdfParts(t, broken)["attachment t.pdf, form fields"]; p != "card: 4111 1111 1111 1111\n" {
		t.Errorf("re-indexed: form fields %q, want the card number", p)
	}
	// Only the stale object stream against the current one (no stale direct
	// copy): which one came first out of a map used to decide.
	pdf = rc4PDF(rc4Stm, rc4Direct, nil, map[int]string{6: "<< /T (card) /FT /Tx >>"})
	broken = pdf[:bytes.LastIndex(pdf, []byte("startxref"))]
	missed := 0
	for range 64 {
		if pdfParts(t, broken)["attachment t.pdf, form fields"] != "card: 4111 1111 1111 1111\n" {
			missed++
		}
	}
	if missed > 0 {
		t.Errorf("re-indexed: the filled-in card number was missed in %d of 64 runs", missed)
	}
}

// An encrypted file whose /Root names no object (here the catalogue is
// object 10, in the object stream): once the key is known and the object
// streams are indexed again, the lowest-numbered catalogue is taken, as in
// a plain damaged file, so the page and the card number in its form are
// read.
func TestPDFEncryptedRootNamesNoCatalogue(t *testing.T) {
	stm := map[int]string{10: rc4Stm[1], 6: rc4Stm[6]}
	checkParts(t, "root names object 1, catalogue is 10", rc4PDF(stm, rc4Direct, nil), map[string]string{
		"attachment t.pdf, page 1":      "Hello\n",
		"attachment t.pdf, form fields": "card: 4111 1111 1111 1111\n",
	})
}
