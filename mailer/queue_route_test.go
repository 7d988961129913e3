package mailer

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/postseal/postseal/store"
	"github.com/postseal/postseal/test/mta"
)

// Each mail goes through its own route's listener, and keeps it through
// retries and a restart: mail queued while both listeners were down is
// delivered afterwards, the sealed copy through the listener without
// milters, the rest through the relay.
func TestQueueRoutesSurviveRetriesAndRestart(t *testing.T) {
	relayPort, err := mta.FreePort()
	if err != nil {
		t.Fatal(err)
	}
	reinjectPort, err := mta.FreePort()
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	run := func(st store.Store) (*Queue, chan attempt, func()) {
		return runQueue(t, st, fmt.Sprintf("127.0.0.1:%d", relayPort), time.Hour, map[store.Route]string{store.RouteReinject: fmt.Sprintf("127.0.0.1:%d", reinjectPort)})
	}
	msg := func(subject string) []byte { return []byte("Subject: " + subject + "\r\n\r\nbody\r\n") }

	st1 := openStore(t, dir)
	q1, attempts1, stop1 := run(st1)
	if err := q1.Enqueue(context.Background(), "postseal@example.org", []string{"clear@ext.example"}, msg("clear")); err != nil {
		t.Fatal(err)
	}
	if err := q1.Via(store.RouteReinject).Enqueue(context.Background(), "postseal@example.org", []string{"sealed@ext.example"}, msg("sealed")); err != nil {
		t.Fatal(err)
	}
	failed := map[string]store.Route{}
	for len(failed) < 2 { // each fails at least once: nothing listens
		a := waitAttempt(t, attempts1)
		if a.err == nil {
			t.Fatalf("mail %d delivered with its listener down", a.m.ID)
		}
		failed[a.m.To[0]] = a.m.Route
	}
	if failed["clear@ext.example"] != store.RouteRelay || failed["sealed@ext.example"] != store.RouteReinject {
		t.Errorf("routes of the failed attempts: %v", failed)
	}
	stop1()
	st1.Close()

	pf := startPostfix(t, mta.Options{SMTPPort: relayPort, ReinjectPort: reinjectPort})
	st2 := openStore(t, dir)
	defer st2.Close()
	_, attempts2, _ := run(st2)
	for range 2 {
		if a := waitAttempt(t, attempts2); a.err != nil {
			t.Fatalf("mail %d after the restart: %v", a.m.ID, a.err)
		}
	}
	for rcpt, want := range map[string]string{"clear@ext.example": mta.SMTP, "sealed@ext.example": mta.Reinject} {
		d, err := pf.WaitDelivered(rcpt, 1, 20*time.Second)
		if err != nil {
			t.Fatal(err)
		}
		if got, err := pf.Listener(d[0]); err != nil || got != want {
			t.Errorf("%s arrived through the %q listener (%v); want %q", rcpt, got, err, want)
		}
	}
}

// A route this process has no listener for is retried, never sent through
// the relay instead (the milter would seal a sealed copy again).
func TestQueueUnknownRouteIsNotDetoured(t *testing.T) {
	pf := startPostfix(t, mta.Options{})
	st := openStore(t, t.TempDir())
	defer st.Close()
	q, attempts, _ := runQueue(t, st, pf.SMTPAddr(), time.Hour)
	if err := q.Via(store.RouteReinject).Enqueue(context.Background(), "postseal@example.org", []string{"sealed@ext.example"}, []byte("Subject: x\r\n\r\nx\r\n")); err != nil {
		t.Fatal(err)
	}
	a := waitAttempt(t, attempts)
	if a.err == nil || !strings.Contains(a.err.Error(), `no MTA listener for route "reinject"`) {
		t.Fatalf("attempt: %v; want no listener for the route", a.err)
	}
	if n := depth(t, st); n != 1 {
		t.Errorf("%d mails queued; want the undeliverable one kept for a retry", n)
	}
	if got, _ := pf.DeliveredTo("sealed@ext.example"); len(got) != 0 || len(pf.MaillogGrep("sealed@ext.example")) != 0 {
		t.Errorf("the mail reached the relay: %d copies", len(got))
	}
}
