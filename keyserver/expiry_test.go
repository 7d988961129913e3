package keyserver

import (
	"testing"
	"time"
)

// The key is released up to the last instant before the expiry and refused
// from the expiry instant itself on (not only a second later).
func TestKeyAtExactExpiry(t *testing.T) {
	f := newFixture(t)
	f.putAccount("ann@partner.example", testPassword, true, false)
	f.putEnvelope("edge1", "ann@partner.example") // expires 90 days from the clock's now
	f.clock.Advance(90*24*time.Hour - time.Millisecond)
	rec := f.postKey("edge1", "ann@partner.example", testPassword, "")
	if a := decodeAnswer(t, rec); rec.Code != 200 || a.Key == "" {
		t.Fatalf("a millisecond before the expiry: %d %+v; want the key", rec.Code, a)
	}
	f.clock.Advance(time.Millisecond)
	rec = f.postKey("edge1", "ann@partner.example", testPassword, "")
	if a := decodeAnswer(t, rec); rec.Code != 410 || a.Error != "expired" || a.Key != "" {
		t.Errorf("at the expiry instant: %d %+v; want 410 expired", rec.Code, a)
	}
}
