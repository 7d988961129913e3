package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"

	"github.com/postseal/postseal/store"
)

// cmdInit creates the master key if it does not exist yet and never
// touches an existing one: the packages run it at installation, as the
// postseal user, so that the key exists (0600) before the first start and
// an upgrade or reinstall keeps it.
func cmdInit(_ context.Context, args []string, _ io.Reader, stdout, stderr io.Writer) error {
	flags, cfgPath := newFlags("init", stderr)
	if err := parseFlags(flags, args); err != nil {
		return err
	}
	if flags.NArg() != 0 {
		return usagef("init takes no arguments")
	}
	cfg, err := loadConfig(*cfgPath)
	if err != nil {
		return err
	}
	path := cfg.Store.MasterKey
	_, err = os.Stat(path)
	existed := err == nil
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("master key %s: %w", path, err)
	}
	// Loading also checks an existing key: private, well-formed.
	if _, err := store.LoadMasterKey(path, true); err != nil {
		return err
	}
	if existed {
		fmt.Fprintf(stdout, "postseal init: master key %s exists; kept\n", path)
		return nil
	}
	fmt.Fprintf(stdout, "postseal init: created master key %s (0600); back it up with the database\n", path)
	return nil
}
