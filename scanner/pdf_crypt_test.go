package scanner

// Encrypted PDFs as qpdf writes them, with every handler qpdf offers (RC4
// 40 and 128 bits, V4 crypt filters with RC4 and AES-128, AES-256 as R5
// and R6, metadata left in clear) and a document whose strings exercise
// AES padding at its edges.

import (
	"strings"
	"testing"
)

// cryptDoc has a page whose content is hex under a filter array, form
// fields whose names and values are strings of 0, 1, 3, 11, 15 and 16
// octets (AES pads them to whole blocks with 16, 15, 13, 5, 1 and 16
// octets), and a string 64 levels deep in the catalogue.
func cryptDoc() []byte {
	hex := ""
	for _, c := range []byte("BT /F1 12 Tf 72 700 Td (Card 4111 1111 1111 1111) Tj ET") {
		hex += string("0123456789ABCDEF"[c>>4]) + string("0123456789ABCDEF"[c&15])
	}
	return buildPDF(
		"<< /Type /Catalog /Pages 2 0 R /AcroForm << /Fields [5 0 R 6 0 R 7 0 R] >> /Nest "+
			strings.Repeat("[", maxPDFNesting-1)+"(deep)"+strings.Repeat("]", maxPDFNesting-1)+" >>",
		"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
		"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Resources << /Font << /F1 << /Type /Font /Subtype /Type1 /BaseFont /Helvetica >> >> >> /Contents 4 0 R >>",
		stream("/Filter [/ASCIIHexDecode]", hex+">"),
		"<< /T (SSN) /FT /Tx /V (536-22-1234) >>",
		"<< /T (Social Security) /FT /Tx /V (4111111111111111) >>",
		"<< /T () /FT /Tx /V (x) >>",
	)
}

var cryptDocParts = map[string]string{
	"attachment t.pdf, page 1":      "Card 4111 1111 1111 1111\n",
	"attachment t.pdf, form fields": "SSN: 536-22-1234\nSocial Security: 4111111111111111\n: x\n",
}

func TestPDFEncryptionHandlers(t *testing.T) {
	plain := cryptDoc()
	checkParts(t, "not encrypted", plain, cryptDocParts)
	for _, v := range []struct {
		name string
		opts []string
	}{
		{"rc4-40", []string{"--allow-weak-crypto", "--encrypt", "", "owner", "40", "--"}},
		{"rc4-128", []string{"--allow-weak-crypto", "--encrypt", "", "owner", "128", "--use-aes=n", "--"}},
		{"rc4-128-V4", []string{"--allow-weak-crypto", "--encrypt", "", "owner", "128", "--use-aes=n", "--force-V4", "--"}},
		{"aes128", []string{"--encrypt", "", "owner", "128", "--use-aes=y", "--"}},
		{"aes128-clear-metadata", []string{"--encrypt", "", "owner", "128", "--use-aes=y", "--cleartext-metadata", "--"}},
		{"aes256-R5", []string{"--allow-weak-crypto", "--encrypt", "", "owner", "256", "--force-R5", "--"}},
		{"aes256", []string{"--encrypt", "", "owner", "256", "--"}},
	} {
		t.Run(v.name, func(t *testing.T) {
			pdf := qpdf(t, plain, append([]string{"--stream-data=preserve"}, v.opts...)...)
			if !strings.Contains(string(pdf), "/Encrypt") || !strings.Contains(string(pdf), "/Filter [ /ASCIIHexDecode ]") {
				t.Fatal("qpdf wrote no encryption or changed the filter array: the test does not test what it says")
			}
			checkParts(t, v.name, pdf, cryptDocParts)
			d := openPDFBytes(t, pdf)
			v := d.root()["Nest"]
			for range maxPDFNesting - 1 {
				a, _ := v.(pdfArray)
				if len(a) != 1 {
					t.Fatalf("nested arrays: %v", v)
				}
				v = a[0]
			}
			if s, _ := v.(pdfString); string(s) != "deep" {
				t.Errorf("string %d levels deep: %q", maxPDFNesting, v)
			}
		})
	}
	// A password to open it: unreadable, whatever the handler.
	for _, bits := range []string{"40", "128"} {
		locked := qpdf(t, plain, "--allow-weak-crypto", "--encrypt", "secret", "owner", bits, "--")
		checkParts(t, "password "+bits, locked, map[string]string{"unreadable attachment t.pdf": "encrypted PDF: encrypted PDF that needs a password"})
	}
}
