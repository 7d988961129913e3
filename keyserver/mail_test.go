package keyserver

import (
	"fmt"
	"strings"
	"testing"
	"time"
)

// The password-changed mail says which happened: a change (signed in)
// or a reset (by link).
func TestPasswordChangedMailSaysHow(t *testing.T) {
	t0 := time.Date(2026, 12, 3, 15, 4, 0, 0, time.UTC)
	plain := func(f string, a ...any) string { return fmt.Sprintf(f, a...) }
	for how, want := range map[string]string{
		"reset":  "was reset on 2026-12-03 15:04 UTC",
		"change": "was changed on 2026-12-03 15:04 UTC",
	} {
		c := passwordChangedMail(plain, "Example Health", "Ann", how, t0, "https://keys.example.org/forgot")
		if !strings.Contains(c.Text, want) {
			t.Errorf("%s: text lacks %q:\n%s", how, want, c.Text)
		}
	}
}
