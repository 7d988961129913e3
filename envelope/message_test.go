package envelope

import (
	"bytes"
	"io"
	"strings"
	"testing"

	"github.com/emersion/go-message/mail"
)

const originalHeader = "Received: from mx.example.org (mx.example.org [192.0.2.1])\r\n" +
	"\tby relay.example.org with ESMTPS id 4Zx; Mon, 23 Nov 2026 15:40:00 +0000\r\n" +
	"From: =?utf-8?q?Zo=C3=AB?= <zoe@example.org>\r\n" +
	"To: bob@partner.example,\r\n carol@partner.example\r\n" +
	"Subject: *secure* Palliative\r\n care consult\r\n" +
	"Date: Mon, 23 Nov 2026 15:39:59 +0000\r\n" +
	"Message-ID: <abc@example.org>\r\n" +
	"MIME-Version: 1.0\r\n" +
	"Content-Type: multipart/mixed;\r\n boundary=\"ORIG\"\r\n" +
	"Content-Transfer-Encoding: 8bit\r\n" +
	"Content-Language: en\r\n" +
	"content-id: <x@y>\r\n" +
	"X-Postseal-Envelope: forged-by-sender\r\n" +
	"x-postseal-envelope: forged-again\r\n" +
	"X-Mailer: Test\r\n"

const originalBody = "--ORIG\r\nContent-Type: text/plain\r\n\r\n" + secretSentence + "\r\n--ORIG--\r\n"

func TestWriteMessage(t *testing.T) {
	original := originalHeader + "\r\n" + originalBody
	s := sealOK(t, testRequest([]byte(original)), testOptions())
	var out bytes.Buffer
	if err := WriteMessage(&out, strings.NewReader(original), "Palliative care consult [-Encrypted-] Zoë", s); err != nil {
		t.Fatalf("WriteMessage: %v", err)
	}
	msg := out.String()

	header, body, ok := strings.Cut(msg, "\r\n\r\n")
	if !ok {
		t.Fatal("no blank line after the header")
	}
	if body != string(s.Body) {
		t.Error("body is not the sealed body")
	}
	if strings.Count(msg, "\n") != strings.Count(msg, "\r\n") {
		t.Error("bare LF in output")
	}
	for _, kept := range []string{
		"Received: from mx.example.org (mx.example.org [192.0.2.1])\r\n\tby relay.example.org with ESMTPS id 4Zx; Mon, 23 Nov 2026 15:40:00 +0000\r\n",
		"From: =?utf-8?q?Zo=C3=AB?= <zoe@example.org>\r\n",
		"To: bob@partner.example,\r\n carol@partner.example\r\n",
		"Date: Mon, 23 Nov 2026 15:39:59 +0000\r\n",
		"Message-ID: <abc@example.org>\r\n",
		"X-Mailer: Test\r\n",
	} {
		if !strings.Contains(header+"\r\n", kept) {
			t.Errorf("header lost %q", kept)
		}
	}
	// Header words are looked for in the header only: the securedoc's
	// decryptor script (a MIME parser) names "8bit" and "content-id" too.
	for _, gone := range []string{"8bit", "ORIG", "forged", "Content-Language", "content-id"} {
		if strings.Contains(header, gone) {
			t.Errorf("header still contains %q", gone)
		}
	}
	for _, gone := range []string{"*secure*", secretSentence} {
		if strings.Contains(msg, gone) {
			t.Errorf("output still contains %q", gone)
		}
	}

	m, err := mail.CreateReader(strings.NewReader(msg))
	if err != nil {
		t.Fatalf("parse output: %v", err)
	}
	subj, err := m.Header.Subject()
	if err != nil || subj != "Palliative care consult [-Encrypted-] Zoë" {
		t.Errorf("Subject = %q, %v", subj, err)
	}
	if got := m.Header.Values("Content-Type"); len(got) != 1 || got[0] != s.Header[1].Value {
		t.Errorf("Content-Type fields %q, want only %q", got, s.Header[1].Value)
	}
	if got := m.Header.Values("Content-Transfer-Encoding"); len(got) != 0 {
		t.Errorf("Content-Transfer-Encoding fields %q, want none", got)
	}
	if got := m.Header.Values("X-Postseal-Envelope"); len(got) != 1 || got[0] != s.Header[2].Value {
		t.Errorf("X-Postseal-Envelope fields %q, want only %q", got, s.Header[2].Value)
	}
	if got := m.Header.Values("MIME-Version"); len(got) != 1 {
		t.Errorf("MIME-Version fields %q", got)
	}
	if got := m.Header.Values("Subject"); len(got) != 1 {
		t.Errorf("Subject fields %q", got)
	}
	parts := 0
	for {
		_, err := m.NextPart()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatalf("NextPart: %v", err)
		}
		parts++
	}
	if parts != 3 {
		t.Errorf("%d parts, want 3 (text, html, securedoc)", parts)
	}
}

