package envelope

import (
	"errors"
	"strings"
	"testing"
	"unicode"
	"unicode/utf8"
)

func TestDecodeSubject(t *testing.T) {
	tests := []struct {
		name, raw, want string
		wantErr         bool
	}{
		{"plain", "Palliative care consult", "Palliative care consult", false},
		{"leading space trimmed once", "  two spaces", " two spaces", false},
		{"empty", "", "", false},
		{"raw UTF-8 passes", "*secure* Zoë", "*secure* Zoë", false},
		{"Q utf-8", "=?utf-8?q?Zo=C3=AB_M=C3=BCller?=", "Zoë Müller", false},
		{"Q upper case", "=?UTF-8?Q?Zo=C3=AB?=", "Zoë", false},
		{"B utf-8", "=?utf-8?B?Wm/DqyBNw7xsbGVyICpzZWN1cmUq?=", "Zoë Müller *secure*", false},
		{"b lower case", "=?Utf-8?b?Wm/DqyBNw7xsbGVyICpzZWN1cmUq?=", "Zoë Müller *secure*", false},
		{"secure inside Q word", "=?utf-8?Q?*secure*_Lab_results?=", "*secure* Lab results", false},
		{"ISO-8859-1", "=?iso-8859-1?Q?Caf=E9_cr=E8me?=", "Café crème", false},
		{"ISO-8859-1 upper", "=?ISO-8859-1?q?Caf=E9?=", "Café", false},
		{"latin1 alias", "=?latin1?Q?Caf=E9?=", "Café", false},
		{"ISO-8859-2", "=?iso-8859-2?Q?Za=BF=F3=B3=E6_g=EA=B6l=B1?=", "Zażółć gęślą", false},
		{"ISO-8859-15 euro", "=?iso-8859-15?Q?Prix_10=A4_=BDuvre?=", "Prix 10€ œuvre", false},
		{"windows-1252 quotes and euro", "=?windows-1252?Q?=93Quote=94_costs_5=80?=", "“Quote” costs 5€", false},
		{"Shift_JIS", "=?shift_jis?B?ie+LY4LMi2OOlphe?=", "会議の議事録", false},
		{"Shift_JIS upper", "=?SHIFT_JIS?B?ie+LY4LMi2OOlphe?=", "会議の議事録", false},
		{"ISO-2022-JP with secure", "=?ISO-2022-JP?B?GyRCMnE1RCRONUQ7dk8/GyhCICpzZWN1cmUq?=", "会議の議事録 *secure*", false},
		{"GB2312", "=?gb2312?B?u/rD3M7EvP4=?=", "机密文件", false},
		{"KOI8-R", "=?koi8-r?B?88XL0sXUzs8=?=", "Секретно", false},
		{"windows-1251", "=?windows-1251?B?z/Do4uXy?=", "Привет", false},
		{"Big5", "=?big5?B?vvexSw==?=", "機密", false},
		{"EUC-KR", "=?euc-kr?B?uvG50A==?=", "비밀", false},
		{"EUC-JP", "=?euc-jp?B?svG1xA==?=", "会議", false},
		{"adjacent words joined", "=?utf-8?q?*sec?= =?utf-8?q?ure*?=", "*secure*", false},
		{"adjacent words, tabs and newlines", "=?utf-8?q?Zo?=\r\n\t=?utf-8?q?=C3=AB?=", "Zoë", false},
		{"adjacent different charsets", "=?iso-8859-1?q?Caf=E9?= =?utf-8?b?IOKCrA==?=", "Café €", false},
		{"word next to plain text", "Re: =?utf-8?q?Zo=C3=AB?= results", "Re: Zoë results", false},
		{"folded CRLF space", "Palliative care\r\n consult", "Palliative care consult", false},
		{"folded LF tab", "Palliative care\n\tconsult", "Palliative care\tconsult", false},
		{"folded encoded", " =?utf-8?q?Zo=C3=AB?=\r\n =?utf-8?q?_M=C3=BCller?=", "Zoë Müller", false},
		{"plus marker", "++ Lab results", "++ Lab results", false},
		{"plain =? text", "What =? this", "What =? this", false},
		{"bad base64", "=?utf-8?B?!!!notbase64?= *secure*", "=?utf-8?B?!!!notbase64?= *secure*", true},
		{"bad Q hex", "=?utf-8?Q?abc=ZZ?=", "=?utf-8?Q?abc=ZZ?=", true},
		{"unknown charset", "=?x-klingon?Q?abc?= *secure*", "=?x-klingon?Q?abc?= *secure*", true},
		{"unterminated", "*secure* =?utf-8?q?never_ends", "*secure* =?utf-8?q?never_ends", true},
		{"unterminated folded", " =?utf-8?q?ab\r\n c", "=?utf-8?q?ab c", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := DecodeSubject(tt.raw)
			if (err != nil) != tt.wantErr {
				t.Fatalf("DecodeSubject(%q) error = %v, want error %v", tt.raw, err, tt.wantErr)
			}
			if got != tt.want {
				t.Fatalf("DecodeSubject(%q) = %q, want %q", tt.raw, got, tt.want)
			}
		})
	}
	if _, err := DecodeSubject("=?utf-8?q?x"); !errors.Is(err, ErrUnterminatedWord) {
		t.Errorf("unterminated word error = %v, want ErrUnterminatedWord", err)
	}
}

