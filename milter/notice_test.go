package milter

import (
	"strings"
	"testing"
	"time"

	"github.com/postseal/postseal/config"
	"github.com/postseal/postseal/policy"
	"github.com/postseal/postseal/scanner"
)

// The notice names what was found in words and the parts it was in, with
// masked samples only.
func TestNoticeWordsAndParts(t *testing.T) {
	cfg := config.Default()
	plan := policy.Decision{
		OriginalSubject: "Lab results",
		Groups:          []policy.Group{{Treatment: policy.KeyService, Recipients: []string{"pat@ext.example"}}},
		Scan: &policy.ScanReport{
			Findings: []scanner.Finding{
				{Detector: "us_ssn", Masked: "***-**-4817", Where: "attachment lab.pdf, page 1"},
				{Detector: "credit_card", Masked: "************1111", Where: "message body"},
				{Detector: "us_ssn", Masked: "***-**-1234", Where: "attachment lab.pdf, page 2"},
				{Detector: "us_ssn", Masked: "***-**-4817", Where: "attachment lab.pdf, page 1"},
				{Detector: "mrn", Masked: "******12"},
			},
			Unreadable: []scanner.Unreadable{{Source: "attachment scan.pdf, page 3", Reason: "a page that is only an image (scanned?), no text"}},
		},
	}
	msg, err := Notice(cfg, "doc@example.org", plan, time.Unix(0, 0))
	if err != nil {
		t.Fatal(err)
	}
	text := decodeQP(t, msg)
	for _, want := range []string{
		"  - Social Security number: 3 (***-**-4817, ***-**-1234, ***-**-4817) in attachment lab.pdf, page 1 and attachment lab.pdf, page 2\r\n",
		"  - payment card number: 1 (************1111) in the message body\r\n",
		"  - mrn: 1 (******12)\r\n",
		"  - could not be checked: attachment scan.pdf, page 3 (a page that is only an image (scanned?), no text)\r\n",
	} {
		if !strings.Contains(text, want) {
			t.Errorf("notice lacks %q:\n%s", want, text)
		}
	}
	if strings.Contains(text, "us_ssn") || strings.Contains(text, "credit_card") {
		t.Errorf("the notice uses detector identifiers, not words:\n%s", text)
	}
}

func TestJoinPlaces(t *testing.T) {
	for _, c := range []struct {
		in   []string
		want string
	}{
		{[]string{"message body"}, "the message body"},
		{[]string{"subject", "attachment a.pdf, page 1"}, "the subject and attachment a.pdf, page 1"},
		{[]string{"a", "b", "c"}, "a; b and c"},
		{[]string{"a", "b", "c", "d", "e", "f", "g"}, "a; b; c; d; e and 2 more parts"},
	} {
		if got := joinPlaces(c.in); got != c.want {
			t.Errorf("joinPlaces(%q) = %q, want %q", c.in, got, c.want)
		}
	}
}
