package main

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"github.com/postseal/postseal/test/mta"
)

// ---- pipeline-pass, pipeline-seal ----------------------------------------

const (
	benchFrom = "bench@example.org"
	benchTo   = "bench@partner.example.net" // external: the milter must act
	noMilter  = "nomilter"
)

func pipelineRows(c config, root string) []Row {
	const passGoal, sealGoal = "ratio ≥ 0.95", "ratio ≥ 0.80"
	fail := func(why string) []Row {
		return []Row{notRun("pipeline-pass", passGoal, why), notRun("pipeline-seal", sealGoal, why)}
	}
	if os.Geteuid() != 0 {
		return fail("needs root to run a private Postfix")
	}
	if _, err := exec.LookPath("smtp-source"); err != nil {
		if _, err := os.Stat("/usr/sbin/smtp-source"); err != nil {
			return fail("smtp-source not installed (Debian package postfix)")
		}
	}
	work, err := os.MkdirTemp("", "postseal-bench-")
	if err != nil {
		return fail(err.Error())
	}
	defer os.RemoveAll(work)
	bin, err := mta.BuildPostseal(root, work)
	if err != nil {
		return fail(fmt.Sprintf("postseal does not build: %s", firstLine(err.Error())))
	}
	if alt := os.Getenv("POSTSEAL_BENCH_BIN"); alt != "" {
		bin = alt // compare another build (or a stand-in milter) in the same harness
	}
	ps, reinjectPort, err := startPostseal(bin, filepath.Join(work, "state"))
	if err != nil {
		return fail(err.Error())
	}
	defer ps.Stop()
	pf, err := mta.StartPostfix(mta.Options{
		Milter:       fmt.Sprintf("inet:127.0.0.1:%d", ps.MilterPort),
		ReinjectPort: reinjectPort,
		Listeners:    []mta.Listener{{Name: noMilter}},
		Postconf: []string{
			// The sink is on the same disk for A and B; keep Postfix's own
			// limits out of the way of 20 sessions.
			"default_process_limit=200",
			"smtpd_client_connection_count_limit=0",
		},
	})
	if err != nil {
		return fail(err.Error())
	}
	defer pf.Stop()

	fmt.Printf("pipeline: %d msgs of ~%d bytes, %d sessions (smtp-source), %d A/B pairs; A = Postfix with postseal as milter, B = the same Postfix, listener without milter.\n",
		c.n, c.size, c.sessions, c.pairs)
	fmt.Println("          time = from the start of smtp-source until the N-th message is delivered to the sink (a file in the Maildir).")

	// Warm up both paths (process spawn, page cache, Go runtime).
	for _, w := range []struct{ listener, subject string }{{mta.SMTP, "bench pass"}, {noMilter, "bench pass"}, {mta.SMTP, "*secure* bench seal"}} {
		if _, err := runSource(pf, w.listener, min(100, c.n), c.sessions, c.size, w.subject); err != nil {
			return fail("warm-up: " + err.Error() + "\npostseal log:\n" + ps.LogTail(40))
		}
	}

	pass := measurePair(pf, c, "pipeline-pass", "bench pass", false, passGoal)
	seal := measurePair(pf, c, "pipeline-seal", "*secure* bench seal", true, sealGoal)
	if strings.HasPrefix(seal.Note, "failed") || strings.HasPrefix(pass.Note, "failed") {
		fmt.Fprintf(os.Stderr, "postseal log (tail):\n%s\n", ps.LogTail(40))
	}
	return []Row{pass, seal}
}

