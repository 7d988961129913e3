package e2e

import (
	"bufio"
	"bytes"
	"debug/elf"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/postseal/postseal/test/mta"
)

// TestPackage builds the .deb and .rpm (make package), installs the .deb
// on this machine with dpkg, runs the installed binary with the installed
// configuration the way the installed systemd unit would (its ExecStart,
// User, Group, UMask and RuntimeDirectory — there is no systemd in CI),
// sends a *secure* message through a private Postfix configured from the
// shipped main.cf.snippet as is (the packaged unix socket), and then
// removes and purges the package, checking what each step keeps.
//
// It changes the system (a package, a user, /var/lib/postseal), so it runs
// only as root, refuses to run where postseal is already installed, and
// purges the package when it ends, failed or not.
func TestPackage(t *testing.T) {
	needRoot(t)
	for _, tool := range []string{"dpkg", "dpkg-deb", "lintian", "rpm", "make", "setpriv", "postconf", "systemd-analyze"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Fatalf("%s not found (make test-deps installs it): %v", tool, err)
		}
	}
	// One package test per machine at a time: two test runs (two
	// developers, or make test beside a single package's tests) would
	// install and purge the same package under each other.
	lock, err := os.OpenFile("/run/lock/postseal-package-test.lock", os.O_CREATE|os.O_RDWR, 0o600)
	if err != nil {
		t.Fatal(err)
	}
	if err := syscall.Flock(int(lock.Fd()), syscall.LOCK_EX); err != nil {
		lock.Close()
		t.Fatal(err)
	}
	// Registered first, so it runs last: after the purge below.
	t.Cleanup(func() { lock.Close() }) // closing releases the lock
	if out, err := exec.Command("dpkg-query", "-W", "-f=${db:Status-Status}", "postseal").Output(); err == nil && len(out) > 0 && string(out) != "not-installed" {
		t.Fatalf("postseal is already on this machine (dpkg status %q); this test installs and purges it, so it will not run here", out)
	}
	start := time.Now()

	dist := t.TempDir()
	makePackage := exec.Command("make", "package", "DIST="+dist)
	makePackage.Dir = repoRoot()
	for _, kv := range os.Environ() {
		// Under `make test`, the outer make's job server is not ours.
		if !strings.HasPrefix(kv, "MAKEFLAGS=") && !strings.HasPrefix(kv, "MFLAGS=") && !strings.HasPrefix(kv, "MAKELEVEL=") {
			makePackage.Env = append(makePackage.Env, kv)
		}
	}
	if out, err := makePackage.CombinedOutput(); err != nil {
		t.Fatalf("make package: %v\n%s", err, out)
	}
	deb, rpm := glob1(t, dist, "postseal_*_amd64.deb"), glob1(t, dist, "postseal-*.x86_64.rpm")
	for _, p := range []string{deb, rpm} {
		fi, _ := os.Stat(p)
		t.Logf("%s: %d bytes", filepath.Base(p), fi.Size())
	}

	t.Run("lintian", func(t *testing.T) {
		out, _ := exec.Command("lintian", "--tag-display-limit", "0", deb).CombinedOutput()
		counts := map[string]int{}
		for _, l := range strings.Split(string(out), "\n") {
			if len(l) > 2 && l[1] == ':' && strings.Contains("EWIPXO", l[:1]) {
				counts[l[:1]]++
				if l[0] == 'E' {
					t.Errorf("lintian: %s", l)
				}
			}
		}
		t.Logf("lintian: %d errors, %d warnings (overridden tags are not shown: packaging/lintian/postseal)\n%s", counts["E"], counts["W"], out)
	})

	t.Run("rpm", func(t *testing.T) {
		if out := run(t, "", "rpm", "-K", "--nosignature", rpm); !strings.Contains(out, "digests OK") {
			t.Errorf("rpm -K: %s", out)
		}
		info := run(t, "", "rpm", "-qip", rpm)
		for _, want := range []string{"Name        : postseal", "Architecture: x86_64", "Summary     : secure-email gateway"} {
			if !strings.Contains(info, want) {
				t.Errorf("rpm -qip lacks %q:\n%s", want, info)
			}
		}
		list := run(t, "", "rpm", "-qlp", rpm)
		for _, want := range []string{"/usr/sbin/postseal", "/etc/postseal/postseal.toml", "/usr/lib/systemd/system/postseal.service",
			"/usr/share/man/man8/postseal.8.gz", "/usr/share/man/man5/postseal.toml.5.gz", "/usr/share/doc/postseal/copyright",
			"/usr/share/doc/postseal/postfix/main.cf.snippet", "/usr/share/doc/postseal/postfix/master.cf.snippet",
			"/usr/share/doc/postseal/sendmail/postseal.mc"} {
			if !strings.Contains("\n"+list, "\n"+want+"\n") {
				t.Errorf("rpm -qlp lacks %s:\n%s", want, list)
			}
		}
		// The configuration is a %config(noreplace) file, group postseal.
		if dump := run(t, "", "rpm", "-qp", "--dump", rpm); !lineWith(dump, "/etc/postseal/postseal.toml ", " 0100640 root postseal 1 ") {
			t.Errorf("rpm: postseal.toml is not a 0640 root:postseal config file:\n%s", dump)
		}
	})

	t.Cleanup(func() {
		// Purge whatever state the test got to; -P on a package that is not
		// there is harmless.
		if out, err := exec.Command("dpkg", "-P", "postseal").CombinedOutput(); err != nil {
			t.Errorf("cleanup: dpkg -P postseal: %v\n%s", err, out)
		}
		os.RemoveAll("/run/postseal")
	})
	run(t, "", "dpkg", "-i", deb)

	// Installed: user and group, postfix in the group, files and modes.
	u, err := user.Lookup("postseal")
	if err != nil {
		t.Fatalf("no postseal user after installation: %v", err)
	}
	g, err := user.LookupGroup("postseal")
	if err != nil {
		t.Fatalf("no postseal group after installation: %v", err)
	}
	if pf, err := user.Lookup("postfix"); err == nil {
		gids, _ := pf.GroupIds()
		if !slices.Contains(gids, g.Gid) {
			t.Errorf("the postfix user is not in group postseal (groups %v)", gids)
		}
	}
	uid, _ := strconv.Atoi(u.Uid)
	gid, _ := strconv.Atoi(g.Gid)
	for _, f := range []struct {
		path     string
		mode     os.FileMode
		uid, gid int
	}{
		{"/usr/sbin/postseal", 0o755, 0, 0},
		{"/etc/postseal/postseal.toml", 0o640, 0, gid},
		{"/var/lib/postseal", os.ModeDir | 0o750, uid, gid},
		{"/var/lib/postseal/master.key", 0o600, uid, gid},
		{"/lib/systemd/system/postseal.service", 0o644, 0, 0},
		{"/usr/share/man/man8/postseal.8.gz", 0o644, 0, 0},
		{"/usr/share/man/man5/postseal.toml.5.gz", 0o644, 0, 0},
		{"/usr/share/doc/postseal/copyright", 0o644, 0, 0},
		{"/usr/share/doc/postseal/changelog.Debian.gz", 0o644, 0, 0},
		{"/usr/share/doc/postseal/postfix/main.cf.snippet", 0o644, 0, 0},
	} {
		checkFile(t, f.path, f.mode, f.uid, f.gid)
	}
	// Enabled the way debhelper enables services (deb-systemd-helper).
	const wants = "/etc/systemd/system/multi-user.target.wants/postseal.service"
	if target, err := os.Readlink(wants); err != nil || target != "/lib/systemd/system/postseal.service" {
		t.Errorf("the service is not enabled after installation: %s -> %q (%v)", wants, target, err)
	}
	key, err := os.ReadFile("/var/lib/postseal/master.key")
	if err != nil {
		t.Fatal(err)
	}
	checkStatic(t, "/usr/sbin/postseal")
	// Installing again (an upgrade or a reinstall) keeps the master key.
	run(t, "", "dpkg", "-i", deb)
	if again, _ := os.ReadFile("/var/lib/postseal/master.key"); !bytes.Equal(again, key) {
		t.Fatal("reinstalling replaced the master key")
	}
	if out, _ := exec.Command("systemd-analyze", "verify", "/lib/systemd/system/postseal.service").CombinedOutput(); len(bytes.TrimSpace(out)) > 0 {
		for _, l := range strings.Split(strings.TrimSpace(string(out)), "\n") {
			// Without a running systemd, verify may still complain of
			// things outside the unit (man pages it cannot run man for).
			if !strings.Contains(l, "Command 'man ") {
				t.Errorf("systemd-analyze verify: %s", l)
			}
		}
	}

	// The hardening as systemd rates it (lower is better; "OK" is below 2).
	sec, _ := exec.Command("systemd-analyze", "security", "--offline=true", "--no-pager", "/lib/systemd/system/postseal.service").CombinedOutput()
	if m := exposureRe.FindSubmatch(sec); m == nil {
		t.Errorf("systemd-analyze security printed no exposure level:\n%s", sec)
	} else if v, _ := strconv.ParseFloat(string(m[1]), 64); v >= 2 {
		t.Errorf("systemd-analyze security: exposure %s, want below 2:\n%s", m[1], sec)
	} else {
		t.Logf("systemd-analyze security: exposure %s", m[1])
	}

	// Run it as the unit would.
	unit := readUnit(t, "/lib/systemd/system/postseal.service")
	if unit["User"] != "postseal" || unit["Group"] != "postseal" || unit["RuntimeDirectory"] != "postseal" {
		t.Fatalf("unit: User=%q Group=%q RuntimeDirectory=%q", unit["User"], unit["Group"], unit["RuntimeDirectory"])
	}
	runtimeMode, err := strconv.ParseUint(unit["RuntimeDirectoryMode"], 8, 32)
	if err != nil {
		t.Fatalf("unit: RuntimeDirectoryMode=%q", unit["RuntimeDirectoryMode"])
	}
	umask, err := strconv.ParseUint(unit["UMask"], 8, 32)
	if err != nil {
		t.Fatalf("unit: UMask=%q", unit["UMask"])
	}
	rundir := "/run/" + unit["RuntimeDirectory"]
	if err := os.RemoveAll(rundir); err != nil {
		t.Fatal(err)
	}
	if err := os.Mkdir(rundir, os.FileMode(runtimeMode)); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(rundir, os.FileMode(runtimeMode)); err != nil {
		t.Fatal(err)
	}
	if err := os.Chown(rundir, uid, gid); err != nil {
		t.Fatal(err)
	}
	// User= and Group= with the user's supplementary groups, an empty
	// capability bounding set and NoNewPrivileges, as the unit says.
	execStart := strings.Fields(unit["ExecStart"])
	args := append([]string{"-c", fmt.Sprintf("umask %04o && exec \"$@\"", umask), "sh",
		"setpriv", "--reuid=" + unit["User"], "--regid=" + unit["Group"], "--init-groups",
		"--no-new-privs", "--bounding-set=-all", "--inh-caps=-all", "--"}, execStart...)
	cmd := exec.Command("/bin/sh", args...)
	cmd.Dir = "/"
	var log mta.LogBuffer
	cmd.Stdout, cmd.Stderr = &log, &log
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	stopped := false
	stop := func() error {
		if stopped {
			return nil
		}
		stopped = true
		_ = cmd.Process.Signal(syscall.SIGTERM)
		select {
		case err := <-exited:
			return err
		case <-time.After(30 * time.Second):
			_ = cmd.Process.Kill()
			<-exited
			return errors.New("postseal did not stop within 30s of SIGTERM")
		}
	}
	t.Cleanup(func() {
		_ = stop()
		if t.Failed() {
			t.Logf("installed postseal's log:\n%s", log.String())
		}
	})
	socket := strings.TrimPrefix(mta.SnippetSocket, "unix:")
	waitUnixSocket(t, socket, exited, &log)
	checkFile(t, socket, os.ModeSocket|0o660, uid, gid)

	// The shipped main.cf.snippet as is: the private Postfix reaches the
	// installed postseal over the packaged socket, as user postfix through
	// the postseal group.
	pf := startPostfix(t, mta.Options{Milter: mta.SnippetSocket})
	if got := run(t, "", "postconf", "-c", pf.ConfigDir, "-h", "smtpd_milters"); strings.TrimSpace(got) != mta.SnippetSocket {
		t.Fatalf("the private Postfix's smtpd_milters is %q, want the shipped %q", got, mta.SnippetSocket)
	}
	rcpt := "pat@partner.example.net"
	msg := []byte("From: Dr Who <doc@example.org>\nTo: <" + rcpt + ">\nSubject: *secure* Discharge summary\n" +
		"Date: Mon, 23 Nov 2026 16:00:00 +0000\nMessage-ID: <package-test@example.org>\n\nPatient Jane Roe is ready for discharge.\n")
	mark := postfixMustAccept(t, pf, mta.SMTP, postfixSender, []string{rcpt}, msg)
	d := postfixWait(t, pf, mark, rcpt, 1)[0]
	postfixCheckHidden(t, d, "Jane Roe")
	// The envelope's key, read the way an admin would: the installed
	// binary as user postseal on the installed configuration.
	admin := filepath.Join(t.TempDir(), "postseal-as-postseal")
	if err := os.WriteFile(admin, []byte("#!/bin/sh\nexec setpriv --reuid=postseal --regid=postseal --init-groups -- /usr/sbin/postseal \"$@\"\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	installed := &Postseal{&mta.Postseal{Bin: admin, Config: "/etc/postseal/postseal.toml", Dir: "/"}}
	s := postfixOpenSealed(t, installed, d)
	if s.Subject != "Discharge summary [-Encrypted-]" || !bytes.Contains(s.Payload, []byte("Jane Roe")) {
		t.Errorf("sealed copy: subject %q, payload holds the message: %v", s.Subject, bytes.Contains(s.Payload, []byte("Jane Roe")))
	}
	if !strings.Contains(log.String(), "outcome=sealed") {
		t.Errorf("no decision line in the log:\n%s", log.String())
	}

	if err := stop(); err != nil {
		t.Errorf("SIGTERM: %v", err)
	}
	if _, err := os.Lstat(socket); !os.IsNotExist(err) {
		t.Errorf("the socket is still there after the stop (%v)", err)
	}

	// Remove: the program goes, state, configuration and user stay.
	run(t, "", "dpkg", "-r", "postseal")
	for _, gone := range []string{"/usr/sbin/postseal", "/lib/systemd/system/postseal.service"} {
		if _, err := os.Stat(gone); !os.IsNotExist(err) {
			t.Errorf("after dpkg -r, %s is still there", gone)
		}
	}
	if again, err := os.ReadFile("/var/lib/postseal/master.key"); err != nil || !bytes.Equal(again, key) {
		t.Errorf("dpkg -r must keep the master key: %v", err)
	}
	for _, kept := range []string{"/var/lib/postseal/postseal.db", "/etc/postseal/postseal.toml"} {
		if _, err := os.Stat(kept); err != nil {
			t.Errorf("dpkg -r must keep %s: %v", kept, err)
		}
	}
	if _, err := user.Lookup("postseal"); err != nil {
		t.Errorf("dpkg -r must keep the postseal user: %v", err)
	}
	const mask = "/etc/systemd/system/postseal.service"
	if target, err := os.Readlink(mask); err != nil || target != "/dev/null" {
		t.Errorf("after dpkg -r the unit should be masked: %s -> %q (%v)", mask, target, err)
	}

	// Purge: state, configuration, user and group go.
	run(t, "", "dpkg", "-P", "postseal")
	for _, gone := range []string{"/var/lib/postseal", "/etc/postseal/postseal.toml"} {
		if _, err := os.Stat(gone); !os.IsNotExist(err) {
			t.Errorf("after dpkg -P, %s is still there", gone)
		}
	}
	if _, err := user.Lookup("postseal"); err == nil {
		t.Error("after dpkg -P, the postseal user is still there")
	}
	if _, err := user.LookupGroup("postseal"); err == nil {
		t.Error("after dpkg -P, the postseal group is still there")
	}
	for _, gone := range []string{wants, mask} {
		if _, err := os.Lstat(gone); !os.IsNotExist(err) {
			t.Errorf("after dpkg -P, %s is still there", gone)
		}
	}
	if out, _ := exec.Command("dpkg-statoverride", "--list", "/etc/postseal/postseal.toml").Output(); len(out) > 0 {
		t.Errorf("after dpkg -P, a statoverride is left: %s", out)
	}
	t.Logf("package test took %v", time.Since(start).Round(time.Millisecond))
}

var exposureRe = regexp.MustCompile(`Overall exposure level for postseal\.service: ([0-9.]+)`)

// run runs a command (in dir, if set) and returns its standard output; a
// failure ends the test with everything it printed.
func run(t *testing.T, dir, name string, args ...string) string {
	t.Helper()
	cmd := exec.Command(name, args...)
	cmd.Dir = dir
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("%s %s: %v\n%s%s", name, strings.Join(args, " "), err, out, stderr.String())
	}
	return string(out)
}

