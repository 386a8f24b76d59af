//go:build js && wasm

package atmo_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"sync/atomic"
	"syscall/js"
	"testing"
	"time"

	"github.com/atmoworkers/atmo/wasm/atmo"
	"github.com/atmoworkers/atmo/wasm/atmo/internal/atmotest"
	"github.com/atmoworkers/atmo/wasm/internal/jstest"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// The Go worker modules, built by `make build-wasm` before the browser tests.
const (
	goMathModule   = "bin/wasm/workers/math.wasm"
	goSHA256Module = "bin/wasm/workers/sha256.wasm"
	goTestModule   = "bin/wasm/testdata/testworker.wasm"
	goExitNow      = "bin/wasm/testdata/exitnow.wasm"
	jsMathWorker   = "examples/workers/math-worker.js"
)

var goMathTasks = []string{"add", "subtract", "multiply", "divide", "power", "sqrt", "fibonacci"}

var goTestTasks = []string{"echo", "reverse", "fail", "panic", "exit", "gopanic", "sleep", "progress", "spin", "stubborn", "release", "exit0", "fatal", "moveBytes", "keptLength", "canvas", "passOn", "deepPanic", "moveViews"}

// moduleBytes reads a built module.
func moduleBytes(t testing.TB, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(jstest.Root(), path))
	require.NoError(t, err, "run `make build-wasm` first: it builds the Go worker modules the tests load")
	return b
}

// moduleURL serves a built module from a Blob URL of its own, so each test
// starts with a module no other test has compiled.
func moduleURL(t testing.TB, path string) string {
	t.Helper()
	return jstest.BytesURL(t, moduleBytes(t, path), "application/wasm")
}

func goCtx(t testing.TB) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// goPool starts a TaskManager and a BrowserWorkerManager on configs, waits
// for the workers to start, and closes both when the test ends.
func goPool(t testing.TB, configs ...atmo.WorkerConfig) (*atmo.TaskManager, *atmo.BrowserWorkerManager) {
	t.Helper()
	tm := atmo.NewTaskManager()
	wm, err := atmo.NewBrowserWorkerManager(tm, configs...)
	require.NoError(t, err)
	t.Cleanup(func() { wm.Close(); tm.Close() })
	require.NoError(t, wm.Ready(goCtx(t)))
	return tm, wm
}

// outcome is a task's result or its worker's error message, comparable.
type outcome struct {
	Content any
	Error   string
}

func run(ctx context.Context, tm *atmo.TaskManager, name string, params any) outcome {
	got, err := tm.Do(ctx, name, params)
	if err != nil {
		var te *atmo.TaskError
		if errors.As(err, &te) {
			return outcome{Error: te.Message}
		}
		return outcome{Error: "not a worker's error: " + err.Error()}
	}
	return outcome{Content: got}
}

func TestGoModuleMathWorkerAnswersEveryTaskLikeTheJSMathWorker(t *testing.T) {
	jsTM, _ := goPool(t, atmo.WorkerConfig{Tasks: goMathTasks, Script: jstest.FileURL(t, jsMathWorker)})
	goTM, _ := goPool(t, atmo.WorkerConfig{Tasks: goMathTasks, Module: moduleURL(t, goMathModule)})
	ctx := goCtx(t)
	type ab = map[string]any
	cases := []struct {
		name   string
		params map[string]any
	}{
		{"add", ab{"a": 10, "b": 20}}, {"add", ab{"a": 0.1, "b": 0.2}}, {"add", ab{"a": -5, "b": 2.5}},
		{"subtract", ab{"a": 10, "b": 20}}, {"subtract", ab{"a": 1e308, "b": -1e308}},
		{"multiply", ab{"a": 6, "b": 7}}, {"multiply", ab{"a": -0.5, "b": 3}},
		{"divide", ab{"a": 10, "b": 4}}, {"divide", ab{"a": 1, "b": 3}}, {"divide", ab{"a": 10, "b": 0}},
		{"power", ab{"a": 2, "b": 10}}, {"power", ab{"a": 9, "b": 0.5}}, {"power", ab{"a": -2, "b": 3}},
		{"sqrt", ab{"a": 81}}, {"sqrt", ab{"a": 2}}, {"sqrt", ab{"a": -1}},
		{"fibonacci", ab{"n": 0}}, {"fibonacci", ab{"n": 1}}, {"fibonacci", ab{"n": 20}}, {"fibonacci", ab{"n": -1}},
		// What is no number, or too large a fibonacci, is refused alike.
		{"add", ab{"a": 1}}, {"add", ab{"a": "1", "b": "2"}}, {"sqrt", ab{}}, {"divide", ab{"a": 1}},
		{"multiply", ab{"a": math.NaN(), "b": 1}}, {"power", nil},
		{"fibonacci", ab{"n": "10"}}, {"fibonacci", ab{"n": 2.5}}, {"fibonacci", ab{"n": 60}}, {"fibonacci", ab{}},
		// Powers that are not exact: the JS engine's Math.pow is correctly
		// rounded here, Go's math.Pow is off by several units in the last
		// place; and JS's pow(±1, ±Infinity) is NaN, Go's 1.
		{"power", ab{"a": 1.0411, "b": -22}}, {"power", ab{"a": 1.0137, "b": -23.5}}, {"power", ab{"a": 1.1, "b": 100}},
		{"power", ab{"a": 1, "b": math.Inf(1)}}, {"power", ab{"a": -1, "b": math.Inf(-1)}},
	}
	for _, c := range cases {
		want := run(ctx, jsTM, c.name, c.params)
		got := run(ctx, goTM, c.name, c.params)
		if w, ok := want.Content.(float64); ok && math.IsNaN(w) {
			g, _ := got.Content.(float64)
			assert.True(t, math.IsNaN(g), "%s %v: want NaN, got %v", c.name, c.params, got)
			continue
		}
		assert.Equal(t, want, got, "%s %v", c.name, c.params)
	}
	assert.Equal(t, outcome{Error: "Division by zero is not allowed"}, run(ctx, goTM, "divide", ab{"a": 1, "b": 0}))
	assert.Equal(t, outcome{Error: "params.b must be a number"}, run(ctx, goTM, "add", ab{"a": 1}))
	assert.Equal(t, outcome{Error: "Fibonacci input must be a whole number up to 45 (it is computed the slow way, as a CPU load)"}, run(ctx, jsTM, "fibonacci", ab{"n": 60}))
}

func TestTheGoSHA256ExampleHashesABlobOrBytesAsTheyCameAChunkAtATime(t *testing.T) {
	tm, _ := goPool(t, atmo.WorkerConfig{Tasks: []string{"sha256Stream"}, Module: moduleURL(t, goSHA256Module)})
	data := make([]byte, 3<<20+5) // more than one chunk
	for i := range data {
		data[i] = byte(rand.IntN(256))
	}
	want := sha256.Sum256(data)
	u8 := js.Global().Get("Uint8Array").New(len(data))
	js.CopyBytesToJS(u8, data)
	blob := js.Global().Get("Blob").New([]any{u8})
	file := js.Global().Get("File").New([]any{u8}, "data.bin")
	view := js.Global().Get("DataView").New(u8.Get("buffer"))
	for _, c := range []struct {
		name string
		data any
	}{{"a Blob", blob}, {"a File", file}, {"a DataView", view}, {"a []byte", data}, {"bytes moved, last", atmo.Transfer(u8)}} {
		sum, err := tm.Do(goCtx(t), "sha256Stream", map[string]any{"data": c.data})
		require.NoError(t, err, c.name)
		assert.Equal(t, want[:], sum, c.name)
	}
	_, err := tm.Do(goCtx(t), "sha256Stream", map[string]any{"data": "text"})
	require.ErrorContains(t, err, "params.data is string; give a Blob, a File, a typed array or an ArrayBuffer")
}

func TestGoModuleMixedPoolRunsAThousandTasksOnceEachWithIdenticalResults(t *testing.T) {
	js := atmo.WorkerConfig{Tasks: goMathTasks, Script: jstest.FileURL(t, jsMathWorker)}
	gw := atmo.WorkerConfig{Tasks: goMathTasks, Module: moduleURL(t, goMathModule)}
	tm, wm := goPool(t, js, gw, js, gw)
	const n = 1000
	names := []string{"add", "subtract", "multiply", "divide", "power", "sqrt", "fibonacci"}
	expect := func(i int) outcome {
		a, b := float64(i%97), float64(i%13)
		switch names[i%len(names)] {
		case "add":
			return outcome{Content: a + b}
		case "subtract":
			return outcome{Content: a - b}
		case "multiply":
			return outcome{Content: a * b}
		case "divide":
			if b == 0 {
				return outcome{Error: "Division by zero is not allowed"}
			}
			return outcome{Content: a / b}
		case "power":
			p := 1.0
			for range (i % 13) % 4 {
				p *= a
			}
			return outcome{Content: p}
		case "sqrt":
			return outcome{Content: float64(i % 31)}
		}
		f := []float64{0, 1, 1, 2, 3, 5, 8, 13, 21, 34, 55, 89, 144}
		return outcome{Content: f[i%13]}
	}
	params := func(i int) map[string]any {
		a, b := i%97, i%13
		switch names[i%len(names)] {
		case "power":
			return map[string]any{"a": a, "b": b % 4}
		case "sqrt":
			return map[string]any{"a": (i % 31) * (i % 31)}
		case "fibonacci":
			return map[string]any{"n": i % 13}
		}
		return map[string]any{"a": a, "b": b}
	}
	var calls [n]atomic.Int32
	got := make([]outcome, n)
	byWorker := make([]string, n)
	var wg sync.WaitGroup
	wg.Add(n)
	for i := range n {
		_, err := tm.AddTask(atmo.TaskParams{
			Name: names[i%len(names)], Params: params(i),
			OnSuccess: func(r atmo.Response) {
				if calls[i].Add(1) == 1 {
					got[i], byWorker[i] = outcome{Content: r.Content}, r.WorkerID
					wg.Done()
				}
			},
			OnError: func(r atmo.Response) {
				if calls[i].Add(1) == 1 {
					got[i], byWorker[i] = outcome{Error: r.Error}, r.WorkerID
					wg.Done()
				}
			},
		})
		require.NoError(t, err)
	}
	wg.Wait()
	kinds := map[string]string{}
	for _, w := range wm.Workers() {
		kinds[w.ID()] = w.Kind()
	}
	perKind := map[string]int{}
	for i := range n {
		require.Equal(t, int32(1), calls[i].Load(), "task %d settled once", i)
		require.Equal(t, expect(i), got[i], "task %d (%s %v) on a %s worker", i, names[i%len(names)], params(i), kinds[byWorker[i]])
		perKind[kinds[byWorker[i]]]++
	}
	assert.Greater(t, perKind["js"], 0, "the JS workers ran tasks")
	assert.Greater(t, perKind["go"], 0, "the Go workers ran tasks")
	assert.Equal(t, n, perKind["js"]+perKind["go"])
	s := tm.Status()
	assert.Equal(t, n, s.Done+s.Failed)
	assert.Empty(t, s.Working)
}

