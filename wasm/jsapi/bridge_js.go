//go:build js && wasm

package jsapi

import (
	"context"
	"errors"
	"fmt"
	"math"
	"sort"
	"strings"
	"sync"
	"syscall/js"
	"time"

	"github.com/atmoworkers/atmo/wasm/atmo"
	"github.com/atmoworkers/atmo/wasm/internal/turn"
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
}

type tmEntry struct {
	tm     *atmo.TaskManager
	closed bool
	runs   *runResults // the answers of runBatch's tasks, delivered together
}

// close settles every task of the manager (ErrClosed), then lets the last
// answers of runBatch's tasks leave. It waits for running callbacks: call
// it in a goroutine of its own, never in a js.Func.
func (e *tmEntry) close() {
	e.tm.Close()
	e.runs.out.Stop()
}

type wmEntry struct {
	wm     *atmo.BrowserWorkerManager
	tm     int
	closed bool
}

// New returns the bridge object: a plain JS object of functions that
// web/atmo.js wraps. Its functions live as long as the page.
func New() js.Value {
	b := &bridge{tms: map[int]*tmEntry{}, wms: map[int]*wmEntry{}, subs: map[int]*subscription{}}
	obj := js.Global().Get("Object").New()
	obj.Set("encode", values.Codec.Get("encode")) // runBatch's meta, written to the wire by atmo.js
	obj.Set("copy", codecCopy)                    // a run()'s result, as Go would give it back (see runBatch)
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
	add("addTask", b.addTask)
	add("runBatch", b.runBatch)
	add("cancelTask", b.cancelTask)
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
	add("shutdown", func([]js.Value) any { b.shutdown(); return value(true) })
	return obj
}

// codecCopy gives a result Go's value rules without Go (see codec.copy).
var codecCopy = values.Codec.Get("copy")

// shutdown closes every manager and releases the bridge's functions; the
// bridge is unusable afterwards.
func (b *bridge) shutdown() {
	b.mu.Lock()
	tms := make([]*tmEntry, 0, len(b.tms))
	for _, e := range b.tms {
		if !e.closed {
			e.closed = true
			tms = append(tms, e)
		}
	}
	funcs := b.funcs
	b.funcs = nil
	b.mu.Unlock()
	go func() {
		for _, e := range tms {
			e.close()
		}
		b.endSubscriptions(nil)
		for _, f := range funcs {
			f.Release()
		}
	}()
}

// msDuration is a JS count of milliseconds as a Duration.
func msDuration(ms float64) time.Duration { return time.Duration(ms * float64(time.Millisecond)) }

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
	f := map[string]any{"message": err.Error(), "code": "ERR_ATMO"}
	for _, c := range errorCodes {
		if errors.Is(err, c.err) {
			f["code"] = c.code
			break
		}
	}
	return f
}

func (b *bridge) tm(id js.Value) (*tmEntry, js.Value) {
	b.mu.Lock()
	defer b.mu.Unlock()
	e := b.tms[id.Int()]
	if e == nil {
		return nil, errorValue(errors.New("atmo: unknown TaskManager; create one with atmo.createTaskManager()"), "ERR_BAD_ARGUMENT", "tm")
	}
	if e.closed {
		return nil, errorValue(fmt.Errorf("%w: this TaskManager is closed; create a new one with atmo.createTaskManager()", atmo.ErrClosed), "ERR_CLOSED", "")
	}
	return e, js.Null()
}

func (b *bridge) wm(id js.Value) (*wmEntry, js.Value) {
	b.mu.Lock()
	defer b.mu.Unlock()
	e := b.wms[id.Int()]
	if e == nil {
		return nil, errorValue(errors.New("atmo: unknown BrowserWorkerManager"), "ERR_BAD_ARGUMENT", "wm")
	}
	return e, js.Null()
}

func (b *bridge) handle() int {
	b.next++
	return b.next
}

