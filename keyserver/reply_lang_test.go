package keyserver

import (
	"context"
	"net/http"
	"net/url"
	"testing"

	"github.com/postseal/postseal/locale"
)

// acceptLanguage and pageLang are how a request asks for a language: the
// browser's header, and the page naming its own (?lang=).
func acceptLanguage(v string) func(*http.Request) {
	return func(r *http.Request) { r.Header.Set("Accept-Language", v) }
}

func pageLang(code string) func(*http.Request) {
	return func(r *http.Request) { r.URL.RawQuery = url.Values{"lang": {code}}.Encode() }
}

// The reply endpoint's answers are in the language the request asks for:
// the page's (?lang=), else the reader's account's, else the browser's;
// English when nothing asks for another.
func TestReplyAnswersInTheReadersLanguage(t *testing.T) {
	f := newReplyFixture(t, nil, func(c *Config) { c.RepliesPerHour = 1 })
	a := f.token("lab")
	es := locale.Builtin()
	answer := func(name string, code int, want string, p replyPost, opts ...func(*http.Request)) {
		t.Helper()
		rec := f.reply("lab", p, opts...)
		if rec.Code != code {
			t.Errorf("%s: %d; want %d", name, rec.Code, code)
		}
		if c := rec.Header().Get("Set-Cookie"); c != "" {
			t.Errorf("%s: the API answer sets a cookie: %s", name, c)
		}
		if got := decodeAnswer(t, rec).Message; got != want {
			t.Errorf("%s: message %q\nwant %q", name, got, want)
		}
	}
	spanish := func(format string, args ...any) string {
		t.Helper()
		s := es.Sprintf("es", format, args...)
		if s == es.Sprintf("en", format, args...) {
			t.Fatalf("no Spanish for %q", format)
		}
		return s
	}

	// Before the token names anyone: the browser's language.
	answer("unknown token, Accept-Language es", http.StatusUnauthorized, spanish(msgReplyToken),
		replyPost{token: "AAAA", kind: "reply", text: "x"}, acceptLanguage("es-ES,es;q=0.9,en;q=0.5"))
	answer("unknown token, no preference", http.StatusUnauthorized, msgReplyToken,
		replyPost{token: "AAAA", kind: "reply", text: "x"})
	// The page names its language.
	answer("bad kind, ?lang=es", http.StatusBadRequest, spanish(msgReplyBad),
		replyPost{token: a.ReplyToken, kind: "shout", text: "x"}, pageLang("es"))
	answer("bad address, ?lang=es", http.StatusBadRequest, spanish(msgForwardAddress, "not-an-address"),
		replyPost{token: a.ReplyToken, kind: "forward", to: []string{"not-an-address"}, text: "x"}, pageLang("es"))

	// The reader's account says Spanish: it beats the browser, not the page.
	acct := f.account(replyReader)
	acct.Language = "es"
	if err := f.st.UpdateAccount(context.Background(), acct); err != nil {
		t.Fatal(err)
	}
	answer("forward limit, account es, browser en", http.StatusBadRequest, spanish(msgForwardMany, 10),
		replyPost{token: a.ReplyToken, kind: "forward", to: []string{"a1@x.example, a2@x.example, a3@x.example, a4@x.example, a5@x.example, a6@x.example, a7@x.example, a8@x.example, a9@x.example, a10@x.example, a11@x.example"}, text: "x"},
		acceptLanguage("en"))
	answer("forward none, account es, page en", http.StatusBadRequest, msgForwardNone,
		replyPost{token: a.ReplyToken, kind: "forward", text: "x"}, pageLang("en"))
	answer("sent, account es", http.StatusOK, spanish(msgReplySent, replyDoctor),
		replyPost{token: a.ReplyToken, kind: "reply", text: "Gracias."})
	// A formatted sentence whose argument is itself a sentence.
	answer("rate, account es", http.StatusTooManyRequests, spanish(msgReplyRate, spanish("%d minutes", 10)),
		replyPost{token: a.ReplyToken, kind: "reply", text: "Otra vez."})
}

// Every sentence the reply endpoint answers with has its Spanish.
func TestReplyMessagesSpanishComplete(t *testing.T) {
	if miss := locale.Builtin().Missing("es", replyMessages); len(miss) > 0 {
		t.Errorf("no Spanish for %d reply answers: %q", len(miss), miss)
	}
}
