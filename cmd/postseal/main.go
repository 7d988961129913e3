// Command postseal is the secure-email gateway: a milter for Postfix and
// Sendmail, its key service and the admin commands. This file only parses
// arguments and wires packages together; the logic lives in the packages.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"runtime/debug"
	"strings"

	"github.com/postseal/postseal/config"
	"github.com/postseal/postseal/keyserver"
	"github.com/postseal/postseal/policy"
	"github.com/postseal/postseal/store"
)

// version is set by the build (-ldflags "-X main.version=...").
var version = "dev"

// Exit codes: 0 ok, 1 runtime failure, 2 usage or configuration error.
const (
	exitOK      = 0
	exitRuntime = 1
	exitUsage   = 2
)

// usageError marks errors that exit with code 2.
type usageError struct{ err error }

func (u usageError) Error() string { return u.err.Error() }
func (u usageError) Unwrap() error { return u.err }

func usagef(format string, args ...any) error { return usageError{fmt.Errorf(format, args...)} }

const usage = `usage: postseal COMMAND [-c FILE] [options]

commands:
  serve                      run the milter and the key service
  check-config               check the rules file and print the effective configuration
  explain --from A --to B[,C] MESSAGE.eml
                             print what postseal would do with a message (JSON)
  seal --from A --to B[,C] < in.eml > out.eml
                             seal a message offline, as the milter would
  envelope list|show ID|lock ID|unlock ID|expire ID|key ID
                             inspect and manage envelopes; expire destroys the
                             message key; key prints it (audited)
  account list|disable ADDR|enable ADDR|reset ADDR
                             manage recipients' key-service accounts; reset
                             clears the password (the recipient sets a new one
                             with "Forgot your password?")
  audit list [--envelope ID] [--address A] [--since T]
                             the audit log as a table (times in
                             [organization] timezone)
  audit export [--since T]   the audit log as JSON lines, each with its hash
  audit verify [--log FILE]  check the audit hash chain (and the checkpoints
                             in a service log): exit 0 with the count when
                             intact, 1 naming the first broken event
  domain password NAME [--write]
                             a new shared password for a partner domain
                             (120 bits); --write replaces its password_file
  init                       create the master key if it does not exist (never replaces one)
  version                    print the version

Without -c, /etc/postseal/postseal.toml is read if it exists, else the
embedded defaults are used (state under ./var/).
`

func main() {
	os.Exit(run(context.Background(), os.Args[1:], os.Stdin, os.Stdout, os.Stderr))
}

func run(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
		fmt.Fprint(stderr, usage)
		if len(args) == 0 {
			return exitUsage
		}
		return exitOK
	}
	cmds := map[string]func(context.Context, []string, io.Reader, io.Writer, io.Writer) error{
		"serve":        cmdServe,
		"check-config": cmdCheckConfig,
		"explain":      cmdExplain,
		"seal":         cmdSeal,
		"envelope":     cmdEnvelope,
		"account":      cmdAccount,
		"audit":        cmdAudit,
		"domain":       cmdDomain,
		"version":      cmdVersion,
		"init":         cmdInit,
	}
	cmd, ok := cmds[args[0]]
	if !ok {
		fmt.Fprintf(stderr, "postseal: unknown command %q\n\n%s", args[0], usage)
		return exitUsage
	}
	err := cmd(ctx, args[1:], stdin, stdout, stderr)
	switch {
	case err == nil:
		return exitOK
	case errors.Is(err, flag.ErrHelp):
		return exitOK
	}
	fmt.Fprintf(stderr, "postseal %s: %v\n", args[0], err)
	var ue usageError
	var ce *config.Error
	if errors.As(err, &ue) || errors.As(err, &ce) {
		return exitUsage
	}
	return exitRuntime
}

// newFlags returns a flag set with the common -c option.
func newFlags(name string, stderr io.Writer) (*flag.FlagSet, *string) {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	cfg := fs.String("c", "", "rules file (default /etc/postseal/postseal.toml if it exists, else embedded defaults)")
	return fs, cfg
}

func parseFlags(fs *flag.FlagSet, args []string) error {
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return err
		}
		return usageError{err}
	}
	return nil
}

// DefaultConfigPath is read when no -c is given and the file exists.
const DefaultConfigPath = "/etc/postseal/postseal.toml"

func loadConfig(path string) (*config.Config, error) {
	if path == "" {
		if _, err := os.Stat(DefaultConfigPath); err != nil {
			return config.Default(), nil
		}
		path = DefaultConfigPath
	}
	return config.Load(path)
}

func loadPolicy(path string) (*policy.Policy, error) {
	cfg, err := loadConfig(path)
	if err != nil {
		return nil, err
	}
	p, err := policy.Load(cfg)
	if err != nil {
		return nil, usageError{fmt.Errorf("%s: %w", configName(cfg), err)}
	}
	// The key service's page templates are checked here too, so
	// check-config names a broken one before serve meets it.
	if err := keyserver.CheckTemplates(cfg.Envelope.TemplateDir); err != nil {
		return nil, usageError{fmt.Errorf("%s: envelope.template_dir: %w", configName(cfg), err)}
	}
	return p, nil
}

func configName(cfg *config.Config) string {
	if cfg.Source == "" {
		return "embedded defaults"
	}
	return cfg.Source
}

// openStore opens the configured store; create says whether a missing
// master key may be created (only serve does that).
func openStore(ctx context.Context, cfg *config.Config, create bool) (store.Store, error) {
	key, err := store.LoadMasterKey(cfg.Store.MasterKey, create)
	if err != nil {
		return nil, err
	}
	if cfg.Store.Driver == "postgres" {
		return store.OpenPostgres(ctx, cfg.Store.DSN, key)
	}
	return store.OpenSQLite(ctx, cfg.Store.DSN, key)
}

func newLogger(w io.Writer) *slog.Logger {
	return slog.New(slog.NewTextHandler(w, &slog.HandlerOptions{Level: slog.LevelInfo}))
}

// splitList turns repeated and comma-separated values into one list.
type listFlag []string

func (l *listFlag) String() string { return strings.Join(*l, ",") }
func (l *listFlag) Set(v string) error {
	for _, s := range strings.Split(v, ",") {
		if s = strings.TrimSpace(s); s != "" {
			*l = append(*l, s)
		}
	}
	return nil
}

func cmdVersion(_ context.Context, args []string, _ io.Reader, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("version", flag.ContinueOnError)
	fs.SetOutput(stderr)
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	v := version
	if bi, ok := debug.ReadBuildInfo(); ok && v == "dev" {
		v = "dev (" + bi.GoVersion + ")"
	}
	fmt.Fprintf(stdout, "postseal %s\n", v)
	return nil
}
