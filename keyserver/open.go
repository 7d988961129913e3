package keyserver

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/postseal/postseal/envelope"
	"github.com/postseal/postseal/store"
)

// Open Online: the securedoc's no-script form posts the armoured payload
// here (multipart/form-data: envelope, payload, meta) and the key service
// shows the same decryptor from its own origin. The post comes from a page
// opened from file:// or a mail app, so it is cross-origin by nature and
// exempt from the CSRF check; it changes nothing on the server.

type openRequest struct {
	Envelope string
	Payload  string        // an urlencoded post's payload
	Stream   *bufio.Reader // a form upload's payload, read while the page is written
	Meta     string        // JSON, display only
}

const (
	armorBegin   = "-----BEGIN PGP MESSAGE-----"
	maxMetaBytes = 64 << 10
)

func (s *Server) openInfo(w http.ResponseWriter, r *http.Request) {
	s.sentence(w, r, http.StatusOK, "Open Online", "This page is reached with the \"Open Online\" button of a secure message. Open the attachment of the e-mail you received and press that button.")
}

var errTooLarge = errors.New("too large")

// openRetry is the Retry-After of a 503 when Open Online is at its bound.
const openRetry = 10 * time.Second

// open serves Open Online. At most OpenConcurrency posts are served at
// once (503 with Retry-After past it: posts are unauthenticated, and the
// process also runs the milter), and the payload of a form upload is
// streamed from the request into the page, never held whole: a post
// costs a few buffers of memory, whatever its size.
func (s *Server) open(w http.ResponseWriter, r *http.Request) {
	leave, ok := s.openSlot(w, r, openBusy)
	if !ok {
		return
	}
	defer leave()
	tooLarge := func() {
		s.sentence(w, r, http.StatusRequestEntityTooLarge, "Message too large",
			fmt.Sprintf("This message is larger than the key service accepts online (%d MB). Please open the attachment in a web browser on a computer instead.", s.cfg.MaxOpenBody/1_000_000))
	}
	if r.ContentLength > s.cfg.MaxOpenBody {
		tooLarge()
		return
	}
	r.Body = http.MaxBytesReader(w, r.Body, s.cfg.MaxOpenBody)
	req, err := readOpenRequest(r, s.cfg.MaxOpenBody)
	var mbe *http.MaxBytesError
	switch {
	case errors.As(err, &mbe) || errors.Is(err, errTooLarge):
		tooLarge()
		return
	case err != nil:
		s.sentence(w, r, http.StatusBadRequest, "Cannot open", "The secure message could not be read from the form: "+err.Error()+". Please open the attachment in a web browser instead.")
		return
	}
	if !validEnvelopeID(req.Envelope) || !req.armoured() {
		s.sentence(w, r, http.StatusBadRequest, "Cannot open", "The form did not carry a secure message. Please use the \"Open Online\" button of the securedoc attachment.")
		return
	}
	// Only envelopes this service sealed are shown on its origin, and as
	// the store records them.
	env, err := s.st.Envelope(r.Context(), req.Envelope)
	switch {
	case errors.Is(err, store.ErrNotFound):
		s.sentence(w, r, http.StatusNotFound, "Unknown message", "The key service knows no secure message with this number. Please open the attachment of the e-mail you received in a web browser instead.")
		return
	case err != nil:
		s.log.Error("key service: store", "op", "open envelope", "err", err)
		s.sentence(w, r, http.StatusServiceUnavailable, "Cannot open", "The key service cannot open messages right now. Please try again in a few minutes.")
		return
	}
	req.Meta = storedMeta(req.Meta, env)
	s.openPage(w, r, req)
}

// busyText is what a 503 of openSlot says: the client's places are
// taken, or the service's.
type busyText struct{ client, all string }

var openBusy = busyText{
	client: "Several messages are being opened online from your connection right now. Please wait until they are open, then press \"Open Online\" again.",
	all:    "Many messages are being opened online right now. Please go back and press \"Open Online\" again in a few seconds.",
}

// openSlot takes one of the client's Open Online places and one of the
// service's (OpenConcurrency), or answers 503 with Retry-After and says
// why; leave gives them back.
func (s *Server) openSlot(w http.ResponseWriter, r *http.Request, says busyText) (leave func(), ok bool) {
	client := "open " + s.remoteIP(r)
	busy := func(text string) (func(), bool) {
		s.metrics.Refused(refusedOpen)
		w.Header().Set("Retry-After", strconv.Itoa(retrySeconds(openRetry)))
		s.sentence(w, r, http.StatusServiceUnavailable, "Please try again in a moment", text)
		return nil, false
	}
	if !s.inFlight.enter(client) {
		return busy(says.client)
	}
	select {
	case s.openSem <- struct{}{}:
		return func() { <-s.openSem; s.inFlight.leave(client) }, true
	default:
		s.inFlight.leave(client)
		return busy(says.all)
	}
}

