//go:build !race

// The race detector makes the partner rows' password S2K (65 MB of SHA-256
// per sealed copy, by design) take seconds each; this test has no
// concurrency of its own to check, so `make test` runs it in a second,
// race-free pass (see the Makefile).

package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/mail"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"

	"github.com/postseal/postseal/config"
	"github.com/postseal/postseal/envelope"
	"github.com/postseal/postseal/milter"
	"github.com/postseal/postseal/policy"
	"github.com/postseal/postseal/policy/policytest"
)

// `explain`, `seal` and the milter must agree on every row of the decision
// matrix (trigger kind × recipients × scanner mode × scan result × size ×
// mixed_recipients): the same action, the same sealed recipients, the same
// subject. Each row is a real message and a real rules file; the scanner
// reads the real body (an SSN, nothing, or an attachment it cannot read).

// agreeConfig is the rules file of a row: a small secure limit, so that
// "over" rows need no megabytes.
func agreeConfig(t *testing.T, dir string, r policytest.Row) string {
	writeFile(t, dir, "partner.pw", "correct-horse-battery-staple\n")
	mixed := "split"
	if r.EncryptAll {
		mixed = "encrypt-all"
	}
	mode := "encrypt"
	if r.Scan == "report" {
		mode = "report"
	}
	return fmt.Sprintf(`[milter]
max_secure_size = "3000"
mixed_recipients = %q
[scanner]
enabled = %v
mode = %q
[store]
dsn = "p.db"
master_key = "master.key"
[[domain]]
name = %q
password_file = "partner.pw"
`+policytest.TriggersTOML, mixed, r.Scan != "off", mode, policytest.PartnerDomain)
}

func agreeMessage(r policytest.Row) (string, []string, []byte) {
	m := policytest.MessageOf(r.Kind, r.Rcpts)
	sender, to, subject := m.Sender, m.To, m.Subject
	extra := ""
	for _, f := range m.Extra {
		extra += f[0] + ": " + f[1] + "\r\n"
	}
	text := "Lunch at noon?\r\n"
	if r.Result == "findings" {
		text = "The patient's SSN: 536-22-1234 for the claim.\r\n"
	}
	if r.Over {
		text += strings.Repeat("Nothing to see on this line, just length.\r\n", 80)
	}
	var b strings.Builder
	fmt.Fprintf(&b, "From: Dr Who <%s>\r\nTo: %s\r\nSubject: %s\r\nMessage-ID: <row@example.org>\r\n%sMIME-Version: 1.0\r\n", sender, strings.Join(to, ", "), subject, extra)
	if r.Result == "unreadable" {
		b.WriteString("Content-Type: multipart/mixed; boundary=\"b1\"\r\n\r\n--b1\r\nContent-Type: text/plain\r\n\r\n" + text +
			"--b1\r\nContent-Type: application/octet-stream\r\nContent-Disposition: attachment; filename=\"data.gz\"\r\nContent-Transfer-Encoding: base64\r\n\r\nH4sIAAAAAAAAA8tIzcnJBwCGphA2BQAAAA==\r\n--b1--\r\n")
	} else {
		b.WriteString("Content-Type: text/plain; charset=utf-8\r\n\r\n" + text)
	}
	return sender, to, []byte(b.String())
}

// agreed is the part of an outcome all three must share.
type agreed struct {
	action  string
	sealed  []string // sealed recipients, sorted
	subject string   // subject of the first sealed copy
}

func TestExplainSealAndMilterAgree(t *testing.T) {
	rows := policytest.Rows()
	if len(rows) != 864 {
		t.Fatalf("%d rows", len(rows))
	}
	// Rows run in parallel by configuration; each has its own store.
	byCfg := map[string][]policytest.Row{}
	for _, r := range rows {
		k := fmt.Sprint(r.Scan, r.EncryptAll)
		byCfg[k] = append(byCfg[k], r)
	}
	for k, rs := range byCfg {
		t.Run(k, func(t *testing.T) {
			t.Parallel()
			dir := t.TempDir()
			cfgPath := writeFile(t, dir, "postseal.toml", agreeConfig(t, dir, rs[0]))
			cfg, err := config.Load(cfgPath)
			if err != nil {
				t.Fatal(err)
			}
			p, err := policy.Load(cfg)
			if err != nil {
				t.Fatal(err)
			}
			st, err := openStore(context.Background(), cfg, true)
			if err != nil {
				t.Fatal(err)
			}
			defer st.Close()
			reinject := &capture{}
			f := milter.New(p, st, reinject, slog.New(slog.NewTextHandler(io.Discard, nil)), milter.Config{SpoolDir: t.TempDir()})
			for _, r := range rs {
				sender, rcpts, msg := agreeMessage(r)
				fromMilter := milterOutcome(t, f, p, sender, rcpts, msg, reinject)
				fromExplain := explainOutcome(t, cfgPath, sender, rcpts, msg)
				fromSeal := sealOutcome(t, cfgPath, sender, rcpts, msg)
				if fmt.Sprint(fromMilter) != fmt.Sprint(fromExplain) || fmt.Sprint(fromMilter) != fmt.Sprint(fromSeal) {
					t.Errorf("%+v disagree:\n milter  %+v\n explain %+v\n seal    %+v", r, fromMilter, fromExplain, fromSeal)
				}
			}
		})
	}
}

