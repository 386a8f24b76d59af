//go:build js && wasm

package jsapi

import (
	"syscall/js"
	"testing"

	"github.com/atmoworkers/atmo/wasm/internal/jstest"
)

// BenchmarkRunBatch runs b.N echo tasks through the bridge as atmo.js's
// run() does (one bridge.run a turn, answers delivered in batches) on two JS
// workers, all at once or one at a time, for profiling the JS API's path
// in Go; and all at once under a subscriber that counts the messages, as
// the dashboard's does.
func BenchmarkRunBatch(b *testing.B) {
	b.Run("flood", func(b *testing.B) { runBatches(b, false, false) })
	b.Run("one-at-a-time", func(b *testing.B) { runBatches(b, true, false) })
	b.Run("flood-subscribed", func(b *testing.B) { runBatches(b, false, true) })
}

// runBatches runs b.N tasks through the bridge, all in one turn or one at
// a time (the next when the last has answered), with or without a
// subscriber.
func runBatches(b *testing.B, one, subscribed bool) {
	bridge := New()
	b.Cleanup(func() { bridge.Call("shutdown") })
	url := jstest.HelperWorker(b, `atmoWorker({ echo: (p) => p });`)
	flood := js.Global().Get("Function").New("bridge", "url", "warm", "n", "one", "subscribed", "done", `
const tm = bridge.createTaskManager().value.handle;
let deliver = () => {};
bridge.listen(tm, (items) => deliver(items));
let messages = 0;
if (subscribed) bridge.subscribe(tm, () => { messages++; });
bridge.createWorkerManager(tm, [{ tasks: ['echo'], script: url, count: 2, concurrency: 64 }]);
const run = (n, then) => {
  let left = n;
  const meta = [tm], held = [];
  for (let i = 0; i < n; i++) { const k = bridge.hold({ i }); held.push(k); meta.push('echo', 0, 0, 0, k, -1, 0); }
  deliver = (items) => { // as atmo.js settles: let the params go, then the Promise's then, after deliver returns
    left -= items.length;
    if (left === 0) { for (const k of held) bridge.release(k); queueMicrotask(then); }
  };
  const a = bridge.run(meta);
  if (a.error) done.end(a.error.message);
};
const oneByOne = (n, then) => { if (n === 0) then(); else run(1, () => oneByOne(n - 1, then)); };
const go = one ? (k, then) => oneByOne(k, then) : run;
go(warm, () => go(warm, () => done.start(() => go(n, () => done.end()))));`)
	start, end := make(chan func()), make(chan string)
	var fStart, fEnd js.Func
	fStart = js.FuncOf(func(_ js.Value, args []js.Value) any {
		next := args[0]
		go func() { start <- func() { next.Invoke() } }()
		return nil
	})
	fEnd = js.FuncOf(func(_ js.Value, args []js.Value) any {
		failed := ""
		if len(args) > 0 {
			failed = args[0].String()
		}
		go func() { end <- failed }()
		return nil
	})
	defer fStart.Release()
	defer fEnd.Release()
	done := js.Global().Get("Object").New()
	done.Set("start", fStart)
	done.Set("end", fEnd)
	warm := 20000
	if one {
		warm = 3000
	}
	flood.Invoke(bridge, url, warm, b.N, one, subscribed, done)
	var begin func()
	select {
	case begin = <-start:
	case failed := <-end:
		b.Fatal(failed)
	}
	b.ResetTimer()
	begin()
	if failed := <-end; failed != "" {
		b.Fatal(failed)
	}
}
