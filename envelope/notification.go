package envelope

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"html/template"
	"io"
	"mime"
	"mime/quotedprintable"
	"strings"
	"unicode/utf8"
)

// The notification is what mail clients show instead of the message:
//
//	multipart/mixed
//	  multipart/alternative
//	    text/plain; charset=utf-8   (quoted-printable)
//	    text/html; charset=utf-8    (quoted-printable)
//	  text/html; charset=us-ascii   (7bit, the securedoc attachment)
//
// The milter hands the body to the MTA byte for byte, so it is written with
// CRLF line ends throughout.

// With a logo, the HTML alternative is a multipart/related holding the
// HTML and the image it shows by cid: (see logo.go).

// notification holds what the notification says and its boundaries.
type notification struct {
	outer, inner, related string
	attachment            string // file name
	text, html            string // rendered alternative parts, LF line ends
	logo                  *Logo
}

type notificationData struct {
	Org, Attachment, PublicURL, HelpURL, Support string
	SharedPassword, Logo                         bool
	Lang                                         string
	// PhoneURL is the "Open on your phone" link ("" for none), good for
	// PhoneHours after sending.
	PhoneURL   string
	PhoneHours int
}

// LogoSrc is where the HTML part's logo comes from (see logo.go).
func (notificationData) LogoSrc() template.URL { return "cid:" + logoCID }

// T translates for the notification's language (see package locale).
func (d notificationData) T(format string, args ...any) string {
	return catalog().Sprintf(d.Lang, format, args...)
}

// wrapText breaks a paragraph at spaces into lines of at most width
// characters where the words allow.
func wrapText(p string, width int) string {
	var b strings.Builder
	line := 0
	for i, w := range strings.Fields(p) {
		n := utf8.RuneCountInString(w)
		switch {
		case i == 0:
		case line+1+n > width:
			b.WriteByte('\n')
			line = 0
		default:
			b.WriteByte(' ')
			line++
		}
		b.WriteString(w)
		line += n
	}
	return b.String()
}

func newNotification(req Request, opt Options, attachment string) (*notification, error) {
	outer, err := boundary()
	if err != nil {
		return nil, err
	}
	inner, err := boundary()
	if err != nil {
		return nil, err
	}
	related := ""
	if opt.Logo != nil {
		if related, err = boundary(); err != nil {
			return nil, err
		}
	}
	d := notificationData{
		Lang:           opt.pageLanguage(req.Recipients),
		Logo:           opt.Logo != nil,
		Org:            oneLine(opt.OrgName),
		Attachment:     attachment,
		PublicURL:      oneLine(opt.PublicURL),
		HelpURL:        oneLine(opt.HelpURL),
		Support:        oneLine(opt.Support),
		SharedPassword: req.Password != nil,
		PhoneURL:       phoneLink(req, opt),
		PhoneHours:     int(opt.OnlineCopy.Hours()),
	}
	tm := opt.Templates
	if tm == nil {
		tm = builtinTemplates()
	}
	lt := tm.forData(d)
	var html, text strings.Builder
	if err := lt.html.Execute(&html, d); err != nil {
		return nil, fmt.Errorf("notification html: %w", err)
	}
	if err := lt.text.Execute(&text, d); err != nil {
		return nil, fmt.Errorf("notification text: %w", err)
	}
	return &notification{outer: outer, inner: inner, related: related, attachment: attachment,
		text: text.String(), html: html.String(), logo: opt.Logo}, nil
}

