package keyserver

import (
	"bytes"
	"compress/gzip"
	"crypto/sha512"
	"encoding/base64"
	"io"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/postseal/postseal/envelope"
)

// TestDecryptorServed: the linked pages' decryptor is served at its
// content-addressed path, readable cross-origin (SRI from a file:// page
// needs CORS), cached for good, and its bytes hash to the integrity value
// the pages pin.
func TestDecryptorServed(t *testing.T) {
	f := newFixture(t)
	a := envelope.LinkedDecryptor()
	req := httptest.NewRequest("GET", a.Path, nil)
	req.Header.Set("Origin", "null")
	rec := f.do(req, "")
	if rec.Code != 200 {
		t.Fatalf("GET %s: %d %s", a.Path, rec.Code, rec.Body)
	}
	h := rec.Header()
	for k, want := range map[string]string{
		"Access-Control-Allow-Origin": "*",
		"Cache-Control":               "public, max-age=31536000, immutable",
		"Content-Type":                "text/javascript; charset=us-ascii",
		"X-Content-Type-Options":      "nosniff",
	} {
		if got := h.Get(k); got != want {
			t.Errorf("%s: %q, want %q", k, got, want)
		}
	}
	sum := sha512.Sum384(rec.Body.Bytes())
	if got := "sha384-" + base64.StdEncoding.EncodeToString(sum[:]); got != a.Integrity {
		t.Errorf("served decryptor hashes to %s; the pages pin %s", got, a.Integrity)
	}
	if !bytes.Contains(rec.Body.Bytes(), []byte("postseal securedoc decryptor")) {
		t.Error("served body is not the decryptor")
	}

	t.Run("gzip", func(t *testing.T) {
		req := httptest.NewRequest("GET", a.Path, nil)
		req.Header.Set("Accept-Encoding", "br, gzip;q=0.8")
		rec := f.do(req, "")
		if rec.Header().Get("Content-Encoding") != "gzip" || rec.Header().Get("Vary") != "Accept-Encoding" {
			t.Fatalf("Content-Encoding %q Vary %q", rec.Header().Get("Content-Encoding"), rec.Header().Get("Vary"))
		}
		z, err := gzip.NewReader(rec.Body)
		if err != nil {
			t.Fatal(err)
		}
		b, err := io.ReadAll(z)
		if err != nil || !bytes.Equal(b, a.Body) {
			t.Errorf("gzip body does not inflate to the decryptor (%v)", err)
		}
		req.Header.Set("Accept-Encoding", "gzip;q=0")
		if rec := f.do(req, ""); rec.Header().Get("Content-Encoding") != "" {
			t.Error("gzip sent to a client that refuses it")
		}
	})

	t.Run("not modified", func(t *testing.T) {
		req := httptest.NewRequest("GET", a.Path, nil)
		req.Header.Set("If-None-Match", h.Get("ETag"))
		if rec := f.do(req, ""); rec.Code != 304 || rec.Body.Len() != 0 {
			t.Errorf("revalidation: %d with %d bytes; want 304, empty", rec.Code, rec.Body.Len())
		}
	})

	t.Run("unknown version", func(t *testing.T) {
		other := strings.Replace(a.Path, a.Path[len(envelope.DecryptorPathPrefix):][:4], "AAAA", 1)
		rec := f.get(other)
		if rec.Code != 404 || rec.Header().Get("Access-Control-Allow-Origin") != "*" || rec.Header().Get("Cache-Control") != "no-store" {
			t.Errorf("GET %s: %d, ACAO %q, Cache-Control %q; want 404 readable by the page's loader, not cached",
				other, rec.Code, rec.Header().Get("Access-Control-Allow-Origin"), rec.Header().Get("Cache-Control"))
		}
	})
}

// If-None-Match: the decryptor's ETag or "*" is a 304, another tag the
// body.
func TestDecryptorIfNoneMatch(t *testing.T) {
	f := newFixture(t)
	a := envelope.LinkedDecryptor()
	for inm, want := range map[string]int{"*": 304, `"other"`: 200} {
		req := httptest.NewRequest("GET", a.Path, nil)
		req.Header.Set("If-None-Match", inm)
		if rec := f.do(req, ""); rec.Code != want {
			t.Errorf("If-None-Match %s: %d; want %d", inm, rec.Code, want)
		}
	}
}
