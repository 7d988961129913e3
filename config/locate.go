package config

import (
	"bufio"
	"bytes"
	"fmt"
	"regexp"
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
	indexed string // "trigger[1].position"
	plain   string // "trigger.position"
	line    int
}

var (
	tableRe = regexp.MustCompile(`^\s*\[\s*([^\[\]]+?)\s*\]\s*(#.*)?$`)
	arrayRe = regexp.MustCompile(`^\s*\[\[\s*([^\[\]]+?)\s*\]\]\s*(#.*)?$`)
	keyRe   = regexp.MustCompile(`^\s*("[^"]*"|'[^']*'|[A-Za-z0-9_.-]+)\s*=`)
)

func newLocator(data []byte) *locator {
	l := &locator{}
	counts := map[string]int{}
	var table, tablePlain string
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(make([]byte, 64*1024), 1<<20)
	for n := 1; sc.Scan(); n++ {
		line := sc.Text()
		if m := arrayRe.FindStringSubmatch(line); m != nil {
			name := unquoteKey(m[1])
			table = fmt.Sprintf("%s[%d]", name, counts[name])
			tablePlain = name
			counts[name]++
			l.entries = append(l.entries, locEntry{table, tablePlain, n})
			continue
		}
		if m := tableRe.FindStringSubmatch(line); m != nil {
			table = unquoteKey(m[1])
			tablePlain = table
			l.entries = append(l.entries, locEntry{table, tablePlain, n})
			continue
		}
		if m := keyRe.FindStringSubmatch(line); m != nil {
			k := unquoteKey(m[1])
			idx, plain := k, k
			if table != "" {
				idx, plain = table+"."+k, tablePlain+"."+k
			}
			l.entries = append(l.entries, locEntry{idx, plain, n})
		}
	}
	return l
}

func unquoteKey(k string) string {
	k = strings.TrimSpace(k)
	if len(k) >= 2 && (k[0] == '"' || k[0] == '\'') {
		return k[1 : len(k)-1]
	}
	return k
}

// line returns the line of a key as the decoder names it (no array indexes).
// The parts are joined as written between the quotes: k.String() quotes a
// part that needs it ("bad key"), and the entries hold keys unquoted.
func (l *locator) line(k toml.Key) int {
	want := strings.Join(k, ".")
	for _, e := range l.entries {
		if e.plain == want {
			return e.line
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
