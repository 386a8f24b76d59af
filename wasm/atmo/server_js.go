//go:build js && wasm

package atmo

import (
	"context"
	"errors"
	"fmt"
	"os"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"syscall/js"
	"time"

	"github.com/atmoworkers/atmo/jsworker"
	"github.com/atmoworkers/atmo/wasm/internal/values"
)

// ServerWorkerManager runs a pool of Node.js worker_threads workers for a
// TaskManager: the seed's ServerWorkerManager, for CPU-heavy work spread over
// every core of a server. It is the BrowserWorkerManager with another
// transport: the same matching, queue, statuses and errors. The Go program
// runs under Node.js (GOOS=js GOARCH=wasm, with Go's wasm_exec_node.js).
//
// A WorkerConfig's Script (or Module) is a file path, relative to the
// process's working directory when the config is given (its workers'
// restarts use the same file, whatever directory the program is in by
// then), or a file: URL. Node.js decides by the file
// whether a script is CommonJS or an ES module (.mjs, or "type": "module" in
// a package.json), so WorkerConfig.Type is not used here. Every thread's
// process.env is this Go program's environment (os.Environ, os.Setenv's
// changes included), as a child process's would be.
//
// A Module (a Go WASM worker module) is read and compiled once on the main
// thread, and the compiled WebAssembly.Module is posted to every thread that
// runs it (GoModuleCompiles, given the module's absolute path, counts the
// compiles). The threads run jsworker/go-worker.js, embedded in this program,
// with the wasm_exec.js of the Go toolchain that runs this program; set
// GoModuleOptions.WasmExec (a file path here) to use another one.
type ServerWorkerManager struct {
	pool *workerPool
}

// ServerTaskWorker is one worker_threads worker of a ServerWorkerManager.
type ServerTaskWorker = TaskWorker

// NewServerWorkerManager starts the worker_threads Workers of each config
// (Count of them, default 1) and attaches them to tm. It returns at once; use
// Ready to wait for the workers. An error means this is not Node.js, a config
// was unusable (it names the field, as NewBrowserWorkerManager's do), or tm
// was closed. A script that does not exist is not an error
// here: its worker closes with "no such file", as a 404 does in the browser.
func NewServerWorkerManager(tm *TaskManager, configs ...WorkerConfig) (*ServerWorkerManager, error) {
	if _, err := nodeModules(); err != nil {
		return nil, err
	}
	p, err := newWorkerPool(tm, spawnThread, configs)
	if err != nil {
		return nil, err
	}
	return &ServerWorkerManager{pool: p}, nil
}

// Workers lists the manager's workers, in the order they were started.
func (m *ServerWorkerManager) Workers() []*ServerTaskWorker { return m.pool.list() }

// Ready waits until every worker is available or closed. It returns an
// error wrapping ErrWorkerStart naming each worker that failed to start;
// if ctx ends first, ctx's error, naming the workers still starting, joined
// with those that had already failed to start.
func (m *ServerWorkerManager) Ready(ctx context.Context) error { return m.pool.ready(ctx) }

// AddWorker starts the workers of one more config (c.Count of them,
// default 1) and returns the first.
func (m *ServerWorkerManager) AddWorker(c WorkerConfig) (*ServerTaskWorker, error) {
	return m.pool.add(c)
}

// Close terminates every worker thread. Their queued tasks that no other
// manager's worker can take settle with ErrClosed, as do their running
// tasks, but those with Retries left, which run again where another
// manager's worker lists them (a task without Retries never runs twice), and
// those never sent to them (still in a turn's batch), which go back in line
// there.
func (m *ServerWorkerManager) Close() error {
	m.pool.close(ErrClosed)
	return nil
}

// node holds the Node.js modules the transport uses.
type node struct {
	workerThreads, fs, path, url, process js.Value
	noop                                  js.Value // a JS no-op, the listener for events after terminate
}

var (
	nodeOnce sync.Once
	nodeMods *node
	nodeErr  error
)

