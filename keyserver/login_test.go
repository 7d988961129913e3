package keyserver

import (
	"errors"
	"net/http"
	"net/url"
	"strings"
	"testing"
)

// The owner's notice names what happened: a change from the account page
// says "changed", a reset from a mailed link says "reset" (which tells
// the owner whether someone had the session or the mailbox).
func TestPasswordNoticeSaysChangedOrReset(t *testing.T) {
	f := newFixture(t)
	f.putAccount("ann@partner.example", testPassword, true, false)
	c := f.loginCookie("ann@partner.example")
	change := url.Values{"current_password": {testPassword}, "new_password": {"a new long passphrase"}, "confirm_password": {"a new long passphrase"}}
	if rec := f.postForm("/account/password", change, c); rec.Code != http.StatusOK {
		t.Fatalf("change: %d", rec.Code)
	}
	f.postForm("/forgot", url.Values{"email": {"ann@partner.example"}})
	link := f.link("ann@partner.example")
	if rec := f.postForm(link, url.Values{"password": {"yet another passphrase"}, "confirm_password": {"yet another passphrase"}}); rec.Code != http.StatusOK {
		t.Fatalf("reset: %d", rec.Code)
	}
	f.srv.Close()
	var notices []string
	for _, m := range f.mail.sent() {
		if text := mailText(t, m.Data); strings.Contains(text, "If this was you, you need not do anything.") {
			notices = append(notices, text)
		}
	}
	if len(notices) != 2 {
		t.Fatalf("%d notices; want 2", len(notices))
	}
	if !strings.Contains(notices[0], "was changed on") || strings.Contains(notices[0], "was reset on") {
		t.Errorf("notice of a change:\n%s", notices[0])
	}
	if !strings.Contains(notices[1], "was reset on") || strings.Contains(notices[1], "was changed on") {
		t.Errorf("notice of a reset:\n%s", notices[1])
	}
}

// A notice that cannot be queued does not undo the change (the password
// is set), and the operator learns of it from an error in the log; a
// notice that was queued logs nothing.
func TestPasswordNoticeFailureLogged(t *testing.T) {
	f := newFixture(t)
	log := f.recordLog()
	f.putAccount("ann@partner.example", testPassword, true, false)
	c := f.loginCookie("ann@partner.example")
	change := url.Values{"current_password": {testPassword}, "new_password": {"a new long passphrase"}, "confirm_password": {"a new long passphrase"}}
	rec := f.postForm("/account/password", change, c)
	if rec.Code != http.StatusOK {
		t.Fatalf("change: %d", rec.Code)
	}
	if got := loggedLines(log, "password change notice"); len(got) != 0 {
		t.Errorf("a queued notice logged %q", got)
	}
	f.mail.fail = errors.New("queue full")
	again := url.Values{"current_password": {"a new long passphrase"}, "new_password": {"a third passphrase"}, "confirm_password": {"a third passphrase"}}
	rec = f.postForm("/account/password", again, sessionCookie(t, rec.Header()))
	if rec.Code != http.StatusOK || !strings.Contains(rec.Body.String(), "has been changed") {
		t.Fatalf("change with the queue failing: %d", rec.Code)
	}
	if rec := f.postForm("/login", url.Values{"email": {"ann@partner.example"}, "password": {"a third passphrase"}}); rec.Code != http.StatusSeeOther {
		t.Errorf("login with the password set while the queue failed: %d; want 303", rec.Code)
	}
	if got := loggedLines(log, "level=ERROR", "password change notice", "ann@partner.example", "queue full"); len(got) != 1 {
		t.Errorf("a notice that failed logged %d errors; want 1", len(got))
	}
}
