package mailer

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"maps"
	"mime/multipart"
	"mime/quotedprintable"
	"net/mail"
	"net/textproto"
	"slices"
	"strings"
	"time"

	"github.com/postseal/postseal/envelope"
)

// Message is a mail postseal writes itself (activation, password reset,
// read receipt, notice): plain text, and HTML as its alternative when set.
type Message struct {
	From    mail.Address // Name may be any Unicode; it is RFC 2047-encoded
	To      []mail.Address
	Subject string // decoded; encoded as needed
	Text    string // LF or CRLF line ends
	HTML    string // optional
	Date    time.Time
	// Headers are added as given (e.g. Auto-Submitted); values must be
	// ASCII without line breaks.
	Headers map[string]string
}

// Bytes renders the message with CRLF line ends: Date, Message-ID, From,
// To, Subject, MIME-Version, then one text/plain part or a
// multipart/alternative of text/plain and text/html, quoted-printable.
func (m Message) Bytes() ([]byte, error) {
	if m.From.Address == "" || len(m.To) == 0 {
		return nil, errors.New("compose mail: From and To are required")
	}
	for k, v := range m.Headers {
		if strings.ContainsAny(k+v, "\r\n") || strings.ContainsAny(k, ": ") {
			return nil, fmt.Errorf("compose mail: bad header %q", k)
		}
	}
	date := m.Date
	if date.IsZero() {
		date = time.Now()
	}
	id, err := messageID(m.From.Address)
	if err != nil {
		return nil, err
	}
	to := make([]string, len(m.To))
	for i, a := range m.To {
		to[i] = a.String()
	}
	var b bytes.Buffer
	header := func(name, value string) { b.WriteString(name + ": " + value + "\r\n") }
	header("Date", date.Format(time.RFC1123Z))
	header("Message-ID", id)
	header("From", m.From.String())
	header("To", strings.Join(to, ",\r\n "))
	header("Subject", envelope.EncodeSubject(m.Subject))
	for _, k := range slices.Sorted(maps.Keys(m.Headers)) {
		header(k, m.Headers[k])
	}
	header("MIME-Version", "1.0")
	if m.HTML == "" {
		header("Content-Type", "text/plain; charset=utf-8")
		header("Content-Transfer-Encoding", "quoted-printable")
		b.WriteString("\r\n")
		if err := writeQP(&b, m.Text); err != nil {
			return nil, err
		}
		return b.Bytes(), nil
	}
	mw := multipart.NewWriter(&b)
	header("Content-Type", `multipart/alternative; boundary="`+mw.Boundary()+`"`)
	b.WriteString("\r\n")
	for _, p := range []struct{ ctype, content string }{{"text/plain; charset=utf-8", m.Text}, {"text/html; charset=utf-8", m.HTML}} {
		w, err := mw.CreatePart(textproto.MIMEHeader{"Content-Type": {p.ctype}, "Content-Transfer-Encoding": {"quoted-printable"}})
		if err != nil {
			return nil, err
		}
		if err := writeQP(w, p.content); err != nil {
			return nil, err
		}
	}
	if err := mw.Close(); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}

// writeQP writes content quoted-printable with CRLF line ends (the
// encoder keeps CRLF as line breaks and encodes a lone CR).
func writeQP(w io.Writer, content string) error {
	content = strings.ReplaceAll(strings.ReplaceAll(content, "\r\n", "\n"), "\n", "\r\n")
	if content != "" && !strings.HasSuffix(content, "\r\n") {
		content += "\r\n"
	}
	qp := quotedprintable.NewWriter(w)
	if _, err := qp.Write([]byte(content)); err != nil {
		return err
	}
	return qp.Close()
}

// messageID is a random id in the sender's domain.
func messageID(from string) (string, error) {
	b := make([]byte, 16)
	if _, err := rand.Read(b); err != nil {
		return "", fmt.Errorf("message id: %w", err)
	}
	domain := "postseal.invalid"
	if i := strings.LastIndexByte(from, '@'); i >= 0 && i < len(from)-1 {
		domain = from[i+1:]
	}
	return "<" + hex.EncodeToString(b) + "@" + domain + ">", nil
}
