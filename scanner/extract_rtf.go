package scanner

// RTF documents (.rtf attachments, an Outlook message's compressed RTF
// body once decompressed).

import (
	"bytes"
	"math"
	"strconv"
)

// rtfSkip are the RTF destinations known to hold no text a reader shows:
// tables of fonts and colours, pictures, objects and other binary or hex
// data, field ids (bookmarks, annotation references, the date of a
// comment), protection and XML data — each checked against what
// LibreOffice shows of text put in it (TestRTFReadsWhatLibreOfficeShows:
// it shows loose text in the tables of styles, lists, revisions and page
// styles, in old-style numbering and picture properties, so those are
// read, rtfTables). Every other
// destination is read, those marked ignorable ({\*\x}) included: a reader
// that knows one may show its text (footnotes, comments, \upr's \ud, text
// boxes in \shpinst, a footnote separator), and so are some that rtfSkip
// once held that a reader shows through a field or a list (rtfShown).
var rtfSkip = map[string]bool{
	"fonttbl": true, "colortbl": true, "pict": true, "objdata": true,
	"themedata": true, "colorschememapping": true, "latentstyles": true, "datastore": true,
	"xmlnstbl": true, "rsidtbl": true, "generator": true,
	"filetbl": true, "bkmkstart": true, "bkmkend": true,
	"panose": true, "fontemb": true, "fontfile": true, "blipuid": true, "datafield": true,
	"svb": true, "objclass": true, "objname": true, "objalias": true, "objsect": true, "objtime": true,
	"fchars": true, "lchars": true, "mmathPr": true, "wgrffmtfilter": true, "defchp": true, "defpap": true,
	"password": true, "passwordhash": true, "protusertbl": true, "pgptbl": true,
	"template": true, "mailmerge": true, "keycode": true, "pnseclvl": true,
	"listname": true, "levelnumbers": true,
	"oldcprops": true, "oldpprops": true, "oldsprops": true, "oldtprops": true,
	"atndate": true, "atnref": true, "atnparent": true, "atnicn": true, "atrfstart": true, "atrfend": true,
	"ffname": true, "ffentrymcr": true, "ffexitmcr": true, "ffformat": true,
	"xmlopen": true, "xmlclose": true, "xmlattrname": true, "xmlattrvalue": true, "factoidname": true,
}

// rtfParsed are the skipped destinations that LibreOffice parses rather
// than drops (the tables of fonts and colours, a style's or revision
// author's entry, names and ids, object data; a picture's too), and
// rtfLetOut the destination words that, met inside one of them, in a
// group of its own or not, give the rest of that group a destination
// whose text LibreOffice shows in the body (review finding:
// {\fonttbl{\f0 Arial;}{\pn 536-22-1234}} showed the number). Both were
// found by asking LibreOffice; TestRTFReadsWhatLibreOfficeShows puts four
// of the words inside every destination word rtfText knows, and all of
// them inside a font table.
var (
	rtfParsed = map[string]bool{
		"fonttbl": true, "colortbl": true, "listname": true, "levelnumbers": true, "objdata": true,
		"bkmkstart": true, "bkmkend": true, "generator": true, "datafield": true, "objclass": true,
		"atndate": true, "atnref": true, "atrfstart": true, "atrfend": true, "ffname": true,
	}
	rtfLetOut = map[string]bool{
		"fldrslt": true, "field": true, "result": true, "object": true, "shp": true, "shpinst": true,
		"shpgrp": true, "shppict": true, "sp": true, "pict": true, "pn": true, "list": true,
		"listlevel": true, "listoverride": true, "lfolevel": true, "picprop": true, "info": true,
		"creatim": true, "revtim": true, "printim": true, "userprops": true, "upr": true, "ud": true,
		"do": true, "dptxbxtext": true, "nesttableprops": true, "moMath": true, "ftnsep": true, "background": true,
		// The tables (rtfTables), and the math elements (a second review
		// found \mf, \me, \mnum, \mden; the others are the same kind).
		"stylesheet": true, "revtbl": true, "listtable": true, "listoverridetable": true, "listpicture": true,
		"moMathPara": true, "mr": true, "mf": true, "me": true, "mnum": true, "mden": true, "msub": true, "msup": true,
		"mdeg": true, "mlim": true, "mfName": true, "mrad": true, "mnary": true, "md": true, "mfunc": true,
		"msSub": true, "msSup": true, "msSubSup": true, "msPre": true, "mbox": true, "mbar": true, "macc": true,
		"mborderBox": true, "mgroupChr": true, "meqArr": true, "mm": true, "mmr": true, "mphant": true,
		"mlimLow": true, "mlimUpp": true,
	}
)

