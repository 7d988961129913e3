package scanner

import (
	"archive/zip"
	"bytes"
	"context"
	"fmt"
	"io"
	"runtime"
	"slices"
	"strings"
	"testing"
)

// singlePart is a message of one text/plain body, sent as it is.
func singlePart(subject, body string) []byte {
	return []byte("Subject: " + subject + "\r\nContent-Type: text/plain\r\n\r\n" + body)
}

func unreadableList(x *Extracted) []string {
	var out []string
	for _, u := range x.Unreadable {
		out = append(out, u.Source+": "+u.Reason)
	}
	return out
}

func sameUnreadable(t *testing.T, x *Extracted, want ...string) {
	t.Helper()
	if got := unreadableList(x); !slices.Equal(got, want) {
		t.Errorf("unreadable %q, want %q", got, want)
	}
}

// MaxTotal and MaxEntry at their exact edges: text that fills a budget to
// the byte is whole and not truncated; one byte more is cut to the budget.
func TestExtractLimitEdges(t *testing.T) {
	const whole, cut = "s\n\n0123456789\n\n", "s\n\n012345678\n\n"
	for _, c := range []struct {
		lim        Limits
		text       string
		unreadable []string
	}{
		// Subject (1 byte) + body (10 bytes) = 11.
		{Limits{MaxTotal: 11}, whole, nil},
		{Limits{MaxTotal: 10}, cut, []string{"body text/plain: total text limit of 10 bytes reached"}},
		{Limits{MaxEntry: 10}, whole, nil},
		{Limits{MaxEntry: 9}, cut, []string{"body text/plain: larger than 9 bytes"}},
	} {
		x := extract(t, singlePart("s", "0123456789"), c.lim)
		if got := string(x.Text()); got != c.text || x.Truncated != (c.unreadable != nil) || x.Interrupted {
			t.Errorf("%+v: text %q, truncated %v, interrupted %v", c.lim, got, x.Truncated, x.Interrupted)
		}
		sameUnreadable(t, x, c.unreadable...)
	}
}

// The decompression budget (4 × MaxTotal) is charged with what archives
// inflate, not with a message's own parts: a plain part larger than the
// budget is cut by MaxTotal alone.
func TestExtractWorkBudget(t *testing.T) {
	x := extract(t, singlePart("s", strings.Repeat("x", 1000)), Limits{MaxTotal: 100})
	sameUnreadable(t, x, "body text/plain: total text limit of 100 bytes reached")
	if textBytes(x) != 100 {
		t.Errorf("%d bytes of text, want 100", textBytes(x))
	}

	// MaxTotal 1000: 4000 bytes to inflate. Binary entries add no text but
	// use the budget; the second one finds it used up and the rest of the
	// message is not read.
	bin := make([]byte, 3000)
	for i := range bin {
		bin[i] = byte(i * 7 % 251)
	}
	z := makeZip(t, zfile{"empty.txt", nil}, zfile{"a.bin", bin}, zfile{"b.bin", bin}, zfile{"c.txt", []byte("SSN 536-22-1234")})
	x = extract(t, multipartMsg("s", attachment("z.zip", "application/zip", z), attachment("after.txt", "text/plain", []byte("SSN 536-22-1234"))), Limits{MaxTotal: 1000})
	sameUnreadable(t, x,
		"archive z.zip/a.bin: unsupported file type",
		"archive z.zip/b.bin: decompression budget of 4000 bytes for the message used up")
	if !x.Truncated || strings.Contains(string(x.Text()), "536") {
		t.Errorf("truncated %v, text %q; want the budget to stop the message", x.Truncated, x.Text())
	}
	// With the default budget all of it is read.
	x = extract(t, multipartMsg("s", attachment("z.zip", "application/zip", z)), Limits{})
	sameUnreadable(t, x, "archive z.zip/a.bin: unsupported file type", "archive z.zip/b.bin: unsupported file type")
	if p := partBySource(x, "archive z.zip/c.txt"); p == nil || string(p.Text) != "SSN 536-22-1234" {
		t.Errorf("parts %+v", x.Parts)
	}
}

// A message of n one-letter text parts.
func manyParts(n int) []byte {
	var b bytes.Buffer
	b.WriteString("Subject: s\r\nContent-Type: multipart/mixed; boundary=b\r\n\r\n")
	for range n {
		b.WriteString("--b\r\nContent-Type: text/plain\r\n\r\nx\r\n")
	}
	b.WriteString("--b--\r\n")
	return b.Bytes()
}

