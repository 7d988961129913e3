package scanner

// The stream filters of pdf_filters.go, each against bytes whose decoding is
// known independently: ASCII85 from Python's base64.a85encode, PNG row
// predictors from Go's image/png encoder (the IDAT data of a PNG is exactly
// a FlateDecode stream with /Predictor 15), run-length by hand.

import (
	"bytes"
	"compress/flate"
	"compress/zlib"
	"context"
	"encoding/binary"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"io"
	"math/rand/v2"
	"strings"
	"testing"
)

// memDoc is a document without a file, for decoding streams whose
// dictionaries hold no references.
func memDoc(lim Limits) *pdfDoc {
	e := &extractor{ctx: context.Background(), lim: lim.withDefaults(), out: &Extracted{}, work: 1 << 30}
	return &pdfDoc{e: e, src: "t.pdf", xref: map[int]xrefEntry{}, cache: map[int]any{}, objstm: map[int]*objStream{}, busy: map[int]bool{}}
}

// openPDFBytes opens pdf, which must open.
func openPDFBytes(t *testing.T, pdf []byte) *pdfDoc {
	t.Helper()
	d, err := openPDF(memDoc(Limits{}).e, "t.pdf", pdf)
	if err != nil {
		t.Fatal(err)
	}
	return d
}

func TestASCII85(t *testing.T) {
	for _, c := range []struct{ in, want string }{
		// a85encode(b"Hello, PDF!"): two groups and a final one of 3 bytes.
		{"87cURD_*#-6q/=~>", "Hello, PDF!"},
		// Everything after the end marker is not data.
		{"87cURD_*#-6q/=~>@:E_W", "Hello, PDF!"},
		// The lowest and highest digits ('!' is 0, 'u' is 84), 'z' for a
		// group of zeros, white space anywhere, a final group of 2 bytes.
		{"ru!u! z\n@:E_W\r\n@:B~>", "\xff\x19=\xa9\x00\x00\x00\x00abcdab"},
		// A final group of one character (3 or 4 digits give 2 or 3
		// bytes): a85encode(b"a") is "@/".
		{"@/", "a"},
		// 'z' inside a group is no digit, and a lone final character
		// holds no byte.
		{"@:zE_W@", "abcd"},
		// Bytes outside '!'..'u' are skipped: 'v' and '{' are no digits.
		{"@:vE_{W", "abcd"},
		{"", ""},
	} {
		if got := string(ascii85([]byte(c.in))); got != c.want {
			t.Errorf("ascii85(%q) = %q, want %q", c.in, got, c.want)
		}
	}
}

func TestRunLengthDecode(t *testing.T) {
	for _, c := range []struct {
		in    []byte
		limit int64
		want  string
	}{
		// A literal run of 3, a repeat of 3 (257-254), a literal of 1, EOD.
		{[]byte{2, 'a', 'b', 'c', 254, 'x', 0, 'd', 128, 'e'}, 100, "abcxxxd"},
		// The longest repeat (129) and no EOD marker.
		{[]byte{129, 'y'}, 200, strings.Repeat("y", 128)},
		{[]byte{129, 'y', 0, 'z'}, 200, strings.Repeat("y", 128) + "z"},
		// A literal run cut short by the end of the data.
		{[]byte{5, 'a', 'b'}, 100, "ab"},
		// A repeat with no byte to repeat.
		{[]byte{0, 'q', 255}, 100, "q"},
		// The limit is passed, not stopped at: the caller must see more
		// than the limit to know the stream was cut.
		{[]byte{2, 'a', 'b', 'c', 0, 'd', 0, 'e'}, 3, "abcd"},
		{[]byte{2, 'a', 'b', 'c', 0, 'd', 0, 'e'}, 2, "abc"},
	} {
		in := c.in[:len(c.in):len(c.in)] // reading past the end must panic, not find spare capacity
		if got := string(runLengthDecode(in, c.limit)); got != c.want {
			t.Errorf("runLengthDecode(%v, %d) = %q, want %q", c.in, c.limit, got, c.want)
		}
	}
}

