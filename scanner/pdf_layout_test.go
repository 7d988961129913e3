package scanner

import (
	"bytes"
	"context"
	"fmt"
	"strings"
	"testing"
)

// layout runs a content stream (hand-written: these are the edges of the
// layout rules) with no resources: every font is the default, glyphs half
// an em wide, so at 10 points a glyph is 5 units.
func layout(t *testing.T, content string) string {
	t.Helper()
	e := &extractor{ctx: context.Background(), lim: Limits{}.withDefaults(), out: &Extracted{}}
	d := &pdfDoc{e: e, xref: map[int]xrefEntry{}, cache: map[int]any{}}
	p := d.newPageText(map[any]*pdfFont{}, map[pdfRef][]byte{})
	if err := p.run([]byte(content), nil, 0); err != nil {
		t.Errorf("run(%q): %v", content, err)
	}
	return string(p.out)
}

type layoutCase struct{ content, want string }

// checkLayout lays out each content stream and compares its text.
func checkLayout(t *testing.T, cases []layoutCase) {
	t.Helper()
	for _, c := range cases {
		if got := layout(t, c.content); got != c.want {
			t.Errorf("%q: %q, want %q", c.content, got, c.want)
		}
	}
}

func TestMatrixMul(t *testing.T) {
	m := matrix{2, 3, 5, 7, 11, 13}
	n := matrix{17, 19, 23, 29, 31, 37}
	want := matrix{2*17 + 3*23, 2*19 + 3*29, 5*17 + 7*23, 5*19 + 7*29, 11*17 + 13*23 + 31, 11*19 + 13*29 + 37}
	if got := m.mul(n); got != want {
		t.Errorf("mul = %v, want %v", got, want)
	}
	if got := identity.mul(n); got != n {
		t.Errorf("identity × n = %v", got)
	}
}

// The gaps between strings on one baseline, at their exact edges (size
// 10: a space above 2, a tab above 15 or back more than 10), and the
// move across it that makes a new line (more than 5).
func TestLayoutGaps(t *testing.T) {
	checkLayout(t, []layoutCase{
		{"BT /F1 10 Tf (ab) Tj 10 0 Td (c) Tj ET", "abc"},    // touching
		{"BT /F1 10 Tf (ab) Tj 12 0 Td (c) Tj ET", "abc"},    // a gap of 2: kerning
		{"BT /F1 10 Tf (ab) Tj 12.5 0 Td (c) Tj ET", "ab c"}, // 2.5: a word gap
		{"BT /F1 10 Tf (ab) Tj 25 0 Td (c) Tj ET", "ab c"},   // 15: still a word gap
		{"BT /F1 10 Tf (ab) Tj 25.5 0 Td (c) Tj ET", "ab\tc"},
		{"BT /F1 10 Tf (ab) Tj 0 0 Td (c) Tj ET", "abc"},       // back 10: overprinted
		{"BT /F1 10 Tf (ab) Tj -0.5 0 Td (c) Tj ET", "ab\tc"},  // back 10.5: a column to the left
		{"BT /F1 10 Tf (ab) Tj 10 -5 Td (c) Tj ET", "abc"},     // 5 lower: the same line (a subscript)
		{"BT /F1 10 Tf (ab) Tj 10 5 Td (c) Tj ET", "abc"},      // 5 higher
		{"BT /F1 10 Tf (ab) Tj 10 -5.5 Td (c) Tj ET", "ab\nc"}, // a new line
		{"BT /F1 10 Tf (ab) Tj 10 5.5 Td (c) Tj ET", "ab\nc"},
		// The larger of the two sizes decides.
		{"BT /F1 10 Tf (ab) Tj /F1 20 Tf 14 0 Td (c) Tj ET", "abc"}, // a gap of 4 < 0.2×20
		{"BT /F1 20 Tf (a) Tj /F1 10 Tf 14 0 Td (c) Tj ET", "ac"},
		{"BT /F1 10 Tf (ab) Tj /F1 20 Tf 10 -9 Td (c) Tj ET", "abc"}, // 9 lower < 0.5×20
		{"BT /F1 20 Tf (a) Tj /F1 10 Tf 10 -9 Td (c) Tj ET", "ac"},
		{"BT /F1 20 Tf (a) Tj /F1 10 Tf 10 -10.5 Td (c) Tj ET", "a\nc"},
		// A size of 0 counts as 1 (and so does a missing Tf).
		{"BT (ab) Tj 0.2 0 Td (c) Tj ET", "abc"},
		{"BT (ab) Tj 0.3 0 Td (c) Tj ET", "ab c"},
		{"BT /F1 0 Tf (ab) Tj 0.3 0 Td (c) Tj ET", "ab c"},
		// A mirrored font (negative size) is as large as its mirror.
		{"BT /F1 -10 Tf (ab) Tj -10 0 Td (c) Tj ET", "abc"},
		{"BT /F1 -10 Tf (ab) Tj -10 -5.5 Td (c) Tj ET", "ab\nc"},
	})
}

