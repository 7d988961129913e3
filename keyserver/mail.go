package keyserver

import (
	"bytes"
	"html/template"
	"net/mail"
	"strings"
	"time"

	"github.com/postseal/postseal/mailer"
	"github.com/postseal/postseal/store"
)

// The key service writes three kinds of mail: the activation link, the
// password-reset link, and a note to an address that registers again while
// it already has an account (so the page can answer the same in every case,
// yet the owner learns what happened). Each is plain text with an HTML
// alternative, composed by mailer.Message and queued through the Mailer.
// The link stands alone on its own line of the text part.

type mailContent struct {
	Subject string
	Text    string // plain text, LF line ends
	Link    string // the action link, also shown in the HTML part
	Action  string // the link's label in the HTML part
}

var mailHTML = template.Must(template.New("mail").Parse(`<!DOCTYPE html>
<html><head><meta charset="utf-8"><title>{{.Subject}}</title></head>
<body style="font-family:sans-serif;max-width:40em">
{{range .Paras}}<p>{{.}}</p>
{{end}}{{if .Link}}<p><a href="{{.Link}}">{{.Action}}</a></p>
<p style="font-size:small">{{.Link}}</p>
{{end}}</body></html>
`))

// buildMail returns the RFC 5322 bytes of one message.
func buildMail(org, from, to string, c mailContent, now time.Time) ([]byte, error) {
	var html bytes.Buffer
	paras := strings.Split(strings.TrimSpace(strings.ReplaceAll(c.Text, c.Link, "")), "\n\n")
	if err := mailHTML.Execute(&html, map[string]any{"Subject": c.Subject, "Paras": paras, "Link": c.Link, "Action": c.Action}); err != nil {
		return nil, err
	}
	return mailer.Message{
		From: mail.Address{Name: org, Address: from}, To: []mail.Address{{Address: to}},
		Subject: c.Subject, Text: c.Text, HTML: html.String(), Date: now,
		// Auto-Submitted keeps vacation responders from answering (RFC 3834).
		Headers: map[string]string{"Auto-Submitted": "auto-generated"},
	}.Bytes()
}

// tr writes a mail's sentences in the recipient's language (see package
// locale).
type tr func(format string, args ...any) string

// mailTr is the translator for a language; "" or an unknown one is the
// organisation's.
func (s *Server) mailTr(lang string) tr {
	if !s.cat.Has(lang) {
		lang = s.cfg.Language
	}
	return func(f string, a ...any) string { return s.cat.Sprintf(lang, f, a...) }
}

// activationMail goes to an address nobody has proven yet, on a stranger's
// word: it carries nothing the registrant typed (no name, no password
// hint), only the address and the organisation's own text.
func activationMail(t tr, org, addr, link string) mailContent {
	return mailContent{
		Subject: t("Confirm your address for secure messages from %s", org),
		Text: greeting(t, "") + "\n\n" +
			t("Your address %s was registered to open secure messages from %s. To confirm it, open this link and press \"Activate\":", addr, org) + "\n\n" +
			link + "\n\n" +
			t("The link works once, within 7 days. If you did not register, ignore this e-mail: nothing happens without the confirmation.") + "\n",
		Link:   link,
		Action: t("Confirm my address"),
	}
}

func resetMail(t tr, org, name, link string) mailContent {
	return mailContent{
		Subject: t("Reset your password for secure messages from %s", org),
		Text: greeting(t, name) + "\n\n" +
			t("Someone asked to reset the password you use to open secure messages from %s. To choose a new password, open this link:", org) + "\n\n" +
			link + "\n\n" +
			t("The link works once, within one hour. If you did not ask, ignore this e-mail: your password stays as it is.") + "\n",
		Link:   link,
		Action: t("Choose a new password"),
	}
}

func alreadyRegisteredMail(t tr, org, name, addr, forgotLink string) mailContent {
	return mailContent{
		Subject: t("You are already registered for secure messages from %s", org),
		Text: greeting(t, name) + "\n\n" +
			t("Someone tried to register %s to open secure messages from %s, but this address already has an active registration. You can open your secure messages with the password you chose. If you forgot it, choose a new one here:", addr, org) + "\n\n" +
			forgotLink + "\n\n" +
			t("If this was not you, you need not do anything.") + "\n",
		Link:   forgotLink,
		Action: t("Reset my password"),
	}
}

// passwordChangedMail tells the owner that the password was changed or
// reset, so that a change they did not make does not go unnoticed.
func passwordChangedMail(t tr, org, name, how string, when time.Time, forgotLink string) mailContent {
	msg := "The password you use to open secure messages from %s was changed on %s."
	if how == "reset" {
		msg = "The password you use to open secure messages from %s was reset on %s."
	}
	return mailContent{
		Subject: t("Your password for secure messages from %s was changed", org),
		Text: greeting(t, name) + "\n\n" +
			t(msg, org, when.UTC().Format("2006-01-02 15:04 MST")) + " " +
			t("If this was you, you need not do anything.") + "\n\n" +
			t("If it was not you, choose a new password at once here, and tell %s:", org) + "\n\n" +
			forgotLink + "\n",
		Link:   forgotLink,
		Action: t("Choose a new password"),
	}
}

// ownerName is the name to greet an account's owner with: the one given at
// the registration the owner activated; none before the address is proven.
func ownerName(a store.Account) string {
	if !a.Active {
		return ""
	}
	return a.FirstName
}

func greeting(t tr, name string) string {
	if strings.TrimSpace(name) == "" {
		return t("Hello,")
	}
	return t("Hello %s,", name)
}