func TestGoModuleHandlerPanicFailsThatTaskAndTheWorkerServesTheNext(t *testing.T) {
	tm, wm := goPool(t, atmo.WorkerConfig{Tasks: goTestTasks, Module: moduleURL(t, goTestModule)})
	ctx := goCtx(t)
	_, err := tm.Do(ctx, "panic", nil)
	var te *atmo.TaskError
	require.ErrorAs(t, err, &te)
	assert.Contains(t, te.Message, "handler blew up")
	got, err := tm.Do(ctx, "echo", "still here")
	require.NoError(t, err)
	assert.Equal(t, "still here", got)
	assert.Equal(t, atmo.WorkerAvailable, wm.Workers()[0].Status())
}

func TestGoModuleCompileNoWorkerWaitsForAnyMoreIsGivenUp(t *testing.T) {
	// The page's compile workers, counted, each running a download that
	// never ends, as one from a server that takes the request and never
	// answers does.
	orig := js.Global().Get("Worker")
	count := js.Global().Get("Object").New()
	count.Set("started", 0)
	count.Set("ended", 0)
	js.Global().Set("Worker", js.Global().Get("Function").New("Orig", "count", `
const hung = URL.createObjectURL(new Blob(['self.onmessage = () => {};'], { type: 'text/javascript' }));
return class extends Orig {
  constructor(script, options) {
    const compiles = ((options && options.name) || '').startsWith('atmo: compiling ');
    super(compiles ? hung : script, options);
    this.compiles = compiles;
    if (compiles) count.started++;
  }
  terminate() {
    if (this.compiles) count.ended++;
    return super.terminate();
  }
};`).Invoke(orig, count))
	t.Cleanup(func() { js.Global().Set("Worker", orig) })

	tm := atmo.NewTaskManager()
	wm, err := atmo.NewBrowserWorkerManager(tm, atmo.WorkerConfig{Tasks: []string{"add"}, Module: "/never/answers.wasm",
		StartTimeout: 300 * time.Millisecond, Restart: atmo.RestartPolicy{MaxBootFailures: 3, Backoff: time.Millisecond}})
	require.NoError(t, err)
	err = wm.Ready(goCtx(t))
	require.ErrorIs(t, err, atmo.ErrWorkerStart)
	assert.Contains(t, err.Error(), "was still being fetched and compiled after 300ms (StartTimeout)")
	assert.Equal(t, 3, count.Get("started").Int(), "each start tried afresh")
	assert.Eventually(t, func() bool { return count.Get("ended").Int() == 3 }, 5*time.Second, time.Millisecond,
		"and the compile it gave up on ended: its thread, and its download")
	wm.Close()
	tm.Close()
}

func TestGoModuleValuesCrossAsEncodingJSONHasThem(t *testing.T) {
	tasks := []string{"namedBytes", "ipKeys", "ipField", "int64", "inexact", "nilSlices"}
	tm, _ := goPool(t, atmo.WorkerConfig{Tasks: tasks, Module: moduleURL(t, goTestModule)})
	ctx := goCtx(t)
	assert.Equal(t, outcome{Content: 3.0}, run(ctx, tm, "namedBytes", map[string]any{"data": []byte{1, 2, 3}}),
		"bytes into a slice of a named byte type")
	assert.Equal(t, outcome{Content: []any{"10.0.0.1", "10.0.0.2"}}, run(ctx, tm, "ipKeys", map[string]any{"10.0.0.2": 2, "10.0.0.1": 1}),
		"map keys of a type that reads itself from text")
	assert.Equal(t, outcome{Error: `bad params for task "ipField": params.ip is an object, want a string for netip.Addr (it reads itself from text)`},
		run(ctx, tm, "ipField", map[string]any{"ip": map[string]any{"addr": "10.0.0.1"}}), "not the zero netip.Addr")
	assert.Equal(t, outcome{Content: float64(1 << 60)}, run(ctx, tm, "int64", int64(1<<60)), "an integer a JS number holds exactly")
	_, err := tm.Do(ctx, "int64", int64(1<<53+1))
	require.ErrorIs(t, err, atmo.ErrBadParams, "refused before it is sent, not rounded")
	assert.Contains(t, err.Error(), "params is 9007199254740993, which a JS number cannot hold exactly")
	assert.Contains(t, run(ctx, tm, "inexact", nil).Error, "is 9007199254740993, which a JS number cannot hold exactly",
		"a worker's answer is held to the same rule")
	assert.Equal(t, outcome{Content: map[string]any{"b": nil, "n": nil, "a": nil, "o": nil, "e": []any{}}}, run(ctx, tm, "nilSlices", nil),
		"nil slices and maps as null, an empty one as []")
}

func TestGoModuleHandlerErrorReachesDoAsTaskError(t *testing.T) {
	tm, _ := goPool(t, atmo.WorkerConfig{Tasks: goTestTasks, Module: moduleURL(t, goTestModule)})
	_, err := tm.Do(goCtx(t), "fail", map[string]any{"message": "no can do"})
	var te *atmo.TaskError
	require.ErrorAs(t, err, &te)
	assert.Equal(t, "no can do", te.Message)
}

func TestGoModuleConfiguredWithATaskItDoesNotHandleFailsToStartNamingIt(t *testing.T) {
	url := moduleURL(t, goMathModule)
	tm := atmo.NewTaskManager()
	wm, err := atmo.NewBrowserWorkerManager(tm, atmo.WorkerConfig{Tasks: []string{"add", "modulo"}, Module: url})
	require.NoError(t, err)
	t.Cleanup(func() { wm.Close(); tm.Close() })
	err = wm.Ready(goCtx(t))
	require.Error(t, err)
	assert.Contains(t, err.Error(), "its WorkerConfig.Tasks lists modulo, which "+url+
		" does not handle (it handles: add, divide, fibonacci, multiply, power, sqrt, subtract): list only its tasks in Tasks, or add handlers for them")
}

func TestGoModuleThatRegisteredNoHandlerFailsToStartSayingSo(t *testing.T) {
	// A Go worker that calls worker.Run() with no handler registered serves
	// nothing. atmo-worker.js refuses an empty handlers object at once
	// ("handlers has no functions: give an object of task name → function");
	// the Go worker answered worker-ready with no tasks, which the host
	// reported as "(it handles: ): list only its tasks in Tasks".
	url := moduleURL(t, "bin/wasm/testdata/nohandlers.wasm")
	tm := atmo.NewTaskManager()
	wm, err := atmo.NewBrowserWorkerManager(tm, atmo.WorkerConfig{Tasks: []string{"add"}, Module: url})
	require.NoError(t, err)
	t.Cleanup(func() { wm.Close(); tm.Close() })
	err = wm.Ready(goCtx(t))
	require.Error(t, err)
	assert.NotContains(t, err.Error(), "(it handles: )")
	assert.Contains(t, err.Error(), "worker.Run: no handler registered: call worker.Handle, HandleTyped or HandleJS for each task before worker.Run")
}

func TestGoModuleBytesRoundTrip(t *testing.T) {
	tm, _ := goPool(t,
		atmo.WorkerConfig{Tasks: goTestTasks, Module: moduleURL(t, goTestModule)},
		atmo.WorkerConfig{Tasks: []string{"sha256"}, Module: moduleURL(t, goSHA256Module)},
	)
	ctx := goCtx(t)
	for _, size := range []int{0, 1, 1000, 1 << 20} {
		data := make([]byte, size)
		for i := range data {
			data[i] = byte(rand.IntN(256))
		}
		got, err := tm.Do(ctx, "reverse", data)
		require.NoError(t, err, "size %d", size)
		want := slices.Clone(data)
		slices.Reverse(want)
		assert.Equal(t, want, got, "size %d", size)

		sum, err := tm.Do(ctx, "sha256", map[string]any{"data": data})
		require.NoError(t, err)
		digest := sha256.Sum256(data)
		assert.Equal(t, digest[:], sum, "sha256 of %d bytes", size)
	}
	nested := map[string]any{"blob": []byte{1, 2, 3}, "list": []any{[]byte{4}, "x", 1.5, true, nil}}
	got, err := tm.Do(ctx, "echo", nested)
	require.NoError(t, err)
	assert.Equal(t, nested, got)

	sum, err := tm.Do(ctx, "sha256", map[string]any{"data": []byte("abc"), "rounds": 1000})
	require.NoError(t, err)
	digest := sha256.Sum256([]byte("abc"))
	for range 999 {
		digest = sha256.Sum256(digest[:])
	}
	assert.Equal(t, digest[:], sum)

	// Text is hashed as its UTF-8 bytes, even text that reads as base64.
	for _, text := range []string{"abcd", "héllo", ""} {
		sum, err := tm.Do(ctx, "sha256", map[string]any{"data": text})
		require.NoError(t, err, "%q", text)
		digest := sha256.Sum256([]byte(text))
		assert.Equal(t, digest[:], sum, "sha256 of the text %q", text)
	}
	for data, says := range map[any]string{nil: "params.data is missing", 5.0: "params.data is a number; send the bytes to hash"} {
		_, err := tm.Do(ctx, "sha256", map[string]any{"data": data})
		assert.ErrorContains(t, err, says)
	}
}

