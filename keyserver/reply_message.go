package keyserver

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/mail"
	"strings"
	"time"
	"unicode/utf8"

	gomail "github.com/emersion/go-message/mail"

	"github.com/postseal/postseal/config"
	"github.com/postseal/postseal/envelope"
	"github.com/postseal/postseal/policy"
	"github.com/postseal/postseal/store"
)

// replyOut is a reply written as a whole message, with what sealing it
// needs to know.
type replyOut struct {
	data    []byte
	subject string // the written message's (page's text allowed)
	// outerSubject is the clear subject of sealed copies: made by the
	// server from the stored envelope, never from the page, so a
	// recipient cannot make the organisation send a subject of their
	// choosing to any address.
	outerSubject string
	messageID    string
	from         mail.Address
	display      envelope.Display
}

// ReplyEnvelopeHeader names the envelope a secure reply answers.
const ReplyEnvelopeHeader = "X-Postseal-In-Reply-To"

// ReplyMarkHeader marks the clear copy of a secure reply or forward that
// reaches internal addresses: it was written outside, by the named
// address, and entered through the key service, not the inbound MX.
const ReplyMarkHeader = "X-Postseal-Reply"

// composeReply writes the reply: From the reader (with their account's
// name), To whom the store says, "Re:"/"Fwd:" and the marker once on the
// original's subject (as the page decrypted it; it travels inside the
// sealed payload and to internal staff, marked as outside mail, only),
// threaded on the original's Message-ID, a fresh
// Message-ID, the envelope it answers, the text and the attachments.
func (s *Server) composeReply(cfg *config.Config, env store.Envelope, acct store.Account, f replyForm, rcpts []string, now time.Time) (replyOut, error) {
	prefix := "Re"
	if f.kind == kindForward {
		prefix = "Fwd"
	}
	original := clip(strings.TrimSpace(oneLine(f.subject)), maxReplySubject)
	if original == "" {
		original = env.Subject
	}
	out := replyOut{
		subject:      policy.MarkSubject(policy.ReplySubject(cfg, prefix, original), cfg.Scanner.Marker),
		outerSubject: policy.MarkSubject(policy.ReplySubject(cfg, prefix, oneLine(env.Subject)), cfg.Scanner.Marker),
		messageID:    newMessageID(s.cfg.From),
		from:         mail.Address{Name: senderName(acct), Address: acct.Email},
	}
	to, cc := rcpts, []string(nil)
	if f.kind == kindReplyAll && len(rcpts) > 1 {
		to, cc = rcpts[:1], rcpts[1:]
	}
	var h gomail.Header
	h.SetDate(now)
	h.SetAddressList("From", []*gomail.Address{{Name: out.from.Name, Address: out.from.Address}})
	h.SetAddressList("To", addressList(to))
	if len(cc) > 0 {
		h.SetAddressList("Cc", addressList(cc))
	}
	h.SetSubject(out.subject)
	h.Set("Message-Id", out.messageID)
	if id := oneLine(env.MessageID); strings.HasPrefix(id, "<") && strings.HasSuffix(id, ">") && len(id) < 900 {
		if f.kind != kindForward {
			h.Set("In-Reply-To", id)
		}
		h.Set("References", id)
	}
	h.Set(ReplyEnvelopeHeader, env.ID)
	var b bytes.Buffer
	mw, err := gomail.CreateWriter(&b, h)
	if err != nil {
		return out, fmt.Errorf("compose reply: %w", err)
	}
	var th gomail.InlineHeader
	th.Set("Content-Type", "text/plain; charset=utf-8")
	tw, err := mw.CreateSingleInline(th)
	if err != nil {
		return out, fmt.Errorf("compose reply: %w", err)
	}
	text := strings.ReplaceAll(strings.ReplaceAll(f.text, "\r\n", "\n"), "\n", "\r\n")
	if text != "" && !strings.HasSuffix(text, "\r\n") {
		text += "\r\n"
	}
	if _, err := io.WriteString(tw, text); err != nil {
		return out, fmt.Errorf("compose reply: %w", err)
	}
	if err := tw.Close(); err != nil {
		return out, fmt.Errorf("compose reply: %w", err)
	}
	for i, file := range f.files {
		var ah gomail.AttachmentHeader
		ah.Set("Content-Type", mediaType(file.contentType))
		name := clip(oneLine(file.name), maxReplyFileName)
		if name == "" {
			name = fmt.Sprintf("attachment-%d", i+1)
		}
		ah.SetFilename(name)
		aw, err := mw.CreateAttachment(ah)
		if err != nil {
			return out, fmt.Errorf("compose reply: %w", err)
		}
		if _, err := aw.Write(file.data); err != nil {
			return out, fmt.Errorf("compose reply: %w", err)
		}
		if err := aw.Close(); err != nil {
			return out, fmt.Errorf("compose reply: %w", err)
		}
	}
	if err := mw.Close(); err != nil {
		return out, fmt.Errorf("compose reply: %w", err)
	}
	out.data = b.Bytes()
	out.display = envelope.Display{
		From: out.from.String(), To: strings.Join(to, ", "), Cc: strings.Join(cc, ", "),
		Subject: out.subject, Date: now.Format(time.RFC1123Z),
	}
	return out, nil
}

