package envelope

import (
	"strings"
	"testing"
)

// A first-time reader finds Register and Forgot your password? on the page
// before any attempt, in the securedoc and on the Open Online page; a
// partner's shared-password page has no account to register.
func TestFirstStepLinks(t *testing.T) {
	req := testRequest(textMessage())
	opt := testOptions()
	s := sealOK(t, req, opt)
	page := string(parseNotification(t, s).page)
	base := strings.TrimRight(opt.PublicURL, "/")
	for _, want := range []string{
		`<a id="register-link" href="` + base + `/register?envelope=` + req.ID + `" target="_blank" rel="noopener noreferrer">Register</a>`,
		`<a id="forgot-link" href="` + base + `/forgot" target="_blank" rel="noopener noreferrer">Forgot your password?</a>`,
	} {
		if !strings.Contains(page, want) {
			t.Errorf("securedoc lacks %s", want)
		}
	}
	// Inside the form the decryptor shows: first steps sit with the password.
	form := page[strings.Index(page, `<form id="unlock"`):]
	form = form[:strings.Index(form, "</form>")]
	if !strings.Contains(form, `id="register-link"`) || !strings.Contains(form, `id="forgot-link"`) {
		t.Error("the links are not part of the unlock form")
	}

	online := openPage(t, OpenPage{EnvelopeID: req.ID, Payload: payloadOf(t, []byte(page)), PublicURL: "https://keys.example.org/", Organization: "Example Health"})
	for _, want := range []string{`href="https://keys.example.org/register?envelope=` + req.ID + `"`, `href="https://keys.example.org/forgot"`} {
		if !strings.Contains(online, want) {
			t.Errorf("Open Online page lacks %s", want)
		}
	}

	shared := testRequest(textMessage())
	shared.Password = []byte("partner secret 1234")
	sp := string(parseNotification(t, sealOK(t, shared, opt)).page)
	if strings.Contains(sp, `id="register-link"`) || strings.Contains(sp, `id="forgot-link"`) {
		t.Error("a shared-password page offers registration")
	}
}
