package keyserver

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"net/http"
	"net/mail"
	"os"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/postseal/postseal/config"
	"github.com/postseal/postseal/store"
)

// Secure reply. The key release hands the reader a reply token bound to
// the envelope and their address; POST /api/v1/envelopes/{id}/reply takes
// it with the text and attachments (multipart/form-data, from a page on
// file:// or Open Online: CORS for any origin, no cookies). Who receives the
// reply is decided here from the store — the envelope's sender, its other
// recipients — never from the page, except the addresses of a Forward.
// Internal addresses get the reply in the clear through the durable mail
// queue ([smtp] relay), external ones a new sealed envelope made by the
// same policy code as the milter's.

const (
	// replyTokenTTL and replyTokenUses bound what a released key's token
	// can send: a reader writes a few answers in one sitting.
	replyTokenTTL  = 2 * time.Hour
	replyTokenUses = 5
	// replyFieldMax caps a form field other than an attachment.
	replyFieldMax = 1 << 20
	// replyTokenMax caps the token field (a token is 43 characters).
	replyTokenMax = 256
	// replyReadTimeout bounds how long one reply's form may take to
	// arrive (Config.ReplyReadTimeout). A reply being read holds one of
	// ReplyConcurrency slots and up to MaxReplySize of memory: without a
	// bound of its own a client trickling its body would hold a slot for
	// the server's whole ReadTimeout (5 minutes, sized for Open Online
	// posts), and a few such clients at a few addresses would hold them
	// all. The token is read first, so only a recipient the key API
	// released a key to can hold a slot this way at all, while the
	// envelope, the account and the quota allow a send, and each form
	// that times out costs the token one of its replyTokenUses.
	replyReadTimeout = 60 * time.Second
	// replyMinRate (octets per second) extends the read time by the body
	// the client declares: a 10 MB reply from a phone on a slow uplink
	// (256 kbit/s) gets the minute plus 5 minutes, where a flat minute
	// would refuse anything larger than what 1.4 Mbit/s carries in it.
	replyMinRate = 32 << 10
)

// Reply kinds as the page posts them.
const (
	kindReply    = string(config.ReplyToSender)
	kindReplyAll = string(config.ReplyToAll)
	kindForward  = string(config.ReplyForward)
)

// replyRights are the kinds of answer an envelope allows: what was decided
// when it was sealed, or (sealed before that was recorded) the
// configuration's [reply] allow. Shared-password envelopes allow none.
func replyRights(env store.Envelope, cfg *config.Config) []string {
	if env.Kind == store.KindSharedPassword {
		return []string{}
	}
	if env.Reply != nil {
		return env.Reply
	}
	out := []string{}
	for _, k := range cfg.Reply.Allow {
		out = append(out, string(k))
	}
	return out
}

// replyRecipients is whom a Reply or Reply all from address reaches,
// decided from the envelope: the sender, and for Reply all everyone the
// original named in To and Cc (or, for envelopes sealed before that was
// recorded, the envelope's recipients) but the replier.
func replyRecipients(env store.Envelope, kind, address string) []string {
	out := []string{normEmail(env.Sender)}
	if kind == kindReplyAll {
		others := env.ReplyAll
		if others == nil {
			others = env.Recipients
		}
		out = append(out, others...)
	}
	var uniq []string
	for _, a := range out {
		a = normEmail(a)
		if a == "" || a == address || slices.Contains(uniq, a) {
			continue
		}
		uniq = append(uniq, a)
	}
	return uniq
}

// issueReplyToken stores a fresh reply token for address on env and
// returns it, with the kinds of answer allowed; "" when replies are off.
func (s *Server) issueReplyToken(ctx context.Context, env store.Envelope, address string, now time.Time) (string, []string) {
	if s.policy == nil {
		return "", nil
	}
	rights := replyRights(env, s.policy().Config)
	if len(rights) == 0 {
		return "", nil
	}
	secret := make([]byte, 32)
	_, _ = rand.Read(secret)
	sum := sha256.Sum256(secret)
	err := s.st.PutToken(ctx, store.Token{Hash: sum[:], Purpose: store.TokenReply, Email: address, EnvelopeID: env.ID, Uses: replyTokenUses, Expires: now.Add(replyTokenTTL)})
	if err != nil {
		// The key is released all the same: reading matters more than
		// answering from the page.
		s.log.Error("key service: storing reply token", "envelope", env.ID, "err", err)
		return "", nil
	}
	return base64.RawURLEncoding.EncodeToString(secret), rights
}

