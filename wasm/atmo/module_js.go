//go:build js && wasm

package atmo

import (
	"fmt"
	"sync"
	"syscall/js"
	"time"

	"github.com/atmoworkers/atmo/jsworker"
	"github.com/atmoworkers/atmo/wasm/internal/values"
)

// Go WASM worker modules (WorkerConfig.Module) in the browser. A Go worker
// is a Web Worker running jsworker/go-worker.js, which instantiates the
// module and runs it. Each distinct module URL is fetched and compiled once,
// in a short-lived worker of the page's (on the page where it may not start
// one), and the compiled WebAssembly.Module is posted to every worker that
// runs it, which saves each worker its own compile (the bulk of a Go
// worker's start-up).

// GoModuleOptions tunes how Go WASM worker modules start. The zero value is
// the default, which suits the host server and wasmbrowsertest.
type GoModuleOptions struct {
	// WasmExec is the URL of wasm_exec.js, from the Go toolchain that built
	// the modules ($(go env GOROOT)/lib/wasm/wasm_exec.js), absolute or
	// relative to the page. Default: location.origin + "/wasm_exec.js".
	// The page reads it once and hands its workers its text (and a Blob URL
	// of it, should the text not run).
	WasmExec string
	// Bootstrap is the URL of jsworker/go-worker.js. Default: the copy
	// embedded in this program, started from a Blob URL, so nothing needs
	// serving.
	Bootstrap string
	// CompileInWorker makes every worker fetch and compile its module
	// itself instead of receiving the one the page compiled once. It is
	// slower when several workers run the same module; it exists to measure
	// that.
	CompileInWorker bool
}

// goModules is the state shared by all Go module workers of the program.
var goModules = struct {
	mu        sync.Mutex
	opts      GoModuleOptions
	bootstrap string                     // Blob URL of the embedded go-worker.js, made once
	cache     map[string]*compiledModule // by module URL, while some worker uses it
	compiles  map[string]int             // fetch+compiles started, by module URL
}{cache: map[string]*compiledModule{}, compiles: map[string]int{}}

// compiledModule is one module URL being compiled, or compiled, on the main
// thread.
type compiledModule struct {
	promise js.Value // of a WebAssembly.Module
	users   int      // live workers attached to it
	settled bool     // the promise has settled
}

// moduleStartTimedOut is a Go worker's startTimedOut: what it waited on, if
// its module m was still being fetched and compiled. That compile is then
// forgotten, so that the next worker to start tries afresh: a download can
// hang where a server never answers.
func moduleStartTimedOut(url string, m *compiledModule, d time.Duration) string {
	if !modulePending(url, m) {
		return ""
	}
	return fmt.Sprintf("its Go module %s was still being fetched and compiled after %v (StartTimeout): check that the server answers for it, or, if it is only slow (a large module, a slow link), raise WorkerConfig.StartTimeout", url, d)
}

// modulePending says whether m is still being compiled, and if so forgets
// it, so that the next worker to start compiles afresh.
func modulePending(url string, m *compiledModule) bool {
	goModules.mu.Lock()
	pending := m != nil && !m.settled
	goModules.mu.Unlock()
	if pending {
		forgetModule(url, m)
	}
	return pending
}

// SetGoModuleOptions sets how Go module workers started from now on load
// their module. Workers already started are not affected.
func SetGoModuleOptions(o GoModuleOptions) {
	goModules.mu.Lock()
	defer goModules.mu.Unlock()
	goModules.opts = o
}

// GoModuleCompiles reports how many times the page has fetched and compiled
// the module at url (in its compile worker, or on its main thread). Workers
// started together, or while another worker runs the module (a restart
// after a crash, too), share one compile.
// A module no worker has used for 10 seconds is let go, and a later worker
// compiles it again; a compile that failed is not kept.
func GoModuleCompiles(url string) int {
	goModules.mu.Lock()
	defer goModules.mu.Unlock()
	return goModules.compiles[url]
}

