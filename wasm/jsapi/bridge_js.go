//go:build js && wasm

package jsapi

import (
	"context"
	"errors"
	"fmt"
	"math"
	"strings"
	"sync"
	"syscall/js"
	"time"

	"github.com/atmoworkers/atmo/wasm/atmo"
	"github.com/atmoworkers/atmo/wasm/internal/values"
)

// bridge holds the managers JavaScript created, by handle. Handles are
// small integers so that JS holds no Go pointers.
type bridge struct {
	mu    sync.Mutex
	next  int
	tms   map[int]*tmEntry
	wms   map[int]*wmEntry
	subs  map[int]*subscription
	funcs []js.Func

	// run()'s way in and its answers' way out (see runsJS)
	runsIn            *values.Receiver
	runsIDs, runsFail js.Value
}

// A manager's entry outlives it, so that status() and stats() still answer
// and other calls say ERR_CLOSED; once closed it holds only those last
// answers, and lets go of the manager, its workers and atmo.js's handler,
// so that a page making and closing managers does not grow.
type tmEntry struct {
	tm     *atmo.TaskManager // nil once closed and let go
	closed bool
	runs   *runResults // the answers of its tasks, delivered together
	final  struct{ status, stats map[string]any }
}

// close settles every task of tm, e's manager (ErrClosed), then lets the
// last answers of its tasks leave. It waits for running callbacks: call it
// in a goroutine of its own, never in a js.Func; take tm from e with mu
// held.
func (e *tmEntry) close(tm *atmo.TaskManager) {
	tm.Close()
	e.runs.out.Stop()
}

// letGo keeps e's last answers and drops the rest (see tmEntry), with the
// entries of its worker managers. Called with mu held, after close.
func (b *bridge) letGo(handle int, e *tmEntry) {
	if e.tm == nil {
		return
	}
	e.final.status, e.final.stats = statusOf(e.tm), statsOf(e.tm)
	e.tm = nil
	e.runs.mu.Lock()
	e.runs.deliver = js.Undefined()
	e.runs.mu.Unlock()
	for _, w := range b.wms {
		if w.tm == handle {
			w.letGo()
		}
	}
}

type wmEntry struct {
	wm     *atmo.BrowserWorkerManager // nil once closed and let go
	tm     int
	closed bool
	final  []any // workers() once closed
}

// letGo keeps e's last workers() and drops the manager. Called with the
// bridge's mu held, after the manager closed.
func (e *wmEntry) letGo() {
	if e.wm == nil {
		return
	}
	e.final = workersOf(e.wm)
	e.wm = nil
	e.closed = true
}

// New returns the bridge object: a plain JS object of functions that
// web/atmo.js wraps. Its functions live as long as the page.
func New() js.Value {
	_, obj := newBridge()
	return obj
}

