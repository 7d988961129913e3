// Command bench measures postseal side by side with a baseline in the same
// run (see ../shared/BENCH.md) and prints one table; it also writes
// bench.json, one object per row: name, value, unit, baseline, ratio.
//
//	go run ./bench [-quick] [-n 1000] [-sessions 20] [-size 20000] [-pairs 3] [-json bench.json] [-rows scan,...]
//
// -rows runs only the named rows (a row that comes with a sibling, such as
// seal-10mb and seal-10mb-heap, brings it along); bench.json is then written
// only when -json is given, so a partial run does not replace a full one.
//
// The pipeline rows need root and Postfix (they start a private instance,
// see test/mta); a row that cannot run says why.
package main

import (
	"bufio"
	"bytes"
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	mathrand "math/rand/v2"
	"mime"
	"mime/multipart"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"slices"
	"sort"
	"strings"
	"sync/atomic"
	"time"

	"github.com/postseal/postseal/envelope"
	"github.com/postseal/postseal/scanner"
	"github.com/postseal/postseal/test/mta"
)

// Row is one line of the table and one object of bench.json. Value,
// Baseline and Ratio are null for a row that did not run.
type Row struct {
	Name     string   `json:"name"`
	Value    *float64 `json:"value"`
	Unit     string   `json:"unit"`
	Baseline *float64 `json:"baseline"`
	Ratio    *float64 `json:"ratio"`
	Goal     string   `json:"goal,omitempty"`
	Note     string   `json:"note,omitempty"` // how it was measured, or why it did not run
}

func f(v float64) *float64 { return &v }

func notRun(name, goal, why string) Row { return Row{Name: name, Goal: goal, Note: "not yet: " + why} }

type config struct {
	quick    bool
	n        int
	sessions int
	size     int
	pairs    int
	jsonOut  string
	rows     map[string]bool // nil: all rows
}

// rowNames are the rows in table order; -rows must name some of them.
var rowNames = []string{"pipeline-pass", "pipeline-seal", "seal-10mb", "seal-10mb-heap", "scan", "scan-rules", "open-10mb", "securedoc-small", "keyserver", "keyserver-p99"}

// want reports whether any of the named rows was asked for.
func (c config) want(names ...string) bool {
	if c.rows == nil {
		return true
	}
	for _, n := range names {
		if c.rows[n] {
			return true
		}
	}
	return false
}

func main() {
	var c config
	flag.BoolVar(&c.quick, "quick", false, "fewer messages (200) for a fast look; ratios are noisier")
	flag.IntVar(&c.n, "n", 1000, "messages per pipeline run")
	flag.IntVar(&c.sessions, "sessions", 20, "parallel SMTP sessions (smtp-source -s)")
	flag.IntVar(&c.size, "size", 20000, "message payload bytes (smtp-source -l)")
	flag.IntVar(&c.pairs, "pairs", 3, "A/B pairs per row (at least 3)")
	flag.StringVar(&c.jsonOut, "json", "bench.json", "where to write the rows as JSON")
	rowList := flag.String("rows", "", "comma-separated rows to run (default all): "+strings.Join(rowNames, ", "))
	flag.Parse()
	writeJSON := true
	if *rowList != "" {
		c.rows = map[string]bool{}
		for _, n := range strings.Split(*rowList, ",") {
			n = strings.TrimSpace(n)
			if !slices.Contains(rowNames, n) {
				fatal(fmt.Errorf("-rows: unknown row %q (rows: %s)", n, strings.Join(rowNames, ", ")))
			}
			c.rows[n] = true
		}
		writeJSON = false
		flag.Visit(func(fl *flag.Flag) { writeJSON = writeJSON || fl.Name == "json" })
	}
	if c.quick {
		c.n = 200
	}
	if c.pairs < 3 {
		c.pairs = 3
	}

	root, err := mta.RepoRoot()
	if err != nil {
		fatal(err)
	}
	printMachine()

	var rows []Row
	if c.want("pipeline-pass", "pipeline-seal") {
		rows = append(rows, pipelineRows(c, root)...)
	}
	if c.want("seal-10mb", "seal-10mb-heap") {
		rows = append(rows, seal10MB(c)...)
	}
	if c.want("scan") {
		rows = append(rows, scanRow(c))
	}
	if c.want("scan-rules") {
		rows = append(rows, scanRulesRow(c))
	}
	if c.want("open-10mb") {
		rows = append(rows, open10MB(c)...)
	}
	if c.want("securedoc-small") {
		rows = append(rows, securedocSmall())
	}
	if c.want("keyserver", "keyserver-p99") {
		rows = append(rows, keyserverRows(c)...)
	}

	printTable(rows)
	if !writeJSON {
		return
	}
	b, err := json.MarshalIndent(rows, "", "  ")
	if err != nil {
		fatal(err)
	}
	if err := os.WriteFile(c.jsonOut, append(b, '\n'), 0o644); err != nil {
		fatal(err)
	}
	fmt.Printf("\nwrote %s\n", c.jsonOut)
}

