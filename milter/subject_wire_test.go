package milter

import (
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/d--j/go-milter"
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
	f := New(scannerPolicy(t, nil), newMemStore(), &fakeSender{}, discardLog(), Config{SpoolDir: t.TempDir()})
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

// headerRecorder records the header changes a session sends.
type headerRecorder struct {
	recorder
	got []string
}

func (r *headerRecorder) ChangeHeader(i int, name, value string) error {
	r.got = append(r.got, fmt.Sprintf("change %s %d %q", name, i, value))
	return nil
}

func (r *headerRecorder) InsertHeader(_ int, name, value string) error {
	r.got = append(r.got, fmt.Sprintf("insert %s %q", name, value))
	return nil
}

// An MTA that does not keep the space after the colon (no leading-space
// option): the session puts it back so the sealed original is the message
// as sent (a folded value starting with a tab is left alone), and sends its
// own changes without one.
func TestSessionWithoutLeadingSpace(t *testing.T) {
	f := newFilter(t, newMemStore(), &fakeSender{})
	m := &headerRecorder{}
	s := &session{f: f, leadingSpace: false}
	s.MailFrom("<doc@example.org>", "", m)
	s.RcptTo("<pat@ext.example>", "", m)
	for _, h := range [][2]string{{"From", "Dr Who <doc@example.org>"}, {"To", "pat@ext.example"}, {"Subject", "*secure* Lab results"}, {"X-Folded", "\tfolded"}} {
		s.Header(h[0], h[1], m)
	}
	if got := s.trx.Fields; got[2].Value != " *secure* Lab results" || got[3].Value != "\tfolded" {
		t.Errorf("fields as kept %q; want the space restored, the tab-folded value as is", got)
	}
	if r := replyCode(s.Headers(m)); r != milter.RespContinue.String() {
		t.Fatalf("end of header: %s", r)
	}
	s.BodyChunk([]byte(testBody), m)
	if r := replyCode(s.EndOfMessage(m)); r != milter.RespAccept.String() {
		t.Fatalf("end of message: %s", r)
	}
	if !slices.Contains(m.got, `change Subject 1 "Lab results [-Encrypted-]"`) {
		t.Errorf("changes %q; want the subject without a leading space", m.got)
	}
}

// A subject word as long as a header line may be (998 octets with
// "Subject: ") is sealed: the encoded subject's lines are checked against
// that limit, not below it.
func TestSealLongestSubjectWord(t *testing.T) {
	st := newMemStore()
	f := newFilter(t, st, &fakeSender{})
	word := strings.Repeat("x", 998-len("Subject: "))
	out := decide(t, f, newTrx("*secure* "+word, "pat@ext.example"))
	if !out.Accepted() || out.Changes == nil || out.Changes.Subject == nil || len(st.recorded()) != 1 {
		t.Fatalf("outcome %+v; want sealed", out)
	}
	if got := *out.Changes.Subject; !strings.HasPrefix(got, word+"\r\n") {
		t.Errorf("subject %.40q...; want the word on a line of its own", got)
	}
}
