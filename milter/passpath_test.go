package milter

import (
	"io"
	"log/slog"
	"testing"

	"github.com/d--j/go-milter"

	"github.com/postseal/postseal/config"
	"github.com/postseal/postseal/policy"
)

// macroModifier answers the queue-id macro; the pass path asks nothing
// else of the MTA (any other call panics: the test then shows it).
type macroModifier struct{ milter.Modifier }

func (macroModifier) Get(milter.MacroName) string { return "4XQ1ABCDEF" }

// passHeader is a typical header of untouched outgoing mail.
var passHeader = [][2]string{
	{"Received", " from client.example.net (client.example.net [192.0.2.7])\r\n\tby mx.example.org (Postfix) with ESMTPS id 4XQ1ABCDEF\r\n\tfor <pat@partner.example.net>; Mon, 23 Nov 2026 16:00:00 +0000 (UTC)"},
	{"DKIM-Signature", " v=1; a=rsa-sha256; c=relaxed/relaxed; d=example.org; s=mail; h=from:to:subject:date; bh=47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=; b=dGVzdA=="},
	{"Message-ID", " <20261123160000.1234@example.org>"},
	{"Date", " Mon, 23 Nov 2026 16:00:00 +0000"},
	{"From", " Radiology <radiology@example.org>"},
	{"To", " Pat Partner <pat@partner.example.net>"},
	{"Subject", " =?UTF-8?Q?Termin_am_Montag_=E2=80=93_Best=C3=A4tigung?="},
	{"MIME-Version", " 1.0"},
	{"Content-Type", " multipart/alternative; boundary=\"b1\""},
}

// BenchmarkPassPath is one untouched message through the session as the
// MTA drives it (envelope, header, end of header), with the production
// log handler writing its one line: what postseal adds to the milter floor
// for mail it passes. `go test -bench PassPath -benchmem -cpuprofile` shows
// where it goes.
func BenchmarkPassPath(b *testing.B) {
	f := New(testPolicyB(b), newMemStore(), nil, slog.New(slog.NewTextHandler(io.Discard, &slog.HandlerOptions{Level: slog.LevelInfo})), Config{SpoolDir: b.TempDir()})
	s := &session{f: f, leadingSpace: true}
	var m macroModifier
	b.ReportAllocs()
	for b.Loop() {
		benchHeader(b, s, m, passHeader)
		r, err := s.Headers(m)
		if err != nil || r != milter.RespAccept {
			b.Fatalf("end of header: %v, %v; want accept", r, err)
		}
		s.Cleanup(m)
	}
}

// benchHeader drives s through the envelope and the header fields as the
// MTA does.
func benchHeader(b *testing.B, s *session, m milter.Modifier, fields [][2]string) {
	if _, err := s.MailFrom("<radiology@example.org>", "", m); err != nil {
		b.Fatal(err)
	}
	_, _ = s.RcptTo("<pat@partner.example.net>", "", m)
	for _, h := range fields {
		_, _ = s.Header(h[0], h[1], m)
	}
}

func testPolicyB(b *testing.B) *policy.Policy {
	p, err := policy.Load(config.Default())
	if err != nil {
		b.Fatal(err)
	}
	return p
}

// TestSessionReusesListsCleanly: a connection's second message starts with
// empty header and recipient lists (their arrays are reused) and nothing of
// the first message is seen by the second's decision.
func TestSessionReusesListsCleanly(t *testing.T) {
	f := New(testPolicy(t), newMemStore(), nil, slog.New(slog.DiscardHandler), Config{SpoolDir: t.TempDir()})
	s := &session{f: f, leadingSpace: true}
	var m macroModifier
	_, _ = s.MailFrom("<radiology@example.org>", "", m)
	_, _ = s.RcptTo("<pat@partner.example.net>", "", m)
	_, _ = s.RcptTo("<second@partner.example.net>", "", m)
	for _, h := range passHeader {
		_, _ = s.Header(h[0], h[1], m)
	}
	if r, _ := s.Headers(m); r != milter.RespAccept {
		t.Fatalf("first message: %v, want accept", r)
	}
	first := s.trx.Fields[:len(passHeader)]
	s.Cleanup(m)

	_, _ = s.MailFrom("<radiology@example.org>", "", m)
	_, _ = s.RcptTo("<pat@partner.example.net>", "", m)
	_, _ = s.Header("Subject", " *secure* results", m)
	if len(s.trx.Fields) != 1 || len(s.trx.Rcpts) != 1 || s.trx.Fields[0].Name != "Subject" {
		t.Fatalf("second message header %+v, recipients %v; want its own only", s.trx.Fields, s.trx.Rcpts)
	}
	if first[1].Name != "" {
		t.Errorf("the first message's fields are still held: %+v", first[1])
	}
	// The second message is triggered: its own subject decides.
	if r, _ := s.Headers(m); r == milter.RespAccept {
		t.Error("the second message (triggered) was passed at the end of its header")
	}
	s.Cleanup(m)
}
