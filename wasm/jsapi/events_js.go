//go:build js && wasm

package jsapi

import (
	"errors"
	"syscall/js"

	"github.com/atmoworkers/atmo/wasm/atmo"
	"github.com/atmoworkers/atmo/wasm/internal/turn"
	"github.com/atmoworkers/atmo/wasm/internal/values"
)

// Subscriptions: the claim flow's messages, delivered to JS once per turn.

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
	out := turn.New(func(items []any) { sendBatch(deliverEvents, fn, items) })
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
		content = stringsAny(c)
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
