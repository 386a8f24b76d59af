//go:build js && wasm

package atmo_test

import (
	"context"
	"fmt"
	"sync"
	"syscall/js"
	"testing"

	"github.com/atmoworkers/atmo/wasm/atmo"
	"github.com/atmoworkers/atmo/wasm/internal/jstest"
	"github.com/stretchr/testify/require"
)

// In-browser micro-benchmarks of the Go main thread's hot path, for
// profiling (`-bench . -cpuprofile`). The side-by-side suite against raw
// postMessage and workerpool is `make bench`.

const benchEcho = `atmoWorker({ echo: (p) => p });`

func benchPool(b testing.TB, workers, concurrency int) *atmo.TaskManager {
	cfg := atmo.WorkerConfig{Tasks: []string{"echo"}, Script: jstest.HelperWorker(b, benchEcho), Count: workers, Concurrency: concurrency}
	tm := atmo.NewTaskManager()
	wm, err := atmo.NewBrowserWorkerManager(tm, cfg)
	require.NoError(b, err)
	b.Cleanup(func() { tm.Close() })
	require.NoError(b, wm.Ready(context.Background()))
	return tm
}

func BenchmarkRoundTrip(b *testing.B) {
	tm := benchPool(b, 1, 1)
	roundTrips(b, tm, "echo", map[string]any{"i": 1})
}

// roundTrips warms tm up, then times b.N tasks run one at a time.
func roundTrips(b *testing.B, tm *atmo.TaskManager, name string, params any) {
	warmUp(b, tm, name, params)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := tm.Do(context.Background(), name, params); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkThroughput(b *testing.B) {
	for _, c := range []int{1, 8, 64} {
		b.Run(fmt.Sprintf("concurrency=%d", c), func(b *testing.B) {
			tm := benchPool(b, 2, c)
			var wg sync.WaitGroup
			wg.Add(b.N)
			done := func(atmo.Response) { wg.Done() }
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				if _, err := tm.AddTask(atmo.TaskParams{Name: "echo", Params: float64(i), OnSuccess: done, OnError: done}); err != nil {
					b.Fatal(err)
				}
			}
			wg.Wait()
		})
	}
}

// BenchmarkRawFlood is the limit: JS posts b.N messages to 2 bare workers
// and counts the echoes, with no Go on the path.
func BenchmarkRawFlood(b *testing.B) {
	src := `self.onmessage = (e) => self.postMessage(e.data);`
	url := jstest.BlobURL(b, src)
	flood := js.Global().Get("Function").New("url", "n", "done", `
const ws = [new Worker(url), new Worker(url)];
let got = 0;
for (const w of ws) w.onmessage = () => { if (++got === n) { ws.forEach((x) => x.terminate()); done(); } };
for (let i = 0; i < n; i++) ws[i & 1].postMessage(i);`)
	runJS(b, flood, url, b.N)
}

// BenchmarkRawRoundTrip is the limit for one task at a time: a JS ping-pong
// with a bare worker, with no Go on the path.
func BenchmarkRawRoundTrip(b *testing.B) {
	url := jstest.BlobURL(b, `self.onmessage = (e) => self.postMessage(e.data);`)
	pingPong := js.Global().Get("Function").New("url", "n", "done", `
const w = new Worker(url);
let i = 0;
w.onmessage = () => { if (++i === n) { w.terminate(); done(); } else w.postMessage(i); };
w.postMessage(0);`)
	runJS(b, pingPong, url, b.N)
}

func benchPoolScript(b *testing.B, script string) *atmo.TaskManager {
	return benchPoolScriptTasks(b, script, "add")
}

func benchPoolScriptTasks(b *testing.B, script string, tasks ...string) *atmo.TaskManager {
	tm := atmo.NewTaskManager()
	wm, err := atmo.NewBrowserWorkerManager(tm, atmo.WorkerConfig{Tasks: tasks, Script: script})
	require.NoError(b, err)
	b.Cleanup(func() { tm.Close() })
	require.NoError(b, wm.Ready(context.Background()))
	return tm
}