// armoured reports whether the payload looks like ASCII armour (for a
// stream: within its first bytes, which are peeked, not consumed).
func (p openRequest) armoured() bool {
	if p.Stream == nil {
		return strings.Contains(p.Payload, armorBegin)
	}
	head, _ := p.Stream.Peek(armorPeek)
	return bytes.Contains(head, []byte(armorBegin))
}

// armorPeek is how far into a streamed payload its armour header is
// looked for (it comes first; a little room for leading white space).
const armorPeek = 1024

// readOpenRequest reads the small fields; a multipart payload is left to
// stream (Stream), since the securedoc's form sends it last. The body as
// a whole is capped by the caller's MaxBytesReader.
func readOpenRequest(r *http.Request, maxPayload int64) (openRequest, error) {
	var req openRequest
	mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	switch mt {
	case "multipart/form-data":
		mr, err := r.MultipartReader()
		if err != nil {
			return req, errors.New("not a form upload")
		}
		for {
			p, err := mr.NextPart()
			if err == io.EOF {
				break
			}
			if err != nil {
				return req, err
			}
			var dst *string
			limit := int64(256)
			switch p.FormName() {
			case "envelope":
				dst = &req.Envelope
			case "payload":
				// Fields after the payload (none in the securedoc's
				// form) are not read.
				req.Stream = bufio.NewReaderSize(p, armorPeek)
				req.Envelope = strings.TrimSpace(req.Envelope)
				if len(req.Meta) > maxMetaBytes {
					req.Meta = ""
				}
				return req, nil
			case "meta":
				dst, limit = &req.Meta, maxMetaBytes
			default:
				if _, err := io.Copy(io.Discard, p); err != nil {
					return req, err
				}
				continue
			}
			b, err := io.ReadAll(io.LimitReader(p, limit+1))
			if err != nil {
				return req, err
			}
			if int64(len(b)) > limit {
				return req, errTooLarge
			}
			*dst = string(b)
		}
	case "application/x-www-form-urlencoded":
		if err := r.ParseForm(); err != nil {
			return req, err
		}
		req.Envelope, req.Payload, req.Meta = r.PostForm.Get("envelope"), r.PostForm.Get("payload"), r.PostForm.Get("meta")
	default:
		return req, errors.New("not a form upload")
	}
	req.Envelope = strings.TrimSpace(req.Envelope)
	if len(req.Meta) > maxMetaBytes {
		req.Meta = ""
	}
	return req, nil
}

// renderOpen writes the decryptor page (package envelope's, the same the
// securedoc carries) with its own CSP: scripts by hash, the key service
// (this origin) as the only peer.
func (s *Server) renderOpen(w http.ResponseWriter, r *http.Request, p openRequest) {
	page := envelope.OpenPage{
		EnvelopeID: p.Envelope, Payload: p.Payload, Meta: envelope.ParsePageMeta(p.Meta),
		PublicURL: s.cfg.PublicURL, Organization: s.cfg.Organization, Language: s.requestLang(r),
	}
	if p.Stream != nil {
		s.streamOpen(w, r, page, p.Stream)
		return
	}
	var buf bytes.Buffer
	err := envelope.WriteOpenPage(&buf, page)
	if err != nil {
		s.log.Error("key service: open page", "envelope", p.Envelope, "err", err)
		s.sentence(w, r, http.StatusInternalServerError, "Cannot open", "The online reader could not be prepared. Please open the attachment in a web browser instead.")
		return
	}
	h := w.Header()
	h.Set("Content-Security-Policy", envelope.OpenPageCSP(s.cfg.PublicURL))
	h.Set("Content-Type", "text/html; charset=us-ascii")
	_, _ = w.Write(buf.Bytes())
}

// streamOpen writes the page while the payload is read from the request
// (or the phone page's copy), at a pace (pagewrite.go). Once the page has begun, a failure (the post cut short or over the
// limit) can no longer change the status: the connection is aborted so
// the browser shows an error rather than a page that looks whole.
func (s *Server) streamOpen(w http.ResponseWriter, r *http.Request, page envelope.OpenPage, payload io.Reader) {
	h := w.Header()
	h.Set("Content-Security-Policy", envelope.OpenPageCSP(s.cfg.PublicURL))
	h.Set("Content-Type", "text/html; charset=us-ascii")
	page.PayloadReader = payload
	// HTTP/1.1 servers stop reading a request once its answer has begun,
	// unless told that both go on at once.
	if err := http.NewResponseController(w).EnableFullDuplex(); err != nil {
		s.log.Debug("key service: no full duplex", "err", err)
	}
	// Written at a pace (pagewrite.go): a client that stops reading is cut
	// off and gives its page slot back.
	pw := s.pacedPage(w)
	err := envelope.WriteOpenPage(pw, page)
	if err == nil {
		err = pw.finish()
	}
	if err != nil {
		s.log.Warn("key service: open page cut short", "envelope", page.EnvelopeID, "err", err)
		panic(http.ErrAbortHandler)
	}
}
