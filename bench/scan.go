package main

import (
	"bytes"
	"fmt"
	mathrand "math/rand/v2"
	"regexp"
	"runtime"
	"strings"
	"time"

	"github.com/postseal/postseal/scanner"
)

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
	note := fmt.Sprintf("A: scanner.Scan, all %d built-in detectors, default threshold; B: Go regexp %s plus the same SSA/Luhn/issuer/layout checks (no context words); 10 MiB (%.1f MB) of mail-like text, one core, median of %d pairs; both find %d SSN+card (%d planted)",
		len(scanner.Detectors()), "`"+scanRegexp+"`", mb, pairs, na, planted)
	if na != nb {
		note = fmt.Sprintf("WARNING: A finds %d SSN+card, B finds %d (%d planted); ", na, nb, planted) + note
	}
	return Row{Name: "scan", Unit: "MB/s", Value: f(median(as)), Baseline: f(median(bs)), Ratio: f(median(ratios)), Goal: goal, Note: note}
}
