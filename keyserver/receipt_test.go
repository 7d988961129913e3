package keyserver

import (
	"context"
	"io"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/emersion/go-message"
	"github.com/postseal/postseal/store"
)

// receipts returns the read receipts queued in the store (they do not go
// through the Mailer: the store queues them with the first open).
func (f *fixture) receipts() []store.Mail {
	f.t.Helper()
	ms, err := f.st.ClaimMail(context.Background(), time.Now().Add(time.Hour), time.Minute, 100)
	if err != nil {
		f.t.Fatal(err)
	}
	return ms
}

// chicagoFixture is a key service in America/Chicago at 15:04 UTC on
// Thursday 3 December 2026.
func chicagoFixture(t *testing.T) *fixture {
	t.Helper()
	chicago, err := time.LoadLocation("America/Chicago")
	if err != nil {
		t.Fatal(err)
	}
	f := newFixture(t, func(c *Config) { c.Location = chicago })
	f.clock.t = time.Date(2026, 12, 3, 15, 4, 0, 0, time.UTC)
	return f
}

func TestReadReceipt(t *testing.T) {
	f := chicagoFixture(t)
	ctx := context.Background()
	now := f.clock.Now()
	e := store.Envelope{ID: "env1", Sender: "Doc@Example.org", Recipients: []string{"ann@partner.example", "bob@partner.example"}, Kind: "keyservice",
		Created: now.Add(-time.Hour), Expires: now.Add(24 * time.Hour), Subject: "Lab results [-Encrypted-]", MessageID: "<lab-1@example.org>", ReadReceipts: true}
	if err := f.st.PutEnvelope(ctx, e, make([]byte, 32)); err != nil {
		t.Fatal(err)
	}
	f.putAccount("ann@partner.example", testPassword, true, false)
	f.putAccount("bob@partner.example", testPassword, true, false)

	for range 3 { // opened three times: one receipt
		if rec := f.postKey("env1", "Ann@Partner.example", testPassword, ""); rec.Code != 200 {
			t.Fatalf("status %d: %s", rec.Code, rec.Body)
		}
	}
	got := f.receipts()
	if len(got) != 1 || got[0].To[0] != "Doc@Example.org" || got[0].From != "postseal@example.org" {
		t.Fatalf("receipts %+v; want one to the sender", got)
	}
	m, err := message.Read(strings.NewReader(string(got[0].Data)))
	if err != nil {
		t.Fatal(err)
	}
	if s := m.Header.Get("Subject"); s != "Read: Lab results [-Encrypted-]" {
		t.Errorf("Subject %q", s)
	}
	if m.Header.Get("In-Reply-To") != "<lab-1@example.org>" || m.Header.Get("Auto-Submitted") != "auto-replied" {
		t.Errorf("threading and auto-reply headers: %v", m.Header)
	}
	b, err := io.ReadAll(m.Body)
	if err != nil {
		t.Fatal(err)
	}
	body := string(b)
	for _, want := range []string{"ann@partner.example", "Thu 3 Dec 2026 09:04 CST (15:04 UTC)", "http://keys.example.org:8025/sent"} {
		if !strings.Contains(body, want) {
			t.Errorf("receipt lacks %q:\n%s", want, body)
		}
	}
	if n, _ := f.st.CountEvents(ctx, store.EventFilter{Kind: store.EventReceiptSent, EnvelopeID: "env1"}); n != 1 {
		t.Errorf("%d receipt_sent events; want 1", n)
	}
	// Another recipient: a receipt of their own.
	if rec := f.postKey("env1", "bob@partner.example", testPassword, ""); rec.Code != 200 {
		t.Fatal(rec.Body)
	}
	if got := f.receipts(); len(got) != 1 || !strings.Contains(string(got[0].Data), "bob@partner.example") {
		t.Errorf("second recipient's receipts: %d", len(got))
	}

	// Without read receipts for the envelope: the open is recorded, no mail.
	f.putEnvelope("env2", "ann@partner.example")
	if rec := f.postKey("env2", "ann@partner.example", testPassword, ""); rec.Code != 200 {
		t.Fatal(rec.Body)
	}
	if got := f.receipts(); len(got) != 0 {
		t.Errorf("receipt sent for an envelope without read receipts: %d", len(got))
	}
	page, _, err := f.st.SentEnvelopes(ctx, "doctor@example.org", 0, 10)
	if err != nil || len(page) != 1 || page[0].States[0].Opened.IsZero() {
		t.Errorf("first open of env2 not recorded: %+v, %v", page, err)
	}
}