// At most 10,000 MIME entities (the multipart itself included) are looked
// at; the first one past the limit is reported, and only that one.
func TestExtractMIMEPartsLimit(t *testing.T) {
	count := func(x *Extracted) int {
		n := 0
		for _, p := range x.Parts {
			if p.Source == "body text/plain" && string(p.Text) == "x" {
				n++
			}
		}
		return n
	}
	x := extract(t, manyParts(maxMIMEParts-1), Limits{})
	if n := count(x); n != maxMIMEParts-1 || x.Truncated || len(x.Unreadable) != 0 {
		t.Errorf("%d parts: read %d, truncated %v, %q", maxMIMEParts-1, n, x.Truncated, unreadableList(x))
	}
	x = extract(t, manyParts(maxMIMEParts+2), Limits{})
	if n := count(x); n != maxMIMEParts-1 || !x.Truncated {
		t.Errorf("%d parts: read %d, truncated %v", maxMIMEParts+2, n, x.Truncated)
	}
	sameUnreadable(t, x, "body: more than 10000 MIME parts")
}

// nestedMultipart wraps a text part in n multiparts.
func nestedMultipart(n int, text string) string {
	s := "Content-Type: text/plain\r\n\r\n" + text
	for i := range n {
		b := fmt.Sprintf("b%d", i)
		s = "Content-Type: multipart/mixed; boundary=" + b + "\r\n\r\n--" + b + "\r\n" + s + "\r\n--" + b + "--\r\n"
	}
	return s
}

// MIME nesting: 20 multiparts in one another are read, the 21st is not;
// the same for attached messages.
func TestExtractMIMEDepth(t *testing.T) {
	x := extract(t, []byte("Subject: s\r\n"+nestedMultipart(maxMIMEDepth, "SSN 536-22-1234")), Limits{})
	if p := partBySource(x, "body text/plain"); p == nil || string(p.Text) != "SSN 536-22-1234" || x.Truncated {
		t.Errorf("%d multiparts: %+v, truncated %v, %q", maxMIMEDepth, x.Parts, x.Truncated, unreadableList(x))
	}
	x = extract(t, []byte("Subject: s\r\n"+nestedMultipart(maxMIMEDepth+1, "SSN 536-22-1234")), Limits{})
	if strings.Contains(string(x.Text()), "536") || !x.Truncated {
		t.Errorf("%d multiparts: text %q, truncated %v", maxMIMEDepth+1, x.Text(), x.Truncated)
	}
	sameUnreadable(t, x, "body multipart/mixed: MIME nesting deeper than 20")

	wrapped := func(n int) []byte {
		s := "Subject: inner\r\nContent-Type: text/plain\r\n\r\nSSN 536-22-1234"
		for range n {
			s = "Content-Type: message/rfc822\r\n\r\n" + s
		}
		return []byte(s)
	}
	x = extract(t, wrapped(maxMIMEDepth), Limits{})
	if !strings.Contains(string(x.Text()), "SSN 536-22-1234") || x.Truncated {
		t.Errorf("%d messages: text %q, truncated %v, %q", maxMIMEDepth, x.Text(), x.Truncated, unreadableList(x))
	}
	x = extract(t, wrapped(maxMIMEDepth+1), Limits{})
	if strings.Contains(string(x.Text()), "536") || !x.Truncated || len(x.Unreadable) != 1 ||
		!strings.HasSuffix(x.Unreadable[0].Source, " > body message/rfc822") || x.Unreadable[0].Reason != "MIME nesting deeper than 20" {
		t.Errorf("%d messages: text %q, truncated %v, %q", maxMIMEDepth+1, x.Text(), x.Truncated, unreadableList(x))
	}
}