func glob1(t *testing.T, dir, pattern string) string {
	t.Helper()
	m, _ := filepath.Glob(filepath.Join(dir, pattern))
	if len(m) != 1 {
		t.Fatalf("%s in %s: %v, want one file", pattern, dir, m)
	}
	return m[0]
}

func checkFile(t *testing.T, path string, mode os.FileMode, uid, gid int) {
	t.Helper()
	fi, err := os.Lstat(path)
	if err != nil {
		t.Errorf("%s: %v", path, err)
		return
	}
	st := fi.Sys().(*syscall.Stat_t)
	if fi.Mode() != mode || int(st.Uid) != uid || int(st.Gid) != gid {
		t.Errorf("%s: %v %d:%d, want %v %d:%d", path, fi.Mode(), st.Uid, st.Gid, mode, uid, gid)
	}
}

// readUnit reads the [Service] settings of a systemd unit (the last value
// of a key wins, as systemd reads single-valued keys).
func readUnit(t *testing.T, path string) map[string]string {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]string{}
	section := ""
	sc := bufio.NewScanner(bytes.NewReader(data))
	for sc.Scan() {
		l := strings.TrimSpace(sc.Text())
		switch {
		case l == "" || strings.HasPrefix(l, "#") || strings.HasPrefix(l, ";"):
		case strings.HasPrefix(l, "["):
			section = l
		case section == "[Service]":
			if k, v, ok := strings.Cut(l, "="); ok {
				out[strings.TrimSpace(k)] = strings.TrimSpace(v)
			}
		}
	}
	return out
}

