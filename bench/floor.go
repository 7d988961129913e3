package main

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/postseal/postseal/test/mta"
)

// ---- the sealing floor (pipeline-seal-null): the do-nothing milter making
// the edits of one message postseal sealed, to every message

// hfield is one header field as delivered: Value is what follows the colon
// without the one blank after it, a folded value with its line breaks (LF).
type hfield struct{ Name, Value string }

// splitMessage splits a delivered message (LF line ends, as the Maildir
// sink holds it) into its header fields and its body.
func splitMessage(msg []byte) ([]hfield, []byte, error) {
	head, body, ok := bytes.Cut(msg, []byte("\n\n"))
	if !ok {
		return nil, nil, errors.New("no end of header")
	}
	var fields []hfield
	for _, line := range strings.Split(string(head), "\n") {
		if line != "" && (line[0] == ' ' || line[0] == '\t') {
			if len(fields) == 0 {
				return nil, nil, fmt.Errorf("continuation line before any field: %q", line)
			}
			fields[len(fields)-1].Value += "\n" + line
			continue
		}
		name, value, ok := strings.Cut(line, ":")
		if !ok || name == "" || strings.ContainsAny(name, " \t") {
			return nil, nil, fmt.Errorf("not a header field: %q", line)
		}
		fields = append(fields, hfield{name, strings.TrimPrefix(value, " ")})
	}
	return fields, body, nil
}

// headerEdits are what a milter did to a header, in the terms the
// do-nothing milter's replace mode takes.
type headerEdits struct {
	Remove  []string // names whose every field went away
	Subject *string  // the first Subject's new value
	Add     []hfield // appended at the end, in order
}

// perMessage are the fields written anew for every message (by smtp-source
// and Postfix), whose values differ between two deliveries of the bench's
// message without any milter touching them, and the Subject, which a milter
// changes where it stands.
var perMessage = []string{"received", "date", "message-id", "subject"}

// deriveEdits finds the edits that turn orig, the bench message as
// delivered without a milter, into sealed, another of its copies as
// delivered after the milter. A milter removes fields, changes the Subject
// where it stands and appends fields (postseal inserts past the end). So
// sealed is a run of orig's fields in orig's order followed by the added
// fields; that run is the longest start of sealed that can be matched in
// order to fields of orig with the same name and value (any value for the
// per-message fields). The fields of orig left unmatched are removed, by
// name: a name removed only in part is an error (the replace mode removes
// every field of a name, as postseal does).
func deriveEdits(orig, sealed []hfield) (headerEdits, error) {
	same := func(o, s hfield) bool {
		return strings.EqualFold(o.Name, s.Name) && (o.Value == s.Value || slices.Contains(perMessage, strings.ToLower(o.Name)))
	}
	// match[j] is the field of orig that sealed[j] is, for j < kept.
	var match []int
	kept := 0
	for i := 0; kept < len(sealed); kept++ {
		for i < len(orig) && !same(orig[i], sealed[kept]) {
			i++
		}
		if i == len(orig) {
			break
		}
		match = append(match, i)
		i++
	}
	var e headerEdits
	stays := map[string]bool{}
	matched := make([]bool, len(orig))
	for j, i := range match {
		matched[i] = true
		stays[strings.ToLower(orig[i].Name)] = true
		if strings.EqualFold(orig[i].Name, "Subject") && e.Subject == nil && orig[i].Value != sealed[j].Value {
			v := sealed[j].Value
			e.Subject = &v
		}
	}
	for i, o := range orig {
		key := strings.ToLower(o.Name)
		switch {
		case matched[i]:
		case key == "subject" && e.Subject != nil:
			// The other Subjects go with the change of the first.
		case stays[key]:
			return headerEdits{}, fmt.Errorf("%s: some fields of that name removed, others kept", o.Name)
		case !slices.ContainsFunc(e.Remove, func(n string) bool { return strings.EqualFold(n, o.Name) }):
			e.Remove = append(e.Remove, o.Name)
		}
	}
	if kept < len(sealed) {
		e.Add = slices.Clone(sealed[kept:])
	}
	return e, nil
}

