package main

import (
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// How loadAtmo loads: once per page whatever copy of atmo.js asks, in
// workers as they can, under a path of the site's own, from servers that
// add to the wasm type.

func TestTwoCopiesOfAtmoJSLoadingAtOnceShareOneLoad(t *testing.T) {
	ctx := pageOf(t, map[string]string{"index.html": `<!doctype html><meta charset="utf-8"><body>
<script type="module">
const a = await import('/atmo.js');
const b = await import('/atmo.js?copy=2'); // a cache-busting query, a bundled copy
const outcome = (p) => p.then(async (api) => { const tm = api.createTaskManager(); api.createBrowserWorkerManager(tm, [{ tasks: ['add'], script: '/workers/math-worker.js' }]); return { sum: await tm.run('add', { a: 1, b: 2 }) }; }, (e) => ({ code: e.code, message: e.message }));
const [x, y] = await Promise.all([outcome(a.loadAtmo({ timeout: 3000 })), outcome(b.loadAtmo({ timeout: 3000 }))]);
window.loads = { x, y };
</script>`}, "window.loads")
	var got map[string]map[string]any
	eval(t, ctx, `window.loads`, &got)
	assert.Equal(t, map[string]any{"sum": 3.0}, got["x"])
	assert.Equal(t, map[string]any{"sum": 3.0}, got["y"])
}

func TestLoadAtmoRefusesOptionsItCannotUseNamingThem(t *testing.T) {
	// Each would otherwise load the default module, as if it were the one
	// asked for; the last, good call still loads it.
	ctx := pageOf(t, map[string]string{"index.html": `<!doctype html><meta charset="utf-8"><body>
<script type="module">
import { loadAtmo } from '/atmo.js';
const outcome = (f) => { try { return f().then(() => 'loaded', (e) => e.code + ' ' + e.argument); } catch (e) { return 'threw ' + e.name + ': ' + e.message; } };
window.loads = (async () => ({
  nullOptions: await outcome(() => loadAtmo(null)),
  aURL: await outcome(() => loadAtmo('/elsewhere/atmo.wasm')),
  misspelt: await outcome(() => loadAtmo({ wasmURL: '/elsewhere/atmo.wasm' })),
  wasmNotAURL: await outcome(() => loadAtmo({ wasm: 7 })),
  emptyWasmExec: await outcome(() => loadAtmo({ wasmExec: '' })),
  good: await outcome(() => loadAtmo({ wasm: new URL('/atmo.wasm', location.href), wasmExec: undefined })), // a URL object too
}))();
</script>`}, "window.loads")
	var got map[string]any
	eval(t, ctx, `window.loads`, &got)
	assert.Equal(t, map[string]any{
		"nullOptions":   "ERR_BAD_ARGUMENT options",
		"aURL":          "ERR_BAD_ARGUMENT options",
		"misspelt":      "ERR_BAD_ARGUMENT options.wasmURL",
		"wasmNotAURL":   "ERR_BAD_ARGUMENT options.wasm",
		"emptyWasmExec": "ERR_BAD_ARGUMENT options.wasmExec",
		"good":          "loaded",
	}, got)
}

// loadAtmo refuses a bad timeout whether or not the page has loaded atmo
// already, as it refuses a bad wasm or wasmExec: a later call with a bad
// value must not be silently accepted just because it shares the first load.
func TestLoadAtmoRefusesABadTimeoutOnALaterCallToo(t *testing.T) {
	ctx := apiPage(t)
	var got map[string]any
	eval(t, ctx, js(`
  const outcome = (p) => p.then(() => 'loaded', (e) => e.code + ' ' + e.argument);
  return {
    badWasm: await outcome(window.loadAtmo({ wasm: 7 })),
    negative: await outcome(window.loadAtmo({ timeout: -1 })),
    text: await outcome(window.loadAtmo({ timeout: '5000' })),
    good: await outcome(window.loadAtmo({ timeout: 5000 })),
  };`), &got)
	assert.Equal(t, map[string]any{
		"badWasm":  "ERR_BAD_ARGUMENT options.wasm",
		"negative": "ERR_BAD_ARGUMENT options.timeout",
		"text":     "ERR_BAD_ARGUMENT options.timeout",
		"good":     "loaded",
	}, got)
}

func TestAGoWorkersWasmExecThatHangsFailsItsStartSayingSoAndLoadsOnceTheServerAnswers(t *testing.T) {
	// The page has its own copy (a script tag); its Go workers' comes from a
	// URL the server holds without answering, until /fix. The page gives up
	// on its copy's download and ends it: a download left running holds the
	// HTTP cache's lock on the URL, and every later request of it (the
	// worker's importScripts, the next start's) waited behind it.
	dir := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(dir, "index.html"), []byte(`<!doctype html><meta charset="utf-8"><body>
<script src="/wasm_exec.js"></script>
<script type="module">
import { loadAtmo } from '/atmo.js';
(async () => { try {
  const atmo = await loadAtmo({ wasmExec: '/wasm_exec.js?hang' });
  const tm = atmo.createTaskManager();
  const wm = atmo.createBrowserWorkerManager(tm, [{ tasks: ['add'], module: '/workers/math.wasm', startTimeout: 4000 }]);
  await new Promise((r) => setTimeout(r, 4500)); // its first start has timed out
  const lastError = wm.workers()[0].lastError;
  await fetch('/fix');
  let ready = 'ready';
  try { await wm.ready({ timeout: 45000 }); } catch (e) { ready = e.message; }
  window.answer = { lastError, ready, sum: ready === 'ready' ? await tm.run('add', { a: 1, b: 2 }) : null };
} catch (e) { window.answer = { code: e.code, message: e.message }; } })();
</script>`), 0o644))
	h := NewHandler(Config{WasmDir: repoWasmDir, Mounts: []Mount{{Prefix: "/t/", Dir: dir}}})
	var fixed atomic.Bool
	var held atomic.Int32 // requests held before /fix
	hang := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/fix" {
			fixed.Store(true)
			return
		}
		if r.URL.Path == "/wasm_exec.js" && r.URL.RawQuery == "hang" && !fixed.Load() {
			held.Add(1)
			<-r.Context().Done() // until the client gives up
			return
		}
		h.ServeHTTP(w, r)
	})
	got := openOn(t, hang, "/t/index.html")
	assert.Contains(t, got["lastError"], "its wasm_exec.js, ")
	assert.Contains(t, got["lastError"], "/wasm_exec.js?hang, had not arrived after 4s (startTimeout; the page gave up on its own copy after 3s): check that the server answers for it (loadAtmo's wasmExec)")
	assert.Greater(t, held.Load(), int32(1), "the requests after the first reached the server: none waited behind a download the page gave up on")
	assert.Equal(t, "ready", got["ready"])
	assert.Equal(t, 3.0, got["sum"])
}

