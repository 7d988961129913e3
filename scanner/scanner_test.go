package scanner

import (
	"fmt"
	"slices"
	"strings"
	"testing"
)

// tc is one detection vector. want is the detector expected to fire (empty:
// nothing may fire); at is the substring the finding must start at (empty:
// the whole text after the context prefix is taken from value); masked is the
// expected masked form when given.
type tc struct {
	name   string
	text   string
	want   string
	at     string
	masked string
}

func runCases(t *testing.T, cases []tc) {
	t.Helper()
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got := Scan([]byte(c.text), Options{})
			if c.want == "" {
				if len(got) != 0 {
					t.Fatalf("Scan(%q) = %+v, want nothing", c.text, got)
				}
				return
			}
			if len(got) != 1 {
				t.Fatalf("Scan(%q) = %+v, want one %s", c.text, got, c.want)
			}
			f := got[0]
			if f.Detector != c.want {
				t.Fatalf("Scan(%q) detector %q, want %q (%+v)", c.text, f.Detector, c.want, f)
			}
			if off := strings.Index(c.text, c.at); f.Offset != off {
				t.Errorf("offset %d, want %d (start of %q)", f.Offset, off, c.at)
			}
			if c.masked != "" && f.Masked != c.masked {
				t.Errorf("masked %q, want %q", f.Masked, c.masked)
			}
			if f.Score < 0.5 || f.Score > 1 {
				t.Errorf("score %v out of range", f.Score)
			}
			checkMask(t, c.at, f)
		})
	}
}

// checkMask: no more than the last four characters of the value survive.
func checkMask(t *testing.T, value string, f Finding) {
	t.Helper()
	digits := onlyDigits(value)
	if n := len(onlyDigits(f.Masked)); n > 4 {
		t.Errorf("masked %q keeps %d digits", f.Masked, n)
	}
	if f.Detector == "icd10" {
		if strings.ContainsAny(f.Masked, "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ") {
			t.Errorf("icd10 masked %q reveals the code", f.Masked)
		}
		return
	}
	if len(digits) >= 4 && !strings.HasSuffix(onlyDigits(f.Masked), digits[len(digits)-4:]) &&
		!strings.HasSuffix(strings.ReplaceAll(f.Masked, " ", ""), strings.ReplaceAll(value, " ", "")[len(strings.ReplaceAll(value, " ", ""))-4:]) {
		t.Errorf("masked %q does not end with the last four of %q", f.Masked, value)
	}
	if len(digits) > 4 && strings.Contains(f.Masked, digits[:5]) {
		t.Errorf("masked %q contains leading digits of %q", f.Masked, value)
	}
}

func onlyDigits(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if isDigit(s[i]) {
			b.WriteByte(s[i])
		}
	}
	return b.String()
}

func TestSSN(t *testing.T) {
	runCases(t, []tc{
		{"dashed", "Patient SSN 536-22-1234 on file", "us_ssn", "536-22-1234", "***-**-1234"},
		{"dashed no context", "see 536-22-1234 above", "us_ssn", "536-22-1234", "***-**-1234"},
		{"dashed start of text", "536-22-1234", "us_ssn", "536-22-1234", "***-**-1234"},
		{"dashed end sentence", "Her number is 219-09-9998.", "us_ssn", "219-09-9998", "***-**-9998"},
		{"colon no space", "SSN:536-22-1234", "us_ssn", "536-22-1234", ""},
		{"spaced with context", "Social Security Number: 536 22 1234", "us_ssn", "536 22 1234", "***-**-1234"},
		{"contiguous with context", "ss# 536221234", "us_ssn", "536221234", "***-**-1234"},
		{"contiguous taxpayer after", "536221234 (taxpayer id)", "us_ssn", "536221234", ""},
		{"after other number", "Box 12 536-22-1234", "us_ssn", "536-22-1234", ""},
		{"spaced no context", "ref 536 22 1234", "", "", ""},
		{"contiguous no context", "call 536221234 now", "", "", ""},
		{"area 000", "SSN 000-12-3456", "", "", ""},
		{"area 666", "SSN 666-12-3456", "", "", ""},
		{"area 900", "SSN 900-12-3456", "", "", ""},
		{"area 999", "SSN 999-12-3456", "", "", ""},
		{"group 00", "SSN 536-00-1234", "", "", ""},
		{"serial 0000", "SSN 536-22-0000", "", "", ""},
		{"woolworth", "SSN 078-05-1120", "", "", ""},
		{"advert 219", "SSN 219-09-9999", "", "", ""},
		{"example 123", "SSN 123-45-6789", "", "", ""},
		{"example 987 low", "SSN 987-65-4320", "", "", ""},
		{"example 987 high", "SSN 987-65-4329", "", "", ""},
		{"mixed separators", "SSN 536-22 1234", "", "", ""},
		{"negative context", "Order 536-22-1234 shipped", "", "", ""},
		{"glued to letters", "SSN x536-22-1234", "", "", ""},
		{"glued after", "SSN 536-22-1234abc", "", "", ""},
		{"inside dashed id", "ID-536-22-1234", "", "", ""},
		{"more groups", "SSN 536-22-1234-5", "", "", ""},
		{"decimal tail", "SSN 536-22-1234.5", "", "", ""},
	})
}

