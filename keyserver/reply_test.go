package keyserver

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"io"
	"maps"
	"mime"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"net/mail"
	"net/textproto"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/ProtonMail/go-crypto/openpgp"
	"github.com/ProtonMail/go-crypto/openpgp/armor"
	"github.com/emersion/go-message"
	"github.com/postseal/postseal/config"
	"github.com/postseal/postseal/envelope"
	"github.com/postseal/postseal/policy"
	"github.com/postseal/postseal/store"
)

// replyFixture is a key service with the default rules (example.org is
// internal) and an envelope "lab" sent by doctor@example.org to two
// external readers, with a nurse inside named in Cc.
type replyFixture struct {
	*fixture
	cfg *config.Config
}

const (
	replyReader = "pat@ext.example"
	replyOther  = "sam@other.example"
	replyNurse  = "nurse@example.org"
	replyDoctor = "doctor@example.org"
)

func newReplyFixture(t *testing.T, edit func(*config.Config), opts ...func(*Config)) *replyFixture {
	t.Helper()
	cfg := config.Default()
	cfg.Keyserver.PublicURL = "http://keys.example.org:8025"
	if edit != nil {
		edit(cfg)
	}
	pol, err := policy.Load(cfg)
	if err != nil {
		t.Fatal(err)
	}
	c := &clock{t: time.Now().UTC().Truncate(time.Millisecond)}
	f := &fixture{t: t, st: openStore(t), mail: &captureMailer{}, metrics: &countMetrics{}, clock: c}
	kc := Config{
		PublicURL: "http://keys.example.org:8025", Organization: "Example Health",
		From: "postseal@example.org", PasswordMinLength: 12, Argon2: testArgon2,
	}
	for _, o := range opts {
		o(&kc)
	}
	srv, err := New(kc, Deps{Store: f.st, Mailer: f.mail, Sealed: f.mail.via(store.RouteReinject), Metrics: f.metrics, Now: c.Now, Policy: func() *policy.Policy { return pol }})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(srv.Close)
	f.srv = srv
	rf := &replyFixture{fixture: f, cfg: cfg}
	rf.putLab("lab", nil)
	f.putAccount(replyReader, testPassword, true, false)
	return rf
}

// putLab records an envelope like the milter seals it.
func (f *replyFixture) putLab(id string, rights []string) {
	f.t.Helper()
	now := f.clock.Now()
	e := store.Envelope{
		ID: id, Sender: replyDoctor, Recipients: []string{replyReader, replyOther}, Kind: "keyservice", Created: now,
		Subject: "Lab results [-Encrypted-]", MessageID: " <orig-1@example.org>", Reply: rights,
		ReplyAll: []string{replyReader, replyOther, replyNurse},
	}
	if err := f.st.PutEnvelope(context.Background(), e, bytes.Repeat([]byte{7}, 32)); err != nil {
		f.t.Fatal(err)
	}
}

// token opens envelope id as the reader and returns the key answer.
func (f *replyFixture) token(id string) apiAnswer {
	f.t.Helper()
	rec := f.postKey(id, replyReader, testPassword, "")
	if rec.Code != http.StatusOK {
		f.t.Fatalf("key release: %d %s", rec.Code, rec.Body)
	}
	return decodeAnswer(f.t, rec)
}

type replyPost struct {
	token, kind, text, subject string
	to                         []string
	files                      map[string][]byte
	types                      map[string]string // a file's declared Content-Type (else application/octet-stream)
}

// reply posts a reply as the page does; opts change the request (its
// language).
func (f *replyFixture) reply(id string, p replyPost, opts ...func(*http.Request)) *httptest.ResponseRecorder {
	f.t.Helper()
	var b bytes.Buffer
	mw := multipart.NewWriter(&b)
	_ = mw.WriteField("reply_token", p.token)
	_ = mw.WriteField("kind", p.kind)
	_ = mw.WriteField("text", p.text)
	if p.subject != "" {
		_ = mw.WriteField("subject", p.subject)
	}
	for _, to := range p.to {
		_ = mw.WriteField("to", to)
	}
	for name, data := range p.files {
		h := textproto.MIMEHeader{}
		h.Set("Content-Disposition", mime.FormatMediaType("form-data", map[string]string{"name": "attachments", "filename": name}))
		h.Set("Content-Type", "application/octet-stream")
		if ct := p.types[name]; ct != "" {
			h.Set("Content-Type", ct)
		}
		w, _ := mw.CreatePart(h)
		_, _ = w.Write(data)
	}
	mw.Close()
	req := httptest.NewRequest("POST", "/api/v1/envelopes/"+id+"/reply", &b)
	req.Header.Set("Content-Type", mw.FormDataContentType())
	// What a securedoc opened from disk sends.
	req.Header.Set("Origin", "null")
	req.Header.Set("Sec-Fetch-Site", "cross-site")
	for _, o := range opts {
		o(req)
	}
	return f.do(req, "")
}

