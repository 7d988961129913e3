package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/postseal/postseal/config"
	"github.com/postseal/postseal/store"
)

// errChainBroken makes audit verify exit 1 after it has named the event.
var errChainBroken = errors.New("the audit chain is broken")

// cmdAudit is `postseal audit list|export|verify`.
func cmdAudit(ctx context.Context, args []string, _ io.Reader, stdout, stderr io.Writer) error {
	fs, cfgPath := newFlags("audit", stderr)
	envelopeID := fs.String("envelope", "", "list: only events of this envelope")
	address := fs.String("address", "", "list: only events about this address")
	since := fs.String("since", "", "list, export: only events from this time on (2026-11-23, RFC 3339, or an age like 7d or 12h)")
	var logs listFlag
	fs.Var(&logs, "log", "verify: a service log to take checkpoints from (repeatable); a checkpoint past the chain's end means events were removed")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if fs.NArg() == 0 {
		return usagef("audit needs a subcommand: list, export, verify")
	}
	sub := fs.Arg(0)
	if err := parseFlags(fs, fs.Args()[1:]); err != nil {
		return err
	}
	if fs.NArg() != 0 {
		return usagef("audit %s takes options only, not %q", sub, fs.Arg(0))
	}
	var f store.EventFilter
	f.EnvelopeID, f.Email = *envelopeID, *address
	if *since != "" {
		t, err := parseSince(*since, time.Now())
		if err != nil {
			return usagef("--since: %v", err)
		}
		f.Since = t
	}
	switch sub {
	case "list", "export", "verify":
	default:
		return usagef("unknown audit subcommand %q (list, export, verify)", sub)
	}
	if sub != "list" && (f.EnvelopeID != "" || f.Email != "") {
		return usagef("audit %s: --envelope and --address are options of list", sub)
	}
	if sub != "verify" && len(logs) > 0 {
		return usagef("audit %s: --log is an option of verify", sub)
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
		return auditList(ctx, st, f, cfg, stdout)
	case "export":
		enc := json.NewEncoder(stdout)
		return st.AuditEvents(ctx, f, func(e store.Event) error { return enc.Encode(e) })
	default:
		return auditVerify(ctx, st, logs, stdout, stderr)
	}
}

func auditList(ctx context.Context, st store.Store, f store.EventFilter, cfg *config.Config, stdout io.Writer) error {
	loc := cfg.Organization.Location()
	tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "SEQ\tTIME ("+loc.String()+")\tKIND\tENVELOPE\tADDRESS\tCLIENT\tACTOR\tAUTH\tOUTCOME\tDETAIL")
	err := st.AuditEvents(ctx, f, func(e store.Event) error {
		_, err := fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", e.Seq, e.Time.In(loc).Format("2006-01-02 15:04:05 MST"),
			cell(e.Kind), dash(e.EnvelopeID), dash(e.Email), dash(e.RemoteIP), dash(e.Actor), dash(e.Auth), dash(e.Outcome), dash(oneLine(e.Detail)))
		return err
	})
	if err != nil {
		return err
	}
	return tw.Flush()
}

func auditVerify(ctx context.Context, st store.Store, logs []string, stdout, stderr io.Writer) error {
	var cps []store.Checkpoint
	for _, name := range logs {
		f, err := os.Open(name)
		if err != nil {
			return err
		}
		c, err := store.ParseCheckpoints(f)
		f.Close()
		if err != nil {
			return fmt.Errorf("%s: %w", name, err)
		}
		cps = append(cps, c...)
	}
	rep, err := st.VerifyChain(ctx, cps)
	if err != nil {
		return err
	}
	if rep.Broken != nil {
		fmt.Fprintf(stderr, "audit chain BROKEN at %v\n", rep.Broken)
		if rep.Count > 0 {
			fmt.Fprintf(stderr, "(events %d to %d before it verify)\n", rep.Start, rep.Head.Seq)
		}
		return errChainBroken
	}
	fmt.Fprintf(stdout, "audit chain intact: %d events", rep.Count)
	if rep.Count > 0 {
		fmt.Fprintf(stdout, " (%d to %d), head %s", rep.Start, rep.Head.Seq, rep.Head.Hash)
	}
	if len(logs) > 0 {
		fmt.Fprintf(stdout, "; %d checkpoints from the service log agree", len(cps))
	}
	fmt.Fprintln(stdout)
	return nil
}

// parseSince reads a date, an RFC 3339 time, or an age ("7d", "12h").
func parseSince(v string, now time.Time) (time.Time, error) {
	if t, err := time.Parse(time.RFC3339, v); err == nil {
		return t, nil
	}
	if t, err := time.Parse("2006-01-02", v); err == nil {
		return t, nil
	}
	var d config.Duration
	if err := d.UnmarshalText([]byte(v)); err == nil {
		return now.Add(-time.Duration(d)), nil
	}
	return time.Time{}, fmt.Errorf("%q is not a date (2026-11-23), an RFC 3339 time or an age (7d, 12h)", v)
}

func dash(s string) string {
	if s == "" {
		return "-"
	}
	return cell(s)
}

func oneLine(s string) string {
	return strings.Join(strings.Fields(s), " ")
}
