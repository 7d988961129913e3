package scanner

import (
	"bytes"
	"compress/flate"
	"compress/zlib"
	"fmt"
	"io"
	"strconv"
	"unicode/utf8"
)

// PDF, best effort: no object model, no fonts. The file is searched for
// streams; those without a filter or with FlateDecode alone are inflated
// (within the budgets) and read as content streams, taking the strings shown
// by Tj, TJ, ' and ". Text in fonts that need a ToUnicode map (CID fonts,
// custom encodings) comes out as the raw codes, and image-only (scanned)
// PDFs have no text at all; those are reported as unreadable.

func (e *extractor) pdf(src string, b []byte) {
	if !bytes.Contains(b[:min(len(b), 1024)], []byte("%PDF-")) {
		e.unreadable(src, "corrupt PDF: no %PDF header")
		return
	}
	if pdfEncrypted(b) {
		e.unreadable(src, "encrypted PDF")
		return
	}
	var out []byte
	streams := 0
	pos := 0
	for e.alive(src) {
		k := bytes.Index(b[pos:], []byte("stream"))
		if k < 0 {
			break
		}
		at := pos + k
		pos = at + len("stream")
		if at >= 3 && string(b[at-3:at]) == "end" {
			continue
		}
		// The data starts after the EOL following the keyword.
		start := pos
		switch {
		case bytes.HasPrefix(b[start:], []byte("\r\n")):
			start += 2
		case start < len(b) && (b[start] == '\n' || b[start] == '\r'):
			start++
		default:
			continue // "stream" inside something else
		}
		stop := bytes.Index(b[start:], []byte("endstream"))
		if stop < 0 {
			stop = len(b) - start
		}
		data := b[start : start+stop]
		pos = start + stop
		// The stream's dictionary: from the object header to the keyword.
		head := b[max(0, at-4096):at]
		if o := bytes.LastIndex(head, []byte("obj")); o >= 0 {
			head = head[o:]
		}
		if streams++; streams > 100*e.lim.MaxEntries {
			e.limit(src, fmt.Sprintf("more than %d streams", 100*e.lim.MaxEntries))
			break
		}
		text, err := e.pdfStream(src, head, data)
		if err == errDeadline {
			e.alive(src)
			break
		}
		if len(text) > 0 {
			out = append(out, text...)
			out = append(out, '\n')
		}
		if int64(len(out)) > e.lim.MaxEntry {
			out = out[:e.lim.MaxEntry]
			e.limit(src, fmt.Sprintf("more than %d bytes of text", e.lim.MaxEntry))
			break
		}
		if e.work <= 0 {
			e.stopped = true
			e.limit(src, fmt.Sprintf("decompression budget of %d bytes for the message used up", workFactor*e.lim.MaxTotal))
			break
		}
	}
	if len(bytes.TrimSpace(out)) == 0 {
		if !e.stopped {
			e.unreadable(src, "no extractable text in PDF (image-only or unsupported encoding)")
		}
		return
	}
	e.add(src, out)
}

// pdfEncrypted: the trailer (or cross-reference stream) of an encrypted PDF
// names its security handler with /Encrypt.
func pdfEncrypted(b []byte) bool { return pdfHasName(b, "/Encrypt") }

// pdfHasName reports whether the name occurs in b as a whole name.
func pdfHasName(b []byte, name string) bool {
	for pos := 0; ; {
		k := bytes.Index(b[pos:], []byte(name))
		if k < 0 {
			return false
		}
		pos += k + len(name)
		if pos >= len(b) || !pdfRegular(b[pos]) {
			return true
		}
	}
}