func TestASecondLoadAtmoWithOtherURLsGetsTheFirstLoadAndIsToldSo(t *testing.T) {
	ctx := pageOf(t, map[string]string{"index.html": `<!doctype html><meta charset="utf-8"><body>
<script type="module">
import { loadAtmo } from '/atmo.js';
const warned = [];
console.warn = (...args) => warned.push(args.join(' '));
const a = await loadAtmo({ wasm: '/atmo.wasm' });
const same = await loadAtmo({ wasm: '/atmo.wasm' });
await loadAtmo({ wasm: new URL('/atmo.wasm', location.href), wasmExec: location.origin + '/wasm_exec.js' }); // the same, spelt otherwise
const other = await loadAtmo({ wasm: '/elsewhere/atmo.wasm' });
window.loads = { shared: a === same && a === other, warned };
</script>`}, "window.loads")
	var got struct {
		Shared bool
		Warned []string
	}
	eval(t, ctx, `window.loads`, &got)
	assert.True(t, got.Shared, "one load per page")
	require.Len(t, got.Warned, 1, "the calls with the same URLs, however spelt, are not warned")
	assert.Contains(t, got.Warned[0], `atmo: loadAtmo({"wasm":"/elsewhere/atmo.wasm"}): atmo loads once per page, and this page loaded it already from /atmo.wasm`)
}

