package config

import (
	"bufio"
	"bytes"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/BurntSushi/toml"
)

// locator finds the line a key was written on. The TOML decoder reports
// lines for syntax errors only; unknown keys and bad values need them too,
// because an admin fixing a rules file needs "file:line", not a key path.
type locator struct {
	entries []locEntry
}

type locEntry struct {
	indexed string   // "trigger[1].position"
	plain   []string // ["trigger", "position"], each part as the decoder has it
	line    int
}

func isBare(c byte) bool {
	return c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '_' || c == '-'
}

// keyParts reads a TOML key (bare, "basic", 'literal', dotted, with blanks
// around the dots) at the start of s; it returns the decoded parts and the
// rest of s, or nil when s does not start with a key.
func keyParts(s string) ([]string, string) {
	var parts []string
	for {
		s = strings.TrimLeft(s, " \t")
		if s == "" {
			return nil, ""
		}
		switch s[0] {
		case '"':
			end := 1
			for end < len(s) && s[end] != '"' {
				if s[end] == '\\' {
					end++
				}
				end++
			}
			if end >= len(s) {
				return nil, ""
			}
			u, err := strconv.Unquote(s[:end+1])
			if err != nil {
				return nil, ""
			}
			parts, s = append(parts, u), s[end+1:]
		case '\'':
			end := strings.IndexByte(s[1:], '\'')
			if end < 0 {
				return nil, ""
			}
			parts, s = append(parts, s[1:end+1]), s[end+2:]
		default:
			end := 0
			for end < len(s) && isBare(s[end]) {
				end++
			}
			if end == 0 {
				return nil, ""
			}
			parts, s = append(parts, s[:end]), s[end:]
		}
		s = strings.TrimLeft(s, " \t")
		if s == "" || s[0] != '.' {
			return parts, s
		}
		s = s[1:]
	}
}

func newLocator(data []byte) *locator {
	l := &locator{}
	counts := map[string]int{}
	var table string
	var tablePlain []string
	closing := "" // the delimiter of a multi-line string being skipped
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(make([]byte, 64*1024), len(data)+1)
	for n := 1; sc.Scan(); n++ {
		line := sc.Text()
		if closing != "" {
			if strings.Count(line, closing)%2 == 1 {
				closing = ""
			}
			continue
		}
		t := strings.TrimLeft(line, " \t")
		if strings.HasPrefix(t, "[[") {
			if parts, rest := keyParts(t[2:]); parts != nil && strings.HasPrefix(rest, "]]") {
				name := strings.Join(parts, ".")
				table = fmt.Sprintf("%s[%d]", name, counts[name])
				tablePlain = parts
				counts[name]++
				l.entries = append(l.entries, locEntry{table, tablePlain, n})
			}
			continue
		}
		if strings.HasPrefix(t, "[") {
			if parts, rest := keyParts(t[1:]); parts != nil && strings.HasPrefix(rest, "]") {
				table = strings.Join(parts, ".")
				tablePlain = parts
				l.entries = append(l.entries, locEntry{table, tablePlain, n})
			}
			continue
		}
		parts, rest := keyParts(t)
		if parts == nil || !strings.HasPrefix(rest, "=") {
			continue
		}
		for _, d := range []string{`"""`, `'''`} {
			if strings.Count(rest, d)%2 == 1 {
				closing = d
			}
		}
		k := strings.Join(parts, ".")
		idx, plain := k, parts
		if table != "" {
			idx, plain = table+"."+k, append(slices.Clone(tablePlain), parts...)
		}
		l.entries = append(l.entries, locEntry{idx, plain, n})
	}
	return l
}

// line returns the line of a key as the decoder names it (no array
// indexes), compared part by part; a key written inside an inline table is
// on the line of the nearest enclosing key that was written.
func (l *locator) line(k toml.Key) int {
	for n := len(k); n > 0; n-- {
		for _, e := range l.entries {
			if slices.Equal(e.plain, k[:n]) {
				return e.line
			}
		}
	}
	return 0
}

// lineOfPath returns the line of a validation key path such as
// "trigger[1].position" or "organization.internal_domains[0]"; where the key
// itself was not written (a default kept), the line of its table.
func (l *locator) lineOfPath(path string) int {
	for p := path; p != ""; {
		if i := strings.LastIndexByte(p, '['); i > 0 && strings.HasSuffix(p, "]") && !strings.Contains(p[i:], ".") {
			// A plain array element is on the line of its key.
			if n := l.find(p[:i]); n > 0 {
				return n
			}
		}
		if n := l.find(p); n > 0 {
			return n
		}
		i := strings.LastIndexByte(p, '.')
		if i < 0 {
			break
		}
		p = p[:i]
	}
	return 0
}

func (l *locator) find(path string) int {
	for _, e := range l.entries {
		if e.indexed == path {
			return e.line
		}
	}
	return 0
}