// A RunLengthDecode stream that expands past MaxEntry by one byte is cut
// there and the cut recorded; one that expands to MaxEntry exactly is not.
func TestRunLengthDecodeLimit(t *testing.T) {
	const max = 1000
	rl := func(n int) []byte { // n bytes of 'x' in repeats of 100, then EOD
		var b []byte
		for ; n > 0; n -= min(n, 100) {
			b = append(b, byte(257-min(n, 100)), 'x')
		}
		return append(b, 128)
	}
	for _, c := range []struct {
		n   int
		cut bool
	}{{max, false}, {max + 1, true}} {
		d := memDoc(Limits{MaxEntry: max})
		data, err := d.decode(&pdfStream{dict: pdfDict{"Filter": pdfName("RunLengthDecode")}, raw: rl(c.n)}, true)
		if err != nil || len(data) != min(c.n, max) || strings.Trim(string(data), "x") != "" {
			t.Errorf("%d bytes: %d bytes decoded, %v", c.n, len(data), err)
		}
		cut := unreadableFor(d.e.out, "t.pdf", fmt.Sprintf("stream inflated beyond %d bytes", max))
		if cut != c.cut || d.e.out.Truncated != c.cut {
			t.Errorf("%d bytes: cut %v (%+v), want %v", c.n, cut, d.e.out.Unreadable, c.cut)
		}
	}
}

// pngStream encodes img as a PNG and returns its IDAT data (zlib, rows
// tagged with their PNG filter) and the filter type of each row.
func pngStream(t *testing.T, img image.Image) (z []byte, filters []byte, rowLen int) {
	t.Helper()
	var b bytes.Buffer
	if err := png.Encode(&b, img); err != nil {
		t.Fatal(err)
	}
	p := b.Bytes()[8:]
	for len(p) >= 12 {
		n := int(binary.BigEndian.Uint32(p))
		if string(p[4:8]) == "IDAT" {
			z = append(z, p[8:8+n]...)
		}
		p = p[12+n:]
	}
	zr, err := zlib.NewReader(bytes.NewReader(z))
	if err != nil {
		t.Fatal(err)
	}
	raw, err := io.ReadAll(zr)
	if err != nil {
		t.Fatal(err)
	}
	h := img.Bounds().Dy()
	rowLen = len(raw)/h - 1
	for y := range h {
		filters = append(filters, raw[y*(rowLen+1)])
	}
	return z, filters, rowLen
}

// noisy is a smooth picture with noise, for which the PNG encoder picks
// each of its five row filters somewhere.
func noisy(x, y int, r *rand.Rand) uint16 {
	v := (x*x*300 + y*y*500 + x*y*700) % 65536
	if y%3 == 0 {
		v += r.IntN(4096)
	}
	if y%5 == 1 {
		v = r.IntN(65536)
	}
	return uint16(v)
}