func TestLoadAtmoInAWorkerLoadsWasmExecAsThatWorkerCanOrSaysWhy(t *testing.T) {
	ctx := pageOf(t, map[string]string{
		"module-worker.js": `import { loadAtmo } from '/atmo.js';
loadAtmo().then(async (atmo) => { const tm = atmo.createTaskManager(); atmo.createBrowserWorkerManager(tm, [{ tasks: ['add'], script: '/workers/math-worker.js' }]); postMessage({ sum: await tm.run('add', { a: 1, b: 2 }) }); },
  (e) => postMessage({ code: e.code, message: e.message }));`,
		"classic-worker.js": `import('/atmo.js').then(({ loadAtmo }) => loadAtmo({ wasmExec: '/t/missing-wasm-exec.js' }))
  .then(() => postMessage({ loaded: true }), (e) => postMessage({ code: e.code, message: e.message }));`,
		"index.html": `<!doctype html><meta charset="utf-8"><body>
<script type="module">
const ask = (url, type) => new Promise((res) => { const w = new Worker(url, { type }); w.onmessage = (e) => res(e.data); w.onerror = (e) => res({ error: e.message || 'worker error' }); });
window.answer = { module: await ask('/t/module-worker.js', 'module'), classic: await ask('/t/classic-worker.js', 'classic') };
</script>`}, "window.answer")
	var got map[string]map[string]any
	eval(t, ctx, `window.answer`, &got)
	assert.Equal(t, map[string]any{"sum": 3.0}, got["module"], "a module worker has no importScripts: wasm_exec.js loads as a module")
	assert.Equal(t, "ERR_LOAD", got["classic"]["code"])
	assert.Contains(t, got["classic"]["message"], "atmo: could not load /t/missing-wasm-exec.js: ")
	assert.Contains(t, got["classic"]["message"], "it must be the wasm_exec.js of the Go that built the module")
}

func TestLoadAtmoTakesWasmExecAsADataURLAndInABlobWorkerThatLoadedItItself(t *testing.T) {
	ctx := pageOf(t, map[string]string{"index.html": `<!doctype html><meta charset="utf-8"><body>
<script type="module">
import { loadAtmo } from '/atmo.js';
const o = location.origin;
const sum = async (atmo) => { const tm = atmo.createTaskManager(); atmo.createBrowserWorkerManager(tm, [{ tasks: ['add'], script: o + '/workers/math-worker.js' }]); return { sum: await tm.run('add', { a: 1, b: 2 }) }; };
const failed = (e) => ({ code: e.code, name: e.name, message: e.message });
// A single-file bundle inlines wasm_exec.js, ~17 KB, as a data: URL.
const text = await (await fetch('/wasm_exec.js')).text();
const inline = await loadAtmo({ wasmExec: 'data:text/javascript;charset=utf-8,' + encodeURIComponent(text) }).then(sum, failed);
// A Blob URL worker, whose own URL resolves no relative one, that loaded wasm_exec.js itself.
const src = 'importScripts(' + JSON.stringify(o + '/wasm_exec.js') + ');\n' +
  'import(' + JSON.stringify(o + '/atmo.js') + ').then(({ loadAtmo }) => loadAtmo({ wasm: ' + JSON.stringify(o + '/atmo.wasm') + ' }))\n' +
  '  .then(() => postMessage({ loaded: true }), (e) => postMessage({ code: e.code, name: e.name, message: e.message }));';
const blob = await new Promise((res) => { const w = new Worker(URL.createObjectURL(new Blob([src], { type: 'text/javascript' }))); w.onmessage = (e) => res(e.data); w.onerror = (e) => res({ error: e.message || 'worker error' }); });
window.answer = { inline, blob };
</script>`}, "window.answer")
	var got map[string]map[string]any
	eval(t, ctx, `window.answer`, &got)
	assert.Equal(t, map[string]any{"sum": 3.0}, got["inline"])
	assert.Equal(t, map[string]any{"loaded": true}, got["blob"])
}

func TestAnErrorFromTheSharedLoadIsAnAtmoErrorOfEveryCopy(t *testing.T) {
	ctx := pageOf(t, map[string]string{"index.html": `<!doctype html><meta charset="utf-8"><body>
<script type="module">
const a = await import('/atmo.js');
await a.loadAtmo();
const b = await import('/atmo.js?copy=2');
const tm = (await b.loadAtmo()).createTaskManager();
try { await tm.run('', {}); window.answer = { ran: true }; }
catch (e) { window.answer = { code: e.code, ofA: e instanceof a.AtmoError, ofB: e instanceof b.AtmoError, notAnError: new Error('x') instanceof b.AtmoError }; }
</script>`}, "window.answer")
	var got map[string]any
	eval(t, ctx, `window.answer`, &got)
	assert.Equal(t, map[string]any{"code": "ERR_BAD_ARGUMENT", "ofA": true, "ofB": true, "notAnError": false}, got)
}

