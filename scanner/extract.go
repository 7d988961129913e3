package scanner

// Text extraction: turn one RFC 5322 message into the pieces of text that
// Scan looks at — decoded bodies, HTML reduced to text, and the text inside
// attachments (plain text/CSV, DOCX, XLSX, PDF, ZIP archives, attached
// messages). This file holds the entry point, the limits and budgets, and
// the walk through the MIME parts; what a part is, and which reader gets it,
// is decided in extract_kind.go.
//
// Every message passes through here while the MTA waits, and the sender may
// attach anything, including a crafted archive. So the work is bounded on
// every axis, and nothing a file says about itself is trusted:
//
//   - Byte budgets per part/entry (MaxEntry) and for all text (MaxTotal).
//     Archive entries are checked against their declared size and
//     compression ratio before they are opened, and the bytes actually
//     produced are counted while reading, because the declared sizes are
//     written by whoever made the file and can lie.
//   - Entry count (MaxEntries), archive nesting (MaxDepth), a cap on all
//     decompressed bytes, and a deadline checked between parts and every
//     few KiB while reading.
//   - A problem with one part never fails the message. It is recorded in
//     Extracted.Unreadable with a reason (encrypted, corrupt, over a limit),
//     and Truncated says a limit cut the work short; the caller applies the
//     `unreadable = "ignore" | "encrypt"` policy. Only a message whose
//     header cannot be parsed at all is an error.

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/emersion/go-message"
	_ "github.com/emersion/go-message/charset" // charsets beyond UTF-8/ASCII/Latin-1
)

// Limits bound the work on one message (zip bombs, huge attachments).
// Zero fields take the defaults.
type Limits struct {
	MaxTotal   int64         // total extracted text bytes (default 32 MiB)
	MaxEntry   int64         // per part / archive entry uncompressed bytes (default 16 MiB)
	MaxEntries int           // archive entries considered (default 1000)
	MaxRatio   int64         // max compression ratio per archive entry (default 100)
	MaxDepth   int           // nesting of archives (default 3)
	Deadline   time.Duration // per message (default 10s)
}

// Defaults of Limits.
const (
	DefaultMaxTotal   = 32 << 20
	DefaultMaxEntry   = 16 << 20
	DefaultMaxEntries = 1000
	DefaultMaxRatio   = 100
	DefaultMaxDepth   = 3
	DefaultDeadline   = 10 * time.Second
)

const (
	// ratioFloor: entries that inflate to less than this are not held to
	// MaxRatio; small, repetitive XML legitimately compresses very well.
	ratioFloor = 1 << 20
	// workFactor: all decompressed bytes (archive entries, PDF streams) of a
	// message may not exceed workFactor*MaxTotal.
	workFactor = 4
	// maxMIMEDepth bounds multipart and message/rfc822 nesting.
	maxMIMEDepth = 20
	// maxMIMEParts bounds the number of MIME parts looked at.
	maxMIMEParts = 10000
	// chunk is how much is read between two deadline checks.
	chunk = 32 << 10
)

func (l Limits) withDefaults() Limits {
	if l.MaxTotal <= 0 {
		l.MaxTotal = DefaultMaxTotal
	}
	if l.MaxEntry <= 0 {
		l.MaxEntry = DefaultMaxEntry
	}
	if l.MaxEntries <= 0 {
		l.MaxEntries = DefaultMaxEntries
	}
	if l.MaxRatio <= 0 {
		l.MaxRatio = DefaultMaxRatio
	}
	if l.MaxDepth <= 0 {
		l.MaxDepth = DefaultMaxDepth
	}
	if l.Deadline <= 0 {
		l.Deadline = DefaultDeadline
	}
	return l
}

// Part is one piece of extracted text with where it came from.
type Part struct {
	Source string // e.g. "body text/plain", "attachment report.docx", "archive a.zip/b.txt"
	Text   []byte // UTF-8 as far as the source allowed
}

// Unreadable records what could not be read and why (encrypted zip/PDF,
// corrupt, over a limit).
type Unreadable struct {
	Source string `json:"source"`
	Reason string `json:"reason"`
}

// Extracted is the text of one message.
type Extracted struct {
	Parts      []Part
	Unreadable []Unreadable
	Truncated  bool // a limit (size, count, depth, deadline) was hit
	// Interrupted: the caller's context ended the work (Limits.Deadline
	// counts as Truncated: a message that takes that long always will), so
	// the caller may prefer to try again later.
	Interrupted bool
}