// Text drawn along other directions: the gaps are measured along its
// baseline, a turn starts a new line.
func TestLayoutDirections(t *testing.T) {
	checkLayout(t, []layoutCase{
		// Upwards (rotated 90°): the second string starts where the first ends.
		{"BT /F1 10 Tf 0 1 -1 0 300 100 Tm (ab) Tj 0 1 -1 0 300 110 Tm (c) Tj ET", "abc"},
		{"BT /F1 10 Tf 0 1 -1 0 300 100 Tm (ab) Tj 0 1 -1 0 300 115 Tm (c) Tj ET", "ab c"},
		{"BT /F1 10 Tf 0 1 -1 0 300 100 Tm (ab) Tj 0 1 -1 0 294 110 Tm (c) Tj ET", "ab\nc"},
		{"BT /F1 10 Tf 0 1 -1 0 300 100 Tm (ab) Tj 0 1 -1 0 305 110 Tm (c) Tj ET", "abc"},
		// Downwards (rotated -90°).
		{"BT /F1 10 Tf 0 -1 1 0 300 700 Tm (ab) Tj 0 -1 1 0 300 690 Tm (c) Tj ET", "abc"},
		{"BT /F1 10 Tf 0 -1 1 0 300 700 Tm (ab) Tj 0 -1 1 0 300 685 Tm (c) Tj ET", "ab c"},
		// A turn is a new line even where the text would touch.
		{"BT /F1 10 Tf (ab) Tj 0 1 -1 0 10 0 Tm (c) Tj ET", "ab\nc"},
		{"BT /F1 10 Tf 1 0 0 1 0 0 Tm (ab) Tj 0.998 0.0628 -0.0628 0.998 10 0 Tm (c) Tj ET", "abc"}, // 3.6°: not turned
		{"BT /F1 10 Tf 1 0 0 1 0 0 Tm (ab) Tj 0.98 0.199 -0.199 0.98 10 0 Tm (c) Tj ET", "ab\nc"},   // 11.5°
		// The edge: the two directions differ by exactly 0.1 (|Δx|+|Δy| of
		// the unit vectors, this tangent found by search), and a hair more.
		{"BT /F1 10 Tf (ab) Tj 1 0.09587320885676684 -0.09587320885676684 1 10 0 Tm (c) Tj ET", "abc"},
		{"BT /F1 10 Tf (ab) Tj 1 0.0959 -0.0959 1 10 0 Tm (c) Tj ET", "ab\nc"},
		// Scaled by the text matrix: 2× wide and high, so 10 units are 20.
		{"BT /F1 10 Tf 2 0 0 2 100 100 Tm (ab) Tj 2 0 0 2 120 100 Tm (c) Tj ET", "abc"},
		{"BT /F1 10 Tf 2 0 0 2 100 100 Tm (ab) Tj 2 0 0 2 125 100 Tm (c) Tj ET", "ab c"},
		// 2× again, the gaps along the baseline measured in page units.
		{"BT /F1 10 Tf 2 0 0 2 100 100 Tm (ab) Tj 2 0 0 2 128 100 Tm (c) Tj ET", "ab c"},
		{"BT /F1 10 Tf 0 2 -2 0 300 100 Tm (ab) Tj 0 2 -2 0 300 128 Tm (c) Tj ET", "ab c"},
		{"BT /F1 10 Tf 2 0 0 2 100 100 Tm (abcdef) Tj (g) Tj ET", "abcdefg"},
		// At 53° (a 3-4-5 triangle): strings that follow one another.
		{"BT /F1 10 Tf 0.6 0.8 -0.8 0.6 100 100 Tm (ab) Tj (c) Tj 0.6 0.8 -0.8 0.6 106 108 Tm (d) Tj ET", "abcd"},
		{"BT /F1 10 Tf 0.6 0.8 -0.8 0.6 100 100 Tm (ab) Tj 0.6 0.8 -0.8 0.6 101.2 111.6 Tm (c) Tj ET", "ab\nc"},
		// Turned by 90° where the text ended: still a new line.
		{"BT /F1 10 Tf (ab) Tj 0 1 -1 0 10 0 Tm (c) Tj ET", "ab\nc"},
		{"BT /F1 10 Tf (ab) Tj 0 1 -1 0 0 10 Tm (c) Tj ET", "ab\nc"},
		// Rise is in text space: scaled 2×, a rise of 6 is 12 on the page.
		{"BT /F1 10 Tf 2 0 0 2 0 0 Tm (ab) Tj 6 Ts (c) Tj ET", "ab\nc"},
		{"BT /F1 10 Tf 0 1 -1 0 0 0 Tm (ab) Tj 6 Ts (c) Tj ET", "ab\nc"},
		// A degenerate matrix: no direction, taken as left to right.
		{"BT /F1 10 Tf 0 0 0 1 100 100 Tm (ab) Tj 0 0 0 1 100 100 Tm (c) Tj 0 0 0 1 110 100 Tm (d) Tj 0 0 0 1 126 100 Tm (e) Tj ET", "abc d\te"},
	})
}

