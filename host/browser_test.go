package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	cdpruntime "github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"
	"github.com/stretchr/testify/require"
)

// repoWasmDir is bin/wasm, seen from host/.
var repoWasmDir = filepath.Join("..", "bin", "wasm")

// One Chromium for the whole test binary; each test opens its own tab.
var (
	browserOnce   sync.Once
	browserCtx    context.Context
	browserCancel context.CancelFunc
	browserErr    error
)

func TestMain(m *testing.M) {
	code := m.Run()
	if browserCancel != nil {
		browserCancel()
	}
	os.Exit(code)
}

// needBuild fails the test when bin/wasm/atmo.wasm is missing.
func needBuild(t testing.TB) {
	t.Helper()
	require.NoError(t, checkWasm(repoWasmDir), "the browser tests load the built main-thread module")
}

// newTab starts a server for cfg (WasmDir defaults to bin/wasm) and opens a
// tab on it. It returns the tab, the server's base URL and the tab's log.
func newTab(t testing.TB, cfg Config) (context.Context, string, *pageLog) {
	t.Helper()
	if cfg.WasmDir == "" {
		cfg.WasmDir = repoWasmDir
	}
	return tabOn(t, NewHandler(cfg))
}

// tabOn starts a server for h and opens a tab on it, as newTab does.
func tabOn(t testing.TB, h http.Handler) (context.Context, string, *pageLog) {
	t.Helper()
	needBuild(t)
	browserOnce.Do(func() {
		browserCtx, browserCancel, browserErr = newBrowser(context.Background())
	})
	require.NoError(t, browserErr)
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	tab, cancel := chromedp.NewContext(browserCtx)
	t.Cleanup(cancel)
	ctx, cancelTimeout := context.WithTimeout(tab, 90*time.Second)
	t.Cleanup(cancelTimeout)
	var plog pageLog
	plog.listen(ctx, nil)
	require.NoError(t, chromedp.Run(ctx, chromedp.EmulateViewport(1440, 1000)))
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("page log:\n%s", plog.String())
		}
	})
	return ctx, srv.URL, &plog
}

// eval runs a JS expression (awaiting a Promise) and decodes its JSON value into out.
func eval(t testing.TB, ctx context.Context, expr string, out any) {
	t.Helper()
	var raw []byte
	err := chromedp.Run(ctx, chromedp.Evaluate(expr, &raw, func(p *cdpruntime.EvaluateParams) *cdpruntime.EvaluateParams {
		return p.WithAwaitPromise(true)
	}))
	require.NoError(t, err, "evaluating:\n%s", expr)
	if out != nil {
		require.NoError(t, json.Unmarshal(raw, out), "result: %s", raw)
	}
}

// apiPage serves a blank page that loads atmo.js and opens it; window.atmo
// is the loaded API.
func apiPage(t testing.TB) context.Context {
	t.Helper()
	return apiPageWith(t, nil)
}

// apiPageWith is apiPage with more files served beside it, at /t/NAME.
func apiPageWith(t testing.TB, files map[string]string) context.Context {
	t.Helper()
	dir := t.TempDir()
	for name, text := range files {
		require.NoError(t, os.WriteFile(filepath.Join(dir, name), []byte(text), 0o644))
	}
	page := `<!doctype html><meta charset="utf-8"><title>api</title><body>
<script type="module">
import { loadAtmo, AtmoError } from '/atmo.js';
window.AtmoError = AtmoError;
window.atmoLoaded = loadAtmo({ wasm: '/atmo.wasm' }).then((a) => (window.atmo = a));
</script>`
	require.NoError(t, os.WriteFile(filepath.Join(dir, "index.html"), []byte(page), 0o644))
	ctx, base, _ := newTab(t, Config{Mounts: []Mount{{Prefix: "/t/", Dir: dir}}})
	var ok bool
	require.NoError(t, chromedp.Run(ctx,
		chromedp.Navigate(base+"/t/index.html"),
		chromedp.Poll(`!!window.atmoLoaded`, &ok, chromedp.WithPollingTimeout(20*time.Second), chromedp.WithPollingInterval(50*time.Millisecond)),
	))
	eval(t, ctx, `window.atmoLoaded.then(() => true)`, &ok)
	return ctx
}

// js wraps an async function body so eval can await it: the body sees
// atmo, the math worker's config, and heldBy(tm), how many values the
// bridge of tm's module holds for Go (params, results on their way).
func js(body string) string {
	return fmt.Sprintf(`(async () => {
  const atmo = window.atmo;
  const math = { tasks: ['add', 'subtract', 'multiply', 'divide', 'power', 'sqrt', 'fibonacci'], script: '/workers/math-worker.js' };
  const heldBy = (tm) => tm._bridge.held.values.length - tm._bridge.held.free.length;
  const within = (p) => Promise.race([p, new Promise((r) => setTimeout(() => r('never settled'), 5000))]);
  %s
})()`, body)
}
