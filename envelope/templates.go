package envelope

import (
	"embed"
	"errors"
	htmltemplate "html/template"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	texttemplate "text/template"
	"text/template/parse"
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
	// The sources, for the copies per language (forLang).
	textName, textSrc, htmlName, htmlSrc string
	byLang                               sync.Map // language → *langTemplates
}

// langTemplates are a Templates' templates for one language: each call
// {{.T "sentence"}} without arguments is the translated sentence, a
// constant, from the parse on (see translateConst).
type langTemplates struct {
	text *texttemplate.Template
	html *htmltemplate.Template
}

// forLang returns the templates for lang: the same output as t's own,
// without a method call per sentence for what does not change from one
// message to the next. html/template escapes the constants where they
// stand as it escaped the calls' results.
func (t *Templates) forLang(lang string) *langTemplates {
	if v, ok := t.byLang.Load(lang); ok {
		return v.(*langTemplates)
	}
	l := &langTemplates{text: t.text, html: t.html}
	tr := func(s string) string { return catalog().Sprintf(lang, s) }
	text, err := texttemplate.New(t.textName).Funcs(textFuncs).Parse(t.textSrc)
	if err == nil {
		html, err := htmltemplate.New(t.htmlName).Parse(t.htmlSrc)
		if err == nil {
			translateConst(text.Tree.Root, tr)
			translateConst(html.Tree.Root, tr)
			if c := (&langTemplates{text: text, html: html}); sameOnSamples(l, c, lang) {
				l = c
			}
		}
	}
	v, _ := t.byLang.LoadOrStore(lang, l)
	return v.(*langTemplates)
}

// translateConst turns each {{.T "sentence"}} of the template's own tree
// (not inside with or range, where dot is another value, nor in other
// templates it calls) into the translated sentence.
func translateConst(n parse.Node, tr func(string) string) {
	switch n := n.(type) {
	case *parse.ListNode:
		if n == nil {
			return
		}
		for _, c := range n.Nodes {
			translateConst(c, tr)
		}
	case *parse.ActionNode:
		translatePipe(n.Pipe, tr)
	case *parse.IfNode:
		translatePipe(n.Pipe, tr)
		translateConst(n.List, tr)
		translateConst(n.ElseList, tr)
	}
}

func translatePipe(p *parse.PipeNode, tr func(string) string) {
	if p == nil {
		return
	}
	for i, c := range p.Cmds {
		// Only the first command of a pipeline: a later one is also
		// given the value piped into it ({{.Org | .T "… %s"}}), which a
		// constant cannot take.
		if i == 0 && len(c.Args) == 2 {
			f, isField := c.Args[0].(*parse.FieldNode)
			s, isString := c.Args[1].(*parse.StringNode)
			if isField && isString && len(f.Ident) == 1 && f.Ident[0] == "T" {
				// The catalogue leaves a sentence without arguments as
				// it is translated: no formatting.
				s.Text = tr(s.Text)
				s.Quoted = strconv.Quote(s.Text)
				c.Args = c.Args[1:]
				continue
			}
		}
		for _, a := range c.Args {
			if pp, ok := a.(*parse.PipeNode); ok {
				translatePipe(pp, tr)
			}
		}
	}
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
	for _, sample := range templateSamples("en") {
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

// templateSamples are full notification data in lang, one per kind of
// notification the templates branch on.
func templateSamples(lang string) []notificationData {
	var samples []notificationData
	for _, shared := range []bool{false, true} {
		sample := notificationData{Org: "Org", Attachment: "securedoc.html", PublicURL: "https://keys.example", HelpURL: "https://help.example",
			Support: "Support", Logo: true, Lang: lang, SharedPassword: shared}
		if !shared {
			sample.PhoneURL, sample.PhoneHours = "https://keys.example/m/id", 8
		}
		samples = append(samples, sample)
	}
	return samples
}

// sameOnSamples reports whether b renders every sample in lang as a does:
// forLang keeps its constants only then, so that a template the rewrite
// does not foresee is used as loaded rather than failing a message.
func sameOnSamples(a, b *langTemplates, lang string) bool {
	for _, d := range templateSamples(lang) {
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
