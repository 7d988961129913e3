package policy

import (
	"fmt"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/postseal/postseal/config"
	"github.com/postseal/postseal/policy/policytest"
	"github.com/postseal/postseal/scanner"
)

// The decision over the whole matrix: trigger kind × recipients × scanner
// mode × scan result × size × mixed_recipients. The expected outcome of
// each row comes from want below, written from the rules as documented
// (who is internal, which trigger applies to whom, what the scanner does
// in each mode), not from the code under test.

// MatrixConfig is the configuration of the matrix: its triggers (the
// subject tag and one of each other kind) and a partner domain.
func MatrixConfig() *config.Config {
	cfg := config.Default()
	cfg.Triggers = policytest.Triggers()
	cfg.Domains = []config.Domain{{Name: policytest.PartnerDomain, PasswordFile: "unused"}}
	return cfg
}

// MatrixMessage is the message of a row: envelope sender, recipients, header.
func MatrixMessage(kind, rcpts string) (string, []string, Header) {
	m := policytest.MessageOf(kind, rcpts)
	h := Header{{Name: "From", Value: " Dr Who <doc@example.org>"}, {Name: "To", Value: " pat@ext.example"}}
	for _, f := range m.Extra {
		h = append(h, Field{Name: f[0], Value: " " + f[1]})
	}
	h = append(h, Field{Name: "Subject", Value: " " + m.Subject})
	return m.Sender, m.To, h
}

// MatrixScan is the scanner's answer of a row.
func MatrixScan(result string) ScanReport {
	switch result {
	case "findings":
		return ScanReport{Findings: []scanner.Finding{{Detector: "us_ssn", Masked: "***-**-1120"}}}
	case "unreadable":
		return ScanReport{Findings: []scanner.Finding{}, Unreadable: []scanner.Unreadable{{Source: "attachment x.bin", Reason: "unknown binary"}}}
	}
	return ScanReport{Findings: []scanner.Finding{}}
}

func rowConfig(r policytest.Row) *config.Config {
	cfg := MatrixConfig()
	cfg.Scanner.Enabled = r.Scan != "off"
	if r.Scan == "report" {
		cfg.Scanner.Mode = config.ScanReport
	}
	if r.EncryptAll {
		cfg.Milter.MixedRecipients = config.MixedEncryptAll
	}
	return cfg
}

// expected is the outcome of a row by the documented rules.
type expected struct {
	action  Action
	sealed  map[string]Treatment // recipient → treatment; absent = clear
	subject string
	text    string // a piece of the refusal
}

func want(r policytest.Row, rcpts []string) expected {
	internal := func(a string) bool { return strings.HasSuffix(a, "@example.org") }
	triggered := func(a string) bool {
		switch r.Kind {
		case "tag", "header", "sender", "marker":
			return true
		case "recipient":
			return strings.HasSuffix(a, "@reflab.example")
		}
		return false
	}
	scannerSeals := r.Scan == "encrypt" && r.Result != "none"
	e := expected{action: Pass, sealed: map[string]Treatment{}, subject: "Lab results [-Encrypted-]"}
	if r.Kind == "marker" {
		e.subject = "Re: Lab results [-Encrypted-]"
	}
	byTrigger, byScanner := false, false
	for _, a := range rcpts {
		if internal(a) {
			continue
		}
		switch {
		case triggered(a):
			byTrigger = true
		case scannerSeals:
			byScanner = true
		default:
			continue
		}
		e.sealed[a] = KeyService
		if strings.HasSuffix(a, "@partner.example") {
			e.sealed[a] = SharedPassword
		}
	}
	if len(e.sealed) == 0 {
		return e
	}
	switch {
	case r.Over && byTrigger:
		return expected{action: Reject, text: "too large to be sent securely"}
	case r.Over && byScanner:
		return expected{action: Reject, text: "too large to encrypt"}
	}
	e.action = Seal
	if r.EncryptAll {
		for _, a := range rcpts {
			if internal(a) {
				e.sealed[a] = KeyService
			}
		}
	}
	return e
}