// createTaskManager(options) → {value: handle}. options: {agingInterval: ms}.
func (b *bridge) createTaskManager(args []js.Value) any {
	var o atmo.Options
	opts := arg(args, 0)
	if opts.Type() == js.TypeObject {
		keys := js.Global().Get("Object").Call("keys", opts)
		for i := 0; i < keys.Length(); i++ {
			k := keys.Index(i).String()
			switch k {
			case "agingInterval":
				v := opts.Get(k)
				if v.Type() != js.TypeNumber {
					return errorValue(errors.New("atmo: createTaskManager(options): options.agingInterval must be a number of milliseconds"), "ERR_BAD_ARGUMENT", "options.agingInterval")
				}
				o.AgingInterval = msDuration(v.Float())
			default:
				return errorValue(fmt.Errorf("atmo: createTaskManager(options): unknown option %q (known: agingInterval)", k), "ERR_BAD_ARGUMENT", "options."+k)
			}
		}
	}
	tm := atmo.NewTaskManagerWithOptions(o)
	b.mu.Lock()
	id := b.handle()
	b.tms[id] = &tmEntry{tm: tm, runs: newRunResults()}
	b.mu.Unlock()
	return value(map[string]any{"handle": id, "id": tm.ID()})
}

// addTask(tm, name, params, priority, deliver, timeout, retries, progress,
// transfer) → {value: taskId}. transfer, an array, lists the transferables
// in params that move to the worker instead of being copied. The answer
// goes to deliver, with runBatch's answers and in their form (see
// runBatch): atmo.js settles the task. With progress true, each progress
// report goes there too, before the answer and in order, as [taskId, null,
// content, workerId]: the core runs a task's callbacks one by one.
func (b *bridge) addTask(args []js.Value) any {
	e, bad := b.tm(arg(args, 0))
	if e == nil {
		return bad
	}
	name := arg(args, 1)
	if name.Type() != js.TypeString || strings.TrimSpace(name.String()) == "" {
		return errorValue(errors.New("atmo: a task needs a name: a non-empty string that some worker lists in its tasks"), "ERR_BAD_ARGUMENT", "name")
	}
	params := arg(args, 2)
	var p any
	if params.Type() != js.TypeUndefined && params.Type() != js.TypeNull {
		p = params // already structured-cloned by atmo.js; posted as it is
		if list := arg(args, 8); list.Type() == js.TypeObject && list.Length() > 0 {
			p = values.Carrying{Value: params, List: list}
		}
	}
	priority := 0
	if v := arg(args, 3); v.Type() == js.TypeNumber {
		priority = v.Int()
	}
	deliver := arg(args, 4)
	if deliver.Type() != js.TypeFunction {
		return errorValue(errors.New("atmo: addTask needs a function to deliver its answer"), "ERR_BAD_ARGUMENT", "deliver")
	}
	var timeout time.Duration
	if v := arg(args, 5); v.Type() == js.TypeNumber {
		timeout = msDuration(v.Float())
	}
	retries := 0
	if v := arg(args, 6); v.Type() == js.TypeNumber {
		retries = v.Int()
	}
	var onProgress func(atmo.Progress)
	if arg(args, 7).Truthy() {
		onProgress = e.runs.progress
	}
	e.runs.listen(deliver)
	t, err := e.tm.AddTask(atmo.TaskParams{
		Name:       name.String(),
		Params:     p,
		Priority:   priority,
		Timeout:    timeout,
		Retries:    retries,
		OnProgress: onProgress,
		RawResult:  true, // as run()'s: see runBatch
		OnSuccess:  e.runs.add,
		OnError:    e.runs.add,
	})
	if err != nil {
		code := "ERR_BAD_ARGUMENT"
		argument := "params"
		if errors.Is(err, atmo.ErrClosed) {
			code, argument = "ERR_CLOSED", ""
		}
		return errorValue(err, code, argument)
	}
	return value(t.ID())
}

// cancelTask(tm, taskId): cancel a queued or running task.
func (b *bridge) cancelTask(args []js.Value) any {
	e, bad := b.tm(arg(args, 0))
	if e == nil {
		return bad
	}
	id := arg(args, 1)
	if id.Type() != js.TypeString {
		return errorValue(errors.New("atmo: cancel(taskId): taskId must be a string"), "ERR_BAD_ARGUMENT", "taskId")
	}
	tm := e.tm
	go tm.DeleteTask(id.String())
	return value(true)
}