// pdfStream decodes one stream and returns the text its operators show.
// Streams with filters other than FlateDecode (images, mostly) and streams
// that are plainly not content (fonts, images, object and xref streams) are
// skipped.
func (e *extractor) pdfStream(src string, dict, data []byte) ([]byte, error) {
	for _, skip := range []string{"/Image", "/XRef", "/ObjStm", "/Length1", "/Length2", "/Length3", "/FontFile", "/Metadata"} {
		if bytes.Contains(dict, []byte(skip)) {
			return nil, nil
		}
	}
	if bytes.Contains(dict, []byte("/Filter")) {
		if !pdfHasName(dict, "/FlateDecode") && !pdfHasName(dict, "/Fl") {
			return nil, nil
		}
		for _, other := range []string{"/ASCIIHexDecode", "/ASCII85Decode", "/LZWDecode", "/RunLengthDecode",
			"/CCITTFaxDecode", "/JBIG2Decode", "/DCTDecode", "/JPXDecode", "/Crypt", "/AHx", "/A85", "/LZW", "/RL", "/CCF", "/DCT"} {
			if pdfHasName(dict, other) {
				return nil, nil // a chain we cannot undo, or not text
			}
		}
		var r io.Reader
		if zr, err := zlib.NewReader(bytes.NewReader(data)); err == nil {
			r = zr
		} else {
			r = flate.NewReader(bytes.NewReader(data)) // raw deflate, no zlib header
		}
		// A truncated or damaged stream still yields what inflated.
		var err error
		var over bool
		data, over, err = e.read(r, e.lim.MaxEntry, true)
		if err == errDeadline {
			return nil, err
		}
		if over {
			e.limit(src, fmt.Sprintf("stream inflated beyond %d bytes", e.lim.MaxEntry))
		}
	}
	return e.pdfContent(data)
}

// pdfContent interprets a content stream far enough to collect shown text.
// Strings shown one after another are joined without a gap (producers split
// words and numbers into pieces for kerning); a horizontal move or a large
// TJ adjustment is a space, a new line a newline.
func (e *extractor) pdfContent(s []byte) ([]byte, error) {
	var out []byte
	var strs [][]byte // string operands since the last operator
	var nums []float64
	var arr []byte // TJ array text
	inArray := false
	lastY, haveY := 0.0, false
	nl := func() {
		if len(out) > 0 && out[len(out)-1] != '\n' {
			out = append(out, '\n')
		}
	}
	sp := func() {
		if len(out) > 0 && out[len(out)-1] != '\n' && out[len(out)-1] != ' ' {
			out = append(out, ' ')
		}
	}
	next := chunk
	for i, n := 0, len(s); i < n; {
		if i >= next {
			if e.ctx.Err() != nil {
				return out, errDeadline
			}
			next = i + chunk
		}
		c := s[i]
		switch {
		case c == ' ' || c == '\n' || c == '\r' || c == '\t' || c == '\f' || c == 0:
			i++
		case c == '%':
			for i < n && s[i] != '\n' && s[i] != '\r' {
				i++
			}
		case c == '(':
			var str []byte
			str, i = pdfLiteral(s, i)
			if inArray {
				arr = append(arr, pdfDecode(str)...)
			} else {
				strs = append(strs, str)
			}
		case c == '<' && i+1 < n && s[i+1] == '<', c == '>' && i+1 < n && s[i+1] == '>':
			i += 2
		case c == '<':
			var str []byte
			str, i = pdfHex(s, i)
			if inArray {
				arr = append(arr, pdfDecode(str)...)
			} else {
				strs = append(strs, str)
			}
		case c == '[':
			inArray, arr = true, arr[:0]
			i++
		case c == ']':
			inArray = false
			i++
		case c == '/':
			i++
			for i < n && pdfRegular(s[i]) {
				i++
			}
		case c == '-' || c == '+' || c == '.' || isDigit(c):
			j := i + 1
			for j < n && (isDigit(s[j]) || s[j] == '.') {
				j++
			}
			v, _ := strconv.ParseFloat(string(s[i:j]), 64)
			i = j
			if inArray {
				if v <= -200 && len(arr) > 0 && arr[len(arr)-1] != ' ' { // thousandths of an em: a word gap
					arr = append(arr, ' ')
				}
			} else {
				if len(nums) == 8 {
					copy(nums, nums[1:])
					nums = nums[:7]
				}
				nums = append(nums, v)
			}
		case pdfRegular(c):
			j := i + 1
			for j < n && pdfRegular(s[j]) {
				j++
			}
			op := string(s[i:j])
			i = j
			switch op {
			case "Tj":
				for _, str := range strs {
					out = append(out, pdfDecode(str)...)
				}
			case "'", "\"":
				nl()
				for _, str := range strs {
					out = append(out, pdfDecode(str)...)
				}
			case "TJ":
				out = append(out, arr...)
				arr = arr[:0]
			case "T*", "ET":
				nl()
			case "Td", "TD":
				if len(nums) >= 2 {
					if nums[len(nums)-1] != 0 {
						nl()
					} else if nums[len(nums)-2] != 0 {
						sp()
					}
				}
			case "Tm":
				if len(nums) >= 6 {
					y := nums[len(nums)-1]
					if haveY && y == lastY {
						sp()
					} else {
						nl()
					}
					lastY, haveY = y, true
				}
			}
			strs, nums = strs[:0], nums[:0]
		default:
			i++ // '{', '}', ')', '>', stray bytes
		}
	}
	return out, nil
}

