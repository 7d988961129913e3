package envelope

import (
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/base64"
	"html"
	"io"
	"regexp"
	"strings"
	"testing"
)

func hostileRequest(t testing.TB) Request {
	req := testRequest(attachmentMessage(t, 4096))
	req.Display = Display{
		From:    `Zoë Müller <script>alert(1)</script> <zoe@example.org>`,
		To:      `"Bob & Co" <bob@partner.example>, 山田太郎 <yamada@example.jp>`,
		Cc:      strings.Repeat("carol.longname@partner.example, ", 200),
		Subject: `<img src=x onerror=alert(2)> 会議の議事録 "quoted" 'single'` + strings.Repeat("x", 3000),
		Date:    "Mon, 23 Nov 2026 15:39:59 +0000",
	}
	req.Recipients = []string{"bob@partner.example", "<b>eve</b>@partner.example", "yamada@例え.jp"}
	return req
}

func TestSecuredocPage(t *testing.T) {
	opt := testOptions()
	opt.OrgName = "Example Health & Ünïversity <Hospital>"
	req := hostileRequest(t)
	s := sealOK(t, req, opt)
	n := parseNotification(t, s)
	page := string(n.page)

	t.Run("ascii and short lines", func(t *testing.T) {
		for i, c := range n.page {
			if c >= 0x80 {
				t.Fatalf("non-ASCII byte %#x at offset %d", c, i)
			}
			if c < 0x20 && c != '\r' && c != '\n' {
				t.Fatalf("control byte %#x at offset %d", c, i)
			}
		}
		for i, line := range strings.Split(page, "\n") {
			if len(line) >= maxLine {
				t.Fatalf("line %d is %d octets", i+1, len(line))
			}
		}
	})

	t.Run("envelope id", func(t *testing.T) {
		if !strings.Contains(page, `data-envelope="`+req.ID+`"`) {
			t.Error("no data-envelope attribute with the id")
		}
		if !strings.Contains(page, `<input type="hidden" name="envelope" value="`+req.ID+`">`) {
			t.Error("no hidden envelope input with the id")
		}
	})

	t.Run("open online form", func(t *testing.T) {
		form := regexp.MustCompile(`<form id="open-online" method="post" action="([^"]*)" enctype="multipart/form-data">`).FindStringSubmatch(page)
		if form == nil || form[1] != opt.PublicURL+"/open" {
			t.Fatalf("form = %q, want action %s/open", form, opt.PublicURL)
		}
		if !regexp.MustCompile(`(?s)<form id="open-online".*<textarea id="payload" name="payload" hidden readonly>.*</textarea>.*<button type="submit">Open Online</button>.*</form>`).MatchString(page) {
			t.Error("form does not hold the payload textarea and the Open Online button")
		}
		// The decryptor's own code names the armour line too: count outside it.
		noScript := regexp.MustCompile(`(?s)<script[^>]*>.*?</script>`).ReplaceAllString(page, "")
		if c := strings.Count(noScript, "-----BEGIN PGP MESSAGE-----"); c != 1 {
			t.Errorf("payload appears %d times, want once", c)
		}
	})

	t.Run("content security policy", func(t *testing.T) {
		m := regexp.MustCompile(`<meta http-equiv="Content-Security-Policy" content="([^"]*)">`).FindStringSubmatch(page)
		if m == nil {
			t.Fatal("no CSP meta")
		}
		csp := html.UnescapeString(m[1])
		style := regexp.MustCompile(`(?s)<style>(.*?)</style>`).FindAllStringSubmatch(page, -1)
		if len(style) != 1 {
			t.Fatalf("%d style blocks, want 1", len(style))
		}
		// Browsers hash an element's text after turning CRLF into LF.
		hash := func(s string) string {
			sum := sha256.Sum256([]byte(strings.ReplaceAll(s, "\r\n", "\n")))
			return "'sha256-" + base64.StdEncoding.EncodeToString(sum[:]) + "'"
		}
		scripts := regexp.MustCompile(`(?s)<script([^>]*)>(.*?)</script>`).FindAllStringSubmatch(page, -1)
		var code []string
		for _, sc := range scripts {
			if !strings.Contains(sc[1], `type=`) {
				code = append(code, sc[2])
			}
		}
		if len(code) != 1 {
			t.Fatalf("%d executable script elements, want 1", len(code))
		}
		if code[0] != linkedLoaderJS {
			t.Error("the page's script is not the linked decryptor's loader")
		}
		a := LinkedDecryptor()
		loader := regexp.MustCompile(`<script id="postseal-loader"\s+data-src="([^"]*)"\s+data-integrity="([^"]*)"`).FindStringSubmatch(page)
		if loader == nil || loader[1] != opt.PublicURL+a.Path || loader[2] != a.Integrity {
			t.Errorf("loader attributes %q; want src %s and integrity %s", loader, opt.PublicURL+a.Path, a.Integrity)
		}
		sum := sha512.Sum384([]byte(decryptorJS))
		if a.Integrity != "sha384-"+base64.StdEncoding.EncodeToString(sum[:]) || !strings.Contains(a.Path, base64.RawURLEncoding.EncodeToString(sum[:])) {
			t.Errorf("decryptor %s, %s: not named by its SHA-384", a.Path, a.Integrity)
		}
		if strings.Contains(page, "postseal-decryptor") {
			t.Error("a linked page carries the decryptor too")
		}
		for _, want := range []string{
			"default-src 'none';",
			"script-src " + hash(code[0]) + " " + opt.PublicURL + a.Path + " 'wasm-unsafe-eval';",
			"style-src " + hash(style[0][1]) + ";",
			"connect-src https://keys.example.org;",
			"img-src data: blob: https: http:;",
			"form-action https://keys.example.org;",
			"base-uri 'none'",
		} {
			if !strings.Contains(csp, want) {
				t.Errorf("CSP %q lacks %q", csp, want)
			}
		}
		if strings.Contains(csp, "unsafe-inline") || strings.Contains(csp, "'unsafe-eval'") || strings.Contains(csp, "*") {
			t.Errorf("CSP %q allows more than it should", csp)
		}
	})

	t.Run("escaping", func(t *testing.T) {
		for _, bad := range []string{"<script>alert(1)", "<img src=x", "<b>eve</b>", "<Hospital>"} {
			if strings.Contains(page, bad) {
				t.Errorf("page contains unescaped %q", bad)
			}
		}
		flat := strings.NewReplacer("<wbr\r\n>", "", "\r\n", " ").Replace(page)
		for _, want := range []string{
			"Zo&#235; M&#252;ller &lt;script&gt;alert(1)&lt;/script&gt;",
			"&#34;Bob &amp; Co&#34;",
			"&#23665;&#30000;&#22826;&#37070;",                 // 山田太郎
			"&#20250;&#35696;&#12398;&#35696;&#20107;&#37682;", // 会議の議事録
			"&lt;img src=x onerror=alert(2)&gt;",
			"Example Health &amp; &#220;n&#239;versity &lt;Hospital&gt;",
			"<li>&lt;b&gt;eve&lt;/b&gt;@partner.example</li>",
			"yamada@&#20363;&#12360;.jp",
			strings.Repeat("x", 3000),
		} {
			if !strings.Contains(flat, want) {
				t.Errorf("page lacks %q", want)
			}
		}
	})

	t.Run("header and instructions", func(t *testing.T) {
		for _, want := range []string{
			`<td id="h-date">Mon, 23 Nov 2026 15:39:59 +0000</td>`,
			"This is a secure message from Example Health &amp;",
			"To read it, open this file in a web browser.",
			"The subject line is visible to the mail servers",
			`<a href="https://example.org/help/secure-mail"`,
			"Support: Service desk +1 555 0100, help@example.org",
		} {
			if !strings.Contains(page, want) {
				t.Errorf("page lacks %q", want)
			}
		}
	})
}

