package scanner

// summaryText is the text of the summary LibreOffice writes as DOC, DOCX,
// ODT and RTF, to the character: each format's paragraphs, table cells,
// headers and footers where that format keeps them. TestLibreOfficeDocuments
// checks it.
var summaryText = map[string]string{
	// The piece table: a cell's end and a row's end are both 0x07;
	// the header and footer stories follow the body.
	"doc": "Discharge summary\nName\tSSN\tCard\t\tJane Roe\t" + tblSSN + "\t" + tblCard + "\t\tSocial Security\nNumber:\n" + splitSSN +
		"\nPage two. Card number: " + p2Card + "\nJCB " + p2JCB + "\nPatient SSN " + hdrSSN + "\n\nCard on file " + ftrCard + "\n\n\n\n\n\n\n\n",
	// The body, then the other parts by name: footer1 before header1.
	"docx": "Discharge summary\nName\n\tSSN\n\tCard\n\tJane Roe\n\t" + tblSSN + "\n\t" + tblCard + "\n\tSocial Security\nNumber:\n" + splitSSN +
		"\n\nPage two. Card number: " + p2Card + "\nJCB " + p2JCB + "\n\nCard on file " + ftrCard + "\n\nPatient SSN " + hdrSSN + "\n\n",
	// content.xml, then styles.xml with the master page's header
	// and footer.
	"odt": "Discharge summary\nName\n\tSSN\n\tCard\n\t\nJane Roe\n\t" + tblSSN + "\n\t" + tblCard + "\n\t\nSocial Security\nNumber:\n" + splitSSN +
		"\nPage two. Card number: " + p2Card + "\nJCB " + p2JCB + "\n\nPatient SSN " + hdrSSN + "\nCard on file " + ftrCard + "\n\n",
	"rtf": "Patient SSN " + hdrSSN + "\nCard on file " + ftrCard + "\nDischarge summary\nName\tSSN\tCard\t\nJane Roe\t" + tblSSN + "\t" + tblCard +
		"\t\nSocial Security\nNumber:\n" + splitSSN + "\nPage two. Card number: " + p2Card + "\nJCB " + p2JCB + "\n",
}
