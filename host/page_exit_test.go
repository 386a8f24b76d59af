package main

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// returnsPage opens a page that runs returns.wasm, a page's own Go program
// with no JS API (wasm/atmo/testdata/returns), with the globals in setup
// (window.crashBeforeReturn), and waits for its main to return; it gives
// what main returned and the page's log.
func returnsPage(t *testing.T, setup string) (ctx context.Context, returned string, plog *pageLog) {
	t.Helper()
	testdata := filepath.Join(repoWasmDir, "testdata")
	_, err := os.Stat(filepath.Join(testdata, "returns.wasm"))
	require.NoError(t, err, "run make build-wasm: it builds wasm/atmo/testdata/returns")
	dir := t.TempDir()
	for name, text := range map[string]string{
		"alive.js": `importScripts('/jsworker/atmo-worker.js');
atmoWorker({ heldLocks: async () => (await navigator.locks.query()).held.filter((l) => l.name.startsWith('atmo:')).length });`,
		"index.html": `<!doctype html><meta charset="utf-8"><body>
<script src="/wasm_exec.js"></script>
<script>
window.aliveScript = '/t/alive.js';
` + setup + `
const go = new Go();
window.exited = WebAssembly.instantiateStreaming(fetch('/testdata/returns.wasm'), go.importObject)
  .then(({ instance }) => go.run(instance)).then(() => true);
</script>`,
	} {
		require.NoError(t, os.WriteFile(filepath.Join(dir, name), []byte(text), 0o644))
	}
	ctx, base, plog := newTab(t, Config{Mounts: []Mount{{Prefix: "/t/", Dir: dir}, {Prefix: "/testdata/", Dir: testdata}}})
	require.NoError(t, chromedp.Run(ctx, chromedp.Navigate(base+"/t/index.html")))
	eval(t, ctx, `window.exited.then(() => window.goReturned)`, &returned)
	return ctx, returned, plog
}

func TestAPageWhoseGoProgramReturnsEndsItsWorkers(t *testing.T) {
	// returns.wasm starts two Go workers and a JS one, runs a task on each
	// kind and returns from main with its managers open. Each live worker
	// thread holds one of atmo's Web Locks; once the program has exited,
	// none may be left: the threads are terminated, not left to run until
	// the page reloads.
	ctx, returned, _ := returnsPage(t, "")
	require.Equal(t, "ok: 3 locks held", returned, "the program ran its tasks with three live workers")

	var held float64
	require.NoError(t, chromedp.Run(ctx, chromedp.Poll(
		`navigator.locks.query().then((q) => q.held.filter((l) => l.name.startsWith('atmo:')).length === 0)`, nil,
		chromedp.WithPollingTimeout(20*time.Second), chromedp.WithPollingInterval(50*time.Millisecond))),
		"a worker thread still holds its lock after the program exited")
	eval(t, ctx, `navigator.locks.query().then((q) => q.held.length)`, &held)
	assert.Zero(t, held)
}

func TestAPageWhoseGoProgramReturnsWithARestartPendingThrowsNothing(t *testing.T) {
	// README (Reliability, Close): "A program that returns from main with
	// ... a timer of atmo's pending is not called into again: what comes
	// after the exit is dropped, with no error in the console." A worker
	// that crashed is restarted after RestartPolicy.Backoff (100 ms), a Go
	// timer: wasm_exec.js's setTimeout for it outlives the program and
	// calls _resume on it ("Go program has already exited", uncaught).
	ctx, returned, plog := returnsPage(t, "window.crashBeforeReturn = true;")
	require.Contains(t, returned, "ok: crashed: atmo: worker crashed", "a Go worker's runtime exited under its task")
	require.NoError(t, chromedp.Run(ctx, chromedp.Sleep(time.Second))) // past the restart's backoff
	assert.NotContains(t, plog.String(), "already exited", "a timer of atmo's called into the exited program")
}