// checkEncoded asserts the header-line rules on an EncodeSubject result.
func checkEncoded(t testing.TB, in, enc string, maxSoft int) {
	t.Helper()
	if strings.HasPrefix(enc, " ") || strings.HasPrefix(enc, "\t") {
		t.Errorf("EncodeSubject(%.40q) has a leading space", in)
	}
	lines := strings.Split(enc, "\r\n")
	for i, l := range lines {
		n := len(l)
		if i == 0 {
			n += len(subjectPrefix)
		} else if l == "" || (l[0] != ' ' && l[0] != '\t') {
			t.Errorf("EncodeSubject(%.40q): continuation line %d %q does not start with WSP", in, i, l)
		}
		if strings.TrimLeft(l, " \t") == "" && in != "" {
			t.Errorf("EncodeSubject(%.40q): line %d is blank", in, i)
		}
		if len(l) > subjectHardMax {
			t.Errorf("EncodeSubject(%.40q): line %d is %d octets, over %d", in, i, len(l), subjectHardMax)
		}
		// A plain word longer than a line cannot be folded: it may overrun
		// the soft limit (never the hard one).
		unbreakable := !strings.ContainsAny(strings.TrimLeft(l, " \t"), " \t") && !strings.Contains(l, "=?")
		if maxSoft > 0 && n > maxSoft && !unbreakable {
			t.Errorf("EncodeSubject(%.40q): line %d is %d octets, over %d: %q", in, i, n, maxSoft, l)
		}
		if strings.ContainsAny(l, "\r\n") {
			t.Errorf("EncodeSubject(%.40q): bare CR or LF in line %d", in, i)
		}
		for j := 0; j < len(l); j++ {
			if l[j] >= 0x80 || (l[j] < 0x20 && l[j] != '\t') {
				t.Fatalf("EncodeSubject(%.40q): byte %#x in line %d", in, l[j], i)
			}
		}
	}
	for _, w := range strings.Fields(enc) {
		if strings.HasPrefix(w, "=?") && len(w) > maxWordLen {
			t.Errorf("encoded word of %d octets: %q", len(w), w)
		}
	}
}