// nodeModules loads worker_threads, fs, path and url once. Go's
// wasm_exec_node.js makes require global.
func nodeModules() (*node, error) {
	nodeOnce.Do(func() {
		req := js.Global().Get("require")
		if req.Type() != js.TypeFunction {
			nodeErr = errors.New("atmo: ServerWorkerManager needs Node.js (worker_threads), and require is not defined here: run the program with Go's go_js_wasm_exec / wasm_exec_node.js, or use NewBrowserWorkerManager in a browser")
			return
		}
		n := &node{}
		if err := jsCall(func() {
			n.workerThreads = req.Invoke("worker_threads")
			n.fs = req.Invoke("fs")
			n.path = req.Invoke("path")
			n.url = req.Invoke("url")
			n.process = js.Global().Get("process")
			n.noop = js.Global().Get("Function").New("")
		}); err != nil {
			nodeErr = fmt.Errorf("atmo: ServerWorkerManager needs Node.js's worker_threads module: %v", err)
			return
		}
		nodeMods = n
	})
	return nodeMods, nodeErr
}

// workDir is the working directory that w's relative paths (its Script or
// Module, GoModuleOptions' WasmExec and Bootstrap) resolve against: the
// process's when w's config first started a worker, kept for its restarts
// and its other workers, so that a program that changes directory later
// still restarts the same files. Called with mu held.
func (n *node) workDir(w *TaskWorker) string {
	if w.group.workDir == "" {
		w.group.workDir = n.process.Call("cwd").String()
	}
	return w.group.workDir
}

// resolveFile turns a Script or Module (or a GoModuleOptions path: a path or
// a file: URL) into an absolute path to an existing file; a relative path
// is resolved against dir (see workDir).
func (n *node) resolveFile(src, dir string) (string, error) {
	scheme, _, ok := strings.Cut(src, ":")
	fileURL := ok && strings.EqualFold(scheme, "file") // a scheme is case-insensitive: FILE:/// is one too
	if ok && len(scheme) > 1 && !fileURL && !strings.ContainsAny(scheme, `/\.`) {
		return "", lasting{fmt.Errorf("%q is a URL: a server worker's Script or Module is a file path or a file: URL", src)}
	}
	var abs string
	relative := false
	err := jsCall(func() {
		p := src
		if fileURL {
			p = n.url.Call("fileURLToPath", src).String()
		}
		relative = !n.path.Call("isAbsolute", p).Bool()
		abs = n.path.Call("resolve", dir, p).String()
	})
	if err != nil {
		return "", lasting{fmt.Errorf("%q is not a usable file path or file: URL: %v", src, err)}
	}
	var st js.Value
	if err := jsCall(func() {
		st = n.fs.Call("statSync", abs, map[string]any{"throwIfNoEntry": false})
	}); err != nil {
		return "", fmt.Errorf("cannot read %s: %v", abs, err)
	}
	if st.IsUndefined() {
		var notes []string
		if relative {
			notes = append(notes, "a relative path is resolved against the working directory "+dir+", the one its worker config first started in")
		}
		if strings.HasSuffix(abs, ".wasm") {
			notes = append(notes, "a Go worker module is built first, with GOOS=js GOARCH=wasm go build -o "+abs+" and its package (in the atmo repository: make build-wasm)")
		}
		if len(notes) == 0 {
			return "", fmt.Errorf("no such file: %s", abs)
		}
		return "", fmt.Errorf("no such file: %s (%s)", abs, strings.Join(notes, "; "))
	}
	if st.Call("isDirectory").Bool() {
		return "", fmt.Errorf("%s is a directory: Script or Module must name a file", abs)
	}
	return abs, nil
}

// thread is the transport to one worker_threads Worker.
type thread struct {
	n                      *node
	worker                 js.Value
	onMessage              *values.Receiver
	onError, onExit, onBad js.Func
	listener               js.Value // the wire's message listener, which calls onMessage
	queue                  js.Value // the wire's state for this thread (its tasks whose answers stay in JS)
	terminated             atomic.Bool
	// uncaught is why the thread is dying, from its 'error' event: it is
	// reported at the 'exit' event that follows, which Node.js emits once
	// the messages the thread posted before have been delivered (the
	// 'error' event comes on another port, often ahead of them).
	uncaught string
	exitWait stopper // reports uncaught should the 'exit' event never come

	// For a script: its absolute path.
	script string
	// For a Go module: its absolute path and its compile on the main
	// thread (nil with GoModuleOptions.CompileInWorker).
	modulePath string
	module     *compiledModule
}