func TestDecisionMatrix(t *testing.T) {
	rows := policytest.Rows()
	if len(rows) != 864 {
		t.Fatalf("%d rows", len(rows))
	}
	for _, r := range rows {
		cfg := rowConfig(r)
		sender, rcpts, h := MatrixMessage(r.Kind, r.Rcpts)
		size := int64(4000)
		if r.Over {
			size = int64(cfg.Milter.MaxSecureSize) + 1
		}
		scans := 0
		rep := MatrixScan(r.Result)
		f := Facts{Stage: AtEnd, Sender: sender, Rcpts: rcpts, Header: h, Size: size, BodyKept: true,
			Scan: func() ScanReport { scans++; return rep }}
		d := Decide(cfg, f)
		w := want(r, rcpts)
		if scans > 1 {
			t.Errorf("%v: the scanner ran %d times", r, scans)
		}
		if d.Action != w.action {
			t.Errorf("%v: action %s (%s), want %s", r, d.Action, d.Why, w.action)
			continue
		}
		switch d.Action {
		case Reject:
			if d.Code != 552 || !strings.Contains(d.Text, w.text) {
				t.Errorf("%v: refusal %d %q, want 552 with %q", r, d.Code, d.Text, w.text)
			}
			continue
		case Pass:
			if len(d.Groups) != 1 || d.Groups[0].Sealed() || !slices.Equal(d.Groups[0].Recipients, rcpts) {
				t.Errorf("%v: a passed message must be one clear copy to every recipient: %+v", r, d.Groups)
			}
		}
		got := map[string]Treatment{}
		var all []string
		for _, g := range d.Groups {
			for _, a := range g.Recipients {
				all = append(all, a)
				if g.Sealed() {
					got[a] = g.Treatment
					if g.Subject != w.subject {
						t.Errorf("%v: copy for %s has subject %q, want %q", r, a, g.Subject, w.subject)
					}
					if g.Options == nil {
						t.Errorf("%v: a sealed copy without options", r)
					}
				}
			}
		}
		sort.Strings(all)
		sorted := slices.Sorted(slices.Values(rcpts))
		if !slices.Equal(all, sorted) {
			t.Errorf("%v: every recipient exactly once: got %v, want %v", r, all, sorted)
		}
		if fmt.Sprint(got) != fmt.Sprint(w.sealed) {
			t.Errorf("%v: sealed %v, want %v", r, got, w.sealed)
		}
		if d.Action == Seal && d.Subject != w.subject {
			t.Errorf("%v: decision subject %q, want %q", r, d.Subject, w.subject)
		}
		if r.Kind == "header" && d.Action == Seal && !slices.Contains(d.RemoveFields, "X-Secure") {
			t.Errorf("%v: the header trigger's field must be removed from sealed copies", r)
		}

		// The end of the header agrees: it passes only what the end of the
		// message passes without a scan, and otherwise asks for the body.
		hf := f
		hf.Stage, hf.Size, hf.Scan = AtHeader, h.Size(), nil
		early := Decide(cfg, hf)
		needsScan := r.Scan != "off" && slices.ContainsFunc(rcpts, func(a string) bool {
			return !strings.HasSuffix(a, "@example.org") && w.sealed[a] == "" || (w.sealed[a] != "" && d.Trigger == ScanTrigger)
		})
		switch {
		case early.Action == Pass && (d.Action != Pass || needsScan):
			t.Errorf("%v: passed at the end of the header, but the end of the message says %s", r, d.Action)
		case early.Action == NeedBody && early.KeepBody < int64(cfg.Milter.MaxSecureSize):
			t.Errorf("%v: keeps %d bytes of the body, less than the secure limit", r, early.KeepBody)
		case early.Action != Pass && early.Action != NeedBody:
			t.Errorf("%v: %s at the end of a small header", r, early.Action)
		}
	}
}

