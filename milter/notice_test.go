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
	text := noticeHas(t, cfg, plan,
		"  - Social Security number: 3 (***-**-4817, ***-**-1234, ***-**-4817) in attachment lab.pdf, page 1 and attachment lab.pdf, page 2\r\n",
		"  - payment card number: 1 (************1111) in the message body\r\n",
		"  - mrn: 1 (******12)\r\n",
		"  - could not be checked: attachment scan.pdf, page 3 (a page that is only an image (scanned?), no text)\r\n",
	)
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

// At most three samples per kind; a notice for parts that could not be
// checked only says so, and a cut-short scan says a limit was reached; a
// message without a subject is named as such; only sealed recipients are
// listed.
func TestNoticeEdges(t *testing.T) {
	cfg := config.Default()
	cfg.Organization.Support = ""
	ssn := func(m string) scanner.Finding { return scanner.Finding{Detector: "us_ssn", Masked: m} }
	plan := policy.Decision{
		Groups: []policy.Group{{Treatment: policy.Clear, Recipients: []string{"nurse@example.org"}}, {Treatment: policy.KeyService, Recipients: []string{"pat@ext.example"}}},
		Scan:   &policy.ScanReport{Findings: []scanner.Finding{ssn("***-**-0001"), ssn("***-**-0002"), ssn("***-**-0003"), ssn("***-**-0004")}},
	}
	text := noticeHas(t, cfg, plan,
		"Subject: Sent encrypted: (no subject)\r\n",
		"Your message \"(no subject)\" to pat@ext.example was sent encrypted.",
		"  - Social Security number: 4 (***-**-0001, ***-**-0002, ***-**-0003)\r\n",
	)
	if strings.Contains(text, "nurse@example.org") || strings.Contains(text, "could not be checked") {
		t.Errorf("notice names a clear recipient or unchecked parts:\n%s", text)
	}

	plan.Scan = &policy.ScanReport{Findings: []scanner.Finding{}, Truncated: true}
	plan.OriginalSubject = "Lab results"
	noticeHas(t, cfg, plan,
		"  - no sensitive data, but parts it could not check:\r\n",
		"  - could not be checked completely: a size or time limit was reached\r\n",
		"Subject: Sent encrypted: Lab results\r\n",
	)
	plan.Scan.Unreadable = []scanner.Unreadable{{Source: "attachment x.zip", Reason: "encrypted archive"}}
	if text := noticeHas(t, cfg, plan, "could not be checked: attachment x.zip (encrypted archive)"); strings.Contains(text, "completely") {
		t.Errorf("a truncated scan with unreadable parts lists the parts only:\n%s", text)
	}
}

// noticeHas writes the notice for plan and checks it holds each of wants;
// it returns the decoded text.
func noticeHas(t *testing.T, cfg *config.Config, plan policy.Decision, wants ...string) string {
	t.Helper()
	msg, err := Notice(cfg, "doc@example.org", plan, time.Unix(0, 0))
	if err != nil {
		t.Fatal(err)
	}
	text := decodeQP(t, msg)
	for _, want := range wants {
		if !strings.Contains(text, want) {
			t.Errorf("notice lacks %q:\n%s", want, text)
		}
	}
	return text
}

func TestJoinPlacesFive(t *testing.T) {
	if got := joinPlaces([]string{"a", "b", "c", "d", "e"}); got != "a; b; c; d and e" {
		t.Errorf("five places: %q", got)
	}
	if got := joinPlaces([]string{"a", "b", "c", "d", "e", "f"}); !strings.HasPrefix(got, "a; b; c; d; e and 1 more part") {
		t.Errorf("six places: %q", got)
	}
}

// The organisation's support line closes the notice, after a blank line,
// when one is configured; without one the notice ends with its last
// sentence and no empty paragraph.
func TestNoticeSupportLine(t *testing.T) {
	cfg := config.Default()
	cfg.Organization.Support = "Questions: the service desk, extension 4357."
	plan := policy.Decision{
		OriginalSubject: "Claim",
		Groups:          []policy.Group{{Treatment: policy.KeyService, Recipients: []string{"pat@ext.example"}}},
		Scan:            &policy.ScanReport{Findings: []scanner.Finding{{Detector: "us_ssn", Masked: "***-**-1234"}}},
	}
	const last = "Nothing needs to be done.\r\n"
	if text := noticeHas(t, cfg, plan, last+"\r\n"+cfg.Organization.Support+"\r\n"); !strings.HasSuffix(text, cfg.Organization.Support+"\r\n") {
		t.Errorf("the support line does not close the notice:\n%s", text)
	}
	cfg.Organization.Support = ""
	if text := noticeHas(t, cfg, plan); !strings.HasSuffix(text, last) {
		t.Errorf("without a support line the notice ends %q; want %q", text[max(0, len(text)-60):], last)
	}
}