func TestGoModuleManyLargeBytesInFlightEachComeBackAsSent(t *testing.T) {
	// Tasks in flight together travel in batches that carry several large
	// byte arrays at once, both ways, and both threads reuse the buffers of
	// bytes they received for the bytes they send next (codec.recycle): each
	// answer must still hold exactly its own task's bytes, sizes mixed.
	tm, _ := goPool(t, atmo.WorkerConfig{Tasks: goTestTasks, Module: moduleURL(t, goTestModule), Concurrency: 8})
	ctx := goCtx(t)
	sizes := []int{64 << 10, 1 << 20, 64 << 10, 5 << 20}
	for round := range 3 {
		var wg sync.WaitGroup
		errs := make([]error, 16)
		for i := range errs {
			wg.Add(1)
			go func() {
				defer wg.Done()
				data := make([]byte, sizes[i%len(sizes)])
				for j := range data {
					data[j] = byte(i*7 + j + round)
				}
				got, err := tm.Do(ctx, "reverse", data)
				if err != nil {
					errs[i] = err
					return
				}
				slices.Reverse(data)
				if b, _ := got.([]byte); !bytes.Equal(b, data) {
					errs[i] = fmt.Errorf("task %d of round %d: %d bytes came back different", i, round, len(data))
				}
			}()
		}
		wg.Wait()
		for _, err := range errs {
			require.NoError(t, err)
		}
	}
}

// The page compiles a module in a short-lived worker of its own, named
// "atmo: compiling " and the URL, or, where the page forbids such workers,
// downloads it itself with XMLHttpRequest. wasmbrowsertest serves nothing
// but the test, so these wrap what the page uses: stubDownload makes the
// page's download of url end with an empty answer of status (the compile
// worker's download of a missing module is tested against the host
// server); forbidCompileWorkers makes new Worker throw for compile workers,
// as a Content-Security-Policy without blob: workers does; countDownloads
// counts the downloads of url, the compile workers' and the page's.
func stubDownload(t *testing.T, url string, status int, statusText string) {
	wrapXHR(t, url, `send(body) {
    if (!this.matches) return super.send(body);
    for (const [k, v] of [['status', status], ['statusText', text], ['response', null]]) Object.defineProperty(this, k, { value: v });
    setTimeout(() => this.onload && this.onload());
  }`, status, statusText)
}

func countDownloads(t *testing.T, url string) (inWorker, onPage func() int) {
	xhrs := wrapXHR(t, url, `send(body) {
    if (this.matches) counter.n++;
    return super.send(body);
  }`, 0, "")
	workers := wrapCompileWorkers(t, url, false)
	return func() int { return workers.Get("n").Int() }, func() int { return xhrs.Get("n").Int() }
}

// compileModes are the three places a Go module can be compiled: in a
// worker of its own for every worker (the default), on the page (when that
// worker cannot start: a page that forbids blob: workers), or in each
// worker (GoModuleOptions.CompileInWorker).
var compileModes = []string{"compiled in a worker", "compiled on the page", "in each worker"}

// compileIn makes the Go modules of test t compile as mode says.
func compileIn(t *testing.T, mode string) {
	switch mode {
	case "compiled on the page":
		forbidCompileWorkers(t)
	case "in each worker":
		atmo.SetGoModuleOptions(atmo.GoModuleOptions{CompileInWorker: true})
		t.Cleanup(func() { atmo.SetGoModuleOptions(atmo.GoModuleOptions{}) })
	}
}

func forbidCompileWorkers(t *testing.T) {
	wrapCompileWorkers(t, "", true)
}

// wrapCompileWorkers replaces Worker, until the test ends, by a subclass
// that counts the compile workers of url (any url if "") and, with forbid,
// throws instead of starting them.
func wrapCompileWorkers(t *testing.T, url string, forbid bool) js.Value {
	orig := js.Global().Get("Worker")
	counter := js.Global().Get("Object").New()
	counter.Set("n", 0)
	sub := js.Global().Get("Function").New("Orig", "url", "forbid", "counter", `
return class extends Orig {
  constructor(script, options) {
    const name = (options && options.name) || '';
    if (name.startsWith('atmo: compiling ') && (url === '' || name === 'atmo: compiling ' + url)) {
      if (forbid) throw new DOMException('the page forbids blob: workers (a test)', 'SecurityError');
      counter.n++;
    }
    super(script, options);
  }
};`).Invoke(orig, url, forbid, counter)
	js.Global().Set("Worker", sub)
	t.Cleanup(func() { js.Global().Set("Worker", orig) })
	return counter
}

// wrapXHR replaces XMLHttpRequest, until the test ends, by a subclass with
// method (which sees this.matches for requests of url).
func wrapXHR(t *testing.T, url, method string, status int, statusText string) js.Value {
	orig := js.Global().Get("XMLHttpRequest")
	counter := js.Global().Get("Object").New()
	counter.Set("n", 0)
	sub := js.Global().Get("Function").New("Orig", "url", "status", "text", "counter", `
return class extends Orig {
  open(m, u, ...rest) { this.matches = u === url; return super.open(m, u, ...rest); }
  `+method+`
};`).Invoke(orig, url, status, statusText, counter)
	js.Global().Set("XMLHttpRequest", sub)
	t.Cleanup(func() { js.Global().Set("XMLHttpRequest", orig) })
	return counter
}

func TestGoModuleBrokenModulesCloseTheirWorkerWithAClearError(t *testing.T) {
	cases := []struct {
		name        string
		url         func(t *testing.T) string
		want        string
		inWorkerToo bool // also run where the page does not download it itself
	}{
		{"not wasm", func(t *testing.T) string {
			return jstest.BytesURL(t, []byte("<html>not wasm</html>"), "text/html")
		}, "compiling", true},
		{"not wasm, served as wasm", func(t *testing.T) string {
			return jstest.BytesURL(t, []byte("not wasm at all"), "application/wasm")
		}, "compiling", true},
		{"empty body", func(t *testing.T) string {
			return jstest.BytesURL(t, nil, "application/octet-stream")
		}, "the response is empty", true},
		{"unreachable", func(t *testing.T) string { return jstest.RevokedURL(t) }, "fetching", true},
		{"404", func(t *testing.T) string {
			url := "/no/such/module.wasm"
			stubDownload(t, url, 404, "Not Found")
			return url
		}, "fetching /no/such/module.wasm: 404 Not Found", false}, // on the page only: see stubDownload
		{"exits at once", func(t *testing.T) string { return moduleURL(t, goExitNow) },
			"Go runtime exited with code 0: main returned", true},
	}
	for _, mode := range compileModes {
		for _, c := range cases {
			if mode != "compiled on the page" && !c.inWorkerToo {
				continue
			}
			t.Run(mode+"/"+c.name, func(t *testing.T) {
				compileIn(t, mode)
				url := c.url(t)
				tm := atmo.NewTaskManager()
				defer tm.Close()
				wm, err := atmo.NewBrowserWorkerManager(tm, atmo.WorkerConfig{Tasks: []string{"add"}, Module: url, StartTimeout: 20 * time.Second})
				require.NoError(t, err)
				defer wm.Close()
				done := make(chan error, 1)
				go func() { _, err := tm.Do(goCtx(t), "add", map[string]any{"a": 1, "b": 2}); done <- err }()
				err = wm.Ready(goCtx(t))
				require.ErrorIs(t, err, atmo.ErrWorkerStart)
				w := wm.Workers()[0]
				assert.Equal(t, atmo.WorkerClosed, w.Status())
				t.Logf("LastError: %s", w.LastError())
				assert.Contains(t, w.LastError(), c.want)
				assert.NotContains(t, w.LastError(), "did not answer init-worker", "failed for its reason, not by timing out")
				taskErr := <-done
				require.ErrorIs(t, taskErr, atmo.ErrNoWorker)
				assert.Contains(t, taskErr.Error(), c.want)
			})
		}
	}
}

func TestGoModuleRuntimeExitMidTaskFailsThatTaskWithAClearError(t *testing.T) {
	cases := map[string]string{
		"exit":    "Go runtime exited with code 3",
		"exit0":   "Go runtime exited with code 0: the program called os.Exit(0) while serving tasks",
		"gopanic": "Go runtime exited with code 2: panic: boom in a goroutine",
		// A stack trace longer than what the bootstrap keeps of stderr.
		"deepPanic": "Go runtime exited with code 2: panic: boom at the bottom of a deep recursion",
		// log.Fatal: its line on stderr, after the log's timestamp.
		"fatal": "cannot open the database: connection refused",
	}
	for task, want := range cases {
		t.Run(task, func(t *testing.T) {
			tm, wm := goPool(t, atmo.WorkerConfig{Tasks: goTestTasks, Module: moduleURL(t, goTestModule)})
			ctx := goCtx(t)
			_, err := tm.Do(ctx, task, nil)
			require.ErrorIs(t, err, atmo.ErrWorkerCrashed)
			assert.NotErrorIs(t, err, context.DeadlineExceeded)
			t.Logf("Do: %v", err)
			assert.Contains(t, err.Error(), want)
			assert.Contains(t, wm.Workers()[0].LastError(), want)
			got, err := tm.Do(ctx, "echo", "restarted")
			require.NoError(t, err, "the worker restarts with a fresh Go runtime")
			assert.Equal(t, "restarted", got)
		})
	}
}

