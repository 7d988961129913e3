package keyserver

import (
	"encoding/json"
	"net/mail"
	"strings"

	"github.com/postseal/postseal/envelope"
	"github.com/postseal/postseal/store"
)

// storedMeta is the header Open Online shows above a message: the posted
// meta is what the file claims, so the mode (key service or a partner's
// shared password) and the subject come from the store, and the sender is
// the stored one unless the claim names that same address (keeping its
// display name). A co-recipient can post the genuine payload with any meta;
// only the store's record is shown as fact.
func storedMeta(posted string, env store.Envelope) string {
	m := envelope.ParsePageMeta(posted)
	m.SharedPassword = env.Kind == store.KindSharedPassword
	if a, err := mail.ParseAddress(m.From); err != nil || !strings.EqualFold(a.Address, env.Sender) {
		m.From = env.Sender
	}
	m.Subject = env.Subject
	b, err := json.Marshal(m)
	if err != nil {
		return ""
	}
	return string(b)
}
