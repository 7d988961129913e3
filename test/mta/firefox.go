package mta

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
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
	// TextLayout: each open also reports the text part's layout
	// (FirefoxResult's Text, TextBlocks and FirstBlock).
	TextLayout bool
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
	// The message's text part as the page holds it (#msg-text), the
	// number of blocks a long one is shown in, and the first block's
	// height laid out next to its lines' height (see TextLayoutJS).
	Text       string     `json:"text"`
	TextBlocks int        `json:"textBlocks"`
	FirstBlock [2]float64 `json:"firstBlock"`
}

// TextLayoutJS is the expression open.mjs evaluates (--eval) for Text,
// TextBlocks and FirstBlock, and Chromium's tests evaluate the same: the
// first block is laid out whether it is on screen or not.
const TextLayoutJS = `(() => {
  const pre = document.getElementById('msg-text');
  const first = pre && pre.firstElementChild;
  let fit = [0, 0];
  if (first) {
    first.style.contentVisibility = 'visible';
    fit = [first.getBoundingClientRect().height, (first.textContent.split('\n').length - 1) * parseFloat(getComputedStyle(pre).lineHeight)];
  }
  return { text: pre ? pre.textContent : '', textBlocks: pre ? pre.children.length : 0, firstBlock: fit };
})()`

// firefoxDriver is test/firefox under root, once Firefox ESR and the
// driver's node modules are there.
func firefoxDriver(root string) (string, error) {
	if _, err := os.Stat(FirefoxPath); err != nil {
		return "", fmt.Errorf("no Firefox ESR at %s (make test-deps installs it): %w", FirefoxPath, err)
	}
	dir := filepath.Join(root, "test", "firefox")
	if _, err := os.Stat(filepath.Join(dir, "node_modules", "puppeteer-core")); err != nil {
		return "", fmt.Errorf("puppeteer-core is not installed in %s (make test-deps runs npm ci there): %w", dir, err)
	}
	return dir, nil
}

// RunFirefox runs the driver from the repository at root. It needs
// firefox-esr and test/firefox's node modules (`make test-deps`).
func RunFirefox(ctx context.Context, root string, o FirefoxOpen) ([]FirefoxResult, error) {
	dir, err := firefoxDriver(root)
	if err != nil {
		return nil, err
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
	if o.TextLayout {
		args = append(args, "--eval", TextLayoutJS)
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
	sc.Buffer(nil, 64<<20) // a line carries a whole text part with TextLayout
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

// FirefoxStep is one step of test/firefox/journey.mjs, as it printed it.
type FirefoxStep struct {
	Step string `json:"step"` // "registered", "activated", "opened"
	// registered: the securedoc's Register link, the URL of the tab it
	// opened (after registering), the address the form came with.
	RegisterURL string `json:"registerURL"`
	TabURL      string `json:"tabURL"`
	Email       string `json:"email"`
	Heading     string `json:"heading"` // the key service page's h1
	Text        string `json:"text"`    // activated: the page's main text
	// opened: what the securedoc shows after Open.
	Outcome string `json:"outcome"` // "message" or "error"
	Error   string `json:"error"`
	Subject string `json:"subject"`
	Body    string `json:"body"` // the message's text part
}

// RunFirefoxJourney runs journey.mjs (a first-time recipient: securedoc,
// Register in a new tab, activation, back to the securedoc, Open) in one
// Firefox. After the "registered" step it calls activation, which returns
// the activation link from the mail the key service sent.
func RunFirefoxJourney(ctx context.Context, root, docURL, email, password string, activation func(FirefoxStep) (string, error)) ([]FirefoxStep, error) {
	dir, err := firefoxDriver(root)
	if err != nil {
		return nil, err
	}
	cmd := exec.CommandContext(ctx, "node", filepath.Join(dir, "journey.mjs"), docURL, "--email", email, "--password", password)
	cmd.Dir = dir
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	stdin, err := cmd.StdinPipe()
	if err != nil {
		return nil, err
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("firefox (node journey.mjs): %w", err)
	}
	var steps []FirefoxStep
	var stepErr error
	sc := bufio.NewScanner(stdout)
	for sc.Scan() {
		var st FirefoxStep
		if err := json.Unmarshal(sc.Bytes(), &st); err != nil {
			stepErr = fmt.Errorf("firefox (node journey.mjs) printed %q: %w", sc.Text(), err)
			break
		}
		steps = append(steps, st)
		if st.Step == "registered" {
			link, err := activation(st)
			if err != nil {
				stepErr = err
				break
			}
			if _, err := io.WriteString(stdin, link+"\n"); err != nil {
				stepErr = err
				break
			}
		}
	}
	stdin.Close()
	if stepErr != nil {
		_ = cmd.Process.Kill()
	}
	_, _ = io.Copy(io.Discard, stdout)
	err = cmd.Wait()
	switch {
	case stepErr != nil:
		return steps, stepErr
	case err != nil:
		return steps, fmt.Errorf("firefox (node journey.mjs): %w: %s", err, strings.TrimSpace(stderr.String()))
	}
	return steps, nil
}
