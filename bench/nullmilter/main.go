// Command nullmilter is the bench's do-nothing milter: the floor any milter
// pays in the pipeline rows. It is the same go-milter as postseal's and
// negotiates exactly as postseal does (the same actions and protocol steps),
// over the same transport (psmilter.PacketListener).
//
// Without -body it accepts every message at the end of its header, as
// postseal's pass path does, without looking at anything (pipeline-null).
//
// With -body it is the floor of postseal's seal path (pipeline-seal-null):
// it asks for the body as postseal does, ignores it, and at the end of the
// message makes the edits postseal's sealing makes, with fixed values given
// on the command line, then accepts:
//
//	-remove Name   remove every field of that name (repeatable)
//	-subject S     change the first Subject to S and remove the others (as
//	               postseal does; inserted at the end when there is none)
//	-add 'Name: v' insert the field at the end of the header (repeatable)
//	-body FILE     replace the body with FILE's bytes (CRLF line ends, as
//	               postseal writes them), in replace-body chunks of the size
//	               postseal uses
//
// Values are given without the blank after the colon; a folded value has
// its line breaks in it. The removals go last to first, then the subject,
// then the added fields: postseal's order.
//
//	nullmilter -listen 127.0.0.1:PORT [-body FILE [-subject S] [-add 'Name: v']... [-remove Name]...]
package main

import (
	"flag"
	"fmt"
	"net"
	"os"
	"slices"
	"strings"

	"github.com/d--j/go-milter"

	psmilter "github.com/postseal/postseal/milter"
)

type accept struct{ milter.NoOpMilter }

func (accept) Headers(milter.Modifier) (*milter.Response, error) { return milter.RespAccept, nil }

// edits are the fixed changes of the replace mode.
type edits struct {
	remove  []string // lower case
	subject *string
	add     [][2]string // name, value
	body    []byte
}

// chunkSize is postseal's replace-body chunk (milter's chunkSize): the
// protocol's smallest negotiated data size.
const chunkSize = int(milter.DataSize64K)

// replace is one MTA connection of the replace mode. It keeps only the
// fields it must address by index: those it removes and the Subjects.
type replace struct {
	milter.NoOpMilter
	e            *edits
	leadingSpace bool
	seen         map[string]int // lower-case name → count in this message
	order        []field        // the fields to remove, in header order
}

type field struct {
	name  string
	index int // 1-based among the fields of that name
}

func (r *replace) MailFrom(string, string, milter.Modifier) (*milter.Response, error) {
	clear(r.seen)
	r.order = r.order[:0]
	return milter.RespContinue, nil
}

func (r *replace) Header(name, _ string, _ milter.Modifier) (*milter.Response, error) {
	key := strings.ToLower(name)
	subject := key == "subject" && r.e.subject != nil
	if !subject && !slices.Contains(r.e.remove, key) {
		return milter.RespContinue, nil
	}
	r.seen[key]++
	if !subject || r.seen[key] > 1 {
		r.order = append(r.order, field{name, r.seen[key]})
	}
	return milter.RespContinue, nil
}

// Headers asks for the body: postseal's answer when a message is to be sealed.
func (r *replace) Headers(milter.Modifier) (*milter.Response, error) { return milter.RespContinue, nil }

func (r *replace) BodyChunk([]byte, milter.Modifier) (*milter.Response, error) {
	return milter.RespContinue, nil
}

func (r *replace) EndOfMessage(m milter.Modifier) (*milter.Response, error) {
	value := func(v string) string {
		if r.leadingSpace {
			return " " + v
		}
		return v
	}
	for i := len(r.order) - 1; i >= 0; i-- {
		if err := m.ChangeHeader(r.order[i].index, r.order[i].name, ""); err != nil {
			return nil, err
		}
	}
	end := 1000 // past the end: the MTA appends
	if s := r.e.subject; s != nil {
		var err error
		if r.seen["subject"] > 0 {
			err = m.ChangeHeader(1, "Subject", value(*s))
		} else {
			err = m.InsertHeader(end, "Subject", value(*s))
		}
		if err != nil {
			return nil, err
		}
	}
	for _, f := range r.e.add {
		if err := m.InsertHeader(end, f[0], value(f[1])); err != nil {
			return nil, err
		}
	}
	for b := r.e.body; len(b) > 0; {
		n := min(len(b), chunkSize)
		if err := m.ReplaceBodyRawChunk(b[:n]); err != nil {
			return nil, err
		}
		b = b[n:]
	}
	return milter.RespAccept, nil
}

// list is a repeatable flag.
type list []string

func (l *list) String() string     { return strings.Join(*l, ", ") }
func (l *list) Set(s string) error { *l = append(*l, s); return nil }

func main() {
	listen := flag.String("listen", "127.0.0.1:10099", "TCP address to listen on")
	body := flag.String("body", "", "replace mode: the new body (a file, CRLF line ends)")
	subject := flag.String("subject", "", "replace mode: the new Subject (none: left alone)")
	var adds, removes list
	flag.Var(&adds, "add", "replace mode: a field 'Name: value' to insert at the end (repeatable)")
	flag.Var(&removes, "remove", "replace mode: remove every field of this name (repeatable)")
	flag.Parse()
	fail := func(err error) {
		fmt.Fprintln(os.Stderr, "nullmilter:", err)
		os.Exit(1)
	}
	var e *edits
	if *body != "" {
		b, err := os.ReadFile(*body)
		if err != nil {
			fail(err)
		}
		var s *string
		flag.Visit(func(f *flag.Flag) {
			if f.Name == "subject" {
				s = subject
			}
		})
		if e, err = parseEdits(b, s, adds, removes); err != nil {
			fail(err)
		}
	} else if len(adds)+len(removes) > 0 || *subject != "" {
		fail(fmt.Errorf("-add, -remove and -subject need -body"))
	}
	l, err := net.Listen("tcp", *listen)
	if err != nil {
		fail(err)
	}
	if err := newServer(e).Serve(psmilter.PacketListener(l)); err != nil {
		fail(err)
	}
}

// parseEdits makes the replace mode's edits of its flags.
func parseEdits(body []byte, subject *string, adds, removes []string) (*edits, error) {
	e := &edits{body: body, subject: subject}
	for _, a := range adds {
		name, value, ok := strings.Cut(a, ":")
		if !ok || name == "" || strings.ContainsAny(name, " \t\r\n") {
			return nil, fmt.Errorf("-add %q: want 'Name: value'", a)
		}
		e.add = append(e.add, [2]string{name, strings.TrimPrefix(value, " ")})
	}
	for _, r := range removes {
		e.remove = append(e.remove, strings.ToLower(r))
	}
	return e, nil
}

// newServer is the milter server: the pass mode for nil edits, else the
// replace mode.
func newServer(e *edits) *milter.Server {
	newMilter := func(_ uint32, _ milter.OptAction, proto milter.OptProtocol, _ milter.DataSize) milter.Milter {
		if e == nil {
			return accept{}
		}
		return &replace{e: e, leadingSpace: proto&milter.OptHeaderLeadingSpace != 0, seen: map[string]int{}}
	}
	return milter.NewServer(
		milter.WithDynamicMilter(newMilter),
		milter.WithActions(psmilter.Actions),
		milter.WithProtocols(psmilter.Protocol),
		milter.WithMacroRequest(milter.StageEOH, []milter.MacroName{milter.MacroQueueId}),
		milter.WithMacroRequest(milter.StageEOM, []milter.MacroName{milter.MacroQueueId}),
	)
}
