package scanner

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"math"
	"strings"
	"testing"

	"github.com/richardlehane/mscfb"
)

// book is a flat OpenDocument spreadsheet of three sheets: strings, a
// small integer (RK), a formula's cached number, a row of two RK numbers
// (MULRK), a 15-digit and a 16-digit number (NUMBER: too large for RK), a
// decimal RK; and a roster of 400 rows whose shared strings outgrow one
// SST record (8,224 bytes) and go on in CONTINUE records, which
// LibreOffice starts in the middle of a string, in 8-bit and in UTF-16.
// roster is the roster's text, a tab between cells.
func book() (fods, roster string) {
	cell := `<table:table-cell office:value-type="string"><text:p>%s</text:p></table:table-cell>`
	var rows, text strings.Builder
	for i := range 400 {
		name := fmt.Sprintf("Patient %03d Jane Roe Smith", i)
		if i%2 == 1 {
			name = fmt.Sprintf("Patient %03d Zoë Łukasz Ødegård", i)
		}
		ssn := fmt.Sprintf("SSN 536-22-%d", 1000+i)
		rows.WriteString("<table:table-row>" + fmt.Sprintf(cell, name) + fmt.Sprintf(cell, ssn) + "</table:table-row>\n")
		text.WriteString(name + "\t" + ssn + "\n")
	}
	return `<?xml version="1.0" encoding="UTF-8"?>
<office:document xmlns:office="urn:oasis:names:tc:opendocument:xmlns:office:1.0"
 xmlns:table="urn:oasis:names:tc:opendocument:xmlns:table:1.0"
 xmlns:text="urn:oasis:names:tc:opendocument:xmlns:text:1.0"
 xmlns:of="urn:oasis:names:tc:opendocument:xmlns:of:1.2"
 office:version="1.3" office:mimetype="application/vnd.oasis.opendocument.spreadsheet">
 <office:body><office:spreadsheet>
  <table:table table:name="Patients">
   <table:table-row><table:table-cell office:value-type="string"><text:p>Name</text:p></table:table-cell><table:table-cell office:value-type="string"><text:p>SSN</text:p></table:table-cell><table:table-cell office:value-type="string"><text:p>Visits</text:p></table:table-cell></table:table-row>
   <table:table-row><table:table-cell office:value-type="string"><text:p>Jane Roe</text:p></table:table-cell><table:table-cell office:value-type="string"><text:p>536-22-1234</text:p></table:table-cell><table:table-cell office:value-type="float" office:value="7"><text:p>7</text:p></table:table-cell></table:table-row>
   <table:table-row><table:table-cell office:value-type="string"><text:p>Total</text:p></table:table-cell><table:table-cell table:formula="of:=[.C2]*3" office:value-type="float" office:value="21"><text:p>21</text:p></table:table-cell></table:table-row>
   <table:table-row><table:table-cell office:value-type="float" office:value="-3"><text:p>-3</text:p></table:table-cell><table:table-cell office:value-type="float" office:value="0.5"><text:p>0.5</text:p></table:table-cell><table:table-cell office:value-type="float" office:value="153000000000000"><text:p>153000000000000</text:p></table:table-cell></table:table-row>
  </table:table>
  <table:table table:name="Cards">
   <table:table-row><table:table-cell office:value-type="string"><text:p>Card</text:p></table:table-cell><table:table-cell office:value-type="float" office:value="4111111111111111"><text:p>4111111111111111</text:p></table:table-cell></table:table-row>
   <table:table-row><table:table-cell office:value-type="float" office:value="0.25"><text:p>0.25</text:p></table:table-cell></table:table-row>
  </table:table>
  <table:table table:name="Roster">
` + rows.String() + `  </table:table>
 </office:spreadsheet></office:body>
</office:document>`, text.String()
}

// LibreOffice Calc writes the book as XLS; it reads back cell by cell, in
// order, with every digit.
func TestLibreOfficeWorkbook(t *testing.T) {
	fods, roster := book()
	t.Run("xls", func(t *testing.T) {
		xls := soffice(t, "book.fods", []byte(fods), "xls")
		// What the roster is there for: an SST continued in 8-bit and
		// in UTF-16.
		wb := oleStream(t, xls, "Workbook")
		var conts []byte
		for i := 0; i+4 <= len(wb); i += 4 + int(binary.LittleEndian.Uint16(wb[i+2:])) {
			if binary.LittleEndian.Uint16(wb[i:]) == 0x003C {
				conts = append(conts, wb[i+4])
			}
		}
		if !bytes.Contains(conts, []byte{0}) || !bytes.Contains(conts, []byte{1}) {
			t.Fatalf("LibreOffice no longer continues the SST in both widths (flags %v): the test does not test what it says", conts)
		}
		// A tab between cells, a newline between rows and between
		// sheets.
		want := "Name\tSSN\tVisits\nJane Roe\t536-22-1234\t7\nTotal\t21\n-3\t0.5\t153000000000000\nCard\t4111111111111111\n0.25\n" + roster
		checkText(t, "book.xls", xls, want)
	})
}

