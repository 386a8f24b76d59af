//go:build js && wasm

package jsapi

import (
	"errors"
	"fmt"
	"math"
	"strings"
	"sync"
	"syscall/js"

	"github.com/atmoworkers/atmo/wasm/atmo"
	"github.com/atmoworkers/atmo/wasm/internal/turn"
	"github.com/atmoworkers/atmo/wasm/internal/values"
)

// The fast path of run(): atmo.js gathers the run() calls of one turn and
// adds them with one call of the bridge's run, and their answers come back
// together in one call per turn, through the byte wire (values.Send),
// instead of one crossing per task each way and a JS object built field by
// field.
//
// run enters Go as answers from workers do (a values.Receiver): its meta
// written to the wire, and Go's answer handed back during the same call. A
// js.Func made syscall/js references for the call's event, its arguments
// and the answer, each with a finalizer: a bare call from JS into an idle
// Go took 20-25 µs through a js.Func and 3 through the Receiver's hop
// (wasmbrowsertest). The params stay in JS too: atmo.js holds them in the
// codec's table (codec.hold) and Go passes their slots on (values.Held),
// which the page's wire reads back when it posts the task; atmo.js
// releases them when the task settles.

// runsJS(codec, r) makes the JS side of run: run(meta) writes meta,
// [handle, then per task name, priority, timeout, retries, the held slots
// of its params and its transfer list (or -1), and its flags (1 if its
// progress reports are wanted, + 2 if it takes its result raw), and last
// the call's token], delivers it to r,
// and returns the answer Go gave meanwhile (through ids or fail, which take
// the token first): {value: [taskId or error, ...]} or {error}.
var runsJS = js.Global().Get("Function").New("codec", "r", `
// The answer of each call under way, by its token, which run adds to meta
// and Go gives back with the answer: a callback Go makes while it handles
// one call (a subscriber's, an onSuccess) may call run again, nested, and
// each call must get its own answer.
let seq = 0;
const answers = new Map();
return {
  run: (meta) => {
    const token = ++seq;
    meta.push(token);
    answers.set(token, undefined);
    try {
      codec.deliver(r, codec.encode, meta);
      return answers.get(token) || { error: { message: 'atmo: internal error: run() got no answer from Go', code: 'ERR_INTERNAL' } };
    } finally {
      answers.delete(token);
    }
  },
  ids: (token, refs, transfer) => { if (answers.has(token)) answers.set(token, { value: codec.read(refs, transfer || []) }); },
  // A meta Go could not read has no token for it: the latest call's, the
  // one being delivered.
  fail: (token, e) => { const t = token === undefined ? seq : token; if (answers.has(t)) answers.set(t, e); },
};`)

// runFields is how many meta entries run takes per task.
const runFields = 7

