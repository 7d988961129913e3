// Package e2e runs postseal against real mail software: a private Postfix
// instance on loopback, Sendmail, miltertest, GnuPG. These tests need root
// and the Debian packages `make test` installs; under CI=true a missing
// component is a failure, never a skip.
package e2e

import (
	"os"
	"path/filepath"
	"sync"
	"testing"

	"github.com/postseal/postseal/test/mta"
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
		postsealBin, buildErr = mta.BuildPostseal(repoRoot(), dir)
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
	p, err := mta.FreePort()
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// Postseal is one running `postseal serve`, stopped when its test ends.
type Postseal struct{ *mta.Postseal }

// PostsealConfig are the settings a test may change.
type PostsealConfig = mta.PostsealConfig

// startPostseal starts `postseal serve` on a rules file of its own and
// returns once the milter accepts connections; the log is printed if the
// test fails.
func startPostseal(t testing.TB, pc PostsealConfig) *Postseal {
	t.Helper()
	p, err := mta.StartPostseal(postsealBinary(t), t.TempDir(), pc)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		p.Stop()
		if t.Failed() {
			t.Logf("postseal log:\n%s", p.Log())
		}
	})
	return &Postseal{p}
}

// Run runs another postseal subcommand against the same rules file.
func (p *Postseal) Run(t testing.TB, args ...string) string {
	t.Helper()
	out, err := p.Command(args...)
	if err != nil {
		t.Fatal(err)
	}
	return out
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