// waitUnixSocket waits until something accepts connections on path.
func waitUnixSocket(t *testing.T, path string, exited chan error, log *mta.LogBuffer) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		if c, err := net.DialTimeout("unix", path, time.Second); err == nil {
			c.Close()
			return
		}
		select {
		case err := <-exited:
			t.Fatalf("the installed postseal exited at start: %v\n%s", err, log.String())
		case <-time.After(20 * time.Millisecond): // poll interval
		}
		if time.Now().After(deadline) {
			t.Fatalf("nothing listens on %s after 20s\n%s", path, log.String())
		}
	}
}

// checkStatic fails unless path is an ELF program that needs no dynamic
// loader: the package's promise of one binary for every distribution.
func checkStatic(t *testing.T, path string) {
	t.Helper()
	f, err := elf.Open(path)
	if err != nil {
		t.Errorf("%s: %v", path, err)
		return
	}
	defer f.Close()
	for _, p := range f.Progs {
		if p.Type == elf.PT_INTERP || p.Type == elf.PT_DYNAMIC {
			t.Errorf("%s is dynamically linked (it has %v)", path, p.Type)
		}
	}
}

// lineWith reports whether a line of text contains both parts.
func lineWith(text, a, b string) bool {
	for _, l := range strings.Split(text, "\n") {
		if strings.Contains(l, a) && strings.Contains(l, b) {
			return true
		}
	}
	return false
}