// rtfTables are destinations a reader parses for their entries (styles,
// revision authors, lists, page styles) or their parts (a picture's
// properties, old-style numbering), and shows the rest of: LibreOffice
// shows text put loose in any of them, and in a group inside one that is
// not an entry. The value is the control word an entry group begins
// with, "*" where every group inside is an entry, "" where none is. The
// loose text is read in the RTF view (entries are skipped, but for a
// list's \leveltext, rtfShown), and none of it in the HTML view.
var rtfTables = map[string]string{
	"stylesheet": "*", "revtbl": "*",
	"pgdsctbl":  "pgdsc",
	"listtable": "", "listoverridetable": "", "listpicture": "", "picprop": "", "pn": "",
}

func hasTable(word string) bool { _, ok := rtfTables[word]; return ok }

// rtfApart are destinations a reader shows out of the flow of the text
// around them (notes, comments and their authors, text boxes, headers and
// footers): they are read on lines of their own. So are the ignorable
// destinations ({\*\x}) that are read, but for \ud (in place of \upr's
// first group).
var rtfApart = map[string]bool{
	"footnote": true, "annotation": true, "atnid": true, "atnauthor": true, "shptxt": true,
	"header": true, "headerl": true, "headerr": true, "headerf": true,
	"footer": true, "footerl": true, "footerr": true, "footerf": true,
}

// rtfShown are destinations a reader shows in other places than where
// they are: the document's properties (\info's title, comments, author…,
// shown by TITLE, COMMENTS… fields), its variables (\docvar, shown by a
// DOCVARIABLE field) and custom properties (\userprops, DOCPROPERTY), a
// field's instruction (a SYMBOL field shows a character, a QUOTE field
// text), and a list level's text (\leveltext, shown before each item of
// the list, even in \listtable, which is otherwise skipped). Each is read
// on lines of its own, each group directly inside one on a line of its
// own, but not in the HTML view.
var rtfShown = map[string]bool{"info": true, "docvar": true, "userprops": true, "fldinst": true, "leveltext": true}

// rtfShownProps are the shape properties ({\sp{\sn name}{\sv value}})
// whose value a reader shows: a WordArt shape's text, where LibreOffice
// also writes the text of a custom shape. The others (sizes, colours,
// names) are not text.
var rtfShownProps = map[string]bool{"gtextUNICODE": true}

// The parts of a shape property ({\sp{\sn name}{\sv value}}).
const (
	spNone  = iota
	spIn    // the \sp group itself: loose text in it is text (LibreOffice shows it)
	spKid   // a group inside \sp: nothing is text
	spName  // \sn: the property's name
	spValue // \sv of a property in rtfShownProps: text
)

