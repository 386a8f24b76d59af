//go:build js && wasm

// Command atmobench is the Go side of the bench page (examples/bench): it
// runs the suite's workloads for the "atmo-js" and "atmo-go" implementations
// by calling the TaskManager directly (AddTask, Do), so no JS API sits
// between the measurement and atmo. bench.js calls it through
// globalThis.atmoBench:
//
//	setup(specJSON) → Promise          start the pool and warm it up
//	measure() → Promise<figuresJSON>   the timed part
//	teardown() → Promise               close the pool
//
// Times come from time.Now, which Go's js/wasm runtime reads from
// performance.now(). go run ./host bench builds this with GOOS=js
// GOARCH=wasm into bin/wasm/bench/atmobench.wasm.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"runtime"
	"slices"
	"sync"
	"sync/atomic"
	"syscall/js"
	"time"

	"github.com/atmoworkers/atmo/wasm/atmo"
)

// spec is one measurement's settings, as the host sends them.
type spec struct {
	Workload    string `json:"workload"`
	Impl        string `json:"impl"` // atmo-js or atmo-go
	Tasks       int    `json:"tasks"`
	Workers     int    `json:"workers"`
	Concurrency int    `json:"concurrency"`
	N           int    `json:"n"`        // fib(n)
	Size        int    `json:"size"`     // payload bytes
	Rounds      int    `json:"rounds"`   // payload round trips per measure
	WarmUps     int    `json:"warmUps"`  // payload round trips before it, not counted
	Transfer    bool   `json:"transfer"` // the worker transfers its answer back
	KeepInJS    bool   `json:"keepInJS"` // with Transfer: the page's bytes stay in JS (atmo.Transfer, RawResult)
	Task        string `json:"task"`     // payload with KeepInJS: the worker's task, "bytes" when empty (Go workers: bytesJS, bytesRead)
	Shared      bool   `json:"shared"`   // Go modules: one compile on the main thread, posted to every worker
	Run         int    `json:"run"`      // which repetition; makes module URLs unique
	// LoneTaskAwakeUs is Options.LoneTaskAwake, in µs: 0 its default,
	// negative off.
	LoneTaskAwakeUs int `json:"loneTaskAwakeUs"`
}

// figures are what a measurement reports, by name.
type figures map[string]float64

// The workers of each implementation.
const (
	jsScript = "/bench/atmo-worker.js"
	goModule = "/bench/bin/goworker.wasm"
)

var (
	taskNames   = []string{"echo", "fib", "bytes"}
	goTaskNames = append(slices.Clip(taskNames), "bytesJS", "bytesRead") // see examples/bench/goworker
)

// measureTimeout bounds one measurement, so a stuck pool fails the suite
// with a message instead of hanging it.
const measureTimeout = 5 * time.Minute

// bounded is a context canceled after measureTimeout by a JS timer rather
// than a Go one. While a Go timer is pending (a context deadline is one),
// Go's js/wasm runtime arms a JS timeout each time it goes idle and clears
// it each time it wakes: setTimeout and clearTimeout showed in the round
// trip's profile, a cost the raw JS it is compared with does not pay.
func bounded() (context.Context, context.CancelFunc) {
	ctx, cancel := context.WithCancelCause(context.Background())
	var fire js.Func
	fire = js.FuncOf(func(js.Value, []js.Value) any {
		cancel(fmt.Errorf("atmobench: the measurement took more than %v", measureTimeout))
		return nil
	})
	id := js.Global().Call("setTimeout", fire, measureTimeout.Milliseconds())
	return ctx, func() {
		js.Global().Call("clearTimeout", id)
		fire.Release()
		cancel(context.Canceled)
	}
}

// bench is the measurement set up now.
type bench struct {
	spec spec
	tm   *atmo.TaskManager
	wm   *atmo.BrowserWorkerManager
	data []byte   // payload, as Go bytes
	move js.Value // payload kept in JS and moved both ways (JS workers with transfer)
}

var current *bench