// checkText extracts a message with the attachment and checks its text,
// and that nothing is unreadable.
func checkText(t *testing.T, name string, data []byte, want string) {
	t.Helper()
	x := extract(t, multipartMsg("text", attachment(name, "application/octet-stream", data)), Limits{})
	p := partBySource(x, "attachment "+name)
	if p == nil || len(x.Unreadable) > 0 || x.Truncated {
		t.Fatalf("parts %+v, unreadable %+v", x.Parts, x.Unreadable)
	}
	if string(p.Text) != want {
		got, w := strings.Split(string(p.Text), "\n"), strings.Split(want, "\n")
		for i := range min(len(got), len(w)) {
			if got[i] != w[i] {
				t.Fatalf("line %d: %q, want %q (%d lines, want %d)", i+1, got[i], w[i], len(got), len(w))
			}
		}
		t.Fatalf("%d lines, want %d", len(got), len(w))
	}
}

// oleStream returns a stream of a compound file.
func oleStream(t *testing.T, data []byte, name string) []byte {
	t.Helper()
	r, err := mscfb.New(bytes.NewReader(data))
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range r.File {
		if f.Name == name {
			b := make([]byte, f.Size)
			if _, err := f.Read(b); err != nil {
				t.Fatal(err)
			}
			return b
		}
	}
	t.Fatalf("no stream %s", name)
	return nil
}

// biffRec is one BIFF8 record: type, length, body.
func biffRec(typ uint16, body ...[]byte) []byte {
	b := bytes.Join(body, nil)
	return append(binary.LittleEndian.AppendUint16(binary.LittleEndian.AppendUint16(nil, typ), uint16(len(b))), b...)
}

func u16(v ...int) []byte {
	var b []byte
	for _, x := range v {
		b = binary.LittleEndian.AppendUint16(b, uint16(x))
	}
	return b
}

func u32(v ...uint32) []byte {
	var b []byte
	for _, x := range v {
		b = binary.LittleEndian.AppendUint32(b, x)
	}
	return b
}

func f64(f float64) []byte { return binary.LittleEndian.AppendUint64(nil, math.Float64bits(f)) }

