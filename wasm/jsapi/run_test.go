//go:build js && wasm

package jsapi

import (
	"math"
	"syscall/js"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/atmoworkers/atmo/wasm/internal/jstest"
	"github.com/atmoworkers/atmo/wasm/internal/values"
)

// runTurn drives the bridge as atmo.js does for one turn of five tasks, their
// params held for Go (bridge.hold): a
// plain echo, one with no params, one whose buffer moves to the worker, one
// that names no worker's task, and one that wants its progress reports. Once all have answered, it
// resolves with what run returned, the answers (or errors) by task id, and
// what run returns for a manager that does not exist and for meta of the
// wrong length.
var runTurn = js.Global().Get("Function").New("bridge", "url", `
return new Promise((resolve, reject) => {
  const tm = bridge.createTaskManager().value.handle;
  bridge.createWorkerManager(tm, [{ tasks: ['echo', 'size', 'count'], script: url }]);
  const answers = {}, reports = [];
  const buf = new ArrayBuffer(8);
  let sent;
  const deliver = (items) => {
    for (const [id, ok, content, , error] of items) {
      if (ok === null) reports.push(content);
      else answers[id] = ok ? content : error;
    }
    if (Object.keys(answers).length === 5) resolve({ sent, answers, reports, detached: buf.byteLength === 0, bad: bridge.run([999, 'echo', 0, 0, 0, -1, -1, 0]), odd: bridge.run([tm, 'echo']) });
  };
  bridge.listen(tm, deliver);
  const [a, b, list, three] = [{ a: 1 }, { b: buf }, [buf], 3].map((v) => bridge.hold(v));
  sent = bridge.run([tm,
    'echo', 0, 0, 0, a, -1, 0,
    'echo', 0, 0, 0, -1, -1, 0,
    'size', 0, 0, 0, b, list, 0,
    'nobody', 0, 0, 0, -1, -1, 0,
    'count', 0, 0, 0, three, -1, 1]);
  if (sent.error) reject(new Error(sent.error.message));
});`)

func TestRunAddsATurnOfTasksThroughTheHopAndWithoutIt(t *testing.T) {
	t.Cleanup(func() { values.SetHop(true) })
	url := jstest.HelperWorker(t, `atmoWorker({
  echo: (p) => p,
  size: (p) => p.b.byteLength,
  count: (n, { progress }) => { for (let i = 1; i <= n; i++) progress(i); return 'counted'; },
});`)
	for _, hop := range []bool{true, false} {
		values.SetHop(hop)
		bridge := New()
		got, err := await(runTurn.Invoke(bridge, url))
		bridge.Call("shutdown")
		require.NoError(t, err, "hop %v", hop)

		ids := got.Get("sent").Get("value")
		require.Equal(t, 5, ids.Length(), "hop %v: an answer for each task, in order", hop)
		answers := got.Get("answers")
		assert.Equal(t, 1, answers.Get(ids.Index(0).String()).Get("a").Int(), "hop %v: params reach the worker", hop)
		assert.True(t, answers.Get(ids.Index(1).String()).IsNull(), "hop %v: no params are null", hop)
		assert.Equal(t, 8, answers.Get(ids.Index(2).String()).Int(), "hop %v: a listed buffer reaches the worker", hop)
		assert.True(t, got.Get("detached").Bool(), "hop %v: and moves there", hop)
		assert.Equal(t, "ERR_NO_WORKER", answers.Get(ids.Index(3).String()).Get("code").String(), "hop %v: a task nobody runs fails alone", hop)
		assert.Equal(t, "counted", answers.Get(ids.Index(4).String()).String(), "hop %v", hop)
		assert.Equal(t, "[1,2,3]", js.Global().Get("JSON").Call("stringify", got.Get("reports")).String(), "hop %v: the reports of a task that wants them, in order", hop)
		assert.Equal(t, "atmo: run got unreadable task meta: 2 entries, not the manager's handle and 7 per task", got.Get("odd").Get("error").Get("message").String(), "hop %v", hop)
		assert.Equal(t, "ERR_BAD_ARGUMENT", got.Get("bad").Get("error").Get("code").String(), "hop %v: an unknown manager fails the turn", hop)
	}
}

// await waits for a JS promise, as a test may: from its own goroutine,
// never inside a js.Func.
func await(p js.Value) (js.Value, error) {
	type result struct {
		v   js.Value
		err error
	}
	ch := make(chan result, 1)
	ok := js.FuncOf(func(_ js.Value, args []js.Value) any { ch <- result{v: args[0]}; return nil })
	fail := js.FuncOf(func(_ js.Value, args []js.Value) any {
		ch <- result{err: js.Error{Value: args[0]}}
		return nil
	})
	defer ok.Release()
	defer fail.Release()
	p.Call("then", ok, fail)
	r := <-ch
	return r.v, r.err
}

func TestMillisecondsFromJSKeepTheirSignAndInfinityIsTheLongest(t *testing.T) {
	assert.Equal(t, 1500*time.Microsecond, msDuration(1.5))
	assert.Equal(t, time.Duration(1), msDuration(1e-9), "a timeout of a picosecond is a timeout, not none")
	assert.Equal(t, time.Duration(0), msDuration(0))
	assert.Equal(t, -time.Millisecond, msDuration(-1), "Go's negative Timeout: no limit")
	assert.Equal(t, time.Duration(-1), msDuration(-1e-9), "a negative one stays negative (agingInterval: no aging), not 0, the default")
	assert.Equal(t, time.Duration(math.MaxInt64), msDuration(math.Inf(1)))
	assert.Equal(t, time.Duration(math.MaxInt64), msDuration(1e300))
}