func main() {
	api := js.Global().Get("Object").New()
	api.Set("setup", js.FuncOf(func(_ js.Value, args []js.Value) any {
		text := args[0].String()
		return promise(func() (any, error) {
			var s spec
			if err := json.Unmarshal([]byte(text), &s); err != nil {
				return nil, fmt.Errorf("atmobench: bad spec %s: %w", text, err)
			}
			if current != nil {
				current.close()
			}
			b := &bench{spec: s}
			if err := b.setup(); err != nil {
				b.close()
				return nil, err
			}
			current = b
			return nil, nil
		})
	}))
	api.Set("measure", js.FuncOf(func(js.Value, []js.Value) any {
		return promise(func() (any, error) {
			if current == nil {
				return nil, errors.New("atmobench: measure before setup")
			}
			f, err := current.measure()
			if err != nil {
				return nil, err
			}
			out, err := json.Marshal(f)
			return string(out), err
		})
	}))
	api.Set("teardown", js.FuncOf(func(js.Value, []js.Value) any {
		return promise(func() (any, error) {
			if current != nil {
				current.close()
				current = nil
			}
			return nil, nil
		})
	}))
	js.Global().Set("atmoBench", api)
	if ready := js.Global().Get("__atmoBenchReady"); ready.Type() == js.TypeFunction {
		ready.Invoke()
	}
	select {}
}

// promise runs fn in a goroutine (blocking inside a JS callback would
// deadlock the page) and settles a JS Promise with its result.
func promise(fn func() (any, error)) js.Value {
	var executor js.Func
	executor = js.FuncOf(func(_ js.Value, args []js.Value) any {
		resolve, reject := args[0], args[1]
		go func() {
			defer executor.Release()
			v, err := fn()
			if err != nil {
				reject.Invoke(js.Global().Get("Error").New(err.Error()))
				return
			}
			resolve.Invoke(v)
		}()
		return nil
	})
	return js.Global().Get("Promise").New(executor)
}

// config is the worker config of the spec's implementation.
func (b *bench) config(workers, concurrency int) atmo.WorkerConfig {
	c := atmo.WorkerConfig{Tasks: taskNames, Count: workers, Concurrency: concurrency}
	if b.spec.Impl == "atmo-go" {
		// A query unique to the run: every start-up compiles afresh instead
		// of reusing the compile a previous run left in atmo's cache.
		c.Module = fmt.Sprintf("%s?run=%d", goModule, b.spec.Run)
		c.Tasks = goTaskNames
	} else {
		c.Script = jsScript
	}
	return c
}

// start makes the manager and its workers; with ready it waits for them.
func (b *bench) start(ctx context.Context, workers, concurrency int, ready bool) error {
	if b.spec.Impl != "atmo-js" && b.spec.Impl != "atmo-go" {
		return fmt.Errorf("atmobench: unknown implementation %q (want atmo-js or atmo-go)", b.spec.Impl)
	}
	atmo.SetGoModuleOptions(atmo.GoModuleOptions{CompileInWorker: b.spec.Impl == "atmo-go" && !b.spec.Shared && b.spec.Workload == "startup"})
	b.tm = atmo.NewTaskManagerWithOptions(atmo.Options{LoneTaskAwake: time.Duration(b.spec.LoneTaskAwakeUs) * time.Microsecond})
	wm, err := atmo.NewBrowserWorkerManager(b.tm, b.config(workers, concurrency))
	if err != nil {
		return err
	}
	b.wm = wm
	if !ready {
		return nil
	}
	if err := wm.Ready(ctx); err != nil {
		return fmt.Errorf("atmobench: workers did not start: %w", err)
	}
	for _, w := range wm.Workers() {
		if w.Status() == atmo.WorkerClosed {
			return fmt.Errorf("atmobench: worker %s did not start: %s", w.ID(), w.LastError())
		}
	}
	return nil
}

func (b *bench) close() {
	if b.wm != nil {
		b.wm.Close()
	}
	if b.tm != nil {
		b.tm.Close()
	}
}

