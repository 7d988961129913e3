package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/postseal/postseal/store"
)

// cmdAccount is the admin's view of the key service's accounts: list them,
// disable or enable one (a disabled account releases no key), or reset one
// (its password is cleared: the recipient sets a new one through "Forgot
// your password?", which proves the mailbox again).
func cmdAccount(ctx context.Context, args []string, _ io.Reader, stdout, stderr io.Writer) error {
	fs, cfgPath := newFlags("account", stderr)
	limit := fs.Int("n", 100, "list: how many accounts (by address)")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	sub, err := subcommand(fs, "account", "ADDR", "e-mail address", "list", "disable", "enable", "reset")
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
	if sub == "list" {
		accts, err := st.ListAccounts(ctx, *limit)
		if err != nil {
			return err
		}
		tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "EMAIL\tNAME\tSTATE\tREGISTERED\tACTIVATED")
		for _, a := range accts {
			activated := "-"
			if !a.Activated.IsZero() {
				activated = a.Activated.Format(time.RFC3339)
			}
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", cell(a.Email), cell(strings.TrimSpace(a.FirstName+" "+a.LastName)), accountState(a), a.Created.Format(time.RFC3339), activated)
		}
		return tw.Flush()
	}
	return changeAccount(ctx, st, sub, fs.Arg(0), stdout)
}

func accountState(a store.Account) string {
	switch {
	case a.Disabled:
		return "disabled"
	case a.PasswordHash == "":
		return "reset"
	case !a.Active:
		return "not activated"
	default:
		return "active"
	}
}

// changeAccount disables, enables or resets an account and records it in
// the audit trail.
func changeAccount(ctx context.Context, st store.Store, sub, email string, stdout io.Writer) error {
	a, err := st.Account(ctx, email)
	if errors.Is(err, store.ErrNotFound) {
		return fmt.Errorf("no account for %s", email)
	}
	if err != nil {
		return err
	}
	var kind, done string
	switch sub {
	case "disable":
		a.Disabled = true
		kind, done = store.EventAccountDisabled, "disabled: no key is released to it until it is enabled"
	case "enable":
		a.Disabled = false
		kind, done = store.EventAccountEnabled, "enabled"
	default:
		a.PasswordHash = ""
		kind, done = store.EventAccountReset, "reset: its password no longer works; the recipient sets a new one with \"Forgot your password?\""
	}
	// A disabled or reset account's reply tokens send nothing more (the
	// key service refuses a disabled account's too): dropped, as a
	// password change drops them, so enabling the account again does not
	// revive them. First: a failure leaves the account as it was.
	if sub != "enable" {
		if err := st.DropTokens(ctx, a.Email, store.TokenReply); err != nil {
			return fmt.Errorf("account %s: %w", a.Email, err)
		}
	}
	if err := st.UpdateAccount(ctx, a); err != nil {
		return err
	}
	if err := st.AddEvent(ctx, store.Event{Kind: kind, Email: a.Email, Actor: adminActor(), Auth: adminAuth, Detail: "postseal account " + sub}); err != nil {
		return fmt.Errorf("account %s %s, but the audit event was not recorded: %w", a.Email, done, err)
	}
	fmt.Fprintf(stdout, "account %s %s\n", a.Email, done)
	return nil
}
