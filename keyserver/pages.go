package keyserver

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"embed"
	"encoding/base64"
	"errors"
	"fmt"
	"html/template"
	"io/fs"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/postseal/postseal/locale"
	"github.com/postseal/postseal/store"
)

//go:embed templates/*.html templates/style.css
var templateFS embed.FS

type pageSet struct {
	pages map[string]*template.Template
	css   []byte
}

// loadPages parses each page together with the shared layout. A file of
// the same name in dir's keyserver/ folder (layout.html, register.html,
// style.css, ...) replaces the shipped one; dir "" is the shipped pages.
// A template that does not parse is an error naming its file and line at
// start-up and in check-config, not at a recipient's request.
func loadPages(dir string) (*pageSet, error) {
	read := func(name string) (string, []byte, error) {
		if dir != "" {
			p := filepath.Join(dir, "keyserver", name)
			b, err := os.ReadFile(p)
			if err == nil {
				return p, b, nil
			}
			if !errors.Is(err, fs.ErrNotExist) {
				return "", nil, err
			}
		}
		b, err := templateFS.ReadFile("templates/" + name)
		return "templates/" + name, b, err
	}
	layoutName, layout, err := read("layout.html")
	if err != nil {
		return nil, err
	}
	ps := &pageSet{pages: map[string]*template.Template{}}
	if _, ps.css, err = read("style.css"); err != nil {
		return nil, err
	}
	names, err := fs.Glob(templateFS, "templates/*.html")
	if err != nil {
		return nil, err
	}
	for _, n := range names {
		name := strings.TrimSuffix(strings.TrimPrefix(n, "templates/"), ".html")
		if name == "layout" {
			continue
		}
		file, body, err := read(name + ".html")
		if err != nil {
			return nil, err
		}
		t, err := template.New("layout").Parse(string(layout))
		if err != nil {
			return nil, fmt.Errorf("%s: %w", layoutName, err)
		}
		if _, err := t.New(name).Parse(string(body)); err != nil {
			return nil, fmt.Errorf("%s: %w", file, err)
		}
		ps.pages[name] = t
	}
	return ps, nil
}

// CheckTemplates reports the first page template in dir (see loadPages)
// that does not parse or run; for check-config.
func CheckTemplates(dir string) error {
	_, err := loadPages(dir)
	return err
}

// pageData is what every page template sees.
type pageData struct {
	Org, HelpURL, Support, Base string
	HasLogo                     bool

	Title, Error, Notice string
	Text                 string // the sentence of a message page
	Link, LinkText       string

	// Sent is the Sent secure messages page's content (sent.go).
	Sent *sentView

	Email, FirstName, LastName, Envelope, Token string
	MinLen, MaxLen                              int
	// PhoneHours: the help page's phone link paragraph (0: none).
	PhoneHours int

	Lang      string // the page's language (see language.go)
	Languages []langChoice
	cat       *locale.Catalog
}

func (s *Server) render(w http.ResponseWriter, status int, page string, d pageData) {
	d = s.translated(w, d)
	d.Org, d.HelpURL, d.Support = s.cfg.Organization, s.cfg.HelpURL, s.cfg.Support
	d.Base = strings.TrimRight(s.public.Path, "/")
	d.HasLogo = len(s.cfg.Logo) > 0
	d.MinLen, d.MaxLen = s.cfg.PasswordMinLength, maxPasswordLen
	t := s.pages.pages[page]
	var buf bytes.Buffer
	if t == nil {
		s.log.Error("key service: no template", "page", page)
		status, buf = http.StatusInternalServerError, *bytes.NewBufferString("Something went wrong on the key service. Please try again later.\n")
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	} else if err := t.ExecuteTemplate(&buf, "layout", d); err != nil {
		s.log.Error("key service: rendering", "page", page, "err", err)
		status, buf = http.StatusInternalServerError, *bytes.NewBufferString("Something went wrong on the key service. Please try again later.\n")
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	} else {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
	}
	w.WriteHeader(status)
	_, _ = w.Write(buf.Bytes())
}

// sentence renders a page that only says something.
func (s *Server) sentence(w http.ResponseWriter, _ *http.Request, status int, title, text string) {
	s.render(w, status, "message", pageData{Title: title, Text: text})
}

func (s *Server) pageUnavailable(w http.ResponseWriter, r *http.Request, what string, err error) {
	s.log.Error("key service: store", "op", what, "err", err)
	s.sentence(w, r, http.StatusServiceUnavailable, "Please try again later", "The key service cannot handle your request right now. Please try again in a few minutes.")
}

func (s *Server) style(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Content-Type", "text/css; charset=utf-8")
	w.Header().Set("Cache-Control", "public, max-age=3600")
	_, _ = w.Write(s.pages.css)
}

func (s *Server) logo(w http.ResponseWriter, r *http.Request) {
	if len(s.cfg.Logo) == 0 {
		s.notFound(w, r)
		return
	}
	w.Header().Set("Content-Type", http.DetectContentType(s.cfg.Logo))
	w.Header().Set("Cache-Control", "public, max-age=3600")
	_, _ = w.Write(s.cfg.Logo)
}

