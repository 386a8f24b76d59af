package main

import (
	"context"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// exitLaterPage opens a page with the JS API loaded from exitlater.wasm,
// atmo.wasm that exits when the page calls atmoTestExit(code), and files
// served beside it at /t/.
func exitLaterPage(t *testing.T, files map[string]string) (context.Context, *pageLog) {
	t.Helper()
	return exitLaterPageOn(t, files, func(h http.Handler) http.Handler { return h })
}

// exitLaterPageOn is exitLaterPage with the server's handler wrapped by wrap.
func exitLaterPageOn(t *testing.T, files map[string]string, wrap func(http.Handler) http.Handler) (context.Context, *pageLog) {
	t.Helper()
	testdata := filepath.Join(repoWasmDir, "testdata")
	_, err := os.Stat(filepath.Join(testdata, "exitlater.wasm"))
	require.NoError(t, err, "run make build-wasm: it builds wasm/jsapi/testdata/exitlater")
	dir := t.TempDir()
	files["index.html"] = `<!doctype html><meta charset="utf-8"><body>
<script type="module">
import { loadAtmo } from '/atmo.js';
window.atmoLoaded = loadAtmo({ wasm: '/testdata/exitlater.wasm' }).then((a) => (window.atmo = a));
</script>`
	for name, text := range files {
		require.NoError(t, os.WriteFile(filepath.Join(dir, name), []byte(text), 0o644))
	}
	ctx, base, plog := tabOn(t, wrap(NewHandler(Config{WasmDir: repoWasmDir, Mounts: []Mount{{Prefix: "/t/", Dir: dir}, {Prefix: "/testdata/", Dir: testdata}}})))
	var ok bool
	require.NoError(t, chromedp.Run(ctx,
		chromedp.Navigate(base+"/t/index.html"),
		chromedp.Poll(`!!window.atmoLoaded`, &ok, chromedp.WithPollingTimeout(20*time.Second), chromedp.WithPollingInterval(50*time.Millisecond)),
	))
	eval(t, ctx, `window.atmoLoaded.then(() => true)`, &ok)
	return ctx, plog
}

func TestJSAPIWhoseGoModuleExitsSettlesEverythingWithErrExited(t *testing.T) {
	// exitlater.wasm is atmo.wasm that exits when the page calls
	// atmoTestExit(code), as a panic or Go running out of memory would end
	// it: every task, ready() and close() waiting on Go must settle, and
	// every call after must say why, rather than wait for ever or throw
	// wasm_exec.js's bare "Go program has already exited".
	ctx, plog := exitLaterPage(t, map[string]string{})

	var got map[string]any
	eval(t, ctx, js(`
  const tm = atmo.createTaskManager();
  const wm = atmo.createBrowserWorkerManager(tm, [math]);
  await wm.ready();
  const outcome = (p) => p.then((v) => ({ resolved: v }), (e) => ({ code: e.code, message: e.message, taskId: e.taskId }));
  const running = outcome(tm.run('fibonacci', { n: 42 }));          // on the worker, for seconds
  await new Promise((r) => setTimeout(r, 20));
  const queued = new Promise((resolve) => tm.addTask({ name: 'add', params: { a: 1, b: 2 }, // behind it
    onSuccess: () => resolve({ resolved: true }), onError: (r) => resolve({ code: r.code, error: r.error }) }));
  const abort = new AbortController();
  const signaled = outcome(tm.run('add', { a: 3, b: 3 }, { signal: abort.signal }));
  await new Promise((r) => setTimeout(r, 50));                       // all three are with Go now
  const sameTurn = outcome(tm.run('add', { a: 2, b: 2 }));           // not yet handed to Go
  atmoTestExit(3);
  abort.abort('left'); // its cancel finds the module gone: nothing thrown at the page
  const later = {};
  for (const [k, f] of Object.entries({ run: () => tm.run('add', { a: 1, b: 1 }), status: () => tm.status(),
      create: () => atmo.createTaskManager(), ready: () => wm.ready() })) {
    try { later[k] = await outcome(Promise.resolve().then(f)); } catch (e) { later[k] = { threw: e.message }; }
  }
  await Promise.all([tm.close(), wm.close()]);
  return { running: await running, queued: await queued, sameTurn: await sameTurn, signaled: await signaled, later, closed: true };`), &got)

	exited := "atmo: the Go module /testdata/exitlater.wasm exited with code 3 (the console shows why), so its tasks cannot finish; reload the page to start again"
	for _, k := range []string{"running", "sameTurn", "signaled"} {
		r, _ := got[k].(map[string]any)
		assert.Equal(t, "ERR_EXITED", r["code"], k)
		assert.Equal(t, exited, r["message"], k)
	}
	assert.Regexp(t, `^task-\d+$`, got["running"].(map[string]any)["taskId"], "a task Go had taken keeps its id")
	assert.Equal(t, map[string]any{"code": "ERR_EXITED", "error": exited}, got["queued"])
	for k, v := range got["later"].(map[string]any) {
		assert.Equal(t, map[string]any{"code": "ERR_EXITED", "message": exited}, v, k)
	}
	assert.Equal(t, true, got["closed"], "close() resolves")
	assert.NotContains(t, strings.ToLower(plog.String()), "uncaught", "nothing thrown at the page")
}

func TestJSAPIWhoseGoModuleExitsEndsItsWorkers(t *testing.T) {
	// A worker that says it is alive on a BroadcastChannel every 10 ms: once
	// the module that started it has exited, it is terminated, not left to
	// run (a fibonacci(42) would burn a core) until the page reloads.
	ctx, _ := exitLaterPage(t, map[string]string{"alive.js": `importScripts('/jsworker/atmo-worker.js');
const bc = new BroadcastChannel('alive');
setInterval(() => bc.postMessage(1), 10);
atmoWorker({ ping: () => 'pong' });`})
	var got map[string]any
	eval(t, ctx, js(`
  const tm = atmo.createTaskManager();
  const wm = atmo.createBrowserWorkerManager(tm, [{ tasks: ['ping'], script: '/t/alive.js', count: 2 }]);
  await wm.ready();
  let heard = 0;
  new BroadcastChannel('alive').onmessage = () => heard++;
  const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
  await sleep(200);
  const before = heard;
  atmoTestExit(3);
  try { tm.status(); } catch (_) {} // any call notices the exit
  await sleep(200); // what was on its way arrives
  const atExit = heard;
  await sleep(300);
  return { before, after: heard - atExit };`), &got)
	assert.Positive(t, got["before"], "the workers ran")
	assert.Equal(t, 0.0, got["after"], "none runs once the module has exited")
}

func TestDashboardWhoseGoModuleExitsSaysSoOnce(t *testing.T) {
	// The real dashboard, on exitlater.wasm served as its atmo.wasm.
	wasmDir := t.TempDir()
	abs, err := filepath.Abs(repoWasmDir)
	require.NoError(t, err)
	_, err = os.Stat(filepath.Join(abs, "testdata", "exitlater.wasm"))
	require.NoError(t, err, "run make build-wasm: it builds wasm/jsapi/testdata/exitlater")
	for link, target := range map[string]string{"atmo.wasm": "testdata/exitlater.wasm", "wasm_exec.js": "wasm_exec.js", "workers": "workers"} {
		require.NoError(t, os.Symlink(filepath.Join(abs, target), filepath.Join(wasmDir, link)))
	}
	ctx, base, plog := newTab(t, Config{WasmDir: wasmDir})
	require.NoError(t, waitDashboard(ctx, base+"/", 30*time.Second))
	eval(t, ctx, `atmoTestExit(3), true`, nil)
	waitFor(t, ctx, `document.body.dataset.state === 'error'`)
	var header string
	eval(t, ctx, `document.querySelector('#conn').textContent`, &header)
	assert.Equal(t, "atmo: the Go module /atmo.wasm exited with code 3 (the console shows why), so its tasks cannot finish; reload the page to start again", header)
	time.Sleep(1200 * time.Millisecond) // a few of its render ticks
	var controls map[string]any
	eval(t, ctx, `(() => {
  const enabled = [...document.querySelectorAll('main button')].filter((b) => !b.disabled && b.id !== 'clear-log').map((b) => b.id || b.className);
  const close = document.querySelector('.worker-card .close');
  close.disabled = false; // a click that comes anyway (an old page script, a test)
  close.click();
  return { enabled, log: document.querySelector('#log').textContent };
})()`, &controls)
	assert.Empty(t, controls["enabled"], "nothing can run any more: the controls are off")
	assert.Contains(t, controls["log"], "exited with code 3", "a close after the exit is said in the log")
	time.Sleep(100 * time.Millisecond)
	assert.NotContains(t, strings.ToLower(plog.String()), "uncaught", "nothing thrown at the page, tick after tick, nor by a close")
}

// pageOf serves files at /t/, opens /t/index.html and waits until the
// page's expression ready is true.
func pageOf(t *testing.T, files map[string]string, ready string) context.Context {
	t.Helper()
	dir := t.TempDir()
	for name, text := range files {
		require.NoError(t, os.WriteFile(filepath.Join(dir, name), []byte(text), 0o644))
	}
	ctx, base, _ := newTab(t, Config{Mounts: []Mount{{Prefix: "/t/", Dir: dir}}})
	var ok bool
	require.NoError(t, chromedp.Run(ctx,
		chromedp.Navigate(base+"/t/index.html"),
		chromedp.Poll("!!("+ready+")", &ok, chromedp.WithPollingTimeout(20*time.Second), chromedp.WithPollingInterval(50*time.Millisecond)),
	))
	return ctx
}

func TestLoadAtmoGivenTheWrongFilesRejectsSayingWhichToLoad(t *testing.T) {
	ctx := pageOf(t, map[string]string{"index.html": `<!doctype html><meta charset="utf-8"><body>
<script type="module">
import { loadAtmo } from '/atmo.js';
const outcome = (p) => p.then(() => ({ loaded: true }), (e) => ({ code: e.code, argument: e.argument, message: e.message }));
window.loads = (async () => ({
  notWasmExec: await outcome(loadAtmo({ wasmExec: '/t/not-wasm-exec.js' })),
  badTimeout: await outcome(loadAtmo({ timeout: 'soon' })),
  notWasm: await outcome(loadAtmo({ wasm: '/t/index.html' })),
  missing: await outcome(loadAtmo({ wasm: '/t/missing/atmo.wasm' })),
  worker: await outcome(loadAtmo({ wasm: '/workers/math.wasm', timeout: 1000 })),
  atmo: await outcome(loadAtmo({ wasm: '/atmo.wasm' })),
}))();
</script>`, "not-wasm-exec.js": "// not wasm_exec.js\n"}, "window.loads")
	var got map[string]map[string]any
	eval(t, ctx, `window.loads`, &got)
	assert.Equal(t, map[string]any{"code": "ERR_LOAD", "message": "atmo: /t/not-wasm-exec.js loaded but did not define Go; it must be the wasm_exec.js of the Go that built the module (the host server serves it at /wasm_exec.js)"}, got["notWasmExec"])
	assert.Equal(t, "ERR_LOAD", got["notWasm"]["code"])
	assert.Contains(t, got["notWasm"]["message"], "atmo: could not start /t/index.html: WebAssembly.instantiate(): expected magic word 00 61 73 6d")
	assert.Contains(t, got["notWasm"]["message"], "it must be atmo.wasm, built with `make build`")
	// From a module of one's own (a page generate-worker wrote), where there
	// is no Makefile and no ./host, it says what builds and serves it there.
	outside := "GOOS=js GOARCH=wasm go build -o bin/wasm/atmo.wasm github.com/atmoworkers/atmo/wasm/cmd/atmo"
	assert.Contains(t, got["notWasm"]["message"], outside)
	assert.Equal(t, "ERR_LOAD", got["missing"]["code"])
	assert.Contains(t, got["missing"]["message"], "atmo: could not load /t/missing/atmo.wasm (HTTP 404); build it with `make build`")
	assert.Contains(t, got["missing"]["message"], outside+"` and serve it with `go tool host`")
	assert.Equal(t, map[string]any{"code": "ERR_BAD_ARGUMENT", "argument": "options.timeout",
		"message": "atmo: loadAtmo(options): options.timeout must be a number of milliseconds above 0 (got soon)"}, got["badTimeout"])
	assert.Equal(t, "ERR_LOAD", got["worker"]["code"])
	assert.Equal(t, "atmo: /workers/math.wasm started but did not hand over atmo's API within 1000 ms; it must be atmo.wasm, built from ./wasm/cmd/atmo (a Go worker module is started by a worker config's module, not by loadAtmo)", got["worker"]["message"])
	assert.Equal(t, map[string]any{"loaded": true}, got["atmo"], "a later call with the right module loads it")
}

func TestTheJSAPIRunsInsideAWorkerToo(t *testing.T) {
	ctx := pageOf(t, map[string]string{"main-worker.js": `import '/wasm_exec.js';
import { loadAtmo } from '/atmo.js';
try {
  const atmo = await loadAtmo();
  const tm = atmo.createTaskManager();
  atmo.createBrowserWorkerManager(tm, [{ tasks: ['add'], script: '../workers/math-worker.js' }]);
  postMessage({ sum: await tm.run('add', { a: 40, b: 2 }) });
  await tm.close();
} catch (e) {
  postMessage({ error: String(e && e.stack || e) });
}
`, "index.html": `<!doctype html><meta charset="utf-8"><body>
<script type="module">
const w = new Worker('/t/main-worker.js', { type: 'module' });
w.onmessage = (e) => { window.answer = e.data; };
w.onerror = (e) => { window.answer = { error: e.message || 'worker error' }; };
</script>`}, "window.answer")
	var got map[string]any
	eval(t, ctx, `window.answer`, &got)
	assert.Equal(t, map[string]any{"sum": 42.0}, got, "a worker URL resolves against the worker's own script")
}

// The module exits while Go handles a run() batch (here from a subscriber
// Go calls meanwhile): every run of the batch settles with ERR_EXITED.
func TestJSAPIAModuleExitingMidBatchSettlesItsRunsWithErrExited(t *testing.T) {
	ctx, plog := exitLaterPage(t, map[string]string{})
	var got map[string]any
	eval(t, ctx, js(`
  const tm = atmo.createTaskManager();
  const wm = atmo.createBrowserWorkerManager(tm, [{ ...math, count: 1 }]);
  await wm.ready();
  let once = false;
  tm.subscribe((m) => { if (m.message === 'new-task' && !once) { once = true; atmoTestExit(3); } });
  const outcome = (p) => within(p.then((v) => ({ resolved: v }), (e) => ({ code: e.code })));
  const runs = await Promise.all([1, 2].map((a) => outcome(tm.run('add', { a, b: 10 }))));
  return { runs, held: heldBy(tm), waiting: tm._waiting.size };`), &got)
	assert.Equal(t, map[string]any{"runs": []any{map[string]any{"code": "ERR_EXITED"}, map[string]any{"code": "ERR_EXITED"}}, "held": 0.0, "waiting": 0.0}, got)
	assert.NotContains(t, strings.ToLower(plog.String()), "uncaught")
}

func TestJSAPIWhoseGoModuleExitsEndsTheDownloadOfAGoWorkersModule(t *testing.T) {
	// A Go worker's module is fetched and compiled in a thread of its own.
	// Once the module that started it has exited, that thread goes with the
	// workers' threads: a download the server never finishes is given up,
	// not held with its connection until the page reloads.
	asked, gaveUp := make(chan struct{}), make(chan struct{})
	ctx, _ := exitLaterPageOn(t, map[string]string{}, func(h http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.URL.Path != "/hang.wasm" {
				h.ServeHTTP(w, r)
				return
			}
			close(asked)
			<-r.Context().Done() // until the client gives up
			close(gaveUp)
		})
	})
	eval(t, ctx, js(`
  const tm = atmo.createTaskManager();
  atmo.createBrowserWorkerManager(tm, [{ tasks: ['x'], module: '/hang.wasm' }]);
  return true;`), nil)
	select {
	case <-asked:
	case <-time.After(20 * time.Second):
		t.Fatal("the module was never asked for")
	}
	eval(t, ctx, `(() => { atmoTestExit(3); return true; })()`, nil)
	select {
	case <-gaveUp:
	case <-time.After(10 * time.Second):
		t.Fatal("the module's download still runs 10 s after the Go module exited")
	}
}

