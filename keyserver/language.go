package keyserver

import (
	"context"
	"net/http"
	"net/url"
	"strings"
)

// The recipient's language on the pages: a choice made on a page
// ("?lang=es", kept in a cookie), else the browser's Accept-Language, else
// the organisation's language. Registration stores it with the account;
// the account's later mails are written in it.

const langCookie = "postseal_lang"

type langKey struct{}

// language is the middleware that settles the request's language.
func (s *Server) language(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		q := r.URL.Query().Get("lang")
		var lang string
		if c, err := r.Cookie(langCookie); s.cat.Has(q) {
			lang = q
			// The choice is kept for the pages; API answers set no
			// cookies (a page on file:// names its language on each call).
			if !strings.HasPrefix(r.URL.Path, "/api/") {
				http.SetCookie(w, &http.Cookie{
					Name: langCookie, Value: q, Path: "/", MaxAge: 365 * 24 * 3600,
					HttpOnly: true, Secure: s.https, SameSite: http.SameSiteLaxMode,
				})
			}
		} else if err == nil && s.cat.Has(c.Value) {
			lang = c.Value
		} else if al := r.Header.Get("Accept-Language"); al != "" {
			lang = s.cat.Match(al)
		} else {
			lang = s.cfg.Language
		}
		w.Header().Add("Vary", "Accept-Language, Cookie")
		ctx := context.WithValue(r.Context(), langKey{}, langInfo{lang: lang, url: r.URL})
		next.ServeHTTP(&langWriter{ResponseWriter: w, info: langInfo{lang: lang, url: r.URL}}, r.WithContext(ctx))
	})
}

type langInfo struct {
	lang string
	url  *url.URL
}

// langWriter carries the request's language to render, which is handed
// the writer only.
type langWriter struct {
	http.ResponseWriter
	info langInfo
}

// Unwrap lets http.ResponseController reach the connection's writer.
func (w *langWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// requestLang is the language settled for r (the organisation's outside
// the middleware).
func (s *Server) requestLang(r *http.Request) string {
	if li, ok := r.Context().Value(langKey{}).(langInfo); ok {
		return li.lang
	}
	return s.cfg.Language
}

// langChoice is one entry of the language picker.
type langChoice struct {
	Code, Name, Href string
	Current          bool
}

func (s *Server) languages(li langInfo) []langChoice {
	var out []langChoice
	for _, code := range s.cat.Codes() {
		href := ""
		if li.url != nil {
			u := *li.url
			q := u.Query()
			q.Set("lang", code)
			u.RawQuery = q.Encode()
			// The escaped path with its leading slashes collapsed: a
			// decoded "//evil.com" would be a link to another site.
			href = strings.TrimRight(s.public.Path, "/") + "/" + strings.TrimLeft(u.EscapedPath(), "/")
			href += "?" + u.RawQuery
		}
		out = append(out, langChoice{Code: code, Name: s.cat.Name(code), Href: href, Current: code == li.lang})
	}
	return out
}

// T translates for the page's language: a format with its arguments, or
// a finished sentence.
func (d pageData) T(format string, args ...any) string {
	if d.cat == nil {
		return format
	}
	return d.cat.Sprintf(d.Lang, format, args...)
}

// translated fills in the page's language and translates the sentences
// the handlers set in English.
func (s *Server) translated(w http.ResponseWriter, d pageData) pageData {
	li := langInfo{lang: s.cfg.Language}
	if lw, ok := w.(*langWriter); ok {
		li = lw.info
	}
	d.Lang, d.cat, d.Languages = li.lang, s.cat, s.languages(li)
	for _, p := range []*string{&d.Title, &d.Error, &d.Notice, &d.Text, &d.LinkText} {
		*p = s.cat.Translate(li.lang, *p)
	}
	return d
}

// firstOf is the first non-empty value.
func firstOf(vals ...string) string {
	for _, v := range vals {
		if v != "" {
			return v
		}
	}
	return ""
}
