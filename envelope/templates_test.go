package envelope

import (
	htmltemplate "html/template"
	"os"
	"path/filepath"
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

// The templates per language (sentences without arguments made constants
// at parse time) write what the templates as loaded write, for the shipped
// templates and for an operator's with sentences in every HTML context, in
// pipelines, inside with (where dot is another value) and with arguments;
// and the shipped ones' constant sentences are no longer calls.
func TestTemplatesForLang(t *testing.T) {
	dir := t.TempDir()
	custom := map[string]string{
		"notification.txt": `{{.T "Help:"}}|{{.T "Help:" | printf "%q"}}|{{print (.T "Register") "!"}}|{{with .Org}}{{$.T "Support:"}}{{end}}|` +
			`{{if .Logo}}{{.T "Support:"}}{{else}}{{.T "Register"}}{{end}}|{{.T "%s logo" .Org}}|{{wrap (.T "If you have concerns about the validity of this message, contact the sender directly.")}}|` +
			// A sentence given its argument through a pipe (a later
			// command of the pipeline) stays a call.
			`{{.Org | .T "You have received a secure message from %s."}}|{{.T "Register" | .T "%s logo"}}` + "\n",
		"notification.html": `<a href="/x?q={{.T "Open on your phone"}}" title="{{.T "Open on your phone"}}" onclick="f({{.T "Open on your phone"}})">{{.T "You have received a secure message from %s." .Org}}</a>` +
			`<p>{{.Org | .T "You have received a secure message from %s."}}</p><script>var s = {{.T "Open on your phone"}};</script><style>p{content:"{{.T "Register"}}"}</style>{{with .Support}}<p>{{$.T "Help:"}} {{.}}</p>{{end}}` + "\n",
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
			lt := tm.forLang(lang)
			if src == "" && (strings.Contains(lt.text.Tree.Root.String(), `.T "For best results`) || !strings.Contains(tm.text.Tree.Root.String(), `.T "For best results`)) {
				t.Errorf("lang %s: the shipped text template's constant sentences are not constants:\n%s", lang, lt.text.Tree.Root)
			}
			for _, org := range hostile {
				d := notificationData{Org: org, Attachment: "a.html", PublicURL: "https://keys.example", HelpURL: "https://help.example/?q=" + org,
					Support: org, Logo: org == hostile[0], Lang: lang, PhoneURL: "https://keys.example/m/x", PhoneHours: 8}
				var a, b strings.Builder
				if err := lt.text.Execute(&a, d); err != nil {
					t.Fatal(err)
				}
				if err := tm.text.Execute(&b, d); err != nil {
					t.Fatal(err)
				}
				a.WriteString("\n---\n")
				b.WriteString("\n---\n")
				if err := lt.html.Execute(&a, d); err != nil {
					t.Fatal(err)
				}
				if err := tm.html.Execute(&b, d); err != nil {
					t.Fatal(err)
				}
				if a.String() != b.String() {
					t.Errorf("templates %q, lang %s, org %q: per language\n%s\nas loaded\n%s", src, lang, org, a.String(), b.String())
				}
				if src == dir && lang == "es" && !strings.Contains(a.String(), "Registrarse!") {
					t.Errorf("custom template in Spanish: %s", a.String())
				}
			}
		}
	}
}

// forLang keeps its constants only where they render the samples as the
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
		if got := sameOnSamples(base, c.b, "en"); got != c.want {
			t.Errorf("%s: sameOnSamples %v, want %v", c.name, got, c.want)
		}
	}
}
