package mailer

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/postseal/postseal/store"
)

// claimThenShutdown is the real SQLite store with one twist: the queue's
// shutdown begins while its first claim is on the way back, after the
// lease is written. That is what SQLite's driver does when the context
// ends between the UPDATE … RETURNING (committed on its first step) and
// reading its rows: the claim reports "context canceled" though the mail
// is leased. The moment cannot be hit on purpose through the driver, so
// the wrapper reports the context's error exactly as the driver would.
type claimThenShutdown struct {
	store.Store
	shutdown func()
	once     sync.Once
}

func (s *claimThenShutdown) ClaimMail(ctx context.Context, now time.Time, lease time.Duration, limit int) ([]store.Mail, error) {
	mails, err := s.Store.ClaimMail(context.WithoutCancel(ctx), now, lease, limit)
	s.once.Do(s.shutdown)
	if ctx.Err() != nil {
		return nil, fmt.Errorf("claim mail: %w", ctx.Err())
	}
	return mails, err
}

// A shutdown during a claim leaves no mail leased to nobody: the next
// start delivers it at once, not when the lease (5 minutes) runs out.
func TestQueueShutdownDuringClaimLeavesNoLease(t *testing.T) {
	st := openStore(t, t.TempDir())
	defer st.Close()
	ctx, cancel := context.WithCancel(context.Background())
	q := NewQueue(&claimThenShutdown{Store: st, shutdown: cancel}, &SMTP{Addr: "127.0.0.1:1", Timeout: time.Second}, slog.New(slog.NewTextHandler(os.Stderr, nil)))
	if err := q.Enqueue(context.Background(), "postseal@example.org", []string{"pat@ext.example"}, []byte("Subject: x\r\n\r\nx\r\n")); err != nil {
		t.Fatal(err)
	}
	q.Run(ctx) // returns once the shutdown is seen
	due, err := st.ClaimMail(context.Background(), time.Now().Add(time.Second), time.Minute, 10)
	if err != nil {
		t.Fatal(err)
	}
	if len(due) != 1 {
		t.Fatalf("%d mails due right after the shutdown; want the one queued (it stays leased to nobody)", len(due))
	}
}