// Per-trigger options reach the groups they seal, and the defaults the others.
func TestTriggerOptions(t *testing.T) {
	cfg := MatrixConfig()
	never, days := config.Never, config.Expiry(30*24*3600*1e9)
	off := false
	neutral := config.OuterNeutral
	reflab := &cfg.Triggers[slices.IndexFunc(cfg.Triggers, func(t config.Trigger) bool { return t.Name == "reflab" })]
	reflab.ExpireAfter, reflab.ReadReceipt, reflab.Reply, reflab.OuterSubject =
		&days, &off, &[]config.ReplyKind{config.ReplyToSender}, &neutral
	_, rcpts, h := MatrixMessage("recipient", "mixed")
	h = append(h, Field{Name: "X-Secure", Value: " no"})
	d := Decide(cfg, Facts{Stage: AtEnd, Sender: "doc@example.org", Rcpts: rcpts, Header: h, Size: 100, BodyKept: true})
	if d.Action != Seal || len(d.Groups) != 2 {
		t.Fatalf("%+v", d)
	}
	g := d.Groups[1]
	if g.Trigger != "reflab" || !slices.Equal(g.Recipients, []string{"lab@reflab.example"}) {
		t.Fatalf("sealed group %+v", g)
	}
	if o := g.Options; o.ExpireAfter != days || o.ReadReceipt || !slices.Equal(o.Reply, []config.ReplyKind{config.ReplyToSender}) || o.OuterSubject != config.OuterNeutral {
		t.Errorf("options %+v", *o)
	}
	if g.Subject != "[-Encrypted-] Secure message from Example Health" || strings.Contains(d.Subject, "Lab") {
		t.Errorf("neutral subject %q / %q", g.Subject, d.Subject)
	}
	if !slices.Contains(d.Groups[0].Recipients, "pat2@other.example") {
		t.Errorf("the external recipient the trigger does not name gets the original: %+v", d.Groups[0])
	}
	// The defaults: a subject tag, no overrides.
	_, rcpts, h = MatrixMessage("tag", "external")
	d = Decide(cfg, Facts{Stage: AtEnd, Sender: "doc@example.org", Rcpts: rcpts, Header: h, Size: 100, BodyKept: true, Scan: noFindings})
	if o := d.Groups[0].Options; o.ExpireAfter != never || !o.ReadReceipt || len(o.Reply) != 3 || o.OuterSubject != config.OuterKeep {
		t.Errorf("default options %+v", *o)
	}
}

// A scan cut short is no verdict: never a pass for mail left to the scanner.
func TestInterruptedScanTempFails(t *testing.T) {
	cfg := MatrixConfig()
	cfg.Scanner.Enabled = true
	cfg.Scanner.Unreadable = config.UnreadableIgnore
	_, rcpts, h := MatrixMessage("none", "external")
	d := Decide(cfg, Facts{Stage: AtEnd, Sender: "doc@example.org", Rcpts: rcpts, Header: h, Size: 100, BodyKept: true,
		Scan: func() ScanReport { return ScanReport{Interrupted: true} }})
	if d.Action != TempFail || d.Code != 451 {
		t.Errorf("interrupted scan: %+v", d)
	}
	// A body too large to keep is not scanned: unreadable decides.
	d = Decide(cfg, Facts{Stage: AtEnd, Sender: "doc@example.org", Rcpts: rcpts, Header: h, Size: 200e6, BodyKept: false,
		Scan: func() ScanReport { t.Fatal("scanned a body that was not kept"); return ScanReport{} }})
	if d.Action != Pass {
		t.Errorf("unkept body under unreadable = ignore: %+v", d)
	}
	cfg.Scanner.Unreadable = config.UnreadableEncrypt
	d = Decide(cfg, Facts{Stage: AtEnd, Sender: "doc@example.org", Rcpts: rcpts, Header: h, Size: 200e6, BodyKept: false})
	if d.Action != Reject || !strings.Contains(d.Text, "parts that could not be checked") {
		t.Errorf("unkept body under unreadable = encrypt: %+v", d)
	}
}

// Exactly at the limit is still sealed; one byte more is refused.
func TestSecureLimitBoundary(t *testing.T) {
	cfg := MatrixConfig()
	_, rcpts, h := MatrixMessage("header", "external")
	limit := int64(cfg.Milter.MaxSecureSize)
	if d := Decide(cfg, Facts{Stage: AtEnd, Sender: "doc@example.org", Rcpts: rcpts, Header: h, Size: limit, BodyKept: true}); d.Action != Seal {
		t.Errorf("at the limit: %s", d.Action)
	}
	if d := Decide(cfg, Facts{Stage: AtEnd, Sender: "doc@example.org", Rcpts: rcpts, Header: h, Size: limit + 1, BodyKept: true}); d.Action != Reject {
		t.Errorf("one byte over: %s", d.Action)
	}
	// The same for mail the scanner seals.
	cfg.Scanner.Enabled = true
	_, rcpts, h = MatrixMessage("none", "external")
	findings := func() ScanReport { return MatrixScan("findings") }
	if d := Decide(cfg, Facts{Stage: AtEnd, Sender: "doc@example.org", Rcpts: rcpts, Header: h, Size: limit, BodyKept: true, Scan: findings}); d.Action != Seal {
		t.Errorf("scanner, at the limit: %s", d.Action)
	}
	if d := Decide(cfg, Facts{Stage: AtEnd, Sender: "doc@example.org", Rcpts: rcpts, Header: h, Size: limit + 1, BodyKept: true, Scan: findings}); d.Action != Reject {
		t.Errorf("scanner, one byte over: %s", d.Action)
	}
}
