//go:build js && wasm

package worker

import (
	"context"
	"syscall/js"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

var jsEval = js.Global().Get("eval")

func TestAwaitGivesWhatAPromiseResolvesTo(t *testing.T) {
	v, err := Await(context.Background(), jsEval.Invoke(`new Promise((r) => setTimeout(() => r(7), 5))`))
	require.NoError(t, err)
	assert.Equal(t, 7, v.Int())
	v, err = Await(context.Background(), jsEval.Invoke(`({ then(resolve) { resolve('thenable'); } })`))
	require.NoError(t, err)
	assert.Equal(t, "thenable", v.String(), "any object with a then method, as JS's await")
}

func TestAwaitGivesAValueThatIsNoPromiseAsItIs(t *testing.T) {
	for _, src := range []string{`5`, `undefined`, `({ a: 1 })`, `10n`, `'text'`} {
		in := jsEval.Invoke(src)
		v, err := Await(context.Background(), in)
		require.NoError(t, err, src)
		assert.True(t, v.Equal(in), src)
	}
}

func TestAwaitSaysWhatAPromiseRejectedWith(t *testing.T) {
	for src, want := range map[string]string{
		`Promise.reject(new TypeError('Failed to fetch'))`: "TypeError: Failed to fetch",
		`Promise.reject('no')`:                             "no",
		`Promise.reject({ code: 7 })`:                      `{"code":7}`,
		`Promise.reject(undefined)`:                        "undefined",
		`Promise.reject(Object.create(null))`:              "a Promise rejected with a value String() cannot write",
	} {
		_, err := Await(context.Background(), jsEval.Invoke(src))
		var rejected *RejectedError
		require.ErrorAs(t, err, &rejected, src)
		assert.Equal(t, want, err.Error(), src)
	}
	_, err := Await(context.Background(), jsEval.Invoke(`Promise.reject(new RangeError('x'))`))
	var rejected *RejectedError
	require.ErrorAs(t, err, &rejected)
	assert.Equal(t, "RangeError", rejected.Reason.Get("name").String(), "the reason itself, to look into")
}

func TestAwaitReturnsWhenItsContextEndsAndThePromiseSettlesLaterUnharmed(t *testing.T) {
	settle := js.Undefined()
	executor := js.FuncOf(func(_ js.Value, args []js.Value) any { settle = args[0]; return nil })
	defer executor.Release()
	p := js.Global().Get("Promise").New(executor)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	_, err := Await(ctx, p)
	require.ErrorIs(t, err, context.DeadlineExceeded)
	settle.Invoke("late") // calls the callbacks Await left: no panic, nothing blocks
	v, err := Await(context.Background(), p)
	require.NoError(t, err)
	assert.Equal(t, "late", v.String())
}

func TestAwaitTakesOnlyTheFirstOutcomeOfAThenableAsJSsAwaitDoes(t *testing.T) {
	// JS's await settles once, whatever a hand-made thenable does after
	// its first outcome: here a second call reached a released js.Func
	// (the console's "call to released function"), and a throw after the
	// resolve turned the outcome into a rejection.
	jsEval.Invoke(`globalThis.__errs = []; globalThis.__error = console.error; console.error = (...a) => { __errs.push(a.join(' ')); __error(...a); }`)
	defer jsEval.Invoke(`console.error = __error`)
	for _, src := range []string{
		`({ then(resolve, reject) { resolve(1); resolve(2); reject(3); } })`,
		`({ then(resolve, reject) { reject(1); resolve(2); } })`,
		`({ then(resolve) { setTimeout(() => { resolve(1); resolve(2); }, 1); } })`,
		`({ then(resolve) { resolve(1); throw new Error('after'); } })`,
	} {
		v, err := Await(context.Background(), jsEval.Invoke(src))
		if err != nil {
			var rejected *RejectedError
			require.ErrorAs(t, err, &rejected, src)
			v = rejected.Reason
		}
		assert.Equal(t, "1", js.Global().Get("String").Invoke(v).String(), src)
		// The page goes on: a later Await still works.
		v, err = Await(context.Background(), jsEval.Invoke(`new Promise((r) => setTimeout(() => r(7), 5))`))
		require.NoError(t, err, src)
		assert.Equal(t, 7, v.Int(), src)
	}
	assert.Empty(t, jsEval.Invoke(`__errs.join('; ')`).String(), "no call reached a released function")
}