func TestCreditCard(t *testing.T) {
	runCases(t, []tc{
		{"visa grouped", "Card: 4111 1111 1111 1111 exp 12/27", "credit_card", "4111 1111 1111 1111", "************1111"},
		{"visa grouped no context", "use 4111 1111 1111 1111 please", "credit_card", "4111 1111 1111 1111", "************1111"},
		{"visa dashed", "4111-1111-1111-1111", "credit_card", "4111-1111-1111-1111", "************1111"},
		{"visa contiguous context", "my visa is 4111111111111111", "credit_card", "4111111111111111", "************1111"},
		{"visa 13", "credit card 4222222222222", "credit_card", "4222222222222", "*********2222"},
		{"mastercard", "Mastercard 5555 5555 5555 4444", "credit_card", "5555 5555 5555 4444", ""},
		{"mastercard 51", "card 5105105105105100", "credit_card", "5105105105105100", ""},
		{"mastercard 2-series", "card no 2223 0031 2200 3222", "credit_card", "2223 0031 2200 3222", ""},
		{"amex 4-6-5", "Amex 3782 822463 10005", "credit_card", "3782 822463 10005", "***********0005"},
		{"amex contiguous", "amex: 371449635398431", "credit_card", "371449635398431", ""},
		{"discover", "Discover card 6011 1111 1111 1117", "credit_card", "6011 1111 1111 1117", ""},
		{"discover 2", "cc 6011000990139424", "credit_card", "6011000990139424", ""},
		{"jcb", "JCB card 3530 1113 3330 0000", "credit_card", "3530 1113 3330 0000", ""},
		{"jcb 2", "card 3566002020360505", "credit_card", "3566002020360505", ""},
		{"diners 14", "Diners card 30569309025904", "credit_card", "30569309025904", ""},
		{"diners 38", "card 38520000023237", "credit_card", "38520000023237", ""},
		{"unionpay", "UnionPay card 6200 0000 0000 0005", "credit_card", "6200 0000 0000 0005", ""},
		{"maestro with context", "Maestro debit card 6759649826438453", "credit_card", "6759649826438453", ""},
		{"maestro without context", "ref. 6759 6498 2643 8453 attached", "", "", ""},
		{"maestro no words", "number 6759649826438453", "", "", ""},
		{"visa contiguous no context", "number 4111111111111111 in the log", "", "", ""},
		{"luhn fail", "card 4111 1111 1111 1112", "", "", ""},
		{"luhn fail contiguous", "card 4111111111111112", "", "", ""},
		{"visa bad length", "card 41111111111111113", "", "", ""},
		{"amex bad length", "card 3782822463100052", "", "", ""},
		{"no iin", "card 1234 5678 9012 3452", "", "", ""},
		{"odd grouping", "card 41 111111 11111111", "", "", ""},
		{"all same", "card 4444 4444 4444 4444", "", "", ""},
		{"negative context", "tracking 4111 1111 1111 1111", "", "", ""},
		{"glued to letters", "card A4111111111111111", "", "", ""},
		{"longer grouped run", "ref 9400 4111 1111 1111 1111 2202", "", "", ""},
	})
}