// openOn serves h, opens path on it and waits for window.answer.
func openOn(t *testing.T, h http.Handler, path string) map[string]any {
	t.Helper()
	ctx, base, _ := tabOn(t, h)
	require.NoError(t, chromedp.Run(ctx, chromedp.Navigate(base+path)))
	var got map[string]any
	require.NoError(t, chromedp.Run(ctx, chromedp.Poll("window.answer", &got, chromedp.WithPollingTimeout(50*time.Second), chromedp.WithPollingInterval(100*time.Millisecond))))
	return got
}

func TestTheJSAPIUnderASitePathStartsGoWorkersFromIt(t *testing.T) {
	dir := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(dir, "index.html"), []byte(`<!doctype html><meta charset="utf-8"><body><script type="module">
import { loadAtmo } from '../atmo.js';
(async () => { try {
  const atmo = await loadAtmo({ wasm: '../atmo.wasm', wasmExec: '../wasm_exec.js' });
  const tm = atmo.createTaskManager();
  const wm = atmo.createBrowserWorkerManager(tm, [{ tasks: ['add'], module: '../workers/math.wasm', startTimeout: 5000 }]);
  try { await wm.ready({ timeout: 20000 }); } catch (e) { window.answer = { ready: e.message }; return; }
  window.answer = { sum: await tm.run('add', { a: 1, b: 2 }) };
} catch (e) { window.answer = { code: e.code, message: e.message }; } })();
</script>`), 0o644))
	mux := http.NewServeMux()
	mux.Handle("/app/", http.StripPrefix("/app", NewHandler(Config{WasmDir: repoWasmDir, Mounts: []Mount{{Prefix: "/t/", Dir: dir}}}))) // nothing outside /app/
	assert.Equal(t, map[string]any{"sum": 3.0}, openOn(t, mux, "/app/t/index.html"), "the Go worker loads wasm_exec.js from where loadAtmo did")
}

func TestLoadAtmoTakesAWasmTypeWithParameters(t *testing.T) {
	dir := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(dir, "index.html"), []byte(`<!doctype html><meta charset="utf-8"><body><script type="module">
import { loadAtmo } from '/atmo.js';
loadAtmo().then(() => { window.answer = { loaded: true }; }, (e) => { window.answer = { code: e.code, message: e.message }; });
</script>`), 0o644))
	h := NewHandler(Config{WasmDir: repoWasmDir, Mounts: []Mount{{Prefix: "/t/", Dir: dir}}})
	withCharset := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasSuffix(r.URL.Path, ".wasm") {
			w = charsetWriter{w} // as a proxy or a static server's config may send it
		}
		h.ServeHTTP(w, r)
	})
	assert.Equal(t, map[string]any{"loaded": true}, openOn(t, withCharset, "/t/index.html"))
}

// charsetWriter sends its response as application/wasm; charset=utf-8.
type charsetWriter struct{ http.ResponseWriter }

func (w charsetWriter) WriteHeader(code int) {
	w.Header().Set("Content-Type", "application/wasm; charset=utf-8")
	w.ResponseWriter.WriteHeader(code)
}

func (w charsetWriter) Write(b []byte) (int, error) {
	if w.Header().Get("Content-Type") != "application/wasm; charset=utf-8" {
		w.WriteHeader(http.StatusOK)
	}
	return w.ResponseWriter.Write(b)
}

