// Package mailer sends the mail postseal writes itself (activation mails,
// receipts, notices, secure replies, the milter's re-injected copies) by
// SMTP to the local MTA, through a durable queue. Mail that is sealed
// already goes to a listener without milters (store.RouteReinject), so
// postseal never seals its own output twice; clear mail goes to the relay,
// which may pass the milter like any mail.
package mailer

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/smtp"
	"net/textproto"
	"time"
)

// SMTP submits messages to one MTA address.
type SMTP struct {
	// Addr is HOST:PORT of the MTA listener.
	Addr string
	// Helo is the name given in EHLO ("localhost" when empty).
	Helo string
	// Timeout bounds one whole submission (default 2 minutes).
	Timeout time.Duration
}

// Error is an SMTP refusal; Temporary reports a 4xx answer.
type Error struct {
	Code int
	Msg  string
}

func (e *Error) Error() string { return fmt.Sprintf("smtp %d %s", e.Code, e.Msg) }

// Temporary reports whether the MTA asked to try again later.
func (e *Error) Temporary() bool { return e.Code >= 400 && e.Code < 500 }

// Send submits msg (CRLF lines) from the envelope sender to the recipients.
// It returns nil only once the MTA has accepted the message (250 after
// DATA), i.e. the MTA has taken responsibility for it. It is all or
// nothing: a recipient the MTA refuses stops it before DATA, so a caller
// that temp-fails and is retried whole (the milter) sends no one a second
// copy.
func (s *SMTP) Send(ctx context.Context, from string, to []string, msg io.Reader) error {
	_, err := s.submit(ctx, from, to, msg, false)
	return err
}

// Refusal is a recipient the MTA did not take at RCPT TO, with its answer.
type Refusal struct {
	Recipient string
	Err       *Error
}

// Outcome is what became of the recipients SendEach did not deliver to.
type Outcome struct {
	// Refused were refused for good (5xx but 552): the message is not
	// for them.
	Refused []Refusal
	// Deferred were refused for now (4xx, and 552, which RFC 5321
	// §4.5.3.1.10 asks clients to treat as "too many recipients, try
	// later"): the message is to be sent to them again later.
	Deferred []Refusal
}

// SendEach is Send for mail whose recipients do not stand or fall
// together (a reply to several addresses, a receipt), as an MTA delivers:
// the message goes to the recipients the MTA takes, and the others are
// returned, refused for good or deferred. err is nil once the MTA has
// accepted the message for at least one recipient; otherwise the MTA has
// not confirmed it and err says why: the first answer to RCPT TO when no
// recipient was taken (a deferral before a refusal, so the caller
// retries), or the failure. An answer to RCPT TO that is neither success
// nor refusal stops the attempt, as do failures of the connection. As
// with any SMTP client, a connection lost after the final dot but before
// the MTA's answer reports a failure for a message the MTA may have taken,
// so its retry can deliver a second copy.
func (s *SMTP) SendEach(ctx context.Context, from string, to []string, msg io.Reader) (Outcome, error) {
	return s.submit(ctx, from, to, msg, true)
}

// rcptDeferred reports whether an answer to RCPT TO asks to try the
// recipient later.
func rcptDeferred(e *Error) bool { return e.Temporary() || e.Code == 552 }

func (s *SMTP) submit(ctx context.Context, from string, to []string, msg io.Reader, each bool) (Outcome, error) {
	var out Outcome
	if len(to) == 0 {
		return out, errors.New("smtp send: no recipients")
	}
	timeout := s.Timeout
	if timeout == 0 {
		timeout = 2 * time.Minute
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	var d net.Dialer
	conn, err := d.DialContext(ctx, "tcp", s.Addr)
	if err != nil {
		return out, fmt.Errorf("smtp send to %s: %w", s.Addr, err)
	}
	deadline, _ := ctx.Deadline()
	_ = conn.SetDeadline(deadline)
	// Closing the connection is what interrupts a blocked read when the
	// caller gives up early.
	stop := context.AfterFunc(ctx, func() { conn.Close() })
	defer stop()
	host, _, _ := net.SplitHostPort(s.Addr)
	c, err := smtp.NewClient(conn, host)
	if err != nil {
		conn.Close()
		return out, fmt.Errorf("smtp send to %s: %w", s.Addr, wrapSMTP(err))
	}
	defer c.Close()
	helo := s.Helo
	if helo == "" {
		helo = "localhost"
	}
	if err := c.Hello(helo); err != nil {
		return out, fmt.Errorf("smtp send to %s: EHLO: %w", s.Addr, wrapSMTP(err))
	}
	if err := c.Mail(from); err != nil {
		return out, fmt.Errorf("smtp send to %s: MAIL FROM: %w", s.Addr, wrapSMTP(err))
	}
	var firstRefusal, firstDeferral error
	for _, r := range to {
		err := c.Rcpt(r)
		if err == nil {
			continue
		}
		err = fmt.Errorf("smtp send to %s: RCPT TO %s: %w", s.Addr, r, wrapSMTP(err))
		var se *Error
		if !each || !errors.As(err, &se) || se.Code < 400 || se.Code > 599 {
			return Outcome{}, err
		}
		if rcptDeferred(se) {
			out.Deferred = append(out.Deferred, Refusal{Recipient: r, Err: se})
			firstDeferral = cmp.Or(firstDeferral, err)
		} else {
			out.Refused = append(out.Refused, Refusal{Recipient: r, Err: se})
			firstRefusal = cmp.Or(firstRefusal, err)
		}
	}
	if len(out.Refused)+len(out.Deferred) == len(to) {
		return out, cmp.Or(firstDeferral, firstRefusal)
	}
	w, err := c.Data()
	if err != nil {
		return Outcome{}, fmt.Errorf("smtp send to %s: DATA: %w", s.Addr, wrapSMTP(err))
	}
	if _, err := io.Copy(w, msg); err != nil {
		return Outcome{}, fmt.Errorf("smtp send to %s: writing message: %w", s.Addr, err)
	}
	if err := w.Close(); err != nil {
		return Outcome{}, fmt.Errorf("smtp send to %s: end of data: %w", s.Addr, wrapSMTP(err))
	}
	_ = c.Quit()
	return out, nil
}

func wrapSMTP(err error) error {
	var te *textproto.Error
	if errors.As(err, &te) {
		return &Error{Code: te.Code, Msg: te.Msg}
	}
	return err
}