func newBridge() (*bridge, js.Value) {
	b := &bridge{tms: map[int]*tmEntry{}, wms: map[int]*wmEntry{}, subs: map[int]*subscription{}}
	obj := js.Global().Get("Object").New()
	obj.Set("hold", values.Codec.Get("hold"))         // a run()'s params, kept in JS for Go (see runsJS)
	obj.Set("release", values.Codec.Get("release"))   // once its task has settled
	obj.Set("detached", values.Codec.Get("detached")) // whether a buffer was moved (see atmo.js's _givenBack)
	obj.Set("held", values.Codec.Get("held"))         // {values, free}: what is held, for tests
	b.runsIn = values.NewReceiver(b.runs, func(meta js.Value) {
		token := js.Undefined() // last in meta (see runsJS)
		if meta.Type() == js.TypeObject && meta.Length() > 0 {
			token = meta.Index(meta.Length() - 1)
		}
		b.runsFail.Invoke(token, errorValue(errors.New("atmo: run got task meta it cannot write"), "ERR_INTERNAL", ""))
	})
	runs := runsJS.Invoke(values.Codec, b.runsIn.JS)
	b.runsIDs, b.runsFail = runs.Get("ids"), runs.Get("fail")
	obj.Set("run", runs.Get("run"))
	add := func(name string, fn func(args []js.Value) any) {
		f := js.FuncOf(func(_ js.Value, args []js.Value) (out any) {
			defer func() {
				if p := recover(); p != nil {
					out = errorValue(fmt.Errorf("atmo: internal error in %s: %v", name, p), "ERR_INTERNAL", "")
				}
			}()
			return fn(args)
		})
		b.funcs = append(b.funcs, f)
		obj.Set(name, f)
	}
	add("createTaskManager", b.createTaskManager)
	add("listen", b.listen)
	add("cancelTask", b.cancelTask)
	add("callbackThrew", b.callbackThrew)
	add("status", b.status)
	add("stats", b.stats)
	add("subscribe", b.subscribe)
	add("unsubscribe", b.unsubscribe)
	add("closeTaskManager", b.closeTaskManager)
	add("createWorkerManager", b.createWorkerManager)
	add("workers", b.workers)
	add("addWorker", b.addWorker)
	add("closeWorker", b.closeWorker)
	add("ready", b.ready)
	add("closeWorkerManager", b.closeWorkerManager)
	add("forget", b.forget)
	add("shutdown", func([]js.Value) any { b.shutdown(); return value(true) })
	return b, obj
}

// shutdown closes every manager and releases the bridge's functions; the
// bridge is unusable afterwards.
func (b *bridge) shutdown() {
	b.mu.Lock()
	tms := make([]*tmEntry, 0, len(b.tms))
	var open []*atmo.TaskManager
	for _, e := range b.tms {
		if !e.closed {
			e.closed = true
			tms = append(tms, e)
			open = append(open, e.tm)
		}
	}
	funcs := b.funcs
	b.funcs = nil
	b.mu.Unlock()
	go func() {
		for i, e := range tms {
			e.close(open[i])
		}
		b.endSubscriptions(nil)
		for _, f := range funcs {
			f.Release()
		}
		b.runsIn.Release()
	}()
}

// msDuration is a JS count of milliseconds as a Duration. One however short
// keeps its sign, as 0 and a negative Duration each have their own meaning
// to atmo (none, the default, or no aging), and Infinity is the longest.
func msDuration(ms float64) time.Duration {
	switch ns := ms * float64(time.Millisecond); {
	case ns >= math.MaxInt64:
		return math.MaxInt64
	case ns > 0 && ns < 1:
		return 1
	case ns < 0 && ns > -1:
		return -1
	default:
		return time.Duration(ns)
	}
}

func arg(args []js.Value, i int) js.Value {
	if i < len(args) {
		return args[i]
	}
	return js.Undefined()
}

func value(v any) js.Value {
	o := js.Global().Get("Object").New()
	o.Set("value", toJS(v))
	return o
}

// errorValue is {error: {message, code, argument}}: how a synchronous call fails.
func errorValue(err error, code, argument string) js.Value {
	e := errorObject(err)
	if code != "" {
		e.Set("code", code)
	}
	if argument != "" {
		e.Set("argument", argument)
	}
	o := js.Global().Get("Object").New()
	o.Set("error", e)
	return o
}

// errorCodes maps the core's sentinel errors to the codes JS sees.
var errorCodes = []struct {
	err  error
	code string
}{
	{atmo.ErrNoWorker, "ERR_NO_WORKER"},
	{atmo.ErrClosed, "ERR_CLOSED"},
	{atmo.ErrCanceled, "ERR_CANCELED"},
	{atmo.ErrWorkerCrashed, "ERR_WORKER_CRASHED"},
	{atmo.ErrWorkerStart, "ERR_WORKER_START"},
	{atmo.ErrTimeout, "ERR_TIMEOUT"},
	{atmo.ErrQueueFull, "ERR_QUEUE_FULL"},
	{atmo.ErrBadParams, "ERR_BAD_ARGUMENT"},
	{context.DeadlineExceeded, "ERR_TIMEOUT"}, // ready()'s
}

