//go:build js && wasm

package jsapi

import (
	"errors"
	"fmt"
	"sync"
	"syscall/js"

	"github.com/atmoworkers/atmo/wasm/atmo"
	"github.com/atmoworkers/atmo/wasm/internal/turn"
	"github.com/atmoworkers/atmo/wasm/internal/values"
)

// The fast path of run(): atmo.js gathers the run() calls of one turn and
// adds them with one runBatch call, and their answers come back together in
// one call per turn, through the byte wire (values.Send), instead of one
// crossing per task each way and a JS object built field by field.

// runBatch(tm, n, params, lists, deliver) adds the tasks whose meta atmo.js
// wrote to the wire with encode ([name, priority, timeout, retries] per
// task, n bytes); params[i] and lists[i] (a transfer list, or null) are each
// task's. It returns, per task, its id or an error object. Answers go to
// deliver([[taskId, ok, content, workerId, error], ...]) later, in batches;
// an answer may reach deliver before runBatch has returned its id. content
// is the worker's, as it came: atmo.js applies Go's value rules to it with
// copy, unless the caller asked for it raw. addTask's answers and progress
// reports come the same way.
func (b *bridge) runBatch(args []js.Value) any {
	e, bad := b.tm(arg(args, 0))
	if e == nil {
		return bad
	}
	decoded, err := values.DecodeReceived(values.ReceivedNow(arg(args, 1).Int()))
	meta, _ := decoded.([]any)
	if err != nil || len(meta)%4 != 0 {
		return errorValue(fmt.Errorf("atmo: runBatch got unreadable task meta (%v)", err), "ERR_INTERNAL", "")
	}
	params, lists := arg(args, 2), arg(args, 3)
	e.runs.listen(arg(args, 4))
	ids := make([]any, len(meta)/4)
	for i := range ids {
		m := meta[i*4 : i*4+4]
		name, _ := m[0].(string)
		priority, _ := m[1].(float64)
		timeout, _ := m[2].(float64)
		retries, _ := m[3].(float64)
		var p any
		if v := params.Index(i); v.Type() != js.TypeUndefined && v.Type() != js.TypeNull {
			p = v // structured-cloned by atmo.js; posted as it is
			if list := lists.Index(i); list.Type() == js.TypeObject && list.Length() > 0 {
				p = values.Carrying{Value: v, List: list}
			}
		}
		// Every result stays in JS (RawResult): Go has no use for it, and
		// atmo.js applies Go's value rules itself (copy) unless raw.
		t, err := e.tm.AddTask(atmo.TaskParams{
			Name: name, Params: p, Priority: int(priority), Retries: int(retries), RawResult: true,
			Timeout:   msDuration(timeout),
			OnSuccess: e.runs.add, OnError: e.runs.add,
		})
		if err != nil {
			f := errorFields(err)
			if errors.Is(err, atmo.ErrBadParams) {
				f["argument"] = "params"
			}
			ids[i] = f
			continue
		}
		ids[i] = t.ID()
	}
	refs, transfer := values.Send(ids)
	return map[string]any{"value": readWire.Invoke(refs, transfer)}
}

// runResults gathers answers and hands them to atmo.js once per turn.
type runResults struct {
	mu      sync.Mutex
	deliver js.Value // atmo.js's handler
	out     *turn.Batcher[runItem]
}

// runItem is an answer, [taskId, ok, content, workerId, error], or a
// progress report, [taskId, null, content, workerId], on its way to atmo.js.
type runItem struct {
	taskID, workerID string
	progress, ok     bool
	content          any
	err              any // the error's fields, or nil
}

// runItems writes itself to the wire field by field (see values.Appender).
type runItems []runItem

func (rs runItems) AppendWire(buf []byte, refs *[]any) []byte {
	buf = values.AppendArray(buf, len(rs))
	for _, r := range rs {
		if r.progress {
			buf = values.AppendArray(buf, 4)
			buf = values.AppendString(buf, r.taskID)
			buf = values.Encode(buf, nil, refs)
		} else {
			buf = values.AppendArray(buf, 5)
			buf = values.AppendString(buf, r.taskID)
			buf = values.AppendBool(buf, r.ok)
		}
		buf = values.Encode(buf, r.content, refs)
		buf = values.AppendString(buf, r.workerID)
		if !r.progress {
			buf = values.Encode(buf, r.err, refs)
		}
	}
	return buf
}

func newRunResults() *runResults {
	r := &runResults{}
	r.out = turn.New(r.flush)
	return r
}

func (r *runResults) listen(deliver js.Value) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.deliver = deliver
}

// add takes one answer, to leave with the others of its turn.
func (r *runResults) add(res atmo.Response) {
	var errFields any
	if res.Err != nil {
		f := errorFields(res.Err)
		f["taskId"] = res.TaskID
		if res.WorkerID != "" {
			f["workerId"] = res.WorkerID
		}
		errFields = f
	}
	r.out.Add(runItem{taskID: res.TaskID, workerID: res.WorkerID, ok: res.Err == nil, content: res.Content, err: errFields})
}

// progress takes one progress report, to leave in order with the answers
// of its turn. A number or a string travels as bytes; anything else as
// toJS makes it (objects with their keys sorted), as before reports were
// batched.
func (r *runResults) progress(p atmo.Progress) {
	content := p.Content
	switch content.(type) {
	case nil, bool, float64, string:
	default:
		content = toJS(content)
	}
	r.out.Add(runItem{taskID: p.TaskID, workerID: p.WorkerID, progress: true, content: content})
}

func (r *runResults) flush(items []runItem) {
	r.mu.Lock()
	deliver := r.deliver
	r.mu.Unlock()
	sendBatch(deliverWire, deliver, runItems(items))
}

// sendBatch writes items, a list, to the byte wire and has via, a JS
// function, read them and hand them to fn: via(fn, refs, transfer). atmo.js
// catches what its own callers throw; JSCall is the backstop.
func sendBatch(via, fn js.Value, items any) {
	refs, transfer := values.Send(items)
	_ = values.JSCall(func() { via.Invoke(fn, refs, transfer) })
}

var (
	// readWire returns the value Go wrote to the wire.
	readWire = js.Global().Get("Function").New("codec", `return (r, t) => codec.read(r, t || []);`).Invoke(values.Codec)
	// deliverWire hands the answers Go wrote to the wire to atmo.js.
	deliverWire = js.Global().Get("Function").New("codec", `return (deliver, r, t) => deliver(codec.read(r, t || []));`).Invoke(values.Codec)
)