func TestGoModuleExitRightAfterARecoveredPanicDoesNotBlameThePanicsStack(t *testing.T) {
	tm, _ := goPool(t, atmo.WorkerConfig{Tasks: goTestTasks, Module: moduleURL(t, goTestModule)})
	ctx := goCtx(t)
	_, err := tm.Do(ctx, "panic", nil)
	require.ErrorContains(t, err, "handler blew up")
	_, err = tm.Do(ctx, "exit", nil)
	require.ErrorIs(t, err, atmo.ErrWorkerCrashed)
	assert.ErrorContains(t, err, "Go runtime exited with code 3")
	assert.NotContains(t, err.Error(), "its last line on stderr", "the stack of a recovered panic is not why os.Exit(3) ended the program")
}

func TestGoModuleCanceledTaskLeavesTheWorkerServing(t *testing.T) {
	tm, _ := goPool(t, atmo.WorkerConfig{Tasks: goTestTasks, Module: moduleURL(t, goTestModule)})
	ctx, cancel := context.WithTimeout(goCtx(t), 100*time.Millisecond)
	defer cancel()
	_, err := tm.Do(ctx, "sleep", map[string]any{"ms": 60_000})
	require.Error(t, err)
	got, err := tm.Do(goCtx(t), "echo", 42)
	require.NoError(t, err)
	assert.Equal(t, 42.0, got)
}

func TestGoModuleHandlerThatComputesSeesItsCancelWhenItYields(t *testing.T) {
	// A Go worker hears worker-cancel only once its goroutines all wait: a
	// loop that computes sees it at worker.Yield, and the worker is not
	// terminated for ignoring it.
	tm, _ := goPool(t, atmo.WorkerConfig{Tasks: goTestTasks, Module: moduleURL(t, goTestModule), CancelGrace: 30 * time.Second})
	task, err := tm.AddTask(atmo.TaskParams{Name: "spin"})
	require.NoError(t, err)
	require.Eventually(t, func() bool { return task.Status() == atmo.TaskWorking }, 10*time.Second, time.Millisecond)
	time.Sleep(50 * time.Millisecond)
	task.Cancel()
	require.Eventually(t, func() bool { return tm.Stats().Workers[0].InFlight == 0 }, 10*time.Second, 5*time.Millisecond,
		"the handler returned at its next Yield, well within the 30 s grace")
	assert.Equal(t, 0, tm.Stats().Workers[0].Restarts, "not terminated")
	got, err := tm.Do(goCtx(t), "echo", 42)
	require.NoError(t, err)
	assert.Equal(t, 42.0, got)
}

func TestGoModuleHandlerThatOnlyReportsProgressSeesItsCancel(t *testing.T) {
	// A loop that computes and calls worker.Progress after each step, but
	// never waits nor calls Yield: Progress lets the event loop in now and
	// then, so the cancel reaches ctx and the worker is not terminated
	// past its CancelGrace.
	tm, _ := goPool(t, atmo.WorkerConfig{Tasks: []string{"progressSpin", "echo"}, Module: moduleURL(t, goTestModule), CancelGrace: 3 * time.Second})
	atmotest.CancelReachesAProgressLoop(goCtx(t), t, tm)
}

func TestGoModuleProgressFromAJSCallbackNeverWaitsForTheEventLoop(t *testing.T) {
	// Progress lets the event loop run when it has not for a while, but
	// not from a js.FuncOf callback, which the event loop waits for: a wait
	// there would never end.
	tm, _ := goPool(t, atmo.WorkerConfig{Tasks: []string{"progressInCallback"}, Module: moduleURL(t, goTestModule)})
	reports := make(chan atmo.Progress, 2)
	res := make(chan atmo.Response, 1)
	_, err := tm.AddTask(atmo.TaskParams{Name: "progressInCallback", OnProgress: func(p atmo.Progress) { reports <- p },
		OnSuccess: func(r atmo.Response) { res <- r }, OnError: func(r atmo.Response) { res <- r }})
	require.NoError(t, err)
	select {
	case r := <-res:
		require.NoError(t, r.Err)
		assert.Equal(t, []any{"ok", "ok"}, r.Content)
	case <-time.After(20 * time.Second):
		t.Fatal("no answer")
	}
	assert.Len(t, reports, 2)
	assert.Zero(t, tm.Stats().Restarted)
}

func TestAGoHandlerThatIgnoresItsCancelHoldsItsSlotUntilItReturns(t *testing.T) {
	tm, _ := goPool(t, atmo.WorkerConfig{Tasks: goTestTasks, Module: moduleURL(t, goTestModule), Concurrency: 2, CancelGrace: time.Minute})
	holdsItsSlotAfterCancel(t, tm)
}

func TestGoModuleIsFetchedAndCompiledOnceForManyWorkers(t *testing.T) {
	url := moduleURL(t, goMathModule)
	inWorker, onPage := countDownloads(t, url)
	fetches := func() int { return inWorker() + onPage() }
	cfg := atmo.WorkerConfig{Tasks: goMathTasks, Module: url}
	tm, wm := goPool(t, cfg, cfg, cfg, cfg)
	assert.Equal(t, 1, atmo.GoModuleCompiles(url))
	assert.Equal(t, 1, inWorker(), "fetched and compiled in a worker of its own, off the page's thread")
	assert.Equal(t, 0, onPage())
	w, err := wm.AddWorker(cfg)
	require.NoError(t, err)
	require.NoError(t, wm.Ready(goCtx(t)))
	assert.Equal(t, atmo.WorkerAvailable, w.Status())
	assert.Equal(t, 1, atmo.GoModuleCompiles(url), "a worker added while others run the module shares their compile")
	for i := range 20 {
		got, err := tm.Do(goCtx(t), "add", map[string]any{"a": i, "b": 1})
		require.NoError(t, err)
		assert.Equal(t, float64(i+1), got)
	}
	for _, w := range wm.Workers() {
		assert.Equal(t, atmo.WorkerAvailable, w.Status(), w.ID())
	}
	assert.Equal(t, 1, fetches())
}

func TestGoModuleIsCompiledOnThePageWhereThePageForbidsACompileWorker(t *testing.T) {
	url := moduleURL(t, goMathModule)
	forbidCompileWorkers(t)
	_, onPage := countDownloads(t, url)
	cfg := atmo.WorkerConfig{Tasks: goMathTasks, Module: url}
	tm, _ := goPool(t, cfg, cfg)
	assert.Equal(t, 1, atmo.GoModuleCompiles(url))
	assert.Equal(t, 1, onPage(), "downloaded once, by the page")
	for i := range 4 {
		got, err := tm.Do(goCtx(t), "add", map[string]any{"a": i, "b": 1})
		require.NoError(t, err)
		assert.Equal(t, float64(i+1), got)
	}
}

func TestGoModuleWhoseDownloadNeverEndsFailsTheStartSayingSoAndIsFetchedAfreshNextTime(t *testing.T) {
	url := "/a/server/that/never/answers.wasm"
	forbidCompileWorkers(t) // the page's own download, which the test can hold
	wrapXHR(t, url, `send(body) {
    if (!this.matches) return super.send(body);
  }`, 0, "")
	tm := atmo.NewTaskManager()
	defer tm.Close()
	wm, err := atmo.NewBrowserWorkerManager(tm, atmo.WorkerConfig{Tasks: []string{"add"}, Module: url,
		StartTimeout: 300 * time.Millisecond, Restart: atmo.RestartPolicy{MaxBootFailures: 2, Backoff: time.Millisecond}})
	require.NoError(t, err)
	defer wm.Close()
	err = wm.Ready(goCtx(t))
	require.ErrorIs(t, err, atmo.ErrWorkerStart)
	w := wm.Workers()[0]
	t.Logf("LastError: %s", w.LastError())
	assert.Contains(t, w.LastError(), "its Go module "+url+" was still being fetched and compiled after 300ms (StartTimeout): check that the server answers for it")
	assert.NotContains(t, w.LastError(), "init-worker", "it names what it waited on")
	assert.Equal(t, 2, atmo.GoModuleCompiles(url), "the restart fetched it afresh instead of waiting on the hung download")
	assert.False(t, atmo.GoModuleCached(url))
}

func TestGoModuleRestartedWorkerReusesTheCompiledModule(t *testing.T) {
	url := moduleURL(t, goMathModule)
	tm, wm := goPool(t, atmo.WorkerConfig{Tasks: goMathTasks, Module: url})
	w := wm.Workers()[0]
	w.Terminate()
	require.Eventually(t, func() bool { return w.Status() == atmo.WorkerAvailable }, 20*time.Second, 10*time.Millisecond, "the worker restarts")
	got, err := tm.Do(goCtx(t), "add", map[string]any{"a": 1, "b": 1})
	require.NoError(t, err)
	assert.Equal(t, 2.0, got)
	assert.Equal(t, 1, atmo.GoModuleCompiles(url))
}

func TestGoModuleUnusedForItsLingerIsLetGoAndCompiledAgainByTheNextWorker(t *testing.T) {
	t.Cleanup(atmo.SetModuleLinger(50 * time.Millisecond))
	url := moduleURL(t, goMathModule)
	cfg := atmo.WorkerConfig{Tasks: goMathTasks, Module: url}
	tm := atmo.NewTaskManager()
	t.Cleanup(func() { tm.Close() })
	wm, err := atmo.NewBrowserWorkerManager(tm, cfg)
	require.NoError(t, err)
	require.NoError(t, wm.Ready(goCtx(t)))
	require.True(t, atmo.GoModuleCached(url))
	wm.Close()
	require.Eventually(t, func() bool { return !atmo.GoModuleCached(url) }, 10*time.Second, 10*time.Millisecond,
		"the last worker closed: the module is let go once its linger is over")
	tm2, _ := goPool(t, cfg)
	got, err := tm2.Do(goCtx(t), "add", map[string]any{"a": 1, "b": 1})
	require.NoError(t, err)
	assert.Equal(t, 2.0, got)
	assert.Equal(t, 2, atmo.GoModuleCompiles(url), "the next worker compiles it again")
}

