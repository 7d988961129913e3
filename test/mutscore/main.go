// Command mutscore reads the JSON report of a gremlins run over one package
// and prints its score as one line,
//
//	mutation PACKAGE KILLED/TOTAL PERCENT%
//
// where KILLED counts the mutants a test failed on (a mutant whose tests
// ran out of time counts as killed: it changed behaviour) and TOTAL adds
// the survivors, those no test covers included. Mutants that do not compile
// are not counted. Each survivor is then listed, marked "explained" with
// the reason when the explanations file (lines "FILE:LINE:COLUMN TYPE
// reason": an equivalent mutant, or one the tool misreports) has it.
package main

import (
	"bufio"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"path"
	"sort"
	"strings"
)

type report struct {
	Files []struct {
		Name      string `json:"file_name"`
		Mutations []struct {
			Type   string `json:"type"`
			Status string `json:"status"`
			Line   int    `json:"line"`
			Column int    `json:"column"`
		} `json:"mutations"`
	} `json:"files"`
}

func main() {
	equiv := flag.String("equivalent", "", "file listing equivalent mutants with their reasons")
	flag.Parse()
	if flag.NArg() != 2 {
		fmt.Fprintln(os.Stderr, "usage: mutscore [-equivalent FILE] PACKAGE REPORT.json")
		os.Exit(2)
	}
	pkg, file := flag.Arg(0), flag.Arg(1)
	reasons, err := readEquivalents(*equiv)
	if err != nil {
		fmt.Fprintln(os.Stderr, "mutscore:", err)
		os.Exit(1)
	}
	b, err := os.ReadFile(file)
	if err != nil {
		fmt.Fprintln(os.Stderr, "mutscore:", err)
		os.Exit(1)
	}
	var r report
	if err := json.Unmarshal(b, &r); err != nil {
		fmt.Fprintf(os.Stderr, "mutscore: %s: %v\n", file, err)
		os.Exit(1)
	}
	var killed, total, outside int
	var lived []string
	for _, f := range r.Files {
		name := path.Join(pkg, f.Name) // gremlins names files relative to the package
		for _, m := range f.Mutations {
			switch m.Status {
			case "KILLED", "TIMED OUT":
				killed++
				total++
			case "OUTSIDE PACKAGE":
				outside++
			case "LIVED", "NOT COVERED":
				total++
				id := fmt.Sprintf("%s:%d:%d %s", name, m.Line, m.Column, m.Type)
				if why, ok := reasons[id]; ok {
					lived = append(lived, fmt.Sprintf("  %s %s: explained: %s", strings.ToLower(m.Status), id, why))
				} else {
					lived = append(lived, fmt.Sprintf("  %s %s", strings.ToLower(m.Status), id))
				}
			}
		}
	}
	pct := 0.0
	if total > 0 {
		pct = 100 * float64(killed) / float64(total)
	}
	fmt.Printf("mutation %s %d/%d %.1f%%\n", pkg, killed, total, pct)
	if outside > 0 {
		fmt.Printf("  (%d mutants in test helper sub-packages not counted)\n", outside)
	}
	sort.Strings(lived)
	for _, l := range lived {
		fmt.Println(l)
	}
}

func readEquivalents(file string) (map[string]string, error) {
	m := map[string]string{}
	if file == "" {
		return m, nil
	}
	f, err := os.Open(file)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		fields := strings.SplitN(line, " ", 3)
		if len(fields) < 3 {
			return nil, fmt.Errorf("%s:%d: want FILE:LINE:COLUMN TYPE reason", file, n)
		}
		m[fields[0]+" "+fields[1]] = fields[2]
	}
	return m, sc.Err()
}
