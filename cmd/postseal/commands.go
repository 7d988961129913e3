package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/user"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/BurntSushi/toml"
	"github.com/postseal/postseal/envelope"
	"github.com/postseal/postseal/policy"
	"github.com/postseal/postseal/scanner"
	"github.com/postseal/postseal/store"
)

func cmdCheckConfig(_ context.Context, args []string, _ io.Reader, stdout, stderr io.Writer) error {
	fs, cfgPath := newFlags("check-config", stderr)
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	p, err := loadPolicy(*cfgPath)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "# postseal effective configuration (from %s)\n", configName(p.Config))
	return toml.NewEncoder(stdout).Encode(p.Config)
}

// messageArgs are the options of explain and seal.
type messageArgs struct {
	cfgPath string
	from    string
	to      listFlag
	rest    []string
}

func parseMessageArgs(name string, args []string, stderr io.Writer) (*messageArgs, error) {
	fs, cfgPath := newFlags(name, stderr)
	m := &messageArgs{}
	fs.StringVar(&m.from, "from", "", "envelope sender")
	fs.Var(&m.to, "to", "envelope recipient(s), repeatable or comma-separated")
	if err := parseFlags(fs, args); err != nil {
		return nil, err
	}
	if len(m.to) == 0 {
		return nil, usagef("--to is required")
	}
	m.cfgPath, m.rest = *cfgPath, fs.Args()
	return m, nil
}

// messageFacts reads a whole message and states its facts for the
// decision, as the milter would at the end of the message.
func messageFacts(ctx context.Context, p *policy.Policy, m *messageArgs, r io.Reader) ([]byte, policy.Facts, error) {
	data, err := io.ReadAll(r)
	if err != nil {
		return nil, policy.Facts{}, err
	}
	h, err := policy.ParseHeader(data)
	if err != nil {
		return nil, policy.Facts{}, err
	}
	f := policy.Facts{Stage: policy.AtEnd, Sender: m.from, Rcpts: m.to, Header: h, Size: int64(len(data)), BodyKept: true}
	f.Scan = func() policy.ScanReport { return p.Scan(ctx, bytes.NewReader(data)) }
	return data, f, nil
}

func cmdExplain(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) error {
	m, err := parseMessageArgs("explain", args, stderr)
	if err != nil {
		return err
	}
	if len(m.rest) != 1 {
		return usagef("explain needs exactly one MESSAGE.eml (use - for standard input)")
	}
	p, err := loadPolicy(m.cfgPath)
	if err != nil {
		return err
	}
	in := stdin
	if m.rest[0] != "-" {
		f, err := os.Open(m.rest[0])
		if err != nil {
			return err
		}
		defer f.Close()
		in = f
	}
	data, facts, err := messageFacts(ctx, p, m, in)
	if err != nil {
		return fmt.Errorf("%s: %w", m.rest[0], err)
	}
	d := policy.Decide(p.Config, facts)
	// The scanner's findings are printed for every message, even when the
	// decision did not need them (or the scanner is off), so admins can
	// tune rules first; the decision itself is the milter's, unchanged.
	report := d.Scan
	if report == nil {
		r := facts.Scan()
		report = &r
	}
	d.Scan = nil // printed once, below
	out := struct {
		From string   `json:"from"`
		To   []string `json:"to"`
		Size int      `json:"size"`
		policy.Decision
		ScannerEnabled bool                 `json:"scanner_enabled"`
		Findings       []scanner.Finding    `json:"findings"`
		Unreadable     []scanner.Unreadable `json:"unreadable"`
	}{m.from, m.to, len(data), d, p.Config.Scanner.Enabled, report.Findings, report.Unreadable}
	if out.Findings == nil {
		out.Findings = []scanner.Finding{}
	}
	if out.Unreadable == nil {
		out.Unreadable = []scanner.Unreadable{}
	}
	enc := json.NewEncoder(stdout)
	enc.SetIndent("", "  ")
	return enc.Encode(out)
}

func cmdSeal(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) error {
	m, err := parseMessageArgs("seal", args, stderr)
	if err != nil {
		return err
	}
	if len(m.rest) != 0 {
		return usagef("seal reads the message from standard input")
	}
	p, err := loadPolicy(m.cfgPath)
	if err != nil {
		return err
	}
	data, facts, err := messageFacts(ctx, p, m, stdin)
	if err != nil {
		return fmt.Errorf("standard input: %w", err)
	}
	d := policy.Decide(p.Config, facts)
	switch d.Action {
	case policy.Pass:
		fmt.Fprintf(stderr, "postseal seal: not sealed: %s; the message is written unchanged\n", d.Why)
		_, err := stdout.Write(data)
		return err
	case policy.Seal:
	default:
		return fmt.Errorf("%s (%d %s)", d.Why, d.Code, d.Text)
	}
	st, err := openStore(ctx, p.Config, true)
	if err != nil {
		return err
	}
	defer st.Close()
	msg := policy.Message{
		Sender: m.from, Display: facts.Header.Display(), MessageID: facts.Header.Get("Message-ID"),
		Original: func() (io.Reader, error) { return bytes.NewReader(data), nil },
	}
	copies, err := p.Seal(ctx, d, msg, st, time.Now())
	if err != nil {
		return err
	}
	for _, c := range copies {
		if c.Sealed == nil {
			fmt.Fprintf(stderr, "postseal seal: %s get the original; not written\n", strings.Join(c.Group.Recipients, ", "))
			continue
		}
		fmt.Fprintf(stderr, "postseal seal: envelope %s for %s\n", c.EnvelopeID, strings.Join(c.Group.Recipients, ", "))
	}
	for _, c := range copies {
		if c.Sealed != nil {
			// One message on standard output: the first sealed copy. Other
			// sealed copies (partner domains) are recorded but not written.
			return envelope.WriteMessage(stdout, bytes.NewReader(data), c.Group.Subject, c.Sealed, d.RemoveFields...)
		}
	}
	return nil
}

