package milter

import (
	"bytes"
	"log/slog"
	"os"
	"strings"
	"sync"
	"testing"

	"github.com/postseal/postseal/config"
	"github.com/postseal/postseal/metrics"
)

// syncBuffer collects log output written from the server's goroutines.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) lines() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return strings.Split(strings.TrimRight(s.b.String(), "\n"), "\n")
}

// TestOutcomesCountedAndLoggedOnce sends one message of each outcome
// through a real milter session and checks the real metrics (package
// metrics, as serve wires it) and that each message got exactly one log
// line, with its counts and without its content.
func TestOutcomesCountedAndLoggedOnce(t *testing.T) {
	m := metrics.New()
	var logs syncBuffer
	log := slog.New(slog.NewTextHandler(&logs, nil))
	p := testPolicy(t)
	p.Config.Milter.MaxSecureSize = config.Size(4096)
	st := newMemStore()
	f := New(p, st, &fakeSender{}, log, Config{SpoolDir: t.TempDir(), Observer: m})

	passHeaders := append([][2]string{}, protoHeaders...)
	passHeaders[2][1] = "Lunch"
	runSession(t, f, "doc@example.org", []string{"pat@ext.example"}, passHeaders, []byte(testBody))
	runSession(t, f, "doc@example.org", []string{"pat@ext.example", "nurse@example.org"}, protoHeaders, []byte(testBody))
	runSession(t, f, "doc@example.org", []string{"pat@ext.example"}, protoHeaders, bytes.Repeat([]byte("x"), 10000))
	st.err = os.ErrPermission
	runSession(t, f, "doc@example.org", []string{"pat@ext.example"}, protoHeaders, []byte(testBody))

	for _, c := range []struct {
		name, label string
		want        float64
	}{
		{"postseal_messages_seen_total", "", 4},
		{"postseal_messages_passed_total", "", 1},
		{"postseal_messages_sealed_total", "secure-tag", 1},
		{"postseal_messages_rejected_total", "", 1},
		{"postseal_messages_tempfailed_total", TempFailSeal, 1},
		{"postseal_seal_duration_seconds", "", 1}, // sample count
	} {
		if got := metricValue(t, m, c.name, c.label); got != c.want {
			t.Errorf("%s{%s} = %v, want %v", c.name, c.label, got, c.want)
		}
	}
	if got := metricValue(t, m, "postseal_sealed_bytes_total", ""); got < float64(len(testBody)) {
		t.Errorf("sealed bytes %v, want at least the body's %d", got, len(testBody))
	}

	lines := logs.lines()
	outcomes := map[string]string{}
	for _, l := range lines {
		for _, o := range []string{"passed", "sealed", "rejected", "tempfailed"} {
			if strings.Contains(l, "outcome="+o) {
				if outcomes[o] != "" {
					t.Errorf("two lines for outcome %s:\n%s\n%s", o, outcomes[o], l)
				}
				outcomes[o] = l
			}
		}
		for _, secret := range []string{"Palliative", "Jane Roe", "pat@ext.example", "nurse@example.org"} {
			if strings.Contains(l, secret) {
				t.Errorf("log line carries message content or an address (%q): %s", secret, l)
			}
		}
	}
	if len(outcomes) != 4 {
		t.Fatalf("outcome lines %v; want one per message:\n%s", outcomes, strings.Join(lines, "\n"))
	}
	for _, want := range []string{"queue_id=", "trigger=secure-tag", "recipients_clear=1", "recipients_sealed=1", "envelope_ids=", "duration="} {
		if !strings.Contains(outcomes["sealed"], want) {
			t.Errorf("sealed line lacks %q: %s", want, outcomes["sealed"])
		}
	}
	if !strings.Contains(outcomes["tempfailed"], "reason=seal") {
		t.Errorf("temp-fail line lacks its reason: %s", outcomes["tempfailed"])
	}
}

// metricValue reads one counter (or a histogram's sample count) from the
// registry; label is the value of the metric's only label, if it has one.
func metricValue(t *testing.T, m *metrics.Metrics, name, label string) float64 {
	t.Helper()
	fams, err := m.Registry().Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, fam := range fams {
		if fam.GetName() != name {
			continue
		}
		for _, mt := range fam.GetMetric() {
			if len(mt.GetLabel()) > 0 && mt.GetLabel()[0].GetValue() != label {
				continue
			}
			switch {
			case mt.GetCounter() != nil:
				return mt.GetCounter().GetValue()
			case mt.GetHistogram() != nil:
				return float64(mt.GetHistogram().GetSampleCount())
			case mt.GetGauge() != nil:
				return mt.GetGauge().GetValue()
			}
		}
	}
	return 0
}
