package milter

import (
	"errors"
	"fmt"
	"net"
	"os"
	"strings"
	"time"
)

// SocketMode is the mode of a unix milter socket: the MTA reaches it
// through the socket's group (the package adds the postfix user to the
// postseal group), nobody else can.
const SocketMode os.FileMode = 0o660

// Listen opens the milter listener named by a `[milter] listen` value:
// "inet:HOST:PORT" or "unix:/path". A unix socket left behind by a previous
// run that ended without cleaning up (a crash, SIGKILL) is removed first,
// but only if it is a socket and nobody answers on it: a second instance
// must not steal a running one's socket. The socket gets SocketMode; it is
// removed again when the listener is closed.
func Listen(spec string) (net.Listener, error) {
	switch {
	case strings.HasPrefix(spec, "inet:"):
		l, err := net.Listen("tcp", strings.TrimPrefix(spec, "inet:"))
		if err != nil {
			return nil, fmt.Errorf("milter listen %s: %w", spec, err)
		}
		return l, nil
	case strings.HasPrefix(spec, "unix:") && len(spec) > len("unix:"):
		path := strings.TrimPrefix(spec, "unix:")
		if err := removeStaleSocket(path); err != nil {
			return nil, fmt.Errorf("milter listen %s: %w", spec, err)
		}
		l, err := net.Listen("unix", path)
		if err != nil {
			return nil, fmt.Errorf("milter listen %s: %w", spec, err)
		}
		// Go unlinks the socket file when the listener is closed (also on
		// Shutdown). Between Listen and Chmod the umask decides; the
		// socket's directory (0750, RuntimeDirectory) keeps others out.
		if err := os.Chmod(path, SocketMode); err != nil {
			l.Close()
			return nil, fmt.Errorf("milter listen %s: %w", spec, err)
		}
		return l, nil
	}
	return nil, fmt.Errorf("milter listen %q: neither inet:HOST:PORT nor unix:/path", spec)
}

func removeStaleSocket(path string) error {
	fi, err := os.Lstat(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	if fi.Mode()&os.ModeSocket == 0 {
		return fmt.Errorf("%s exists and is not a socket; not removing it", path)
	}
	if c, err := net.DialTimeout("unix", path, time.Second); err == nil {
		c.Close()
		return fmt.Errorf("%s is in use by another process (is postseal already running?)", path)
	}
	if err := os.Remove(path); err != nil && !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("remove stale socket: %w", err)
	}
	return nil
}
