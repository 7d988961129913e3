package config

import (
	"fmt"
	"net/netip"
	"strings"
)

// Keyserver configures the recipient-facing HTTP service.
type Keyserver struct {
	Listen            string `toml:"listen"`
	PublicURL         string `toml:"public_url"`
	PasswordMinLength int    `toml:"password_min_length"`
	// LoginRate is "N/PERIOD" ("5/15m", "10/hour"): failed logins allowed
	// per address within PERIOD before each further attempt must wait, the
	// wait doubling per failure; one IP address may fail ten times as often.
	LoginRate string `toml:"login_rate"`
	// Argon2 cost of password hashes (OWASP: "19MiB", 2, 1). Raised values
	// reach each stored hash at its owner's next successful login.
	Argon2Memory  Size `toml:"argon2_memory"`
	Argon2Time    int  `toml:"argon2_time"`
	Argon2Threads int  `toml:"argon2_threads"`
	// TrustedProxies are the reverse proxies (addresses or CIDR prefixes)
	// whose X-Forwarded-For header names the client: behind a TLS proxy
	// every client is otherwise the proxy's address, and the per-IP
	// throttle and the operator-only endpoints cannot tell them apart.
	TrustedProxies []string `toml:"trusted_proxies"`
}

// Proxies returns TrustedProxies parsed (validate has checked them).
func (k Keyserver) Proxies() []netip.Prefix {
	var out []netip.Prefix
	for _, p := range k.TrustedProxies {
		if pfx, err := parseProxy(p); err == nil {
			out = append(out, pfx)
		}
	}
	return out
}

func parseProxy(s string) (netip.Prefix, error) {
	if strings.Contains(s, "/") {
		p, err := netip.ParsePrefix(s)
		return p.Masked(), err
	}
	a, err := netip.ParseAddr(s)
	if err != nil {
		return netip.Prefix{}, err
	}
	return netip.PrefixFrom(a, a.BitLen()), nil
}

func (k *Keyserver) validate() error {
	if k.PublicURL == "" || !(strings.HasPrefix(k.PublicURL, "http://") || strings.HasPrefix(k.PublicURL, "https://")) {
		return keyErr("keyserver.public_url", "must be an http:// or https:// URL, not %q", k.PublicURL)
	}
	if err := checkHostPort("keyserver.listen", k.Listen); err != nil {
		return err
	}
	if k.PasswordMinLength < 8 {
		return keyErr("keyserver.password_min_length", "must be at least 8")
	}
	if _, _, err := ParseRate(k.LoginRate); err != nil {
		return keyErr("keyserver.login_rate", "%v", err)
	}
	if m := k.Argon2Memory; m < 7<<20 || m > 4<<30 {
		return keyErr("keyserver.argon2_memory", "must be between \"7MiB\" and \"4GiB\" (OWASP: \"19MiB\" with argon2_time = 2)")
	}
	if t := k.Argon2Time; t < 1 || t > 100 {
		return keyErr("keyserver.argon2_time", "must be between 1 and 100")
	}
	for i, p := range k.TrustedProxies {
		if _, err := parseProxy(p); err != nil {
			return keyErr(fmt.Sprintf("keyserver.trusted_proxies[%d]", i), "%q is not an IP address or CIDR prefix", p)
		}
	}
	if p := k.Argon2Threads; p < 1 || p > 255 {
		return keyErr("keyserver.argon2_threads", "must be between 1 and 255")
	}
	return nil
}
