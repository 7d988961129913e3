package scanner

// Encrypted PDFs as qpdf writes them, with every handler qpdf offers (RC4
// 40 and 128 bits, V4 crypt filters with RC4 and AES-128, AES-256 as R5
// and R6, metadata left in clear) and a document whose strings exercise
// AES padding at its edges.

import (
	"bytes"
	"crypto/aes"
	"crypto/cipher"
	"crypto/md5"
	"crypto/rc4"
	"fmt"
	"regexp"
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

// Edits of qpdf's RC4 128-bit (R3) file that keep every offset: /U cut to
// the 16 bytes R3 checks (the rest of its hex digits become spaces), and
// an empty /ID, without which the key cannot be made.
func TestPDFEncryptionEdits(t *testing.T) {
	pdf := qpdf(t, cryptDoc(), "--stream-data=preserve", "--allow-weak-crypto", "--encrypt", "", "owner", "128", "--use-aes=n", "--")
	blank := func(re string, keep int) []byte {
		loc := regexp.MustCompile(re).FindIndex(pdf)
		if loc == nil {
			t.Fatalf("no %s in qpdf's file", re)
		}
		out := bytes.Clone(pdf)
		for i := loc[0] + keep; i < loc[1]-1; i++ {
			out[i] = ' '
		}
		return out
	}
	checkParts(t, "U of 16 bytes", blank(`/U <[0-9a-fA-F]{64}>`, len("/U <")+32), cryptDocParts)
	checkParts(t, "no ID", blank(`/ID \[[^\]]*\]`, len("/ID [")),
		map[string]string{"unreadable attachment t.pdf": "encrypted PDF: encrypted PDF that needs a password"})
}

// handRC4 makes the entries and the object cipher of the Standard
// handler R3 or R4 for the empty user password (key length n bytes): RC4
// or AES-128 for strings and streams, or streams left in clear (Identity).
func handRC4(encDict string, r, n int, strAES, stmAES, stmClear bool) (string, []byte, func(num int, stream bool, b []byte) []byte) {
	o := bytes.Repeat([]byte{0x4F}, 32) // the owner entry: any 32 bytes make a key
	id := []byte("0123456789abcdef")
	h := md5.New()
	h.Write(padding)
	h.Write(o)
	h.Write([]byte{0xFC, 0xFF, 0xFF, 0xFF}) // P = -4
	h.Write(id)
	key := h.Sum(nil)
	for range 50 {
		s := md5.Sum(key[:n])
		key = s[:]
	}
	key = key[:n]
	u := md5.Sum(append(bytes.Clone(padding), id...))
	check := u[:]
	for i := range 20 {
		k := bytes.Clone(key)
		for j := range k {
			k[j] ^= byte(i)
		}
		c, _ := rc4.NewCipher(k)
		c.XORKeyStream(check, check)
	}
	check = append(check, make([]byte, 16)...)
	enc := func(num int, stream bool, b []byte) []byte {
		useAES := strAES
		if stream {
			if stmClear {
				return b
			}
			useAES = stmAES
		}
		s := md5.New()
		s.Write(key)
		s.Write([]byte{byte(num), byte(num >> 8), byte(num >> 16), 0, 0})
		if useAES {
			s.Write([]byte("sAlT"))
		}
		k := s.Sum(nil)[:min(n+5, 16)]
		if !useAES {
			c, _ := rc4.NewCipher(k)
			out := make([]byte, len(b))
			c.XORKeyStream(out, b)
			return out
		}
		return aesCBC(k, num, b)
	}
	return fmt.Sprintf("<< /Filter /Standard %s /R %d /O <%X> /U <%X> /P -4 >>", encDict, r, o, check), id, enc
}

// aesCBC encrypts b as PDF strings and streams are: a 16-byte IV (fixed
// here, from num), then b padded to whole blocks.
func aesCBC(key []byte, num int, b []byte) []byte {
	p := 16 - len(b)%16
	b = append(bytes.Clone(b), bytes.Repeat([]byte{byte(p)}, p)...)
	blk, _ := aes.NewCipher(key)
	out := append(bytes.Repeat([]byte{byte(num)}, 16), make([]byte, len(b))...)
	cipher.NewCBCEncrypter(blk, out[:16]).CryptBlocks(out[16:], b)
	return out
}

// handR6 makes the entries and the object cipher of the AES-256 handler
// (R6) for the empty user password, with the given validation salt.
func handR6(salt []byte) (string, []byte, func(num int, stream bool, b []byte) []byte) {
	fileKey := []byte("0123456789abcdefghijklmnopqrstuv")
	keySalt := []byte("keysalt!")
	u := append(append(hash2B(nil, salt, nil), salt...), keySalt...)
	blk, _ := aes.NewCipher(hash2B(nil, keySalt, nil))
	ue := make([]byte, 32)
	cipher.NewCBCEncrypter(blk, make([]byte, 16)).CryptBlocks(ue, fileKey)
	fk, _ := aes.NewCipher(fileKey)
	perms := make([]byte, 16)
	fk.Encrypt(perms, []byte("\xFC\xFF\xFF\xFF\xFF\xFF\xFF\xFFTadb0000"))
	dict := fmt.Sprintf("<< /Filter /Standard /V 5 /R 6 /Length 256 /CF << /StdCF << /CFM /AESV3 /AuthEvent /DocOpen /Length 32 >> >> "+
		"/StmF /StdCF /StrF /StdCF /O <%X> /OE <%X> /U <%X> /UE <%X> /P -4 /Perms <%X> >>",
		bytes.Repeat([]byte{0x4F}, 48), bytes.Repeat([]byte{0x4F}, 32), u, ue, perms)
	return dict, []byte("0123456789abcdef"), func(num int, _ bool, b []byte) []byte { return aesCBC(fileKey, num, b) }
}

// handEncrypted writes a one-page PDF with a form field, encrypted with
// the dictionary encDict and the object cipher enc. qpdf checks each file:
// it must decrypt it to the same text.
func handEncrypted(t *testing.T, encDict string, id []byte, enc func(num int, stream bool, b []byte) []byte) []byte {
	t.Helper()
	content := enc(4, true, []byte("BT /F1 12 Tf 72 700 Td (SSN 536-22-1234) Tj ET"))
	var b bytes.Buffer
	b.WriteString("%PDF-1.7\n")
	var offs []int
	obj := func(body string) {
		offs = append(offs, b.Len())
		fmt.Fprintf(&b, "%d 0 obj\n%s\nendobj\n", len(offs), body)
	}
	obj("<< /Type /Catalog /Pages 2 0 R /AcroForm << /Fields [6 0 R] >> >>")
	obj("<< /Type /Pages /Kids [3 0 R] /Count 1 >>")
	obj("<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Resources << /Font << /F1 5 0 R >> >> /Contents 4 0 R >>")
	obj(fmt.Sprintf("<< /Length %d >>\nstream\n%s\nendstream", len(content), content))
	obj("<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>")
	obj(fmt.Sprintf("<< /T <%X> /FT /Tx /V <%X> >>", enc(6, false, []byte("card")), enc(6, false, []byte("4111 1111 1111 1111"))))
	obj(encDict)
	x := b.Len()
	fmt.Fprintf(&b, "xref\n0 %d\n0000000000 65535 f \n", len(offs)+1)
	for _, o := range offs {
		fmt.Fprintf(&b, "%010d 00000 n \n", o)
	}
	fmt.Fprintf(&b, "trailer\n<< /Size %d /Root 1 0 R /Encrypt 7 0 R /ID [<%X><%X>] >>\nstartxref\n%d\n%%%%EOF\n", len(offs)+1, id, id, x)
	pdf := b.Bytes()
	plain := qpdf(t, pdf, "--decrypt", "--stream-data=uncompress")
	if !bytes.Contains(plain, []byte("(SSN 536-22-1234) Tj")) || !bytes.Contains(plain, []byte("/V (4111 1111 1111 1111)")) {
		t.Fatalf("qpdf does not read the hand-encrypted file as it was meant:\n%s", plain)
	}
	return pdf
}

// Encryption qpdf does not write: RC4 with R3 and 40- or 96-bit keys; V4
// with streams in clear (/StmF /Identity) and strings in AES-128; R6 whose
// hash (ISO 32000-2 algorithm 2.B) ends at its first possible round, 64,
// with the last byte at its bound (32): its validation salt was searched
// for this.
func TestPDFEncryptionHandBuilt(t *testing.T) {
	want := map[string]string{"attachment t.pdf, page 1": "SSN 536-22-1234\n", "attachment t.pdf, form fields": "card: 4111 1111 1111 1111\n"}
	for _, bits := range []int{40, 96} {
		dict, id, enc := handRC4(fmt.Sprintf("/V 2 /Length %d", bits), 3, bits/8, false, false, false)
		pdf := handEncrypted(t, dict, id, enc)
		checkParts(t, fmt.Sprintf("R3 RC4 %d bits", bits), pdf, want)
	}
	dict, id, enc := handRC4("/V 4 /Length 128 /CF << /StdCF << /CFM /AESV2 /Length 16 >> >> /StmF /Identity /StrF /StdCF", 4, 16, true, false, true)
	pdf := handEncrypted(t, dict, id, enc)
	checkParts(t, "V4 streams in clear", pdf, want)
	dict, id, enc = handR6([]byte{0, 0, 0, 0, 0, 0, 0, 0x1e})
	pdf = handEncrypted(t, dict, id, enc)
	checkParts(t, "R6, hash ending at round 64", pdf, want)
}