// rtfText reduces RTF to its text: groups of skipped destinations go,
// control words that are layout become tabs and newlines, \'hh and \uN
// become characters, \binN data is skipped. Text out of the flow of the
// text around it (rtfApart, shapes) is read on lines of its own.
//
// A reader may show other text than this RTF view, so these views follow
// it: the lines (extraLines) of the flow
// of the text without what is out of it (a number that a comment, or an
// ignorable destination a reader skips, splits in the RTF view is whole
// there), with \upr's ANSI group, which a Unicode reader replaces by the
// \ud group; and, for HTML mail kept as RTF (\fromhtml1), whole unless
// it is the same (viewSet), the HTML that
// Outlook rebuilds from the {\*\htmltagN} and {\*\mhtmltagN} groups and
// the text outside \htmlrtf regions.
func rtfText(b []byte) []byte {
	type state struct {
		skip     bool // a destination with no text (the RTF view)
		hskip    bool // a destination with no text in the HTML view
		tag      bool // an htmltag group: HTML markup
		htmlrtf  bool // RTF that the HTML view leaves out
		off      bool // out of the flow of the text
		apart    bool // this group is read on lines of its own
		sepWas   bool // sep when this group began
		sp       uint8
		kids     bool // each group directly inside is read apart (rtfShown)
		upr      bool // this is the \upr group
		inst     bool // a field's instruction (\fldinst)
		level    bool // a list level's text (\leveltext): drop its length and placeholders
		levelLen bool // its length is dropped
		rslt     int  // in a field's result (\fldrslt): n, the count of characters read when it began, +1
		uc       int
		pending  int  // characters still to drop after a \uN
		list     bool // in \listtable or \listoverridetable
		table    bool // this group is one of rtfTables
		parsed   bool // skipped, but parsed by LibreOffice (rtfParsed)
		// data: this group's loose text is a picture's data, but groups
		// inside it are read as the group around it is (skipWas,
		// hskipWas): LibreOffice shows their text
		data, skipWas, hskipWas bool
		entry                   string
		// first: a group directly inside a table, its first control word
		// not seen yet (it tells whether the group is an entry)
		first bool
		at    int // where the text of this group began in out
		uprAt int // where the text of the \upr group began in out, or -1
	}
	out := make([]byte, 0, len(b)/2)
	var (
		hout     []byte // the HTML view
		flow     []byte // the flow view, once something is out of it
		name     []byte // a shape property's name
		fromHTML bool
		flowOn   bool
		sep      bool // the next text begins a line
		star     bool // after \*: the next control word names a destination
		sym      rune // a SYMBOL field's character, shown if its result is empty
		symDepth = -1 // the depth of the field whose character sym is
		// uprKept holds \upr first groups' text that the RTF view drops
		// and the flow view does not hold (out of the flow: a note, a
		// header; or broken by text apart).
		uprKept []byte
		n       int // the characters read in the RTF view
	)
	st := state{uc: 1, uprAt: -1}
	var stack []state
	emit := func(r rune) {
		if st.first {
			// A group that begins with text is no entry of a table,
			// nor a shape property's name or value.
			st.first = false
			if st.sp == spKid {
				st.sp, sep = spValue, true
			}
		}
		rtf := !st.skip && st.sp != spKid
		html := fromHTML && !st.hskip && (st.tag || !st.htmlrtf) && (st.sp == spNone || st.sp == spValue)
		if !rtf && !html {
			return
		}
		if st.pending > 0 {
			st.pending--
			return
		}
		if rtf && st.level {
			// A list level's text: its first character is its length;
			// those below a space hold the places of level numbers.
			if !st.levelLen || r < ' ' {
				st.levelLen = true
				return
			}
		}
		switch {
		case !rtf:
		case st.sp == spName:
			if len(name) < 64 {
				name = appendRune(name, r)
			}
		default:
			if sep {
				out, sep = endLine(out), false
			}
			out, n = appendRune(out, r), n+1
			if flowOn && !st.off && st.sp == spNone {
				flow = appendRune(flow, r)
			}
		}
		if html {
			hout = appendRune(hout, r)
		}
	}
	// shown emits the character a control word or symbol makes: it is no
	// fallback character of a \uN before it, which drops the plain
	// characters after it instead (as LibreOffice reads it; review
	// finding: a digit there joined the number that follows).
	shown := func(r rune) {
		p := st.pending
		st.pending = 0
		emit(r)
		st.pending = p
	}
	// leave marks the group as out of the flow of the text; apart, it is
	// also read on lines of its own.
	leave := func(apart bool) {
		if st.skip {
			return
		}
		if !flowOn {
			flow, flowOn = append(flow, out...), true
		}
		st.off = true
		if apart && len(stack) < 1024 {
			st.apart, st.at, st.sepWas, sep = true, len(out), sep, true
		}
	}
	for i := 0; i < len(b); i++ {
		c := b[i]
		dest := star
		star = false
		switch c {
		case '{':
			// A group begins with its parent's state, the \uN
			// characters still to drop included (as LibreOffice
			// reads it), and ends with it again.
			if len(stack) < 1024 {
				stack = append(stack, st)
				st.apart, st.upr, st.inst, st.rslt, st.kids = false, false, false, 0, false
				if st.sp == spIn {
					st.sp = spKid
				}
				if st.data {
					st.data, st.skip, st.hskip = false, st.skipWas, st.hskipWas
				}
				if st.sp == spKid {
					st.first = true // an entry if it begins with \sn or \sv
				} else if st.table {
					st.table, st.first = false, st.entry != ""
					if st.entry == "*" {
						st.skip, st.hskip, st.first, st.parsed = true, true, false, true
					}
				} else {
					st.first = false
				}
				if stack[len(stack)-1].kids {
					leave(true)
				}
			}
		case '}':
			if d := len(stack); d > 0 {
				if st.inst && len(out) > st.at {
					if r, ok := symbolField(out[st.at:]); ok {
						sym, symDepth = r, d-1
					}
				}
				if sym != 0 && d == symDepth {
					emit(sym) // a field with no result shows its symbol
					sym = 0
				}
				if st.apart && len(out) > st.at || st.sp == spValue && stack[d-1].sp != spValue {
					out, sep = endLine(out), false // a note's, a shape's text ends a line
				} else if st.apart {
					sep = st.sepWas // nothing read: the line goes on
				}
				rslt := st.rslt
				st, stack = stack[d-1], stack[:d-1]
				if sym != 0 && rslt > 0 && d-1 == symDepth {
					if rslt == n+1 {
						emit(sym) // the field's result is empty: it shows its symbol
					}
					sym = 0
				}
			}
		case '\r', '\n':
			star = dest
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
					// An ignorable destination follows: read unless it is
					// known to hold no text (rtfSkip).
					star = true
				case '~':
					shown(' ')
				case '_':
					shown('-')
				case '-':
				case '\\', '{', '}':
					shown(rune(c))
				case '\n', '\r':
					shown('\n')
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
			if st.first {
				st.first = false
				switch {
				case st.sp == spKid:
					if word != "sn" && word != "sv" {
						st.sp, sep = spValue, true // not a property: text
					}
				case len(stack) > 0 && word == stack[len(stack)-1].entry:
					st.skip, st.hskip, st.parsed = true, true, true
				}
			}
			if rtfLetOut[word] {
				if st.skip && st.parsed {
					st.skip, st.parsed = false, false
				}
				if st.sp == spName || st.sp == spKid {
					st.sp, sep = spValue, true // in a property's name: text
				}
			}
			switch {
			case word == "pict":
				if !st.data {
					st.data, st.skipWas, st.hskipWas = true, st.skip, st.hskip
				}
				st.parsed = st.parsed || !st.skip
				st.skip, st.hskip = true, true
			case rtfSkip[word]:
				st.parsed = rtfParsed[word] && (st.parsed || !st.skip)
				st.skip, st.hskip = true, true
			case hasTable(word):
				st.hskip, st.table, st.entry = true, true, rtfTables[word]
				st.list = st.list || word == "listtable" || word == "listoverridetable"
			case rtfShown[word]:
				if word == "leveltext" && st.list {
					st.skip, st.level = false, true
				}
				if !st.skip {
					leave(true)
					st.hskip, st.kids = true, word != "fldinst" && word != "leveltext"
					st.inst = word == "fldinst"
				}
			case word == "fldrslt":
				st.rslt = n + 1
			case word == "htmltag" || word == "mhtmltag":
				st.skip, st.tag = true, true
			case word == "fromhtml":
				fromHTML = fromHTML || !hasArg || arg != 0
			case word == "htmlrtf":
				st.htmlrtf = !hasArg || arg != 0
			case word == "sp":
				if st.sp == spNone {
					leave(false)
					st.sp = spIn
				}
			case word == "sn":
				if st.sp == spKid {
					st.sp, name = spName, name[:0]
				}
			case word == "sv":
				if st.sp == spKid && rtfShownProps[string(name)] {
					st.sp, sep = spValue, true
				}
			case word == "ud":
				// Word shows this group instead of \upr's first, so the
				// RTF view drops that one's text; LibreOffice shows both,
				// one after the other, so the flow view keeps both
				// (review finding: a number split between them was whole
				// in neither). Only a group directly inside \upr's is
				// \ud, and never one skipped.
				if !st.skip && len(stack) > 0 && stack[len(stack)-1].upr && st.uprAt >= 0 && st.uprAt <= len(out) {
					if !flowOn {
						flow, flowOn = append(flow, out...), true
					}
					if first := out[st.uprAt:]; st.off || bytes.IndexByte(first, '\n') >= 0 {
						uprKept = append(endLine(uprKept), first...)
					}
					out, st.uprAt = out[:st.uprAt], -1
				}
			case dest || rtfApart[word]:
				leave(true)
			case word == "upr":
				if !st.skip {
					st.uprAt, st.upr = len(out), true
				}
			case word == "par" || word == "line" || word == "row" || word == "sect" || word == "page" || word == "column":
				shown('\n')
			case word == "tab" || word == "cell":
				shown('\t')
			case word == "uc" && hasArg:
				// LibreOffice drops as many as N says (past 300 checked).
				// The fallback characters still to drop stay so (as
				// LibreOffice reads it; review finding).
				st.uc = max(0, min(arg, 1<<16))
			case word == "u" && hasArg:
				if arg < 0 {
					arg += 65536
				}
				st.pending = 0 // a \uN is not a fallback character of the one before
				emit(rune(arg))
				st.pending = st.uc
			case word == "bin":
				// The next arg bytes are binary data, braces included.
				// A count past 32 bits or past the end is no count: what
				// follows is read on as RTF (as LibreOffice does).
				if arg > 0 && arg <= math.MaxInt32 && arg <= len(b)-1-i {
					i += arg
				}
			case word == "emdash":
				shown('—')
			case word == "endash":
				shown('–')
			case word == "lquote" || word == "rquote":
				shown('\'')
			case word == "ldblquote" || word == "rdblquote":
				shown('"')
			case word == "bullet":
				shown('•')
			}
		default:
			emit(winAnsi[c])
		}
	}
	if len(uprKept) > 0 {
		out = append(endLine(out), endLine(uprKept)...)
	}
	if !flowOn && !fromHTML {
		return out
	}
	// The flow view for its joins, the HTML view whole (extract_views.go).
	if flowOn {
		if extra := extraLines(out, flow); len(extra) > 0 {
			out = append(endLine(out), extra...)
		}
	}
	if fromHTML {
		var vs viewSet
		vs.novel(out)
		out = vs.add(endLine(out), htmlText(hout))
	}
	return out
}

