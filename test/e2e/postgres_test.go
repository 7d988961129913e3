package e2e

import (
	"bytes"
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/base64"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"path/filepath"
	"strings"
	"testing"
	"time"

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
	// The phone page of an envelope one process sealed is served by the
	// other, from the shared database, with the payload the securedoc has.
	for _, c := range []struct {
		base string
		env  *postfixSealed
	}{{base2, one}, {base1, two}} {
		resp, err := http.Get(c.base + "/m/" + c.env.ID)
		if err != nil {
			t.Fatal(err)
		}
		page, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		armour := postfixArmorRe.Find(c.env.HTML)
		if resp.StatusCode != 200 || armour == nil || !bytes.Contains(bytes.ReplaceAll(page, []byte("\r"), nil), bytes.ReplaceAll(armour, []byte("\r"), nil)) {
			t.Errorf("%s/m/%s: %s; want the page with the securedoc's payload", c.base, c.env.ID, resp.Status)
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

// TestPostfixDropsStreamedBodyOnTempFail: postseal writes a sealed body to
// Postfix in replace-body chunks as it is made and records the envelope
// after it (the record holds the payload's digest). When the record fails —
// here PostgreSQL refuses the insert, through a trigger — chunks Postfix has
// already taken must go with the message: the client gets 451 and nothing is
// delivered or queued. With the trigger gone the same message is delivered
// sealed and opens.
func TestPostfixDropsStreamedBodyOnTempFail(t *testing.T) {
	needRoot(t)
	dsn := pgtest.DSN(t)
	reinject := freePort(t)
	ps := startPostseal(t, PostsealConfig{ReinjectPort: reinject, StoreDriver: "postgres", StoreDSN: dsn,
		MasterKey: filepath.Join(t.TempDir(), "master.key")})
	pf := startPostfix(t, mta.Options{Milter: postfixMilterAddr(ps.MilterPort), ReinjectPort: reinject})

	db, err := sql.Open("pgx", dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if _, err := db.ExecContext(ctx, `CREATE FUNCTION refuse_envelope() RETURNS trigger LANGUAGE plpgsql AS
		$$BEGIN RAISE EXCEPTION 'envelope refused by the test'; END$$;
		CREATE TRIGGER refuse_envelope BEFORE INSERT ON envelopes FOR EACH ROW EXECUTE FUNCTION refuse_envelope()`); err != nil {
		t.Fatal(err)
	}

	// An attachment that is already compressed (random bytes, base64):
	// its sealed body is many 64 KB chunks long, all sent before the
	// envelope is recorded.
	raw := make([]byte, 400_000)
	_, _ = rand.Read(raw)
	var msg bytes.Buffer
	msg.WriteString("From: Dr. Alice Example <alice@example.org>\r\nTo: pat@partner.example.net\r\n" +
		"Subject: *secure* scan results\r\nMIME-Version: 1.0\r\n" +
		"Content-Type: application/octet-stream; name=\"scan.bin\"\r\nContent-Transfer-Encoding: base64\r\n\r\n")
	for enc := base64.StdEncoding.EncodeToString(raw); enc != ""; {
		k := min(len(enc), 76)
		msg.WriteString(enc[:k] + "\r\n")
		enc = enc[k:]
	}
	rcpt := "pat@partner.example.net"
	mark := pf.LogMark()
	logAt := len(ps.Log())
	rep := postfixSend(t, pf, mta.SMTP, postfixSender, []string{rcpt}, msg.Bytes())
	if rep.Code != 451 || !strings.HasPrefix(rep.Text, "4.3.0") {
		t.Fatalf("envelope record refused: got %v, want 451 4.3.0\nmaillog:\n%s", rep, postfixLogFor(pf, rcpt))
	}
	if _, err := pf.WaitMaillog(mark, postfixLogTimeout, "milter-reject", "to=<"+rcpt+">"); err != nil {
		t.Fatal(err)
	}
	if l := ps.Log()[logAt:]; !strings.Contains(l, "envelope refused by the test") {
		t.Fatalf("postseal did not log the refused record:\n%s", l)
	}
	postfixNothingDelivered(t, pf, rcpt)

	if _, err := db.ExecContext(ctx, `DROP TRIGGER refuse_envelope ON envelopes`); err != nil {
		t.Fatal(err)
	}
	mark = postfixMustAccept(t, pf, mta.SMTP, postfixSender, []string{rcpt}, msg.Bytes())
	d := postfixWait(t, pf, mark, rcpt, 1)[0]
	s := postfixOpenSealed(t, ps, d)
	if body := msg.Bytes()[msg.Len()-2000:]; !bytes.Contains(bytes.ReplaceAll(s.Payload, []byte("\r\n"), []byte("\n")), bytes.ReplaceAll(body, []byte("\r\n"), []byte("\n"))) {
		t.Fatal("the delivered envelope does not hold the message")
	}
}
