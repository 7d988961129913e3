package policy

import (
	"bytes"
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/ProtonMail/go-crypto/openpgp"
	"github.com/ProtonMail/go-crypto/openpgp/armor"
	"github.com/ProtonMail/go-crypto/openpgp/packet"
	"github.com/postseal/postseal/config"
	"github.com/postseal/postseal/scanner"
)

func writeFile(t *testing.T, name string, data []byte) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, data, 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// recoveryKey is a fresh public key, binary and armoured.
func recoveryKey(t *testing.T) (bin, armored []byte) {
	t.Helper()
	e, err := openpgp.NewEntity("Recovery", "", "recovery@example.org", &packet.Config{Algorithm: packet.PubKeyAlgoEdDSA})
	if err != nil {
		t.Fatal(err)
	}
	var b bytes.Buffer
	if err := e.Serialize(&b); err != nil {
		t.Fatal(err)
	}
	var a bytes.Buffer
	w, err := armor.Encode(&a, openpgp.PublicKeyType, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w.Write(b.Bytes()); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return b.Bytes(), a.Bytes()
}

// The recovery key is read armoured or binary; a file that holds no key
// is a load error naming the setting and the file.
func TestLoadRecoveryKey(t *testing.T) {
	bin, armored := recoveryKey(t)
	for name, data := range map[string][]byte{"recovery.asc": armored, "recovery.gpg": bin} {
		cfg := config.Default()
		cfg.Envelope.RecoveryKey = writeFile(t, name, data)
		p, err := Load(cfg)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if len(p.Envelope.RecoveryKey) != 1 || p.Envelope.RecoveryKey[0].PrimaryKey == nil {
			t.Errorf("%s: %d keys loaded; want 1", name, len(p.Envelope.RecoveryKey))
		}
	}
	for name, data := range map[string][]byte{"junk.asc": []byte("not a key\n"), "empty.gpg": nil} {
		cfg := config.Default()
		cfg.Envelope.RecoveryKey = writeFile(t, name, data)
		if _, err := Load(cfg); err == nil || !strings.Contains(err.Error(), "envelope.recovery_key "+cfg.Envelope.RecoveryKey) {
			t.Errorf("%s: %v; want an envelope.recovery_key error naming the file", name, err)
		}
	}
	cfg := config.Default()
	cfg.Envelope.RecoveryKey = filepath.Join(t.TempDir(), "missing.asc")
	if _, err := Load(cfg); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("missing recovery key: %v", err)
	}
}

// The logo and the notification templates are read at load: a broken one
// fails the load, naming its setting; a good one reaches the envelope
// options. Without them the shipped ones apply (nil here).
func TestLoadLogoAndTemplates(t *testing.T) {
	p, err := Load(config.Default())
	if err != nil {
		t.Fatal(err)
	}
	if p.Envelope.Logo != nil || p.Envelope.Templates != nil || p.Envelope.RecoveryKey != nil {
		t.Errorf("defaults: logo %v templates %v recovery %v; want none", p.Envelope.Logo, p.Envelope.Templates, p.Envelope.RecoveryKey)
	}

	png := []byte("\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06\x00\x00\x00\x1f\x15\xc4\x89")
	cfg := config.Default()
	cfg.Organization.Logo = writeFile(t, "logo.png", png)
	if p, err := Load(cfg); err != nil || p.Envelope.Logo == nil || p.Envelope.Logo.Type != "image/png" {
		t.Errorf("PNG logo: %v %+v", err, p)
	}
	cfg.Organization.Logo = writeFile(t, "logo.svg", []byte("<svg xmlns='http://www.w3.org/2000/svg'/>"))
	if _, err := Load(cfg); err == nil || !strings.HasPrefix(err.Error(), "organization.logo: ") {
		t.Errorf("SVG logo: %v; want an organization.logo error", err)
	}

	cfg = config.Default()
	cfg.Envelope.TemplateDir = filepath.Dir(writeFile(t, "notification.txt", []byte("From {{.Org}}: open {{.Attachment}}\n")))
	if p, err := Load(cfg); err != nil || p.Envelope.Templates == nil {
		t.Errorf("template dir: %v", err)
	}
	cfg.Envelope.TemplateDir = filepath.Dir(writeFile(t, "notification.txt", []byte("From {{.Org\n")))
	if _, err := Load(cfg); err == nil || !strings.HasPrefix(err.Error(), "envelope.template_dir: ") {
		t.Errorf("broken template: %v; want an envelope.template_dir error", err)
	}
}

