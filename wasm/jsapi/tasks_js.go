//go:build js && wasm

package jsapi

import (
	"errors"
	"fmt"
	"strings"
	"syscall/js"
	"time"

	"github.com/atmoworkers/atmo/wasm/atmo"
	"github.com/atmoworkers/atmo/wasm/internal/values"
)

// The TaskManager side of the bridge: managers, tasks, their status and
// statistics. run()'s fast path is in batch_js.go.

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
// goes to deliver, with run's answers and in their form (see
// listen): atmo.js settles the task. With progress true, each progress
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
		RawResult:  true, // as run()'s: see listen
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
	e, bad := b.knownTM(arg(args, 0))
	if e == nil {
		return bad
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
	e, bad := b.knownTM(arg(args, 0))
	if e == nil {
		return bad
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
	go func() {
		e.close()
		b.endSubscriptions(e)
		if done.Type() == js.TypeFunction {
			done.Invoke()
		}
	}()
	return value(true)
}
