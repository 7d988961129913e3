package policy

import (
	"mime"
	"reflect"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/postseal/postseal/config"
)

// decideSubject is the whole decision for a message with one Subject to
// one external recipient, reduced to its subject part.
func decideSubject(cfg *config.Config, subject string) (string, Match, string) {
	d := Decide(cfg, Facts{Stage: AtEnd, Sender: "doc@example.org", Rcpts: []string{"pat@ext.example"}, Header: Header{{Name: "Subject", Value: " " + subject}}, BodyKept: true, Size: 100, Scan: noFindings})
	return d.Trigger, d.Match, d.Subject
}

// recipientGroup is a Group without its options, for comparing recipients.
type recipientGroup struct {
	Treatment  Treatment
	Domain     string
	Recipients []string
}

func recipientsOf(gs []Group) []recipientGroup {
	var out []recipientGroup
	for _, g := range gs {
		out = append(out, recipientGroup{g.Treatment, g.Domain, g.Recipients})
	}
	return out
}

func TestDecideSubjectDefaults(t *testing.T) {
	cfg := config.Default()
	tests := []struct {
		in, want, trigger, reason string
	}{
		{"*secure* Palliative care consult", "Palliative care consult [-Encrypted-]", "secure-tag", "tag"},
		{"Palliative *secure* care consult", "Palliative care consult [-Encrypted-]", "secure-tag", "tag"},
		{"Palliative care consult *secure*", "Palliative care consult [-Encrypted-]", "secure-tag", "tag"},
		{"*SECURE* lab", "lab [-Encrypted-]", "secure-tag", "tag"},
		{"*Secure*lab", "lab [-Encrypted-]", "secure-tag", "tag"},
		{"a *secure* b *secure* c", "a b c [-Encrypted-]", "secure-tag", "tag"},
		{"*secure*", "[-Encrypted-]", "secure-tag", "tag"},
		{"   *secure*   ", "[-Encrypted-]", "secure-tag", "tag"},
		{"Re: Lab results [-Encrypted-]", "Re: Lab results [-Encrypted-]", "secure-tag", "marker"},
		{"Re: *secure* Lab results [-Encrypted-]", "Re: Lab results [-Encrypted-]", "secure-tag", "tag"},
		{"RE: lab [-encrypted-]", "RE: lab [-encrypted-]", "secure-tag", "marker"},
		{"++ Lab results", "[SECURE MESSAGE] Lab results", "plus-prefix", "tag"},
		{"++Lab results", "[SECURE MESSAGE] Lab results", "plus-prefix", "tag"},
		{"  ++ Lab results", "[SECURE MESSAGE] Lab results", "plus-prefix", "tag"},
		{"++", "[SECURE MESSAGE]", "plus-prefix", "tag"},
		{"++ [SECURE MESSAGE] Lab", "[SECURE MESSAGE] Lab", "plus-prefix", "tag"},
		{"[SECURE MESSAGE] Lab results", "[SECURE MESSAGE] Lab results", "plus-prefix", "marker"},
		{"Re: [SECURE MESSAGE] Lab results", "Re: [SECURE MESSAGE] Lab results", "plus-prefix", "marker"},
		{"Café ++ menu", "Café ++ menu", "", ""},
		{"C++ meeting", "C++ meeting", "", ""},
		{"secure payment", "secure payment", "", ""},
		{"*secure", "*secure", "", ""},
		{"", "", "", ""},
		{"Zoë *secure* Müller", "Zoë Müller [-Encrypted-]", "secure-tag", "tag"},
		{"日本語 *secure* 件名", "日本語 件名 [-Encrypted-]", "secure-tag", "tag"},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			name, match, subject := decideSubject(cfg, tt.in)
			if name != tt.trigger || string(match) != tt.reason || subject != tt.want {
				t.Errorf("subject %q: trigger %q match %q subject %q; want %q %q %q", tt.in, name, match, subject, tt.trigger, tt.reason, tt.want)
			}
		})
	}
}

func TestIndexFoldOffsets(t *testing.T) {
	// Folding must never yield an offset that splits a rune or runs past
	// the end (K and the Kelvin sign fold together but differ in length).
	for _, s := range []string{"\u212a*secure*", "ß*SECURE*", "*ſecure*", "é"} {
		i := indexFold(s, "*secure*")
		if i > len(s) {
			t.Fatalf("indexFold(%q) = %d beyond the string", s, i)
		}
		_, _, _ = decideSubject(config.Default(), s)
	}
}

