package scanner

// Each kind of content read end to end from a message (extract_kind.go and
// the readers it hands them to): the formats read, the reasons given when a
// part cannot be read, and content of no listed type. The shared fixtures
// (makeZip, makeDOCX, makePDF, multipartMsg, …) are built in extract_test.go,
// beside the tests of the limits.

import (
	"archive/zip"
	"bytes"
	"compress/gzip"
	"hash/crc32"
	"strings"
	"testing"
)

func TestExtractFormats(t *testing.T) {
	nested := makeZip(t, zfile{"docs/", nil}, zfile{"docs/inner.docx", makeDOCX(t)}, zfile{"image.png", []byte("\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR")})
	msg := multipartMsg("=?utf-8?q?Bericht_f=C3=BCr_SSN?=",
		mimePart{
			header: "Content-Type: text/plain; charset=iso-8859-1\r\nContent-Transfer-Encoding: quoted-printable\r\n",
			body:   []byte("Gr=FC=DFe, SSN =\r\n536-22-1234 f=FCr den Patienten.\r\n"),
		},
		mimePart{
			header: "Content-Type: text/html; charset=utf-8\r\n",
			body: []byte(`<html><head><style>p{color:red}</style><script>var x="999-99-9999";</script></head>` +
				`<body><p>SSN:&nbsp;<b>536</b>-<i>22</i>-<span style="x">1234</span></p><!-- hidden --><div>next&amp;line</div></body></html>`),
		},
		attachment("report.docx", "application/vnd.openxmlformats-officedocument.wordprocessingml.document", makeDOCX(t)),
		attachment("cards.xlsx", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", makeXLSX(t)),
		attachment("list.csv", "text/csv", []byte("name,ssn\r\nJane,536-22-1234\r\n")),
		attachment("bundle.zip", "application/zip", nested),
		attachment("scan.pdf", "application/pdf", makePDF(t, false)),
		attachment("photo.jpg", "image/jpeg", []byte("\xFF\xD8\xFF not scanned")),
	)
	x := extract(t, msg, Limits{})
	for _, p := range x.Parts {
		t.Logf("%s: %q", p.Source, p.Text)
	}
	if len(x.Unreadable) != 0 || x.Truncated {
		t.Errorf("unexpected unreadable/truncated: %+v %v", x.Unreadable, x.Truncated)
	}
	cases := []struct {
		src, want, detector string
	}{
		{"header Subject", "Bericht für SSN", ""},
		{"body text/plain", "Grüße, SSN 536-22-1234 für", "us_ssn"},
		{"body text/html", "SSN: 536-22-1234", "us_ssn"},
		{"attachment report.docx", "Patient SSN: 536-22-1234\n", "us_ssn"},
		{"attachment cards.xlsx", testCard, "credit_card"},
		{"attachment cards.xlsx", "Card number\t" + testCard2, "credit_card"},
		{"attachment list.csv", "Jane\t536-22-1234", "us_ssn"},
		{"archive bundle.zip/docs/inner.docx", "Patient SSN: 536-22-1234", "us_ssn"},
		{"attachment scan.pdf, page 1", "Patient SSN: 536-22-1234", "us_ssn"},
		{"attachment scan.pdf, page 1", "Card 4111 1111 1111 1111", "credit_card"},
	}
	for _, c := range cases {
		p := partBySource(x, c.src)
		if p == nil {
			t.Errorf("no part %q", c.src)
			continue
		}
		if !bytes.Contains(p.Text, []byte(c.want)) {
			t.Errorf("%s: %q does not contain %q", c.src, p.Text, c.want)
		}
		if c.detector == "" {
			continue
		}
		found := false
		for _, f := range Scan(p.Text, Options{}) {
			found = found || f.Detector == c.detector
		}
		if !found {
			t.Errorf("%s: Scan found no %s in %q", c.src, c.detector, p.Text)
		}
	}
	// Details of the individual extractors.
	html := partBySource(x, "body text/html")
	if html != nil && (bytes.Contains(html.Text, []byte("999-99")) || bytes.Contains(html.Text, []byte("color")) || bytes.Contains(html.Text, []byte("hidden"))) {
		t.Errorf("script/style/comment leaked: %q", html.Text)
	}
	if docx := partBySource(x, "attachment report.docx"); docx != nil {
		for _, w := range []string{"Second paragraph & more", "Confidential header", "Footer text"} {
			if !bytes.Contains(docx.Text, []byte(w)) {
				t.Errorf("docx lacks %q: %q", w, docx.Text)
			}
		}
	}
	if xlsx := partBySource(x, "attachment cards.xlsx"); xlsx != nil {
		if !bytes.Contains(xlsx.Text, []byte("Rich text")) || !bytes.Contains(xlsx.Text, []byte("536221234")) {
			t.Errorf("xlsx: %q", xlsx.Text)
		}
		if bytes.Contains(xlsx.Text, []byte("0\t1")) {
			t.Errorf("xlsx leaks shared-string indexes: %q", xlsx.Text)
		}
	}
	if pdf := partBySource(x, "attachment scan.pdf, page 1"); pdf != nil && !bytes.Contains(pdf.Text, []byte("Esc(aped) A")) {
		t.Errorf("pdf escapes: %q", pdf.Text)
	}
	if partBySource(x, "attachment photo.jpg") != nil {
		t.Error("image extracted as text")
	}
	// The joined text is what the caller scans.
	got := map[string]int{}
	for _, f := range Scan(x.Text(), Options{}) {
		got[f.Detector]++
	}
	if got["us_ssn"] < 6 || got["credit_card"] < 3 {
		t.Errorf("Scan on joined text: %v", got)
	}
}

// encryptedZip writes a ZIP whose entry has the "encrypted" flag set by hand.
func encryptedZip(t testing.TB) []byte {
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	data := []byte("SSN 536-22-1234")
	w, err := zw.CreateRaw(&zip.FileHeader{
		Name: "secret.txt", Method: zip.Store, Flags: 0x1,
		CRC32: crc32.ChecksumIEEE(data), CompressedSize64: uint64(len(data)), UncompressedSize64: uint64(len(data)),
	})
	if err != nil {
		t.Fatal(err)
	}
	w.Write(data)
	w2, _ := zw.Create("open.txt")
	w2.Write([]byte("nothing here"))
	zw.Close()
	return buf.Bytes()
}

func TestExtractUnreadable(t *testing.T) {
	corrupt := makeDOCX(t)
	corrupt = corrupt[:len(corrupt)/2] // no central directory
	msg := multipartMsg("x",
		attachment("locked.zip", "application/zip", encryptedZip(t)),
		attachment("locked.pdf", "application/pdf", makePDF(t, true)),
		attachment("broken.docx", "application/octet-stream", corrupt),
		attachment("garbage.xlsx", "application/octet-stream", []byte("not a zip at all")),
		attachment("ole.docx", "application/octet-stream", []byte("\xD0\xCF\x11\xE0\xA1\xB1\x1A\xE1rest")),
		attachment("image.pdf", "application/pdf", []byte("%PDF-1.4\n1 0 obj << /Type /XObject /Subtype /Image /Length 3 >>\nstream\n\x00\x01\x02\nendstream\nendobj\n")),
		mimePart{header: "Content-Type: text/plain\r\nContent-Transfer-Encoding: base64\r\n", body: []byte("U1NOIDUzNi0yMi0xMjM0!!!not base64")},
	)
	x := extract(t, msg, Limits{})
	for _, u := range x.Unreadable {
		t.Logf("unreadable %s: %s", u.Source, u.Reason)
	}
	for _, c := range [][2]string{
		{"archive locked.zip/secret.txt", "encrypted zip entry"},
		{"attachment locked.pdf", "encrypted PDF"},
		{"attachment broken.docx", "corrupt DOCX"},
		{"attachment garbage.xlsx", "corrupt XLSX"},
		{"attachment ole.docx", "corrupt OLE compound file"},
		{"attachment image.pdf", "no extractable text"},
		{"body text/plain", "corrupt encoding"},
	} {
		if !unreadableFor(x, c[0], c[1]) {
			t.Errorf("missing unreadable %q: %q", c[0], c[1])
		}
	}
	if p := partBySource(x, "archive locked.zip/open.txt"); p == nil {
		t.Error("the readable entry next to the encrypted one was skipped")
	}
	if p := partBySource(x, "body text/plain"); p == nil || !bytes.HasPrefix(p.Text, []byte("SSN 536-22-1234")) {
		t.Errorf("decoded prefix of a damaged base64 part lost: %+v", p)
	}
	if x.Truncated {
		t.Error("Truncated without a limit")
	}
}

// Parts of types the extractor has no reader for are read as text when
// they are text, reported unreadable when they are not, and skipped only
// when they are media: nothing is silently left out.
func TestExtractUnlistedTypes(t *testing.T) {
	const ssn = "SSN 536-22-1234"
	utf16le := []byte{0xFF, 0xFE}
	for _, r := range ssn {
		utf16le = append(utf16le, byte(r), 0)
	}
	var gz bytes.Buffer
	zw := gzip.NewWriter(&gz)
	zw.Write([]byte(ssn))
	zw.Close()
	png := append([]byte("\x89PNG\r\n\x1a\n"), []byte(ssn)...)
	for _, c := range []struct {
		name       string
		part       mimePart
		text       bool // the SSN must be extracted
		unreadable bool // else: reported unreadable (or, if neither, skipped)
	}{
		{"json body", mimePart{"Content-Type: application/json\r\n", []byte(`{"ssn": "536-22-1234"}`)}, true, false},
		{"xml attachment", attachment("claim.xml", "application/xml", []byte("<ssn>536-22-1234</ssn>")), true, false},
		{"rtf", attachment("letter.rtf", "application/rtf", []byte(`{\rtf1\ansi SSN 536-22-1234\par}`)), true, false},
		{"utf-16 text", attachment("notes.dat", "application/octet-stream", utf16le), true, false},
		{"gzip", attachment("data.gz", "application/gzip", gz.Bytes()), false, true},
		{"unknown binary", attachment("blob.bin", "application/x-whatever", []byte{0, 1, 2, 3, 0xff, 0xfe, 0, 0, 7, 8}), false, true},
		{"misspelt transfer encoding", mimePart{"Content-Type: text/plain\r\nContent-Transfer-Encoding: base-64\r\n", b64([]byte(ssn))}, false, true},
		{"picture", attachment("scan.png", "image/png", png), false, false},
		{"picture by name", attachment("scan.png", "application/octet-stream", png), false, false},
		{"signature", attachment("smime.p7s", "application/pkcs7-signature", []byte{0x30, 0x82, 0, 1}), false, false},
		{"empty file", attachment("empty.dat", "application/octet-stream", nil), false, false},
		{"text labelled as a picture", attachment("ssn.jpg", "image/jpeg", []byte(ssn)), true, false},
		{"svg text", attachment("chart.svg", "image/svg+xml", []byte(`<svg xmlns="http://www.w3.org/2000/svg"><text>SSN 536-22-1234</text></svg>`)), true, false},
	} {
		t.Run(c.name, func(t *testing.T) {
			x := extract(t, multipartMsg("x", c.part), Limits{})
			got := string(x.Text())
			if has := strings.Contains(got, "536-22-1234"); has != c.text {
				t.Errorf("SSN extracted: %v, want %v; text %q", has, c.text, got)
			}
			if un := len(x.Unreadable) > 0; un != c.unreadable {
				t.Errorf("unreadable: %v, want %v", x.Unreadable, c.unreadable)
			}
		})
	}
	// An office package read as a plain ZIP (PowerPoint): its XML is read,
	// its binary parts are not documents. Archivers' junk is skipped.
	pptx := makeZip(t, zfile{"[Content_Types].xml", []byte("<Types/>")}, zfile{"ppt/slides/slide1.xml", []byte("<p:sld><a:t>SSN 536-22-1234</a:t></p:sld>")},
		zfile{"ppt/printerSettings/printerSettings1.bin", []byte{0, 1, 2, 0xff}}, zfile{"__MACOSX/._x", []byte{0, 5, 0x16, 7}}, zfile{".DS_Store", []byte{0, 0, 0, 1, 'B', 'u', 'd', '1', 0}})
	x := extract(t, multipartMsg("x", attachment("deck.pptx", "application/vnd.openxmlformats-officedocument.presentationml.presentation", pptx)), Limits{})
	if !strings.Contains(string(x.Text()), "536-22-1234") || len(x.Unreadable) != 0 {
		t.Errorf("pptx: text %q, unreadable %v; want the slide read and nothing unreadable", x.Text(), x.Unreadable)
	}
	nested := makeZip(t, zfile{"a/claim.json", []byte(`{"ssn": "536-22-1234"}`)}, zfile{"a/blob.bin", []byte{0, 1, 2, 0xff}}, zfile{"a/photo.jpg", []byte{0xff, 0xd8, 0xff, 0xe0, 0, 0x10, 'J', 'F', 'I', 'F', 0}})
	x = extract(t, multipartMsg("x", attachment("a.zip", "application/zip", nested)), Limits{})
	if !strings.Contains(string(x.Text()), "536-22-1234") || len(x.Unreadable) != 1 || !strings.Contains(x.Unreadable[0].Source, "blob.bin") {
		t.Errorf("zip entries: text %q, unreadable %v; want the JSON read, the blob unreadable, the photo skipped", x.Text(), x.Unreadable)
	}
}
