package envelope

import (
	"bytes"
	"crypto/rand"
	"encoding/base64"
	"fmt"
	"io"
	mathrand "math/rand/v2"
	"mime"
	"strings"
	"testing"
	"time"

	"github.com/ProtonMail/go-crypto/openpgp"
	"github.com/ProtonMail/go-crypto/openpgp/armor"
	"github.com/ProtonMail/go-crypto/openpgp/packet"
	"github.com/emersion/go-message/mail"
)

const (
	secretFileName = "quarterly-results-CONFIDENTIAL.pdf"
	secretSentence = "The merger with Initech closes on Friday at noon."
)

var testNow = time.Date(2026, 11, 23, 15, 39, 59, 0, time.UTC)

func testOptions() Options {
	return Options{
		Profile:   ProfileRFC4880,
		OrgName:   "Example Health",
		HelpURL:   "https://example.org/help/secure-mail",
		Support:   "Service desk +1 555 0100, help@example.org",
		PublicURL: "https://keys.example.org",
	}
}

func testRequest(original []byte) Request {
	return Request{
		ID:       NewID(),
		Original: bytes.NewReader(original),
		Display: Display{
			From:    "Alice Doctor <alice@example.org>",
			To:      "bob@partner.example",
			Subject: "Palliative care consult [-Encrypted-]",
			Date:    "Mon, 23 Nov 2026 15:39:59 +0000",
		},
		Recipients: []string{"bob@partner.example"},
		Now:        testNow,
	}
}

// textMessage is a small plain message carrying the secret sentence.
func textMessage() []byte {
	return []byte("From: Alice Doctor <alice@example.org>\r\n" +
		"To: bob@partner.example\r\n" +
		"Subject: *secure* Palliative care consult\r\n" +
		"Date: Mon, 23 Nov 2026 15:39:59 +0000\r\n" +
		"Message-ID: <1@example.org>\r\n" +
		"\r\n" +
		secretSentence + "\r\n")
}

// mailText is a plain text message of exactly n bytes: words from a small
// clinical vocabulary in lines of about 75 characters (it deflates to a
// quarter, as the bench's mail text does), the same for the same n.
func mailText(n int) []byte {
	words := strings.Fields("the patient was seen in clinic today for follow up of chronic kidney disease stage three " +
		"blood pressure well controlled on current medication plan continue and review in six weeks results " +
		"creatinine potassium sodium haemoglobin within normal limits discussed with family who agree")
	r := mathrand.New(mathrand.NewPCG(uint64(n), 1))
	out := make([]byte, 0, n+100)
	out = append(out, "From: Radiology <radiology@example.org>\r\nSubject: *secure* Imaging report\r\n\r\n"...)
	for len(out) < n {
		var line []string
		for width := 0; width < 70; width += len(line[len(line)-1]) + 1 {
			line = append(line, words[r.IntN(len(words))])
		}
		out = append(append(out, strings.Join(line, " ")...), '\r', '\n')
	}
	return out[:n]
}

// attachmentMessage is a multipart message with a binary attachment of n
// random bytes (base64, as mail carries it).
func attachmentMessage(t testing.TB, n int) []byte {
	t.Helper()
	bin := make([]byte, n)
	if _, err := rand.Read(bin); err != nil {
		t.Fatal(err)
	}
	var b bytes.Buffer
	b.WriteString("From: Alice Doctor <alice@example.org>\r\nTo: bob@partner.example\r\n" +
		"Subject: *secure* results\r\nMIME-Version: 1.0\r\n" +
		"Content-Type: multipart/mixed; boundary=\"XYZ\"\r\n\r\n" +
		"--XYZ\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n")
	for b.Len() < n/4 {
		b.WriteString(secretSentence + " Lorem ipsum dolor sit amet, consectetur adipiscing elit.\r\n")
	}
	b.WriteString("--XYZ\r\nContent-Type: application/pdf; name=\"" + secretFileName + "\"\r\n" +
		"Content-Disposition: attachment; filename=\"" + secretFileName + "\"\r\n" +
		"Content-Transfer-Encoding: base64\r\n\r\n")
	enc := base64.StdEncoding.EncodeToString(bin)
	for len(enc) > 76 {
		b.WriteString(enc[:76] + "\r\n")
		enc = enc[76:]
	}
	b.WriteString(enc + "\r\n--XYZ--\r\n")
	return b.Bytes()
}

