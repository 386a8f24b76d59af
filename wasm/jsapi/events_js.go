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
	out := turn.New(func(ms []atmo.Message) { sendBatch(deliverEvents, fn, events(ms)) })
	stop := e.tm.Subscribe(out.Add)
	b.mu.Lock()
	id := b.handle()
	b.subs[id] = &subscription{e: e, stop: stop, out: out}
	b.mu.Unlock()
	return value(id)
}

// subscription is one subscribe() call's.
type subscription struct {
	e    *tmEntry
	stop func()                      // ends the core's subscription; may wait for its goroutine
	out  *turn.Batcher[atmo.Message] // the messages on their way to JS
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

// events are messages as deliverEvents reads them, each [message, seq,
// managerId, taskId, workerId, hasContent, content, error] with "" for an
// absent string, written field by field (see values.Appender).
type events []atmo.Message

func (ms events) AppendWire(buf []byte, refs *[]any) []byte {
	buf = values.AppendArray(buf, len(ms))
	for _, m := range ms {
		buf = values.AppendArray(buf, 8)
		buf = values.AppendString(buf, string(m.Kind))
		buf = values.AppendNumber(buf, float64(m.Seq))
		buf = values.AppendString(buf, m.ManagerID)
		buf = values.AppendString(buf, m.TaskID)
		buf = values.AppendString(buf, m.WorkerID)
		buf = values.AppendBool(buf, m.Content != nil)
		buf = appendContent(buf, m.Content, refs)
		buf = values.AppendString(buf, m.Error)
	}
	return buf
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
