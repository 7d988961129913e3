package envelope

import (
	"encoding/base64"
	"errors"
	"fmt"
	"mime"
	"strings"
	"unicode/utf8"

	// Registers every x/text charset (ISO-8859-x, windows-125x, Shift_JIS,
	// ISO-2022-JP, GB2312, KOI8-R, ...) for encoded words.
	"github.com/emersion/go-message/charset"
)

// The subject is the one header postseal rewrites, and triggers are found in
// it, so it is decoded leniently (any charset, folded or not) and encoded
// conservatively (plain ASCII kept readable, everything else as UTF-8
// encoded words; lines short enough for every MTA and for go-milter, which
// does not fold).

// subjectLineMax is the longest line EncodeSubject produces where it has a
// choice, counting "Subject: " on the first line. subjectHardMax bounds every
// line of the value itself, continuation lines included, so that with the
// "Subject: " prefix even the first stays within SMTP's 998 octets, and a
// caller may check all lines against 998 - len("Subject: ").
const (
	subjectLineMax = 78
	subjectHardMax = 998 - len(subjectPrefix)
	subjectPrefix  = "Subject: "
	maxWordLen     = 75 // RFC 2047 §2
	minWordLen     = 24 // room for the longest rune, B or Q encoded
	wordOverhead   = len("=?utf-8?q?") + len("?=")
)

// ErrUnterminatedWord reports text that starts like an RFC 2047 encoded word
// but never ends as one.
var ErrUnterminatedWord = errors.New("unterminated encoded word")

// DecodeSubject decodes an RFC 2047 header value (any charset go-message
// knows) and unfolds it; one leading space (as milters pass values) is
// dropped. On error it returns the unfolded raw value and the error: callers
// look for triggers in both.
func DecodeSubject(raw string) (string, error) {
	v := unfold(raw)
	v = strings.TrimPrefix(v, " ")
	dec := mime.WordDecoder{CharsetReader: charset.Reader}
	out, err := dec.DecodeHeader(v)
	if err != nil {
		return v, fmt.Errorf("decode subject: %w", err)
	}
	if err := checkWords(&dec, v); err != nil {
		return v, fmt.Errorf("decode subject: %w", err)
	}
	return out, nil
}

// unfold removes the line breaks of folding (RFC 5322 §2.2.3): a CRLF or a
// bare LF followed by whitespace leaves just the whitespace.
func unfold(s string) string {
	if !strings.ContainsAny(s, "\r\n") {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		switch {
		case s[i] == '\r' && i+2 < len(s) && s[i+1] == '\n' && isWSP(s[i+2]):
			i++ // skip CR LF, keep the WSP
		case s[i] == '\n' && i+1 < len(s) && isWSP(s[i+1]):
			// skip LF
		default:
			b.WriteByte(s[i])
		}
	}
	return b.String()
}

func isWSP(c byte) bool { return c == ' ' || c == '\t' }

// checkWords finds the encoded words mime.WordDecoder passes through
// silently: "=?charset?X?" never closed by "?=", or a word whose content
// does not decode (bad base64, bad Q hex). Callers should then also search
// the raw value.
func checkWords(dec *mime.WordDecoder, s string) error {
	for _, tok := range strings.FieldsFunc(s, func(r rune) bool { return r == ' ' || r == '\t' }) {
		if err := checkToken(dec, tok); err != nil {
			return err
		}
	}
	return nil
}

// checkToken checks the encoded words in one whitespace-free token. It
// scans forward only, so hostile input costs linear time.
func checkToken(dec *mime.WordDecoder, tok string) error {
	for i := 0; ; {
		start := strings.Index(tok[i:], "=?")
		if start < 0 {
			return nil
		}
		start += i
		cur := start + 2
		q := strings.IndexByte(tok[cur:], '?')
		if q < 0 {
			return nil // no '?' left: nothing further can be a word
		}
		enc := cur + q + 1 // the encoding letter
		if q == 0 || enc+1 >= len(tok) || tok[enc+1] != '?' || !strings.ContainsRune("bBqQ", rune(tok[enc])) {
			i = cur // not shaped like an encoded word: plain text
			continue
		}
		end := strings.Index(tok[enc+2:], "?=")
		if end < 0 {
			return fmt.Errorf("%w: %q", ErrUnterminatedWord, tok[start:])
		}
		word := tok[start : enc+2+end+2]
		if _, err := dec.Decode(word); err != nil {
			return fmt.Errorf("encoded word %q: %w", word, err)
		}
		i = start + len(word)
	}
}

// EncodeSubject encodes a decoded subject for a Subject header: plain ASCII
// as is, anything else as RFC 2047 UTF-8 encoded words; folded with
// CRLF+space so no line (counting "Subject: ") exceeds 78 octets where
// possible and 998 always (every line, continuation lines included, stays
// within 998-len("Subject: ")). The result has no leading space, and
// DecodeSubject(EncodeSubject(s)) == s.
func EncodeSubject(s string) string {
	if s == "" {
		return ""
	}
	segs := segments(s)
	f := folder{line: len(subjectPrefix)}
	for _, sg := range segs {
		if sg.encoded {
			f.addEncoded(sg.sep, sg.text)
		} else {
			f.addPlain(sg.sep, sg.text)
		}
	}
	return f.b.String()
}

// segment is a piece of the header value: literal whitespace (sep, folded
// before when needed) and either a plain word or a run of text to encode.
type segment struct {
	sep     string
	text    string
	encoded bool
}