func TestNPI(t *testing.T) {
	runCases(t, []tc{
		{"context", "NPI: 1234567893", "us_npi", "1234567893", "******7893"},
		{"provider", "Billing provider 1234567893", "us_npi", "1234567893", ""},
		{"national provider after", "1234567893 (National Provider Identifier)", "us_npi", "1234567893", ""},
		{"no context", "call 1234567893 today", "", "", ""},
		{"bad check digit", "NPI: 1234567890", "", "", ""},
		{"bad first digit", "NPI: 3234567893", "", "", ""},
		{"dashed", "NPI: 123-456-7893", "", "", ""},
	})
}

func TestDEA(t *testing.T) {
	runCases(t, []tc{
		{"context", "DEA# AB1234563", "us_dea", "AB1234563", "*****4563"},
		{"prescriber", "prescriber BJ6125341 signed", "us_dea", "BJ6125341", "*****5341"},
		{"no context", "update KB5032189 installed", "", "", ""}, // passes the checksum
		{"context after", "BJ6125341 (DEA) on file", "us_dea", "BJ6125341", "*****5341"},
		{"nine as second", "DEA F91234563", "us_dea", "F91234563", "*****4563"},
		{"bad checksum", "DEA AB1234564", "", "", ""},
		{"bad first letter", "DEA IB1234563", "", "", ""},
		{"lower case", "DEA ab1234563", "", "", ""},
		{"eight digits", "DEA AB12345630", "", "", ""},
		{"part of word", "DEA XAB1234563", "", "", ""},
		{"negative context", "order AB1234563", "", "", ""},
	})
}

func TestABA(t *testing.T) {
	runCases(t, []tc{
		{"routing", "Routing number: 021000021", "aba_routing", "021000021", "*****0021"},
		{"aba", "ABA 011000015", "aba_routing", "011000015", ""},
		{"rtn after", "111000025 is the RTN", "aba_routing", "111000025", ""},
		{"transit", "transit 121000358", "aba_routing", "121000358", ""},
		{"no context", "number 021000021", "", "", ""},
		{"bad checksum", "routing 021000022", "", "", ""},
		{"bad prefix", "routing 134000025", "", "", ""},
		{"dashed", "routing 021-000-021", "", "", ""},
	})
}

func TestIBAN(t *testing.T) {
	runCases(t, []tc{
		{"de spaced", "IBAN: DE89 3704 0044 0532 0130 00", "iban", "DE89 3704 0044 0532 0130 00", "DE** **** **** **** **30 00"},
		{"de compact no context", "pay DE89370400440532013000 today", "iban", "DE89370400440532013000", "DE** **** **** **** **30 00"},
		{"gb", "GB29 NWBK 6016 1331 9268 19", "iban", "GB29 NWBK 6016 1331 9268 19", "GB** **** **** **** **68 19"},
		{"fr letter in bban", "FR1420041010050500013M02606", "iban", "FR1420041010050500013M02606", ""},
		{"nl", "account NL91ABNA0417164300", "iban", "NL91ABNA0417164300", ""},
		{"be", "BE68539007547034.", "iban", "BE68539007547034", ""},
		{"ch", "CH93 0076 2011 6238 5295 7", "iban", "CH93 0076 2011 6238 5295 7", ""},
		{"es", "ES9121000418450200051332", "iban", "ES9121000418450200051332", ""},
		{"it", "IT60X0542811101000000123456", "iban", "IT60X0542811101000000123456", ""},
		{"no", "NO9386011117947", "iban", "NO9386011117947", ""},
		{"bad checksum", "IBAN DE89370400440532013001", "", "", ""},
		{"wrong length", "IBAN DE8937040044053201300", "", "", ""},
		{"too long", "IBAN DE893704004405320130001", "", "", ""},
		{"unknown country", "IBAN QQ89370400440532013000", "", "", ""},
		{"lower case", "iban de89370400440532013000", "", "", ""},
	})
}

func TestICD10(t *testing.T) {
	runCases(t, []tc{
		{"diagnosis", "Diagnosis: E11.9 type 2 diabetes", "icd10", "E11.9", "***.*"},
		{"dx", "dx J45.909", "icd10", "J45.909", "***.***"},
		{"icd-10 no dot", "ICD-10 code I10", "icd10", "I10", "***"},
		{"extension", "diag S72.001A", "icd10", "S72.001A", "***.****"},
		{"context after", "F32.1 (diagnosis)", "icd10", "F32.1", ""},
		{"no context", "Room E11.9 on the left", "", "", ""},
		{"no context plain", "Seat B12 please", "", "", ""},
		{"U excluded", "diagnosis U07.1", "", "", ""},
		{"too long extension", "diagnosis E11.90123", "", "", ""},
		{"three digits", "diagnosis E119", "", "", ""},
		{"lower case", "diagnosis e11.9", "", "", ""},
		{"context inside word", "idealdx E11.9", "", "", ""},
		{"vitamin", "diagnosis pending; Vitamin B12 low", "", "", ""},
		{"vit.", "dx: anemia, vit. B12 low", "", "", ""},
		{"vitamin word apart", "diagnosis: vitaminB12 E53.8", "icd10", "E53.8", ""},
	})
}