// echoAll runs n echo tasks at once and waits for all of them.
func (b *bench) echoAll(ctx context.Context, n int) error {
	return b.doAll(ctx, n, "echo", func(i int) any { return map[string]any{"i": float64(i)} })
}

// doAll runs n tasks of name at once and waits for all of them.
func (b *bench) doAll(ctx context.Context, n int, name string, params func(i int) any) error {
	var wg sync.WaitGroup
	errc := make(chan error, 1)
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if _, err := b.tm.Do(ctx, name, params(i)); err != nil {
				select {
				case errc <- err:
				default:
				}
			}
		}()
	}
	wg.Wait()
	select {
	case err := <-errc:
		return err
	default:
		return nil
	}
}

func (b *bench) setup() error {
	ctx, cancel := bounded()
	defer cancel()
	s := b.spec
	switch s.Workload {
	case "roundtrip":
		if err := b.start(ctx, 1, 1, true); err != nil {
			return err
		}
		// As many tasks as the measure, one at a time, as bench.js does for
		// raw and workerpool: until the page's JIT has compiled the hot
		// paths, the first tasks run several times slower.
		for i := 0; i < s.Tasks; i++ {
			if _, err := b.tm.Do(ctx, "echo", map[string]any{"i": float64(i)}); err != nil {
				return err
			}
		}
		return nil
	case "throughput", "main-thread":
		if err := b.start(ctx, s.Workers, s.Concurrency, true); err != nil {
			return err
		}
		return b.echoAll(ctx, 100)
	case "cpu":
		if err := b.start(ctx, s.Workers, max(1, s.Concurrency), true); err != nil {
			return err
		}
		// All at once, as bench.js does: one at a time, each went to the
		// worker that answered last, and the others met the measure cold.
		return b.doAll(ctx, s.Workers*2, "fib", func(int) any { return map[string]any{"n": 15.0} })
	case "payload":
		if err := b.start(ctx, 1, 1, true); err != nil {
			return err
		}
		b.data = make([]byte, s.Size)
		for i := range b.data {
			b.data[i] = 7
		}
		if s.Transfer && s.KeepInJS {
			// The bytes stay in JS: atmo.Transfer moves them to the worker and
			// RawResult takes the answer back as it is, so no copy crosses the
			// page's Go (a Go worker still copies them in and out of its own).
			b.move = js.Global().Get("Uint8Array").New(s.Size)
			b.move.Call("fill", 7)
		}
		for range s.WarmUps {
			if err := b.payloadRound(ctx); err != nil {
				return err
			}
		}
		return nil
	case "startup", "queue":
		return nil // measure starts the workers
	}
	return fmt.Errorf("atmobench: unknown workload %q", s.Workload)
}

func (b *bench) measure() (figures, error) {
	ctx, cancel := bounded()
	defer cancel()
	s := b.spec
	switch s.Workload {
	case "roundtrip":
		t0 := time.Now()
		for i := 0; i < s.Tasks; i++ {
			got, err := b.tm.Do(ctx, "echo", map[string]any{"i": float64(i)})
			if err != nil {
				return nil, err
			}
			if !echoed(got) { // one check a task, as bench.js makes
				return nil, fmt.Errorf("atmobench: echo %d: got %v back", i, got)
			}
		}
		return figures{"us_per_task": us(time.Since(t0)) / float64(s.Tasks), "tasks": float64(s.Tasks)}, nil
	case "throughput", "main-thread":
		t0 := time.Now()
		submit, err := b.flood(ctx, s.Tasks, "echo")
		if err != nil {
			return nil, err
		}
		d := time.Since(t0)
		return figures{
			"tasks_per_s":        float64(s.Tasks) / d.Seconds(),
			"submit_us_per_task": us(submit) / float64(s.Tasks),
			"tasks":              float64(s.Tasks),
		}, nil
	case "cpu":
		t0 := time.Now()
		if _, err := b.flood(ctx, s.Tasks, "fib"); err != nil {
			return nil, err
		}
		return figures{"ms": ms(time.Since(t0)), "tasks": float64(s.Tasks)}, nil
	case "payload":
		t0 := time.Now()
		for i := 0; i < s.Rounds; i++ {
			if err := b.payloadRound(ctx); err != nil {
				return nil, err
			}
		}
		return figures{"ms": ms(time.Since(t0)) / float64(s.Rounds)}, nil
	case "startup":
		t0 := time.Now()
		if err := b.start(ctx, s.Workers, 1, true); err != nil {
			return nil, err
		}
		f := figures{"ms": ms(time.Since(t0))}
		if s.Impl == "atmo-go" {
			f["main_thread_compiles"] = float64(atmo.GoModuleCompiles(b.config(1, 1).Module))
		}
		return f, nil
	case "queue":
		return b.queue(ctx)
	}
	return nil, fmt.Errorf("atmobench: unknown workload %q", s.Workload)
}

