package scanner

import (
	"slices"
	"strings"
	"testing"
)

// The text of each page of the discharge summary as Chromium and
// LibreOffice lay it out, line by line as a viewer shows it: table cells
// apart, a label and its number on their own lines, the digits drawn one
// by one joined, the header and footer where the producer draws them.
func TestProducedPDFLayout(t *testing.T) {
	for _, c := range []struct {
		name string
		pdf  func() []byte
		want []string
	}{
		{"chromium", func() []byte { return chromiumPDF(t, summaryHTML) }, []string{
			"page 1: Discharge summary\nName\tSSN\tCard\nJane Roe 412-55-8836 4111 1111 1111 1111\nSocial Security\nNumber:\n449-32-7781\nSocial Security Number: 301-44-5566\nPatient SSN 536-22-1234\n",
			"page 2: Page two. Card number: 7476245378965652\nJCB 180044232322180\nCard on file 5555 5555 5555 4444\n",
		}},
		{"libreoffice", func() []byte { return soffice(t, "summary.fodt", []byte(summaryFODT), "pdf") }, []string{
			"page 1: Patient SSN 536-22-1234\nDischarge summary\nName\tSSN\tCard\nJane Roe\t412-55-8836\t4111 1111 1111 1111\nSocial Security\nNumber:\n449-32-7781\nCard on file 5555 5555 5555 4444\n",
			"page 2: Patient SSN 536-22-1234\nPage two. Card number: 7476245378965652\nJCB 180044232322180\nCard on file 5555 5555 5555 4444\n",
		}},
	} {
		t.Run(c.name, func(t *testing.T) {
			x := readPDF(t, c.pdf(), Limits{}, 1<<30)
			var got []string
			for _, p := range x.Parts {
				got = append(got, strings.TrimPrefix(p.Source, "t.pdf, ")+": "+string(p.Text))
			}
			if !slices.Equal(got, c.want) || len(x.Unreadable) != 0 {
				t.Errorf("pages\n%q\nwant\n%q\nunreadable %q", got, c.want, unreadables(x))
			}
		})
	}
}

// Chromium draws "fi" and "fl" as one ligature glyph whose ToUnicode
// entry is U+FB01 / U+FB02: the text must still read "Beneficiary", or
// the context word that vouches for a Medicare number is not found.
func TestChromiumLigatures(t *testing.T) {
	pdf := chromiumPDF(t, `<!DOCTYPE html><html><body style="font-family: sans-serif"><p>Beneficiary 1EG4TE5MK73</p><p>Office workflow</p></body></html>`)
	x := readPDF(t, pdf, Limits{}, 1<<30)
	if got, want := parts(x), []string{"t.pdf, page 1: Beneficiary 1EG4TE5MK73\nOffice workflow\n"}; !slices.Equal(got, want) {
		t.Errorf("parts %q, want %q", got, want)
	}
	fs := x.Scan(Options{Detectors: []string{"us_mbi"}, Threshold: 0.8})
	if len(fs) != 1 || fs[0].Masked != "*******MK73" {
		t.Errorf("findings %+v", fs)
	}
}
