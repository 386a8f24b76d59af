//go:build js && wasm

package atmo

import (
	"context"
	"fmt"
	"math/rand/v2"
	"strings"
	"syscall/js"
	"time"

	"github.com/atmoworkers/atmo/wasm/internal/hooks"
	"github.com/atmoworkers/atmo/wasm/internal/protocol"
	"github.com/atmoworkers/atmo/wasm/internal/values"
)

// BrowserWorkerManager runs a pool of Web Workers for a TaskManager: the
// seed's BrowserWorkerManager. Each WorkerConfig starts Count workers
// (default 1).
type BrowserWorkerManager struct {
	pool *workerPool
}

// BrowserTaskWorker is one Web Worker of a BrowserWorkerManager.
type BrowserTaskWorker = TaskWorker

// NewBrowserWorkerManager starts the Web Workers of each config and attaches
// them to tm. It returns at once; use Ready to wait for the workers. An error
// means there are no Web Workers here (Node.js: use NewServerWorkerManager),
// a config was unusable (it names the field: no Tasks, neither or both of
// Script and Module, a bad Type, a bad count or duration) or tm was closed.
func NewBrowserWorkerManager(tm *TaskManager, configs ...WorkerConfig) (*BrowserWorkerManager, error) {
	if js.Global().Get("Worker").Type() != js.TypeFunction {
		return nil, fmt.Errorf("atmo: a BrowserWorkerManager needs Web Workers, and globalThis.Worker is not defined here: under Node.js, use NewServerWorkerManager (worker_threads)")
	}
	p, err := newWorkerPool(tm, spawnWebWorker, configs)
	if err != nil {
		return nil, err
	}
	return &BrowserWorkerManager{pool: p}, nil
}

func init() {
	hooks.HadWorker = func(wm any, id string) bool {
		p := wm.(*BrowserWorkerManager).pool
		p.tm.mu.Lock()
		defer p.tm.mu.Unlock()
		return p.hadWorker(id)
	}
}

// Workers lists the manager's workers, in the order they were started.
func (m *BrowserWorkerManager) Workers() []*BrowserTaskWorker { return m.pool.list() }

// Ready waits until every worker is available or closed. It returns an
// error wrapping ErrWorkerStart naming each worker that failed to start;
// if ctx ends first, ctx's error, naming the workers still starting, joined
// with those that had already failed to start.
func (m *BrowserWorkerManager) Ready(ctx context.Context) error { return m.pool.ready(ctx) }

// AddWorker starts the workers of one more config (c.Count of them,
// default 1) and returns the first.
func (m *BrowserWorkerManager) AddWorker(c WorkerConfig) (*BrowserTaskWorker, error) {
	return m.pool.add(c)
}

// Close terminates every worker. Their queued tasks that no other manager's
// worker can take settle with ErrClosed, as do their running tasks, but
// those with Retries left, which run again where another manager's worker
// lists them (a task without Retries never runs twice), and those never
// sent to them (still in a turn's batch), which go back in line there.
func (m *BrowserWorkerManager) Close() error {
	m.pool.close(ErrClosed)
	return nil
}

// webWorker is the transport to one Web Worker.
type webWorker struct {
	worker         js.Value
	onMessage      *values.Receiver
	onError, onBad js.Func
	unlisten       js.Value // removes the worker's listeners (see workerEvents)
	lock           string   // a Web Lock the worker holds while it lives ("" for none)
	lockGranted    js.Func  // called when the lock is granted: the thread ended
	forgetLock     js.Value // stops lockGranted from being called (undefined before watchLock)
	ended          bool
	batch          bool        // the worker takes worker-work-batch (said so in worker-ready)
	owner          *TaskWorker // the core's side: its tasks in flight decide what waits for a batch
	queue          js.Value    // the batch being built this turn
	strings        jsStrings
}

// liveThreads are the Web Workers started and not yet terminated, Go
// modules' compile workers (compileGoModule) among them. They are
// terminated when the page's Go program exits (returns from main, panics,
// calls os.Exit): nothing in Go runs then to close its managers, and a
// worker would otherwise run on, and hold its memory, until the page
// reloads.
var liveThreads = js.Global().Get("Set").New()

func init() { endOnExit.Invoke(values.GoInstance(), liveThreads) }