// errorObject describes err for atmo.js: a worker's own error keeps its
// message as the message, with taskId and workerId beside it.
func errorObject(err error) js.Value { return toJS(errorFields(err)) }

// errorFields are errorObject's fields, as a Go map.
func errorFields(err error) map[string]any {
	var te *atmo.TaskError
	if errors.As(err, &te) {
		return map[string]any{"message": te.Message, "code": "ERR_TASK", "taskId": te.TaskID, "workerId": te.WorkerID, "workerMessage": te.Message}
	}
	f := map[string]any{"message": jsWords(err.Error()), "code": "ERR_ATMO"}
	for _, c := range errorCodes {
		if errors.Is(err, c.err) {
			f["code"] = c.code
			break
		}
	}
	return f
}

// goWords are the Go settings the core's messages name, each with what a
// page sets in their place: a run option, a worker config's field, a
// createTaskManager option. Longer phrases come first, as a Replacer tries
// its pairs in order.
var goWords = strings.NewReplacer(
	"its TaskParams.Timeout", "its timeout option",
	"(TaskParams.Retries)", "(the retries option)",
	"no Retries left", "no retries left",
	" has Priority ", " has priority ",
	"with Options.AgingInterval", "with the manager's agingInterval",
	"(Options.MaxQueue)", "(createTaskManager's maxQueue)",
	"its worker's WorkerConfig.TaskTimeout", "its worker config's taskTimeout",
	"raise WorkerConfig.StartTimeout", "raise the worker config's startTimeout",
	"(StartTimeout", "(startTimeout",
	"its WorkerConfig.Tasks lists", "its worker config's tasks lists",
	"list only its tasks in Tasks", "list only its tasks in tasks",
	"goes in WorkerConfig.Module, not Script", "goes in a worker config's module, not script",
	"set WorkerConfig.Type to", "set the worker config's type to",
	"AddWorker's config", "addWorker's config",
	"(GoModuleOptions.WasmExec; loadAtmo's wasmExec in the JS API)", "(loadAtmo's wasmExec)",
	"with GoModuleOptions.WasmExec (loadAtmo's wasmExec in the JS API)", "with loadAtmo's wasmExec", // go-worker.js's
	"moved JS buffers (atmo.Transfer)", "moved JS buffers (its transfer option)",
	"waiting for workers to start: context deadline exceeded", "waiting for workers to start: ready()'s timeout passed",
	"closed by Close()", "closed by closeWorker(id)", // a worker's: the JS API's wm.closeWorker is its only caller
)

// jsWords is msg, one of the core's, with the Go settings it names put in
// the JS API's words. Most events have no error: those cost nothing.
func jsWords(msg string) string {
	if msg == "" {
		return msg
	}
	return goWords.Replace(msg)
}

func (b *bridge) tm(id js.Value) (*tmEntry, js.Value) {
	b.mu.Lock()
	defer b.mu.Unlock()
	e, bad := b.lookupTM(id)
	if e != nil && e.closed {
		return nil, errorValue(fmt.Errorf("%w: this TaskManager is closed; create a new one with atmo.createTaskManager()", atmo.ErrClosed), "ERR_CLOSED", "")
	}
	return e, bad
}

// knownTM is tm's entry, open or closed, and its manager: nil once closed
// and let go (see tmEntry). status and stats answer for a closed manager
// too.
func (b *bridge) knownTM(id js.Value) (*tmEntry, *atmo.TaskManager, js.Value) {
	b.mu.Lock()
	defer b.mu.Unlock()
	e, bad := b.lookupTM(id)
	if e == nil {
		return nil, nil, bad
	}
	return e, e.tm, bad
}

