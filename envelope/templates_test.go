package envelope

import (
	htmltemplate "html/template"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	texttemplate "text/template"
)

// A template_dir file replaces the shipped template of its name; the
// other one stays the shipped one.
func TestTemplateOverride(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "notification.txt"), []byte("Dear reader,\n\n{{.T \"You have received a secure message from %s.\" .Org}} Call {{.Support}}.\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	tm, err := LoadTemplates(dir)
	if err != nil {
		t.Fatal(err)
	}
	opt := testOptions()
	opt.Templates = tm
	n := parseNotification(t, sealOK(t, testRequest(textMessage()), opt))
	if !strings.HasPrefix(n.text, "Dear reader,\r\n\r\nYou have received a secure message from Example Health. Call Service desk") && !strings.HasPrefix(n.text, "Dear reader,\n\nYou have received a secure message from Example Health. Call Service desk") {
		t.Errorf("text part not from the override:\n%q", n.text)
	}
	if !strings.Contains(n.html, "For best results, save the file first") {
		t.Error("the HTML part is not the shipped one")
	}
	shipped := parseNotification(t, sealOK(t, testRequest(textMessage()), testOptions()))
	t.Logf("shipped text part:\n%s", shipped.text)
	if strings.Contains(shipped.text, "\n\n\n") || !strings.HasSuffix(strings.ReplaceAll(shipped.text, "\r\n", "\n"), "not encrypted.\n") {
		t.Errorf("shipped text part badly spaced:\n%q", shipped.text)
	}
}

// A template that does not parse, or fails on data, names its file and
// line.
func TestTemplateErrors(t *testing.T) {
	for name, body := range map[string]string{
		"notification.txt":  "Hello\n{{if .Org}}\nunclosed\n",
		"notification.html": "<p>{{.T \"x\"}}</p>\n<p>{{.NoSuchField}}</p>\n",
	} {
		dir := t.TempDir()
		if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
		_, err := LoadTemplates(dir)
		if err == nil || !strings.Contains(err.Error(), filepath.Join(dir, name)+":") {
			t.Errorf("%s: %v; want an error naming the file and line", name, err)
		}
	}
}

