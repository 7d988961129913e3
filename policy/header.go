package policy

import (
	"bufio"
	"bytes"
	"fmt"
	"strings"

	"github.com/emersion/go-message/mail"
	"github.com/emersion/go-message/textproto"
	"github.com/postseal/postseal/envelope"
)

// Field is one header field as received. Value is everything after the
// colon (leading space and folds included), so that Name + ":" + Value is
// the line as received.
type Field struct {
	Name  string
	Value string
}

// Header is a message header in the order received.
type Header []Field

// Values returns the raw values of the fields named name (case-insensitive).
func (h Header) Values(name string) []string {
	var out []string
	for _, f := range h {
		if strings.EqualFold(f.Name, name) {
			out = append(out, f.Value)
		}
	}
	return out
}

// Get is the first field of that name, unfolded and trimmed ("" if none).
func (h Header) Get(name string) string {
	for _, v := range h.Values(name) {
		return strings.TrimSpace(unfold(v))
	}
	return ""
}

// Size is the size of the header as received (fields plus the blank line).
func (h Header) Size() int64 {
	n := int64(2)
	for _, f := range h {
		n += int64(len(f.Name)+1+len(f.Value)) + 2
	}
	return n
}

// Display is what the securedoc shows before it is opened: From, To, Cc
// and Date decoded for people (RFC 2047 words, any charset go-message
// knows); a field that does not decode is shown as received.
func (h Header) Display() envelope.Display {
	mh := mail.HeaderFromMap(nil)
	for _, f := range h {
		mh.Add(f.Name, strings.TrimSpace(unfold(f.Value)))
	}
	text := func(k string) string {
		v, err := mh.Text(k)
		if err != nil {
			return mh.Get(k)
		}
		return strings.TrimSpace(v)
	}
	return envelope.Display{From: text("From"), To: text("To"), Cc: text("Cc"), Date: text("Date")}
}

// ParseHeader reads the header of a whole message (for the commands that
// take a message from a file).
func ParseHeader(msg []byte) (Header, error) {
	th, err := textproto.ReadHeader(bufio.NewReader(bytes.NewReader(msg)))
	if err != nil {
		return nil, fmt.Errorf("not an RFC 5322 message: %w", err)
	}
	var h Header
	for f := th.Fields(); f.Next(); {
		raw, err := f.Raw()
		if err != nil {
			return nil, fmt.Errorf("not an RFC 5322 message: %w", err)
		}
		name, value, ok := bytes.Cut(raw, []byte(":"))
		if !ok {
			continue
		}
		h = append(h, Field{Name: string(name), Value: strings.TrimRight(string(value), "\r\n")})
	}
	return h, nil
}
