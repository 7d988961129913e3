package scanner

import "testing"

// notesFODT is a LibreOffice Writer document with text out of the flow of
// its paragraphs: a footnote, a comment, a text box and a custom shape
// with text. LibreOffice writes them to RTF as {\*\footnote},
// {\*\annotation} (with {\*\atnauthor} and {\*\atndate}), {\*\shpinst}
// with {\shptxt}, and a shape property {\sp{\sn gtextUNICODE}{\sv …}}.
const notesFODT = `<?xml version="1.0" encoding="UTF-8"?>
<office:document xmlns:office="urn:oasis:names:tc:opendocument:xmlns:office:1.0" xmlns:text="urn:oasis:names:tc:opendocument:xmlns:text:1.0"
 xmlns:draw="urn:oasis:names:tc:opendocument:xmlns:drawing:1.0" xmlns:svg="urn:oasis:names:tc:opendocument:xmlns:svg-compatible:1.0"
 xmlns:dc="http://purl.org/dc/elements/1.1/" office:version="1.3" office:mimetype="application/vnd.oasis.opendocument.text">
 <office:body><office:text>
  <text:p>Intro paragraph<text:note text:id="n1" text:note-class="footnote"><text:note-citation>1</text:note-citation><text:note-body><text:p>Footnote SSN ` + tblSSN + `</text:p></text:note-body></text:note></text:p>
  <text:p>Commented<office:annotation><dc:creator>Jane Roe</dc:creator><dc:date>2024-01-02T03:04:05</dc:date><text:p>Comment SSN ` + splitSSN + `</text:p></office:annotation> word</text:p>
  <text:p><draw:frame draw:name="Box1" text:anchor-type="paragraph" svg:width="5cm" svg:height="2cm" svg:x="1cm" svg:y="1cm"><draw:text-box><text:p>Box SSN ` + hdrSSN + `</text:p></draw:text-box></draw:frame>After box</text:p>
  <text:p><draw:custom-shape text:anchor-type="paragraph" svg:width="5cm" svg:height="2cm" svg:x="1cm" svg:y="4cm"><text:p>Shape card ` + tblCard + `</text:p><draw:enhanced-geometry draw:type="rectangle"/></draw:custom-shape>After shape</text:p>
 </office:text></office:body>
</office:document>`

// LibreOffice's RTF of notesFODT: the footnote, comment, text box and
// shape are read, each on lines of its own (the shape's field instruction
// too), and nothing of the shapes' other properties or the comment's date
// is; the line the comment splits follows whole, after the line before it.
func TestLibreOfficeRTFNotes(t *testing.T) {
	data := soffice(t, "notes.fodt", []byte(notesFODT), "rtf")
	where := "attachment notes.rtf"
	x := checkFindings(t, "notes.rtf", "application/rtf", data, []want{
		{"us_ssn", "8836", where}, {"us_ssn", "7781", where}, {"us_ssn", "1234", where}, {"credit_card", "1111", where},
	})
	const text = "Intro paragraph\n\tFootnote SSN " + tblSSN + "\n\nCommented\nJane Roe\nComment SSN " + splitSSN + "\n word\n" +
		"Box SSN " + hdrSSN + "\nAfter box\nSHAPE \nShape card " + tblCard + "\nAfter shape\nIntro paragraph\nCommented word\n"
	if p := partBySource(x, where); p == nil || string(p.Text) != text {
		t.Errorf("text %+v, want %q", p, text)
	}
}
