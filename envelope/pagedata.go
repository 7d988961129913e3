package envelope

import (
	"encoding/json"
	"fmt"
	"strings"
	"sync"
	"unicode/utf8"
)

// The page carries two JSON texts: the decryptor's settings in
// <script type="application/json" id="postseal-data"> and the display
// header in the Open Online form's hidden "meta" field. Both must be ASCII
// and in lines under 998 octets like the rest of the page, and JSON cannot
// break a string across lines. So they are written one value per line, with
// non-ASCII as \u escapes, and a value that would still make its line too
// long is shortened (display text) or left out (an address: a cut address
// would be a wrong one; the reader can still type it).

// lineBudget is the longest JSON line written, well under maxLine so the
// surrounding markup fits on the same line.
const lineBudget = 900

type jsonField struct {
	key   string
	value any // string, []string, bool, or displayList
}

// displayList is a list of display values: too long ones are shortened
// rather than dropped.
type displayList []string

// scriptLen is the length of a JSON line inside the script element: the
// text is not escaped further (jsonString already escaped <, > and &).
func scriptLen(line string) int { return len(line) }

// attrLen is the length of a JSON line as html/template writes it into a
// double-quoted attribute value: " ' + become five-character references.
func attrLen(line string) int {
	return len(line) + 4*strings.Count(line, `"`) + 4*strings.Count(line, "'") + 4*strings.Count(line, "+")
}

// jsonLines writes fields as one JSON object, one value per line.
func jsonLines(cost func(string) int, fields ...jsonField) string {
	var b strings.Builder
	b.WriteString("{")
	for i, f := range fields {
		if i > 0 {
			b.WriteString(",\n")
		}
		key := jsonString(f.key) + ":"
		switch v := f.value.(type) {
		case string:
			b.WriteString(fitString(key, v, "", cost))
		case bool:
			fmt.Fprintf(&b, "%s%t", key, v)
		case []string:
			writeList(&b, key, v, cost, false)
		case displayList:
			writeList(&b, key, v, cost, true)
		case jsonMap:
			b.WriteString(key + mapJSON(v, cost))
		case jsonRaw:
			b.WriteString(key + string(v))
		default:
			panic(fmt.Sprintf("jsonLines: %T", v))
		}
	}
	b.WriteString("}")
	return b.String()
}

// mapJSON is a jsonMap's object, one pair per line. A pair too long for
// one line is left out: the reader then sees the English sentence.
func mapJSON(m jsonMap, cost func(string) int) string {
	var b strings.Builder
	b.WriteString("{")
	n := 0
	for _, k := range m.keys() {
		line := jsonString(k) + ":" + jsonString(m[k])
		if cost(line) > lineBudget-2 {
			continue
		}
		if n > 0 {
			b.WriteString(",")
		}
		b.WriteString("\n" + line)
		n++
	}
	b.WriteString("}")
	return b.String()
}

// jsonRaw is a value jsonLines writes as it is: one mapJSON made before.
type jsonRaw string

// browserMessages is the decryptor's sentences in a language as the page's
// script carries them: the same for every page in that language, so made
// once per language.
var browserMessages sync.Map // language → jsonRaw

func browserJSON(lang string) jsonRaw {
	if v, ok := browserMessages.Load(lang); ok {
		return v.(jsonRaw)
	}
	v := jsonRaw(mapJSON(jsonMap(catalog().Browser(lang)), scriptLen))
	browserMessages.Store(lang, v)
	return v
}

func writeList(b *strings.Builder, key string, items []string, cost func(string) int, shorten bool) {
	b.WriteString(key + "[")
	n := 0
	for _, it := range items {
		line := jsonString(it)
		if cost(line) > lineBudget-2 {
			if !shorten {
				continue
			}
			line = fitString("", it, "", func(s string) int { return cost(s) + 2 })
		}
		if n > 0 {
			b.WriteString(",")
		}
		b.WriteString("\n" + line)
		n++
	}
	b.WriteString("]")
}

// fitString returns prefix + the JSON string of s + suffix, with s cut
// (and marked with "...") until the line costs at most lineBudget.
func fitString(prefix, s, suffix string, cost func(string) int) string {
	line := prefix + jsonString(s) + suffix
	if cost(line) <= lineBudget {
		return line
	}
	runes := []rune(s)
	lo, hi := 0, len(runes) // the longest cut that fits lies in [lo, hi)
	for lo+1 < hi {
		mid := (lo + hi) / 2
		if cost(prefix+jsonString(string(runes[:mid])+"...")+suffix) <= lineBudget {
			lo = mid
		} else {
			hi = mid
		}
	}
	return prefix + jsonString(string(runes[:lo])+"...") + suffix
}

// jsonString is the JSON string of s in ASCII: encoding/json already
// escapes <, >, &, U+2028 and U+2029 (so "</script" cannot occur) and
// replaces invalid UTF-8; every other non-ASCII rune becomes \uXXXX (a
// surrogate pair beyond the BMP).
func jsonString(s string) string {
	j, err := json.Marshal(s)
	if err != nil { // a string always marshals
		panic(err)
	}
	var b strings.Builder
	b.Grow(len(j))
	for _, r := range string(j) {
		switch {
		case r < utf8.RuneSelf:
			b.WriteRune(r)
		case r > 0xffff:
			r -= 0x10000
			fmt.Fprintf(&b, `\u%04x\u%04x`, 0xd800+(r>>10), 0xdc00+(r&0x3ff))
		default:
			fmt.Fprintf(&b, `\u%04x`, r)
		}
	}
	return b.String()
}

// splitAddresses splits a display address list ("A <a@x>, "B, C" <b@y>")
// at the commas between addresses, so each goes on a line of its own.
func splitAddresses(s string) []string {
	var out []string
	quoted, angle, start := false, 0, 0
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c == '\\' && quoted:
			i++
		case c == '"':
			quoted = !quoted
		case c == '<' && !quoted:
			angle++
		case c == '>' && !quoted && angle > 0:
			angle--
		case c == ',' && !quoted && angle == 0:
			if a := strings.TrimSpace(s[start:i]); a != "" {
				out = append(out, a)
			}
			start = i + 1
		}
	}
	if a := strings.TrimSpace(s[start:]); a != "" {
		out = append(out, a)
	}
	return out
}

// pageMeta is the Open Online form's "meta" value (see PageMeta).
func pageMeta(d Display, recipients []string, sharedPassword bool) string {
	fields := []jsonField{
		{"from", d.From},
		{"to", displayList(splitAddresses(d.To))},
		{"cc", displayList(splitAddresses(d.Cc))},
		{"subject", d.Subject},
		{"date", d.Date},
		{"recipients", recipients},
	}
	if sharedPassword {
		fields = append(fields, jsonField{"shared_password", true})
	}
	return jsonLines(attrLen, fields...)
}
