package e2e

import (
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/postseal/postseal/test/mta"
)

// TestReload: SIGHUP applies a changed rules file to the next messages; a
// broken file is refused with its place named, and the rules in force stay.
func TestReload(t *testing.T) {
	needRoot(t)
	reinject := freePort(t)
	ps := startPostseal(t, PostsealConfig{ReinjectPort: reinject})
	pf := startPostfix(t, mta.Options{Milter: postfixMilterAddr(ps.MilterPort), ReinjectPort: reinject})
	base, err := os.ReadFile(ps.Config)
	if err != nil {
		t.Fatal(err)
	}
	send := func(rcpt, subject string) *mta.Delivery {
		t.Helper()
		msg := []byte("From: Alice <alice@example.org>\nTo: <" + rcpt + ">\nSubject: " + subject +
			"\nDate: Mon, 23 Nov 2026 16:00:00 +0000\nMessage-ID: <" + rcpt + ">\n\nQuarterly budget draft.\n")
		mark := postfixMustAccept(t, pf, mta.SMTP, postfixSender, []string{rcpt}, msg)
		return postfixWait(t, pf, mark, rcpt, 1)[0]
	}
	reload := func(config string, wantLog ...string) {
		t.Helper()
		if err := os.WriteFile(ps.Config, []byte(config), 0o600); err != nil {
			t.Fatal(err)
		}
		at := len(ps.Log())
		if err := ps.Reload(); err != nil {
			t.Fatal(err)
		}
		if _, err := ps.WaitLog(at, 20*time.Second, wantLog...); err != nil {
			t.Fatal(err)
		}
	}

	if d := send("before@partner.example.net", "[confidential] budget"); strings.Contains(string(d.Data), "X-Postseal-Envelope") {
		t.Fatal("sealed before the trigger exists")
	}

	reload(string(base)+`
[[trigger]]
name = "confidential"
match = "[confidential]"
position = "anywhere"
marker = "(encrypted)"
marker_position = "append"
`, "rules reloaded")
	s := postfixOpenSealed(t, ps, send("after@partner.example.net", "[confidential] budget"))
	if s.Subject != "budget (encrypted)" {
		t.Errorf("subject after reload %q", s.Subject)
	}

	good, _ := os.ReadFile(ps.Config)
	reload(string(good)+"\n[scanner]\ncolour = \"red\"\n", "reload refused", "postseal.toml:", "scanner.colour: unknown key")
	d := send("kept@partner.example.net", "[confidential] budget")
	// The CLI refuses the broken file too; put the good one back to read the
	// envelope key (the running service never stopped using it).
	if err := os.WriteFile(ps.Config, good, 0o600); err != nil {
		t.Fatal(err)
	}
	s = postfixOpenSealed(t, ps, d)
	if s.Subject != "budget (encrypted)" {
		t.Errorf("after a refused reload the rules in force must stay; subject %q", s.Subject)
	}
}

// TestShutdownInFlight: SIGTERM while a tagged message is being sealed.
// The message in flight is finished: delivered sealed with a 250 (a
// temporary failure would mean the milter closed instead of draining), and
// postseal exits 0. The spool a crash left behind was emptied at start.
func TestShutdownInFlight(t *testing.T) {
	needRoot(t)
	reinject := freePort(t)
	dir := t.TempDir()
	spool := filepath.Join(dir, "spool")
	leftover := filepath.Join(spool, "body-crashed")
	if err := os.MkdirAll(spool, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(leftover, []byte("Patient Jane Roe, MRN 12345678\r\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	p, err := mta.StartPostseal(postsealBinary(t), dir, PostsealConfig{ReinjectPort: reinject})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		p.Stop()
		if t.Failed() {
			t.Logf("postseal log:\n%s", p.Log())
		}
	})
	ps := &Postseal{p}
	if _, err := os.Stat(leftover); !os.IsNotExist(err) {
		t.Fatalf("the plaintext body a crash left in the spool is still there after start (%v)", err)
	}
	pf := startPostfix(t, mta.Options{Milter: postfixMilterAddr(ps.MilterPort), ReinjectPort: reinject})
	rcpt := "inflight@partner.example.net"
	msg := postfixLargeMessage(9_000_000) // over 2 MiB: its body goes through the spool
	replies := make(chan mta.Reply, 1)
	errs := make(chan error, 1)
	go func() {
		rep, err := mta.Send(pf.SMTPAddr(), postfixSender, []string{rcpt}, msg)
		replies <- rep
		errs <- err
	}()
	// A spool file means postseal holds the message: that is "in flight".
	deadline := time.Now().Add(60 * time.Second)
	for {
		if files, _ := os.ReadDir(spool); len(files) > 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the message never reached postseal's spool")
		}
		select {
		case rep := <-replies:
			t.Fatalf("SMTP finished before the message was seen in flight: %v %v", rep, <-errs)
		case <-time.After(5 * time.Millisecond): // poll interval
		}
	}
	mark := pf.LogMark()
	if err := ps.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	rep := <-replies
	if err := <-errs; err != nil && rep.Code == 0 {
		t.Fatalf("SMTP: %v", err)
	}
	if err := ps.Wait(90 * time.Second); err != nil {
		t.Errorf("postseal did not exit cleanly after SIGTERM: %v\n%s", err, ps.LogTail(20))
	}
	if rep.Stage != "EOM" || rep.Code != 250 {
		t.Fatalf("in-flight message got %v: want 250, finished during the drain", rep)
	}
	d := postfixWait(t, pf, mark, rcpt, 1)[0]
	postfixOpenSealed(t, ps, d) // fails unless sealed
	if files, _ := os.ReadDir(spool); len(files) != 0 {
		t.Errorf("%d spool files left after shutdown", len(files))
	}
}
