package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"fmt"
	"net"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib" // database/sql driver "pgx"

	"github.com/postseal/postseal/test/mta"
)

// ---- pipeline-null, pipeline-pass, pipeline-seal, pipeline-seal-null, pipeline-seal-pg, seal-cpu, seal-bytes, soak-seal

const (
	benchFrom = "bench@example.org"
	benchTo   = "bench@partner.example.net" // external: the milter must act
	noMilter  = "nomilter"
	nullName  = "nullmilter"
	floorName = "nullseal" // the do-nothing milter making postseal's sealing edits
	pgName    = "postseal-pg"
)

// Goals of the pipeline rows (README.md).
const (
	nullGoal     = "— (the milter floor, 0.68–0.77 here)"
	passGoal     = "ratio ≥ 0.97 × pipeline-null"
	passNullGoal = "≥ 0.97"
	sealGoal     = "ratio ≥ 0.80"
	floorGoal    = "— (the sealing floor)"
	sealNullGoal = "≥ 0.80"
	sealPGGoal   = "ratio ≥ 0.75"
	reportGoal   = "— (report)"
	soakGoal     = "RSS flat: ratio ≤ 1.1; rate flat: drift ≥ 0.9"
)

// pipelineNames are the pipeline rows in table order.
var pipelineNames = []string{"pipeline-null", "pipeline-pass", "pass/null", "pipeline-seal", "pipeline-seal-null", "seal/null-seal",
	"pipeline-seal-pg", "seal-cpu", "seal-bytes", "soak-seal"}

// pipelineGoals gives every pipeline row its goal, also when it cannot run.
var pipelineGoals = map[string]string{
	"pipeline-null": nullGoal, "pipeline-pass": passGoal, "pass/null": passNullGoal, "pipeline-seal": sealGoal,
	"pipeline-seal-null": floorGoal, "seal/null-seal": sealNullGoal,
	"pipeline-seal-pg": sealPGGoal, "seal-cpu": reportGoal, "seal-bytes": reportGoal, "soak-seal": soakGoal,
}

// variant is one A of the pipeline's A/B pairs: a listener of the same
// Postfix (with its milter), the subject that triggers sealing or not, and
// the milter process whose CPU time the sealing rows report.
type variant struct {
	name, listener, subject, goal string
	sealed                        bool
	proc                          string                                           // the milter's name in the report
	usage                         func() (cpu time.Duration, rss int64, err error) // nil: not measured
}

