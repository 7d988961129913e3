package envelope

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
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
