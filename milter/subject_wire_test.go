package milter

import (
	"fmt"
	"strings"
	"testing"

	"github.com/d--j/go-milter"
	"github.com/postseal/postseal/config"
	"github.com/postseal/postseal/policy"
)

// headerMods lists a session's header changes as the MTA receives them:
// "change NAME INDEX VALUE" (an empty value deletes) and "insert NAME VALUE".
func headerMods(r result) []string {
	var out []string
	for _, m := range r.mods {
		switch m.Type {
		case milter.ActionChangeHeader:
			out = append(out, fmt.Sprintf("change %s %d %q", m.HeaderName, m.HeaderIndex, m.HeaderValue))
		case milter.ActionInsertHeader:
			out = append(out, fmt.Sprintf("insert %s %q", m.HeaderName, m.HeaderValue))
		}
	}
	return out
}

// A second Subject field is deleted by its own index before the first is
// rewritten: a tag hidden in it must not travel, and deleting by a wrong
// index would remove or keep the wrong field at the MTA.
func TestProtocolSecondSubjectDeleted(t *testing.T) {
	f := newFilter(t, newMemStore(), &fakeSender{})
	headers := [][2]string{
		{"From", "Dr Who <doc@example.org>"},
		{"Subject", "*secure* Lab results"},
		{"To", "pat@ext.example"},
		{"Subject", "second"},
		{"Content-Type", "text/plain"},
	}
	r := runSession(t, f, "doc@example.org", []string{"pat@ext.example"}, headers, []byte(testBody))
	if r.final.Type != milter.ActionAccept {
		t.Fatalf("final %+v", r.final)
	}
	got := strings.Join(headerMods(r), "\n")
	want := strings.Join([]string{
		`change Content-Type 1 ""`,
		`change Subject 2 ""`,
		`change Subject 1 " Lab results [-Encrypted-]"`,
	}, "\n")
	if !strings.HasPrefix(got, want+"\n") {
		t.Errorf("header changes:\n%s\nwant them to start with (removals last to first, then the subject):\n%s", got, want)
	}
}

// A message without a Subject that the scanner seals gets one inserted
// (there is no first Subject to change).
func TestProtocolSubjectInsertedWhenAbsent(t *testing.T) {
	cfg := config.Default()
	cfg.Scanner.Enabled = true
	p, err := policy.Load(cfg)
	if err != nil {
		t.Fatal(err)
	}
	f := New(p, newMemStore(), &fakeSender{}, discardLog(), Config{SpoolDir: t.TempDir()})
	headers := [][2]string{{"From", "Dr Who <doc@example.org>"}, {"To", "pat@ext.example"}}
	r := runSession(t, f, "doc@example.org", []string{"pat@ext.example"}, headers, []byte(ssnBody))
	if r.final.Type != milter.ActionAccept {
		t.Fatalf("final %+v", r.final)
	}
	mods := headerMods(r)
	if len(mods) == 0 || mods[0] != `insert Subject " [-Encrypted-]"` {
		t.Errorf("header changes %q; want the marked subject inserted first", mods)
	}
	for _, m := range mods {
		if strings.HasPrefix(m, "change Subject") {
			t.Errorf("changed a Subject the message does not have: %s", m)
		}
	}
}
