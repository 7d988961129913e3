package envelope

import (
	"bytes"
	"strings"
	"testing"
	"time"
)

// With an online copy configured, a key-service envelope's notification
// links to the phone page in both parts and in the recipients' language,
// and Sealed carries the copy: the payload byte for byte as the
// attachment carries it (it decrypts with the message key) and the
// page's display header. Without the setting, and for a partner's
// shared-password envelope, there is neither link nor copy.
func TestPhoneLinkAndOnlineCopy(t *testing.T) {
	opt := testOptions()
	opt.OnlineCopy = 8 * time.Hour
	req := testRequest(textMessage())
	s := sealOK(t, req, opt)
	n := parseNotification(t, s)
	link := "https://keys.example.org/m/" + req.ID
	text := strings.Join(strings.Fields(n.text), " ")
	if !strings.Contains(text, "On a phone? Open on your phone: this link opens the message in your phone's web browser for 8 hours after it was sent. "+link+" ") || !strings.Contains(n.text, "\n"+link+"\r\n") {
		t.Errorf("text part lacks the phone link on a line of its own:\n%s", n.text)
	}
	if !strings.Contains(n.html, `<a href="`+link+`">Open on your phone</a>`) {
		t.Errorf("HTML part lacks the phone link:\n%s", n.html)
	}
	// The copy is what the attachment carries, bytes and line ends alike.
	want := strings.TrimRight(payloadOf(t, n.page), "\r\n")
	if string(s.OnlinePayload) != want {
		t.Fatalf("online payload (%d bytes) is not the attachment's (%d bytes)", len(s.OnlinePayload), len(want))
	}
	plain, _, err := decrypt(string(s.OnlinePayload), []byte(Passphrase(s.Key)), nil)
	if err != nil || !bytes.Contains(plain, []byte(secretSentence)) {
		t.Fatalf("the online payload does not decrypt to the message: %v", err)
	}
	m := ParsePageMeta(s.OnlineMeta)
	if m.From != req.Display.From || m.Subject != req.Display.Subject || len(m.Recipients) != 1 || m.Recipients[0] != "bob@partner.example" || m.SharedPassword {
		t.Errorf("online meta %+v; want the page's display header", m)
	}
	if bytes.Contains(s.OnlinePayload, []byte(secretSentence)) || strings.Contains(s.OnlineMeta, secretSentence) {
		t.Error("the online copy holds the message in clear")
	}
	// SealTo holds no body: the copy is kept as the payload passes.
	var streamed bytes.Buffer
	ss, err := SealTo(&streamed, testRequest(textMessage()), opt)
	if err != nil {
		t.Fatal(err)
	}
	withBody := *ss
	withBody.Body = streamed.Bytes()
	if want := strings.TrimRight(payloadOf(t, parseNotification(t, &withBody).page), "\r\n"); string(ss.OnlinePayload) != want || want == "" {
		t.Fatalf("SealTo's online payload (%d bytes) is not the attachment's (%d bytes)", len(ss.OnlinePayload), len(want))
	}

	es := opt
	es.Language = "es"
	esReq := testRequest(textMessage())
	ne := parseNotification(t, sealOK(t, esReq, es))
	if !strings.Contains(ne.html, `<a href="https://keys.example.org/m/`+esReq.ID+`?lang=es">Abrir en el teléfono</a>`) || !strings.Contains(strings.Join(strings.Fields(ne.text), " "), "durante 8 horas desde su envío") {
		t.Errorf("Spanish notification lacks the translated phone link:\n%s\n%s", ne.text, ne.html)
	}
	one := opt
	one.OnlineCopy = time.Hour
	if n1 := parseNotification(t, sealOK(t, testRequest(textMessage()), one)); !strings.Contains(strings.Join(strings.Fields(n1.text), " "), "for 1 hour after") {
		t.Errorf("one hour reads %q", n1.text)
	}

	shared := testRequest(textMessage())
	shared.Password = []byte("partner secret 1234")
	off := testOptions()
	for name, c := range map[string]struct {
		req Request
		opt Options
	}{"shared password": {shared, opt}, "online_copy_hours = 0": {testRequest(textMessage()), off}} {
		s := sealOK(t, c.req, c.opt)
		n := parseNotification(t, s)
		if s.OnlinePayload != nil || s.OnlineMeta != "" || strings.Contains(n.text, "/m/") || strings.Contains(n.html, "/m/") {
			t.Errorf("%s: a phone link or copy (%d bytes)", name, len(s.OnlinePayload))
		}
	}
}