func fatal(err error) {
	fmt.Fprintln(os.Stderr, "bench:", err)
	os.Exit(1)
}

func printMachine() {
	model := "unknown"
	if b, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		sc := bufio.NewScanner(bytes.NewReader(b))
		for sc.Scan() {
			if k, v, ok := strings.Cut(sc.Text(), ":"); ok && strings.TrimSpace(k) == "model name" {
				model = strings.TrimSpace(v)
				break
			}
		}
	}
	host, _ := os.Hostname()
	fmt.Printf("machine: %d cores (GOMAXPROCS %d), CPU %s, %s/%s, %s, host %s\n",
		runtime.NumCPU(), runtime.GOMAXPROCS(0), model, runtime.GOOS, runtime.GOARCH, runtime.Version(), host)
	fmt.Printf("date:    %s\n\n", time.Now().UTC().Format(time.RFC3339))
}

func printTable(rows []Row) {
	fmt.Printf("\n%-16s %14s %-8s %14s %9s  %s\n", "row", "value", "unit", "baseline", "ratio", "goal / note")
	fmt.Println(strings.Repeat("-", 100))
	num := func(p *float64) string {
		if p == nil {
			return "-"
		}
		switch {
		case *p >= 1000:
			return fmt.Sprintf("%.0f", *p)
		case *p >= 10:
			return fmt.Sprintf("%.1f", *p)
		}
		return fmt.Sprintf("%.3f", *p)
	}
	for _, r := range rows {
		tail := r.Goal
		if r.Note != "" {
			if tail != "" {
				tail += "; "
			}
			tail += r.Note
		}
		fmt.Printf("%-16s %14s %-8s %14s %9s  %s\n", r.Name, num(r.Value), r.Unit, num(r.Baseline), num(r.Ratio), tail)
	}
}