func pipelineRows(c config, root string) []Row {
	fail := func(why string) []Row {
		var rows []Row
		for _, n := range pipelineNames {
			if c.want(n) {
				rows = append(rows, notRun(n, pipelineGoals[n], why))
			}
		}
		return rows
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
	nullBin, err := buildNullMilter(root, work)
	if err != nil {
		return fail("the do-nothing milter: " + err.Error())
	}
	nullPort, err := mta.FreePort()
	if err != nil {
		return fail(err.Error())
	}
	null, err := runNullMilter(nullBin, nullPort)
	if err != nil {
		return fail("the do-nothing milter: " + err.Error())
	}
	defer null.stop()
	ps, reinjectPort, err := startPostseal(bin, filepath.Join(work, "state"), "", "")
	if err != nil {
		return fail(err.Error())
	}
	defer ps.Stop()
	listeners := []mta.Listener{{Name: noMilter}, {Name: nullName, Milter: fmt.Sprintf("inet:127.0.0.1:%d", null.port)}}
	// The sealing floor's milter needs a message postseal sealed, so it
	// starts once Postfix runs; its listener is there from the start (it
	// carries no mail before).
	floorPort := 0
	if c.want("pipeline-seal-null", "seal/null-seal") {
		if floorPort, err = mta.FreePort(); err != nil {
			return fail(err.Error())
		}
		listeners = append(listeners, mta.Listener{Name: floorName, Milter: fmt.Sprintf("inet:127.0.0.1:%d", floorPort)})
	}
	// The PostgreSQL store: a second postseal on a private schema, on a
	// listener of its own, re-injecting into the same Postfix.
	var psPG *mta.Postseal
	pgWhy := ""
	if c.want("pipeline-seal-pg") {
		dsn, drop, err := benchSchema()
		if err != nil {
			pgWhy = "no PostgreSQL: " + firstLine(err.Error())
		} else {
			defer drop()
			p, _, err := startPostsealOn(bin, filepath.Join(work, "state-pg"), reinjectPort, "postgres", dsn)
			if err != nil {
				pgWhy = "postseal with the PostgreSQL store: " + firstLine(err.Error())
			} else {
				psPG = p
				defer p.Stop()
				listeners = append(listeners, mta.Listener{Name: pgName, Milter: fmt.Sprintf("inet:127.0.0.1:%d", p.MilterPort)})
			}
		}
	}
	pf, err := mta.StartPostfix(mta.Options{
		Milter:       fmt.Sprintf("inet:127.0.0.1:%d", ps.MilterPort),
		ReinjectPort: reinjectPort,
		Listeners:    listeners,
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

	fmt.Printf("pipeline: %d msgs of ~%d bytes, %d sessions (smtp-source), %d rounds; each round runs B = the same Postfix on a listener without milter, then each A = a listener with a milter.\n",
		c.n, c.size, c.sessions, c.pairs)
	fmt.Println("          time = from the start of smtp-source until the N-th message is delivered to the sink (a file in the Maildir).")

	const pass, seal = "bench pass", "*secure* bench seal"
	var vs []variant
	if c.want("pipeline-null", "pass/null") {
		vs = append(vs, variant{name: "pipeline-null", listener: nullName, subject: pass, goal: nullGoal})
	}
	if c.want("pipeline-pass", "pass/null") {
		vs = append(vs, variant{name: "pipeline-pass", listener: mta.SMTP, subject: pass, goal: passGoal})
	}
	if c.want("pipeline-seal", "seal/null-seal", "seal-cpu", "seal-bytes") {
		vs = append(vs, variant{name: "pipeline-seal", listener: mta.SMTP, subject: seal, goal: sealGoal, sealed: true, proc: "postseal", usage: ps.Usage})
	}
	if psPG != nil {
		vs = append(vs, variant{name: "pipeline-seal-pg", listener: pgName, subject: seal, goal: sealPGGoal, sealed: true, proc: "postseal", usage: psPG.Usage})
	}
	// Warm up every path (process spawn, page cache, Go runtime, store).
	for _, v := range append([]variant{{listener: noMilter, subject: pass}}, vs...) {
		if _, err := runSource(pf, v.listener, min(100, c.n), c.sessions, c.size, v.subject); err != nil {
			return fail("warm-up: " + err.Error() + "\npostseal log:\n" + ps.LogTail(40))
		}
	}
	var rows []Row
	if floorPort != 0 {
		floor, err := sealFloor(pf, c, nullBin, work, floorPort, seal)
		if err != nil {
			for _, n := range []string{"pipeline-seal-null", "seal/null-seal"} {
				rows = append(rows, notRun(n, pipelineGoals[n], "the sealing floor: "+firstLine(err.Error())))
			}
		} else {
			defer floor.stop()
			v := variant{name: "pipeline-seal-null", listener: floorName, subject: seal, goal: floorGoal, sealed: true, proc: "nullmilter",
				usage: func() (time.Duration, int64, error) { return mta.ProcUsage(floor.cmd.Process.Pid) }}
			// Next to pipeline-seal, before the PostgreSQL store's.
			at := len(vs)
			if i := slices.IndexFunc(vs, func(v variant) bool { return v.name == "pipeline-seal-pg" }); i >= 0 {
				at = i
			}
			vs = slices.Insert(vs, at, v)
		}
	}
	if len(vs) > 0 {
		rows = append(rows, measureRounds(pf, c, vs)...)
	}
	if c.want("pipeline-seal-pg") && psPG == nil {
		rows = append(rows, notRun("pipeline-seal-pg", sealPGGoal, pgWhy))
	}
	if c.want("soak-seal") {
		rows = append(rows, soakSeal(pf, ps, c))
	}
	for _, r := range rows {
		if strings.HasPrefix(r.Note, "failed") {
			fmt.Fprintf(os.Stderr, "postseal log (tail):\n%s\n", ps.LogTail(40))
			break
		}
	}
	// Keep the table's order whatever ran.
	var out []Row
	for _, n := range pipelineNames {
		for _, r := range rows {
			if r.Name == n && c.want(n) {
				out = append(out, r)
			}
		}
	}
	return out
}

// measureRounds runs c.pairs rounds of B (Postfix alone) then every
// variant, and reports each variant's median rate and median ratio to the
// B of its own round; for pass and null also pass/null within each round;
// for the sealing variants postseal's CPU time and the bytes delivered per
// message.
func measureRounds(pf *mta.Postfix, c config, vs []variant) []Row {
	type acc struct{ rates, ratios, cpu, bytes []float64 }
	res := make([]acc, len(vs))
	var bs, passNull, sealNull []float64
	for i := 0; i < c.pairs; i++ {
		b, err := runSource(pf, noMilter, c.n, c.sessions, c.size, "bench pass")
		if err != nil {
			fmt.Fprintf(os.Stderr, "baseline: %v\n", err)
			var rows []Row
			for _, v := range vs {
				rows = append(rows, Row{Name: v.name, Goal: v.goal, Note: "failed (baseline): " + firstLine(err.Error())})
			}
			return rows
		}
		rb := float64(c.n) / b.Seconds()
		bs = append(bs, rb)
		fmt.Printf("  round %d: B %7.1f msgs/s (%v)\n", i+1, rb, b.Round(time.Millisecond))
		rate := map[string]float64{}
		for k, v := range vs {
			var cpu0 time.Duration
			if v.usage != nil {
				cpu0, _, _ = v.usage()
			}
			a, err := runSource(pf, v.listener, c.n, c.sessions, c.size, v.subject)
			if err == nil {
				err = checkSample(pf, v.sealed)
			}
			if err != nil {
				fmt.Fprintf(os.Stderr, "%s: %v\n", v.name, err)
				// Every row of the run says why it has no value.
				var rows []Row
				for _, o := range vs {
					why := "failed: " + firstLine(err.Error())
					if o.name != v.name {
						why = "not measured: " + v.name + " " + why
					}
					rows = append(rows, Row{Name: o.name, Goal: o.goal, Note: why})
				}
				for _, n := range []string{"seal-cpu", "seal-bytes", "pass/null", "seal/null-seal"} {
					rows = append(rows, Row{Name: n, Goal: pipelineGoals[n], Note: "not measured: " + v.name + " failed"})
				}
				return rows
			}
			ra := float64(c.n) / a.Seconds()
			rate[v.name] = ra
			res[k].rates = append(res[k].rates, ra)
			res[k].ratios = append(res[k].ratios, ra/rb)
			extra := ""
			if v.usage != nil && v.sealed {
				cpu1, _, _ := v.usage()
				perMsg := float64(cpu1-cpu0) / float64(time.Millisecond) / float64(c.n)
				size, _ := sinkBytes(pf)
				res[k].cpu = append(res[k].cpu, perMsg)
				res[k].bytes = append(res[k].bytes, size/float64(c.n))
				extra = fmt.Sprintf("  %s CPU %.2f ms/msg, %.0f bytes/msg delivered", v.proc, perMsg, size/float64(c.n))
			}
			fmt.Printf("           %-16s A %7.1f msgs/s (%v)  ratio %.3f%s\n", v.name, ra, a.Round(time.Millisecond), ra/rb, extra)
		}
		if p, n := rate["pipeline-pass"], rate["pipeline-null"]; p > 0 && n > 0 {
			passNull = append(passNull, p/n)
		}
		if s, n := rate["pipeline-seal"], rate["pipeline-seal-null"]; s > 0 && n > 0 {
			sealNull = append(sealNull, s/n)
		}
	}
	var rows []Row
	note := fmt.Sprintf("median of %d rounds, %d msgs each, until delivered; ratio to Postfix alone in the same round", c.pairs, c.n)
	for k, v := range vs {
		n := note
		if v.name == "pipeline-seal-null" {
			n += fmt.Sprintf("; the do-nothing milter making postseal's edits of one sealed message to every message (body replaced in postseal's chunks of 65,535 bytes): %.0f bytes/msg delivered (seal-bytes counts the same), nullmilter CPU %.2f ms/msg",
				median(res[k].bytes), median(res[k].cpu))
		}
		rows = append(rows, Row{Name: v.name, Unit: "msgs/s", Value: f(median(res[k].rates)), Baseline: f(median(bs)), Ratio: f(median(res[k].ratios)), Goal: v.goal, Note: n})
		if v.name == "pipeline-seal" {
			rows = append(rows,
				Row{Name: "seal-cpu", Unit: "ms/msg", Value: f(median(res[k].cpu)), Goal: reportGoal,
					Note: fmt.Sprintf("postseal's CPU time (user+system, /proc) per sealed message of ~%d bytes during the pipeline-seal runs (scan, seal, store, milter I/O)", c.size)},
				Row{Name: "seal-bytes", Unit: "bytes", Value: f(median(res[k].bytes)), Baseline: f(float64(c.size)), Ratio: f(median(res[k].bytes) / float64(c.size)), Goal: reportGoal,
					Note: "bytes delivered per sealed message (notification + securedoc) vs the message's payload size"})
		}
	}
	if len(passNull) > 0 {
		rows = append(rows, Row{Name: "pass/null", Unit: "ratio", Value: f(median(passNull)), Goal: passNullGoal,
			Note: "pipeline-pass rate / pipeline-null rate within each round, median: what postseal's pass path costs above the milter floor"})
	}
	if len(sealNull) > 0 {
		rows = append(rows, Row{Name: "seal/null-seal", Unit: "ratio", Value: f(median(sealNull)), Goal: sealNullGoal,
			Note: "pipeline-seal rate / pipeline-seal-null rate within each round, median: what postseal's sealing costs above the sealing floor"})
	}
	return rows
}

// sinkBytes sums the sizes of the messages in the sink.
func sinkBytes(pf *mta.Postfix) (float64, error) {
	ents, err := os.ReadDir(filepath.Join(pf.SinkDir, "new"))
	if err != nil {
		return 0, err
	}
	var n int64
	for _, e := range ents {
		if fi, err := e.Info(); err == nil {
			n += fi.Size()
		}
	}
	return float64(n), nil
}

// soakSeal sends soakCount sealed messages in slices through the main
// listener and reports each slice's rate, as a ratio to a slice of the
// same Postfix alone run just before it (the machine is shared: a bare
// rate drifts with the neighbours' load), and postseal's RSS after each
// slice. Neither may grow or shrink with the count: the second half's
// median ratio and median RSS are compared with the first half's (a
// median, since the garbage collector makes single RSS readings swing by
// a tenth).
func soakSeal(pf *mta.Postfix, ps *mta.Postseal, c config) Row {
	const soakCount, slice = 10_000, 1_000
	fail := func(format string, args ...any) Row {
		return Row{Name: "soak-seal", Goal: soakGoal, Note: "failed " + fmt.Sprintf(format, args...)}
	}
	_, rss0, err := ps.Usage()
	if err != nil {
		return fail("%v", err)
	}
	var ratios, rss []float64
	var rates []string
	start := time.Now()
	for i := 0; i < soakCount/slice; i++ {
		b, err := runSource(pf, noMilter, slice, c.sessions, c.size, "bench pass")
		if err != nil {
			return fail("after %d msgs (baseline): %s", i*slice, firstLine(err.Error()))
		}
		a, err := runSource(pf, mta.SMTP, slice, c.sessions, c.size, "*secure* bench soak")
		if err == nil {
			err = checkSample(pf, true)
		}
		if err != nil {
			return fail("after %d msgs: %s", i*slice, firstLine(err.Error()))
		}
		_, m, err := ps.Usage()
		if err != nil {
			return fail("%v", err)
		}
		rss = append(rss, float64(m)/1e6)
		r := float64(slice) / a.Seconds()
		ratios = append(ratios, b.Seconds()/a.Seconds())
		rates = append(rates, fmt.Sprintf("%.0f (%.2f)", r, ratios[i]))
		fmt.Printf("  soak-seal      %5d msgs: %6.1f msgs/s, ratio %.3f to Postfix alone, postseal RSS %.1f MB (%v)\n",
			(i+1)*slice, r, ratios[i], rss[i], time.Since(start).Round(time.Second))
	}
	half := len(ratios) / 2
	drift := median(ratios[half:]) / median(ratios[:half])
	mbs := make([]string, len(rss))
	for i, m := range rss {
		mbs[i] = fmt.Sprintf("%.1f", m)
	}
	return Row{Name: "soak-seal", Unit: "MB RSS", Value: f(median(rss[half:])), Baseline: f(median(rss[:half])), Ratio: f(median(rss[half:]) / median(rss[:half])), Goal: soakGoal,
		Note: fmt.Sprintf("%d sealed msgs of ~%d bytes in slices of %d, each after %d msgs through Postfix alone: msgs/s (ratio) per slice %s; rate drift = median ratio of the second half / of the first = %.2f; value, baseline = median RSS of the second, first half; RSS per slice %s MB (%.1f MB before)",
			soakCount, c.size, slice, slice, strings.Join(rates, " "), drift, strings.Join(mbs, " "), float64(rss0)/1e6)}
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
	b, err := sinkSample(pf)
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
func startPostseal(bin, dir, driver, dsn string) (*mta.Postseal, int, error) {
	reinject, err := mta.FreePort()
	if err != nil {
		return nil, 0, err
	}
	return startPostsealOn(bin, dir, reinject, driver, dsn)
}

func startPostsealOn(bin, dir string, reinject int, driver, dsn string) (*mta.Postseal, int, error) {
	ps, err := mta.StartPostseal(bin, dir, mta.PostsealConfig{ReinjectPort: reinject, StoreDriver: driver, StoreDSN: dsn})
	return ps, reinject, err
}

// nullMilter is the running do-nothing milter (bench/nullmilter).
type nullMilter struct {
	cmd  *exec.Cmd
	port int
}

func buildNullMilter(root, work string) (string, error) {
	bin := filepath.Join(work, "nullmilter")
	build := exec.Command("go", "build", "-trimpath", "-o", bin, "./bench/nullmilter")
	build.Dir = root
	if out, err := build.CombinedOutput(); err != nil {
		return "", fmt.Errorf("go build ./bench/nullmilter: %v\n%s", err, out)
	}
	return bin, nil
}

// runNullMilter starts the do-nothing milter on port with more flags (its
// replace mode) and returns once it listens.
func runNullMilter(bin string, port int, args ...string) (*nullMilter, error) {
	cmd := exec.Command(bin, append([]string{"-listen", fmt.Sprintf("127.0.0.1:%d", port)}, args...)...)
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	n := &nullMilter{cmd: cmd, port: port}
	deadline := time.Now().Add(10 * time.Second)
	for {
		c, err := net.DialTimeout("tcp", fmt.Sprintf("127.0.0.1:%d", port), time.Second)
		if err == nil {
			c.Close()
			return n, nil
		}
		if time.Now().After(deadline) {
			n.stop()
			return nil, fmt.Errorf("nullmilter does not listen on %d: %v", port, err)
		}
		time.Sleep(20 * time.Millisecond) // poll interval
	}
}

func (n *nullMilter) stop() {
	_ = n.cmd.Process.Kill()
	_ = n.cmd.Wait()
}

// benchSchema creates a private schema on the PostgreSQL the store tests
// use (POSTSEAL_TEST_PG_DSN, default the local database "test") and
// returns a DSN selecting it and a function that drops it.
func benchSchema() (string, func(), error) {
	dsn := os.Getenv("POSTSEAL_TEST_PG_DSN")
	if dsn == "" {
		dsn = "postgres://postgres@127.0.0.1:5432/test?sslmode=disable"
	}
	db, err := sql.Open("pgx", dsn)
	if err != nil {
		return "", nil, err
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	b := make([]byte, 6)
	_, _ = rand.Read(b)
	schema := "postseal_bench_" + hex.EncodeToString(b)
	if _, err := db.ExecContext(ctx, "CREATE SCHEMA "+schema); err != nil {
		db.Close()
		return "", nil, err
	}
	u, err := url.Parse(dsn)
	if err != nil {
		db.Close()
		return "", nil, err
	}
	q := u.Query()
	q.Set("search_path", schema)
	u.RawQuery = q.Encode()
	drop := func() {
		_, _ = db.Exec("DROP SCHEMA " + schema + " CASCADE")
		db.Close()
	}
	return u.String(), drop, nil
}

func firstLine(s string) string {
	s = strings.TrimSpace(s)
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		return s[:i] + " …"
	}
	return s
}
