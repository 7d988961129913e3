package keyserver

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/postseal/postseal/store"
)

// What a valid reply token no longer lets its holder do, over real TCP:
// hold a reply slot while its account is disabled, its envelope locked or
// expired or its quota used up — each is answered as soon as the token
// has arrived, while the rest of the body is still on its way — nor hold
// one again and again by letting the form time out.

// slowReplyWith starts a reply whose token has arrived and whose text is
// still arriving, and returns the answer (within answerWithin).
func slowReplyWith(t *testing.T, ts *httptest.Server, id, token string) (*http.Response, apiAnswer) {
	t.Helper()
	c := startSlowReply(t, ts, id, part("reply_token", token)+part("kind", "reply")+"--"+slowBoundary+"\r\nContent-Disposition: form-data; name=\"text\"\r\n\r\nand then", false)
	return c.answer()
}

func TestReplyRefusedBeforeTheSlot(t *testing.T) {
	for _, tt := range []struct {
		name   string
		change func(f *replyFixture)
		status int
		errs   string
	}{
		{"account disabled", func(f *replyFixture) {
			a, err := f.st.Account(context.Background(), replyReader)
			if err != nil {
				t.Fatal(err)
			}
			a.Disabled = true
			if err := f.st.UpdateAccount(context.Background(), a); err != nil {
				t.Fatal(err)
			}
		}, http.StatusUnauthorized, "invalid_token"},
		{"envelope locked", func(f *replyFixture) {
			if err := f.st.SetLocked(context.Background(), "lab", true, store.Change{}); err != nil {
				t.Fatal(err)
			}
		}, http.StatusForbidden, "locked"},
		{"envelope expired", func(f *replyFixture) {
			if err := f.st.ExpireEnvelope(context.Background(), "lab", f.clock.Now(), store.Change{}); err != nil {
				t.Fatal(err)
			}
		}, http.StatusGone, "expired"},
		{"quota used up", func(f *replyFixture) {
			if err := f.st.AddEvent(context.Background(), store.Event{Time: f.clock.Now(), Kind: store.EventReplySent, Email: replyReader, EnvelopeID: "lab", Outcome: "ok"}); err != nil {
				t.Fatal(err)
			}
		}, http.StatusTooManyRequests, "throttled"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			// A long read time: the answer must come from the token, not
			// from the form timing out.
			f := newReplyFixture(t, nil, func(c *Config) { c.ReplyReadTimeout, c.RepliesPerHour = time.Minute, 1 })
			a := f.token("lab")
			tt.change(f)
			ts := httptest.NewServer(f.srv)
			t.Cleanup(ts.Close) // after the slow client's connection is closed
			resp, ans := slowReplyWith(t, ts, "lab", a.ReplyToken)
			if resp.StatusCode != tt.status || ans.Error != tt.errs {
				t.Errorf("with the body still arriving: %d %+v; want %d %s at once", resp.StatusCode, ans, tt.status, tt.errs)
			}
			if len(f.mail.sent()) != 0 {
				t.Error("a reply was sent")
			}
		})
	}
}

// A form that times out costs its token a use: five 408s and the token
// (5 uses) sends nothing more, where it held a slot for the read time
// again and again for its two hours.
func TestReplyTimeoutsUseUpTheToken(t *testing.T) {
	f := newReplyFixture(t, nil, func(c *Config) { c.ReplyReadTimeout = 200 * time.Millisecond })
	a := f.token("lab")
	ts := httptest.NewServer(f.srv)
	t.Cleanup(ts.Close)
	for i := range replyTokenUses {
		resp, ans := slowReplyWith(t, ts, "lab", a.ReplyToken)
		if resp.StatusCode != http.StatusRequestTimeout || ans.Error != "timeout" {
			t.Fatalf("slow form %d: %d %+v; want 408", i+1, resp.StatusCode, ans)
		}
	}
	secret, _ := base64.RawURLEncoding.DecodeString(a.ReplyToken)
	sum := sha256.Sum256(secret)
	if tok, err := f.st.Token(context.Background(), sum[:], store.TokenReply, f.clock.Now()); err == nil {
		t.Errorf("after %d timeouts the token has %d uses left", replyTokenUses, tok.Uses)
	}
	if code, ans := postReply(t, ts, "lab", a.ReplyToken, "After the timeouts."); code != http.StatusUnauthorized || ans.Error != "invalid_token" {
		t.Errorf("a whole reply after %d timeouts: %d %+v; want 401 invalid_token", replyTokenUses, code, ans)
	}
	if len(f.mail.sent()) != 0 {
		t.Error("a reply was sent on a used-up token")
	}
}

// One account holds at most ClientInFlight replies being read, from any
// number of client addresses: a recipient cannot take every reply slot
// by posting slow forms from several addresses. Of two slow forms of one
// account from two addresses, one is answered 503 at once (whichever the
// server read second), while the other is still being read.
func TestReplySlotsPerAccount(t *testing.T) {
	f := newReplyFixture(t, nil, func(c *Config) { c.ReplyReadTimeout, c.ClientInFlight = time.Minute, 1 })
	a := f.token("lab")
	ts := httptest.NewServer(f.srv)
	t.Cleanup(ts.Close) // after the slow clients' connections are closed
	head := part("reply_token", a.ReplyToken) + part("kind", "reply") + "--" + slowBoundary + "\r\nContent-Disposition: form-data; name=\"text\"\r\n\r\nand then"
	type answer struct {
		status int
		err    string
	}
	answers := make(chan answer, 2)
	for _, from := range []string{"127.0.0.1", "127.0.0.2"} {
		c := startSlowReplyFrom(t, ts, from, "lab", head, true)
		go func() {
			// Not c.answer: t.Fatal belongs to the test's goroutine.
			_ = c.conn.SetReadDeadline(time.Now().Add(answerWithin))
			resp, err := http.ReadResponse(c.br, nil)
			if err != nil {
				answers <- answer{err: err.Error()}
				return
			}
			defer resp.Body.Close()
			var ans apiAnswer
			_ = json.NewDecoder(resp.Body).Decode(&ans)
			answers <- answer{resp.StatusCode, ans.Error}
		}()
	}
	if got := <-answers; got != (answer{http.StatusServiceUnavailable, "busy"}) {
		t.Errorf("one account's two slow forms from two addresses: the first answer is %+v; want 503 busy at once", got)
	}
}
