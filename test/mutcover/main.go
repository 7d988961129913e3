// Command mutcover runs the mutants a gremlins report marks NOT COVERED
// or TIMED OUT and writes their real status back into the report.
//
// gremlins tests a mutant only when its position lies in a block of the
// package's coverage profile. Go's profile has no block for a switch's case
// expressions nor for a package variable's initialiser, so every mutant
// there is reported NOT COVERED even when a test runs it; and a mutant no
// test reaches should be counted as a survivor by having been tried, not
// by a heuristic. mutcover applies each such mutant through `go test
// -overlay` (the source tree is never written), runs the package's own
// tests and records KILLED, LIVED, TIMED OUT or NOT VIABLE (does not
// build), as gremlins would have.
//
// It also runs again the mutants gremlins reports TIMED OUT: its budget is
// a multiple of the package's test time, which a mutant's compile and link
// alone can exceed on a loaded machine, and a time-out counts as killed.
// Under mutcover's own budget (-timeout) only a mutant that really hangs
// the tests stays TIMED OUT.
package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"go/scanner"
	"go/token"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"time"
)

// mutations is gremlins' table (v0.6.0, internal/engine/mappings.go) for
// the mutant types it enables by default, plus the optional ones.
var mutations = map[string]map[token.Token]token.Token{
	"ARITHMETIC_BASE":       {token.ADD: token.SUB, token.MUL: token.QUO, token.QUO: token.MUL, token.REM: token.MUL, token.SUB: token.ADD},
	"CONDITIONALS_BOUNDARY": {token.GEQ: token.GTR, token.GTR: token.GEQ, token.LEQ: token.LSS, token.LSS: token.LEQ},
	"CONDITIONALS_NEGATION": {token.EQL: token.NEQ, token.GEQ: token.LSS, token.GTR: token.LEQ, token.LEQ: token.GTR, token.LSS: token.GEQ, token.NEQ: token.EQL},
	"INCREMENT_DECREMENT":   {token.DEC: token.INC, token.INC: token.DEC},
	"INVERT_NEGATIVES":      {token.SUB: token.ADD},
	"INVERT_LOGICAL":        {token.LAND: token.LOR, token.LOR: token.LAND},
	"INVERT_LOOPCTRL":       {token.BREAK: token.CONTINUE, token.CONTINUE: token.BREAK},
	"INVERT_ASSIGNMENTS":    {token.ADD_ASSIGN: token.SUB_ASSIGN, token.MUL_ASSIGN: token.QUO_ASSIGN, token.QUO_ASSIGN: token.MUL_ASSIGN, token.SUB_ASSIGN: token.ADD_ASSIGN},
}

func main() {
	timeout := flag.Duration("timeout", 5*time.Minute, "longest run of the package's tests under one mutant")
	gotool := flag.String("go", "go", "the go command")
	statuses := flag.String("status", "NOT COVERED,TIMED OUT", "comma-separated statuses of the mutants to run again (LIVED too, to score tests added since the report)")
	schemata := flag.Bool("schemata", true, "run the mutants from one binary holding them all (mutant schemata); false compiles one binary per mutant")
	workers := flag.Int("workers", 1, "mutants run at once")
	flag.Parse()
	if flag.NArg() != 2 {
		fmt.Fprintln(os.Stderr, "usage: mutcover [-timeout D] [-go GO] [-status S,S] PACKAGE REPORT.json")
		os.Exit(2)
	}
	if err := run(*gotool, flag.Arg(0), flag.Arg(1), strings.Split(*statuses, ","), *timeout, *schemata, *workers); err != nil {
		fmt.Fprintln(os.Stderr, "mutcover:", err)
		os.Exit(1)
	}
}

