package envelope

import (
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"html/template"
	"io"
	"net/url"
	"strconv"
	"strings"
	"unicode/utf8"
)

// The securedoc page travels as a 7bit text/html; charset=us-ascii MIME
// part, so everything in it is ASCII and every line is far below the
// 998-octet SMTP limit: display values are escaped, non-ASCII becomes numeric
// character references, and long values are broken at whitespace or, inside
// a long word, with a line break inside a <wbr> tag (whitespace inside a tag
// adds no text, so the displayed value is unchanged).
//
// The armoured payload sits once in the page, in <textarea id="payload">
// inside the Open Online form: the form can post it without scripts, and the
// in-browser decryptor can read it as the textarea's value. Armour is
// base64 and dashes, so it can never close the textarea. The form posts
// multipart/form-data because a 10 MB message armours to ~14 MB, over
// net/http's 10 MB cap for urlencoded forms (and urlencoding would grow the
// base64 further).

// pageStyle is the one inline style block. It is a single line so the CSP
// hash cannot depend on how a mail client or browser normalises newlines.
const pageStyle = `body{font:16px/1.5 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;color:#1d2330;background:#f3f5f8;margin:0;padding:1em}` +
	`main{max-width:42em;margin:0 auto;background:#fff;border:1px solid #d5dae3;border-radius:8px;padding:1.5em}` +
	`h1{font-size:1.4em;margin:0 0 .2em}.kind{color:#5b6475;margin:0 0 1em}` +
	`table{border-collapse:collapse;width:100%;margin:0 0 1em}th{text-align:left;vertical-align:top;padding:.2em 1em .2em 0;color:#5b6475;font-weight:600;width:6em}` +
	`td{padding:.2em 0;overflow-wrap:anywhere}ul{padding-left:1.2em}` +
	`button{font:inherit;padding:.6em 1.4em;border:0;border-radius:6px;background:#1f5fbf;color:#fff;cursor:pointer}` +
	`footer{margin-top:1.5em;font-size:.9em;color:#5b6475}`

// pageStyleHash is the CSP source for pageStyle.
var pageStyleHash = func() string {
	sum := sha256.Sum256([]byte(pageStyle))
	return "'sha256-" + base64.StdEncoding.EncodeToString(sum[:]) + "'"
}()

// payloadMarker stands where the armoured payload goes; the rendered page is
// split there so the payload streams straight into the body buffer instead
// of passing through the template engine.
const payloadMarker = "@@POSTSEAL-PAYLOAD@@"

var pageTemplate = template.Must(template.New("securedoc").Parse(`<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="us-ascii">
<meta http-equiv="Content-Security-Policy" content="{{.CSP}}">
<meta name="referrer" content="no-referrer">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Secure message from {{.Title}}</title>
<style>` + pageStyle + `</style>
</head>
<body>
<main id="securedoc" data-envelope="{{.ID}}" data-profile="{{.Profile}}"{{if .KeyService}} data-key-service="{{.KeyService}}"{{end}}>
<h1>{{.Org}}</h1>
<p class="kind">Secure message</p>
<table id="envelope-header">
<tr><th>From</th><td id="h-from">{{.From}}</td></tr>
<tr><th>To</th><td id="h-to">{{.To}}</td></tr>
{{- if .Cc}}
<tr><th>Cc</th><td id="h-cc">{{.Cc}}</td></tr>
{{- end}}
<tr><th>Subject</th><td id="h-subject">{{.Subject}}</td></tr>
<tr><th>Date</th><td id="h-date">{{.Date}}</td></tr>
</table>
<div id="instructions">
<p>This is a secure message from {{.Org}}. To read it, open this file in a web browser.
{{- if .OpenURL}} If the message does not open by itself, press Open Online below: the
encrypted message is sent to the key service of {{.Org}}, where you sign in to read it.{{end}}</p>
{{- if .SharedPassword}}
<p>You need the password agreed between your organisation and {{.Org}}.</p>
{{- end}}
<p>The subject line is visible to the mail servers that carried this message; the
content of the message and its attachments are encrypted.</p>
</div>
{{- if .Recipients}}
<p>Sent to:</p>
<ul id="recipients">
{{- range .Recipients}}
<li>{{.}}</li>
{{- end}}
</ul>
{{- end}}
{{- if .OpenURL}}
<form id="open-online" method="post" action="{{.OpenURL}}" enctype="multipart/form-data">
<input type="hidden" name="envelope" value="{{.ID}}">
<textarea id="payload" name="payload" hidden readonly>
{{.Payload}}</textarea>
<p><button type="submit">Open Online</button></p>
</form>
{{- else}}
<textarea id="payload" hidden readonly>
{{.Payload}}</textarea>
{{- end}}
<footer>
{{- if .HelpURL}}
<p>Help: <a href="{{.HelpURL}}" rel="noopener noreferrer">{{.HelpText}}</a></p>
{{- end}}
{{- if .Support}}
<p>Support: {{.Support}}</p>
{{- end}}
</footer>
</main>
</body>
</html>
`))

// pageData feeds pageTemplate. The template.HTML fields are display values
// already escaped by displayHTML.
type pageData struct {
	CSP, Title, ID, Profile, KeyService string
	OpenURL, HelpURL                    string
	Org, From, To, Cc, Subject, Date    template.HTML
	HelpText, Support                   template.HTML
	Recipients                          []template.HTML
	SharedPassword                      bool
	Payload                             string
}

// page is a rendered securedoc split around the payload.
type page struct {
	head, tail string
}