// replyForm is what the page posts after the token.
type replyForm struct {
	kind, text, subject string
	to                  []string
	files               []replyFile
	size                int64 // bytes of text and files
}

type replyFile struct {
	name, contentType string
	data              []byte
}

var (
	errReplyTooLarge   = errors.New("too large")
	errReplyTokenFirst = errors.New("the form does not start with reply_token")
)

// readReplyToken reads the form's first part, which must be the reply
// token (the page sends it first): the token is checked before the rest of
// the body is read and before a reply slot is taken, so a client without
// a valid token never holds one.
func readReplyToken(mr *multipart.Reader) (string, error) {
	p, err := mr.NextPart()
	if err == io.EOF {
		return "", errReplyTokenFirst
	}
	if err != nil {
		return "", err
	}
	if p.FormName() != "reply_token" {
		return "", errReplyTokenFirst
	}
	data, err := io.ReadAll(io.LimitReader(p, replyTokenMax+1))
	if err != nil {
		return "", err
	}
	if len(data) > replyTokenMax {
		return "", errReplyTokenFirst
	}
	return strings.TrimSpace(string(data)), nil
}

// readReplyForm reads the rest of the multipart form, holding at most
// limit bytes of text and attachments; past that it returns
// errReplyTooLarge.
func readReplyForm(mr *multipart.Reader, limit int64) (replyForm, error) {
	var f replyForm
	for {
		p, err := mr.NextPart()
		if err == io.EOF {
			return f, nil
		}
		if err != nil {
			return f, err
		}
		name := p.FormName()
		max := int64(replyFieldMax)
		if name == "attachments" {
			max = limit - f.size
		}
		data, err := io.ReadAll(io.LimitReader(p, max+1))
		if err != nil {
			return f, err
		}
		if int64(len(data)) > max {
			return f, errReplyTooLarge
		}
		switch name {
		case "reply_token":
			return f, errReplyTokenFirst // only as the first part
		case "kind":
			f.kind = strings.TrimSpace(string(data))
		case "text":
			f.text = string(data)
			f.size += int64(len(data))
		case "subject":
			f.subject = string(data)
		case "to":
			f.to = append(f.to, string(data))
		case "attachments":
			if p.FileName() == "" && len(data) == 0 {
				continue // an empty file input
			}
			f.files = append(f.files, replyFile{name: p.FileName(), contentType: p.Header.Get("Content-Type"), data: data})
			f.size += int64(len(data))
		}
		if f.size > limit {
			return f, errReplyTooLarge
		}
	}
}

// forwardAddresses checks the typed Forward addresses: at most max, each an
// address.
func forwardAddresses(fields []string, max int) ([]string, string) {
	var out []string
	for _, field := range fields {
		for _, part := range strings.FieldsFunc(field, func(r rune) bool { return r == ',' || r == ';' || r == '\n' }) {
			part = strings.TrimSpace(part)
			if part == "" {
				continue
			}
			a, err := mail.ParseAddress(part)
			if err != nil || !plausibleEmail(normEmail(a.Address)) {
				return nil, fmt.Sprintf(msgForwardAddress, part)
			}
			if addr := normEmail(a.Address); !slices.Contains(out, addr) {
				out = append(out, addr)
			}
		}
	}
	if len(out) == 0 {
		return nil, msgForwardNone
	}
	if len(out) > max {
		return nil, fmt.Sprintf(msgForwardMany, max)
	}
	return out, ""
}

