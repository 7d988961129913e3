package config

import (
	"errors"
	"fmt"
	"strings"
	"testing"
)

// Every way TOML writes a key is found at its line: quoted parts with
// escapes or dots, dotted keys with blanks, quoted table headers, keys
// after multi-line strings (whose text is not keys), inline tables (the
// line of the enclosing key) and lines longer than 1 MiB before the key.
// Before, a quoted key holding a dot could take the line of a dotted path
// and most of these gave no line at all.
func TestLocateKeyForms(t *testing.T) {
	tests := []struct {
		name, body string
		line       int
	}{
		// quoted key containing a dot collides with an earlier dotted path
		{"quoted dot collides", "[[scanner.pattern]]\nname = \"p\"\nregex = \"x\"\n[scanner]\n\"pattern.name\" = 1\n", 5},
		// escaped quote inside a quoted key
		{"escaped quote", "[milter]\n\"spool\\\"dir\" = 1\n", 2},
		// unicode escape in a quoted key
		{"unicode escape", "[milter]\n\"spool\\u0020dir\" = 1\n", 2},
		// dotted key with a quoted part
		{"dotted quoted part", "[milter]\nspool.\"a b\" = 1\n", 2},
		{"quoted dotted parts", "[milter]\n\"spool\".\"dir\" = 1\n", 2},
		// whitespace around the dot
		{"spaces around dot", "[milter]\nspool . dir = 1\n", 2},
		// table header with a quoted part
		{"header quoted part", "[milter.\"a b\"]\nx = 1\n", 1},
		{"header quoted first part", "[\"milter\".x]\ny = 1\n", 1},
		// header with ] inside quotes
		{"header bracket in quotes", "[milter]\nlisten = \"inet:127.0.0.1:10025\"\n[\"x]y\"]\nz = 1\n", 3},
		// multi-line string containing a table header
		{"multiline string header", "[organization]\nname = \"\"\"\n[reply]\n\"\"\"\nbogus = 1\n", 5},
		{"multiline string lines", "[organization]\nname = \"\"\"\nx\nbogus = 1\n\"\"\"\nbogus = 1\n", 6},
		{"multiline string key", "[organization]\nname = \"\"\"\nbogus = 1\n\"\"\"\nbogus = 1\n", 5},
		// inline table
		{"inline table", "organization = { name = \"x\", bogus = 1 }\n", 1},
		// a line over 1 MiB earlier in the file
		{"long line", "[organization]\nname = \"" + strings.Repeat("x", 1<<20) + "\"\nbogus = 1\n", 3},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Parse("rules.toml", []byte(tt.body))
			var ce *Error
			if !errors.As(err, &ce) {
				t.Fatalf("err = %v", err)
			}
			msg := ce.Error()
			if len(msg) > 200 {
				msg = msg[:200]
			}
			if ce.Line != tt.line {
				t.Errorf("line %d, want %d: %s", ce.Line, tt.line, msg)
			}
		})
	}
}

// keyParts at the edges of each kind of key: bare keys of every character
// class up to the end of the text, quoted and literal parts closed or not.
func TestKeyParts(t *testing.T) {
	tests := []struct {
		in    string
		parts []string // nil: not a key
		rest  string
	}{
		{"AZ09az_- = 1", []string{"AZ09az_-"}, "= 1"},
		{"A", []string{"A"}, ""},
		{"Z", []string{"Z"}, ""},
		{"0", []string{"0"}, ""},
		{"9", []string{"9"}, ""},
		{"@", nil, ""},
		{"[", nil, ""},
		{"/", nil, ""},
		{":", nil, ""},
		{`"a.b"`, []string{"a.b"}, ""},
		{`"abc`, nil, ""},
		{`"ab\`, nil, ""},
		{`'a b'.c = 1`, []string{"a b", "c"}, "= 1"},
		{`'a b'`, []string{"a b"}, ""},
		{`'abc`, nil, ""},
		{`'' = 1`, []string{""}, "= 1"},
		{`a . 'b' . "c" =`, []string{"a", "b", "c"}, "="},
	}
	for _, tt := range tests {
		parts, rest := keyParts(tt.in)
		if fmt.Sprintf("%q", parts) != fmt.Sprintf("%q", tt.parts) || (tt.parts != nil && rest != tt.rest) {
			t.Errorf("keyParts(%q) = %q, %q; want %q, %q", tt.in, parts, rest, tt.parts, tt.rest)
		}
	}
}

// A file that is one line longer than the scanner's first buffer, with no
// line end, is still read to its end.
func TestLocateOneLongLine(t *testing.T) {
	body := `bogus = "` + strings.Repeat("x", 70<<10) + `"`
	_, err := Parse("rules.toml", []byte(body))
	var ce *Error
	if !errors.As(err, &ce) || ce.Line != 1 {
		t.Fatalf("err = %.200v; want an unknown key at line 1", err)
	}
}