func TestGoModuleLingerNeverCallsIntoAGoProgramThatHasExited(t *testing.T) {
	// A program may close its Go workers and return before the module's
	// linger is over. When the timer fires, nobody is left in Go: calling
	// in would only throw "Go program has already exited", uncaught.
	t.Cleanup(atmo.SetModuleLinger(50 * time.Millisecond))
	url := moduleURL(t, goMathModule)
	tm := atmo.NewTaskManager()
	t.Cleanup(func() { tm.Close() })
	wm, err := atmo.NewBrowserWorkerManager(tm, atmo.WorkerConfig{Tasks: goMathTasks, Module: url})
	require.NoError(t, err)
	require.NoError(t, wm.Ready(goCtx(t)))
	wm.Close() // the linger starts
	restore := pretendGoExited(t)
	time.Sleep(300 * time.Millisecond)
	restore()
	assert.True(t, atmo.GoModuleCached(url), "the linger's timer did not call into the exited program")
}

func TestGoModuleCompileThatSettlesAfterTheGoProgramExitedIsDropped(t *testing.T) {
	// A program may return while a Go worker's module is still compiling.
	// The compile's outcome must not call into the gone program.
	url := jstest.BlobURL(t, "not a wasm module") // its compile fails
	tm := atmo.NewTaskManager()
	t.Cleanup(func() { tm.Close() })
	wm, err := atmo.NewBrowserWorkerManager(tm, atmo.WorkerConfig{Tasks: []string{"add"}, Module: url})
	require.NoError(t, err)
	t.Cleanup(func() { wm.Close() })
	restore := pretendGoExited(t) // before the compile can settle: Go has not yielded
	time.Sleep(time.Second)
	restore()
	assert.True(t, atmo.GoModuleCached(url), "the failed compile was not handed to the exited program, which would forget it")
}

func TestGoModuleCompileInWorkerStartsWorkersWithoutTheMainThreadCompiling(t *testing.T) {
	atmo.SetGoModuleOptions(atmo.GoModuleOptions{CompileInWorker: true})
	t.Cleanup(func() { atmo.SetGoModuleOptions(atmo.GoModuleOptions{}) })
	url := moduleURL(t, goMathModule)
	cfg := atmo.WorkerConfig{Tasks: goMathTasks, Module: url}
	tm, _ := goPool(t, cfg, cfg)
	got, err := tm.Do(goCtx(t), "multiply", map[string]any{"a": 6, "b": 7})
	require.NoError(t, err)
	assert.Equal(t, 42.0, got)
	assert.Equal(t, 0, atmo.GoModuleCompiles(url))
}

func TestGoModuleWrongWasmExecURLFailsTheStartWithAClearError(t *testing.T) {
	atmo.SetGoModuleOptions(atmo.GoModuleOptions{WasmExec: jstest.RevokedURL(t)})
	t.Cleanup(func() { atmo.SetGoModuleOptions(atmo.GoModuleOptions{}) })
	tm := atmo.NewTaskManager()
	defer tm.Close()
	wm, err := atmo.NewBrowserWorkerManager(tm, atmo.WorkerConfig{Tasks: goMathTasks, Module: moduleURL(t, goMathModule)})
	require.NoError(t, err)
	defer wm.Close()
	require.ErrorIs(t, wm.Ready(goCtx(t)), atmo.ErrWorkerStart)
	assert.Contains(t, wm.Workers()[0].LastError(), "loading wasm_exec.js from blob:")
	// The page loaded its own wasm_exec.js from wherever its <script> said;
	// the error says where a Go worker's comes from, and how to change it.
	assert.Contains(t, wm.Workers()[0].LastError(), "serve there the wasm_exec.js of the Go that built the module, or give its URL with GoModuleOptions.WasmExec")
}

func TestGoModuleGivenAURLThatDoesNotParseFailsItsStartNamingIt(t *testing.T) {
	// A port typo: new URL throws. It fails the start, before any thread is
	// made, instead of a panic under the manager's lock.
	const bad = "http://localhost:80800/"
	for name, c := range map[string]struct {
		opts   atmo.GoModuleOptions
		module string
		named  string
	}{
		"wasmExec":                   {atmo.GoModuleOptions{WasmExec: bad + "wasm_exec.js"}, "", "GoModuleOptions.WasmExec \"" + bad + "wasm_exec.js\" is not a URL"},
		"module":                     {atmo.GoModuleOptions{}, bad + "x.wasm", "the Go module \"" + bad + "x.wasm\" is not a URL"},
		"module, compiled by worker": {atmo.GoModuleOptions{CompileInWorker: true}, bad + "x.wasm", "the Go module \"" + bad + "x.wasm\" is not a URL"},
	} {
		t.Run(name, func(t *testing.T) {
			atmo.SetGoModuleOptions(c.opts)
			t.Cleanup(func() { atmo.SetGoModuleOptions(atmo.GoModuleOptions{}) })
			module := c.module
			if module == "" {
				module = moduleURL(t, goMathModule)
			}
			tm := atmo.NewTaskManager()
			defer tm.Close()
			var wm *atmo.BrowserWorkerManager
			var err error
			require.NotPanics(t, func() {
				wm, err = atmo.NewBrowserWorkerManager(tm, atmo.WorkerConfig{Tasks: goMathTasks, Module: module, Restart: atmo.RestartPolicy{MaxBootFailures: 1}})
			})
			require.NoError(t, err)
			defer wm.Close()
			require.ErrorIs(t, wm.Ready(goCtx(t)), atmo.ErrWorkerStart)
			assert.Contains(t, wm.Workers()[0].LastError(), c.named)
		})
	}
}

func TestGoModuleRelativeURLIsFetchedAgainstThePagesBaseURL(t *testing.T) {
	// A page with <base href>: a relative Module resolves against it, as
	// new Worker, fetch and XMLHttpRequest resolve a URL, and as the page
	// checked it (pageURL). The compile worker is told the URL it fetches.
	doc := js.Global().Get("document")
	base := doc.Call("createElement", "base")
	base.Set("href", "/sub/dir/")
	doc.Get("head").Call("prepend", base)
	t.Cleanup(func() { base.Call("remove") })
	fetched := js.Global().Get("Array").New()
	orig := js.Global().Get("Worker")
	js.Global().Set("Worker", js.Global().Get("Function").New("Orig", "fetched", `
return class extends Orig {
  constructor(script, options) {
    super(script, options);
    if (((options && options.name) || '').startsWith('atmo: compiling ')) {
      const post = this.postMessage.bind(this);
      this.postMessage = (m, ...rest) => { fetched.push(m.url); return post(m, ...rest); };
    }
  }
};`).Invoke(orig, fetched))
	t.Cleanup(func() { js.Global().Set("Worker", orig) })

	tm := atmo.NewTaskManager()
	defer tm.Close()
	wm, err := atmo.NewBrowserWorkerManager(tm, atmo.WorkerConfig{Tasks: goMathTasks, Module: "mod/math.wasm", Restart: atmo.RestartPolicy{MaxBootFailures: 1}})
	require.NoError(t, err)
	defer wm.Close()
	_ = wm.Ready(goCtx(t)) // the test server answers every path with an empty page
	require.Equal(t, 1, fetched.Length())
	origin := js.Global().Get("location").Get("origin").String()
	assert.Equal(t, origin+"/sub/dir/mod/math.wasm", fetched.Index(0).String())
}

// BenchmarkGoModuleStartup reports how long Go module workers take from
// NewBrowserWorkerManager to Ready, for 1 and 4 workers, with the module
// compiled once on the main thread and shared ("shared") or compiled by
// each worker ("each compiles"). Each round uses a fresh URL, so every round
// pays for a compile.
// BenchmarkGoModulePayload64MiB times a 64 MiB round trip through a Go
// worker's echo: a []byte on the page (four copies) and the page's bytes
// kept in JS (Transfer + RawResult: the worker's two copies only). Each
// first runs a few uncounted rounds, for both threads' memory to be
// written to once: the first touch of a page is slow.
func BenchmarkGoModulePayload64MiB(b *testing.B) {
	const size, warmUps = 64 << 20, 6
	tm, _ := goPool(b, atmo.WorkerConfig{Tasks: goTestTasks, Module: moduleURL(b, goTestModule)})
	b.Run("bytes", func(b *testing.B) {
		buf := make([]byte, size)
		round := func() {
			got, err := tm.Do(b.Context(), "echo", buf)
			if err != nil {
				b.Fatal(err)
			}
			buf = got.([]byte)
		}
		for range warmUps {
			round()
		}
		for b.Loop() {
			round()
		}
	})
	b.Run("kept-in-JS", func(b *testing.B) {
		u8 := js.Global().Get("Uint8Array").New(size)
		round := func() {
			var err error
			if u8, err = moveRoundTrip(tm, "echo", u8); err != nil {
				b.Fatal(err)
			}
		}
		for range warmUps {
			round()
		}
		for b.Loop() {
			round()
		}
	})
}

