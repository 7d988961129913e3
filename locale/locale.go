// Package locale holds the translations of what recipients read: the key
// service's pages and mails, the securedoc page and its decryptor, the
// notification. English is the source language: a message's key is its
// English text (as with gettext), so code and templates stay readable and
// a missing translation shows the English sentence, never an identifier.
//
// Each language is one file, catalog/<code>.toml (adding a language is
// adding a file):
//
//	name = "Español"              # the language's own name, for the picker
//	[messages]                    # server side: pages, mails, notification
//	"Register" = "Registrarse"
//	"At least %d characters." = "Al menos %d caracteres."
//	[browser]                     # the decryptor's sentences ({name} placeholders)
//	"Enter your password." = "Introduzca su contraseña."
//
// Keys with fmt verbs (%s, %d) are formats: Sprintf translates the format,
// then fills it in. Translate also recognises an English sentence that was
// formatted before it reached the page, by matching the formats' shapes.
package locale

import (
	"embed"
	"fmt"
	"io/fs"
	"path"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"github.com/BurntSushi/toml"
	"golang.org/x/text/language"
)

//go:embed catalog/*.toml
var builtin embed.FS

// Source is the language keys are written in.
const Source = "en"

// Language is one catalogue.
type Language struct {
	Code     string // "en", "es": the file's name
	Name     string // in the language itself
	messages map[string]string
	browser  map[string]string
	patterns []pattern
}

type pattern struct {
	re     *regexp.Regexp
	format string
	verbs  []byte // 'd' or 's' per capture
}

// Catalog is the set of languages.
type Catalog struct {
	langs   map[string]*Language
	codes   []string
	matcher language.Matcher
}

// Builtin is the catalogue shipped in the binary.
func Builtin() *Catalog {
	c, err := Load(builtin, "catalog")
	if err != nil {
		panic("locale: built-in catalogue: " + err.Error())
	}
	return c
}

// Load reads every <code>.toml in dir of fsys. Errors name the file and,
// where the decoder gives one, the line.
func Load(fsys fs.FS, dir string) (*Catalog, error) {
	names, err := fs.Glob(fsys, path.Join(dir, "*.toml"))
	if err != nil {
		return nil, err
	}
	c := &Catalog{langs: map[string]*Language{}}
	for _, n := range names {
		code := strings.TrimSuffix(path.Base(n), ".toml")
		tag, err := language.Parse(code)
		if err != nil || tag.String() != code {
			return nil, fmt.Errorf("%s: the file name must be a language code like \"es\" or \"pt-BR\"", n)
		}
		b, err := fs.ReadFile(fsys, n)
		if err != nil {
			return nil, err
		}
		var f struct {
			Name     string            `toml:"name"`
			Messages map[string]string `toml:"messages"`
			Browser  map[string]string `toml:"browser"`
		}
		md, err := toml.Decode(string(b), &f)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", n, err)
		}
		if und := md.Undecoded(); len(und) > 0 {
			return nil, fmt.Errorf("%s: unknown key %s", n, und[0])
		}
		if f.Name == "" {
			return nil, fmt.Errorf("%s: name (the language's own name) is missing", n)
		}
		l := &Language{Code: code, Name: f.Name, messages: f.Messages, browser: f.Browser}
		for k, v := range f.Messages {
			if err := checkVerbs(k, v); err != nil {
				return nil, fmt.Errorf("%s: %q: %w", n, k, err)
			}
			if p, ok := compilePattern(k, v); ok {
				l.patterns = append(l.patterns, p)
			}
		}
		// Longer formats first: the most specific shape wins.
		slices.SortFunc(l.patterns, func(a, b pattern) int { return len(b.re.String()) - len(a.re.String()) })
		c.langs[code] = l
	}
	if c.langs[Source] == nil {
		c.langs[Source] = &Language{Code: Source, Name: "English"}
	}
	var tags []language.Tag
	c.codes = append(c.codes, Source)
	tags = append(tags, language.Make(Source))
	for code := range c.langs {
		if code != Source {
			c.codes = append(c.codes, code)
		}
	}
	slices.Sort(c.codes[1:])
	for _, code := range c.codes[1:] {
		tags = append(tags, language.Make(code))
	}
	c.matcher = language.NewMatcher(tags)
	return c, nil
}

