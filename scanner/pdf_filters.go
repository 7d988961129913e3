package scanner

// PDF stream filters: decode undoes what a stream names in /Filter
// (Flate with its PNG predictors, ASCIIHex, ASCII85, RunLength) and charges
// the bytes it makes to the extractor's budgets. Apart from the object model
// (pdf_object.go): once the filter names and parameters are resolved, it
// only turns bytes into bytes, whichever object the stream is and wherever
// it lies.

import (
	"bytes"
	"compress/flate"
	"compress/zlib"
	"errors"
	"fmt"
	"io"
)

// decode undoes a stream's filters. The bytes produced are charged to the
// message's decompression budget and capped at MaxEntry; image filters
// yield errPDFImage.
func (d *pdfDoc) decode(s *pdfStream, content bool) ([]byte, error) {
	filters := d.resolve(s.dict["Filter"])
	parms := d.resolve(s.dict["DecodeParms"])
	var fs []pdfName
	var ps []pdfDict
	switch f := filters.(type) {
	case pdfName:
		fs = []pdfName{f}
		ps = []pdfDict{d.resolveDict(parms)}
	case pdfArray:
		pa, _ := parms.(pdfArray)
		for i, x := range f {
			n, _ := d.resolve(x).(pdfName)
			fs = append(fs, n)
			var p pdfDict
			if i < len(pa) {
				p = d.resolveDict(pa[i])
			}
			ps = append(ps, p)
		}
	}
	data := s.raw
	for i, f := range fs {
		var r io.Reader
		switch f {
		case "FlateDecode", "Fl":
			if zr, err := zlib.NewReader(bytes.NewReader(data)); err == nil {
				r = zr
			} else {
				r = flate.NewReader(bytes.NewReader(data)) // raw deflate, no zlib header
			}
		case "ASCIIHexDecode", "AHx":
			data, _ = pdfHex(append(append([]byte{'<'}, data...), '>'), 0)
			continue
		case "ASCII85Decode", "A85":
			data = ascii85(data)
			continue
		case "RunLengthDecode", "RL":
			r = bytes.NewReader(runLengthDecode(data, d.e.lim.MaxEntry))
		case "Crypt":
			continue // Identity: the only crypt filter a stream may name without a key
		default:
			return nil, errPDFImage
		}
		// A truncated or damaged stream still yields what inflated.
		out, over, err := d.e.read(hinted{r, int64(4 * len(data))}, d.e.lim.MaxEntry, true)
		if err == errDeadline {
			return nil, err
		}
		if over {
			d.e.limit(d.src, fmt.Sprintf("stream inflated beyond %d bytes", d.e.lim.MaxEntry))
		}
		data = out
		if p := ps[i]; p != nil {
			data = pngPredict(d, p, data)
		}
	}
	return data, nil
}

var errPDFImage = errors.New("image data")

// pngPredict undoes the PNG row predictors (Predictor ≥ 10) that
// cross-reference and object streams use; other predictors are left.
func pngPredict(d *pdfDoc, p pdfDict, data []byte) []byte {
	pred, _ := d.resolveInt(p["Predictor"])
	if pred < 10 {
		return data
	}
	cols, ok := d.resolveInt(p["Columns"])
	if !ok || cols < 1 {
		cols = 1
	}
	colors, ok := d.resolveInt(p["Colors"])
	if !ok || colors < 1 {
		colors = 1
	}
	bpc, ok := d.resolveInt(p["BitsPerComponent"])
	if !ok || bpc < 1 {
		bpc = 8
	}
	if cols > 1<<20 || colors > 32 || bpc > 16 {
		return data
	}
	bpp := max(1, colors*bpc/8)
	row := (cols*colors*bpc + 7) / 8
	out := make([]byte, 0, len(data))
	prev := make([]byte, row)
	for pos := 0; pos+1+row <= len(data); pos += 1 + row {
		typ, cur := data[pos], data[pos+1:pos+1+row]
		line := make([]byte, row)
		for i := range line {
			var a, b, c byte
			if i >= bpp {
				a, c = line[i-bpp], prev[i-bpp]
			}
			b = prev[i]
			x := cur[i]
			switch typ {
			case 1:
				x += a
			case 2:
				x += b
			case 3:
				x += byte((int(a) + int(b)) / 2)
			case 4:
				pa, pb, pc := abs(int(b)-int(c)), abs(int(a)-int(c)), abs(int(a)+int(b)-2*int(c))
				switch {
				case pa <= pb && pa <= pc:
					x += a
				case pb <= pc:
					x += b
				default:
					x += c
				}
			}
			line[i] = x
		}
		out = append(out, line...)
		prev = line
	}
	return out
}

func abs(x int) int {
	if x < 0 {
		return -x
	}
	return x
}

// ascii85 decodes ASCII base-85 up to "~>".
func ascii85(b []byte) []byte {
	var out []byte
	var v uint32
	n := 0
	for _, c := range b {
		if c == '~' {
			break
		}
		switch {
		case c == 'z' && n == 0:
			out = append(out, 0, 0, 0, 0)
		case c < '!' || c > 'u':
		default:
			v = v*85 + uint32(c-'!')
			if n++; n == 5 {
				out = append(out, byte(v>>24), byte(v>>16), byte(v>>8), byte(v))
				v, n = 0, 0
			}
		}
	}
	if n > 1 {
		for k := n; k < 5; k++ {
			v = v*85 + 84
		}
		out = append(out, []byte{byte(v >> 24), byte(v >> 16), byte(v >> 8), byte(v)}[:n-1]...)
	}
	return out
}

// runLengthDecode undoes RunLengthDecode, producing at most limit bytes.
func runLengthDecode(b []byte, limit int64) []byte {
	var out []byte
	for i := 0; i < len(b) && int64(len(out)) <= limit; {
		l := int(b[i])
		i++
		switch {
		case l == 128:
			return out
		case l < 128:
			end := min(i+l+1, len(b))
			out = append(out, b[i:end]...)
			i = end
		case i < len(b):
			out = append(out, bytes.Repeat(b[i:i+1], 257-l)...)
			i++
		}
	}
	return out
}
