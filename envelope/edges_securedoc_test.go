package envelope

import (
	"bytes"
	"fmt"
	"strings"
	"testing"
)

// linkedPage seals a short message with the organisation name org and
// returns the securedoc page (the decryptor linked, the default).
func linkedPage(t *testing.T, org string) string {
	t.Helper()
	opt := testOptions()
	opt.OrgName = org
	return string(parseNotification(t, sealOK(t, testRequest(textMessage()), opt)).page)
}

// TestLinkedPageNamesOrg: the loader's message for an unreachable key
// service names the organisation, "the sender" when there is none, and a
// name of more than 120 characters is cut there, as in the page's title.
func TestLinkedPageNamesOrg(t *testing.T) {
	down := func(org string) string {
		return `data-down="The key service of ` + org + ` at https://keys.example.org cannot be reached`
	}
	e := strings.Repeat
	for _, c := range []struct{ org, shown, title string }{
		{"", "the sender", ""},
		{"ACME Clinic", "ACME Clinic", "ACME Clinic"},
		// 120 characters in 121 octets: not cut.
		{"é" + e("x", 119), "&#233;" + e("x", 119), "&#233;" + e("x", 119)},
		{e("x", 121), e("x", 120) + "...", e("x", 120) + "..."},
	} {
		page := linkedPage(t, c.org)
		if !strings.Contains(page, down(c.shown)) {
			t.Errorf("org %.20q: page lacks %.80q", c.org, down(c.shown))
		}
		if want := "<title>Secure message from " + c.title + "</title>"; !strings.Contains(page, want) {
			t.Errorf("org %.20q: page lacks %.80q", c.org, want)
		}
	}
}

// TestPageNonceCharacters: a nonce of base64 characters (the ends of each
// range included) up to 128 characters long is put on the elements; one
// character more, or any other character, is refused.
func TestPageNonceCharacters(t *testing.T) {
	for _, nonce := range []string{"azAZ09+/=-_", strings.Repeat("a", 128)} {
		page := openPage(t, OpenPage{EnvelopeID: "abc", PublicURL: "https://keys.example.org", Nonce: nonce})
		if !strings.Contains(page, `<script nonce="`+nonce+`">`) {
			t.Errorf("nonce %q not on the script element", nonce)
		}
	}
	for _, nonce := range []string{strings.Repeat("a", 129), "a b", "a.b", "a@b", "a[b", "a`b", "a{b", "a:b"} {
		if err := WriteOpenPage(&bytes.Buffer{}, OpenPage{EnvelopeID: "abc", PublicURL: "https://keys.example.org", Nonce: nonce}); err == nil {
			t.Errorf("nonce %q accepted", nonce)
		}
	}
}

// TestPageWriteFailsAtTheEnd: a write that fails on the page's last part
// (after the payload) is an error too.
func TestPageWriteFailsAtTheEnd(t *testing.T) {
	p := OpenPage{EnvelopeID: "abc", PublicURL: "https://keys.example.org", Payload: "-----BEGIN PGP MESSAGE-----"}
	page := openPage(t, p)
	err := WriteOpenPage(&failAfter{n: len(page) - 1}, p)
	if err == nil || err.Error() != "connection cut" {
		t.Errorf("the last write failed: %v; want its error", err)
	}
}

// TestKeyServiceSchemes: the key service's URL may be http or https, and
// nothing else.
func TestKeyServiceSchemes(t *testing.T) {
	for _, u := range []string{"http://keys.example.org", "https://keys.example.org"} {
		page := openPage(t, OpenPage{EnvelopeID: "abc", PublicURL: u})
		if !strings.Contains(page, `data-key-service="`+u+`"`) {
			t.Errorf("%s: page lacks the key service's origin", u)
		}
	}
	for _, u := range []string{"ftp://keys.example.org", "file://keys.example.org", "keys.example.org", "https://"} {
		if err := WriteOpenPage(&bytes.Buffer{}, OpenPage{EnvelopeID: "abc", PublicURL: u}); err == nil {
			t.Errorf("%s accepted", u)
		}
	}
}

// TestDisplayHTMLWrapEdges: a space once a line has 72 characters breaks
// it; a word breaks inside only past 160 characters; C1 controls become
// spaces, but not the no-break space after them.
func TestDisplayHTMLWrapEdges(t *testing.T) {
	x := strings.Repeat
	for _, tt := range []struct{ in, want string }{
		{x("x", 71) + " y", x("x", 71) + " y"},
		{x("x", 72) + " y", x("x", 72) + "\ny"},
		{x("x", 160), x("x", 160)},
		{x("x", 161), x("x", 160) + "<wbr\n>x"},
		{x("x", 155) + "é", x("x", 155) + "<wbr\n>&#233;"},
		{x("x", 154) + "é", x("x", 154) + "&#233;"},
		{"a\u0080b\u009fc", "a b c"},
		{"a\u00a0b", "a&#160;b"},
		{"a\u007fb\u2028c\u2029d\x1fe", "a b c d e"},
	} {
		if got := string(displayHTML(tt.in)); got != tt.want {
			t.Errorf("displayHTML(%.30q…) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestASCIIOnly(t *testing.T) {
	for in, want := range map[string]string{
		"":                  "",
		"plain":             "plain",
		"é":                 "&#233;",
		"\u0080":            "&#128;",
		"\u007f":            "\u007f",
		"éa":                "&#233;a",
		"aé":                "a&#233;",
		"é\u0080b":          "&#233;&#128;b",
		"Zoë 😀 <b>":         "Zo&#235; &#128512; <b>",
		"\xff":              "&#65533;",
		"long ascii text é": "long ascii text &#233;",
	} {
		if got := asciiOnly(in); got != want {
			t.Errorf("asciiOnly(%q) = %q, want %q", in, got, want)
		}
	}
}

// TestPageLineLimit: a key service URL long enough to make a line of the
// page 998 octets long is refused, naming that line; one octet shorter
// is accepted.
func TestPageLineLimit(t *testing.T) {
	page := func(n int) (string, error) {
		var b bytes.Buffer
		err := WriteOpenPage(&b, OpenPage{EnvelopeID: "abc", PublicURL: "https://keys.example.org/" + strings.Repeat("p", n)})
		return b.String(), err
	}
	// The longest of the lines that hold the URL (the packed decryptor's
	// lines are long too, but fixed).
	longest := func(s string) (line, n int) {
		for i, l := range strings.Split(s, "\n") {
			if len(l) > n && strings.Contains(l, "/ppp") {
				line, n = i+1, len(l)
			}
		}
		return line, n
	}
	p, err := page(800)
	if err != nil {
		t.Fatal(err)
	}
	line, n := longest(p)
	pad := 997 - n + 800 // the URL length that makes the longest line 997 octets
	if p, err = page(pad); err != nil {
		t.Fatalf("a page whose longest line is 997 octets: %v", err)
	}
	if l, n := longest(p); l != line || n != 997 {
		t.Fatalf("longest line %d is %d octets; want line %d of 997", l, n, line)
	}
	_, err = page(pad + 1)
	if want := fmt.Sprintf("open page: securedoc page: line %d is 998 octets long (max 997)", line); err == nil || err.Error() != want {
		t.Errorf("a line of 998 octets: error %v; want %q", err, want)
	}
}
