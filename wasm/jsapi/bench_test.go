//go:build js && wasm

package jsapi

import (
	"syscall/js"
	"testing"

	"github.com/atmoworkers/atmo/wasm/internal/jstest"
)

// BenchmarkRunBatch floods b.N echo tasks through the bridge as atmo.js's
// run() does (one runBatch for the turn, answers delivered in batches) to
// two JS workers, for profiling the JS API's path in Go.
func BenchmarkRunBatch(b *testing.B) {
	bridge := New()
	b.Cleanup(func() { bridge.Call("shutdown") })
	url := jstest.HelperWorker(b, `atmoWorker({ echo: (p) => p });`)
	flood := js.Global().Get("Function").New("bridge", "url", "warm", "n", "done", `
const tm = bridge.createTaskManager().value.handle;
bridge.createWorkerManager(tm, [{ tasks: ['echo'], script: url, count: 2, concurrency: 64 }]);
const run = (n, then) => {
  let left = n;
  const meta = [], params = [], lists = [];
  for (let i = 0; i < n; i++) { meta.push('echo', 0, 0, 0, false); params.push({ i }); lists.push(null); }
  const deliver = (items) => { left -= items.length; if (left === 0) then(); };
  bridge.runBatch(tm, bridge.encode(meta), params, lists, deliver);
};
run(warm, () => run(warm, () => done.start(() => run(n, () => done.end()))));`)
	start, end := make(chan func()), make(chan struct{})
	var fStart, fEnd js.Func
	fStart = js.FuncOf(func(_ js.Value, args []js.Value) any {
		next := args[0]
		go func() { start <- func() { next.Invoke() } }()
		return nil
	})
	fEnd = js.FuncOf(func(js.Value, []js.Value) any { go func() { end <- struct{}{} }(); return nil })
	defer fStart.Release()
	defer fEnd.Release()
	done := js.Global().Get("Object").New()
	done.Set("start", fStart)
	done.Set("end", fEnd)
	flood.Invoke(bridge, url, 20000, b.N, done)
	begin := <-start
	b.ResetTimer()
	begin()
	<-end
}
