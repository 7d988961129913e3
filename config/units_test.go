package config

import (
	"testing"
	"time"
)

// The edges of each unit's range: the last value accepted and the first
// refused, on both sides.
func TestUnitEdges(t *testing.T) {
	for in, want := range map[string]int64{"0": 0, "0MB": 0, "4611686018427387904": 1 << 62, "4294967296GiB": 1 << 62, "1B": 1} {
		if got, err := ParseSize(in); err != nil || got != want {
			t.Errorf("ParseSize(%q) = %d, %v; want %d", in, got, err, want)
		}
	}
	for _, in := range []string{"4611686018427387905", "4294967297GiB"} {
		if _, err := ParseSize(in); err == nil {
			t.Errorf("ParseSize(%q) accepted beyond 2^62 bytes", in)
		}
	}

	for in, want := range map[string][2]int64{
		"1/s": {1, int64(time.Second)}, "10000/1s": {10000, int64(time.Second)}, "1/7d": {1, int64(7 * 24 * time.Hour)}, "2/day": {2, int64(24 * time.Hour)},
		"3/sec": {3, int64(time.Second)}, "4/minute": {4, int64(time.Minute)},
	} {
		if n, per, err := ParseRate(in); err != nil || int64(n) != want[0] || int64(per) != want[1] {
			t.Errorf("ParseRate(%q) = %d %v %v; want %d %v", in, n, per, err, want[0], time.Duration(want[1]))
		}
	}
	for _, in := range []string{"0/min", "10001/min", "1/999ms", "1/168h1s"} {
		if _, _, err := ParseRate(in); err == nil {
			t.Errorf("ParseRate(%q) accepted", in)
		}
	}

	var d Duration
	if err := d.UnmarshalText([]byte("0d")); err != nil || d != 0 {
		t.Errorf("0d = %v, %v", time.Duration(d), err)
	}
	if err := d.UnmarshalText([]byte("2d")); err != nil || time.Duration(d) != 48*time.Hour {
		t.Errorf("2d = %v, %v", time.Duration(d), err)
	}
	if err := d.UnmarshalText([]byte("-1d")); err == nil {
		t.Error("-1d accepted")
	}

	var e Expiry
	if err := e.UnmarshalText([]byte("1s")); err != nil || time.Duration(e) != time.Second {
		t.Errorf("expiry 1s = %v, %v", time.Duration(e), err)
	}
	for _, in := range []string{"0s", "0d", "-1h"} {
		if err := e.UnmarshalText([]byte(in)); err == nil {
			t.Errorf("expiry %q accepted; want a positive duration or never", in)
		}
	}
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	if got := Expiry(time.Hour).Deadline(now); !got.Equal(now.Add(time.Hour)) {
		t.Errorf("Deadline = %v", got)
	}
	if got := Never.Deadline(now); !got.IsZero() {
		t.Errorf("Never.Deadline = %v; want the zero time", got)
	}
	if b, _ := Never.MarshalText(); string(b) != "never" {
		t.Errorf("Never marshals as %q", b)
	}
	if b, _ := Expiry(90 * time.Minute).MarshalText(); string(b) != "1h30m0s" {
		t.Errorf("90m marshals as %q", b)
	}
}