func TestASubclassOfAtmoErrorKeepsItsOwnInstanceof(t *testing.T) {
	ctx := pageOf(t, map[string]string{"index.html": `<!doctype html><meta charset="utf-8"><body>
<script type="module">
import { AtmoError, loadAtmo } from '/atmo.js';
class AppError extends AtmoError {}
class TimeoutError extends AtmoError { constructor(m) { super(m, { code: 'ERR_APP_TIMEOUT' }); this.name = 'TimeoutError'; } }
const tm = (await loadAtmo()).createTaskManager();
let e; try { await tm.run('', {}); } catch (err) { e = err; }
const mine = new TimeoutError('slow');
window.answer = { code: e.code, atmos: e instanceof AtmoError, isApp: e instanceof AppError, isTimeout: e instanceof TimeoutError,
  mineIsTimeout: mine instanceof TimeoutError, mineIsAtmo: mine instanceof AtmoError, mineIsApp: mine instanceof AppError };
</script>`}, "window.answer")
	var got map[string]any
	eval(t, ctx, `window.answer`, &got)
	assert.Equal(t, map[string]any{"code": "ERR_BAD_ARGUMENT", "atmos": true, "isApp": false, "isTimeout": false,
		"mineIsTimeout": true, "mineIsAtmo": true, "mineIsApp": false}, got)
}

func TestABlobURLWorkerLoadsAtmoWithItsDefaultsAndStartsGoWorkersFromPathsFromTheRoot(t *testing.T) {
	// Such a worker resolves no relative URL: a path from the root means
	// the same at its origin; a path relative to a folder is refused.
	ctx := pageOf(t, map[string]string{"index.html": `<!doctype html><meta charset="utf-8"><body>
<script type="module">
const o = location.origin;
const src = 'import(' + JSON.stringify(o + '/atmo.js') + ').then(async ({ loadAtmo }) => { const atmo = await loadAtmo();\n' +
  '  const tm = atmo.createTaskManager(); atmo.createBrowserWorkerManager(tm, [{ tasks: ["add"], module: "/workers/math.wasm" }]);\n' +
  '  let relative; try { atmo.createBrowserWorkerManager(tm, [{ tasks: ["add"], script: "math-worker.js" }]); relative = "taken"; } catch (e) { relative = e.code + ": " + e.message; }\n' +
  '  postMessage({ sum: await tm.run("add", { a: 1, b: 2 }), relative }); }).catch((e) => postMessage({ code: e.code, message: e.message }));';
const w = new Worker(URL.createObjectURL(new Blob([src], { type: 'text/javascript' })));
w.onmessage = (e) => { window.answer = e.data; };
w.onerror = (e) => { window.answer = { error: e.message || 'worker error' }; };
</script>`}, "window.answer")
	var got map[string]any
	eval(t, ctx, `window.answer`, &got)
	assert.Equal(t, map[string]any{"sum": 3.0, "relative": `ERR_BAD_ARGUMENT: atmo: configs[0].script is not a URL: "math-worker.js"`}, got)
}

// A Go worker whose wasm_exec.js the server does not serve fails its start
// with advice a page can follow: loadAtmo's wasmExec, not the Go setting
// GoModuleOptions.WasmExec, which a page never sees.
func TestAGoWorkersMissingWasmExecNamesLoadAtmosWasmExecOnly(t *testing.T) {
	dir := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(dir, "index.html"), []byte(`<!doctype html><meta charset="utf-8"><body>
<script src="/wasm_exec.js"></script>
<script type="module">
import { loadAtmo } from '/atmo.js';
(async () => { try {
  const atmo = await loadAtmo({ wasmExec: '/wasm_exec.js?missing' });
  const tm = atmo.createTaskManager();
  const wm = atmo.createBrowserWorkerManager(tm, [{ tasks: ['add'], module: '/workers/math.wasm' }]);
  let ready = 'ready';
  try { await wm.ready({ timeout: 20000 }); } catch (e) { ready = e.message; }
  window.answer = { lastError: wm.workers()[0].lastError, ready };
} catch (e) { window.answer = { code: e.code, message: e.message }; } })();
</script>`), 0o644))
	h := NewHandler(Config{WasmDir: repoWasmDir, Mounts: []Mount{{Prefix: "/t/", Dir: dir}}})
	missing := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/wasm_exec.js" && r.URL.RawQuery == "missing" {
			http.NotFound(w, r)
			return
		}
		h.ServeHTTP(w, r)
	})
	got := openOn(t, missing, "/t/index.html")
	t.Logf("%v", got)
	for _, k := range []string{"lastError", "ready"} {
		s, _ := got[k].(string)
		assert.Contains(t, s, "wasm_exec.js", k)
		assert.Contains(t, s, "loadAtmo's wasmExec", k)
		assert.NotContains(t, s, "GoModuleOptions", k)
	}
}
