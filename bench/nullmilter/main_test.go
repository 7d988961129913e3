package main

import (
	"bytes"
	"fmt"
	"net"
	"reflect"
	"testing"

	"github.com/d--j/go-milter"
)

// session runs messages through the server on one MTA connection with
// go-milter's protocol client.
type session struct {
	t *testing.T
	s *milter.ClientSession
}

func connect(t *testing.T, e *edits) session {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := newServer(e)
	go srv.Serve(l)
	t.Cleanup(func() { srv.Close() })
	s, err := milter.NewClient("tcp", l.Addr().String()).Session(milter.NewMacroBag())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	if _, err := s.Conn("client.example", milter.FamilyInet, 25, "127.0.0.1"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Helo("client.example"); err != nil {
		t.Fatal(err)
	}
	return session{t, s}
}

// send sends one message and returns the changes asked for, each as a
// line, and the final action (nil changes: answered at the end of the
// header).
func (c session) send(headers [][2]string, body []byte) ([]string, milter.ActionType) {
	c.t.Helper()
	for _, step := range []func() (*milter.Action, error){
		func() (*milter.Action, error) { return c.s.Mail("<a@example.org>", "") },
		func() (*milter.Action, error) { return c.s.Rcpt("<b@example.net>", "") },
		c.s.DataStart,
	} {
		if _, err := step(); err != nil {
			c.t.Fatal(err)
		}
	}
	for _, h := range headers {
		if _, err := c.s.HeaderField(h[0], " "+h[1], nil); err != nil {
			c.t.Fatal(err)
		}
	}
	act, err := c.s.HeaderEnd()
	if err != nil {
		c.t.Fatal(err)
	}
	if act.Type != milter.ActionContinue {
		return nil, act.Type
	}
	mods, act, err := c.s.BodyReadFrom(bytes.NewReader(body))
	if err != nil {
		c.t.Fatal(err)
	}
	var got []string
	for _, m := range mods {
		switch m.Type {
		case milter.ActionChangeHeader:
			got = append(got, fmt.Sprintf("change %s %d %q", m.HeaderName, m.HeaderIndex, m.HeaderValue))
		case milter.ActionInsertHeader:
			got = append(got, fmt.Sprintf("insert %s %q", m.HeaderName, m.HeaderValue))
		case milter.ActionReplaceBody:
			got = append(got, fmt.Sprintf("body %d", len(m.Body)))
		default:
			got = append(got, fmt.Sprintf("other %v", m.Type))
		}
	}
	return got, act.Type
}

func TestPassModeAcceptsAtTheEndOfTheHeader(t *testing.T) {
	c := connect(t, nil)
	if mods, act := c.send([][2]string{{"Subject", "s"}}, []byte("body\r\n")); mods != nil || act != milter.ActionAccept {
		t.Fatalf("changes %q, action %v; want accept at the end of the header", mods, act)
	}
}

func TestReplaceMode(t *testing.T) {
	body := bytes.Repeat([]byte("x"), 2*chunkSize+10)
	subject := "new\n\tfolded"
	e, err := parseEdits(body, &subject, []string{"MIME-Version: 1.0", "X-Postseal-Envelope:abc"}, []string{"Content-Type", "X-Trace"})
	if err != nil {
		t.Fatal(err)
	}
	c := connect(t, e)
	got, act := c.send([][2]string{
		{"Received", "from a"}, {"Subject", "one"}, {"content-type", "text/plain"}, {"X-Trace", "1"},
		{"Subject", "two"}, {"X-Trace", "2"}, {"From", "a@example.org"},
	}, []byte("the original body\r\n"))
	want := []string{
		// Last to first, so that the indexes still to come stay valid.
		`change X-Trace 2 ""`, `change Subject 2 ""`, `change X-Trace 1 ""`, `change content-type 1 ""`,
		`change Subject 1 " new\n\tfolded"`,
		`insert MIME-Version " 1.0"`, `insert X-Postseal-Envelope " abc"`,
		fmt.Sprintf("body %d", chunkSize), fmt.Sprintf("body %d", chunkSize), "body 10",
	}
	if !reflect.DeepEqual(got, want) || act != milter.ActionAccept {
		t.Fatalf("changes\n%q, action %v\nwant\n%q, accept", got, act, want)
	}
	// The next message on the connection starts counting afresh; without a
	// Subject, one is inserted.
	got, act = c.send([][2]string{{"X-Trace", "3"}}, []byte("b\r\n"))
	want = []string{
		`change X-Trace 1 ""`, `insert Subject " new\n\tfolded"`,
		`insert MIME-Version " 1.0"`, `insert X-Postseal-Envelope " abc"`,
		fmt.Sprintf("body %d", chunkSize), fmt.Sprintf("body %d", chunkSize), "body 10",
	}
	if !reflect.DeepEqual(got, want) || act != milter.ActionAccept {
		t.Fatalf("second message: changes\n%q, action %v\nwant\n%q, accept", got, act, want)
	}
}

func TestReplaceModeSubjectLeftAlone(t *testing.T) {
	e, err := parseEdits([]byte("b\r\n"), nil, nil, []string{"subject"})
	if err != nil {
		t.Fatal(err)
	}
	got, _ := connect(t, e).send([][2]string{{"Subject", "one"}, {"Subject", "two"}}, []byte("x\r\n"))
	if want := []string{`change Subject 2 ""`, `change Subject 1 ""`, "body 3"}; !reflect.DeepEqual(got, want) {
		t.Fatalf("changes %q, want %q", got, want)
	}
}

func TestParseEditsRefusesAFieldWithoutName(t *testing.T) {
	for _, a := range []string{"no colon", ": value", "Two words: v"} {
		if _, err := parseEdits(nil, nil, []string{a}, nil); err == nil {
			t.Errorf("-add %q taken", a)
		}
	}
}
