package e2e

import (
	"archive/zip"
	"bytes"
	"encoding/base64"
	"fmt"
	"io"
	"mime/quotedprintable"
	"strings"
	"testing"

	"github.com/postseal/postseal/test/mta"
)

// TestScannerPostfix: with the content scanner on, untagged mail through a
// real Postfix is sealed when an attachment carries an SSN, the sender gets
// the notice, and clean mail passes byte for byte.
func TestScannerPostfix(t *testing.T) {
	needRoot(t)
	reinject := freePort(t)
	ps := startPostseal(t, PostsealConfig{ReinjectPort: reinject, Extra: "[scanner]\nenabled = true\n"})
	pf := startPostfix(t, mta.Options{Milter: postfixMilterAddr(ps.MilterPort), ReinjectPort: reinject})

	t.Run("SSNInDOCX", func(t *testing.T) {
		rcpt := "claims@insurer.example.net"
		sent := scannerDOCXMessage(t, "Claim for J. Roe", rcpt)
		mark := postfixMustAccept(t, pf, mta.SMTP, postfixSender, []string{rcpt}, sent)
		d := postfixWait(t, pf, mark, rcpt, 1)[0]
		s := postfixOpenSealed(t, ps, d)
		if s.Subject != "Claim for J. Roe [-Encrypted-]" {
			t.Errorf("delivered subject %q", s.Subject)
		}
		postfixCheckPayload(t, s, sent, "Subject: Claim for J. Roe")
		postfixCheckHidden(t, d, "536-22-1234", "referral.docx")
		if env := postfixShowEnvelope(t, ps, s.ID); env.Trigger != "scanner" {
			t.Errorf("envelope trigger %q, want scanner", env.Trigger)
		}

		notice := postfixWait(t, pf, mark, postfixSender, 1)[0]
		text := scannerNoticeText(t, notice.Data)
		for _, want := range []string{"Subject: Sent encrypted: Claim for J. Roe", "Auto-Submitted: auto-generated", "Social Security number: 1 (***-**-1234)", rcpt} {
			if !strings.Contains(text, want) {
				t.Errorf("notice lacks %q:\n%s", want, text)
			}
		}
		if strings.Contains(text, "536-22") {
			t.Errorf("the notice shows the value:\n%s", text)
		}
		if !strings.Contains(pf.Maillog(), "from=<>") {
			t.Error("the notice was not sent from the null reverse-path")
		}
	})

	t.Run("CleanPassesUntouched", func(t *testing.T) {
		rcpt := "friend@partner.example.net"
		sent := []byte("From: " + postfixSender + "\r\nTo: " + rcpt + "\r\nSubject: Lunch\r\nDate: Mon, 23 Nov 2026 09:00:00 +0000\r\nMessage-ID: <lunch@example.org>\r\n\r\nLunch at 12:30? Order 4111-2222-3333, call 555-201-4477.\r\n")
		mark := postfixMustAccept(t, pf, mta.SMTP, postfixSender, []string{rcpt}, sent)
		postfixAssertUntouched(t, postfixWait(t, pf, mark, rcpt, 1)[0], sent)
	})
}

// scannerDOCXMessage is an untagged message whose only sensitive data is an
// SSN inside a Word attachment, split across two runs as Word does.
func scannerDOCXMessage(t *testing.T, subject, rcpt string) []byte {
	t.Helper()
	var zb bytes.Buffer
	zw := zip.NewWriter(&zb)
	for name, body := range map[string]string{
		"[Content_Types].xml": `<?xml version="1.0"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types"><Override PartName="/word/document.xml" ContentType="application/vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml"/></Types>`,
		"word/document.xml":   `<?xml version="1.0"?><w:document xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main"><w:body><w:p><w:r><w:t>Referral. Patient SSN: 536-22-</w:t></w:r><w:r><w:t>1234</w:t></w:r></w:p></w:body></w:document>`,
	} {
		w, err := zw.Create(name)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := io.WriteString(w, body); err != nil {
			t.Fatal(err)
		}
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	b64 := base64.StdEncoding.EncodeToString(zb.Bytes())
	var lines []string
	for len(b64) > 76 {
		lines, b64 = append(lines, b64[:76]), b64[76:]
	}
	lines = append(lines, b64)
	return []byte(fmt.Sprintf("From: Dr Who <%s>\r\nTo: <%s>\r\nSubject: %s\r\nDate: Mon, 23 Nov 2026 09:00:00 +0000\r\nMessage-ID: <docx@example.org>\r\nMIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=\"b1\"\r\n\r\n--b1\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nPlease find the referral attached.\r\n--b1\r\nContent-Type: application/vnd.openxmlformats-officedocument.wordprocessingml.document; name=\"referral.docx\"\r\nContent-Disposition: attachment; filename=\"referral.docx\"\r\nContent-Transfer-Encoding: base64\r\n\r\n%s\r\n--b1--\r\n",
		postfixSender, rcpt, subject, strings.Join(lines, "\r\n")))
}

// scannerNoticeText is the notice's header and its decoded text.
func scannerNoticeText(t *testing.T, data []byte) string {
	t.Helper()
	head, body := postfixSplit(data)
	text, err := io.ReadAll(quotedprintable.NewReader(bytes.NewReader(body)))
	if err != nil {
		t.Fatal(err)
	}
	return string(head) + "\n" + string(text)
}