// PNG predictors (Predictor ≥ 10) undone, for samples of 1, 2, 8 and 16
// bits in 1, 3 and 4 colours, compared with the pixels the image holds.
func TestPNGPredictors(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	const w, h = 37, 60
	rgb := image.NewNRGBA(image.Rect(0, 0, w, h))
	gray := image.NewGray16(image.Rect(0, 0, w, h))
	rgba := image.NewNRGBA64(image.Rect(0, 0, w, h))
	var rgbPix, grayPix, rgbaPix []byte
	for y := range h {
		for x := range w {
			v := noisy(x, y, r)
			c := color.NRGBA{byte(v >> 8), byte(v), byte(x * y), 255}
			rgb.SetNRGBA(x, y, c)
			rgbPix = append(rgbPix, c.R, c.G, c.B)
			gray.SetGray16(x, y, color.Gray16{v})
			grayPix = binary.BigEndian.AppendUint16(grayPix, v)
			c64 := color.NRGBA64{v, 65535 - v, uint16(x * 1000), uint16(y * 1000)}
			rgba.SetNRGBA64(x, y, c64)
			for _, s := range []uint16{c64.R, c64.G, c64.B, c64.A} {
				rgbaPix = binary.BigEndian.AppendUint16(rgbaPix, s)
			}
		}
	}
	// Paletted images are written unfiltered, in 1 and 2 bits a sample:
	// the row length rounds up to whole bytes.
	pal4 := image.NewPaletted(image.Rect(0, 0, 13, 5), color.Palette{color.Black, color.White, color.Gray{0x40}, color.Gray{0x80}})
	pal2 := image.NewPaletted(image.Rect(0, 0, 13, 5), color.Palette{color.Black, color.White})
	var pal4Pix, pal2Pix []byte
	for y := range 5 {
		var row4, row2 []byte
		for x := range 13 {
			i := uint8(x*7+y*3) % 4
			pal4.SetColorIndex(x, y, i)
			pal2.SetColorIndex(x, y, i%2)
			if x%4 == 0 {
				row4 = append(row4, 0)
			}
			row4[x/4] |= i << (6 - 2*(x%4))
			if x%8 == 0 {
				row2 = append(row2, 0)
			}
			row2[x/8] |= (i % 2) << (7 - x%8)
		}
		pal4Pix, pal2Pix = append(pal4Pix, row4...), append(pal2Pix, row2...)
	}

	seen := map[byte]int{}
	for _, c := range []struct {
		name  string
		img   image.Image
		parms pdfDict
		want  []byte
	}{
		{"rgb8", rgb, pdfDict{"Predictor": 10, "Colors": 3, "BitsPerComponent": 8, "Columns": w}, rgbPix},
		{"gray16", gray, pdfDict{"Predictor": 15, "BitsPerComponent": 16, "Columns": w}, grayPix},
		{"rgba16", rgba, pdfDict{"Predictor": 15, "Colors": 4, "BitsPerComponent": 16, "Columns": w}, rgbaPix},
		{"pal2bit", pal4, pdfDict{"Predictor": 15, "BitsPerComponent": 2, "Columns": 13}, pal4Pix},
		{"pal1bit", pal2, pdfDict{"Predictor": 15, "Colors": 1, "BitsPerComponent": 1, "Columns": 13}, pal2Pix},
	} {
		z, filters, rowLen := pngStream(t, c.img)
		if rowLen*c.img.Bounds().Dy() != len(c.want) {
			t.Fatalf("%s: rows of %d bytes, %d pixel bytes", c.name, rowLen, len(c.want))
		}
		for _, f := range filters {
			seen[f]++
		}
		d := memDoc(Limits{})
		got, err := d.decode(&pdfStream{dict: pdfDict{"Filter": pdfName("FlateDecode"), "DecodeParms": c.parms}, raw: z}, false)
		if err != nil || !bytes.Equal(got, c.want) {
			t.Errorf("%s: %v, %d bytes, want %d; first difference at %d", c.name, err, len(got), len(c.want), firstDiff(got, c.want))
		}
	}
	if len(seen) != 5 {
		t.Errorf("the encoder used the row filters %v, not all five: the test does not test what it says", seen)
	}
}

func firstDiff(a, b []byte) int {
	for i := range min(len(a), len(b)) {
		if a[i] != b[i] {
			return i
		}
	}
	return min(len(a), len(b))
}

// Edges of pngPredict's parameters, on rows made by hand.
func TestPNGPredictorParameters(t *testing.T) {
	d := memDoc(Limits{})
	sub := func(rows, row int) []byte { // rows of Sub-filtered bytes all 1
		var b []byte
		for range rows {
			b = append(b, 1)
			b = append(b, bytes.Repeat([]byte{1}, row)...)
		}
		return b
	}
	ramp := func(n, bpp int) []byte { // what sub(…) decodes to
		out := make([]byte, n)
		for i := range out {
			out[i] = byte(i/bpp + 1)
		}
		return out
	}
	for _, c := range []struct {
		name  string
		parms pdfDict
		data  []byte
		want  []byte
	}{
		// TIFF predictor 2 and no predictor: left as they are.
		{"tiff", pdfDict{"Predictor": 2, "Columns": 4}, sub(1, 4), sub(1, 4)},
		// Defaults: one column, one colour, 8 bits.
		{"defaults", pdfDict{"Predictor": 12}, []byte{0, 7, 2, 1, 2, 1}, []byte{7, 8, 9}},
		{"zero columns", pdfDict{"Predictor": 12, "Columns": 0, "Colors": 0, "BitsPerComponent": 0}, []byte{0, 7, 2, 1}, []byte{7, 8}},
		// 32 colours is the most: a pixel of 32 bytes.
		{"32 colours", pdfDict{"Predictor": 15, "Colors": 32, "Columns": 2}, sub(1, 64), ramp(64, 32)},
		{"33 colours", pdfDict{"Predictor": 15, "Colors": 33, "Columns": 2}, sub(1, 66), sub(1, 66)},
		// 16 bits a sample is the most.
		{"17 bits", pdfDict{"Predictor": 15, "BitsPerComponent": 17, "Columns": 8}, sub(1, 17), sub(1, 17)},
		// A last row cut short is dropped; complete rows are kept.
		{"partial row", pdfDict{"Predictor": 15, "Columns": 3}, append(sub(2, 3), 1, 1), append(ramp(3, 1), ramp(3, 1)...)},
		{"exact rows", pdfDict{"Predictor": 15, "Columns": 3}, sub(2, 3), append(ramp(3, 1), ramp(3, 1)...)},
		// Columns up to 1<<20 are decoded; more are left.
		{"widest", pdfDict{"Predictor": 15, "Columns": 1 << 20}, sub(1, 1<<20), ramp(1<<20, 1)},
		{"too wide", pdfDict{"Predictor": 15, "Columns": 1<<20 + 1}, sub(1, 1<<20+1), sub(1, 1<<20+1)},
	} {
		if got := pngPredict(d, c.parms, c.data); !bytes.Equal(got, c.want) {
			t.Errorf("%s: %d bytes, want %d; first difference at %d", c.name, len(got), len(c.want), firstDiff(got, c.want))
		}
	}
}