// Text joins the parts, separated by blank lines, for Scan.
func (x *Extracted) Text() []byte {
	var n int
	for _, p := range x.Parts {
		n += len(p.Text) + 2
	}
	b := make([]byte, 0, n)
	for _, p := range x.Parts {
		b = append(b, p.Text...)
		b = append(b, '\n', '\n')
	}
	return b
}

// Extract reads the whole RFC 5322 message msg and returns its text. It
// fails only when the top-level header cannot be parsed; every other
// problem, including the deadline (Limits.Deadline or ctx), ends up in
// Unreadable and/or Truncated, with whatever was extracted until then.
func Extract(ctx context.Context, msg io.Reader, lim Limits) (*Extracted, error) {
	lim = lim.withDefaults()
	parent := ctx
	ctx, cancel := context.WithTimeout(ctx, lim.Deadline)
	defer cancel()
	e := &extractor{ctx: ctx, lim: lim, out: &Extracted{}, work: workFactor * lim.MaxTotal, size: sizeOf(msg)}
	ent, err := message.Read(msg)
	if ent == nil {
		return nil, fmt.Errorf("scanner: unparseable message: %w", err)
	}
	if subj, _ := ent.Header.Text("Subject"); subj != "" {
		e.add("header Subject", []byte(subj))
	}
	e.entity(ent, err, 0)
	// Limits.Deadline is a property of the message (it takes that long);
	// the caller's own context ending is not.
	e.out.Interrupted = e.stopped && parent.Err() != nil
	return e.out, nil
}

type extractor struct {
	ctx      context.Context
	lim      Limits
	out      *Extracted
	total    int64 // text bytes added
	work     int64 // decompressed bytes still allowed
	parts    int   // MIME parts seen
	stopped  bool  // deadline or a message-wide budget: do no more work
	totalHit bool  // MaxTotal reached (recorded once)
	// nest prefixes the sources of an attached message's parts
	// ("attachment fwd.eml > "), so they are not taken for the outer body.
	nest string
	// size is the message's length when its reader tells it (0 if not).
	size int64
}

func (e *extractor) unreadable(src, reason string) {
	e.out.Unreadable = append(e.out.Unreadable, Unreadable{Source: e.nest + src, Reason: reason})
}

// limit records a part cut short by a limit.
func (e *extractor) limit(src, reason string) {
	e.out.Truncated = true
	e.unreadable(src, reason)
}

// alive reports whether work may continue; on the deadline it records why
// it stopped, once.
func (e *extractor) alive(src string) bool {
	if e.stopped {
		return false
	}
	if e.ctx.Err() != nil {
		e.stopped = true
		e.limit(src, "deadline exceeded")
		return false
	}
	return true
}

// add appends a part, clipped to what is left of MaxTotal.
func (e *extractor) add(src string, text []byte) {
	if len(text) == 0 {
		return
	}
	if left := e.lim.MaxTotal - e.total; int64(len(text)) > left {
		text = text[:max(left, 0)]
		if !e.totalHit {
			e.totalHit, e.stopped = true, true
			e.limit(src, fmt.Sprintf("total text limit of %d bytes reached", e.lim.MaxTotal))
		}
	}
	if len(text) == 0 {
		return
	}
	e.total += int64(len(text))
	e.out.Parts = append(e.out.Parts, Part{Source: e.nest + src, Text: text})
}

var errDeadline = errors.New("deadline exceeded")

// sizeOf is the length of a message reader that tells it (0 when not).
func sizeOf(r io.Reader) int64 {
	switch v := r.(type) {
	case interface{ Size() int64 }:
		return v.Size()
	case interface{ Len() int }:
		return int64(v.Len())
	}
	return 0
}

// sizeHinter is a reader that knows about how much it will produce.
type sizeHinter interface{ sizeHint() int64 }

// hinted gives a reader a size hint for extractor.read.
type hinted struct {
	io.Reader
	n int64
}

func (h hinted) sizeHint() int64 { return h.n }

// read reads r to the end, at most max bytes, checking the deadline between
// chunks and charging decompressed bytes to the work budget when inflated
// is set. over says r had more than max bytes; the first max are returned.
func (e *extractor) read(r io.Reader, max int64, inflated bool) (b []byte, over bool, err error) {
	if inflated && max > e.work {
		// The budget may be overdrawn by the byte that tells a read over
		// its limit: never a negative limit.
		max = e.work
		if max < 0 {
			max = 0
		}
	}
	var buf bytes.Buffer
	if h, ok := r.(sizeHinter); ok {
		// Growing the buffer by doubling cleared and copied more than the
		// inflating itself cost.
		buf.Grow(int(min(h.sizeHint(), max)) + 1)
	}
	lr := &io.LimitedReader{R: r, N: max + 1}
	for {
		if e.ctx.Err() != nil {
			err = errDeadline
			break
		}
		var n int64
		n, err = io.CopyN(&buf, lr, chunk)
		if inflated {
			e.work -= n
		}
		if err == io.EOF {
			err = nil
			break
		}
		if err != nil {
			break
		}
	}
	b = buf.Bytes()
	if int64(len(b)) > max {
		return b[:max], true, err
	}
	return b, false, err
}