// endLine ends out's last line unless out is empty or ends with one.
func endLine(out []byte) []byte {
	if len(out) > 0 && out[len(out)-1] != '\n' {
		out = append(out, '\n')
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

// maxSymbolInst is how much of a field instruction symbolField reads: a
// SYMBOL field's name and number, with room for spaces and switches.
const maxSymbolInst = 256

// symbolField returns the character a SYMBOL field shows, given its
// instruction ("SYMBOL 53", "SYMBOL 0x35 \\f Symbol"): a decimal or hex
// character number.
func symbolField(inst []byte) (rune, bool) {
	// Only the start can hold "SYMBOL n": nested field instructions call
	// this on text that holds theirs, and reading all of it each time
	// made nested \fldinst groups quadratic (review finding).
	inst = inst[:min(len(inst), maxSymbolInst)]
	f := bytes.Fields(inst)
	if len(f) < 2 || !bytes.EqualFold(f[0], []byte("SYMBOL")) {
		return 0, false
	}
	num, base := string(f[1]), 10
	if len(num) > 2 && (num[:2] == "0x" || num[:2] == "0X") {
		num, base = num[2:], 16
	}
	v, err := strconv.ParseInt(num, base, 32)
	if err != nil || v <= 0 || v > 0x10ffff {
		return 0, false
	}
	if v < 256 {
		return winAnsi[v], true
	}
	return rune(v), true
}
