package keyserver

import (
	"context"
	"errors"
	"testing"
	"time"
)

// A hasher admits as many Argon2 computations at once as it was made
// for, and no more: with one of two slots taken a hash is computed at
// once; with both taken a caller that gives up gets its context's error,
// not a hash.
func TestHasherAdmitsItsConcurrency(t *testing.T) {
	h, err := newHasher(testArgon2, 2)
	if err != nil {
		t.Fatal(err)
	}
	if err := h.acquire(context.Background()); err != nil {
		t.Fatal(err)
	}
	// The deadline only ends the test early if the second slot were
	// missing; a free slot is taken without waiting.
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if _, err := h.Hash(ctx, testPassword); err != nil {
		t.Fatalf("a hash with one of two slots taken: %v", err)
	}
	if err := h.acquire(context.Background()); err != nil {
		t.Fatal(err)
	}
	gone, stop := context.WithCancel(context.Background())
	stop()
	if _, err := h.Hash(gone, testPassword); !errors.Is(err, context.Canceled) {
		t.Errorf("a hash with both slots taken: %v; want the caller's context.Canceled", err)
	}
	if ok, err := h.Verify(gone, h.dummy, testPassword); ok || !errors.Is(err, context.Canceled) {
		t.Errorf("a verification with both slots taken: %v %v; want false, context.Canceled", ok, err)
	}
	h.release()
	h.release()
}
