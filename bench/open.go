package main

// ---- open-10mb ---------------------------------------------------------------
//
// The recipient's wait: a 10 MB message sealed as the milter seals it, its
// securedoc opened from disk in headless Chromium and Firefox ESR, and the time from the
// click on "Open" to the message shown, as the page itself records it
// (data-open-ms: key fetch, decrypt, MIME parse, render, layout). The key endpoint is
// a stub that answers at once: the key service's own cost (Argon2id) is the
// keyserver row, so this row measures the browser's work only.

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/postseal/postseal/envelope"
	"github.com/postseal/postseal/test/mta"
)

func open10MB(c config, root string) []Row {
	const goal = "≤ 1,000 ms (≤ 500 ms later)"
	msg := textMessage(10_000_000, 4)
	var rows []Row
	for _, browser := range []string{"chromium", "firefox"} {
		for _, profile := range []string{envelope.ProfileRFC4880, envelope.ProfileRFC9580} {
			name := "open-10mb"
			if browser == "firefox" {
				name += "-firefox"
			}
			if profile != sealOpts.Profile {
				name += "-" + profile
			}
			if !c.want(name) {
				continue
			}
			ms, phases, err := openIn(browser, root, msg, profile, c.pairs)
			if err != nil {
				rows = append(rows, Row{Name: name, Goal: goal, Note: "failed: " + firstLine(err.Error())})
				continue
			}
			rows = append(rows, Row{Name: name, Unit: "ms", Value: f(median(ms)), Goal: goal,
				Note: fmt.Sprintf("headless %s, profile %s, median of %d opens (%s ms; by step, median ms: %s); click on Open to message shown, key endpoint stubbed, decryptor linked (loaded before the click)", browser, profile, len(ms), joinMS(ms), phases)})
		}
	}
	return rows
}

func joinMS(ms []float64) string {
	var s []string
	for _, v := range ms {
		s = append(s, strconv.Itoa(int(v)))
	}
	return strings.Join(s, ", ")
}

// openIn seals msg with the profile and opens its securedoc from disk n
// times in the browser (after one warm-up), returning the page's own open
// times in ms and the median time of each step (data-open-phases).
func openIn(browser, root string, msg []byte, profile string, n int) ([]float64, string, error) {
	if browser == "chromium" {
		if _, err := os.Stat(mta.ChromiumPath); err != nil {
			return nil, "", fmt.Errorf("no Chromium at %s (make test-deps installs it)", mta.ChromiumPath)
		}
	}
	var key string
	decryptor := envelope.LinkedDecryptor()
	stub := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Access-Control-Allow-Origin", "*")
		w.Header().Set("Access-Control-Allow-Headers", "content-type")
		w.Header().Set("Access-Control-Allow-Private-Network", "true")
		if r.URL.Path == decryptor.Path {
			w.Header().Set("Content-Type", "text/javascript")
			w.Header().Set("Cache-Control", "public, max-age=31536000, immutable")
			_, _ = w.Write(decryptor.Body)
			return
		}
		if r.Method == http.MethodOptions {
			w.WriteHeader(http.StatusNoContent)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(map[string]string{"key": key})
	}))
	defer stub.Close()

	opts := sealOpts
	opts.Profile, opts.PublicURL = profile, stub.URL
	s, err := sealWith(msg, opts)
	if err != nil {
		return nil, "", fmt.Errorf("seal: %w", err)
	}
	key = envelope.Passphrase(s.Key)
	page, _, err := securedocOf(s)
	if err != nil {
		return nil, "", err
	}
	dir, err := os.MkdirTemp("", "postseal-bench-open-")
	if err != nil {
		return nil, "", err
	}
	defer os.RemoveAll(dir)
	doc := filepath.Join(dir, "securedoc.html")
	if err := os.WriteFile(doc, page, 0o600); err != nil {
		return nil, "", err
	}
	if browser == "firefox" {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
		defer cancel()
		res, err := mta.RunFirefox(ctx, root, mta.FirefoxOpen{URL: "file://" + doc, Password: "any password: the stub releases the key", Times: n + 1})
		if err != nil {
			return nil, "", err
		}
		var out []float64
		var phases []string
		for i, r := range res {
			if r.Outcome != "message" || r.OpenMs <= 0 {
				return nil, "", fmt.Errorf("open %d: %s %q (decryptor %q)", i, r.Outcome, r.Error, r.Decryptor)
			}
			if i > 0 { // the first open warms the browser up
				out = append(out, r.OpenMs)
				phases = append(phases, r.Phases)
			}
		}
		return out, medianPhases(phases), nil
	}

	actx, cancelAlloc := mta.NewChromium(filepath.Join(dir, "profile"))
	defer cancelAlloc()
	ctx, cancel := chromedp.NewContext(actx)
	defer cancel()
	if err := chromedp.Do(ctx); err != nil {
		return nil, "", fmt.Errorf("start chromium: %w", err)
	}
	var out []float64
	var phases []string
	for i := 0; i <= n; i++ {
		sctx, scancel := context.WithTimeout(ctx, 2*time.Minute)
		err := chromedp.Do(sctx,
			chromedp.Navigate("file://"+doc),
			chromedp.WaitVisible(chromedp.CSS("#open")),
			chromedp.SetValue(chromedp.CSS("#password"), "any password: the stub releases the key"),
			chromedp.Click(chromedp.CSS("#open")),
			chromedp.WaitVisible(chromedp.CSS("#message")),
		)
		var v, ph string
		if err == nil {
			v, err = chromedp.Run(sctx, chromedp.Evaluate[string](`document.documentElement.dataset.openMs || ""`))
		}
		if err == nil {
			ph, err = chromedp.Run(sctx, chromedp.Evaluate[string](`document.documentElement.dataset.openPhases || ""`))
		}
		scancel()
		if err != nil {
			return nil, "", fmt.Errorf("open %d: %w", i, err)
		}
		ms, err := strconv.ParseFloat(v, 64)
		if err != nil {
			return nil, "", fmt.Errorf("open %d: the page recorded no open time (%q)", i, v)
		}
		if i > 0 { // the first open warms the browser up
			out = append(out, ms)
			phases = append(phases, ph)
		}
	}
	return out, medianPhases(phases), nil
}

// medianPhases takes the pages' data-open-phases ("key=33 dearmor=81 …",
// one per open) and gives each step's median in the same form and order:
// a single open's steps are as noisy as its total.
func medianPhases(opens []string) string {
	var names []string
	ms := map[string][]float64{}
	for _, o := range opens {
		for _, kv := range strings.Fields(o) {
			k, v, ok := strings.Cut(kv, "=")
			x, err := strconv.ParseFloat(v, 64)
			if !ok || err != nil {
				continue
			}
			if _, seen := ms[k]; !seen {
				names = append(names, k)
			}
			ms[k] = append(ms[k], x)
		}
	}
	var out []string
	for _, k := range names {
		out = append(out, k+"="+strconv.FormatFloat(median(ms[k]), 'f', -1, 64))
	}
	return strings.Join(out, " ")
}
