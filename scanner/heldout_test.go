package scanner

import (
	"bufio"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// The held-out corpus (../testdata/scanner/heldout, see its README) was
// written by someone who saw only the detectors' specifications. It is a
// measurement, never a target: this test prints precision and recall per
// detector and fails only when the corpus itself is malformed. Do not
// change detectors to move these numbers.
//
// Labels are counts per file and detector, so per file a detector's
// findings count as true positives up to the label, false positives
// beyond it (or without a label), and missing ones as false negatives.
func TestHeldoutPrecisionRecall(t *testing.T) {
	dir := filepath.Join(corpusDir, "heldout")
	f, err := os.Open(filepath.Join(dir, "labels.tsv"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	want := map[string]map[string]int{} // file → detector → count
	sc := bufio.NewScanner(f)
	for n := 1; sc.Scan(); n++ {
		line := sc.Text()
		if strings.TrimSpace(line) == "" || strings.HasPrefix(line, "#") {
			continue
		}
		cols := strings.Split(line, "\t")
		if len(cols) != 3 {
			t.Fatalf("labels.tsv:%d: want FILE, DETECTOR, COUNT: %q", n, line)
		}
		c, err := strconv.Atoi(cols[2])
		if err != nil || c < 0 {
			t.Fatalf("labels.tsv:%d: bad count %q", n, cols[2])
		}
		if cols[1] != "-" && !slices.Contains(Detectors(), cols[1]) {
			t.Fatalf("labels.tsv:%d: unknown detector %q", n, cols[1])
		}
		if want[cols[0]] == nil {
			want[cols[0]] = map[string]int{}
		}
		if cols[1] != "-" {
			want[cols[0]][cols[1]] = c
		}
	}
	files, err := filepath.Glob(filepath.Join(dir, "*.txt"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no documents in %s: %v", dir, err)
	}
	type count struct{ tp, fp, fn int }
	counts := map[string]*count{}
	for _, d := range Detectors() {
		counts[d] = &count{}
	}
	var misses []string
	for _, path := range files {
		name := filepath.Base(path)
		labels, ok := want[name]
		if !ok {
			t.Errorf("%s has no line in labels.tsv", name)
			continue
		}
		delete(want, name)
		text, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		got := map[string]int{}
		for _, fd := range Scan(text, Options{}) {
			got[fd.Detector]++
		}
		for _, d := range Detectors() {
			g, w := got[d], labels[d]
			c := counts[d]
			c.tp += min(g, w)
			c.fp += max(0, g-w)
			c.fn += max(0, w-g)
			if g != w {
				misses = append(misses, fmt.Sprintf("%s %-11s found %d, labelled %d", name, d, g, w))
			}
		}
	}
	for name := range want {
		t.Errorf("labels.tsv names %s, which is not in the corpus", name)
	}
	var tbl strings.Builder
	fmt.Fprintf(&tbl, "held-out corpus: %d documents\n%-12s %4s %4s %4s %9s %7s\n", len(files), "detector", "TP", "FP", "FN", "precision", "recall")
	for _, d := range Detectors() {
		c := counts[d]
		p, r := ratio(c.tp, c.tp+c.fp), ratio(c.tp, c.tp+c.fn)
		fmt.Fprintf(&tbl, "%-12s %4d %4d %4d %9s %7s\n", d, c.tp, c.fp, c.fn, p, r)
	}
	t.Logf("\n%s", tbl.String())
	for _, m := range misses {
		t.Log(m)
	}
}

func ratio(a, b int) string {
	if b == 0 {
		return "—"
	}
	return fmt.Sprintf("%.3f", float64(a)/float64(b))
}