func (s *Server) home(w http.ResponseWriter, _ *http.Request) {
	s.render(w, http.StatusOK, "home", pageData{Title: "Secure messages"})
}

func (s *Server) notFound(w http.ResponseWriter, r *http.Request) {
	s.sentence(w, r, http.StatusNotFound, "Page not found", "There is no page at this address. To read a secure message, open the attachment of the e-mail you received.")
}

// parseForm reads a small urlencoded form; it answers and returns false
// when the body is too large or unreadable.
func (s *Server) parseForm(w http.ResponseWriter, r *http.Request) bool {
	r.Body = http.MaxBytesReader(w, r.Body, maxFormBody)
	if err := r.ParseForm(); err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			s.sentence(w, r, http.StatusRequestEntityTooLarge, "Too large", "The form sent is larger than this page accepts.")
			return false
		}
		s.sentence(w, r, http.StatusBadRequest, "Bad request", "The form could not be read. Please go back and try again.")
		return false
	}
	return true
}

// checkNewPassword applies the only rules that help: a minimum length, a
// maximum (the hash input is bounded), and the confirmation matching.
func (s *Server) checkNewPassword(pw, confirm string) string {
	n := utf8.RuneCountInString(pw)
	switch {
	case n < s.cfg.PasswordMinLength:
		return fmt.Sprintf("The password must have at least %d characters. A few words you will remember make a good one.", s.cfg.PasswordMinLength)
	case len(pw) > maxPasswordLen:
		return fmt.Sprintf("The password must have at most %d characters.", maxPasswordLen)
	case pw != confirm:
		return "The two passwords are not the same. Please type the same password twice."
	}
	return ""
}

// newToken stores a fresh single-use token and returns its secret: 32
// random bytes, base64url (43 characters). Only the SHA-256 is stored, so
// a database copy does not hold working links.
func (s *Server) newToken(ctx context.Context, t store.Token, ttl time.Duration) (string, error) {
	raw := make([]byte, 32)
	if _, err := rand.Read(raw); err != nil {
		return "", err
	}
	secret := base64.RawURLEncoding.EncodeToString(raw)
	sum := sha256.Sum256([]byte(secret))
	t.Hash, t.Expires = sum[:], s.now().Add(ttl)
	return secret, s.st.PutToken(ctx, t)
}

// useToken consumes a token from a link; false when it is malformed,
// unknown, used or expired.
func (s *Server) useToken(ctx context.Context, secret, purpose string) (store.Token, bool, error) {
	if len(secret) != 43 {
		return store.Token{}, false, nil
	}
	if _, err := base64.RawURLEncoding.DecodeString(secret); err != nil {
		return store.Token{}, false, nil
	}
	sum := sha256.Sum256([]byte(secret))
	t, err := s.st.UseToken(ctx, sum[:], purpose, s.now())
	if errors.Is(err, store.ErrNotFound) {
		return store.Token{}, false, nil
	}
	return t, err == nil, err
}

func (s *Server) sendMail(ctx context.Context, to string, c mailContent) error {
	msg, err := buildMail(s.cfg.Organization, s.cfg.From, to, c, s.now())
	if err != nil {
		return err
	}
	return s.mail.Enqueue(ctx, s.cfg.From, []string{to}, msg)
}

// mailsPerHour bounds how many mails of one kind an address gets per hour
// across every process sharing the store, so the forms cannot be used to
// flood someone's mailbox. It is above what limitMail lets one process
// ask for, so that within one process the owner is told "wait" on the
// page rather than refused silently here.
const mailsPerHour = 2*mailBurst + 4

func (s *Server) mailAllowed(ctx context.Context, kind, email string) (bool, error) {
	n, err := s.st.CountEvents(ctx, store.EventFilter{Kind: kind, Email: email, Since: s.now().Add(-time.Hour)})
	return n < mailsPerHour, err
}

// authenticate checks a password with exactly one Argon2id verification,
// whatever the case, and returns the account and "" when it may log in, or
// the refusal reason (for the audit trail only).
func (s *Server) authenticate(ctx context.Context, h *hasher, email, password string) (store.Account, string, error) {
	acct, err := s.st.Account(ctx, email)
	found := err == nil
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		return acct, "", err
	}
	encoded := ""
	if found {
		encoded = acct.PasswordHash
	}
	ok, err := h.Verify(ctx, encoded, password)
	if err != nil {
		return acct, "", err
	}
	switch {
	case !found:
		return acct, reasonNoAccount, nil
	case !ok:
		return acct, reasonBadPassword, nil
	case !acct.Active:
		return acct, reasonNotActive, nil
	case acct.Disabled:
		return acct, reasonDisabled, nil
	}
	if h.NeedsRehash(acct.PasswordHash) {
		// The cost parameters were raised: upgrade the stored hash now
		// that the password is known. Best effort.
		if ph, err := h.Hash(ctx, password); err == nil {
			acct.PasswordHash = ph
			if err := s.st.UpdateAccount(ctx, acct); err != nil {
				s.log.Warn("key service: rehash", "err", err)
			}
		}
	}
	return acct, "", nil
}
