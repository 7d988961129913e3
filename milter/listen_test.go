package milter

import (
	"net"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/d--j/go-milter"
)

// TestListenUnixSocket: a message is filtered over a unix socket that has
// the group-accessible mode, and the socket is gone once the server shut
// down.
func TestListenUnixSocket(t *testing.T) {
	path := filepath.Join(t.TempDir(), "milter.sock")
	old := syscall.Umask(0o077) // the mode must not depend on the umask
	l, err := Listen("unix:" + path)
	syscall.Umask(old)
	if err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode()&os.ModeSocket == 0 || fi.Mode().Perm() != SocketMode {
		t.Errorf("socket mode %v, want socket %v", fi.Mode(), SocketMode)
	}
	srv := newFilter(t, newMemStore(), &fakeSender{}).NewServer()
	served := make(chan error, 1)
	go func() { served <- srv.Serve(l) }()
	r := runSessionOn(t, l.Addr(), "doc@example.org", []string{"pat@ext.example"}, protoHeaders, []byte(testBody))
	if r.final.Type != milter.ActionAccept || len(r.mods) == 0 {
		t.Fatalf("over the unix socket: final %+v with %d changes; want a sealed accept", r.final, len(r.mods))
	}
	if err := srv.Shutdown(t.Context()); err != nil {
		t.Fatal(err)
	}
	if err := <-served; err != nil {
		t.Fatal(err)
	}
	if _, err := os.Lstat(path); !os.IsNotExist(err) {
		t.Errorf("socket still there after shutdown (err %v)", err)
	}
}

// TestListenStaleSocket: a socket left by a killed run is replaced; a live
// one and a file that is not a socket are left alone with a clear error.
func TestListenStaleSocket(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "milter.sock")
	// A dead process's socket: the file stays, nobody accepts on it.
	ul, err := net.ListenUnix("unix", &net.UnixAddr{Name: path, Net: "unix"})
	if err != nil {
		t.Fatal(err)
	}
	ul.SetUnlinkOnClose(false)
	ul.Close()
	l, err := Listen("unix:" + path)
	if err != nil {
		t.Fatalf("stale socket not replaced: %v", err)
	}
	defer l.Close()

	if _, err := Listen("unix:" + path); err == nil || !strings.Contains(err.Error(), "in use") {
		t.Errorf("second listener on a live socket: %v; want an in-use error", err)
	}
	if _, err := os.Lstat(path); err != nil {
		t.Errorf("the live socket was removed: %v", err)
	}

	file := filepath.Join(dir, "not-a-socket")
	if err := os.WriteFile(file, []byte("keep me"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := Listen("unix:" + file); err == nil || !strings.Contains(err.Error(), "not a socket") {
		t.Errorf("listen over a regular file: %v; want a not-a-socket error", err)
	}
	if b, _ := os.ReadFile(file); string(b) != "keep me" {
		t.Error("a regular file in the socket's place was touched")
	}
}

func TestListenBadSpec(t *testing.T) {
	for _, spec := range []string{"", "tcp:127.0.0.1:1", "unix:"} {
		if _, err := Listen(spec); err == nil {
			t.Errorf("Listen(%q) succeeded", spec)
		}
	}
}
