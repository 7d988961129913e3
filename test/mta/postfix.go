// Package mta runs a private Postfix instance on loopback for the end-to-end
// tests (test/e2e) and the benchmarks (bench/). It touches no system
// configuration: the instance has its own configuration directory, queue,
// data directory and log file under one temporary folder, listens only on
// 127.0.0.1, and delivers every recipient into one Maildir ("the sink") with
// the virtual(8) delivery agent, which records the recipient of each copy in
// a Delivered-To: header.
//
// Postfix must be installed (Debian: postfix) and the caller must be root.
package mta

// This file configures, starts, reloads and stops the instance;
// postfix_mail.go reads its maillog, sink and queue while it runs, and
// submits mail with sendmail.

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	mathrand "math/rand/v2"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// Listener is one smtpd service of the instance.
type Listener struct {
	// Name identifies the listener (Postfix's syslog_name becomes
	// postfix-NAME, so the maillog tells listeners apart).
	Name string
	// Port is the loopback TCP port; 0 picks a free one.
	Port int
	// Milter is the smtpd_milters value for this listener ("" = none),
	// e.g. "inet:127.0.0.1:10025".
	Milter string
}

// Options configure StartPostfix. Zero values get defaults.
type Options struct {
	// Dir is the instance's folder; "" creates a fresh temporary folder
	// that Stop removes (unless Keep).
	Dir string
	// Keep leaves Dir in place after Stop (for post-mortems).
	Keep bool
	// SMTPPort is the main smtpd's port; 0 picks a free one.
	SMTPPort int
	// Milter is the milter of the main smtpd and of locally submitted mail
	// (non_smtpd_milters); "" runs without milters.
	Milter string
	// ReinjectPort is the port of a second smtpd without milters (postseal
	// re-injects sealed copies there); 0 picks a free one.
	ReinjectPort int
	// Listeners are more smtpd services, each with its own milter.
	Listeners []Listener
	// MessageSizeLimit is Postfix's message_size_limit (0: the shipped
	// main.cf.snippet's value, which a sealed message at the 10 MB secure
	// limit fits).
	MessageSizeLimit int
	// Hostname is myhostname (default mta.example.net).
	Hostname string
	// Postconf are more main.cf settings ("name=value").
	Postconf []string
}

// Postfix is one running private instance.
type Postfix struct {
	Dir         string // the instance's folder
	ConfigDir   string // main.cf and master.cf (postfix -c ConfigDir)
	QueueDir    string
	DataDir     string
	MailBase    string // virtual_mailbox_base
	SinkDir     string // the Maildir every recipient is delivered to
	MaillogPath string // maillog_file

	// Ports of the smtpd listeners by name: "smtp" (main), "reinject" and
	// the names of Options.Listeners.
	Ports map[string]int

	keep     bool
	stopOnce sync.Once
	stopErr  error

	mu    sync.Mutex
	cache map[string]*Delivery // parsed sink files by name
}

// Names of the built-in listeners.
const (
	SMTP     = "smtp"
	Reinject = "reinject"
)

// FreePort returns a loopback TCP port that was free a moment ago.
//
// Ports are taken below the kernel's ephemeral range (32768–60999 on
// Linux): a port the kernel handed out with ":0" and that was then closed
// can go to the next outgoing connection before the test binds it again,
// which made tests fail with "address already in use". Each process picks
// randomly and never hands out the same port twice.
func FreePort() (int, error) {
	portsMu.Lock()
	defer portsMu.Unlock()
	for range 1000 {
		p := portLow + mathrand.IntN(portHigh-portLow)
		if portsGiven[p] {
			continue
		}
		l, err := net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", p))
		if err != nil {
			continue
		}
		l.Close()
		portsGiven[p] = true
		return p, nil
	}
	return 0, errors.New("mta: no free port in 20000-32000")
}

const portLow, portHigh = 20000, 32000