// startTimedOut says why the thread may not have answered init-worker in
// time: its module still compiling, or a script that does not listen
// where a Node.js worker must (the pool's own words, about a URL that may
// serve an empty page, are a browser's).
func (th *thread) startTimedOut(d time.Duration) string {
	if th.modulePath != "" {
		if modulePending(th.modulePath, th.module) {
			return fmt.Sprintf("its Go module %s was still being read and compiled after %v (StartTimeout): raise WorkerConfig.StartTimeout for a large module on a busy machine", th.modulePath, d)
		}
		return notReady(d, fmt.Sprintf("that the main of %s registers its handlers and calls worker.Run (github.com/atmoworkers/atmo/wasm/worker) without blocking before it", th.modulePath))
	}
	return notReady(d, fmt.Sprintf("that %s is a worker for this protocol, one that listens on require('worker_threads').parentPort and answers init-worker (a script written with jsworker/atmo-worker.js does)", th.script))
}

// webWorkerOnly matches the error of a script written for a Web Worker run
// as a worker_threads one.
var webWorkerOnly = regexp.MustCompile(`ReferenceError: (self|importScripts|onmessage|postMessage|addEventListener) is not defined`)

// esModuleSyntax matches the error of an ES module loaded as CommonJS.
var esModuleSyntax = regexp.MustCompile(`SyntaxError: (Cannot use import statement outside a module|Unexpected token 'export')`)

// threadOptions are the worker_threads options for w. MaxHeapMB bounds the
// thread's JS heap: a Go module's WebAssembly memory is not in it. Its env
// is os.Environ: Go's os.Setenv does not change Node.js's process.env.
func threadOptions(w *TaskWorker) map[string]any {
	env := map[string]any{}
	for _, kv := range os.Environ() {
		if k, v, ok := strings.Cut(kv, "="); ok && k != "" {
			env[k] = v
		}
	}
	o := map[string]any{"name": w.id, "env": env}
	if w.config.MaxHeapMB > 0 {
		o["resourceLimits"] = map[string]any{"maxOldGenerationSizeMb": w.config.MaxHeapMB}
	}
	return o
}

func spawnThread(w *TaskWorker) (transport, error) {
	n, err := nodeModules()
	if err != nil {
		return nil, err
	}
	if w.config.Module != "" {
		return spawnGoThread(n, w)
	}
	file, err := n.resolveFile(w.config.Script, n.workDir(w))
	if err != nil {
		return nil, err
	}
	th := &thread{n: n, script: file, queue: wireNewQueue.Invoke(w.config.Concurrency)}
	if err := jsCall(func() {
		th.worker = n.workerThreads.Get("Worker").New(file, threadOptions(w))
	}); err != nil {
		return nil, fmt.Errorf("new Worker(%q): %v", file, err)
	}
	th.listen(w)
	return th, nil
}

// listen wires the Worker's events to w's pool. In Node.js the message
// listener gets the data itself, not an event. An uncaught exception ends the
// thread (unlike in a Web Worker), so an error is a death, as an exit is:
// before worker-ready a failed start, after it a crash (the running tasks are
// retried or fail with ErrWorkerCrashed, and the worker restarts under its
// RestartPolicy).
func (th *thread) listen(w *TaskWorker) {
	p := w.pool
	th.onMessage = values.NewReceiver(func(b []byte) { p.receiveAll(w, receiveWire(b)) }, func(data js.Value) {
		ins, err := decodeInbounds(fromJS(data))
		if err != nil {
			p.ignore()
			return
		}
		p.receiveAll(w, ins)
	})
	th.onError = js.FuncOf(func(_ js.Value, args []js.Value) any {
		text, place := errorString(args[0])
		reason := "uncaught " + text
		if w.Status() == WorkerOffline && webWorkerOnly.MatchString(reason) {
			reason += " (a Web Worker script: under Node.js a worker talks through require('worker_threads').parentPort, or is written with jsworker/atmo-worker.js, which speaks to either)"
		}
		if w.Status() == WorkerOffline && strings.HasSuffix(strings.ToLower(w.config.Script), ".wasm") {
			reason += " (a .wasm file is no script: a Go WASM worker module goes in WorkerConfig.Module, not Script)"
		}
		if strings.Contains(reason, "ERR_WORKER_OUT_OF_MEMORY") {
			if w.config.MaxHeapMB > 0 {
				reason += fmt.Sprintf(" (its JS heap is bounded by WorkerConfig.MaxHeapMB, %d MiB here: raise it, or leave it 0 for Node.js's default)", w.config.MaxHeapMB)
			} else {
				reason += " (Node.js's default bound on its JS heap: WorkerConfig.MaxHeapMB sets another)"
			}
		}
		if w.Status() == WorkerOffline && esModuleSyntax.MatchString(reason) {
			reason += " (an ES module: under Node.js WorkerConfig.Type is not used; name the file .mjs, or put it in a package whose package.json says \"type\": \"module\")"
		}
		reason += place
		if th.uncaught == "" {
			th.uncaught = reason // reported at the exit that follows, after the answers posted before it
			p.workerDying(w, th)
			th.exitWait = p.tm.clock.AfterFunc(uncaughtExitWait, func() {
				p.tm.mu.Lock()
				defer p.tm.mu.Unlock()
				if w.transport == transport(th) { // not yet handled, nor replaced
					p.tm.workerDied(w, reason)
				}
			})
		}
		return nil
	})
	th.onExit = js.FuncOf(func(_ js.Value, args []js.Value) any {
		if th.uncaught != "" {
			stop(th.exitWait)
			p.workerExit(w, th.uncaught)
			return nil
		}
		reason := fmt.Sprintf("its thread exited with code %d", args[0].Int())
		if args[0].Int() == 0 && w.Status() == WorkerOffline {
			reason += " before worker-ready (a script that does not listen on parentPort ends at once)"
		}
		p.workerExit(w, reason)
		return nil
	})
	th.onBad = js.FuncOf(func(_ js.Value, _ []js.Value) any {
		p.ignore() // a message that could not be deserialized
		return nil
	})
	th.listener = wireListen.Invoke(th.onMessage.JS, true, th.queue)
	th.worker.Call("on", "message", th.listener)
	th.worker.Call("on", "error", th.onError)
	th.worker.Call("on", "exit", th.onExit)
	th.worker.Call("on", "messageerror", th.onBad)
}