// The admin's pattern and keyword rules are compiled at load, keyword files
// read then; each kind works on its own, and a missing or bad file or
// pattern is a load error.
func TestLoadScanRules(t *testing.T) {
	msg := "From: doc@example.org\r\nTo: pat@ext.example\r\nSubject: order\r\n\r\nOrder ORD-123456 for the oncology ward.\r\n"
	rules := func(cfg *config.Config) []string {
		t.Helper()
		p, err := Load(cfg)
		if err != nil {
			t.Fatal(err)
		}
		var out []string
		rep := p.Scan(context.Background(), strings.NewReader(msg))
		for _, c := range rep.Counts() {
			out = append(out, c.Rule)
		}
		return out
	}
	cfg := config.Default()
	if got := rules(cfg); len(got) != 0 {
		t.Errorf("no admin rules: %v", got)
	}
	cfg.Scanner.Patterns = []config.ScannerPattern{{Name: "order", Regex: `ORD-[0-9]{6}`, MinCount: 1}}
	if got := rules(cfg); strings.Join(got, ",") != "order" {
		t.Errorf("pattern only: %v; want order", got)
	}
	cfg = config.Default()
	cfg.Scanner.Keywords = []config.ScannerWords{{Name: "wards", File: writeFile(t, "wards.txt", []byte("# wards\noncology\n")), MinCount: 1}}
	if got := rules(cfg); strings.Join(got, ",") != "wards" {
		t.Errorf("keyword file only: %v; want wards", got)
	}
	cfg.Scanner.Keywords[0].File = ""
	cfg.Scanner.Keywords[0].Words = []string{"oncology"}
	if got := rules(cfg); strings.Join(got, ",") != "wards" {
		t.Errorf("inline keywords: %v; want wards", got)
	}

	for name, sc := range map[string]config.Scanner{
		`scanner.keywords "wards": `: {Keywords: []config.ScannerWords{{Name: "wards", File: filepath.Join(t.TempDir(), "missing.txt")}}},
		`scanner.keywords "long": `:  {Keywords: []config.ScannerWords{{Name: "long", File: writeFile(t, "long.txt", bytes.Repeat([]byte("x"), 70<<10))}}},
		"scanner: ":                  {Patterns: []config.ScannerPattern{{Name: "bad", Regex: "(", MinCount: 1}}},
	} {
		cfg := config.Default()
		cfg.Scanner.Patterns, cfg.Scanner.Keywords = sc.Patterns, sc.Keywords
		if _, err := Load(cfg); err == nil || !strings.HasPrefix(err.Error(), name) {
			t.Errorf("Load = %v; want an error starting %q", err, name)
		}
	}
}

// failingReader gives part of a message, then a read error: a spool that
// cannot be read back.
type failingReader struct{ data *strings.Reader }

func (f failingReader) Read(b []byte) (int, error) {
	if f.data.Len() == 0 {
		return 0, errors.New("spool: input/output error")
	}
	return f.data.Read(b)
}

// Scan reports findings, what it could not read, and whether it was cut
// short by something that is not the message (a read error).
func TestPolicyScan(t *testing.T) {
	p, err := Load(config.Default())
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	ssn := "From: doc@example.org\r\nSubject: claim\r\n\r\nThe patient's SSN: 536-22-1234 for the claim.\r\n"
	rep := p.Scan(ctx, strings.NewReader(ssn))
	if len(rep.Findings) != 1 || rep.Findings[0].Detector != "us_ssn" || rep.Interrupted || rep.unreadable() {
		t.Errorf("SSN message: %+v", rep)
	}
	rep = p.Scan(ctx, strings.NewReader("From: doc@example.org\r\nSubject: hello\r\n\r\nNothing here.\r\n"))
	if rep.Findings == nil || len(rep.Findings) != 0 || rep.Interrupted || rep.unreadable() {
		t.Errorf("clean message: %+v; want an empty (not nil) list, complete", rep)
	}
	rep = p.Scan(ctx, failingReader{strings.NewReader("From: doc@example.org\r\nSubject: hello\r\n\r\nNothing")})
	if !rep.Interrupted {
		t.Errorf("read error: %+v; want interrupted", rep)
	}
	rep = p.Scan(ctx, strings.NewReader("this is no header\r\n"))
	if rep.Findings == nil || len(rep.Unreadable) != 1 || rep.Unreadable[0].Reason != "unparseable message header" || rep.Interrupted {
		t.Errorf("unparseable message: %+v", rep)
	}
	rep = p.Scan(ctx, failingReader{strings.NewReader("")})
	if len(rep.Unreadable) != 1 || !rep.Interrupted {
		t.Errorf("unreadable spool: %+v; want unparseable and interrupted", rep)
	}
}