// receiptText is the Subject and text of a queued read receipt.
func receiptText(t *testing.T, m store.Mail) (string, string) {
	t.Helper()
	e, err := message.Read(strings.NewReader(string(m.Data)))
	if err != nil {
		t.Fatal(err)
	}
	b, err := io.ReadAll(e.Body)
	if err != nil {
		t.Fatal(err)
	}
	subject, _ := e.Header.Text("Subject")
	return subject, string(b)
}

// The sender's side speaks the sender's language: read receipts in the
// language their account stored (the organisation's when they have no
// account), Sent secure messages in the page's language as every page
// (the reader's choice, else the browser's) — sentences, states, buttons,
// notices and the day and month names of the times.
func TestSenderSideLanguages(t *testing.T) {
	f := chicagoFixture(t)
	ctx := context.Background()
	now := f.clock.Now()
	for id, sender := range map[string]string{"es1": "doc@example.org", "en1": "nurse@example.org"} {
		e := store.Envelope{ID: id, Sender: sender, Recipients: []string{"ann@partner.example", "bob@partner.example"}, Kind: store.KindKeyService,
			Created: now.Add(-time.Hour), Expires: now.Add(24 * time.Hour), Subject: "Lab results [-Encrypted-]", ReadReceipts: true}
		if err := f.st.PutEnvelope(ctx, e, make([]byte, 32)); err != nil {
			t.Fatal(err)
		}
	}
	f.putAccount("doc@example.org", testPassword, true, false)
	doc := f.account("doc@example.org")
	doc.Language = "es"
	if err := f.st.UpdateAccount(ctx, doc); err != nil {
		t.Fatal(err)
	}
	f.putAccount("ann@partner.example", testPassword, true, false)
	for _, id := range []string{"es1", "en1"} {
		if rec := f.postKey(id, "ann@partner.example", testPassword, ""); rec.Code != 200 {
			t.Fatalf("%s: %d %s", id, rec.Code, rec.Body)
		}
	}
	got := f.receipts()
	if len(got) != 2 {
		t.Fatalf("%d receipts; want 2", len(got))
	}
	for _, m := range got {
		subject, text := receiptText(t, m)
		want := []string{"Read: Lab results [-Encrypted-]", "Your secure message was opened.", "Opened:    Thu 3 Dec 2026 09:04 CST (15:04 UTC)"}
		if m.To[0] == "doc@example.org" {
			want = []string{"Leído: Lab results [-Encrypted-]", "Su mensaje seguro se ha abierto.", "Abierto el:     jue 3 dic 2026 09:04 CST (15:04 UTC)", "inicie sesión en http://keys.example.org:8025/sent"}
		}
		if subject != want[0] {
			t.Errorf("receipt to %s: Subject %q; want %q", m.To[0], subject, want[0])
		}
		for _, w := range want[1:] {
			if !strings.Contains(text, w) {
				t.Errorf("receipt to %s lacks %q:\n%s", m.To[0], w, text)
			}
		}
	}

	rec := f.postForm("/login", url.Values{"email": {"doc@example.org"}, "password": {testPassword}})
	c := sessionCookie(t, rec.Header())
	pages := map[string][]string{
		"es": {"<h1>Mensajes seguros enviados</h1>", "Sesión iniciada como doc@example.org. Las horas están en America/Chicago.", "Enviado el jue 3 dic 2026 08:04 CST (14:04 UTC)",
			`<span class="state">Activo</span>`, "Caduca el vie 4 dic 2026", "Abierto el jue 3 dic 2026 09:04 CST", "Sin abrir", ">Bloquear</button>", ">Hacer caducar ahora</button>", ">Fecha de caducidad</label>", ">Cambiar la caducidad</button>"},
		"en": {"<h1>Sent secure messages</h1>", "Signed in as doc@example.org. Times are in America/Chicago.", "Sent Thu 3 Dec 2026 08:04 CST (14:04 UTC)",
			`<span class="state">Active</span>`, "Expires Fri 4 Dec 2026", "Opened Thu 3 Dec 2026 09:04 CST", "Not opened", ">Lock</button>", ">Expire now</button>", ">Expiry date</label>", ">Change expiry</button>"},
	}
	for lang, want := range pages {
		body := f.getAs("/sent", lang, c).Body.String()
		for _, w := range want {
			if !strings.Contains(body, w) {
				t.Errorf("/sent in %s lacks %q", lang, w)
			}
		}
	}
	if body := f.getAs("/sent/es1/expire", "es", c).Body.String(); !strings.Contains(body, "¿Hacer caducar este mensaje?") || !strings.Contains(body, "Hacer caducar este mensaje (enviado el jue 3 dic 2026") || !strings.Contains(body, ">Cancelar</a>") {
		t.Errorf("the expiry question in Spanish:\n%s", body)
	}
	// A notice after a change, in the page's language.
	lock := f.postForm("/sent/es1/lock", url.Values{}, c)
	loc, _ := url.Parse(lock.Header().Get("Location"))
	if lock.Code != 303 {
		t.Fatalf("lock: %d", lock.Code)
	}
	if body := f.getAs(loc.RequestURI(), "es", c).Body.String(); !strings.Contains(body, "El mensaje está bloqueado") || !strings.Contains(body, ">Desbloquear</button>") || !strings.Contains(body, `<span class="state">Bloqueado</span>`) {
		t.Errorf("after locking, in Spanish:\n%s", body)
	}
}