// The text state operators: character and word spacing, horizontal
// scaling, leading, rise, and the operators that use them.
func TestLayoutTextState(t *testing.T) {
	checkLayout(t, []layoutCase{
		// Tc adds to every glyph: "ab" is 2×(5+3) = 16 wide.
		{"BT /F1 10 Tf 3 Tc (ab) Tj 16 0 Td (c) Tj ET", "abc"},
		{"BT /F1 10 Tf 3 Tc (ab) Tj 18 0 Td (c) Tj ET", "abc"},
		{"BT /F1 10 Tf 3 Tc (ab) Tj 18.5 0 Td (c) Tj ET", "ab c"},
		// Tw adds to the space only: "a b" is 5+5+8+5 = 23.
		{"BT /F1 10 Tf 8 Tw (a b) Tj 23 0 Td (c) Tj ET", "a bc"},
		{"BT /F1 10 Tf 8 Tw (a b) Tj 25.5 0 Td (c) Tj ET", "a b c"},
		// Tz scales horizontally: at 200 "ab" is 20 wide.
		{"BT /F1 10 Tf 200 Tz (ab) Tj 20 0 Td (c) Tj ET", "abc"},
		{"BT /F1 10 Tf 200 Tz (ab) Tj 10 0 Td (c) Tj ET", "abc"},
		{"BT /F1 10 Tf 200 Tz (ab) Tj 9.5 0 Td (c) Tj ET", "ab\tc"},
		{"BT /F1 10 Tf 50 Tz (ab) Tj 5 0 Td (c) Tj ET", "abc"},
		{"BT /F1 10 Tf 50 Tz (ab) Tj 7.5 0 Td (c) Tj ET", "ab c"},
		// Ts raises the baseline: 5 is still this line, more a new one.
		{"BT /F1 10 Tf (ab) Tj 5 Ts (c) Tj ET", "abc"},
		{"BT /F1 10 Tf (ab) Tj -5 Ts (c) Tj ET", "abc"},
		{"BT /F1 10 Tf (ab) Tj 5.5 Ts (c) Tj ET", "ab\nc"},
		{"BT /F1 10 Tf (ab) Tj -5.5 Ts (c) Tj 0 Ts (d) Tj ET", "ab\nc\nd"},
		// T* moves down by the leading TL; TD sets it.
		{"BT /F1 10 Tf 4 TL (a) Tj T* (b) Tj ET", "ab"},
		{"BT /F1 10 Tf 6 TL (a) Tj T* (b) Tj ET", "a\nb"},
		{"BT /F1 10 Tf 0 -4 TD (a) Tj T* (b) Tj ET", "ab"},
		{"BT /F1 10 Tf 0 -6 TD (a) Tj T* (b) Tj ET", "a\nb"},
		{"BT /F1 10 Tf 0 -6 TD (a) Tj T* 5 6 Td (b) Tj ET", "ab"}, // TL is 6, not -6
		// ' is T* then Tj; " also sets Tw and Tc.
		{"BT /F1 10 Tf 12 TL (a) Tj (b) ' ET", "a\nb"},
		{"BT /F1 10 Tf 4 TL (a) Tj (b) ' ET", "ab"},
		{"BT /F1 10 Tf 12 TL (a) Tj 0 3 (a b) \" 24 0 Td (c) Tj ET", "a\na bc"},
		{"BT /F1 10 Tf 12 TL (a) Tj 8 3 (a b) \" 34 0 Td (c) Tj ET", "a\na bc"},
		{"BT /F1 10 Tf 12 TL (a) Tj 8 3 (a b) \" 34.5 0 Td (c) Tj ET", "a\na b c"},
		{"BT /F1 10 Tf 12 TL 8 (a b) \" 25 0 Td (c) Tj ET", "a b c"}, // two operands: Tw stays 0
		{"BT /F1 10 Tf 12 TL 8 3 (a b) ' 15 0 Td (c) Tj ET", "a bc"}, // ' sets neither
		// ' and T* move down by TL from the line's start.
		{"BT /F1 10 Tf 6 TL (a) ' ET BT /F1 10 Tf 5 -6 Td (c) Tj ET", "ac"},
		{"BT /F1 10 Tf 6 TL T* (a) Tj ET BT /F1 10 Tf 5 -6 Td (c) Tj ET", "ac"},
		// BT resets the text matrix; TL and the font carry over.
		{"BT /F1 10 Tf 100 0 Td (ab) Tj ET BT 10 0 Td (c) Tj ET", "ab\tc"},
		{"BT /F1 10 Tf 100 0 Td (ab) Tj ET BT 110 0 Td (c) Tj ET", "abc"},
	})
}

