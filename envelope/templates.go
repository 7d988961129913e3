package envelope

import (
	"embed"
	"errors"
	htmltemplate "html/template"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"sync"
	texttemplate "text/template"
)

// The notification's text and HTML parts are templates: the shipped ones
// in templates/ (the documented starting point), each replaceable by a file
// of the same name in [envelope] template_dir. They see notificationData:
// .Org, .Attachment, .PublicURL, .HelpURL, .Support, .SharedPassword,
// .Logo, .LogoSrc, .Lang, and .T "English sentence %s" args... for the
// catalogue's translation; the text part also has wrap (72 columns).

//go:embed templates/notification.txt templates/notification.html
var shippedTemplates embed.FS

// Templates are the notification's templates.
type Templates struct {
	text *texttemplate.Template
	html *htmltemplate.Template
	// The sources, for the copies per configuration (forData).
	textName, textSrc, htmlName, htmlSrc string
	mu                                   sync.Mutex
	byKey                                map[notifyKey]*langTemplates
}

// langTemplates are a Templates' templates for one notifyKey: what depends
// only on the configuration and the language is a constant from the
// parse on (see notifyFolder); the message's own values stay fields.
type langTemplates struct {
	text *texttemplate.Template
	html *htmltemplate.Template
}

// notifyKey is every field of notificationData that notifyFolder makes a
// constant: the configuration's values and the language.
// TestNotificationKey changes each field of notificationData and checks
// that templates made for one key are never used for another.
type notifyKey struct {
	lang, org, publicURL, helpURL, support string
	phoneHours                             int
	logo                                   bool
}

// notifyKeyMax bounds a Templates' copies: a configuration has one key
// per language; past reloads that changed the configuration the cache
// starts again.
const notifyKeyMax = 64

// forData returns the templates for d's configuration and language: the
// same output as t's own for d, without reflection for what does not
// change from one message to the next. The constants stand where the
// fields and calls stood, so html/template escapes them in the same
// context on every execution, as it escaped the values they replace.
func (t *Templates) forData(d notificationData) *langTemplates {
	k := notifyKey{lang: d.Lang, org: d.Org, publicURL: d.PublicURL, helpURL: d.HelpURL, support: d.Support, phoneHours: d.PhoneHours, logo: d.Logo}
	t.mu.Lock()
	l := t.byKey[k]
	t.mu.Unlock()
	if l != nil {
		return l
	}
	l = &langTemplates{text: t.text, html: t.html}
	f := &notifyFolder{lang: d.Lang, vals: map[string]any{"Lang": d.Lang, "Org": d.Org, "PublicURL": d.PublicURL, "HelpURL": d.HelpURL,
		"Support": d.Support, "PhoneHours": d.PhoneHours, "Logo": d.Logo}}
	text, err := texttemplate.New(t.textName).Funcs(textFuncs).Parse(t.textSrc)
	if err == nil {
		html, err := htmltemplate.New(t.htmlName).Parse(t.htmlSrc)
		if err == nil {
			f.list(text.Tree.Root)
			f.list(html.Tree.Root)
			flattenConst(text.Tree.Root, text.Tree.Root, constPipe, func(w io.Writer) error { return text.Execute(w, d) })
			// html/template escapes at the first execution: what its
			// escapers make of the constants is only known after it.
			if html.Execute(io.Discard, d) == nil {
				flattenConst(html.Tree.Root, html.Tree.Root, constPipe, func(w io.Writer) error { return html.Execute(w, d) })
			}
			if c := (&langTemplates{text: text, html: html}); sameOnSamples(l, c, d) {
				l = c
			}
		}
	}
	t.mu.Lock()
	if len(t.byKey) >= notifyKeyMax || t.byKey == nil {
		t.byKey = map[notifyKey]*langTemplates{}
	}
	t.byKey[k] = l
	t.mu.Unlock()
	return l
}

var builtinTemplates = sync.OnceValue(func() *Templates {
	t, err := LoadTemplates("")
	if err != nil {
		panic("envelope: shipped templates: " + err.Error())
	}
	return t
})

var textFuncs = texttemplate.FuncMap{"wrap": func(s string) string { return wrapText(s, 72) }}

// LoadTemplates reads the notification's templates, each from dir when it
// holds a file of that name ("" = the shipped ones). A template that does
// not parse, or fails on sample data, is an error naming its file and line.
func LoadTemplates(dir string) (*Templates, error) {
	read := func(name string) (string, []byte, error) {
		if dir != "" {
			p := filepath.Join(dir, name)
			b, err := os.ReadFile(p)
			if err == nil {
				return p, b, nil
			}
			if !errors.Is(err, fs.ErrNotExist) {
				return "", nil, err
			}
		}
		b, err := shippedTemplates.ReadFile("templates/" + name)
		return "templates/" + name, b, err
	}
	var t Templates
	name, b, err := read("notification.txt")
	if err != nil {
		return nil, err
	}
	if t.text, err = texttemplate.New(name).Funcs(textFuncs).Parse(string(b)); err != nil {
		return nil, err
	}
	t.textName, t.textSrc = name, string(b)
	name, b, err = read("notification.html")
	if err != nil {
		return nil, err
	}
	if t.html, err = htmltemplate.New(name).Parse(string(b)); err != nil {
		return nil, err
	}
	t.htmlName, t.htmlSrc = name, string(b)
	// Execution errors (an unknown field, a wrong call) only show with
	// data: try both with a full sample now rather than at the first
	// message.
	for _, sample := range templateSamples(notificationData{Org: "Org", PublicURL: "https://keys.example", HelpURL: "https://help.example",
		Support: "Support", Logo: true, Lang: "en", PhoneHours: 8}) {
		var sb strings.Builder
		if err := t.text.Execute(&sb, sample); err != nil {
			return nil, err
		}
		if err := t.html.Execute(&sb, sample); err != nil {
			return nil, err
		}
	}
	return &t, nil
}

// templateSamples are full notification data with d's configuration and
// language, one per kind of notification the templates branch on.
func templateSamples(d notificationData) []notificationData {
	var samples []notificationData
	for _, shared := range []bool{false, true} {
		sample := d
		sample.Attachment, sample.SharedPassword, sample.PhoneURL = "securedoc_20260101T000000.html", shared, "" // as the attachment is named
		if !shared {
			sample.PhoneURL = "https://keys.example/m/id"
		}
		samples = append(samples, sample)
	}
	return samples
}

// sameOnSamples reports whether b renders every sample with d's
// configuration as a does: forData keeps its constants only then, so that
// a template the rewrite does not foresee is used as loaded rather than
// failing a message.
func sameOnSamples(a, b *langTemplates, d notificationData) bool {
	for _, d := range templateSamples(d) {
		var x, y strings.Builder
		if a.text.Execute(&x, d) != nil || b.text.Execute(&y, d) != nil || x.String() != y.String() {
			return false
		}
		x.Reset()
		y.Reset()
		if a.html.Execute(&x, d) != nil || b.html.Execute(&y, d) != nil || x.String() != y.String() {
			return false
		}
	}
	return true
}
