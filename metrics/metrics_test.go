package metrics

import (
	"io"
	"math"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

func scrape(t *testing.T, m *Metrics) string {
	t.Helper()
	rec := httptest.NewRecorder()
	m.Handler().ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	if rec.Code != 200 {
		t.Fatalf("GET /metrics: %d", rec.Code)
	}
	b, _ := io.ReadAll(rec.Body)
	return string(b)
}

func TestScrape(t *testing.T) {
	m := New()
	depth := 3.0
	m.QueueDepth(func() float64 { return depth })
	m.Seen()
	m.Seen()
	m.Sealed("secure-tag", 1000, 20*time.Millisecond)
	m.Sealed("scanner", 500, 2*time.Second)
	m.Passed()
	m.Rejected()
	m.TempFailed("timeout")
	m.KeyReleased()
	m.LoginFailed()
	m.LoginFailed()
	m.ScanFindings("us_ssn", 2, "report")
	m.ScanFindings("us_ssn", 1, "report")
	out := scrape(t, m)
	for _, want := range []string{
		"postseal_messages_seen_total 2\n",
		`postseal_messages_sealed_total{trigger="secure-tag"} 1` + "\n",
		`postseal_messages_sealed_total{trigger="scanner"} 1` + "\n",
		"postseal_messages_passed_total 1\n",
		"postseal_messages_rejected_total 1\n",
		`postseal_messages_tempfailed_total{reason="timeout"} 1` + "\n",
		"postseal_sealed_bytes_total 1500\n",
		"postseal_seal_duration_seconds_count 2\n",
		`postseal_seal_duration_seconds_bucket{le="0.025"} 1` + "\n",
		"postseal_key_releases_total 1\n",
		"postseal_login_failures_total 2\n",
		"postseal_mail_queue_depth 3\n",
		`postseal_scanner_findings_total{mode="report",rule="us_ssn"} 3` + "\n",
		"go_goroutines ",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("scrape lacks %q", want)
		}
	}
	depth = 7 // read at each scrape, not at registration
	if out := scrape(t, m); !strings.Contains(out, "postseal_mail_queue_depth 7\n") {
		t.Error("queue depth not read again at the second scrape")
	}
	depth = math.NaN()
	if out := scrape(t, m); !strings.Contains(out, "postseal_mail_queue_depth NaN\n") {
		t.Error("an unknown queue depth is not reported as NaN")
	}
}

// Two instances share nothing (no global registry).
func TestInstancesIndependent(t *testing.T) {
	a, b := New(), New()
	a.Passed()
	if out := scrape(t, b); !strings.Contains(out, "postseal_messages_passed_total 0\n") {
		t.Error("a counter of one instance shows in another")
	}
}

// The consumers' interfaces, spelled out here as they are in milter and
// keyserver, so a renamed method fails this package's tests too.
var _ interface {
	Seen()
	Sealed(string, int64, time.Duration)
	Passed()
	Rejected()
	TempFailed(string)
	KeyReleased()
	LoginFailed()
} = (*Metrics)(nil)