// TJ: a number moves the next glyphs back by thousandths of the size
// (forward when negative), scaled by Tz.
func TestLayoutTJ(t *testing.T) {
	checkLayout(t, []layoutCase{
		{"BT /F1 10 Tf [(a) -200 (b)] TJ ET", "ab"},
		{"BT /F1 10 Tf [(a) -250 (b)] TJ ET", "a b"},
		{"BT /F1 10 Tf [(a) -250.0 (b)] TJ ET", "a b"},
		{"BT /F1 10 Tf [(a) -1500 (b)] TJ ET", "a b"},
		{"BT /F1 10 Tf [(a) -1550 (b)] TJ ET", "a\tb"},
		{"BT /F1 10 Tf [(a) 1000 (b)] TJ ET", "ab"},
		{"BT /F1 10 Tf [(a) 1050.5 (b)] TJ ET", "a\tb"},
		{"BT /F1 10 Tf 50 Tz [(a) -400 (b)] TJ ET", "ab"},
		{"BT /F1 10 Tf 50 Tz [(a) -500 (b)] TJ ET", "a b"},
		{"BT /F1 10 Tf 50 Tz [(a) -500.5 (b)] TJ ET", "a b"},
		{"BT /F1 10 Tf 50 Tz [(a) -300.0 (b)] TJ ET", "ab"},
		{"BT /F1 10 Tf 200 Tz [(a) -120 (b)] TJ ET", "a b"},
		{"BT /F1 10 Tf 200 Tz [(a) -100.0 (b)] TJ ET", "ab"},
		// TJ's position carries on to the next string.
		{"BT /F1 10 Tf [(a) -3000] TJ (b) Tj ET", "a\tb"},
		{"BT /F1 10 Tf [(a) -3000.0 /x] TJ (b) Tj ET", "a\tb"},
		{"BT /F1 10 Tf [(a)] TJ 1 TJ (b) Tj ET", "ab"},
	})
}

// The graphics state: cm concatenates, q and Q save and restore it.
func TestLayoutGraphicsState(t *testing.T) {
	checkLayout(t, []layoutCase{
		{"q 1 0 0 1 100 0 cm BT /F1 10 Tf (ab) Tj ET Q BT /F1 10 Tf 110 0 Td (c) Tj ET", "abc"},
		{"q 1 0 0 1 100 0 cm BT /F1 10 Tf (ab) Tj ET Q BT /F1 10 Tf 10 0 Td (c) Tj ET", "ab\tc"},
		{"q 1 0 0 1 100 0 cm BT /F1 10 Tf (ab) Tj ET BT /F1 10 Tf 10 0 Td (c) Tj ET Q", "abc"},
		{"q q 1 0 0 1 100 0 cm Q 1 0 0 1 50 0 cm BT /F1 10 Tf (ab) Tj ET Q BT /F1 10 Tf 60 0 Td (c) Tj ET", "abc"},
		{"Q Q 1 0 0 1 0 20 cm BT /F1 10 Tf (ab) Tj 10 0 Td (c) Tj ET", "abc"},
		{"2 0 0 2 0 0 cm 1 0 0 1 10 0 cm BT /F1 5 Tf (ab) Tj ET 1 0 0 1 0 0 cm BT /F1 5 Tf 5 0 Td (c) Tj ET", "abc"},
		{"1 0 0 1 10 0 cm 2 0 0 2 0 0 cm BT /F1 5 Tf (ab) Tj ET BT /F1 5 Tf 5 0 Td (c) Tj ET", "abc"},
		{"1 0 0 1 10 0 cm 2 0 0 2 0 0 cm BT /F1 5 Tf (ab) Tj ET BT /F1 5 Tf 15 0 Td (c) Tj ET", "ab\tc"},
		{"0 0 1 0 0 cm BT /F1 10 Tf (ab) Tj 10 0 Td (c) Tj ET", "abc"},  // five operands: no cm
		{"BT /F1 10 Tf 1 0 0 1 10 Tm (ab) Tj 10 0 Td (c) Tj ET", "abc"}, // five operands: no Tm
	})
}

