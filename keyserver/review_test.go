package keyserver

import (
	"bytes"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/mail"
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-message"
	"github.com/postseal/postseal/config"
	"github.com/postseal/postseal/store"
)

// Findings of the second security review of the key service (a recipient
// with an activated account attacking it), one test each.

// sealedCopy is the one sealed copy a reply sent to addr, its clear header
// parsed.
func (f *replyFixture) sealedCopy(addr string) (*mail.Message, []byte) {
	f.t.Helper()
	got := f.mailTo(addr)
	if len(got) != 1 {
		f.t.Fatalf("mail to %s: %d copies", addr, len(got))
	}
	m, err := mail.ReadMessage(bytes.NewReader(got[0].Data))
	if err != nil {
		f.t.Fatal(err)
	}
	return m, got[0].Data
}

func decodedSubject(t *testing.T, h mail.Header) string {
	t.Helper()
	s, err := new(mime.WordDecoder).DecodeHeader(h.Get("Subject"))
	if err != nil {
		t.Fatalf("Subject %q: %v", h.Get("Subject"), err)
	}
	return s
}

// TestForwardOuterSubjectFromTheStore: the clear subject of a sealed copy
// is made by the server from the envelope's stored subject; the subject
// the page posts travels inside the payload only (issue 10: the
// original's subject as decrypted), so a recipient cannot send mail
// signed by the organisation with a subject of their own to anyone.
func TestForwardOuterSubjectFromTheStore(t *testing.T) {
	const lure = "Example Health billing: invoice overdue, pay at https://pay.evil.test"
	for _, tc := range []struct {
		name, want string
		edit       func(*config.Config)
	}{
		{"keep", "Fwd: Lab results [-Encrypted-]", nil},
		{"neutral", "[-Encrypted-] Secure message from Example Health", func(c *config.Config) { c.Envelope.OuterSubject = config.OuterNeutral }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newReplyFixture(t, tc.edit)
			a := f.token("lab")
			rec := f.reply("lab", replyPost{token: a.ReplyToken, kind: "forward", text: "x", subject: lure, to: []string{"v1@victim.test", "colleague@example.org"}})
			if rec.Code != http.StatusOK {
				t.Fatalf("forward: %d %s", rec.Code, rec.Body)
			}
			m, data := f.sealedCopy("v1@victim.test")
			outer := decodedSubject(t, m.Header)
			if strings.Contains(outer, "evil") || strings.Contains(outer, "billing") {
				t.Errorf("the sealed copy's clear subject is the page's: %q", outer)
			}
			if outer != tc.want {
				t.Errorf("clear subject %q; want %q", outer, tc.want)
			}
			env, inner := f.openSealed(data)
			if env.Subject != outer {
				t.Errorf("stored subject %q, clear subject %q", env.Subject, outer)
			}
			im, err := mail.ReadMessage(bytes.NewReader(inner))
			if err != nil {
				t.Fatal(err)
			}
			if s := decodedSubject(t, im.Header); s != "Fwd: "+lure+" [-Encrypted-]" {
				t.Errorf("the payload's subject %q; want the page's", s)
			}
			// The clear copy inside keeps the page's subject; it is marked
			// as external mail.
			cm, _ := f.sealedCopy("colleague@example.org")
			if s := decodedSubject(t, cm.Header); !strings.Contains(s, "billing") || cm.Header.Get(ReplyMarkHeader) == "" {
				t.Errorf("internal copy: subject %q, mark %q", s, cm.Header.Get(ReplyMarkHeader))
			}
		})
	}
}