// compileGoModule downloads url and compiles it, in a short-lived Web Worker
// of its own when the page allows one, else on the page. Its errors say
// which step failed.
//
// Measured (a 4 MB Go module, Chromium 156, this project's 2-core VM,
// medians of eight, side by side):
//   - A worker's fetch took 56-97 ms where the page's XMLHttpRequest took
//     67-96 ms in an idle page and 106-217 ms in the bench page, while the
//     Go worker's thread started: the page's thread receives the bytes,
//     and it is busy then.
//   - fetch's arrayBuffer() on the page was slower still: 106-146 ms.
//   - WebAssembly.compile took 25-31 ms, where compileStreaming took
//     116-193 ms: it compiles every function up front instead of each at
//     its first call.
//   - Begun in the task of the XMLHttpRequest's load event, the compile
//     took 52-63 ms, against 27-30 ms a task later.
var compileGoModule = js.Global().Get("Function").New("compilerSource", "threads", `
const fail = {
  network: (url) => 'fetching ' + url + ': a network error (is the server up, and the URL right?)',
  status: (url, status, text) => ('fetching ' + url + ': ' + status + ' ' + text).trim(),
  empty: (url) => 'fetching ' + url + ': the response is empty: check the URL (some servers answer an unknown path with an empty page)',
  compile: (url, msg) => 'compiling ' + url + ': ' + msg + ' (is it a .wasm built with GOOS=js GOARCH=wasm?)',
};
// onPage and inWorker run a compile; each hands stop a function that
// ends it (its request, its thread).
const onPage = async (url, stop) => {
  const bytes = await new Promise((resolve, reject) => {
    const x = new XMLHttpRequest();
    stop(() => x.abort());
    x.responseType = 'arraybuffer';
    x.onload = () => {
      if (x.status >= 200 && x.status < 300) resolve(x.response);
      else reject(new Error(fail.status(url, x.status, x.statusText)));
    };
    x.onerror = () => reject(new Error(fail.network(url)));
    x.open('GET', url);
    x.send();
  });
  if (!bytes || !bytes.byteLength) throw new Error(fail.empty(url));
  await new Promise((resolve) => setTimeout(resolve, 0)); // a task of its own
  try {
    return await WebAssembly.compile(bytes);
  } catch (e) {
    throw new Error(fail.compile(url, e.message));
  }
};
let compiler = null; // the compile worker's Blob URL, made once
const inWorker = (url, stop) => {
  if (typeof Worker !== 'function') return onPage(url, stop);
  if (compiler === null) {
    const text = '(' + compilerSource + ')(' + fail.network + ', ' + fail.status + ', ' + fail.empty + ', ' + fail.compile + ')';
    compiler = URL.createObjectURL(new Blob([text], { type: 'text/javascript' }));
  }
  let w;
  try {
    w = new Worker(compiler, { name: 'atmo: compiling ' + url });
  } catch (e) {
    return onPage(url, stop); // a page policy forbids blob: workers
  }
  // Among the page's live threads, so that the Go program's exit ends it
  // too (see liveThreads).
  threads.add(w);
  const end = () => {
    w.terminate();
    threads.delete(w);
  };
  stop(end);
  return new Promise((resolve, reject) => {
    w.onmessage = (e) => {
      end();
      if (e.data && e.data.module instanceof WebAssembly.Module) resolve(e.data.module);
      else reject(new Error((e.data && e.data.error) || 'compiling ' + url + ': no module came back'));
    };
    // The worker did not run (a policy, or the Module could not be posted):
    // the page does it.
    w.onerror = (e) => {
      e.preventDefault();
      end();
      resolve(onPage(url, stop));
    };
    w.onmessageerror = w.onerror;
    // Resolved as the page's XMLHttpRequest would: against the document's
    // base URL (a <base href> counts), else the location.
    const base = typeof document === 'object' && document && typeof document.baseURI === 'string' ? document.baseURI : location.href;
    w.postMessage({ url: new URL(url, base).href, name: url });
  });
};
// A compile's promise has abort(), which ends its request or its thread
// and rejects it: the page gives up a compile no worker waits for, as a
// server that never answers would otherwise hold a thread and a
// connection for ever.
return (url) => {
  let stop = () => {};
  let giveUp;
  const given = new Promise((_, reject) => (giveUp = reject));
  const p = Promise.race([inWorker(url, (f) => (stop = f)), given]);
  p.abort = () => {
    stop();
    giveUp(new Error('compiling ' + url + ': given up, as no worker waits for it any more'));
  };
  return p;
};`).Invoke(compilerSource, liveThreads)

