// Package metrics counts what postseal does, for Prometheus (GET /metrics).
//
// Everything lives in one Metrics value with its own registry — no global
// state, so tests and several instances in one process do not share
// counters. The packages that report events do not import this one: they
// define the small interface they need (milter.Observer, keyserver.Metrics)
// and cmd/postseal hands them a *Metrics.
//
// Labels are bounded sets: trigger names come from the rules file (plus
// "scanner"), temp-fail reasons from the milter's own list. Nothing derived
// from a message (addresses, subjects, scanner values) ever becomes a label.
package metrics

import (
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// Metrics holds postseal's counters. Its methods are safe for concurrent use.
type Metrics struct {
	reg          *prometheus.Registry
	seen         prometheus.Counter
	sealed       *prometheus.CounterVec
	passed       prometheus.Counter
	rejected     prometheus.Counter
	tempFailed   *prometheus.CounterVec
	sealDuration prometheus.Histogram
	sealedBytes  prometheus.Counter
	keyReleases  prometheus.Counter
	loginFails   prometheus.Counter
	refused      *prometheus.CounterVec
	scanFindings *prometheus.CounterVec
}

// New returns counters registered on a registry of their own, together
// with the Go runtime and process collectors.
func New() *Metrics {
	m := &Metrics{
		reg: prometheus.NewRegistry(),
		seen: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "postseal_messages_seen_total",
			Help: "Messages whose header reached the milter.",
		}),
		sealed: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "postseal_messages_sealed_total",
			Help: "Messages sealed, by the trigger that asked for it (or \"scanner\").",
		}, []string{"trigger"}),
		passed: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "postseal_messages_passed_total",
			Help: "Messages passed unchanged (no trigger, or internal recipients only).",
		}),
		rejected: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "postseal_messages_rejected_total",
			Help: "Messages refused permanently (5xx), e.g. larger than max_secure_size.",
		}),
		tempFailed: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "postseal_messages_tempfailed_total",
			Help: "Messages temp-failed (451) so that the MTA retries, by reason.",
		}, []string{"reason"}),
		sealDuration: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name: "postseal_seal_duration_seconds",
			Help: "Time from the end of a message to its sealed copies being ready.",
			// From small messages (ms) to 10 MB ones with several copies.
			Buckets: []float64{.005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30},
		}),
		sealedBytes: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "postseal_sealed_bytes_total",
			Help: "Size of the original messages sealed, in bytes.",
		}),
		keyReleases: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "postseal_key_releases_total",
			Help: "Message keys released to recipients by the key service.",
		}),
		scanFindings: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "postseal_scanner_findings_total",
			Help: "Scanner findings by rule (detector or admin rule) and mode (\"report\": delivered untouched in report mode).",
		}, []string{"rule", "mode"}),
		loginFails: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "postseal_login_failures_total",
			Help: "Failed recipient logins (wrong password, unknown or inactive account).",
		}),
		refused: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "postseal_keyserver_refused_total",
			Help: "Key-service requests refused before any work by a flood limit, by reason (throttled, busy, limit_ip, limit_address, open_busy); counted here, not stored one by one.",
		}, []string{"reason"}),
	}
	m.reg.MustRegister(m.seen, m.sealed, m.passed, m.rejected, m.tempFailed, m.sealDuration, m.sealedBytes, m.keyReleases, m.loginFails, m.refused, m.scanFindings,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return m
}

// Seen counts a message whose header reached the milter.
func (m *Metrics) Seen() { m.seen.Inc() }

// Sealed counts a sealed message: its trigger, its size and how long the
// sealing took.
func (m *Metrics) Sealed(trigger string, bytes int64, d time.Duration) {
	m.sealed.WithLabelValues(trigger).Inc()
	m.sealedBytes.Add(float64(bytes))
	m.sealDuration.Observe(d.Seconds())
}

// ScanFindings counts the scanner's findings of one rule in one message.
func (m *Metrics) ScanFindings(rule string, n int, mode string) {
	m.scanFindings.WithLabelValues(rule, mode).Add(float64(n))
}

// Passed counts a message passed unchanged.
func (m *Metrics) Passed() { m.passed.Inc() }

// Rejected counts a message refused permanently.
func (m *Metrics) Rejected() { m.rejected.Inc() }

// TempFailed counts a temporary failure and its reason.
func (m *Metrics) TempFailed(reason string) { m.tempFailed.WithLabelValues(reason).Inc() }

// KeyReleased counts a message key released by the key service.
func (m *Metrics) KeyReleased() { m.keyReleases.Inc() }

// LoginFailed counts a failed recipient login.
func (m *Metrics) LoginFailed() { m.loginFails.Inc() }

// Refused counts a key-service request refused by a flood limit; reason
// is one of the key service's fixed set.
func (m *Metrics) Refused(reason string) { m.refused.WithLabelValues(reason).Inc() }

// QueueDepth exports the outgoing mail queue's length, read from depth at
// each scrape (it should answer quickly; return NaN when it cannot tell).
// Call it once.
func (m *Metrics) QueueDepth(depth func() float64) {
	m.reg.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name: "postseal_mail_queue_depth",
		Help: "Messages waiting in postseal's outgoing mail queue (activation mails, receipts, replies).",
	}, depth))
}

// Handler serves the metrics in the Prometheus text format.
func (m *Metrics) Handler() http.Handler {
	return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{Registry: m.reg})
}

// Registry is the registry the metrics are on (for tests and for adding
// collectors).
func (m *Metrics) Registry() *prometheus.Registry { return m.reg }