var (
	portsMu    sync.Mutex
	portsGiven = map[int]bool{}
)

// StartPostfix configures and starts a private Postfix instance and returns
// once every listener accepts connections. On error nothing is left running.
func StartPostfix(o Options) (*Postfix, error) {
	if os.Geteuid() != 0 {
		return nil, errors.New("mta: Postfix needs root")
	}
	for _, bin := range []string{"postfix", "postconf"} {
		if _, err := exec.LookPath(bin); err != nil {
			if _, err2 := os.Stat("/usr/sbin/" + bin); err2 != nil {
				return nil, fmt.Errorf("mta: %s not installed (apt-get install postfix): %v", bin, err)
			}
		}
	}
	dir := o.Dir
	if dir == "" {
		d, err := os.MkdirTemp("", "postseal-postfix-")
		if err != nil {
			return nil, err
		}
		dir = d
	} else if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	// virtual(8) runs as nobody and must traverse down to the sink.
	if err := os.Chmod(dir, 0o755); err != nil {
		return nil, err
	}
	p := &Postfix{
		Dir:         dir,
		ConfigDir:   filepath.Join(dir, "etc"),
		QueueDir:    filepath.Join(dir, "queue"),
		DataDir:     filepath.Join(dir, "data"), // Postfix creates it; must not exist
		MailBase:    filepath.Join(dir, "mail"),
		MaillogPath: filepath.Join(dir, "maillog"),
		Ports:       map[string]int{},
		keep:        o.Keep,
		cache:       map[string]*Delivery{},
	}
	p.SinkDir = filepath.Join(p.MailBase, "sink")
	ok := false
	defer func() {
		if !ok && !o.Keep {
			os.RemoveAll(dir)
		}
	}()
	for _, d := range []string{p.ConfigDir, p.QueueDir, p.MailBase} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			return nil, err
		}
	}
	if err := os.Chown(p.MailBase, 65534, 65534); err != nil {
		return nil, err
	}
	master, err := os.ReadFile("/etc/postfix/master.cf")
	if err != nil {
		return nil, fmt.Errorf("mta: %v (is postfix installed?)", err)
	}
	if err := os.WriteFile(filepath.Join(p.ConfigDir, "master.cf"), master, 0o644); err != nil {
		return nil, err
	}
	if err := os.WriteFile(filepath.Join(p.ConfigDir, "main.cf"), nil, 0o644); err != nil {
		return nil, err
	}
	if o.Hostname == "" {
		o.Hostname = "mta.example.net"
	}
	// The milter settings are the shipped main.cf.snippet's, with the
	// packaged socket replaced by this instance's milter (see snippets.go).
	shipped, err := MainCFSnippet(o.Milter)
	if err != nil {
		return nil, err
	}
	main := []string{
		"compatibility_level=3.6",
		"queue_directory=" + p.QueueDir,
		"data_directory=" + p.DataDir,
		"inet_interfaces=127.0.0.1",
		"inet_protocols=ipv4",
		"myhostname=" + o.Hostname,
		"mydomain=example.net",
		"myorigin=$myhostname",
		"mynetworks=127.0.0.0/8",
		"maillog_file=" + p.MaillogPath,
		"maillog_file_prefixes=" + dir,
		"smtp_dns_support_level=disabled",
		"mydestination=",
		"local_recipient_maps=",
		"relay_domains=",
		"virtual_mailbox_domains=static:all",
		"virtual_mailbox_maps=static:sink/",
		"virtual_mailbox_base=" + p.MailBase,
		"virtual_uid_maps=static:65534",
		"virtual_gid_maps=static:65534",
		"virtual_mailbox_limit=0",
		"smtpd_recipient_restrictions=permit_mynetworks,reject",
		"smtpd_relay_restrictions=permit_mynetworks,reject",
		"biff=no",
		"delay_warning_time=0",
		// The tests want results in seconds, not after queue backoff.
		"queue_run_delay=1s",
		"minimal_backoff_time=1s",
		"maximal_backoff_time=2s",
		"smtpd_error_sleep_time=0",
		"in_flow_delay=0",
	}
	main = append(main, shipped...)
	if o.MessageSizeLimit != 0 {
		main = append(main, "message_size_limit="+strconv.Itoa(o.MessageSizeLimit))
	}
	main = append(main, o.Postconf...)
	if err := p.postconf(append([]string{"-e"}, lastWins(main)...)...); err != nil {
		return nil, err
	}
	if err := p.postconf("-F", "*/*/chroot = n"); err != nil {
		return nil, err
	}
	if err := p.postconf("-M#", "smtp/inet"); err != nil {
		return nil, err
	}
	listeners := append([]Listener{
		{Name: SMTP, Port: o.SMTPPort, Milter: o.Milter},
		{Name: Reinject, Port: o.ReinjectPort},
	}, o.Listeners...)
	for _, l := range listeners {
		if l.Name == "" || strings.ContainsAny(l.Name, " \t/=") {
			return nil, fmt.Errorf("mta: bad listener name %q", l.Name)
		}
		if _, dup := p.Ports[l.Name]; dup {
			return nil, fmt.Errorf("mta: listener %q twice", l.Name)
		}
		if l.Port == 0 {
			if l.Port, err = FreePort(); err != nil {
				return nil, err
			}
		}
		p.Ports[l.Name] = l.Port
		var svc string
		switch l.Name {
		case SMTP:
			// The milter comes from main.cf (the shipped snippet).
			svc = fmt.Sprintf("127.0.0.1:%d/inet = 127.0.0.1:%d inet n - n - - smtpd", l.Port, l.Port)
		case Reinject:
			// The shipped master.cf.snippet on this instance's port.
			if svc, err = MasterCFSnippet(l.Port); err != nil {
				return nil, err
			}
		default:
			svc = fmt.Sprintf("127.0.0.1:%d/inet = 127.0.0.1:%d inet n - n - - smtpd -o smtpd_milters=%s", l.Port, l.Port, l.Milter)
			if l.Milter == "" {
				svc += " -o non_smtpd_milters= -o receive_override_options=no_milters"
			}
		}
		// Added to every listener, the shipped one too: the maillog then
		// tells them apart (postfix-NAME/smtpd). It changes logging only.
		svc += " -o syslog_name=postfix-" + l.Name
		if err := p.postconf("-Me", svc); err != nil {
			return nil, err
		}
	}
	if out, err := exec.Command("postfix", "-c", p.ConfigDir, "start").CombinedOutput(); err != nil {
		return nil, fmt.Errorf("mta: postfix start: %v\n%s\n%s", err, out, p.MaillogTail(30))
	}
	stopOnErr := func() {
		exec.Command("postfix", "-c", p.ConfigDir, "abort").Run()
		p.waitMasterGone(10 * time.Second)
	}
	// `postfix start` runs master -w: it returns once the master has
	// opened its listening sockets. Check that with the listener that has
	// no milter: a connection to the others would make their smtpd contact
	// a milter that may not run yet, and log about it.
	if _, err := p.WaitMaillog(0, 15*time.Second, "daemon started"); err != nil {
		stopOnErr()
		return nil, err
	}
	c, err := net.DialTimeout("tcp", p.ReinjectAddr(), 5*time.Second)
	if err != nil {
		stopOnErr()
		return nil, fmt.Errorf("mta: reinject listener %s: %v\n%s", p.ReinjectAddr(), err, p.MaillogTail(30))
	}
	// Say goodbye properly so the maillog shows no "lost connection".
	c.SetDeadline(time.Now().Add(5 * time.Second))
	if _, err := readReply(bufio.NewReader(c)); err == nil {
		c.Write([]byte("QUIT\r\n"))
		io.Copy(io.Discard, c)
	}
	c.Close()
	ok = true
	return p, nil
}

