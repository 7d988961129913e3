package scanner

import (
	"bytes"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"hash/crc32"
	"strings"
	"testing"
)

// The two examples of the compressed RTF specification (MS-OXRTFCP
// section 4), bytes and results as published there: a message, and a
// reference that runs into the bytes it writes.
var rtfcpSpec = []struct{ hex, rtf string }{
	{"2d 00 00 00 2b 00 00 00 4c 5a 46 75 f1 c5 c7 a7 03 00 0a 00 72 63 70 67 31 32 35 42 32 0a f3 20 68 65 6c 09 00 20 62 77 05 b0 6c 64 7d 0a 80 0f a0",
		"{\\rtf1\\ansi\\ansicpg1252\\pard hello world}\r\n"},
	{"1a 00 00 00 1c 00 00 00 4c 5a 46 75 e2 d4 4b 51 41 00 04 20 57 58 59 5a 0d 6e 7d 01 0e b0", "{\\rtf1 WXYZWXYZWXYZWXYZWXYZ}"},
}

func unhex(t testing.TB, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(strings.ReplaceAll(s, " ", ""))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestDecompressRTFSpec(t *testing.T) {
	if len(rtfcpDict) != 207 {
		t.Errorf("initial dictionary of %d bytes, want 207", len(rtfcpDict))
	}
	for i, c := range rtfcpSpec {
		got, err := decompressRTF(unhex(t, c.hex), 1<<20)
		if err != nil || string(got) != c.rtf {
			t.Errorf("example %d: %q, %v; want %q", i+1, got, err, c.rtf)
		}
		// The limit is on the declared size.
		if _, err := decompressRTF(unhex(t, c.hex), len(c.rtf)-1); !errors.Is(err, errRTFCPLimit) {
			t.Errorf("example %d with a limit of one byte less: %v", i+1, err)
		}
	}
}

// lzTok is a literal byte, or a reference (ref set) to off and n bytes.
type lzTok struct {
	lit    byte
	ref    bool
	off, n int
}

func lits(s string) []lzTok {
	var ts []lzTok
	for i := range len(s) {
		ts = append(ts, lzTok{lit: s[i]})
	}
	return ts
}

// lzfu encodes the tokens as compressed RTF data (no header), the end
// marker after them.
func lzfu(toks []lzTok) []byte {
	w := len(rtfcpDict)
	for _, tk := range toks {
		if tk.ref {
			w += tk.n
		} else {
			w++
		}
	}
	toks = append(toks, lzTok{ref: true, off: w % 4096, n: 2})
	var b []byte
	for i := 0; i < len(toks); i += 8 {
		ctl := len(b)
		b = append(b, 0)
		for bit, tk := range toks[i:min(i+8, len(toks))] {
			if !tk.ref {
				b = append(b, tk.lit)
				continue
			}
			b[ctl] |= 1 << bit
			b = binary.BigEndian.AppendUint16(b, uint16(tk.off<<4|(tk.n-2)))
		}
	}
	return b
}

// rtfcp puts the 16-byte header before data: its size, rawSize, typ and
// the CRC of data.
func rtfcp(typ uint32, rawSize int, data []byte) []byte {
	b := binary.LittleEndian.AppendUint32(nil, uint32(len(data)+12))
	b = binary.LittleEndian.AppendUint32(b, uint32(rawSize))
	b = binary.LittleEndian.AppendUint32(b, typ)
	if typ == rtfcpCompressed {
		b = binary.LittleEndian.AppendUint32(b, ^crc32.Update(0xffffffff, crc32.IEEETable, data))
	} else {
		b = binary.LittleEndian.AppendUint32(b, 0)
	}
	return append(b, data...)
}

func compressRTF(rtf string) []byte {
	return rtfcp(rtfcpCompressed, len(rtf), lzfu(lits(rtf)))
}

// loopRTF is compressed RTF of one "5" and refs references that copy 17
// bytes each from it, as they are written: 1+17*refs bytes out of about
// 2.1 bytes in per reference. rawSize is declared.
func loopRTF(refs, rawSize int) []byte {
	toks := lits("5")
	for range refs {
		toks = append(toks, lzTok{ref: true, off: len(rtfcpDict), n: 17})
	}
	return rtfcp(rtfcpCompressed, rawSize, lzfu(toks))
}

// Input that does not add up is an error, never a panic or an empty body.
func TestDecompressRTFCorrupt(t *testing.T) {
	ex1 := unhex(t, rtfcpSpec[0].hex)
	ok := compressRTF(`{\rtf1 SSN ` + testSSN + `}`)
	if got, err := decompressRTF(ok, 1<<20); err != nil || string(got) != `{\rtf1 SSN `+testSSN+`}` {
		t.Fatalf("the test's own encoding: %q, %v", got, err)
	}
	if got, err := decompressRTF(loopRTF(3, 52), 1<<20); err != nil || string(got) != strings.Repeat("5", 52) {
		t.Fatalf("loop: %q, %v", got, err)
	}
	badCRC := bytes.Clone(ex1)
	badCRC[12] ^= 1
	flipped := bytes.Clone(ex1)
	flipped[20] ^= 0x40
	longer := bytes.Clone(ex1)
	binary.LittleEndian.PutUint32(longer, uint32(len(ex1)))
	for name, b := range map[string][]byte{
		"empty":                      nil,
		"header only, cut":           ex1[:15],
		"cut, COMPSIZE unchanged":    ex1[:len(ex1)-1],
		"COMPSIZE larger":            longer,
		"bad CRC":                    badCRC,
		"a data byte changed":        flipped,
		"no end marker":              rtfcp(rtfcpCompressed, 100, lzfu(lits("{\\rtf1 x}"))[:10]),
		"cut inside a reference":     rtfcp(rtfcpCompressed, 100, lzfu(lits("{\\rtf1 x}"))[:len(lzfu(lits("{\\rtf1 x}")))-1]),
		"unknown type":               rtfcp(0x12345678, 5, []byte("{\\rtf")),
		"more than RAWSIZE":          loopRTF(3, 51),
		"literals beyond RAWSIZE":    rtfcp(rtfcpCompressed, 3, lzfu(lits("{\\rtf1 x}"))),
		"a loop over the limit":      loopRTF(100, 1701),
		"uncompressed over the limt": rtfcp(rtfcpUncompressed, 0, make([]byte, 1701)),
	} {
		got, err := decompressRTF(b, 1700)
		if err == nil {
			t.Errorf("%s: %q, no error", name, got)
		}
	}
	// MELA: stored as it is, all of it read.
	if got, err := decompressRTF(rtfcp(rtfcpUncompressed, 3, []byte(`{\rtf1 a}`)), 100); err != nil || string(got) != `{\rtf1 a}` {
		t.Errorf("uncompressed: %q, %v", got, err)
	}
}

// No program here writes Outlook messages (no Outlook, and no MAPI
// library in Debian), so these tests build the compound file (cfb) and
// the compressed RTF (lzfu, literals only; the decompressor's own vectors
// are the specification's, above). A message whose only body is
// PR_RTF_COMPRESSED, compressed or stored, and the same message forwarded
// as an attachment, are read; a body that cannot be decompressed is
// unreadable, never an empty body.
func TestMsgRTFBody(t *testing.T) {
	rtf := `{\rtf1\ansi\ansicpg1252\deff0{\fonttbl{\f0 Calibri;}}\f0\fs22 Patient SSN \b 536\b0 -22-1234\par}`
	const want = "Patient SSN " + testSSN + "\n\n" // \par, then the end of the body
	msg := func(body []byte) []byte {
		return cfb(t, []*cfbEntry{{name: "__substg1.0_0037001F", data: utf16le("Results")}, {name: "__substg1.0_10090102", data: body}})
	}
	forwarded := func(body []byte) []byte {
		return cfb(t, []*cfbEntry{
			{name: "__substg1.0_0037001F", data: utf16le("Fwd: Results")},
			{name: "__substg1.0_1000001F", data: utf16le("Forwarding.")},
			{name: "__attach_version1.0_#00000000", children: []*cfbEntry{
				{name: "__substg1.0_3001001F", data: utf16le("Results")},
				{name: "__substg1.0_3701000D", children: []*cfbEntry{
					{name: "__substg1.0_0037001F", data: utf16le("Results")},
					{name: "__substg1.0_10090102", data: body},
				}},
			}},
		})
	}
	for name, c := range map[string]struct {
		msg  []byte
		text string
	}{
		"compressed":              {msg(compressRTF(rtf)), "Results\n" + want},
		"uncompressed":            {msg(rtfcp(rtfcpUncompressed, len(rtf), []byte(rtf))), "Results\n" + want},
		"forwarded, compressed":   {forwarded(compressRTF(rtf)), "Fwd: Results\nForwarding.\nResults\n" + want},
		"forwarded, uncompressed": {forwarded(rtfcp(rtfcpUncompressed, len(rtf), []byte(rtf))), "Fwd: Results\nForwarding.\nResults\n" + want},
	} {
		x := extract(t, multipartMsg("m", attachment("m.msg", "application/vnd.ms-outlook", c.msg)), Limits{})
		p := partBySource(x, "attachment m.msg")
		if p == nil || string(p.Text) != c.text || len(x.Unreadable) > 0 {
			t.Errorf("%s: part %+v, unreadable %+v; want %q", name, p, x.Unreadable, c.text)
			continue
		}
		if fs := Scan(x.Text(), Options{}); len(fs) != 1 || fs[0].Detector != "us_ssn" {
			t.Errorf("%s: findings %+v", name, fs)
		}
	}

	// Unreadable, the reason naming the property.
	good := compressRTF(rtf)
	badCRC := bytes.Clone(good)
	badCRC[len(badCRC)-5] ^= 1
	const reason = "corrupt compressed RTF body (PR_RTF_COMPRESSED)"
	for name, c := range map[string]struct {
		body    []byte
		lim     Limits
		reason  string
		limited bool
	}{
		"bad CRC":          {badCRC, Limits{}, reason, false},
		"truncated":        {good[:len(good)-3], Limits{}, reason, false},
		"wrong COMPSIZE":   {append(bytes.Clone(good), 0), Limits{}, reason, false},
		"lying RAWSIZE":    {loopRTF(300, 100), Limits{}, reason, false},
		"loop over limit":  {loopRTF(300, 1+17*300), Limits{MaxEntry: 4096}, "compressed RTF body (PR_RTF_COMPRESSED) larger than 4096 bytes", true},
		"over the budget":  {loopRTF(300, 1+17*300), Limits{MaxTotal: 1024}, "decompression budget", true},
		"not RTF at all":   {[]byte("SSN " + testSSN), Limits{}, reason, false},
		"empty stream":     {[]byte{}, Limits{}, reason, false},
		"forwarded, loop":  {loopRTF(300, 100), Limits{}, reason + " of an attached message", false},
		"forwarded, empty": {nil, Limits{}, reason + " of an attached message", false},
	} {
		m := msg(c.body)
		if strings.HasPrefix(name, "forwarded") {
			m = forwarded(c.body)
		}
		x := extract(t, multipartMsg("m", attachment("m.msg", "application/vnd.ms-outlook", m)), c.lim)
		if !unreadableFor(x, "attachment m.msg", c.reason) || x.Truncated != c.limited {
			t.Errorf("%s: unreadable %+v, truncated %v; want %q", name, x.Unreadable, x.Truncated, c.reason)
		}
	}
}