// The records LibreOffice does not write, built by hand as Excel and
// older writers make them: LABEL (an inline string), a formula's string
// result (FORMULA marked 0xFFFF, then STRING), RK in its float form and
// with the ×100 flag, and a workbook with a password (FILEPASS).
func TestBIFFRecords(t *testing.T) {
	bof := biffRec(0x0809, make([]byte, 16))
	for _, c := range []struct {
		name string
		recs [][]byte
		want string
	}{
		{"label", [][]byte{bof,
			biffRec(0x0204, u16(0, 0, 15), u16(11), []byte{0}, []byte("536-22-1234")),
			biffRec(0x0204, u16(0, 1, 15), u16(4), []byte{1}, utf16le("Zoë!")),
			biffRec(0x0204, u16(1, 0, 15), u16(2), []byte{0}, []byte{0xE9, 0x80}), // cp1252 é €
		}, "536-22-1234\tZoë!\né€\n"},
		// The text of a formula that starts a row is on that row, not at
		// the end of the row before.
		{"formula string", [][]byte{bof,
			biffRec(0x0204, u16(1, 0, 15), u16(5), []byte{0}, []byte("Name:")),
			biffRec(0x0006, u16(2, 0, 15), []byte{0, 0, 0, 0, 0, 0, 0xFF, 0xFF}, make([]byte, 6)),
			biffRec(0x0207, u16(8), []byte{0}, []byte("Jane Roe")),
			biffRec(0x0006, u16(2, 1, 15), f64(21), make([]byte, 6)),
		}, "Name:\nJane Roe\t21\n"},
		// A STRING with no FORMULA before it is still read, on row 0.
		{"string first", [][]byte{biffRec(0x0207, u16(2), []byte{0}, []byte("ok")), biffRec(0x0203, u16(0, 1, 15), f64(5))}, "ok\t5\n"},
		{"rk", [][]byte{bof,
			biffRec(0x027E, u16(0, 0, 15), u32(0x3FF00000)),        // float form: 1.0
			biffRec(0x027E, u16(0, 1, 15), u32(0x3FF00000|1)),      // float form ×1/100: 0.01
			biffRec(0x027E, u16(0, 2, 15), u32(uint32(1234)<<2|3)), // integer ×1/100: 12.34
			biffRec(0x027E, u16(0, 3, 15), u32(0xFFFFFFFE)),
		}, "1\t0.01\t12.34\t-1\n"},
		{"mulrk", [][]byte{bof,
			biffRec(0x00BD, u16(4, 1), u16(15), u32(7<<2|2), u16(15), u32(8<<2|2), u16(15), u32(9<<2|2), u16(3)),
		}, "7\t8\t9\n"},
		{"number", [][]byte{bof,
			biffRec(0x0203, u16(0, 0, 15), f64(4111111111111111)),
			biffRec(0x0203, u16(0, 1, 15), f64(math.NaN())), // no text, its tab stays
			biffRec(0x0203, u16(0, 2, 15), f64(math.Inf(1))),
			biffRec(0x0203, u16(0, 3, 15), f64(-0.5)),
		}, "4111111111111111\t\t\t-0.5\n"},
		{"sheets", [][]byte{bof, biffRec(0x0203, u16(0, 0, 15), f64(1)), bof, bof, biffRec(0x0203, u16(0, 0, 15), f64(2))}, "1\n2\n"},
		// Records too short for what they say are passed over.
		{"short records", [][]byte{bof,
			biffRec(0x00FD, u16(0, 0, 15), u16(0)),
			biffRec(0x0204, u16(0, 0)),
			biffRec(0x0203, u16(0, 0, 15), make([]byte, 7)),
			biffRec(0x027E, u16(0, 0, 15), u16(1)),
			biffRec(0x00BD, u16(0, 0)),
			biffRec(0x0006, u16(0, 0, 15), make([]byte, 7)),
			biffRec(0x0203, u16(0, 0, 15), f64(3)),
		}, "3\n"},
		// A record running past the end ends the stream.
		{"cut", [][]byte{bof, biffRec(0x0203, u16(0, 0, 15), f64(5)), u16(0x0203, 14), u16(0, 0, 15)}, "5\n"},
		// Records at their shortest: a LABEL of no string is an empty
		// cell, a FORMULA of 14 bytes has its number, an empty BOF
		// last still ends its sheet.
		{"shortest", [][]byte{bof,
			biffRec(0x0203, u16(0, 0, 15), f64(1)),
			biffRec(0x0204, u16(0, 1, 15)),
			biffRec(0x0006, u16(0, 2, 15), f64(2)),
			biffRec(0x0809),
		}, "1\t\t2\n\n"},
		// A MULRK without its last column field: the cells it surely
		// holds.
		{"mulrk cut", [][]byte{bof, biffRec(0x00BD, u16(4, 1), u16(15), u32(7<<2|2), u16(15), u32(8<<2|2), u16(15), u32(9<<2|2))}, "7\t8\n"},
	} {
		t.Run(c.name, func(t *testing.T) {
			got, err := biffText(bytes.Join(c.recs, nil))
			if err != nil || string(got) != c.want {
				t.Errorf("biffText = %q, %v; want %q", got, err, c.want)
			}
		})
	}
	if _, err := biffText(bytes.Join([][]byte{bof, biffRec(0x002F, u16(1)), biffRec(0x0203, u16(0, 0, 15), f64(5))}, nil)); err == nil || !strings.Contains(err.Error(), "encrypted XLS") {
		t.Errorf("FILEPASS: %v, want encrypted XLS", err)
	}
	// In a message: unreadable, the policy decides.
	locked := cfb(t, []*cfbEntry{{name: "Workbook", data: bytes.Join([][]byte{bof, biffRec(0x002F, u16(1)), biffRec(0x0203, u16(0, 0, 15), f64(5))}, nil)}})
	x := extract(t, multipartMsg("x", attachment("locked.xls", "application/vnd.ms-excel", locked)), Limits{})
	if !unreadableFor(x, "attachment locked.xls", "encrypted XLS (password required)") || len(x.Parts) != 1 {
		t.Errorf("a password-protected XLS: parts %+v, unreadable %+v", x.Parts, x.Unreadable)
	}
	// BIFF5's stream is named Book.
	book := cfb(t, []*cfbEntry{{name: "Book", data: bytes.Join([][]byte{bof, biffRec(0x0203, u16(0, 0, 15), f64(536221234))}, nil)}})
	x = extract(t, multipartMsg("x", attachment("old.xls", "application/vnd.ms-excel", book)), Limits{})
	if p := partBySource(x, "attachment old.xls"); p == nil || string(p.Text) != "536221234\n" || len(x.Unreadable) > 0 {
		t.Errorf("a Book stream: parts %+v, unreadable %+v", x.Parts, x.Unreadable)
	}
}