// compilerSource is the compile worker's script: a function of the error
// texts, so that they are compileGoModule's own.
const compilerSource = `function (network, status, empty, compile) {
  self.onmessage = async (e) => {
    const { url, name } = e.data;
    let r, bytes;
    try {
      r = await fetch(url);
      if (r.ok) bytes = await r.arrayBuffer();
    } catch (_) {
      self.postMessage({ error: network(name) }); // before the answer or during its body
      return;
    }
    if (!r.ok || !bytes.byteLength) {
      self.postMessage({ error: r.ok ? empty(name) : status(name, r.status, r.statusText) });
      return;
    }
    try {
      self.postMessage({ module: await WebAssembly.compile(bytes) });
    } catch (err) {
      self.postMessage({ error: compile(name, err.message) });
    }
  };
}`

// goModuleSettings returns the options and the bootstrap URL, making the
// bootstrap's Blob URL the first time.
func goModuleSettings() (GoModuleOptions, string) {
	goModules.mu.Lock()
	defer goModules.mu.Unlock()
	o := goModules.opts
	if o.Bootstrap != "" {
		return o, o.Bootstrap
	}
	if goModules.bootstrap == "" {
		text, err := jsworker.FS.ReadFile("go-worker.js")
		if err != nil {
			panic("atmo: jsworker/go-worker.js is not embedded: " + err.Error()) // a broken build
		}
		blob := js.Global().Get("Blob").New([]any{string(text)}, map[string]any{"type": "text/javascript"})
		goModules.bootstrap = js.Global().Get("URL").Call("createObjectURL", blob).String()
	}
	return o, goModules.bootstrap
}

// acquireModule returns the compile of the module at key (a URL, or a file
// path under Node.js), starting it with compile(key) if no worker has. The
// browser and Node.js transports share this cache.
func acquireModule(key string, compile js.Value) *compiledModule {
	goModules.mu.Lock()
	defer goModules.mu.Unlock()
	m := goModules.cache[key]
	if m == nil {
		m = &compiledModule{promise: compile.Invoke(key)}
		goModules.cache[key] = m
		goModules.compiles[key]++
	}
	m.users++
	return m
}

// moduleLinger is how long a compiled module stays cached after its last
// worker closed: long enough for a crashed worker's restart to reuse it. A
// variable for the tests.
var moduleLinger = 10 * time.Second

// releaseModule detaches one worker from m; after the last one, m is let go
// unless a worker takes it again within moduleLinger. A compile still
// under way that no worker waits for any more (their starts timed out,
// they were closed) is given up at once: its download and its thread end,
// where a server that never answers would hold them for ever.
func releaseModule(url string, m *compiledModule) {
	goModules.mu.Lock()
	defer goModules.mu.Unlock()
	m.users--
	if m.users > 0 {
		return
	}
	// (Node.js reads a file, which cannot hang: nothing to abort, and a
	// compile under way is kept for the next thread, as a finished one is.)
	if !m.settled && m.promise.Get("abort").Type() == js.TypeFunction {
		m.promise.Call("abort") // its rejection releases postModule's callbacks
		if goModules.cache[url] == m {
			delete(goModules.cache, url)
		}
		return
	}
	afterJS(moduleLinger, func() {
		goModules.mu.Lock()
		defer goModules.mu.Unlock()
		if m.users <= 0 && goModules.cache[url] == m {
			delete(goModules.cache, url)
		}
	})
}

// afterJS runs f on a goroutine after d, on a JS timer. A pending Go timer
// would have the js/wasm runtime arm a JS timeout each time Go goes idle
// and clear it at the next event: for the ten seconds after the bench's Go
// workers closed, setTimeout and clearTimeout took 2% of the page's thread
// in the throughput that followed.
func afterJS(d time.Duration, f func()) {
	var fn js.Func
	fn = js.FuncOf(func(js.Value, []js.Value) any {
		fn.Release()
		go f() // never block in a js.Func
		return nil
	})
	jsTimeout.Invoke(values.WhileAlive(fn), d.Milliseconds()) // a program may return within the linger
}

// jsTimeout is setTimeout, unref'd under Node.js so that it keeps no
// process alive.
var jsTimeout = js.Global().Get("Function").New("fn", "ms", `
const t = setTimeout(fn, ms);
if (typeof t === 'object' && t && t.unref) t.unref();`)

// forgetModule drops a compile that failed, so a later worker tries again.
func forgetModule(url string, m *compiledModule) {
	goModules.mu.Lock()
	defer goModules.mu.Unlock()
	if goModules.cache[url] == m {
		delete(goModules.cache, url)
	}
}

