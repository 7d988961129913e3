package scanner

import "testing"

// The issuer table at the ends of its ranges and lengths. The numbers are
// Luhn-valid; "card" is a weak context word, enough for a known issuer.
func TestCardRangeEdges(t *testing.T) {
	runCases(t, []tc{
		{name: "mastercard 2221", text: "card 2221012345678902", want: "credit_card", at: "2221012345678902"},
		{name: "mastercard 2720", text: "card 2720012345678908", want: "credit_card", at: "2720012345678908"},
		{name: "2220 is no issuer", text: "card 2220012345678903", want: ""},
		{name: "2721 is no issuer", text: "card 2721012345678907", want: ""},
		{name: "mir 2200", text: "card 2200012345678907", want: "credit_card", at: "2200012345678907"},
		{name: "mir 2204", text: "card 2204012345678903", want: "credit_card", at: "2204012345678903"},
		{name: "2205 is no issuer", text: "card 2205012345678902", want: ""},
		{name: "jcb 3528", text: "card 3528012345678900", want: "credit_card", at: "3528012345678900"},
		{name: "jcb 3589", text: "card 3589012345678906", want: "credit_card", at: "3589012345678906"},
		{name: "3527 is no issuer", text: "card 3527012345678901", want: ""},
		{name: "3590 is no issuer", text: "card 3590012345678903", want: ""},
		{name: "jcb 1800 of 15", text: "card 180001234567899", want: "credit_card", at: "180001234567899"},
		{name: "jcb 2131 of 15", text: "card 213101234567898", want: "credit_card", at: "213101234567898"},
		{name: "diners 300", text: "card 30001234567891", want: "credit_card", at: "30001234567891"},
		{name: "diners 305", text: "card 30501234567890", want: "credit_card", at: "30501234567890"},
		{name: "306 is no issuer", text: "card 30601234567898", want: ""},
		{name: "diners 3095", text: "card 30950123456782", want: "credit_card", at: "30950123456782"},
		{name: "diners 36 of 19", text: "card 3601234567890123456", want: "credit_card", at: "3601234567890123456"},
		{name: "troy 9792", text: "card 9792012345678906", want: "credit_card", at: "9792012345678906"},
		{name: "unionpay 81", text: "card 8101234567890120", want: "credit_card", at: "8101234567890120"},
		{name: "80 is no issuer", text: "card 8001234567890121", want: ""},
		{name: "amex 34", text: "card 340123456789014", want: "credit_card", at: "340123456789014"},
		// Visa issues 13, 16 and 19 digits.
		{name: "visa 13", text: "card 4012345678909", want: "credit_card", at: "4012345678909"},
		{name: "visa 16", text: "card 4012345678901239", want: "credit_card", at: "4012345678901239"},
		{name: "visa 19", text: "card 4012345678901234565", want: "credit_card", at: "4012345678901234565"},
		{name: "visa 14", text: "card 40123456789017", want: ""},
		// Maestro from 12 to 19 digits.
		{name: "maestro 12", text: "card 501801234565", want: "credit_card", at: "501801234565"},
		{name: "maestro 19", text: "card 5018012345678901234", want: "credit_card", at: "5018012345678901234"},
		{name: "discover 19", text: "card 6011012345678901238", want: "credit_card", at: "6011012345678901238"},
		// The rest of the 5 range: twelve digits are enough with a card word.
		{name: "other 5 of 12", text: "card 500123456781", want: "credit_card", at: "500123456781"},
		{name: "other 5 of 12, no word", text: "number 500123456781", want: ""},
	})
}

// Grouped numbers of a known issuer count without a context word; the
// broad 5 and 6 ranges never do. The Verve ranges end where they end.
func TestCardGroupedWithoutContext(t *testing.T) {
	runCases(t, []tc{
		{name: "verve 506099", text: "5060 9901 2345 6780", want: "credit_card", at: "5060 9901 2345 6780"},
		{name: "verve 506198", text: "5061 9801 2345 6780", want: "credit_card", at: "5061 9801 2345 6780"},
		{name: "mastercard 51", text: "5101 2345 6789 0126", want: "credit_card", at: "5101 2345 6789 0126"},
		{name: "mastercard 55", text: "5501 2345 6789 0122", want: "credit_card", at: "5501 2345 6789 0122"},
		{name: "56 is only the broad range", text: "5601 2345 6789 0121", want: ""},
		{name: "4-4-4 of 12", text: "card 5018 0123 4565", want: "credit_card", at: "5018 0123 4565"},
		{name: "4-4-4-1 of 13", text: "4012 3456 7890 9", want: "credit_card", at: "4012 3456 7890 9"},
		{name: "4-4-4-4-3 of 19", text: "4012 3456 7890 1234 565", want: "credit_card", at: "4012 3456 7890 1234 565"},
		{name: "4-6-4 (diners)", text: "3056 012345 6789", want: "credit_card", at: "3056 012345 6789"},
		{name: "4-6-5 (amex)", text: "3401 234567 89014", want: "credit_card", at: "3401 234567 89014"},
		{name: "4-6-6", text: "card 3601 234567 890126", want: ""},
		{name: "4-4-5-3", text: "card 4012 3456 78901 239", want: ""},
	})
}

// Strong card wording makes any Luhn-valid number of 13 digits or more a
// card: at most eight bytes of punctuation and spaces between, and "is" only
// as a word of its own.
func TestStrongCardWordingEdges(t *testing.T) {
	runCases(t, []tc{
		{name: "13 digits", text: "Card number: 7476012345679", want: "credit_card", at: "7476012345679", masked: "*********5679"},
		{name: "eight bytes between", text: "card number: -. .- 7476245378965652", want: "credit_card", at: "7476245378965652"},
		{name: "nine bytes between", text: "card number: -. .-  7476245378965652", want: ""},
		{name: "is, upper case", text: "CARD NUMBER IS 7476245378965652", want: "credit_card", at: "7476245378965652"},
		{name: "is after a hash", text: "card # is 7476245378965652", want: "credit_card", at: "7476245378965652"},
		{name: "is glued to the phrase", text: "card #is 7476245378965652", want: ""},
		{name: "phrase at the start, is", text: "pan is 7476245378965652", want: "credit_card", at: "7476245378965652"},
		{name: "only is", text: "is 7476245378965652", want: ""},
		{name: "number alone", text: "7476245378965652", want: ""},
	})
}