// Obvious non-data that must not fire at the default threshold, even next
// to words that are context for some detector.
func TestHardNegatives(t *testing.T) {
	negatives := []string{
		"Call me at (555) 123-4567 tomorrow.",
		"Phone: +1 555 123 4567",
		"Tel 555-123-4567 or 555.123.4567",
		"+44 20 7946 0958",
		"Meeting on 2026-11-23 at 10:30",
		"Due 11/23/2026, paid 23.11.2026",
		"Tracking: 1Z999AA10123456784",
		"USPS 9400111899223197428490",
		"USPS 9400 1118 9922 3197 4284 90",
		"Request id 123e4567-e89b-12d3-a456-426614174000",
		"ISBN 978-3-16-148410-0",
		"ISBN 9783161484100",
		"Ship to Springfield, IL 12345-6789",
		"Order 4111111111111111 confirmed",
		"Invoice 123456789012345678",
		"Ref 12345678901234567890",
		"version 1.2.3456789012",
		"file_536221234.pdf",
		"https://example.org/item/4111111111111111",
		"price $1,234,567.89",
		"Amount 536,221,234",
		"user536221234@example.org",
		"card game on 2026-11-23",
		"Room E11 in building B",
		"Seats A10, A11 and A12",
		"0000000000000000",
		"111-11-1111",
		"Account 000000000",
		"SSN 123456789",
	}
	for _, text := range negatives {
		if got := Scan([]byte(text), Options{}); len(got) != 0 {
			t.Errorf("Scan(%q) = %+v, want nothing", text, got)
		}
	}
}

func TestOptions(t *testing.T) {
	text := []byte("SSN 536-22-1234, card 4111 1111 1111 1111, routing 021000021, npi 1234567893")
	all := Scan(text, Options{})
	if got := detectorsOf(all); !slices.Equal(got, []string{"us_ssn", "credit_card", "aba_routing", "us_npi"}) {
		t.Fatalf("all detectors: %v (%+v)", got, all)
	}
	only := Scan(text, Options{Detectors: []string{"credit_card"}})
	if got := detectorsOf(only); !slices.Equal(got, []string{"credit_card"}) {
		t.Fatalf("credit_card only: %v", got)
	}
	if got := Scan(text, Options{Detectors: []string{"nope"}}); len(got) != 0 {
		t.Fatalf("unknown detector: %+v", got)
	}
	// A lower threshold lets the context-less contiguous SSN through; a
	// higher one drops the context-less ones.
	low := Scan([]byte("number 536221234 here"), Options{Threshold: 0.25})
	if len(low) != 1 || low[0].Detector != "us_ssn" {
		t.Fatalf("threshold 0.25: %+v", low)
	}
	two := "see 536-22-1234" + strings.Repeat(" ", 40) + "SSN 536-22-1235"
	high := Scan([]byte(two), Options{Threshold: 0.9})
	if len(high) != 1 || high[0].Offset != strings.Index(two, "536-22-1235") {
		t.Fatalf("threshold 0.9: %+v", high)
	}
	if d := Detectors(); len(d) != 8 || d[0] != "us_ssn" || d[7] != "us_mbi" {
		t.Fatalf("Detectors() = %v", d)
	}
	d := Detectors()
	d[0] = "changed"
	if Detectors()[0] != "us_ssn" {
		t.Fatal("Detectors() exposes internal state")
	}
}

func detectorsOf(fs []Finding) []string {
	var out []string
	for _, f := range fs {
		out = append(out, f.Detector)
	}
	return out
}

