package config

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Size is a byte count written as "10MB", "512KiB" or a bare number.
type Size int64

// UnmarshalText implements encoding.TextUnmarshaler.
func (s *Size) UnmarshalText(b []byte) error {
	v, err := ParseSize(string(b))
	if err != nil {
		return err
	}
	*s = Size(v)
	return nil
}

// MarshalText implements encoding.TextMarshaler.
func (s Size) MarshalText() ([]byte, error) { return []byte(strconv.FormatInt(int64(s), 10)), nil }

// ParseSize parses sizes with SI (kB, MB, GB = 1000^n) and IEC (KiB, MiB,
// GiB = 1024^n) units; "10MB" is 10,000,000 bytes, as Postfix counts.
func ParseSize(s string) (int64, error) {
	t := strings.TrimSpace(s)
	units := []struct {
		suffix string
		mult   int64
	}{{"KiB", 1 << 10}, {"MiB", 1 << 20}, {"GiB", 1 << 30}, {"kB", 1000}, {"KB", 1000}, {"MB", 1000 * 1000}, {"GB", 1000 * 1000 * 1000}, {"B", 1}}
	mult := int64(1)
	for _, u := range units {
		if strings.HasSuffix(t, u.suffix) {
			mult = u.mult
			t = strings.TrimSpace(strings.TrimSuffix(t, u.suffix))
			break
		}
	}
	n, err := strconv.ParseInt(t, 10, 64)
	if err != nil || n < 0 || n > (1<<62)/mult {
		return 0, fmt.Errorf("not a size like \"10MB\": %q", s)
	}
	return n * mult, nil
}

// Duration is a time.Duration written as "90d", "12h" or "30m".
type Duration time.Duration

// UnmarshalText implements encoding.TextUnmarshaler; "d" counts days.
func (d *Duration) UnmarshalText(b []byte) error {
	s := strings.TrimSpace(string(b))
	if strings.HasSuffix(s, "d") {
		n, err := strconv.Atoi(strings.TrimSuffix(s, "d"))
		if err != nil || n < 0 {
			return fmt.Errorf("not a duration like \"90d\" or \"12h\": %q", s)
		}
		*d = Duration(time.Duration(n) * 24 * time.Hour)
		return nil
	}
	v, err := time.ParseDuration(s)
	if err != nil {
		return fmt.Errorf("not a duration like \"90d\" or \"12h\": %q", s)
	}
	*d = Duration(v)
	return nil
}

// MarshalText implements encoding.TextMarshaler.
func (d Duration) MarshalText() ([]byte, error) { return []byte(time.Duration(d).String()), nil }

// ParseRate reads "N/PERIOD": a count and the period it is allowed in.
// PERIOD is a unit (s, min, hour, day) or a duration ("15m", "2h").
func ParseRate(v string) (n int, per time.Duration, err error) {
	count, period, ok := strings.Cut(strings.TrimSpace(v), "/")
	n, cerr := strconv.Atoi(strings.TrimSpace(count))
	if !ok || cerr != nil || n < 1 || n > 10000 {
		return 0, 0, fmt.Errorf("not a rate like \"5/15m\": %q", v)
	}
	period = strings.TrimSpace(period)
	switch period {
	case "s", "sec", "second":
		per = time.Second
	case "min", "minute":
		per = time.Minute
	case "h", "hour":
		per = time.Hour
	case "d", "day":
		per = 24 * time.Hour
	default:
		var d Duration
		if err := d.UnmarshalText([]byte(period)); err != nil {
			return 0, 0, fmt.Errorf("not a rate like \"5/15m\": %q", v)
		}
		per = time.Duration(d)
	}
	if per < time.Second || per > 7*24*time.Hour {
		return 0, 0, fmt.Errorf("the period of %q must be between 1s and 7d", v)
	}
	return n, per, nil
}

// Expiry is how long an envelope's key may be released: a duration, or
// "never" (the zero value) — organisations that lock instead of expiring
// keep their messages readable.
type Expiry time.Duration

// Never is the Expiry of envelopes that do not expire.
const Never Expiry = 0

// UnmarshalText implements encoding.TextUnmarshaler: "never" or a positive
// duration like "90d".
func (e *Expiry) UnmarshalText(b []byte) error {
	s := strings.TrimSpace(string(b))
	if strings.EqualFold(s, "never") {
		*e = Never
		return nil
	}
	var d Duration
	if err := d.UnmarshalText(b); err != nil || d <= 0 {
		return fmt.Errorf("not \"never\" or a duration like \"90d\": %q", s)
	}
	*e = Expiry(d)
	return nil
}

// MarshalText implements encoding.TextMarshaler.
func (e Expiry) MarshalText() ([]byte, error) {
	if e == Never {
		return []byte("never"), nil
	}
	return Duration(e).MarshalText()
}

// Deadline is when an envelope sealed at now expires; the zero time for Never.
func (e Expiry) Deadline(now time.Time) time.Time {
	if e == Never {
		return time.Time{}
	}
	return now.Add(time.Duration(e))
}
