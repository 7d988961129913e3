package main

import (
	"net/http"
	"net/http/httptest"
	"testing"
)

func TestOperatorOnly(t *testing.T) {
	h := operatorOnly(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
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