// What the page may set in the reply's header is bounded: a subject or a
// file name longer than these is cut (at a character boundary).
const (
	maxReplySubject  = 400
	maxReplyFileName = 200
)

func clip(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n]
}

func addressList(addrs []string) []*gomail.Address {
	out := make([]*gomail.Address, len(addrs))
	for i, a := range addrs {
		out[i] = &gomail.Address{Address: a}
	}
	return out
}

// deliverReply sends the reply by the one decision for replies: internal
// recipients get it as written, queued for [smtp] relay; external ones
// get a new envelope (sealed and recorded by policy.Seal, as the milter
// does) whose notification comes From the organisation's address ("Pat Lee
// via Example Health") — a message from the reader's own domain sent by
// our servers would fail DMARC at the receiver — with Reply-To the reader,
// queued for the listener without milters (Deps.Sealed), so the milter
// does not seal it a second time. Every copy is durable in the mail queue
// before this returns.
func (s *Server) deliverReply(ctx context.Context, pol *policy.Policy, out replyOut, rcpts []string, now time.Time) error {
	d := policy.DecideReply(pol.Config, rcpts, out.outerSubject)
	if code, text := d.SMTP(); code != 0 {
		return fmt.Errorf("reply refused by policy: %d %s", code, text)
	}
	msg := policy.Message{
		Sender: out.from.Address, Display: out.display, MessageID: out.messageID,
		Original: func() (io.Reader, error) { return bytes.NewReader(out.data), nil },
	}
	copies, err := pol.Seal(ctx, d, msg, s.st, now)
	if err != nil {
		return err
	}
	via := mail.Address{Name: strings.TrimSpace(out.from.Name + " via " + s.cfg.Organization), Address: s.cfg.From}
	if out.from.Name == "" {
		via.Name = out.from.Address + " via " + s.cfg.Organization
	}
	for _, c := range copies {
		if c.Sealed == nil {
			// Internal filters must see this as the outside mail it is.
			marked := append([]byte(ReplyMarkHeader+": external sender <"+out.from.Address+">\r\n"), out.data...)
			if err := s.mail.Enqueue(ctx, s.cfg.From, c.Group.Recipients, marked); err != nil {
				return err
			}
			continue
		}
		var b bytes.Buffer
		b.WriteString("From: " + via.String() + "\r\nReply-To: " + out.from.String() + "\r\n")
		// The clear header does not name the envelope answered nor thread on
		// its Message-ID: a forwardee would learn an envelope id that is not
		// theirs. Both stay inside the payload.
		if err := envelope.WriteMessage(&b, bytes.NewReader(out.data), c.Group.Subject, c.Sealed, "From", "Reply-To", "Sender", ReplyEnvelopeHeader, "In-Reply-To", "References"); err != nil {
			return fmt.Errorf("reply envelope %s: %w", c.EnvelopeID, err)
		}
		if err := s.sealed.Enqueue(ctx, s.cfg.From, c.Group.Recipients, b.Bytes()); err != nil {
			return fmt.Errorf("reply envelope %s: %w", c.EnvelopeID, err)
		}
	}
	return nil
}