func BenchmarkGoModuleStartup(b *testing.B) {
	module := moduleBytes(b, goMathModule)
	for _, shared := range []bool{true, false} {
		for _, n := range []int{1, 4} {
			mode := "shared"
			if !shared {
				mode = "each-compiles"
			}
			b.Run(fmt.Sprintf("workers=%d/%s", n, mode), func(b *testing.B) {
				atmo.SetGoModuleOptions(atmo.GoModuleOptions{CompileInWorker: !shared})
				defer atmo.SetGoModuleOptions(atmo.GoModuleOptions{})
				tm := atmo.NewTaskManager()
				defer tm.Close()
				for b.Loop() {
					b.StopTimer()
					configs := mathWorkers(n, jstest.BytesURL(b, module, "application/wasm"))
					b.StartTimer()
					startUntilReady(b, tm, configs)
				}
			})
		}
	}
	// With the module compiled once for every round, as a page that starts
	// workers again would have it: only the workers' own start is timed.
	warm := jstest.BytesURL(b, module, "application/wasm")
	for _, n := range []int{1, 4} {
		b.Run(fmt.Sprintf("workers=%d/compiled-before", n), func(b *testing.B) {
			tm := atmo.NewTaskManager()
			defer tm.Close()
			configs := mathWorkers(n, warm)
			startUntilReady(b, tm, configs) // compiles the module, uncounted
			b.ResetTimer()
			for b.Loop() {
				startUntilReady(b, tm, configs)
			}
		})
	}
}

// mathWorkers configures n Go workers of the math module at url.
func mathWorkers(n int, url string) []atmo.WorkerConfig {
	configs := make([]atmo.WorkerConfig, n)
	for i := range configs {
		configs[i] = atmo.WorkerConfig{Tasks: goMathTasks, Module: url}
	}
	return configs
}

// startUntilReady times a BrowserWorkerManager's start until its workers
// are ready, then closes it, untimed.
func startUntilReady(b *testing.B, tm *atmo.TaskManager, configs []atmo.WorkerConfig) {
	wm, err := atmo.NewBrowserWorkerManager(tm, configs...)
	if err != nil {
		b.Fatal(err)
	}
	if err := wm.Ready(context.Background()); err != nil {
		b.Fatal(err)
	}
	b.StopTimer()
	wm.Close()
	b.StartTimer()
}

// await waits for a JS promise and returns its value, or fails the test
// with its rejection.
func await(t *testing.T, p js.Value) js.Value {
	t.Helper()
	type result struct {
		v   js.Value
		err string
	}
	ch := make(chan result, 1)
	var then, catch js.Func
	then = js.FuncOf(func(_ js.Value, args []js.Value) any {
		then.Release()
		catch.Release()
		ch <- result{v: args[0]}
		return nil
	})
	catch = js.FuncOf(func(_ js.Value, args []js.Value) any {
		then.Release()
		catch.Release()
		ch <- result{err: args[0].Call("toString").String()}
		return nil
	})
	p.Call("then", then, catch)
	select {
	case r := <-ch:
		require.Empty(t, r.err)
		return r.v
	case <-goCtx(t).Done():
		t.Fatal("the promise did not settle")
		return js.Undefined()
	}
}

func TestGoWorkersOfAPageReadWasmExecJSOnceBetweenThem(t *testing.T) {
	perf := js.Global().Get("performance")
	perf.Call("setResourceTimingBufferSize", 100000)
	perf.Call("clearResourceTimings")
	// A URL of its own, so that no other test has read it yet.
	wasmExec := js.Global().Get("location").Get("origin").String() + "/wasm_exec.js?read-once"
	atmo.SetGoModuleOptions(atmo.GoModuleOptions{WasmExec: wasmExec})
	t.Cleanup(func() { atmo.SetGoModuleOptions(atmo.GoModuleOptions{}) })
	cfg := atmo.WorkerConfig{Tasks: goMathTasks, Module: moduleURL(t, goMathModule)}
	for range 2 {
		tm, wm := goPool(t, cfg, cfg)
		got, err := tm.Do(goCtx(t), "add", map[string]any{"a": 2, "b": 3})
		require.NoError(t, err)
		assert.Equal(t, 5.0, got)
		wm.Close()
	}
	assert.Equal(t, 1, perf.Call("getEntriesByName", wasmExec).Length(),
		"the page reads it once and hands every worker a copy")
}

func TestGoWorkersStartWhenThePagesCopyOfWasmExecJSNeverArrives(t *testing.T) {
	// The page's download of its copy never finishes (a server that hangs):
	// past a wait, each worker loads the URL itself.
	const stuck = "/wasm_exec.js?never-answers"
	restore := js.Global().Get("Function").New("url", `
const fetch = globalThis.fetch;
globalThis.fetch = (u, ...rest) => (String(u).endsWith(url) ? new Promise(() => {}) : fetch(u, ...rest));
return () => { globalThis.fetch = fetch; };`).Invoke(stuck)
	t.Cleanup(func() { restore.Invoke() })
	atmo.SetGoModuleOptions(atmo.GoModuleOptions{WasmExec: stuck})
	t.Cleanup(func() { atmo.SetGoModuleOptions(atmo.GoModuleOptions{}) })
	tm, _ := goPool(t, atmo.WorkerConfig{Tasks: goMathTasks, Module: moduleURL(t, goMathModule)})
	got, err := tm.Do(goCtx(t), "multiply", map[string]any{"a": 6, "b": 7})
	require.NoError(t, err)
	assert.Equal(t, 42.0, got)
}

func TestGoModuleWasmExecMayBeAURLRelativeToThePage(t *testing.T) {
	atmo.SetGoModuleOptions(atmo.GoModuleOptions{WasmExec: "/wasm_exec.js?relative"})
	t.Cleanup(func() { atmo.SetGoModuleOptions(atmo.GoModuleOptions{}) })
	tm, _ := goPool(t, atmo.WorkerConfig{Tasks: goMathTasks, Module: moduleURL(t, goMathModule)})
	got, err := tm.Do(goCtx(t), "multiply", map[string]any{"a": 6, "b": 7})
	require.NoError(t, err)
	assert.Equal(t, 42.0, got)
}

// bootWithWasmExec starts jsworker/go-worker.js by hand with the test
// module, wasmExec and wasmExecCopy (and, given text, a go-prepare with it
// as wasmExecText first), and says whether it became ready.
var bootWithWasmExec = js.Global().Get("Function").New("bootstrap", "module", "wasmExec", "copy", "text", `return new Promise((resolve) => {
  const w = new Worker(bootstrap);
  w.onmessage = (e) => {
    if (e.data.message === 'worker-ready' || e.data.message === 'worker-exit') { w.terminate(); resolve(e.data.message + (e.data.error ? ': ' + e.data.error : '')); }
  };
  if (text !== undefined) w.postMessage({ message: 'go-prepare', wasmExec, wasmExecCopy: copy, wasmExecText: text });
  w.postMessage({ message: 'init-worker', id: 'worker-1', content: ['echo'] });
  w.postMessage({ message: 'go-module', url: module, wasmExec, wasmExecCopy: copy });
})`)

func TestGoModuleBootstrapLoadsTheHostsCopyOfWasmExecJSAndItsURLIfTheCopyWillNotLoad(t *testing.T) {
	boot, module := jstest.FileURL(t, "jsworker/go-worker.js"), moduleURL(t, goTestModule)
	wasmExec := js.Global().Get("location").Get("origin").String() + "/wasm_exec.js"
	copied := jstest.BlobURL(t, wasmExecText(t))

	got := await(t, bootWithWasmExec.Invoke(boot, module, jstest.RevokedURL(t), copied)).String()
	assert.Equal(t, "worker-ready", got, "the copy is loaded, not the URL")

	got = await(t, bootWithWasmExec.Invoke(boot, module, wasmExec, jstest.RevokedURL(t))).String()
	assert.Equal(t, "worker-ready", got, "a copy that will not load: the URL is loaded")

	got = await(t, bootWithWasmExec.Invoke(boot, module, jstest.RevokedURL(t), jstest.RevokedURL(t))).String()
	assert.Contains(t, got, "worker-exit: loading wasm_exec.js from blob:", "neither loads: the URL's failure is reported")
}

// wasmExecText is the text of the test server's wasm_exec.js.
func wasmExecText(t *testing.T) string {
	wasmExec := js.Global().Get("location").Get("origin").String() + "/wasm_exec.js"
	return await(t, js.Global().Call("fetch", wasmExec).Call("then", js.Global().Get("Function").New("r", "return r.text()"))).String()
}

func TestGoModuleBootstrapRunsTheHostsTextOfWasmExecJSAndFallsBackToItsCopyThenItsURL(t *testing.T) {
	boot, module := jstest.FileURL(t, "jsworker/go-worker.js"), moduleURL(t, goTestModule)
	wasmExec := js.Global().Get("location").Get("origin").String() + "/wasm_exec.js"
	text := wasmExecText(t)
	copied := jstest.BlobURL(t, text)

	got := await(t, bootWithWasmExec.Invoke(boot, module, jstest.RevokedURL(t), jstest.RevokedURL(t), text)).String()
	assert.Equal(t, "worker-ready", got, "the text is run: nothing is loaded")

	got = await(t, bootWithWasmExec.Invoke(boot, module, jstest.RevokedURL(t), copied, "/* not wasm_exec.js */")).String()
	assert.Equal(t, "worker-ready", got, "a text that does not define Go: the copy is loaded")

	got = await(t, bootWithWasmExec.Invoke(boot, module, wasmExec, jstest.RevokedURL(t), "throw new Error('broken')")).String()
	assert.Equal(t, "worker-ready", got, "a text that throws and a copy that will not load: the URL is loaded")

	got = await(t, bootWithWasmExec.Invoke(boot, module, jstest.RevokedURL(t), jstest.RevokedURL(t), "throw new Error('broken')")).String()
	assert.Contains(t, got, "worker-exit: loading wasm_exec.js from blob:", "nothing loads: the URL's failure is reported")
}

func TestGoModuleBootstrapRunsTheTextWhateverCharactersItsURLHas(t *testing.T) {
	boot, module := jstest.FileURL(t, "jsworker/go-worker.js"), moduleURL(t, goTestModule)
	text := wasmExecText(t)
	// The URL names the text in stack traces; what it holds must not change
	// whether the text runs (a line break would end the comment naming it).
	for _, name := range []string{jstest.RevokedURL(t) + "#a\u2028)", jstest.RevokedURL(t) + "#a\n)", jstest.RevokedURL(t) + "#a\r)", jstest.RevokedURL(t) + "#a b"} {
		got := await(t, bootWithWasmExec.Invoke(boot, module, name, jstest.RevokedURL(t), text)).String()
		assert.Equal(t, "worker-ready", got, "wasmExec %q", name)
	}
}

