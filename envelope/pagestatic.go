package envelope

import (
	"html/template"
	"io"
	"strings"
	"sync"
	"text/template/parse"
)

// The parts of the securedoc page that depend only on the configuration and
// the language are rendered once per pageKey and set into every page as
// finished HTML: html/template escapes them when they are made, and the
// message's own values go through pageTemplate's escaping each time.

// pageStaticTemplate are the parts of the page that depend on the
// configuration and the language only (see pageTemplate).
var pageStaticTemplate = template.Must(template.New("static").Parse(`
{{- define "head"}}<!DOCTYPE html>
<html lang="{{.Lang}}">
<head>
<meta charset="us-ascii">
<meta http-equiv="Content-Security-Policy" content="{{.CSP}}">
<meta name="referrer" content="no-referrer">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{{.T "Secure message from %s" .Title}}</title>
{{end}}
{{- define "intro"}}<h1>{{.Org}}</h1>
<p class="kind">{{.T "Secure message"}}</p>
<table id="envelope-header">
{{end}}
{{- define "instructions"}}</table>
<div id="instructions">
{{- if .Online}}
<p>{{.T "This is a secure message from %s. Enter your e-mail address and password to open it. The message is decrypted in your browser." .OrgText}}</p>
{{- else}}
<p id="noscript-intro">{{.T "This is a secure message from %s. To read it, open this file in a web browser." .OrgText}}
{{if .OpenURL}}{{.T "If the message does not open by itself, press Open Online below: the encrypted message is sent to the key service of %s, where you sign in to read it." .OrgText}}{{end}}</p>
{{- end}}
{{- if .SharedPassword}}
<p>{{.T "You need the password agreed between your organisation and %s." .OrgText}}</p>
{{- end}}
<p>{{.T "The subject line is visible to the mail servers that carried this message; the content of the message and its attachments are encrypted."}}</p>
</div>{{end}}
{{- define "unlock"}}<div id="email-field">
<label for="email-select">{{.T "Email address"}}</label>
<select id="email-select" name="email"></select>
</div>
<div id="email-other-field" hidden>
<label for="email-other">{{.T "Your email address"}}</label>
<input id="email-other" name="email-other" type="email" autocomplete="email" spellcheck="false">
</div>
<div>
<label for="password">{{.T "Password"}}</label>
<input id="password" name="password" type="password" autocomplete="current-password">
</div>
<p><button id="open" type="submit">{{.T "Open"}}</button><span id="status" role="status" aria-live="polite"></span></p>
{{- if .ForgotURL}}
<p id="forgot"><a id="forgot-link" href="{{.ForgotURL}}" target="_blank" rel="noopener noreferrer">{{.T "Forgot your password?"}}</a></p>
{{- end}}
</form>
<div id="error" class="error" role="alert" tabindex="-1" hidden></div>
<section id="message" tabindex="-1" aria-label="{{.T "Decrypted message"}}" hidden>
<h2>{{.T "Message"}}</h2>
<table id="msg-header">
<tr><th>{{.T "From"}}</th><td id="msg-from"></td></tr>
<tr><th>{{.T "To"}}</th><td id="msg-to"></td></tr>
<tr><th>{{.T "Cc"}}</th><td id="msg-cc"></td></tr>
<tr><th>{{.T "Date"}}</th><td id="msg-date"></td></tr>
<tr><th>{{.T "Subject"}}</th><td id="msg-subject"></td></tr>
</table>
<div id="msg-html-box" hidden>
<p><button id="show-images" class="secondary" type="button" hidden>{{.T "Show images"}}</button></p>
<iframe id="msg-html" title="{{.T "Message content"}}" sandbox="allow-same-origin allow-popups allow-popups-to-escape-sandbox" referrerpolicy="no-referrer"></iframe>
</div>
<details id="msg-text-box" hidden><summary id="msg-text-summary">{{.T "Plain-text version"}}</summary><pre id="msg-text"></pre></details>
<div id="attachments-box" hidden>
<h2>{{.T "Attachments"}}</h2>
<ul id="attachments"></ul>
</div>
</section>{{end}}
{{- define "footer"}}<footer>
{{- if .HelpURL}}
<p>{{.T "Help:"}} <a href="{{.HelpURL}}" rel="noopener noreferrer">{{.HelpText}}</a></p>
{{- end}}
{{- if .Support}}
<p>{{.T "Support:"}} {{.Support}}</p>
{{- end}}
</footer>
</main>{{end}}`))