func TestSecrets(t *testing.T) {
	for _, prof := range []string{ProfileRFC4880, ProfileRFC9580} {
		opt := testOptions()
		opt.Profile = prof
		s := sealOK(t, testRequest(attachmentMessage(t, 8192)), opt)
		whole := wholeMessage(s)
		for _, secret := range []string{secretFileName, secretSentence, "Lorem ipsum", "*secure*"} {
			if bytes.Contains(whole, []byte(secret)) {
				t.Errorf("%s: sealed message contains %q", prof, secret)
			}
		}
	}
}

func TestNotificationStructure(t *testing.T) {
	opt := testOptions()
	req := testRequest(textMessage())
	s := sealOK(t, req, opt)

	wantHeader := []Field{{"MIME-Version", "1.0"}, {"Content-Type", ""}, {"X-Postseal-Envelope", ""}}
	if len(s.Header) != len(wantHeader) {
		t.Fatalf("Header = %v", s.Header)
	}
	for i, f := range s.Header {
		if f.Name != wantHeader[i].Name {
			t.Errorf("Header[%d] = %q, want %q", i, f.Name, wantHeader[i].Name)
		}
		if strings.ContainsAny(f.Value, "\r\n") || strings.HasPrefix(f.Value, " ") {
			t.Errorf("Header[%d] value %q is folded or has a leading space", i, f.Value)
		}
	}
	if !regexp.MustCompile(`^multipart/mixed; boundary="postseal-[0-9a-f]{32}"$`).MatchString(s.Header[1].Value) {
		t.Errorf("Content-Type %q", s.Header[1].Value)
	}
	if s.Header[2].Value != req.ID {
		t.Errorf("X-Postseal-Envelope %q", s.Header[2].Value)
	}

	t.Run("CRLF only", func(t *testing.T) {
		body := s.Body
		if bytes.Count(body, []byte("\n")) != bytes.Count(body, []byte("\r\n")) || bytes.Count(body, []byte("\r")) != bytes.Count(body, []byte("\r\n")) {
			t.Fatal("body has a bare CR or LF")
		}
		for i, line := range bytes.Split(body, []byte("\r\n")) {
			if len(line) >= maxLine {
				t.Fatalf("body line %d is %d octets", i+1, len(line))
			}
		}
	})

	n := parseNotification(t, s)
	t.Run("parts", func(t *testing.T) {
		if n.attName != "securedoc_20261123T153959.html" || s.AttachmentName != n.attName {
			t.Errorf("attachment name %q (Sealed says %q)", n.attName, s.AttachmentName)
		}
		if n.attType != "text/html" || n.attParams["charset"] != "us-ascii" || n.attParams["name"] != n.attName {
			t.Errorf("attachment type %q %v", n.attType, n.attParams)
		}
		if n.attDisposion != "attachment" || n.attCTE != "7bit" {
			t.Errorf("attachment disposition %q, CTE %q", n.attDisposion, n.attCTE)
		}
		if !bytes.HasPrefix(n.page, []byte("<!DOCTYPE html>")) || !bytes.HasSuffix(n.page, []byte("</html>")) {
			t.Error("attachment is not the securedoc page")
		}
		if _, _, err := decrypt(payloadOf(t, n.page), []byte(Passphrase(s.Key)), nil); err != nil {
			t.Errorf("attachment payload does not decrypt: %v", err)
		}
	})

	t.Run("alternative order", func(t *testing.T) {
		body := string(s.Body)
		iPlain := strings.Index(body, "Content-Type: text/plain; charset=utf-8")
		iHTML := strings.Index(body, "Content-Type: text/html; charset=utf-8")
		iAlt := strings.Index(body, "Content-Type: multipart/alternative;")
		iAtt := strings.Index(body, "Content-Type: text/html; charset=us-ascii")
		if !(iAlt >= 0 && iAlt < iPlain && iPlain < iHTML && iHTML < iAtt) {
			t.Errorf("part order: alternative %d, plain %d, html %d, attachment %d", iAlt, iPlain, iHTML, iAtt)
		}
	})

	t.Run("text", func(t *testing.T) {
		flat := strings.Join(strings.Fields(n.text), " ")
		for _, want := range []string{
			"You have received a secure message from Example Health.",
			"Open the attachment securedoc_20261123T153959.html in a web browser to read it.",
			"press Register on the page that opens",
			"register at https://keys.example.org/register",
			"For best results, save the file first, then open it.",
			"If you have concerns about the validity of this message, contact the sender directly.",
			"Help: https://example.org/help/secure-mail",
			"Support: Service desk +1 555 0100, help@example.org",
			"The subject line of this message is not encrypted.",
		} {
			if !strings.Contains(flat, want) {
				t.Errorf("text part lacks %q:\n%s", want, n.text)
			}
		}
	})

	t.Run("html", func(t *testing.T) {
		flat := strings.Join(strings.Fields(n.html), " ")
		for _, want := range []string{
			"You have received a secure message from Example Health.",
			"Open the attachment securedoc_20261123T153959.html in a web browser",
			`<a href="https://keys.example.org/register">`,
			"For best results, save the file first, then open it.",
			"If you have concerns about the validity of this message, contact the sender directly.",
			"The subject line of this message is not encrypted.",
		} {
			if !strings.Contains(flat, want) {
				t.Errorf("html part lacks %q:\n%s", want, n.html)
			}
		}
	})
}

