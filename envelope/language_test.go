package envelope

import (
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
)

func TestLanguageFor(t *testing.T) {
	o := Options{Language: "en", Languages: map[string]string{"hospital.es": "es", "*.mx": "es", "clinic.mx": "en"}}
	for rcpts, want := range map[string]string{
		"ana@hospital.es":                     "es",
		"ana@HOSPITAL.ES.":                    "es",
		"juan@salud.gob.mx":                   "es",
		"dr@clinic.mx":                        "en", // the exact name wins over *.mx
		"ana@hospital.es,juan@salud.gob.mx":   "es",
		"ana@hospital.es,bob@partner.example": "en", // no shared language: the organisation's
		"bob@partner.example":                 "en",
	} {
		if got := o.languageFor(strings.Split(rcpts, ",")); got != want {
			t.Errorf("languageFor(%s) = %q; want %q", rcpts, got, want)
		}
	}
}

// A notification and its securedoc in Spanish: the sentences, the labels,
// the page's language and the decryptor's catalogue.
func TestSpanishEnvelope(t *testing.T) {
	opt := testOptions()
	opt.Language = "es"
	s := sealOK(t, testRequest(textMessage()), opt)
	n := parseNotification(t, s)
	flat := strings.Join(strings.Fields(n.text), " ")
	for _, want := range []string{
		"Ha recibido un mensaje seguro de Example Health.",
		"Para obtener los mejores resultados, guarde primero el archivo y después ábralo.",
		"Si tiene dudas sobre la validez de este mensaje, póngase en contacto directamente con el remitente.",
		"El asunto de este mensaje no está cifrado.",
	} {
		if !strings.Contains(flat, want) {
			t.Errorf("Spanish text part lacks %q:\n%s", want, n.text)
		}
	}
	if !strings.Contains(n.html, `<html lang="es">`) || !strings.Contains(n.html, "Ha recibido un mensaje seguro de Example Health.") {
		t.Errorf("Spanish HTML part:\n%s", n.html)
	}
	page := string(n.page)
	for _, want := range []string{
		`<html lang="es">`, `<label for="password">Contrase&#241;a</label>`, `<button id="open" type="submit">Abrir</button>`,
		`>Registrarse</a>`, `>&#191;Olvid&#243; su contrase&#241;a?</a>`, `<button type="submit">Abrir en l&#237;nea</button>`,
	} {
		if !strings.Contains(page, want) {
			t.Errorf("Spanish securedoc lacks %s", want)
		}
	}
	d := pageDataOf(t, page)
	if d.Lang != "es" || d.Messages["Enter your e-mail address."] != "Introduzca su dirección de correo." {
		t.Errorf("postseal-data lang %q, %d messages", d.Lang, len(d.Messages))
	}
	// The page stays 7bit ASCII with short lines in any language.
	for i, c := range n.page {
		if c >= 0x80 {
			t.Fatalf("non-ASCII byte at %d", i)
		}
	}
}

// Every sentence the securedoc, the notification and the decryptor show
// has its Spanish translation (the source files are read for them).
func TestSpanishComplete(t *testing.T) {
	var server []string
	tRe := regexp.MustCompile(`\.T\(?\s*"((?:[^"\\]|\\.)*)"`)
	for _, f := range []string{"securedoc.go", "pagestatic.go", "templates/notification.txt", "templates/notification.html"} {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range tRe.FindAllStringSubmatch(string(b), -1) {
			if m[1] != "" {
				server = append(server, strings.ReplaceAll(m[1], `\"`, `"`))
			}
		}
	}
	if len(server) < 40 {
		t.Fatalf("found only %d sentences", len(server))
	}
	if miss := catalog().Missing("es", server); len(miss) > 0 {
		t.Errorf("no Spanish for: %q", miss)
	}

	jsRe := regexp.MustCompile(`\bt\(\s*((?:'(?:[^'\\]|\\.)*'\s*\+?\s*)+)`)
	pieceRe := regexp.MustCompile(`'((?:[^'\\]|\\.)*)'`)
	files, _ := filepath.Glob("../web/src/*.js")
	var browser []string
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range jsRe.FindAllStringSubmatch(string(b), -1) {
			var k strings.Builder
			for _, p := range pieceRe.FindAllStringSubmatch(m[1], -1) {
				s, err := strconv.Unquote(`"` + strings.ReplaceAll(p[1], `"`, `\"`) + `"`)
				if err != nil {
					t.Fatalf("%s: %q: %v", f, p[1], err)
				}
				k.WriteString(s)
			}
			browser = append(browser, k.String())
		}
	}
	if len(browser) < 25 {
		t.Fatalf("found only %d decryptor sentences", len(browser))
	}
	es := catalog().Browser("es")
	for _, k := range browser {
		if es[k] == "" {
			t.Errorf("no Spanish for the decryptor's %q", k)
		}
	}
}
