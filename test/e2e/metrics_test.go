package e2e

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/postseal/postseal/test/mta"
)

// TestMetricsAndHealth: messages through the real Postfix show in
// GET /metrics; /healthz checks the store and the master key file.
func TestMetricsAndHealth(t *testing.T) {
	needRoot(t)
	reinject := freePort(t)
	ps := startPostseal(t, PostsealConfig{ReinjectPort: reinject})
	pf := startPostfix(t, mta.Options{Milter: postfixMilterAddr(ps.MilterPort), ReinjectPort: reinject})
	base := fmt.Sprintf("http://127.0.0.1:%d", ps.HTTPPort)

	msg := func(rcpt, subject string) []byte {
		return []byte("From: Alice <alice@example.org>\nTo: <" + rcpt + ">\nSubject: " + subject +
			"\nDate: Mon, 23 Nov 2026 16:00:00 +0000\nMessage-ID: <" + rcpt + ">\n\nWard round notes.\n")
	}
	for _, m := range []struct{ rcpt, subject string }{
		{"plain@partner.example.net", "Lunch"},
		{"sealed@partner.example.net", "*secure* Ward round"},
	} {
		mark := postfixMustAccept(t, pf, mta.SMTP, postfixSender, []string{m.rcpt}, msg(m.rcpt, m.subject))
		postfixWait(t, pf, mark, m.rcpt, 1)
	}

	body, code := httpGet(t, base+"/metrics")
	if code != http.StatusOK {
		t.Fatalf("/metrics: %d\n%s", code, body)
	}
	for _, want := range []string{
		"postseal_messages_seen_total 2\n",
		"postseal_messages_passed_total 1\n",
		`postseal_messages_sealed_total{trigger="secure-tag"} 1` + "\n",
		"postseal_seal_duration_seconds_count 1\n",
		"postseal_mail_queue_depth 0\n",
	} {
		if !strings.Contains(body, want) {
			t.Errorf("/metrics lacks %q", want)
		}
	}
	if strings.Contains(body, "partner.example.net") || strings.Contains(body, "Ward round") {
		t.Error("/metrics carries an address or a subject")
	}

	health := func() (map[string]string, int) {
		t.Helper()
		body, code := httpGet(t, base+"/healthz")
		var h map[string]string
		if err := json.Unmarshal([]byte(body), &h); err != nil {
			t.Fatalf("/healthz: %v: %s", err, body)
		}
		return h, code
	}
	if h, code := health(); code != http.StatusOK || h["store"] != "ok" || h["master_key"] != "ok" {
		t.Errorf("/healthz: %d %v", code, h)
	}
	// A master key file others can read would stop the next start: say so now.
	key := filepath.Join(ps.Dir, "master.key")
	if err := os.Chmod(key, 0o644); err != nil {
		t.Fatal(err)
	}
	h, code := health()
	if code != http.StatusServiceUnavailable || !strings.Contains(h["master_key"], "chmod 600") {
		t.Errorf("/healthz with a readable master key: %d %v", code, h)
	}
	if err := os.Chmod(key, 0o600); err != nil {
		t.Fatal(err)
	}
}

func httpGet(t *testing.T, url string) (string, int) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return string(b), resp.StatusCode
}
