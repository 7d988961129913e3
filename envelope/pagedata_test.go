package envelope

import (
	"encoding/json"
	"html"
	"regexp"
	"strings"
	"testing"
)

// pageJSON is the decryptor's view of #postseal-data.
type pageJSON struct {
	Envelope   string            `json:"envelope"`
	PublicURL  string            `json:"publicURL"`
	Org        string            `json:"org"`
	Mode       string            `json:"mode"`
	Recipients []string          `json:"recipients"`
	Lang       string            `json:"lang"`
	Messages   map[string]string `json:"messages"`
}

func pageDataOf(t *testing.T, page string) pageJSON {
	t.Helper()
	m := regexp.MustCompile(`(?s)<script type="application/json" id="postseal-data">(.*?)</script>`).FindStringSubmatch(page)
	if m == nil {
		t.Fatal("no postseal-data block")
	}
	var d pageJSON
	if err := json.Unmarshal([]byte(m[1]), &d); err != nil {
		t.Fatalf("postseal-data is not JSON: %v\n%s", err, m[1])
	}
	return d
}

func metaOf(t *testing.T, page string) PageMeta {
	t.Helper()
	m := regexp.MustCompile(`(?s)<input type="hidden" name="meta" value="([^"]*)">`).FindStringSubmatch(page)
	if m == nil {
		t.Fatal("no meta field in the Open Online form")
	}
	// A browser submits the value with its line ends as CRLF.
	value := html.UnescapeString(m[1])
	var meta PageMeta
	if err := json.Unmarshal([]byte(value), &meta); err != nil {
		t.Fatalf("meta is not JSON: %v\n%s", err, value)
	}
	if got := ParsePageMeta(value); got.Subject != meta.Subject || len(got.Recipients) != len(meta.Recipients) {
		t.Errorf("ParsePageMeta = %+v, want %+v", got, meta)
	}
	return meta
}

func TestPageDataAndMeta(t *testing.T) {
	opt := testOptions()
	opt.OrgName = "Example Health & Ünïversity <Hospital>"
	req := hostileRequest(t)
	longIDN := strings.Repeat("ü", 200) + "@example.jp" // its line would be too long: left out
	req.Recipients = append(req.Recipients, longIDN)
	page := string(parseNotification(t, sealOK(t, req, opt)).page)

	d := pageDataOf(t, page)
	if d.Envelope != req.ID || d.PublicURL != opt.PublicURL || d.Org != opt.OrgName || d.Mode != "key" {
		t.Errorf("postseal-data = %+v", d)
	}
	if strings.Join(d.Recipients, "|") != strings.Join(req.Recipients[:3], "|") {
		t.Errorf("recipients = %q, want %q", d.Recipients, req.Recipients[:3])
	}

	meta := metaOf(t, page)
	if meta.From != req.Display.From || meta.Date != req.Display.Date {
		t.Errorf("meta from/date = %q, %q", meta.From, meta.Date)
	}
	if want := []string{`"Bob & Co" <bob@partner.example>`, "山田太郎 <yamada@example.jp>"}; strings.Join(meta.To, "|") != strings.Join(want, "|") {
		t.Errorf("meta to = %q, want %q", meta.To, want)
	}
	if len(meta.Cc) != 200 || meta.Cc[0] != "carol.longname@partner.example" {
		t.Errorf("meta cc: %d entries, first %q", len(meta.Cc), meta.Cc)
	}
	// The 3,000-character subject is cut to fit a line, and says so.
	if !strings.HasPrefix(req.Display.Subject, strings.TrimSuffix(meta.Subject, "...")) || !strings.HasSuffix(meta.Subject, "...") || len(meta.Subject) < 200 {
		t.Errorf("meta subject %d chars: %q", len(meta.Subject), meta.Subject)
	}
	if len(meta.Recipients) != 3 || meta.SharedPassword {
		t.Errorf("meta recipients %q, shared %v", meta.Recipients, meta.SharedPassword)
	}
}

func TestPageDataSharedPassword(t *testing.T) {
	req := testRequest(textMessage())
	req.Password = []byte("Partner-Shared-Secret-2026")
	page := string(parseNotification(t, sealOK(t, req, testOptions())).page)
	if d := pageDataOf(t, page); d.Mode != "password" {
		t.Errorf("mode = %q, want password", d.Mode)
	}
	if !metaOf(t, page).SharedPassword {
		t.Error("meta does not mark the shared password")
	}
}

func TestJSONString(t *testing.T) {
	for _, s := range []string{"plain", `</script><!--"\`, "Zoë 山田 😀", "bad\xffutf8", "line\u2028sep\x00"} {
		j := jsonString(s)
		for i := 0; i < len(j); i++ {
			if j[i] < 0x20 || j[i] > 0x7e {
				t.Errorf("jsonString(%q) = %q: byte %#x", s, j, j[i])
			}
		}
		if strings.Contains(strings.ToLower(j), "</script") || strings.Contains(j, "<!--") {
			t.Errorf("jsonString(%q) = %q can end a script element", s, j)
		}
		var back string
		if err := json.Unmarshal([]byte(j), &back); err != nil || back != strings.ToValidUTF8(s, "\uFFFD") {
			t.Errorf("jsonString(%q) = %q decodes to %q, %v", s, j, back, err)
		}
	}
}

func TestJSONLinesBudget(t *testing.T) {
	huge := strings.Repeat(`"+'`, 2000)
	for name, cost := range map[string]func(string) int{"script": scriptLen, "attribute": attrLen} {
		out := jsonLines(cost, jsonField{"a", huge}, jsonField{"b", displayList{huge, "ok"}}, jsonField{"c", []string{huge, "kept"}}, jsonField{"d", true})
		for i, line := range strings.Split(out, "\n") {
			if cost(line) > lineBudget+2 {
				t.Errorf("%s: line %d costs %d", name, i+1, cost(line))
			}
		}
		var v struct {
			A string
			B []string
			C []string
			D bool
		}
		if err := json.Unmarshal([]byte(out), &v); err != nil {
			t.Fatalf("%s: %v\n%s", name, err, out)
		}
		if !strings.HasSuffix(v.A, "...") || len(v.B) != 2 || !strings.HasSuffix(v.B[0], "...") || strings.Join(v.C, ",") != "kept" || !v.D {
			t.Errorf("%s: %+v", name, v)
		}
	}
}

func TestSplitAddresses(t *testing.T) {
	tests := map[string][]string{
		"":                                  nil,
		"a@x":                               {"a@x"},
		`"Doe, Jane" <j@x>, b@y`:            {`"Doe, Jane" <j@x>`, "b@y"},
		`"Q \" , q" <q@x>,,  c@z , `:        {`"Q \" , q" <q@x>`, "c@z"},
		`<odd,addr@x>, Name <n@x>`:          {`<odd,addr@x>`, "Name <n@x>"},
		"undisclosed-recipients:;, d@x.org": {"undisclosed-recipients:;", "d@x.org"},
	}
	for in, want := range tests {
		if got := splitAddresses(in); strings.Join(got, "|") != strings.Join(want, "|") {
			t.Errorf("splitAddresses(%q) = %q, want %q", in, got, want)
		}
	}
}
