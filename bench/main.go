// Command bench measures postseal side by side with a baseline in the same
// run and prints one table (bench/README.md lists the rows and their goals);
// it also writes bench.json, one object per row: name, value, unit, baseline, ratio.
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
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"runtime"
	"slices"
	"sort"
	"strings"
	"time"

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
var rowNames = append(slices.Clip(pipelineNames),
	"seal-10mb", "seal-10mb-rfc9580", "seal-10mb-heap", "scan", "scan-rules", "scan-pdf", "scan-docx",
	"open-10mb", "open-10mb-rfc9580", "open-10mb-firefox", "open-10mb-firefox-rfc9580",
	"securedoc-small", "securedoc-small-embedded", "keyserver", "keyserver-p99", "reply", "reply-sealed",
)

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
	if c.want(pipelineNames...) {
		rows = append(rows, pipelineRows(c, root)...)
	}
	if c.want("seal-10mb", "seal-10mb-rfc9580", "seal-10mb-heap") {
		rows = append(rows, seal10MB(c)...)
	}
	if c.want("scan") {
		rows = append(rows, scanRow(c))
	}
	if c.want("scan-rules") {
		rows = append(rows, scanRulesRow(c))
	}
	if c.want("scan-pdf", "scan-docx") {
		rows = append(rows, scanDocRows(c)...)
	}
	if c.want("open-10mb", "open-10mb-rfc9580", "open-10mb-firefox", "open-10mb-firefox-rfc9580") {
		rows = append(rows, open10MB(c, root)...)
	}
	if c.want("securedoc-small", "securedoc-small-embedded") {
		rows = append(rows, securedocSmall()...)
	}
	if c.want("keyserver", "keyserver-p99") {
		rows = append(rows, keyserverRows(c)...)
	}
	if c.want("reply", "reply-sealed") {
		rows = append(rows, replyRows(c)...)
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
	fmt.Printf("\n%-26s %14s %-10s %14s %9s  %s\n", "row", "value", "unit", "baseline", "ratio", "goal / note")
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
		fmt.Printf("%-26s %14s %-10s %14s %9s  %s\n", r.Name, num(r.Value), r.Unit, num(r.Baseline), num(r.Ratio), tail)
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
