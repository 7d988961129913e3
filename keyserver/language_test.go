package keyserver

import (
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"regexp"
	"strings"
	"testing"

	"github.com/postseal/postseal/locale"
)

func (f *fixture) getWith(path string, header map[string]string) *httptest.ResponseRecorder {
	f.t.Helper()
	req := httptest.NewRequest(http.MethodGet, path, nil)
	for k, v := range header {
		req.Header.Set(k, v)
	}
	return f.do(req, "")
}

// The pages speak the browser's language, a choice on the page wins and
// is kept in a cookie, and the organisation's language is the fallback.
func TestPagesLanguage(t *testing.T) {
	f := newFixture(t)
	es := f.getWith("/register?email=ana%40partner.example", map[string]string{"Accept-Language": "es-ES,es;q=0.9,en;q=0.5"})
	body := es.Body.String()
	for _, want := range []string{
		`<html lang="es">`, `<label for="email">Correo electrónico</label>`, `<label for="password">Contraseña</label>`,
		`<button type="submit">Registrarse</button>`, `<option value="es" lang="es" selected>Español</option>`,
		`Al menos 12 caracteres.`, `value="ana@partner.example"`,
	} {
		if !strings.Contains(body, want) {
			t.Errorf("Spanish register page lacks %s", want)
		}
	}
	// The picker keeps the page's query and offers every language.
	if !strings.Contains(body, `href="/register?email=ana%40partner.example&amp;lang=en" lang="en" hreflang="en">English</a>`) {
		t.Errorf("no English link keeping the query:\n%s", body)
	}
	if en := f.getWith("/register", map[string]string{"Accept-Language": "fr, en;q=0.5"}).Body.String(); !strings.Contains(en, `<button type="submit">Register</button>`) {
		t.Error("an English-speaking browser did not get the English page")
	}

	pick := f.getWith("/login?lang=es", nil)
	var cookie *http.Cookie
	for _, c := range pick.Result().Cookies() {
		if c.Name == langCookie {
			cookie = c
		}
	}
	// The choice is kept for a year.
	if cookie == nil || cookie.Value != "es" || !cookie.HttpOnly || cookie.MaxAge != 365*24*60*60 {
		t.Fatalf("choosing Español set cookie %+v; want es, HttpOnly, Max-Age a year", cookie)
	}
	if got := f.getWith("/forgot", map[string]string{"Cookie": langCookie + "=es", "Accept-Language": "en"}).Body.String(); !strings.Contains(got, "Enviar enlace") {
		t.Error("the chosen language did not outlast the browser's preference")
	}
	// Sentences set by handlers are translated too, formatted ones included.
	short := registration("x@partner.example")
	short.Set("password", "short")
	short.Set("confirm_password", "short")
	rec := f.postForm("/register", short, &http.Cookie{Name: langCookie, Value: "es"})
	if !strings.Contains(rec.Body.String(), "La contraseña debe tener al menos 12 caracteres.") {
		t.Errorf("the refusal is not in Spanish:\n%s", rec.Body)
	}

	g := newFixture(t, func(c *Config) { c.Language = "es" })
	if got := g.get("/").Body.String(); !strings.Contains(got, `<html lang="es">`) {
		t.Error("[organization] language = \"es\" is not the default")
	}
}

// Every sentence of the pages' templates has its Spanish translation.
func TestPagesSpanishComplete(t *testing.T) {
	keyRe := regexp.MustCompile(`\.T "((?:[^"\\]|\\.)*)"`)
	names, _ := templateFS.ReadDir("templates")
	var keys []string
	for _, n := range names {
		b, err := os.ReadFile("templates/" + n.Name())
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range keyRe.FindAllStringSubmatch(string(b), -1) {
			keys = append(keys, strings.ReplaceAll(m[1], `\"`, `"`))
		}
	}
	if len(keys) < 50 {
		t.Fatalf("found only %d template sentences", len(keys))
	}
	if miss := locale.Builtin().Missing("es", keys); len(miss) > 0 {
		t.Errorf("no Spanish for %d template sentences: %q", len(miss), miss)
	}
}

// The language chosen at registration is kept with the account, and the
// account's mails are written in it, whatever page later asks for them.
func TestAccountLanguage(t *testing.T) {
	f := newFixture(t)
	f.putEnvelope("env1", "ana@partner.example")
	v := registration("ana@partner.example")
	v.Set("language", "es")
	if rec := f.postForm("/register", v); rec.Code != 200 {
		t.Fatalf("register: %d", rec.Code)
	}
	link := f.link("ana@partner.example")
	mails := f.mail.sent()
	text := mailText(t, mails[len(mails)-1].Data)
	if !strings.Contains(text, "Hola:") || !strings.Contains(text, "pulse «Activar»") || strings.Contains(text, "Hello") {
		t.Errorf("activation mail not in Spanish:\n%s", text)
	}
	if rec := f.postForm(link, activation(testPassword)); rec.Code != 200 {
		t.Fatalf("activate: %d %s", rec.Code, rec.Body)
	}
	if a := f.account("ana@partner.example"); a.Language != "es" {
		t.Fatalf("account language %q; want es", a.Language)
	}
	// An English page asks for a reset: the owner's choice wins.
	if rec := f.postForm("/forgot", url.Values{"email": {"ana@partner.example"}}, &http.Cookie{Name: langCookie, Value: "en"}); rec.Code != 200 {
		t.Fatalf("forgot: %d", rec.Code)
	}
	f.srv.Close()
	mails = f.mail.sent()
	text = mailText(t, mails[len(mails)-1].Data)
	if !strings.Contains(text, "restablecer la contraseña") {
		t.Errorf("reset mail not in the account's language:\n%s", text)
	}
}
