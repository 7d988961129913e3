package keyserver

import (
	"errors"
	"log/slog"
	"net/http"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/postseal/postseal/test/mta"
)

// recordLog has the fixture's server log into the returned buffer (from
// before its first request on): some outcomes only the log tells the
// operator (work done in the background, best-effort mail).
func (f *fixture) recordLog() *mta.LogBuffer {
	l := &mta.LogBuffer{}
	f.srv.log = slog.New(slog.NewTextHandler(l, &slog.HandlerOptions{Level: slog.LevelDebug}))
	return l
}

// loggedLines returns the lines of l that contain every one of words.
func loggedLines(l *mta.LogBuffer, words ...string) []string {
	var out []string
	for _, line := range strings.Split(l.String(), "\n") {
		all := line != ""
		for _, w := range words {
			all = all && strings.Contains(line, w)
		}
		if all {
			out = append(out, line)
		}
	}
	return out
}

// First and last name together may have maxDisplayName characters, not
// octets: a name of exactly that many (two octets each) registers, one
// more is refused.
func TestRegisterNameLengthEdge(t *testing.T) {
	f := newFixture(t)
	f.putEnvelope("env1", "ann@partner.example")
	first := strings.Repeat("é", 40)
	last := strings.Repeat("ß", maxDisplayName-1-40)
	if n := utf8.RuneCountInString(first + " " + last); n != maxDisplayName {
		t.Fatalf("test name of %d characters", n)
	}
	v := registration("ann@partner.example")
	v.Set("first_name", first)
	v.Set("last_name", last+"ß")
	if rec := f.postForm("/register", v); rec.Code != http.StatusBadRequest || !strings.Contains(rec.Body.String(), "at most 64 characters") {
		t.Errorf("a name of %d characters: %d; want 400 saying at most 64", maxDisplayName+1, rec.Code)
	}
	v.Set("last_name", last)
	if rec := f.postForm("/register", v); rec.Code != http.StatusOK {
		t.Fatalf("a name of exactly %d characters: %d; want 200: %s", maxDisplayName, rec.Code, rec.Body)
	}
	link := f.link("ann@partner.example")
	if rec := f.postForm(link, activation(testPassword)); rec.Code != http.StatusOK {
		t.Fatalf("activate: %d", rec.Code)
	}
	if a := f.account("ann@partner.example"); a.FirstName != first || a.LastName != last {
		t.Errorf("account names %q %q; want %q %q", a.FirstName, a.LastName, first, last)
	}
}

// What registration does with an address happens after the answer, so
// the operator learns of a refusal or a failure from the log alone: a
// registration refused for an address that receives nothing is logged as
// such, and one whose mail cannot be queued is logged as an error; a
// registration that went through logs neither.
func TestRegisterOutcomesLogged(t *testing.T) {
	f := newFixture(t)
	log := f.recordLog()
	f.putEnvelope("env1", "ann@partner.example")
	if rec := f.postForm("/register", registration("stranger@elsewhere.example")); rec.Code != http.StatusOK {
		t.Fatalf("stranger: %d", rec.Code)
	}
	if rec := f.postForm("/register", registration("ann@partner.example")); rec.Code != http.StatusOK {
		t.Fatalf("recipient: %d", rec.Code)
	}
	f.srv.Close()
	if got := loggedLines(log, "registration refused", "stranger@elsewhere.example"); len(got) != 1 {
		t.Errorf("the stranger's refusal logged %d times; want once", len(got))
	}
	if got := loggedLines(log, "registration refused", "ann@partner.example"); len(got) != 0 {
		t.Errorf("the recipient's registration logged as refused: %q", got)
	}
	if got := loggedLines(log, "level=ERROR"); len(got) != 0 {
		t.Errorf("errors logged for registrations that went as planned: %q", got)
	}

	g := newFixture(t)
	log = g.recordLog()
	g.putEnvelope("env1", "ann@partner.example")
	g.mail.fail = errors.New("queue full")
	if rec := g.postForm("/register", registration("ann@partner.example")); rec.Code != http.StatusOK {
		t.Fatalf("register with the queue failing: %d", rec.Code)
	}
	g.srv.Close()
	if got := loggedLines(log, "level=ERROR", "key service: registration", "ann@partner.example", "queue full"); len(got) != 1 {
		t.Errorf("a registration whose mail failed logged %d errors; want 1", len(got))
	}
}
