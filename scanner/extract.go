package scanner

// Text extraction: turn one RFC 5322 message into the pieces of text that
// Scan looks at — decoded bodies, HTML reduced to text, and the text inside
// attachments (plain text/CSV, DOCX, XLSX, PDF, ZIP archives, attached
// messages).
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
	"encoding/binary"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"net/http"
	"path"
	"strings"
	"time"
	"unicode/utf16"
	"unicode/utf8"

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

// kind is what a piece of content is taken to be.
type kind uint8

const (
	kNone kind = iota
	kText
	kCSV
	kHTML
	kDOCX
	kXLSX
	kPDF
	kZIP
	kMessage
	kOLE // compound files: .doc, .xls, .ppt, .msg
	kRTF
)

func (k kind) String() string {
	return [...]string{"unknown", "text", "CSV", "HTML", "DOCX", "XLSX", "PDF", "ZIP", "message", "OLE", "RTF"}[k]
}

// kindOf decides by file extension first (it is what the recipient's
// software will go by), then by media type.
func kindOf(mediaType, name string) kind {
	switch strings.ToLower(path.Ext(name)) {
	case ".txt", ".tsv", ".text", ".log", ".md":
		return kText
	case ".csv":
		return kCSV
	case ".html", ".htm", ".xhtml", ".svg":
		return kHTML
	case ".docx", ".docm", ".dotx":
		return kDOCX
	case ".xlsx", ".xlsm", ".xltx":
		return kXLSX
	case ".pdf":
		return kPDF
	case ".zip", ".pptx", ".pptm", ".ppsx", ".odt", ".ods", ".odp", ".ott", ".ots":
		return kZIP // zipDoc tells the packages apart by their contents
	case ".eml":
		return kMessage
	case ".doc", ".dot", ".xls", ".xlt", ".ppt", ".pps", ".msg":
		return kOLE
	case ".rtf":
		return kRTF
	}
	mt := strings.ToLower(mediaType)
	switch mt {
	case "text/html", "application/xhtml+xml", "image/svg+xml":
		return kHTML // an SVG's <text> is text; its tags are stripped
	case "application/vnd.openxmlformats-officedocument.wordprocessingml.document":
		return kDOCX
	case "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet":
		return kXLSX
	case "application/pdf", "application/x-pdf":
		return kPDF
	case "application/zip", "application/x-zip-compressed", "application/x-zip":
		return kZIP
	case "message/rfc822", "message/global":
		return kMessage
	case "application/msword", "application/vnd.ms-excel", "application/vnd.ms-powerpoint", "application/vnd.ms-outlook", "application/x-msg":
		return kOLE
	case "application/rtf", "text/rtf", "application/x-rtf":
		return kRTF
	case "text/csv", "application/csv", "text/comma-separated-values":
		return kCSV
	}
	if strings.HasPrefix(mt, "text/") {
		return kText
	}
	return kNone
}

// isSignature names the signatures of signed mail, which carry no text and
// would otherwise make every signed message unreadable.
func isSignature(mediaType string) bool {
	switch strings.ToLower(mediaType) {
	case "application/pkcs7-signature", "application/x-pkcs7-signature", "application/pgp-signature":
		return true
	}
	return false
}

// noText names, by file name, what carries no text worth a reading: the
// junk archivers add (Mac resource forks, Finder and Explorer caches).
// Media is judged by its content (classify), never by its label: a text
// file named ssn.jpg is read.
func noText(name string) bool {
	base := path.Base(name)
	return strings.HasPrefix(name, "__MACOSX/") || base == ".DS_Store" || strings.EqualFold(base, "Thumbs.db") || strings.EqualFold(base, "desktop.ini")
}

// classify decides content of no known kind (an unlisted type, a file name
// that says nothing): a known container by its magic bytes; media by
// content sniffing (skip); text, UTF-8 or UTF-16 with a byte-order mark,
// when it is nearly all printable (JSON, XML, RTF, old .doc files saved
// as text, …), returned as UTF-8. Anything else is kNone: it cannot be
// checked, and the `unreadable` policy decides.
func classify(b []byte) (k kind, text []byte, skip bool) {
	if len(b) == 0 {
		return kNone, b, true // nothing to read, nothing hidden
	}
	if k := sniff(b); k != kNone {
		return k, b, false
	}
	ct := http.DetectContentType(b)
	for _, p := range []string{"image/", "audio/", "video/", "font/"} {
		if strings.HasPrefix(ct, p) {
			return kNone, b, true
		}
	}
	if u, ok := utf16Text(b); ok {
		b = u
	}
	if looksText(b) {
		return kText, b, false
	}
	return kNone, b, false
}