func (f *replyFixture) mailTo(addr string) []sentMail {
	var out []sentMail
	for _, m := range f.mail.sent() {
		if slices.Contains(m.To, addr) {
			out = append(out, m)
		}
	}
	return out
}

func TestReplyTokenWithKey(t *testing.T) {
	f := newReplyFixture(t, nil)
	a := f.token("lab")
	if a.ReplyToken == "" || !slices.Equal(a.Reply, []string{"reply", "reply-all", "forward"}) {
		t.Fatalf("key answer: token %q, kinds %v", a.ReplyToken, a.Reply)
	}
	if got := a.ReplyTo["reply"]; !slices.Equal(got, []string{replyDoctor}) {
		t.Errorf("Reply reaches %v", got)
	}
	if got := a.ReplyTo["reply-all"]; !slices.Equal(got, []string{replyDoctor, replyOther, replyNurse}) {
		t.Errorf("Reply all reaches %v; want the sender and the others named, not the reader", got)
	}
	// Stored hashed: the token itself is not a key of the store, its hash is.
	secret, _ := base64.RawURLEncoding.DecodeString(a.ReplyToken)
	if _, err := f.st.Token(context.Background(), secret, store.TokenReply, f.clock.Now()); err == nil {
		t.Error("the reply token is stored in clear")
	}
	sum := sha256.Sum256(secret)
	tok, err := f.st.Token(context.Background(), sum[:], store.TokenReply, f.clock.Now())
	if err != nil || tok.EnvelopeID != "lab" || tok.Email != replyReader || tok.Uses != replyTokenUses {
		t.Errorf("stored token %+v, %v", tok, err)
	}
	// No rights, no token; a partner envelope never gets here at all.
	f.putLab("quiet", []string{})
	if a := f.token("quiet"); a.ReplyToken != "" || len(a.Reply) != 0 {
		t.Errorf("an envelope without reply rights got token %q kinds %v", a.ReplyToken, a.Reply)
	}
}

var armourRe = regexp.MustCompile(`(?s)-----BEGIN PGP MESSAGE-----.*?-----END PGP MESSAGE-----`)

// openSealed decrypts the payload of a sealed notification with the key
// the store keeps for its envelope.
func (f *replyFixture) openSealed(data []byte) (store.Envelope, []byte) {
	f.t.Helper()
	m, err := mail.ReadMessage(bytes.NewReader(data))
	if err != nil {
		f.t.Fatal(err)
	}
	id := m.Header.Get("X-Postseal-Envelope")
	env, err := f.st.Envelope(context.Background(), id)
	if err != nil {
		f.t.Fatalf("sealed reply's envelope %q: %v", id, err)
	}
	key, err := f.st.EnvelopeKey(context.Background(), id)
	if err != nil {
		f.t.Fatal(err)
	}
	block := armourRe.Find(bytes.ReplaceAll(data, []byte("\r\n"), []byte("\n")))
	if block == nil {
		f.t.Fatal("no PGP MESSAGE in the sealed reply")
	}
	ab, err := armor.Decode(bytes.NewReader(block))
	if err != nil {
		f.t.Fatal(err)
	}
	pass := []byte(envelope.Passphrase(key))
	md, err := openpgp.ReadMessage(ab.Body, nil, func([]openpgp.Key, bool) ([]byte, error) { return pass, nil }, nil)
	if err != nil {
		f.t.Fatal(err)
	}
	out, err := io.ReadAll(md.UnverifiedBody)
	if err != nil {
		f.t.Fatal(err)
	}
	return env, out
}