// Where a part's text comes from: attachments by name (decoded when the
// name is an encoded word) or by type when they have none, inline parts
// as the body, an attached message's parts behind its name, and what
// could not be parsed with the parser's reason.
func TestExtractSources(t *testing.T) {
	fwd := "Subject: inner\r\nContent-Type: text/plain\r\n\r\nSSN 536-22-1234"
	x := extract(t, multipartMsg("outer",
		mimePart{"Content-Type: text/plain\r\nContent-Disposition: attachment\r\n", []byte("a")},
		mimePart{"Content-Type: text/plain; name=\"named.txt\"\r\n", []byte("b")},
		mimePart{"Content-Type: text/plain; name=\"=?windows-1252?q?r=E9sum=E9.txt?=\"\r\n", []byte("c")},
		mimePart{"Content-Type: text/plain; name=\"=?x-no-such-charset?q?r=E9.txt?=\"\r\n", []byte("d")},
		mimePart{"Content-Type: text/plain\r\nContent-Disposition: attachment; filename=\"=?iso-8859-15?q?=A4.txt?=\"\r\n", []byte("f")},
		mimePart{"Content-Type: text/plain\r\nContent-Disposition: attachment; filename*=utf-8''%E2%82%AC%20rate.txt\r\n", []byte("g")},
		attachment("fwd.eml", "message/rfc822", []byte(fwd)),
		mimePart{"Content-Type: text/plain\r\n", []byte("e")},
		attachment("bad.eml", "message/rfc822", []byte("\x00\x01 not a header")),
	), Limits{})
	var got []string
	for _, p := range x.Parts {
		got = append(got, p.Source+": "+string(p.Text))
	}
	want := []string{
		"header Subject: outer",
		"attachment text/plain: a",
		"attachment named.txt: b",
		"attachment résumé.txt: c",
		"attachment =?x-no-such-charset?q?r=E9.txt?=: d",
		"attachment €.txt: f",
		"attachment € rate.txt: g",
		"attachment fwd.eml > header Subject: inner",
		"attachment fwd.eml > body text/plain: SSN 536-22-1234",
		"body text/plain: e",
	}
	if !slices.Equal(got, want) {
		t.Errorf("parts\n%q\nwant\n%q", got, want)
	}
	sameUnreadable(t, x, "attachment bad.eml: corrupt message: message: malformed MIME header line: \x00\x01 not a header\r\n")

	// A multipart cut off, and one whose next part has no header.
	x = extract(t, []byte("Subject: s\r\nContent-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\nContent-Type: text/plain\r\n\r\nx\r\n--b\r\n\x00\x01garbage"), Limits{})
	sameUnreadable(t, x, "body multipart/mixed: malformed multipart: message: malformed MIME header line: \x00\x01garbage\r\n")
	x = extract(t, []byte("Subject: s\r\nContent-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\nContent-Type: text/plain\r\n\r\nx\r\n--b\r\nContent-Type: text/plain\r\n\r\ny"), Limits{})
	sameUnreadable(t, x, "body text/plain: corrupt encoding: unexpected EOF", "body multipart/mixed: malformed multipart: multipart: NextPart: EOF")
}

// Text, CSV and HTML keep what could be read of a damaged or oversized
// part; a container (PDF, DOCX) cut or damaged is not parsed at all.
func TestExtractCutShort(t *testing.T) {
	corrupt := func(ctype string, data []byte) mimePart {
		return mimePart{"Content-Type: " + ctype + "\r\nContent-Transfer-Encoding: base64\r\n", append(b64(data), "!!!"...)}
	}
	x := extract(t, multipartMsg("s",
		corrupt("text/html", []byte("<b>536</b>-22-1234")),
		corrupt("text/csv", []byte("ssn,536-22-1234")),
		corrupt("application/pdf", makePDF(t, false)),
	), Limits{})
	for src, want := range map[string]string{"body text/html": "536-22-1234", "body text/csv": "ssn\t536-22-1234\n"} {
		if p := partBySource(x, src); p == nil || string(p.Text) != want {
			t.Errorf("%s: %+v, want %q", src, p, want)
		}
	}
	if partBySource(x, "body application/pdf, page 1") != nil {
		t.Error("a damaged PDF was parsed")
	}
	sameUnreadable(t, x,
		"body text/html: corrupt encoding: unexpected EOF",
		"body text/csv: corrupt encoding: unexpected EOF",
		"body application/pdf: corrupt PDF: unexpected EOF")

	x = extract(t, multipartMsg("s",
		attachment("a.html", "text/html", []byte("<p>SSN 536-22-1234</p><p>more</p>")),
		attachment("b.csv", "text/csv", []byte("ssn,536-22-1234\nmore,x\n")),
	), Limits{MaxEntry: 22})
	for src, want := range map[string]string{"attachment a.html": "\nSSN 536-22-1234\n", "attachment b.csv": "ssn\t536-22-1234\nmore\tx\n"} {
		if p := partBySource(x, src); p == nil || string(p.Text) != want {
			t.Errorf("%s: %+v, want %q", src, p, want)
		}
	}
	sameUnreadable(t, x, "attachment a.html: larger than 22 bytes", "attachment b.csv: larger than 22 bytes")
}