// The shared strings, built by hand where LibreOffice does not go: rich
// strings (formatting runs and an extension block after the characters,
// which must be skipped), a string whose characters cross into a CONTINUE
// record that switches from 8-bit to UTF-16, and counts that lie.
func TestBIFFSharedStrings(t *testing.T) {
	sst := func(n int, strs ...[]byte) []byte { return append(u32(uint32(n), uint32(n)), bytes.Join(strs, nil)...) }
	label := func(row, col, k int) []byte { return biffRec(0x00FD, u16(row, col, 15), u32(uint32(k))) }
	rich := append(append(append(u16(3), 0x08|0x04), u16(2)...), u32(5)...) // 3 chars, 2 runs, 5 bytes of extension
	rich = append(append(append(rich, "SSN"...), make([]byte, 2*4)...), "abcde"...)
	for _, c := range []struct {
		name string
		recs [][]byte
		want string
	}{
		{"rich", [][]byte{biffRec(0x00FC, sst(2, rich, u16(2), []byte{0}, []byte("ok"))), label(0, 0, 0), label(0, 1, 1)}, "SSN\tok\n"},
		// "536-22-" in the SST record, "1234" in UTF-16 in a CONTINUE
		// that starts with its own flags byte; the next string follows.
		{"continued", [][]byte{
			biffRec(0x00FC, sst(2, u16(11), []byte{0}, []byte("536-22-"))),
			biffRec(0x003C, []byte{1}, utf16le("1234"), u16(2), []byte{0}, []byte("ok")),
			label(0, 0, 0), label(1, 0, 1),
		}, "536-22-1234\nok\n"},
		// A CONTINUE that holds the rest of a rich string's runs.
		{"runs continued", [][]byte{
			biffRec(0x00FC, sst(2, u16(2), []byte{0x08}, u16(1), []byte("ab"))),
			biffRec(0x003C, u32(0), u16(2), []byte{0}, []byte("cd")),
			label(0, 0, 0), label(0, 1, 1),
		}, "ab\tcd\n"},
		// More strings announced than there are: the ones there are read.
		{"short", [][]byte{biffRec(0x00FC, sst(5, u16(2), []byte{0}, []byte("ab"))), label(0, 0, 0), label(0, 1, 3)}, "ab\n"},
		// An index past the table adds no cell.
		{"bad index", [][]byte{biffRec(0x00FC, sst(1, u16(1), []byte{0}, []byte("a"))), label(0, 0, 1), label(0, 1, 0)}, "a\n"},
		{"no header", [][]byte{biffRec(0x00FC, u32(1)), label(0, 0, 0)}, "\n"},
		// A string that is only its header, at the end of the table.
		{"header only", [][]byte{biffRec(0x00FC, sst(1, u16(5), []byte{0x04})), label(0, 0, 0), label(0, 1, 0)}, "\t\n"},
		// More strings than announced: only the announced are read.
		{"long", [][]byte{biffRec(0x00FC, sst(1, u16(1), []byte{0}, []byte("a"), u16(1), []byte{0}, []byte("b"))), label(0, 0, 1), label(0, 1, 0)}, "a\n"},
		// A rich string's runs half in the SST record, half in the
		// CONTINUE record.
		{"runs split", [][]byte{
			biffRec(0x00FC, sst(2, u16(2), []byte{0x08}, u16(2), []byte("ab"), u32(0))),
			biffRec(0x003C, u32(0), u16(2), []byte{0}, []byte("cd")),
			label(0, 0, 0), label(0, 1, 1),
		}, "ab\tcd\n"},
		// The SST last in the stream, or its CONTINUE cut short.
		{"sst last", [][]byte{biffRec(0x0203, u16(0, 0, 15), f64(1)), biffRec(0x00FC, sst(1, u16(1), []byte{0}, []byte("a")))}, "1\n"},
		{"continue cut", [][]byte{biffRec(0x0203, u16(0, 0, 15), f64(1)), biffRec(0x00FC, sst(1, u16(1), []byte{0}, []byte("a"))), u16(0x003C, 3), []byte{0, 'b'}}, "1\n"},
	} {
		t.Run(c.name, func(t *testing.T) {
			got, err := biffText(bytes.Join(c.recs, nil))
			if err != nil || string(got) != c.want {
				t.Errorf("biffText = %q, %v; want %q", got, err, c.want)
			}
		})
	}
}
