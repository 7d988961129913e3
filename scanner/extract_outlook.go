package scanner

// Outlook messages (.msg): the MAPI property streams of a compound file,
// giving the subject, the bodies, and each attachment read as the document
// it is (attached messages and embedded OLE objects included). Apart from
// extract_office.go, which opens the compound file and tells what it holds,
// because a message is a container that hands its attachments back to the
// extractor rather than a document read to text.

import (
	"bytes"
	"errors"
	"fmt"
	"math"
	"path"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"github.com/richardlehane/mscfb"
)

// substg begins the name of a property stream, upper-cased as the stream
// map keys it (oleKey).
const substg = "__SUBSTG1.0_"

// hasMAPI: an Outlook message keeps its properties in __substg1.0_ streams
// (the name in any case).
func hasMAPI(streams map[string]*mscfb.File) bool {
	for name := range streams {
		if len(name) >= len(substg) && strings.EqualFold(name[:len(substg)], substg) {
			return true
		}
	}
	return false
}

// msgAttachment matches the storage of an attachment: the message's own,
// or one of a message attached to it (Outlook's "forward as attachment"),
// at any depth; names in any case, as a compound file compares them.
var msgAttachment = regexp.MustCompile(`(?i)^(__attach_version1\.0_#[^/]+/__substg1\.0_3701000D/)*__attach_version1\.0_#[^/]+/$`)

// propTypes are the types a property stream may have, in the order a
// property is looked for: PT_UNICODE, PT_STRING8, PT_BINARY.
var propTypes = []string{"001F", "001E", "0102"}

// msg reads an Outlook message: subject and every body (plain, HTML and
// the compressed RTF of a rich-text message), then each attachment as the
// document it is, named inside the message. An attached message is read
// the same way, its attachments too.
func (e *extractor) msg(src string, streams map[string]*mscfb.File, read func(string) ([]byte, bool), zips int) {
	// propOf reads the property tag of type typ, a string decoded.
	propOf := func(dir, tag, typ string) ([]byte, bool) {
		name := dir + substg + tag + typ
		if streams[name] == nil {
			return nil, false
		}
		b, ok := read(name)
		if !ok {
			return nil, false
		}
		switch typ {
		case "001F":
			return utf16LE(b), true
		case "001E":
			return cp1252(bytes.TrimRight(b, "\x00")), true
		}
		// A text property in a binary stream (PR_HTML is one) is in the
		// message's code page, which may be UTF-16.
		t, ok := binaryText(b)
		if !ok {
			e.unreadable(src, "property stream "+name+" holds text in an encoding not recognised")
		}
		return t, true
	}
	// prop reads the property tag, of the first type present.
	prop := func(dir, tag string) ([]byte, bool) {
		for _, typ := range propTypes {
			if streams[dir+substg+tag+typ] != nil {
				return propOf(dir, tag, typ)
			}
		}
		return nil, false
	}
	// The message and any message embedded as an attachment. Which body
	// a reader shows is the reader's choice (Outlook shows the RTF or HTML
	// of a rich message, whatever its plain body says; some writers leave
	// the plain body empty), and a stream of another type than the
	// property's is still there to be read: every body is read, in every
	// type present, in the order plain, HTML, RTF, each whole unless it is
	// the same as one before (viewSet). The subject too: a reader may show
	// the stream of any type, so a decoy of one type cannot hide another.
	var text []byte
	body := func(dir string) {
		var subj viewSet
		for _, typ := range propTypes {
			if s, ok := propOf(dir, "0037", typ); ok {
				text = subj.add(text, s)
			}
		}
		var vs viewSet
		view := func(v []byte) { text = vs.add(text, v) }
		for _, typ := range propTypes {
			if b, ok := propOf(dir, "1000", typ); ok {
				view(b)
			}
		}
		for _, typ := range propTypes {
			if h, ok := propOf(dir, "1013", typ); ok {
				view(htmlText(h))
			}
		}
		// PR_RTF_COMPRESSED is binary; a stream of the tag in another type
		// is decompressed as it is, what is not compressed RTF recorded.
		for _, typ := range propTypes {
			name := dir + substg + "1009" + typ
			if streams[name] == nil {
				continue
			}
			r, ok := read(name)
			if !ok {
				continue // read recorded why
			}
			of := ""
			if dir != "" {
				of = " of an attached message"
			}
			if rtf, ok := e.compressedRTF(src, of, r); ok {
				view(rtfText(rtf))
			}
		}
	}
	body("")
	var attach []string
	for name := range streams {
		dir, _ := path.Split(name)
		if msgAttachment.MatchString(dir) && !slices.Contains(attach, dir) {
			attach = append(attach, dir)
		}
	}
	slices.Sort(attach)
	for _, dir := range attach {
		if !e.alive(src) {
			break // the deadline or the decompression budget, recorded
		}
		body(dir + substg + "3701000D/") // an attached message
	}
	e.add(src, text)
	if len(attach) > e.lim.MaxEntries {
		e.limit(src, fmt.Sprintf("more than %d attachments; the rest was not read", e.lim.MaxEntries))
		attach = attach[:e.lim.MaxEntries]
	}
	outer := e.nest
	e.nest = outer + src + " > "
	defer func() { e.nest = outer }()
	for i, dir := range attach {
		if !e.alive(src) {
			break
		}
		name := ""
		for _, tag := range []string{"3707", "3704", "3001"} {
			if n, ok := prop(dir, tag); ok && len(n) > 0 {
				name = string(n)
				break
			}
		}
		if name == "" {
			name = "attachment " + strconv.Itoa(i+1)
		}
		// The attachment's bytes are PidTagAttachDataBinary (3701, binary)
		// only: a string stream of the same tag is no attachment data, and
		// reading it instead would scan a decoy beside the real file.
		if streams[dir+substg+"37010102"] == nil {
			obj := dir + substg + "3701000D/"
			sub := subStorage(streams, obj)
			if len(sub) == 0 {
				continue // no data (attached by reference)
			}
			if hasMAPI(sub) {
				// An attached message, its bodies read above; an Office
				// document's stream beside them is an OLE object that
				// Outlook may open as the document: read too, so that
				// one stray property stream cannot hide it.
				src := "attachment " + name
				e.officeDoc(src, sub, e.oleReader(src, sub))
				continue
			}
			// An OLE object (an embedded workbook, document, …): read as
			// the compound file it is, or recorded as unreadable.
			e.oleDoc("attachment "+name, sub, zips) // not a message (above): no nesting to count
			continue
		}
		data, ok := read(dir + substg + "37010102")
		if !ok {
			continue // read recorded why
		}
		k := kindOf("", name)
		if k == kNone {
			var skip bool
			if k, data, skip = classify(data); skip {
				continue
			}
			if k == kNone {
				e.unreadable("attachment "+name, "unsupported file type")
				continue
			}
		}
		e.doc(k, "attachment", name, data, zips+1)
	}
}

