package milter

import (
	"bytes"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"io"
	"net"
	"os"
	"slices"
	"strings"
	"testing"

	"github.com/d--j/go-milter"
	"github.com/postseal/postseal/config"
	"github.com/postseal/postseal/envelope"
)

// result is what the MTA side saw of one message.
type result struct {
	mods     []milter.ModifyAction
	final    *milter.Action
	atHeader bool // the answer came at the end of the header
}

// runSession sends one message through the filter's milter server with
// go-milter's own protocol client, as an MTA would.
func runSession(t *testing.T, f *Filter, from string, rcpts []string, headers [][2]string, body []byte) result {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := f.NewServer()
	go srv.Serve(l)
	t.Cleanup(func() { srv.Close() })
	return runSessionOn(t, l.Addr(), from, rcpts, headers, body)
}

// runSessionOn is runSession against a server already listening on addr.
func runSessionOn(t *testing.T, addr net.Addr, from string, rcpts []string, headers [][2]string, body []byte) result {
	t.Helper()
	client := milter.NewClient(addr.Network(), addr.String())
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
	act, err := s.HeaderEnd()
	if err != nil {
		t.Fatal(err)
	}
	if act.StopProcessing() || act.Type == milter.ActionAccept {
		return result{final: act, atHeader: true}
	}
	// BodyReadFrom sends the body and the end of message.
	mods, act, err := s.BodyReadFrom(bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	return result{mods: mods, final: act}
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
	r := runSession(t, f, "doc@example.org", []string{"pat@ext.example"}, protoHeaders, []byte(testBody))
	if r.atHeader || r.final.Type != milter.ActionAccept {
		t.Fatalf("final action %+v (at header: %v); want accept after the body", r.final, r.atHeader)
	}
	var subject string
	var body []byte
	var deleted, inserted []string
	for _, m := range r.mods {
		switch m.Type {
		case milter.ActionChangeHeader:
			if m.HeaderValue == "" {
				deleted = append(deleted, m.HeaderName)
			} else if m.HeaderName == "Subject" {
				subject = m.HeaderValue
			}
		case milter.ActionInsertHeader:
			inserted = append(inserted, m.HeaderName)
		case milter.ActionReplaceBody:
			body = append(body, m.Body...)
		}
	}
	if subject != " Palliative care consult [-Encrypted-]" {
		t.Errorf("Subject change %q", subject)
	}
	if strings.Join(deleted, ",") != "Content-Type" {
		t.Errorf("deleted fields %v; want the original Content-Type", deleted)
	}
	if strings.Join(inserted, ",") != "MIME-Version,Content-Type,X-Postseal-Envelope" {
		t.Errorf("inserted fields %v", inserted)
	}
	if !bytes.Contains(body, []byte("BEGIN PGP MESSAGE")) || bytes.Contains(body, []byte("Jane Roe")) {
		t.Errorf("replacement body is not the sealed notification")
	}
	if len(st.recorded()) != 1 {
		t.Errorf("%d envelopes stored", len(st.recorded()))
	}
}

// Mail that needs nothing is answered at the end of its header: the MTA
// does not send the body, and nothing is changed.
func TestProtocolPassAtHeader(t *testing.T) {
	f := newFilter(t, newMemStore(), &fakeSender{})
	h := append([][2]string{}, protoHeaders...)
	h[2][1] = "Lunch"
	r := runSession(t, f, "doc@example.org", []string{"pat@ext.example"}, h, []byte(testBody))
	if !r.atHeader || r.final.Type != milter.ActionAccept || len(r.mods) != 0 {
		t.Fatalf("untriggered message: %+v at header %v, %d changes; want accept at the header", r.final, r.atHeader, len(r.mods))
	}
	// Internal recipients only: the same, tag or not.
	r = runSession(t, f, "doc@example.org", []string{"nurse@example.org"}, protoHeaders, []byte(testBody))
	if !r.atHeader || r.final.Type != milter.ActionAccept {
		t.Fatalf("internal message: %+v at header %v", r.final, r.atHeader)
	}
}

// A triggered body over the secure limit is refused; it is counted, never
// kept whole, and never sealed truncated.
func TestProtocolBodyOverLimitRefused(t *testing.T) {
	p := testPolicy(t)
	p.Config.Milter.MaxSecureSize = config.Size(4096)
	st := newMemStore()
	spool := t.TempDir()
	f := New(p, st, &fakeSender{}, discardLog(), Config{SpoolDir: spool, MemMax: 1024})
	r := runSession(t, f, "doc@example.org", []string{"pat@ext.example"}, protoHeaders, bytes.Repeat([]byte("x"), 10000))
	if r.final.Type != milter.ActionRejectWithCode || !strings.HasPrefix(r.final.SMTPReply, "552 5.3.4") {
		t.Fatalf("action %+v; want a 552 rejection", r.final)
	}
	if len(st.recorded()) != 0 {
		t.Error("a truncated body was sealed")
	}
	if left, _ := os.ReadDir(spool); len(left) != 0 {
		t.Errorf("%d spool files left", len(left))
	}
}

// A body larger than memory goes through the spool and is sealed whole;
// the spool is empty afterwards.
func TestProtocolSpilledBodySealed(t *testing.T) {
	st := newMemStore()
	spool := t.TempDir()
	f := New(testPolicy(t), st, &fakeSender{}, discardLog(), Config{SpoolDir: spool, MemMax: 1024})
	body := bytes.Repeat([]byte("spilled line of text\r\n"), 5000)
	r := runSession(t, f, "doc@example.org", []string{"pat@ext.example"}, protoHeaders, body)
	if r.final.Type != milter.ActionAccept || len(st.recorded()) != 1 {
		t.Fatalf("final %+v, %d envelopes", r.final, len(st.recorded()))
	}
	var sealed []byte
	for _, m := range r.mods {
		if m.Type == milter.ActionReplaceBody {
			sealed = append(sealed, m.Body...)
		}
	}
	var key []byte
	for id := range st.recorded() {
		key = st.keys[id]
	}
	got := openPayload(t, sealed, envelope.Passphrase(key))
	if !bytes.HasSuffix(got, body) {
		t.Errorf("payload does not end with the whole body (%d bytes)", len(got))
	}
	if left, _ := os.ReadDir(spool); len(left) != 0 {
		t.Errorf("%d spool files left", len(left))
	}
}

// The header cap is enforced without per-header replies: a message that
// reaches it is refused, never filtered on a truncated header.
func TestProtocolTooManyHeadersRefused(t *testing.T) {
	st := newMemStore()
	f := New(testPolicy(t), st, &fakeSender{}, discardLog(), Config{SpoolDir: t.TempDir(), MaxHeaders: 5})
	h := append([][2]string{{"X-A", "1"}, {"X-B", "2"}}, protoHeaders...) // Subject is the 5th field
	r := runSession(t, f, "doc@example.org", []string{"pat@ext.example"}, h, []byte(testBody))
	if r.final.Type != milter.ActionRejectWithCode || !strings.HasPrefix(r.final.SMTPReply, "552 5.3.4") {
		t.Fatalf("action %+v; want 552 5.3.4", r.final)
	}
	f = New(testPolicy(t), st, &fakeSender{}, discardLog(), Config{SpoolDir: t.TempDir(), MaxHeaders: 7})
	r = runSession(t, f, "doc@example.org", []string{"pat@ext.example"}, h, []byte(testBody))
	if r.final.Type != milter.ActionAccept || len(st.recorded()) != 1 {
		t.Fatalf("under the cap: %+v, %d envelopes; want sealed", r.final, len(st.recorded()))
	}
}

// A store failure during a real session is a 451 with no header or
// recipient change sent. (The sealed body went out before its record
// failed; the MTA drops it with the temp-failed message.)
func TestProtocolStoreFailureTempFails(t *testing.T) {
	f := newFilter(t, &memStore{err: os.ErrPermission}, &fakeSender{})
	r := runSession(t, f, "doc@example.org", []string{"pat@ext.example"}, protoHeaders, []byte(testBody))
	others := slices.DeleteFunc(r.mods, func(m milter.ModifyAction) bool { return m.Type == milter.ActionReplaceBody })
	if r.final.Type != milter.ActionRejectWithCode || !strings.HasPrefix(r.final.SMTPReply, "451 4.3.0") || len(others) != 0 {
		t.Fatalf("action %+v with %d changes besides the body; want 451 4.3.0 and none", r.final, len(others))
	}
}

// recorder is a milter.Modifier for driving a session directly, the way a
// misbehaving peer would; methods the session must not call panic (nil).
type recorder struct {
	milter.Modifier
	changes int
}

func (r *recorder) Get(milter.MacroName) string           { return "Q1" }
func (r *recorder) GetEx(milter.MacroName) (string, bool) { return "Q1", true }
func (r *recorder) Progress() error                       { return nil }
func (r *recorder) ChangeHeader(int, string, string) error {
	r.changes++
	return nil
}
func (r *recorder) InsertHeader(int, string, string) error { r.changes++; return nil }
func (r *recorder) ReplaceBody(io.Reader) error            { r.changes++; return nil }
func (r *recorder) ReplaceBodyRawChunk([]byte) error       { r.changes++; return nil }
func (r *recorder) DeleteRecipient(string) error           { r.changes++; return nil }

func replyCode(resp *milter.Response, err error) string {
	if err != nil {
		return "error: " + err.Error()
	}
	return resp.String()
}

// A peer that sends the rest of a message after the header was answered
// gets the same answer again; one that skipped the end of the header gets a
// temporary failure. Neither gets an accept it was not given.
func TestSessionNeverAcceptsUndecided(t *testing.T) {
	f := New(testPolicy(t), newMemStore(), &fakeSender{}, discardLog(), Config{SpoolDir: t.TempDir(), MaxHeaders: 2})
	m := &recorder{}
	s := &session{f: f, leadingSpace: true}
	s.MailFrom("<doc@example.org>", "", m)
	s.RcptTo("<pat@ext.example>", "", m)
	for _, h := range protoHeaders {
		s.Header(h[0], " "+h[1], m)
	}
	early := replyCode(s.Headers(m))
	if !strings.Contains(early, "552") {
		t.Fatalf("header answer %s; want 552 (too many fields)", early)
	}
	s.BodyChunk([]byte(testBody), m)
	if got := replyCode(s.EndOfMessage(m)); got != early {
		t.Errorf("end of message answered %s after %s at the header", got, early)
	}

	f = newFilter(t, newMemStore(), &fakeSender{})
	s = &session{f: f, leadingSpace: true}
	s.MailFrom("<doc@example.org>", "", m)
	s.RcptTo("<pat@ext.example>", "", m)
	for _, h := range protoHeaders {
		s.Header(h[0], " "+h[1], m)
	}
	s.BodyChunk([]byte(testBody), m) // no end of header
	if got := replyCode(s.EndOfMessage(m)); !strings.Contains(got, "451") {
		t.Errorf("end of message without end of header answered %s; want 451", got)
	}
	if m.changes != 0 {
		t.Errorf("%d changes sent for undecided messages", m.changes)
	}
}

// Postfix sends every message of an SMTP session over one milter
// connection: nothing of one message may carry over to the next.
func TestSessionSeveralMessages(t *testing.T) {
	st := newMemStore()
	spool := t.TempDir()
	f := New(testPolicy(t), st, &fakeSender{}, discardLog(), Config{SpoolDir: spool, MemMax: 16})
	s := &session{f: f, leadingSpace: true}
	send := func(subject, rcpt string) (header, end string, m *recorder) {
		m = &recorder{}
		s.MailFrom("<doc@example.org>", "", m)
		s.RcptTo("<"+rcpt+">", "", m)
		for _, h := range protoHeaders {
			if h[0] == "Subject" {
				h[1] = subject
			}
			s.Header(h[0], " "+h[1], m)
		}
		header = replyCode(s.Headers(m))
		if s.body == nil {
			return header, "", m // answered at the header: the MTA sends no more
		}
		s.BodyChunk([]byte(testBody), m)
		return header, replyCode(s.EndOfMessage(m)), m
	}
	accept := milter.RespAccept.String()

	h, end, m := send("*secure* first", "pat@ext.example")
	if h == accept || end != accept || m.changes == 0 || len(st.recorded()) != 1 {
		t.Fatalf("first (tagged): header %s, end %s, %d changes, %d envelopes", h, end, m.changes, len(st.recorded()))
	}
	h, end, m = send("Lunch", "pat@ext.example")
	if h != accept || end != "" || m.changes != 0 {
		t.Fatalf("second (plain): header %s, end %q, %d changes; want accept at the header", h, end, m.changes)
	}
	h, end, m = send("++ third", "sam@ext.example")
	if h == accept || end != accept || m.changes == 0 || len(st.recorded()) != 2 {
		t.Fatalf("third (tagged): header %s, end %s, %d changes, %d envelopes", h, end, m.changes, len(st.recorded()))
	}
	for _, e := range st.recorded() {
		if len(e.Recipients) != 1 {
			t.Errorf("envelope %s has recipients %v: a previous message's leaked in", e.ID, e.Recipients)
		}
	}
	s.Cleanup(&recorder{})
	if left, _ := os.ReadDir(spool); len(left) != 0 {
		t.Errorf("%d spool files left after the connection", len(left))
	}
}

// Mixed recipients split the message: the external recipient gets a sealed
// copy re-injected, and the MTA is told on the wire to drop that recipient
// from the original, which the internal one still receives unchanged.
// Without the deletion the outsider would also get the message in clear.
func TestProtocolMixedRecipientsDeletesExternal(t *testing.T) {
	st := newMemStore()
	s := &fakeSender{}
	f := newFilter(t, st, s)
	h := append([][2]string{}, protoHeaders...)
	h[1][1] = "nurse@example.org, pat@ext.example"
	r := runSession(t, f, "doc@example.org", []string{"nurse@example.org", "pat@ext.example"}, h, []byte(testBody))
	if r.atHeader || r.final.Type != milter.ActionAccept {
		t.Fatalf("final action %+v (at header: %v); want accept after the body", r.final, r.atHeader)
	}
	var deleted []string
	for _, m := range r.mods {
		switch m.Type {
		case milter.ActionDelRcpt:
			deleted = append(deleted, m.Rcpt)
		default:
			t.Errorf("the internal copy was changed: %s", m)
		}
	}
	if strings.Join(deleted, ",") != "<pat@ext.example>" {
		t.Errorf("recipients deleted on the wire %q; want exactly <pat@ext.example>", deleted)
	}
	if len(s.sent) != 1 || strings.Join(s.sent[0].to, ",") != "pat@ext.example" {
		t.Fatalf("re-injected %d copies; want one to pat@ext.example", len(s.sent))
	}
	if bytes.Contains(s.sent[0].data, []byte("Jane Roe")) {
		t.Error("the re-injected copy carries the body in clear")
	}
}

// The sealed body reaches the MTA as it is made, in replace-body chunks no
// larger than the protocol's smallest data size, and they add up to the
// sealed message.
func TestProtocolSealedBodyInChunks(t *testing.T) {
	st := newMemStore()
	f := New(testPolicy(t), st, &fakeSender{}, discardLog(), Config{SpoolDir: t.TempDir(), MemMax: 1024})
	body := incompressible(200_000)
	r := runSession(t, f, "doc@example.org", []string{"pat@ext.example"}, protoHeaders, body)
	if r.final.Type != milter.ActionAccept || len(st.recorded()) != 1 {
		t.Fatalf("final %+v, %d envelopes", r.final, len(st.recorded()))
	}
	var sealed []byte
	chunks := 0
	for _, m := range r.mods {
		if m.Type == milter.ActionReplaceBody {
			chunks++
			if len(m.Body) == 0 || len(m.Body) > int(milter.DataSize64K) {
				t.Errorf("replace-body chunk %d is %d bytes", chunks, len(m.Body))
			}
			sealed = append(sealed, m.Body...)
		}
	}
	if want := len(sealed)/int(milter.DataSize64K) + 1; chunks != want || chunks < 4 {
		t.Errorf("%d replace-body chunks for %d bytes; want %d full ones and the rest", chunks, len(sealed), want)
	}
	var key []byte
	for id := range st.recorded() {
		key = st.keys[id]
	}
	if got := openPayload(t, sealed, envelope.Passphrase(key)); !bytes.HasSuffix(got, body) {
		t.Errorf("payload does not end with the whole body (%d bytes)", len(got))
	}
}

// The envelope is recorded after its body went to the MTA (the record
// holds the payload's digest): when recording fails, the chunks already
// sent are answered with a 451, which makes the MTA drop them with the
// message. Nothing is accepted.
func TestProtocolStoreFailsAfterBodySent(t *testing.T) {
	st := &memStore{err: errors.New("disk full")}
	f := newFilter(t, st, &fakeSender{})
	r := runSession(t, f, "doc@example.org", []string{"pat@ext.example"}, protoHeaders, incompressible(200_000))
	sent := 0
	for _, m := range r.mods {
		if m.Type == milter.ActionReplaceBody {
			sent += len(m.Body)
		}
	}
	if sent == 0 {
		t.Errorf("no body was sent before the envelope was recorded")
	}
	if r.final.Type != milter.ActionRejectWithCode || !strings.HasPrefix(r.final.SMTPReply, "451 4.3.0") {
		t.Fatalf("final action %+v after a failed record; want 451 4.3.0", r.final)
	}
}

// incompressible is n bytes of random base64 lines (as an attachment that
// is already compressed): its sealed body is several chunks long.
func incompressible(n int) []byte {
	raw := make([]byte, n*3/4)
	_, _ = rand.Read(raw)
	var body bytes.Buffer
	for enc := base64.StdEncoding.EncodeToString(raw); enc != ""; {
		k := min(len(enc), 76)
		body.WriteString(enc[:k] + "\r\n")
		enc = enc[k:]
	}
	return body.Bytes()
}
