package keyserver

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/postseal/postseal/envelope"
	"github.com/postseal/postseal/store"
)

const phoneArmour = "-----BEGIN PGP MESSAGE-----\r\n\r\nwy4ECQMIphone0123456789\r\n-----END PGP MESSAGE-----"

// putPhoneEnvelope records a key-service envelope with an online copy kept
// for 8 hours from the fixture's clock.
func (f *fixture) putPhoneEnvelope(id string, recipients ...string) {
	f.t.Helper()
	f.putPhoneEnvelopeFor(id, 8*time.Hour, recipients...)
}

// putPhoneEnvelopeFor records one whose copy is kept for keep.
func (f *fixture) putPhoneEnvelopeFor(id string, keep time.Duration, recipients ...string) {
	f.t.Helper()
	now := f.clock.Now()
	e := store.Envelope{ID: id, Sender: "doctor@example.org", Recipients: recipients, Kind: store.KindKeyService,
		Created: now, Subject: "Lab results [-Encrypted-]",
		Online: &store.OnlineCopy{Payload: []byte(phoneArmour), Meta: `{"from":"Dr Who <doctor@example.org>","to":["pat@ext.example"],"subject":"claimed","date":"Mon, 23 Nov 2026 15:39:59 +0000","recipients":["pat@ext.example"]}`, Expires: now.Add(keep)}}
	if err := f.st.PutEnvelope(context.Background(), e, make([]byte, 32)); err != nil {
		f.t.Fatal(err)
	}
}

// The phone page shows the decryptor with the stored payload under the
// decryptor page's CSP, the header from the store, and the first steps;
// until the copy's time, not a millisecond after: then it says the copy
// expired and to open the attachment on a computer, in the reader's
// language, before and after the sweep deleted it.
func TestPhonePage(t *testing.T) {
	f := newFixture(t)
	f.putPhoneEnvelope("phone234", "pat@ext.example")
	rec := f.get("/m/phone234")
	page := rec.Body.String()
	if rec.Code != 200 {
		t.Fatalf("phone page: %d %s", rec.Code, page)
	}
	for _, want := range []string{
		"\n" + strings.ReplaceAll(phoneArmour, "\r\n", "\r\n") + "\n</textarea>",
		`data-envelope="phone234"`,
		`<td id="h-subject">Lab results [-Encrypted-]</td>`, // the store's, not the copy's claim
		`<td id="h-from">Dr Who &lt;doctor@example.org&gt;</td>`,
		`<li>pat@ext.example</li>`,
		`href="http://keys.example.org:8025/register?envelope=phone234"`,
		`href="http://keys.example.org:8025/forgot"`,
		`<meta name="viewport" content="width=device-width, initial-scale=1">`,
	} {
		if !strings.Contains(page, want) {
			t.Errorf("phone page lacks %q", want)
		}
	}
	if strings.Contains(page, `id="open-online"`) {
		t.Error("the phone page offers Open Online to itself")
	}
	h := rec.Header()
	if h.Get("Content-Security-Policy") != envelope.OpenPageCSP("http://keys.example.org:8025") || h.Get("Content-Type") != "text/html; charset=us-ascii" ||
		h.Get("Cache-Control") != "no-store" || h.Get("Referrer-Policy") != "no-referrer" || h.Get("X-Robots-Tag") == "" {
		t.Errorf("headers %v; want the decryptor page's CSP, no-store, no referrer, noindex", h)
	}
	if es := f.getAs("/m/phone234", "es-MX,es;q=0.9"); es.Code != 200 || !strings.Contains(es.Body.String(), `<html lang="es">`) {
		t.Errorf("Spanish reader: %d, lang es: %v", es.Code, strings.Contains(es.Body.String(), `<html lang="es">`))
	}
	// The same id opens the key through the key API: it is one envelope.
	f.putAccount("pat@ext.example", testPassword, true, false)
	if k := f.postKey("phone234", "pat@ext.example", testPassword, ""); k.Code != 200 {
		t.Errorf("key release for the phone page's envelope: %d %s", k.Code, k.Body)
	}

	f.clock.Advance(8*time.Hour - time.Millisecond)
	if rec := f.get("/m/phone234"); rec.Code != 200 {
		t.Fatalf("a millisecond before the copy's time: %d", rec.Code)
	}
	f.clock.Advance(time.Millisecond)
	expiredSays := func(when string) {
		t.Helper()
		rec := f.get("/m/phone234")
		if body := rec.Body.String(); rec.Code != 410 || !strings.Contains(body, "Online copy expired") ||
			!strings.Contains(body, "it is kept for 8 hours after the message was sent") || !strings.Contains(body, "open that attachment in a web browser on a computer") || strings.Contains(body, "wy4ECQMIphone") {
			t.Errorf("%s: %d %s; want 410 saying the copy expired and what to do", when, rec.Code, body)
		}
		es := f.getAs("/m/phone234", "es")
		if body := es.Body.String(); es.Code != 410 || !strings.Contains(body, "La copia en línea ha caducado") || !strings.Contains(body, "se conserva durante 8 horas") {
			t.Errorf("%s, in Spanish: %d %s", when, es.Code, body)
		}
	}
	expiredSays("at the copy's time")
	if n, err := f.st.DeleteExpiredCopies(context.Background(), f.clock.Now()); err != nil || n != 1 {
		t.Fatalf("sweep: %d %v", n, err)
	}
	expiredSays("after the sweep")
}

