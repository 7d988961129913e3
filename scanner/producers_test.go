package scanner

// Documents made by real producers, generated here from Debian packages
// (make test-deps installs them): headless Chromium prints HTML to PDF,
// LibreOffice converts one flat OpenDocument text to PDF, DOCX, DOC, ODT
// and RTF and a CSV to XLS and ODS, and qpdf rewrites a PDF encrypted
// (RC4, AES-128, AES-256, with and without a user password) and with
// object and cross-reference streams. Each finding must be found, in the
// right part, under the right detector.

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
)

// tool returns the path of a program the tests need; missing, the test
// fails and says how to get it (never skips).
func tool(t testing.TB, name string) string {
	t.Helper()
	p, err := exec.LookPath(name)
	if err != nil {
		t.Fatalf("%s is not installed: run make test-deps (%v)", name, err)
	}
	return p
}

func run(t testing.TB, timeout time.Duration, name string, args ...string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, tool(t, name), args...)
	cmd.Env = append(os.Environ(), "HOME="+t.TempDir())
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("%s %s: %v\n%s", name, strings.Join(args, " "), err, out)
	}
}

// produced returns what produce makes from the inputs named by key.
// make mutate runs these tests once per mutant: it sets
// POSTSEAL_PRODUCER_CACHE to a directory where each document is kept
// after its first production (what LibreOffice writes does not depend on
// the mutant; LibreOffice and Chromium took 27 of the package's 31 s of
// test time). make test never sets it: every run makes them anew.
func produced(t testing.TB, produce func() []byte, key ...string) []byte {
	t.Helper()
	dir := os.Getenv("POSTSEAL_PRODUCER_CACHE")
	if dir == "" {
		return produce()
	}
	h := sha256.New()
	for _, k := range key {
		fmt.Fprintf(h, "%d:%s", len(k), k)
	}
	file := filepath.Join(dir, hex.EncodeToString(h.Sum(nil)))
	if b, err := os.ReadFile(file); err == nil {
		return b
	}
	b := produce()
	tmp := fmt.Sprintf("%s.%d", file, os.Getpid())
	if err := os.WriteFile(tmp, b, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(tmp, file); err != nil {
		t.Fatal(err)
	}
	return b
}

// chromiumPDF prints html to PDF with headless Chromium.
func chromiumPDF(t testing.TB, html string) []byte {
	t.Helper()
	return produced(t, func() []byte { return chromiumPDFNow(t, html) }, "chromium", html)
}

func chromiumPDFNow(t testing.TB, html string) []byte {
	t.Helper()
	dir := t.TempDir()
	in, out := filepath.Join(dir, "in.html"), filepath.Join(dir, "out.pdf")
	if err := os.WriteFile(in, []byte(html), 0o600); err != nil {
		t.Fatal(err)
	}
	run(t, 2*time.Minute, "chromium", "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
		"--disable-component-update", "--disable-sync", "--no-first-run", "--user-data-dir="+filepath.Join(dir, "profile"),
		"--no-pdf-header-footer", "--print-to-pdf="+out, "file://"+in)
	return readFile(t, out)
}

// loProfile is one LibreOffice profile for the whole test binary: the
// first start builds it (slow), later conversions reuse it.
var loProfile struct {
	once sync.Once
	dir  string
}

// TestMain removes the LibreOffice profile the tests shared.
func TestMain(m *testing.M) {
	code := m.Run()
	if loProfile.dir != "" {
		os.RemoveAll(loProfile.dir)
	}
	os.Exit(code)
}

// soffice converts the file name (with content data) to format.
func soffice(t testing.TB, name string, data []byte, format string) []byte {
	t.Helper()
	return produced(t, func() []byte { return sofficeNow(t, name, data, format) }, "soffice", name, string(data), format)
}

func sofficeNow(t testing.TB, name string, data []byte, format string) []byte {
	t.Helper()
	profile := loProfileDir(t)
	dir := t.TempDir()
	in := filepath.Join(dir, name)
	if err := os.WriteFile(in, data, 0o600); err != nil {
		t.Fatal(err)
	}
	run(t, 3*time.Minute, "soffice", "--headless", "--norestore", "-env:UserInstallation=file://"+profile,
		"--convert-to", format, "--outdir", filepath.Join(dir, "out"), in)
	ext, _, _ := strings.Cut(format, ":")
	return readFile(t, filepath.Join(dir, "out", strings.TrimSuffix(name, filepath.Ext(name))+"."+ext))
}

// loProfileDir is the LibreOffice profile the tests share, made at the
// first call.
func loProfileDir(t testing.TB) string {
	t.Helper()
	loProfile.once.Do(func() {
		d, err := os.MkdirTemp("", "postseal-lo-")
		if err != nil {
			t.Fatal(err)
		}
		loProfile.dir = d
	})
	return loProfile.dir
}

// qpdf rewrites pdf with the given options.
func qpdf(t testing.TB, pdf []byte, opts ...string) []byte {
	t.Helper()
	return produced(t, func() []byte { return qpdfNow(t, pdf, opts...) }, append([]string{"qpdf", string(pdf)}, opts...)...)
}

func qpdfNow(t testing.TB, pdf []byte, opts ...string) []byte {
	t.Helper()
	dir := t.TempDir()
	in, out := filepath.Join(dir, "in.pdf"), filepath.Join(dir, "out.pdf")
	if err := os.WriteFile(in, pdf, 0o600); err != nil {
		t.Fatal(err)
	}
	run(t, time.Minute, "qpdf", append(append(opts, in), out)...)
	return readFile(t, out)
}

func readFile(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(name)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// want is one finding a document must yield: the detector, the last four
// characters of its masked value, and where.
type want struct{ detector, last4, where string }

// checkFindings extracts a message with the attachment and checks that
// every wanted finding is there, and that nothing is unreadable.
func checkFindings(t *testing.T, name, ctype string, data []byte, wants []want) *Extracted {
	t.Helper()
	x := extract(t, multipartMsg("documents", attachment(name, ctype, data)), Limits{})
	fs := x.Scan(Options{})
	for _, w := range wants {
		found := slices.ContainsFunc(fs, func(f Finding) bool {
			return f.Detector == w.detector && strings.HasSuffix(f.Masked, w.last4) && f.Where == w.where
		})
		if !found {
			t.Errorf("%s: no %s …%s in %q", name, w.detector, w.last4, w.where)
		}
	}
	if t.Failed() {
		for _, p := range x.Parts {
			t.Logf("part %s: %q", p.Source, p.Text)
		}
		for _, f := range fs {
			t.Logf("finding %+v", f)
		}
	}
	if len(x.Unreadable) > 0 {
		t.Errorf("%s: unreadable %+v", name, x.Unreadable)
	}
	return x
}

// The values of the test documents: Luhn-valid cards and SSNs the SSA
// rules allow, each placed once so its place can be checked.
const (
	hdrSSN    = "536-22-1234"         // page header
	ftrCard   = "5555 5555 5555 4444" // page footer
	tblSSN    = "412-55-8836"         // table cell
	tblCard   = "4111 1111 1111 1111" // table cell
	splitSSN  = "449-32-7781"         // label on one line, number on the next
	p2Card    = "7476245378965652"    // page 2: an unknown range right after "Card number"
	p2JCB     = "180044232322180"     // page 2: a 15-digit JCB
	spacedSSN = "301-44-5566"         // drawn one character at a time
)

var summaryHTML = `<!DOCTYPE html><html><head><meta charset="utf-8"><title>Discharge summary</title><style>
@page { size: Letter; margin: 1in }
body { font-family: sans-serif }
.top { position: fixed; top: -0.6in } .bottom { position: fixed; bottom: -0.6in }
.digits span { display: inline-block }
td, th { border: 1px solid #000; padding: 4px }
</style></head><body>
<div class="top">Patient SSN ` + hdrSSN + `</div>
<div class="bottom">Card on file ` + ftrCard + `</div>
<h1>Discharge summary</h1>
<table><tr><th>Name</th><th>SSN</th><th>Card</th></tr>
<tr><td>Jane Roe</td><td>` + tblSSN + `</td><td>` + tblCard + `</td></tr></table>
<p>Social Security<br>Number:<br>` + splitSSN + `</p>
<p class="digits">Social Security Number: ` + eachSpan(spacedSSN) + `</p>
<p style="break-before: page">Page two. Card number: ` + p2Card + `</p>
<p>JCB ` + p2JCB + `</p>
</body></html>`

// eachSpan puts every character of s in an inline block of its own, so
// Chromium draws them one by one, each at its own position.
func eachSpan(s string) string {
	var b strings.Builder
	for _, r := range s {
		b.WriteString("<span>" + string(r) + "</span>")
	}
	return b.String()
}

func TestChromiumPDF(t *testing.T) {
	pdf := chromiumPDF(t, summaryHTML)
	if !bytes.Contains(pdf, []byte("/Identity-H")) || !bytes.Contains(pdf, []byte("/ToUnicode")) {
		t.Fatal("Chromium no longer writes Type0 fonts with ToUnicode maps: the test does not test what it says")
	}
	p1, p2 := "attachment summary.pdf, page 1", "attachment summary.pdf, page 2"
	wants := []want{
		// Chromium prints a fixed element once: the header on the
		// first page, the footer on the last.
		{"us_ssn", "1234", p1}, {"us_ssn", "8836", p1}, {"credit_card", "1111", p1},
		{"us_ssn", "7781", p1}, {"us_ssn", "5566", p1},
		{"credit_card", "5652", p2}, {"credit_card", "2180", p2}, {"credit_card", "4444", p2},
	}
	checkFindings(t, "summary.pdf", "application/pdf", pdf, wants)

	// The same file as qpdf rewrites it: encrypted with an empty user
	// password (opens without one, so it is read), with object and
	// cross-reference streams.
	for _, v := range []struct {
		name string
		opts []string
	}{
		{"aes256", []string{"--encrypt", "", "owner", "256", "--"}},
		{"aes128", []string{"--encrypt", "", "owner", "128", "--use-aes=y", "--"}},
		{"rc4-128", []string{"--allow-weak-crypto", "--encrypt", "", "owner", "128", "--use-aes=n", "--"}},
		{"rc4-40", []string{"--allow-weak-crypto", "--encrypt", "", "owner", "40", "--"}},
		{"object-streams", []string{"--object-streams=generate"}},
		{"aes256-object-streams", []string{"--object-streams=generate", "--encrypt", "", "owner", "256", "--"}},
	} {
		t.Run(v.name, func(t *testing.T) {
			out := qpdf(t, pdf, v.opts...)
			if strings.Contains(v.name, "object") && !bytes.Contains(out, []byte("/ObjStm")) {
				t.Fatal("qpdf wrote no object stream")
			}
			checkFindings(t, "summary.pdf", "application/pdf", out, wants)
		})
	}

	// A password to open it: unreadable, so the policy decides.
	locked := qpdf(t, pdf, "--encrypt", "secret", "owner", "256", "--")
	x := extract(t, multipartMsg("locked", attachment("locked.pdf", "application/pdf", locked)), Limits{})
	if !unreadableFor(x, "attachment locked.pdf", "encrypted PDF") || len(x.Parts) > 1 {
		t.Errorf("a PDF that needs a password: %+v, %d parts", x.Unreadable, len(x.Parts))
	}

	// An incremental update replaces page 2: the viewer shows the new
	// page, and so must the scanner.
	updated := appendPage(t, pdf, 1, "Updated: SSN 212-67-4410")
	x = checkFindings(t, "summary.pdf", "application/pdf", updated, []want{{"us_ssn", "4410", p2}, {"us_ssn", "8836", p1}})
	if p := partBySource(x, p2); p == nil || bytes.Contains(p.Text, []byte(p2Card)) {
		t.Errorf("page 2 after the update: %+v", p)
	}
}

// A page that is only a picture (a scan, a fax) prints as a PDF without
// text: unreadable, never a silent pass.
func TestChromiumImageOnlyPDF(t *testing.T) {
	// A 2×2 PNG, scaled up to fill the page.
	const png = "iVBORw0KGgoAAAANSUhEUgAAAAIAAAACCAIAAAD91JpzAAAAFklEQVR4nGNgYPj/n4GBgYGJgYGBAQAf9gL+2pMx3wAAAABJRU5ErkJggg=="
	pdf := chromiumPDF(t, `<!DOCTYPE html><html><body style="margin:0"><img style="width:7in;height:9in" src="data:image/png;base64,`+png+`"></body></html>`)
	x := extract(t, multipartMsg("scan", attachment("fax.pdf", "application/pdf", pdf)), Limits{})
	if !unreadableFor(x, "attachment fax.pdf", "no extractable text") {
		t.Errorf("image-only PDF: parts %+v, unreadable %+v", x.Parts, x.Unreadable)
	}
}

// appendPage appends an incremental update to pdf that replaces page
// index (0-based) with one showing text in Helvetica.
func appendPage(t *testing.T, pdf []byte, index int, text string) []byte {
	t.Helper()
	e := &extractor{ctx: context.Background(), lim: Limits{}.withDefaults(), out: &Extracted{}, work: 1 << 30}
	d, err := openPDF(e, "x", pdf)
	if err != nil {
		t.Fatal(err)
	}
	pages := d.pages()
	if index >= len(pages) || pages[index].ref == (pdfRef{}) {
		t.Fatalf("no page %d", index)
	}
	pg := pages[index]
	node := d.resolveDict(pg.ref)
	parent, _ := node["Parent"].(pdfRef)
	root, _ := d.trailer["Root"].(pdfRef)
	size := 0
	for n := range d.xref {
		size = max(size, n+1)
	}
	tail := pdf[max(0, len(pdf)-64):]
	k := bytes.LastIndex(tail, []byte("startxref"))
	var prev int
	fmt.Sscan(string(tail[k+len("startxref"):]), &prev)

	var b bytes.Buffer
	b.Write(pdf)
	if !bytes.HasSuffix(pdf, []byte("\n")) {
		b.WriteByte('\n')
	}
	content := fmt.Sprintf("BT /Fx 12 Tf 72 700 Td (%s) Tj ET", text)
	offs := map[int]int{}
	offs[size] = b.Len()
	fmt.Fprintf(&b, "%d 0 obj\n<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>\nendobj\n", size)
	offs[size+1] = b.Len()
	fmt.Fprintf(&b, "%d 0 obj\n<< /Length %d >>\nstream\n%s\nendstream\nendobj\n", size+1, len(content), content)
	offs[pg.ref.num] = b.Len()
	fmt.Fprintf(&b, "%d %d obj\n<< /Type /Page /Parent %d %d R /MediaBox [0 0 612 792] /Resources << /Font << /Fx %d 0 R >> >> /Contents %d 0 R >>\nendobj\n",
		pg.ref.num, pg.ref.gen, parent.num, parent.gen, size, size+1)
	xref := b.Len()
	b.WriteString("xref\n")
	fmt.Fprintf(&b, "%d 1\n%010d %05d n \n", pg.ref.num, offs[pg.ref.num], pg.ref.gen)
	fmt.Fprintf(&b, "%d 2\n%010d 00000 n \n%010d 00000 n \n", size, offs[size], offs[size+1])
	fmt.Fprintf(&b, "trailer\n<< /Size %d /Root %d %d R /Prev %d >>\nstartxref\n%d\n%%%%EOF\n", size+2, root.num, root.gen, prev, xref)
	return b.Bytes()
}

// summaryFODT is a flat OpenDocument text: a header and a footer on every
// page, a table, a label and its number on separate lines, a second page.
var summaryFODT = `<?xml version="1.0" encoding="UTF-8"?>
<office:document xmlns:office="urn:oasis:names:tc:opendocument:xmlns:office:1.0"
 xmlns:style="urn:oasis:names:tc:opendocument:xmlns:style:1.0"
 xmlns:text="urn:oasis:names:tc:opendocument:xmlns:text:1.0"
 xmlns:table="urn:oasis:names:tc:opendocument:xmlns:table:1.0"
 xmlns:fo="urn:oasis:names:tc:opendocument:xmlns:xsl-fo-compatible:1.0"
 office:version="1.3" office:mimetype="application/vnd.oasis.opendocument.text">
 <office:automatic-styles>
  <style:style style:name="PB" style:family="paragraph"><style:paragraph-properties fo:break-before="page"/></style:style>
  <style:page-layout style:name="pm1"><style:page-layout-properties fo:page-width="21cm" fo:page-height="29.7cm"
   fo:margin-top="1.5cm" fo:margin-bottom="1.5cm" fo:margin-left="2cm" fo:margin-right="2cm"/>
   <style:header-style/><style:footer-style/></style:page-layout>
 </office:automatic-styles>
 <office:master-styles>
  <style:master-page style:name="Standard" style:page-layout-name="pm1">
   <style:header><text:p>Patient SSN ` + hdrSSN + `</text:p></style:header>
   <style:footer><text:p>Card on file ` + ftrCard + `</text:p></style:footer>
  </style:master-page>
 </office:master-styles>
 <office:body><office:text>
  <text:p>Discharge summary</text:p>
  <table:table table:name="T1"><table:table-column table:number-columns-repeated="3"/>
   <table:table-row><table:table-cell><text:p>Name</text:p></table:table-cell><table:table-cell><text:p>SSN</text:p></table:table-cell><table:table-cell><text:p>Card</text:p></table:table-cell></table:table-row>
   <table:table-row><table:table-cell><text:p>Jane Roe</text:p></table:table-cell><table:table-cell><text:p>` + tblSSN + `</text:p></table:table-cell><table:table-cell><text:p>` + tblCard + `</text:p></table:table-cell></table:table-row>
  </table:table>
  <text:p>Social Security</text:p>
  <text:p>Number:</text:p>
  <text:p>` + splitSSN + `</text:p>
  <text:p text:style-name="PB">Page two. Card number: ` + p2Card + `</text:p>
  <text:p>JCB ` + p2JCB + `</text:p>
 </office:text></office:body>
</office:document>`

// LibreOffice writes the same document as PDF, DOCX, DOC, ODT and RTF.
func TestLibreOfficeDocuments(t *testing.T) {
	all := []want{{"us_ssn", "1234", ""}, {"credit_card", "4444", ""}, {"us_ssn", "8836", ""}, {"credit_card", "1111", ""},
		{"us_ssn", "7781", ""}, {"credit_card", "5652", ""}, {"credit_card", "2180", ""}}
	for _, f := range []struct{ format, ctype string }{
		{"docx", "application/vnd.openxmlformats-officedocument.wordprocessingml.document"},
		{"doc", "application/msword"},
		{"odt", "application/vnd.oasis.opendocument.text"},
		{"rtf", "application/rtf"},
	} {
		t.Run(f.format, func(t *testing.T) {
			data := soffice(t, "summary.fodt", []byte(summaryFODT), f.format)
			name := "summary." + f.format
			ws := slices.Clone(all)
			for i := range ws {
				ws[i].where = "attachment " + name
			}
			x := checkFindings(t, name, f.ctype, data, ws)
			if p := partBySource(x, "attachment "+name); p == nil || string(p.Text) != summaryText[f.format] {
				t.Errorf("text %+v, want %q", p, summaryText[f.format])
			}
		})
	}
	t.Run("pdf", func(t *testing.T) {
		pdf := soffice(t, "summary.fodt", []byte(summaryFODT), "pdf")
		p1, p2 := "attachment summary.pdf, page 1", "attachment summary.pdf, page 2"
		checkFindings(t, "summary.pdf", "application/pdf", pdf, []want{
			{"us_ssn", "1234", p1}, {"credit_card", "4444", p1}, {"us_ssn", "8836", p1}, {"credit_card", "1111", p1}, {"us_ssn", "7781", p1},
			{"us_ssn", "1234", p2}, {"credit_card", "4444", p2}, {"credit_card", "5652", p2}, {"credit_card", "2180", p2},
		})
	})
}

// LibreOffice Calc writes a table as XLS and ODS.
func TestLibreOfficeSpreadsheets(t *testing.T) {
	csv := "Name,SSN,Card\r\nJane Roe," + tblSSN + "," + tblCard + "\r\nJohn Roe,Social Security Number " + splitSSN + ",Card number: " + p2Card + "\r\n"
	for _, f := range []struct{ format, ctype string }{
		{"xls", "application/vnd.ms-excel"},
		{"ods", "application/vnd.oasis.opendocument.spreadsheet"},
	} {
		t.Run(f.format, func(t *testing.T) {
			data := soffice(t, "cards.csv", []byte(csv), f.format)
			where := "attachment cards." + f.format
			checkFindings(t, "cards."+f.format, f.ctype, data, []want{
				{"us_ssn", "8836", where}, {"credit_card", "1111", where}, {"us_ssn", "7781", where}, {"credit_card", "5652", where},
			})
		})
	}
}
