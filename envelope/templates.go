package envelope

import (
	"embed"
	"errors"
	"fmt"
	htmltemplate "html/template"
	"io/fs"
	"os"
	"path/filepath"
	"reflect"
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

// notifyFolder evaluates, in a template's own tree (not inside with or
// range, where dot is another value, nor in other templates it calls),
// what takes only constants and the configuration's fields (vals): a
// field, {{.T "sentence" args}}, print, printf, wrap, eq, ne, not, and,
// or; a command whose value is a string or a bool becomes that constant.
// Anything else (the message's fields, other functions, variables) stays
// as it is and is evaluated for each message.
type notifyFolder struct {
	lang string
	vals map[string]any
}

func (f *notifyFolder) list(l *parse.ListNode) {
	if l == nil {
		return
	}
	for _, n := range l.Nodes {
		switch n := n.(type) {
		case *parse.ActionNode:
			f.pipe(n.Pipe)
		case *parse.IfNode:
			f.pipe(n.Pipe)
			f.list(n.List)
			f.list(n.ElseList)
		}
	}
}

// pipe folds p's commands' arguments and its first command, the only one
// that does not also take the previous command's value; it returns p's
// value when that is a constant.
func (f *notifyFolder) pipe(p *parse.PipeNode) (any, bool) {
	if p == nil {
		return nil, false
	}
	var v any
	ok := false
	for i, c := range p.Cmds {
		for j := 1; j < len(c.Args); j++ {
			if v, ok := f.arg(c.Args[j]); ok {
				c.Args[j] = constNode(c.Args[j], v)
			}
		}
		if i == 0 {
			if v, ok = f.cmd(c); ok {
				if n := constNode(c, v); n != parse.Node(c) {
					c.Args = []parse.Node{n}
				}
			}
		}
	}
	return v, ok && len(p.Cmds) == 1 && len(p.Decl) == 0
}

// arg is n's value when it is a constant or a configuration field.
func (f *notifyFolder) arg(n parse.Node) (any, bool) {
	switch n := n.(type) {
	case *parse.StringNode:
		return n.Text, true
	case *parse.BoolNode:
		return n.True, true
	case *parse.NumberNode:
		// Only plain decimal integers: text/template makes them int.
		if n.IsInt && strings.Trim(n.Text, "0123456789") == "" {
			return int(n.Int64), true
		}
	case *parse.FieldNode:
		if len(n.Ident) == 1 {
			v, ok := f.vals[n.Ident[0]]
			return v, ok
		}
	case *parse.PipeNode:
		return f.pipe(n)
	}
	return nil, false
}

// cmd is c's value when every argument of c is a constant and c is a
// field or a call notifyFolder knows.
func (f *notifyFolder) cmd(c *parse.CommandNode) (any, bool) {
	if len(c.Args) == 0 {
		return nil, false
	}
	args := make([]any, len(c.Args)-1)
	for j, a := range c.Args[1:] {
		v, ok := f.arg(a)
		if !ok {
			return nil, false
		}
		args[j] = v
	}
	if len(args) == 0 {
		switch c.Args[0].(type) {
		case *parse.StringNode, *parse.BoolNode, *parse.FieldNode, *parse.PipeNode:
			return f.arg(c.Args[0])
		}
	}
	switch n := c.Args[0].(type) {
	case *parse.FieldNode:
		if len(n.Ident) == 1 && n.Ident[0] == "T" && len(args) >= 1 {
			if format, ok := args[0].(string); ok {
				return catalog().Sprintf(f.lang, format, args[1:]...), true
			}
		}
	case *parse.IdentifierNode:
		return foldFunc(n.Ident, args)
	}
	return nil, false
}

// foldFunc is what the function name returns for constant args, when it
// is one notifyFolder knows and the call cannot fail.
func foldFunc(name string, args []any) (any, bool) {
	switch name {
	case "print":
		return fmt.Sprint(args...), true
	case "printf":
		if len(args) >= 1 {
			if format, ok := args[0].(string); ok {
				return fmt.Sprintf(format, args[1:]...), true
			}
		}
	case "wrap":
		if len(args) == 1 {
			if s, ok := args[0].(string); ok {
				return wrapText(s, 72), true
			}
		}
	case "eq", "ne":
		if len(args) == 2 && reflect.TypeOf(args[0]) == reflect.TypeOf(args[1]) {
			return (args[0] == args[1]) == (name == "eq"), true
		}
	case "not":
		if len(args) == 1 {
			return !truth(args[0]), true
		}
	case "and", "or":
		if len(args) == 0 {
			return nil, false
		}
		// The first argument that decides, as text/template returns it.
		for _, a := range args[:len(args)-1] {
			if truth(a) == (name == "or") {
				return a, true
			}
		}
		return args[len(args)-1], true
	}
	return nil, false
}

// truth is text/template's truth of the constants notifyFolder makes.
func truth(v any) bool {
	switch v := v.(type) {
	case string:
		return v != ""
	case bool:
		return v
	case int:
		return v != 0
	}
	return false
}

// constNode is a node for v (a string or a bool) where n stood; any other
// value leaves n.
func constNode(n parse.Node, v any) parse.Node {
	switch v := v.(type) {
	case string:
		return &parse.StringNode{NodeType: parse.NodeString, Pos: n.Position(), Quoted: strconv.Quote(v), Text: v}
	case bool:
		return &parse.BoolNode{NodeType: parse.NodeBool, Pos: n.Position(), True: v}
	}
	return n
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
		sample.Attachment, sample.SharedPassword, sample.PhoneURL = "securedoc.html", shared, ""
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
