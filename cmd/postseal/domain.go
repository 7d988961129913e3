package main

import (
	"context"
	"crypto/rand"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
)

// cmdDomain: postseal domain password NAME [--write] — a new shared
// password for a partner domain. It is printed (to hand to the partner
// over another channel than mail); with --write it also replaces the
// domain's password_file (0600), to take effect at the next reload.
func cmdDomain(_ context.Context, args []string, _ io.Reader, stdout, stderr io.Writer) error {
	fs, cfgPath := newFlags("domain", stderr)
	write := fs.Bool("write", false, "password: also write it to the domain's password_file")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if _, err := subcommand(fs, "domain", "NAME", "domain name", "password"); err != nil {
		return err
	}
	name := strings.ToLower(strings.TrimSpace(fs.Arg(0)))
	pw := sharedPassword()
	if *write {
		cfg, err := loadConfig(*cfgPath)
		if err != nil {
			return err
		}
		file := ""
		for _, d := range cfg.Domains {
			if strings.EqualFold(strings.TrimSpace(d.Name), name) {
				file = d.PasswordFile
			}
		}
		if file == "" {
			return usagef("domain %s: no [[domain]] with this name in %s", name, configName(cfg))
		}
		if err := writePrivate(file, []byte(pw+"\n")); err != nil {
			return fmt.Errorf("domain %s: %w", name, err)
		}
		fmt.Fprintf(stderr, "written to %s; reload postseal (systemctl reload postseal) to use it\n", file)
	}
	fmt.Fprintln(stdout, pw)
	return nil
}

// sharedPassword is 24 random base32 characters (120 bits) in groups of
// four, easy to read out and type: "k7qm-2xhp-…".
func sharedPassword() string {
	t := strings.ToLower(rand.Text()[:24])
	var groups []string
	for i := 0; i < len(t); i += 4 {
		groups = append(groups, t[i:i+4])
	}
	return strings.Join(groups, "-")
}

// writePrivate replaces path with data, readable by its owner only.
func writePrivate(path string, data []byte) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), ".postseal-pw-*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	if err := tmp.Chmod(0o600); err != nil {
		tmp.Close()
		return err
	}
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), path)
}