// MaxRatio: an entry past ratioFloor (1 MiB) that inflates more than
// MaxRatio times its compressed size is not read; the default (100) lets
// ordinary text through.
func TestExtractRatioLimit(t *testing.T) {
	words := []string{"patient", "visit", "note", "follow", "up", "in", "two", "weeks", "dose", "daily"}
	var b strings.Builder
	seed := uint32(1)
	for b.Len() < 3<<19 { // 1.5 MiB
		seed = seed*1664525 + 1013904223
		b.WriteString(words[seed>>28%uint32(len(words))])
		b.WriteByte(' ')
	}
	b.WriteString("SSN 536-22-1234")
	z := makeZip(t, zfile{"notes.txt", []byte(b.String())})
	zr, err := zip.NewReader(bytes.NewReader(z), int64(len(z)))
	if err != nil {
		t.Fatal(err)
	}
	ratio := zr.File[0].UncompressedSize64 / zr.File[0].CompressedSize64
	if ratio < 3 || ratio >= DefaultMaxRatio {
		t.Fatalf("fixture ratio %d, want 3..99", ratio)
	}
	msg := multipartMsg("s", attachment("n.zip", "application/zip", z))
	x := extract(t, msg, Limits{})
	if p := partBySource(x, "archive n.zip/notes.txt"); p == nil || !bytes.HasSuffix(p.Text, []byte("SSN 536-22-1234")) || len(x.Unreadable) != 0 {
		t.Errorf("default ratio: unreadable %q", unreadableList(x))
	}
	lim := int64(ratio - 1)
	x = extract(t, msg, Limits{MaxRatio: lim})
	sameUnreadable(t, x, fmt.Sprintf("archive n.zip/notes.txt: compression ratio %d exceeds limit of %d", ratio, lim))
	if partBySource(x, "archive n.zip/notes.txt") != nil {
		t.Error("an entry over MaxRatio was read")
	}
	// ratio is rounded down: the entry inflates less than ratio+1 times.
	x = extract(t, msg, Limits{MaxRatio: int64(ratio + 1)})
	if p := partBySource(x, "archive n.zip/notes.txt"); p == nil || len(x.Unreadable) != 0 {
		t.Errorf("ratio %d at MaxRatio %d: unreadable %q", ratio, ratio+1, unreadableList(x))
	}
}

// The signature of signed mail is skipped, not reported unreadable and
// not read as text, whether it is binary (S/MIME) or armoured (OpenPGP).
func TestExtractSignaturesSkipped(t *testing.T) {
	der := []byte{0x30, 0x82, 0x01, 0x00, 0x06, 0x09}
	for i := range 200 {
		der = append(der, byte(i))
	}
	pgp := "-----BEGIN PGP SIGNATURE-----\r\n\r\niQEzBAEBCAAdFiEE0000000000000000000000000000000000000000\r\n=AbCd\r\n-----END PGP SIGNATURE-----\r\n"
	x := extract(t, multipartMsg("s",
		mimePart{"Content-Type: text/plain\r\n", []byte("body")},
		attachment("smime.p7s", "application/pkcs7-signature", der),
		attachment("x.p7s", "application/x-pkcs7-signature", der),
		mimePart{"Content-Type: application/pgp-signature; name=\"signature.asc\"\r\n", []byte(pgp)},
	), Limits{})
	if got := string(x.Text()); got != "s\n\nbody\n\n" || len(x.Unreadable) != 0 {
		t.Errorf("text %q, unreadable %q; want the body alone", got, unreadableList(x))
	}
}

// A message reader that tells its size (a bytes.Reader, the milter's
// original) has its single body read into one buffer of that size, not one
// grown by doubling; the text is the same either way.
func TestExtractSizedBodyReadOnce(t *testing.T) {
	msg := singlePart("sized", strings.Repeat("the patient was seen in clinic today\r\n", 50_000))
	extract := func(r io.Reader) (uint64, string) {
		runtime.GC()
		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		x, err := Extract(context.Background(), r, Limits{})
		runtime.ReadMemStats(&after)
		if err != nil {
			t.Fatal(err)
		}
		return after.TotalAlloc - before.TotalAlloc, string(x.Text())
	}
	sized, sizedText := extract(bytes.NewReader(msg))
	plain, plainText := extract(io.MultiReader(bytes.NewReader(msg)))
	if sizedText != plainText || !strings.Contains(sizedText, "seen in clinic") {
		t.Fatalf("the text differs with the size known: %d bytes, want %d", len(sizedText), len(plainText))
	}
	if sized+uint64(len(msg)) > plain {
		t.Errorf("extracting a %d-byte message allocated %d bytes with its size known, %d without; want at least its size less", len(msg), sized, plain)
	}
}