func (s *Server) handleReply(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	id := r.PathValue("id")
	say := s.replyAnswers(w, r)
	if s.policy == nil || !validEnvelopeID(id) {
		say.write(http.StatusNotFound, apiAnswer{Error: "unknown_envelope", Message: msgUnknown})
		return
	}
	pol := s.policy()
	limit := s.cfg.MaxReplySize
	if r.ContentLength > limit+replyFieldMax {
		say.write(http.StatusRequestEntityTooLarge, apiAnswer{Error: "too_large", Message: fmt.Sprintf(msgReplyTooLarge, humanBytes(limit))})
		return
	}
	// The whole form must arrive within the reply's read time, the token
	// part included; where the connection cannot take a deadline (tests
	// with a recorder) the server's ReadTimeout still bounds it. An answer
	// given before the form is read whole closes the connection at once:
	// the server would otherwise wait for the unread rest of a refused
	// body before answering.
	rc := http.NewResponseController(w)
	say.readTime = s.replyReadTime(r.ContentLength)
	_ = rc.SetReadDeadline(time.Now().Add(say.readTime))
	w.Header().Set("Connection", "close")
	formRead := false
	defer func() {
		if !formRead {
			_ = rc.SetReadDeadline(time.Now())
		}
	}()
	r.Body = http.MaxBytesReader(w, r.Body, limit+replyFieldMax)
	mr, err := r.MultipartReader()
	if err != nil {
		say.write(http.StatusBadRequest, apiAnswer{Error: "bad_request", Message: msgReplyBad})
		return
	}
	token, err := readReplyToken(mr)
	if err != nil {
		say.readFailed(err, limit)
		return
	}

	now := s.now()
	secret, err := base64.RawURLEncoding.DecodeString(token)
	if err != nil || len(secret) != 32 {
		say.write(http.StatusUnauthorized, apiAnswer{Error: "invalid_token", Message: msgReplyToken})
		return
	}
	sum := sha256.Sum256(secret)
	tok, err := s.st.Token(ctx, sum[:], store.TokenReply, now)
	switch {
	case errors.Is(err, store.ErrNotFound):
		say.write(http.StatusUnauthorized, apiAnswer{Error: "invalid_token", Message: msgReplyToken})
		return
	case err != nil:
		say.unavailable("reply token", err)
		return
	}
	if tok.EnvelopeID != id {
		say.write(http.StatusUnauthorized, apiAnswer{Error: "invalid_token", Message: msgReplyToken})
		return
	}

	// What the token cannot vouch for is checked before a slot is taken:
	// a disabled account, a locked or expired envelope or a used-up
	// quota is refused while the rest of the body is still on its way.
	_, acct, ok := s.replyAllowed(ctx, say, tok, id, now)
	if !ok {
		return
	}
	ip := s.remoteIP(r)
	res, refused, err := s.replyQuota.reserve(ctx, s.st, acct.Email, ip, s.cfg.RepliesPerHour, s.cfg.RepliesPerClient, now)
	if err != nil {
		say.unavailable("reply count", err)
		return
	}
	if refused {
		s.metrics.Refused(refusedReplies)
		say.write(http.StatusTooManyRequests, apiAnswer{Error: "throttled", Message: fmt.Sprintf(msgReplyRate, waitText(10*time.Minute)), RetryAfter: 600})
		return
	}
	defer res.Done(nil)

	// Only a valid token's holder reads the rest into memory, in one of
	// the slots, within what remains of the read time.
	// Per client address and per account: a recipient posting slow forms
	// from several addresses holds no more slots than from one.
	for _, key := range []string{"reply " + ip, "reply account " + acct.Email} {
		if !s.inFlight.enter(key) {
			say.write(http.StatusServiceUnavailable, apiAnswer{Error: "busy", Message: msgReplyBusy, RetryAfter: 30})
			return
		}
		defer s.inFlight.leave(key)
	}
	select {
	case s.replySem <- struct{}{}:
		defer func() { <-s.replySem }()
	default:
		say.write(http.StatusServiceUnavailable, apiAnswer{Error: "busy", Message: msgReplyBusy, RetryAfter: 30})
		return
	}
	form, err := readReplyForm(mr, limit)
	if err != nil {
		// A form that did not arrive (cut off at its read time, too
		// large, malformed) costs a use of the token: its holder could
		// otherwise take a slot for the read time again and again for
		// the token's two hours.
		if _, serr := s.st.SpendToken(context.WithoutCancel(ctx), sum[:], store.TokenReply, now); serr != nil && !errors.Is(serr, store.ErrNotFound) {
			s.log.Error("key service: store", "op", "reply token after a failed read", "err", serr)
		}
		say.readFailed(err, limit)
		return
	}
	formRead = true
	w.Header().Del("Connection")
	// Checked again: the state may have changed while the form arrived.
	now = s.now()
	env, acct, ok := s.replyAllowed(ctx, say, tok, id, now)
	if !ok {
		return
	}
	if !slices.Contains([]string{kindReply, kindReplyAll, kindForward}, form.kind) || (strings.TrimSpace(form.text) == "" && len(form.files) == 0) {
		say.write(http.StatusBadRequest, apiAnswer{Error: "bad_request", Message: msgReplyBad})
		return
	}
	if !slices.Contains(replyRights(env, pol.Config), form.kind) {
		say.write(http.StatusForbidden, apiAnswer{Error: "not_allowed", Message: msgReplyNotAllow})
		return
	}
	var rcpts []string
	if form.kind == kindForward {
		var why string
		if rcpts, why = forwardAddresses(form.to, max(1, pol.Config.Reply.MaxRecipients)); why != "" {
			say.write(http.StatusBadRequest, apiAnswer{Error: "bad_recipients", Message: why})
			return
		}
	} else if rcpts = replyRecipients(env, form.kind, acct.Email); len(rcpts) == 0 {
		say.write(http.StatusBadRequest, apiAnswer{Error: "bad_recipients", Message: msgReplyNobody})
		return
	}
	if utf8.RuneCountInString(form.subject) > replySubjectMax {
		say.write(http.StatusBadRequest, apiAnswer{Error: "bad_request", Message: msgReplySubject})
		return
	}

	out, err := s.composeReply(pol.Config, env, acct, form, rcpts, now)
	if err != nil {
		s.log.Error("key service: composing reply", "envelope", id, "err", err)
		say.write(http.StatusBadRequest, apiAnswer{Error: "bad_request", Message: msgReplyBad})
		return
	}
	if int64(len(out.data)) > limit {
		say.write(http.StatusRequestEntityTooLarge, apiAnswer{Error: "too_large", Message: fmt.Sprintf(msgReplyTooLarge, humanBytes(limit))})
		return
	}
	// The token's use is taken last, atomically: of two sends racing for
	// the last use one goes, and a form refused once read whole costs the
	// reader none (one that failed to arrive did, above).
	if _, err := s.st.SpendToken(ctx, sum[:], store.TokenReply, now); errors.Is(err, store.ErrNotFound) {
		say.write(http.StatusUnauthorized, apiAnswer{Error: "invalid_token", Message: msgReplyToken})
		return
	} else if err != nil {
		say.unavailable("reply token", err)
		return
	}
	if err := s.deliverReply(ctx, pol, out, rcpts, now); err != nil {
		s.log.Error("key service: sending reply", "envelope", id, "kind", form.kind, "err", err)
		res.Done(func() { s.replyEvent(ctx, env.ID, acct.Email, ip, "failed", form.kind, len(rcpts), len(out.data)) })
		say.write(http.StatusServiceUnavailable, apiAnswer{Error: "unavailable", Message: msgReplyFailed})
		return
	}
	res.Done(func() { s.replyEvent(ctx, env.ID, acct.Email, ip, "ok", form.kind, len(rcpts), len(out.data)) })
	say.write(http.StatusOK, apiAnswer{Envelope: id, Sent: true, Recipients: rcpts, Message: fmt.Sprintf(msgReplySent, strings.Join(rcpts, ", "))})
}

