package policy

import (
	"slices"
	"strings"
	"testing"

	"github.com/postseal/postseal/config"
)

// The edges of the decision: exact limits, the header stage, and the
// scanner's part in what a trigger sealed. Each expectation follows from
// the rules in docs/ARCHITECTURE.md ("The decision").

func subjectHeader(subject string) Header {
	return Header{{Name: "From", Value: " doc@example.org"}, {Name: "To", Value: " pat@ext.example"}, {Name: "Subject", Value: " " + subject}}
}

// A message with exactly the allowed number of header fields is refused;
// one field fewer is decided on its header.
func TestTooManyHeadersBoundary(t *testing.T) {
	cfg := config.Default()
	h := subjectHeader("Lab results")
	f := Facts{Stage: AtEnd, Sender: "doc@example.org", Rcpts: []string{"pat@ext.example"}, Header: h, Size: 100, BodyKept: true, MaxHeaders: len(h)}
	if d := Decide(cfg, f); d.Action != Reject || d.Reason != ReasonTooManyHeaders || d.Code != 552 || d.Groups != nil {
		t.Errorf("%d fields with a cap of %d: %+v; want a 552 refusal without copies", len(h), len(h), d)
	}
	f.MaxHeaders = len(h) + 1
	if d := Decide(cfg, f); d.Action != Pass || d.Reason != ReasonNoTrigger {
		t.Errorf("%d fields with a cap of %d: %+v; want a pass", len(h), len(h)+1, d)
	}
}

// At the end of the header: a header over the secure limit is refused only
// when a trigger fired; untriggered mail nobody scans passes at once; the
// body kept is the secure limit, or the scanner's size when it will read it.
func TestHeaderStage(t *testing.T) {
	cfg := config.Default()
	limit := int64(cfg.Milter.MaxSecureSize)
	at := func(subject string, size int64) Decision {
		return Decide(cfg, Facts{Stage: AtHeader, Sender: "doc@example.org", Rcpts: []string{"pat@ext.example"}, Header: subjectHeader(subject), Size: size})
	}
	if d := at("Lab results", limit+1); d.Action != Pass || d.Reason != ReasonNoTrigger {
		t.Errorf("untriggered, scanner off, large header: %s (%s); want pass", d.Action, d.Why)
	}
	if d := at("++ Lab results", limit+1); d.Action != Reject || d.Reason != ReasonTooLarge || !strings.Contains(d.Text, "too large to be sent securely") {
		t.Errorf("triggered, header one byte over the limit: %+v; want a refusal", d)
	}
	d := at("++ Lab results", limit)
	if d.Action != NeedBody || d.KeepBody != limit {
		t.Errorf("triggered (no scan), header at the limit: %s keep %d; want need-body keep %d", d.Action, d.KeepBody, limit)
	}
	// "*secure*" has scan = true: the body is kept up to the scanner's size.
	if d := at("*secure* Lab results", 100); d.Action != NeedBody || d.KeepBody != int64(cfg.Scanner.MaxSize) {
		t.Errorf("scan trigger: %s keep %d; want need-body keep %d", d.Action, d.KeepBody, cfg.Scanner.MaxSize)
	}
	cfg.Scanner.Enabled = true
	if d := at("Lab results", 100); d.Action != NeedBody || d.KeepBody != int64(cfg.Scanner.MaxSize) || d.Reason != ReasonBodyNeeded {
		t.Errorf("left to the scanner: %s keep %d; want need-body keep %d", d.Action, d.KeepBody, cfg.Scanner.MaxSize)
	}
	// A scanner size below the secure limit still keeps the whole secure limit.
	cfg.Scanner.MaxSize = config.Size(limit / 10)
	if d := at("Lab results", 100); d.Action != NeedBody || d.KeepBody != limit {
		t.Errorf("scanner max_size below the secure limit: keep %d; want %d", d.KeepBody, limit)
	}
}

// A trigger with scan = true seals whatever the scanner says; the scanner's
// marker and notice are added only when it found something, and never to a
// neutral subject.
func TestScanTriggerFindings(t *testing.T) {
	cfg := config.Default()
	cfg.Scanner.Marker = "[SCANNED]"
	facts := func(rep ScanReport) Facts {
		return Facts{Stage: AtEnd, Sender: "doc@example.org", Rcpts: []string{"pat@ext.example"}, Header: subjectHeader("*secure* Lab results"),
			Size: 100, BodyKept: true, Scan: func() ScanReport { return rep }}
	}
	d := Decide(cfg, facts(MatrixScan("none")))
	if d.Action != Seal || d.Notify || d.Groups[0].Subject != "Lab results [-Encrypted-]" || d.Reason != ReasonTrigger {
		t.Errorf("nothing found: %s notify=%v subject %q; want sealed by the trigger, no notice, no scanner marker", d.Action, d.Notify, d.Groups[0].Subject)
	}
	d = Decide(cfg, facts(MatrixScan("findings")))
	if d.Action != Seal || !d.Notify || d.Groups[0].Subject != "Lab results [-Encrypted-] [SCANNED]" {
		t.Errorf("findings: %s notify=%v subject %q; want the scanner's marker and notice", d.Action, d.Notify, d.Groups[0].Subject)
	}
	// A scan cut short does not stop what the trigger seals.
	d = Decide(cfg, facts(ScanReport{Interrupted: true}))
	if d.Action != Seal || d.Trigger != "secure-tag" {
		t.Errorf("interrupted scan under a trigger: %s (%s); want sealed", d.Action, d.Why)
	}
	neutral := config.OuterNeutral
	cfg.Triggers[0].OuterSubject = &neutral
	d = Decide(cfg, facts(MatrixScan("findings")))
	if want := "[-Encrypted-] Secure message from Example Health"; d.Action != Seal || d.Groups[0].Subject != want {
		t.Errorf("neutral subject with findings: %q; want %q unchanged", d.Groups[0].Subject, want)
	}
}