func TestGroups(t *testing.T) {
	cfg := config.Default()
	cfg.Domains = []config.Domain{{Name: "partner.example", PasswordFile: "x"}}
	tests := []struct {
		name  string
		mixed config.Mixed
		rcpts []string
		want  []recipientGroup
	}{
		{"external only", "split", []string{"a@ext.example"},
			[]recipientGroup{{Treatment: KeyService, Recipients: []string{"a@ext.example"}}}},
		{"internal only", "split", []string{"a@example.org", "b@lab.example.org", "root"},
			[]recipientGroup{{Treatment: Clear, Recipients: []string{"a@example.org", "b@lab.example.org", "root"}}}},
		{"wildcard does not match the parent's lookalike", "split", []string{"a@badexample.org"},
			[]recipientGroup{{Treatment: KeyService, Recipients: []string{"a@badexample.org"}}}},
		{"routed addresses leave the organisation", "split", []string{"user%gmail.com@example.org", "gmail.com!user", "user%gmail.com", `"x@gmail.com"@example.org`, "@example.org:user@gmail.com"},
			[]recipientGroup{{Treatment: KeyService, Recipients: []string{"user%gmail.com@example.org", "gmail.com!user", "user%gmail.com", `"x@gmail.com"@example.org`, "@example.org:user@gmail.com"}}}},
		{"case and trailing dot", "split", []string{"A@EXAMPLE.ORG."},
			[]recipientGroup{{Treatment: Clear, Recipients: []string{"A@EXAMPLE.ORG."}}}},
		{"mixed split", "split", []string{"a@example.org", "b@ext.example", "c@partner.example"},
			[]recipientGroup{
				{Treatment: Clear, Recipients: []string{"a@example.org"}},
				{Treatment: KeyService, Recipients: []string{"b@ext.example"}},
				{Treatment: SharedPassword, Domain: "partner.example", Recipients: []string{"c@partner.example"}},
			}},
		{"mixed encrypt-all", "encrypt-all", []string{"a@example.org", "b@ext.example"},
			[]recipientGroup{{Treatment: KeyService, Recipients: []string{"a@example.org", "b@ext.example"}}}},
		{"encrypt-all internal only stays clear", "encrypt-all", []string{"a@example.org"},
			[]recipientGroup{{Treatment: Clear, Recipients: []string{"a@example.org"}}}},
		{"partner only under encrypt-all seals internals for the key service", "encrypt-all", []string{"a@example.org", "c@partner.example"},
			[]recipientGroup{
				{Treatment: KeyService, Recipients: []string{"a@example.org"}},
				{Treatment: SharedPassword, Domain: "partner.example", Recipients: []string{"c@partner.example"}},
			}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg.Milter.MixedRecipients = tt.mixed
			got := recipientsOf(Decide(cfg, Facts{Stage: AtEnd, Sender: "doc@example.org", Rcpts: tt.rcpts, Header: Header{{Name: "Subject", Value: " *secure* x"}}, BodyKept: true, Scan: noFindings}).Groups)
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("Groups(%v) = %+v; want %+v", tt.rcpts, got, tt.want)
			}
		})
	}
}

