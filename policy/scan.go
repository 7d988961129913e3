package policy

import (
	"context"
	"fmt"
	"io"
	"slices"
	"strings"
	"unicode"

	"github.com/postseal/postseal/scanner"
)

// ScanReport is what the content scanner found in one message. It holds
// masked findings only, never the values, so it is safe to log, print and
// mail back to the sender.
type ScanReport struct {
	Findings   []scanner.Finding    `json:"findings"`
	Unreadable []scanner.Unreadable `json:"unreadable,omitempty"`
	// Truncated: a limit (size, archive depth, deadline) stopped extraction.
	Truncated bool `json:"truncated,omitempty"`
	// Interrupted: the scan did not finish for a reason that is not the
	// message's (the deadline under load, the buffered body unreadable).
	// It is never taken as "nothing found": see Filter.Process.
	Interrupted bool `json:"interrupted,omitempty"`
}

// RuleCount is how often one detector or admin rule fired.
type RuleCount struct {
	Rule    string   `json:"rule"`
	Count   int      `json:"count"`
	Samples []string `json:"samples"` // masked, at most three
}

// Counts groups the findings by rule, in rule-name order.
func (r *ScanReport) Counts() []RuleCount {
	by := map[string]*RuleCount{}
	for _, f := range r.Findings {
		c := by[f.Detector]
		if c == nil {
			c = &RuleCount{Rule: f.Detector}
			by[f.Detector] = c
		}
		c.Count++
		if len(c.Samples) < 3 {
			c.Samples = append(c.Samples, f.Masked)
		}
	}
	out := make([]RuleCount, 0, len(by))
	for _, c := range by {
		out = append(out, *c)
	}
	slices.SortFunc(out, func(a, b RuleCount) int { return strings.Compare(a.Rule, b.Rule) })
	return out
}

// unreadable reports whether some of the message could not be checked.
func (r *ScanReport) unreadable() bool { return len(r.Unreadable) > 0 || r.Truncated }

// Scan extracts the text of a whole message and runs the configured
// detectors and rules over it. It does not fail: what cannot be read —
// including an unparseable message or the deadline — is reported as
// unreadable, and the policy's `unreadable` setting decides.
func (p *Policy) Scan(ctx context.Context, msg io.Reader) ScanReport {
	src := &readErr{r: msg}
	x, err := scanner.Extract(ctx, src, p.limits)
	if err != nil {
		return ScanReport{Findings: []scanner.Finding{}, Unreadable: []scanner.Unreadable{{Source: "message", Reason: "unparseable message header"}}, Interrupted: src.err != nil}
	}
	findings := scanner.Scan(x.Text(), p.scan)
	if findings == nil {
		findings = []scanner.Finding{}
	}
	return ScanReport{Findings: findings, Unreadable: plainUnreadable(x.Unreadable), Truncated: x.Truncated, Interrupted: x.Interrupted || src.err != nil}
}

// plainUnreadable keeps what is safe to print of the unreadable parts: a
// parser's error text can quote the offending line (an SSN in a broken
// header) and a file name can be anything, so a reason is cut to its
// leading phrase ("malformed multipart", "corrupt pdf") and the digits of
// a source are masked.
func plainUnreadable(us []scanner.Unreadable) []scanner.Unreadable {
	out := make([]scanner.Unreadable, len(us))
	for i, u := range us {
		reason, _, _ := strings.Cut(u.Reason, ":")
		out[i] = scanner.Unreadable{Source: maskDigits(u.Source), Reason: strings.TrimSpace(reason)}
	}
	return out
}

func maskDigits(s string) string {
	return strings.Map(func(r rune) rune {
		if unicode.IsDigit(r) {
			return '*'
		}
		return r
	}, s)
}

// readErr remembers a read error of the message source: the extractor
// reports a failed read as a corrupt part, but a spool that cannot be read
// back says nothing about the message.
type readErr struct {
	r   io.Reader
	err error
}

func (e *readErr) Read(b []byte) (int, error) {
	n, err := e.r.Read(b)
	if err != nil && err != io.EOF && e.err == nil {
		e.err = err
	}
	return n, err
}

// Size is the message's length when its reader tells it (0 when not), for
// the scanner to read a one-part body into one buffer of that size.
func (e *readErr) Size() int64 {
	if s, ok := e.r.(interface{ Size() int64 }); ok {
		return s.Size()
	}
	return 0
}

// notScanned is the report for a message too large to be kept for scanning.
func notScanned(size, limit int64) ScanReport {
	return ScanReport{
		Findings:   []scanner.Finding{},
		Unreadable: []scanner.Unreadable{{Source: "message", Reason: fmt.Sprintf("not scanned: %s is over the secure limit of %s", humanSize(size), humanSize(limit))}},
	}
}

// describeFindings says in words what made the scanner seal a message,
// for the refusal and the log: "a Social Security number", "parts that
// could not be checked".
func describeFindings(rep ScanReport) string {
	var parts []string
	for _, c := range rep.Counts() {
		parts = append(parts, findingTitle(c.Rule, c.Count))
	}
	if len(parts) == 0 && rep.unreadable() {
		return "parts that could not be checked"
	}
	return strings.Join(parts, ", ")
}

// findingTitle names a detector for people with its count: "a Social
// Security number", "3 × payment card number"; admin rules keep their name.
func findingTitle(rule string, n int) string {
	t := scanner.Title(rule)
	if t == rule {
		return fmt.Sprintf("matches of rule %q", rule)
	}
	if n > 1 {
		return fmt.Sprintf("%d × %s", n, t)
	}
	article := "a"
	if strings.ContainsRune("AEIOU", rune(t[0])) {
		article = "an"
	}
	return article + " " + t
}