// lookupTM finds the entry of handle id. Called with mu held.
func (b *bridge) lookupTM(id js.Value) (*tmEntry, js.Value) {
	e := b.tms[id.Int()]
	if e == nil {
		if b.forgotten(id) {
			return nil, errorValue(fmt.Errorf("%w: this TaskManager is closed; create a new one with atmo.createTaskManager()", atmo.ErrClosed), "ERR_CLOSED", "")
		}
		return nil, errorValue(errors.New("atmo: unknown TaskManager; create one with atmo.createTaskManager()"), "ERR_BAD_ARGUMENT", "tm")
	}
	return e, js.Null()
}

// forgotten says whether handle id was given out and its entry forgotten
// since (see forget): a closed manager's. Called with mu held.
func (b *bridge) forgotten(id js.Value) bool {
	h := id.Int()
	return h >= 1 && h <= b.next
}

// forget(handle) drops the entry of a closed manager that the bridge let go
// (see letGo): atmo.js keeps its final state itself, so that a page that
// creates and closes managers for ever does not grow the bridge. Calls
// with a forgotten handle then fail with ERR_CLOSED.
func (b *bridge) forget(args []js.Value) any {
	id := arg(args, 0)
	if id.Type() != js.TypeNumber {
		return errorValue(errors.New("atmo: forget(handle): handle must be a number"), "ERR_BAD_ARGUMENT", "handle")
	}
	h := id.Int()
	b.mu.Lock()
	defer b.mu.Unlock()
	if e := b.tms[h]; e != nil && e.closed && e.tm == nil {
		delete(b.tms, h)
	}
	if e := b.wms[h]; e != nil && e.wm == nil {
		delete(b.wms, h)
	}
	return value(true)
}

// wm finds the entry of handle id, and its manager: nil once closed and
// let go (see wmEntry).
func (b *bridge) wm(id js.Value) (*wmEntry, *atmo.BrowserWorkerManager, js.Value) {
	b.mu.Lock()
	defer b.mu.Unlock()
	e := b.wms[id.Int()]
	if e == nil {
		if b.forgotten(id) {
			return nil, nil, errorValue(fmt.Errorf("%w: this BrowserWorkerManager is closed", atmo.ErrClosed), "ERR_CLOSED", "")
		}
		return nil, nil, errorValue(errors.New("atmo: unknown BrowserWorkerManager"), "ERR_BAD_ARGUMENT", "wm")
	}
	return e, e.wm, js.Null()
}

func (b *bridge) handle() int {
	b.next++
	return b.next
}

func stringsAny(s []string) []any {
	out := make([]any, len(s))
	for i, x := range s {
		out[i] = x
	}
	return out
}

// toJS turns a Go value from the core (a decoded result, an event's
// content) into JS: []byte becomes a Uint8Array, maps objects (keys sorted
// for a stable order), named string types strings.
func toJS(v any) js.Value {
	switch x := v.(type) {
	case nil:
		return js.Null()
	case js.Value:
		return x
	case bool, string, float64, int, int64, uint64, float32, int32:
		return js.ValueOf(x)
	case []byte:
		a := js.Global().Get("Uint8Array").New(len(x))
		js.CopyBytesToJS(a, x)
		return a
	case []any:
		a := js.Global().Get("Array").New(len(x))
		for i, e := range x {
			a.SetIndex(i, toJS(e))
		}
		return a
	case []float64:
		a := js.Global().Get("Array").New(len(x))
		for i, f := range x {
			a.SetIndex(i, f)
		}
		return a
	case map[string]any:
		o := js.Global().Get("Object").New()
		for _, k := range values.SortedKeys(x, make([]string, 0, len(x))) {
			if k == "__proto__" { // a key, not the object's prototype
				js.Global().Get("Object").Call("defineProperty", o, k, map[string]any{"value": toJS(x[k]), "enumerable": true, "writable": true, "configurable": true})
				continue
			}
			o.Set(k, toJS(x[k]))
		}
		return o
	case atmo.TaskStatus:
		return js.ValueOf(string(x))
	case atmo.WorkerStatus:
		return js.ValueOf(string(x))
	case fmt.Stringer:
		return js.ValueOf(x.String())
	}
	return js.ValueOf(fmt.Sprint(v))
}