func median(xs []float64) float64 {
	s := append([]float64(nil), xs...)
	sort.Float64s(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

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

// ---- seal-10mb -------------------------------------------------------------

var sealOpts = envelope.Options{
	Profile:        envelope.ProfileRFC4880,
	OrgName:        "Example Health",
	HelpURL:        "https://help.example.org/secure",
	Support:        "Call the service desk.",
	PublicURL:      "http://127.0.0.1:8025",
	AttachmentName: "securedoc_{time}.html",
}

func sealOnce(msg []byte) (*envelope.Sealed, error) { return sealWith(msg, sealOpts) }

func sealWith(msg []byte, opts envelope.Options) (*envelope.Sealed, error) {
	return envelope.Seal(envelope.Request{
		ID:         envelope.NewID(),
		Original:   bytes.NewReader(msg),
		Display:    envelope.Display{From: "Radiology <radiology@example.org>", To: "pat@partner.example.net", Subject: "Imaging report [-Encrypted-]", Date: "Mon, 23 Nov 2026 16:00:00 +0000"},
		Recipients: []string{"pat@partner.example.net"},
		Now:        time.Now(),
	}, opts)
}

// textMessage is an e-mail-like text message of about size bytes.
func textMessage(size int, seed uint64) []byte {
	words := strings.Fields("the patient was seen in clinic today for follow up of chronic kidney disease stage three " +
		"blood pressure well controlled on current medication plan continue and review in six weeks results " +
		"creatinine potassium sodium haemoglobin within normal limits discussed with family who agree")
	r := mathrand.New(mathrand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
	var b bytes.Buffer
	b.Grow(size + 200)
	b.WriteString("From: Radiology <radiology@example.org>\r\nTo: Pat Partner <pat@partner.example.net>\r\n" +
		"Subject: *secure* Imaging report\r\nDate: Mon, 23 Nov 2026 16:00:00 +0000\r\n" +
		"Message-ID: <bench@example.org>\r\nMIME-Version: 1.0\r\nContent-Type: text/plain; charset=us-ascii\r\n\r\n")
	line := 0
	for b.Len() < size {
		w := words[r.IntN(len(words))]
		if line+len(w)+1 > 76 {
			b.WriteString("\r\n")
			line = 0
		} else if line > 0 {
			b.WriteByte(' ')
			line++
		}
		b.WriteString(w)
		line += len(w)
	}
	b.WriteString("\r\n")
	return b.Bytes()
}

func seal10MB(c config) []Row {
	const goal = "time ratio ≤ 4; heap ≤ 1.5× message"
	msg := textMessage(10_000_000, 1)
	if _, err := sealOnce(textMessage(2000, 2)); err != nil {
		return []Row{notRun("seal-10mb", goal, "envelope.Seal fails: "+err.Error())}
	}
	key := make([]byte, 32)
	rand.Read(key)
	blk, _ := aes.NewCipher(key)
	gcm, _ := cipher.NewGCM(blk)
	nonce := make([]byte, gcm.NonceSize())
	dst := make([]byte, 0, len(msg)+gcm.Overhead())
	gcmOnce := func() { rand.Read(nonce); dst = gcm.Seal(dst[:0], nonce, msg, nil) }

	// Warm up, then A B A B ...
	sealOnce(msg)
	gcmOnce()
	var as, bs, ratios []float64
	for i := 0; i < c.pairs; i++ {
		runtime.GC()
		t0 := time.Now()
		s, err := sealOnce(msg)
		a := time.Since(t0)
		if err != nil {
			return []Row{notRun("seal-10mb", goal, "envelope.Seal: "+err.Error())}
		}
		_ = s
		runtime.GC()
		t0 = time.Now()
		gcmOnce()
		b := time.Since(t0)
		as, bs, ratios = append(as, ms(a)), append(bs, ms(b)), append(ratios, float64(a)/float64(b))
		fmt.Printf("  %-14s pair %d: seal %7.1f ms  AES-256-GCM %6.1f ms  ratio %.2f\n", "seal-10mb", i+1, ms(a), ms(b), float64(a)/float64(b))
	}
	// Peak heap in a separate run: sampling stops the world and would
	// distort the timing above.
	peak, total := peakHeap(func() { sealOnce(msg) })
	mb := float64(len(msg)) / 1e6
	return []Row{
		{Name: "seal-10mb", Unit: "ms", Value: f(median(as)), Baseline: f(median(bs)), Ratio: f(median(ratios)), Goal: goal,
			Note: fmt.Sprintf("envelope.Seal in-process (rfc4880, ZLIB+armor+HTML; no scan) vs AES-256-GCM over the same %.1f MB; median of %d pairs", mb, c.pairs)},
		{Name: "seal-10mb-heap", Unit: "MB", Value: f(peak / 1e6), Baseline: f(mb), Ratio: f(peak / 1e6 / mb), Goal: "ratio ≤ 1.5",
			Note: fmt.Sprintf("peak HeapInuse above the pre-seal level (input held outside), sampled every 1 ms; TotalAlloc %.1f MB", total/1e6)},
	}
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

// peakHeap runs fn while sampling HeapInuse and returns the peak above the
// level before fn and the bytes allocated during fn.
func peakHeap(fn func()) (peak, total float64) {
	runtime.GC()
	var before runtime.MemStats
	runtime.ReadMemStats(&before)
	var max atomic.Uint64
	stop := make(chan struct{})
	done := make(chan struct{})
	go func() {
		defer close(done)
		t := time.NewTicker(time.Millisecond)
		defer t.Stop()
		var m runtime.MemStats
		for {
			runtime.ReadMemStats(&m)
			if m.HeapInuse > max.Load() {
				max.Store(m.HeapInuse)
			}
			select {
			case <-stop:
				return
			case <-t.C:
			}
		}
	}()
	fn()
	var after runtime.MemStats
	runtime.ReadMemStats(&after)
	close(stop)
	<-done
	if after.HeapInuse > max.Load() {
		max.Store(after.HeapInuse)
	}
	p := float64(max.Load()) - float64(before.HeapInuse)
	if p < 0 {
		p = 0
	}
	return p, float64(after.TotalAlloc - before.TotalAlloc)
}

// ---- securedoc-small ---------------------------------------------------------

func securedocSmall() Row {
	const goal, cres = "≤ 150 KB", 108_000.0
	msg := textMessage(2048, 3)
	s, err := sealOnce(msg)
	if err != nil {
		return notRun("securedoc-small", goal, "envelope.Seal fails: "+err.Error())
	}
	b, cte, err := securedocOf(s)
	if err != nil {
		return Row{Name: "securedoc-small", Goal: goal, Note: "failed: " + err.Error()}
	}
	n := float64(len(b))
	return Row{Name: "securedoc-small", Unit: "bytes", Value: f(n), Baseline: f(cres), Ratio: f(n / cres), Goal: goal,
		Note: fmt.Sprintf("securedoc page for a %d-byte message (as sent, %s); baseline Cisco CRES ~108 KB", len(msg), cte)}
}

// securedocOf returns the securedoc page of a sealed copy and its transfer
// encoding.
func securedocOf(s *envelope.Sealed) ([]byte, string, error) {
	var ct string
	for _, h := range s.Header {
		if strings.EqualFold(h.Name, "Content-Type") {
			ct = h.Value
		}
	}
	_, params, err := mime.ParseMediaType(ct)
	if err != nil || params["boundary"] == "" {
		return nil, "", fmt.Errorf("sealed Content-Type %q: %v", ct, err)
	}
	mr := multipart.NewReader(bytes.NewReader(s.Body), params["boundary"])
	for {
		p, err := mr.NextRawPart()
		if err == io.EOF {
			return nil, "", errors.New("no securedoc attachment in the sealed body")
		}
		if err != nil {
			return nil, "", err
		}
		if strings.HasPrefix(p.FileName(), "securedoc") {
			b, err := io.ReadAll(p)
			return b, p.Header.Get("Content-Transfer-Encoding"), err
		}
	}
}

// ---- scan --------------------------------------------------------------------

// scanRegexp is the baseline's candidate pattern: dashed SSNs, and 12 to 19
// digits with optional single spaces or dashes between them (card layouts).
const scanRegexp = `\b\d{3}-\d{2}-\d{4}\b|\b\d(?:[ -]?\d){11,18}\b`

// scanText is about size bytes of e-mail-like text: prose, greetings and
// signatures with the numbers mail carries (phones, dates, times, amounts,
// ZIP codes, order and tracking numbers, card-like numbers failing Luhn),
// and every so often a valid SSN or card number after its context word. It
// returns the text and how many SSNs and cards were planted.
func scanText(size int, seed uint64) ([]byte, int) {
	r := mathrand.New(mathrand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
	words := strings.Fields("the patient was seen today and we will follow up with results please find attached " +
		"report for your review thanks appointment scheduled next week regarding invoice payment account " +
		"meeting discussed treatment plan insurance claim Hello Regards member benefits pharmacy referral")
	digits := func(n int) string {
		b := make([]byte, n)
		for i := range b {
			b[i] = byte('0' + r.IntN(10))
		}
		return string(b)
	}
	luhnComplete := func(payload string) string { // appends the Luhn check digit
		sum := 0
		for i := len(payload) - 1; i >= 0; i-- {
			x := int(payload[i] - '0')
			if (len(payload)-1-i)%2 == 0 {
				if x *= 2; x > 9 {
					x -= 9
				}
			}
			sum += x
		}
		return payload + string(byte('0'+(10-sum%10)%10))
	}
	group := func(s string, sep string) string {
		var parts []string
		for len(s) > 4 {
			parts, s = append(parts, s[:4]), s[4:]
		}
		return strings.Join(append(parts, s), sep)
	}
	noise := []func() string{
		func() string { return fmt.Sprintf("(%03d) %03d-%04d", 200+r.IntN(800), r.IntN(1000), r.IntN(10000)) },
		func() string { return fmt.Sprintf("+1 %03d %03d %04d", 200+r.IntN(800), r.IntN(1000), r.IntN(10000)) },
		func() string { return fmt.Sprintf("2026-%02d-%02d", 1+r.IntN(12), 1+r.IntN(28)) },
		func() string {
			return fmt.Sprintf("%d/%d/2026 %d:%02d", 1+r.IntN(12), 1+r.IntN(28), r.IntN(24), r.IntN(60))
		},
		func() string { return fmt.Sprintf("$%d,%03d.%02d", r.IntN(100), r.IntN(1000), r.IntN(100)) },
		func() string { return fmt.Sprintf("IL %05d-%04d", r.IntN(100000), r.IntN(10000)) },
		// Nine digits from 9: no valid SSN area or routing prefix, so an
		// "SSN" nearby (which outweighs "order") cannot make it a finding.
		func() string { return "order 9" + digits(8) },
		func() string { return "tracking 9400" + digits(18) },
		func() string { // card-shaped, Luhn check digit off by one
			v := []byte(luhnComplete("4" + digits(14)))
			v[15] = '0' + (v[15]-'0'+1)%10
			return "ref " + group(string(v), " ")
		},
		func() string { return fmt.Sprint(r.IntN(1000)) },
	}
	var planted int
	lastNum := false
	secret := []func() string{
		func() string {
			a := 1 + r.IntN(665) // 001..665: never 000, 666 or 9xx
			return fmt.Sprintf("SSN %03d-%02d-%04d", a, 1+r.IntN(99), 1+r.IntN(9999))
		},
		func() string { return "card " + group(luhnComplete("4"+digits(14)), " ") },
		func() string {
			return "Mastercard " + group(luhnComplete("5"+string(byte('1'+r.IntN(5)))+digits(13)), "-")
		},
		func() string { return "Visa " + luhnComplete("4"+digits(14)) },
	}
	var b bytes.Buffer
	b.Grow(size + 256)
	for b.Len() < size {
		b.WriteString("Hello team,\n\n")
		for line := 0; line < 8; line++ {
			for w := 0; w < 12; w++ {
				// A word always follows a number, so that no two numbers
				// run together into one candidate.
				switch k := r.IntN(200); {
				case k < 2 && !lastNum:
					b.WriteString(secret[r.IntN(len(secret))]())
					planted++
					lastNum = true
				case k < 12 && !lastNum:
					b.WriteString(noise[r.IntN(len(noise))]())
					lastNum = true
				default:
					b.WriteString(words[r.IntN(len(words))])
					lastNum = false
				}
				b.WriteByte(' ')
			}
			b.WriteByte('\n')
		}
		b.WriteString("\nRegards,\nDr. Example\nExample Health, 1 Main St, Springfield\n\n")
	}
	return b.Bytes(), planted
}

// regexpScan is the baseline: the candidates of scanRegexp, kept when they
// pass the same SSA rules, Luhn check, issuer prefix and card layout as the
// scanner's; it does not weigh context words.
func regexpScan(re *regexp.Regexp, text []byte) int {
	n := 0
	for _, m := range re.FindAllIndex(text, -1) {
		v := text[m[0]:m[1]]
		if len(v) == 11 && v[3] == '-' && v[6] == '-' {
			if ssnOK(v) {
				n++
			}
			continue
		}
		if cardOK(v) {
			n++
		}
	}
	return n
}

func ssnOK(v []byte) bool {
	num := func(b []byte) int {
		x := 0
		for _, c := range b {
			x = x*10 + int(c-'0')
		}
		return x
	}
	area, grp, serial := num(v[:3]), num(v[4:6]), num(v[7:])
	if area == 0 || area == 666 || area >= 900 || grp == 0 || serial == 0 {
		return false
	}
	switch {
	case area == 78 && grp == 5 && serial == 1120, area == 219 && grp == 9 && serial == 9999,
		area == 123 && grp == 45 && serial == 6789, area == 987 && grp == 65 && serial >= 4320 && serial <= 4329:
		return false
	}
	return true
}

func cardOK(v []byte) bool {
	var d []byte
	var groups []int
	var sep byte
	n := 0
	for _, c := range v {
		if c == ' ' || c == '-' {
			if sep != 0 && c != sep {
				return false // mixed separators
			}
			sep = c
			groups, n = append(groups, n), 0
			continue
		}
		d, n = append(d, c-'0'), n+1
	}
	groups = append(groups, n)
	switch {
	case len(groups) == 1:
	case len(groups) == 3 && groups[0] == 4 && groups[1] == 6 && (groups[2] == 5 || groups[2] == 4):
	case len(groups) >= 3:
		for _, g := range groups[:len(groups)-1] {
			if g != 4 {
				return false
			}
		}
		if g := groups[len(groups)-1]; g < 1 || g > 4 {
			return false
		}
	default:
		return false
	}
	if len(d) < 12 || len(d) > 19 || d[0] == d[len(d)-1] && bytes.Count(d, d[:1]) == len(d) {
		return false
	}
	sum := 0
	for i := len(d) - 1; i >= 0; i-- {
		x := int(d[i])
		if (len(d)-1-i)%2 == 1 {
			if x *= 2; x > 9 {
				x -= 9
			}
		}
		sum += x
	}
	if sum%10 != 0 {
		return false
	}
	l := len(d)
	p2 := int(d[0])*10 + int(d[1])
	p3 := p2*10 + int(d[2])
	p4 := p3*10 + int(d[3])
	switch {
	case d[0] == 4:
		return l == 13 || l == 16 || l == 19
	case p2 == 34 || p2 == 37:
		return l == 15
	case (p2 >= 51 && p2 <= 55) || (p4 >= 2221 && p4 <= 2720):
		return l == 16
	case p4 == 6011 || (p3 >= 644 && p3 <= 649) || p2 == 65, p4 >= 3528 && p4 <= 3589, p2 == 62:
		return l >= 16
	case (p3 >= 300 && p3 <= 305) || p2 == 36 || p2 == 38 || p2 == 39:
		return l >= 14
	}
	return false // Maestro needs context words, which the baseline does not weigh
}

func scanRow(c config) Row {
	const goal = "≥ 25× faster than Go regexp; ≥ 1 GB/s"
	text, planted := scanText(10<<20, 4)
	re := regexp.MustCompile(scanRegexp)
	countA := func() int {
		n := 0
		for _, fd := range scanner.Scan(text, scanner.Options{}) {
			if fd.Detector == "us_ssn" || fd.Detector == "credit_card" {
				n++
			}
		}
		return n
	}
	// Warm up both, and check they agree on the set size.
	na, nb := countA(), regexpScan(re, text)
	pairs := max(c.pairs, 5)
	mb := float64(len(text)) / 1e6
	var as, bs, ratios []float64
	for i := 0; i < pairs; i++ {
		runtime.GC()
		t0 := time.Now()
		scanner.Scan(text, scanner.Options{})
		a := time.Since(t0)
		runtime.GC()
		t0 = time.Now()
		regexpScan(re, text)
		b := time.Since(t0)
		ra, rb := mb/a.Seconds(), mb/b.Seconds()
		fmt.Printf("  %-14s pair %d: scanner %7.0f MB/s (%v)  regexp %6.1f MB/s (%v)  ratio %.1f\n", "scan", i+1, ra, a.Round(time.Microsecond), rb, b.Round(time.Millisecond), ra/rb)
		as, bs, ratios = append(as, ra), append(bs, rb), append(ratios, ra/rb)
	}
	note := fmt.Sprintf("A: scanner.Scan, all 7 built-in detectors, default threshold; B: Go regexp %s plus the same SSA/Luhn/issuer/layout checks (no context words); 10 MiB (%.1f MB) of mail-like text, one core, median of %d pairs; both find %d SSN+card (%d planted)",
		"`"+scanRegexp+"`", mb, pairs, na, planted)
	if na != nb {
		note = fmt.Sprintf("WARNING: A finds %d SSN+card, B finds %d (%d planted); ", na, nb, planted) + note
	}
	return Row{Name: "scan", Unit: "MB/s", Value: f(median(as)), Baseline: f(median(bs)), Ratio: f(median(ratios)), Goal: goal, Note: note}
}

// ---- scan-rules --------------------------------------------------------------

// scanRulesRow measures admin rules alone: 1,000 keywords (a PHI-term list
// of that size; three of them occur in the text) and two patterns, one with
// a literal prefilter and one with a digit-run prefilter. The baseline is
// what an admin would otherwise get from Go regexp: one case-insensitive
// whole-word alternation of the 1,000 words, plus the two patterns. That
// alternation runs at about 0.1 MB/s, so B is timed on the first 256 KiB
// of the same text (both engines are linear in the input, so MB/s
// compares); both must count the same matches there.
func scanRulesRow(c config) Row {
	const goal = "admin rules must not make the scan slow"
	text, _ := scanText(10<<20, 4)
	r := mathrand.New(mathrand.NewPCG(5, 6))
	words := []string{"referral", "pharmacy", "treatment"}
	for len(words) < 1000 {
		var b strings.Builder
		for range 5 + r.IntN(8) {
			b.WriteByte(byte('a' + r.IntN(26)))
		}
		words = append(words, b.String())
	}
	patterns := []scanner.PatternRule{
		{Name: "mrn", Regex: `(?i)\bmrn[:#]?\s*\d{7}\b`},
		{Name: "employee_id", Regex: `\b[A-Z]{2}\d{6}\b`},
	}
	rules, err := scanner.CompileRules(patterns, []scanner.KeywordRule{{Name: "phi_terms", Words: words}})
	if err != nil {
		return notRun("scan-rules", goal, err.Error())
	}
	res := []*regexp.Regexp{regexp.MustCompile(`(?i)\b(?:` + strings.Join(words, "|") + `)\b`)}
	for _, p := range patterns {
		res = append(res, regexp.MustCompile(p.Regex))
	}
	// "none" selects no built-in detector: the rules alone are measured.
	opt := scanner.Options{Detectors: []string{"none"}, Rules: rules}
	prefix := text[:bytes.LastIndexByte(text[:256<<10], '\n')+1]
	countB := func() int {
		n := 0
		for _, re := range res {
			n += len(re.FindAllIndex(prefix, -1))
		}
		return n
	}
	na, nb := len(scanner.Scan(prefix, opt)), countB()
	mb, mbB := float64(len(text))/1e6, float64(len(prefix))/1e6
	var as, bs, ratios []float64
	for i := 0; i < c.pairs; i++ {
		runtime.GC()
		t0 := time.Now()
		scanner.Scan(text, opt)
		a := time.Since(t0)
		runtime.GC()
		t0 = time.Now()
		countB()
		b := time.Since(t0)
		ra, rb := mb/a.Seconds(), mbB/b.Seconds()
		fmt.Printf("  %-14s pair %d: rules %7.0f MB/s (%v)  regexp %6.2f MB/s (%v)  ratio %.0f\n", "scan-rules", i+1, ra, a.Round(time.Microsecond), rb, b.Round(time.Millisecond), ra/rb)
		as, bs, ratios = append(as, ra), append(bs, rb), append(ratios, ra/rb)
	}
	note := fmt.Sprintf("A: scanner.Scan with admin rules only (1,000 keywords by Aho-Corasick, 2 patterns with prefilters) on 10 MiB (%.1f MB) of mail-like text; B: Go regexp, a (?i)\\b(?:w1|…|w1000)\\b alternation plus the 2 patterns, on the first %.2f MB; one core, median of %d pairs; both find %d matches in that prefix",
		mb, mbB, c.pairs, na)
	if na != nb {
		note = fmt.Sprintf("WARNING: A finds %d, B finds %d in the prefix; ", na, nb) + note
	}
	return Row{Name: "scan-rules", Unit: "MB/s", Value: f(median(as)), Baseline: f(median(bs)), Ratio: f(median(ratios)), Goal: goal, Note: note}
}
