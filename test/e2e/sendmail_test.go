package e2e

import (
	"bufio"
	"bytes"
	"context"
	"encoding/base64"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"mime/quotedprintable"
	"net"
	"net/mail"
	"net/smtp"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/postseal/postseal/test/mta"
)

// Sendmail cannot be installed as a package next to Postfix (both provide
// mail-transport-agent); install-sendmail.sh unpacks sendmail-bin into a
// private root instead. sendmailBinary runs it once per test binary.
var (
	sendmailOnce sync.Once
	sendmailBin  string
	sendmailErr  error
)

func sendmailBinary(t *testing.T) string {
	t.Helper()
	sendmailOnce.Do(func() {
		script := filepath.Join(repoRoot(), "test", "e2e", "install-sendmail.sh")
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
		defer cancel()
		cmd := exec.CommandContext(ctx, "sh", script)
		var stderr bytes.Buffer
		cmd.Stderr = &stderr
		out, err := cmd.Output()
		if err != nil {
			sendmailErr = fmt.Errorf("%s: %v\n%s%s", script, err, out, stderr.String())
			return
		}
		lines := strings.Fields(strings.TrimSpace(string(out)))
		if len(lines) == 0 {
			sendmailErr = fmt.Errorf("%s printed no path\n%s", script, stderr.String())
			return
		}
		sendmailBin = lines[len(lines)-1]
		if _, err := os.Stat(sendmailBin); err != nil {
			sendmailErr = fmt.Errorf("%s: %v", script, err)
		}
	})
	if sendmailErr != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("cannot install the private Sendmail: %v", sendmailErr)
		}
		t.Skipf("cannot install the private Sendmail: %v", sendmailErr)
	}
	return sendmailBin
}

// sendmailMessage is one message the sink received.
type sendmailMessage struct {
	From string
	To   []string
	Data []byte // as received, dot-unstuffed, CRLF line ends
}

// sendmailSink is a minimal SMTP server that accepts everything: Sendmail
// relays all mail to it, so the test sees exactly what Sendmail delivers.
type sendmailSink struct {
	ln   net.Listener
	Port int
	msgs chan sendmailMessage
	wg   sync.WaitGroup

	mu    sync.Mutex
	conns map[net.Conn]bool
	log   bytes.Buffer // a short transcript for failure output
}

func sendmailStartSink(t *testing.T) *sendmailSink {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := &sendmailSink{ln: ln, Port: ln.Addr().(*net.TCPAddr).Port,
		msgs: make(chan sendmailMessage, 100), conns: map[net.Conn]bool{}}
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			s.mu.Lock()
			s.conns[c] = true
			s.mu.Unlock()
			s.wg.Add(1)
			go func() {
				defer s.wg.Done()
				s.serve(c)
				s.mu.Lock()
				delete(s.conns, c)
				s.mu.Unlock()
			}()
		}
	}()
	t.Cleanup(func() {
		ln.Close()
		s.mu.Lock()
		for c := range s.conns {
			c.Close()
		}
		s.mu.Unlock()
		s.wg.Wait()
	})
	return s
}

func (s *sendmailSink) logf(format string, args ...any) {
	s.mu.Lock()
	defer s.mu.Unlock()
	fmt.Fprintf(&s.log, format+"\n", args...)
}

func (s *sendmailSink) Transcript() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.log.String()
}

