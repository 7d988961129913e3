package keyserver

import (
	"context"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/postseal/postseal/store"
)

func TestOperatorOnly(t *testing.T) {
	h := OperatorOnly(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}), nil)
	for addr, want := range map[string]int{
		"127.0.0.1:5000":      200,
		"[::1]:5000":          200,
		"10.1.2.3:5000":       200,
		"192.168.0.9:5000":    200,
		"[fd00::1]:5000":      200,
		"203.0.113.7:5000":    403,
		"[2001:db8::1]:5000":  403,
		"[::ffff:8.8.8.8]:53": 403,
		"garbage":             403,
	} {
		req := httptest.NewRequest("GET", "/metrics", nil)
		req.RemoteAddr = addr
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		if rec.Code != want {
			t.Errorf("%s: %d, want %d", addr, rec.Code, want)
		}
	}
}

// Behind a trusted proxy on the same host, the client it names decides.
func TestOperatorOnlyBehindProxy(t *testing.T) {
	h := OperatorOnly(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}), []netip.Prefix{netip.MustParsePrefix("127.0.0.1/32")})
	for xff, want := range map[string]int{
		"203.0.113.7":           403,
		"10.0.0.5":              200,
		"10.0.0.5, 203.0.113.7": 403, // the proxy's own hop is the one believed
		"203.0.113.7, 10.0.0.5": 200, // the client's claim is not
		"":                      200, // the proxy itself
	} {
		req := httptest.NewRequest("GET", "/metrics", nil)
		req.RemoteAddr = "127.0.0.1:5000"
		if xff != "" {
			req.Header.Set("X-Forwarded-For", xff)
		}
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		if rec.Code != want {
			t.Errorf("X-Forwarded-For %q: %d, want %d", xff, rec.Code, want)
		}
	}
}

// /healthz names the part that fails: the store, or the master key file
// (gone or readable by others, so the next start would fail).
func TestHealth(t *testing.T) {
	dir := t.TempDir()
	keyFile := filepath.Join(dir, "master.key")
	key, err := store.LoadMasterKey(keyFile, true)
	if err != nil {
		t.Fatal(err)
	}
	st, err := store.OpenSQLite(context.Background(), filepath.Join(dir, "postseal.db"), key)
	if err != nil {
		t.Fatal(err)
	}
	h := Health(st, keyFile)
	get := func() (int, string) {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest("GET", "/healthz", nil))
		return rec.Code, rec.Body.String()
	}
	if code, body := get(); code != 200 || !strings.Contains(body, `"status":"ok"`) {
		t.Errorf("healthy: %d %s", code, body)
	}
	if err := os.Chmod(keyFile, 0o644); err != nil {
		t.Fatal(err)
	}
	if code, body := get(); code != 503 || !strings.Contains(body, `"master_key"`) || strings.Contains(body, `"master_key":"ok"`) {
		t.Errorf("master key readable by others: %d %s", code, body)
	}
	_ = os.Chmod(keyFile, 0o600)
	st.Close()
	if code, body := get(); code != 503 || strings.Contains(body, `"store":"ok"`) {
		t.Errorf("store closed: %d %s", code, body)
	}
}