// sep writes one separator and never two, and a newline wins over a
// space or tab just written.
func TestLayoutSep(t *testing.T) {
	for _, c := range []struct {
		out  string
		sep  byte
		want string
	}{
		{"", ' ', ""}, {"", '\n', ""},
		{"a", ' ', "a "}, {"a", '\t', "a\t"}, {"a", '\n', "a\n"},
		{"a ", ' ', "a "}, {"a ", '\t', "a "}, {"a\t", ' ', "a\t"},
		{"a ", '\n', "a\n"}, {"a\t", '\n', "a\n"},
		{"a\n", ' ', "a\n"}, {"a\n", '\t', "a\n"}, {"a\n", '\n', "a\n"},
	} {
		p := &pageText{out: []byte(c.out)}
		p.sep(c.sep)
		if string(p.out) != c.want {
			t.Errorf("sep(%q) after %q: %q, want %q", c.sep, c.out, p.out, c.want)
		}
	}
}

// A cancelled deadline stops a content stream before its first operator
// and every 1,024 operators after.
func TestLayoutDeadline(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	e := &extractor{ctx: ctx, lim: Limits{}.withDefaults(), out: &Extracted{}}
	d := &pdfDoc{e: e, xref: map[int]xrefEntry{}, cache: map[int]any{}}
	for _, ops := range []int{0, 1024, 2048} {
		p := d.newPageText(map[any]*pdfFont{}, map[pdfRef][]byte{})
		p.ops = ops
		if err := p.run([]byte(""), nil, 0); err != errDeadline {
			t.Errorf("after %d operators: %v, want errDeadline", ops, err)
		}
	}
	p := d.newPageText(map[any]*pdfFont{}, map[pdfRef][]byte{})
	p.ops = 1
	if err := p.run([]byte("BT (a) Tj"), nil, 0); err != nil || string(p.out) != "a" {
		t.Errorf("between checks: %v, %q", err, p.out)
	}
}

// More than 32 operands before an operator: the first 32 are kept.
func TestLayoutOperandBound(t *testing.T) {
	var b bytes.Buffer
	b.WriteString("BT ")
	for i := range 33 {
		fmt.Fprintf(&b, "(s%d) ", i)
	}
	b.WriteString("Tj [(x) (y)] TJ ET")
	if got := layout(t, b.String()); got != "s31xy" {
		t.Errorf("%q", got)
	}
}

// Operators without their operands do nothing, and do not stop the page.
func TestLayoutMissingOperands(t *testing.T) {
	checkLayout(t, []layoutCase{
		{"BT /F1 10 Tf Tj (a) Tj ET", "a"},
		{"BT /F1 10 Tf 12 TL ' (a) Tj ET", "a"},
		{"BT /F1 10 Tf \" (a) Tj ET", "a"},
		{"BT /F1 10 Tf TJ (a) Tj ET", "a"},
		{"BT /F1 10 Tf Tc Tw Tz TL Ts Td TD Tm Tf (a) Tj ET", "a"},
		{"Do cm BT /F1 10 Tf (a) Tj ET", "a"},
		{"BT /F1 10 Tf (a) Tj 10 Tf (b) Tj ET", "ab"},
		{"BT /F1 10 Tf 5 (a) Tj ET", "a"},
		{"BT /F1 10 Tf [(a) (b)] Tj (c) TJ 1 Tj ET", ""},
	})
}

