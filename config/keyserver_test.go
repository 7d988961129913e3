package config

import (
	"errors"
	"strings"
	"testing"
	"time"
)

func TestKeyserverConfig(t *testing.T) {
	c, err := Parse("k.toml", []byte("[keyserver]\nlogin_rate = \"10/hour\"\nargon2_memory = \"64MiB\"\nargon2_time = 3\nargon2_threads = 2\n"))
	if err != nil {
		t.Fatal(err)
	}
	k := c.Keyserver
	if k.Argon2Memory != 64<<20 || k.Argon2Time != 3 || k.Argon2Threads != 2 || k.LoginRate != "10/hour" {
		t.Errorf("keyserver %+v", k)
	}
	d := Default().Keyserver
	if d.Argon2Memory != 19<<20 || d.Argon2Time != 2 || d.Argon2Threads != 1 {
		t.Errorf("defaults %+v; want OWASP m=19MiB t=2 p=1", d)
	}
	for _, tt := range []struct{ body, key string }{
		{"[keyserver]\nlogin_rate = \"fast\"\n", "keyserver.login_rate"},
		{"[keyserver]\nlogin_rate = \"0/min\"\n", "keyserver.login_rate"},
		{"[keyserver]\nargon2_memory = \"1MiB\"\n", "keyserver.argon2_memory"},
		{"[keyserver]\nargon2_time = 0\n", "keyserver.argon2_time"},
		{"[keyserver]\nargon2_threads = 256\n", "keyserver.argon2_threads"},
	} {
		_, err := Parse("k.toml", []byte(tt.body))
		var ce *Error
		if !errors.As(err, &ce) || ce.Line != 2 || !strings.Contains(err.Error(), tt.key) {
			t.Errorf("%q: error %v; want %s at line 2", tt.body, err, tt.key)
		}
	}
}

func TestParseRate(t *testing.T) {
	for in, want := range map[string]struct {
		n   int
		per time.Duration
	}{
		"5/min": {5, time.Minute}, "5/15m": {5, 15 * time.Minute}, " 10 / hour ": {10, time.Hour}, "3/1d": {3, 24 * time.Hour}, "50/h": {50, time.Hour},
	} {
		n, per, err := ParseRate(in)
		if err != nil || n != want.n || per != want.per {
			t.Errorf("%q: %d %v %v", in, n, per, err)
		}
	}
	for _, bad := range []string{"", "5", "x/min", "-1/min", "5/fortnight", "5/0s", "5/30d"} {
		if _, _, err := ParseRate(bad); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
}