func TestNotificationEscapesOrg(t *testing.T) {
	opt := testOptions()
	opt.OrgName = "Zoë <b>Clinic</b>"
	s := sealOK(t, testRequest(textMessage()), opt)
	n := parseNotification(t, s)
	if !strings.Contains(n.text, "from Zoë <b>Clinic</b>.") {
		t.Errorf("text part: %q", n.text)
	}
	if strings.Contains(n.html, "<b>Clinic") || !strings.Contains(n.html, "Zoë &lt;b&gt;Clinic&lt;/b&gt;") {
		t.Errorf("html part not escaped: %q", n.html)
	}
}

func TestDisplayHTML(t *testing.T) {
	tests := []struct{ in, want string }{
		{"plain", "plain"},
		{"a<b>&\"'", "a&lt;b&gt;&amp;&#34;&#39;"},
		{"Zoë", "Zo&#235;"},
		{"tab\there\r\nnew", "tab here  new"},
		{"bad\xffutf8", "bad&#65533;utf8"},
		{"😀", "&#128512;"},
	}
	for _, tt := range tests {
		if got := string(displayHTML(tt.in)); got != tt.want {
			t.Errorf("displayHTML(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
	long := string(displayHTML(strings.Repeat("ü", 500) + " " + strings.Repeat("word ", 100)))
	for _, line := range strings.Split(long, "\n") {
		if len(line) > hardWrap+len("<wbr") {
			t.Errorf("line of %d octets: %q", len(line), line)
		}
	}
	if got := strings.ReplaceAll(long, "<wbr\n>", ""); strings.Count(got, "&#252;") != 500 {
		t.Error("wrapping lost characters")
	}
}

// TestSecuredocEmbedded: the pages that must open without the key service
// carry the whole decryptor and allow nothing from the network to run.
func TestSecuredocEmbedded(t *testing.T) {
	embedded := testOptions()
	embedded.Decryptor = DecryptorEmbedded
	password := testRequest(textMessage())
	password.Password = []byte("shared partner password")
	noService := testOptions()
	noService.PublicURL = ""
	for _, c := range []struct {
		name string
		req  Request
		opt  Options
	}{
		{"option", testRequest(textMessage()), embedded},
		{"shared password", password, testOptions()},
		{"no key service", testRequest(textMessage()), noService},
	} {
		t.Run(c.name, func(t *testing.T) {
			page := string(parseNotification(t, sealOK(t, c.req, c.opt)).page)
			if !strings.Contains(page, "<script>"+loaderJS+"</script>") || unpackDecryptor(t, page) != decryptorJS {
				t.Error("page does not carry the loader and the packed decryptor")
			}
			if strings.Contains(page, "postseal-loader") || strings.Contains(page, DecryptorPathPrefix) {
				t.Error("an embedded page loads a decryptor from the key service")
			}
			csp := html.UnescapeString(regexp.MustCompile(`<meta http-equiv="Content-Security-Policy" content="([^"]*)">`).FindStringSubmatch(page)[1])
			if !strings.Contains(csp, "script-src "+loaderHash+" blob: 'wasm-unsafe-eval';") {
				t.Errorf("CSP %q; want only the loader and blob: scripts", csp)
			}
		})
	}
}

// TestSecuredocSize: a short message makes a short page when the
// decryptor is linked; embedded, the decryptor is most of the page.
func TestSecuredocSize(t *testing.T) {
	msg := textMessage()
	linked := len(parseNotification(t, sealOK(t, testRequest(msg), testOptions())).page)
	opt := testOptions()
	opt.Decryptor = DecryptorEmbedded
	embedded := len(parseNotification(t, sealOK(t, testRequest(msg), opt)).page)
	if linked > 24_000 {
		t.Errorf("linked page for a %d-byte message is %d bytes; want ≤ 24,000", len(msg), linked)
	}
	// The two differ by the packed decryptor, less the linked loader.
	if embedded-linked < len(decryptorPacked())-4096 {
		t.Errorf("embedded page %d bytes, linked %d, packed decryptor %d: the embedded page lacks it", embedded, linked, len(decryptorPacked()))
	}
}

func TestParseDecryptor(t *testing.T) {
	for in, want := range map[string]Decryptor{"": DecryptorLinked, "linked": DecryptorLinked, "embedded": DecryptorEmbedded} {
		if got, err := ParseDecryptor(in); err != nil || got != want {
			t.Errorf("ParseDecryptor(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	if _, err := ParseDecryptor("inline"); err == nil || !strings.Contains(err.Error(), `"inline"`) {
		t.Errorf("ParseDecryptor(inline) error %v; want one naming the value", err)
	}
}

// unpackDecryptor does what the page's loader does: base64, gunzip.
func unpackDecryptor(t *testing.T, page string) string {
	t.Helper()
	m := regexp.MustCompile(`(?s)<script type="text/plain" id="postseal-decryptor">(.*?)</script>`).FindStringSubmatch(page)
	if m == nil {
		t.Fatal("no packed decryptor in the page")
	}
	z, err := base64.StdEncoding.DecodeString(strings.Join(strings.Fields(m[1]), ""))
	if err != nil {
		t.Fatalf("packed decryptor: %v", err)
	}
	r, err := gzip.NewReader(bytes.NewReader(z))
	if err != nil {
		t.Fatalf("packed decryptor: %v", err)
	}
	js, err := io.ReadAll(r)
	if err != nil {
		t.Fatalf("packed decryptor: %v", err)
	}
	return string(js)
}
