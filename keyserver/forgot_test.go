package keyserver

import (
	"errors"
	"net/http"
	"net/url"
	"testing"
)

// A reset asked for is mailed after the answer, so a link that could not
// be queued is known from the log alone: logged as an error, while a
// reset that went out (or an address without an account, which gets
// nothing on purpose) logs no error.
func TestForgotFailureLogged(t *testing.T) {
	f := newFixture(t)
	log := f.recordLog()
	f.putAccount("ann@partner.example", testPassword, true, false)
	for _, addr := range []string{"ann@partner.example", "bob@partner.example"} {
		if rec := f.postForm("/forgot", url.Values{"email": {addr}}); rec.Code != http.StatusOK {
			t.Fatalf("forgot %s: %d", addr, rec.Code)
		}
	}
	f.srv.Close()
	if got := loggedLines(log, "level=ERROR"); len(got) != 0 {
		t.Errorf("errors logged for resets that went as planned: %q", got)
	}
	f.mail.fail = errors.New("queue full")
	if rec := f.postForm("/forgot", url.Values{"email": {"ann@partner.example"}}); rec.Code != http.StatusOK {
		t.Fatalf("forgot with the queue failing: %d", rec.Code)
	}
	f.srv.Close()
	if got := loggedLines(log, "level=ERROR", "key service: password reset", "ann@partner.example", "queue full"); len(got) != 1 {
		t.Errorf("a reset whose mail failed logged %d errors; want 1", len(got))
	}
}