// replyAllowed checks what may change while a valid reply token lives:
// the envelope is known, keeps its key and is not locked, and the token's
// address is a recipient with an active account, not disabled. When not,
// it answers and reports false.
func (s *Server) replyAllowed(ctx context.Context, say *replyAnswers, tok store.Token, id string, now time.Time) (store.Envelope, store.Account, bool) {
	env, err := s.st.Envelope(ctx, id)
	switch {
	case errors.Is(err, store.ErrNotFound):
		say.write(http.StatusNotFound, apiAnswer{Error: "unknown_envelope", Message: msgUnknown})
		return env, store.Account{}, false
	case err != nil:
		say.unavailable("envelope", err)
		return env, store.Account{}, false
	}
	if expired(env, now) || !env.HasKey {
		say.write(http.StatusGone, apiAnswer{Error: "expired", Message: msgExpired})
		return env, store.Account{}, false
	}
	if env.Locked {
		say.write(http.StatusForbidden, apiAnswer{Error: "locked", Message: msgLocked})
		return env, store.Account{}, false
	}
	// The account must still be the reader's: a disabled one sends nothing.
	acct, err := s.st.Account(ctx, tok.Email)
	if errors.Is(err, store.ErrNotFound) || (err == nil && (!acct.Active || acct.Disabled)) || !isRecipient(env, tok.Email) {
		say.write(http.StatusUnauthorized, apiAnswer{Error: "invalid_token", Message: msgReplyToken})
		return env, acct, false
	}
	if err != nil {
		say.unavailable("account", err)
		return env, acct, false
	}
	say.account(acct)
	return env, acct, true
}