// pdfRegular: bytes that are neither white space nor delimiters.
func pdfRegular(c byte) bool {
	switch c {
	case ' ', '\n', '\r', '\t', '\f', 0, '(', ')', '<', '>', '[', ']', '{', '}', '/', '%':
		return false
	}
	return true
}

// pdfLiteral parses the literal string starting at s[i] == '(' and returns
// its bytes and the index after it.
func pdfLiteral(s []byte, i int) ([]byte, int) {
	var out []byte
	depth := 0
	for i++; i < len(s); i++ {
		c := s[i]
		switch c {
		case '(':
			depth++
		case ')':
			if depth == 0 {
				return out, i + 1
			}
			depth--
		case '\\':
			i++
			if i >= len(s) {
				return out, i
			}
			switch c = s[i]; c {
			case 'n':
				out = append(out, '\n')
			case 'r':
				out = append(out, '\r')
			case 't':
				out = append(out, '\t')
			case 'b':
				out = append(out, '\b')
			case 'f':
				out = append(out, '\f')
			case '\r':
				if i+1 < len(s) && s[i+1] == '\n' {
					i++
				}
			case '\n':
			default:
				if c >= '0' && c <= '7' {
					v := int(c - '0')
					for k := 0; k < 2 && i+1 < len(s) && s[i+1] >= '0' && s[i+1] <= '7'; k++ {
						i++
						v = v*8 + int(s[i]-'0')
					}
					out = append(out, byte(v))
				} else {
					out = append(out, c) // \( \) \\ and unknown escapes
				}
			}
			continue
		}
		out = append(out, c)
	}
	return out, i
}

// pdfHex parses the hex string starting at s[i] == '<'.
func pdfHex(s []byte, i int) ([]byte, int) {
	var out []byte
	var hi byte
	half := false
	for i++; i < len(s); i++ {
		c := s[i]
		var v byte
		switch {
		case c == '>':
			if half {
				out = append(out, hi<<4)
			}
			return out, i + 1
		case isDigit(c):
			v = c - '0'
		case c|0x20 >= 'a' && c|0x20 <= 'f':
			v = c | 0x20 - 'a' + 10
		default:
			continue
		}
		if half {
			out = append(out, hi<<4|v)
		} else {
			hi = v
		}
		half = !half
	}
	return out, i
}

// pdfDecode turns a string's bytes into UTF-8: UTF-16BE with a byte-order
// mark, otherwise one byte per character (PDFDocEncoding/WinAnsi agree with
// Latin-1 closely enough for digits and words).
func pdfDecode(b []byte) []byte {
	if bytes.HasPrefix(b, []byte("\xFE\xFF")) {
		return utf16ToUTF8(b[2:], true)
	}
	for _, c := range b {
		if c >= 0x80 {
			out := make([]byte, 0, len(b)+8)
			for _, c := range b {
				out = utf8.AppendRune(out, rune(c))
			}
			return out
		}
	}
	return b
}
