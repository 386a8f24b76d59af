package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strings"
	"sync"
	"time"

	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"
)

// findChromium looks for a Chromium or Chrome binary on PATH.
func findChromium() (string, error) {
	if p := os.Getenv("CHROMIUM"); p != "" {
		return p, nil
	}
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome", "google-chrome-stable", "/usr/bin/chromium"} {
		if p, err := exec.LookPath(name); err == nil {
			return p, nil
		}
	}
	return "", errors.New("Chromium not found: run `make deps` (it installs chromium with apt-get) or set CHROMIUM to its path")
}

// newBrowser starts headless Chromium, kept off the network, and returns a
// context for its first tab. cancel closes the browser.
func newBrowser(parent context.Context) (context.Context, context.CancelFunc, error) {
	path, err := findChromium()
	if err != nil {
		return nil, nil, err
	}
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(path),
		chromedp.WindowSize(1440, 1000),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-dev-shm-usage", true),
		chromedp.NoFirstRun,
	)
	actx, cancelAlloc := chromedp.NewExecAllocator(parent, opts...)
	bctx, cancelBrowser := chromedp.NewContext(actx)
	if err := chromedp.Run(bctx); err != nil { // starts the browser
		cancelBrowser()
		cancelAlloc()
		return nil, nil, fmt.Errorf("start Chromium (%s): %w", path, err)
	}
	return bctx, func() { cancelBrowser(); cancelAlloc() }, nil
}

// pageLog collects what a tab printed to its console and its uncaught
// exceptions, for error messages.
type pageLog struct {
	mu    sync.Mutex
	lines []string
}

// listen starts collecting from the tab of ctx; with echo, lines are also
// written there as they come.
func (l *pageLog) listen(ctx context.Context, echo io.Writer) {
	chromedp.ListenTarget(ctx, func(ev any) {
		var line string
		switch e := ev.(type) {
		case *runtime.EventConsoleAPICalled:
			parts := make([]string, 0, len(e.Args))
			for _, a := range e.Args {
				if a.Value != nil {
					parts = append(parts, strings.Trim(string(a.Value), `"`))
				} else {
					parts = append(parts, a.Description)
				}
			}
			line = fmt.Sprintf("console.%s: %s", e.Type, strings.Join(parts, " "))
		case *runtime.EventExceptionThrown:
			line = "uncaught: " + e.ExceptionDetails.Text
			if e.ExceptionDetails.Exception != nil {
				line += " " + e.ExceptionDetails.Exception.Description
			}
		default:
			return
		}
		l.mu.Lock()
		l.lines = append(l.lines, line)
		l.mu.Unlock()
		if echo != nil {
			fmt.Fprintln(echo, "page:", line)
		}
	})
}

func (l *pageLog) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	if len(l.lines) == 0 {
		return "(the page logged nothing)"
	}
	return strings.Join(l.lines, "\n")
}

// waitDashboard waits until the dashboard at url has started its pool.
func waitDashboard(ctx context.Context, url string, timeout time.Duration) error {
	var state string
	err := chromedp.Run(ctx,
		chromedp.Navigate(url),
		chromedp.Poll(`document.body && document.body.dataset.state !== 'loading' && document.body.dataset.state`, &state,
			chromedp.WithPollingTimeout(timeout), chromedp.WithPollingInterval(50*time.Millisecond)),
	)
	if err != nil {
		return fmt.Errorf("the dashboard did not start within %v: %w", timeout, err)
	}
	if state != "ready" {
		var msg string
		_ = chromedp.Run(ctx, chromedp.Evaluate(`document.body.dataset.error || ''`, &msg))
		return fmt.Errorf("the dashboard failed to start: %s", msg)
	}
	return nil
}
