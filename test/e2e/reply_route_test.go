package e2e

import (
	"bytes"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/postseal/postseal/test/mta"
)

// A secure reply's sealed copy does not pass the milter again. Here the
// key service's [smtp] relay is Postfix's main smtpd, the one with
// postseal as its milter (as in production): a Reply all to a sealed
// message reaches the other external recipient sealed exactly once — one
// securedoc that gpg opens to the reply's text, not a securedoc wrapped in
// another — through the listener without milters, while the clear copy to
// the internal sender goes through the relay like any mail.
func TestSecureReplyRelayThroughMilter(t *testing.T) {
	needRoot(t)
	reinject, smtp := freePort(t), freePort(t)
	ps := startPostseal(t, PostsealConfig{ReinjectPort: reinject, RelayPort: smtp})
	pf := startPostfix(t, mta.Options{SMTPPort: smtp, Milter: postfixMilterAddr(ps.MilterPort), ReinjectPort: reinject})
	base := fmt.Sprintf("http://127.0.0.1:%d", ps.HTTPPort)
	const (
		reader   = "route-reader@partner.example.net"
		other    = "route-other@clinic.example.net"
		password = "a reply reader's long password"
		text     = "Reply all through the relay: Monday 10:00."
		marker   = "[-Encrypted-]"
	)
	msg := strings.ReplaceAll(fmt.Sprintf(`From: Alice Doctor <%s>
To: %s, %s
Subject: *secure* Referral for Pat
Date: Thu, 03 Dec 2026 09:00:00 +0000
Message-ID: <route-1@example.org>
MIME-Version: 1.0
Content-Type: text/plain; charset=utf-8

Please see Pat on Monday.
`, postfixSender, reader, other), "\n", "\r\n")
	mark := postfixMustAccept(t, pf, mta.SMTP, postfixSender, []string{reader, other}, []byte(msg))
	sealed := postfixOpenSealed(t, ps, postfixWait(t, pf, mark, reader, 1)[0])
	original := postfixWait(t, pf, mark, other, 1)[0]
	// The activation mail goes through the relay and its milter: clear
	// mail postseal writes is filtered like any other.
	keyserverRegister(t, pf, mark, base, reader, sealed.ID, password, 1)
	status, ans := keyserverReleaseFull(t, base, sealed.ID, reader, password)
	if status != http.StatusOK || ans.ReplyToken == "" {
		t.Fatalf("key release: %d %+v", status, ans)
	}
	code, body := replyPostAPI(t, base, sealed.ID, [2]string{"reply_token", ans.ReplyToken}, [2]string{"kind", "reply-all"},
		[2]string{"subject", "*secure* Referral for Pat"}, [2]string{"text", text})
	if code != http.StatusOK {
		t.Fatalf("reply all: %d %s", code, body)
	}

	clear := replyWait(t, pf, postfixSender, text)
	postfixWait(t, pf, mark, other, 2)
	// Nothing more is on its way: postseal's queue is empty and Postfix
	// holds nothing for them.
	deadline := time.Now().Add(postfixDeliveryTimeout)
	for {
		if m, code := httpGet(t, base+"/metrics"); code == http.StatusOK && strings.Contains(m, "postseal_mail_queue_depth 0\n") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("postseal's mail queue not empty after %v", postfixDeliveryTimeout)
		}
		time.Sleep(20 * time.Millisecond) // poll interval
	}
	postfixSettled(t, pf, other, postfixSender)
	all, err := pf.DeliveredTo(other)
	if err != nil {
		t.Fatal(err)
	}
	if len(all) != 2 {
		t.Fatalf("%d copies to %s; want the original and one reply", len(all), other)
	}
	var reply *mta.Delivery
	for _, d := range all {
		if !bytes.Equal(d.Data, original.Data) {
			reply = d
		}
	}
	if reply == nil {
		t.Fatal("no reply for the other external recipient")
	}
	got := postfixOpenSealed(t, ps, reply)
	if n := bytes.Count(reply.Data, []byte("\nX-Postseal-Envelope:")); n != 1 {
		t.Errorf("the reply carries %d X-Postseal-Envelope headers; want 1", n)
	}
	if !bytes.Contains(got.Payload, []byte(text)) {
		t.Errorf("the sealed reply opens to %q; want the reply's text", postfixClip(got.Payload))
	}
	for _, nested := range []string{"X-Postseal-Envelope", "securedoc_", "BEGIN PGP MESSAGE"} {
		if bytes.Contains(got.Payload, []byte(nested)) {
			t.Errorf("the sealed reply opens to another sealed message (%q inside): sealed twice", nested)
		}
	}
	if got.Subject != "Re: Referral for Pat "+marker {
		t.Errorf("the sealed reply's subject %q; want %q, the marker once", got.Subject, "Re: Referral for Pat "+marker)
	}
	for d, want := range map[*mta.Delivery]string{reply: mta.Reinject, clear: mta.SMTP} {
		if l, err := pf.Listener(d); err != nil || l != want {
			t.Errorf("%s's copy came through the %q listener (%v); want %q", d.Recipient, l, err, want)
		}
	}
}