// replyReadTime is how long a form declaring n octets may take to arrive:
// the base read time plus n at replyMinRate (n is at most the reply limit,
// checked before; a body of unknown length gets the base).
func (s *Server) replyReadTime(n int64) time.Duration {
	d := s.cfg.ReplyReadTimeout
	if n > 0 {
		d += time.Duration(n) * time.Second / replyMinRate
	}
	return d
}

// replyReadFailed answers a form that could not be read: too large (413),
// too slow (408: the read time ran out), or malformed (400).
func (say *replyAnswers) readFailed(err error, limit int64) {
	var maxErr *http.MaxBytesError
	switch {
	case errors.Is(err, errReplyTooLarge) || errors.As(err, &maxErr):
		say.write(http.StatusRequestEntityTooLarge, apiAnswer{Error: "too_large", Message: fmt.Sprintf(msgReplyTooLarge, humanBytes(limit))})
	case errors.Is(err, os.ErrDeadlineExceeded):
		say.write(http.StatusRequestTimeout, apiAnswer{Error: "timeout", Message: fmt.Sprintf(msgReplySlow, waitText(say.readTime))})
	case errors.Is(err, errReplyTokenFirst):
		say.write(http.StatusBadRequest, apiAnswer{Error: "bad_request", Message: msgReplyTokenFirst})
	default:
		say.write(http.StatusBadRequest, apiAnswer{Error: "bad_request", Message: msgReplyBad})
	}
}

// replyEvent records a reply in the audit trail: who, on which envelope,
// to how many, how large and how it went — never the text.
func (s *Server) replyEvent(ctx context.Context, envelopeID, address, ip, outcome, kind string, rcpts, size int) {
	err := s.st.AddEvent(ctx, store.Event{
		Time: s.now(), Kind: store.EventReplySent, Email: address, EnvelopeID: envelopeID, RemoteIP: ip,
		Auth: "reply token", Outcome: outcome, Detail: fmt.Sprintf("%s; %d recipients; %d bytes", kind, rcpts, size),
	})
	if err != nil {
		s.log.Error("key service: recording event", "kind", store.EventReplySent, "err", err)
	}
}

func (s *Server) handleReplyPreflight(w http.ResponseWriter, r *http.Request) {
	s.handleKeyPreflight(w, r)
}

// newMessageID is a fresh Message-ID in the domain of addr.
func newMessageID(addr string) string {
	b := make([]byte, 16)
	_, _ = rand.Read(b)
	domain := "postseal.invalid"
	if i := strings.LastIndexByte(addr, '@'); i >= 0 && i < len(addr)-1 {
		domain = addr[i+1:]
	}
	return "<" + hex.EncodeToString(b) + "@" + domain + ">"
}

func humanBytes(n int64) string {
	switch {
	case n >= 1000*1000:
		return fmt.Sprintf("%.0f MB", float64(n)/1e6)
	case n >= 1000:
		return fmt.Sprintf("%.0f kB", float64(n)/1e3)
	}
	return fmt.Sprintf("%d bytes", n)
}

// mediaType keeps a part's declared type when it is a plain one (a single
// body: see plainMediaTypes), else application/octet-stream.
func mediaType(ct string) string {
	mt, _, err := mime.ParseMediaType(ct)
	top, _, ok := strings.Cut(mt, "/")
	if err != nil || !ok || !slices.Contains(plainMediaTypes, top) {
		return "application/octet-stream"
	}
	return mt
}

// plainMediaTypes are the top-level types an attachment may keep: one
// body, written base64. multipart/* would be written raw (its bytes taken
// for MIME structure) and message/* may not be base64 (RFC 2046).
var plainMediaTypes = []string{"application", "audio", "font", "image", "model", "text", "video"}