// runs adds the tasks of one run call (see runsJS), during the delivery
// of its meta, and hands back their ids, or an error object each.
func (b *bridge) runs(buf []byte) {
	token := js.Undefined() // the call's, last in meta (see runsJS)
	// As the bridge's js.Funcs do (see New): a bug is an error, not the page's end.
	defer func() {
		if p := recover(); p != nil {
			b.runsFail.Invoke(token, errorValue(fmt.Errorf("atmo: internal error in run: %v", p), "ERR_INTERNAL", ""))
		}
	}()
	decoded, err := values.DecodeReceived(buf)
	meta, _ := decoded.([]any)
	if len(meta) > 0 {
		if t, ok := meta[len(meta)-1].(float64); ok {
			token = js.ValueOf(t)
		}
		meta = meta[:len(meta)-1]
	}
	if err == nil && (len(meta) == 0 || (len(meta)-1)%runFields != 0) {
		err = fmt.Errorf("%d entries, not the manager's handle and %d per task", len(meta), runFields)
	}
	if err != nil {
		b.runsFail.Invoke(token, errorValue(fmt.Errorf("atmo: run got unreadable task meta: %v", err), "ERR_INTERNAL", ""))
		return
	}
	handle, _ := meta[0].(float64)
	e, bad := b.tm(js.ValueOf(handle))
	if e == nil {
		b.runsFail.Invoke(token, bad)
		return
	}
	meta = meta[1:]
	ids := make([]any, len(meta)/runFields)
	for i := range ids {
		m := meta[i*runFields : (i+1)*runFields]
		name, _ := m[0].(string)
		priority, _ := m[1].(float64)
		timeout, _ := m[2].(float64)
		retries, _ := m[3].(float64)
		var p any // structured-cloned by atmo.js; posted as it is
		if at, list := heldSlot(m[4]), heldSlot(m[5]); at >= 0 {
			p = values.Held{Value: at, List: list}
		}
		flags, _ := m[6].(float64)
		var onProgress func(atmo.Progress)
		if int(flags)&1 != 0 {
			onProgress = e.runs.progress
		}
		// Every result stays in JS: as it came (RawResult) for a raw
		// task, else copied there by Go's value rules as it arrives (the
		// manager's hooks.CopyResults), so that one that cannot be read
		// fails its task, in the manager's counts too.
		t, err := e.tm.AddTask(atmo.TaskParams{
			Name: name, Params: p, Priority: int(priority), Retries: int(retries), RawResult: int(flags)&2 != 0,
			Timeout:   msDuration(timeout),
			OnSuccess: e.runs.add, OnError: e.runs.add, OnProgress: onProgress,
		})
		if err != nil {
			f := errorFields(err)
			if errors.Is(err, atmo.ErrBadParams) {
				f["argument"] = refused(err)
			}
			ids[i] = f
			continue
		}
		ids[i] = t.ID()
	}
	values.Post(ids, func(refs, transfer any) { b.runsIDs.Invoke(token, refs, transfer) })
}

// refused names the option of run() that AddTask refused with
// ErrBadParams, by the words of its error. Held params themselves cannot
// be refused (atmo.js cloned them): atmo.js checks the options first, and
// this is the backstop.
func refused(err error) string {
	switch msg := err.Error(); {
	case strings.Contains(msg, " has Retries "):
		return "retries"
	case strings.Contains(msg, " has Priority "):
		return "priority"
	}
	return "params"
}

// heldSlot reads a held slot from run's meta: -1 for none, or for
// anything that is not a slot.
func heldSlot(v any) int32 {
	f, ok := v.(float64)
	if !ok || f < 0 || f > math.MaxInt32 || f != math.Trunc(f) {
		return -1
	}
	return int32(f)
}

// listen(tm, deliver) says where the answers of tm's tasks go: deliver([[taskId,
// ok, content, workerId, error], ...]), in batches; an answer may reach
// deliver before run has returned its id. content is the worker's, as it
// came for a raw task, else as Go's value rules made it when it came (see
// hooks.CopyResults). Progress reports, for the tasks that want them,
// come the same way, before their answer and in order, as [taskId, null,
// content, workerId]: the core runs a task's callbacks one by one.
func (b *bridge) listen(args []js.Value) any {
	e, bad := b.tm(arg(args, 0))
	if e == nil {
		return bad
	}
	deliver := arg(args, 1)
	if deliver.Type() != js.TypeFunction {
		return errorValue(errors.New("atmo: listen needs a function to deliver answers"), "ERR_BAD_ARGUMENT", "deliver")
	}
	e.runs.listen(deliver)
	return value(true)
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

// sendBatch writes items, a list, to the byte wire, where JS reads and
// holds them, and then has via, a JS function, take them and hand them to
// fn: via(fn, slot). fn is the user's: it may call back into Go, which
// posts, so the wire is let go first (values.PostHeld). atmo.js catches
// what its own callers throw; JSCall is the backstop.
func sendBatch(via, fn js.Value, items any) {
	slot := values.PostHeld(items)
	_ = values.JSCall(func() { via.Invoke(fn, slot) })
}

var (
	// deliverWire hands the answers Go wrote to the wire to atmo.js.
	deliverWire = js.Global().Get("Function").New("codec", `return (deliver, k) => deliver(codec.take(k));`).Invoke(values.Codec)
)