func TestGoModuleBootstrapSaysWhyTheTextFailedWhenNothingElseLoadsEither(t *testing.T) {
	boot, module := jstest.FileURL(t, "jsworker/go-worker.js"), moduleURL(t, goTestModule)
	// A text that throws after defining Go leaves no half-made Go to run.
	broken := "globalThis.Go = class {}; throw new Error('broken after Go')"
	got := await(t, bootWithWasmExec.Invoke(boot, module, jstest.RevokedURL(t), jstest.RevokedURL(t), broken)).String()
	assert.Contains(t, got, "worker-exit: loading wasm_exec.js from blob:")
	assert.Contains(t, got, "the host's text of it failed too: broken after Go")

	got = await(t, bootWithWasmExec.Invoke(boot, module, jstest.RevokedURL(t), jstest.RevokedURL(t), "/* not wasm_exec.js */")).String()
	assert.Contains(t, got, "the host's text of it failed too: it did not define Go")
}

func TestGoModuleBootstrapHoldsTheHostsWebLockWhileItsThreadLives(t *testing.T) {
	scenario := js.Global().Get("Function").New("bootstrap", "module", "lock", `return (async () => {
  const w = new Worker(bootstrap);
  const seen = [];
  const next = (kind) => new Promise((resolve) => {
    const check = () => { const i = seen.findIndex((m) => m.message === kind); if (i >= 0) resolve(seen.splice(i, 1)[0]); else setTimeout(check, 5); };
    check();
  });
  w.onmessage = (e) => seen.push(e.data);
  // init-worker comes before the module, as atmo sends it: the bootstrap keeps it.
  w.postMessage({ message: 'init-worker', id: 'worker-1', content: ['echo', 'exit'], lock });
  w.postMessage({ message: 'go-module', url: module });
  const ready = await next('worker-ready');
  const held = (await navigator.locks.query()).held.some((l) => l.name === lock);
  let released = false;
  const gone = navigator.locks.request(lock, () => { released = true; });
  w.postMessage({ message: 'worker-work', taskId: 't1', workerId: 'worker-1', content: { name: 'echo', params: 'hi' } });
  const answer = await next('worker-response');
  const stillHeld = !released;
  w.postMessage({ message: 'worker-work', taskId: 't2', workerId: 'worker-1', content: { name: 'exit' } });
  const exit = await next('worker-exit');
  await gone;
  return { readyLock: ready.content.lock, held, answer: answer.content, stillHeld, exit: exit.error, released };
})()`)
	lock := fmt.Sprintf("atmo-test-lock-%d", rand.Uint32())
	r := await(t, scenario.Invoke(jstest.FileURL(t, "jsworker/go-worker.js"), moduleURL(t, goTestModule), lock))
	assert.Equal(t, lock, r.Get("readyLock").String(), "worker-ready says the lock is held")
	assert.True(t, r.Get("held").Bool(), "the thread holds the lock")
	assert.Equal(t, "hi", r.Get("answer").String())
	assert.True(t, r.Get("stillHeld").Bool(), "the lock stays held while the thread serves")
	assert.Equal(t, "Go runtime exited with code 3", r.Get("exit").String())
	assert.True(t, r.Get("released").Bool(), "the host is granted the lock once the thread ended")
}

func TestGoModuleBootstrapFromADataURLStartsWithoutALock(t *testing.T) {
	// A data: URL bootstrap has an opaque origin, where Web Locks are
	// refused: the Go worker starts anyway, as a helper worker does.
	boot := "data:text/javascript;base64," + base64.StdEncoding.EncodeToString([]byte(jstest.Read(t, "jsworker/go-worker.js")))
	atmo.SetGoModuleOptions(atmo.GoModuleOptions{Bootstrap: boot})
	t.Cleanup(func() { atmo.SetGoModuleOptions(atmo.GoModuleOptions{}) })
	tm, _ := pool(t, atmo.WorkerConfig{Tasks: goMathTasks, Module: moduleURL(t, goMathModule), StartTimeout: 10 * time.Second})
	got, err := tm.Do(goCtx(t), "add", map[string]any{"a": 1, "b": 2})
	require.NoError(t, err)
	assert.Equal(t, 3.0, got)
}

// holdsItsSlotAfterCancel checks, on a pool of one worker at Concurrency 2
// with a long CancelGrace that takes stubborn, release and echo, that a
// cancelled task whose handler goes on keeps its slot until the handler
// returns: the worker never runs more than its Concurrency.
func holdsItsSlotAfterCancel(t *testing.T, tm *atmo.TaskManager) {
	t.Helper()
	task, err := tm.AddTask(atmo.TaskParams{Name: "stubborn"})
	require.NoError(t, err)
	require.Eventually(t, func() bool { return task.Status() == atmo.TaskWorking }, 10*time.Second, time.Millisecond)
	task.Cancel()
	got, err := tm.Do(goCtx(t), "echo", 1) // in the other slot; the worker read the cancel before it
	require.NoError(t, err)
	assert.Equal(t, 1.0, got)
	assert.Equal(t, 1, tm.Stats().Canceled, "the task settled at once")
	assert.Equal(t, 1, tm.Stats().Workers[0].InFlight, "the cancelled handler still runs, and holds its slot")
	_, err = tm.Do(goCtx(t), "release", nil)
	require.NoError(t, err)
	require.Eventually(t, func() bool { return tm.Stats().Workers[0].InFlight == 0 }, 10*time.Second, time.Millisecond,
		"the slot is free once the handler returned")
	assert.Equal(t, 0, tm.Stats().Workers[0].Restarts, "within its CancelGrace: not replaced")
}

func TestAGoHandlerMovesJSValuesToTheHostWithTransfer(t *testing.T) {
	tm, _ := goPool(t, atmo.WorkerConfig{Tasks: goTestTasks, Module: moduleURL(t, goTestModule)})
	got, err := tm.Do(goCtx(t), "moveBytes", nil)
	require.NoError(t, err)
	b, _ := got.([]byte)
	require.Len(t, b, 1<<20)
	assert.Equal(t, byte(7), b[0])
	left, err := tm.Do(goCtx(t), "keptLength", nil)
	require.NoError(t, err)
	assert.Equal(t, 0.0, left, "moved, not copied: the worker's buffer is detached")

	res := make(chan atmo.Response, 1)
	_, err = tm.AddTask(atmo.TaskParams{Name: "canvas", RawResult: true,
		OnSuccess: func(r atmo.Response) { res <- r }, OnError: func(r atmo.Response) { res <- r }})
	require.NoError(t, err)
	r := <-res
	require.NoError(t, r.Err)
	c, ok := r.Content.(js.Value)
	require.True(t, ok, "%T", r.Content)
	assert.True(t, c.InstanceOf(js.Global().Get("OffscreenCanvas")))
	assert.Equal(t, 3, c.Get("width").Int())

	_, err = tm.Do(goCtx(t), "canvas", nil)
	require.Error(t, err, "Go cannot read an OffscreenCanvas")
	assert.Contains(t, err.Error(), "an OffscreenCanvas cannot be read as a Go value")
}

func TestAGoHandlerMovesTwoViewsOfOneBufferOnce(t *testing.T) {
	// As the page's atmo.Transfer: two views of one buffer, each given to
	// worker.Transfer, move it once.
	tm, _ := goPool(t, atmo.WorkerConfig{Tasks: goTestTasks, Module: moduleURL(t, goTestModule)})
	got, err := tm.Do(goCtx(t), "moveViews", nil)
	require.NoError(t, err)
	assert.Equal(t, map[string]any{"head": []byte{0, 1, 2, 3}, "tail": []byte{4, 5, 6, 7}}, got)
}

func TestAGoHandlerOfHandleJSTakesItsParamsAsTheyCameAndMovesThemBackUncopied(t *testing.T) {
	tm, _ := goPool(t, atmo.WorkerConfig{Tasks: goTestTasks, Module: moduleURL(t, goTestModule)})
	sent := js.Global().Get("Uint8Array").New(1 << 20)
	sent.Call("fill", 9)
	blob := js.Global().Get("Blob").New([]any{"four"})
	res := make(chan atmo.Response, 1)
	_, err := tm.AddTask(atmo.TaskParams{Name: "passOn", Params: map[string]any{"data": atmo.Transfer(sent), "extra": blob}, RawResult: true,
		OnSuccess: func(r atmo.Response) { res <- r }, OnError: func(r atmo.Response) { res <- r }})
	require.NoError(t, err)
	r := <-res
	require.NoError(t, r.Err)
	assert.Equal(t, 0, sent.Get("byteLength").Int(), "the page's bytes were moved to the worker, not copied")
	c, ok := r.Content.(js.Value)
	require.True(t, ok, "%T", r.Content)
	got := c.Get("data")
	require.Equal(t, 1<<20, got.Get("byteLength").Int(), "and moved back")
	assert.Equal(t, 9, got.Index(1<<20-1).Int())
	assert.Equal(t, "Blob", c.Get("extra").String(), "a value Go cannot read reaches the handler as it is")

	// Read into Go, the same answer: the bytes are copied out of the worker.
	back, err := tm.Do(goCtx(t), "passOn", map[string]any{"data": []byte{1, 2, 3}, "extra": 1})
	require.NoError(t, err)
	assert.Equal(t, map[string]any{"data": []byte{1, 2, 3}, "extra": "Number"}, back)
}