// utf16Text converts UTF-16 with a byte-order mark to UTF-8.
func utf16Text(b []byte) ([]byte, bool) {
	if len(b) < 2 || len(b)%2 != 0 {
		return nil, false
	}
	var order binary.ByteOrder
	switch {
	case b[0] == 0xFF && b[1] == 0xFE:
		order = binary.LittleEndian
	case b[0] == 0xFE && b[1] == 0xFF:
		order = binary.BigEndian
	default:
		return nil, false
	}
	u := make([]uint16, 0, len(b)/2-1)
	for i := 2; i+1 < len(b); i += 2 {
		u = append(u, order.Uint16(b[i:]))
	}
	return []byte(string(utf16.Decode(u))), true
}

// looksText: valid UTF-8 (a cut last rune allowed) with at most 1% control
// characters other than white space.
func looksText(b []byte) bool {
	if len(b) == 0 {
		return false
	}
	sample := b[:min(len(b), 1<<16)]
	bad := 0
	for i := 0; i < len(sample); {
		r, size := utf8.DecodeRune(sample[i:])
		if r == utf8.RuneError && size <= 1 {
			if len(sample)-i >= utf8.UTFMax {
				return false
			}
			break // the sample cut a rune
		}
		if r < 0x20 && r != '\n' && r != '\r' && r != '\t' && r != '\f' || r == 0x7f {
			bad++
		}
		i += size
	}
	return bad*100 <= len(sample)
}

// sniff looks at the first bytes of content whose type says nothing
// (application/octet-stream without a telling name).
func sniff(b []byte) kind {
	switch {
	case bytes.HasPrefix(b, []byte("%PDF-")):
		return kPDF
	case bytes.HasPrefix(b, []byte("PK\x03\x04")):
		return kZIP // zipDoc tells DOCX/XLSX apart by their contents
	case bytes.HasPrefix(b, oleMagic):
		return kOLE
	case bytes.HasPrefix(b, []byte("{\\rtf")):
		return kRTF
	}
	return kNone
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
		max = e.work
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

// doc extracts one document; Source is prefix+" "+p. zips is the number of
// enclosing ZIP archives.
func (e *extractor) doc(k kind, prefix, p string, data []byte, zips int) {
	src := prefix + " " + p
	if !e.alive(src) {
		return
	}
	switch k {
	case kText:
		e.add(src, toUTF8(data))
	case kCSV:
		e.add(src, csvText(toUTF8(data)))
	case kHTML:
		e.add(src, htmlText(toUTF8(data)))
	case kPDF:
		e.pdf(src, data)
	case kDOCX, kXLSX, kZIP:
		e.zipDoc(k, prefix, p, data, zips)
	case kOLE:
		e.ole(prefix, p, data, zips)
	case kRTF:
		e.add(src, rtfText(data))
	case kMessage:
		e.message(src, data, 1)
	}
}

func errString(err error) string {
	if err == nil {
		return "unknown error"
	}
	return err.Error()
}

// toUTF8 handles byte-order marks of files that carry no charset label.
// UTF-16 is decoded; anything else is left as it is: Scan works on bytes and
// every value it looks for is ASCII.
func toUTF8(b []byte) []byte {
	switch {
	case bytes.HasPrefix(b, []byte("\xEF\xBB\xBF")):
		return b[3:]
	case bytes.HasPrefix(b, []byte("\xFF\xFE")):
		return utf16ToUTF8(b[2:], false)
	case bytes.HasPrefix(b, []byte("\xFE\xFF")):
		return utf16ToUTF8(b[2:], true)
	}
	return b
}

func utf16ToUTF8(b []byte, bigEndian bool) []byte {
	u := make([]uint16, len(b)/2)
	for i := range u {
		if bigEndian {
			u[i] = uint16(b[2*i])<<8 | uint16(b[2*i+1])
		} else {
			u[i] = uint16(b[2*i+1])<<8 | uint16(b[2*i])
		}
	}
	out := make([]byte, 0, len(u))
	for _, r := range utf16.Decode(u) {
		out = utf8.AppendRune(out, r)
	}
	return out
}

// csvText puts a tab between the cells of CSV data and a newline between
// its records. Commas glue tokens together for the detectors (as in
// "1,234"), so "Jane,536-22-1234" would hide the SSN; "Jane\t536-22-1234"
// does not. Data that is not valid CSV is returned as it is.
func csvText(b []byte) []byte {
	r := csv.NewReader(bytes.NewReader(b))
	r.FieldsPerRecord = -1
	r.LazyQuotes = true
	r.ReuseRecord = true
	out := make([]byte, 0, len(b))
	for {
		rec, err := r.Read()
		if err == io.EOF {
			return out
		}
		if err != nil {
			return b
		}
		for i, f := range rec {
			if i > 0 {
				out = append(out, '\t')
			}
			out = append(out, f...)
		}
		out = append(out, '\n')
	}
}
