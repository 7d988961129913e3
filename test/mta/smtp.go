package mta

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"net"
	"strconv"
	"strings"
	"time"
)

// Reply is an SMTP server reply.
type Reply struct {
	// Stage is the command the reply answers: "greeting", "EHLO", "MAIL",
	// "RCPT", "DATA" (the 354) or "EOM" (the final reply to the message).
	Stage string
	Code  int
	// Text is the reply text without the code, lines joined with "\n";
	// it starts with the enhanced status code when the server sends one.
	Text string
}

func (r Reply) String() string { return fmt.Sprintf("%s: %d %s", r.Stage, r.Code, r.Text) }

// Accepted reports whether the message was accepted (250 after the data).
func (r Reply) Accepted() bool { return r.Stage == "EOM" && r.Code/100 == 2 }

// Send delivers msg over SMTP to addr (host:port) from one envelope sender
// to the recipients. Line ends of msg are converted to CRLF and lines that
// start with "." are dot-stuffed. It returns the first reply that is not a
// success — the final reply after the data when everything went through —
// and an error only for network or protocol failures.
func Send(addr, from string, rcpts []string, msg []byte) (Reply, error) {
	return SendTimeout(addr, from, rcpts, msg, 2*time.Minute)
}

// SendTimeout is Send with a deadline for the whole transaction.
func SendTimeout(addr, from string, rcpts []string, msg []byte, timeout time.Duration) (Reply, error) {
	conn, err := net.DialTimeout("tcp", addr, 10*time.Second)
	if err != nil {
		return Reply{}, err
	}
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(timeout))
	r := bufio.NewReader(conn)
	w := bufio.NewWriterSize(conn, 64*1024)

	cmd := func(stage, line string) (Reply, error) {
		if line != "" {
			if _, err := w.WriteString(line + "\r\n"); err != nil {
				return Reply{}, err
			}
			if err := w.Flush(); err != nil {
				return Reply{}, err
			}
		}
		rep, err := readReply(r)
		rep.Stage = stage
		return rep, err
	}
	ok := func(rep Reply, want int) bool { return rep.Code/100 == want }

	rep, err := cmd("greeting", "")
	if err != nil || !ok(rep, 2) {
		return rep, err
	}
	if rep, err = cmd("EHLO", "EHLO client.example.net"); err != nil || !ok(rep, 2) {
		return rep, err
	}
	if rep, err = cmd("MAIL", "MAIL FROM:<"+from+">"); err != nil || !ok(rep, 2) {
		return rep, err
	}
	for _, rc := range rcpts {
		if rep, err = cmd("RCPT", "RCPT TO:<"+rc+">"); err != nil || !ok(rep, 2) {
			return rep, err
		}
	}
	if rep, err = cmd("DATA", "DATA"); err != nil || !ok(rep, 3) {
		return rep, err
	}
	if err := writeData(w, msg); err != nil {
		return Reply{}, err
	}
	if rep, err = cmd("EOM", "."); err != nil {
		return rep, err
	}
	// QUIT is best effort: the verdict is already in.
	cmd("QUIT", "QUIT")
	return rep, nil
}

// writeData writes msg with CRLF line ends and dot-stuffing; a missing
// final line end is added.
func writeData(w *bufio.Writer, msg []byte) error {
	for len(msg) > 0 {
		var line []byte
		if i := bytes.IndexByte(msg, '\n'); i >= 0 {
			line, msg = msg[:i], msg[i+1:]
		} else {
			line, msg = msg, nil
		}
		line = bytes.TrimSuffix(line, []byte("\r"))
		if len(line) > 0 && line[0] == '.' {
			w.WriteByte('.')
		}
		w.Write(line)
		if _, err := w.WriteString("\r\n"); err != nil {
			return err
		}
	}
	return nil
}

func readReply(r *bufio.Reader) (Reply, error) {
	var rep Reply
	var texts []string
	for {
		line, err := r.ReadString('\n')
		if err != nil {
			if err == io.EOF && line == "" && len(texts) == 0 {
				return rep, fmt.Errorf("mta: connection closed before a reply")
			}
			return rep, fmt.Errorf("mta: reading reply: %w (got %q)", err, line)
		}
		line = strings.TrimRight(line, "\r\n")
		if len(line) < 3 {
			return rep, fmt.Errorf("mta: bad reply line %q", line)
		}
		code, err := strconv.Atoi(line[:3])
		if err != nil {
			return rep, fmt.Errorf("mta: bad reply line %q", line)
		}
		rep.Code = code
		more := len(line) > 3 && line[3] == '-'
		if len(line) > 4 {
			texts = append(texts, line[4:])
		}
		if !more {
			break
		}
	}
	rep.Text = strings.Join(texts, "\n")
	return rep, nil
}