// endOnExit terminates threads once go, the page's wasm_exec.js Go instance,
// has exited. Where the instance is unknown (null: a wasm_exec.js too unlike
// Go's own), they are left to the page. It also clears the setTimeouts that
// Go's scheduler left armed for its timers (atmo's restart backoff, boot and
// task timeouts among them): wasm_exec.js's exit keeps them, and each would
// call into the exited program, throwing "Go program has already exited"
// at the page (golang/go#72797). The exit promise settles in a microtask,
// before any of them can fire.
var endOnExit = js.Global().Get("Function").New("go", "threads", `
if (go === null || !go._exitPromise || typeof go._exitPromise.then !== 'function') return;
go._exitPromise.then(() => {
  for (const w of threads) w.terminate();
  threads.clear();
  const timeouts = go._scheduledTimeouts;
  if (timeouts instanceof Map) {
    for (const id of timeouts.values()) clearTimeout(id);
    timeouts.clear();
  }
});`)

func spawnWebWorker(w *TaskWorker) (transport, error) {
	if w.config.Module != "" {
		return spawnGoWebWorker(w)
	}
	opts := map[string]any{"name": w.id}
	if w.config.Type == "module" || w.group.asModule {
		opts["type"] = "module"
	}
	return startWebWorker(w, w.config.Script, opts)
}

// lockSeq makes each worker thread's lock name unique in the page; the
// manager id and a random part keep it unique across pages of one origin.
var lockSeq int

// startWebWorker creates a Web Worker running url and wires its events to
// w's pool. The Go worker bootstrap uses it too.
func startWebWorker(w *TaskWorker, url string, opts map[string]any) (*webWorker, error) {
	ww := &webWorker{owner: w, strings: jsStrings{}, queue: wireNewQueue.Invoke(w.config.Concurrency)}
	if err := jsCall(func() { ww.worker = js.Global().Get("Worker").New(url, opts) }); err != nil {
		return nil, fmt.Errorf("new Worker(%q): %v", url, err)
	}
	liveThreads.Call("add", ww.worker)
	lockSeq++
	ww.lock = fmt.Sprintf("atmo:%s:%s:%d:%d", w.pool.tm.id, w.id, lockSeq, rand.Uint32())
	p := w.pool
	receive := func(ins []inbound) {
		if !ww.ended {
			p.receiveAll(w, ins)
		}
	}
	ww.onMessage = values.NewReceiver(func(b []byte) { receive(receiveWire(b)) }, func(data js.Value) {
		if ww.ended {
			return
		}
		ins, err := decodeInbounds(fromJS(data))
		if err != nil {
			p.ignore()
			return
		}
		receive(ins)
	})
	ww.onError = js.FuncOf(func(_ js.Value, args []js.Value) any {
		e := args[0]
		e.Call("preventDefault") // handled here; keeps the page's console clean
		msg := ""
		if m := e.Get("message"); m.Type() == js.TypeString {
			msg = cutError(m.String()) // as a worker's own error is: the place still follows
		}
		if msg == "" {
			msg = loadFailure(url, opts["type"] == "module")
		} else {
			msg += errorPlace(e)
		}
		if moduleSyntax(msg) && w.config.Type == "" && w.config.Module == "" {
			msg += moduleHint(w, e, url, opts["type"] == "module")
		}
		if w.config.Module == "" && loading(w) {
			switch {
			case wasmPath(url):
				msg += " (a .wasm file is no script: a Go WASM worker module goes in WorkerConfig.Module, not Script)"
			case strings.Contains(msg, "Unexpected token '<'"):
				msg += " (it reads as HTML, not JavaScript: check the URL, as a server may answer an unknown path with a page)"
			}
		}
		p.workerError(w, msg)
		return nil
	})
	ww.onBad = js.FuncOf(func(_ js.Value, _ []js.Value) any {
		p.ignore() // a message that could not be deserialized
		return nil
	})
	// A worker may outlive a program that returned: the wire's listener
	// calls into Go only while it runs, and so do the other two.
	ww.unlisten = workerEvents.Invoke(ww.worker, wireListen.Invoke(ww.onMessage.JS, false, ww.queue),
		values.WhileAlive(ww.onError), values.WhileAlive(ww.onBad))
	return ww, nil
}

// errorPlace is where an error event says its error happened, as " (at
// file:line:column)": the worker's script, or a script it loaded with
// importScripts. "" when the event names no line.
func errorPlace(e js.Value) string {
	f, line, col := e.Get("filename"), e.Get("lineno"), e.Get("colno")
	if f.Type() != js.TypeString || f.String() == "" || line.Type() != js.TypeNumber || line.Int() <= 0 {
		return ""
	}
	place := fmt.Sprintf("%s:%d", f.String(), line.Int())
	if col.Type() == js.TypeNumber && col.Int() > 0 {
		place += fmt.Sprintf(":%d", col.Int())
	}
	return " (at " + place + ")"
}