// goWebWorker is the transport to one Web Worker running the Go worker
// bootstrap, which runs the module it is posted: a webWorker that also
// holds its compiled module.
type goWebWorker struct {
	*webWorker
	url      string
	module   *compiledModule // nil with CompileInWorker
	wasmExec string
	copied   js.Value // the page's copy of wasm_exec.js (see wasmExecCopy)
}

// spawnGoWebWorker starts a Web Worker running a Go WASM worker module. It
// returns at once: the worker gets its module when the compile is done, and
// a fetch or compile failure closes it later through the pool.
func spawnGoWebWorker(w *TaskWorker) (transport, error) {
	opts, boot := goModuleSettings()
	// The bootstrap runs from a Blob URL: it gets absolute URLs. One that
	// is no URL fails the start, before any thread is made.
	wasmExec := opts.WasmExec
	if wasmExec == "" {
		wasmExec = "/wasm_exec.js"
	}
	wasmExec, err := pageURL(wasmExec)
	if err != nil {
		return nil, fmt.Errorf("GoModuleOptions.WasmExec %q is not a URL: %v", opts.WasmExec, err)
	}
	moduleURL, err := pageURL(w.config.Module)
	if err != nil {
		return nil, fmt.Errorf("the Go module %q is not a URL: %v", w.config.Module, err)
	}
	ww, err := startWebWorker(w, boot, map[string]any{"name": w.id})
	if err != nil {
		return nil, fmt.Errorf("starting the Go worker bootstrap: %v", err)
	}
	copied := wasmExecCopy.Invoke(wasmExec)
	gw := &goWebWorker{webWorker: ww, url: w.config.Module, wasmExec: wasmExec, copied: copied}

	// wasm_exec.js loads in the worker while the module compiles.
	postWithCopy.Invoke(gw.worker, copied, map[string]any{"message": "go-prepare", "wasmExec": wasmExec})
	if opts.CompileInWorker {
		postWithCopy.Invoke(gw.worker, copied, map[string]any{"message": "go-module", "url": moduleURL, "wasmExec": wasmExec})
		return gw, nil
	}
	gw.module = acquireModule(gw.url, compileGoModule)
	postModule(w, gw.url, gw.module, gw.worker, wasmExec, copied, func() bool { return gw.ended })
	return gw, nil
}

// pageURL resolves url against the page's own.
func pageURL(url string) (string, error) {
	var href string
	err := jsCall(func() {
		href = js.Global().Get("URL").New(url, pageBase()).Get("href").String()
	})
	return href, err
}

// pageBase is what the page resolves a relative URL against, as new Worker
// and fetch do: the document's base URL (a <base href> counts), or, in a
// worker, its location.
func pageBase() js.Value {
	if d := js.Global().Get("document"); d.Truthy() {
		if b := d.Get("baseURI"); b.Type() == js.TypeString {
			return b
		}
	}
	return js.Global().Get("location").Get("href")
}

// wasmExecCopy returns the page's copy of the wasm_exec.js at a URL: a
// promise of {url, text}, its text and a Blob URL of it, or of null if it
// could not be read (the worker then loads the URL itself and reports what
// is wrong with it; a later worker tries again), or of {status}, the HTTP
// status of an answer that was not OK (the worker's error names it, which
// importScripts's does not). A worker runs the text
// (go-prepare's wasmExecText) or loads the copy instead of the URL, falling
// back to the copy, then the URL, which spares every Go worker a request to
// the server: in a fresh Web Worker, importScripts took 13-28 ms from the
// server and 5-10 from a Blob URL (eight of each, alternating), and the
// text's eval <1 ms against ~4.8 for the Blob URL (medians of 160;
// examples/bench/NOTES.md, Go start-up). A copy lives as long as the page; it is a
// few tens of kilobytes. A download that has not finished within
// COPY_WAIT_MS gives null too, so that a server that never answers holds
// no worker back: each then loads the URL itself, and says what is wrong.
var wasmExecCopy = js.Global().Get("Function").New("COPY_WAIT_MS", `
const copies = new Map();
return (url) => {
  let p = copies.get(url);
  if (!p) {
    const ctl = typeof AbortController === 'function' ? new AbortController() : null;
    // An answer that is no copy gives its status instead ({status}), which
    // the worker's error names: importScripts does not say it.
    const download = fetch(url, ctl ? { signal: ctl.signal } : undefined)
      .then((r) => {
        const status = (r.status + ' ' + r.statusText).trim();
        if (!r.ok) return { status };
        return r.text().then((text) => (text
          ? { url: URL.createObjectURL(new Blob([text], { type: 'text/javascript' })), text }
          : { status: status + ', with an empty body (some servers answer an unknown path so)' }));
      })
      .catch(() => null);
    let timedOut = false;
    p = Promise.race([download, new Promise((resolve) => setTimeout(() => { timedOut = true; resolve(null); }, COPY_WAIT_MS))]);
    p.then((c) => {
      if (c && c.text) return;
      copies.delete(url);
      // Given up: end the download (its connection, and the cache's hold
      // on the URL, which would keep every later request of it waiting).
      if (timedOut) {
        p.hung = true;
        if (ctl) ctl.abort();
      }
    });
    copies.set(url, p);
  }
  return p;
};`).Invoke(wasmExecCopyWait.Milliseconds())

