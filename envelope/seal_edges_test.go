package envelope

import (
	"strings"
	"testing"
	"time"
)

// TestValidateIDEdges: each end of each allowed range, and the character
// just outside it, and the length limit exactly.
func TestValidateIDEdges(t *testing.T) {
	for _, id := range []string{"a", "z", "A", "Z", "0", "9", ".", "_", "-", "azAZ09._-", strings.Repeat("x", maxIDLen)} {
		if err := validateID(id); err != nil {
			t.Errorf("validateID(%q): %v", id, err)
		}
	}
	for _, id := range []string{"", "`", "{", "@", "[", "/", ":", " ", "a,b", "ab~", strings.Repeat("x", maxIDLen+1)} {
		if err := validateID(id); err == nil {
			t.Errorf("validateID(%q) accepted it", id)
		}
	}
}

// TestAttachmentNameCharacters: the separators become '_', C0 and C1
// controls and DEL go, and the characters right next to those ranges
// (space, U+00A0, '~') stay.
func TestAttachmentNameCharacters(t *testing.T) {
	now := time.Date(2026, 11, 23, 16, 39, 59, 0, time.UTC)
	for _, c := range []struct{ pattern, want string }{
		{`a\b/c"d`, "a_b_c_d"},
		{"a b~c", "a b~c"},
		{"a\x1fb\x7fc", "abc"},
		{"a\u0080b\u009fc", "abc"},
		{"a\u00a0b", "a\u00a0b"},
		{"\x01.", "securedoc_20261123T163959.html"},
	} {
		if got := attachmentName(c.pattern, now); got != c.want {
			t.Errorf("attachmentName(%q) = %q, want %q", c.pattern, got, c.want)
		}
	}
}

// TestPhoneLinkNeedsOnlineCopy: no online copy (zero or negative hours)
// means no phone link, whatever else is set.
func TestPhoneLinkNeedsOnlineCopy(t *testing.T) {
	req, opt := testRequest(textMessage()), testOptions()
	opt.PublicURL = "https://keys.example.org"
	opt.OnlineCopy = time.Hour
	if phoneLink(req, opt) == "" {
		t.Fatal("no phone link with an online copy of an hour")
	}
	for _, d := range []time.Duration{0, -time.Hour} {
		opt.OnlineCopy = d
		if l := phoneLink(req, opt); l != "" {
			t.Errorf("online copy %v: phone link %q, want none", d, l)
		}
	}
}
