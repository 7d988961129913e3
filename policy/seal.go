package policy

import (
	"context"
	"fmt"
	"io"
	"net/mail"
	"strings"
	"time"

	"github.com/postseal/postseal/envelope"
	"github.com/postseal/postseal/store"
)

// visible returns the recipients the page may list: those named in To or
// Cc. Listing a Bcc'd address would show it to every other recipient; a
// Bcc'd recipient picks "my address is not listed" instead.
func visible(rcpts []string, d envelope.Display) []string {
	named := map[string]bool{}
	for _, h := range []string{d.To, d.Cc} {
		list, err := mail.ParseAddressList(h)
		if err != nil {
			// Unparseable header: fall back to plain substring matching below.
			continue
		}
		for _, a := range list {
			named[strings.ToLower(a.Address)] = true
		}
	}
	var out []string
	for _, r := range rcpts {
		lr := strings.ToLower(r)
		if named[lr] || (len(named) == 0 && strings.Contains(strings.ToLower(d.To+","+d.Cc), lr)) {
			out = append(out, r)
		}
	}
	return out
}

// named returns the addresses of the To and Cc fields: with the sender,
// whom Reply all answers. Bcc'd recipients are not named, as in a mail
// program's Reply all.
func named(d envelope.Display) []string {
	out := []string{}
	for _, h := range []string{d.To, d.Cc} {
		list, err := mail.ParseAddressList(h)
		if err != nil {
			continue
		}
		for _, a := range list {
			out = append(out, strings.ToLower(a.Address))
		}
	}
	return out
}

// replyRights are the ways a sealed copy's recipients may answer from the
// opened message; a partner's shared-password envelope has none (it is
// opened without the key service, which would authenticate the reply).
func replyRights(g Group) []string {
	out := []string{}
	if g.Treatment != KeyService || g.Options == nil {
		return out
	}
	for _, k := range g.Options.Reply {
		out = append(out, string(k))
	}
	return out
}

// EnvelopeStore is what sealing needs of the store.
type EnvelopeStore interface {
	PutEnvelope(ctx context.Context, e store.Envelope, key []byte) error
}

// Message is what sealing needs of a message.
type Message struct {
	QueueID string
	// Sender is the envelope sender (MAIL FROM).
	Sender  string
	Display envelope.Display
	// MessageID is the original's Message-ID field (receipts and replies
	// thread on it).
	MessageID string
	// Original returns a reader of the exact original bytes; it is called
	// once per sealed copy.
	Original func() (io.Reader, error)
}

// Copy is one copy of a message for one group of recipients.
type Copy struct {
	Group      Group
	EnvelopeID string           // "" for a clear copy
	Sealed     *envelope.Sealed // nil for a clear copy (and from Prepare)
	// Pending seals the copy when Prepare made it (nil for a clear copy).
	Pending *Pending
}

// Seal makes the copies a decision asks for: every sealed group is encrypted
// and its envelope recorded durably before Seal returns. Clear groups come
// back with a nil Sealed. Any error means no copy may be delivered.
func (p *Policy) Seal(ctx context.Context, d Decision, msg Message, st EnvelopeStore, now time.Time) ([]Copy, error) {
	copies, err := p.Prepare(d, msg, now)
	if err != nil {
		return nil, err
	}
	for i, c := range copies {
		if c.Pending == nil {
			continue
		}
		if copies[i].Sealed, err = c.Pending.Seal(ctx, st); err != nil {
			return nil, err
		}
	}
	return copies, nil
}

// Prepare is Seal without the sealing: every sealed group gets its envelope
// id and a Pending that seals it later, so that the caller can write the
// body straight to where it goes (Pending.SealTo) instead of holding it.
func (p *Policy) Prepare(d Decision, msg Message, now time.Time) ([]Copy, error) {
	copies := make([]Copy, 0, len(d.Groups))
	for _, g := range d.Groups {
		if !g.Sealed() {
			copies = append(copies, Copy{Group: g})
			continue
		}
		id := envelope.NewID()
		display := msg.Display
		display.Subject = g.Subject
		req := envelope.Request{ID: id, Display: display, Recipients: visible(g.Recipients, display), Now: now}
		if g.Treatment == SharedPassword {
			req.Password = p.passwords[g.Domain]
			if req.Password == nil {
				return nil, fmt.Errorf("seal %s: no shared password loaded for %s", id, g.Domain)
			}
		}
		rec := store.Envelope{
			ID: id, QueueID: msg.QueueID, Sender: msg.Sender, Recipients: g.Recipients,
			Kind: store.EnvelopeKind(g.Treatment), Domain: g.Domain, Trigger: g.Trigger,
			Created: now, Expires: g.Options.ExpireAfter.Deadline(now),
			Subject: g.Subject, MessageID: msg.MessageID, ReadReceipts: g.Options.ReadReceipt,
			Reply: replyRights(g), ReplyAll: named(display),
		}
		copies = append(copies, Copy{Group: g, EnvelopeID: id, Pending: &Pending{opt: p.Envelope, req: req, rec: rec, original: msg.Original}})
	}
	return copies, nil
}

// Pending is a sealed copy not yet sealed.
type Pending struct {
	opt      envelope.Options
	req      envelope.Request
	rec      store.Envelope
	original func() (io.Reader, error)
}

// Seal seals the copy into memory and records its envelope durably.
func (pd *Pending) Seal(ctx context.Context, st EnvelopeStore) (*envelope.Sealed, error) {
	return pd.seal(ctx, st, func(req envelope.Request) (*envelope.Sealed, error) { return envelope.Seal(req, pd.opt) })
}

// SealTo seals the copy with its body written to w as it is made, then
// records the envelope durably: only once SealTo returns without an error
// may the body written to w be delivered. (The envelope record needs the
// payload's digest, known at the end of the body.) The Sealed it returns
// has no Body. A w with a Flush method is flushed once the whole body is
// written, before the record: a writer that holds back the body's end (the
// milter's replace-body chunks) sends it then, so that the MTA does not
// wait for the rest of the body through a slow store write.
func (pd *Pending) SealTo(ctx context.Context, st EnvelopeStore, w io.Writer) (*envelope.Sealed, error) {
	return pd.seal(ctx, st, func(req envelope.Request) (*envelope.Sealed, error) {
		s, err := envelope.SealTo(w, req, pd.opt)
		if f, ok := w.(interface{ Flush() error }); ok && err == nil {
			err = f.Flush()
		}
		return s, err
	})
}

func (pd *Pending) seal(ctx context.Context, st EnvelopeStore, seal func(envelope.Request) (*envelope.Sealed, error)) (*envelope.Sealed, error) {
	id := pd.req.ID
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	orig, err := pd.original()
	if err != nil {
		return nil, fmt.Errorf("seal %s: read message: %w", id, err)
	}
	req := pd.req
	req.Original = orig
	sealed, err := seal(req)
	if err != nil {
		return nil, fmt.Errorf("seal %s: %w", id, err)
	}
	rec := pd.rec
	rec.PayloadDigest = sealed.PayloadDigest
	if sealed.OnlinePayload != nil {
		// The phone page's copy: ciphertext and the page's clear
		// header only, deleted after its time.
		rec.Online = &store.OnlineCopy{Payload: sealed.OnlinePayload, Meta: sealed.OnlineMeta, Expires: req.Now.Add(pd.opt.OnlineCopy)}
	}
	if err := st.PutEnvelope(ctx, rec, sealed.Key); err != nil {
		return nil, fmt.Errorf("seal %s: %w", id, err)
	}
	return sealed, nil
}
