package keyserver

import (
	"context"
	"encoding/json"
	"net/http"
	"net/netip"
	"strings"
	"time"

	"github.com/postseal/postseal/store"
)

// The client's address (through trusted reverse proxies) and the
// operator's endpoints that are answered by address: /healthz and the
// check that keeps them (and /metrics) to the operator's networks.

// remoteIP is the client's address as the throttle counts it: an IPv6
// client by its /64, since one host commonly holds the whole prefix. All
// clients whose address cannot be read share one key: were it the
// connection's address with its port, every connection would be a new
// client with a fresh allowance.
func (s *Server) remoteIP(r *http.Request) string {
	ip, ok := ClientAddr(r, s.cfg.TrustedProxies)
	switch {
	case !ok:
		return unreadableClient
	case ip.Is6():
		return netip.PrefixFrom(ip, 64).Masked().String()
	}
	return ip.String()
}

// parseHop reads one X-Forwarded-For entry: an address, with or without
// a port ("203.0.113.9:4711", "[2001:db8::1]:443") or brackets.
func parseHop(h string) (netip.Addr, error) {
	if ap, err := netip.ParseAddrPort(h); err == nil {
		return ap.Addr(), nil
	}
	return netip.ParseAddr(strings.TrimSuffix(strings.TrimPrefix(h, "["), "]"))
}

// ClientAddr is the address of the client that sent r: the connection's
// peer, unless the peer is one of the trusted proxies — then the nearest
// X-Forwarded-For hop that is not a trusted proxy (hops further left are
// whatever the client claimed, so they are never believed). ok is false
// when no address can be read.
func ClientAddr(r *http.Request, trusted []netip.Prefix) (addr netip.Addr, ok bool) {
	ap, err := netip.ParseAddrPort(r.RemoteAddr)
	if err != nil {
		return netip.Addr{}, false
	}
	addr = ap.Addr().Unmap()
	isTrusted := func(a netip.Addr) bool {
		for _, p := range trusted {
			if p.Contains(a) {
				return true
			}
		}
		return false
	}
	if !isTrusted(addr) {
		return addr, true
	}
	var hops []string
	for _, h := range r.Header.Values("X-Forwarded-For") {
		hops = append(hops, strings.Split(h, ",")...)
	}
	for i := len(hops) - 1; i >= 0; i-- {
		hop, err := parseHop(strings.TrimSpace(hops[i]))
		if err != nil {
			// A hop the proxy wrote that cannot be read: no client
			// address, which the callers treat as the strictest case
			// (never the proxy's own, operator-side address).
			return netip.Addr{}, false
		}
		addr = hop.Unmap()
		if !isTrusted(addr) {
			return addr, true
		}
	}
	return addr, true
}

// OperatorOnly answers 403 to clients outside loopback and private
// networks (the client as seen through the trusted proxies): the listener
// faces recipients on the internet, the operator's endpoints answer the
// networks where Prometheus and load balancers live.
func OperatorOnly(h http.Handler, trusted []netip.Prefix) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ip, ok := ClientAddr(r, trusted)
		if !ok || !(ip.IsLoopback() || ip.IsPrivate()) {
			http.Error(w, "This endpoint is for the operator's network only.", http.StatusForbidden)
			return
		}
		h.ServeHTTP(w, r)
	})
}

// Pinger is the part of the store /healthz asks.
type Pinger interface {
	Ping(ctx context.Context) error
}

// Health is /healthz: 200 with {"status":"ok",...} when the store answers
// and the master key file is still there and private; 503 naming the
// failing part otherwise. Wrap it in OperatorOnly.
func Health(st Pinger, masterKeyFile string) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctx, cancel := context.WithTimeout(r.Context(), 3*time.Second)
		defer cancel()
		status := map[string]string{"status": "ok", "store": "ok", "master_key": "ok"}
		if err := st.Ping(ctx); err != nil {
			status["status"], status["store"] = "unavailable", err.Error()
		}
		// The key is in memory since the start; this checks that its file
		// is still there and private, or the next start would fail.
		if _, err := store.LoadMasterKey(masterKeyFile, false); err != nil {
			status["status"], status["master_key"] = "unavailable", err.Error()
		}
		w.Header().Set("Content-Type", "application/json")
		if status["status"] != "ok" {
			w.WriteHeader(http.StatusServiceUnavailable)
		}
		_ = json.NewEncoder(w).Encode(status)
	})
}
