package e2e

import (
	"bytes"
	"fmt"
	"strings"
	"testing"

	"github.com/postseal/postseal/policy/policytest"
	"github.com/postseal/postseal/test/mta"
)

// triggersExtra are the decision matrix's triggers (the subject tag and one
// of each other kind, as an admin writes them) and a neutral-subject one.
var triggersExtra = policytest.TriggersTOML + `
[[trigger]]
name = "private"
match = "*private*"
marker = "[SECURE MESSAGE]"
marker_position = "replace"
outer_subject = "neutral"
`

func triggersMessage(from, to, subject, extra string) []byte {
	return []byte(fmt.Sprintf("From: <%s>\r\nTo: %s\r\nSubject: %s\r\nDate: Thu, 03 Dec 2026 09:00:00 +0000\r\nMessage-ID: <%d@example.org>\r\n%sMIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nTumour board notes for the patient.\r\n",
		from, to, subject, len(subject)+len(to), extra))
}

// TestTriggersPostfix: the triggers beyond the subject, through a real
// Postfix — a header set by a mail client's Encrypt button, the sender's
// department, one external recipient among two, and a neutral subject.
func TestTriggersPostfix(t *testing.T) {
	needRoot(t)
	reinject := freePort(t)
	ps := startPostseal(t, PostsealConfig{ReinjectPort: reinject, Extra: triggersExtra})
	pf := startPostfix(t, mta.Options{Milter: postfixMilterAddr(ps.MilterPort), ReinjectPort: reinject})

	t.Run("Header", func(t *testing.T) {
		rcpt := "gp@clinic.example"
		sent := triggersMessage(postfixSender, rcpt, "Consult notes", "X-Secure: yes\r\n")
		mark := postfixMustAccept(t, pf, mta.SMTP, postfixSender, []string{rcpt}, sent)
		d := postfixWait(t, pf, mark, rcpt, 1)[0]
		s := postfixOpenSealed(t, ps, d)
		if s.Subject != "Consult notes [-Encrypted-]" {
			t.Errorf("subject %q", s.Subject)
		}
		if bytes.Contains(bytes.ToLower(s.Header), []byte("x-secure")) {
			t.Errorf("the trigger's header reached the external recipient:\n%s", s.Header)
		}
		postfixCheckPayload(t, s, sent, "Subject: Consult notes")
		if env := postfixShowEnvelope(t, ps, s.ID); env.Trigger != "encrypt-button" {
			t.Errorf("trigger %q", env.Trigger)
		}
		// Without the header the same message passes untouched.
		plain := triggersMessage(postfixSender, rcpt, "Consult notes", "X-Secure: no\r\n")
		mark = postfixMustAccept(t, pf, mta.SMTP, postfixSender, []string{rcpt}, plain)
		for _, got := range postfixWait(t, pf, mark, rcpt, 2) {
			if got.Path != d.Path {
				postfixAssertUntouched(t, got, plain)
			}
		}
	})

	t.Run("Sender", func(t *testing.T) {
		from, rcpt := "onc@oncology.example.org", "insurer@payer.example"
		sent := triggersMessage(from, rcpt, "Treatment plan", "")
		mark := postfixMustAccept(t, pf, mta.SMTP, from, []string{rcpt}, sent)
		s := postfixOpenSealed(t, ps, postfixWait(t, pf, mark, rcpt, 1)[0])
		if s.Subject != "Treatment plan [-Encrypted-]" {
			t.Errorf("subject %q", s.Subject)
		}
		if env := postfixShowEnvelope(t, ps, s.ID); env.Trigger != "oncology" {
			t.Errorf("trigger %q", env.Trigger)
		}
	})

	t.Run("OneOfTwoRecipients", func(t *testing.T) {
		lab, other := "results@reflab.example", "friend@elsewhere.example"
		sent := triggersMessage(postfixSender, lab+", "+other, "Samples", "")
		mark := postfixMustAccept(t, pf, mta.SMTP, postfixSender, []string{lab, other}, sent)
		s := postfixOpenSealed(t, ps, postfixWait(t, pf, mark, lab, 1)[0])
		if s.Subject != "Samples [-Encrypted-]" {
			t.Errorf("subject %q", s.Subject)
		}
		postfixAssertUntouched(t, postfixWait(t, pf, mark, other, 1)[0], sent)
		// Both copies are in; exactly one each (postfixWait fails on more).
		postfixWait(t, pf, mark, lab, 1)
		postfixWait(t, pf, mark, other, 1)
	})

	t.Run("NeutralSubject", func(t *testing.T) {
		rcpt := "pat@home.example"
		subject := "*private* Biopsy result for Jane Roe"
		sent := triggersMessage(postfixSender, rcpt, subject, "")
		mark := postfixMustAccept(t, pf, mta.SMTP, postfixSender, []string{rcpt}, sent)
		d := postfixWait(t, pf, mark, rcpt, 1)[0]
		s := postfixOpenSealed(t, ps, d)
		if s.Subject != "[SECURE MESSAGE] Secure message from Example Health" {
			t.Errorf("subject %q", s.Subject)
		}
		postfixCheckHidden(t, d, "Biopsy", "Jane", "Roe")
		postfixCheckPayload(t, s, sent, "Subject: "+subject)
		if out := ps.Run(t, "envelope", "show", s.ID); strings.Contains(out, "Biopsy") {
			t.Errorf("the store holds a subject that never travelled in clear:\n%s", out)
		}
		if strings.Contains(ps.Log(), "Biopsy") {
			t.Error("the log holds a subject that never travelled in clear")
		}
	})
}
