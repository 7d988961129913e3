package mta

import (
	"bytes"
	"fmt"
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

// BuildPostseal builds cmd/postseal from the repository at root into dir,
// the way `make build` and `make package` do (static, -trimpath): the tests
// run what ships, and the package test's build reuses the compiled code.
func BuildPostseal(root, dir string) (string, error) {
	bin := filepath.Join(dir, "postseal")
	cmd := exec.Command("go", "build", "-trimpath", "-o", bin, "./cmd/postseal")
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	cmd.Dir = root
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("go build ./cmd/postseal: %v\n%s", err, out)
	}
	return bin, nil
}

// PostsealConfig are the settings of a test postseal; zero values get
// defaults.
type PostsealConfig struct {
	ReinjectPort int    // the MTA listener without milters (required for split)
	RelayPort    int    // [smtp] relay; default ReinjectPort (set it to the milter's listener to run postseal's own mail through it)
	Extra        string // more TOML appended to the file (whole tables)
	Keyserver    string // more lines of the [keyserver] table
	StoreDSN     string // default: state dir/postseal.db
	StoreDriver  string // "sqlite" (default) or "postgres"
	MasterKey    string // default: state dir/master.key (created at first start)
	Milter       string // mixed_recipients, default "split"
	MilterPort   int    // default: a free port (set it when the MTA is configured first)
}

// Postseal is one running `postseal serve`.
type Postseal struct {
	Bin        string
	Dir        string // its state folder (config, database, master key, spool)
	Config     string // path of its rules file
	MilterPort int
	HTTPPort   int
	cmd        *exec.Cmd
	log        LogBuffer
	exited     chan struct{} // closed when the process has ended
	exitErr    error
	stopOnce   sync.Once
}

// StartPostseal writes a rules file into dir (split delivery; internal
// domains example.org and *.example.org) and starts `postseal serve -c
// FILE`, returning once the milter port accepts connections.
func StartPostseal(bin, dir string, pc PostsealConfig) (*Postseal, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, err
	}
	p := &Postseal{Bin: bin, Dir: dir, Config: filepath.Join(dir, "postseal.toml"), MilterPort: pc.MilterPort, exited: make(chan struct{})}
	var err error
	if p.MilterPort == 0 {
		if p.MilterPort, err = FreePort(); err != nil {
			return nil, err
		}
	}
	if p.HTTPPort, err = FreePort(); err != nil {
		return nil, err
	}
	if pc.Milter == "" {
		pc.Milter = "split"
	}
	if pc.StoreDriver == "" {
		pc.StoreDriver = "sqlite"
	}
	if pc.MasterKey == "" {
		pc.MasterKey = filepath.Join(dir, "master.key")
	}
	if pc.StoreDSN == "" {
		pc.StoreDSN = filepath.Join(dir, "postseal.db")
	}
	reinject := pc.ReinjectPort
	if reinject == 0 {
		reinject = 9 // discard: nothing listens, re-injection fails (temp-fail)
	}
	relay := pc.RelayPort
	if relay == 0 {
		relay = reinject
	}
	cfg := fmt.Sprintf(`[milter]
listen = "inet:127.0.0.1:%d"
reinject = "127.0.0.1:%d"
mixed_recipients = %q
spool_dir = "spool"

[organization]
name = "Example Health"
internal_domains = ["example.org", "*.example.org"]
help_url = "https://help.example.org/secure"
support = "Call the service desk at +1 555 0100."

[keyserver]
listen = "127.0.0.1:%d"
public_url = "http://127.0.0.1:%d"
%s
[store]
driver = %q
dsn = %q
master_key = %q

[smtp]
relay = "127.0.0.1:%d"
from = "postseal@example.org"
%s
`, p.MilterPort, reinject, pc.Milter, p.HTTPPort, p.HTTPPort, pc.Keyserver, pc.StoreDriver, pc.StoreDSN, pc.MasterKey, relay, pc.Extra)
	if err := os.WriteFile(p.Config, []byte(cfg), 0o600); err != nil {
		return nil, err
	}
	p.cmd = exec.Command(bin, "serve", "-c", p.Config)
	p.cmd.Dir = dir
	p.cmd.Stdout, p.cmd.Stderr = &p.log, &p.log
	if err := p.cmd.Start(); err != nil {
		return nil, err
	}
	go func() { p.exitErr = p.cmd.Wait(); close(p.exited) }()
	deadline := time.Now().Add(20 * time.Second)
	for {
		c, err := net.DialTimeout("tcp", fmt.Sprintf("127.0.0.1:%d", p.MilterPort), time.Second)
		if err == nil {
			c.Close()
			return p, nil
		}
		select {
		case <-p.exited:
			return nil, fmt.Errorf("postseal exited at start: %v\n%s", p.exitErr, p.Log())
		case <-time.After(20 * time.Millisecond): // poll interval
		}
		if time.Now().After(deadline) {
			p.Stop()
			return nil, fmt.Errorf("postseal milter not listening after 20s\n%s", p.Log())
		}
	}
}