// segments splits s into plain words and runs of encoded words. The
// whitespace between a plain word and its neighbour is literal (decoders
// keep it); whitespace between two words that both need encoding goes
// inside the encoded run, because decoders drop whitespace between
// adjacent encoded words. Leading and trailing whitespace is encoded too:
// readers trim it from header values.
func segments(s string) []segment {
	ws, words := splitWords(s)
	if len(words) == 0 {
		return []segment{{text: s, encoded: true}}
	}
	enc := make([]bool, len(words))
	for i, w := range words {
		enc[i] = needsEncoding(w, ws[i])
	}
	enc[0] = enc[0] || ws[0] != ""
	enc[len(words)-1] = enc[len(words)-1] || ws[len(words)] != ""
	// A whitespace run too long for a line must not stay literal: encode
	// both neighbours so it lands inside an encoded run.
	for i := 1; i < len(words); i++ {
		if len(ws[i]) > subjectLineMax/2 {
			enc[i-1], enc[i] = true, true
		}
	}

	var segs []segment
	for i := 0; i < len(words); {
		if !enc[i] {
			segs = append(segs, segment{sep: sepBefore(i, ws), text: words[i]})
			i++
			continue
		}
		j := i
		var run strings.Builder
		if i == 0 {
			run.WriteString(ws[0])
		}
		for ; j < len(words) && enc[j]; j++ {
			if j > i {
				run.WriteString(ws[j])
			}
			run.WriteString(words[j])
		}
		if j == len(words) {
			run.WriteString(ws[j])
		}
		segs = append(segs, segment{sep: sepBefore(i, ws), text: run.String(), encoded: true})
		i = j
	}
	return segs
}

func sepBefore(i int, ws []string) string {
	if i == 0 {
		return ""
	}
	return ws[i]
}

// splitWords splits s into words separated by runs of spaces and tabs:
// ws[i] precedes words[i], ws[len(words)] trails.
func splitWords(s string) (ws, words []string) {
	i := 0
	for {
		j := i
		for j < len(s) && isWSP(s[j]) {
			j++
		}
		ws = append(ws, s[i:j])
		if j == len(s) {
			return ws, words
		}
		k := j
		for k < len(s) && !isWSP(s[k]) {
			k++
		}
		words = append(words, s[j:k])
		i = k
	}
}

// needsEncoding reports whether word (preceded by whitespace ws) cannot
// stand in the header as plain text.
func needsEncoding(word, ws string) bool {
	if strings.Contains(word, "=?") || len(ws)+len(word) > subjectHardMax {
		return true
	}
	for i := 0; i < len(word); i++ {
		if word[i] < 0x21 || word[i] > 0x7e {
			return true
		}
	}
	return false
}

// folder writes segments, folding before a segment that would overflow the
// line. line counts the current line's length, starting at "Subject: ".
type folder struct {
	b    strings.Builder
	line int
}

func (f *folder) fold(sep string) {
	if sep == "" {
		sep = " "
	}
	f.b.WriteString("\r\n")
	f.b.WriteString(sep)
	f.line = len(sep)
}

func (f *folder) addPlain(sep, word string) {
	if f.b.Len() > 0 && f.line+len(sep)+len(word) > subjectLineMax {
		f.fold(sep)
	} else {
		f.b.WriteString(sep)
		f.line += len(sep)
	}
	f.b.WriteString(word)
	f.line += len(word)
}

func (f *folder) addEncoded(sep, text string) {
	// Q keeps mostly-Latin text half readable; B is shorter for the rest.
	useB := qLen(text) > bLen(text)*5/4
	first := true
	for text != "" {
		s := sep
		if !first {
			s = " " // between encoded words: ignored by decoders
		}
		room := subjectLineMax - f.line - len(s)
		if f.b.Len() > 0 && room < minWordLen {
			f.fold(s)
			room = subjectLineMax - f.line
		} else {
			f.b.WriteString(s)
			f.line += len(s)
		}
		room = min(room, maxWordLen)
		var word string
		word, text = encodeWord(text, room-wordOverhead, useB)
		f.b.WriteString(word)
		f.line += len(word)
		first = false
	}
}

// encodeWord encodes as many whole runes of text as fit in budget encoded
// octets (at least one) and returns the encoded word and the rest.
func encodeWord(text string, budget int, useB bool) (word, rest string) {
	n := 0
	for n < len(text) {
		_, size := utf8.DecodeRuneInString(text[n:])
		next := text[:n+size]
		l := qLen(next)
		if useB {
			l = bLen(next)
		}
		if l > budget && n > 0 {
			break
		}
		n += size
	}
	if useB {
		return "=?utf-8?b?" + base64.StdEncoding.EncodeToString([]byte(text[:n])) + "?=", text[n:]
	}
	return "=?utf-8?q?" + qEncode(text[:n]) + "?=", text[n:]
}

func bLen(s string) int { return (len(s) + 2) / 3 * 4 }

// qSafe are the characters RFC 2047 §5(3) allows unencoded in a Q word
// anywhere (phrases included), the strictest rule, so the words are valid
// wherever a header parser thinks they are.
func qSafe(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' ||
		c == '!' || c == '*' || c == '+' || c == '-' || c == '/'
}

func qLen(s string) int {
	n := 0
	for i := 0; i < len(s); i++ {
		if qSafe(s[i]) || s[i] == ' ' {
			n++
		} else {
			n += 3
		}
	}
	return n
}

func qEncode(s string) string {
	const hex = "0123456789ABCDEF"
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case qSafe(c):
			b.WriteByte(c)
		case c == ' ':
			b.WriteByte('_')
		default:
			b.WriteByte('=')
			b.WriteByte(hex[c>>4])
			b.WriteByte(hex[c&15])
		}
	}
	return b.String()
}