// wasmExecCopyWait is how long a worker waits for the page's copy of
// wasm_exec.js (see wasmExecCopy); it takes ~1 ms from a local server.
const wasmExecCopyWait = 3 * time.Second

// postWithCopy posts msg to worker once copied (a promise from
// wasmExecCopy, or undefined) has settled, with the copy's URL as
// wasmExecCopy, and its text as wasmExecText on go-prepare (the message
// that loads it; go-module's copy is for a worker whose go-prepare failed),
// or, for a download that was answered with an error, its HTTP status as
// wasmExecStatus.
// Posting to a worker that ended meanwhile does nothing.
var postWithCopy = js.Global().Get("Function").New("worker", "copied", "msg", `
if (copied === undefined) { worker.postMessage(msg); return; }
copied.then((c) => {
  if (c && c.text) {
    msg.wasmExecCopy = c.url;
    if (msg.message === 'go-prepare') msg.wasmExecText = c.text;
  } else if (c && c.status) msg.wasmExecStatus = c.status;
  worker.postMessage(msg);
});`)

// postModule posts m's module to worker once it is compiled, as the
// go-module message (url names it), with the page's copy of wasm_exec.js
// once that is ready too (copied, see wasmExecCopy; undefined for none),
// unless the worker ended meanwhile. A
// failed compile is forgotten, so that a later worker tries again, and ends
// w with the reason.
func postModule(w *TaskWorker, url string, m *compiledModule, worker js.Value, wasmExec string, copied js.Value, ended func() bool) {
	var onCompiled, onFailed js.Func
	done := func() {
		onCompiled.Release()
		onFailed.Release()
		goModules.mu.Lock()
		m.settled = true
		goModules.mu.Unlock()
	}
	onCompiled = js.FuncOf(func(_ js.Value, args []js.Value) any {
		done()
		if !ended() {
			postWithCopy.Invoke(worker, copied, map[string]any{"message": "go-module", "module": args[0], "url": url, "wasmExec": wasmExec})
		}
		return nil
	})
	onFailed = js.FuncOf(func(_ js.Value, args []js.Value) any {
		done()
		forgetModule(url, m)
		if !ended() {
			w.pool.workerExit(w, jsErrorText(args[0]))
		}
		return nil
	})
	// A program may return while its module is still compiling.
	m.promise.Call("then", values.WhileAlive(onCompiled), values.WhileAlive(onFailed))
}

// jsErrorText is the message of a rejected promise's reason.
func jsErrorText(v js.Value) string {
	if v.Type() == js.TypeObject {
		if m := v.Get("message"); m.Type() == js.TypeString && m.String() != "" {
			return m.String()
		}
	}
	return v.Call("toString").String()
}

func (gw *goWebWorker) startTimedOut(d time.Duration) string {
	if why := moduleStartTimedOut(gw.url, gw.module, d); why != "" {
		return why
	}
	if gw.copied.Get("hung").Truthy() {
		return fmt.Sprintf("its wasm_exec.js, %s, had not arrived after %v (StartTimeout; the page gave up on its own copy after %v): check that the server answers for it (GoModuleOptions.WasmExec; loadAtmo's wasmExec in the JS API)", gw.wasmExec, d, wasmExecCopyWait)
	}
	return ""
}

func (gw *goWebWorker) terminate() {
	if gw.ended {
		return
	}
	gw.webWorker.terminate()
	if gw.module != nil {
		releaseModule(gw.url, gw.module)
	}
}
