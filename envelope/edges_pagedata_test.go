package envelope

import (
	"encoding/json"
	"regexp"
	"strings"
	"testing"
)

// TestMetaSubjectCutToTheBudget: in the Open Online form's meta attribute
// a long subject of characters html/template turns into five-character
// references (" ' +) is cut so that its line, as written into the page,
// fills lineBudget: at most that long, and no character shorter than
// needed.
func TestMetaSubjectCutToTheBudget(t *testing.T) {
	for _, c := range []string{`"`, `'`, `+`} {
		req := testRequest(textMessage())
		req.Display.Subject = strings.Repeat(c, 2000)
		page := string(parseNotification(t, sealOK(t, req, testOptions())).page)
		line := regexp.MustCompile(`(?m)^&#34;subject&#34;:.*$`).FindString(page)
		line = strings.TrimSuffix(strings.TrimSuffix(line, "\r"), ",")
		// A cut " costs 6 octets (\&#34;), ' and + cost 5.
		if len(line) > lineBudget || len(line) <= lineBudget-6 {
			t.Errorf("subject of %q: its meta line is %d octets as written; want %d at most and at most 6 fewer", c, len(line), lineBudget)
		}
		if meta := metaOf(t, page); !strings.HasSuffix(meta.Subject, "...") || strings.Trim(meta.Subject, c) != "..." {
			t.Errorf("subject of %q: meta subject %.40q…", c, meta.Subject)
		}
	}
}

// TestJSONLinesEdges: a value whose line is exactly at the budget is kept
// whole, one octet more and it is cut (display text, to exactly the
// budget) or left out (a list item, a message pair). An item of a list
// and a pair of a map are followed by "," or the closing brackets, so
// their budget is lineBudget-2.
func TestJSONLinesEdges(t *testing.T) {
	x := func(n int) string { return strings.Repeat("x", n) }
	// `"a":"` + value + `"` is exactly lineBudget octets.
	whole := x(lineBudget - 6)
	tests := []struct {
		name  string
		field jsonField
		want  string
	}{
		{"string at the budget", jsonField{"a", whole}, `{"a":"` + whole + `"}`},
		{"string one over", jsonField{"a", whole + "x"}, `{"a":"` + x(lineBudget-9) + `..."}`},
		{"item at the budget", jsonField{"a", []string{x(lineBudget - 4), "b"}}, "{\"a\":[\n\"" + x(lineBudget-4) + "\",\n\"b\"]}"},
		{"item one over", jsonField{"a", []string{x(lineBudget - 3), "b"}}, "{\"a\":[\n\"b\"]}"},
		{"display item at the budget", jsonField{"a", displayList{x(lineBudget - 4)}}, "{\"a\":[\n\"" + x(lineBudget-4) + "\"]}"},
		{"display item one over", jsonField{"a", displayList{x(lineBudget - 3)}}, "{\"a\":[\n\"" + x(lineBudget-7) + "...\"]}"},
		// `"k":"` + value + `"`.
		{"pair at the budget", jsonField{"a", jsonMap{"k": x(lineBudget - 8), "l": "v"}}, "{\"a\":{\n\"k\":\"" + x(lineBudget-8) + "\",\n\"l\":\"v\"}}"},
		{"pair one over", jsonField{"a", jsonMap{"k": x(lineBudget - 7), "l": "v"}}, "{\"a\":{\n\"l\":\"v\"}}"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := jsonLines(scriptLen, tt.field)
			if got != tt.want {
				t.Errorf("jsonLines =\n%.60q…%q\nwant\n%.60q…%q", got, got[max(len(got)-20, 0):], tt.want, tt.want[max(len(tt.want)-20, 0):])
			}
			for i, l := range strings.Split(got, "\n") {
				if len(l) > lineBudget+2 {
					t.Errorf("line %d is %d octets", i+1, len(l))
				}
			}
			if !json.Valid([]byte(got)) {
				t.Error("not JSON")
			}
		})
	}
}

func TestJSONStringEscapes(t *testing.T) {
	for in, want := range map[string]string{
		"\u007f":      "\"\u007f\"",
		"\u0080":      `"\u0080"`,
		"é":           `"\u00e9"`,
		"\uffff":      `"\uffff"`,
		"😀":           `"\ud83d\ude00"`,
		"a\U0010ffff": `"a\udbff\udfff"`,
	} {
		if got := jsonString(in); got != want {
			t.Errorf("jsonString(%q) = %s, want %s", in, got, want)
		}
	}
}

// TestSplitAddressesStrayBracket: a '>' without its '<' does not stop
// the list from being split.
func TestSplitAddressesStrayBracket(t *testing.T) {
	got := splitAddresses("stray> <a@x>, c@y")
	if want := []string{"stray> <a@x>", "c@y"}; strings.Join(got, "|") != strings.Join(want, "|") {
		t.Errorf("splitAddresses = %q, want %q", got, want)
	}
}
