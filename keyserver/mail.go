package keyserver

import (
	"bytes"
	"fmt"
	"html/template"
	"strings"
	"time"

	"github.com/emersion/go-message"
	"github.com/emersion/go-message/mail"
)

// The key service writes three kinds of mail: the activation link, the
// password-reset link, and a note to an address that registers again while
// it already has an account (so the page can answer the same in every case,
// yet the owner learns what happened). Each is multipart/alternative with a
// plain-text and an HTML part, CRLF line ends, queued through the Mailer.
//
// The link stands alone on its own line of the text part. When the text is
// ASCII it goes as 7bit (no quoted-printable soft breaks inside the URL), so
// a test harness or a plain-text reader finds it whole.

type mailContent struct {
	Subject string
	Text    string // plain text, LF line ends
	Link    string // the action link, also shown in the HTML part
	Action  string // the link's label in the HTML part
}

var mailHTML = template.Must(template.New("mail").Parse(`<!DOCTYPE html>
<html><head><meta charset="utf-8"><title>{{.Subject}}</title></head>
<body style="font-family:sans-serif;max-width:40em">
{{range .Paras}}<p>{{.}}</p>
{{end}}{{if .Link}}<p><a href="{{.Link}}">{{.Action}}</a></p>
<p style="font-size:small">{{.Link}}</p>
{{end}}</body></html>
`))

// buildMail returns the RFC 5322 bytes of one message.
func buildMail(org, from, to string, c mailContent, now time.Time) ([]byte, error) {
	var h mail.Header
	h.SetAddressList("From", []*mail.Address{{Name: org, Address: from}})
	h.SetAddressList("To", []*mail.Address{{Address: to}})
	h.SetSubject(c.Subject)
	h.SetDate(now)
	if err := h.GenerateMessageID(); err != nil {
		return nil, err
	}
	// Auto-Submitted keeps vacation responders from answering (RFC 3834).
	h.Set("Auto-Submitted", "auto-generated")
	h.SetContentType("multipart/alternative", nil)

	var buf bytes.Buffer
	w, err := message.CreateWriter(&buf, h.Header)
	if err != nil {
		return nil, err
	}
	text := strings.ReplaceAll(strings.TrimRight(c.Text, "\n")+"\n", "\n", "\r\n")
	var th message.Header
	th.SetContentType("text/plain", map[string]string{"charset": "utf-8"})
	if isASCII(text) {
		th.Set("Content-Transfer-Encoding", "7bit")
	} else {
		th.Set("Content-Transfer-Encoding", "quoted-printable")
	}
	if err := writePart(w, th, text); err != nil {
		return nil, err
	}
	var html bytes.Buffer
	paras := strings.Split(strings.TrimSpace(strings.ReplaceAll(c.Text, c.Link, "")), "\n\n")
	if err := mailHTML.Execute(&html, map[string]any{"Subject": c.Subject, "Paras": paras, "Link": c.Link, "Action": c.Action}); err != nil {
		return nil, err
	}
	var hh message.Header
	hh.SetContentType("text/html", map[string]string{"charset": "utf-8"})
	hh.Set("Content-Transfer-Encoding", "quoted-printable")
	if err := writePart(w, hh, html.String()); err != nil {
		return nil, err
	}
	if err := w.Close(); err != nil {
		return nil, fmt.Errorf("build mail: %w", err)
	}
	return buf.Bytes(), nil
}

func writePart(w *message.Writer, h message.Header, body string) error {
	pw, err := w.CreatePart(h)
	if err != nil {
		return fmt.Errorf("build mail: %w", err)
	}
	if _, err := pw.Write([]byte(body)); err != nil {
		return fmt.Errorf("build mail: %w", err)
	}
	return pw.Close()
}

func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= 0x80 {
			return false
		}
	}
	return true
}

func activationMail(org, name, addr, link string) mailContent {
	return mailContent{
		Subject: "Confirm your address for secure messages from " + org,
		Text: greeting(name) + "\n\n" +
			"Your address " + addr + " was registered to open secure messages from " + org + ". " +
			"To confirm it, open this link and press \"Activate\":\n\n" +
			link + "\n\n" +
			"The link works once, within 7 days. If you did not register, ignore this e-mail: " +
			"nothing happens without the confirmation.\n",
		Link:   link,
		Action: "Confirm my address",
	}
}

func resetMail(org, name, link string) mailContent {
	return mailContent{
		Subject: "Reset your password for secure messages from " + org,
		Text: greeting(name) + "\n\n" +
			"Someone asked to reset the password you use to open secure messages from " + org + ". " +
			"To choose a new password, open this link:\n\n" +
			link + "\n\n" +
			"The link works once, within one hour. If you did not ask, ignore this e-mail: " +
			"your password stays as it is.\n",
		Link:   link,
		Action: "Choose a new password",
	}
}

func alreadyRegisteredMail(org, name, addr, forgotLink string) mailContent {
	return mailContent{
		Subject: "You are already registered for secure messages from " + org,
		Text: greeting(name) + "\n\n" +
			"Someone tried to register " + addr + " to open secure messages from " + org + ", " +
			"but this address already has an active registration. You can open your secure messages " +
			"with the password you chose. If you forgot it, choose a new one here:\n\n" +
			forgotLink + "\n\n" +
			"If this was not you, you need not do anything.\n",
		Link:   forgotLink,
		Action: "Reset my password",
	}
}

func greeting(name string) string {
	if strings.TrimSpace(name) == "" {
		return "Hello,"
	}
	return "Hello " + name + ","
}
