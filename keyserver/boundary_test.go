package keyserver

import (
	"fmt"
	"strings"
	"testing"
)

// Envelope ids are 1 to 64 characters of [A-Za-z0-9_-]: each end of each
// range is in, its neighbours out.
func TestValidEnvelopeIDBoundaries(t *testing.T) {
	for id, want := range map[string]bool{
		"":                      false,
		strings.Repeat("a", 64): true,
		strings.Repeat("a", 65): false,
		"a":                     true,
		"azAZ09-_":              true,
		"`":                     false, "{": false, // around a-z
		"@": false, "[": false, // around A-Z
		"/": false, ":": false, // around 0-9
		",": false, ".": false, "^": false, // around - and _
		"a b": false, "é": false,
	} {
		if got := validEnvelopeID(id); got != want {
			t.Errorf("validEnvelopeID(%q) = %v, want %v", id, got, want)
		}
	}
}

// A stored hash is only believed within the bounds that keep a tampered
// row from costing unbounded work: each bound is accepted, one past it is
// not.
func TestParsePHCBounds(t *testing.T) {
	salt8 := b64.EncodeToString(make([]byte, 8))
	phc := func(m, tm, p int, salt string, sumLen int) string {
		return fmt.Sprintf("$argon2id$v=19$m=%d,t=%d,p=%d$%s$%s", m, tm, p, salt, b64.EncodeToString(make([]byte, sumLen)))
	}
	for _, tc := range []struct {
		s  string
		ok bool
	}{
		{phc(8, 1, 1, salt8, 16), true},
		{phc(7, 1, 1, salt8, 16), false},
		{phc(4<<20, 1, 1, salt8, 16), true},
		{phc(4<<20+1, 1, 1, salt8, 16), false},
		{phc(8, 0, 1, salt8, 16), false},
		{phc(8, 100, 1, salt8, 16), true},
		{phc(8, 101, 1, salt8, 16), false},
		{phc(8, 1, 0, salt8, 16), false},
		{phc(8, 1, 255, salt8, 16), true},
		{phc(8, 1, 256, salt8, 16), false},
		{phc(8, 1, 1, b64.EncodeToString(make([]byte, 7)), 16), false},
		{phc(8, 1, 1, salt8, 15), false},
		{phc(8, 1, 1, salt8, 64), true},
		{phc(8, 1, 1, salt8, 65), false},
	} {
		_, _, _, err := parsePHC(tc.s)
		if (err == nil) != tc.ok {
			t.Errorf("parsePHC(%s): %v; want ok %v", tc.s, err, tc.ok)
		}
	}
}

// Argon2 parameters below the minimum are refused when the service starts;
// the minimum itself is accepted.
func TestNewHasherMinimum(t *testing.T) {
	if _, err := newHasher(Argon2{MemoryKiB: 8, Time: 1, Threads: 1}, 1); err != nil {
		t.Errorf("the minimum parameters: %v", err)
	}
	for _, p := range []Argon2{{MemoryKiB: 7, Time: 1, Threads: 1}, {MemoryKiB: 8, Time: 0, Threads: 1}, {MemoryKiB: 8, Time: 1, Threads: 0}} {
		if _, err := newHasher(p, 1); err == nil {
			t.Errorf("newHasher(%+v) accepted parameters below the minimum", p)
		}
	}
}

// Only a throttled answer says when to retry: a refused password carries
// no Retry-After (a "Retry-After: 0" would invite clients to hammer).
func TestKeyAnswerRetryAfterOnlyWhenThrottled(t *testing.T) {
	f := newFixture(t)
	f.putAccount("ann@partner.example", testPassword, true, false)
	f.putEnvelope("env1", "ann@partner.example")
	rec := f.postKey("env1", "ann@partner.example", "wrong password here", "")
	if rec.Code != 401 || rec.Header().Get("Retry-After") != "" {
		t.Errorf("wrong password: %d with Retry-After %q; want 401 without it", rec.Code, rec.Header().Get("Retry-After"))
	}
	rec = f.postKey("env1", "ann@partner.example", testPassword, "")
	if rec.Code != 200 || rec.Header().Get("Retry-After") != "" {
		t.Errorf("key released: %d with Retry-After %q; want 200 without it", rec.Code, rec.Header().Get("Retry-After"))
	}
}

// The default Argon2 cost is OWASP's recommendation: 19 MiB, 2 passes, 1 lane.
func TestDefaultArgon2IsOWASP(t *testing.T) {
	if DefaultArgon2 != (Argon2{MemoryKiB: 19456, Time: 2, Threads: 1}) {
		t.Errorf("DefaultArgon2 = %+v; want m=19456 KiB, t=2, p=1", DefaultArgon2)
	}
}
