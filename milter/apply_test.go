package milter

import (
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"testing"

	"github.com/d--j/go-milter"
	"github.com/postseal/postseal/policy"
)

// refusingMTA records the changes a session sends, in order, and refuses
// the one named by fail ("insert NAME", "delrcpt ADDRESS"), as an MTA that
// rejects a modification or whose connection breaks mid-way.
type refusingMTA struct {
	recorder
	fail  string
	calls []string
}

func (r *refusingMTA) call(c string) error {
	r.calls = append(r.calls, c)
	if c == r.fail {
		return errors.New("MTA refused " + c)
	}
	return nil
}

func (r *refusingMTA) ChangeHeader(i int, name, _ string) error {
	return r.call(fmt.Sprintf("change %s %d", name, i))
}
func (r *refusingMTA) InsertHeader(_ int, name, _ string) error { return r.call("insert " + name) }
func (r *refusingMTA) DeleteRecipient(rcpt string) error        { return r.call("delrcpt " + rcpt) }
func (r *refusingMTA) ReplaceBodyRawChunk([]byte) error         { return r.call("body") }

// endOfMessage sends one message through a session to m and returns its
// answer and the log lines.
func endOfMessage(t *testing.T, p *policy.Policy, m *refusingMTA, rcpts []string, fields [][2]string, body string) (string, string) {
	t.Helper()
	var logs syncBuffer
	f := New(p, newMemStore(), &fakeSender{}, slog.New(slog.NewTextHandler(&logs, nil)), Config{SpoolDir: t.TempDir()})
	s := &session{f: f, leadingSpace: true}
	s.MailFrom("<doc@example.org>", "", m)
	for _, r := range rcpts {
		s.RcptTo("<"+r+">", "", m)
	}
	for _, h := range fields {
		s.Header(h[0], " "+h[1], m)
	}
	if r := replyCode(s.Headers(m)); r != milter.RespContinue.String() {
		t.Fatalf("end of header: %s; want the body asked for", r)
	}
	s.BodyChunk([]byte(body), m)
	return replyCode(s.EndOfMessage(m)), strings.Join(logs.lines(), "\n")
}

// A change the MTA refuses stops the ones after it: the session answers
// with the error (go-milter drops the connection, the MTA temp-fails the
// message) and logs a temp-fail, never an accept of a half-changed copy.
// Each case first runs without a refusal, to show that changes follow the
// refused one.
func TestApplyStopsAtRefusedChange(t *testing.T) {
	noSubject := [][2]string{{"From", "Dr Who <doc@example.org>"}, {"To", "pat@ext.example"}}
	mixed := [][2]string{{"From", "Dr Who <doc@example.org>"}, {"To", "nurse@example.org, pat@ext.example, sam@ext.example"}, {"Subject", "*secure* Lab results"}}
	for _, tc := range []struct {
		name   string
		p      *policy.Policy
		rcpts  []string
		fields [][2]string
		body   string
		fail   string
	}{
		// The scanner sealed a message without a Subject: one is inserted
		// before the sealed copy's own fields.
		{"inserted subject", scannerPolicy(t, nil), []string{"pat@ext.example"}, noSubject, ssnBody, "insert Subject"},
		{"first added field", testPolicy(t), []string{"pat@ext.example"}, protoHeaders, testBody, "insert MIME-Version"},
		// Split: both outsiders got their sealed copy re-injected and must
		// leave the MTA's clear copy.
		{"first recipient removed", testPolicy(t), []string{"nurse@example.org", "pat@ext.example", "sam@ext.example"}, mixed, testBody, "delrcpt pat@ext.example"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			all := &refusingMTA{}
			if got, _ := endOfMessage(t, tc.p, all, tc.rcpts, tc.fields, tc.body); got != milter.RespAccept.String() {
				t.Fatalf("without a refusal: %s; want accept", got)
			}
			i := slices.Index(all.calls, tc.fail)
			if i < 0 || i == len(all.calls)-1 {
				t.Fatalf("changes %q; want %q followed by others", all.calls, tc.fail)
			}

			m := &refusingMTA{fail: tc.fail}
			got, logs := endOfMessage(t, tc.p, m, tc.rcpts, tc.fields, tc.body)
			if !strings.HasPrefix(got, "error: ") || !strings.Contains(got, tc.fail) {
				t.Errorf("answer %s; want the MTA's error", got)
			}
			if !slices.Equal(m.calls, all.calls[:i+1]) {
				t.Errorf("changes %q after the refusal of %q; want them to stop there (%q)", m.calls, tc.fail, all.calls[:i+1])
			}
			if !strings.Contains(logs, "outcome=tempfailed") || !strings.Contains(logs, "reason=mta") || strings.Contains(logs, "outcome=sealed") {
				t.Errorf("log after a refused change:\n%s\nwant one temp-fail, reason mta", logs)
			}
		})
	}
}
