package e2e

import (
	"fmt"
	"net/http"
	"net/url"
	"path/filepath"
	"strings"
	"testing"

	"github.com/postseal/postseal/store/pgtest"
	"github.com/postseal/postseal/test/mta"
)

// TestTwoServersOnePostgreSQL: two `postseal serve` processes — two mail
// servers' milters and key services — share one PostgreSQL and one master
// key. Each seals a message; a recipient registers on one, activates on the
// other, and each key service releases the key of the other's envelope.
func TestTwoServersOnePostgreSQL(t *testing.T) {
	needRoot(t)
	dsn := pgtest.DSN(t)
	reinject := freePort(t)
	key := filepath.Join(t.TempDir(), "master.key")
	pc := PostsealConfig{ReinjectPort: reinject, StoreDriver: "postgres", StoreDSN: dsn, MasterKey: key}
	first := startPostseal(t, pc) // creates the schema and the master key
	second := startPostseal(t, pc)
	pf := startPostfix(t, mta.Options{
		Milter:       postfixMilterAddr(first.MilterPort),
		ReinjectPort: reinject,
		Listeners:    []mta.Listener{{Name: "second", Milter: postfixMilterAddr(second.MilterPort)}},
	})
	rcpt := "shared-reader@partner.example.net"
	const password = "two servers, one database"

	mark := postfixMustAccept(t, pf, mta.SMTP, postfixSender, []string{rcpt}, postfixMessage(t, "plusplus.eml"))
	one := postfixOpenSealed(t, first, postfixWait(t, pf, mark, rcpt, 1)[0])
	mark = postfixMustAccept(t, pf, "second", postfixSender, []string{rcpt}, postfixMessage(t, "secure-attachment.eml"))
	var two *postfixSealed
	for _, d := range postfixWait(t, pf, 0, rcpt, 2) {
		if s := postfixOpenSealed(t, second, d); s.ID != one.ID {
			two = s
		}
	}
	if two == nil {
		t.Fatal("the second server's envelope was not delivered")
	}
	if !strings.Contains(first.Log(), one.ID) || !strings.Contains(second.Log(), two.ID) {
		t.Fatal("each server should have sealed one of the messages")
	}

	base1 := fmt.Sprintf("http://127.0.0.1:%d", first.HTTPPort)
	base2 := fmt.Sprintf("http://127.0.0.1:%d", second.HTTPPort)
	resp, err := http.PostForm(base1+"/register", url.Values{
		"email": {rcpt}, "first_name": {"Sam"}, "last_name": {"Shared"},
		"password": {password}, "confirm_password": {password}, "envelope": {one.ID},
	})
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	var link string
	for _, d := range postfixWait(t, pf, mark, rcpt, 3) { // two envelopes, then the activation mail
		if m := keyserverActivationRe.FindString(keyserverMailText(t, d.Data)); m != "" {
			link = m
		}
	}
	if !strings.HasPrefix(link, base1+"/activate/") {
		t.Fatalf("activation link %q; want one from the first key service", link)
	}
	// The token is in the shared database: the other key service takes it.
	resp, err = http.PostForm(base2+strings.TrimPrefix(link, base1), url.Values{"password": {password}})
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("activation on the second key service: %s", resp.Status)
	}

	for _, c := range []struct {
		base string
		env  *postfixSealed
		by   *Postseal
	}{{base2, one, first}, {base1, two, second}} {
		want := strings.TrimSpace(c.by.Run(t, "envelope", "key", c.env.ID))
		if status, ans := keyserverRelease(t, c.base, c.env.ID, rcpt, password); status != 200 || ans["key"] != want {
			t.Errorf("%s releasing %s: %d %v; want its key", c.base, c.env.ID, status, ans)
		}
	}
	// Both processes wrote one audit chain: it verifies, and holds both
	// seals and one read receipt per envelope, whichever process released.
	if out := second.Run(t, "audit", "verify"); !strings.Contains(out, "audit chain intact") {
		t.Errorf("audit verify: %s", out)
	}
	exp := first.Run(t, "audit", "export")
	if strings.Count(exp, `"kind":"sealed"`) != 2 || strings.Count(exp, `"kind":"receipt_sent"`) != 2 {
		t.Errorf("the shared audit chain lacks a seal or a receipt:\n%s", exp)
	}
}
