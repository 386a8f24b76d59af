//go:build js && wasm

package jsapi

import (
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

// The TaskManager side of the bridge: managers, tasks, their status and
// statistics. run()'s fast path is in batch_js.go.

// taskManagerOptions are the options createTaskManager takes.
var taskManagerOptions = []string{"agingInterval", "loneTaskAwake", "maxQueue"}

// createTaskManager(options) → {value: handle}. options: {agingInterval: ms,
// loneTaskAwake: ms, maxQueue: tasks}.
func (b *bridge) createTaskManager(args []js.Value) any {
	var o atmo.Options
	opts := arg(args, 0)
	if t := opts.Type(); t != js.TypeObject && t != js.TypeUndefined && t != js.TypeNull {
		return errorValue(fmt.Errorf("atmo: createTaskManager(options): options must be an object like {agingInterval: 1000} (got a %s); leave it out for the defaults", t), "ERR_BAD_ARGUMENT", "options")
	}
	if opts.Type() == js.TypeObject {
		keys := js.Global().Get("Object").Call("keys", opts)
		for i := 0; i < keys.Length(); i++ {
			k := keys.Index(i).String()
			if opts.Get(k).IsUndefined() && slices.Contains(taskManagerOptions, k) {
				continue // left out, as atmo.d.ts's types allow; an unknown one is refused, set or not, as atmo.js refuses a run()'s
			}
			switch k {
			case "agingInterval":
				v := opts.Get(k)
				if v.Type() != js.TypeNumber || math.IsNaN(v.Float()) || math.IsInf(v.Float(), 0) {
					return errorValue(errors.New("atmo: createTaskManager(options): options.agingInterval must be a number of milliseconds (0: the default, 1000; negative: no aging)"), "ERR_BAD_ARGUMENT", "options.agingInterval")
				}
				o.AgingInterval = msDuration(v.Float())
			case "loneTaskAwake":
				v := opts.Get(k)
				most := float64(atmo.MaxKeepAwake) / float64(time.Millisecond)
				if v.Type() != js.TypeNumber || !(v.Float() <= most) {
					return errorValue(fmt.Errorf("atmo: createTaskManager(options): options.loneTaskAwake must be a number of milliseconds up to %v (0 or negative: never)", most), "ERR_BAD_ARGUMENT", "options.loneTaskAwake")
				}
				o.LoneTaskAwake = msDuration(v.Float())
				if v.Float() == 0 {
					o.LoneTaskAwake = -1 // 0 from JS: never, as keepAwake: 0 means
				}
			case "maxQueue":
				v := opts.Get(k)
				if v.Type() != js.TypeNumber || !(v.Float() >= 1) || (v.Float() != math.Trunc(v.Float()) && !math.IsInf(v.Float(), 1)) {
					return errorValue(fmt.Errorf("atmo: createTaskManager(options): options.maxQueue must be a whole number of tasks, 1 or more, or Infinity for no bound (default %d): past it run() and addTask refuse a task that would wait, with ERR_QUEUE_FULL", atmo.DefaultMaxQueue), "ERR_BAD_ARGUMENT", "options.maxQueue")
				}
				if v.Float() > math.MaxInt32 { // Infinity, as workerpool's maxQueueSize default, or a bound no queue reaches
					o.MaxQueue = -1 // no bound
				} else {
					o.MaxQueue = v.Int()
				}
			default:
				return errorValue(fmt.Errorf("atmo: createTaskManager(options): unknown option %q (known: %s)", k, strings.Join(taskManagerOptions, ", ")), "ERR_BAD_ARGUMENT", "options."+k)
			}
		}
	}
	tm := atmo.NewTaskManagerWithOptions(o)
	hooks.HoldRawResults(tm) // run()'s results stay in JS (see batch_js.go's runs)
	hooks.CopyResults(tm)    // those not raw too, copied by the value rules as they come
	b.mu.Lock()
	id := b.handle()
	b.tms[id] = &tmEntry{tm: tm, runs: newRunResults()}
	b.mu.Unlock()
	// maxPriority as a JS number: exact up to 2^53, and a larger one is past
	// any priority atmo.js lets through (a safe integer) anyway.
	return value(map[string]any{"handle": id, "id": tm.ID(), "maxPriority": float64(hooks.MaxPriority(tm))})
}

// cancelTask(tm, taskId, how): cancel a queued or running task; how says
// by what, for its error ("by its signal"; default "by cancel()").
func (b *bridge) cancelTask(args []js.Value) any {
	e, bad := b.tm(arg(args, 0))
	if e == nil {
		return bad
	}
	id := arg(args, 1)
	if id.Type() != js.TypeString {
		return errorValue(errors.New("atmo: cancel(taskId): taskId must be a string"), "ERR_BAD_ARGUMENT", "taskId")
	}
	how := "by cancel()"
	if h := arg(args, 2); h.Type() == js.TypeString {
		how = h.String()
	}
	tm := e.tm
	go hooks.CancelTask(tm, id.String(), how)
	return value(true)
}

// callbackThrew(tm, taskId, text): a callback of the page's (onSuccess,
// onError, onProgress, a subscriber's) threw; counted in stats'
// callbackPanics and reported as a callback-panic event, as a Go
// callback's panic is. taskId is "" for a subscriber's.
func (b *bridge) callbackThrew(args []js.Value) any {
	e, bad := b.tm(arg(args, 0))
	if e == nil {
		return bad
	}
	id, text := arg(args, 1), arg(args, 2)
	if id.Type() != js.TypeString || text.Type() != js.TypeString {
		return errorValue(errors.New("atmo: callbackThrew(taskId, text): both must be strings"), "ERR_BAD_ARGUMENT", "taskId")
	}
	go hooks.CallbackThrew(e.tm, id.String(), text.String())
	return value(true)
}

// status(tm) → {value: {pending, working, done, failed}}. It also answers
// for a closed manager, with its final counts.
func (b *bridge) status(args []js.Value) any {
	e, tm, bad := b.knownTM(arg(args, 0))
	switch {
	case e == nil:
		return bad
	case tm == nil:
		return value(e.final.status)
	}
	return value(statusOf(tm))
}

func statusOf(tm *atmo.TaskManager) map[string]any {
	s := tm.Status()
	return map[string]any{
		"pending": stringsAny(s.Pending), "working": stringsAny(s.Working),
		"done": s.Done, "failed": s.Failed,
	}
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

func percentiles(p atmo.Percentiles) map[string]any {
	return map[string]any{"count": p.Count, "p50": ms(p.P50), "p95": ms(p.P95), "p99": ms(p.P99), "max": ms(p.Max)}
}

// stats(tm) → {value: tm.Stats()}, durations in milliseconds. It also
// answers for a closed manager.
func (b *bridge) stats(args []js.Value) any {
	e, tm, bad := b.knownTM(arg(args, 0))
	switch {
	case e == nil:
		return bad
	case tm == nil:
		return value(e.final.stats)
	}
	return value(statsOf(tm))
}

func statsOf(tm *atmo.TaskManager) map[string]any {
	s := tm.Stats()
	workers := make([]any, len(s.Workers))
	for i, w := range s.Workers {
		workers[i] = map[string]any{
			"id": w.ID, "kind": w.Kind, "source": w.Source, "tasks": stringsAny(w.Tasks),
			"status": string(w.Status), "done": w.Done, "failed": w.Failed, "inFlight": w.InFlight,
			"capacity": w.Capacity, "restarts": w.Restarts, "uptime": ms(w.Uptime), "lastError": jsWords(w.LastError),
		}
	}
	return map[string]any{
		"submitted": s.Submitted, "done": s.Done, "failed": s.Failed, "retried": s.Retried,
		"canceled": s.Canceled, "timedOut": s.TimedOut, "rejected": s.Rejected, "crashed": s.Crashed,
		"restarted": s.Restarted, "grown": s.Grown, "released": s.Released, "ignored": s.Ignored,
		"callbackPanics": s.CallbackPanics, "queued": s.Queued, "running": s.Running,
		"workers": workers, "queueWait": percentiles(s.QueueWait), "runTime": percentiles(s.RunTime),
	}
}

// closeTaskManager(tm, done): from now on calls on tm fail with
// ERR_CLOSED; done() is called once every task has settled.
func (b *bridge) closeTaskManager(args []js.Value) any {
	b.mu.Lock()
	e, bad := b.lookupTM(arg(args, 0))
	if e != nil {
		e.closed = true
	}
	b.mu.Unlock()
	done := arg(args, 1)
	if e == nil {
		return bad
	}
	handle := arg(args, 0).Int()
	go func() {
		b.mu.Lock()
		tm := e.tm // nil: closed and let go already
		b.mu.Unlock()
		if tm != nil {
			e.close(tm)
			b.endSubscriptions(e)
			b.mu.Lock()
			b.letGo(handle, e)
			b.mu.Unlock()
		}
		if done.Type() == js.TypeFunction {
			done.Invoke()
		}
	}()
	return value(true)
}
