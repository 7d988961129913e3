package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"
)

// runSchemata tries every mutant it can place in one schemata binary and
// returns the ones left for one compile each. Each mutant runs only the
// tests that execute its line (per-test coverage of the unmutated
// package); a mutant on a line in no coverage block (a switch's case
// expression, a package variable's initialiser) runs them all, and one on
// a line that no test executes is a survivor without a run.
func runSchemata(gotool, pkg string, muts []*mutant, workers int, timeout time.Duration, tmp string) ([]*mutant, []testRun, error) {
	absPkg, err := filepath.Abs(pkg)
	if err != nil {
		return nil, nil, err
	}
	byFile := map[string][]*mutant{}
	for _, m := range muts {
		byFile[m.file] = append(byFile[m.file], m)
	}
	var pkgName string
	for f := range byFile {
		if pkgName, err = packageName(f); err != nil {
			return nil, nil, err
		}
		break
	}
	if pkgName == "" {
		return muts, nil, nil
	}
	bin := filepath.Join(tmp, "schemata.test")
	excluded := map[*mutant]bool{}
	var out []byte
	for round := 0; ; round++ {
		for _, m := range muts {
			m.schemaID = 0
		}
		next := 0
		replace := map[string]string{
			filepath.Join(absPkg, "zz_postseal_mutant_schemata.go"): filepath.Join(tmp, "schemata_helpers.go"),
		}
		if err := os.WriteFile(filepath.Join(tmp, "schemata_helpers.go"), []byte(schemataHelpers(pkgName)), 0o600); err != nil {
			return nil, nil, err
		}
		byID := map[int]*mutant{}
		rewrittenFiles := map[string][]byte{}
		for i, f := range sortedKeys(byFile) {
			src, err := os.ReadFile(f)
			if err != nil {
				return nil, nil, err
			}
			rewritten, placed, err := schemaFile(f, src, byFile[f], excluded, &next)
			if err != nil {
				return nil, nil, fmt.Errorf("%s: %w", f, err)
			}
			for _, m := range placed {
				byID[m.schemaID] = m
			}
			tf := filepath.Join(tmp, fmt.Sprintf("schemata_%d.go", i))
			if err := os.WriteFile(tf, rewritten, 0o600); err != nil {
				return nil, nil, err
			}
			rewrittenFiles[tf] = rewritten
			abs, _ := filepath.Abs(f)
			replace[abs] = tf
		}
		ov, _ := json.Marshal(map[string]any{"Replace": replace})
		ofile := filepath.Join(tmp, "schemata_overlay.json")
		if err := os.WriteFile(ofile, ov, 0o600); err != nil {
			return nil, nil, err
		}
		cmd := exec.Command(gotool, "test", "-c", "-vet=off", "-gcflags=-e", "-overlay", ofile, "-o", bin, "./"+pkg)
		out, err = cmd.CombinedOutput()
		if err == nil {
			fmt.Fprintf(os.Stderr, "mutcover %s: schemata binary built (round %d, %d mutants placed)\n", pkg, round+1, next)
			break
		}
		added := 0
		if verbose {
			os.Stderr.Write(out)
		}
		for _, ce := range compileErrors(out) {
			for _, m := range sitesAt(rewrittenFiles[ce.file], ce.line, ce.col, byID) {
				if excluded[m] {
					continue
				}
				added++
				// An untyped constant operand whose context wants another
				// type than inference's default: name the type.
				if t := wantedType.FindStringSubmatch(ce.msg); t != nil && m.typeArg == "" && m.typ != "CONDITIONALS_NEGATION" {
					m.typeArg = t[1]
					continue
				}
				excluded[m] = true
				// An arithmetic operator between strings: the mutant
				// (s - t, s * t, ...) is not Go.
				if strings.Contains(ce.msg, "string does not satisfy postsealMutant") && m.typ == "ARITHMETIC_BASE" {
					m.mark("NOT VIABLE")
				}
			}
		}
		if added == 0 || round > 30 {
			return nil, nil, fmt.Errorf("schemata binary does not build:\n%s", out)
		}
	}

	tests, err := testCoverage(gotool, pkg, absPkg, tmp)
	if err != nil {
		return nil, nil, err
	}
	all := make([]string, 0, len(tests))
	for _, t := range tests {
		all = append(all, t.name)
	}
	// The binary with no mutant active must pass, or every mutant would
	// read as killed.
	if st, o := runMutant(bin, absPkg, 0, all, timeout); st != "LIVED" {
		return nil, nil, fmt.Errorf("the schemata binary fails with no mutant active (%s):\n%s", st, o)
	}

	var rest []*mutant
	var jobs []*mutant
	for _, m := range muts {
		switch {
		case excluded[m] && m.status == "NOT VIABLE":
		case m.schemaID == 0:
			rest = append(rest, m)
		default:
			jobs = append(jobs, m)
		}
	}
	start := time.Now()
	var mu sync.Mutex
	done := 0
	ch := make(chan *mutant)
	var wg sync.WaitGroup
	for w := 0; w < max(1, workers); w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for m := range ch {
				names, budget, blocked := selectTests(tests, m)
				var st string
				switch {
				case !blocked:
					names = all
					budget = 0
					for _, t := range tests {
						budget += t.took
					}
					st, _ = runMutant(bin, absPkg, m.schemaID, names, min(timeout, 3*budget+15*time.Second))
				case len(names) == 0:
					st = "LIVED" // no test executes its line
				default:
					st, _ = runMutant(bin, absPkg, m.schemaID, names, min(timeout, 3*budget+15*time.Second))
				}
				mu.Lock()
				m.mark(st)
				done++
				if done%25 == 0 {
					fmt.Fprintf(os.Stderr, "mutcover %s: %d/%d mutants, %s\n", pkg, done, len(jobs), time.Since(start).Round(time.Second))
				}
				mu.Unlock()
			}
		}()
	}
	for _, m := range jobs {
		ch <- m
	}
	close(ch)
	wg.Wait()
	return rest, tests, nil
}

