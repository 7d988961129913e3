package keyserver

import "net/http"

// help is the recipients' help page and the default help_url: what the
// mail is, how to open it, the first time, phones, mail apps that do not
// run the attachment, forgotten passwords, locked and expired messages,
// and whom to contact ([organization] support).
func (s *Server) help(w http.ResponseWriter, _ *http.Request) {
	s.render(w, http.StatusOK, "help", pageData{Title: "Help with secure messages", PhoneHours: s.cfg.PhoneHours})
}