func cmdEnvelope(ctx context.Context, args []string, _ io.Reader, stdout, stderr io.Writer) error {
	fs, cfgPath := newFlags("envelope", stderr)
	limit := fs.Int("n", 50, "list: how many envelopes (newest first)")
	// Options may stand before or after the subcommand:
	// "envelope -c FILE show ID" and "envelope show -c FILE ID".
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	sub, err := subcommand(fs, "envelope", "ID", "envelope ID", "list", "show", "lock", "unlock", "expire", "key")
	if err != nil {
		return err
	}
	cfg, err := loadConfig(*cfgPath)
	if err != nil {
		return err
	}
	st, err := openStore(ctx, cfg, false)
	if err != nil {
		return err
	}
	defer st.Close()
	switch sub {
	case "list":
		envs, err := st.Envelopes(ctx, *limit)
		if err != nil {
			return err
		}
		now := time.Now()
		tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "ID\tCREATED\tEXPIRES\tSTATE\tKIND\tSENDER\tRECIPIENTS")
		for _, e := range envs {
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\n", e.ID, e.Created.Format(time.RFC3339), expiresText(e.Expires), envelopeState(e, now), e.Kind, cell(e.Sender), cell(strings.Join(e.Recipients, ",")))
		}
		return tw.Flush()
	case "lock", "unlock", "expire":
		return changeEnvelope(ctx, st, sub, fs.Arg(0), stdout)
	case "show":
		e, err := st.Envelope(ctx, fs.Arg(0))
		if err != nil {
			return err
		}
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(e)
	default:
		key, err := st.EnvelopeKey(ctx, fs.Arg(0))
		if errors.Is(err, store.ErrNotFound) {
			return err
		}
		if err != nil {
			return err
		}
		// The disclosure is logged where admins' actions are logged, and
		// recorded in the audit trail.
		newLogger(stderr).Warn("message key disclosed", "envelope_id", fs.Arg(0), "by_uid", os.Getuid())
		if err := st.AddEvent(ctx, store.Event{Kind: store.EventKeyDisclosed, EnvelopeID: fs.Arg(0), Actor: adminActor(), Auth: adminAuth, Detail: "postseal envelope key"}); err != nil {
			return fmt.Errorf("record the disclosure (the key was not printed): %w", err)
		}
		fmt.Fprintln(stdout, envelope.Passphrase(key))
		return nil
	}
}

func expiresText(t time.Time) string {
	if t.IsZero() {
		return "never"
	}
	return t.Format(time.RFC3339)
}

// envelopeState is what an admin needs at a glance: whether the key can
// still be released.
func envelopeState(e store.Envelope, now time.Time) string {
	switch {
	case !e.Expires.IsZero() && !e.Expires.After(now):
		return "expired"
	case e.Locked:
		return "locked"
	default:
		return "active"
	}
}

// changeEnvelope locks, unlocks or expires an envelope; the store records
// the change and who made it as one audit event. Expiry destroys the
// stored message key.
func changeEnvelope(ctx context.Context, st store.Store, sub, id string, stdout io.Writer) error {
	var done string
	var err error
	by := adminChange("postseal envelope " + sub)
	switch sub {
	case "lock":
		done = "locked: its key is not released until it is unlocked"
		err = st.SetLocked(ctx, id, true, by)
	case "unlock":
		done = "unlocked"
		err = st.SetLocked(ctx, id, false, by)
	default:
		done = "expired: its message key is destroyed"
		err = st.ExpireEnvelope(ctx, id, time.Now(), by)
	}
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "envelope %s %s\n", id, done)
	return nil
}

// adminActor names the administrator running the command, as the audit
// log records them: the operating-system account (whoever can run this
// command can read the database and the master key).
func adminActor() string {
	a := fmt.Sprintf("admin uid %d", os.Getuid())
	if u, err := user.Current(); err == nil && u.Username != "" {
		a += " (" + u.Username + ")"
	}
	return a
}

const adminAuth = "local administrator (access to the configuration and master key)"

func adminChange(command string) store.Change {
	return store.Change{Actor: adminActor(), Auth: adminAuth, Detail: command}
}

// subcommand reads "COMMAND SUB [ARG]" after the options, which may also
// follow SUB: "list" takes no argument, every other subcommand exactly one,
// shown as placeholder ("ID") in usage and named arg ("envelope ID") in
// errors.
func subcommand(fs *flag.FlagSet, command, placeholder, arg string, subs ...string) (string, error) {
	var want []string
	for _, s := range subs {
		if s != "list" {
			s += " " + placeholder
		}
		want = append(want, s)
	}
	if fs.NArg() == 0 {
		return "", usagef("%s needs a subcommand: %s", command, strings.Join(want, ", "))
	}
	sub := fs.Arg(0)
	if err := parseFlags(fs, fs.Args()[1:]); err != nil {
		return "", err
	}
	switch {
	case !slices.Contains(subs, sub):
		return "", usagef("unknown %s subcommand %q (%s)", command, sub, strings.Join(want, ", "))
	case sub == "list" && fs.NArg() != 0:
		return "", usagef("%s list takes no arguments", command)
	case sub != "list" && fs.NArg() != 1:
		return "", usagef("%s %s needs exactly one %s", command, sub, arg)
	}
	return sub, nil
}