// Glyphs that map to no text before a string's first text move where it
// starts; after it, they are part of its width.
func TestLayoutUnmappedGlyphs(t *testing.T) {
	checkLayout(t, []layoutCase{
		{"BT /F1 10 Tf (x) Tj 15 0 Td (\000\000ab) Tj ET", "x\tab"}, // ab at 25: a column
		{"BT /F1 10 Tf (x) Tj 5 0 Td (\000ab) Tj ET", "x ab"},       // ab at 10
		{"BT /F1 10 Tf (x) Tj 5 0 Td (ab\000) Tj 20 0 Td (c) Tj ET", "xab c"},
		{"BT /F1 10 Tf (x) Tj 5 0 Td (ab\000) Tj 20 -0 Td (c) Tj ET", "xab c"},
		{"BT /F1 10 Tf (x) Tj 5 0 Td (ab\000) Tj 17 0 Td (c) Tj ET", "xabc"},
		{"BT /F1 10 Tf 200 Tz (x) Tj 10 0 Td (\000ab) Tj ET", "x ab"},      // ab at 20, x ended at 10
		{"BT /F1 10 Tf 200 Tz (x) Tj 10 0 Td (\000\000ab) Tj ET", "x\tab"}, // ab at 30
		{"BT /F1 10 Tf (x) Tj (\000\000) Tj (y) Tj ET", "x y"},             // nothing shown, the position still moves
	})
}

// A Unicode string shown without a font (a hand-made file): half an em a
// character.
func TestLayoutUnicodeWithoutFont(t *testing.T) {
	checkLayout(t, []layoutCase{
		{"BT /F1 10 Tf <FEFF00410042> Tj 10 0 Td (c) Tj ET", "ABc"},
		{"BT /F1 10 Tf <FEFF00410042> Tj 12.5 0 Td (c) Tj ET", "AB c"},
		{"BT /F1 10 Tf <FEFF00410042> Tj 25.5 0 Td (c) Tj ET", "AB\tc"},
	})
}

// The graphics state stack holds 256 states: a q past that saves nothing,
// and its Q restores the 256th.
func TestLayoutStackBound(t *testing.T) {
	for _, c := range []struct {
		q    int
		want string
	}{{255, "ab\tc"}, {256, "abc"}} {
		content := "BT /F1 10 Tf (ab) Tj ET " + strings.Repeat("q ", c.q) + "1 0 0 1 100 0 cm q 1 0 0 1 50 0 cm Q BT /F1 10 Tf 10 0 Td (c) Tj ET"
		if got := layout(t, content); got != c.want {
			t.Errorf("%d q: %q, want %q", c.q, got, c.want)
		}
	}
}

// A page of more than 16,777,216 operators is a drawing: reading stops.
func TestLayoutOperatorBudget(t *testing.T) {
	e := &extractor{ctx: context.Background(), lim: Limits{}.withDefaults(), out: &Extracted{}}
	d := &pdfDoc{e: e, xref: map[int]xrefEntry{}, cache: map[int]any{}}
	p := d.newPageText(map[any]*pdfFont{}, map[pdfRef][]byte{})
	p.ops = 1<<24 - 2
	if err := p.run([]byte("BT (a) Tj (b) Tj (c) Tj ET"), nil, 0); err != nil || string(p.out) != "ab" {
		t.Errorf("%q, %v", p.out, err)
	}
}

// Inline images: their data is never text, whatever it holds, and it
// ends at the first EI with white space on both sides.
func TestLayoutInlineImages(t *testing.T) {
	checkLayout(t, []layoutCase{
		{"BT (a) Tj BI /W 1 ID (x) Tj EI (b) Tj ET", "ab"},
		{"BT (a) Tj BI /W 1 ID EI (b) Tj ET", "ab"},              // no data at all
		{"BT (a) Tj BI /W 1 ID \x01EIEI EI (b) Tj ET", "ab"},     // EI inside the data
		{"BT (a) Tj BI /W 1 ID  EI(x) Tj EI (b) Tj ET", "ab"},    // EI( is data
		{"BT (a) Tj BI /W 1 /X EI ID (x) Tj EI (b) Tj ET", "ab"}, // EI before ID is not its end
		{"BT (a) Tj BI /W 1 ID x EI", "a"},                       // EI at the very end
		{"BT (a) Tj BI /W 1 ID x EIx", "a"},
		{"BT (a) Tj BI /W 1 ID", "a"},
		{"BT (a) Tj BI /W 1", "a"},
	})
}
