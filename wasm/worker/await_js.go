//go:build js && wasm

package worker

import (
	"context"
	"syscall/js"

	"github.com/atmoworkers/atmo/wasm/internal/values"
)

// Await waits for a JS Promise, as JS's await does, and returns what it
// resolves to, or a *RejectedError holding what it rejected with. A value
// that is not a Promise (nor any object with a then method) is returned as
// it is. Call it from a handler's goroutine, never from a js.FuncOf
// callback: it blocks until the Promise settles.
//
// When ctx ends first, Await returns ctx's error at once and the Promise is
// left to settle on its own: pass an AbortSignal to what made it (fetch's
// signal option) to stop the work itself. Its two callbacks are released
// once it settles, so one that never settles keeps them.
func Await(ctx context.Context, promise js.Value) (js.Value, error) {
	thenable := false
	_ = jsCall(func() { // Type panics for a BigInt, a then getter may throw
		t := promise.Type()
		thenable = (t == js.TypeObject || t == js.TypeFunction) && promise.Get("then").Type() == js.TypeFunction
	})
	if !thenable {
		return promise, nil
	}
	type outcome struct {
		v  js.Value
		ok bool
	}
	done := make(chan outcome, 1)
	var then, catch js.Func
	settle := func(o outcome) {
		then.Release()
		catch.Release()
		done <- o // buffered: never blocks the callback
	}
	then = js.FuncOf(func(_ js.Value, args []js.Value) any { settle(outcome{arg0(args), true}); return nil })
	catch = js.FuncOf(func(_ js.Value, args []js.Value) any { settle(outcome{arg0(args), false}); return nil })
	// Through Promise.resolve, as JS's await goes: a hand-made thenable
	// that calls back twice, or throws after its first call, settles once,
	// and neither callback is called after their release.
	if err := jsCall(func() { js.Global().Get("Promise").Call("resolve", promise).Call("then", then, catch) }); err != nil {
		then.Release()
		catch.Release()
		return js.Undefined(), &RejectedError{Reason: js.ValueOf(err.Error())}
	}
	select {
	case o := <-done:
		if !o.ok {
			return js.Undefined(), &RejectedError{Reason: o.v}
		}
		// Go lets go of o.v only when a collection finalizes it: count
		// the buffers it holds (a chunk of a Blob), and collect once they
		// add up (see values.HeldNow).
		values.HeldNow(o.v)
		return o.v, nil
	case <-ctx.Done():
		return js.Undefined(), ctx.Err()
	}
}

func arg0(args []js.Value) js.Value {
	if len(args) == 0 {
		return js.Undefined()
	}
	return args[0]
}

// A RejectedError is what a Promise Await waited for rejected with.
type RejectedError struct {
	Reason js.Value // often an Error; any JS value can be thrown
}

// Error is the reason as JS's String() writes it ("TypeError: Failed to
// fetch"); an object with no text of its own is written as JSON.
func (e *RejectedError) Error() string {
	text := "a Promise rejected with a value String() cannot write"
	_ = jsCall(func() {
		text = js.Global().Get("String").Invoke(e.Reason).String()
		if text == "[object Object]" {
			if j := js.Global().Get("JSON").Call("stringify", e.Reason); j.Type() == js.TypeString {
				text = j.String()
			}
		}
	})
	return text
}