func newPage(req Request, opt Options, prof profile) (*page, error) {
	origin, openURL, err := keyService(opt.PublicURL)
	if err != nil {
		return nil, err
	}
	formAction := "'none'"
	if origin != "" {
		formAction = origin
	}
	d := pageData{
		CSP:            "default-src 'none'; style-src " + pageStyleHash + "; form-action " + formAction + "; base-uri 'none'",
		Title:          truncateRunes(oneLine(opt.OrgName), 120),
		ID:             req.ID,
		Profile:        prof.name,
		KeyService:     origin,
		OpenURL:        openURL,
		HelpURL:        opt.HelpURL,
		Org:            displayHTML(opt.OrgName),
		From:           displayHTML(req.Display.From),
		To:             displayHTML(req.Display.To),
		Cc:             displayHTML(req.Display.Cc),
		Subject:        displayHTML(req.Display.Subject),
		Date:           displayHTML(req.Display.Date),
		HelpText:       displayHTML(opt.HelpURL),
		Support:        displayHTML(opt.Support),
		SharedPassword: req.Password != nil,
		Payload:        payloadMarker,
	}
	for _, r := range req.Recipients {
		d.Recipients = append(d.Recipients, displayHTML(r))
	}
	var buf strings.Builder
	if err := pageTemplate.Execute(&buf, d); err != nil {
		return nil, fmt.Errorf("securedoc page: %w", err)
	}
	head, tail, ok := strings.Cut(asciiOnly(buf.String()), payloadMarker)
	if !ok {
		return nil, fmt.Errorf("securedoc page: payload marker lost")
	}
	p := &page{head: head, tail: tail}
	if err := checkLines(head + tail); err != nil {
		return nil, fmt.Errorf("securedoc page: %w", err)
	}
	return p, nil
}

// write writes the page with the payload produced by payload in place.
func (p *page) write(w io.Writer, payload func(io.Writer) error) error {
	if _, err := io.WriteString(w, p.head); err != nil {
		return err
	}
	if err := payload(w); err != nil {
		return err
	}
	// Armour ends without a newline; the closing tag goes on its own line.
	if _, err := io.WriteString(w, "\n"+p.tail); err != nil {
		return err
	}
	return nil
}

// keyService returns the origin of the key service (for the CSP) and the
// Open Online URL; both empty when no key service is configured.
func keyService(publicURL string) (origin, openURL string, err error) {
	if publicURL == "" {
		return "", "", nil
	}
	u, err := url.Parse(publicURL)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		return "", "", fmt.Errorf("public URL %q: want an absolute http(s) URL", publicURL)
	}
	if strings.ContainsAny(u.Host, " ;'\"") {
		return "", "", fmt.Errorf("public URL %q: bad host", publicURL)
	}
	origin = u.Scheme + "://" + strings.ToLower(u.Host)
	return origin, strings.TrimRight(publicURL, "/") + "/open", nil
}

// Wrapping limits for display values: a break is taken at the first
// whitespace after softWrap characters, or forced inside a word at hardWrap.
const (
	softWrap = 72
	hardWrap = 160
)

// displayHTML escapes a display value for HTML text content with
// html/template's escaper, turns non-ASCII into numeric character references
// and wraps it into short lines (see the comment at the top of the file).
// Control characters become spaces: they have no business in a header value
// and a CR would break the CRLF-only body.
func displayHTML(s string) template.HTML {
	var b strings.Builder
	line := 0
	for _, r := range strings.ToValidUTF8(s, "\uFFFD") {
		if isControl(r) {
			r = ' '
		}
		if r == ' ' && line >= softWrap {
			b.WriteByte('\n')
			line = 0
			continue
		}
		var piece string
		switch {
		case r >= utf8.RuneSelf:
			piece = "&#" + strconv.Itoa(int(r)) + ";"
		default:
			piece = template.HTMLEscapeString(string(r))
		}
		if line+len(piece) > hardWrap {
			b.WriteString("<wbr\n>")
			line = 0
		}
		b.WriteString(piece)
		line += len(piece)
	}
	return template.HTML(b.String())
}

func isControl(r rune) bool {
	return r < 0x20 || r == 0x7f || (r >= 0x80 && r < 0xa0) || r == '\u2028' || r == '\u2029'
}

// asciiOnly replaces every non-ASCII rune with a numeric character
// reference. html/template leaves non-ASCII as is; in the places it can
// still occur (the title, attribute values) a reference means the same.
func asciiOnly(s string) string {
	var b strings.Builder
	for i, r := range s {
		if r < utf8.RuneSelf {
			continue
		}
		b.Grow(len(s) + 16)
		b.WriteString(s[:i])
		for _, r := range s[i:] {
			if r < utf8.RuneSelf {
				b.WriteRune(r)
			} else {
				b.WriteString("&#" + strconv.Itoa(int(r)) + ";")
			}
		}
		return b.String()
	}
	return s
}

func oneLine(s string) string {
	return strings.Map(func(r rune) rune {
		if isControl(r) {
			return ' '
		}
		return r
	}, s)
}

func truncateRunes(s string, n int) string {
	i := 0
	for j := range s {
		if i == n {
			return s[:j] + "..."
		}
		i++
	}
	return s
}

// maxLine is the longest line (without its CRLF) a 7bit part may carry.
const maxLine = 998

// checkLines rejects text with a line of maxLine octets or more. Only
// configuration can cause it (an absurdly long URL or id): display values
// are wrapped.
func checkLines(s string) error {
	for n := 1; s != ""; n++ {
		line, rest, _ := strings.Cut(s, "\n")
		if len(line) >= maxLine {
			return fmt.Errorf("line %d is %d octets long (max %d)", n, len(line), maxLine-1)
		}
		s = rest
	}
	return nil
}