// wakeCounter is a mail queue that counts being told of mail the store
// queued.
type wakeCounter struct {
	Mailer
	n atomic.Int32
}

func (w *wakeCounter) Wake() { w.n.Add(1) }

// The mail queue is woken once, for the receipt of a first open: not at
// later opens, nor for an envelope without receipts.
func TestReceiptWakesTheQueueOnce(t *testing.T) {
	f := newFixture(t)
	wc := &wakeCounter{Mailer: f.srv.mail}
	f.srv.mail = wc
	e := store.Envelope{ID: "env1", Sender: "doc@example.org", Recipients: []string{"ann@partner.example"}, Kind: "keyservice",
		Created: f.clock.Now(), Expires: f.clock.Now().Add(time.Hour), Subject: "Lab", ReadReceipts: true}
	if err := f.st.PutEnvelope(context.Background(), e, make([]byte, 32)); err != nil {
		t.Fatal(err)
	}
	f.putEnvelope("env2", "ann@partner.example")
	f.putAccount("ann@partner.example", testPassword, true, false)
	for i, id := range []string{"env1", "env1", "env2"} {
		if rec := f.postKey(id, "ann@partner.example", testPassword, ""); rec.Code != 200 {
			t.Fatalf("%s: %d %s", id, rec.Code, rec.Body)
		}
		if n := wc.n.Load(); n != 1 {
			t.Errorf("after open %d (%s) the queue was woken %d times; want once, at the first", i+1, id, n)
		}
	}
}

// A stored Message-ID is threaded on only below 900 octets (a header line
// must stay under 998).
func TestReadReceiptLongMessageID(t *testing.T) {
	f := newFixture(t)
	for _, n := range []int{899, 900} {
		id := "<" + strings.Repeat("x", n-2) + ">"
		e := store.Envelope{ID: "env1", Sender: "doc@example.org", Created: f.clock.Now(), Subject: "Lab", MessageID: id}
		data, err := f.srv.receiptMail(e, store.Account{Email: "ann@partner.example"}, f.clock.Now(), "en")
		if err != nil {
			t.Fatal(err)
		}
		m, err := message.Read(strings.NewReader(string(data)))
		if err != nil {
			t.Fatal(err)
		}
		if got, want := m.Header.Get("In-Reply-To") != "", n < 900; got != want {
			t.Errorf("a Message-ID of %d octets: In-Reply-To set %v; want %v", n, got, want)
		}
	}
}