// Several findings in one text come out in offset order with offsets that
// point at each value, including multi-byte text before them.
func TestOffsetsAndOrder(t *testing.T) {
	values := []string{"536-22-1234", "4111 1111 1111 1111", "DE89 3704 0044 0532 0130 00", "AB1234563"}
	var b strings.Builder
	b.WriteString("Grüße — ünïcode first.\n")
	var want []int
	for i, v := range values {
		fmt.Fprintf(&b, "Line %d: SSN card IBAN DEA ", i)
		want = append(want, b.Len())
		b.WriteString(v)
		b.WriteString("\n")
	}
	text := b.String()
	got := Scan([]byte(text), Options{})
	if len(got) != len(values) {
		t.Fatalf("got %+v", got)
	}
	for i, f := range got {
		if f.Offset != want[i] {
			t.Errorf("finding %d (%s) offset %d, want %d", i, f.Detector, f.Offset, want[i])
		}
		checkMask(t, values[i], f)
	}
}

func TestContextWindow(t *testing.T) {
	// The context word must be near: 64 bytes before, 32 after.
	near := "routing " + strings.Repeat("x ", 20) + "021000021"
	far := "routing " + strings.Repeat("x ", 40) + "021000021"
	if got := Scan([]byte(near), Options{}); len(got) != 1 {
		t.Errorf("near context: %+v", got)
	}
	if got := Scan([]byte(far), Options{}); len(got) != 0 {
		t.Errorf("far context: %+v", got)
	}
	after := "021000021 " + strings.Repeat("y", 20) + " routing"
	tooFarAfter := "021000021 " + strings.Repeat("y", 40) + " routing"
	if got := Scan([]byte(after), Options{}); len(got) != 1 {
		t.Errorf("context after: %+v", got)
	}
	if got := Scan([]byte(tooFarAfter), Options{}); len(got) != 0 {
		t.Errorf("context too far after: %+v", got)
	}
	// Case-insensitive, whole words only.
	if got := Scan([]byte("ROUTING 021000021"), Options{}); len(got) != 1 {
		t.Errorf("upper-case context: %+v", got)
	}
	if got := Scan([]byte("rerouting 021000021"), Options{}); len(got) != 0 {
		t.Errorf("context inside a word: %+v", got)
	}
}

func TestHasDigit(t *testing.T) {
	for b := 0; b < 256; b++ {
		for pos := 0; pos < 8; pos++ {
			var w [8]byte
			for k := range w {
				w[k] = 'a'
			}
			w[pos] = byte(b)
			x := uint64(0)
			for k := 7; k >= 0; k-- {
				x = x<<8 | uint64(w[k])
			}
			if got, want := hasDigit(x), isDigit(byte(b)); got != want {
				t.Fatalf("hasDigit byte %#x at %d = %v, want %v", b, pos, got, want)
			}
		}
	}
	// Neighbouring bytes at the range edges must not produce borrows that
	// look like a digit.
	for _, s := range []string{"////////", "::::::::", "\xff\xff\xff\xff\xff\xff\xff\xff", "\x00\x00\x00\x00\x00\x00\x00\x00", "/:/:/:/:"} {
		x := uint64(0)
		for k := 7; k >= 0; k-- {
			x = x<<8 | uint64(s[k])
		}
		if hasDigit(x) {
			t.Errorf("hasDigit(%q) = true", s)
		}
	}
}

// TestContextProximity pins cases where the nearest word decides: the
// word right before a value describes it; words after count only when
// none stands before; ties go to the detector with the nearer word.
func TestContextProximity(t *testing.T) {
	tests := []struct {
		text string
		want []string // detectors, in order
	}{
		{"Order number: 4929 3813 3266 4295\nPaid with: Visa ending in 4242", nil},
		{"SSN 758-48-4357\nBank routing (ABA): 119463415", []string{"us_ssn", "aba_routing"}},
		{"ask your provider or call 2065555080", nil},
		{"your SSN below. order 695496559", nil},
		{"Soc. Sec. No. 109959053", []string{"us_ssn"}},
		{"4111 1111 1111 1111 was the card used", []string{"credit_card"}},
		{"Visa 4929 3813 3266 4295, order placed", []string{"credit_card"}},
	}
	for _, tt := range tests {
		var got []string
		for _, f := range Scan([]byte(tt.text), Options{}) {
			got = append(got, f.Detector)
		}
		if strings.Join(got, ",") != strings.Join(tt.want, ",") {
			t.Errorf("Scan(%q) = %v; want %v", tt.text, got, tt.want)
		}
	}
}