// loadFailure is why a worker's script failed to load, from an error
// event with no message. For a classic script that is a 404, a network
// error or a wrong MIME type (its syntax errors and throws have messages);
// a module worker's event carries none for a syntax error either, in the
// script or in a module it imports.
func loadFailure(url string, asModule bool) string {
	if asModule {
		return fmt.Sprintf("the module script %s could not be loaded or run: a 404, a network error or a wrong MIME type, or a syntax error in it or in a module it imports (a module worker's load error carries no message: the browser's console names the cause)", url)
	}
	return fmt.Sprintf("the script %s could not be loaded or run (a 404, a network error, or a wrong MIME type)", url)
}

// moduleHint is what a load error for module syntax in a worker of no Type
// adds to its message. Only the script's own module syntax makes it a
// module: its next start, after this failed one, is as a module, and so are
// the starts of its config's other workers, the grown ones too (a script
// that evaluates module syntax later, while it runs tasks, is left alone).
// A classic script that importScripts a library with export in it stays
// classic, and the hint says where the syntax was: a library, or the script
// itself, redirected.
func moduleHint(w *TaskWorker, e js.Value, url string, asModule bool) string {
	p := w.pool
	p.tm.mu.Lock()
	loading := w.status == WorkerOffline && !asModule
	own := loading && ownScript(e, url)
	if own {
		w.group.asModule = true
	}
	p.tm.mu.Unlock()
	switch {
	case own:
		return " (it is an ES module: set WorkerConfig.Type to \"module\"; atmo starts it as one if it starts again)"
	case loading:
		return fmt.Sprintf(" (in %s, not the worker's script as atmo named it, so it stays a classic script; if %s is itself an ES module, set WorkerConfig.Type to \"module\")", e.Get("filename").String(), url)
	}
	return ""
}

// wasmPath says whether url's path names a .wasm file (its query and
// fragment aside), as a Go module's does.
func wasmPath(url string) bool {
	if i := strings.IndexAny(url, "?#"); i >= 0 {
		url = url[:i]
	}
	return strings.HasSuffix(strings.ToLower(url), ".wasm")
}

// loading says whether w is starting: an error event then is its script's
// failed load.
func loading(w *TaskWorker) bool {
	w.pool.tm.mu.Lock()
	defer w.pool.tm.mu.Unlock()
	return w.status == WorkerOffline
}

// ownScript says whether an error event is about the worker's own script
// (its filename is url, resolved as new Worker resolved it), not a script it
// loaded with importScripts. An event that names no file counts as its own.
func ownScript(e js.Value, url string) bool {
	f := e.Get("filename")
	if f.Type() != js.TypeString || f.String() == "" {
		return true
	}
	own, err := pageURL(url)
	return err != nil || f.String() == own
}

// moduleSyntax says whether a script's load error is module syntax in a
// classic script: import, export or import.meta, as Chromium words it.
func moduleSyntax(msg string) bool {
	for _, s := range []string{"Cannot use import statement outside a module", "Unexpected token 'export'", "Cannot use 'import.meta' outside a module"} {
		if strings.Contains(msg, s) {
			return true
		}
	}
	return false
}

// workerEvents adds a worker's listeners for message, error and
// messageerror, and returns the function that removes them.
var workerEvents = js.Global().Get("Function").New("worker", "message", "error", "bad", `
worker.addEventListener('message', message);
worker.addEventListener('error', error);
worker.addEventListener('messageerror', bad);
return () => {
  worker.removeEventListener('message', message);
  worker.removeEventListener('error', error);
  worker.removeEventListener('messageerror', bad);
};`)

// watchLock notices a worker thread that ends without a word: self.close(),
// a crash, running out of memory. No event tells the page of those, but a
// worker written with atmo-worker.js (or a Go worker) holds a Web Lock named
// in init-worker for as long as it lives and says so in worker-ready; the
// page then queues for the same lock, which it is granted when the thread
// ends. Seed workers hold none: timeouts cover them.
func (ww *webWorker) watchLock(w *TaskWorker, c map[string]any) {
	if name, _ := c["lock"].(string); name != ww.lock || ww.ended || !ww.forgetLock.IsUndefined() {
		return
	}
	locks := js.Global().Get("navigator").Get("locks")
	if locks.IsUndefined() {
		return
	}
	ww.lockGranted = js.FuncOf(func(_ js.Value, _ []js.Value) any {
		ww.lockGranted.Release() // called once: lockWatch forgets it
		if !ww.ended {
			w.pool.workerExit(w, "its thread ended without a word (self.close(), a crash, or out of memory)")
		}
		return nil // releases the lock at once
	})
	ww.forgetLock = lockWatch.Invoke(locks, ww.lock, values.WhileAlive(ww.lockGranted))
}

