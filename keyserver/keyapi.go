package keyserver

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"github.com/postseal/postseal/store"
)

// The key endpoint (API.md): POST /api/v1/envelopes/{id}/key with JSON
// {"email","password"} (as application/json, or as text/plain so the
// browser sends it as a simple request without preflight). The answer is
// JSON; failures carry "error" (a code) and "message" (a sentence the page
// may show as is).

type keyRequest struct {
	Email    string `json:"email"`
	Password string `json:"password"`
}

// apiAnswer is one JSON answer; a struct (not a map) keeps the bytes of
// equal answers equal.
type apiAnswer struct {
	Key      string `json:"key,omitempty"`
	Envelope string `json:"envelope,omitempty"`
	// PayloadSHA256 is the digest of the payload as sealed: the decryptor
	// refuses a payload that does not match (a co-recipient's forgery
	// under the shared message key).
	PayloadSHA256 string `json:"payload_sha256,omitempty"`
	Error         string `json:"error,omitempty"`
	Message       string `json:"message,omitempty"`
	RegisterURL   string `json:"register_url,omitempty"`
	ForgotURL     string `json:"forgot_url,omitempty"`
	RetryAfter    int    `json:"retry_after,omitempty"`
	// ReplyToken lets the page send secure replies (see reply.go); Reply
	// lists the kinds allowed and ReplyTo whom Reply and Reply all reach.
	ReplyToken string              `json:"reply_token,omitempty"`
	Reply      []string            `json:"reply,omitempty"`
	ReplyTo    map[string][]string `json:"reply_to,omitempty"`
	// Sent and Recipients answer a reply.
	Sent       bool     `json:"sent,omitempty"`
	Recipients []string `json:"recipients,omitempty"`
}

// Refusal reasons recorded in events (never shown to the client, which
// sees one answer for all the credential reasons).
const (
	reasonNoAccount    = "no_account"
	reasonBadPassword  = "bad_password"
	reasonNotActive    = "not_active"
	reasonDisabled     = "disabled"
	reasonNotRecipient = "not_recipient"
)

func corsHeaders(h http.Header) {
	h.Set("Access-Control-Allow-Origin", "*")
	h.Set("Access-Control-Expose-Headers", "Retry-After")
}

func (s *Server) handleKeyPreflight(w http.ResponseWriter, r *http.Request) {
	h := w.Header()
	corsHeaders(h)
	h.Set("Access-Control-Allow-Methods", "POST, OPTIONS")
	h.Set("Access-Control-Allow-Headers", "Content-Type")
	h.Set("Access-Control-Max-Age", "600")
	// Chromium's Private Network Access asks before a page reaches a key
	// service on a private or loopback address; the endpoint is meant for
	// any page, as with CORS.
	if r.Header.Get("Access-Control-Request-Private-Network") == "true" {
		h.Set("Access-Control-Allow-Private-Network", "true")
	}
	w.WriteHeader(http.StatusNoContent)
}

func (s *Server) writeAPI(w http.ResponseWriter, status int, a apiAnswer) {
	h := w.Header()
	corsHeaders(h)
	h.Set("Content-Type", "application/json; charset=utf-8")
	if a.RetryAfter > 0 {
		h.Set("Retry-After", strconv.Itoa(a.RetryAfter))
	}
	b, _ := json.Marshal(a)
	w.WriteHeader(status)
	_, _ = w.Write(append(b, '\n'))
}

const (
	msgBadRequest   = "The request is incomplete: an e-mail address and a password are needed."
	msgBadAddress   = "That is not an e-mail address: please enter one like name@example.com (at most 254 characters)."
	msgCredentials  = "The password is wrong, or this address has no active registration yet. If you have not registered, please register first; if you forgot your password, you can choose a new one."
	msgLocked       = "This message has been locked by the sender's organisation and cannot be opened. Please contact the sender if you still need it."
	msgUnknown      = "This message is not known to this key service. It may come from another server, or the attachment is damaged."
	msgShared       = "This message is opened with the password agreed between your organisation and the sender's, not with a key-service registration."
	msgExpired      = "This message has expired and can no longer be opened. Please ask the sender to send it again."
	msgUnavailable  = "The key service cannot check your request right now. Please try again in a few minutes."
	maxEnvelopeIDLn = 64
)

func msgThrottled(wait time.Duration) string {
	return "Too many failed attempts. Please wait " + waitText(wait) + " and try again."
}

func validEnvelopeID(id string) bool {
	if id == "" || len(id) > maxEnvelopeIDLn {
		return false
	}
	for _, c := range id {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_') {
			return false
		}
	}
	return true
}

func expired(e store.Envelope, now time.Time) bool {
	return !e.Expires.IsZero() && !now.Before(e.Expires)
}

func isRecipient(e store.Envelope, email string) bool {
	for _, r := range e.Recipients {
		// The same normalisation as the address asked with: Unicode case
		// folding would match "ſam@…" to "sam@…".
		if normEmail(r) == email {
			return true
		}
	}
	return false
}

func (s *Server) registerURL(email, envelope string) string {
	u := s.cfg.PublicURL + "/register?email=" + url.QueryEscape(email)
	if envelope != "" {
		u += "&envelope=" + url.QueryEscape(envelope)
	}
	return u
}