// The templates per configuration and language (constants where the
// configuration's fields and the calls on them stood) write what the
// templates as loaded write, for the shipped templates and for an
// operator's with sentences and configuration values in every HTML
// context, in pipelines (also piped into a call), inside with (where dot
// is another value), in conditions, with int and bool results and with the
// message's own values; and the shipped ones' constant parts are no longer
// fields, calls or actions while the message's values still are.
func TestTemplatesForData(t *testing.T) {
	dir := t.TempDir()
	custom := map[string]string{
		"notification.txt": `{{.T "Help:"}}|{{.T "Help:" | printf "%q"}}|{{print (.T "Register") "!"}}|{{with .Org}}{{$.T "Support:"}}{{.}}{{end}}|` +
			`{{if .Logo}}{{.T "Support:"}}{{else}}{{.T "Register"}}{{end}}|{{.T "%s logo" .Org}}|{{wrap (.T "If you have concerns about the validity of this message, contact the sender directly.")}}|` +
			`{{.Org | .T "%s logo"}}|{{.Org | printf "%s/%s" .Support}}|{{or .HelpURL .Support}}|{{and .PhoneHours 3}}|{{or 0 .PhoneHours}}|{{printf "%d-%v" .PhoneHours .Logo}}|{{not .Logo}}|` +
			`{{$x := .Org}}{{$x}}|{{if eq .PhoneHours 1}}one{{else if ne .PhoneHours 8}}other{{else}}eight{{end}}|{{.T "Open the attachment %s in a web browser to read it." .Attachment}}|{{if .SharedPassword}}{{.PhoneURL}}{{end}}|` +
			// A sentence given its argument through a pipe (a later
			// command of the pipeline) stays a call.
			`{{.Org | .T "You have received a secure message from %s."}}|{{.T "Register" | .T "%s logo"}}` + "\n",
		"notification.html": `<a href="/x?q={{.T "Open on your phone"}}&o={{.Org}}" title="{{.T "Open on your phone"}}" onclick="f({{.T "Open on your phone"}}, {{.Org}})">{{.T "You have received a secure message from %s." .Org}}</a>` +
			`<script>var s = {{.T "Open on your phone"}}, o = {{.Org}}, h = {{.PhoneHours}};</script><style>p{content:"{{.T "Register"}}{{.Support}}"}</style>{{with .Support}}<p>{{$.T "Help:"}} {{.}}</p>{{end}}` +
			`<a href="{{.PublicURL}}/register" title="{{print .PublicURL "/" .Org}}">{{.Org | .T "%s logo"}}</a><a href="{{.HelpURL}}">{{or .HelpURL .Support}}</a>{{if and .Logo (eq .PhoneHours 8)}}<img alt="{{.T "%s logo" .Org}}">{{end}}` +
			`<p>{{.T "Open the attachment %s in a web browser to read it." .Attachment}}</p><a href="{{.PhoneURL}}">{{.Lang}}</a>` + "\n",
	}
	for name, body := range custom {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	for _, src := range []string{"", dir} {
		tm, err := LoadTemplates(src)
		if err != nil {
			t.Fatal(err)
		}
		for _, lang := range []string{"en", "es"} {
			for i, org := range hostile {
				for _, hours := range []int{1, 8} {
					for _, shared := range []bool{false, true} {
						d := notificationData{Org: org, Attachment: "a" + org + ".html", PublicURL: []string{"https://keys.example", "javascript:alert(1)//"}[i%2], HelpURL: "https://help.example/?q=" + org,
							Support: org, Logo: i%2 == 0, Lang: lang, SharedPassword: shared, PhoneURL: "https://keys.example/m/x?" + org, PhoneHours: hours}
						lt := tm.forData(d)
						if a, b := execNotification(t, lt.text, lt.html, d), execNotification(t, tm.text, tm.html, d); a != b {
							t.Errorf("templates %q, lang %s, org %q, hours %d, shared %v: per configuration\n%s\nas loaded\n%s", src, lang, org, hours, shared, a, b)
						} else if src == dir && lang == "es" && i == 0 && hours == 8 && !strings.Contains(a, "Registrarse!") {
							t.Errorf("custom template in Spanish: %s", a)
						}
						if src != "" {
							continue
						}
						for _, tree := range []string{lt.text.Tree.Root.String(), lt.html.Tree.Root.String()} {
							if strings.Contains(tree, `.T "For best results`) || strings.Contains(tree, ".Org") || strings.Contains(tree, ".PublicURL") ||
								strings.Contains(tree, ".PhoneHours") || strings.Contains(tree, `{{"`) || strings.Contains(tree, "{{if true") || strings.Contains(tree, "{{if false") || !strings.Contains(tree, ".Attachment") || !strings.Contains(tree, ".PhoneURL") || !strings.Contains(tree, ".SharedPassword") {
								t.Errorf("lang %s: the shipped template's configuration parts are not constants, or the message's values are:\n%s", lang, tree)
							}
						}
					}
				}
			}
		}
	}
}

// execNotification is what text and html write for d.
func execNotification(t *testing.T, text *texttemplate.Template, html *htmltemplate.Template, d notificationData) string {
	t.Helper()
	var b strings.Builder
	if err := text.Execute(&b, d); err != nil {
		t.Fatal(err)
	}
	b.WriteString("\n---\n")
	if err := html.Execute(&b, d); err != nil {
		t.Fatal(err)
	}
	return b.String()
}

// TestNotificationKey changes each field of notificationData: templates
// made for another configuration or language (in the cache) are never
// used for it, and the change shows in what is written.
func TestNotificationKey(t *testing.T) {
	base := notificationData{Org: "Example Clinic", Attachment: "securedoc.html", PublicURL: "https://keys.example.org", HelpURL: "https://help.example.org",
		Support: "+1 555 0100", Logo: true, Lang: "en", PhoneURL: "https://keys.example.org/m/x", PhoneHours: 8}
	changes := map[string]func(*notificationData){
		"Org":            func(d *notificationData) { d.Org = "Other Clinic" },
		"Attachment":     func(d *notificationData) { d.Attachment = "other.html" },
		"PublicURL":      func(d *notificationData) { d.PublicURL = "https://keys2.example.org/x" },
		"HelpURL":        func(d *notificationData) { d.HelpURL = "https://help.example.org/other" },
		"Support":        func(d *notificationData) { d.Support = "+1 555 0199" },
		"SharedPassword": func(d *notificationData) { d.SharedPassword = true },
		"Logo":           func(d *notificationData) { d.Logo = false },
		"Lang":           func(d *notificationData) { d.Lang = "es" },
		"PhoneURL":       func(d *notificationData) { d.PhoneURL = "https://keys.example.org/m/y" },
		"PhoneHours":     func(d *notificationData) { d.PhoneHours = 1 },
	}
	typ := reflect.TypeOf(notificationData{})
	for i := range typ.NumField() {
		if changes[typ.Field(i).Name] == nil {
			t.Errorf("notificationData.%s: no change in this test", typ.Field(i).Name)
		}
	}
	tm, err := LoadTemplates("")
	if err != nil {
		t.Fatal(err)
	}
	render := func(d notificationData) string {
		lt := tm.forData(d)
		return execNotification(t, lt.text, lt.html, d)
	}
	first := render(base)
	for name, change := range changes {
		d := base
		change(&d)
		tm.mu.Lock()
		tm.byKey = nil
		tm.mu.Unlock()
		render(base) // the cache holds the first notification's templates
		warm := render(d)
		if want := execNotification(t, tm.text, tm.html, d); warm != want {
			t.Errorf("%s changed: the notification differs from the templates as loaded:\n%s\nwant\n%s", name, warm, want)
		}
		if warm == first {
			t.Errorf("%s changed: the notification did not", name)
		}
	}
}

// forData keeps its constants only where they render the samples as the
// templates as loaded do; anything else is used as loaded.
func TestSameOnSamples(t *testing.T) {
	parse := func(text, html string) *langTemplates {
		return &langTemplates{text: texttemplate.Must(texttemplate.New("t").Parse(text)), html: htmltemplate.Must(htmltemplate.New("h").Parse(html))}
	}
	base := parse(`{{.Org}}`, `<p>{{.Org}}</p>`)
	for _, c := range []struct {
		name string
		b    *langTemplates
		want bool
	}{
		{"same", parse(`{{.Org}}`, `<p>{{.Org}}</p>`), true},
		{"text differs", parse(`{{.Org}}!`, `<p>{{.Org}}</p>`), false},
		{"html differs", parse(`{{.Org}}`, `<p>{{.Support}}</p>`), false},
		{"text fails", parse(`{{.Org | printf}}{{call .Org}}`, `<p>{{.Org}}</p>`), false},
		{"html fails", parse(`{{.Org}}`, `<p>{{call .Org}}</p>`), false},
	} {
		if got := sameOnSamples(base, c.b, notificationData{Org: "Org", Support: "Support", Lang: "en"}); got != c.want {
			t.Errorf("%s: sameOnSamples %v, want %v", c.name, got, c.want)
		}
	}
}

// A constant {{if}} whose branch declares a variable is not spliced into
// the list around it: the variable would outlive the branch and shadow
// an outer one (review finding). The loaded templates and the copy made
// for the message's configuration write the same, with a real attachment
// name (the samples' differs), in the text and the HTML part.
func TestTemplatesForDataIfScope(t *testing.T) {
	for _, c := range []struct{ name, txt, html string }{
		{"shadowed",
			`{{$a := .Attachment}}{{if .Logo}}{{$a := "securedoc.html"}}{{end}}open {{$a}}` + "\n",
			`{{$a := .Attachment}}{{if .Logo}}{{$a := "securedoc.html"}}{{end}}<p>open {{$a}}</p>` + "\n"},
		{"fails on real data",
			`{{$a := .Attachment}}{{if .Logo}}{{$a := "securedoc.html"}}{{end}}{{if ne $a .Attachment}}{{call .Org}}{{end}}open` + "\n",
			`{{$a := .Attachment}}{{if .Logo}}{{if true}}{{$a := "securedoc.html"}}{{end}}{{end}}<p>{{$a}}</p>` + "\n"},
	} {
		t.Run(c.name, func(t *testing.T) {
			dir := t.TempDir()
			for name, body := range map[string]string{"notification.txt": c.txt, "notification.html": c.html} {
				if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			tm, err := LoadTemplates(dir)
			if err != nil {
				t.Fatal(err)
			}
			d := notificationData{Org: "Org", Attachment: "securedoc_20261204T024500.html", PublicURL: "https://keys.example", Lang: "en", Logo: true, PhoneHours: 8}
			want := execNotification(t, tm.text, tm.html, d)
			lt := tm.forData(d)
			if got := execNotification(t, lt.text, lt.html, d); got != want {
				t.Errorf("copy for the configuration writes\n%s\nthe loaded templates\n%s", got, want)
			}
		})
	}
}