// BenchmarkGoRawRoundTrip is a bare Go ping-pong with a worker: postMessage
// from Go, onmessage into a js.FuncOf, a channel to the waiting goroutine.
// Against BenchmarkRawRoundTrip it is the fixed cost of Go's WASM event hop,
// which no pool on top can avoid.
func BenchmarkGoRawRoundTrip(b *testing.B) {
	url := jstest.BlobURL(b, `self.onmessage = (e) => self.postMessage(e.data);`)
	w := js.Global().Get("Worker").New(url)
	defer w.Call("terminate")
	got := make(chan struct{}, 1)
	f := js.FuncOf(func(js.Value, []js.Value) any { got <- struct{}{}; return nil })
	defer f.Release()
	w.Set("onmessage", f)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		w.Call("postMessage", i)
		<-got
	}
}

// BenchmarkRoundTripSeedWorker is BenchmarkRoundTrip with the seed's
// hand-written math worker (no helper, no batches) on the other side.
func BenchmarkRoundTripSeedWorker(b *testing.B) {
	tm := benchPoolScript(b, jstest.FileURL(b, "examples/workers/math-worker.js"))
	roundTrips(b, tm, "add", map[string]any{"a": 1, "b": 2})
}

// BenchmarkHelperJSRoundTrip is BenchmarkRawRoundTrip with a worker written
// with atmo-worker.js: the helper's own cost, with no Go on the page's side.
func BenchmarkHelperJSRoundTrip(b *testing.B) {
	url := jstest.HelperWorker(b, benchEcho)
	pingPong := js.Global().Get("Function").New("url", "n", "done", `
const w = new Worker(url);
let i = 0;
const send = () => w.postMessage({ message: 'worker-work', taskId: 'task-' + (i + 1), workerId: 'w', content: { name: 'echo', params: i } });
w.onmessage = (e) => {
  if (e.data.message === 'worker-ready') { send(); return; }
  if (++i === n) { w.terminate(); done(); } else send();
};
w.postMessage({ message: 'init-worker', id: 'w', content: ['echo'], features: ['batch'] });`)
	runJS(b, pingPong, url, b.N)
}

// runJS resets the timer, calls fn(args..., done) and waits until the JS
// calls done.
func runJS(b *testing.B, fn js.Value, args ...any) {
	finished := make(chan struct{})
	done := js.FuncOf(func(js.Value, []js.Value) any { close(finished); return nil })
	defer done.Release()
	b.ResetTimer()
	fn.Invoke(append(args, done)...)
	<-finished
}