func measurePair(pf *mta.Postfix, c config, name, subject string, sealed bool, goal string) Row {
	var as, bs, ratios []float64
	for i := 0; i < c.pairs; i++ {
		a, err := runSource(pf, mta.SMTP, c.n, c.sessions, c.size, subject)
		if err == nil {
			err = checkSample(pf, sealed)
		}
		if err != nil {
			fmt.Fprintf(os.Stderr, "%s: %v\n", name, err)
			return Row{Name: name, Goal: goal, Note: "failed: " + firstLine(err.Error())}
		}
		b, err := runSource(pf, noMilter, c.n, c.sessions, c.size, subject)
		if err != nil {
			fmt.Fprintf(os.Stderr, "%s (baseline): %v\n", name, err)
			return Row{Name: name, Goal: goal, Note: "failed (baseline): " + firstLine(err.Error())}
		}
		ra, rb := float64(c.n)/a.Seconds(), float64(c.n)/b.Seconds()
		fmt.Printf("  %-14s pair %d: A %7.1f msgs/s (%v)  B %7.1f msgs/s (%v)  ratio %.3f\n", name, i+1, ra, a.Round(time.Millisecond), rb, b.Round(time.Millisecond), ra/rb)
		as, bs, ratios = append(as, ra), append(bs, rb), append(ratios, ra/rb)
	}
	return Row{
		Name: name, Unit: "msgs/s", Value: f(median(as)), Baseline: f(median(bs)), Ratio: f(median(ratios)), Goal: goal,
		Note: fmt.Sprintf("median of %d A/B pairs, %d msgs each, until delivered", c.pairs, c.n),
	}
}

// runSource empties the sink, runs smtp-source against a listener and waits
// until n messages are delivered; it returns the time from the start of
// smtp-source to the n-th delivery.
func runSource(pf *mta.Postfix, listener string, n, sessions, size int, subject string) (time.Duration, error) {
	if err := waitQueueEmpty(pf, 2*time.Minute); err != nil {
		return 0, err
	}
	if err := pf.ClearSink(); err != nil {
		return 0, err
	}
	cmd := exec.Command("smtp-source",
		"-s", fmt.Sprint(sessions), "-m", fmt.Sprint(n), "-l", fmt.Sprint(size),
		"-f", benchFrom, "-t", benchTo, "-S", subject, "-M", "client.example.net",
		pf.Addr(listener))
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	start := time.Now()
	if err := cmd.Run(); err != nil {
		return 0, fmt.Errorf("smtp-source to %s: %v: %s\nmaillog tail:\n%s", listener, err, strings.TrimSpace(out.String()), pf.MaillogTail(10))
	}
	if err := pf.WaitCount(n, 5*time.Minute); err != nil {
		return 0, err
	}
	return time.Since(start), nil
}

func waitQueueEmpty(pf *mta.Postfix, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	for {
		out, err := exec.Command("postqueue", "-c", pf.ConfigDir, "-j").Output()
		if err != nil {
			return fmt.Errorf("postqueue -j: %v", err)
		}
		if len(bytes.TrimSpace(out)) == 0 {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("the Postfix queue is not empty after %v", timeout)
		}
		time.Sleep(50 * time.Millisecond) // poll interval
	}
}

// checkSample makes sure the A run did what it claims: sealed or not.
func checkSample(pf *mta.Postfix, sealed bool) error {
	ents, err := os.ReadDir(filepath.Join(pf.SinkDir, "new"))
	if err != nil || len(ents) == 0 {
		return fmt.Errorf("no delivered message to check: %v", err)
	}
	b, err := os.ReadFile(filepath.Join(pf.SinkDir, "new", ents[len(ents)/2].Name()))
	if err != nil {
		return err
	}
	hdr, _, _ := bytes.Cut(b, []byte("\n\n"))
	has := bytes.Contains(hdr, []byte("\nX-Postseal-Envelope:"))
	if has != sealed {
		return fmt.Errorf("a delivered message has X-Postseal-Envelope=%v, want %v", has, sealed)
	}
	return nil
}

// startPostseal runs `postseal serve` with the e2e tests' rules file
// (split delivery; internal domains example.org, *.example.org) and a
// re-injection port of its own.
func startPostseal(bin, dir string) (*mta.Postseal, int, error) {
	reinject, err := mta.FreePort()
	if err != nil {
		return nil, 0, err
	}
	ps, err := mta.StartPostseal(bin, dir, mta.PostsealConfig{ReinjectPort: reinject})
	return ps, reinject, err
}

func firstLine(s string) string {
	s = strings.TrimSpace(s)
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		return s[:i] + " …"
	}
	return s
}
