package e2e

// A first-time recipient in Firefox ESR, the whole way from the securedoc:
// a real Postfix delivers the sealed message; its securedoc, saved to disk,
// opens in Firefox (file://); Register opens the key service's form in a
// new tab with the address filled in; the activation link comes from the
// mail the key service sent (delivered by the same Postfix); the tab
// activates the account; back in the securedoc's tab, Open shows the
// message. One browser, as a person does it (test/firefox/journey.mjs).

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/postseal/postseal/test/mta"
)

// The first-time reader of the Firefox journey.
const (
	foxReader   = "fox-reader@partner.example.net"
	foxPassword = "a first time in firefox esr"
)

func TestFirefoxFirstTimeJourney(t *testing.T) {
	needRoot(t)
	env := startPostfixEnv(t)
	pf, rcpt := env.pf, foxReader
	mark, sealed, docURL := postfixSealedDoc(t, pf, env.ps, rcpt, []byte("firefox attachment"))
	root, err := mta.RepoRoot()
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	start := time.Now()
	steps, err := mta.RunFirefoxJourney(ctx, root, docURL, rcpt, foxPassword, func(reg mta.FirefoxStep) (string, error) {
		// The securedoc and the activation mail arrive by the same MTA.
		if link := mailedActivation(t, pf, mark, rcpt, 2); link != "" {
			return link, nil
		}
		return "", fmt.Errorf("no activation link in the mails to %s", rcpt)
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("Firefox first-time journey (browser start to message shown): %v", time.Since(start).Round(time.Millisecond))
	if len(steps) != 3 {
		t.Fatalf("steps %+v; want registered, activated, opened", steps)
	}
	reg, act, open := steps[0], steps[1], steps[2]
	base := fmt.Sprintf("http://127.0.0.1:%d", env.ps.HTTPPort)
	if !strings.HasPrefix(reg.RegisterURL, base+"/register?") || !strings.Contains(reg.RegisterURL, "envelope="+sealed.ID) {
		t.Errorf("Register links to %q; want the key service's form for envelope %s", reg.RegisterURL, sealed.ID)
	}
	if reg.Email != rcpt || reg.Heading != "Check your mail" || !strings.HasPrefix(reg.TabURL, base+"/register") {
		t.Errorf("registration: %+v; want the form filled in with %s, then \"Check your mail\"", reg, rcpt)
	}
	if act.Step != "activated" || !strings.Contains(act.Text, rcpt+" is confirmed") {
		t.Errorf("activation: %+v", act)
	}
	if open.Outcome != "message" || open.Subject != "*secure* Your results" || !strings.Contains(open.Body, "Browser body marker") {
		t.Errorf("back in the securedoc, Open showed %+v; want the message", open)
	}
}
