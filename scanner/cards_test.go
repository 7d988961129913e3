package scanner

import (
	"testing"
)

// Issuer ranges added from the published IIN table, and the strong card
// wording that makes any Luhn-valid number a card.
func TestCardIssuers(t *testing.T) {
	runCases(t, []tc{
		{name: "jcb 15 1800", text: "JCB card 180044232322180", want: "credit_card", at: "180044232322180", masked: "***********2180"},
		{name: "jcb 15 2131", text: "card 213134062904214", want: "credit_card", at: "213134062904214"},
		{name: "jcb 16 grouped", text: "pay with 3530 1113 3330 0000", want: "credit_card", at: "3530 1113 3330 0000"},
		{name: "mir", text: "card 2201 1594 7892 7780", want: "credit_card", at: "2201 1594 7892 7780"},
		{name: "verve 19", text: "card 5061052432854574943", want: "credit_card", at: "5061052432854574943"},
		{name: "unionpay 62", text: "card 6212345678901265", want: "credit_card", at: "6212345678901265"},
		{name: "diners 14", text: "card 30569309025904", want: "credit_card", at: "30569309025904"},
		// A range the table does not know counts only after strong wording.
		{name: "unknown range after card number", text: "Card number: 7476245378965652", want: "credit_card", at: "7476245378965652"},
		{name: "unknown range after credit card", text: "credit card 7476 2453 7896 5652 please", want: "credit_card", at: "7476 2453 7896 5652"},
		{name: "unknown range after cc#", text: "CC#7476245378965652", want: "credit_card", at: "7476245378965652"},
		{name: "unknown range after 'card number is'", text: "my card number is 7476245378965652", want: "credit_card", at: "7476245378965652"},
		{name: "unknown range, weak word", text: "card 7476245378965652", want: ""},
		{name: "unknown range, no word", text: "ref 7476245378965652", want: ""},
		{name: "unknown range, not luhn", text: "Card number: 7476245378965653", want: ""},
		{name: "unknown range, too short", text: "Card number: 747624537892", want: ""},
		{name: "wording far before", text: "card number below.\nThe parcel id is 7476245378965652", want: ""},
		{name: "visa of 15 digits", text: "card 411111111111116", want: ""},
		{name: "amex of 16 digits", text: "card 3782822463100052", want: ""},
		{name: "japan is not pan", text: "Japan 7476245378965652", want: ""},
	})
}

func TestMBI(t *testing.T) {
	runCases(t, []tc{
		{name: "bare with word", text: "Medicare number 1EG4TE5MK73", want: "us_mbi", at: "1EG4TE5MK73", masked: "*******MK73"},
		{name: "bare alone", text: "ID 1EG4TE5MK73 on file", want: "us_mbi", at: "1EG4TE5MK73"},
		{name: "dashed", text: "MBI: 2CN7-HJ3-KP28.", want: "us_mbi", at: "2CN7-HJ3-KP28", masked: "****-***-KP28"},
		{name: "digit in AN positions", text: "MBI 1E94T05MK73", want: "us_mbi", at: "1E94T05MK73"},
		{name: "excluded letter S", text: "MBI 1SG4TE5MK73", want: ""},
		{name: "excluded letter O in position 8", text: "MBI 1EG4TE5OK73", want: ""},
		{name: "first digit zero", text: "MBI 0EG4TE5MK73", want: ""},
		{name: "lower case", text: "MBI 1eg4te5mk73", want: ""},
		{name: "too long", text: "MBI 1EG4TE5MK734", want: ""},
		{name: "inside a word", text: "X1EG4TE5MK73", want: ""},
		{name: "glued by a joiner", text: "file-1EG4TE5MK73.pdf", want: ""},
		{name: "mixed dashes", text: "MBI 1EG4TE5-MK73", want: ""},
		{name: "negative word", text: "order 1EG4TE5MK73", want: ""},
	})
}

func TestTitle(t *testing.T) {
	for det, want := range map[string]string{
		"us_ssn":      "Social Security number",
		"credit_card": "payment card number",
		"us_mbi":      "Medicare Beneficiary Identifier",
		"mrn":         "mrn", // an admin rule keeps its own name
	} {
		if got := Title(det); got != want {
			t.Errorf("Title(%q) = %q, want %q", det, got, want)
		}
	}
	for _, d := range Detectors() {
		if Title(d) == d || Title(d) == "" {
			t.Errorf("detector %s has no title", d)
		}
	}
}

func TestWhere(t *testing.T) {
	for src, want := range map[string]string{
		"header Subject":                       "subject",
		"body text/plain":                      "message body",
		"body text/html":                       "message body",
		"attachment lab.pdf, page 1":           "attachment lab.pdf, page 1",
		"archive bundle.zip/docs/inner.docx":   "attachment bundle.zip, file docs/inner.docx",
		"attachment fwd.eml > body text/plain": "attachment fwd.eml > message body",
		"attachment fwd.eml > header Subject":  "attachment fwd.eml > subject",
		"attachment 536-22-1234.pdf, page 12":  "attachment ***-**-****.pdf, page 12",
		"archive a1.zip/b2.pdf, page 3":        "attachment a*.zip, file b*.pdf, page 3",
		"attachment x.pdf, form fields":        "attachment x.pdf, form fields",
		"attachment , page 1":                  "attachment , page 1", // a part without a name
		"attachment 0-9.pdf":                   "attachment *-*.pdf",
	} {
		if got := Where(src); got != want {
			t.Errorf("Where(%q) = %q, want %q", src, got, want)
		}
	}
}