// uncaughtExitWait bounds the wait for a thread's 'exit' event after its
// 'error' event, which Node.js always follows with one.
const uncaughtExitWait = 5 * time.Second

// errorString is a thrown JS value as text: "Error: message" for an Error,
// and where it was thrown when its stack says so, as " (at
// file:line:column)" (a syntax error's file and line, or the first frame
// outside Node.js's own code), as errorPlace says it in the browser; a
// thrown value that is no Error is said as JSON, as a worker's `error`
// field is, not as "[object Object]".
func errorString(v js.Value) (text, place string) {
	_ = jsCall(func() {
		r := nodeErrorText.Invoke(v)
		text, place = r.Index(0).String(), r.Index(1).String()
	})
	if text == "" {
		text = "an error with no message"
	}
	text = cutError(text) // as a worker's own error is: the place still follows
	if place != "" {
		place = " (at " + place + ")"
	}
	return text, place
}

var nodeErrorText = js.Global().Get("Function").New("e", `
const isObj = e !== null && (typeof e === 'object' || typeof e === 'function');
let text;
if (isObj && !(e instanceof Error) && typeof e.stack !== 'string') {
  try { text = JSON.stringify(e); } catch (_) { /* a cycle, a BigInt */ }
  if (typeof text !== 'string') text = undefined;
}
if (text === undefined) text = String(e);
const stack = isObj && typeof e.stack === 'string' ? e.stack : '';
let place = '';
if (stack) {
  const lines = stack.split('\n');
  const m = /^(.+):(\d+)$/.exec(lines[0]); // a SyntaxError's "file:line", then its code
  if (m && !stack.startsWith(text)) place = m[1] + ':' + m[2];
  else for (const line of lines.slice(1)) {
    const f = /^\s*at (?:.*? \()?(.+?):(\d+):(\d+)\)?$/.exec(line);
    if (f && !f[1].startsWith('node:')) { place = f[1] + ':' + f[2] + ':' + f[3]; break; }
  }
}
return [text, place];`)

func (th *thread) init(id string, tasks []string, concurrency int, keepAwake time.Duration) {
	th.worker.Call("postMessage", initWorker(id, tasks, concurrency, keepAwake))
}

func (th *thread) work(seq uint64, workerID, name string, params any, keep keepMode) {
	values.Post(params, func(refs, transfer any) {
		wireSendOne.Invoke(th.worker, th.queue, seq, workerID, name, refs, transfer, int(keep))
	})
	values.CollectAfterPost()
}

func (th *thread) cancel(taskID, workerID string) {
	th.worker.Call("postMessage", map[string]any{
		"message": string(KindWorkerCancel), "taskId": taskID, "workerId": workerID,
	})
}

