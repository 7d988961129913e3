package envelope

import (
	"errors"
	"strings"
	"testing"
)

// TestDecodeSubjectEdges: text that only starts like an encoded word, an
// empty encoded word, and line breaks at the very end of the value.
func TestDecodeSubjectEdges(t *testing.T) {
	tests := []struct {
		name, raw, want string
		unterminated    bool
	}{
		{"empty encoded word", "=?utf-8?q??=", "", false},
		{"empty encoded word then text", "=?utf-8?q??= x", " x", false},
		// "=??" has no charset: plain text, and the scan goes on after it.
		{"unterminated after an empty charset", "=??=?utf-8?q?never", "=??=?utf-8?q?never", true},
		{"ends after the charset", "=?utf-8?", "=?utf-8?", false},
		{"ends at the encoding letter", "=?utf-8?q", "=?utf-8?q", false},
		{"no '?' after the encoding letter", "=?utf-8?qx?=", "=?utf-8?qx?=", false},
		{"CRLF at the very end", "x\r\n", "x\r\n", false},
		{"LF at the very end", "x\n", "x\n", false},
		{"CR LF without whitespace after", "x\r\ny", "x\r\ny", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := DecodeSubject(tt.raw)
			if tt.unterminated != errors.Is(err, ErrUnterminatedWord) || (!tt.unterminated && err != nil) {
				t.Fatalf("DecodeSubject(%q) error = %v, want unterminated %v", tt.raw, err, tt.unterminated)
			}
			if got != tt.want {
				t.Errorf("DecodeSubject(%q) = %q, want %q", tt.raw, got, tt.want)
			}
		})
	}
}

// TestEncodeSubjectEdges pins EncodeSubject's output at its limits: a
// value exactly at each limit and one past it.
func TestEncodeSubjectEdges(t *testing.T) {
	sp := strings.Repeat
	tests := []struct {
		name, in, want string
	}{
		// A whitespace run of up to 78/2 stays literal between plain words.
		{"39 spaces between words", "a" + sp(" ", 39) + "b", "a" + sp(" ", 39) + "b"},
		{"40 spaces between words", "a" + sp(" ", 40) + "b", "=?utf-8?q?a" + sp("_", 40) + "b?="},
		{"40 trailing spaces", "a" + sp(" ", 40), "=?utf-8?q?a" + sp("_", 40) + "?="},
		// '!' and '~' are the first and last printable ASCII characters.
		{"printable ASCII edges", "Hello! a~b", "Hello! a~b"},
		// The letters and digits at the ends of their ranges stay as they
		// are in a Q word; only the ë is encoded.
		{"Q-safe range edges", "azAZ09ë", "=?utf-8?q?azAZ09=C3=AB?="},
		// A fold keeps the whitespace it is made at: a tab stays a tab.
		{"fold at a tab", sp("word\t", 20) + "end",
			sp("word\t", 13) + "word\r\n\t" + sp("word\t", 6) + "end"},
		// After 9 + 44 + 1 octets an encoded word has exactly 24 octets of
		// room (the least it needs): it starts on the line.
		{"encoded word with room for 24", sp("x", 44) + " Zoë Müller was here today",
			sp("x", 44) + " =?utf-8?q?Zo=C3=AB_M?=\r\n =?utf-8?q?=C3=BCller?= was here today"},
		// One octet later it goes to the next line.
		{"encoded word with room for 23", sp("x", 45) + " Zoë Müller was here today",
			sp("x", 45) + "\r\n =?utf-8?q?Zo=C3=AB_M=C3=BCller?= was here today"},
		// Folded before an encoded word, the 39 spaces stay literal and
		// begin the next line; the word gets the rest of it (78-39).
		{"fold at a long whitespace run", "abcdefg" + sp(" ", 39) + sp("Zoë Müller ", 3) + "end",
			"abcdefg\r\n" + sp(" ", 39) + "=?utf-8?q?Zo=C3=AB_M=C3=BCller_Zo?=\r\n" +
				" =?utf-8?q?=C3=AB_M=C3=BCller_Zo=C3=AB_M=C3=BCller?= end"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := EncodeSubject(tt.in)
			if got != tt.want {
				t.Errorf("EncodeSubject(%q) =\n%q\nwant\n%q", tt.in, got, tt.want)
			}
			if back, err := DecodeSubject(got); err != nil || back != tt.in {
				t.Errorf("round trip: %q, %v", back, err)
			}
		})
	}
}

// TestEncodeSubjectWordPastHardLimit: a plain word of 989 octets stays as
// it is (TestEncodeSubject), one of 990 would make "Subject: " + the line
// longer than SMTP's 998 octets, so it is encoded: words that fill each
// line to exactly 78 octets (75 for the word after a fold's space).
func TestEncodeSubjectWordPastHardLimit(t *testing.T) {
	in := strings.Repeat("y", 990)
	var want []string
	rest := len(in)
	for first := true; rest > 0; first = false {
		n, lead := 75-len("=?utf-8?q??="), " "
		if first {
			n, lead = 78-len("Subject: ")-len("=?utf-8?q??="), ""
		}
		n = min(n, rest)
		want = append(want, lead+"=?utf-8?q?"+strings.Repeat("y", n)+"?=")
		rest -= n
	}
	if got := EncodeSubject(in); got != strings.Join(want, "\r\n") {
		t.Errorf("EncodeSubject(990 × y) =\n%q\nwant\n%q", got, strings.Join(want, "\r\n"))
	}
}

// TestEncodeWordTakesOneRune: however small the budget, encodeWord takes
// at least one rune, so the folder always makes progress.
func TestEncodeWordTakesOneRune(t *testing.T) {
	for _, useB := range []bool{false, true} {
		word, rest := encodeWord("€uro", 1, useB)
		want := "=?utf-8?q?=E2=82=AC?="
		if useB {
			want = "=?utf-8?b?4oKs?="
		}
		if word != want || rest != "uro" {
			t.Errorf("encodeWord(€uro, 1, %v) = %q, %q; want %q, %q", useB, word, rest, want, "uro")
		}
	}
}