// entity walks one MIME entity. perr is the error message.Read/NextPart
// returned along with it (unknown charset or transfer encoding: the body is
// still read, undecoded).
func (e *extractor) entity(ent *message.Entity, perr error, depth int) {
	e.parts++
	if e.parts > maxMIMEParts {
		if e.parts == maxMIMEParts+1 {
			e.limit("body", fmt.Sprintf("more than %d MIME parts", maxMIMEParts))
		}
		return
	}
	if !e.alive("body") {
		return
	}
	mediaType, params, _ := ent.Header.ContentType()
	mediaType = strings.ToLower(mediaType)
	if mr := ent.MultipartReader(); mr != nil {
		if depth >= maxMIMEDepth {
			e.limit("body "+mediaType, fmt.Sprintf("MIME nesting deeper than %d", maxMIMEDepth))
			return
		}
		for e.alive("body " + mediaType) {
			p, err := mr.NextPart()
			if err == io.EOF {
				return
			}
			if p == nil {
				e.unreadable("body "+mediaType, "malformed multipart: "+errString(err))
				return
			}
			e.entity(p, err, depth+1)
		}
		return
	}

	// go-message has decoded the parameters: RFC 2231 and the RFC 2047
	// encoded words many mail clients still send in them, in any charset
	// it knows (an unknown one leaves the name as it was sent).
	disp, dparams, _ := ent.Header.ContentDisposition()
	name := dparams["filename"]
	if name == "" {
		name = params["name"]
	}
	k := kindOf(mediaType, name)
	attached := name != "" || strings.EqualFold(disp, "attachment")
	src := "body " + mediaType
	if attached {
		if name == "" {
			name = mediaType
		}
		src = "attachment " + name
	}
	if perr != nil && message.IsUnknownEncoding(perr) {
		// Even for text: a misspelt "base-64" leaves the content encoded,
		// and an encoded number is no number to the detectors.
		e.unreadable(src, "unknown transfer encoding")
		return
	}
	if k == kNone && isSignature(mediaType) {
		return // signed mail's signature: no text, nothing hidden
	}
	var body io.Reader = ent.Body
	if depth == 0 && e.size > 0 {
		// The body of a message of one part is no longer than the
		// message: read into a buffer of that size at once.
		body = hinted{body, e.size}
	}
	data, over, err := e.read(body, e.lim.MaxEntry, false)
	if err == errDeadline {
		e.alive(src)
		return
	}
	if k == kNone {
		var skip bool
		if k, data, skip = classify(data); skip {
			return
		}
		if k == kNone {
			e.unreadable(src, "unsupported file type")
			return
		}
	}
	if err != nil {
		if k != kText && k != kCSV && k != kHTML {
			e.unreadable(src, "corrupt "+k.String()+": "+err.Error())
			return
		}
		// Keep what decoded; the rest is lost.
		e.unreadable(src, "corrupt encoding: "+err.Error())
	}
	if over {
		e.limit(src, fmt.Sprintf("larger than %d bytes", e.lim.MaxEntry))
		if k != kText && k != kCSV && k != kHTML {
			return // a cut-off container cannot be parsed
		}
	}
	switch k {
	case kMessage:
		if depth >= maxMIMEDepth {
			e.limit(src, fmt.Sprintf("MIME nesting deeper than %d", maxMIMEDepth))
			return
		}
		e.message(src, data, depth+1)
	default:
		pfx, p := "attachment", name
		if !attached {
			pfx, p = "body", mediaType
		}
		e.doc(k, pfx, p, data, 0)
	}
}

// message extracts an attached message: its subject and its parts.
func (e *extractor) message(src string, data []byte, depth int) {
	ent, err := message.Read(bytes.NewReader(data))
	if ent == nil {
		e.unreadable(src, "corrupt message: "+errString(err))
		return
	}
	outer := e.nest
	e.nest = outer + src + " > "
	defer func() { e.nest = outer }()
	if subj, _ := ent.Header.Text("Subject"); subj != "" {
		e.add("header Subject", []byte(subj))
	}
	e.entity(ent, err, depth)
}

func errString(err error) string {
	if err == nil {
		return "unknown error"
	}
	return err.Error()
}
