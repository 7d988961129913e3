package config

import "time"

// Audit configures the audit log.
type Audit struct {
	// Keep is how long events are kept; older ones are removed behind a
	// signed checkpoint event. 0 keeps them for ever.
	Keep Duration `toml:"keep"`
}

func (a *Audit) validate() error {
	if k := time.Duration(a.Keep); k != 0 && k < 24*time.Hour {
		return keyErr("audit.keep", "must be at least \"1d\" (or 0 to keep events for ever)")
	}
	return nil
}
