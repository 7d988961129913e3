package keyserver

import (
	"fmt"
	"net/http"
	"net/netip"
	"strconv"
	"strings"
	"sync"
	"time"

	"golang.org/x/time/rate"
)

// Floods are refused in memory before they cost anything: no Argon2 hash,
// no database row, no mail. The forms that cost a hash or send a mail
// (register, forgot, activate) are limited per client address, and the
// ones that send a mail also per address asked for — counted over the
// form submissions, whether or not the address has an account, so the
// "too many requests" answer tells nothing about accounts. These limits
// are per process; the throttle of failed passwords (throttle.go) lives in
// the store and is shared by every process.
//
// The numbers are what a load balancer in front must know (the README
// lists them): a client address may submit formBurst forms at once and
// then one per formEvery; an address may be asked for mailBurstPerSource
// mails from one client network, then one per mailEvery (no total across
// networks: strangers elsewhere must not use up the owner's share); the
// store's mailsPerHour, derived from mailBurst, bounds the mailbox flood.
const (
	formBurst          = 10
	formEvery          = time.Minute
	mailBurstPerSource = 3
	mailBurst          = 8
	mailEvery          = 10 * time.Minute
	// limiterEntries bounds the memory of one limiter; past it, new keys
	// are refused (strictest case) until idle entries age out.
	limiterEntries = 100_000
)

// keyedLimiter is one token bucket per key.
type keyedLimiter struct {
	mu    sync.Mutex
	every time.Duration
	burst int
	m     map[string]*rate.Limiter
	swept time.Time
}

func newKeyedLimiter(every time.Duration, burst int) *keyedLimiter {
	return &keyedLimiter{every: every, burst: burst, m: map[string]*rate.Limiter{}}
}

// allow takes one token for key at now; when none is left it returns
// false and how long until one is.
func (l *keyedLimiter) allow(key string, now time.Time) (bool, time.Duration) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.sweep(now)
	lim := l.m[key]
	if lim == nil {
		if len(l.m) >= limiterEntries {
			return false, l.every
		}
		lim = rate.NewLimiter(rate.Every(l.every), l.burst)
		l.m[key] = lim
	}
	r := lim.ReserveN(now, 1)
	if d := r.DelayFrom(now); d > 0 {
		r.CancelAt(now)
		return false, d
	}
	return true, 0
}

// sweep drops buckets that are full again (their keys have been idle for
// the whole refill time), at most once a minute.
func (l *keyedLimiter) sweep(now time.Time) {
	if now.Sub(l.swept) < time.Minute {
		return
	}
	l.swept = now
	for k, lim := range l.m {
		if lim.TokensAt(now) >= float64(l.burst) {
			delete(l.m, k)
		}
	}
}

// limits are the key service's in-memory flood limits.
type limits struct {
	forms    *keyedLimiter // per client address: register, forgot, activate
	mailFrom *keyedLimiter // per asked-for address and client network
}

func newLimits() *limits {
	return &limits{
		forms:    newKeyedLimiter(formEvery, formBurst),
		mailFrom: newKeyedLimiter(mailEvery, mailBurstPerSource),
	}
}

// unreadableClient is the one throttle key of every client whose address
// cannot be read (an X-Forwarded-For hop the proxy wrote that is not an
// address): they share one strict allowance, instead of each connection
// counting as a client of its own.
const unreadableClient = "unreadable"

// clientNetwork is the network a throttle key (remoteIP's form) belongs
// to: an IPv4 /24, an IPv6 /48. Owners and attackers rarely share one, so
// failures counted per address and network do not lock the owner out.
func clientNetwork(ip string) string {
	if p, err := netip.ParsePrefix(ip); err == nil {
		return netip.PrefixFrom(p.Addr(), min(48, p.Bits())).Masked().String()
	}
	if a, err := netip.ParseAddr(ip); err == nil {
		bits := 24
		if a.Is6() {
			bits = 48
		}
		return netip.PrefixFrom(a, bits).Masked().String()
	}
	return strings.ToLower(ip)
}

// waitText says a wait in whole seconds (under two minutes) or minutes.
func waitText(wait time.Duration) string {
	secs := retrySeconds(wait)
	if secs < 120 {
		return fmt.Sprintf("%d seconds", secs)
	}
	return fmt.Sprintf("%d minutes", (secs+59)/60)
}

// limitForm answers 429 on the form page when the client address has used
// up its allowance of forms that cost a hash or a mail; it reports
// whether it answered. Called before any hashing.
func (s *Server) limitForm(w http.ResponseWriter, ip, page string, d pageData) bool {
	ok, wait := s.limits.forms.allow(ip, s.now())
	if ok {
		return false
	}
	s.metrics.Refused(refusedIP)
	w.Header().Set("Retry-After", strconv.Itoa(retrySeconds(wait)))
	d.Error = "Too many requests came from your network. Please wait " + waitText(wait) + " and try again."
	s.render(w, http.StatusTooManyRequests, page, d)
	return true
}

// limitMail answers 429 on the form page when the address was asked for
// too many mails, from the client's network or from anywhere; it reports
// whether it answered. It counts requests, not accounts, so the answer is
// the same whether the address has an account or not — and the owner is
// told, never refused silently.
func (s *Server) limitMail(w http.ResponseWriter, email, ip, page string, d pageData) bool {
	now := s.now()
	// Per client network only: a total per address let a stranger on
	// three networks use up the owner's own reset or activation mail.
	ok, wait := s.limits.mailFrom.allow(email+" "+clientNetwork(ip), now)
	if ok {
		return false
	}
	s.metrics.Refused(refusedAddress)
	w.Header().Set("Retry-After", strconv.Itoa(retrySeconds(wait)))
	d.Error = "An e-mail for this address was asked for several times recently. Please look for it in your mailbox (and its spam folder), or wait " + waitText(wait) + " and try again."
	s.render(w, http.StatusTooManyRequests, page, d)
	return true
}
