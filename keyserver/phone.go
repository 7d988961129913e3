package keyserver

import (
	"bytes"
	"errors"
	"fmt"
	"math"
	"net/http"

	"github.com/postseal/postseal/envelope"
	"github.com/postseal/postseal/store"
)

// The phone page: GET /m/{id}, the notification's "Open on your phone"
// link. A phone mail app that previews the securedoc without running it
// cannot post Open Online, so the key service shows the same decryptor
// page with the payload it kept when the message was sealed (the online
// copy: ciphertext and the securedoc's clear header, never the message).
// The reader signs in with the same key release as from the attachment
// and the message is decrypted in the phone's browser. The copy is
// refused from its deletion time on, and deleted by the store's sweep.
//
// The envelope id in the link is 128 random bits (envelope.NewID), as
// unguessable as a separate token would be; what it gives its holder is
// what the attachment already holds, ciphertext, useless without the key
// the key API releases only to a signed-in recipient.

var phoneBusy = busyText{
	client: "Several messages are being opened from your connection right now. Please wait until they are open, then reload this page.",
	all:    "Many messages are being opened online right now. Please reload this page in a few seconds.",
}

// phone serves GET /m/{id} under Open Online's bounds: it holds a copy of
// up to Open Online's body size in memory while the page is written.
//
// The slot is held while the page streams, not only while the copy is
// looked up: the store hands the copy over whole, so the streaming part is
// what holds the memory, and the slots are its only bound (4 × 14 MB).
// Freed before it, any number of readers would each hold a copy. What
// keeps a reader from holding a slot for long is the page's pace
// (pagewrite.go): one that stops reading is cut off within PageStall.
func (s *Server) phone(w http.ResponseWriter, r *http.Request) {
	leave, ok := s.openSlot(w, r, phoneBusy)
	if !ok {
		return
	}
	defer leave()
	w.Header().Set("X-Robots-Tag", "noindex, nofollow")
	id := r.PathValue("id")
	onComputer := "Please open the attachment of the e-mail you received in a web browser on a computer instead."
	if !validEnvelopeID(id) {
		s.sentence(w, r, http.StatusNotFound, "Unknown message", "This link does not lead to a secure message. "+onComputer)
		return
	}
	ctx := r.Context()
	env, err := s.st.Envelope(ctx, id)
	switch {
	case errors.Is(err, store.ErrNotFound):
		s.sentence(w, r, http.StatusNotFound, "Unknown message", "This link does not lead to a secure message. "+onComputer)
		return
	case err != nil:
		s.pageUnavailable(w, r, "phone envelope", err)
		return
	}
	now := s.now()
	switch {
	case env.Kind != store.KindKeyService || env.OnlineUntil.IsZero():
		s.sentence(w, r, http.StatusNotFound, "Not available online", "This message cannot be read online. "+onComputer)
		return
	case env.Locked:
		s.sentence(w, r, http.StatusForbidden, "Message locked", fmt.Sprintf("This message has been locked by %s and cannot be opened. Please contact the sender if you still need it.", s.cfg.Organization))
		return
	case expired(env, now) || !env.HasKey:
		s.sentence(w, r, http.StatusGone, "Message expired", msgExpired)
		return
	}
	gone := func() {
		hours := int(math.Round(env.OnlineUntil.Sub(env.Created).Hours()))
		if hours <= 1 {
			s.sentence(w, r, http.StatusGone, "Online copy expired", "The copy of this message for reading on a phone has expired: it is kept for 1 hour after the message was sent. The message itself is still in the attachment of the e-mail you received (securedoc). Please open that attachment in a web browser on a computer.")
			return
		}
		s.sentence(w, r, http.StatusGone, "Online copy expired", fmt.Sprintf("The copy of this message for reading on a phone has expired: it is kept for %d hours after the message was sent. The message itself is still in the attachment of the e-mail you received (securedoc). Please open that attachment in a web browser on a computer.", hours))
	}
	if !now.Before(env.OnlineUntil) {
		gone()
		return
	}
	c, err := s.st.OnlineCopy(ctx, id)
	switch {
	case errors.Is(err, store.ErrNotFound):
		gone()
		return
	case err != nil:
		s.pageUnavailable(w, r, "phone copy", err)
		return
	case !now.Before(c.Expires):
		gone()
		return
	}
	// Written as Open Online writes a post: the stored payload streams
	// into the answer, so a request holds the copy once.
	page := envelope.OpenPage{
		EnvelopeID: id, Meta: envelope.ParsePageMeta(storedMeta(c.Meta, env)),
		PublicURL: s.cfg.PublicURL, Organization: s.cfg.Organization, Language: s.requestLang(r),
	}
	s.streamOpen(w, r, page, bytes.NewReader(c.Payload))
}