// README: "a task that fails before it is posted to a worker ... gives them
// back, whole, in its error's transfer". The Go module exiting fails the
// tasks that waited in its queue, and the run() calls of the turn not yet
// handed to Go, before any was posted: their buffers are the caller's again.
func TestJSAPIATaskEndedByTheModulesExitBeforeItWasPostedGivesItsBuffersBack(t *testing.T) {
	ctx, _ := exitLaterPage(t, map[string]string{})
	var got map[string]any
	eval(t, ctx, js(`
  const tm = atmo.createTaskManager();
  const wm = atmo.createBrowserWorkerManager(tm, [{ ...math, count: 1 }]);
  await wm.ready();
  const given = (e) => ({ code: e.code, back: e.transfer ? e.transfer.map((b) => b.byteLength) : null });
  const busy = tm.run('fibonacci', { n: 42 }).catch(() => {}); // holds the one worker
  await new Promise((r) => setTimeout(r, 20));
  const a = new ArrayBuffer(8), b = new ArrayBuffer(16), c = new ArrayBuffer(24);
  const queued = tm.run('add', { a: 1, b: 2, buf: a }, { transfer: [a] }).catch(given);
  const seed = new Promise((resolve) => tm.addTask({ name: 'add', params: { a: 1, b: 2, buf: b }, transfer: [b],
    onError: (r) => resolve({ code: r.code, back: r.transfer ? r.transfer.map((x) => x.byteLength) : null }) }));
  await new Promise((r) => setTimeout(r, 50)); // both wait in Go's queue now
  const sameTurn = tm.run('add', { a: 1, b: 2, buf: c }, { transfer: [c] }).catch(given); // not handed to Go yet
  atmoTestExit(3);
  return { queued: await within(queued), seed: await within(seed), sameTurn: await within(sameTurn) };`), &got)
	assert.Equal(t, map[string]any{"code": "ERR_EXITED", "back": []any{8.0}}, got["queued"], "waited in Go's queue")
	assert.Equal(t, map[string]any{"code": "ERR_EXITED", "back": []any{16.0}}, got["seed"], "addTask's onError")
	assert.Equal(t, map[string]any{"code": "ERR_EXITED", "back": []any{24.0}}, got["sameTurn"], "never handed to Go")
}