// Filter chains with their abbreviated names, a DecodeParms array shorter
// than the filters, a Crypt filter (Identity) and raw deflate without a
// zlib header; an image filter is no text.
func TestPDFFilterChains(t *testing.T) {
	const text = "BT (Card 4111 1111 1111 1111) Tj ET"
	var z bytes.Buffer
	zw := zlib.NewWriter(&z)
	zw.Write([]byte(text))
	zw.Close()
	var raw bytes.Buffer
	fw, _ := flate.NewWriter(&raw, flate.BestCompression)
	fw.Write([]byte(text))
	fw.Close()
	hexz := []byte(fmt.Sprintf("%X", z.Bytes()))
	// Up-predicted rows of 2 bytes: "ab", "cd" (each row adds the one above).
	rows := []byte{2, 'a', 'b', 2, 'c' - 'a', 'd' - 'b'}
	var zr bytes.Buffer
	zw = zlib.NewWriter(&zr)
	zw.Write(rows)
	zw.Close()
	for _, c := range []struct {
		name string
		dict pdfDict
		raw  []byte
		want string
		err  error
	}{
		{"AHx Fl, one parameter", pdfDict{"Filter": pdfArray{pdfName("AHx"), pdfName("Fl")}, "DecodeParms": pdfArray{nil}}, hexz, text, nil},
		{"ASCIIHexDecode FlateDecode", pdfDict{"Filter": pdfArray{pdfName("ASCIIHexDecode"), pdfName("FlateDecode")}}, hexz, text, nil},
		{"predictor on the second filter", pdfDict{"Filter": pdfArray{pdfName("AHx"), pdfName("Fl")},
			"DecodeParms": pdfArray{nil, pdfDict{"Predictor": 12, "Columns": 2}}}, []byte(fmt.Sprintf("%X", zr.Bytes())), "abcd", nil},
		{"A85", pdfDict{"Filter": pdfName("A85")}, []byte("87cURD_*#-6q/=~>"), "Hello, PDF!", nil},
		{"RL", pdfDict{"Filter": pdfName("RL")}, []byte{2, 'a', 'b', 'c', 128}, "abc", nil},
		{"Crypt, then Flate", pdfDict{"Filter": pdfArray{pdfName("Crypt"), pdfName("FlateDecode")}}, z.Bytes(), text, nil},
		{"raw deflate", pdfDict{"Filter": pdfName("FlateDecode")}, raw.Bytes(), text, nil},
		{"no filter", pdfDict{}, []byte(text), text, nil},
		{"image", pdfDict{"Filter": pdfArray{pdfName("FlateDecode"), pdfName("DCTDecode")}}, z.Bytes(), "", errPDFImage},
	} {
		got, err := memDoc(Limits{}).decode(&pdfStream{dict: c.dict, raw: c.raw}, true)
		if string(got) != c.want || err != c.err {
			t.Errorf("%s: %q, %v; want %q, %v", c.name, got, err, c.want, c.err)
		}
	}
}