// terminate stops the thread. terminate() is asynchronous; the events that
// follow it go to a no-op, because an EventEmitter with no 'error' listener
// would throw the error in the main thread.
func (th *thread) terminate() {
	if th.terminated.Swap(true) {
		return
	}
	stop(th.exitWait)
	th.worker.Call("terminate")
	th.worker.Call("off", "message", th.listener)
	th.worker.Call("off", "error", th.onError)
	th.worker.Call("off", "exit", th.onExit)
	th.worker.Call("off", "messageerror", th.onBad)
	th.worker.Call("on", "error", th.n.noop)
	th.onMessage.Release()
	th.onError.Release()
	th.onExit.Release()
	th.onBad.Release()
	if th.module != nil {
		releaseModule(th.modulePath, th.module)
	}
}

// spawnGoThread starts a thread running jsworker/go-worker.js for a Go WASM
// worker module. It returns at once: the thread gets the compiled module when
// the compile is done (go-worker.js keeps init-worker until the Go program
// listens), and a read or compile failure ends the start through the pool.
func spawnGoThread(n *node, w *TaskWorker) (transport, error) {
	dir := n.workDir(w)
	file, err := n.resolveFile(w.config.Module, dir)
	if err != nil {
		return nil, err
	}
	goModules.mu.Lock()
	opts := goModules.opts
	goModules.mu.Unlock()
	wasmExec, err := n.wasmExec(opts.WasmExec, dir)
	if err != nil {
		return nil, err
	}
	th := &thread{n: n, modulePath: file, queue: wireNewQueue.Invoke(w.config.Concurrency)}
	if opts.Bootstrap != "" {
		boot, err := n.resolveFile(opts.Bootstrap, dir)
		if err != nil {
			return nil, fmt.Errorf("GoModuleOptions.Bootstrap: %v", err)
		}
		err = jsCall(func() { th.worker = n.workerThreads.Get("Worker").New(boot, threadOptions(w)) })
		if err != nil {
			return nil, fmt.Errorf("new Worker(%q) for the Go worker bootstrap: %v", boot, err)
		}
	} else {
		text, err := jsworker.FS.ReadFile("go-worker.js")
		if err != nil {
			panic("atmo: jsworker/go-worker.js is not embedded: " + err.Error()) // a broken build
		}
		err = jsCall(func() {
			o := threadOptions(w)
			o["eval"] = true
			th.worker = n.workerThreads.Get("Worker").New(string(text), o)
		})
		if err != nil {
			return nil, fmt.Errorf("new Worker for the Go worker bootstrap: %v", err)
		}
	}
	th.listen(w)

	if opts.CompileInWorker {
		th.worker.Call("postMessage", map[string]any{"message": "go-module", "url": file, "wasmExec": wasmExec})
		return th, nil
	}
	th.module = acquireModule(file, compileFileModule) // keyed by the absolute path
	postModule(w, file, th.module, th.worker, wasmExec, js.Undefined(), th.terminated.Load)
	return th, nil
}

// wasmExec is the path of the wasm_exec.js that go-worker.js loads: the one
// given, or by default the one next to the wasm_exec_node.js running this
// program (the same Go toolchain).
func (n *node) wasmExec(given, dir string) (string, error) {
	if given != "" {
		p, err := n.resolveFile(given, dir)
		if err != nil {
			return "", fmt.Errorf("GoModuleOptions.WasmExec: %v", err)
		}
		return p, nil
	}
	var p string
	err := jsCall(func() { p = js.Global().Get("require").Call("resolve", "./wasm_exec").String() })
	if err != nil {
		return "", fmt.Errorf("cannot find the wasm_exec.js of this Go toolchain (%v): set GoModuleOptions.WasmExec to $(go env GOROOT)/lib/wasm/wasm_exec.js", err)
	}
	return p, nil
}

// compileFileModule reads a .wasm file without blocking the event loop and
// compiles it. Its errors say which step failed.
var compileFileModule = js.Global().Get("Function").New("path", `return (async () => {
  let bytes;
  try {
    bytes = await require('fs').promises.readFile(path);
  } catch (e) {
    throw new Error('reading ' + path + ': ' + e.message);
  }
  try {
    return await WebAssembly.compile(bytes);
  } catch (e) {
    throw new Error('compiling ' + path + ': ' + e.message + ' (is it a .wasm built with GOOS=js GOARCH=wasm?)');
  }
})()`)
