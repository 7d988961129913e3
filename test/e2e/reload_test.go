package e2e

import (
	"os"
	"strings"
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