func (s *Server) forgotURL(email string) string {
	return s.cfg.PublicURL + "/forgot?email=" + url.QueryEscape(email)
}

func (s *Server) handleKey(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	id := r.PathValue("id")
	ip := s.remoteIP(r)

	var req keyRequest
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, maxAPIBody))
	if err := dec.Decode(&req); err != nil || normEmail(req.Email) == "" || req.Password == "" {
		s.writeAPI(w, http.StatusBadRequest, apiAnswer{Error: "bad_request", Message: msgBadRequest})
		return
	}
	email := normEmail(req.Email)
	if !plausibleEmail(email) {
		// Over 254 octets (or no address at all) cannot be anyone's:
		// answered before anything is read or stored.
		s.writeAPI(w, http.StatusBadRequest, apiAnswer{Error: "bad_request", Message: msgBadAddress})
		return
	}
	if !validEnvelopeID(id) {
		s.writeAPI(w, http.StatusNotFound, apiAnswer{Error: "unknown_envelope", Message: msgUnknown})
		return
	}

	// The envelope's state is checked before the credentials: it is the
	// same for everyone holding the securedoc, so it reveals nothing about
	// accounts, and a locked or expired envelope costs no Argon2.
	env, err := s.st.Envelope(ctx, id)
	switch {
	case errors.Is(err, store.ErrNotFound):
		s.writeAPI(w, http.StatusNotFound, apiAnswer{Error: "unknown_envelope", Message: msgUnknown})
		return
	case err != nil:
		s.unavailable(w, "envelope", err)
		return
	}
	now := s.now()
	if env.Kind == store.KindSharedPassword {
		s.writeAPI(w, http.StatusNotFound, apiAnswer{Error: "unknown_envelope", Message: msgShared})
		return
	}
	if expired(env, now) || !env.HasKey {
		s.refusal(ctx, env, email, ip, "expired")
		s.writeAPI(w, http.StatusGone, apiAnswer{Error: "expired", Message: msgExpired})
		return
	}
	if env.Locked {
		s.refusal(ctx, env, email, ip, "locked")
		s.writeAPI(w, http.StatusForbidden, apiAnswer{Error: "locked", Message: msgLocked})
		return
	}

	leave, err := s.enterAttempt(ctx, email, ip)
	if err != nil {
		s.metrics.Refused(refusedBusy)
		s.writeAPI(w, http.StatusTooManyRequests, apiAnswer{Error: "throttled", Message: msgThrottled(attemptWait), RetryAfter: retrySeconds(attemptWait)})
		return
	}
	defer leave()
	wait, err := s.throttled(ctx, email, ip)
	if err != nil {
		s.unavailable(w, "throttle", err)
		return
	}
	if wait > 0 {
		// Counted, not stored: a throttled request costs the client
		// nothing, so a row per refusal would let it fill the disk.
		s.metrics.Refused(refusedThrottled)
		secs := retrySeconds(wait)
		s.writeAPI(w, http.StatusTooManyRequests, apiAnswer{Error: "throttled", Message: msgThrottled(wait), RetryAfter: secs})
		return
	}

	acct, reason, err := s.authenticate(ctx, s.hash, email, req.Password)
	if err != nil {
		s.unavailable(w, "authenticate", err)
		return
	}
	if reason == "" && !isRecipient(env, email) {
		reason = reasonNotRecipient
	}
	if reason != "" {
		s.event(ctx, store.EventLoginFailed, email, id, ip, reason)
		s.metrics.LoginFailed()
		s.writeAPI(w, http.StatusUnauthorized, apiAnswer{
			Error: "invalid_credentials", Message: msgCredentials,
			RegisterURL: s.registerURL(email, id), ForgotURL: s.forgotURL(email),
		})
		return
	}

	key, err := s.st.EnvelopeKey(ctx, id)
	switch {
	case errors.Is(err, store.ErrNotFound):
		// Expired and shredded between the two reads.
		s.event(ctx, store.EventKeyRefused, email, id, ip, "expired")
		s.writeAPI(w, http.StatusGone, apiAnswer{Error: "expired", Message: msgExpired})
		return
	case err != nil:
		s.unavailable(w, "envelope key", err)
		return
	}
	s.event(ctx, store.EventKeyReleased, acct.Email, id, ip, "")
	s.recordOpen(ctx, env, acct, now)
	s.metrics.KeyReleased()
	ans := apiAnswer{Key: base64.RawURLEncoding.EncodeToString(key), Envelope: id, PayloadSHA256: env.PayloadDigest}
	if ans.ReplyToken, ans.Reply = s.issueReplyToken(ctx, env, acct.Email, now); ans.ReplyToken != "" {
		ans.ReplyTo = map[string][]string{
			kindReply:    replyRecipients(env, kindReply, acct.Email),
			kindReplyAll: replyRecipients(env, kindReplyAll, acct.Email),
		}
	}
	s.writeAPI(w, http.StatusOK, ans)
}

func (s *Server) unavailable(w http.ResponseWriter, what string, err error) {
	s.log.Error("key service: store", "op", what, "err", err)
	s.writeAPI(w, http.StatusServiceUnavailable, apiAnswer{Error: "unavailable", Message: msgUnavailable})
}