// TestForwardOuterHeaderNamesNoOriginal: a forwarded sealed copy's clear
// header does not name the envelope forwarded nor thread on its
// Message-ID (the forwardee would learn an envelope id not theirs); inside
// the payload both remain, so the reply threads once decrypted.
func TestForwardOuterHeaderNamesNoOriginal(t *testing.T) {
	f := newReplyFixture(t, nil)
	a := f.token("lab")
	if rec := f.reply("lab", replyPost{token: a.ReplyToken, kind: "forward", text: "FYI", to: []string{"kim@third.example"}}); rec.Code != http.StatusOK {
		t.Fatalf("forward: %d %s", rec.Code, rec.Body)
	}
	m, data := f.sealedCopy("kim@third.example")
	for _, name := range []string{ReplyEnvelopeHeader, "References", "In-Reply-To"} {
		if v := m.Header.Get(name); v != "" {
			t.Errorf("clear %s: %q", name, v)
		}
	}
	head, _, _ := bytes.Cut(data, []byte("\r\n\r\n"))
	if bytes.Contains(head, []byte("orig-1@example.org")) || bytes.Contains(head, []byte(": lab\r\n")) {
		t.Errorf("the clear header names the original:\n%s", head)
	}
	_, inner := f.openSealed(data)
	im, err := mail.ReadMessage(bytes.NewReader(inner))
	if err != nil {
		t.Fatal(err)
	}
	if im.Header.Get(ReplyEnvelopeHeader) != "lab" || im.Header.Get("References") != "<orig-1@example.org>" {
		t.Errorf("payload %s %q, References %q", ReplyEnvelopeHeader, im.Header.Get(ReplyEnvelopeHeader), im.Header.Get("References"))
	}
}

// TestReplyAttachmentTypeIsPlain: an attachment declared multipart/* or
// message/* (or anything but a plain type/subtype) was written raw, without
// transfer encoding, its bytes taken for MIME structure; it goes as
// application/octet-stream in base64 and arrives byte for byte.
func TestReplyAttachmentTypeIsPlain(t *testing.T) {
	raw := []byte("--x\r\nContent-Type: text/html\r\n\r\n<a href=\"https://evil.test\">pay</a>\r\n--x--\r\n")
	types := map[string]string{
		"a.bin": "multipart/mixed; boundary=x", "b.eml": "message/rfc822", "c.bin": "x-evil/thing",
		"d.bin": "Multipart/Alternative; boundary=x", "e.pdf": "application/pdf",
	}
	files := map[string][]byte{}
	for name := range types {
		files[name] = raw
	}
	f := newReplyFixture(t, nil)
	a := f.token("lab")
	if rec := f.reply("lab", replyPost{token: a.ReplyToken, kind: "reply", text: "see files", files: files, types: types}); rec.Code != http.StatusOK {
		t.Fatalf("reply: %d %s", rec.Code, rec.Body)
	}
	data := f.mailTo(replyDoctor)[0].Data
	e, err := message.Read(bytes.NewReader(data))
	if err != nil {
		t.Fatal(err)
	}
	mr := e.MultipartReader()
	if mr == nil {
		t.Fatal("the reply is not multipart")
	}
	seen := map[string]bool{}
	for {
		p, err := mr.NextPart()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		_, params, _ := p.Header.ContentDisposition()
		name := params["filename"]
		if name == "" {
			continue
		}
		seen[name] = true
		mt, _, _ := p.Header.ContentType()
		want := "application/octet-stream"
		if name == "e.pdf" {
			want = "application/pdf"
		}
		if mt != want || p.Header.Get("Content-Transfer-Encoding") != "base64" {
			t.Errorf("%s declared %q: written as %q, %q", name, types[name], mt, p.Header.Get("Content-Transfer-Encoding"))
		}
		if b, _ := io.ReadAll(p.Body); !bytes.Equal(b, raw) {
			t.Errorf("%s arrives as %q", name, b)
		}
	}
	if len(seen) != len(types) {
		t.Errorf("attachments found: %v", seen)
	}
}