// verbose prints the compile errors that leave sites out of the schemata.
var verbose = os.Getenv("MUTCOVER_VERBOSE") != ""

type compileError struct {
	file      string
	line, col int
	msg       string
}

// compileErrors reads the "file.go:LINE:COL: message" lines of go build.
func compileErrors(out []byte) []compileError {
	re := regexp.MustCompile(`(?m)^(\S+\.go):(\d+):(?:(\d+):)? (.*)$`)
	var ces []compileError
	for _, m := range re.FindAllSubmatch(out, -1) {
		l, _ := strconv.Atoi(string(m[2]))
		c, _ := strconv.Atoi(string(m[3]))
		ces = append(ces, compileError{file: string(m[1]), line: l, col: c, msg: string(m[4])})
	}
	return ces
}

var wantedType = regexp.MustCompile(`^cannot use postsealMutant[A-Z]+\(\d+, .*\(value of type [^)]*\) as ([A-Za-z_]\w*(?:\.[A-Za-z_]\w*)?) value`)

var siteCall = regexp.MustCompile(`postsealMutant(?:On|[A-Z]+)\((\d+)`)

// sitesAt names the mutant a compile error points at: the helper call
// starting at its column, else the last one starting before it (the
// innermost call holding the argument it names), else every site on the
// line.
func sitesAt(src []byte, line, col int, byID map[int]*mutant) []*mutant {
	lines := bytes.Split(src, []byte("\n"))
	if line < 1 || line > len(lines) {
		return nil
	}
	text := lines[line-1]
	var all, before []*mutant
	for _, m := range siteCall.FindAllSubmatchIndex(text, -1) {
		id, _ := strconv.Atoi(string(text[m[2]:m[3]]))
		mu := byID[id]
		if mu == nil {
			continue
		}
		all = append(all, mu)
		if m[0] <= col-1 {
			before = append(before, mu)
		}
	}
	if col >= 1 && len(before) > 0 {
		return before[len(before)-1:]
	}
	return all
}

// runMutant runs the named tests with one mutant active: LIVED when they
// pass, KILLED when one fails, TIMED OUT past the budget.
func runMutant(bin, dir string, id int, names []string, budget time.Duration) (string, []byte) {
	ctx, cancel := context.WithTimeout(context.Background(), budget+5*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, "-test.run", "^("+strings.Join(quoteNames(names), "|")+")$",
		"-test.failfast", "-test.count=1", "-test.timeout", budget.String())
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "POSTSEAL_MUTANT="+strconv.Itoa(id))
	out, err := cmd.CombinedOutput()
	switch {
	case ctx.Err() != nil || bytes.Contains(out, []byte("panic: test timed out")):
		return "TIMED OUT", out
	case err == nil:
		return "LIVED", out
	}
	return "KILLED", out
}

