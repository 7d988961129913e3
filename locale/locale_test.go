package locale

import (
	"strings"
	"testing"
	"testing/fstest"
)

func TestBuiltin(t *testing.T) {
	c := Builtin()
	if got := strings.Join(c.Codes(), ","); got != "en,es" {
		t.Fatalf("languages %q; want en,es", got)
	}
	if c.Name("es") != "Español" || c.Name("en") != "English" {
		t.Errorf("names %q %q", c.Name("en"), c.Name("es"))
	}
	for prefs, want := range map[string]string{
		"es-MX,es;q=0.9,en;q=0.5": "es",
		"es":                      "es",
		"fr-FR, de;q=0.8":         "en",
		"en-GB,en;q=0.9":          "en",
		"de, es;q=0.5":            "es",
		"garbage;;;":              "en",
	} {
		if got := c.Match(prefs); got != want {
			t.Errorf("Match(%q) = %q; want %q", prefs, got, want)
		}
	}
	if got := c.Sprintf("es", "At least %d characters.", 12); got != "Al menos 12 caracteres." {
		t.Errorf("Sprintf: %q", got)
	}
	if got := c.Sprintf("en", "At least %d characters.", 12); got != "At least 12 characters." {
		t.Errorf("Sprintf en: %q", got)
	}
	// A sentence formatted in English before it reached the page is
	// recognised by its format, and its filled-in part translated too.
	if got := c.Translate("es", "Too many failed attempts. Please wait 5 minutes and try again."); got != "Demasiados intentos fallidos. Espere 5 minutos y vuelva a intentarlo." {
		t.Errorf("Translate formatted: %q", got)
	}
	if got := c.Translate("es", "Not in the catalogue."); got != "Not in the catalogue." {
		t.Errorf("an unknown sentence became %q", got)
	}
}

// Adding a language is adding a file; a file with a wrong name, a broken
// format or a translation whose verbs differ from the English is refused.
func TestLoad(t *testing.T) {
	fsys := fstest.MapFS{
		"c/en.toml": {Data: []byte("name = \"English\"\n")},
		"c/de.toml": {Data: []byte("name = \"Deutsch\"\n[messages]\n\"Register\" = \"Registrieren\"\n")},
	}
	c, err := Load(fsys, "c")
	if err != nil {
		t.Fatal(err)
	}
	if c.Sprintf("de", "Register") != "Registrieren" || c.Match("de-AT") != "de" {
		t.Error("the added language is not used")
	}
	for name, body := range map[string]string{
		"c/english.toml": "name = \"x\"\n",
		"c/fr.toml":      "name = \"Français\"\n[messages]\n\"At least %d characters.\" = \"Au moins des caractères.\"\n",
		"c/it.toml":      "[messages]\n",
		"c/pt.toml":      "name = \"Português\"\ncolour = 1\n",
		"c/nl.toml":      "name = \"Nederlands\"\n[messages\n",
	} {
		_, err := Load(fstest.MapFS{name: {Data: []byte(body)}}, "c")
		if err == nil || !strings.Contains(err.Error(), name) {
			t.Errorf("%s: error %v; want one naming the file", name, err)
		}
	}
}
