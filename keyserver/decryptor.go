package keyserver

import (
	"net/http"
	"strconv"
	"strings"

	"github.com/postseal/postseal/envelope"
)

// The decryptor of linked securedoc pages (see envelope.DecryptorLinked).
// Its URL names its content, so it is cached for good ("immutable"): a
// recipient's browser fetches it once per postseal release, not once per
// message. The pages load it cross-origin (from file:// their origin is
// "null") with Subresource Integrity, which needs CORS: any origin may read
// it, it is public code.

func (s *Server) decryptor(w http.ResponseWriter, r *http.Request) {
	a := envelope.LinkedDecryptor()
	h := w.Header()
	h.Set("Access-Control-Allow-Origin", "*")
	h.Set("Cross-Origin-Resource-Policy", "cross-origin")
	h.Set("Vary", "Accept-Encoding")
	if envelope.DecryptorPathPrefix+r.PathValue("name") != a.Path {
		// An unknown version (a page sealed by another release, or a
		// made-up name): the page's loader tells the reader.
		h.Set("Content-Type", "text/plain; charset=utf-8")
		w.WriteHeader(http.StatusNotFound)
		_, _ = w.Write([]byte("no such decryptor on this key service\n"))
		return
	}
	etag := `"` + strings.TrimSuffix(strings.TrimPrefix(a.Path, envelope.DecryptorPathPrefix), ".js") + `"`
	h.Set("Cache-Control", "public, max-age=31536000, immutable")
	h.Set("ETag", etag)
	h.Set("Content-Type", "text/javascript; charset=us-ascii")
	if inm := r.Header.Get("If-None-Match"); inm != "" && (inm == etag || inm == "*") {
		w.WriteHeader(http.StatusNotModified)
		return
	}
	body := a.Body
	if acceptsGzip(r.Header.Get("Accept-Encoding")) {
		h.Set("Content-Encoding", "gzip")
		body = a.Gzip
	}
	h.Set("Content-Length", strconv.Itoa(len(body)))
	if r.Method == http.MethodHead {
		return
	}
	_, _ = w.Write(body)
}

// acceptsGzip reads an Accept-Encoding header: gzip listed and not refused
// with q=0.
func acceptsGzip(ae string) bool {
	for _, part := range strings.Split(ae, ",") {
		name, params, _ := strings.Cut(strings.TrimSpace(part), ";")
		if !strings.EqualFold(strings.TrimSpace(name), "gzip") {
			continue
		}
		q := strings.ReplaceAll(params, " ", "")
		return !(q == "q=0" || q == "q=0.0" || q == "q=0.00" || q == "q=0.000")
	}
	return false
}
