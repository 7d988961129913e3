package scanner

import (
	"testing"
)

// What a workbook shows besides its cells: page headers and footers
// (printed on every page) and cell comments. LibreOffice Calc writes them
// as XLSX the way Excel does: headerFooter in the worksheet with its
// formatting codes (&C: centred), comments in xl/comments1.xml.
func TestLibreOfficeWorkbookNotes(t *testing.T) {
	const fods = `<?xml version="1.0" encoding="UTF-8"?>
<office:document xmlns:office="urn:oasis:names:tc:opendocument:xmlns:office:1.0"
 xmlns:table="urn:oasis:names:tc:opendocument:xmlns:table:1.0"
 xmlns:text="urn:oasis:names:tc:opendocument:xmlns:text:1.0"
 xmlns:style="urn:oasis:names:tc:opendocument:xmlns:style:1.0"
 xmlns:dc="http://purl.org/dc/elements/1.1/"
 office:version="1.3" office:mimetype="application/vnd.oasis.opendocument.spreadsheet">
 <office:master-styles>
  <style:master-page style:name="Default">
   <style:header><text:p>Patient SSN 536-22-1234</text:p></style:header>
   <style:footer><text:p>Card 4111 1111 1111 1111</text:p></style:footer>
  </style:master-page>
 </office:master-styles>
 <office:body><office:spreadsheet>
  <table:table table:name="Visits">
   <table:table-row><table:table-cell office:value-type="string"><office:annotation><dc:creator>Nurse</dc:creator><text:p>SSN 536-22-4321</text:p></office:annotation><text:p>Jane Roe</text:p></table:table-cell></table:table-row>
  </table:table>
 </office:spreadsheet></office:body>
</office:document>`
	xlsx := soffice(t, "notes.fods", []byte(fods), "xlsx")
	// Shared strings, the sheet's one row (its cell a shared string), the
	// header and footer, then the comment; the comment's drawing anchor
	// (two xdr:row elements) ends two more lines.
	checkText(t, "notes.xlsx", xlsx, "Jane Roe\n\n\t\nPatient SSN 536-22-1234\nCard 4111 1111 1111 1111\n\nSSN 536-22-4321\n\n\n\n")
}

// A header's formatting codes are not text, and never glue text together.
func TestHeaderFooterText(t *testing.T) {
	for _, c := range []struct{ in, want string }{
		{"&LSSN 536-22-1234&RPage &P of &N", "SSN 536-22-1234\nPage   of  "},
		{`&"Arial,Bold"&12Card&K00FF004111 1111 1111 1111`, "  12Card 4111 1111 1111 1111"},
		{"A && B&", "A & B&"},
		{`&"unclosed`, " "},
		{"&CJane&C&CRoe", "Jane\nRoe"},
		{"&K01+000x", " x"},
		{"&Kx", " x"},
		{"&K12345", " 12345"}, // too short for a colour
		{"&K00FF00", " "},     // a colour, nothing after it
		{`&""Jane`, " Jane"},  // an empty font name
		{"&05&9", " 05 9"},    // font sizes: the digits stay

	} {
		if got := string(headerFooterText(nil, []byte(c.in))); got != c.want {
			t.Errorf("%q: %q, want %q", c.in, got, c.want)
		}
	}
}