func (s *sendmailSink) serve(c net.Conn) {
	defer c.Close()
	r := bufio.NewReader(c)
	w := bufio.NewWriter(c)
	reply := func(lines ...string) bool {
		for _, l := range lines {
			w.WriteString(l + "\r\n")
		}
		return w.Flush() == nil
	}
	readLine := func() (string, bool) {
		c.SetReadDeadline(time.Now().Add(60 * time.Second))
		l, err := r.ReadString('\n')
		if err != nil {
			return "", false
		}
		return strings.TrimRight(l, "\r\n"), true
	}
	if !reply("220 sink.test ESMTP postseal e2e sink") {
		return
	}
	var from string
	var to []string
	for {
		line, ok := readLine()
		if !ok {
			return
		}
		verb := strings.ToUpper(line)
		if i := strings.IndexAny(verb, " :"); i >= 0 {
			verb = verb[:i]
		}
		switch verb {
		case "EHLO":
			reply("250-sink.test", "250-8BITMIME", "250-PIPELINING", "250 SIZE 104857600")
		case "HELO":
			reply("250 sink.test")
		case "MAIL":
			from, to = sendmailSMTPPath(line), nil
			reply("250 2.1.0 ok")
		case "RCPT":
			to = append(to, sendmailSMTPPath(line))
			reply("250 2.1.5 ok")
		case "DATA":
			if len(to) == 0 {
				reply("503 5.5.1 no recipients")
				continue
			}
			reply("354 go ahead")
			var data bytes.Buffer
			for {
				l, ok := readLine()
				if !ok {
					return
				}
				if l == "." {
					break
				}
				l = strings.TrimPrefix(l, ".")
				data.WriteString(l + "\r\n")
			}
			s.logf("sink: message from <%s> to %v, %d bytes", from, to, data.Len())
			s.msgs <- sendmailMessage{From: from, To: to, Data: data.Bytes()}
			from, to = "", nil
			reply("250 2.0.0 queued")
		case "RSET":
			from, to = "", nil
			reply("250 2.0.0 ok")
		case "NOOP":
			reply("250 2.0.0 ok")
		case "QUIT":
			reply("221 2.0.0 bye")
			return
		default:
			s.logf("sink: unknown command %q", line)
			reply("502 5.5.2 not implemented")
		}
	}
}

// sendmailSMTPPath extracts the address from "MAIL FROM:<a> PARAMS".
func sendmailSMTPPath(line string) string {
	i, j := strings.IndexByte(line, '<'), strings.IndexByte(line, '>')
	if i < 0 || j < i {
		return ""
	}
	return line[i+1 : j]
}

// sendmailDaemon is a private Sendmail on loopback with postseal as its
// milter, relaying everything to a sink.
type sendmailDaemon struct {
	Dir     string
	Port    int
	cmd     *exec.Cmd
	out     bytes.Buffer // stdout+stderr
	mu      sync.Mutex
	exited  chan struct{}
	exitErr error
}

func (d *sendmailDaemon) Write(b []byte) (int, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.out.Write(b)
}

func (d *sendmailDaemon) Output() string {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.out.String()
}

// Diagnostics returns what helps to understand a failure: the daemon's
// output and its traffic trace (-X: every SMTP line in and out).
func (d *sendmailDaemon) Diagnostics() string {
	trace, err := os.ReadFile(filepath.Join(d.Dir, "trace"))
	if err != nil {
		trace = []byte(err.Error())
	}
	const max = 20000
	if len(trace) > max {
		trace = append([]byte("...\n"), trace[len(trace)-max:]...)
	}
	return fmt.Sprintf("sendmail output:\n%s\nsendmail traffic trace (-X):\n%s", d.Output(), trace)
}