// binaryText decodes the text of a binary property stream where its
// encoding shows: a byte-order mark (UTF-8, UTF-16LE, UTF-16BE) or, without
// one, UTF-16 by its NULs (markup and Latin text in UTF-16 have a NUL in
// every other byte). Anything else is returned as it is: a single-byte or
// ASCII-compatible code page, in which Scan finds what it looks for (every
// value is ASCII). NULs that end it are taken off. ok is false when the bytes are not text so read: UTF-16
// of odd length, or more than 1% control characters left.
func binaryText(b []byte) ([]byte, bool) {
	ok := true
	switch {
	case bytes.HasPrefix(b, []byte("\xFF\xFE")), bytes.HasPrefix(b, []byte("\xFE\xFF")):
		ok, b = len(b)%2 == 0, toUTF8(b)
	case bytes.HasPrefix(b, []byte("\xEF\xBB\xBF")):
		b = toUTF8(b)
	default:
		sample := b[:min(len(b), 1<<16)]
		var zeros [2]int // NULs at even and odd offsets
		for i, c := range sample {
			if c == 0 {
				zeros[i%2]++
			}
		}
		pairs := len(sample) / 2
		switch {
		case zeros[1]*2 >= pairs && zeros[0]*8 <= zeros[1]:
			ok, b = len(b)%2 == 0, utf16ToUTF8(b, false)
		case zeros[0]*2 >= pairs && zeros[1]*8 <= zeros[0]:
			ok, b = len(b)%2 == 0, utf16ToUTF8(b, true)
		}
	}
	b = bytes.TrimRight(b, "\x00") // a terminating NUL, as string streams have
	bad, sample := 0, b[:min(len(b), 1<<16)]
	for _, c := range sample {
		if c < 0x20 && c != '\n' && c != '\r' && c != '\t' && c != '\f' || c == 0x7f {
			bad++
		}
	}
	return b, ok && bad*100 <= len(sample)
}

// subStorage returns the entries under the storage dir (a path ending in
// "/"), named relative to it.
func subStorage(streams map[string]*mscfb.File, dir string) map[string]*mscfb.File {
	sub := map[string]*mscfb.File{}
	for name, f := range streams {
		if rest, ok := strings.CutPrefix(name, dir); ok && rest != "" {
			sub[rest] = f
		}
	}
	return sub
}

// compressedRTF decompresses a message's PR_RTF_COMPRESSED body within
// MaxEntry and the message's decompression budget; what it cannot
// decompress is recorded (of says whose body it was), not taken for an
// empty body.
func (e *extractor) compressedRTF(src, of string, b []byte) ([]byte, bool) {
	const what = "compressed RTF body (PR_RTF_COMPRESSED)"
	lim := min(e.lim.MaxEntry, max(e.work, 0))
	rtf, err := decompressRTF(b, int(min(lim, math.MaxInt32)))
	switch {
	case errors.Is(err, errRTFCPLimit) && lim < e.lim.MaxEntry:
		e.stopped = true
		e.limit(src, fmt.Sprintf("decompression budget of %d bytes for the message used up by the %s%s", workFactor*e.lim.MaxTotal, what, of))
		return nil, false
	case errors.Is(err, errRTFCPLimit):
		e.limit(src, fmt.Sprintf("%s%s larger than %d bytes", what, of, e.lim.MaxEntry))
		return nil, false
	case err != nil:
		e.unreadable(src, "corrupt "+what+of+": "+err.Error())
		return nil, false
	}
	e.work -= int64(len(rtf))
	return rtf, true
}