// Stop ends the process (SIGTERM, then SIGKILL after 10s); safe to call twice.
func (p *Postseal) Stop() {
	p.stopOnce.Do(func() {
		_ = p.cmd.Process.Signal(os.Interrupt)
		select {
		case <-p.exited:
		case <-time.After(10 * time.Second):
			_ = p.cmd.Process.Kill()
			<-p.exited
		}
	})
}

// PID is the process id of the running postseal.
func (p *Postseal) PID() int { return p.cmd.Process.Pid }

// Log returns what the process has written so far.
func (p *Postseal) Log() string { return p.log.String() }

// LogTail returns the last n lines of the log.
func (p *Postseal) LogTail(n int) string {
	lines := strings.Split(strings.TrimRight(p.Log(), "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

// Command runs another postseal subcommand against the same rules file and
// returns its standard output.
func (p *Postseal) Command(args ...string) (string, error) {
	full := append([]string{}, args[0], "-c", p.Config)
	full = append(full, args[1:]...)
	cmd := exec.Command(p.Bin, full...)
	cmd.Dir = p.Dir
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return string(out), fmt.Errorf("postseal %s: %v\n%s", strings.Join(full, " "), err, stderr.String())
	}
	return string(out), nil
}

// LogBuffer collects a process's output written from several pipes.
type LogBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *LogBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *LogBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// Reload sends SIGHUP (re-read the rules file).
func (p *Postseal) Reload() error { return p.Signal(syscall.SIGHUP) }

// Signal sends sig to the process.
func (p *Postseal) Signal(sig os.Signal) error { return p.cmd.Process.Signal(sig) }

// Wait waits for the process to end and returns how it ended.
func (p *Postseal) Wait(timeout time.Duration) error {
	select {
	case <-p.exited:
		return p.exitErr
	case <-time.After(timeout):
		return fmt.Errorf("postseal still running after %v", timeout)
	}
}

// WaitLog waits until the log has gained a line containing every one of
// subs after the first `after` bytes, and returns the offset past it.
func (p *Postseal) WaitLog(after int, timeout time.Duration, subs ...string) (int, error) {
	deadline := time.Now().Add(timeout)
	for {
		log := p.Log()
		if after <= len(log) {
			for _, line := range strings.SplitAfter(log[after:], "\n") {
				all := strings.HasSuffix(line, "\n")
				for _, s := range subs {
					all = all && strings.Contains(line, s)
				}
				if all {
					return after + strings.Index(log[after:], line) + len(line), nil
				}
			}
		}
		if time.Now().After(deadline) {
			return 0, fmt.Errorf("no log line with %q after %v:\n%s", subs, timeout, p.LogTail(20))
		}
		select {
		case <-p.exited:
			return 0, fmt.Errorf("postseal exited: %v\n%s", p.exitErr, p.LogTail(20))
		case <-time.After(20 * time.Millisecond): // poll interval
		}
	}
}

// Usage is the process's CPU time so far (user + system) and its resident
// set size, read from /proc (Linux).
func (p *Postseal) Usage() (cpu time.Duration, rssBytes int64, err error) {
	return ProcUsage(p.cmd.Process.Pid)
}

// ProcUsage reads a process's CPU time (user + system) and resident set
// size from /proc/PID.
func ProcUsage(pid int) (cpu time.Duration, rssBytes int64, err error) {
	stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, 0, err
	}
	// The command name (field 2) is in parentheses and may hold spaces:
	// fields are counted after its closing one. utime and stime are
	// fields 14 and 15, in clock ticks (100 per second on Linux).
	s := string(stat)
	f := strings.Fields(s[strings.LastIndexByte(s, ')')+1:])
	if len(f) < 13 {
		return 0, 0, fmt.Errorf("/proc/%d/stat: %d fields", pid, len(f))
	}
	ut, err1 := strconv.ParseInt(f[11], 10, 64)
	st, err2 := strconv.ParseInt(f[12], 10, 64)
	if err1 != nil || err2 != nil {
		return 0, 0, fmt.Errorf("/proc/%d/stat: utime %q stime %q", pid, f[11], f[12])
	}
	status, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, 0, err
	}
	for _, line := range strings.Split(string(status), "\n") {
		if v, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			kb, err := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64)
			if err != nil {
				return 0, 0, fmt.Errorf("/proc/%d/status: VmRSS %q", pid, v)
			}
			rssBytes = kb << 10
		}
	}
	return time.Duration(ut+st) * 10 * time.Millisecond, rssBytes, nil
}