func sendmailStart(t *testing.T, bin string, milterPort, sinkPort int) *sendmailDaemon {
	t.Helper()
	if _, err := exec.LookPath("m4"); err != nil {
		t.Fatalf("m4 not found (install-sendmail.sh installs it): %v", err)
	}
	d := &sendmailDaemon{Dir: t.TempDir(), Port: freePort(t)}
	// bin is ROOT/usr/libexec/sendmail/sendmail
	root := filepath.Dir(filepath.Dir(filepath.Dir(filepath.Dir(bin))))
	tdir := filepath.Join(repoRoot(), "testdata", "sendmail")

	tmpl, err := os.ReadFile(filepath.Join(tdir, "postseal-e2e.mc.in"))
	if err != nil {
		t.Fatal(err)
	}
	// The INPUT_MAIL_FILTER line is the one the package ships, with its
	// socket replaced by this test's milter port.
	filter, err := mta.SendmailMilterLine(fmt.Sprintf("inet:%d@127.0.0.1", milterPort))
	if err != nil {
		t.Fatal(err)
	}
	mc := strings.NewReplacer(
		"@POSTSEAL_MC@", filter,
		"@DIR@", d.Dir,
		"@ROOT@", root,
		"@SMTP_PORT@", strconv.Itoa(d.Port),
		"@MILTER_PORT@", strconv.Itoa(milterPort),
		"@SINK_PORT@", strconv.Itoa(sinkPort),
	).Replace(string(tmpl))
	if err := os.WriteFile(filepath.Join(d.Dir, "postseal-e2e.mc"), []byte(mc), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{"service.switch", "hosts"} {
		b, err := os.ReadFile(filepath.Join(tdir, f))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(d.Dir, f), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	for _, f := range []string{"aliases", "local-host-names", "trusted-users", "relay-domains"} {
		if err := os.WriteFile(filepath.Join(d.Dir, f), nil, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Mkdir(filepath.Join(d.Dir, "mqueue"), 0o700); err != nil {
		t.Fatal(err)
	}

	m4 := exec.Command("m4", "/usr/share/sendmail/cf/m4/cf.m4", "postseal-e2e.mc")
	m4.Dir = d.Dir
	var m4err bytes.Buffer
	m4.Stderr = &m4err
	cf, err := m4.Output()
	if err != nil || m4err.Len() > 0 {
		t.Fatalf("m4 sendmail.cf: %v\n%s", err, m4err.String())
	}
	cfPath := filepath.Join(d.Dir, "sendmail.cf")
	if err := os.WriteFile(cfPath, cf, 0o644); err != nil {
		t.Fatal(err)
	}

	// -bD: daemon in the foreground. Sendmail sleeps 60 s when the host name
	// is not qualified, so it runs in its own UTS namespace with one. It also
	// gets its own PID namespace: its delivery processes call setsid() and
	// leave our process group, but whatever happens they all die with the
	// namespace when unshare exits (--kill-child).
	d.cmd = exec.Command("unshare", "--uts", "--pid", "--kill-child", "sh", "-c",
		`hostname mta.example.org && exec "$0" "$@"`,
		bin, "-C", cfPath, "-bD", "-X", filepath.Join(d.Dir, "trace"))
	d.cmd.Dir = d.Dir
	d.cmd.Stdout, d.cmd.Stderr = d, d
	d.cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := d.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	d.exited = make(chan struct{})
	go func() { d.exitErr = d.cmd.Wait(); close(d.exited) }()
	t.Cleanup(func() {
		d.stop()
		if t.Failed() {
			t.Log(d.Diagnostics())
		}
	})

	addr := fmt.Sprintf("127.0.0.1:%d", d.Port)
	deadline := time.Now().Add(20 * time.Second)
	for {
		c, err := net.DialTimeout("tcp", addr, time.Second)
		if err == nil {
			c.Close()
			return d
		}
		select {
		case <-d.exited:
			t.Fatalf("sendmail exited at start: %v\n%s", d.exitErr, d.Diagnostics())
		case <-time.After(20 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			t.Fatalf("sendmail not listening on %s after 20s\n%s", addr, d.Diagnostics())
		}
	}
}

// stop ends the daemon and everything it forked: SIGTERM to the process
// group (unshare and the daemon), SIGKILL after 5 s. When unshare exits, the
// kernel kills whatever is left in the PID namespace.
func (d *sendmailDaemon) stop() {
	pgid := d.cmd.Process.Pid
	_ = syscall.Kill(-pgid, syscall.SIGTERM)
	select {
	case <-d.exited:
	case <-time.After(5 * time.Second):
		_ = syscall.Kill(-pgid, syscall.SIGKILL)
		<-d.exited
	}
}

// sendmailSubmit sends one message to Sendmail over SMTP; the error carries
// Sendmail's reply (e.g. "451 4.3.2 ..." when the milter temp-fails).
func sendmailSubmit(port int, from string, to []string, msg []byte) error {
	c, err := smtp.Dial(fmt.Sprintf("127.0.0.1:%d", port))
	if err != nil {
		return err
	}
	defer c.Close()
	if err := c.Hello("client.example.org"); err != nil {
		return fmt.Errorf("EHLO: %w", err)
	}
	if err := c.Mail(from); err != nil {
		return fmt.Errorf("MAIL FROM: %w", err)
	}
	for _, r := range to {
		if err := c.Rcpt(r); err != nil {
			return fmt.Errorf("RCPT TO %s: %w", r, err)
		}
	}
	w, err := c.Data()
	if err != nil {
		return fmt.Errorf("DATA: %w", err)
	}
	if _, err := w.Write(msg); err != nil {
		return fmt.Errorf("DATA: %w", err)
	}
	if err := w.Close(); err != nil {
		return fmt.Errorf("end of DATA: %w", err)
	}
	return c.Quit()
}

// sendmailSplit splits a message into its header block and body.
func sendmailSplit(data []byte) (header, body []byte) {
	if i := bytes.Index(data, []byte("\r\n\r\n")); i >= 0 {
		return data[:i+2], data[i+4:]
	}
	return data, nil
}

// sendmailLeaf is one non-multipart MIME part, transfer-decoded.
type sendmailLeaf struct {
	ContentType string
	Params      map[string]string
	Filename    string
	Body        []byte
}

// sendmailWalk collects the leaf parts of a MIME entity.
func sendmailWalk(h mail.Header, body io.Reader, depth int) ([]sendmailLeaf, error) {
	if depth > 10 {
		return nil, fmt.Errorf("MIME nesting too deep")
	}
	ct := h.Get("Content-Type")
	if ct == "" {
		ct = "text/plain"
	}
	mt, params, err := mime.ParseMediaType(ct)
	if err != nil {
		return nil, fmt.Errorf("Content-Type %q: %v", ct, err)
	}
	if strings.HasPrefix(mt, "multipart/") {
		mr := multipart.NewReader(body, params["boundary"])
		var leaves []sendmailLeaf
		for {
			p, err := mr.NextRawPart()
			if err == io.EOF {
				return leaves, nil
			}
			if err != nil {
				return nil, fmt.Errorf("%s: %v", mt, err)
			}
			sub, err := sendmailWalk(mail.Header(p.Header), p, depth+1)
			if err != nil {
				return nil, err
			}
			leaves = append(leaves, sub...)
		}
	}
	var r io.Reader = body
	switch strings.ToLower(strings.TrimSpace(h.Get("Content-Transfer-Encoding"))) {
	case "base64":
		r = base64.NewDecoder(base64.StdEncoding, &sendmailNoCRLF{r: body})
	case "quoted-printable":
		r = quotedprintable.NewReader(body)
	}
	b, err := io.ReadAll(r)
	if err != nil {
		return nil, fmt.Errorf("%s body: %v", mt, err)
	}
	leaf := sendmailLeaf{ContentType: mt, Params: params, Body: b}
	if cd := h.Get("Content-Disposition"); cd != "" {
		if _, dp, err := mime.ParseMediaType(cd); err == nil {
			leaf.Filename = dp["filename"]
		}
	}
	if leaf.Filename == "" {
		leaf.Filename = params["name"]
	}
	return []sendmailLeaf{leaf}, nil
}

// sendmailNoCRLF drops line ends so base64 decodes line-wrapped input.
type sendmailNoCRLF struct{ r io.Reader }

func (n *sendmailNoCRLF) Read(p []byte) (int, error) {
	k, err := n.r.Read(p)
	j := 0
	for _, b := range p[:k] {
		if b != '\r' && b != '\n' {
			p[j] = b
			j++
		}
	}
	return j, err
}

var sendmailSecuredocName = regexp.MustCompile(`^securedoc_\d{8}T\d{6}\.html$`)

// TestSendmail sends mail through a real Sendmail (8.17, Debian's
// sendmail-bin) with postseal as its input mail filter and checks what
// Sendmail delivers.
func TestSendmail(t *testing.T) {
	needRoot(t)
	bin := sendmailBinary(t)
	p := startPostseal(t, PostsealConfig{})
	sink := sendmailStartSink(t)
	sm := sendmailStart(t, bin, p.MilterPort, sink.Port)
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("sink transcript:\n%s", sink.Transcript())
		}
	})

	const secretLine = "The palliative care consult for Mr. Jones is booked for Tuesday 14:00, room 4B."
	stamp := time.Now().UnixNano()
	type sent struct {
		name, messageID, subject string
		to                       []string
		header, body             string
	}
	mk := func(name, subject string, to []string) sent {
		s := sent{name: name, subject: subject, to: to,
			messageID: fmt.Sprintf("<sendmail-%s-%d@example.org>", name, stamp)}
		s.header = "From: Ada Example <ada@example.org>\r\n" +
			"To: " + strings.Join(to, ", ") + "\r\n" +
			"Subject: " + subject + "\r\n" +
			"Date: Mon, 23 Nov 2026 15:39:59 +0000\r\n" +
			"Message-ID: " + s.messageID + "\r\n" +
			"MIME-Version: 1.0\r\n" +
			"Content-Type: text/plain; charset=us-ascii\r\n" +
			"Content-Transfer-Encoding: 7bit\r\n"
		s.body = "Dear colleague,\r\n\r\n" + secretLine + "\r\n\r\n" +
			"..a line that starts with a dot, and one with trailing space \r\n" +
			"-- \r\nAda\r\n"
		return s
	}
	secure := mk("secure-external", "*secure* Palliative care consult", []string{"patient@example.net"})
	plain := mk("plain-external", "Palliative care consult", []string{"patient@example.net"})
	internal := mk("secure-internal", "*secure* Palliative care consult", []string{"bob@example.org"})
	all := []sent{secure, plain, internal}

	for _, s := range all {
		if err := sendmailSubmit(sm.Port, "ada@example.org", s.to, []byte(s.header+"\r\n"+s.body)); err != nil {
			t.Fatalf("Sendmail refused the %s message: %v", s.name, err)
		}
	}

	// Collect deliveries until every Message-ID has arrived.
	got := map[string]sendmailMessage{}
	deadline := time.After(30 * time.Second)
	for len(got) < len(all) {
		select {
		case m := <-sink.msgs:
			msg, err := mail.ReadMessage(bytes.NewReader(m.Data))
			if err != nil {
				t.Fatalf("sink got an unparsable message: %v\n%s", err, m.Data)
			}
			id := msg.Header.Get("Message-Id")
			if _, dup := got[id]; dup {
				t.Fatalf("message %s delivered twice", id)
			}
			got[id] = m
		case <-deadline:
			t.Fatalf("after 30s the sink has %d of %d messages (Sendmail queued or deferred the rest)", len(got), len(all))
		}
	}

	t.Run("secure-external", func(t *testing.T) {
		m, ok := got[secure.messageID]
		if !ok {
			t.Fatalf("the *secure* message (%s) was not delivered; delivered: %v", secure.messageID, sendmailKeys(got))
		}
		if strings.Join(m.To, ",") != "patient@example.net" {
			t.Errorf("delivered to %v, want [patient@example.net]", m.To)
		}
		msg, err := mail.ReadMessage(bytes.NewReader(m.Data))
		if err != nil {
			t.Fatal(err)
		}
		hdr, _ := sendmailSplit(m.Data)
		if !strings.Contains(msg.Header.Get("Received"), "by mta.example.org") {
			t.Errorf("no Received header from Sendmail (mta.example.org):\n%s", hdr)
		}
		if got, want := msg.Header.Get("Subject"), "Palliative care consult [-Encrypted-]"; got != want {
			t.Errorf("Subject = %q, want %q", got, want)
		}
		if n := len(msg.Header["Subject"]); n != 1 {
			t.Errorf("%d Subject headers, want 1:\n%s", n, hdr)
		}
		envID := strings.TrimSpace(msg.Header.Get("X-Postseal-Envelope"))
		if envID == "" {
			t.Errorf("no X-Postseal-Envelope header:\n%s", hdr)
		}
		if n := len(msg.Header["Mime-Version"]); n != 1 || strings.TrimSpace(msg.Header.Get("Mime-Version")) != "1.0" {
			t.Errorf("MIME-Version headers %q, want one \"1.0\"", msg.Header["Mime-Version"])
		}
		if n := len(msg.Header["Content-Type"]); n != 1 {
			t.Errorf("%d Content-Type headers, want 1:\n%s", n, hdr)
		}
		ct, _, err := mime.ParseMediaType(msg.Header.Get("Content-Type"))
		if err != nil || ct != "multipart/mixed" {
			t.Fatalf("Content-Type %q (%v), want multipart/mixed:\n%s", msg.Header.Get("Content-Type"), err, hdr)
		}
		if bytes.Contains(m.Data, []byte(secretLine)) {
			t.Errorf("the original body text is in the delivered message in the clear")
		}
		leaves, err := sendmailWalk(msg.Header, msg.Body, 0)
		if err != nil {
			t.Fatalf("delivered MIME structure: %v", err)
		}
		var doc *sendmailLeaf
		var types []string
		for i, l := range leaves {
			types = append(types, fmt.Sprintf("%s %q", l.ContentType, l.Filename))
			if bytes.Contains(l.Body, []byte(secretLine)) {
				t.Errorf("the original body text is in the clear in the %s part", l.ContentType)
			}
			if sendmailSecuredocName.MatchString(l.Filename) {
				if doc != nil {
					t.Errorf("more than one securedoc attachment")
				}
				doc = &leaves[i]
			}
		}
		if doc == nil {
			t.Fatalf("no securedoc_YYYYMMDDTHHMMSS.html attachment; parts: %v", types)
		}
		if doc.ContentType != "text/html" {
			t.Errorf("securedoc part is %s, want text/html", doc.ContentType)
		}
		if !bytes.Contains(doc.Body, []byte("BEGIN PGP MESSAGE")) {
			t.Errorf("securedoc attachment (%d bytes) carries no armoured OpenPGP message", len(doc.Body))
		}
		var text bool
		for _, l := range leaves {
			if l.ContentType == "text/plain" && l.Filename == "" {
				text = true
			}
		}
		if !text {
			t.Errorf("no text/plain notification part; parts: %v", types)
		}
		if envID != "" {
			// The envelope the header names must be in postseal's store.
			env := miltertestEnvelope(t, p, envID)
			if !miltertestHasRecipient(env, "patient@example.net") {
				t.Errorf("envelope %s does not list patient@example.net: %v", envID, env)
			}
			// gpg opens the payload with the key postseal keeps for it,
			// and finds the message as sent: its header lines and its
			// body byte for byte (dot-led line and trailing space kept).
			armor := postfixArmorRe.Find(doc.Body)
			if armor == nil {
				t.Fatalf("no armoured message in the securedoc")
			}
			key := strings.TrimSpace(p.Run(t, "envelope", "key", envID))
			payload := postfixGPGDecrypt(t, armor, key)
			ph, pb := sendmailSplit(payload)
			if string(pb) != secure.body {
				t.Errorf("decrypted body differs from the sent body\n--- sent\n%q\n--- decrypted\n%q", secure.body, pb)
			}
			for _, line := range strings.SplitAfter(secure.header, "\r\n") {
				if line != "" && !bytes.Contains(ph, []byte(line)) {
					t.Errorf("sent header line %q missing from the decrypted header:\n%s", line, ph)
				}
			}
		}
	})

	// Untriggered mail, and *secure* mail to internal recipients only, must
	// arrive exactly as sent (Sendmail itself only adds a Received header).
	for _, s := range []sent{plain, internal} {
		t.Run(s.name, func(t *testing.T) {
			m, ok := got[s.messageID]
			if !ok {
				t.Fatalf("the %s message (%s) was not delivered; delivered: %v", s.name, s.messageID, sendmailKeys(got))
			}
			if strings.Join(m.To, ",") != strings.Join(s.to, ",") {
				t.Errorf("delivered to %v, want %v", m.To, s.to)
			}
			hdr, body := sendmailSplit(m.Data)
			if string(body) != s.body {
				t.Errorf("delivered body differs from the sent body\n--- sent\n%q\n--- delivered\n%q", s.body, body)
			}
			for _, line := range strings.SplitAfter(s.header, "\r\n") {
				if line != "" && !bytes.Contains(hdr, []byte(line)) {
					t.Errorf("sent header line %q missing or changed in the delivered header:\n%s", line, hdr)
				}
			}
			if bytes.Contains(bytes.ToLower(hdr), []byte("x-postseal")) {
				t.Errorf("a postseal header was added:\n%s", hdr)
			}
			if n := bytes.Count(hdr, []byte("\r\nSubject:")); n != 1 {
				t.Errorf("%d Subject headers, want 1:\n%s", n, hdr)
			}
		})
	}
}

func sendmailKeys(m map[string]sendmailMessage) []string {
	var k []string
	for id := range m {
		k = append(k, id)
	}
	return k
}