// bodyParts returns the text and the attachments of a reply.
func bodyParts(t *testing.T, data []byte) (string, map[string][]byte) {
	t.Helper()
	e, err := message.Read(bytes.NewReader(data))
	if err != nil {
		t.Fatal(err)
	}
	files := map[string][]byte{}
	var text string
	err = e.Walk(func(_ []int, p *message.Entity, err error) error {
		if err != nil || p.MultipartReader() != nil {
			return err
		}
		b, _ := io.ReadAll(p.Body)
		if _, params, _ := p.Header.ContentDisposition(); params["filename"] != "" {
			files[params["filename"]] = b
		} else {
			text += string(b)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return text, files
}

func TestReplyAllDeliversClearInsideSealedOutside(t *testing.T) {
	f := newReplyFixture(t, nil)
	a := f.token("lab")
	attachment := []byte("%PDF-1.4 lab values\x00\x01\x02")
	rec := f.reply("lab", replyPost{token: a.ReplyToken, kind: "reply-all", text: "Thanks, results received.", subject: "*secure* Lab results",
		to: []string{"mallory@evil.example"}, files: map[string][]byte{"scan.pdf": attachment}})
	if rec.Code != http.StatusOK {
		t.Fatalf("reply all: %d %s", rec.Code, rec.Body)
	}
	if rec.Header().Get("Access-Control-Allow-Origin") != "*" || rec.Header().Get("Set-Cookie") != "" {
		t.Errorf("CORS %q, cookie %q", rec.Header().Get("Access-Control-Allow-Origin"), rec.Header().Get("Set-Cookie"))
	}
	ans := decodeAnswer(t, rec)
	if !ans.Sent || !slices.Equal(ans.Recipients, []string{replyDoctor, replyOther, replyNurse}) {
		t.Errorf("answer %+v", ans)
	}
	if len(f.mailTo("mallory@evil.example")) != 0 {
		t.Error("a Reply all went to an address the page added")
	}
	// Inside: one clear message to the doctor and the nurse.
	clear := f.mailTo(replyDoctor)
	if len(clear) != 1 || !slices.Equal(clear[0].To, []string{replyDoctor, replyNurse}) {
		t.Fatalf("clear copies: %+v", clear)
	}
	if clear[0].Route != "" {
		t.Errorf("the clear copy was queued for %q; want the relay (internal filters see it)", clear[0].Route)
	}
	m, err := mail.ReadMessage(bytes.NewReader(clear[0].Data))
	if err != nil {
		t.Fatal(err)
	}
	from, _ := m.Header.AddressList("From")
	if len(from) != 1 || from[0].Address != replyReader || from[0].Name != "Ann Lee" {
		t.Errorf("From %v; want the reader with their account's name", from)
	}
	if s := m.Header.Get("Subject"); s != "Re: Lab results [-Encrypted-]" {
		t.Errorf("Subject %q", s)
	}
	if m.Header.Get("In-Reply-To") != "<orig-1@example.org>" || m.Header.Get("References") != "<orig-1@example.org>" {
		t.Errorf("In-Reply-To %q References %q", m.Header.Get("In-Reply-To"), m.Header.Get("References"))
	}
	if m.Header.Get(ReplyEnvelopeHeader) != "lab" || !strings.HasSuffix(m.Header.Get("Message-Id"), "@example.org>") {
		t.Errorf("%s %q, Message-ID %q", ReplyEnvelopeHeader, m.Header.Get(ReplyEnvelopeHeader), m.Header.Get("Message-Id"))
	}
	text, files := bodyParts(t, clear[0].Data)
	if !strings.Contains(text, "Thanks, results received.") || !bytes.Equal(files["scan.pdf"], attachment) {
		t.Errorf("clear reply text %q, attachment %q", text, files["scan.pdf"])
	}
	// Outside: a new envelope for the other reader, its notification from
	// the organisation's address.
	sealed := f.mailTo(replyOther)
	if len(sealed) != 1 || len(sealed[0].To) != 1 || sealed[0].From != "postseal@example.org" {
		t.Fatalf("sealed copies: %+v", sealed)
	}
	if sealed[0].Route != store.RouteReinject {
		t.Errorf("the sealed copy was queued for %q; want %q (the relay's milter would seal it again)", sealed[0].Route, store.RouteReinject)
	}
	n, err := mail.ReadMessage(bytes.NewReader(sealed[0].Data))
	if err != nil {
		t.Fatal(err)
	}
	nf, _ := n.Header.AddressList("From")
	if len(nf) != 1 || nf[0].Address != "postseal@example.org" || nf[0].Name != "Ann Lee via Example Health" {
		t.Errorf("notification From %v; want the organisation's address", nf)
	}
	if rt, _ := n.Header.AddressList("Reply-To"); len(rt) != 1 || rt[0].Address != replyReader {
		t.Errorf("notification Reply-To %v", rt)
	}
	if bytes.Contains(sealed[0].Data, []byte("Thanks, results received.")) {
		t.Error("the sealed copy carries the text in clear")
	}
	env, inner := f.openSealed(sealed[0].Data)
	if env.Sender != replyReader || !slices.Equal(env.Recipients, []string{replyOther}) || env.Trigger != policy.ReplyTrigger || env.Subject != "Re: Lab results [-Encrypted-]" {
		t.Errorf("sealed reply envelope %+v", env)
	}
	if text, files := bodyParts(t, inner); !strings.Contains(text, "Thanks, results received.") || !bytes.Equal(files["scan.pdf"], attachment) {
		t.Errorf("sealed reply decrypts to text %q, attachment %q", text, files["scan.pdf"])
	}
	// The audit trail: who, what, how many, how large; never the text.
	ev := f.events(store.EventReplySent)
	if len(ev) != 1 || ev[0].EnvelopeID != "lab" || ev[0].Email != replyReader || ev[0].Outcome != "ok" || !strings.Contains(ev[0].Detail, "reply-all; 3 recipients; ") {
		t.Fatalf("events %+v", ev)
	}
	if strings.Contains(ev[0].Detail, "Thanks") {
		t.Error("the event carries the text")
	}
}

func TestReplyGoesToTheSenderOnly(t *testing.T) {
	f := newReplyFixture(t, nil)
	a := f.token("lab")
	rec := f.reply("lab", replyPost{token: a.ReplyToken, kind: "reply", text: "ok", to: []string{replyOther}})
	if rec.Code != http.StatusOK {
		t.Fatalf("reply: %d %s", rec.Code, rec.Body)
	}
	if sent := f.mail.sent(); len(sent) != 1 || !slices.Equal(sent[0].To, []string{replyDoctor}) {
		t.Errorf("reply sent to %+v; want the envelope's sender only", sent)
	}
	// Without a subject from the page, the stored one stands in.
	m, _ := mail.ReadMessage(bytes.NewReader(f.mail.sent()[0].Data))
	if s := m.Header.Get("Subject"); s != "Re: Lab results [-Encrypted-]" {
		t.Errorf("Subject %q", s)
	}
}

func TestReplyTokenBinding(t *testing.T) {
	f := newReplyFixture(t, nil)
	f.putLab("other-env", nil)
	a := f.token("lab")
	post := replyPost{token: a.ReplyToken, kind: "reply", text: "hello"}
	if rec := f.reply("other-env", post); rec.Code != http.StatusUnauthorized {
		t.Errorf("token of another envelope: %d", rec.Code)
	}
	if rec := f.reply("lab", replyPost{token: "not-a-token", kind: "reply", text: "x"}); rec.Code != http.StatusUnauthorized {
		t.Errorf("made-up token: %d", rec.Code)
	}
	// Another address: the token is the reader's; disabling their account
	// ends it, and it never speaks for anyone else.
	f.putAccount(replyOther, testPassword, true, false)
	otherAnswer := decodeAnswer(t, f.postKey("lab", replyOther, testPassword, ""))
	if rec := f.reply("lab", replyPost{token: otherAnswer.ReplyToken, kind: "reply", text: "from sam"}); rec.Code != http.StatusOK {
		t.Fatalf("sam's reply: %d %s", rec.Code, rec.Body)
	}
	m, _ := mail.ReadMessage(bytes.NewReader(f.mail.sent()[0].Data))
	if from, _ := m.Header.AddressList("From"); len(from) != 1 || from[0].Address != replyOther {
		t.Errorf("sam's token sent From %v", from)
	}
	acct := f.account(replyOther)
	acct.Disabled = true
	if err := f.st.UpdateAccount(context.Background(), acct); err != nil {
		t.Fatal(err)
	}
	if rec := f.reply("lab", replyPost{token: otherAnswer.ReplyToken, kind: "reply", text: "again"}); rec.Code != http.StatusUnauthorized {
		t.Errorf("token of a disabled account: %d", rec.Code)
	}
	// Limited sends.
	for i := range replyTokenUses {
		if rec := f.reply("lab", post); rec.Code != http.StatusOK {
			t.Fatalf("send %d: %d %s", i+1, rec.Code, rec.Body)
		}
	}
	if rec := f.reply("lab", post); rec.Code != http.StatusUnauthorized {
		t.Errorf("send past the token's count: %d", rec.Code)
	}
	// Expired.
	b := f.token("lab")
	f.clock.Advance(replyTokenTTL)
	if rec := f.reply("lab", replyPost{token: b.ReplyToken, kind: "reply", text: "late"}); rec.Code != http.StatusUnauthorized {
		t.Errorf("token at its expiry: %d", rec.Code)
	}
}

func TestReplyEnvelopeState(t *testing.T) {
	f := newReplyFixture(t, nil)
	a := f.token("lab")
	post := replyPost{token: a.ReplyToken, kind: "reply", text: "hello"}
	if err := f.st.SetLocked(context.Background(), "lab", true, by); err != nil {
		t.Fatal(err)
	}
	if rec := f.reply("lab", post); rec.Code != http.StatusForbidden {
		t.Errorf("locked envelope: %d", rec.Code)
	}
	if err := f.st.SetLocked(context.Background(), "lab", false, by); err != nil {
		t.Fatal(err)
	}
	if err := f.st.ExpireEnvelope(context.Background(), "lab", f.clock.Now(), by); err != nil {
		t.Fatal(err)
	}
	if rec := f.reply("lab", post); rec.Code != http.StatusGone {
		t.Errorf("expired envelope: %d", rec.Code)
	}
	if len(f.mail.sent()) != 0 {
		t.Error("mail sent for a locked or expired envelope")
	}
}

func TestReplyForwardLimits(t *testing.T) {
	f := newReplyFixture(t, nil)
	a := f.token("lab")
	fwd := func(to ...string) *httptest.ResponseRecorder {
		return f.reply("lab", replyPost{token: a.ReplyToken, kind: "forward", text: "FYI", to: to})
	}
	var eleven []string
	for i := range 11 {
		eleven = append(eleven, fmt.Sprintf("r%d@ext.example", i))
	}
	if rec := fwd(strings.Join(eleven, ", ")); rec.Code != http.StatusBadRequest || !strings.Contains(decodeAnswer(t, rec).Message, "at most 10") {
		t.Errorf("forward to 11: %d %s", rec.Code, rec.Body)
	}
	if rec := fwd("not an address"); rec.Code != http.StatusBadRequest {
		t.Errorf("forward to a non-address: %d", rec.Code)
	}
	if rec := fwd(); rec.Code != http.StatusBadRequest {
		t.Errorf("forward to nobody: %d", rec.Code)
	}
	if len(f.mail.sent()) != 0 {
		t.Fatal("refused forwards sent mail")
	}
	rec := fwd("Kim <kim@third.example>", "colleague@example.org")
	if rec.Code != http.StatusOK {
		t.Fatalf("forward: %d %s", rec.Code, rec.Body)
	}
	sealed := f.mailTo("kim@third.example")
	if len(sealed) != 1 {
		t.Fatalf("forward to an external address: %+v", f.mail.sent())
	}
	env, inner := f.openSealed(sealed[0].Data)
	m, _ := mail.ReadMessage(bytes.NewReader(inner))
	if env.Sender != replyReader || m.Header.Get("Subject") != "Fwd: Lab results [-Encrypted-]" || m.Header.Get("In-Reply-To") != "" {
		t.Errorf("forwarded: envelope sender %q, Subject %q, In-Reply-To %q", env.Sender, m.Header.Get("Subject"), m.Header.Get("In-Reply-To"))
	}

	// Forward not allowed for this envelope (a trigger's reply list).
	f.putLab("noforward", []string{"reply"})
	b := f.token("noforward")
	if !slices.Equal(b.Reply, []string{"reply"}) {
		t.Errorf("kinds offered %v", b.Reply)
	}
	if rec := f.reply("noforward", replyPost{token: b.ReplyToken, kind: "forward", text: "x", to: []string{"kim@third.example"}}); rec.Code != http.StatusForbidden {
		t.Errorf("forward where not allowed: %d", rec.Code)
	}
}

func TestReplyAllowFromConfig(t *testing.T) {
	// An envelope sealed before reply rights were recorded follows
	// [reply] allow.
	f := newReplyFixture(t, func(c *config.Config) { c.Reply.Allow = []config.ReplyKind{config.ReplyToSender} })
	a := f.token("lab")
	if !slices.Equal(a.Reply, []string{"reply"}) {
		t.Fatalf("kinds %v", a.Reply)
	}
	if rec := f.reply("lab", replyPost{token: a.ReplyToken, kind: "reply-all", text: "x"}); rec.Code != http.StatusForbidden {
		t.Errorf("reply all where not allowed: %d", rec.Code)
	}
}

func TestReplySizeAndRateLimits(t *testing.T) {
	f := newReplyFixture(t, nil, func(c *Config) { c.MaxReplySize = 64 << 10; c.RepliesPerHour = 2 })
	a := f.token("lab")
	big := bytes.Repeat([]byte("x"), 65<<10)
	if rec := f.reply("lab", replyPost{token: a.ReplyToken, kind: "reply", text: "x", files: map[string][]byte{"big.bin": big}}); rec.Code != http.StatusRequestEntityTooLarge {
		t.Errorf("reply over the size limit: %d", rec.Code)
	}
	// Encoded, 50 KiB of attachment is over 64 KiB of message.
	if rec := f.reply("lab", replyPost{token: a.ReplyToken, kind: "reply", text: "x", files: map[string][]byte{"b.bin": big[:50<<10]}}); rec.Code != http.StatusRequestEntityTooLarge {
		t.Errorf("reply whose message is over the limit: %d", rec.Code)
	}
	for i := range 2 {
		if rec := f.reply("lab", replyPost{token: a.ReplyToken, kind: "reply", text: "x"}); rec.Code != http.StatusOK {
			t.Fatalf("reply %d: %d %s", i+1, rec.Code, rec.Body)
		}
	}
	rec := f.reply("lab", replyPost{token: a.ReplyToken, kind: "reply", text: "x"})
	if rec.Code != http.StatusTooManyRequests || rec.Header().Get("Retry-After") == "" {
		t.Errorf("third reply in an hour: %d, Retry-After %q", rec.Code, rec.Header().Get("Retry-After"))
	}
	if f.metrics.refusals(refusedReplies) != 1 {
		t.Errorf("refusals counted: %d", f.metrics.refusals(refusedReplies))
	}
}

func TestReplyCORS(t *testing.T) {
	f := newReplyFixture(t, nil)
	req := httptest.NewRequest("OPTIONS", "/api/v1/envelopes/lab/reply", nil)
	req.Header.Set("Origin", "null")
	req.Header.Set("Access-Control-Request-Method", "POST")
	rec := f.do(req, "")
	if rec.Code != http.StatusNoContent || rec.Header().Get("Access-Control-Allow-Origin") != "*" || !strings.Contains(rec.Header().Get("Access-Control-Allow-Methods"), "POST") {
		t.Errorf("preflight: %d %v", rec.Code, rec.Header())
	}
	// A refusal carries CORS too, so the page can read why.
	rec = f.reply("lab", replyPost{token: "x", kind: "reply", text: "x"})
	if rec.Code != http.StatusUnauthorized || rec.Header().Get("Access-Control-Allow-Origin") != "*" {
		t.Errorf("refusal: %d, CORS %q", rec.Code, rec.Header().Get("Access-Control-Allow-Origin"))
	}
	if ct, _, _ := mime.ParseMediaType(rec.Header().Get("Content-Type")); ct != "application/json" {
		t.Errorf("answer type %q", ct)
	}
}

// What the page sets in the header is bounded and every header line stays
// within SMTP's 998 octets.
func TestReplyLongSubjectAndFileName(t *testing.T) {
	f := newReplyFixture(t, nil)
	a := f.token("lab")
	long := strings.Repeat("é", 3000)
	rec := f.reply("lab", replyPost{token: a.ReplyToken, kind: "reply", text: "x", subject: long, files: map[string][]byte{long + ".pdf": []byte("pdf")}})
	if rec.Code != http.StatusOK {
		t.Fatalf("reply: %d %s", rec.Code, rec.Body)
	}
	data := f.mail.sent()[0].Data
	for _, line := range strings.Split(string(data), "\r\n") {
		if len(line) > 998 {
			t.Fatalf("a line of %d octets: %.80q…", len(line), line)
		}
	}
	m, err := mail.ReadMessage(bytes.NewReader(data))
	if err != nil {
		t.Fatal(err)
	}
	subject, err := new(mime.WordDecoder).DecodeHeader(m.Header.Get("Subject"))
	if err != nil || !strings.HasPrefix(subject, "Re: éé") || len(subject) > 500 {
		t.Errorf("Subject of %d bytes (%v): %.40q", len(subject), err, subject)
	}
}

// formReader is a multipart reader over the parts (name, filename, data)
// in order, and the count of octets it took from the body.
func formReader(t *testing.T, parts ...[3]string) (*multipart.Reader, *countingReader) {
	t.Helper()
	var b bytes.Buffer
	mw := multipart.NewWriter(&b)
	for _, p := range parts {
		h := textproto.MIMEHeader{}
		params := map[string]string{"name": p[0]}
		if p[0] == "attachments" {
			params["filename"] = p[1]
		}
		h.Set("Content-Disposition", mime.FormatMediaType("form-data", params))
		w, err := mw.CreatePart(h)
		if err != nil {
			t.Fatal(err)
		}
		_, _ = io.WriteString(w, p[2])
	}
	_ = mw.Close()
	cr := &countingReader{r: &b}
	return multipart.NewReader(cr, mw.Boundary()), cr
}

type countingReader struct {
	r io.Reader
	n int
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += n
	return n, err
}

// The token part is read to replyTokenMax octets at most: a token of
// exactly that length is taken (and refused later as no token), one octet
// more is a malformed form.
func TestReadReplyTokenEdge(t *testing.T) {
	mr, _ := formReader(t, [3]string{"reply_token", "", strings.Repeat("A", replyTokenMax)})
	if tok, err := readReplyToken(mr); err != nil || len(tok) != replyTokenMax {
		t.Errorf("a token of %d octets: %d octets, %v", replyTokenMax, len(tok), err)
	}
	mr, _ = formReader(t, [3]string{"reply_token", "", strings.Repeat("A", replyTokenMax+1)})
	if _, err := readReplyToken(mr); err != errReplyTokenFirst {
		t.Errorf("a token of %d octets: %v; want %v", replyTokenMax+1, err, errReplyTokenFirst)
	}
}

// readReplyForm holds at most limit octets of text and attachments: a
// form that fills the limit exactly is read whole, an attachment is read
// no further than the room left, and fields that are not counted (the
// subject) are bounded by replyFieldMax only.
func TestReadReplyFormEdges(t *testing.T) {
	const limit = 64 << 10
	text := strings.Repeat("t", 24<<10)
	file := strings.Repeat("f", limit-len(text))
	mr, _ := formReader(t, [3]string{"kind", "", "reply"}, [3]string{"text", "", text}, [3]string{"attachments", "a.bin", file})
	f, err := readReplyForm(mr, limit)
	if err != nil || f.size != limit || len(f.files) != 1 || string(f.files[0].data) != file {
		t.Errorf("a form of exactly the limit: size %d, %d files, %v", f.size, len(f.files), err)
	}
	mr, _ = formReader(t, [3]string{"text", "", strings.Repeat("t", limit)})
	if f, err := readReplyForm(mr, limit); err != nil || f.size != limit {
		t.Errorf("a text of exactly the limit: size %d, %v", f.size, err)
	}
	// One octet over, in the attachment; and it is not read to its end.
	big := strings.Repeat("g", 4*limit)
	mr, cr := formReader(t, [3]string{"text", "", text}, [3]string{"attachments", "b.bin", big})
	if _, err := readReplyForm(mr, limit); err != errReplyTooLarge {
		t.Errorf("a form over the limit: %v; want %v", err, errReplyTooLarge)
	}
	if cr.n > limit+16<<10 {
		t.Errorf("%d octets read for a form over its limit of %d", cr.n, limit)
	}
	// A subject longer than the room for text and files is not theirs to count.
	subject := strings.Repeat("s", 2*limit)
	mr, _ = formReader(t, [3]string{"subject", "", subject}, [3]string{"text", "", "hi"})
	if f, err := readReplyForm(mr, limit); err != nil || f.subject != subject || f.size != 2 {
		t.Errorf("a long subject: size %d, %v", f.size, err)
	}
	// An empty file input (no name, no data) is no attachment; an empty
	// named file and an unnamed one with data are.
	mr, _ = formReader(t, [3]string{"attachments", "", ""}, [3]string{"attachments", "empty.txt", ""}, [3]string{"attachments", "", "data"})
	f, err = readReplyForm(mr, limit)
	if err != nil || len(f.files) != 2 || f.files[0].name != "empty.txt" || string(f.files[1].data) != "data" {
		t.Errorf("attachments %+v, %v; want empty.txt and the unnamed one with data", f.files, err)
	}
}

// Exactly max addresses may be forwarded to.
func TestForwardAddressesAtMax(t *testing.T) {
	var to []string
	for i := range 3 {
		to = append(to, fmt.Sprintf("r%d@ext.example", i))
	}
	if out, why := forwardAddresses([]string{strings.Join(to, "; ")}, 3); why != "" || !slices.Equal(out, to) {
		t.Errorf("three addresses, three allowed: %v %q", out, why)
	}
	if _, why := forwardAddresses(to, 2); why == "" {
		t.Error("three addresses, two allowed: not refused")
	}
}

// To and Cc of the written reply: Reply all puts the sender in To and the
// others in Cc, a forward puts every address in To; a text gets its last
// line end, an empty text stays empty; an attachment without a name is
// named by its place, and an attachment alone is a reply.
func TestReplyRecipientHeaders(t *testing.T) {
	f := newReplyFixture(t, nil)
	a := f.token("lab")
	header := func(data []byte) mail.Header {
		t.Helper()
		m, err := mail.ReadMessage(bytes.NewReader(data))
		if err != nil {
			t.Fatal(err)
		}
		return m.Header
	}
	if rec := f.reply("lab", replyPost{token: a.ReplyToken, kind: "reply-all", text: "abc"}); rec.Code != http.StatusOK {
		t.Fatalf("reply all: %d %s", rec.Code, rec.Body)
	}
	clear := f.mailTo(replyDoctor)
	h := header(clear[0].Data)
	if h.Get("To") != "<"+replyDoctor+">" || h.Get("Cc") != "<"+replyOther+">, <"+replyNurse+">" {
		t.Errorf("reply all: To %q, Cc %q; want the sender, then the others", h.Get("To"), h.Get("Cc"))
	}
	if text, _ := bodyParts(t, clear[0].Data); text != "abc\r\n" {
		t.Errorf("text %q; want it ended by CRLF", text)
	}
	f.mail.msgs = nil
	if rec := f.reply("lab", replyPost{token: a.ReplyToken, kind: "forward", text: "fyi", to: []string{"a@example.org, b@example.org"}}); rec.Code != http.StatusOK {
		t.Fatalf("forward: %d %s", rec.Code, rec.Body)
	}
	h = header(f.mailTo("a@example.org")[0].Data)
	if h.Get("To") != "<a@example.org>, <b@example.org>" || h.Get("Cc") != "" {
		t.Errorf("forward: To %q, Cc %q; want both in To", h.Get("To"), h.Get("Cc"))
	}
	f.mail.msgs = nil
	if rec := f.reply("lab", replyPost{token: a.ReplyToken, kind: "reply", files: map[string][]byte{"": []byte("scan")}}); rec.Code != http.StatusOK {
		t.Fatalf("an attachment alone: %d %s", rec.Code, rec.Body)
	}
	text, files := bodyParts(t, f.mailTo(replyDoctor)[0].Data)
	if text != "" || string(files["attachment-1"]) != "scan" {
		t.Errorf("text %q, attachments %v; want no text and attachment-1", text, slices.Collect(maps.Keys(files)))
	}
	if rec := f.reply("lab", replyPost{token: a.ReplyToken, kind: "reply", text: " \n"}); rec.Code != http.StatusBadRequest {
		t.Errorf("neither text nor attachment: %d; want 400", rec.Code)
	}
}

// The original's Message-ID is threaded on only below 900 octets.
func TestComposeReplyLongMessageID(t *testing.T) {
	f := newReplyFixture(t, nil)
	env, err := f.st.Envelope(context.Background(), "lab")
	if err != nil {
		t.Fatal(err)
	}
	for _, n := range []int{899, 900} {
		env.MessageID = "<" + strings.Repeat("x", n-2) + ">"
		out, err := f.srv.composeReply(f.cfg, env, f.account(replyReader), replyForm{kind: kindReply, text: "x"}, []string{replyDoctor}, f.clock.Now())
		if err != nil {
			t.Fatal(err)
		}
		m, err := mail.ReadMessage(bytes.NewReader(out.data))
		if err != nil {
			t.Fatal(err)
		}
		if got, want := m.Header.Get("References") != "", n < 900; got != want {
			t.Errorf("a Message-ID of %d octets: References set %v; want %v", n, got, want)
		}
	}
}

// The handler's edges: a declared body of exactly MaxReplySize plus
// replyFieldMax is read, a written reply of exactly MaxReplySize is sent
// and one octet less refuses it; a form that fails to arrive and a reply
// that goes out log no error; a reply gets a minute by default.
func TestReplyHandlerEdges(t *testing.T) {
	f := newReplyFixture(t, nil)
	logs := f.recordLog()
	if d := f.srv.replyReadTime(0); d != time.Minute {
		t.Errorf("default read time %v; want a minute", d)
	}
	a := f.token("lab")
	post := replyPost{token: a.ReplyToken, kind: "reply", text: "x"}
	declare := func(n int64) func(*http.Request) { return func(r *http.Request) { r.ContentLength = n } }
	max := f.srv.cfg.MaxReplySize + replyFieldMax
	if rec := f.reply("lab", post, declare(max+1)); rec.Code != http.StatusRequestEntityTooLarge {
		t.Errorf("declared %d octets: %d; want 413", max+1, rec.Code)
	}
	if rec := f.reply("lab", post, declare(max)); rec.Code != http.StatusOK {
		t.Errorf("declared %d octets: %d %s", max, rec.Code, rec.Body)
	}
	env, err := f.st.Envelope(context.Background(), "lab")
	if err != nil {
		t.Fatal(err)
	}
	out, err := f.srv.composeReply(f.cfg, env, f.account(replyReader), replyForm{kind: kindReply, text: "x"}, []string{replyDoctor}, f.clock.Now())
	if err != nil {
		t.Fatal(err)
	}
	f.srv.cfg.MaxReplySize = int64(len(out.data))
	if rec := f.reply("lab", post); rec.Code != http.StatusOK {
		t.Errorf("a reply of exactly MaxReplySize (%d): %d %s", len(out.data), rec.Code, rec.Body)
	}
	f.srv.cfg.MaxReplySize--
	if rec := f.reply("lab", post); rec.Code != http.StatusRequestEntityTooLarge {
		t.Errorf("a reply one octet over MaxReplySize: %d", rec.Code)
	}
	// A form that does not arrive whole costs a use of the token: spent
	// without an error to log.
	f.srv.cfg.MaxReplySize = 16
	if rec := f.reply("lab", replyPost{token: a.ReplyToken, kind: "reply", text: strings.Repeat("x", 17)}); rec.Code != http.StatusRequestEntityTooLarge {
		t.Errorf("a form over the limit: %d", rec.Code)
	}
	if lines := loggedLines(logs, "level=ERROR"); len(lines) != 0 {
		t.Errorf("errors logged for replies that went as they should: %q", lines)
	}
}
