package keyserver

import (
	"context"
	"strings"
	"testing"
	"time"
)

// A name of exactly maxDisplayName characters still stands in From; one
// more does not.
func TestDisplayNameLengthEdge(t *testing.T) {
	first, last := strings.Repeat("a", 31), strings.Repeat("b", maxDisplayName-32)
	if name, ok := displayName(first, last); !ok || len(name) != maxDisplayName {
		t.Errorf("a name of %d characters: %q, %v; want it allowed", maxDisplayName, name, ok)
	}
	if _, ok := displayName(first+"a", last); ok {
		t.Errorf("a name of %d characters allowed", maxDisplayName+1)
	}
}

// A send in flight counts against its client address for every account:
// a second account behind the same address is refused while the first
// account's send is pending, and a finished reservation leaves no entry
// behind (one per client address would otherwise pile up).
func TestReplyQuotaPendingPerClient(t *testing.T) {
	st := openStore(t)
	ctx := context.Background()
	now := time.Now()
	var q replyQuota
	res, refused, err := q.reserve(ctx, st, "ann@partner.example", "198.51.100.7", 5, 1, now)
	if err != nil || refused {
		t.Fatalf("first reservation: refused %v, %v", refused, err)
	}
	if _, refused, err := q.reserve(ctx, st, "bob@partner.example", "198.51.100.7", 5, 1, now); err != nil || !refused {
		t.Errorf("a second account from the same client while one send is pending: refused %v, %v; want refused", refused, err)
	}
	res.Done(nil)
	if len(q.pending) != 0 {
		t.Errorf("pending after Done: %v; want nothing left", q.pending)
	}
	if _, refused, err := q.reserve(ctx, st, "bob@partner.example", "198.51.100.7", 5, 1, now); err != nil || refused {
		t.Errorf("after the first send ended: refused %v, %v", refused, err)
	}
}

// leave gives back one place, not all of the key's, and forgets a key
// with none left.
func TestInFlightLeave(t *testing.T) {
	f := inFlight{max: 2}
	for i, want := range []bool{true, true, false} {
		if got := f.enter("k"); got != want {
			t.Fatalf("entry %d for k: %v; want %v (two places)", i+1, got, want)
		}
	}
	f.leave("k")
	if !f.enter("k") {
		t.Fatal("no place after one left")
	}
	if f.enter("k") {
		t.Error("a third request entered after one left and one came back")
	}
	f.leave("k")
	f.leave("k")
	if len(f.n) != 0 {
		t.Errorf("counts after every request left: %v; want none", f.n)
	}
}
