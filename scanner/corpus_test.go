package scanner

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// The labelled corpus lives in ../testdata/scanner: one plain-text e-mail
// per NNN-name.txt file and labels.json, mapping each file name to the
// findings a perfect scanner would report there ([] for a negative). Every
// number in it is synthetic: checksums were computed for random digits, or
// the value is a published test or documentation number (4111…, NPI
// 1234567893, IBAN DE89 3704 …), and SSNs avoid the voided advertising ones.

const corpusDir = "../testdata/scanner"

type corpusLabel struct {
	Detector string `json:"detector"`
	Value    string `json:"value"` // exactly as written in the message
}

// A label is matched by position, not by masked value: each label's value
// is located in the message text (every occurrence that stands as a token
// of its own counts, so a value written twice is expected twice), and a
// finding is a true positive when a label of the same detector sits at the
// finding's Offset. Matching by offset works for every detector, including
// icd10 whose mask keeps no characters, and it tells two findings with the
// same last four digits apart.
type expected struct {
	detector string
	offset   int
	value    string
}

type corpusMsg struct {
	name string
	text []byte
	want []expected
}

func loadCorpus(t *testing.T) []corpusMsg {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join(corpusDir, "labels.json"))
	if err != nil {
		t.Fatal(err)
	}
	var labels map[string][]corpusLabel
	if err := json.Unmarshal(raw, &labels); err != nil {
		t.Fatalf("labels.json: %v", err)
	}
	files, err := filepath.Glob(filepath.Join(corpusDir, "*.txt"))
	if err != nil {
		t.Fatal(err)
	}
	known := Detectors()
	var msgs []corpusMsg
	for _, path := range files {
		name := filepath.Base(path)
		lab, ok := labels[name]
		if !ok {
			t.Fatalf("%s has no entry in labels.json", name)
		}
		delete(labels, name)
		text, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		m := corpusMsg{name: name, text: text}
		for _, l := range lab {
			if !slices.Contains(known, l.Detector) {
				t.Fatalf("%s: unknown detector %q in labels.json", name, l.Detector)
			}
			offs := tokenOffsets(text, l.Value)
			if len(offs) == 0 {
				t.Fatalf("%s: labelled value %q not found in the text", name, l.Value)
			}
			for _, off := range offs {
				m.want = append(m.want, expected{l.Detector, off, l.Value})
			}
		}
		msgs = append(msgs, m)
	}
	for name := range labels {
		t.Fatalf("labels.json names %s, which is not in %s", name, corpusDir)
	}
	return msgs
}

// tokenOffsets returns the offsets of value in text where it is not glued to
// a letter or digit on either side.
func tokenOffsets(text []byte, value string) []int {
	var offs []int
	v := []byte(value)
	for from := 0; ; {
		k := bytes.Index(text[from:], v)
		if k < 0 {
			return offs
		}
		at := from + k
		end := at + len(v)
		if (at == 0 || !isAlnum(text[at-1])) && (end == len(text) || !isAlnum(text[end])) {
			offs = append(offs, at)
		}
		from = at + 1
	}
}

type prf struct{ tp, fp, fn int }

func (c prf) precision() float64 {
	if c.tp+c.fp == 0 {
		return 1 // nothing reported, nothing wrong
	}
	return float64(c.tp) / float64(c.tp+c.fp)
}

func (c prf) recall() float64 {
	if c.tp+c.fn == 0 {
		return 1
	}
	return float64(c.tp) / float64(c.tp+c.fn)
}

// TestCorpusPrecisionRecall runs Scan with the default Options over the
// labelled corpus and reports precision and recall per detector, asserting
// the aim (precision and recall ≥ 0.95) for each.
func TestCorpusPrecisionRecall(t *testing.T) {
	msgs := loadCorpus(t)
	if len(msgs) < 100 {
		t.Fatalf("corpus has %d messages, want at least 100", len(msgs))
	}
	counts := map[string]*prf{}
	for _, d := range Detectors() {
		counts[d] = &prf{}
	}
	var misses []string
	negatives, positives := 0, 0
	for _, m := range msgs {
		if len(m.want) == 0 {
			negatives++
		} else {
			positives++
		}
		used := make([]bool, len(m.want))
		for _, f := range Scan(m.text, Options{}) {
			hit := false
			for k, w := range m.want {
				if !used[k] && w.detector == f.Detector && w.offset == f.Offset {
					used[k], hit = true, true
					break
				}
			}
			c := counts[f.Detector]
			if hit {
				c.tp++
				continue
			}
			c.fp++
			misses = append(misses, fmt.Sprintf("FP %-11s %s @%d %q (masked %s, score %.2f)",
				f.Detector, m.name, f.Offset, excerpt(m.text, f.Offset), f.Masked, f.Score))
		}
		for k, w := range m.want {
			if !used[k] {
				counts[w.detector].fn++
				misses = append(misses, fmt.Sprintf("FN %-11s %s @%d %q", w.detector, m.name, w.offset, w.value))
			}
		}
	}

	var tbl strings.Builder
	fmt.Fprintf(&tbl, "corpus: %d messages (%d with findings, %d without)\n", len(msgs), positives, negatives)
	fmt.Fprintf(&tbl, "%-12s %4s %4s %4s %9s %7s\n", "detector", "TP", "FP", "FN", "precision", "recall")
	for _, d := range Detectors() {
		c := counts[d]
		fmt.Fprintf(&tbl, "%-12s %4d %4d %4d %9.3f %7.3f\n", d, c.tp, c.fp, c.fn, c.precision(), c.recall())
	}
	t.Logf("\n%s", tbl.String())
	for _, s := range misses {
		t.Log(s)
	}

	// The aim of issue 4 (≥ 0.95 for both) is named for us_ssn and
	// credit_card; every detector reaches it on this corpus, so it is
	// asserted for all of them and a regression anywhere fails here.
	//
	// Messages 001–074 were written together with the detectors;
	// 075–110 were written later, as an independent check, and measured
	// before any tuning: us_ssn recall 10/11 ("My social is 429411524"),
	// us_dea precision 2/3 (the Windows update "KB5032189" passes the DEA
	// checksum), icd10 precision 9/10 ("Vitamin B12" near "ICD-10"); all
	// others 1.0. The fixes were general rules ("social" as an SSN word,
	// DEA needs a context word like ABA and NPI, a code right after
	// "vitamin" is a vitamin), not exceptions for those messages.
	const aim = 0.95
	for _, d := range Detectors() {
		c := counts[d]
		if c.tp+c.fn == 0 {
			t.Errorf("%s: the corpus has no labelled %s values", d, d)
			continue
		}
		if p, r := c.precision(), c.recall(); p < aim || r < aim {
			t.Errorf("%s: precision %.3f, recall %.3f; the aim is ≥ %.2f for both", d, p, r, aim)
		}
	}
}

// excerpt is the text around off, on one line, for failure messages.
func excerpt(text []byte, off int) string {
	lo, hi := max(0, off-30), min(len(text), off+30)
	return strings.ReplaceAll(string(text[lo:hi]), "\n", " ")
}