// What a passed message says about the scanner, by mode and result.
func TestScannerPassReasons(t *testing.T) {
	cfg := config.Default()
	cfg.Scanner.Enabled = true
	decide := func(rep ScanReport) Decision {
		return Decide(cfg, Facts{Stage: AtEnd, Sender: "doc@example.org", Rcpts: []string{"pat@ext.example"}, Header: subjectHeader("Lab results"),
			Size: 100, BodyKept: true, Scan: func() ScanReport { return rep }})
	}
	if d := decide(MatrixScan("none")); d.Action != Pass || d.Reason != ReasonScannerClean || d.Why != "the scanner found nothing" || d.Report {
		t.Errorf("clean: %+v", d)
	}
	cfg.Scanner.Unreadable = config.UnreadableIgnore
	if d := decide(MatrixScan("unreadable")); d.Action != Pass || d.Reason != ReasonScannerClean || !strings.HasSuffix(d.Why, `it could read (unreadable = "ignore")`) {
		t.Errorf("unreadable, ignored: %+v", d)
	}
	cfg.Scanner.Mode = config.ScanReport
	d := decide(MatrixScan("findings"))
	if d.Action != Pass || !d.Report || d.Reason != ReasonScannerReport || !strings.Contains(d.Why, "a Social Security number") {
		t.Errorf("report mode, findings: %+v", d)
	}
	if d.Scan == nil || len(d.Scan.Findings) != 1 {
		t.Errorf("report mode keeps the scan report: %+v", d.Scan)
	}
}

// A header-field trigger whose field is absent still seals a reply whose
// subject starts with its marker.
func TestHeaderTriggerMarkerAtStart(t *testing.T) {
	cfg := config.Default()
	cfg.Triggers = []config.Trigger{{Name: "button", Header: "X-Secure", Match: "yes", Position: config.PositionAnywhere, Marker: "[-Encrypted-]", MarkerPosition: config.MarkerAppend}}
	d := Decide(cfg, Facts{Stage: AtEnd, Sender: "doc@example.org", Rcpts: []string{"pat@ext.example"}, Header: subjectHeader("[-Encrypted-] Re: Lab results"), Size: 100, BodyKept: true})
	if d.Action != Seal || d.Trigger != "button" || d.Match != MatchMarker || d.Subject != "[-Encrypted-] Re: Lab results" {
		t.Errorf("marker first in the subject: %s trigger %q match %q subject %q; want sealed by its marker", d.Action, d.Trigger, d.Match, d.Subject)
	}
	if !slices.Equal(d.RemoveFields, []string{"X-Secure"}) {
		t.Errorf("remove fields %v", d.RemoveFields)
	}
}

// Copies come clear first, then the key service, then partners, whatever
// the order of the recipients.
func TestGroupOrder(t *testing.T) {
	cfg := config.Default()
	cfg.Domains = []config.Domain{{Name: "partner.example", PasswordFile: "unused"}}
	d := Decide(cfg, Facts{Stage: AtEnd, Sender: "doc@example.org", Rcpts: []string{"c@partner.example", "pat@ext.example", "nurse@example.org"},
		Header: subjectHeader("++ Lab results"), Size: 100, BodyKept: true})
	var got []Treatment
	for _, g := range d.Groups {
		got = append(got, g.Treatment)
	}
	if want := []Treatment{Clear, KeyService, SharedPassword}; !slices.Equal(got, want) {
		t.Errorf("groups %v; want %v", got, want)
	}
	if d.Trigger != "plus-prefix" || d.Subject != "[SECURE MESSAGE] Lab results" {
		t.Errorf("decision trigger %q subject %q", d.Trigger, d.Subject)
	}
}

// Every Subject field is looked at; one that does not decode is also
// looked at as received.
func TestSubjects(t *testing.T) {
	h := Header{{Name: "Subject", Value: " =?utf-8?q?Lab_r=C3=A9sults?="}, {Name: "subject", Value: " =?x-unknown?q?abc?= *secure*"}}
	got := h.Subjects()
	if len(got) != 3 || got[0] != "Lab résults" || got[2] != "=?x-unknown?q?abc?= *secure*" {
		t.Errorf("Subjects = %q; want the decoded first, then the second decoded and as received", got)
	}
	if got := (Header{{Name: "Subject", Value: " plain"}}).Subjects(); !slices.Equal(got, []string{"plain"}) {
		t.Errorf("one decodable subject: %q", got)
	}
	if got := h.Subject(); got != "Lab résults" {
		t.Errorf("Subject = %q", got)
	}
	if got := (Header{}).Subject(); got != "" {
		t.Errorf("no Subject: %q", got)
	}
}
