package envelope

import (
	"bytes"
	"flag"
	"fmt"
	"os"
	"reflect"
	"strings"
	"testing"
	"time"
)

// updateRender rewrites testdata/render.golden from the code as it is:
// only for a change meant to change what the page or the notification
// says, with the diff read before it is committed.
var updateRender = flag.Bool("update-render", false, "rewrite testdata/render.golden")

// hostile are display and configuration values a stranger (or a careless
// operator) can put into a sealed message: markup, quotes, template
// delimiters, script ends, non-ASCII, control characters, long words.
var hostile = []string{
	`"Mallory </script><script>alert(1)</script>" <m@evil.example>`,
	`Zoë Ünïcødé 山田 <zoe@example.org>, {{.Payload}} {{template "x"}}, 'single' & "double"`,
	"tab\there\rcr\nlf \u2028 end </textarea><textarea> <!-- --> ]]> `back`",
	strings.Repeat("longwordwithoutspaces", 12) + " " + strings.Repeat("a b ", 40),
}

// renderCases are pages over the languages (built-in, Spanish, one the
// catalogue lacks), the kinds of envelope and page, and hostile values.
func renderPageCases() []struct {
	name string
	in   pageInput
} {
	var out []struct {
		name string
		in   pageInput
	}
	for li, lang := range []string{"", "es", "xx"} {
		for ki, kind := range []string{"no-key-service", "key", "shared", "linked", "online"} {
			h := func(i int) string { return hostile[(i+li+ki)%len(hostile)] }
			in := pageInput{
				id:         "abcdefghijklmnopqrstuvwxyz",
				profile:    ProfileRFC4880,
				org:        h(0),
				helpURL:    "https://help.example.org/x?a=1&b=" + h(1),
				support:    h(2),
				display:    Display{From: h(0), To: h(1), Cc: h(2), Subject: h(3), Date: "Fri, 4 Dec 2026 01:20:00 +0000"},
				recipients: []string{"a@example.org", h(1), "b@ext.example"},
				lang:       lang,
			}
			if ki%2 == 1 {
				in.display.Cc, in.helpURL, in.support = "", "", ""
			}
			switch kind {
			case "key":
				in.publicURL = "https://Keys.Example.org/ps/"
			case "shared":
				in.publicURL, in.sharedPassword = "https://keys.example.org", true
			case "linked":
				in.publicURL, in.linked, in.profile = "https://keys.example.org/", true, ProfileRFC9580
			case "online":
				in.publicURL, in.online, in.nonce, in.profile = "https://keys.example.org", true, "bm9uY2UtMTIz", ""
			}
			out = append(out, struct {
				name string
				in   pageInput
			}{fmt.Sprintf("page %s lang=%q", kind, lang), in})
		}
	}
	return out
}

// renderNotificationCases are notifications over the languages, the kinds
// of envelope, the phone link's hours and the logo, with hostile values.
func renderNotificationCases(t testing.TB) []struct {
	name string
	req  Request
	opt  Options
} {
	logo, err := NewLogo(testPNG(t))
	if err != nil {
		t.Fatal(err)
	}
	var out []struct {
		name string
		req  Request
		opt  Options
	}
	for li, lang := range []string{"", "es", "xx"} {
		for ki, kind := range []string{"no-key-service", "key-phone-8", "key-phone-1", "shared-logo"} {
			h := func(i int) string { return hostile[(i+li+ki)%len(hostile)] }
			req := Request{ID: "abcdefghijklmnopqrstuvwxyz", Recipients: []string{"a@ext.example"}, Display: Display{From: h(0), Subject: h(3)}}
			opt := Options{OrgName: h(0), HelpURL: "https://help.example.org/?q=" + h(1), Support: h(2), Language: lang}
			switch kind {
			case "key-phone-8":
				opt.PublicURL, opt.OnlineCopy = "https://keys.example.org/", 8*time.Hour
			case "key-phone-1":
				opt.PublicURL, opt.OnlineCopy, opt.HelpURL = "https://keys.example.org", time.Hour, ""
			case "shared-logo":
				opt.PublicURL, opt.Logo, opt.Support = "https://keys.example.org", logo, ""
				req.Password = []byte("agreed")
			}
			out = append(out, struct {
				name string
				req  Request
				opt  Options
			}{fmt.Sprintf("notification %s lang=%q", kind, lang), req, opt})
		}
	}
	return out
}

// end is the page after the payload.
func (p *page) end() string { return p.tail + strings.Join(p.more, "") }

// renderAll renders every case; the embedded decryptor, the same bytes in
// every page, stands as one line, and the linked one's path and hash, which
// change with every build of the bundle, as names.
func renderAll(t testing.TB) []byte {
	bundle := strings.NewReplacer(LinkedDecryptor().Integrity, "@@DECRYPTOR-INTEGRITY@@", LinkedDecryptor().Path, "@@DECRYPTOR-PATH@@")
	var b bytes.Buffer
	for _, c := range renderPageCases() {
		pg, err := renderPage(c.in)
		if err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		end := strings.Replace(pg.end(), decryptorPacked(), "@@DECRYPTOR@@\n", 1)
		fmt.Fprintf(&b, "=== %s\n%s@@PAYLOAD@@%s\n", c.name, bundle.Replace(pg.head), bundle.Replace(end))
	}
	for _, c := range renderNotificationCases(t) {
		n, err := newNotification(c.req, c.opt, "securedoc_20261204T012000.html")
		if err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		fmt.Fprintf(&b, "=== %s text\n%s\n=== %s html\n%s\n", c.name, n.text, c.name, n.html)
	}
	return b.Bytes()
}

