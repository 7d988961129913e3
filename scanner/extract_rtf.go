package scanner

// RTF documents (.rtf attachments, an Outlook message's compressed RTF
// body once decompressed).

import "strconv"

// rtfSkip are the RTF destinations that hold no document text.
var rtfSkip = map[string]bool{
	"fonttbl": true, "colortbl": true, "stylesheet": true, "info": true, "pict": true, "objdata": true,
	"themedata": true, "colorschememapping": true, "latentstyles": true, "datastore": true,
	"xmlnstbl": true, "listtable": true, "listoverridetable": true, "rsidtbl": true, "generator": true,
	"fldinst": true, "filetbl": true, "revtbl": true, "pgdsctbl": true, "bkmkstart": true, "bkmkend": true,
}

// rtfText reduces RTF to its text: groups of skipped destinations go,
// control words that are layout become tabs and newlines, \'hh and \uN
// become characters.
func rtfText(b []byte) []byte {
	type state struct {
		skip bool
		uc   int
	}
	out := make([]byte, 0, len(b)/2)
	st := state{uc: 1}
	var stack []state
	pending := 0 // characters still to drop after a \uN
	emit := func(r rune) {
		if st.skip {
			return
		}
		if pending > 0 {
			pending--
			return
		}
		out = appendRune(out, r)
	}
	for i := 0; i < len(b); i++ {
		c := b[i]
		switch c {
		case '{':
			if len(stack) < 1024 {
				stack = append(stack, st)
			}
			pending = 0
		case '}':
			if n := len(stack); n > 0 {
				st, stack = stack[n-1], stack[:n-1]
			}
			pending = 0
		case '\r', '\n':
		case '\\':
			if i+1 >= len(b) {
				break
			}
			i++
			c = b[i]
			if !isLetter(c) {
				switch c {
				case '\'':
					if i+2 < len(b) {
						hi, ok1 := hexDigit(b[i+1])
						lo, ok2 := hexDigit(b[i+2])
						if ok1 && ok2 {
							emit(winAnsi[hi<<4|lo])
						}
						i += 2
					}
				case '*':
					st.skip = true // an ignorable destination this reader does not know
				case '~':
					emit(' ')
				case '_':
					emit('-')
				case '-':
				case '\\', '{', '}':
					emit(rune(c))
				case '\n', '\r':
					emit('\n')
				}
				continue
			}
			j := i
			for j < len(b) && isLetter(b[j]) {
				j++
			}
			word := string(b[i:j])
			k := j
			if k < len(b) && (b[k] == '-' || isDigit(b[k])) {
				k++
				for k < len(b) && isDigit(b[k]) {
					k++
				}
			}
			arg, hasArg := 0, k > j
			if hasArg {
				arg, _ = strconv.Atoi(string(b[j:k]))
			}
			if k < len(b) && b[k] == ' ' {
				k++ // the delimiter belongs to the control word
			}
			i = k - 1
			switch {
			case rtfSkip[word]:
				st.skip = true
			case word == "par" || word == "line" || word == "row" || word == "sect" || word == "page":
				emit('\n')
			case word == "tab" || word == "cell":
				emit('\t')
			case word == "uc" && hasArg:
				st.uc = max(0, min(arg, 4))
			case word == "u" && hasArg:
				if arg < 0 {
					arg += 65536
				}
				pending = 0 // a \uN is not a fallback character of the one before
				emit(rune(arg))
				pending = st.uc
			case word == "bin":
				// The next arg bytes are binary data, braces included.
				i += min(max(arg, 0), len(b)-1-i)
			case word == "emdash":
				emit('—')
			case word == "endash":
				emit('–')
			case word == "lquote" || word == "rquote":
				emit('\'')
			case word == "ldblquote" || word == "rdblquote":
				emit('"')
			case word == "bullet":
				emit('•')
			}
		default:
			emit(winAnsi[c])
		}
	}
	return out
}

// hexDigit is the value of the hex digit c.
func hexDigit(c byte) (byte, bool) {
	switch {
	case '0' <= c && c <= '9':
		return c - '0', true
	case 'a' <= c && c <= 'f':
		return c - 'a' + 10, true
	case 'A' <= c && c <= 'F':
		return c - 'A' + 10, true
	}
	return 0, false
}