// lockWatch queues for a worker's lock and calls fn once it is granted,
// unless the function it returns was called first; that function says
// whether fn was still waiting, and so is for its caller to release.
// terminate calls it, so a thread the page ended itself, whose lock is
// granted later, never calls into Go. It queues at once, with no look at
// who holds the lock first (locks.query): a thread that ended in the
// meantime would look as if it never held it, and go unnoticed.
var lockWatch = js.Global().Get("Function").New("locks", "name", "fn", `
let live = true;
locks.request(name, () => {
  if (!live) return;
  live = false;
  fn();
});
return () => {
  const waiting = live;
  live = false;
  return waiting;
};`)

// ready reads what the worker said it can do in the worker-ready the core
// accepted (see readyOf, readyReader).
func (ww *webWorker) ready(content any) {
	c := readyOf(content)
	if c == nil {
		return
	}
	ww.batch = hasFeature(c, protocol.FeatureBatch)
	ww.watchLock(ww.owner, c)
}

func (ww *webWorker) init(id string, tasks []string, concurrency int, keepAwake time.Duration) {
	msg := initWorker(id, tasks, concurrency, keepAwake)
	msg["lock"] = ww.lock
	msg["features"] = []any{protocol.FeatureBatch}
	ww.worker.Call("postMessage", msg)
}

// initWorker is the init-worker message: the seed's id and task names, and
// what atmo's workers read besides (keepAwake in µs, when set).
func initWorker(id string, tasks []string, concurrency int, keepAwake time.Duration) map[string]any {
	ts := make([]any, len(tasks))
	for i, t := range tasks {
		ts[i] = t
	}
	msg := map[string]any{"message": string(KindInitWorker), "id": id, "content": ts, "concurrency": concurrency}
	if keepAwake > 0 {
		msg["keepAwake"] = microseconds(keepAwake)
	}
	return msg
}

// microseconds is d in µs, as init-worker's keepAwake and worker-work's
// awake carry it.
func microseconds(d time.Duration) float64 { return float64(d) / float64(time.Microsecond) }

// work posts a task. To a worker that takes batches and already has tasks in
// flight it goes in the batch of this turn, so a burst costs one
// postMessage per worker; otherwise (a seed worker, or one task at a time)
// it goes at once, so a lone task waits for nothing.
func (ww *webWorker) work(seq uint64, workerID, name string, params any, keep keepMode) {
	wid, n, k := ww.strings.get(workerID), ww.strings.get(name), int(keep)
	// The core has put this task in flight already: any other there means
	// the worker is busy, and this one can wait for the turn's batch.
	if ww.batch && len(ww.owner.inflight) > 1 {
		values.Post(params, func(refs, transfer any) {
			wireQueueWork.Invoke(ww.worker, ww.queue, seq, wid, n, refs, transfer, k)
		})
		return
	}
	page, worker := ww.owner.awake(seq)
	values.Post(params, func(refs, transfer any) {
		wireSendOne.Invoke(ww.worker, ww.queue, seq, wid, n, refs, transfer, k, microseconds(page), microseconds(worker))
	})
	values.CollectAfterPost()
}

func (ww *webWorker) cancel(taskID, workerID string) {
	if ww.batch {
		wireFlush.Invoke(ww.worker, ww.queue, ww.strings.get(workerID))
	}
	ww.worker.Call("postMessage", map[string]any{
		"message": string(KindWorkerCancel), "taskId": taskID, "workerId": workerID,
	})
}

// unposted drops the tasks of this turn's batch, not posted yet, and
// returns their seqs (see unposter).
func (ww *webWorker) unposted() []uint64 {
	if !ww.batch || ww.queue.IsUndefined() {
		return nil
	}
	a := wireDrop.Invoke(ww.queue)
	n := a.Length()
	if n == 0 {
		return nil
	}
	seqs := make([]uint64, n)
	for i := range seqs {
		seqs[i] = uint64(a.Index(i).Float())
	}
	return seqs
}

// unpost takes task seq out of this turn's batch, if it is still there,
// so that it is never posted (see unposter).
func (ww *webWorker) unpost(seq uint64) bool {
	if !ww.batch || ww.queue.IsUndefined() {
		return false
	}
	return wireUnqueue.Invoke(ww.queue, seq).Bool()
}

// terminate ends the thread, and forgets its lock watcher, if any.
func (ww *webWorker) terminate() {
	ww.ended = true
	if !ww.forgetLock.IsUndefined() && ww.forgetLock.Invoke().Bool() {
		ww.lockGranted.Release()
	}
	ww.worker.Call("terminate")
	liveThreads.Call("delete", ww.worker)
	ww.unlisten.Invoke()
	ww.onMessage.Release()
	ww.onError.Release()
	ww.onBad.Release()
}
