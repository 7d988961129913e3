package keyserver

import (
	"fmt"
	"testing"
	"time"
)

// A bucket is dropped once it is full again, by the first request a
// minute or more after the last sweep (not only later): an idle client's
// memory is given back, an active client's bucket is kept.
func TestKeyedLimiterSweep(t *testing.T) {
	t0 := time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)
	l := newKeyedLimiter(time.Minute, 2)
	if ok, _ := l.allow("idle", t0); !ok {
		t.Fatal("first request refused")
	}
	if ok, _ := l.allow("busy", t0); !ok {
		t.Fatal("first request refused")
	}
	if ok, _ := l.allow("busy", t0); !ok {
		t.Fatal("second request within the burst refused")
	}
	// A minute on: "idle" has its one token back (full), "busy" has one of
	// its two.
	if ok, _ := l.allow("new", t0.Add(time.Minute)); !ok {
		t.Fatal("a new key refused")
	}
	if _, ok := l.m["idle"]; ok {
		t.Error("a bucket full again a minute after the last sweep was kept")
	}
	if _, ok := l.m["busy"]; !ok {
		t.Error("a bucket not yet full was dropped (its client would get a fresh allowance)")
	}
	// Within the minute after a sweep nothing is swept, full or not.
	l2 := newKeyedLimiter(time.Second, 1)
	l2.allow("a", t0)
	l2.allow("b", t0.Add(time.Minute-time.Nanosecond))
	if len(l2.m) != 2 {
		t.Errorf("%d buckets after a sweep less than a minute before; want both kept", len(l2.m))
	}
}

// A bucket not yet full keeps counting: its key, dropped, would be let
// through again at once.
func TestKeyedLimiterKeepsCounting(t *testing.T) {
	t0 := time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)
	l := newKeyedLimiter(10*time.Minute, 1)
	if ok, _ := l.allow("k", t0); !ok {
		t.Fatal("first request refused")
	}
	ok, wait := l.allow("k", t0.Add(5*time.Minute))
	if ok || wait != 5*time.Minute {
		t.Errorf("second request 5 minutes into a 10-minute refill: allowed %v, wait %v; want refused for 5m0s", ok, wait)
	}
}

// Past limiterEntries keys a new key is refused (the strictest case) and
// waits one refill; a key already known is still served.
func TestKeyedLimiterEntriesBound(t *testing.T) {
	t0 := time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)
	l := newKeyedLimiter(time.Minute, 1)
	for i := range limiterEntries - 1 {
		if ok, _ := l.allow(fmt.Sprint(i), t0); !ok {
			t.Fatalf("key %d refused", i)
		}
	}
	if ok, _ := l.allow("last", t0); !ok {
		t.Fatal("the limiterEntries-th key refused")
	}
	if ok, wait := l.allow("one too many", t0); ok || wait != time.Minute {
		t.Errorf("a key past limiterEntries: allowed %v, wait %v; want refused for 1m0s", ok, wait)
	}
	if len(l.m) != limiterEntries {
		t.Errorf("%d buckets; want limiterEntries (%d)", len(l.m), limiterEntries)
	}
}

// The default limits are the ones the README gives a load balancer: 10
// forms per client address then one a minute, 3 mails per address and
// network then one per 10 minutes.
func TestDefaultLimits(t *testing.T) {
	l := newLimits()
	if l.forms.every != time.Minute || l.forms.burst != 10 {
		t.Errorf("forms: one per %v, burst %d; want 1m0s and 10", l.forms.every, l.forms.burst)
	}
	if l.mailFrom.every != 10*time.Minute || l.mailFrom.burst != 3 {
		t.Errorf("mails: one per %v, burst %d; want 10m0s and 3", l.mailFrom.every, l.mailFrom.burst)
	}
	if mailsPerHour != 20 {
		t.Errorf("mailsPerHour = %d; want 2×mailBurst+4 = 20", mailsPerHour)
	}
}

// A throttle key's network: an IPv4 /24, an IPv6 /48 (also of a /64 key),
// anything else (the unreadable key) as it is, lower-cased.
func TestClientNetwork(t *testing.T) {
	for in, want := range map[string]string{
		"192.0.2.77":          "192.0.2.0/24",
		"2001:db8:1:2::/64":   "2001:db8:1::/48",
		"2001:db8:1:2::9":     "2001:db8:1::/48",
		"2001:db8::/32":       "2001:db8::/32",
		unreadableClient:      unreadableClient,
		"Unreadable":          "unreadable",
		"2001:DB8:1:2::/64:x": "2001:db8:1:2::/64:x",
	} {
		if got := clientNetwork(in); got != want {
			t.Errorf("clientNetwork(%q) = %q; want %q", in, got, want)
		}
	}
}

// A wait is said in seconds below two minutes, else in minutes rounded up.
func TestWaitText(t *testing.T) {
	for d, want := range map[time.Duration]string{
		0:                                  "1 seconds",
		119 * time.Second:                  "119 seconds",
		119*time.Second + time.Millisecond: "2 minutes",
		120 * time.Second:                  "2 minutes",
		121 * time.Second:                  "3 minutes",
		15 * time.Minute:                   "15 minutes",
	} {
		if got := waitText(d); got != want {
			t.Errorf("waitText(%v) = %q; want %q", d, got, want)
		}
	}
}