// Refusals say what happened in words: an unknown id, an envelope without
// a copy, a locked and an expired envelope (as the key API refuses them),
// and a busy service (503 with Retry-After, as Open Online).
func TestPhonePageRefusals(t *testing.T) {
	f := newFixture(t)
	f.putPhoneEnvelope("locked234", "pat@ext.example")
	f.putPhoneEnvelope("expired234", "pat@ext.example")
	f.putPhoneEnvelope("busy234", "pat@ext.example")
	f.putEnvelope("plain234", "pat@ext.example")
	ctx := context.Background()
	by := store.Change{Actor: "test"}
	if err := f.st.SetLocked(ctx, "locked234", true, by); err != nil {
		t.Fatal(err)
	}
	if err := f.st.ExpireEnvelope(ctx, "expired234", f.clock.Now(), by); err != nil {
		t.Fatal(err)
	}
	for path, want := range map[string]struct {
		code int
		says string
	}{
		"/m/nosuch234":                  {404, "This link does not lead to a secure message. Please open the attachment of the e-mail you received in a web browser on a computer instead."},
		"/m/bad.id":                     {404, "This link does not lead to a secure message."},
		"/m/plain234":                   {404, "This message cannot be read online."},
		"/m/locked234":                  {403, "This message has been locked by Example Health and cannot be opened."},
		"/m/expired234":                 {410, "This message has expired and can no longer be opened."},
		"/m/" + strings.Repeat("a", 65): {404, "This link does not lead to a secure message."},
	} {
		rec := f.get(path)
		if rec.Code != want.code || !strings.Contains(rec.Body.String(), want.says) || strings.Contains(rec.Body.String(), "wy4ECQMIphone") {
			t.Errorf("%s: %d %s; want %d saying %q", path, rec.Code, rec.Body, want.code, want.says)
		}
	}
	// Every Open Online place taken: the phone page waits its turn.
	for range cap(f.srv.openSem) {
		f.srv.openSem <- struct{}{}
	}
	rec := f.get("/m/busy234")
	if rec.Code != 503 || rec.Header().Get("Retry-After") == "" || !strings.Contains(rec.Body.String(), "reload this page") {
		t.Errorf("busy: %d %q %s", rec.Code, rec.Header().Get("Retry-After"), rec.Body)
	}
	if f.metrics.refusals(refusedOpen) != 1 {
		t.Errorf("busy refusals counted %d; want 1", f.metrics.refusals(refusedOpen))
	}
}

// A copy kept for one hour says "1 hour" when it has expired, in English
// and Spanish.
func TestPhonePageOneHour(t *testing.T) {
	f := newFixture(t)
	f.putPhoneEnvelopeFor("phone345", time.Hour, "pat@ext.example")
	f.clock.Advance(time.Hour)
	if body := f.get("/m/phone345").Body.String(); !strings.Contains(body, "it is kept for 1 hour after the message was sent") {
		t.Errorf("one-hour copy expired: %s", body)
	}
	if body := f.getAs("/m/phone345", "es").Body.String(); !strings.Contains(body, "se conserva durante 1 hora desde") {
		t.Errorf("one-hour copy expired, in Spanish: %s", body)
	}
}