func TestWriteMessageSubject(t *testing.T) {
	s := &Sealed{Header: []Field{{"MIME-Version", "1.0"}}, Body: []byte("body\r\n")}
	tests := []struct {
		name, original, subject, want string
	}{
		{"no subject, none new", "From: a@example.org\r\n\r\nx", "", "From: a@example.org\r\nMIME-Version: 1.0\r\n\r\nbody\r\n"},
		{"no subject, new one", "From: a@example.org\r\n\r\nx", "Hi", "From: a@example.org\r\nSubject: Hi\r\nMIME-Version: 1.0\r\n\r\nbody\r\n"},
		{"subject kept empty", "Subject: old\r\nFrom: a@example.org\r\n\r\nx", "", "From: a@example.org\r\nSubject:\r\nMIME-Version: 1.0\r\n\r\nbody\r\n"},
		{"LF only original", "From: a@example.org\nSubject: old\n\nx\n", "new", "From: a@example.org\r\nSubject: new\r\nMIME-Version: 1.0\r\n\r\nbody\r\n"},
		{"header only", "From: a@example.org\r\nSubject: old\r\n", "new", "From: a@example.org\r\nSubject: new\r\nMIME-Version: 1.0\r\n\r\nbody\r\n"},
		{"mbox line and garbage dropped", "From someone Mon Nov 23\r\nFrom: a@example.org\r\nnot a field\r\n\r\nx", "new", "From: a@example.org\r\nSubject: new\r\nMIME-Version: 1.0\r\n\r\nbody\r\n"},
		{"folded subject removed whole", "Subject: a\r\n b\r\nX-A: 1\r\n\r\n", "c", "X-A: 1\r\nSubject: c\r\nMIME-Version: 1.0\r\n\r\nbody\r\n"},
		{"long subject folded", "\r\n", strings.Repeat("word ", 20) + "end",
			"Subject: word word word word word word word word word word word word word word\r\n word word word word word word end\r\nMIME-Version: 1.0\r\n\r\nbody\r\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var b bytes.Buffer
			if err := WriteMessage(&b, strings.NewReader(tt.original), tt.subject, s); err != nil {
				t.Fatal(err)
			}
			if b.String() != tt.want {
				t.Errorf("got\n%q\nwant\n%q", b.String(), tt.want)
			}
		})
	}
}

func TestWriteMessageErrors(t *testing.T) {
	if err := WriteMessage(io.Discard, strings.NewReader("\r\n"), "x", nil); err == nil {
		t.Error("nil Sealed accepted")
	}
	bad := &Sealed{Header: []Field{{"X-Postseal-Envelope", "a\r\nBcc: evil@example.org"}}}
	if err := WriteMessage(io.Discard, strings.NewReader("\r\n"), "x", bad); err == nil {
		t.Error("header value with a line break accepted")
	}
	huge := strings.NewReader("X-Big: " + strings.Repeat("a", maxHeaderBytes) + "\r\n\r\n")
	if err := WriteMessage(io.Discard, huge, "x", &Sealed{}); err == nil {
		t.Error("header over the size limit accepted")
	}
}
