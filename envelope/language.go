package envelope

import (
	"sort"
	"strings"
	"sync"

	"github.com/postseal/postseal/locale"
)

// catalog is the built-in catalogue, read once.
var catalog = sync.OnceValue(locale.Builtin)

// pageLanguage is languageFor, English when the catalogue lacks it.
func (o Options) pageLanguage(recipients []string) string {
	if l := o.languageFor(recipients); catalog().Has(l) {
		return l
	}
	return locale.Source
}

// languageFor is the language of one envelope's notification and page:
// the language of the recipients' domains when they all share one, else
// the organisation's.
func (o Options) languageFor(recipients []string) string {
	lang := ""
	for _, r := range recipients {
		l := o.domainLanguage(r)
		if lang != "" && l != lang {
			return o.Language
		}
		lang = l
	}
	if lang == "" {
		return o.Language
	}
	return lang
}

// domainLanguage is the language Languages gives an address's domain (an
// exact name before a "*." pattern), or the organisation's.
func (o Options) domainLanguage(addr string) string {
	at := strings.LastIndexByte(addr, '@')
	if at < 0 || len(o.Languages) == 0 {
		return o.Language
	}
	domain := strings.TrimSuffix(strings.ToLower(strings.Trim(addr[at+1:], "<> ")), ".")
	if l, ok := o.Languages[domain]; ok {
		return l
	}
	best, lang := "", o.Language
	for p, l := range o.Languages {
		rest, ok := strings.CutPrefix(strings.ToLower(p), "*.")
		if ok && strings.HasSuffix(domain, "."+rest) && len(rest) > len(best) {
			best, lang = rest, l
		}
	}
	return lang
}

// jsonMap is a string map for jsonLines: one "key":"value" per line,
// in key order.
type jsonMap map[string]string

func (m jsonMap) keys() []string {
	ks := make([]string, 0, len(m))
	for k := range m {
		ks = append(ks, k)
	}
	sort.Strings(ks)
	return ks
}