// write writes the notification body to w; page writes the securedoc.
func (n *notification) write(w io.Writer, page func(io.Writer) error) error {
	cw := &crlfWriter{w: w}
	parts := []func() error{
		func() error {
			return writeLines(cw, "This is a multi-part message in MIME format.", "",
				"--"+n.outer,
				`Content-Type: multipart/alternative; boundary="`+n.inner+`"`, "")
		},
		func() error { return writeQPPart(cw, n.inner, "text/plain; charset=utf-8", n.text) },
		func() error {
			if n.logo == nil {
				return writeQPPart(cw, n.inner, "text/html; charset=utf-8", n.html)
			}
			if err := writeLines(cw, "--"+n.inner, `Content-Type: multipart/related; type="text/html"; boundary="`+n.related+`"`, ""); err != nil {
				return err
			}
			if err := writeQPPart(cw, n.related, "text/html; charset=utf-8", n.html); err != nil {
				return err
			}
			if err := writeLogoPart(cw, n.related, n.logo); err != nil {
				return err
			}
			return writeLines(cw, "--"+n.related+"--")
		},
		func() error {
			return writeLines(cw, "--"+n.inner+"--", "",
				"--"+n.outer,
				"Content-Type: text/html; charset=us-ascii; "+fileParam("name", n.attachment),
				"Content-Disposition: attachment; "+fileParam("filename", n.attachment),
				"Content-Transfer-Encoding: 7bit",
				"")
		},
		func() error { return page(cw) },
		func() error { return writeLines(cw, "--"+n.outer+"--") },
	}
	for _, part := range parts {
		if err := part(); err != nil {
			return fmt.Errorf("notification: %w", err)
		}
	}
	return nil
}

// fileParam formats a file name parameter: quoted, as most clients expect,
// or RFC 2231-encoded when the name is not plain ASCII. attachmentName has
// already removed quotes, backslashes and control characters.
func fileParam(key, name string) string {
	for i := 0; i < len(name); i++ {
		if name[i] < 0x20 || name[i] > 0x7e || name[i] == '"' || name[i] == '\\' {
			_, param, _ := strings.Cut(mime.FormatMediaType("x/x", map[string]string{key: name}), "; ")
			return param
		}
	}
	return key + `="` + name + `"`
}

func writeQPPart(w io.Writer, b, contentType, content string) error {
	if err := writeLines(w, "--"+b, "Content-Type: "+contentType, "Content-Transfer-Encoding: quoted-printable", ""); err != nil {
		return err
	}
	qp := quotedprintable.NewWriter(w)
	if _, err := io.WriteString(qp, content); err != nil {
		return err
	}
	if err := qp.Close(); err != nil {
		return err
	}
	// The boundary delimiter's leading CRLF belongs to the delimiter, so the
	// content's own last line break stays part of the content.
	_, err := io.WriteString(w, "\n")
	return err
}

// writeLines writes each line followed by a line end.
func writeLines(w io.Writer, lines ...string) error {
	for _, l := range lines {
		if _, err := io.WriteString(w, l+"\n"); err != nil {
			return err
		}
	}
	return nil
}

// boundary returns a random MIME boundary. 128 random bits make a collision
// with the content (QP text, armour, our own HTML) practically impossible.
func boundary() (string, error) {
	b := make([]byte, 16)
	if _, err := rand.Read(b); err != nil {
		return "", fmt.Errorf("boundary: %w", err)
	}
	return "postseal-" + hex.EncodeToString(b), nil
}

// crlfWriter turns every LF into CRLF and drops every CR, so no CRLF is
// doubled and no bare CR survives. Templates and armour write bare LF;
// quoted-printable writes CRLF (and encodes any CR in the content).
type crlfWriter struct {
	w io.Writer
}

var crlf = []byte("\r\n")

func (c *crlfWriter) Write(p []byte) (int, error) {
	n := 0
	for len(p) > 0 {
		i := bytes.IndexAny(p, "\r\n")
		if i < 0 {
			if _, err := c.w.Write(p); err != nil {
				return n, err
			}
			return n + len(p), nil
		}
		if _, err := c.w.Write(p[:i]); err != nil {
			return n, err
		}
		if p[i] == '\n' {
			if _, err := c.w.Write(crlf); err != nil {
				return n, err
			}
		}
		n += i + 1
		p = p[i+1:]
	}
	return n, nil
}