// flood adds n tasks at once with callbacks and waits for them all; it
// returns how long adding them took.
func (b *bench) flood(ctx context.Context, n int, name string) (time.Duration, error) {
	all := newAnswers(n)
	all.want = echoed
	if name == "fib" {
		want := fib(float64(b.spec.N))
		all.want = func(v any) bool { f, ok := v.(float64); return ok && f == want }
	}
	t0 := time.Now()
	for i := 0; i < n; i++ {
		params := map[string]any{"i": float64(i)}
		if name == "fib" {
			params = map[string]any{"n": float64(b.spec.N)}
		}
		if _, err := b.tm.AddTask(atmo.TaskParams{Name: name, Params: params, OnSuccess: all.ok, OnError: all.fail}); err != nil {
			return 0, err
		}
	}
	submit := time.Since(t0)
	if err := all.wait(ctx, name); err != nil {
		return 0, err
	}
	return submit, nil
}

// answers counts the answers of n tasks added with its ok and fail as
// callbacks, and keeps the first error.
type answers struct {
	n        int
	left     atomic.Int64
	done     chan struct{}
	firstErr atomic.Value
	want     func(content any) bool // when set, an answer it refuses fails the measurement
}

func newAnswers(n int) *answers {
	a := &answers{n: n, done: make(chan struct{})}
	a.left.Store(int64(n))
	return a
}

func (a *answers) ok(r atmo.Response) {
	if a.want != nil && !a.want(r.Content) {
		a.firstErr.CompareAndSwap(nil, fmt.Sprintf("wrong answer %v", r.Content))
	}
	if a.left.Add(-1) == 0 {
		close(a.done)
	}
}

func (a *answers) fail(r atmo.Response) {
	a.firstErr.CompareAndSwap(nil, r.Error)
	a.ok(r)
}

// wait waits for every answer and reports the first failure.
func (a *answers) wait(ctx context.Context, what string) error {
	select {
	case <-a.done:
	case <-ctx.Done():
		return fmt.Errorf("atmobench: %d of %d %s tasks still unanswered: %w", a.left.Load(), a.n, what, context.Cause(ctx))
	}
	if e := a.firstErr.Load(); e != nil {
		return fmt.Errorf("atmobench: a %s task failed: %v", what, e)
	}
	return nil
}

// payloadRound sends the payload and checks that as many bytes came back.
func (b *bench) payloadRound(ctx context.Context) error {
	if b.move.Truthy() {
		return b.movedRound(ctx)
	}
	res, err := b.tm.Do(ctx, "bytes", map[string]any{"data": b.data, "transfer": b.spec.Transfer})
	if err != nil {
		return err
	}
	m, _ := res.(map[string]any)
	got, _ := m["data"].([]byte)
	if len(got) != len(b.data) {
		return fmt.Errorf("atmobench: bytes: sent %d bytes, got %d back", len(b.data), len(got))
	}
	return nil
}

