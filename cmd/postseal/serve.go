package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/d--j/go-milter/mailfilter"
	"github.com/postseal/postseal/mailer"
	"github.com/postseal/postseal/milter"
	"github.com/postseal/postseal/store"
)

// bodyInMemory is how much of a message body is kept in memory; larger
// bodies spill to the private spool folder.
const bodyInMemory = 2 << 20

// bodyLimit is the largest body collected. The MTA's own size limit is the
// real bound; this one only keeps a runaway client from filling the disk.
const bodyLimit = 1 << 34

// drainTimeout bounds how long SIGTERM waits for messages in flight.
const drainTimeout = 60 * time.Second

func cmdServe(ctx context.Context, args []string, _ io.Reader, _, stderr io.Writer) error {
	fs, cfgPath := newFlags("serve", stderr)
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	log := newLogger(stderr)
	policy, err := loadPolicy(*cfgPath)
	if err != nil {
		return err
	}
	cfg := policy.Config
	if err := prepareSpool(cfg.Milter.SpoolDir); err != nil {
		return err
	}
	st, err := openStore(ctx, cfg, true)
	if err != nil {
		return err
	}
	defer st.Close()

	filter := milter.New(policy, st, &mailer.SMTP{Addr: cfg.Milter.Reinject}, log)
	network, address, err := splitListen(cfg.Milter.Listen)
	if err != nil {
		return err
	}
	mf, err := mailfilter.New(network, address, filter.Decide, filter.Options(bodyInMemory, bodyLimit)...)
	if err != nil {
		return fmt.Errorf("milter listen %s: %w", cfg.Milter.Listen, err)
	}
	httpSrv, err := serveHTTP(cfg.Keyserver.Listen, st, log)
	if err != nil {
		mf.Close()
		return err
	}
	log.Info("postseal started", "version", version, "config", configName(cfg), "milter", cfg.Milter.Listen, "keyserver", cfg.Keyserver.Listen, "store", cfg.Store.Driver)

	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, syscall.SIGHUP, syscall.SIGTERM, syscall.SIGINT)
	defer signal.Stop(sigs)
	for sig := range sigs {
		if sig == syscall.SIGHUP {
			reload(*cfgPath, filter, log)
			continue
		}
		log.Info("stopping: finishing messages in flight", "signal", sig.String())
		break
	}
	dctx, cancel := context.WithTimeout(context.Background(), drainTimeout)
	defer cancel()
	_ = httpSrv.Shutdown(dctx)
	if err := mf.Shutdown(dctx); err != nil {
		// Messages still in flight get no answer; the MTA temp-fails them
		// (milter_default_action = tempfail) and retries: nothing is lost.
		log.Warn("milter did not drain in time", "err", err)
		mf.Close()
	}
	log.Info("postseal stopped")
	return nil
}

// reload applies a new rules file; a bad one is refused and the rules in
// force stay.
func reload(path string, filter *milter.Filter, log *slog.Logger) {
	p, err := loadPolicy(path)
	if err != nil {
		log.Error("reload refused; the previous rules stay in force", "err", err)
		return
	}
	old := filter.Policy().Config
	if p.Config.Milter.Listen != old.Milter.Listen || p.Config.Store != old.Store || p.Config.Keyserver.Listen != old.Keyserver.Listen || p.Config.Milter.SpoolDir != old.Milter.SpoolDir {
		log.Warn("reload: listen addresses, spool and store settings take effect only after a restart")
	}
	filter.SetPolicy(p)
	log.Info("rules reloaded", "config", configName(p.Config))
}

// prepareSpool creates the private folder where go-milter spills large
// bodies (plaintext mail: 0700), removes what a crash left there (those
// messages were never answered, so the MTA still has them) and points
// TMPDIR at it, which is where go-milter creates its spill files.
func prepareSpool(dir string) error {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("spool %s: %w", dir, err)
	}
	if err := os.Chmod(dir, 0o700); err != nil {
		return fmt.Errorf("spool %s: %w", dir, err)
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		return fmt.Errorf("spool %s: %w", dir, err)
	}
	for _, e := range entries {
		if err := os.RemoveAll(filepath.Join(dir, e.Name())); err != nil {
			return fmt.Errorf("spool %s: %w", dir, err)
		}
	}
	abs, err := filepath.Abs(dir)
	if err != nil {
		return err
	}
	return os.Setenv("TMPDIR", abs)
}

func splitListen(v string) (network, address string, err error) {
	switch {
	case strings.HasPrefix(v, "inet:"):
		return "tcp", strings.TrimPrefix(v, "inet:"), nil
	case strings.HasPrefix(v, "unix:"):
		path := strings.TrimPrefix(v, "unix:")
		// A socket left by a previous run would make Listen fail.
		if fi, err := os.Lstat(path); err == nil && fi.Mode()&os.ModeSocket != 0 {
			_ = os.Remove(path)
		}
		return "unix", path, nil
	}
	return "", "", usagef("milter.listen: %q is neither inet: nor unix:", v)
}

// serveHTTP starts the key service listener. For now it answers health
// checks; the key service proper is served here too when it lands.
func serveHTTP(addr string, st store.Store, log *slog.Logger) (*http.Server, error) {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		ctx, cancel := context.WithTimeout(r.Context(), 3*time.Second)
		defer cancel()
		if err := st.Ping(ctx); err != nil {
			w.WriteHeader(http.StatusServiceUnavailable)
			_ = json.NewEncoder(w).Encode(map[string]string{"status": "unavailable", "store": err.Error()})
			return
		}
		_ = json.NewEncoder(w).Encode(map[string]string{"status": "ok"})
	})
	l, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("keyserver listen %s: %w", addr, err)
	}
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	go func() {
		if err := srv.Serve(l); err != nil && !errors.Is(err, http.ErrServerClosed) {
			log.Error("key service stopped", "err", err)
		}
	}()
	return srv, nil
}
