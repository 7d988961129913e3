package e2e

// A first-time recipient in Spanish, in Chromium: the securedoc a real
// Postfix delivered speaks Spanish (the recipient's domain is mapped to
// it), its Registrarse link leads to the key service's pages in Spanish,
// the activation mail is in Spanish, the message opens; ¿Olvidó su
// contraseña? from the page sends a Spanish reset mail; the notification's
// "Abrir en el teléfono" link opens the message on a Spanish page; /help
// renders.
// axe-core checks every page of the journey (WCAG 2.1 A and AA): no
// serious or critical violation.

import (
	"fmt"
	"regexp"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/postseal/postseal/test/mta"
)

var spanishPhoneRe = regexp.MustCompile(`<a href="(http://127\.0\.0\.1:\d+/m/[a-z0-9]+\?lang=es)">Abrir en el teléfono</a>`)

var spanishResetRe = regexp.MustCompile(`http://127\.0\.0\.1:\d+/reset/[A-Za-z0-9_-]{43}`)

func TestBrowserSpanishJourney(t *testing.T) {
	needRoot(t)
	ctx := startBrowser(t)
	axeBypassCSP(t, ctx)
	reinject := freePort(t)
	ps := startPostseal(t, PostsealConfig{ReinjectPort: reinject, Extra: "[organization.languages]\n\"hospital.example.es\" = \"es\"\n"})
	pf := startPostfix(t, mta.Options{Milter: postfixMilterAddr(ps.MilterPort), ReinjectPort: reinject})
	base := fmt.Sprintf("http://127.0.0.1:%d", ps.HTTPPort)
	rcpt := "ana@hospital.example.es"
	const password = "caballo correcto grapa bateria"

	mark, _, docURL := postfixSealedDoc(t, pf, ps, rcpt, []byte("resultados"))

	browserDo(t, ctx, "the securedoc in Spanish",
		chromedp.Navigate(docURL),
		chromedp.WaitVisible(chromedp.CSS("#register-link")),
	)
	if got := browserEval[string](t, ctx, `document.documentElement.lang + "|" + document.querySelector('#open').textContent + "|" + document.querySelector('#register-link').textContent + "|" + document.querySelector('#forgot-link').textContent + "|" + document.querySelector('label[for=password]').textContent`); got != "es|Abrir|Registrarse|¿Olvidó su contraseña?|Contraseña" {
		t.Fatalf("securedoc: %q; want it in Spanish", got)
	}
	axeCheck(t, ctx, "securedoc")
	// A blank password: the decryptor's sentence is Spanish too.
	browserDo(t, ctx, "blank password", chromedp.Click(chromedp.CSS("#open")), chromedp.WaitVisible(chromedp.CSS("#error")))
	if msg := browserText(ctx, "#error"); !strings.Contains(msg, "aún no tiene contraseña") {
		t.Errorf("blank password told %q; want the Spanish sentence", msg)
	}
	axeCheck(t, ctx, "securedoc with an error")
	register := browserEval[string](t, ctx, `document.querySelector('#register-link').href`)
	if !strings.HasPrefix(register, base+"/register?") || !strings.Contains(register, "lang=es") || !strings.Contains(register, "ana%40hospital.example.es") {
		t.Fatalf("Registrarse links to %q", register)
	}

	browserDo(t, ctx, "register",
		chromedp.Navigate(register),
		chromedp.WaitVisible(chromedp.CSS(`input[name="first_name"]`)),
	)
	if got := browserEval[string](t, ctx, `document.documentElement.lang + "|" + document.querySelector('label[for=first_name]').textContent + "|" + document.querySelector('#language').value`); got != "es|Nombre|es" {
		t.Fatalf("registration page: %q; want Spanish with Español chosen", got)
	}
	axeCheck(t, ctx, "/register")
	browserRegisterForm(t, ctx, "Ana", "García", password)
	if got := browserText(ctx, "h1"); got != "Revise su correo" {
		t.Fatalf("after Registrarse: %q", got)
	}
	axeCheck(t, ctx, "registered")

	var link, text string
	for _, d := range postfixWait(t, pf, mark, rcpt, 2) {
		body := keyserverMailText(t, d.Data)
		if m := keyserverActivationRe.FindString(body); m != "" {
			link, text = m, body
		}
	}
	if link == "" || !strings.Contains(text, "Hola:") || !strings.Contains(text, "«Activar»") {
		t.Fatalf("activation mail %q not in Spanish or without a link", text)
	}
	browserDo(t, ctx, "activate",
		chromedp.Navigate(link),
		chromedp.WaitVisible(chromedp.CSS(`input[name="password"]`)),
		chromedp.SetValue(chromedp.CSS(`input[name="password"]`), password),
	)
	if b := browserText(ctx, `form button[type="submit"]`); b != "Activar" {
		t.Errorf("activation button %q; want Activar", b)
	}
	axeCheck(t, ctx, "/activate")
	browserSubmit(t, ctx, `form button[type="submit"]`)
	if got := browserText(ctx, "h1"); got != "Dirección confirmada" {
		t.Fatalf("after Activar: %q", got)
	}
	axeCheck(t, ctx, "activated")

	browserOpenAt(t, ctx, "open the message", docURL, password, "#message")
	if got := browserText(ctx, "#msg-text"); !strings.Contains(got, "Browser body marker") {
		t.Errorf("opened message text %q", got)
	}
	axeCheck(t, ctx, "the opened message")

	// A reply the key service refuses says why in the page's language
	// (the browser itself asks for English).
	browserDo(t, ctx, "forward to a bad address",
		chromedp.Click(chromedp.CSS("#reply-forward")),
		chromedp.WaitVisible(chromedp.CSS("#compose-to")),
		chromedp.SetValue(chromedp.CSS("#compose-to"), "no-es-una-direccion"),
		chromedp.SetValue(chromedp.CSS("#compose-text"), "Hola"),
		chromedp.Click(chromedp.CSS("#compose-send")),
		chromedp.WaitVisible(chromedp.CSS("#compose-error")),
	)
	if got := browserText(ctx, "#compose-error"); !strings.Contains(got, "«no-es-una-direccion» no es una dirección de correo electrónico") {
		t.Errorf("the refused reply says %q; want the key service's answer in Spanish", got)
	}
	// The page names its language to the key service itself.
	if urls := browserEval[[]string](t, ctx, `performance.getEntriesByType('resource').map(e => e.name).filter(u => u.includes('/reply'))`); len(urls) != 1 || !strings.HasSuffix(urls[0], "/reply?lang=es") {
		t.Errorf("the reply was posted to %q; want …/reply?lang=es", urls)
	}

	// ¿Olvidó su contraseña? from the page, after the account exists.
	forgot := browserEval[string](t, ctx, `document.querySelector('#forgot-link').href`)
	browserDo(t, ctx, "forgot",
		chromedp.Navigate(forgot),
		chromedp.WaitVisible(chromedp.CSS(`input[name="email"]`)),
	)
	if got := browserEval[string](t, ctx, `document.querySelector('input[name=email]').value + "|" + document.querySelector('form button').textContent`); got != rcpt+"|Enviar enlace" {
		t.Fatalf("forgot page: %q", got)
	}
	axeCheck(t, ctx, "/forgot")
	browserSubmit(t, ctx, `form button[type="submit"]`)
	axeCheck(t, ctx, "forgot sent")
	var reset string
	for _, d := range postfixWait(t, pf, mark, rcpt, 3) {
		if body := keyserverMailText(t, d.Data); spanishResetRe.MatchString(body) {
			reset = body
		}
	}
	if !strings.Contains(reset, "restablecer la contraseña") {
		t.Errorf("reset mail not in Spanish: %q", reset)
	}

	// The notification's phone link, in Spanish, opens a Spanish page.
	var phone string
	for _, d := range postfixWait(t, pf, mark, rcpt, 3) {
		if m := spanishPhoneRe.FindStringSubmatch(mailPart(t, d.Data, "text/html")); m != nil {
			phone = m[1]
		}
	}
	if phone == "" {
		t.Fatal("no \"Abrir en el teléfono\" link in the Spanish notification")
	}
	browserOpenAt(t, ctx, "the phone link", phone, password, "#message")
	if got := browserEval[string](t, ctx, `document.documentElement.lang + "|" + document.querySelector('#open').textContent`); got != "es|Abrir" || !strings.Contains(browserText(ctx, "#msg-text"), "Browser body marker") {
		t.Errorf("phone page: %q, message %q; want it in Spanish, opened", got, browserText(ctx, "#msg-text"))
	}
	axeCheck(t, ctx, "the phone page")

	browserDo(t, ctx, "help", chromedp.Navigate(base+"/help"), chromedp.WaitVisible(chromedp.CSS("#contact")))
	if got := browserText(ctx, "h1"); got != "Ayuda con los mensajes seguros" {
		t.Errorf("/help: %q", got)
	}
	axeCheck(t, ctx, "/help")
	browserDo(t, ctx, "login", chromedp.Navigate(base+"/login"), chromedp.WaitVisible(chromedp.CSS("#email")))
	axeCheck(t, ctx, "/login")
	browserDo(t, ctx, "home", chromedp.Navigate(base+"/"), chromedp.WaitVisible(chromedp.CSS("h1")))
	axeCheck(t, ctx, "/")
}
