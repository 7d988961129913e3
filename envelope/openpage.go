package envelope

import (
	"bytes"
	"encoding/json"
	"fmt"
	"html/template"
	"io"
	"strings"
)

// Open Online: mail apps that will not run the securedoc's script can post
// its payload to the key service (the page's no-script form, fields
// "envelope", "payload" and "meta"). The key service answers with the same
// decryptor page from its own origin, written by WriteOpenPage.

// PageMeta is the display header an Open Online post carries in its "meta"
// field (JSON). It is shown as the envelope header until the message is
// decrypted; the decrypted message then shows its real header. It comes
// from whoever posts the form, so it is only ever displayed, escaped.
type PageMeta struct {
	From       string   `json:"from"`
	To         []string `json:"to"`
	Cc         []string `json:"cc"`
	Subject    string   `json:"subject"`
	Date       string   `json:"date"`
	Recipients []string `json:"recipients"`
	// SharedPassword marks a partner's shared-password envelope: the page
	// asks for the agreed password and decrypts with it, no key release.
	SharedPassword bool `json:"shared_password,omitempty"`
}

// ParsePageMeta parses an Open Online "meta" field; a missing or malformed
// one gives an empty PageMeta (the page then shows no envelope header).
func ParsePageMeta(s string) PageMeta {
	var m PageMeta
	if err := json.Unmarshal([]byte(s), &m); err != nil {
		return PageMeta{}
	}
	return m
}

// OpenPage is one Open Online page.
type OpenPage struct {
	EnvelopeID string
	Payload    string // ASCII armour as posted
	// PayloadReader, when set, is read instead of Payload and streamed
	// into the page, so a large post is never held in memory whole.
	PayloadReader io.Reader
	Meta          PageMeta // parsed from the "meta" field; empty if absent/bad
	PublicURL     string   // key service base URL (same origin here)
	Organization  string
	// Language is the page's language (the reader's, as the key service
	// settled it); "" is English.
	Language string
	// Nonce, when set, is put on the page's script and style elements for a
	// nonce-based policy of the caller's own; OpenPageCSP allows them by hash.
	Nonce string
}

// maxRecipients bounds the recipient list taken from a posted meta field.
const maxRecipients = 500

// WriteOpenPage writes the decryptor page for a payload posted to Open
// Online. The posted payload is untrusted: it is HTML-escaped into the
// page's textarea (armour has nothing to escape, so a genuine payload is
// written unchanged). Serve it with the header Content-Security-Policy:
// OpenPageCSP(PublicURL) and Content-Type text/html; charset=us-ascii.
func WriteOpenPage(w io.Writer, p OpenPage) error {
	if err := validateID(p.EnvelopeID); err != nil {
		return fmt.Errorf("open page: %w", err)
	}
	if p.PublicURL == "" {
		return fmt.Errorf("open page: no public URL")
	}
	recipients := p.Meta.Recipients
	if len(recipients) > maxRecipients {
		recipients = recipients[:maxRecipients]
	}
	pg, err := renderPage(pageInput{
		id:        p.EnvelopeID,
		profile:   "",
		publicURL: p.PublicURL,
		org:       p.Organization,
		display: Display{
			From:    p.Meta.From,
			To:      strings.Join(p.Meta.To, ", "),
			Cc:      strings.Join(p.Meta.Cc, ", "),
			Subject: p.Meta.Subject,
			Date:    p.Meta.Date,
		},
		recipients:     recipients,
		sharedPassword: p.Meta.SharedPassword,
		online:         true,
		nonce:          p.Nonce,
		lang:           p.Language,
	})
	if err != nil {
		return fmt.Errorf("open page: %w", err)
	}
	return pg.write(w, func(w io.Writer) error {
		if p.PayloadReader != nil {
			return escapeStream(w, p.PayloadReader)
		}
		template.HTMLEscape(w, []byte(strings.TrimRight(p.Payload, "\r\n")))
		return nil
	})
}

// escapeStream HTML-escapes r into w chunk by chunk, leaving out the line
// ends at its very end as WriteOpenPage does for a payload in memory. It
// stops at the first failed write (template.HTMLEscape drops the errors):
// the rest of a post is not read for a client that was cut off.
func escapeStream(out io.Writer, r io.Reader) error {
	w := &stickyWriter{w: out}
	buf := make([]byte, 32<<10)
	var held []byte // trailing CR/LF of what was read so far
	for {
		n, err := r.Read(buf)
		if n > 0 {
			chunk := buf[:n]
			body := bytes.TrimRight(chunk, "\r\n")
			if len(body) > 0 {
				if len(held) > 0 {
					if _, werr := w.Write(held); werr != nil {
						return werr
					}
					held = held[:0]
				}
				template.HTMLEscape(w, body)
				if w.err != nil {
					return w.err
				}
			}
			held = append(held, chunk[len(body):]...)
		}
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return err
		}
	}
}

// stickyWriter keeps the first error of w and writes nothing after it.
type stickyWriter struct {
	w   io.Writer
	err error
}

func (s *stickyWriter) Write(b []byte) (int, error) {
	if s.err != nil {
		return 0, s.err
	}
	n, err := s.w.Write(b)
	s.err = err
	return n, err
}

// OpenPageCSP returns the Content-Security-Policy header value for the
// Open Online page: the securedoc's policy (script and style by hash,
// 'wasm-unsafe-eval', the key service as the only peer) plus what only a
// header can say (no framing by other sites).
func OpenPageCSP(publicURL string) string {
	origin, _, err := keyService(publicURL)
	if err != nil {
		origin = ""
	}
	return pageCSP(origin, "") + "; frame-ancestors 'none'"
}