// The securedoc page, the Open Online page and the notification's parts
// are byte for byte what they were when testdata/render.golden was
// written: a change made for speed must not change a byte.
func TestRenderGolden(t *testing.T) {
	got := renderAll(t)
	if again := renderAll(t); !bytes.Equal(again, got) {
		t.Fatal("rendering again (from the cached parts) differs from the first rendering")
	}
	const path = "testdata/render.golden"
	if *updateRender {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Equal(got, want) {
		return
	}
	g, w := strings.Split(string(got), "\n"), strings.Split(string(want), "\n")
	for i := range min(len(g), len(w)) {
		if g[i] != w[i] {
			t.Fatalf("rendering differs from %s at line %d:\n got: %q\nwant: %q", path, i+1, g[i], w[i])
		}
	}
	t.Fatalf("rendering differs from %s: %d lines, want %d", path, len(g), len(w))
}

// The cached parts of a page (pageStatic) are never reused for a page they
// were not made for: changing any one input of renderPage after a page was
// rendered gives the page rendered with an empty cache, and a page that
// differs from the first. Every field of pageInput must have a change here.
func TestPageStaticKey(t *testing.T) {
	base := pageInput{
		id: "abcdefghijklmnopqrstuvwxyz", profile: ProfileRFC4880, publicURL: "https://keys.example.org",
		org: "Example Clinic", helpURL: "https://help.example.org", support: "+1 555 0100",
		display:    Display{From: "a@example.org", To: "b@ext.example", Subject: "Results", Date: "Fri, 4 Dec 2026 01:20:00 +0000"},
		recipients: []string{"b@ext.example"},
	}
	changes := map[string]func(*pageInput){
		"id":             func(in *pageInput) { in.id = "zyxwvutsrqponmlkjihgfedcba" },
		"profile":        func(in *pageInput) { in.profile = ProfileRFC9580 },
		"publicURL":      func(in *pageInput) { in.publicURL = "https://keys2.example.org/x" },
		"org":            func(in *pageInput) { in.org = "Other Clinic" },
		"helpURL":        func(in *pageInput) { in.helpURL = "https://help.example.org/other" },
		"support":        func(in *pageInput) { in.support = "+1 555 0199" },
		"display":        func(in *pageInput) { in.display.Cc = "c@ext.example" },
		"recipients":     func(in *pageInput) { in.recipients = []string{"c@ext.example"} },
		"sharedPassword": func(in *pageInput) { in.sharedPassword = true },
		"online":         func(in *pageInput) { in.online = true },
		"nonce":          func(in *pageInput) { in.nonce = "bm9uY2U" },
		"lang":           func(in *pageInput) { in.lang = "es" },
		"linked":         func(in *pageInput) { in.linked = true },
	}
	typ := reflect.TypeOf(pageInput{})
	for i := range typ.NumField() {
		if changes[typ.Field(i).Name] == nil {
			t.Errorf("pageInput.%s: no change in this test", typ.Field(i).Name)
		}
	}
	render := func(in pageInput, cold bool) string {
		t.Helper()
		if cold {
			pageStatics.Lock()
			pageStatics.m = nil
			pageStatics.Unlock()
		}
		pg, err := renderPage(in)
		if err != nil {
			t.Fatal(err)
		}
		return pg.head + pg.end()
	}
	first := render(base, true)
	for name, change := range changes {
		in := base
		change(&in)
		render(base, true) // the cache holds the first page's parts
		warm := render(in, false)
		if cold := render(in, true); warm != cold {
			t.Errorf("%s changed: the page differs from one rendered with an empty cache", name)
		}
		if warm == first {
			t.Errorf("%s changed: the page did not change", name)
		}
	}
}

// A key's copy of the page template has the key's parts written in as
// text, and the message's own values (what a stranger can put in the
// header) still as actions through html/template's escapers; a hostile
// subject comes out escaped.
func TestPageForKey(t *testing.T) {
	for _, online := range []bool{false, true} {
		in := pageInput{id: "abcdefghijklmnopqrstuvwxyz", profile: ProfileRFC4880, publicURL: "https://keys.example.org", org: "Org", lang: "en", linked: !online, online: online,
			display: Display{From: hostile[0], To: "b@ext.example", Subject: hostile[2], Date: "Fri, 4 Dec 2026 01:20:00 +0000"}, recipients: []string{"b@ext.example"}}
		pg, err := renderPage(in)
		if err != nil {
			t.Fatal(err)
		}
		if html := pg.head + pg.end(); strings.Contains(html, "</script><script>alert") || strings.Contains(html, "</textarea><textarea>") {
			t.Errorf("online %v: a hostile header value is not escaped:\n%s", online, html)
		}
		pageStatics.Lock()
		var trees []string
		for _, s := range pageStatics.m {
			trees = append(trees, s.page.Tree.Root.String())
		}
		pageStatics.Unlock()
		for _, tree := range trees {
			for _, gone := range []string{"{{.S.", "{{.KeyService", "{{.OpenURL", "{{if .KeyService", "{{if .OpenURL"} {
				if strings.Contains(tree, gone) {
					t.Errorf("online %v: the key's copy still has %s", online, gone)
				}
			}
			for _, kept := range []string{"{{.From | _html_template_htmlescaper}}", "{{.Subject | _html_template_htmlescaper}}", "{{.ID | _html_template_attrescaper}}", "{{.Data | _html_template_jsvalescaper}}"} {
				if !strings.Contains(tree, kept) {
					t.Errorf("online %v: the key's copy has no %s:\n%s", online, kept, tree)
				}
			}
		}
		if len(trees) == 0 {
			t.Error("no page in the cache")
		}
	}
}