func TestEncodeSubject(t *testing.T) {
	longWords := strings.Repeat("consultation ", 400)[:5000]
	tests := []struct {
		name, in string
		exact    string // expected output when not ""
		maxSoft  int    // line limit that must hold (0: only the hard limit)
	}{
		{"short ASCII as is", "Palliative care consult [-Encrypted-]", "Palliative care consult [-Encrypted-]", 78},
		{"empty", "", "", 78},
		{"marker", "[SECURE MESSAGE] Lab results", "[SECURE MESSAGE] Lab results", 78},
		{"ASCII folded at spaces", strings.Repeat("word ", 40) + "end",
			"word word word word word word word word word word word word word word\r\n word word word word word word word word word word word word word word word\r\n word word word word word word word word word word word end", 78},
		{"5000 chars with spaces", longWords, "", 78},
		{"5000 chars without spaces", strings.Repeat("x", 5000), "", 78},
		{"990-char word fits plain", strings.Repeat("y", 989), strings.Repeat("y", 989), 0},
		{"Latin", "Zoë Müller", "=?utf-8?q?Zo=C3=AB_M=C3=BCller?=", 78},
		{"mixed", "Re: Zoë results", "Re: =?utf-8?q?Zo=C3=AB?= results", 78},
		{"Japanese", "会議の議事録 [-Encrypted-]", "=?utf-8?b?5Lya6K2w44Gu6K2w5LqL6Yyy?= [-Encrypted-]", 78},
		{"long Japanese", strings.Repeat("会議の議事録", 40), "", 78},
		{"looks encoded", "=?utf-8?q?x?=", "", 78},
		{"leading and trailing space", "  padded  ", "", 78},
		{"only spaces", "   ", "", 78},
		{"tabs between words", "a\tb", "a\tb", 78},
		{"long whitespace run", "a" + strings.Repeat(" ", 2000) + "b", "", 78},
		{"emoji", "Results 😀😀 done", "", 78},
		{"control chars", "bell\x07 and\r\nnewline", "", 78},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			enc := EncodeSubject(tt.in)
			if tt.exact != "" && enc != tt.exact {
				t.Errorf("EncodeSubject(%q) =\n%q\nwant\n%q", tt.in, enc, tt.exact)
			}
			checkEncoded(t, tt.in, enc, tt.maxSoft)
			for _, raw := range []string{enc, " " + enc} {
				got, err := DecodeSubject(raw)
				if err != nil || got != tt.in {
					t.Fatalf("round trip of %.60q: got %.60q, %v", tt.in, got, err)
				}
			}
		})
	}
}

// FuzzSubjectRoundTrip: EncodeSubject never panics, never writes a line
// over the limit, and DecodeSubject gives back any valid UTF-8 without
// control characters.
func FuzzSubjectRoundTrip(f *testing.F) {
	for _, s := range []string{"", "Palliative care consult", "Zoë Müller", "会議の議事録", "=?utf-8?q?x?=",
		"  x  ", "a\tb", strings.Repeat("x", 1200), "Re: [SECURE MESSAGE] *secure* ++", "\xff\xfe", "a _=? ?= b"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		enc := EncodeSubject(s)
		for i, l := range strings.Split(enc, "\r\n") {
			if len(l) > subjectHardMax {
				t.Fatalf("line %d is %d octets", i, len(l))
			}
		}
		got, err := DecodeSubject(enc)
		if !utf8.ValidString(s) || strings.ContainsFunc(s, unicode.IsControl) {
			return
		}
		checkEncoded(t, s, enc, 78)
		if err != nil || got != s {
			t.Fatalf("round trip of %q via %q: got %q, %v", s, enc, got, err)
		}
		if _, err := DecodeSubject(s); err != nil && !strings.Contains(s, "=?") {
			t.Fatalf("DecodeSubject(%q) failed without an encoded word: %v", s, err)
		}
	})
}

func FuzzDecodeSubject(f *testing.F) {
	for _, s := range []string{"=?utf-8?q?x?=", "=?x?B?====?=", "=?", "=?iso-2022-jp?B?GyRC?=", "\r\n \r\n\t"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		got, err := DecodeSubject(raw)
		if err != nil && got != strings.TrimPrefix(unfold(raw), " ") {
			t.Fatalf("on error DecodeSubject(%q) = %q, want the unfolded raw value", raw, got)
		}
	})
}
