//go:build js && wasm

package atmo_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"syscall/js"
	"testing"
	"time"

	"github.com/atmoworkers/atmo/wasm/atmo"
	"github.com/atmoworkers/atmo/wasm/internal/jstest"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

const mathWorker = "examples/workers/math-worker.js"

var mathTasks = []string{"add", "subtract", "multiply", "divide", "power", "sqrt", "fibonacci"}

func testCtx(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// pool starts a TaskManager and a BrowserWorkerManager on configs, waits for
// the workers, and closes both when the test ends.
func pool(t *testing.T, configs ...atmo.WorkerConfig) (*atmo.TaskManager, *atmo.BrowserWorkerManager) {
	t.Helper()
	tm := atmo.NewTaskManager()
	wm, err := atmo.NewBrowserWorkerManager(tm, configs...)
	require.NoError(t, err)
	t.Cleanup(func() { wm.Close(); tm.Close() })
	require.NoError(t, wm.Ready(testCtx(t)))
	return tm, wm
}

// echoWorker answers every task with {worker, name, params}, after an
// optional params.delay in ms.
const echoWorker = `atmoWorker(Object.fromEntries(%s.map((n) => [n, async (params, ctx) => {
  if (params && params.delay) await new Promise((r) => setTimeout(r, params.delay));
  return { worker: ctx.workerId, name: ctx.name, params };
}])));`

func echoScript(t *testing.T, names ...string) string {
	list := "["
	for i, n := range names {
		if i > 0 {
			list += ","
		}
		list += fmt.Sprintf("%q", n)
	}
	return jstest.HelperWorker(t, fmt.Sprintf(echoWorker, list+"]"))
}

func TestSeedMathWorkerRunsUnchanged(t *testing.T) {
	tm, _ := pool(t, atmo.WorkerConfig{Tasks: mathTasks, Script: jstest.FileURL(t, mathWorker)})
	ctx := testCtx(t)
	cases := []struct {
		name   string
		params map[string]any
		want   float64
	}{
		{"add", map[string]any{"a": 10, "b": 20}, 30},
		{"subtract", map[string]any{"a": 10, "b": 20}, -10},
		{"multiply", map[string]any{"a": 6, "b": 7}, 42},
		{"divide", map[string]any{"a": 10, "b": 4}, 2.5},
		{"power", map[string]any{"a": 2, "b": 10}, 1024},
		{"sqrt", map[string]any{"a": 81}, 9},
		{"fibonacci", map[string]any{"n": 20}, 6765},
	}
	for _, c := range cases {
		got, err := tm.Do(ctx, c.name, c.params)
		require.NoError(t, err, c.name)
		assert.Equal(t, c.want, got, c.name)
	}
}

func TestDivisionByZeroReachesDoAsTaskError(t *testing.T) {
	tm, _ := pool(t, atmo.WorkerConfig{Tasks: mathTasks, Script: jstest.FileURL(t, mathWorker)})
	_, err := tm.Do(testCtx(t), "divide", map[string]any{"a": 10, "b": 0})
	var te *atmo.TaskError
	require.ErrorAs(t, err, &te)
	assert.Equal(t, "Division by zero is not allowed", te.Message)
	assert.NotEmpty(t, te.TaskID)
	assert.NotEmpty(t, te.WorkerID)
}

func TestDivisionByZeroReachesOnError(t *testing.T) {
	tm, _ := pool(t, atmo.WorkerConfig{Tasks: mathTasks, Script: jstest.FileURL(t, mathWorker)})
	got := make(chan atmo.Response, 2)
	task, err := tm.AddTask(atmo.TaskParams{
		Name:      "divide",
		Params:    map[string]any{"a": 10, "b": 0},
		OnSuccess: func(r atmo.Response) { got <- r },
		OnError:   func(r atmo.Response) { got <- r },
	})
	require.NoError(t, err)
	r := <-got
	assert.Equal(t, "Division by zero is not allowed", r.Error)
	assert.Equal(t, task.ID(), r.TaskID)
	assert.NotEmpty(t, r.WorkerID)
	assert.Equal(t, atmo.TaskFailed, task.Status())
	assert.Equal(t, 1, tm.Status().Failed)
	select {
	case r := <-got:
		t.Fatalf("a second callback ran: %+v", r)
	case <-time.After(50 * time.Millisecond):
	}
}

func TestSpecialistsOnlyGetTheirTasksAndGeneralistsGetAny(t *testing.T) {
	tm, wm := pool(t,
		atmo.WorkerConfig{Tasks: []string{"resize"}, Script: echoScript(t, "resize")},
		atmo.WorkerConfig{Tasks: []string{"hash"}, Script: echoScript(t, "hash")},
		atmo.WorkerConfig{Tasks: []string{"resize", "hash", "zip"}, Script: echoScript(t, "resize", "hash", "zip")},
	)
	ws := wm.Workers()
	resizer, hasher, generalist := ws[0].ID(), ws[1].ID(), ws[2].ID()
	var wg sync.WaitGroup
	var mu sync.Mutex
	seen := map[string]map[string]int{} // task name → worker → count
	for i := 0; i < 60; i++ {
		name := []string{"resize", "hash", "zip"}[i%3]
		wg.Add(1)
		go func() {
			defer wg.Done()
			got, err := tm.Do(testCtx(t), name, map[string]any{"i": i, "delay": 2})
			require.NoError(t, err)
			m := got.(map[string]any)
			mu.Lock()
			defer mu.Unlock()
			if seen[name] == nil {
				seen[name] = map[string]int{}
			}
			seen[name][m["worker"].(string)]++
		}()
	}
	wg.Wait()
	assert.Subset(t, []string{resizer, generalist}, keys(seen["resize"]))
	assert.Subset(t, []string{hasher, generalist}, keys(seen["hash"]))
	assert.Equal(t, []string{generalist}, keys(seen["zip"]))
	assert.Greater(t, seen["resize"][resizer], 0, "the resize specialist got work")
	assert.Greater(t, seen["hash"][hasher], 0, "the hash specialist got work")
}

func keys(m map[string]int) []string {
	var ks []string
	for k := range m {
		ks = append(ks, k)
	}
	return ks
}

func TestThousandTasksOverFourWorkersSettleOnceEachAndSpread(t *testing.T) {
	script := jstest.FileURL(t, mathWorker)
	cfg := atmo.WorkerConfig{Tasks: mathTasks, Script: script}
	tm, wm := pool(t, cfg, cfg, cfg, cfg)
	const n = 1000
	var calls [n]atomic.Int32
	results := make([]float64, n)
	var wg sync.WaitGroup
	wg.Add(n)
	for i := 0; i < n; i++ {
		_, err := tm.AddTask(atmo.TaskParams{
			Name:   "multiply",
			Params: map[string]any{"a": i, "b": 3},
			OnSuccess: func(r atmo.Response) {
				calls[i].Add(1)
				results[i] = r.Content.(float64)
				wg.Done()
			},
			OnError: func(r atmo.Response) {
				calls[i].Add(1)
				t.Errorf("task %d failed: %s", i, r.Error)
				wg.Done()
			},
		})
		require.NoError(t, err)
	}
	wg.Wait()
	for i := 0; i < n; i++ {
		assert.Equal(t, int32(1), calls[i].Load(), "task %d settled once", i)
		assert.Equal(t, float64(3*i), results[i], "task %d result", i)
	}
	total := 0
	for _, w := range wm.Workers() {
		assert.Greater(t, w.TasksDone(), 0, "%s got work", w.ID())
		total += w.TasksDone()
	}
	assert.Equal(t, n, total)
	s := tm.Status()
	assert.Equal(t, n, s.Done)
	assert.Empty(t, s.Pending)
	assert.Empty(t, s.Working)
}

func TestUnknownTaskFailsFastWithErrNoWorker(t *testing.T) {
	tm, _ := pool(t, atmo.WorkerConfig{Tasks: mathTasks, Script: jstest.FileURL(t, mathWorker)})
	_, err := tm.Do(testCtx(t), "resize", nil)
	require.ErrorIs(t, err, atmo.ErrNoWorker)
	assert.Contains(t, err.Error(), `"resize"`)
	assert.Contains(t, err.Error(), "fibonacci")
}

func TestBrokenScriptsCloseTheirWorkerWithoutHanging(t *testing.T) {
	cases := map[string]string{
		"syntax error":    jstest.BlobURL(t, "self.onmessage = function ( {"),
		"throw at load":   jstest.BlobURL(t, "throw new Error('boom at load')"),
		"missing (404)":   jstest.RevokedURL(t),
		"empty (no init)": jstest.BlobURL(t, ""),
	}
	for name, url := range cases {
		t.Run(name, func(t *testing.T) {
			tm := atmo.NewTaskManager()
			defer tm.Close()
			var updates []atmo.Message
			var mu sync.Mutex
			defer tm.Subscribe(func(m atmo.Message) {
				if m.Kind == atmo.KindWorkerUpdated && m.Content == atmo.WorkerClosed {
					mu.Lock()
					updates = append(updates, m)
					mu.Unlock()
				}
			})()
			wm, err := atmo.NewBrowserWorkerManager(tm, atmo.WorkerConfig{Tasks: []string{"add"}, Script: url, StartTimeout: 500 * time.Millisecond})
			require.NoError(t, err)
			defer wm.Close()
			done := make(chan error, 1)
			go func() { _, err := tm.Do(testCtx(t), "add", map[string]any{"a": 1, "b": 2}); done <- err }()
			err = wm.Ready(testCtx(t))
			require.ErrorIs(t, err, atmo.ErrWorkerStart)
			assert.Equal(t, atmo.WorkerClosed, wm.Workers()[0].Status())
			assert.NotEmpty(t, wm.Workers()[0].LastError())
			taskErr := <-done
			require.ErrorIs(t, taskErr, atmo.ErrNoWorker)
			assert.Contains(t, taskErr.Error(), "failed to start")
			require.Eventually(t, func() bool { mu.Lock(); defer mu.Unlock(); return len(updates) == 1 }, 5*time.Second, 10*time.Millisecond)
			assert.NotEmpty(t, updates[0].Error)
		})
	}
}

func TestBrokenWorkerLeavesItsTasksToHealthyOnes(t *testing.T) {
	tm := atmo.NewTaskManager()
	defer tm.Close()
	wm, err := atmo.NewBrowserWorkerManager(tm,
		atmo.WorkerConfig{Tasks: mathTasks, Script: jstest.BlobURL(t, "throw new Error('bad build')")},
		atmo.WorkerConfig{Tasks: mathTasks, Script: jstest.FileURL(t, mathWorker)},
	)
	require.NoError(t, err)
	defer wm.Close()
	for i := 0; i < 20; i++ {
		got, err := tm.Do(testCtx(t), "add", map[string]any{"a": i, "b": 1})
		require.NoError(t, err)
		assert.Equal(t, float64(i+1), got)
	}
	assert.Equal(t, 20, wm.Workers()[1].TasksDone())
	require.ErrorIs(t, wm.Ready(testCtx(t)), atmo.ErrWorkerStart, "the broken one gives up after its failed starts")
	assert.Equal(t, atmo.WorkerClosed, wm.Workers()[0].Status())
	assert.Contains(t, wm.Workers()[0].LastError(), "bad build")
}

// explodingWorker is a hand-written worker, as the seed's are, whose
// worker-ready says content (its tasks, its features): it throws from
// onmessage for explode and answers 'ok' for anything else.
func explodingWorker(t *testing.T, content string) string {
	return jstest.BlobURL(t, `
let id;
self.onmessage = (e) => {
  const d = e.data;
  if (d.message === 'init-worker') { id = d.id; self.postMessage({ message: 'worker-ready', workerId: id, content: `+content+` }); return; }
  if (d.message !== 'worker-work') return;
  if (d.content.name === 'explode') throw new Error('kaboom');
  self.postMessage({ message: 'worker-response', taskId: d.taskId, workerId: id, content: 'ok' });
};`)
}

// explodesThenServes runs explode, which fails with the worker's throw,
// then fine, on a worker that stays in service.
func explodesThenServes(t *testing.T, script string) *atmo.TaskManager {
	t.Helper()
	tm, _ := pool(t, atmo.WorkerConfig{Tasks: []string{"explode", "fine"}, Script: script})
	_, err := tm.Do(testCtx(t), "explode", nil)
	var te *atmo.TaskError
	require.ErrorAs(t, err, &te)
	assert.Contains(t, te.Message, "kaboom")
	got, err := tm.Do(testCtx(t), "fine", nil)
	require.NoError(t, err, "the worker stays in service")
	assert.Equal(t, "ok", got)
	return tm
}

func TestUncaughtErrorDuringATaskFailsThatTask(t *testing.T) {
	explodesThenServes(t, explodingWorker(t, "undefined"))
}

func TestCloseSettlesTasksInFlightWithErrClosed(t *testing.T) {
	tm := atmo.NewTaskManager()
	wm, err := atmo.NewBrowserWorkerManager(tm,
		atmo.WorkerConfig{Tasks: []string{"slow"}, Script: echoScript(t, "slow")},
		atmo.WorkerConfig{Tasks: []string{"slow"}, Script: echoScript(t, "slow")},
	)
	require.NoError(t, err)
	require.NoError(t, wm.Ready(testCtx(t)))
	var callbacks atomic.Int32
	errs := make(chan error, 10)
	for i := 0; i < 10; i++ {
		_, err := tm.AddTask(atmo.TaskParams{
			Name:      "slow",
			Params:    map[string]any{"delay": 5000},
			OnSuccess: func(atmo.Response) { callbacks.Add(1); errs <- nil },
			OnError:   func(r atmo.Response) { callbacks.Add(1); errs <- r.Err },
		})
		require.NoError(t, err)
	}
	require.Eventually(t, func() bool { return len(tm.Status().Working) == 2 }, 5*time.Second, 5*time.Millisecond)
	require.NoError(t, tm.Close())
	assert.Equal(t, int32(10), callbacks.Load(), "every callback ran before Close returned")
	for i := 0; i < 10; i++ {
		assert.ErrorIs(t, <-errs, atmo.ErrClosed)
	}
	for _, w := range wm.Workers() {
		assert.Equal(t, atmo.WorkerClosed, w.Status())
	}
	_, err = tm.AddTask(atmo.TaskParams{Name: "slow"})
	assert.ErrorIs(t, err, atmo.ErrClosed)
	_, err = tm.Do(context.Background(), "slow", nil)
	assert.ErrorIs(t, err, atmo.ErrClosed)
	time.Sleep(50 * time.Millisecond)
	assert.Equal(t, int32(10), callbacks.Load(), "no callback after Close")
}

func TestWorkerManagerCloseFailsItsTasks(t *testing.T) {
	tm := atmo.NewTaskManager()
	defer tm.Close()
	wm, err := atmo.NewBrowserWorkerManager(tm, atmo.WorkerConfig{Tasks: []string{"slow"}, Script: echoScript(t, "slow")})
	require.NoError(t, err)
	done := make(chan error, 3)
	for i := 0; i < 3; i++ {
		go func() { _, err := tm.Do(context.Background(), "slow", map[string]any{"delay": 5000}); done <- err }()
	}
	require.Eventually(t, func() bool { return len(tm.Status().Working) == 1 && len(tm.Status().Pending) == 2 }, 5*time.Second, 5*time.Millisecond)
	require.NoError(t, wm.Close())
	for i := 0; i < 3; i++ {
		assert.ErrorIs(t, <-done, atmo.ErrClosed)
	}
}

func TestEventsFollowTheClaimFlowInOrder(t *testing.T) {
	tm, _ := pool(t, atmo.WorkerConfig{Tasks: mathTasks, Script: jstest.FileURL(t, mathWorker)})
	var mu sync.Mutex
	var kinds []atmo.MessageKind
	var seqs []uint64
	settled := make(chan struct{})
	unsubscribe := tm.Subscribe(func(m atmo.Message) {
		mu.Lock()
		defer mu.Unlock()
		if m.TaskID == "" {
			return
		}
		kinds = append(kinds, m.Kind)
		seqs = append(seqs, m.Seq)
		assert.Equal(t, tm.ID(), m.ManagerID)
		if m.Kind == atmo.KindTaskDeleted {
			close(settled)
		}
	})
	defer unsubscribe()
	_, err := tm.Do(testCtx(t), "add", map[string]any{"a": 1, "b": 2})
	require.NoError(t, err)
	<-settled
	mu.Lock()
	defer mu.Unlock()
	assert.Equal(t, []atmo.MessageKind{
		atmo.KindNewTask, atmo.KindTaskAvailable,
		atmo.KindTaskClaim, atmo.KindTaskClaimGranted, atmo.KindTaskUpdated,
		atmo.KindWorkerWork, atmo.KindWorkerResponse,
		atmo.KindTaskUpdated, atmo.KindTaskDeleted,
	}, kinds)
	for i := 1; i < len(seqs); i++ {
		assert.Greater(t, seqs[i], seqs[i-1])
	}
}

func TestHelperWorkerRunsAsyncHandlersAndReportsThrows(t *testing.T) {
	script := jstest.HelperWorker(t, `atmoWorker({
  add: ({ a, b }) => a + b,
  later: async ({ x }) => { await new Promise((r) => setTimeout(r, 5)); return x * 2; },
  fail: () => { throw new Error('nope'); },
  reject: async () => { throw new Error('async nope'); },
  thenable: ({ x }) => ({ then: (ok) => ok(x + 1) }),
  uncloneable: () => () => 1,
});`)
	tm, _ := pool(t, atmo.WorkerConfig{Tasks: []string{"add", "later", "fail", "reject", "thenable", "uncloneable"}, Script: script})
	ctx := testCtx(t)
	got, err := tm.Do(ctx, "add", map[string]any{"a": 2, "b": 3})
	require.NoError(t, err)
	assert.Equal(t, 5.0, got)
	got, err = tm.Do(ctx, "later", map[string]any{"x": 21})
	require.NoError(t, err)
	assert.Equal(t, 42.0, got)
	got, err = tm.Do(ctx, "thenable", map[string]any{"x": 1})
	require.NoError(t, err)
	assert.Equal(t, 2.0, got, "a thenable is waited for, as a promise is")
	for name, want := range map[string]string{
		"fail": "nope", "reject": "async nope",
		"uncloneable": "could not be cloned", // the task fails; the worker lives on
	} {
		_, err = tm.Do(ctx, name, nil)
		var te *atmo.TaskError
		require.ErrorAs(t, err, &te, name)
		assert.Contains(t, te.Message, want)
	}
	got, err = tm.Do(ctx, "add", map[string]any{"a": 1, "b": 1})
	require.NoError(t, err)
	assert.Equal(t, 2.0, got)
}

func TestHelperWorkerFailsATaskThatThrowsNothingUseful(t *testing.T) {
	// throw undefined, Promise.reject() and throw '' carry no message, and
	// an error field of undefined or '' means success in the protocol: the
	// helper must still say the task failed.
	script := jstest.HelperWorker(t, `atmoWorker({
  undef: () => { throw undefined; },
  rejectNone: () => Promise.reject(),
  empty: () => { throw ''; },
  emptyError: () => { throw new Error(''); },
  nan: () => { throw NaN; },
  infinity: () => { throw -Infinity; },
});`)
	names := []string{"undef", "rejectNone", "empty", "emptyError", "nan", "infinity"}
	tm, _ := pool(t, atmo.WorkerConfig{Tasks: names, Script: script})
	for _, name := range names {
		got, err := tm.Do(testCtx(t), name, nil)
		var te *atmo.TaskError
		require.ErrorAs(t, err, &te, "%s answered %v", name, got)
		assert.NotEmpty(t, te.Message, name)
		switch name { // a number JSON writes as null is said as it is
		case "nan":
			assert.Equal(t, "NaN", te.Message)
		case "infinity":
			assert.Equal(t, "-Infinity", te.Message)
		}
	}
}

func TestHelperWorkerFailsOnlyTheUncloneableAnswerOfABatch(t *testing.T) {
	// Three tasks that finish together, so that their answers leave in one
	// worker-response-batch; one answer cannot be cloned.
	script := jstest.HelperWorker(t, `let started = 0, go;
const all = new Promise((r) => { go = r; });
const together = () => { if (++started === 3) go(); return all; };
atmoWorker({
  ok: (x) => together().then(() => x),
  fn: () => together().then(() => () => 1),
});`)
	tm, _ := pool(t, atmo.WorkerConfig{Tasks: []string{"ok", "fn"}, Script: script, Concurrency: 3})
	ctx := testCtx(t)
	type answer struct {
		got any
		err error
	}
	answers := make([]chan answer, 3)
	for i, name := range []string{"ok", "fn", "ok"} {
		answers[i] = make(chan answer, 1)
		go func() {
			got, err := tm.Do(ctx, name, float64(i))
			answers[i] <- answer{got, err}
		}()
	}
	first, second, third := <-answers[0], <-answers[1], <-answers[2]
	require.NoError(t, first.err)
	assert.Equal(t, 0.0, first.got)
	require.NoError(t, third.err)
	assert.Equal(t, 2.0, third.got)
	var te *atmo.TaskError
	require.ErrorAs(t, second.err, &te)
	assert.Contains(t, te.Message, "could not be cloned")
}

func TestParamsThatCannotBePostedFailOnlyTheirOwnTask(t *testing.T) {
	tm, _ := pool(t, atmo.WorkerConfig{Tasks: []string{"echo"}, Script: jstest.HelperWorker(t, `atmoWorker({ echo: (x) => x });`), Concurrency: 4})
	ctx := testCtx(t)
	fn := js.Global().Get("Function").New("")
	_, err := tm.Do(ctx, "echo", map[string]any{"f": fn})
	var te *atmo.TaskError
	require.ErrorAs(t, err, &te, "a function cannot cross to a worker")
	assert.Contains(t, te.Message, "params could not be posted to the worker")

	// Three tasks in one turn: the first is posted alone, the other two
	// in one worker-work-batch, which the function spoils.
	results := make(chan atmo.Response, 3)
	done := func(r atmo.Response) { results <- r }
	for _, p := range []any{0.0, fn, 2.0} {
		_, err := tm.AddTask(atmo.TaskParams{Name: "echo", Params: p, Context: ctx, OnSuccess: done, OnError: done})
		require.NoError(t, err)
	}
	var got []any
	var failed []string
	for range 3 {
		r := <-results
		if r.Err != nil {
			failed = append(failed, r.Error)
			continue
		}
		got = append(got, r.Content)
	}
	assert.ElementsMatch(t, []any{0.0, 2.0}, got, "the others still go")
	require.Len(t, failed, 1)
	assert.Contains(t, failed[0], "params could not be posted to the worker")

	got1, err := tm.Do(ctx, "echo", "still here")
	require.NoError(t, err)
	assert.Equal(t, "still here", got1)
}

func TestHelperLoadsAsAModule(t *testing.T) {
	helper := jstest.FileURL(t, "jsworker/atmo-worker.js")
	script := jstest.BlobURL(t, fmt.Sprintf(`import %q; globalThis.atmoWorker({ twice: (x) => x * 2 });`, helper))
	tm := atmo.NewTaskManager()
	defer tm.Close()
	wm, err := atmo.NewBrowserWorkerManager(tm, atmo.WorkerConfig{Tasks: []string{"twice"}, Script: script, Type: "module"})
	require.NoError(t, err)
	defer wm.Close()
	got, err := tm.Do(testCtx(t), "twice", 21)
	require.NoError(t, err)
	assert.Equal(t, 42.0, got)
}

type point struct {
	X      int    `json:"x"`
	Y      int    `json:"y"`
	Label  string `json:"label,omitempty"`
	hidden int
}

func TestValuesCrossBothWays(t *testing.T) {
	tm, _ := pool(t, atmo.WorkerConfig{Tasks: []string{"echo"}, Script: jstest.HelperWorker(t, `atmoWorker({ echo: (p) => p });`)})
	ctx := testCtx(t)
	got, err := tm.Do(ctx, "echo", point{X: 1, Y: 2})
	require.NoError(t, err)
	assert.Equal(t, map[string]any{"x": 1.0, "y": 2.0}, got)

	got, err = tm.Do(ctx, "echo", []byte{1, 2, 3, 250})
	require.NoError(t, err)
	assert.Equal(t, []byte{1, 2, 3, 250}, got)

	got, err = tm.Do(ctx, "echo", map[string]any{"list": []any{"a", true, nil, 1.5}, "n": int64(7)})
	require.NoError(t, err)
	assert.Equal(t, map[string]any{"list": []any{"a", true, nil, 1.5}, "n": 7.0}, got)

	_, err = tm.Do(ctx, "echo", map[string]any{"f": func() {}})
	require.ErrorIs(t, err, atmo.ErrBadParams)
	assert.Contains(t, err.Error(), "params.f")
	_, err = tm.AddTask(atmo.TaskParams{Name: "echo", Params: make(chan int)})
	require.ErrorIs(t, err, atmo.ErrBadParams)
}

func TestTypedArraysComeBackAsBytes(t *testing.T) {
	tm, _ := pool(t, atmo.WorkerConfig{Tasks: []string{"bytes"}, Script: jstest.HelperWorker(t,
		`atmoWorker({ bytes: () => ({ u8: new Uint8Array([1, 2]), buf: new Uint16Array([1]).buffer, f32: new Float32Array([1]) }) });`)})
	got, err := tm.Do(testCtx(t), "bytes", nil)
	require.NoError(t, err)
	assert.Equal(t, map[string]any{"u8": []byte{1, 2}, "buf": []byte{1, 0}, "f32": []byte{0, 0, 0x80, 0x3f}}, got)
}

func TestCallbackMayCallDo(t *testing.T) {
	tm, _ := pool(t, atmo.WorkerConfig{Tasks: mathTasks, Script: jstest.FileURL(t, mathWorker)})
	got := make(chan any, 1)
	_, err := tm.AddTask(atmo.TaskParams{
		Name: "add", Params: map[string]any{"a": 1, "b": 2},
		OnSuccess: func(r atmo.Response) {
			v, err := tm.Do(context.Background(), "multiply", map[string]any{"a": r.Content, "b": 10})
			if err != nil {
				got <- err
				return
			}
			got <- v
		},
	})
	require.NoError(t, err)
	assert.Equal(t, 30.0, <-got)
}

func TestDoStopsWhenItsContextEnds(t *testing.T) {
	tm, _ := pool(t, atmo.WorkerConfig{Tasks: []string{"slow"}, Script: echoScript(t, "slow")})
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	_, err := tm.Do(ctx, "slow", map[string]any{"delay": 5000})
	require.ErrorIs(t, err, atmo.ErrCanceled)
	require.True(t, errors.Is(err, context.DeadlineExceeded))
}

// Do inside a js.FuncOf callback blocks the page's event loop, so the
// worker's answer cannot arrive: with a deadline it returns then, and its
// error says why, and what to do, where it said only that its context
// ended. A Do from a goroutine says nothing of it.
func TestDoInsideAJSCallbackSaysSoWhenItsContextEnds(t *testing.T) {
	tm, _ := pool(t, atmo.WorkerConfig{Tasks: []string{"echo"}, Script: jstest.HelperWorker(t, `atmoWorker({ echo: (p) => p });`)})
	var err error
	f := js.FuncOf(func(js.Value, []js.Value) any {
		ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
		defer cancel()
		_, err = tm.Do(ctx, "echo", 1)
		return nil
	})
	defer f.Release()
	f.Invoke()
	require.ErrorIs(t, err, context.DeadlineExceeded)
	assert.ErrorContains(t, err, "Do was called inside a JS callback")
	assert.ErrorContains(t, err, "call Do from a goroutine")

	ctx, cancel := context.WithTimeout(context.Background(), time.Nanosecond)
	defer cancel()
	_, err = tm.Do(ctx, "echo", 1)
	if err != nil {
		assert.NotContains(t, err.Error(), "JS callback")
	}
}

func TestASeedAnswersErrorFieldFailsItsTaskOnlyWhenTruthyAsTheSeedReadIt(t *testing.T) {
	script := jstest.BlobURL(t, `
let id;
const errors = { zero: 0, nan: NaN, empty: '', no: false, plain: new Error(), coded: { code: 42 },
  boxedFalse: new Boolean(false), boxedZero: new Number(0), boxedEmpty: new String(''), invalidDate: new Date(NaN) };
self.onmessage = (e) => {
  const d = e.data;
  if (d.message === 'init-worker') { id = d.id; self.postMessage({ message: 'worker-ready', workerId: id, content: { tasks: d.content } }); }
  if (d.message === 'worker-work') self.postMessage({ message: 'worker-response', taskId: d.taskId, workerId: id, content: 'ok', error: errors[d.content.params] });
};`)
	tm, _ := pool(t, atmo.WorkerConfig{Tasks: []string{"answer"}, Script: script})
	for _, falsy := range []string{"zero", "nan", "empty", "no"} {
		got, err := tm.Do(testCtx(t), "answer", falsy)
		require.NoError(t, err, falsy)
		assert.Equal(t, "ok", got)
	}
	_, err := tm.Do(testCtx(t), "answer", "plain")
	var te *atmo.TaskError
	require.ErrorAs(t, err, &te)
	assert.Equal(t, "Error", te.Message, "an Error without a message: its name")
	_, err = tm.Do(testCtx(t), "answer", "coded")
	require.ErrorAs(t, err, &te)
	assert.Equal(t, `{"code":42}`, te.Message)
	// Objects are truthy in JS, though these read in Go as a falsy value
	// (boxed primitives as theirs, an invalid Date as nil): the seed failed
	// them, and a task failed never settles as a success without content.
	for boxed, reads := range map[string]string{"boxedFalse": "false", "boxedZero": "0", "boxedEmpty": `""`, "invalidDate": "null"} {
		got, err := tm.Do(testCtx(t), "answer", boxed)
		require.ErrorAs(t, err, &te, "%s: got %#v", boxed, got)
		assert.Equal(t, "the worker's error, a truthy JS object that reads as "+reads, te.Message, boxed)
	}
}

func TestAHelperHandlerThatThrowsAnObjectWithAMessageFailsWithThatMessage(t *testing.T) {
	tm, _ := pool(t, atmo.WorkerConfig{Tasks: []string{"throw"}, Script: jstest.HelperWorker(t, `atmoWorker({
  throw: () => { throw { message: 'out of paper', code: 7 }; },
});`)})
	_, err := tm.Do(testCtx(t), "throw", nil)
	var te *atmo.TaskError
	require.ErrorAs(t, err, &te)
	assert.Equal(t, "out of paper", te.Message)
}

func TestAWorkerWhoseConfigListsTasksItDoesNotHandleClosesAtOnceSayingWhich(t *testing.T) {
	for kind, c := range map[string]atmo.WorkerConfig{
		"js": {Tasks: []string{"add", "fibonacci"}, Script: jstest.HelperWorker(t, `atmoWorker({ add: ({ a, b }) => a + b });`)},
		"go": {Tasks: []string{"echo", "fibonacci"}, Module: moduleURL(t, goTestModule)},
	} {
		t.Run(kind, func(t *testing.T) {
			tm := atmo.NewTaskManager()
			wm, err := atmo.NewBrowserWorkerManager(tm, c)
			require.NoError(t, err)
			t.Cleanup(func() { wm.Close(); tm.Close() })
			err = wm.Ready(goCtx(t))
			require.Error(t, err, "Ready says the config is wrong")
			assert.Regexp(t, `worker-1 \(.*\) closed: its WorkerConfig.Tasks lists fibonacci, which`, err.Error(), "a sentence after the worker's name")
			assert.Contains(t, err.Error(), "does not handle (it handles: ")
			w := wm.Workers()[0]
			assert.Equal(t, atmo.WorkerClosed, w.Status())
			assert.Equal(t, 0, tm.Stats().Restarted, "closed at once: starting again would not help")
			_, err = tm.Do(goCtx(t), "fibonacci", nil)
			require.ErrorIs(t, err, atmo.ErrNoWorker)
			assert.Contains(t, err.Error(), "fibonacci, which", "the task says why no worker takes it")
		})
	}
}

func TestASeedScriptWrittenAsAnESModuleRunsWithoutItsType(t *testing.T) {
	// The seed's later versions start scripts as modules; here a script
	// of no Type starts classic, and one that turns out to be a module
	// starts again as one.
	script := jstest.BlobURL(t, `
let id;
const twice = (n) => 2 * n;
self.onmessage = (e) => {
  const d = e.data;
  if (d.message === 'init-worker') { id = d.id; self.postMessage({ message: 'worker-ready', workerId: id, content: { tasks: d.content } }); }
  if (d.message === 'worker-work') self.postMessage({ message: 'worker-response', taskId: d.taskId, workerId: id, content: twice(d.content.params) });
};
export { twice };`)
	tm, wm := pool(t, atmo.WorkerConfig{Tasks: []string{"twice"}, Script: script})
	got, err := tm.Do(testCtx(t), "twice", 21)
	require.NoError(t, err)
	assert.Equal(t, 42.0, got)
	assert.Contains(t, wm.Workers()[0].LastError(), "it is an ES module: set WorkerConfig.Type to \"module\"; atmo starts it as one if it starts again")

	tm2 := atmo.NewTaskManager()
	wm2, err := atmo.NewBrowserWorkerManager(tm2, atmo.WorkerConfig{Tasks: []string{"twice"}, Script: script, Type: "classic", Restart: atmo.RestartPolicy{MaxBootFailures: 1}})
	require.NoError(t, err)
	t.Cleanup(func() { wm2.Close(); tm2.Close() })
	err = wm2.Ready(testCtx(t))
	require.Error(t, err, "an explicit classic Type is kept")
	assert.Contains(t, err.Error(), "Unexpected token 'export'")
}

func TestAnESModuleOfNoTypeFoundOnceStartsItsConfigsOtherWorkersAsModules(t *testing.T) {
	// The first worker's failed classic start tells for the config: the
	// workers it grows start as modules at once, with no failed start each.
	script := jstest.BlobURL(t, `
let id;
self.onmessage = (e) => {
  const d = e.data;
  if (d.message === 'init-worker') { id = d.id; self.postMessage({ message: 'worker-ready', workerId: id, content: { tasks: d.content } }); }
  if (d.message === 'worker-work') setTimeout(() => self.postMessage({ message: 'worker-response', taskId: d.taskId, workerId: id, content: d.content.params }), 50);
};
export {};`)
	tm, wm := pool(t, atmo.WorkerConfig{Tasks: []string{"slow"}, Script: script, MaxWorkers: 3, IdleTimeout: time.Minute})
	require.NoError(t, wm.Ready(testCtx(t)))
	require.Equal(t, 1, tm.Stats().Restarted, "the first start, as a classic script, failed")
	errs := make(chan error, 6)
	for i := range 6 {
		go func() { _, err := tm.Do(testCtx(t), "slow", i); errs <- err }()
	}
	for range 6 {
		require.NoError(t, <-errs)
	}
	assert.Equal(t, 2, tm.Stats().Grown)
	assert.Equal(t, 1, tm.Stats().Restarted, "the grown workers started as modules at once")
}

func TestAClassicScriptWhoseImportedLibraryHasModuleSyntaxIsNotRestartedAsAModule(t *testing.T) {
	// The classic script is fine; what it loads with importScripts is not.
	// Started as a module, it would fail for its importScripts instead,
	// and say nothing of the library.
	lib := jstest.BlobURL(t, `export const x = 1;`)
	script := jstest.BlobURL(t, `importScripts('`+lib+`');
self.onmessage = (e) => { const d = e.data; if (d.message === 'init-worker') self.postMessage({ message: 'worker-ready', workerId: d.id, content: { tasks: d.content } }); };`)
	tm := atmo.NewTaskManager()
	wm, err := atmo.NewBrowserWorkerManager(tm, atmo.WorkerConfig{Tasks: []string{"x"}, Script: script, Restart: atmo.RestartPolicy{Backoff: time.Millisecond}})
	require.NoError(t, err)
	t.Cleanup(func() { wm.Close(); tm.Close() })
	err = wm.Ready(testCtx(t))
	require.ErrorIs(t, err, atmo.ErrWorkerStart)
	assert.Contains(t, err.Error(), "Unexpected token 'export'", "the library's own error")
	assert.Contains(t, err.Error(), "(in "+lib+", not the worker's script as atmo named it, so it stays a classic script")
	assert.NotContains(t, err.Error(), "Module scripts don't support importScripts()")
	assert.NotContains(t, err.Error(), "it is an ES module")
}

func TestAClassicScriptThatMeetsModuleSyntaxWhileRunningStaysClassic(t *testing.T) {
	script := jstest.HelperWorker(t, `atmoWorker({
  evalModuleLater: () => { setTimeout(() => (0, eval)('export const x = 1;')); return 'ok'; },
  classic: () => typeof importScripts,
});`)
	tm, wm := pool(t, atmo.WorkerConfig{Tasks: []string{"evalModuleLater", "classic"}, Script: script})
	_, err := tm.Do(testCtx(t), "evalModuleLater", nil)
	require.NoError(t, err)
	require.Eventually(t, func() bool { return tm.Stats().Restarted == 1 }, 5*time.Second, time.Millisecond,
		"the uncaught SyntaxError, outside a task, restarts the worker")
	assert.NotContains(t, wm.Workers()[0].LastError(), "ES module")
	require.NoError(t, wm.Ready(testCtx(t)))
	got, err := tm.Do(testCtx(t), "classic", nil)
	require.NoError(t, err)
	assert.Equal(t, "function", got, "restarted as the classic script it is")
}

// A Go module named as a Script (Script: "/workers/math.wasm") ran as
// JavaScript and failed with "Uncaught SyntaxError: Invalid or unexpected
// token", three times, where under Node.js the same mistake says where a
// .wasm goes.
func TestAWasmFileGivenAsAScriptFailsSayingItGoesInModule(t *testing.T) {
	// The test binary itself: the one .wasm path wasmbrowsertest serves.
	url := js.Global().Get("Function").New(`return performance.getEntriesByType('resource').map((e) => e.name).find((n) => /\.wasm$/.test(n)) || ''`).Invoke().String()
	require.NotEmpty(t, url, "the test binary's URL")
	err := startErrorOf(t, atmo.WorkerConfig{Tasks: []string{"add"}, Script: url + "?v=1", Restart: atmo.RestartPolicy{MaxBootFailures: 1}})
	require.ErrorIs(t, err, atmo.ErrWorkerStart)
	assert.Contains(t, err.Error(), "a .wasm file is no script: a Go WASM worker module goes in WorkerConfig.Module, not Script")
}

// A module worker's syntax error, in its script or in a module it
// imports, comes as an error event with no message, as a 404 does: it
// failed saying "a 404, a network error, or a wrong MIME type" only, none
// of which it was.
func TestAModuleWorkersSyntaxErrorIsNotBlamedOnlyOnA404(t *testing.T) {
	lib := jstest.BlobURL(t, "export const x = ;")
	for name, src := range map[string]string{
		"in its script":          "self.onmessage = function ( {",
		"in a module it imports": "import '" + lib + "';",
	} {
		t.Run(name, func(t *testing.T) {
			err := startErrorOf(t, atmo.WorkerConfig{Tasks: []string{"add"}, Script: jstest.BlobURL(t, src), Type: "module", Restart: atmo.RestartPolicy{MaxBootFailures: 1}})
			require.ErrorIs(t, err, atmo.ErrWorkerStart)
			assert.Contains(t, err.Error(), "or a syntax error in it or in a module it imports")
		})
	}
}

// A wrong URL that a server answers with a page (an app's index.html for
// any path) failed with "Uncaught SyntaxError: Unexpected token '<'" alone.
func TestAScriptURLAnsweredWithAPageFailsSayingItIsHTML(t *testing.T) {
	page := jstest.BytesURL(t, []byte("<!doctype html><html><body>app</body></html>"), "text/html")
	err := startErrorOf(t, atmo.WorkerConfig{Tasks: []string{"add"}, Script: page, Restart: atmo.RestartPolicy{MaxBootFailures: 1}})
	require.ErrorIs(t, err, atmo.ErrWorkerStart)
	assert.Contains(t, err.Error(), "it reads as HTML, not JavaScript: check the URL")
}

// A worker script's error event carries where it happened: the file, the
// line and the column. A syntax error on line 3, or a throw in a library
// the script loaded with importScripts, is named with its place, not by
// its text alone.
func TestAWorkerScriptsErrorNamesItsLineAndFile(t *testing.T) {
	err := startError(t, jstest.BlobURL(t, "// one\n// two\nconst x = ( => 1;\n"), "add")
	require.ErrorIs(t, err, atmo.ErrWorkerStart)
	assert.Contains(t, err.Error(), "Uncaught SyntaxError: Unexpected token '=>'")
	assert.Contains(t, err.Error(), ":3:13")

	lib := jstest.BlobURL(t, "// a\n// b\n// c\nnope();")
	err = startError(t, jstest.BlobURL(t, "importScripts('"+lib+"');\n"), "add")
	require.ErrorIs(t, err, atmo.ErrWorkerStart)
	assert.Contains(t, err.Error(), "Uncaught ReferenceError: nope is not defined")
	assert.Contains(t, err.Error(), lib+":4:1", "the library that threw is named, not only the worker's script")
}

func TestAHugeUncaughtErrorDuringATaskIsCutAsAWorkersErrorIs(t *testing.T) {
	script := jstest.BlobURL(t, `
let id;
self.onmessage = (e) => {
  const d = e.data;
  if (d.message === 'init-worker') { id = d.id; self.postMessage({ message: 'worker-ready', workerId: id }); return; }
  if (d.message !== 'worker-work') return;
  throw new Error('bad row: ' + 'x'.repeat(1 << 20));
};`)
	tm, wm := pool(t, atmo.WorkerConfig{Tasks: []string{"t"}, Script: script})
	_, err := tm.Do(testCtx(t), "t", nil)
	var te *atmo.TaskError
	require.ErrorAs(t, err, &te)
	assert.Contains(t, te.Message, "bad row: xxx")
	assert.Less(t, len(te.Message), 8<<10, "an uncaught error's text is cut, as a worker's error over 4 KiB is")
	assert.Less(t, len(wm.Workers()[0].LastError()), 8<<10)
}