func milterOutcome(t *testing.T, f *milter.Filter, p *policy.Policy, sender string, rcpts []string, msg []byte, reinject *capture) agreed {
	t.Helper()
	h, err := policy.ParseHeader(msg)
	if err != nil {
		t.Fatal(err)
	}
	_, body, _ := bytes.Cut(msg, []byte("\r\n\r\n"))
	trx := &milter.Transaction{QueueID: "Q1", Sender: sender, Rcpts: rcpts, Fields: h, Body: bytes.NewReader(body), BodySize: int64(len(body))}
	reinject.reset()
	out := f.Process(context.Background(), p, trx, true)
	switch {
	case out.Code >= 500:
		return agreed{action: "reject"}
	case out.Code != 0:
		return agreed{action: fmt.Sprintf("tempfail %d %s", out.Code, out.Text)}
	case out.Changes == nil:
		return agreed{action: "pass"}
	}
	// The copy kept in place is sealed when it has a new body; its
	// recipients are those not deleted. Re-injected copies are all sealed.
	var sealed []string
	subject := ""
	if out.Changes.Body != nil {
		for _, r := range rcpts {
			if !slices.Contains(out.Changes.DelRcpts, r) {
				sealed = append(sealed, r)
			}
		}
		subject = h.Subject()
		if out.Changes.Subject != nil {
			subject = decodeSubject(t, *out.Changes.Subject)
		}
	}
	for _, m := range reinject.sent() {
		sealed = append(sealed, m.to...)
		if subject == "" {
			subject = subjectOf(t, m.data)
		}
	}
	sort.Strings(sealed)
	return agreed{action: "seal", sealed: sealed, subject: subject}
}

func explainOutcome(t *testing.T, cfgPath, sender string, rcpts []string, msg []byte) agreed {
	t.Helper()
	code, out, errs := runCLI(t, string(msg), "explain", "-c", cfgPath, "--from", sender, "--to", strings.Join(rcpts, ","), "-")
	if code != exitOK {
		t.Fatalf("explain exited %d: %s", code, errs)
	}
	var d policy.Decision
	if err := json.Unmarshal([]byte(out), &d); err != nil {
		t.Fatalf("explain output: %v\n%s", err, out)
	}
	a := agreed{action: string(d.Action)}
	if d.Action != policy.Seal {
		return a
	}
	for _, g := range d.Groups {
		if g.Sealed() {
			a.sealed = append(a.sealed, g.Recipients...)
			if a.subject == "" {
				a.subject = g.Subject
			}
		}
	}
	sort.Strings(a.sealed)
	return a
}

func sealOutcome(t *testing.T, cfgPath, sender string, rcpts []string, msg []byte) agreed {
	t.Helper()
	code, out, errs := runCLI(t, string(msg), "seal", "-c", cfgPath, "--from", sender, "--to", strings.Join(rcpts, ","))
	switch {
	case code != exitOK && strings.Contains(errs, "552"):
		return agreed{action: "reject"}
	case code != exitOK:
		t.Fatalf("seal exited %d: %s", code, errs)
	case strings.Contains(errs, "not sealed"):
		if out != string(msg) {
			t.Errorf("seal changed a message it did not seal")
		}
		return agreed{action: "pass"}
	}
	// stderr names each envelope: "envelope ID for a, b".
	var sealed []string
	for _, line := range strings.Split(errs, "\n") {
		if _, list, ok := strings.Cut(line, " for "); ok && strings.Contains(line, "postseal seal: envelope ") {
			sealed = append(sealed, strings.Split(list, ", ")...)
		}
	}
	sort.Strings(sealed)
	return agreed{action: "seal", sealed: sealed, subject: subjectOf(t, []byte(out))}
}

func subjectOf(t *testing.T, msg []byte) string {
	t.Helper()
	m, err := mail.ReadMessage(bytes.NewReader(msg))
	if err != nil {
		t.Fatalf("sealed copy: %v", err)
	}
	return decodeSubject(t, m.Header.Get("Subject"))
}

func decodeSubject(t *testing.T, raw string) string {
	t.Helper()
	s, err := envelope.DecodeSubject(raw)
	if err != nil {
		t.Fatalf("subject %q: %v", raw, err)
	}
	return s
}

// capture records re-injected copies (the milter's SMTP re-injection; no
// MTA is needed to compare decisions — the e2e tests deliver for real).
type capture struct {
	mu   sync.Mutex
	msgs []captured
}

type captured struct {
	to   []string
	data []byte
}

func (c *capture) Send(_ context.Context, _ string, to []string, msg io.Reader) error {
	data, err := io.ReadAll(msg)
	c.mu.Lock()
	defer c.mu.Unlock()
	c.msgs = append(c.msgs, captured{slices.Clone(to), data})
	return err
}

func (c *capture) reset() { c.mu.Lock(); c.msgs = nil; c.mu.Unlock() }

func (c *capture) sent() []captured { c.mu.Lock(); defer c.mu.Unlock(); return slices.Clone(c.msgs) }