// args are the do-nothing milter's flags for the edits and the body file.
func (e headerEdits) args(bodyFile string) []string {
	a := []string{"-body", bodyFile}
	for _, n := range e.Remove {
		a = append(a, "-remove", n)
	}
	if e.Subject != nil {
		a = append(a, "-subject", *e.Subject)
	}
	for _, f := range e.Add {
		a = append(a, "-add", f.Name+": "+f.Value)
	}
	return a
}

// sealFloor makes the sealing floor: it sends one bench message to
// Postfix alone and one to postseal, derives postseal's edits and body from
// the two delivered copies, starts the do-nothing milter in replace mode
// with them on port (the listener floorName's milter), warms it up and
// checks that what it delivers is postseal's sealed copy again.
func sealFloor(pf *mta.Postfix, c config, nullBin, work string, port int, subject string) (*nullMilter, error) {
	deliver := func(listener string) ([]byte, error) {
		if _, err := runSource(pf, listener, 1, 1, c.size, subject); err != nil {
			return nil, err
		}
		return sinkSample(pf)
	}
	origMsg, err := deliver(noMilter)
	if err != nil {
		return nil, err
	}
	sealedMsg, err := deliver(mta.SMTP)
	if err != nil {
		return nil, err
	}
	orig, _, err := splitMessage(origMsg)
	if err != nil {
		return nil, fmt.Errorf("the message through Postfix alone: %v", err)
	}
	sealed, body, err := splitMessage(sealedMsg)
	if err != nil {
		return nil, fmt.Errorf("the sealed message: %v", err)
	}
	e, err := deriveEdits(orig, sealed)
	if err != nil {
		return nil, fmt.Errorf("postseal's edits: %v", err)
	}
	// postseal writes the body with CRLF line ends; the sink has LF.
	bodyFile := filepath.Join(work, "floor-body")
	if err := os.WriteFile(bodyFile, bytes.ReplaceAll(body, []byte("\n"), []byte("\r\n")), 0o644); err != nil {
		return nil, err
	}
	null, err := runNullMilter(nullBin, port, e.args(bodyFile)...)
	if err != nil {
		return nil, err
	}
	if _, err := runSource(pf, floorName, min(100, c.n), c.sessions, c.size, subject); err != nil {
		null.stop()
		return nil, fmt.Errorf("warm-up: %v", err)
	}
	floorMsg, err := sinkSample(pf)
	if err == nil {
		err = sameDelivery(sealed, body, floorMsg)
	}
	if err != nil {
		null.stop()
		return nil, fmt.Errorf("the floor does not deliver postseal's sealed copy: %v", err)
	}
	fmt.Printf("sealing floor: the do-nothing milter removes %q, sets Subject %q, adds %d fields (%s), replaces the body with %d bytes (postseal's sealed copy: %d bytes delivered)\n",
		e.Remove, deref(e.Subject), len(e.Add), fieldNames(e.Add), len(body), len(sealedMsg))
	return null, nil
}

// sameDelivery checks that msg, delivered through the floor, has the
// sealed copy's header (but for the per-message values) and body.
func sameDelivery(sealed []hfield, body, msg []byte) error {
	got, gotBody, err := splitMessage(msg)
	if err != nil {
		return err
	}
	e, err := deriveEdits(sealed, got)
	if err != nil {
		return err
	}
	if len(e.Remove) > 0 || e.Subject != nil || len(e.Add) > 0 {
		return fmt.Errorf("its header differs: removed %q, Subject %q, added %s", e.Remove, deref(e.Subject), fieldNames(e.Add))
	}
	if !bytes.Equal(gotBody, body) {
		return fmt.Errorf("its body differs (%d bytes, want %d)", len(gotBody), len(body))
	}
	return nil
}

// sinkSample reads one delivered message of the sink.
func sinkSample(pf *mta.Postfix) ([]byte, error) {
	ents, err := os.ReadDir(filepath.Join(pf.SinkDir, "new"))
	if err != nil || len(ents) == 0 {
		return nil, fmt.Errorf("no delivered message to check: %v", err)
	}
	return os.ReadFile(filepath.Join(pf.SinkDir, "new", ents[len(ents)/2].Name()))
}

func deref(s *string) string {
	if s == nil {
		return "(unchanged)"
	}
	return *s
}

func fieldNames(fs []hfield) string {
	var n []string
	for _, f := range fs {
		n = append(n, f.Name)
	}
	return strings.Join(n, ", ")
}