var verbRe = regexp.MustCompile(`%(\[\d+\])?[ds]`)

// checkVerbs makes sure a translation uses the same verbs as its key, so
// Sprintf never prints %!d(MISSING).
func checkVerbs(key, val string) error {
	count := func(s string) (d, s2 int) {
		for _, m := range verbRe.FindAllString(s, -1) {
			if strings.HasSuffix(m, "d") {
				d++
			} else {
				s2++
			}
		}
		return
	}
	kd, ks := count(key)
	vd, vs := count(val)
	if kd != vd || ks != vs {
		return fmt.Errorf("the translation has %d %%d and %d %%s, the English %d and %d", vd, vs, kd, ks)
	}
	return nil
}

func compilePattern(key, val string) (pattern, bool) {
	locs := verbRe.FindAllStringIndex(key, -1)
	if len(locs) == 0 {
		return pattern{}, false
	}
	var b strings.Builder
	b.WriteString("^")
	var verbs []byte
	last := 0
	for _, l := range locs {
		b.WriteString(regexp.QuoteMeta(key[last:l[0]]))
		v := key[l[1]-1]
		verbs = append(verbs, v)
		if v == 'd' {
			b.WriteString(`(-?\d+)`)
		} else {
			b.WriteString(`(.+?)`)
		}
		last = l[1]
	}
	b.WriteString(regexp.QuoteMeta(key[last:]) + "$")
	return pattern{re: regexp.MustCompile("(?s)" + b.String()), format: val, verbs: verbs}, true
}

// Codes are the languages available, the source language first.
func (c *Catalog) Codes() []string { return slices.Clone(c.codes) }

// Name is a language's own name ("Español").
func (c *Catalog) Name(code string) string {
	if l := c.langs[code]; l != nil {
		return l.Name
	}
	return code
}

// Has reports whether code is one of the catalogue's languages.
func (c *Catalog) Has(code string) bool { return c.langs[code] != nil }

// Match picks the best language for preferences: Accept-Language header
// values or language codes, most preferred first; the source language
// when nothing matches.
func (c *Catalog) Match(prefs ...string) string {
	for _, p := range prefs {
		if c.Has(p) {
			return p
		}
		tags, _, err := language.ParseAcceptLanguage(p)
		if err != nil || len(tags) == 0 {
			continue
		}
		_, i, conf := c.matcher.Match(tags...)
		if conf >= language.Low {
			return c.codes[i]
		}
	}
	return Source
}

// Sprintf translates format into the language and fills it in.
func (c *Catalog) Sprintf(code, format string, args ...any) string {
	if l := c.langs[code]; l != nil {
		if t, ok := l.messages[format]; ok && t != "" {
			format = t
		}
	}
	if len(args) == 0 {
		return format
	}
	return fmt.Sprintf(format, args...)
}

// Translate translates a finished English sentence: its own entry, or the
// entry of the format it was made with (recognised by shape); unchanged
// when the catalogue has neither.
func (c *Catalog) Translate(code, s string) string {
	l := c.langs[code]
	if l == nil || code == Source || s == "" {
		return s
	}
	if t, ok := l.messages[s]; ok && t != "" {
		return t
	}
	for _, p := range l.patterns {
		m := p.re.FindStringSubmatch(s)
		if m == nil {
			continue
		}
		args := make([]any, len(p.verbs))
		for i, v := range p.verbs {
			if v == 'd' {
				n, _ := strconv.Atoi(m[i+1])
				args[i] = n
			} else {
				// A filled-in part may be a sentence of its own
				// ("5 minutes" in "Please wait 5 minutes").
				args[i] = c.Translate(code, m[i+1])
			}
		}
		return fmt.Sprintf(p.format, args...)
	}
	return s
}

// Browser is the decryptor's sentences in the language (English key →
// translation); nil for the source language.
func (c *Catalog) Browser(code string) map[string]string {
	if l := c.langs[code]; l != nil && code != Source {
		return l.browser
	}
	return nil
}

// Missing lists the keys given that the language has no translation for
// (for completeness tests).
func (c *Catalog) Missing(code string, keys []string) []string {
	l := c.langs[code]
	var out []string
	for _, k := range keys {
		if l == nil || l.messages[k] == "" {
			out = append(out, k)
		}
	}
	return out
}