// decrypt opens an armoured payload with a passphrase (nil: keyring only).
func decrypt(armoured string, passphrase []byte, keyring openpgp.EntityList) ([]byte, *openpgp.MessageDetails, error) {
	block, err := armor.Decode(strings.NewReader(armoured))
	if err != nil {
		return nil, nil, fmt.Errorf("armor: %w", err)
	}
	tried := false
	prompt := func(keys []openpgp.Key, symmetric bool) ([]byte, error) {
		if passphrase == nil || tried {
			return nil, fmt.Errorf("no (more) passphrases")
		}
		tried = true
		return passphrase, nil
	}
	md, err := openpgp.ReadMessage(block.Body, keyring, prompt, &packet.Config{})
	if err != nil {
		return nil, nil, err
	}
	out, err := io.ReadAll(md.UnverifiedBody)
	if err != nil {
		return nil, nil, err
	}
	return out, md, nil
}

// wholeMessage is the sealed header plus body, as a reader would get it.
func wholeMessage(s *Sealed) []byte {
	var b bytes.Buffer
	for _, f := range s.Header {
		b.WriteString(f.Name + ": " + f.Value + "\r\n")
	}
	b.WriteString("\r\n")
	b.Write(s.Body)
	return b.Bytes()
}

// parsedNotification is the notification taken apart with go-message.
type parsedNotification struct {
	text, html   string
	attName      string
	attType      string
	attParams    map[string]string
	attCTE       string
	attDisposion string
	page         []byte
	logo         []byte // an inline image part, with its Content-ID
	logoType     string
	logoCID      string
}

func parseNotification(t testing.TB, s *Sealed) parsedNotification {
	t.Helper()
	mr, err := mail.CreateReader(bytes.NewReader(wholeMessage(s)))
	if err != nil {
		t.Fatalf("mail.CreateReader: %v", err)
	}
	if ct, _, _ := mr.Header.ContentType(); ct != "multipart/mixed" {
		t.Fatalf("top-level type %q, want multipart/mixed", ct)
	}
	var p parsedNotification
	for {
		part, err := mr.NextPart()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatalf("NextPart: %v", err)
		}
		body, err := io.ReadAll(part.Body)
		if err != nil {
			t.Fatalf("read part: %v", err)
		}
		switch h := part.Header.(type) {
		case *mail.InlineHeader:
			ct, _, _ := h.ContentType()
			switch ct {
			case "text/plain":
				p.text = string(body)
			case "text/html":
				p.html = string(body)
			case "image/png", "image/jpeg", "image/gif":
				p.logo, p.logoType, p.logoCID = body, ct, h.Get("Content-Id")
			default:
				t.Errorf("unexpected inline part %q", ct)
			}
		case *mail.AttachmentHeader:
			if p.page != nil {
				t.Fatal("more than one attachment")
			}
			p.attName, _ = h.Filename()
			p.attType, p.attParams, _ = h.ContentType()
			p.attCTE = h.Get("Content-Transfer-Encoding")
			p.attDisposion, _, _ = mime.ParseMediaType(h.Get("Content-Disposition"))
			p.page = body
		}
	}
	return p
}

// payloadOf cuts the armoured payload out of a securedoc page.
func payloadOf(t testing.TB, page []byte) string {
	t.Helper()
	s := string(page)
	i := strings.Index(s, `<textarea id="payload"`)
	if i < 0 {
		t.Fatal("no payload textarea in page")
	}
	s = s[i:]
	s = s[strings.Index(s, ">")+1:]
	j := strings.Index(s, "</textarea>")
	if j < 0 {
		t.Fatal("payload textarea not closed")
	}
	return strings.TrimLeft(s[:j], "\r\n")
}

// sealOK seals or fails the test.
func sealOK(t testing.TB, req Request, opt Options) *Sealed {
	t.Helper()
	s, err := Seal(req, opt)
	if err != nil {
		t.Fatalf("Seal: %v", err)
	}
	return s
}

// writePieces writes in to w in pieces of size bytes, then closes w.
func writePieces(t *testing.T, w io.WriteCloser, in []byte, size int) {
	t.Helper()
	for rest := in; len(rest) > 0; {
		k := min(len(rest), size)
		if _, err := w.Write(rest[:k]); err != nil {
			t.Fatal(err)
		}
		rest = rest[k:]
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
}
