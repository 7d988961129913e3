// Package mailer sends the mail postseal writes itself (activation mails,
// receipts, notices, secure replies, the milter's re-injected copies) by
// SMTP to the local MTA, through a durable queue. Mail that is sealed
// already goes to a listener without milters (store.RouteReinject), so
// postseal never seals its own output twice; clear mail goes to the relay,
// which may pass the milter like any mail.
package mailer

import (
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

// Refusal is a recipient the MTA refused for good at RCPT TO.
type Refusal struct {
	Recipient string
	Err       *Error
}

// SendEach is Send for mail whose recipients do not stand or fall
// together (a reply to several addresses, a receipt): a recipient the MTA
// refuses for good (5xx at RCPT TO) is left out and returned in refused,
// and the message goes to the others. A recipient refused for now (4xx)
// holds the whole message back, nothing sent, so that its retry sends no
// one a second copy. err is nil only once the MTA has accepted the
// message for every recipient not in refused; when it refused them all,
// err is the first refusal.
func (s *SMTP) SendEach(ctx context.Context, from string, to []string, msg io.Reader) (refused []Refusal, err error) {
	return s.submit(ctx, from, to, msg, true)
}

func (s *SMTP) submit(ctx context.Context, from string, to []string, msg io.Reader, each bool) ([]Refusal, error) {
	if len(to) == 0 {
		return nil, errors.New("smtp send: no recipients")
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
		return nil, fmt.Errorf("smtp send to %s: %w", s.Addr, err)
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
		return nil, fmt.Errorf("smtp send to %s: %w", s.Addr, wrapSMTP(err))
	}
	defer c.Close()
	helo := s.Helo
	if helo == "" {
		helo = "localhost"
	}
	if err := c.Hello(helo); err != nil {
		return nil, fmt.Errorf("smtp send to %s: EHLO: %w", s.Addr, wrapSMTP(err))
	}
	if err := c.Mail(from); err != nil {
		return nil, fmt.Errorf("smtp send to %s: MAIL FROM: %w", s.Addr, wrapSMTP(err))
	}
	var refused []Refusal
	var firstRefusal error
	for _, r := range to {
		err := c.Rcpt(r)
		if err == nil {
			continue
		}
		err = fmt.Errorf("smtp send to %s: RCPT TO %s: %w", s.Addr, r, wrapSMTP(err))
		var se *Error
		if !each || !errors.As(err, &se) || se.Temporary() {
			return nil, err
		}
		refused = append(refused, Refusal{Recipient: r, Err: se})
		if firstRefusal == nil {
			firstRefusal = err
		}
	}
	if len(refused) == len(to) {
		return refused, firstRefusal
	}
	w, err := c.Data()
	if err != nil {
		return nil, fmt.Errorf("smtp send to %s: DATA: %w", s.Addr, wrapSMTP(err))
	}
	if _, err := io.Copy(w, msg); err != nil {
		return nil, fmt.Errorf("smtp send to %s: writing message: %w", s.Addr, err)
	}
	if err := w.Close(); err != nil {
		return nil, fmt.Errorf("smtp send to %s: end of data: %w", s.Addr, wrapSMTP(err))
	}
	_ = c.Quit()
	return refused, nil
}

func wrapSMTP(err error) error {
	var te *textproto.Error
	if errors.As(err, &te) {
		return &Error{Code: te.Code, Msg: te.Msg}
	}
	return err
}
