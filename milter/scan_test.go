package milter

import (
	"archive/zip"
	"bytes"
	"context"
	"encoding/base64"
	"errors"
	"hash/crc32"
	"io"
	"log/slog"
	"mime/quotedprintable"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/postseal/postseal/config"
	"github.com/postseal/postseal/policy"
	"github.com/postseal/postseal/scanner"
)

// noticeQueue records queued notices (the durable queue is tested in
// package mailer; here what the milter hands it is checked).
type noticeQueue struct {
	mu   sync.Mutex
	sent []sentMsg
}

func (q *noticeQueue) Enqueue(_ context.Context, from string, to []string, msg []byte) error {
	q.mu.Lock()
	defer q.mu.Unlock()
	q.sent = append(q.sent, sentMsg{from, to, msg})
	return nil
}

// scannerPolicy is the default rules with the content scanner on, edited
// by edit (if not nil).
func scannerPolicy(t *testing.T, edit func(*config.Scanner)) *policy.Policy {
	t.Helper()
	cfg := config.Default()
	cfg.Scanner.Enabled = true
	if edit != nil {
		edit(&cfg.Scanner)
	}
	p, err := policy.Load(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func scanningFilter(t *testing.T, edit func(*config.Scanner)) (*Filter, *memStore, *noticeQueue) {
	t.Helper()
	p := scannerPolicy(t, edit)
	st, q := newMemStore(), &noticeQueue{}
	f := New(p, st, &fakeSender{}, slog.New(slog.NewTextHandler(io.Discard, nil)), Config{SpoolDir: t.TempDir(), Notices: q})
	return f, st, q
}

func withBody(trx *Transaction, body string) *Transaction {
	trx.Body, trx.BodySize = strings.NewReader(body), int64(len(body))
	return trx
}

const ssnBody = "Hello,\r\n\r\nThe patient's SSN: 536-22-1234 for the claim.\r\n"

func TestScannerSealsSensitiveMail(t *testing.T) {
	f, st, q := scanningFilter(t, nil)
	trx := withBody(newTrx("Claim for Jane", "pat@ext.example"), ssnBody)
	if f.Triage(f.Policy(), trx).Action != policy.NeedBody {
		t.Fatal("untagged external mail was decided before its body was scanned")
	}
	out := decide(t, f, trx)
	if !out.Accepted() || out.Changes == nil || out.Changes.Body == nil {
		t.Fatalf("outcome %+v; want the message sealed", out)
	}
	if got := *out.Changes.Subject; got != "Claim for Jane [-Encrypted-]" {
		t.Errorf("subject %q", got)
	}
	if bytes.Contains(out.Changes.Body, []byte("536-22")) {
		t.Error("the SSN is visible in the sealed copy")
	}
	if len(st.recorded()) != 1 {
		t.Fatalf("%d envelopes stored", len(st.recorded()))
	}
	for _, e := range st.recorded() {
		if e.Trigger != policy.ScanTrigger {
			t.Errorf("envelope trigger %q", e.Trigger)
		}
	}
	if len(q.sent) != 1 {
		t.Fatalf("%d notices queued; want 1", len(q.sent))
	}
	n := q.sent[0]
	if n.from != "" || !slices.Equal(n.to, []string{"doc@example.org"}) {
		t.Errorf("notice from %q to %v; want the null sender to the message's sender", n.from, n.to)
	}
	text := decodeQP(t, n.data)
	for _, want := range []string{"Auto-Submitted: auto-generated", "Social Security number: 1 (***-**-1234)", "pat@ext.example", "Claim for Jane"} {
		if !strings.Contains(text, want) {
			t.Errorf("notice lacks %q:\n%s", want, text)
		}
	}
	if strings.Contains(text, "536-22") {
		t.Errorf("the notice shows the value:\n%s", text)
	}
}

func decodeQP(t *testing.T, msg []byte) string {
	t.Helper()
	head, body, _ := bytes.Cut(msg, []byte("\r\n\r\n"))
	dec, err := io.ReadAll(quotedprintable.NewReader(bytes.NewReader(body)))
	if err != nil {
		t.Fatal(err)
	}
	return string(head) + "\n\n" + string(dec)
}

func TestScannerPassesCleanAndInternalMail(t *testing.T) {
	f, st, q := scanningFilter(t, nil)
	clean := withBody(newTrx("Lunch", "pat@ext.example"), "Lunch at 12:30? Call 555-201-4477.\r\n")
	if out := decide(t, f, clean); !out.Accepted() || out.Changes != nil {
		t.Errorf("clean external mail: %+v; want untouched", out)
	}
	internal := withBody(newTrx("Claim", "nurse@example.org"), ssnBody)
	if f.Triage(f.Policy(), internal).Action != policy.Pass {
		t.Error("internal-only mail must pass at the end of the header, unscanned")
	}
	plus := withBody(newTrx("++ Claim", "pat@ext.example"), ssnBody)
	out := decide(t, f, plus)
	if out.Changes == nil || *out.Changes.Subject != "[SECURE MESSAGE] Claim" {
		t.Errorf("++ mail: %+v; want sealed by its trigger", out)
	}
	if len(q.sent) != 0 {
		t.Errorf("a notice was sent for mail the scanner did not seal")
	}
	if len(st.recorded()) != 1 {
		t.Errorf("%d envelopes; want only the ++ one", len(st.recorded()))
	}
}

func TestScannerMixedRecipientsSplit(t *testing.T) {
	f, _, _ := scanningFilter(t, nil)
	snd := &fakeSender{}
	f.reinject = snd
	trx := withBody(newTrx("Claim", "nurse@example.org", "pat@ext.example"), ssnBody)
	out := decide(t, f, trx)
	if !out.Accepted() || out.Changes == nil {
		t.Fatalf("outcome %+v", out)
	}
	if out.Changes.Body != nil || !slices.Equal(out.Changes.DelRcpts, []string{"pat@ext.example"}) {
		t.Errorf("internal copy must stay untouched and the external recipient be removed: %+v", out.Changes)
	}
	if len(snd.sent) != 1 || bytes.Contains(snd.sent[0].data, []byte("536-22-1234")) {
		t.Errorf("re-injected copies: %d; want one sealed", len(snd.sent))
	}
}

func TestScannerReportMode(t *testing.T) {
	f, st, q := scanningFilter(t, func(s *config.Scanner) { s.Mode = config.ScanReport })
	var logs bytes.Buffer
	f.log = slog.New(slog.NewTextHandler(&logs, nil))
	obs := &findingsObserver{findings: map[string]int{}}
	f.obs = obs
	trx := withBody(newTrx("Claim", "pat@ext.example"), ssnBody)
	out := decide(t, f, trx)
	if !out.Accepted() || out.Changes != nil || len(st.recorded()) != 0 || len(q.sent) != 0 {
		t.Fatalf("report mode changed the message: %+v", out)
	}
	if !strings.Contains(logs.String(), "findings=map[us_ssn:1]") || !strings.Contains(logs.String(), "report_mode=true") {
		t.Errorf("report mode must log the rules that fired:\n%s", logs.String())
	}
	if strings.Contains(logs.String(), "1234") {
		t.Errorf("the log carries the value:\n%s", logs.String())
	}
	if got := obs.findings["us_ssn/report"]; got != 1 {
		t.Errorf("report mode counted %d us_ssn findings; want 1", got)
	}
}

// findingsObserver records ScanFindings (the real counters are tested in
// package metrics).
type findingsObserver struct {
	nopObserver
	findings map[string]int
}

func (o *findingsObserver) ScanFindings(rule string, n int, mode string) {
	o.findings[rule+"/"+mode] += n
}

func TestScannerUnreadable(t *testing.T) {
	// A zip whose only entry is encrypted (flag bit 0) cannot be read.
	msg := "--b\r\nContent-Type: text/plain\r\n\r\nsee attached\r\n--b\r\nContent-Type: application/zip; name=\"x.zip\"\r\nContent-Transfer-Encoding: base64\r\n\r\n" + encryptedZipBase64(t) + "\r\n--b--\r\n"
	mk := func() *Transaction {
		trx := withBody(newTrx("Files", "pat@ext.example"), msg)
		trx.Fields[len(trx.Fields)-2].Value = " multipart/mixed; boundary=b"
		trx.Fields[len(trx.Fields)-1].Value = " 7bit"
		return trx
	}
	f, _, q := scanningFilter(t, nil)
	out := decide(t, f, mk())
	if out.Changes == nil || out.Changes.Body == nil {
		t.Fatalf("unreadable = encrypt: %+v; want sealed", out)
	}
	if len(q.sent) != 1 || !strings.Contains(decodeQP(t, q.sent[0].data), "could not be checked") {
		t.Errorf("the notice must say what could not be checked")
	}
	f, _, _ = scanningFilter(t, func(s *config.Scanner) { s.Unreadable = config.UnreadableIgnore })
	if out := decide(t, f, mk()); out.Changes != nil {
		t.Errorf("unreadable = ignore: %+v; want untouched", out)
	}
}

func TestScannerOversized(t *testing.T) {
	f, _, _ := scanningFilter(t, nil)
	f.Policy().Config.Milter.MaxSecureSize = 1000
	trx := withBody(newTrx("Big", "pat@ext.example"), strings.Repeat("a\r\n", 1000))
	if out := f.Process(context.Background(), f.Policy(), trx, false); out.Code != 552 || !strings.Contains(out.Text, "too large to encrypt") {
		t.Errorf("unscannable large mail with unreadable = encrypt: %+v; want 552", out)
	}
	f, _, _ = scanningFilter(t, func(s *config.Scanner) { s.Unreadable = config.UnreadableIgnore })
	f.Policy().Config.Milter.MaxSecureSize = 1000
	if out := f.Process(context.Background(), f.Policy(), trx, false); !out.Accepted() || out.Changes != nil {
		t.Errorf("unscannable large mail with unreadable = ignore: %+v; want untouched", out)
	}
}

func TestDetectorNamesAgree(t *testing.T) {
	if !slices.Equal(config.Detectors, scanner.Detectors()) {
		t.Errorf("config.Detectors %v != scanner.Detectors() %v", config.Detectors, scanner.Detectors())
	}
}

// encryptedZipBase64 is a ZIP whose one entry has the "encrypted" flag set
// by hand: the scanner cannot read it, whatever it holds.
func encryptedZipBase64(t *testing.T) string {
	t.Helper()
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	data := []byte("harmless")
	w, err := zw.CreateRaw(&zip.FileHeader{
		Name: "locked.txt", Method: zip.Store, Flags: 0x1,
		CRC32: crc32.ChecksumIEEE(data), CompressedSize64: uint64(len(data)), UncompressedSize64: uint64(len(data)),
	})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w.Write(data); err != nil {
		t.Fatal(err)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return base64.StdEncoding.EncodeToString(buf.Bytes())
}

func TestScannerAdminRules(t *testing.T) {
	dir := t.TempDir()
	list := filepath.Join(dir, "phi.txt")
	if err := os.WriteFile(list, []byte("# PHI terms\ndischarge summary\noncology\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	f, st, q := scanningFilter(t, func(s *config.Scanner) {
		s.Patterns = []config.ScannerPattern{{Name: "mrn", Regex: `MRN[- ]?\d{7}`, MinCount: 1}}
		s.Keywords = []config.ScannerWords{{Name: "phi-terms", File: list, MinCount: 2}}
	})
	mrn := withBody(newTrx("Follow-up", "pat@ext.example"), "Re: MRN-1234567, see you Monday.\r\n")
	if out := decide(t, f, mrn); out.Changes == nil || out.Changes.Body == nil {
		t.Errorf("a pattern match must seal: %+v", out)
	}
	one := withBody(newTrx("Follow-up", "pat@ext.example"), "The oncology ward moved.\r\n")
	if out := decide(t, f, one); out.Changes != nil {
		t.Errorf("one keyword with min_count 2 must pass: %+v", out)
	}
	two := withBody(newTrx("Follow-up", "pat@ext.example"), "Oncology sent the Discharge Summary.\r\n")
	if out := decide(t, f, two); out.Changes == nil {
		t.Errorf("two keywords with min_count 2 must seal: %+v", out)
	}
	if len(st.recorded()) != 2 || len(q.sent) != 2 {
		t.Fatalf("%d envelopes, %d notices; want 2 and 2", len(st.recorded()), len(q.sent))
	}
	text := decodeQP(t, q.sent[1].data)
	if !strings.Contains(text, "phi-terms: 2") || strings.Contains(strings.ToLower(text), "oncology") {
		t.Errorf("the notice must name the rule without the words:\n%s", text)
	}

	cfg := config.Default()
	cfg.Scanner.Keywords = []config.ScannerWords{{Name: "gone", File: filepath.Join(dir, "missing.txt"), MinCount: 1}}
	if _, err := policy.Load(cfg); err == nil || !strings.Contains(err.Error(), "missing.txt") {
		t.Errorf("a missing word list: %v; want an error naming the file", err)
	}
}

// failingBody is a buffered body whose spool cannot be read back, neither
// in sequence nor at an offset (Transaction.Original reads it with ReadAt).
type failingBody struct{ *strings.Reader }

func (failingBody) Read([]byte) (int, error) { return 0, errors.New("spool: input/output error") }

func (failingBody) ReadAt([]byte, int64) (int, error) {
	return 0, errors.New("spool: input/output error")
}

// A scan that cannot finish is no verdict: with unreadable = "ignore" the
// message is temp-failed, never passed; with "encrypt" it is sealed.
func TestScannerInterruptedIsNoVerdict(t *testing.T) {
	mk := func() *Transaction {
		trx := newTrx("Claim", "pat@ext.example")
		trx.Body = failingBody{strings.NewReader(ssnBody)}
		return trx
	}
	f, _, _ := scanningFilter(t, func(s *config.Scanner) { s.Unreadable = config.UnreadableIgnore })
	if out := decide(t, f, mk()); out.Code != 451 {
		t.Errorf("unreadable = ignore, spool read error: %+v; want 451", out)
	}
	f, _, _ = scanningFilter(t, nil)
	if out := decide(t, f, mk()); out.Code == 0 && out.Changes == nil {
		t.Errorf("unreadable = encrypt, spool read error: passed in clear")
	}
}

// The notice names unreadable parts without quoting them: a parser's error
// can carry the broken line, and file names are the sender's text.
func TestScannerNoticeQuotesNoContent(t *testing.T) {
	msg := "--b\r\nContent-Type: text/plain\r\nPatient SSN 536-22-1234 card 4111 1111 1111 1111\r\n\r\nhello\r\n--b\r\n" +
		"Content-Type: application/x-unknown; name=\"ssn 536-22-1234.bin\"\r\nContent-Transfer-Encoding: base64\r\n\r\nAAECAwD//g==\r\n--b--\r\n"
	trx := withBody(newTrx("Files", "pat@ext.example"), msg)
	trx.Fields[len(trx.Fields)-2].Value = " multipart/mixed; boundary=b"
	f, _, q := scanningFilter(t, nil)
	if out := decide(t, f, trx); out.Changes == nil {
		t.Fatalf("outcome %+v; want sealed", out)
	}
	if len(q.sent) != 1 {
		t.Fatalf("%d notices", len(q.sent))
	}
	text := decodeQP(t, q.sent[0].data)
	if strings.Contains(text, "536-22") || strings.Contains(text, "22-1234") || strings.Contains(text, "4111 1111") {
		t.Errorf("the notice quotes content:\n%s", text)
	}
}

// No notice answers a bounce (null sender: it would go nowhere, or loop)
// nor mail under notify_sender = false; the message is sealed all the same.
func TestScannerNoNotice(t *testing.T) {
	f, st, q := scanningFilter(t, nil)
	trx := withBody(newTrx("Claim for Jane", "pat@ext.example"), ssnBody)
	trx.Sender = ""
	if out := decide(t, f, trx); !out.Accepted() || out.Changes == nil || len(st.recorded()) != 1 {
		t.Fatalf("bounce with an SSN: %+v; want it sealed", out)
	}
	if len(q.sent) != 0 {
		t.Errorf("%d notices to a null sender", len(q.sent))
	}
	f, st, q = scanningFilter(t, func(s *config.Scanner) { s.NotifySender = false })
	if out := decide(t, f, withBody(newTrx("Claim for Jane", "pat@ext.example"), ssnBody)); !out.Accepted() || len(st.recorded()) != 1 {
		t.Fatalf("notify_sender = false: %+v; want it sealed", out)
	}
	if len(q.sent) != 0 {
		t.Errorf("%d notices under notify_sender = false", len(q.sent))
	}
}
