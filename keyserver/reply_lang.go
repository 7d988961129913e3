package keyserver

import (
	"net/http"
	"time"

	"github.com/postseal/postseal/store"
)

// The reply endpoint answers in the reader's language: the page it is
// sent from says which (?lang=, the page's own language), else the
// reader's account once the token names it, else the browser's
// Accept-Language, else the organisation's language. The sentences below
// are the English keys of the catalogues (locale/catalog); a formatted one
// is translated by its shape (locale.Catalog.Translate).

const (
	msgReplyToken      = "This reply cannot be sent: the page's permission to send has expired or was used up. Open the message again (press Open) and send it once more; your text is still on the page."
	msgReplyBad        = "The reply is incomplete: it needs a kind (reply, reply-all or forward) and a text or an attachment."
	msgReplyNotAllow   = "The sender's organisation does not allow this kind of answer for this message."
	msgReplyTooLarge   = "The reply is too large to be sent securely (the limit is %s). Remove or shrink attachments."
	msgReplyRate       = "You have sent many secure replies in the last hour. Please wait %s and try again."
	msgReplyBusy       = "The key service is busy. Please try again in a minute."
	msgReplyFailed     = "The reply could not be sent right now. Nothing was sent; please try again in a few minutes."
	msgReplySlow       = "The reply took longer than %s to arrive and was not sent. Check your connection and press Send again; your text is still on the page."
	msgReplyTokenFirst = "The reply form is malformed: its first field must be reply_token."
	msgReplySubject    = "The subject is too long (at most 4000 characters). Shorten it and send again."
	msgReplyNobody     = "This message names nobody to answer."
	msgReplySent       = "Sent to %s."
	msgForwardAddress  = "\"%s\" is not an e-mail address. Enter addresses like name@example.com, separated by commas."
	msgForwardNone     = "Enter at least one address in To."
	msgForwardMany     = "A message can be forwarded to at most %d addresses."
)

// replyMessages are the sentences the reply endpoint answers with, the
// key endpoint's it shares included: each has its translations.
var replyMessages = []string{
	msgReplyToken, msgReplyBad, msgReplyNotAllow, msgReplyTooLarge, msgReplyRate, msgReplyBusy,
	msgReplyFailed, msgReplySlow, msgReplyTokenFirst, msgReplySubject, msgReplyNobody, msgReplySent,
	msgForwardAddress, msgForwardNone, msgForwardMany,
	msgUnknown, msgExpired, msgLocked, msgUnavailable,
}

// replyAnswers writes one reply request's JSON answers in its language.
type replyAnswers struct {
	s        *Server
	w        http.ResponseWriter
	lang     string
	explicit bool // the page named its language
	// readTime is the time the form was given to arrive (the 408 says it).
	readTime time.Duration
}

func (s *Server) replyAnswers(w http.ResponseWriter, r *http.Request) *replyAnswers {
	return &replyAnswers{s: s, w: w, lang: s.requestLang(r), explicit: s.cat.Has(r.URL.Query().Get("lang"))}
}

// account settles the language on the reader's account's, unless the page
// named its own.
func (say *replyAnswers) account(acct store.Account) {
	if !say.explicit && say.s.cat.Has(acct.Language) {
		say.lang = acct.Language
	}
}

func (say *replyAnswers) write(status int, a apiAnswer) {
	a.Message = say.s.cat.Translate(say.lang, a.Message)
	say.s.writeAPI(say.w, status, a)
}

// unavailable is Server.unavailable in the reader's language.
func (say *replyAnswers) unavailable(what string, err error) {
	say.s.log.Error("key service: store", "op", what, "err", err)
	say.write(http.StatusServiceUnavailable, apiAnswer{Error: "unavailable", Message: msgUnavailable})
}
