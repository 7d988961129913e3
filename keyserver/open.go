package keyserver

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"strings"

	"github.com/postseal/postseal/envelope"
)

// Open Online: the securedoc's no-script form posts the armoured payload
// here (multipart/form-data: envelope, payload, meta) and the key service
// shows the same decryptor from its own origin. The post comes from a page
// opened from file:// or a mail app, so it is cross-origin by nature and
// exempt from the CSRF check; it changes nothing on the server.

type openRequest struct {
	Envelope string
	Payload  string
	Meta     string // JSON, display only
}

const (
	armorBegin   = "-----BEGIN PGP MESSAGE-----"
	maxMetaBytes = 64 << 10
)

func (s *Server) openInfo(w http.ResponseWriter, r *http.Request) {
	s.sentence(w, r, http.StatusOK, "Open Online", "This page is reached with the \"Open Online\" button of a secure message. Open the attachment of the e-mail you received and press that button.")
}

var errTooLarge = errors.New("too large")

func (s *Server) open(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, s.cfg.MaxOpenBody)
	req, err := readOpenRequest(r, s.cfg.MaxOpenBody)
	var mbe *http.MaxBytesError
	switch {
	case errors.As(err, &mbe) || errors.Is(err, errTooLarge):
		s.sentence(w, r, http.StatusRequestEntityTooLarge, "Message too large",
			fmt.Sprintf("This message is larger than the key service accepts online (%d MB). Please open the attachment in a web browser on a computer instead.", s.cfg.MaxOpenBody/1_000_000))
		return
	case err != nil:
		s.sentence(w, r, http.StatusBadRequest, "Cannot open", "The secure message could not be read from the form: "+err.Error()+". Please open the attachment in a web browser instead.")
		return
	}
	if !validEnvelopeID(req.Envelope) || !strings.Contains(req.Payload, armorBegin) {
		s.sentence(w, r, http.StatusBadRequest, "Cannot open", "The form did not carry a secure message. Please use the \"Open Online\" button of the securedoc attachment.")
		return
	}
	s.openPage(w, r, req)
}

// readOpenRequest reads the three fields with a cap each; the body as a
// whole is capped by the caller's MaxBytesReader.
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
				dst, limit = &req.Payload, maxPayload
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
	var buf bytes.Buffer
	err := envelope.WriteOpenPage(&buf, envelope.OpenPage{
		EnvelopeID: p.Envelope, Payload: p.Payload, Meta: envelope.ParsePageMeta(p.Meta),
		PublicURL: s.cfg.PublicURL, Organization: s.cfg.Organization,
	})
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
