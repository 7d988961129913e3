package mta

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
)

// FirefoxPath is Debian's Firefox ESR (`apt-get install firefox-esr`).
const FirefoxPath = "/usr/bin/firefox-esr"

// FirefoxOpen is one run of test/firefox/open.mjs: a headless Firefox ESR,
// driven over WebDriver BiDi by the pinned puppeteer-core, opens a
// securedoc page Times times (one browser, so its cache is kept) and, with
// a password, presses Open.
type FirefoxOpen struct {
	URL      string
	Email    string // "": the page's first recipient
	Password string // "": only load the page and let it settle
	Times    int    // 0 means 1
}

// FirefoxResult is what one open showed.
type FirefoxResult struct {
	// Outcome is "message" (the decrypted message is shown), "error" (the
	// page's error box is) or "form" (the Open form waits).
	Outcome   string  `json:"outcome"`
	Error     string  `json:"error"`
	Decryptor string  `json:"decryptor"` // <html data-decryptor>: "ready" once the decryptor runs
	OpenMs    float64 `json:"openMs"`    // the page's own data-open-ms
	Phases    string  `json:"phases"`    // data-open-phases: ms per step ("key=3 dearmor=40 ...")
	Subject   string  `json:"subject"`
}

// RunFirefox runs the driver from the repository at root. It needs
// firefox-esr and test/firefox's node modules (`make test-deps`).
func RunFirefox(ctx context.Context, root string, o FirefoxOpen) ([]FirefoxResult, error) {
	if _, err := os.Stat(FirefoxPath); err != nil {
		return nil, fmt.Errorf("no Firefox ESR at %s (make test-deps installs it): %w", FirefoxPath, err)
	}
	dir := filepath.Join(root, "test", "firefox")
	if _, err := os.Stat(filepath.Join(dir, "node_modules", "puppeteer-core")); err != nil {
		return nil, fmt.Errorf("puppeteer-core is not installed in %s (make test-deps runs npm ci there): %w", dir, err)
	}
	args := []string{filepath.Join(dir, "open.mjs"), o.URL}
	if o.Password != "" {
		args = append(args, "--password", o.Password)
	}
	if o.Email != "" {
		args = append(args, "--email", o.Email)
	}
	if o.Times > 1 {
		args = append(args, "--times", strconv.Itoa(o.Times))
	}
	cmd := exec.CommandContext(ctx, "node", args...)
	cmd.Dir = dir
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		return nil, fmt.Errorf("firefox (node open.mjs): %w: %s", err, strings.TrimSpace(stderr.String()))
	}
	var out []FirefoxResult
	sc := bufio.NewScanner(&stdout)
	for sc.Scan() {
		var r FirefoxResult
		if err := json.Unmarshal(sc.Bytes(), &r); err != nil {
			return nil, fmt.Errorf("firefox (node open.mjs) printed %q: %w", sc.Text(), err)
		}
		out = append(out, r)
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("firefox (node open.mjs) printed nothing: %s", strings.TrimSpace(stderr.String()))
	}
	return out, nil
}