// movedRound sends the JS payload moved (atmo.Transfer) and takes the answer
// raw (RawResult): the worker moves it back (atmoWorker.transfer in JS; a Go
// worker transfers every []byte it answers).
func (b *bench) movedRound(ctx context.Context) error {
	res := make(chan atmo.Response, 1)
	settle := func(r atmo.Response) { res <- r }
	name := b.spec.Task
	if name == "" {
		name = "bytes"
	}
	_, err := b.tm.AddTask(atmo.TaskParams{Name: name, Params: map[string]any{"data": atmo.Transfer(b.move), "transfer": true},
		RawResult: true, Context: ctx, OnSuccess: settle, OnError: settle})
	if err != nil {
		return err
	}
	r := <-res
	if r.Err != nil {
		return r.Err
	}
	v, _ := r.Content.(js.Value)
	if !v.Truthy() || v.Get("data").Get("byteLength").Int() != b.spec.Size {
		return fmt.Errorf("atmobench: bytes: sent %d bytes moved, got %v back", b.spec.Size, r.Content)
	}
	b.move = v.Get("data")
	return nil
}

// queue adds every task before the workers can start (they only start once
// this goroutine lets the JS event loop run), measures the memory the queue
// holds, then times the drain from the first add to the last answer.
func (b *bench) queue(ctx context.Context) (figures, error) {
	s := b.spec
	goBefore := goHeap()
	jsBefore := jsHeap()
	t0 := time.Now()
	if err := b.start(ctx, s.Workers, s.Concurrency, false); err != nil {
		return nil, err
	}
	all := newAnswers(s.Tasks)
	all.want = echoed
	for i := 0; i < s.Tasks; i++ {
		if _, err := b.tm.AddTask(atmo.TaskParams{Name: "echo", Params: map[string]any{"i": float64(i)}, OnSuccess: all.ok, OnError: all.fail}); err != nil {
			return nil, err
		}
	}
	submit := time.Since(t0)
	queued := b.tm.Stats().Queued
	m0 := time.Now()
	goAfter := goHeap()
	jsAfter := jsHeap()
	measuring := time.Since(m0) // its collections: not the drain's (bench.js takes its own out too)
	if err := all.wait(ctx, "queued"); err != nil {
		return nil, err
	}
	d := time.Since(t0) - measuring
	if queued != s.Tasks {
		return nil, fmt.Errorf("atmobench: %d of %d tasks were queued when the workers started; the workload wants them all queued first", queued, s.Tasks)
	}
	goBytes := float64(max(0, int64(goAfter)-int64(goBefore))) / float64(s.Tasks)
	jsBytes := max(0, jsAfter-jsBefore) / float64(s.Tasks)
	return figures{
		"drain_ms":           ms(d),
		"us_per_task":        us(d) / float64(s.Tasks),
		"submit_us_per_task": us(submit) / float64(s.Tasks),
		"bytes_per_task":     goBytes + jsBytes,
		"go_bytes_per_task":  goBytes,
		"js_bytes_per_task":  jsBytes,
		"tasks":              float64(s.Tasks),
	}, nil
}

// goHeap is the Go heap in use after a collection.
func goHeap() uint64 {
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return m.HeapAlloc
}

// jsHeap is the page's JS heap in use, after a full GC when the page may
// ask for one (host bench starts Chromium with --js-flags=--expose-gc).
func jsHeap() float64 {
	g := js.Global()
	if gc := g.Get("gc"); gc.Type() == js.TypeFunction {
		gc.Invoke()
	}
	mem := g.Get("performance").Get("memory")
	if mem.IsUndefined() {
		return 0
	}
	return mem.Get("usedJSHeapSize").Float()
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }
func us(d time.Duration) float64 { return float64(d) / float64(time.Microsecond) }

// echoed says whether an echo task's answer is its params, {i: a number}.
func echoed(v any) bool {
	m, ok := v.(map[string]any)
	_, isNum := m["i"].(float64)
	return ok && isNum
}

// fib is the workers' fib, to check their answers.
func fib(n float64) float64 {
	if n <= 1 {
		return n
	}
	return fib(n-1) + fib(n-2)
}
