package mta

import (
	"context"

	"github.com/chromedp/chromedp"
)

// ChromiumPath is Debian's Chromium (`apt-get install chromium`).
const ChromiumPath = "/usr/bin/chromium"

// NewChromium returns an allocator context for a headless Chromium with
// its profile in userDataDir and without the background traffic that
// floods a closed network (component updates, sync, safe browsing).
func NewChromium(userDataDir string) (context.Context, context.CancelFunc) {
	return chromedp.NewExecAllocator(context.Background(),
		chromedp.ExecPath(ChromiumPath),
		chromedp.Headless, chromedp.NoSandbox, chromedp.DisableGPU, chromedp.NoFirstRun, chromedp.NoDefaultBrowserCheck,
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("user-data-dir", userDataDir),
	)
}
