//go:build js && wasm

package jsapi

import (
	"errors"
	"syscall/js"

	"github.com/atmoworkers/atmo/wasm/atmo"
	"github.com/atmoworkers/atmo/wasm/internal/hooks"
	"github.com/atmoworkers/atmo/wasm/internal/values"
)

// Subscriptions: the claim flow's messages, delivered to JS once per turn.

// subscribe(tm, fn) → {value: subscription}. fn gets every message of the
// claim flow, in order: the messages of one turn of Go's scheduler go to JS
// together, through the byte wire, and deliverEvents calls fn with each.
// Built field by field, a message took ten calls across syscall/js, and a
// subscriber cut the JS API's throughput sixfold (nine messages a task).
// The core hands them over a batch at a time (SubscribeBatch): queued a
// second time, one by one, they were 14% of the page's profile in a flood.
func (b *bridge) subscribe(args []js.Value) any {
	e, bad := b.tm(arg(args, 0))
	if e == nil {
		return bad
	}
	fn := arg(args, 1)
	if fn.Type() != js.TypeFunction {
		return errorValue(errors.New("atmo: subscribe(fn): fn must be a function"), "ERR_BAD_ARGUMENT", "fn")
	}
	stop := hooks.SubscribeWire(e.tm, func(ms []atmo.Message) { sendBatch(deliverEvents, fn, events(ms)) })
	b.mu.Lock()
	id := b.handle()
	b.subs[id] = &subscription{e: e, stop: stop}
	b.mu.Unlock()
	return value(id)
}

// subscription is one subscribe() call's.
type subscription struct {
	e    *tmEntry
	stop func() // ends the core's subscription; may wait for its goroutine
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
		s.stop()
	}
}

// events are messages as deliverEvents reads them: one flat list, the
// manager's id (the same for every message of a subscription), then seven
// fields a message, [kind, seq, taskId, workerId, hasContent, content,
// error], with "" for an absent string and the kind as its place in
// eventKinds. Written field by field (see values.Appender), and flat, so
// that JS makes one array a batch, not one a message, and no kind's
// string.
type events []atmo.Message

func (ms events) AppendWire(buf []byte, refs *[]any) []byte {
	buf = values.AppendArray(buf, 1+7*len(ms))
	managerID := ""
	if len(ms) > 0 {
		managerID = ms[0].ManagerID
	}
	buf = values.AppendString(buf, managerID)
	for _, m := range ms {
		if k := kindIndex(m.Kind); k >= 0 {
			buf = values.AppendNumber(buf, float64(k))
		} else {
			buf = values.AppendString(buf, string(m.Kind))
		}
		buf = values.AppendNumber(buf, float64(m.Seq))
		buf = values.AppendString(buf, m.TaskID)
		buf = values.AppendString(buf, m.WorkerID)
		buf = values.AppendBool(buf, m.Content != nil)
		buf = appendContent(buf, m.Content, refs)
		buf = values.AppendString(buf, jsWords(m.Error))
	}
	return buf
}

// eventKinds are the kinds a subscriber sees, most frequent first.
var eventKinds = []atmo.MessageKind{
	atmo.KindTaskUpdated, atmo.KindNewTask, atmo.KindTaskAvailable, atmo.KindTaskClaim,
	atmo.KindTaskClaimGranted, atmo.KindWorkerWork, atmo.KindWorkerResponse, atmo.KindTaskDeleted,
	atmo.KindWorkerProgress, atmo.KindWorkerUpdated, atmo.KindWorkerReady, atmo.KindCallbackPanic,
}

// kindIndex is k's place in eventKinds, or -1.
func kindIndex(k atmo.MessageKind) int {
	for i, x := range eventKinds {
		if x == k {
			return i
		}
	}
	return -1
}

// appendContent writes a message's content: statuses and names as
// strings, anything else (a worker's answer or report) as the JS API gives
// it.
func appendContent(buf []byte, c any, refs *[]any) []byte {
	switch c := c.(type) {
	case nil:
		return values.Encode(buf, nil, refs)
	case string:
		return values.AppendString(buf, c)
	case atmo.TaskStatus:
		return values.AppendString(buf, string(c))
	case atmo.WorkerStatus:
		return values.AppendString(buf, string(c))
	case values.Held: // an answer JS keeps for the task's result and the subscribers
		return values.Encode(buf, c, refs)
	case []string: // worker-ready's task names
		buf = values.AppendArray(buf, len(c))
		for _, s := range c {
			buf = values.AppendString(buf, s)
		}
		return buf
	}
	return values.Encode(buf, toJS(c), refs)
}

// deliverEvents calls fn with each message Go wrote to the wire, as an
// object with only the fields the message has.
var deliverEvents = js.Global().Get("Function").New("codec", "kinds", `return (fn, k) => {
  const f = codec.take(k), managerId = f[0];
  for (let i = 1; i < f.length; i += 7) {
    const k = f[i], m = { message: typeof k === 'number' ? kinds[k] : k, seq: f[i + 1], managerId };
    if (f[i + 2]) m.taskId = f[i + 2];
    if (f[i + 3]) m.workerId = f[i + 3];
    if (f[i + 4]) m.content = f[i + 5];
    if (f[i + 6]) m.error = f[i + 6];
    fn(m);
  }
};`).Invoke(values.Codec, kindNames())

func kindNames() js.Value {
	names := make([]any, len(eventKinds))
	for i, k := range eventKinds {
		names[i] = string(k)
	}
	return js.ValueOf(names)
}

// unsubscribe(subscription).
func (b *bridge) unsubscribe(args []js.Value) any {
	b.mu.Lock()
	id := arg(args, 0).Int()
	s := b.subs[id]
	delete(b.subs, id)
	b.mu.Unlock()
	if s != nil {
		go s.stop() // may wait for the subscriber's goroutine: not here
	}
	return value(true)
}