// status(tm) → {value: {pending, working, done, failed}}. It also answers
// for a closed manager, with its final counts.
func (b *bridge) status(args []js.Value) any {
	b.mu.Lock()
	e := b.tms[arg(args, 0).Int()]
	b.mu.Unlock()
	if e == nil {
		return errorValue(errors.New("atmo: unknown TaskManager"), "ERR_BAD_ARGUMENT", "tm")
	}
	s := e.tm.Status()
	return value(map[string]any{
		"pending": stringsAny(s.Pending), "working": stringsAny(s.Working),
		"done": s.Done, "failed": s.Failed,
	})
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

func percentiles(p atmo.Percentiles) map[string]any {
	return map[string]any{"count": p.Count, "p50": ms(p.P50), "p95": ms(p.P95), "p99": ms(p.P99), "max": ms(p.Max)}
}

// stats(tm) → {value: tm.Stats()}, durations in milliseconds. It also
// answers for a closed manager.
func (b *bridge) stats(args []js.Value) any {
	b.mu.Lock()
	e := b.tms[arg(args, 0).Int()]
	b.mu.Unlock()
	if e == nil {
		return errorValue(errors.New("atmo: unknown TaskManager"), "ERR_BAD_ARGUMENT", "tm")
	}
	s := e.tm.Stats()
	workers := make([]any, len(s.Workers))
	for i, w := range s.Workers {
		workers[i] = map[string]any{
			"id": w.ID, "kind": w.Kind, "source": w.Source, "tasks": stringsAny(w.Tasks),
			"status": string(w.Status), "done": w.Done, "failed": w.Failed, "inFlight": w.InFlight,
			"capacity": w.Capacity, "restarts": w.Restarts, "uptime": ms(w.Uptime), "lastError": w.LastError,
		}
	}
	return value(map[string]any{
		"submitted": s.Submitted, "done": s.Done, "failed": s.Failed, "retried": s.Retried,
		"canceled": s.Canceled, "timedOut": s.TimedOut, "rejected": s.Rejected, "crashed": s.Crashed,
		"restarted": s.Restarted, "grown": s.Grown, "released": s.Released, "ignored": s.Ignored,
		"callbackPanics": s.CallbackPanics, "queued": s.Queued, "running": s.Running,
		"workers": workers, "queueWait": percentiles(s.QueueWait), "runTime": percentiles(s.RunTime),
	})
}

// subscribe(tm, fn) → {value: subscription}. fn gets every message of the
// claim flow, in order: the messages of one turn of Go's scheduler go to JS
// together, through the byte wire, and deliverEvents calls fn with each.
// Built field by field, a message took ten calls across syscall/js, and a
// subscriber cut the JS API's throughput sixfold (nine messages a task).
func (b *bridge) subscribe(args []js.Value) any {
	e, bad := b.tm(arg(args, 0))
	if e == nil {
		return bad
	}
	fn := arg(args, 1)
	if fn.Type() != js.TypeFunction {
		return errorValue(errors.New("atmo: subscribe(fn): fn must be a function"), "ERR_BAD_ARGUMENT", "fn")
	}
	out := turn.New(func(items []any) {
		refs, transfer := values.Send(items)
		_ = values.JSCall(func() { deliverEvents.Invoke(fn, refs, transfer) }) // atmo.js catches what a listener throws
	})
	stop := e.tm.Subscribe(func(m atmo.Message) { out.Add(eventItem(m)) })
	b.mu.Lock()
	id := b.handle()
	b.subs[id] = &subscription{e: e, stop: stop, out: out}
	b.mu.Unlock()
	return value(id)
}

// subscription is one subscribe() call's.
type subscription struct {
	e    *tmEntry
	stop func()             // ends the core's subscription; may wait for its goroutine
	out  *turn.Batcher[any] // the messages on their way to JS
}

// end stops the subscription, then its batcher once the last messages are
// out. Call it in a goroutine of its own.
func (s *subscription) end() {
	s.stop()
	s.out.Stop()
}

// endSubscriptions ends the subscriptions to e's manager, or to every
// manager when e is nil.
func (b *bridge) endSubscriptions(e *tmEntry) {
	b.mu.Lock()
	var ended []*subscription
	for id, s := range b.subs {
		if e == nil || s.e == e {
			ended = append(ended, s)
			delete(b.subs, id)
		}
	}
	b.mu.Unlock()
	for _, s := range ended {
		s.end()
	}
}

// eventItem is m as deliverEvents reads it: [message, seq, managerId,
// taskId, workerId, hasContent, content, error], "" for an absent string.
func eventItem(m atmo.Message) []any {
	var content any
	switch c := m.Content.(type) {
	case nil:
	case string:
		content = c
	case atmo.TaskStatus:
		content = string(c)
	case atmo.WorkerStatus:
		content = string(c)
	case []string: // worker-ready's task names
		names := make([]any, len(c))
		for i, n := range c {
			names[i] = n
		}
		content = names
	default:
		content = toJS(c) // a worker's answer or report, as the JS API gives it
	}
	return []any{string(m.Kind), float64(m.Seq), m.ManagerID, m.TaskID, m.WorkerID, m.Content != nil, content, m.Error}
}

// deliverEvents calls fn with each message Go wrote to the wire, as an
// object with only the fields the message has.
var deliverEvents = js.Global().Get("Function").New("codec", `return (fn, r, t) => {
  for (const [message, seq, managerId, taskId, workerId, hasContent, content, error] of codec.read(r, t || [])) {
    const m = { message, seq, managerId };
    if (taskId) m.taskId = taskId;
    if (workerId) m.workerId = workerId;
    if (hasContent) m.content = content;
    if (error) m.error = error;
    fn(m);
  }
};`).Invoke(values.Codec)

// unsubscribe(subscription).
func (b *bridge) unsubscribe(args []js.Value) any {
	b.mu.Lock()
	id := arg(args, 0).Int()
	s := b.subs[id]
	delete(b.subs, id)
	b.mu.Unlock()
	if s != nil {
		go s.end() // may wait for the subscriber's goroutine: not here
	}
	return value(true)
}

// closeTaskManager(tm, done): from now on calls on tm fail with
// ERR_CLOSED; done() is called once every task has settled.
func (b *bridge) closeTaskManager(args []js.Value) any {
	b.mu.Lock()
	e := b.tms[arg(args, 0).Int()]
	if e != nil {
		e.closed = true
	}
	b.mu.Unlock()
	done := arg(args, 1)
	if e == nil {
		return errorValue(errors.New("atmo: unknown TaskManager"), "ERR_BAD_ARGUMENT", "tm")
	}
	go func() {
		e.close()
		b.endSubscriptions(e)
		if done.Type() == js.TypeFunction {
			done.Invoke()
		}
	}()
	return value(true)
}

// configFields are the WorkerConfig fields JS may set, by their JS names.
var configFields = []string{"tasks", "script", "module", "type", "count", "maxWorkers", "idleTimeout", "concurrency", "startTimeout", "taskTimeout"}

// workerConfig reads one JS worker config; where names it in errors, such as "configs[1]".
func workerConfig(v js.Value, where string) (atmo.WorkerConfig, string, error) {
	var c atmo.WorkerConfig
	if v.Type() != js.TypeObject || js.Global().Get("Array").Call("isArray", v).Bool() {
		return c, where, fmt.Errorf("atmo: %s must be an object like {tasks: ['add'], script: '/workers/math-worker.js'}", where)
	}
	keys := js.Global().Get("Object").Call("keys", v)
	for i := 0; i < keys.Length(); i++ {
		k := keys.Index(i).String()
		f := v.Get(k)
		arg := where + "." + k
		switch k {
		case "tasks":
			if !js.Global().Get("Array").Call("isArray", f).Bool() {
				return c, arg, fmt.Errorf("atmo: %s must be an array of task names", arg)
			}
			for j := 0; j < f.Length(); j++ {
				n := f.Index(j)
				if n.Type() != js.TypeString || strings.TrimSpace(n.String()) == "" {
					return c, arg, fmt.Errorf("atmo: %s[%d] must be a non-empty task name", arg, j)
				}
				c.Tasks = append(c.Tasks, n.String())
			}
		case "script", "module", "type":
			if f.Type() != js.TypeString {
				return c, arg, fmt.Errorf("atmo: %s must be a string", arg)
			}
			switch k {
			case "script":
				c.Script = f.String()
			case "module":
				c.Module = f.String()
			default:
				c.Type = f.String()
			}
		case "startTimeout", "taskTimeout":
			if f.Type() != js.TypeNumber || f.Float() <= 0 {
				return c, arg, fmt.Errorf("atmo: %s must be a positive number of milliseconds", arg)
			}
			d := time.Duration(f.Float() * float64(time.Millisecond))
			if k == "startTimeout" {
				c.StartTimeout = d
			} else {
				c.TaskTimeout = d
			}
		case "idleTimeout":
			if f.Type() != js.TypeNumber || f.Float() <= 0 || math.IsInf(f.Float(), 0) {
				return c, arg, fmt.Errorf("atmo: %s must be a positive number of milliseconds (leave it out to never release workers)", arg)
			}
			c.IdleTimeout = time.Duration(f.Float() * float64(time.Millisecond))
		case "concurrency", "count", "maxWorkers":
			if f.Type() != js.TypeNumber || f.Float() < 1 || f.Float() != math.Trunc(f.Float()) || f.Float() > 1<<20 {
				return c, arg, fmt.Errorf("atmo: %s must be a whole number of 1 or more", arg)
			}
			switch k {
			case "count":
				c.Count = f.Int()
			case "maxWorkers":
				c.MaxWorkers = f.Int()
			default:
				c.Concurrency = f.Int()
			}
		default:
			return c, arg, fmt.Errorf("atmo: %s has an unknown field %q (known: %s)", where, k, strings.Join(configFields, ", "))
		}
	}
	if len(c.Tasks) == 0 {
		return c, where + ".tasks", fmt.Errorf("atmo: %s needs tasks: the task names its worker handles", where)
	}
	if c.MaxWorkers > 0 && c.MaxWorkers < max(c.Count, 1) {
		return c, where + ".maxWorkers", fmt.Errorf("atmo: %s.maxWorkers (%d) is below count (%d); the pool grows from count up to maxWorkers", where, c.MaxWorkers, max(c.Count, 1))
	}
	if (c.Script == "") == (c.Module == "") {
		return c, where, fmt.Errorf("atmo: %s needs either script (the URL of a JS worker) or module (the URL of a Go worker .wasm), not both", where)
	}
	return c, "", nil
}

// createWorkerManager(tm, configs) → {value: handle}.
func (b *bridge) createWorkerManager(args []js.Value) any {
	e, bad := b.tm(arg(args, 0))
	if e == nil {
		return bad
	}
	list := arg(args, 1)
	if !js.Global().Get("Array").Call("isArray", list).Bool() || list.Length() == 0 {
		return errorValue(errors.New("atmo: createBrowserWorkerManager(tm, configs): configs must be a non-empty array of worker configs"), "ERR_BAD_ARGUMENT", "configs")
	}
	configs := make([]atmo.WorkerConfig, list.Length())
	for i := range configs {
		c, where, err := workerConfig(list.Index(i), fmt.Sprintf("configs[%d]", i))
		if err != nil {
			return errorValue(err, "ERR_BAD_ARGUMENT", where)
		}
		configs[i] = c
	}
	wm, err := atmo.NewBrowserWorkerManager(e.tm, configs...)
	if err != nil {
		code := "ERR_BAD_ARGUMENT"
		if errors.Is(err, atmo.ErrClosed) {
			code = "ERR_CLOSED"
		}
		return errorValue(err, code, "configs")
	}
	b.mu.Lock()
	id := b.handle()
	b.wms[id] = &wmEntry{wm: wm, tm: arg(args, 0).Int()}
	b.mu.Unlock()
	return value(id)
}

// workerInfo describes one worker for JS.
func workerInfo(w *atmo.BrowserTaskWorker) map[string]any {
	return map[string]any{
		"id": w.ID(), "kind": w.Kind(), "tasks": stringsAny(w.Tasks()),
		"script": w.Script(), "module": w.Module(), "status": string(w.Status()),
		"tasksDone": w.TasksDone(), "lastError": w.LastError(),
	}
}

// workers(wm) → {value: [{id, kind, tasks, script, module, status, tasksDone, lastError}]}.
func (b *bridge) workers(args []js.Value) any {
	e, bad := b.wm(arg(args, 0))
	if e == nil {
		return bad
	}
	ws := e.wm.Workers()
	out := make([]any, len(ws))
	for i, w := range ws {
		out[i] = workerInfo(w)
	}
	return value(out)
}

func (b *bridge) open(e *wmEntry) js.Value {
	b.mu.Lock()
	defer b.mu.Unlock()
	if e.closed || b.tms[e.tm] == nil || b.tms[e.tm].closed {
		return errorValue(fmt.Errorf("%w: this BrowserWorkerManager is closed", atmo.ErrClosed), "ERR_CLOSED", "")
	}
	return js.Null()
}

// addWorker(wm, config) → {value: worker}: one worker, which with
// maxWorkers above 1 is an elastic group of its own.
func (b *bridge) addWorker(args []js.Value) any {
	e, bad := b.wm(arg(args, 0))
	if e == nil {
		return bad
	}
	if bad := b.open(e); !bad.IsNull() {
		return bad
	}
	c, where, err := workerConfig(arg(args, 1), "config")
	if err != nil {
		return errorValue(err, "ERR_BAD_ARGUMENT", where)
	}
	w, err := e.wm.AddWorker(c)
	if err != nil {
		return errorValue(err, "", "config")
	}
	return value(workerInfo(w))
}

// closeWorker(wm, workerId): terminate one worker; its tasks go to others.
func (b *bridge) closeWorker(args []js.Value) any {
	e, bad := b.wm(arg(args, 0))
	if e == nil {
		return bad
	}
	id := arg(args, 1)
	for _, w := range e.wm.Workers() {
		if id.Type() == js.TypeString && w.ID() == id.String() {
			go w.Close()
			return value(true)
		}
	}
	return errorValue(fmt.Errorf("atmo: closeWorker(id): no worker %s in this manager", id), "ERR_BAD_ARGUMENT", "id")
}

// ready(wm, timeoutMs, done): done(error or null) once every worker is
// available or closed, or the timeout passed.
func (b *bridge) ready(args []js.Value) any {
	e, bad := b.wm(arg(args, 0))
	if e == nil {
		return bad
	}
	timeout := 30 * time.Second
	if v := arg(args, 1); v.Type() == js.TypeNumber && v.Float() > 0 {
		timeout = msDuration(v.Float())
	}
	done := arg(args, 2)
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), timeout)
		defer cancel()
		if err := e.wm.Ready(ctx); err != nil {
			done.Invoke(errorObject(err))
			return
		}
		done.Invoke(js.Null())
	}()
	return value(true)
}

// closeWorkerManager(wm, done): terminate every worker, then done().
func (b *bridge) closeWorkerManager(args []js.Value) any {
	e, bad := b.wm(arg(args, 0))
	if e == nil {
		return bad
	}
	b.mu.Lock()
	e.closed = true
	b.mu.Unlock()
	done := arg(args, 1)
	go func() {
		e.wm.Close()
		if done.Type() == js.TypeFunction {
			done.Invoke()
		}
	}()
	return value(true)
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
		keys := make([]string, 0, len(x))
		for k := range x {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		o := js.Global().Get("Object").New()
		for _, k := range keys {
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
