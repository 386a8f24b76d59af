//go:build js && wasm

package jsapi

import (
	"context"
	"errors"
	"fmt"
	"math"
	"slices"
	"strings"
	"syscall/js"
	"time"

	"github.com/atmoworkers/atmo/wasm/atmo"
	"github.com/atmoworkers/atmo/wasm/internal/hooks"
)

// The BrowserWorkerManager side of the bridge: configs read from JS,
// managers and their workers.

// configFields are the WorkerConfig fields JS may set, by their JS names.
var configFields = []string{"tasks", "script", "module", "type", "count", "maxWorkers", "idleTimeout", "concurrency", "keepAwake", "startTimeout", "taskTimeout", "cancelGrace"}

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
		if f.IsUndefined() && slices.Contains(configFields, k) {
			continue // an optional field left out, as atmo.d.ts's types allow; an unknown one is refused, set or not, as atmo.js refuses a run()'s
		}
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
				if t := f.String(); t != "classic" && t != "module" {
					return c, arg, fmt.Errorf("atmo: %s must be 'classic' (the default) or 'module' (got %q)", arg, t)
				}
				c.Type = f.String()
			}
		case "startTimeout", "taskTimeout", "cancelGrace":
			if f.Type() != js.TypeNumber || !(f.Float() > 0) { // NaN too
				return c, arg, fmt.Errorf("atmo: %s must be a positive number of milliseconds", arg)
			}
			d := msDuration(f.Float())
			switch k {
			case "startTimeout":
				c.StartTimeout = d
			case "taskTimeout":
				c.TaskTimeout = d
			default:
				c.CancelGrace = d
			}
		case "idleTimeout":
			if f.Type() != js.TypeNumber || !(f.Float() > 0) || math.IsInf(f.Float(), 0) {
				return c, arg, fmt.Errorf("atmo: %s must be a positive number of milliseconds (leave it out to never release workers)", arg)
			}
			c.IdleTimeout = msDuration(f.Float())
		case "keepAwake":
			maxMs := atmo.MaxKeepAwake.Seconds() * 1000
			if f.Type() != js.TypeNumber || !(f.Float() >= 0 && f.Float() <= maxMs) {
				return c, arg, fmt.Errorf("atmo: %s must be a number of milliseconds from 0 to %v (0.05 spares a thread's wake-up)", arg, maxMs)
			}
			c.KeepAwake = msDuration(f.Float())
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
	if c.Script == "" && c.Module == "" {
		return c, where, fmt.Errorf("atmo: %s needs script (the URL of a JS worker) or module (the URL of a Go worker .wasm)", where)
	}
	if c.Script != "" && c.Module != "" {
		return c, where, fmt.Errorf("atmo: %s has both script and module; a worker is one or the other", where)
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
		"tasksDone": w.TasksDone(), "lastError": jsWords(w.LastError()),
	}
}

// workers(wm) → {value: [{id, kind, tasks, script, module, status, tasksDone, lastError}]}.
func (b *bridge) workers(args []js.Value) any {
	e, wm, bad := b.wm(arg(args, 0))
	switch {
	case e == nil:
		return bad
	case wm == nil:
		return value(e.final)
	}
	return value(workersOf(wm))
}

func workersOf(wm *atmo.BrowserWorkerManager) []any {
	ws := wm.Workers()
	out := make([]any, len(ws))
	for i, w := range ws {
		out[i] = workerInfo(w)
	}
	return out
}

func (b *bridge) open(e *wmEntry) js.Value {
	b.mu.Lock()
	defer b.mu.Unlock()
	if e.closed || b.tms[e.tm] == nil || b.tms[e.tm].closed {
		return errorValue(fmt.Errorf("%w: this BrowserWorkerManager is closed", atmo.ErrClosed), "ERR_CLOSED", "")
	}
	return js.Null()
}

// addWorker(wm, config) → {value: worker}: the first of the config's
// workers (count, default 1), which with maxWorkers are an elastic group of
// their own.
func (b *bridge) addWorker(args []js.Value) any {
	e, wm, bad := b.wm(arg(args, 0))
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
	w, err := wm.AddWorker(c)
	if err != nil {
		return errorValue(err, "", "config")
	}
	return value(workerInfo(w))
}

// closeWorker(wm, workerId): terminate one worker; its tasks go to others.
// The id of a worker of this manager no longer listed does nothing, as
// cancel() of a task that has ended: the worker closed already, and the
// manager, which lists only its latest closed workers, forgot it. Any
// other id (another manager's worker, one never made) is a bad argument.
func (b *bridge) closeWorker(args []js.Value) any {
	e, wm, bad := b.wm(arg(args, 0))
	if e == nil {
		return bad
	}
	if wm == nil {
		return errorValue(fmt.Errorf("%w: closeWorker(id): this BrowserWorkerManager is closed, and its workers with it", atmo.ErrClosed), "ERR_CLOSED", "")
	}
	id := arg(args, 1)
	for _, w := range wm.Workers() {
		if id.Type() == js.TypeString && w.ID() == id.String() {
			go w.Close()
			return value(true)
		}
	}
	if id.Type() == js.TypeString && hooks.HadWorker(wm, id.String()) {
		return value(false)
	}
	return errorValue(fmt.Errorf("atmo: closeWorker(id): no worker %s in this manager; a worker's id is like worker-1 (wm.workers()[0].id)", id), "ERR_BAD_ARGUMENT", "id")
}

// ready(wm, timeoutMs, done): done(error or null) once every worker is
// available or closed, or the timeout passed.
func (b *bridge) ready(args []js.Value) any {
	e, wm, bad := b.wm(arg(args, 0))
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
		if wm == nil { // closed: none is starting
			done.Invoke(js.Null())
			return
		}
		if err := wm.Ready(ctx); err != nil {
			done.Invoke(errorObject(err))
			return
		}
		done.Invoke(js.Null())
	}()
	return value(true)
}

// closeWorkerManager(wm, done): terminate every worker, then done().
func (b *bridge) closeWorkerManager(args []js.Value) any {
	e, wm, bad := b.wm(arg(args, 0))
	if e == nil {
		return bad
	}
	b.mu.Lock()
	e.closed = true
	b.mu.Unlock()
	done := arg(args, 1)
	go func() {
		if wm != nil {
			wm.Close()
			b.mu.Lock()
			e.letGo()
			b.mu.Unlock()
		}
		if done.Type() == js.TypeFunction {
			done.Invoke()
		}
	}()
	return value(true)
}
