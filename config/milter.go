package config

import (
	"strconv"
	"strings"
)

// Milter configures the mail filter side.
type Milter struct {
	// Listen is "inet:HOST:PORT" or "unix:/path".
	Listen string `toml:"listen"`
	// MaxSecureSize is the largest message that will be sealed; a larger
	// message that must be sealed is refused with 552 so the sender learns
	// at once.
	MaxSecureSize Size `toml:"max_secure_size"`
	// Reinject is the SMTP address of an MTA listener without milters, used to
	// deliver sealed copies when one message needs more than one treatment.
	Reinject string `toml:"reinject"`
	// MixedRecipients decides who gets the envelope when a sealed message
	// goes to internal and external recipients.
	MixedRecipients Mixed `toml:"mixed_recipients"`
	// SpoolDir holds message bodies too large to keep in memory while they are
	// filtered (plaintext: created 0700, emptied at start).
	SpoolDir string `toml:"spool_dir"`
	// Timeout bounds the work on one message; past it the message is temp-failed.
	Timeout Duration `toml:"timeout"`
}

func (m *Milter) validate() error {
	if err := checkListen("milter.listen", m.Listen); err != nil {
		return err
	}
	if m.MaxSecureSize <= 0 {
		return keyErr("milter.max_secure_size", "must be positive")
	}
	if err := checkHostPort("milter.reinject", m.Reinject); err != nil {
		return err
	}
	if err := oneOf("milter.mixed_recipients", m.MixedRecipients, MixedSplit, MixedEncryptAll); err != nil {
		return err
	}
	if m.SpoolDir == "" {
		return keyErr("milter.spool_dir", "must not be empty")
	}
	if m.Timeout <= 0 {
		return keyErr("milter.timeout", "must be positive")
	}
	return nil
}

func checkListen(key, v string) error {
	switch {
	case strings.HasPrefix(v, "inet:"):
		return checkHostPort(key, strings.TrimPrefix(v, "inet:"))
	case strings.HasPrefix(v, "unix:") && len(v) > len("unix:"):
		return nil
	}
	return keyErr(key, "must be \"inet:HOST:PORT\" or \"unix:/path\", not %q", v)
}

func checkHostPort(key, v string) error {
	i := strings.LastIndexByte(v, ':')
	if i <= 0 {
		return keyErr(key, "must be HOST:PORT, not %q", v)
	}
	p, err := strconv.Atoi(v[i+1:])
	if err != nil || p <= 0 || p > 65535 {
		return keyErr(key, "must be HOST:PORT with a port 1-65535, not %q", v)
	}
	return nil
}
