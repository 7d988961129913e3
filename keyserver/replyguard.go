package keyserver

import (
	"context"
	"strings"
	"sync"
	"time"
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/unicode/norm"

	"github.com/postseal/postseal/store"
)

// What guards secure replies against a recipient turning the key service
// into a relay for organisation-branded mail: names that cannot pose as an
// address, a quota per client address besides the one per account, and
// quotas reserved before delivery so concurrent sends cannot overshoot.

// replySubjectMax caps the subject a reply page posts (in characters): a
// subject is a line, not a document. The message's Subject is shortened
// further when written; this refuses the megabyte a form field could hold.
const replySubjectMax = 4000

// maxDisplayName caps a person's name, first and last together, in
// characters: "Name via Org" in From is a name, not a message. The
// registration form's error names the number (msgNameLength).
const maxDisplayName = 64

// cleanName is name NFKC-normalised (full-width "＠" is "@") and trimmed;
// ok reports whether it may stand in a From display name: letters,
// combining marks, spaces and ' - . only. Everything else is refused
// rather than listed: look-alikes of '<', '>', '@' and '"' ("‹", "＠"),
// bidi and other format characters, digits and punctuation that would
// make "Name via Org" read like an address, a URL or a notice.
func cleanName(name string) (clean string, ok bool) {
	clean = strings.TrimSpace(norm.NFKC.String(name))
	return clean, strings.IndexFunc(clean, func(r rune) bool { return !nameRune(r) }) < 0
}

func nameRune(r rune) bool {
	return unicode.IsLetter(r) || unicode.Is(unicode.M, r) || r == ' ' || r == '\'' || r == '-' || r == '.'
}

// displayName is the name first and last make in From, and whether it
// may: both clean and together at most maxDisplayName characters.
func displayName(first, last string) (string, bool) {
	f, okF := cleanName(first)
	l, okL := cleanName(last)
	name := strings.TrimSpace(f + " " + l)
	return name, okF && okL && utf8.RuneCountInString(name) <= maxDisplayName
}

// senderName is the display name a reply from acct carries: the account's
// name, or none (the address stands alone) when the stored name would not
// pass registration today — accounts registered before names were checked.
func senderName(acct store.Account) string {
	name, ok := displayName(acct.FirstName, acct.LastName)
	if !ok {
		return ""
	}
	return name
}

// replyQuota reserves one send against the per-account and per-client
// quotas before the reply is delivered; the audit events count what was
// sent, pending reservations count what is being sent. The check and the
// reservation happen under one lock, so two sends racing for the last
// slot cannot both go (per process; several processes each keep their
// own reservations on top of the shared events).
type replyQuota struct {
	mu      sync.Mutex
	pending map[string]int // "a:"+address and "ip:"+client → sends in flight
}

// reserve returns a reservation when address (from client ip) may send
// one more reply this hour; refused tells which quota is used up.
func (q *replyQuota) reserve(ctx context.Context, st Store, address, ip string, perAddress, perIP int, now time.Time) (res *reservation, refused bool, err error) {
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.pending == nil {
		q.pending = map[string]int{}
	}
	since := now.Add(-time.Hour)
	n, err := st.CountEvents(ctx, store.EventFilter{Kind: store.EventReplySent, Email: address, Since: since})
	if err != nil {
		return nil, false, err
	}
	if n+q.pending["a:"+address] >= perAddress {
		return nil, true, nil
	}
	n, err = st.CountEvents(ctx, store.EventFilter{Kind: store.EventReplySent, RemoteIP: ip, Since: since})
	if err != nil {
		return nil, false, err
	}
	if n+q.pending["ip:"+ip] >= perIP {
		return nil, true, nil
	}
	q.pending["a:"+address]++
	q.pending["ip:"+ip]++
	return &reservation{q: q, keys: []string{"a:" + address, "ip:" + ip}}, false, nil
}

// reservation is one send counted as pending until Done.
type reservation struct {
	q    *replyQuota
	keys []string
	once sync.Once
}

// Done ends the reservation; record (when not nil) writes the event that
// counts the send from now on. Both happen under the quota's lock: were the
// event written first and the reservation dropped after, a send racing in
// between would see the reply twice (event and pending) and be refused
// although the quota had room. Later calls do nothing.
func (r *reservation) Done(record func()) {
	r.once.Do(func() {
		r.q.mu.Lock()
		defer r.q.mu.Unlock()
		if record != nil {
			record()
		}
		for _, k := range r.keys {
			if r.q.pending[k]--; r.q.pending[k] <= 0 {
				delete(r.q.pending, k)
			}
		}
	})
}

// perClientInFlight is the default of Config.ClientInFlight.
const perClientInFlight = 2

// inFlight counts requests in progress per endpoint and client.
type inFlight struct {
	mu  sync.Mutex
	max int
	n   map[string]int
}

// enter reports whether key may start one more request; leave must then
// be called when it ends.
func (f *inFlight) enter(key string) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.n == nil {
		f.n = map[string]int{}
	}
	if f.n[key] >= max(f.max, 1) {
		return false
	}
	f.n[key]++
	return true
}

func (f *inFlight) leave(key string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.n[key]--; f.n[key] <= 0 {
		delete(f.n, key)
	}
}
