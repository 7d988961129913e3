package keyserver

import (
	"strings"
	"testing"
)

// clip cuts at a character boundary, never past n octets, and keeps a
// string of exactly n octets whole.
func TestClip(t *testing.T) {
	for _, c := range []struct {
		s    string
		n    int
		want string
	}{
		{"abc", 3, "abc"},
		{"abc", 2, "ab"},
		{"éé", 4, "éé"},
		{"éé", 3, "é"},
		{"éé", 1, ""},
		{"\x80\x80x", 1, ""}, // not UTF-8: nothing to keep before n
		{"abc", 0, ""},
	} {
		if got := clip(c.s, c.n); got != c.want {
			t.Errorf("clip(%q, %d) = %q; want %q", c.s, c.n, got, c.want)
		}
	}
}

// A Message-ID is in the domain of the address it is made for, or the
// placeholder when the address has none.
func TestNewMessageIDDomain(t *testing.T) {
	for addr, domain := range map[string]string{
		"postseal@example.org": "example.org",
		"@example.net":         "example.net",
		"postseal@":            "postseal.invalid",
		"postseal":             "postseal.invalid",
		"a@b":                  "b",
	} {
		id := newMessageID(addr)
		if !strings.HasPrefix(id, "<") || !strings.HasSuffix(id, "@"+domain+">") || len(id) != len("<@>")+32+len(domain) {
			t.Errorf("newMessageID(%q) = %q; want <32 hex digits@%s>", addr, id, domain)
		}
	}
}

func TestHumanBytes(t *testing.T) {
	for n, want := range map[int64]string{
		999: "999 bytes", 1000: "1 kB", 3000: "3 kB", 999_999: "1000 kB", 1_000_000: "1 MB", 3_000_000: "3 MB", 25 << 20: "26 MB",
	} {
		if got := humanBytes(n); got != want {
			t.Errorf("humanBytes(%d) = %q; want %q", n, got, want)
		}
	}
}