// TestNamesLookAlikesRefused: a name passes only as letters, combining
// marks, spaces and ' - . after NFKC (so "＠" is "@"), without format or
// bidi characters, at most 64 characters: at registration the form names
// the field (en and es); an account stored before is written without its
// name, the address alone (and TestReplyStoredAddressLikeName).
func TestNamesLookAlikesRefused(t *testing.T) {
	f := newFixture(t)
	bad := []struct{ first, last, want, wantES string }{
		{"IT Service Desk", "‹servicedesk＠example.org›", "Last name: only letters", "Apellidos: solo se pueden usar letras"},
		{"Pat\u202eLee", "Lee", "First name: only letters", "Nombre: solo se pueden usar letras"},
		{"Pat\u200b", "Lee", "First name: only letters", "Nombre: solo se pueden usar letras"},
		{"Pat", "Lee (IT)", "Last name: only letters", "Apellidos: solo se pueden usar letras"},
		{"Pat", "Lee https://evil.test", "Last name: only letters", "Apellidos: solo se pueden usar letras"},
		{strings.Repeat("a", 40), strings.Repeat("b", 40), "at most 64 characters", "como máximo 64 caracteres"},
	}
	for i, tc := range bad {
		v := registrationAs(fmt.Sprintf("new%d@ext.example", i), tc.first, testPassword)
		v.Set("last_name", tc.last)
		rec := f.postFormFrom("/register", v, fmt.Sprintf("198.51.%d.9", 100+i))
		if rec.Code != http.StatusBadRequest || !strings.Contains(rec.Body.String(), tc.want) {
			t.Errorf("register as %q %q: %d, want %q in the page", tc.first, tc.last, rec.Code, tc.want)
		}
		v.Set("language", "es")
		rec = f.postFormFrom("/register?lang=es", v, fmt.Sprintf("198.51.%d.19", 100+i))
		if rec.Code != http.StatusBadRequest || !strings.Contains(rec.Body.String(), tc.wantES) {
			t.Errorf("register (es) as %q %q: %d, want %q in the page", tc.first, tc.last, rec.Code, tc.wantES)
		}
	}
	f.srv.bg.Wait()
	if n := len(f.mail.sent()); n != 0 {
		t.Errorf("refused registrations sent %d mails", n)
	}
	for i, good := range [][2]string{{"José-María", "O'Neil"}, {"Zoë", "St. John"}, {"Ｐａｔ", "Nguyễn"}} {
		v := registrationAs(fmt.Sprintf("ok%d@ext.example", i), good[0], testPassword)
		v.Set("last_name", good[1])
		if rec := f.postFormFrom("/register", v, fmt.Sprintf("198.51.%d.29", 100+i)); rec.Code != http.StatusOK {
			t.Errorf("register as %q %q: %d", good[0], good[1], rec.Code)
		}
	}
	// Written: an account stored before the rule is left out of From.
	for _, stored := range [][2]string{
		{"IT Service Desk", "‹servicedesk＠example.org›"}, {"Pat\u202e", "Lee"}, {"Pat", "Lee (IT)"},
		{strings.Repeat("a", 40), strings.Repeat("b", 40)},
	} {
		if got := senderName(store.Account{Email: replyReader, FirstName: stored[0], LastName: stored[1]}); got != "" {
			t.Errorf("senderName(%q %q) = %q; want none", stored[0], stored[1], got)
		}
	}
	if got := senderName(store.Account{FirstName: "Ｐａｔ", LastName: "Nguyễn"}); got != "Pat Nguyễn" {
		t.Errorf("senderName of a full-width name = %q; want it NFKC-normalised", got)
	}
}

// TestReceiptNamesOpenerByAddress: a read receipt goes to the internal
// sender; the opener's names are text a stranger chose (and accounts
// registered before names were checked hold any), so the receipt names the
// opener by address only.
func TestReceiptNamesOpenerByAddress(t *testing.T) {
	f := chicagoFixture(t)
	now := f.clock.Now()
	e := store.Envelope{ID: "env1", Sender: "doc@example.org", Recipients: []string{"carol@other.test"}, Kind: "keyservice",
		Created: now.Add(-time.Hour), Expires: now.Add(24 * time.Hour), Subject: "Lab results [-Encrypted-]", ReadReceipts: true}
	if err := f.st.PutEnvelope(t.Context(), e, make([]byte, 32)); err != nil {
		t.Fatal(err)
	}
	f.putAccount("carol@other.test", testPassword, true, false)
	acct := f.account("carol@other.test")
	acct.FirstName, acct.LastName = "Carol. IT NOTICE: your mailbox is over quota. Keep it at https://evil.test/keep", "Carol"
	if err := f.st.UpdateAccount(t.Context(), acct); err != nil {
		t.Fatal(err)
	}
	if rec := f.postKey("env1", "carol@other.test", testPassword, ""); rec.Code != http.StatusOK {
		t.Fatalf("key release: %d %s", rec.Code, rec.Body)
	}
	got := f.receipts()
	if len(got) != 1 {
		t.Fatalf("%d receipts", len(got))
	}
	_, text := receiptText(t, got[0])
	for _, bad := range []string{"NOTICE", "evil", "quota", "Carol"} {
		if strings.Contains(text, bad) {
			t.Errorf("the receipt carries the opener's %q:\n%s", bad, text)
		}
	}
	if !strings.Contains(text, "carol@other.test") {
		t.Errorf("the receipt does not name the opener's address:\n%s", text)
	}
}