// Counts groups findings by rule in name order, with at most three samples.
func TestCounts(t *testing.T) {
	var rep ScanReport
	for i := range 4 {
		rep.Findings = append(rep.Findings, scanner.Finding{Detector: "us_ssn", Masked: "***-**-" + string(rune('0'+i))})
	}
	rep.Findings = append(rep.Findings, scanner.Finding{Detector: "credit_card", Masked: "****1111"})
	got := rep.Counts()
	if len(got) != 2 || got[0].Rule != "credit_card" || got[0].Count != 1 || got[1].Rule != "us_ssn" || got[1].Count != 4 {
		t.Fatalf("Counts = %+v", got)
	}
	if strings.Join(got[1].Samples, " ") != "***-**-0 ***-**-1 ***-**-2" {
		t.Errorf("samples %q; want the first three", got[1].Samples)
	}
	if d := describeFindings(rep); d != "a payment card number, 4 × Social Security number" {
		t.Errorf("describeFindings = %q", d)
	}
}

func TestFindingTitle(t *testing.T) {
	for _, c := range []struct {
		rule string
		n    int
		want string
	}{
		{"us_ssn", 1, "a Social Security number"},
		{"us_ssn", 2, "2 × Social Security number"},
		{"iban", 1, "an IBAN (bank account number)"},
		{"order", 1, `matches of rule "order"`},
		{"order", 5, `matches of rule "order"`},
	} {
		if got := findingTitle(c.rule, c.n); got != c.want {
			t.Errorf("findingTitle(%s, %d) = %q; want %q", c.rule, c.n, got, c.want)
		}
	}
}

// Sizes in refusals, at each unit's edge.
func TestHumanSize(t *testing.T) {
	for n, want := range map[int64]string{
		0: "0 bytes", 999: "999 bytes", 1000: "1.0 kB", 1500: "1.5 kB", 999_999: "1000.0 kB",
		1_000_000: "1.0 MB", 10_000_001: "10.0 MB", 25_500_000: "25.5 MB",
	} {
		if got := humanSize(n); got != want {
			t.Errorf("humanSize(%d) = %q; want %q", n, got, want)
		}
	}
}

// The size of a header as received: each field's name, colon, value and
// CRLF, and the blank line.
func TestHeaderSize(t *testing.T) {
	h := Header{{Name: "Subject", Value: " x"}, {Name: "To", Value: " a@b"}}
	if got, want := h.Size(), int64(len("Subject: x\r\nTo: a@b\r\n\r\n")); got != want {
		t.Errorf("Size = %d; want %d", got, want)
	}
	if got := (Header{}).Size(); got != 2 {
		t.Errorf("empty header Size = %d; want 2", got)
	}
}

// ParseHeader keeps the fields as received, in order; a header that is not
// RFC 5322 is an error.
func TestParseHeader(t *testing.T) {
	h, err := ParseHeader([]byte("From: =?utf-8?q?J=C3=BCrgen?= <j@example.org>\r\nSubject: a\r\n folded\r\nTo: =?x-unknown?q?Pat?= <pat@ext.example>\r\n\r\nbody\r\n"))
	if err != nil {
		t.Fatal(err)
	}
	if len(h) != 3 || h[0].Name != "From" || h[1].Value != " a\r\n folded" || h.Get("subject") != "a folded" {
		t.Errorf("ParseHeader = %q", h)
	}
	d := h.Display()
	if d.From != "Jürgen <j@example.org>" || d.To != "=?x-unknown?q?Pat?= <pat@ext.example>" {
		t.Errorf("Display = %+v; want From decoded and the undecodable To as received", d)
	}
	if _, err := ParseHeader([]byte("no colon here\r\n\r\n")); err == nil || !strings.Contains(err.Error(), "not an RFC 5322 message") {
		t.Errorf("malformed header: %v", err)
	}
}

// Scan tells the scanner the size of a message whose reader knows it (the
// milter's original): a one-part body is then read into one buffer of that
// size, not one grown by doubling. The findings are the same.
func TestPolicyScanPassesSize(t *testing.T) {
	p, err := Load(config.Default())
	if err != nil {
		t.Fatal(err)
	}
	msg := "From: doc@example.org\r\nSubject: claim\r\n\r\n" + strings.Repeat("The patient was seen today.\r\n", 60_000) + "SSN 536-22-1234\r\n"
	scan := func(r io.Reader) (uint64, ScanReport) {
		runtime.GC()
		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		rep := p.Scan(context.Background(), r)
		runtime.ReadMemStats(&after)
		return after.TotalAlloc - before.TotalAlloc, rep
	}
	sized, a := scan(strings.NewReader(msg))
	plain, b := scan(io.MultiReader(strings.NewReader(msg)))
	if len(a.Findings) != 1 || len(b.Findings) != 1 {
		t.Fatalf("findings %+v and %+v; want the SSN in both", a.Findings, b.Findings)
	}
	if sized+uint64(len(msg)) > plain {
		t.Errorf("scanning a %d-byte message allocated %d bytes with its size known, %d without; want at least its size less", len(msg), sized, plain)
	}
}