func run(gotool, pkg, report string, statuses []string, timeout time.Duration, schemata bool, workers int) error {
	b, err := os.ReadFile(report)
	if err != nil {
		return err
	}
	var r map[string]any
	if err := json.Unmarshal(b, &r); err != nil {
		return fmt.Errorf("%s: %w", report, err)
	}
	tmp, err := os.MkdirTemp("", "mutcover-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)
	files, _ := r["files"].([]any)
	var muts []*mutant
	for _, fv := range files {
		f, _ := fv.(map[string]any)
		name, _ := f["file_name"].(string)
		// gremlins names files relative to the package's directory, its
		// sub-packages included; those are test helpers (store/pgtest,
		// policy/policytest) that the package's own tests do not judge.
		name = filepath.Join(pkg, name)
		outside := filepath.Dir(name) != filepath.Clean(pkg)
		ms, _ := f["mutations"].([]any)
		for _, mv := range ms {
			m, _ := mv.(map[string]any)
			if outside {
				m["status"] = "OUTSIDE PACKAGE"
				continue
			}
			st, _ := m["status"].(string)
			if !slices.Contains(statuses, st) {
				continue
			}
			typ, _ := m["type"].(string)
			line, _ := m["line"].(float64)
			col, _ := m["column"].(float64)
			muts = append(muts, &mutant{file: filepath.Clean(name), typ: typ, line: int(line), col: int(col), status: st,
				set: func(status string) { m["status"] = status }})
		}
	}
	rest := muts
	var tests []testRun
	if schemata {
		if rest, tests, err = runSchemata(gotool, pkg, muts, workers, timeout, tmp); err != nil {
			return err
		}
	}
	if len(rest) > 0 {
		fmt.Fprintf(os.Stderr, "mutcover %s: %d mutants compiled one by one\n", pkg, len(rest))
	}
	for _, m := range rest {
		run, budget := "", timeout
		if names, took, blocked := selectTests(tests, m); blocked && len(names) > 0 {
			run = "^(" + strings.Join(quoteNames(names), "|") + ")$"
			// The schemata's budget plus a minute for the compile: a
			// mutant that hangs a test must not hold the run 5 minutes.
			budget = min(timeout, 3*took+75*time.Second)
		} else if blocked && tests != nil {
			run = "^$" // no test executes its line: LIVED if it builds
		}
		status, err := try(gotool, pkg, m.file, m.typ, m.line, m.col, tmp, budget, run)
		if err != nil {
			return fmt.Errorf("%s:%d:%d %s: %w", m.file, m.line, m.col, m.typ, err)
		}
		m.mark(status)
	}
	out, err := json.Marshal(r)
	if err != nil {
		return err
	}
	return os.WriteFile(report, out, 0o644)
}

// try applies one mutant through an overlay and runs the package's tests.
func try(gotool, pkg, file, typ string, line, col int, tmp string, timeout time.Duration, run string) (string, error) {
	src, err := os.ReadFile(file)
	if err != nil {
		return "", err
	}
	mutated, err := mutate(src, typ, line, col)
	if err != nil {
		return "", err
	}
	abs, err := filepath.Abs(file)
	if err != nil {
		return "", err
	}
	mfile := filepath.Join(tmp, "mutant.go")
	if err := os.WriteFile(mfile, mutated, 0o600); err != nil {
		return "", err
	}
	overlay, err := json.Marshal(map[string]any{"Replace": map[string]string{abs: mfile}})
	if err != nil {
		return "", err
	}
	ofile := filepath.Join(tmp, "overlay.json")
	if err := os.WriteFile(ofile, overlay, 0o600); err != nil {
		return "", err
	}
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	args := []string{"test", "-overlay", ofile, "-failfast", "-count=1", "-timeout", (timeout + 2*time.Second).String()}
	if run != "" {
		args = append(args, "-run", run)
	}
	cmd := exec.CommandContext(ctx, gotool, append(args, "./"+pkg)...)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	err = cmd.Run()
	switch {
	case errors.Is(ctx.Err(), context.DeadlineExceeded):
		return "TIMED OUT", nil
	case err == nil:
		return "LIVED", nil
	case bytes.Contains(out.Bytes(), []byte("[build failed]")) || bytes.Contains(out.Bytes(), []byte("[setup failed]")):
		return "NOT VIABLE", nil
	}
	var exit *exec.ExitError
	if errors.As(err, &exit) {
		return "KILLED", nil
	}
	return "", fmt.Errorf("go test: %w", err)
}

// mutate replaces the operator token at line:col by its mutant.
func mutate(src []byte, typ string, line, col int) ([]byte, error) {
	table, ok := mutations[typ]
	if !ok {
		return nil, fmt.Errorf("unknown mutant type")
	}
	fset := token.NewFileSet()
	tf := fset.AddFile("", fset.Base(), len(src))
	var s scanner.Scanner
	s.Init(tf, src, nil, 0)
	for {
		pos, tok, _ := s.Scan()
		if tok == token.EOF {
			return nil, fmt.Errorf("no operator at that position")
		}
		p := fset.Position(pos)
		if p.Line != line || p.Column != col {
			continue
		}
		to, ok := table[tok]
		if !ok {
			return nil, fmt.Errorf("%s is not mutated by this type", tok)
		}
		off := p.Offset
		var out []byte
		out = append(out, src[:off]...)
		out = append(out, to.String()...)
		return append(out, src[off+len(tok.String()):]...), nil
	}
}
