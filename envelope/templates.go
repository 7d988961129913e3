package envelope

import (
	"embed"
	"errors"
	htmltemplate "html/template"
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
	name, b, err = read("notification.html")
	if err != nil {
		return nil, err
	}
	if t.html, err = htmltemplate.New(name).Parse(string(b)); err != nil {
		return nil, err
	}
	// Execution errors (an unknown field, a wrong call) only show with
	// data: try both with a full sample now rather than at the first
	// message.
	sample := notificationData{Org: "Org", Attachment: "securedoc.html", PublicURL: "https://keys.example", HelpURL: "https://help.example",
		Support: "Support", Logo: true, Lang: "en"}
	for _, shared := range []bool{false, true} {
		sample.SharedPassword = shared
		sample.PhoneURL, sample.PhoneHours = "", 0
		if !shared {
			sample.PhoneURL, sample.PhoneHours = "https://keys.example/m/id", 8
		}
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