// warmUp runs tasks until V8 has tiered up the hot paths (the first
// thousands of tasks run on baseline code and would dominate a short run).
func warmUp(b *testing.B, tm *atmo.TaskManager, name string, params any) {
	for i := 0; i < 3000; i++ {
		if _, err := tm.Do(context.Background(), name, params); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkMainThreadBusy splits a round trip into what the page's main
// thread spends inside the worker's message listener (busy-µs/op: posting
// the next message and, with Go, the event hop, the core, the glue) and the
// rest (the threads' message hops and the worker): raw JS, a bare Go
// ping-pong and atmo, one task at a time. (raw-js's ns/op includes its
// warm-up; read its busy-µs/op.)
func BenchmarkMainThreadBusy(b *testing.B) {
	// timed wraps a listener so that the time spent in it adds up in busy.
	timed := js.Global().Get("Function").New("busy", "f", `return function (e) {
  const t0 = performance.now();
  try { return f.call(this, e); } finally { busy.ms += performance.now() - t0; }
};`)
	run := func(b *testing.B, busy js.Value, roundTrip func()) {
		for range 3000 {
			roundTrip() // warm up
		}
		busy.Set("ms", 0)
		b.ResetTimer()
		for i := 0; i < b.N; i++ {
			roundTrip()
		}
		b.ReportMetric(busy.Get("ms").Float()*1000/float64(b.N), "busy-µs/op")
	}
	b.Run("raw-js", func(b *testing.B) {
		// A JS ping-pong with no Go: the listener posts the next message.
		busy := js.Global().Get("Object").New()
		busy.Set("ms", 0)
		url := jstest.BlobURL(b, `self.onmessage = (e) => self.postMessage(e.data);`)
		pingPong := js.Global().Get("Function").New("url", "n", "busy", "timed", "done", `
const w = new Worker(url);
let i = 0;
const warm = 3000;
w.onmessage = timed(busy, () => {
  if (++i === warm) busy.ms = 0;
  if (i === warm + n) { w.terminate(); done(); } else w.postMessage(i);
});
w.postMessage(0);`)
		runJS(b, pingPong, url, b.N, busy, timed)
		b.ReportMetric(busy.Get("ms").Float()*1000/float64(b.N), "busy-µs/op")
	})
	b.Run("bare-go", func(b *testing.B) {
		busy := js.Global().Get("Object").New()
		w := js.Global().Get("Worker").New(jstest.BlobURL(b, `self.onmessage = (e) => self.postMessage(e.data);`))
		defer w.Call("terminate")
		got := make(chan struct{}, 1)
		f := js.FuncOf(func(js.Value, []js.Value) any { got <- struct{}{}; return nil })
		defer f.Release()
		w.Set("onmessage", timed.Invoke(busy, f))
		run(b, busy, func() { w.Call("postMessage", 1); <-got })
	})
	b.Run("atmo", func(b *testing.B) {
		// Worker listeners added while the pool starts are timed.
		busy := js.Global().Get("Object").New()
		proto := js.Global().Get("Worker").Get("prototype")
		add := proto.Get("addEventListener")
		proto.Set("addEventListener", js.Global().Get("Function").New("add", "timed", "busy", `return function (kind, f, ...rest) {
  return add.call(this, kind, kind === 'message' ? timed(busy, f) : f, ...rest);
};`).Invoke(add, timed, busy))
		tm := benchPool(b, 1, 1)
		proto.Set("addEventListener", add)
		run(b, busy, func() {
			if _, err := tm.Do(context.Background(), "echo", 1.0); err != nil {
				b.Fatal(err)
			}
		})
	})
}

// inThreadWorker is a stand-in for Worker that answers on the page's own
// thread, in a microtask: with it, a round trip is only the page's path
// (the wire, the event hop, the core, the caller's loop), with no thread to
// wake, so a change to that path shows up in ns/op to the microsecond. It
// is a measuring tool for BenchmarkPagePath, not a worker.
const inThreadWorker = `
class InThreadWorker {
  constructor() { this.listeners = []; }
  addEventListener(kind, f) { if (kind === 'message') this.listeners.push(f); }
  removeEventListener(kind, f) { this.listeners = this.listeners.filter((g) => g !== f); }
  terminate() { this.listeners = []; }
  dispatch(data) { for (const f of this.listeners) f({ data }); }
  postMessage(m) {
    let out;
    if (m.message === 'init-worker') {
      out = { message: 'worker-ready', workerId: m.id, content: { tasks: m.content, features: ['batch'] } };
    } else if (m.message === 'worker-work') {
      out = { message: 'worker-response', taskId: m.taskId, workerId: m.workerId, content: m.content.params };
    } else return;
    queueMicrotask(() => this.dispatch(out));
  }
}
return InThreadWorker;`

// BenchmarkPagePath times the page's path of one task at a time with a
// worker that answers in a microtask on the page's thread (see
// inThreadWorker): atmo, a bare Go ping-pong (js.FuncOf, a channel,
// postMessage) and the same in JS.
func BenchmarkPagePath(b *testing.B) {
	fake := js.Global().Get("Function").New(inThreadWorker).Invoke()
	b.Run("raw-js", func(b *testing.B) {
		loop := js.Global().Get("Function").New("W", "n", "done", `
const w = new W();
let i = 0;
w.addEventListener('message', () => { if (++i === n) done(); else w.postMessage({ message: 'worker-work', taskId: 't', content: { params: i } }); });
w.postMessage({ message: 'worker-work', taskId: 't', content: { params: 0 } });`)
		runJS(b, loop, fake, b.N)
	})
	b.Run("bare-go", func(b *testing.B) {
		w := fake.New()
		got := make(chan struct{}, 1)
		f := js.FuncOf(func(js.Value, []js.Value) any { got <- struct{}{}; return nil })
		defer f.Release()
		w.Call("addEventListener", "message", f)
		m := js.ValueOf(map[string]any{"message": "worker-work", "taskId": "t", "content": map[string]any{"params": 1}})
		b.ResetTimer()
		for i := 0; i < b.N; i++ {
			w.Call("postMessage", m)
			<-got
		}
	})
	b.Run("atmo", func(b *testing.B) {
		worker := js.Global().Get("Worker")
		js.Global().Set("Worker", fake)
		tm := benchPool(b, 1, 1)
		js.Global().Set("Worker", worker)
		roundTrips(b, tm, "echo", 1.0)
	})
}

// BenchmarkSendNumbers sends 100,000 numbers as a []float64 to a JS worker
// that answers with their count: the page's cost of numeric params.
func BenchmarkSendNumbers(b *testing.B) {
	cfg := atmo.WorkerConfig{Tasks: []string{"count"}, Script: jstest.HelperWorker(b, `atmoWorker({ count: (p) => p.length });`)}
	tm := atmo.NewTaskManager()
	wm, err := atmo.NewBrowserWorkerManager(tm, cfg)
	require.NoError(b, err)
	b.Cleanup(func() { tm.Close() })
	require.NoError(b, wm.Ready(context.Background()))
	nums := make([]float64, 100000)
	for i := range nums {
		nums[i] = float64(i) / 3
	}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		n, err := tm.Do(context.Background(), "count", nums)
		if err != nil || n != float64(len(nums)) {
			b.Fatal(n, err)
		}
	}
}

// BenchmarkReceiveNumbers has a JS worker answer 100,000 numbers: the
// page's cost of a numeric result.
func BenchmarkReceiveNumbers(b *testing.B) {
	cfg := atmo.WorkerConfig{Tasks: []string{"numbers"}, Script: jstest.HelperWorker(b, `const nums = Array.from({ length: 100000 }, (_, i) => i / 3);
atmoWorker({ numbers: () => nums });`)}
	tm := atmo.NewTaskManager()
	wm, err := atmo.NewBrowserWorkerManager(tm, cfg)
	require.NoError(b, err)
	b.Cleanup(func() { tm.Close() })
	require.NoError(b, wm.Ready(context.Background()))
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		got, err := tm.Do(context.Background(), "numbers", nil)
		if err != nil || len(got.([]any)) != 100000 {
			b.Fatal(err)
		}
	}
}

// BenchmarkRawReceiveNumbers is BenchmarkReceiveNumbers's limit: a JS
// ping-pong in which a bare worker answers the same 100,000 numbers.
func BenchmarkRawReceiveNumbers(b *testing.B) {
	url := jstest.BlobURL(b, `const nums = Array.from({ length: 100000 }, (_, i) => i / 3);
self.onmessage = () => self.postMessage({ message: 'worker-task-done', content: nums });`)
	pingPong := js.Global().Get("Function").New("url", "n", "done", `
const w = new Worker(url);
let i = 0;
w.onmessage = (e) => { if (e.data.content.length !== 100000) throw new Error('short answer');
  if (++i === n) { w.terminate(); done(); } else w.postMessage(i); };
w.postMessage(0);`)
	runJS(b, pingPong, url, b.N)
}
