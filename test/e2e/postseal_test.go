// Package e2e runs postseal against real mail software: a private Postfix
// instance on loopback, Sendmail, miltertest, GnuPG. These tests need root
// and the Debian packages `make test` installs; under CI=true a missing
// component is a failure, never a skip.
package e2e

import (
	"bytes"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

var (
	buildOnce   sync.Once
	postsealBin string
	buildErr    error
)

// postsealBinary builds cmd/postseal once per test run.
func postsealBinary(t testing.TB) string {
	t.Helper()
	buildOnce.Do(func() {
		dir, err := os.MkdirTemp("", "postseal-bin-")
		if err != nil {
			buildErr = err
			return
		}
		postsealBin = filepath.Join(dir, "postseal")
		cmd := exec.Command("go", "build", "-o", postsealBin, "./cmd/postseal")
		cmd.Dir = repoRoot()
		out, err := cmd.CombinedOutput()
		if err != nil {
			buildErr = fmt.Errorf("go build: %v\n%s", err, out)
		}
	})
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	return postsealBin
}

func repoRoot() string {
	wd, _ := os.Getwd()
	return filepath.Clean(filepath.Join(wd, "..", ".."))
}

// freePort returns a loopback TCP port that was free a moment ago.
func freePort(t testing.TB) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// Postseal is one running `postseal serve`.
type Postseal struct {
	Dir        string // its state folder (config, database, master key, spool)
	Config     string // path of its rules file
	MilterPort int
	HTTPPort   int
	cmd        *exec.Cmd
	log        *bytes.Buffer
	mu         *sync.Mutex
	exited     chan struct{} // closed when the process has ended
	exitErr    error
	stopOnce   sync.Once
}

// PostsealConfig are the settings a test may change; zero values get defaults.
type PostsealConfig struct {
	ReinjectPort int    // the MTA listener without milters (required for split)
	Extra        string // more TOML appended to the file (whole tables)
	StoreDSN     string // default: state dir/postseal.db
	Milter       string // default: "split"
	MilterPort   int    // default: a free port (set it when the MTA is configured first)
}

// startPostseal writes a rules file and starts `postseal serve -c FILE`,
// returning once the milter port accepts connections.
func startPostseal(t testing.TB, pc PostsealConfig) *Postseal {
	t.Helper()
	bin := postsealBinary(t)
	dir := t.TempDir()
	p := &Postseal{Dir: dir, Config: filepath.Join(dir, "postseal.toml"), MilterPort: freePort(t), HTTPPort: freePort(t)}
	if pc.MilterPort != 0 {
		p.MilterPort = pc.MilterPort
	}
	if pc.Milter == "" {
		pc.Milter = "split"
	}
	if pc.StoreDSN == "" {
		pc.StoreDSN = filepath.Join(dir, "postseal.db")
	}
	reinject := pc.ReinjectPort
	if reinject == 0 {
		reinject = 9 // discard: nothing listens, re-injection fails (temp-fail)
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

[store]
driver = "sqlite"
dsn = %q
master_key = "master.key"

[smtp]
relay = "127.0.0.1:%d"
from = "postseal@example.org"
%s
`, p.MilterPort, reinject, pc.Milter, p.HTTPPort, p.HTTPPort, pc.StoreDSN, reinject, pc.Extra)
	if err := os.WriteFile(p.Config, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	p.log = &bytes.Buffer{}
	p.mu = &sync.Mutex{}
	p.cmd = exec.Command(bin, "serve", "-c", p.Config)
	p.cmd.Dir = dir
	w := &lockedWriter{mu: p.mu, w: p.log}
	p.cmd.Stdout, p.cmd.Stderr = w, w
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	p.exited = make(chan struct{})
	go func() { p.exitErr = p.cmd.Wait(); close(p.exited) }()
	t.Cleanup(func() {
		p.Stop(t)
		if t.Failed() {
			t.Logf("postseal log:\n%s", p.Log())
		}
	})
	deadline := time.Now().Add(20 * time.Second)
	for {
		c, err := net.DialTimeout("tcp", fmt.Sprintf("127.0.0.1:%d", p.MilterPort), time.Second)
		if err == nil {
			c.Close()
			return p
		}
		select {
		case <-p.exited:
			t.Fatalf("postseal exited at start: %v\n%s", p.exitErr, p.Log())
		case <-time.After(20 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			t.Fatalf("postseal milter not listening after 20s\n%s", p.Log())
		}
	}
}

// Stop ends the process (SIGTERM, then SIGKILL after 10s); safe to call twice.
func (p *Postseal) Stop(t testing.TB) {
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

// Log returns what the process has written so far.
func (p *Postseal) Log() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.log.String()
}

// Run runs another postseal subcommand against the same rules file.
func (p *Postseal) Run(t testing.TB, args ...string) string {
	t.Helper()
	// `envelope` and `account` take their flags after their own
	// subcommand: postseal envelope key -c FILE ID.
	n := 1
	if len(args) > 1 && (args[0] == "envelope" || args[0] == "account") {
		n = 2
	}
	full := append(append(append([]string{}, args[:n]...), "-c", p.Config), args[n:]...)
	cmd := exec.Command(postsealBinary(t), full...)
	cmd.Dir = p.Dir
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("postseal %s: %v\n%s", strings.Join(full, " "), err, stderr.String())
	}
	return string(out)
}

type lockedWriter struct {
	mu *sync.Mutex
	w  *bytes.Buffer
}

func (l *lockedWriter) Write(b []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(b)
}

// needRoot fails (CI) or skips (a developer's non-root shell) a test that
// needs to run mail software as root.
func needRoot(t testing.TB) {
	t.Helper()
	if os.Geteuid() == 0 {
		return
	}
	if os.Getenv("CI") != "" {
		t.Fatal("e2e tests must run as root in CI")
	}
	t.Skip("e2e tests need root (run make test as root)")
}
