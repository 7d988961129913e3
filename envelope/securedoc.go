package envelope

import (
	"fmt"
	"html/template"
	"io"
	"net/url"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/postseal/postseal/locale"
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

// pageStyle is the one inline style block, allowed by its hash. Browsers
// hash the text after the HTML parser has turned CRLF (and CR) into LF, so
// the hash of this LF text holds however the page's line ends were saved.
const pageStyle = `
body{font:16px/1.5 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;color:#1d2330;background:#f3f5f8;margin:0;padding:1em}
main{max-width:46em;margin:0 auto;background:#fff;border:1px solid #d5dae3;border-radius:8px;padding:1.5em}
@media (max-width:30em){body{padding:0}main{border:0;border-radius:0;padding:1em}}
h1{font-size:1.4em;margin:0 0 .2em}h2{font-size:1.2em;margin:1em 0 .5em}.kind{color:#5b6475;margin:0 0 1em}
table{border-collapse:collapse;width:100%;margin:0 0 1em}th{text-align:left;vertical-align:top;padding:.2em 1em .2em 0;color:#5b6475;font-weight:600;width:6em}
td{padding:.2em 0;overflow-wrap:anywhere}ul{padding-left:1.2em}li{overflow-wrap:anywhere}
button{font:inherit;padding:.6em 1.4em;border:0;border-radius:6px;background:#1f5fbf;color:#fff;cursor:pointer}
button:disabled{background:#7d93b8;cursor:wait}button.secondary{background:#e8edf5;color:#1d2330;border:1px solid #b9c3d3}
:focus-visible{outline:3px solid #f0a500;outline-offset:2px}
label{display:block;font-weight:600;margin:.8em 0 .2em}
input,select{font:inherit;box-sizing:border-box;width:100%;max-width:28em;padding:.5em;border:1px solid #8e98aa;border-radius:6px;background:#fff;color:inherit}
#unlock p{margin:1em 0 0}#status{margin-left:1em;color:#5b6475}
.error{margin:1em 0;padding:.8em 1em;border:2px solid #b3261e;border-radius:6px;background:#fdf0ef;color:#6b1510}.error p{margin:.3em 0}.error a{color:#6b1510}
#message{margin-top:1.5em;border-top:1px solid #d5dae3;padding-top:1em}#message:focus{outline:none}
iframe{display:block;box-sizing:border-box;width:100%;height:20em;border:1px solid #d5dae3;border-radius:6px;resize:vertical;background:#fff}
pre{white-space:pre-wrap;overflow-wrap:anywhere;font:15px/1.45 ui-monospace,Menlo,Consolas,monospace;background:#f7f8fa;padding:.8em;border-radius:6px}
summary{cursor:pointer;margin:.8em 0}
textarea{font:inherit;box-sizing:border-box;width:100%;min-height:8em;padding:.5em;border:1px solid #8e98aa;border-radius:6px;color:inherit}
input[readonly]{background:#f3f5f8}input[type=file]{border:0;padding:.2em 0}.hint{color:#5b6475;font-size:.9em;margin:.2em 0}
#reply{margin-top:1.5em;border-top:1px solid #d5dae3;padding-top:1em}#reply-actions button{margin:0 .4em .4em 0}#compose-sent p:first-child{font-weight:600}
footer{margin-top:1.5em;font-size:.9em;color:#5b6475}
`

// pageStyleHash is the CSP source for pageStyle.
var pageStyleHash = cspHash(pageStyle)

// payloadMarker stands where the armoured payload goes; the rendered page is
// split there so the payload streams straight into the body buffer instead
// of passing through the template engine.
const payloadMarker = "@@POSTSEAL-PAYLOAD@@"

// The page has two halves. Without scripts (most mail apps, or a browser
// that blocks them) it shows the envelope header, the instructions and the
// Open Online form, which posts the payload to the key service. With
// scripts, the decryptor (appended after the template, see newPage) reads
// #postseal-data, shows the hidden #unlock form, fetches the key, decrypts
// the payload and fills the hidden #message section. The ids are a contract
// with web/src and the browser tests.
//
// Most of the page depends only on the configuration and the language:
// those parts are the templates of pageStaticTemplate, rendered once per
// pageKey (see pageStatic) and set into pageTemplate as finished HTML. Each
// starts and ends between elements, where pageTemplate sets it, so the
// escaping of both is what one template over the whole page would do;
// render.golden holds the page byte for byte. pageTemplate itself renders
// what is the message's own; each pageKey's copy (pageStatic.page) has
// those parts, and the others that depend on the key only, written in as
// text.
var pageTemplate = template.Must(template.New("securedoc").Parse(pageTemplateSrc))

const pageTemplateSrc = `{{.S.Head}}<style{{if .Nonce}} nonce="{{.Nonce}}"{{end}}>` + pageStyle + `</style>
</head>
<body>
<main id="securedoc" data-envelope="{{.ID}}" data-profile="{{.Profile}}"{{if .KeyService}} data-key-service="{{.KeyService}}"{{end}}>
{{.S.Intro}}<tr><th>{{.S.From}}</th><td id="h-from">{{.From}}</td></tr>
<tr><th>{{.S.To}}</th><td id="h-to">{{.To}}</td></tr>
{{- if .Cc}}
<tr><th>{{.S.Cc}}</th><td id="h-cc">{{.Cc}}</td></tr>
{{- end}}
<tr><th>{{.S.Subject}}</th><td id="h-subject">{{.Subject}}</td></tr>
<tr><th>{{.S.Date}}</th><td id="h-date">{{.Date}}</td></tr>
{{.S.Instructions}}
{{- if .Recipients}}
<div id="recipients-box">
<p>{{.S.SentTo}}</p>
<ul id="recipients">
{{- range .Recipients}}
<li>{{.}}</li>
{{- end}}
</ul>
</div>
{{- end}}
<form id="unlock" hidden>
<h2>{{.S.OpenTheMessage}}</h2>
{{- if .RegisterURL}}
<p id="first-time">{{.S.FirstTime}}
<a id="register-link" href="{{.RegisterURL}}" target="_blank" rel="noopener noreferrer">{{.S.Register}}</a></p>
{{- end}}
{{.S.Unlock}}
{{- if .OpenURL}}
<form id="open-online" method="post" action="{{.OpenURL}}" enctype="multipart/form-data">
<input type="hidden" name="envelope" value="{{.ID}}">
<input type="hidden" name="meta" value="{{.Meta}}">
<textarea id="payload" name="payload" hidden readonly>
{{.Payload}}</textarea>
<p><button type="submit">{{.S.OpenOnline}}</button></p>
</form>
{{- else}}
<textarea id="payload" hidden readonly>
{{.Payload}}</textarea>
{{- end}}
{{.S.Footer}}
<script type="application/json" id="postseal-data">
{{.Data}}
</script>
`

// pageData feeds pageTemplate and pageStaticTemplate. The template.HTML
// fields are display values already escaped by displayHTML; Data is JSON
// made safe by jsonLines.
type pageData struct {
	CSP, Title, ID, Profile, KeyService string
	OpenURL, HelpURL, Nonce, Meta       string
	RegisterURL, ForgotURL              string
	Org, From, To, Cc, Subject, Date    template.HTML
	HelpText, Support                   template.HTML
	Recipients                          []template.HTML
	SharedPassword, Online              bool
	Data                                template.JS
	Payload                             string
	// S is the page's part that depends on configuration and language.
	S *pageStatic

	Lang, OrgText string // the page's language; the organisation's name as text
	cat           *locale.Catalog
}

// T translates for the page's language (see package locale).
func (d pageData) T(format string, args ...any) string {
	return d.cat.Sprintf(d.Lang, format, args...)
}

// page is a rendered securedoc split around the payload; more follows the
// tail.
type page struct {
	head, tail string
	more       []string
}

// pageInput is what both pages (the securedoc and the key service's Open
// Online page) are made of.
type pageInput struct {
	id, profile    string
	publicURL      string
	org, helpURL   string
	support        string
	display        Display
	recipients     []string
	sharedPassword bool
	// online marks the key service's own page: no Open Online form.
	online bool
	nonce  string
	lang   string // the page's language; "" or unknown is English
	// linked: the page loads the decryptor from the key service (see
	// bundle.go) instead of carrying it.
	linked bool
}

func newPage(req Request, opt Options, prof profile) (*page, error) {
	return renderPage(pageInput{
		id:             req.ID,
		profile:        prof.name,
		publicURL:      opt.PublicURL,
		org:            opt.OrgName,
		helpURL:        opt.HelpURL,
		support:        opt.Support,
		display:        req.Display,
		recipients:     req.Recipients,
		sharedPassword: req.Password != nil,
		lang:           opt.pageLanguage(req.Recipients),
		// A partner's shared-password envelope opens without the key
		// service, so it must carry its decryptor, as must a page with no
		// key service to load it from.
		linked: opt.Decryptor != DecryptorEmbedded && req.Password == nil && opt.PublicURL != "",
	})
}

func renderPage(in pageInput) (*page, error) {
	origin, openURL, err := keyService(in.publicURL)
	if err != nil {
		return nil, err
	}
	if in.online {
		openURL = ""
	}
	if !validNonce(in.nonce) {
		return nil, fmt.Errorf("securedoc page: CSP nonce %q: want base64 characters only", in.nonce)
	}
	var decryptorURL string
	if in.linked {
		if origin == "" {
			return nil, fmt.Errorf("securedoc page: a linked decryptor needs the key service's public URL")
		}
		decryptorURL = strings.TrimRight(in.publicURL, "/") + LinkedDecryptor().Path
		// It goes into the policy as a source expression as is.
		if strings.ContainsAny(decryptorURL, " \t;,'\"") {
			return nil, fmt.Errorf("public URL %q: its path cannot go into a Content-Security-Policy", in.publicURL)
		}
	}
	mode := "key"
	if in.sharedPassword {
		mode = "password"
	}
	cat := catalog()
	if !cat.Has(in.lang) {
		in.lang = locale.Source
	}
	tr := func(f string, a ...any) string { return cat.Sprintf(in.lang, f, a...) }
	base := strings.TrimRight(in.publicURL, "/")
	// What depends on the configuration and the language only: the cached
	// parts are made of these fields (and of no others of d).
	d := pageData{
		Lang:           in.lang,
		OrgText:        oneLine(in.org),
		cat:            cat,
		CSP:            pageCSP(origin, decryptorURL),
		Title:          truncateRunes(oneLine(in.org), 120),
		OpenURL:        openURL,
		HelpURL:        in.helpURL,
		Org:            displayHTML(in.org),
		HelpText:       displayHTML(in.helpURL),
		Support:        displayHTML(in.support),
		SharedPassword: in.sharedPassword,
		Online:         in.online,
	}
	firstSteps := origin != "" && !in.sharedPassword
	if firstSteps {
		d.ForgotURL = base + "/forgot"
		if in.lang != locale.Source {
			// The key service's pages go on in the page's language.
			d.ForgotURL += "?lang=" + url.QueryEscape(in.lang)
		}
	}
	d.KeyService = origin
	static, err := staticPage(pageKey{lang: in.lang, org: in.org, helpURL: in.helpURL, support: in.support, publicURL: in.publicURL,
		sharedPassword: in.sharedPassword, online: in.online, linked: in.linked}, d)
	if err != nil {
		return nil, fmt.Errorf("securedoc page: %w", err)
	}
	d.S = static
	d.ID = in.id
	d.Profile = in.profile
	d.Nonce = in.nonce
	d.From = displayHTML(in.display.From)
	d.To = displayHTML(in.display.To)
	d.Cc = displayHTML(in.display.Cc)
	d.Subject = displayHTML(in.display.Subject)
	d.Date = displayHTML(in.display.Date)
	d.Payload = payloadMarker
	d.Data = template.JS(jsonLines(scriptLen,
		jsonField{"envelope", in.id},
		jsonField{"publicURL", base},
		jsonField{"org", in.org},
		jsonField{"mode", mode},
		jsonField{"recipients", in.recipients},
		jsonField{"lang", in.lang},
		// Made once per language (the catalogue's, see above).
		jsonField{"messages", browserJSON(in.lang)},
	))
	if firstSteps {
		// The first steps, before any attempt: the decryptor adds the
		// address once the reader has chosen one.
		d.RegisterURL = base + "/register?envelope=" + url.QueryEscape(in.id)
		if in.lang != locale.Source {
			d.RegisterURL += "&lang=" + url.QueryEscape(in.lang)
		}
	}
	if openURL != "" {
		d.Meta = pageMeta(in.display, in.recipients, in.sharedPassword)
	}
	for _, r := range in.recipients {
		d.Recipients = append(d.Recipients, displayHTML(r))
	}
	var buf strings.Builder
	// Sized once: growing it by doubling cleared and copied more than the
	// template's own work.
	buf.Grow(static.size() + len(d.Data) + len(d.Meta) + 2*len(in.display.To+in.display.Cc) + 4096)
	if err := static.page.Execute(&buf, d); err != nil {
		return nil, fmt.Errorf("securedoc page: %w", err)
	}
	head, tail, ok := strings.Cut(asciiOnly(buf.String()), payloadMarker)
	if !ok {
		return nil, fmt.Errorf("securedoc page: payload marker lost")
	}
	if err := checkLines(head + tail); err != nil {
		return nil, fmt.Errorf("securedoc page: %w", err)
	}
	script := "<script"
	if in.nonce != "" {
		script += ` nonce="` + in.nonce + `"`
	}
	if in.linked {
		// The loader (see bundle.go) fetches the decryptor; what it says
		// when it cannot is written here, where the page's language is.
		a := LinkedDecryptor()
		org := truncateRunes(oneLine(in.org), 120)
		if org == "" {
			org = tr("the sender")
		}
		attrs := "\n" + `data-src="` + attr(decryptorURL) + `"` +
			"\n" + `data-integrity="` + a.Integrity + `"` +
			"\n" + `data-down="` + attr(tr("The key service of %s at %s cannot be reached, so this message cannot be opened here. Check your Internet connection and try again later, or press Open Online below.", org, origin)) + `"` +
			"\n" + `data-bad="` + attr(tr("The key service of %s at %s did not send the message reader this message was sealed with, so nothing was run. Try again later, or press Open Online below.", org, origin)) + `"`
		if err := checkLines(attrs); err != nil {
			return nil, fmt.Errorf("securedoc page: %w", err)
		}
		tail += script + ` id="postseal-loader"` + attrs + ">" + linkedLoaderJS + "</script>\n</body>\n</html>\n"
		return &page{head: head, tail: tail}, nil
	}
	// The decryptor (see bundle.go) is appended here rather than written
	// through the template: it is constant, checked by its build, and
	// 120 KB that the escaper need not walk for every message.
	// It is written from its own string, not joined to the tail: 120 KB
	// copied per message for nothing.
	tail += `<script type="text/plain" id="postseal-decryptor">` + "\n"
	return &page{head: head, tail: tail, more: []string{decryptorPacked(), "</script>\n" + script + ">" + loaderJS + "</script>\n</body>\n</html>\n"}}, nil
}

// pageCSP is the page's policy. Only the inline loader, the decryptor it
// runs (linked: the one URL on the key service, and only with the hash the
// page pins; embedded: from a blob: URL, see bundle.go) and the inline
// style run ('wasm-unsafe-eval' is for OpenPGP.js's Argon2 in WebAssembly;
// without it Argon2 fails as "Session key decryption failed"). The only
// network peer is the key service.
//
// The HTML part of the message is shown in a sandboxed srcdoc iframe (no
// scripts, no forms), which inherits this policy on top of its own
// (img-src data: only, until the reader presses "Show images"). A page
// policy can only narrow the frame's, so img-src here admits what "Show
// images" needs; the page itself holds no remote image. Message styles get
// into the frame through the CSSOM (web/src/render.js), so style-src stays
// the page's own hash.
//
// decryptorURL is the linked decryptor's URL, "" for an embedded one.
func pageCSP(origin, decryptorURL string) string {
	peer := "'none'"
	if origin != "" {
		peer = origin
	}
	scripts := loaderHash + " blob:"
	if decryptorURL != "" {
		scripts = linkedLoaderHash + " " + decryptorURL
	}
	return "default-src 'none'; script-src " + scripts + " 'wasm-unsafe-eval'; style-src " + pageStyleHash +
		"; connect-src " + peer + "; img-src data: blob: https: http:; form-action " + peer + "; base-uri 'none'"
}

// attr escapes s for a double-quoted attribute value, in ASCII.
func attr(s string) string { return asciiOnly(template.HTMLEscapeString(oneLine(s))) }

func validNonce(n string) bool {
	for i := 0; i < len(n); i++ {
		c := n[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '+' || c == '/' || c == '=' || c == '-' || c == '_') {
			return false
		}
	}
	return len(n) <= 128
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
	for _, s := range p.more {
		if _, err := io.WriteString(w, s); err != nil {
			return err
		}
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