func TestAGoHandlerThatIgnoresItsTimeoutHasItsWorkerReplacedAfterTheGrace(t *testing.T) {
	tm, wm := goPool(t, atmo.WorkerConfig{Tasks: goTestTasks, Module: moduleURL(t, goTestModule), Concurrency: 2, CancelGrace: 200 * time.Millisecond})
	ctx := goCtx(t)
	beside := make(chan error, 1)
	go func() { _, err := tm.Do(ctx, "sleep", map[string]any{"ms": 60_000}); beside <- err }()
	require.Eventually(t, func() bool { return len(tm.Status().Working) == 1 }, 10*time.Second, time.Millisecond)
	res := make(chan atmo.Response, 1)
	_, err := tm.AddTask(atmo.TaskParams{Name: "stubborn", Timeout: 100 * time.Millisecond,
		OnSuccess: func(r atmo.Response) { res <- r }, OnError: func(r atmo.Response) { res <- r }})
	require.NoError(t, err)
	require.ErrorIs(t, (<-res).Err, atmo.ErrTimeout, "the task fails at its timeout")
	err = <-beside
	require.ErrorIs(t, err, atmo.ErrWorkerCrashed, "the worker was replaced: the task beside it, without Retries, is not run twice")
	assert.Contains(t, err.Error(), "did not stop timed-out task")
	require.NoError(t, wm.Ready(ctx))
	assert.Equal(t, 1, tm.Stats().Restarted)
	got, err := tm.Do(ctx, "echo", 1)
	require.NoError(t, err)
	assert.Equal(t, 1.0, got)
}

func TestAGoWorkerTakesParamsAsDeeplyNestedAsThePageSends(t *testing.T) {
	// The page sends 64 levels and refuses 65 (ErrBadParams); the Go
	// worker reads all 64, also as the item of a list, whole.
	tm, _ := goPool(t, atmo.WorkerConfig{Tasks: []string{"echo"}, Module: moduleURL(t, goTestModule)})
	nested := func(levels int) any {
		var v any = "leaf"
		for range levels {
			v = map[string]any{"x": v}
		}
		return v
	}
	for _, params := range []any{nested(64), []any{nested(63)}} {
		got, err := tm.Do(goCtx(t), "echo", params)
		require.NoError(t, err)
		assert.Equal(t, params, got)
	}
	_, err := tm.Do(goCtx(t), "echo", nested(65))
	assert.ErrorIs(t, err, atmo.ErrBadParams)
}

func TestTheGoSHA256StreamStopsHashingBytesWhenCancelled(t *testing.T) {
	// Copying and hashing a typed array never wait: unless the handler
	// yields between chunks, the host's cancel does not get in, the worker
	// hashes on, and is terminated past its CancelGrace (short here, so
	// that a worker that does not stop is sure to outlast it).
	tm := atmo.NewTaskManagerWithOptions(atmo.Options{CancelGrace: 100 * time.Millisecond})
	wm, err := atmo.NewBrowserWorkerManager(tm, atmo.WorkerConfig{Tasks: []string{"sha256Stream"}, Module: moduleURL(t, goSHA256Module)})
	require.NoError(t, err)
	t.Cleanup(func() { wm.Close(); tm.Close() })
	require.NoError(t, wm.Ready(goCtx(t)))
	progress := make(chan struct{}, 1)
	ctx, cancel := context.WithCancel(goCtx(t))
	done := make(chan error, 1)
	go func() {
		_, err := tm.AddTask(atmo.TaskParams{Name: "sha256Stream", Context: ctx,
			Params: map[string]any{"data": atmo.Transfer(js.Global().Get("Uint8Array").New(256 << 20))},
			OnProgress: func(atmo.Progress) {
				select {
				case progress <- struct{}{}:
				default:
				}
			},
			OnError:   func(r atmo.Response) { done <- r.Err },
			OnSuccess: func(r atmo.Response) { done <- r.Err },
		})
		if err != nil {
			done <- err
		}
	}()
	<-progress // hashing
	cancel()
	require.ErrorIs(t, <-done, atmo.ErrCanceled)
	_, err = tm.Do(goCtx(t), "sha256Stream", map[string]any{"data": js.Global().Get("Uint8Array").New(16)})
	require.NoError(t, err)
	assert.Zero(t, tm.Stats().Restarted, "the worker stopped on the cancel by itself, not terminated past its CancelGrace")
}

func TestGoModuleSHA256HashesAnArrayOfBytesAsHandleTypedReadsOne(t *testing.T) {
	// JSON has no Uint8Array: {"data": [104, 105]} (the dashboard's box, a
	// server's JSON) was hashed as the bytes "hi" while data was a []byte
	// field, as HandleTyped reads one; it must still be.
	tm, _ := goPool(t, atmo.WorkerConfig{Tasks: []string{"sha256"}, Module: moduleURL(t, goSHA256Module)})
	sum, err := tm.Do(goCtx(t), "sha256", map[string]any{"data": []any{104.0, 105.0}})
	require.NoError(t, err)
	digest := sha256.Sum256([]byte("hi"))
	assert.Equal(t, digest[:], sum)
	_, err = tm.Do(goCtx(t), "sha256", map[string]any{"data": []any{1.0, 256.0}})
	assert.ErrorContains(t, err, "params.data[1] is 256; an array of data holds bytes, whole numbers 0 to 255")
}

func TestGoModuleBuiltForAnotherTargetOrByAnotherGoFailsItsStartOnceSayingWhatToDo(t *testing.T) {
	origin := js.Global().Get("location").Get("origin").String()
	cases := []struct {
		name   string
		module []byte
		want   []string
	}{
		{"wasip1", atmotest.WASIModule, []string{"built with GOOS=wasip1", "imports wasi_snapshot_preview1", "GOOS=js GOARCH=wasm go build"}},
		{"not Go", atmotest.NotGoModule, []string{"not a Go program built with GOOS=js GOARCH=wasm", "imports nothing", "GOOS=js GOARCH=wasm go build"}},
		// It imports what the served wasm_exec.js does not give.
		{"a newer Go", atmotest.GoModuleOfAnotherGo, []string{"is built by go1.99.0", "the wasm_exec.js at " + origin + "/wasm_exec.js is of another Go", "gojs.runtime.wasmExitOfTheFuture", "serve the wasm_exec.js of go1.99.0"}},
		{"Go 1.20", atmotest.GoModuleBeforeGo121, []string{"is built by go1.20.14", "go.runtime.wasmExit", "rebuild the module"}},
		{"TinyGo", atmotest.TinyGoModule, []string{"looks built by TinyGo", "imports from \"wasi_snapshot_preview1\" as well as \"gojs\"", "GOOS=js GOARCH=wasm go build"}},
	}
	for _, mode := range compileModes {
		for _, c := range cases {
			t.Run(mode+"/"+c.name, func(t *testing.T) {
				compileIn(t, mode)
				tm := atmo.NewTaskManager()
				defer tm.Close()
				wm, err := atmo.NewBrowserWorkerManager(tm, atmo.WorkerConfig{Tasks: []string{"add"}, Module: jstest.BytesURL(t, c.module, "application/wasm"), Count: 2})
				require.NoError(t, err)
				defer wm.Close()
				done := make(chan error, 1)
				go func() { _, err := tm.Do(goCtx(t), "add", map[string]any{"a": 1, "b": 2}); done <- err }()
				atmotest.FailedToStartOnce(goCtx(t), t, tm, wm, done, c.want...)
			})
		}
	}
}

// stubFetch makes the page's fetch of url answer status with an empty
// body, until the test ends.
func stubFetch(t *testing.T, url string, status int, statusText string) {
	orig := js.Global().Get("fetch")
	stub := js.Global().Get("Function").New("orig", "url", "status", "text", `
return function (input, init) {
  if (String(input) === url) return Promise.resolve(new Response(null, { status, statusText: text }));
  return orig.call(this, input, init);
};`).Invoke(orig, url, status, statusText)
	js.Global().Set("fetch", stub)
	t.Cleanup(func() { js.Global().Set("fetch", orig) })
}

func TestGoModuleThatIsNoWorkerFailsItsStartOnceSayingItMustCallRun(t *testing.T) {
	for name, module := range map[string]string{
		"the page's main module":               "bin/wasm/atmo.wasm", // the JS API's: it panics in a worker
		"registers a handler, never calls Run": "bin/wasm/testdata/neverruns.wasm",
		"main returns, never calling Run":      goExitNow,
	} {
		t.Run(name, func(t *testing.T) {
			url := moduleURL(t, module)
			tm := atmo.NewTaskManager()
			defer tm.Close()
			wm, err := atmo.NewBrowserWorkerManager(tm, atmo.WorkerConfig{Tasks: []string{"add"}, Module: url})
			require.NoError(t, err)
			defer wm.Close()
			atmotest.FailedToStartOnce(goCtx(t), t, tm, wm, nil, url+" is not an atmo worker: it never calls worker.Run")
		})
	}
}

func TestAGoWorkerAnswersEachTaskTheBytesItsHandlerReturnedUnderConcurrency(t *testing.T) {
	// testworker's frame renders into a buffer it keeps and answers it: at
	// Concurrency 8 the answers of a burst leave in one batch, and each
	// must hold its own task's render.
	tm, _ := goPool(t, atmo.WorkerConfig{Tasks: []string{"frame"}, Module: moduleURL(t, goTestModule), Concurrency: 8})
	ctx := goCtx(t)
	for round := 0; round < 5; round++ {
		var wg sync.WaitGroup
		got := make([][]byte, 8)
		for i := range got {
			wg.Add(1)
			go func() {
				defer wg.Done()
				r, err := tm.Do(ctx, "frame", i+1)
				if assert.NoError(t, err) {
					got[i], _ = r.([]byte)
				}
			}()
		}
		wg.Wait()
		for i, b := range got {
			assert.Equal(t, bytes.Repeat([]byte{byte(i + 1)}, 8), b, "round %d, task %d", round, i+1)
		}
	}
}