// FuzzDecideSubject checks properties of the subject rewriting on any
// input: no panic; a fired tag leaves no tag behind and exactly one marker;
// deciding again on the result fires on the marker and changes nothing.
func FuzzDecideSubject(f *testing.F) {
	for _, s := range []string{"*secure* a", "++ b", "Re: c [-Encrypted-]", "x *SECURE* y *secure*", "\u212a*secure*", "++[SECURE MESSAGE]", ""} {
		f.Add(s)
	}
	cfg := config.Default()
	f.Fuzz(func(t *testing.T, s string) {
		if strings.ContainsAny(s, "\r\n") {
			return // a header value is one line once unfolded
		}
		name, match, out := decideSubject(cfg, s)
		// The trigger fires iff a tag (or a marker) is present, found
		// independently of the code under test with strings.ToLower.
		lower := strings.ToLower(s)
		hasSecure := strings.Contains(lower, "*secure*") || strings.Contains(lower, "[-encrypted-]")
		hasPlus := strings.HasPrefix(strings.TrimSpace(s), "++") || strings.Contains(lower, "[secure message]")
		if name == "" {
			if hasSecure || hasPlus {
				// Unicode folding can only add matches (K, ſ), never lose one.
				t.Fatalf("subject %q carries a tag or marker but no trigger fired", s)
			}
			return
		}
		tr := triggerByName(cfg, name)
		// And only then: what fired is in the subject (as sent, or with
		// its RFC 2047 words decoded by the standard library), found with
		// simple case folding rune by rune.
		decoded, _ := new(mime.WordDecoder).DecodeHeader(s)
		has := func(sub string) bool { return containsFold(s, sub) || containsFold(decoded, sub) }
		if !has(tr.Match) && !has(tr.Marker) {
			t.Fatalf("trigger %s fired (%s) on %q, which has neither %q nor %q", name, match, s, tr.Match, tr.Marker)
		}
		if match == MatchTag && !has(tr.Match) {
			t.Fatalf("trigger %s fired on its tag in %q, which lacks %q", name, s, tr.Match)
		}
		if match == MatchTag && tr.Position == config.PositionAnywhere && indexFold(out, tr.Match) >= 0 {
			t.Fatalf("tag left in %q (from %q)", out, s)
		}
		if indexFold(out, tr.Marker) < 0 {
			t.Fatalf("no marker in %q (from %q)", out, s)
		}
		if strings.Count(strings.ToLower(out), strings.ToLower(tr.Marker)) > max(1, strings.Count(lower, strings.ToLower(tr.Marker))) {
			t.Fatalf("marker doubled in %q (from %q)", out, s)
		}
		again, amatch, aout := decideSubject(cfg, out)
		if again == "" || (amatch == MatchMarker && aout != out) {
			t.Fatalf("deciding %q again: %q %q %q", out, again, amatch, aout)
		}
	})
}

func TestMarkSubject(t *testing.T) {
	for _, tt := range []struct{ in, want string }{
		{"Lab results", "Lab results [-Encrypted-]"},
		{"", "[-Encrypted-]"},
		{"RE: Lab results [-encrypted-]", "RE: Lab results [-encrypted-]"},
		{"  Lab results  ", "Lab results [-Encrypted-]"},
		{"[-Encrypted-] Re: Lab results", "[-Encrypted-] Re: Lab results"},
	} {
		if got := MarkSubject(tt.in, "[-Encrypted-]"); got != tt.want {
			t.Errorf("MarkSubject(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func noFindings() ScanReport { return ScanReport{} }

// containsFold reports whether some run of runes of s equals sub under
// strings.EqualFold: independent of the code's own indexFold.
func containsFold(s, sub string) bool {
	n := utf8.RuneCountInString(sub)
	for i := range s {
		j, k := i, 0
		for k < n && j < len(s) {
			_, w := utf8.DecodeRuneInString(s[j:])
			j += w
			k++
		}
		if k == n && strings.EqualFold(s[i:j], sub) {
			return true
		}
	}
	return false
}

// Where a marker or tag is found: at the very start too, case-insensitively
// beyond ASCII, never in bytes that are not UTF-8, and an empty one never
// (removeAllFold would loop on it).
func TestIndexFoldMatches(t *testing.T) {
	for _, c := range []struct {
		s, sub string
		want   int
	}{
		{"[-Encrypted-] Re: x", "[-encrypted-]", 0},
		{"Lab RÉSULTS", "résults", 4},
		{"Akte ÄRZTLICH", "ärztlich", 5},
		{"x\x80", "\u0080", -1},
		{"abc", "", -1},
		{"", "x", -1},
	} {
		if got := indexFold(c.s, c.sub); got != c.want {
			t.Errorf("indexFold(%q, %q) = %d; want %d", c.s, c.sub, got, c.want)
		}
	}
}

// The marker already in the subject is not added again, wherever it
// stands: a tag rewrite, a tagless trigger, a reply's subject.
func TestMarkerNotDoubled(t *testing.T) {
	tr := &config.DefaultTriggers()[0]
	if got, ok := rewrite(tr, "[-Encrypted-] *secure* Lab results"); !ok || got != "[-Encrypted-] Lab results" {
		t.Errorf("rewrite = %q, %v; want the tag out and the leading marker kept once", got, ok)
	}
	if got := markFor(tr, "[-Encrypted-] Re: Lab results"); got != "[-Encrypted-] Re: Lab results" {
		t.Errorf("markFor = %q", got)
	}
	cfg := config.Default()
	cfg.Scanner.Marker = "[SCANNED]"
	if got := ReplySubject(cfg, "Re", "Lab results [SCANNED]"); got != "Re: Lab results" {
		t.Errorf("ReplySubject drops the scanner's marker: %q", got)
	}
}
