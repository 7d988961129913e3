// Package policytest holds the decision matrix that several tests walk:
// policy's own table test (expected outcomes from the documented rules),
// the CLI's agreement test (explain, seal and the milter on real rules
// files) and the triggers e2e (a real Postfix). One enumeration and one
// rules text, so the tests cannot drift apart on what a row is.
//
// It imports config only, so policy's internal tests can use it.
package policytest

import (
	"fmt"

	"github.com/postseal/postseal/config"
)

// Row is one cell of the matrix.
type Row struct {
	Kind       string // trigger kind: none, tag, header, sender, recipient, marker
	Rcpts      string // internal, external, mixed, partner
	Scan       string // scanner: off, encrypt, report
	Result     string // scan result: findings, none, unreadable
	Over       bool   // over [milter] max_secure_size
	EncryptAll bool   // mixed_recipients = "encrypt-all" (else "split")
}

func (r Row) String() string {
	return fmt.Sprintf("%s/%s/scan-%s/%s/over=%v/encrypt-all=%v", r.Kind, r.Rcpts, r.Scan, r.Result, r.Over, r.EncryptAll)
}

// Kinds, RcptSets, ScanModes and ScanResults are the matrix's axes.
var (
	Kinds       = []string{"none", "tag", "header", "sender", "recipient", "marker"}
	RcptSets    = []string{"internal", "external", "mixed", "partner"}
	ScanModes   = []string{"off", "encrypt", "report"}
	ScanResults = []string{"findings", "none", "unreadable"}
)

// Rows is the whole matrix (864 rows).
func Rows() []Row {
	var rows []Row
	for _, kind := range Kinds {
		for _, rc := range RcptSets {
			for _, sc := range ScanModes {
				for _, res := range ScanResults {
					for _, over := range []bool{false, true} {
						for _, ea := range []bool{false, true} {
							rows = append(rows, Row{kind, rc, sc, res, over, ea})
						}
					}
				}
			}
		}
	}
	return rows
}

// TriggersTOML is the matrix's [[trigger]] tables, as an admin writes
// them: the subject tag and one trigger of each other kind.
const TriggersTOML = `
[[trigger]]
name = "secure-tag"
match = "*secure*"
marker = "[-Encrypted-]"
scan = true

[[trigger]]
name = "encrypt-button"
header = "X-Secure"
match = "yes"
marker = "[-Encrypted-]"

[[trigger]]
name = "oncology"
senders = ["*@oncology.example.org"]
marker = "[-Encrypted-]"

[[trigger]]
name = "reflab"
recipients = ["*@reflab.example"]
marker = "[-Encrypted-]"
`

// Triggers are TriggersTOML read by the config package.
func Triggers() []config.Trigger {
	cfg, err := config.Parse("policytest triggers", []byte(TriggersTOML))
	if err != nil {
		panic(err) // a constant that does not parse is a bug in this file
	}
	return cfg.Triggers
}

// PartnerDomain is the matrix's shared-password domain.
const PartnerDomain = "partner.example"

// Message is what a row's message carries besides its body.
type Message struct {
	Sender  string   // envelope sender
	To      []string // envelope recipients
	Subject string
	Extra   [][2]string // header fields besides From, To and Subject
}

// MessageOf is the message of a trigger kind sent to a recipient set.
func MessageOf(kind, rcpts string) Message {
	m := Message{Sender: "doc@example.org", Subject: "Lab results"}
	switch kind {
	case "tag":
		m.Subject = "*secure* Lab results"
	case "header":
		m.Extra = [][2]string{{"X-Secure", "yes"}}
	case "sender":
		m.Sender = "onc@oncology.example.org"
	case "marker":
		m.Subject = "Re: Lab results [-Encrypted-]"
	}
	ext := "pat@ext.example"
	if kind == "recipient" {
		ext = "lab@reflab.example"
	}
	switch rcpts {
	case "internal":
		m.To = []string{"nurse@example.org"}
	case "external":
		m.To = []string{ext}
	case "mixed":
		m.To = []string{"nurse@example.org", ext, "pat2@other.example"}
	case "partner":
		m.To = []string{"c@" + PartnerDomain, ext}
	}
	return m
}