// lastWins keeps, of several "name=value" for one name, the last: a test's
// own settings override the shipped snippet's (postconf warns otherwise).
func lastWins(settings []string) []string {
	last := map[string]int{}
	for i, kv := range settings {
		name, _, _ := strings.Cut(kv, "=")
		last[name] = i
	}
	var out []string
	for i, kv := range settings {
		name, _, _ := strings.Cut(kv, "=")
		if last[name] == i {
			out = append(out, kv)
		}
	}
	return out
}

func (p *Postfix) postconf(args ...string) error {
	cmd := exec.Command("postconf", append([]string{"-c", p.ConfigDir}, args...)...)
	out, err := cmd.CombinedOutput()
	if err != nil {
		return fmt.Errorf("mta: postconf %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	if len(bytes.TrimSpace(out)) > 0 && bytes.Contains(out, []byte("warning")) {
		return fmt.Errorf("mta: postconf %s: %s", strings.Join(args, " "), out)
	}
	return nil
}

// Postconf changes main.cf settings ("name=value") and reloads Postfix.
func (p *Postfix) Postconf(settings ...string) error {
	if err := p.postconf(append([]string{"-e"}, settings...)...); err != nil {
		return err
	}
	return p.Reload()
}

// Reload makes Postfix re-read its configuration.
func (p *Postfix) Reload() error {
	out, err := exec.Command("postfix", "-c", p.ConfigDir, "reload").CombinedOutput()
	if err != nil {
		return fmt.Errorf("mta: postfix reload: %v\n%s", err, out)
	}
	return nil
}

// Addr is the host:port of the named listener ("smtp", "reinject", ...).
func (p *Postfix) Addr(name string) string {
	port, ok := p.Ports[name]
	if !ok {
		panic("mta: no listener " + name)
	}
	return fmt.Sprintf("127.0.0.1:%d", port)
}

// SMTPAddr is the main smtpd's address (with the milter).
func (p *Postfix) SMTPAddr() string { return p.Addr(SMTP) }

// ReinjectAddr is the address of the smtpd without milters.
func (p *Postfix) ReinjectAddr() string { return p.Addr(Reinject) }

func (p *Postfix) masterPID() int {
	b, err := os.ReadFile(filepath.Join(p.DataDir, "master.lock"))
	if err != nil {
		b, err = os.ReadFile(filepath.Join(p.QueueDir, "pid", "master.pid"))
		if err != nil {
			return 0
		}
	}
	pid, _ := strconv.Atoi(strings.TrimSpace(string(b)))
	return pid
}

func (p *Postfix) waitMasterGone(d time.Duration) bool {
	pid := p.masterPID()
	if pid <= 0 {
		return true
	}
	deadline := time.Now().Add(d)
	for time.Now().Before(deadline) {
		if err := syscall.Kill(pid, 0); err != nil {
			return true
		}
		time.Sleep(20 * time.Millisecond) // poll interval
	}
	return false
}

// Stop stops Postfix (postfix stop, then abort if the master lingers) and
// removes the instance's folder unless Options.Keep. Safe to call twice.
func (p *Postfix) Stop() error {
	p.stopOnce.Do(func() {
		pid := p.masterPID()
		out, err := exec.Command("postfix", "-c", p.ConfigDir, "stop").CombinedOutput()
		if err != nil {
			p.stopErr = fmt.Errorf("mta: postfix stop: %v\n%s", err, out)
		}
		if !p.waitMasterGone(10 * time.Second) {
			exec.Command("postfix", "-c", p.ConfigDir, "abort").Run()
			if pid > 0 {
				syscall.Kill(pid, syscall.SIGKILL)
			}
			p.waitMasterGone(5 * time.Second)
		}
		if !p.keep {
			os.RemoveAll(p.Dir)
		}
	})
	return p.stopErr
}
