package milter

import (
	"bytes"
	"strings"
	"testing"

	"github.com/d--j/go-milter"
	"github.com/d--j/go-milter/mailfilter"
)

// session runs one message through a real mailfilter server with
// go-milter's own protocol client, as an MTA would.
func session(t *testing.T, f *Filter, opts []mailfilter.Option, from string, rcpts []string, headers [][2]string, body []byte) ([]milter.ModifyAction, *milter.Action) {
	t.Helper()
	mf, err := mailfilter.New("tcp", "127.0.0.1:0", f.Decide, opts...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(mf.Close)
	client := milter.NewClient("tcp", mf.Addr().String())
	s, err := client.Session(milter.NewMacroBag())
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	step := func(a *milter.Action, err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		if a.StopProcessing() {
			t.Fatalf("milter stopped early: %+v", a)
		}
	}
	step(s.Conn("client.example", milter.FamilyInet, 25, "127.0.0.1"))
	step(s.Helo("client.example"))
	step(s.Mail("<"+from+">", ""))
	for _, r := range rcpts {
		step(s.Rcpt("<"+r+">", ""))
	}
	step(s.DataStart())
	for _, h := range headers {
		// The client does not add the leading space an MTA sends.
		step(s.HeaderField(h[0], " "+h[1], nil))
	}
	step(s.HeaderEnd())
	// BodyReadFrom sends the body and the end of message.
	mods, act, err := s.BodyReadFrom(bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	return mods, act
}

var protoHeaders = [][2]string{
	{"From", "Dr Who <doc@example.org>"},
	{"To", "pat@ext.example"},
	{"Subject", "*secure* Palliative care consult"},
	{"Content-Type", "text/plain"},
}

func TestProtocolSeal(t *testing.T) {
	st := newMemStore()
	f := newFilter(t, st, &fakeSender{})
	mods, act := session(t, f, f.Options(1024, 1<<30), "doc@example.org", []string{"pat@ext.example"}, protoHeaders, []byte(testBody))
	if act.Type != milter.ActionAccept && act.Type != milter.ActionContinue {
		t.Fatalf("final action %+v; want accept", act)
	}
	var subject string
	var body []byte
	for _, m := range mods {
		switch m.Type {
		case milter.ActionChangeHeader, milter.ActionInsertHeader:
			if m.HeaderName == "Subject" {
				subject = m.HeaderValue
			}
		case milter.ActionReplaceBody:
			body = append(body, m.Body...)
		}
	}
	if subject != " Palliative care consult [-Encrypted-]" {
		t.Errorf("Subject change %q", subject)
	}
	if !bytes.Contains(body, []byte("BEGIN PGP MESSAGE")) || bytes.Contains(body, []byte("Jane Roe")) {
		t.Errorf("replacement body is not the sealed notification")
	}
	if len(st.envs) != 1 {
		t.Errorf("%d envelopes stored", len(st.envs))
	}
}

func TestProtocolPassIsUntouched(t *testing.T) {
	f := newFilter(t, newMemStore(), &fakeSender{})
	h := append([][2]string{}, protoHeaders...)
	h[2][1] = "Lunch"
	mods, act := session(t, f, f.Options(1024, 1<<30), "doc@example.org", []string{"pat@ext.example"}, h, []byte(testBody))
	if act.Type != milter.ActionAccept && act.Type != milter.ActionContinue {
		t.Fatalf("final action %+v", act)
	}
	if len(mods) != 0 {
		t.Errorf("untriggered message modified: %+v", mods)
	}
}

// A body over the collection limit is refused, never truncated and sealed.
func TestProtocolBodyOverLimitRefused(t *testing.T) {
	st := newMemStore()
	f := newFilter(t, st, &fakeSender{})
	_, act := session(t, f, f.Options(1024, 4096), "doc@example.org", []string{"pat@ext.example"}, protoHeaders, bytes.Repeat([]byte("x"), 10000))
	if act.Type != milter.ActionRejectWithCode || !strings.HasPrefix(act.SMTPReply, "552") {
		t.Fatalf("action %+v; want a 552 rejection", act)
	}
	if len(st.envs) != 0 {
		t.Error("a truncated body was sealed")
	}
}

// The header cap is enforced without per-header replies: a message that
// reaches it is refused, never filtered on a truncated header.
func TestProtocolTooManyHeadersRefused(t *testing.T) {
	st := newMemStore()
	f := newFilter(t, st, &fakeSender{})
	f.maxHeaders = 5
	h := append([][2]string{{"X-A", "1"}, {"X-B", "2"}}, protoHeaders...) // Subject is the 5th field
	_, act := session(t, f, f.Options(1024, 1<<30), "doc@example.org", []string{"pat@ext.example"}, h, []byte(testBody))
	if act.Type != milter.ActionRejectWithCode || !strings.HasPrefix(act.SMTPReply, "552 5.3.4") {
		t.Fatalf("action %+v; want 552 5.3.4", act)
	}
	f.maxHeaders = 7
	_, act = session(t, f, f.Options(1024, 1<<30), "doc@example.org", []string{"pat@ext.example"}, h, []byte(testBody))
	if act.Type != milter.ActionAccept && act.Type != milter.ActionContinue {
		t.Fatalf("under the cap: %+v", act)
	}
	if len(st.envs) != 1 {
		t.Errorf("under the cap the message must be sealed (%d envelopes)", len(st.envs))
	}
}
