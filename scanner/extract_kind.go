package scanner

// What a piece of content is, and which reader gets it: kindOf by file name
// and media type, sniff and classify by the bytes when those say nothing,
// and doc, which hands each kind to its reader (plain text and CSV are read
// here). Apart from extract.go, which walks the message and holds the limits
// and budgets every reader is held to.

import (
	"bytes"
	"encoding/binary"
	"encoding/csv"
	"io"
	"net/http"
	"path"
	"strings"
	"unicode/utf16"
	"unicode/utf8"
)

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