func quoteNames(names []string) []string {
	q := make([]string, len(names))
	for i, n := range names {
		q[i] = regexp.QuoteMeta(n)
	}
	return q
}

// testRun is one top-level test: its name, how long it took alone and the
// coverage blocks it executed.
type testRun struct {
	name  string
	took  time.Duration
	cover map[string][]block // file -> blocks with a count > 0
}

type block struct{ l0, c0, l1, c1 int }

// allBlocks are every block of the profile, executed or not.
var allBlocks = map[string][]block{}

// testCoverage runs each top-level test of the package alone under
// coverage.
func testCoverage(gotool, pkg, absPkg, tmp string) ([]testRun, error) {
	bin := filepath.Join(tmp, "cover.test")
	if out, err := exec.Command(gotool, "test", "-c", "-vet=off", "-cover", "-o", bin, "./"+pkg).CombinedOutput(); err != nil {
		return nil, fmt.Errorf("coverage binary: %v\n%s", err, out)
	}
	cmd := exec.Command(bin, "-test.list", ".")
	cmd.Dir = absPkg
	list, err := cmd.Output()
	if err != nil {
		return nil, fmt.Errorf("listing tests: %w", err)
	}
	modPath, err := exec.Command(gotool, "list", "-m").Output()
	if err != nil {
		return nil, err
	}
	prefix := strings.TrimSpace(string(modPath)) + "/"
	var runs []testRun
	for _, name := range strings.Fields(string(list)) {
		if strings.HasPrefix(name, "ok") || strings.HasPrefix(name, "Benchmark") {
			continue
		}
		prof := filepath.Join(tmp, "cover.out")
		t0 := time.Now()
		c := exec.Command(bin, "-test.run", "^"+regexp.QuoteMeta(name)+"$", "-test.count=1", "-test.coverprofile", prof)
		c.Dir = absPkg
		if out, err := c.CombinedOutput(); err != nil {
			return nil, fmt.Errorf("%s fails on the unmutated package:\n%s", name, out)
		}
		r := testRun{name: name, took: time.Since(t0), cover: map[string][]block{}}
		f, err := os.Open(prof)
		if err != nil {
			return nil, err
		}
		sc := bufio.NewScanner(f)
		for sc.Scan() {
			// import/path/file.go:L0.C0,L1.C1 statements count
			line := sc.Text()
			colon := strings.LastIndex(line, ":")
			if colon < 0 || strings.HasPrefix(line, "mode:") {
				continue
			}
			file := strings.TrimPrefix(line[:colon], prefix)
			var b block
			var stmts, count int
			if _, err := fmt.Sscanf(line[colon+1:], "%d.%d,%d.%d %d %d", &b.l0, &b.c0, &b.l1, &b.c1, &stmts, &count); err != nil {
				continue
			}
			if len(runs) == 0 {
				allBlocks[file] = append(allBlocks[file], b)
			}
			if count > 0 {
				r.cover[file] = append(r.cover[file], b)
			}
		}
		f.Close()
		runs = append(runs, r)
	}
	sort.Slice(runs, func(i, j int) bool { return runs[i].took < runs[j].took })
	return runs, nil
}

func (b block) contains(line, col int) bool {
	if line < b.l0 || line > b.l1 {
		return false
	}
	if line == b.l0 && col < b.c0 {
		return false
	}
	return line != b.l1 || col < b.c1
}

// selectTests names the tests that executed the mutant's position,
// quickest first, with their time; blocked is false when the position
// lies in no block of the profile.
func selectTests(tests []testRun, m *mutant) (names []string, took time.Duration, blocked bool) {
	for _, b := range allBlocks[m.file] {
		if b.contains(m.line, m.col) {
			blocked = true
			break
		}
	}
	if !blocked {
		return nil, 0, false
	}
	for _, t := range tests {
		for _, b := range t.cover[m.file] {
			if b.contains(m.line, m.col) {
				names = append(names, t.name)
				took += t.took
				break
			}
		}
	}
	return names, took, true
}

func sortedKeys[V any](m map[string]V) []string {
	k := make([]string, 0, len(m))
	for s := range m {
		k = append(k, s)
	}
	sort.Strings(k)
	return k
}