// pageStatic is what a page's configuration and language make of it: the
// parts of pageStaticTemplate, rendered, and the sentences pageTemplate
// shows between the message's own values.
type pageStatic struct {
	Head, Intro, Instructions, Unlock, Footer template.HTML

	From, To, Cc, Subject, Date, SentTo string
	OpenTheMessage, FirstTime, Register string
	OpenOnline                          string

	// page is pageTemplate with the above, and the other values of the
	// key (the key service's origin, the Open Online URL), written in as
	// text where html/template escaped them (see pageForKey).
	page *template.Template
}

// size is the length of the parts, and of the page around them but for
// the message's own values.
func (s *pageStatic) size() int {
	return len(s.Head) + len(s.Intro) + len(s.Instructions) + len(s.Unlock) + len(s.Footer) + len(pageStyle) + 1024
}

// pageKey is every input of pageStatic; TestPageStaticKey changes each
// input of renderPage and checks that a cached part is never reused for
// another.
type pageKey struct {
	lang, org, helpURL, support, publicURL string
	sharedPassword, online, linked         bool
}

// pageStatics caches pageStatic per pageKey. A configuration has few keys
// (languages × kinds of envelope); after reloads, or with many Open Online
// pages' languages, the cache is emptied past pageStaticMax.
var pageStatics struct {
	sync.Mutex
	m map[pageKey]*pageStatic
}

const pageStaticMax = 256

// staticPage renders d's configuration parts, or returns them from the
// cache. d holds everything but the message's own values.
func staticPage(k pageKey, d pageData) (*pageStatic, error) {
	pageStatics.Lock()
	s := pageStatics.m[k]
	pageStatics.Unlock()
	if s != nil {
		return s, nil
	}
	s = &pageStatic{
		From: d.T("From"), To: d.T("To"), Cc: d.T("Cc"), Subject: d.T("Subject"), Date: d.T("Date"),
		SentTo:         d.T("Sent to:"),
		OpenTheMessage: d.T("Open the message"),
		FirstTime:      d.T("First secure message from %s? Register first: choose a password, confirm your address from the e-mail you then receive, and come back here to open the message.", d.OrgText),
		Register:       d.T("Register"),
		OpenOnline:     d.T("Open Online"),
	}
	for _, part := range []struct {
		name string
		dst  *template.HTML
	}{{"head", &s.Head}, {"intro", &s.Intro}, {"instructions", &s.Instructions}, {"unlock", &s.Unlock}, {"footer", &s.Footer}} {
		var b strings.Builder
		if err := pageStaticTemplate.ExecuteTemplate(&b, part.name, d); err != nil {
			return nil, err
		}
		*part.dst = template.HTML(b.String())
	}
	d.S = s
	s.page = pageForKey(d)
	pageStatics.Lock()
	if len(pageStatics.m) >= pageStaticMax || pageStatics.m == nil {
		pageStatics.m = map[pageKey]*pageStatic{}
	}
	pageStatics.m[k] = s
	pageStatics.Unlock()
	return s, nil
}

// pageForKey is a copy of pageTemplate in which each action and condition
// on the key's values (.S, .KeyService, .OpenURL) is what it writes for d,
// escaped by html/template where it stands; the message's own values stay
// actions, escaped for every page. pageTemplate itself if that fails.
func pageForKey(d pageData) *template.Template {
	t, err := template.New("securedoc").Parse(pageTemplateSrc)
	if err != nil {
		return pageTemplate
	}
	// html/template escapes at the first execution.
	if err := t.Execute(io.Discard, d); err != nil {
		return pageTemplate
	}
	flattenConst(t.Tree.Root, t.Tree.Root, keyPipe, func(w io.Writer) error { return t.Execute(w, d) })
	return t
}

// keyPipe reports whether p is a field of the page's key, followed by
// html/template's escapers when escapers is set.
func keyPipe(p *parse.PipeNode, escapers bool) bool {
	if p == nil || len(p.Decl) > 0 || p.IsAssign || len(p.Cmds) == 0 || len(p.Cmds[0].Args) != 1 {
		return false
	}
	f, ok := p.Cmds[0].Args[0].(*parse.FieldNode)
	if !ok {
		return false
	}
	switch f.Ident[0] {
	case "S", "KeyService", "OpenURL":
	default:
		return false
	}
	return escapersOnly(p, escapers)
}
