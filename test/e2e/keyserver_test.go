package e2e

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/emersion/go-message"

	"github.com/postseal/postseal/test/mta"
)

// The recipient's path over HTTP, with the real pieces around it: Postfix
// delivers a sealed message; its recipient has no account (401 with a
// register link); registers; the activation mail comes back through the
// MTA into the sink; the link's button activates the account; the key
// service then releases the key that opens the envelope (the same that
// `postseal envelope key` prints and gpg used), and still refuses a wrong
// password.
func TestKeyServiceRegisterActivateRelease(t *testing.T) {
	needRoot(t)
	env := startPostfixEnv(t)
	pf, ps := env.pf, env.ps
	base := fmt.Sprintf("http://127.0.0.1:%d", ps.HTTPPort)
	rcpt := "ks-reader@partner.example.net"
	const password = "a long and memorable passphrase"

	mark := postfixMustAccept(t, pf, mta.SMTP, postfixSender, []string{rcpt}, postfixMessage(t, "secure-attachment.eml"))
	sealed := postfixOpenSealed(t, ps, postfixWait(t, pf, mark, rcpt, 1)[0])
	want := strings.TrimSpace(ps.Run(t, "envelope", "key", sealed.ID))

	status, ans := keyserverRelease(t, base, sealed.ID, rcpt, password)
	if status != 401 || ans["error"] != "invalid_credentials" || !strings.HasPrefix(ans["register_url"], base+"/register?email=") {
		t.Fatalf("before registering: %d %v", status, ans)
	}

	keyserverRegister(t, pf, mark, base, rcpt, sealed.ID, password, 1)

	if status, ans := keyserverRelease(t, base, sealed.ID, strings.ToUpper(rcpt), password); status != 200 || ans["key"] != want {
		t.Errorf("release: %d %v; want the envelope's key %q", status, ans, want)
	}
	if status, ans := keyserverRelease(t, base, sealed.ID, rcpt, "not the password"); status != 401 || ans["key"] != "" {
		t.Errorf("wrong password: %d %v", status, ans)
	}
}

// keyserverRegister registers rcpt as the /register form does (for the
// envelope id) and activates the account from the activation mail the MTA
// delivered; rcpt had delivered copies since mark before it.
func keyserverRegister(t *testing.T, pf *mta.Postfix, mark int64, base, rcpt, id, password string, delivered int) {
	t.Helper()
	resp, err := http.PostForm(base+"/register", url.Values{
		"email": {rcpt}, "first_name": {"Kay"}, "last_name": {"Reader"},
		"password": {password}, "confirm_password": {password}, "envelope": {id},
	})
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || !strings.Contains(string(body), "Check your mail") {
		t.Fatalf("register: %d %s", resp.StatusCode, body)
	}

	// The sealed copy and now the activation mail.
	link := mailedActivation(t, pf, mark, rcpt, delivered+1)
	if !strings.HasPrefix(link, base+"/activate/") {
		t.Fatalf("no activation link %s/activate/… in the mails to %s", base, rcpt)
	}
	resp, err = http.Get(link)
	if err != nil {
		t.Fatal(err)
	}
	body, _ = io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || !strings.Contains(string(body), ">Activate</button>") {
		t.Fatalf("activation page: %d %s", resp.StatusCode, body)
	}
	resp, err = http.PostForm(link, url.Values{"password": {password}})
	if err != nil {
		t.Fatal(err)
	}
	body, _ = io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || !strings.Contains(string(body), "is confirmed") {
		t.Fatalf("activate: %d %s", resp.StatusCode, body)
	}
}

// mailedActivation is the (last) activation link in the mails to rcpt
// since mark, once n have been delivered; "" for none.
func mailedActivation(t testing.TB, pf *mta.Postfix, mark int64, rcpt string, n int) string {
	t.Helper()
	var link string
	for _, d := range postfixWait(t, pf, mark, rcpt, n) {
		if m := keyserverActivationRe.FindString(keyserverMailText(t, d.Data)); m != "" {
			link = m
		}
	}
	return link
}

var keyserverActivationRe = regexp.MustCompile(`http://127\.0\.0\.1:\d+/activate/[A-Za-z0-9_-]{43}`)

// keyserverRelease asks for a key as the securedoc does (JSON as
// text/plain: a simple cross-origin request).
func keyserverRelease(t *testing.T, base, id, email, password string) (int, map[string]string) {
	t.Helper()
	b, _ := json.Marshal(map[string]string{"email": email, "password": password})
	req, _ := http.NewRequest("POST", base+"/api/v1/envelopes/"+id+"/key", bytes.NewReader(b))
	req.Header.Set("Content-Type", "text/plain;charset=UTF-8")
	req.Header.Set("Origin", "null")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.Header.Get("Access-Control-Allow-Origin") != "*" {
		t.Errorf("key answer without Access-Control-Allow-Origin: *")
	}
	var ans map[string]any
	if err := json.NewDecoder(resp.Body).Decode(&ans); err != nil {
		t.Fatalf("key answer is not JSON: %v", err)
	}
	out := map[string]string{}
	for k, v := range ans {
		out[k] = fmt.Sprint(v)
	}
	return resp.StatusCode, out
}

// keyserverMailText returns the text/plain part of a delivered mail ("" if none).
func keyserverMailText(t testing.TB, data []byte) string { return mailPart(t, data, "text/plain") }

// mailPart returns the first part of a delivered mail of media type mt
// that is not an attachment ("" if none).
func mailPart(t testing.TB, data []byte, mt string) string {
	t.Helper()
	e, err := message.Read(bytes.NewReader(data))
	if err != nil {
		t.Fatal(err)
	}
	var out string
	_ = e.Walk(func(_ []int, p *message.Entity, err error) error {
		typ, _, _ := p.Header.ContentType()
		if disp, _, _ := p.Header.ContentDisposition(); typ == mt && disp != "attachment" && out == "" {
			b, _ := io.ReadAll(p.Body)
			out = string(b)
		}
		return nil
	})
	return out
}
