//go:build js && wasm

package atmo_test

import (
	"sync"
	"syscall/js"
	"testing"
	"time"

	"github.com/atmoworkers/atmo/wasm/atmo"
	"github.com/atmoworkers/atmo/wasm/internal/jstest"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// orderWorker numbers the tasks in the order it starts them, and records
// when each async task starts and ends, by the worker's own clock.
const orderWorker = `
let n = 0;
atmoWorker({
  order: async ({ ms }) => { const i = ++n; await new Promise((r) => setTimeout(r, ms || 0)); return i; },
  span: async ({ ms }) => { const start = performance.now(); await new Promise((r) => setTimeout(r, ms)); return { start, end: performance.now() }; },
  steps: async ({ n }, { progress }) => { for (let i = 1; i <= n; i++) { progress(i); await null; } return 'done'; },
});`

var orderTasks = []string{"order", "span", "steps"}

func TestPrioritiesReorderABackedUpQueue(t *testing.T) {
	tm, _ := pool(t, atmo.WorkerConfig{Tasks: orderTasks, Script: jstest.HelperWorker(t, orderWorker)})
	ran := map[string]float64{}
	var mu sync.Mutex
	var wg sync.WaitGroup
	add := func(label string, priority, ms int) {
		wg.Add(1)
		_, err := tm.AddTask(atmo.TaskParams{Name: "order", Params: map[string]any{"ms": ms}, Priority: priority,
			OnSuccess: func(r atmo.Response) { mu.Lock(); ran[label] = r.Content.(float64); mu.Unlock(); wg.Done() },
			OnError:   func(r atmo.Response) { t.Error(r.Error); wg.Done() }})
		require.NoError(t, err)
	}
	add("blocker", 0, 200)
	require.Eventually(t, func() bool { return len(tm.Status().Working) == 1 }, 5*time.Second, time.Millisecond)
	add("low", -1, 0)
	add("normal", 0, 0)
	add("high", 10, 0)
	add("normal2", 0, 0)
	add("higher", 20, 0)
	wg.Wait()
	assert.Equal(t, map[string]float64{"blocker": 1, "higher": 2, "high": 3, "normal": 4, "normal2": 5, "low": 6}, ran)
}

func TestConcurrencyOverlapsAsyncJSHandlersInOneWorker(t *testing.T) {
	tm, _ := pool(t, atmo.WorkerConfig{Tasks: orderTasks, Script: jstest.HelperWorker(t, orderWorker), Concurrency: 4})
	var wg sync.WaitGroup
	spans := make([]map[string]any, 4)
	for i := range spans {
		wg.Add(1)
		go func() {
			defer wg.Done()
			got, err := tm.Do(testCtx(t), "span", map[string]any{"ms": 200})
			require.NoError(t, err)
			spans[i] = got.(map[string]any)
		}()
	}
	wg.Wait()
	latestStart, earliestEnd := 0.0, 1e18
	for _, s := range spans {
		latestStart = max(latestStart, s["start"].(float64))
		earliestEnd = min(earliestEnd, s["end"].(float64))
	}
	assert.Less(t, latestStart, earliestEnd, "all four ran at once inside the worker")
}

func TestThePoolGrowsUnderABurstAndShrinksBackAfterIdleTimeout(t *testing.T) {
	tm, wm := pool(t, atmo.WorkerConfig{Tasks: orderTasks, Script: jstest.HelperWorker(t, orderWorker),
		Count: 1, MaxWorkers: 3, IdleTimeout: 300 * time.Millisecond})
	var wg sync.WaitGroup
	used := map[string]bool{}
	var mu sync.Mutex
	for i := 0; i < 12; i++ {
		wg.Add(1)
		_, err := tm.AddTask(atmo.TaskParams{Name: "order", Params: map[string]any{"ms": 100},
			OnSuccess: func(r atmo.Response) { mu.Lock(); used[r.WorkerID] = true; mu.Unlock(); wg.Done() },
			OnError:   func(r atmo.Response) { t.Error(r.Error); wg.Done() }})
		require.NoError(t, err)
	}
	require.Eventually(t, func() bool { return len(wm.Workers()) == 3 }, 5*time.Second, time.Millisecond, "grew to MaxWorkers")
	wg.Wait()
	assert.Greater(t, len(used), 1, "the new workers took tasks")
	require.Eventually(t, func() bool { return len(wm.Workers()) == 1 }, 5*time.Second, 10*time.Millisecond, "shrank back to Count")
	s := tm.Stats()
	assert.Equal(t, 2, s.Grown)
	assert.Equal(t, 2, s.Released)
}

func TestProgressArrivesInOrderBeforeTheResultFromJSAndGo(t *testing.T) {
	tm, _ := pool(t,
		atmo.WorkerConfig{Tasks: []string{"steps"}, Script: jstest.HelperWorker(t, orderWorker)},
		atmo.WorkerConfig{Tasks: []string{"progress"}, Module: moduleURL(t, goTestModule)},
	)
	for name, params := range map[string]any{"steps": map[string]any{"n": 20}, "progress": map[string]any{"steps": 20}} {
		var got []any
		var mu sync.Mutex
		res := make(chan atmo.Response, 1)
		var events []any
		unsubscribe := tm.Subscribe(func(m atmo.Message) {
			if m.Kind == atmo.KindWorkerProgress {
				mu.Lock()
				events = append(events, m.Content)
				mu.Unlock()
			}
		})
		_, err := tm.AddTask(atmo.TaskParams{Name: name, Params: params,
			OnProgress: func(p atmo.Progress) { mu.Lock(); got = append(got, p.Content); mu.Unlock() },
			OnSuccess:  func(r atmo.Response) { res <- r },
			OnError:    func(r atmo.Response) { res <- r }})
		require.NoError(t, err)
		r := <-res
		require.NoError(t, r.Err, name)
		assert.Equal(t, "done", r.Content)
		mu.Lock()
		require.Len(t, got, 20, "%s: every report came before the result", name)
		for i, v := range got {
			assert.Equal(t, float64(i+1), v, name)
		}
		mu.Unlock()
		require.Eventually(t, func() bool { mu.Lock(); defer mu.Unlock(); return len(events) == 20 }, 5*time.Second, time.Millisecond, "on the event stream too")
		unsubscribe()
	}
}

func TestStatsMatchTheWorkDone(t *testing.T) {
	script := jstest.FileURL(t, mathWorker)
	tm, _ := pool(t, atmo.WorkerConfig{Tasks: mathTasks, Script: script}, atmo.WorkerConfig{Tasks: mathTasks, Script: script})
	for i := 0; i < 40; i++ {
		_, err := tm.Do(testCtx(t), "add", map[string]any{"a": i, "b": 1})
		require.NoError(t, err)
	}
	_, err := tm.Do(testCtx(t), "divide", map[string]any{"a": 1, "b": 0})
	require.Error(t, err)
	s := tm.Stats()
	assert.Equal(t, 41, s.Submitted)
	assert.Equal(t, 40, s.Done)
	assert.Equal(t, 1, s.Failed)
	assert.Equal(t, 0, s.Queued)
	assert.Equal(t, 0, s.Running)
	assert.Equal(t, 41, s.RunTime.Count)
	assert.Greater(t, s.RunTime.Max, time.Duration(0))
	require.Len(t, s.Workers, 2)
	total := 0
	for _, w := range s.Workers {
		assert.Equal(t, "js", w.Kind)
		assert.Equal(t, atmo.WorkerAvailable, w.Status)
		assert.Greater(t, w.Uptime, time.Duration(0))
		total += w.Done
	}
	assert.Equal(t, 41, total)
}

func TestALargeProgressReportArrivesWhole(t *testing.T) {
	tm, _ := pool(t, atmo.WorkerConfig{Tasks: []string{"big"}, Script: jstest.HelperWorker(t, `atmoWorker({
  big: (_, { progress }) => { progress(Array.from({ length: 100000 }, (_, i) => ({ i }))); return 'done'; },
});`)})
	reports, r := runWithProgress(t, tm, "big", nil)
	require.NoError(t, r.Err)
	require.Len(t, reports, 1)
	items, _ := reports[0].([]any)
	require.Len(t, items, 100000)
	whole := 0
	for _, it := range items {
		if it != nil {
			whole++
		}
	}
	assert.Equal(t, 100000, whole, "100,000 objects, none cut off")
}

// runWithProgress runs one task and returns the contents of its progress
// reports, in the order OnProgress had them, and its answer.
func runWithProgress(t *testing.T, tm *atmo.TaskManager, name string, params any) ([]any, atmo.Response) {
	t.Helper()
	var reports []any
	res := make(chan atmo.Response, 1)
	_, err := tm.AddTask(atmo.TaskParams{Name: name, Params: params,
		OnProgress: func(p atmo.Progress) { reports = append(reports, p.Content) }, // runs before OnSuccess/OnError
		OnSuccess:  func(r atmo.Response) { res <- r },
		OnError:    func(r atmo.Response) { res <- r }})
	require.NoError(t, err)
	r := <-res
	return reports, r
}

// A generalist closed while adds wait that the specialist's growing
// workers already cover grows no worker for them, where its group grew one
// per waiting task of all its names.
func TestAGeneralistClosingWhileASpecialistGrowsStartsNoWorkerForTheCoveredTasks(t *testing.T) {
	// The specialist's grown workers (all but worker-1) never say
	// worker-ready here: they stay starting for the test's length.
	specialist := jstest.HelperWorker(t, `if (self.name === 'worker-1') atmoWorker({
  add: async () => { await new Promise((r) => setTimeout(r, 3000)); return self.name; },
});`)
	generalist := jstest.HelperWorker(t, `atmoWorker({
  add: async () => { await new Promise((r) => setTimeout(r, 3000)); return self.name; },
  mul: () => self.name,
});`)
	tm, wm := pool(t,
		atmo.WorkerConfig{Tasks: []string{"add"}, Script: specialist, Count: 1, MaxWorkers: 3},
		atmo.WorkerConfig{Tasks: []string{"add", "mul"}, Script: generalist, Count: 2, MaxWorkers: 4})
	for range 5 { // three run, two wait and grow two specialists
		_, err := tm.AddTask(atmo.TaskParams{Name: "add"})
		require.NoError(t, err)
	}
	require.Equal(t, 2, tm.Stats().Grown)
	require.NoError(t, wm.Workers()[1].Close()) // a generalist
	s := tm.Stats()
	assert.Equal(t, 2, s.Grown, "the specialists starting for the two waiting adds cover them: no generalist grows for them: %+v", s)
}

// A specialist already starting a worker with room for every add that
// waits covers the next one too: the generalist does not grow for it.
func TestAGeneralistDoesNotGrowForATaskASpecialistsStartingWorkerHasRoomFor(t *testing.T) {
	// The specialist's grown workers (all but worker-1) never say
	// worker-ready here: they stay starting for the test's length.
	specialist := jstest.HelperWorker(t, `if (self.name === 'worker-1') atmoWorker({
  add: async ({ ms }) => { await new Promise((r) => setTimeout(r, ms)); return self.name; },
});`)
	generalist := jstest.HelperWorker(t, `atmoWorker({
  add: async ({ ms }) => { await new Promise((r) => setTimeout(r, ms)); return self.name; },
  mul: () => self.name,
});`)
	tm, _ := pool(t,
		atmo.WorkerConfig{Tasks: []string{"add"}, Script: specialist, Count: 1, MaxWorkers: 3},
		atmo.WorkerConfig{Tasks: []string{"add", "mul"}, Script: generalist, Count: 1, MaxWorkers: 3})
	add := func(ms int) {
		_, err := tm.AddTask(atmo.TaskParams{Name: "add", Params: map[string]any{"ms": ms}})
		require.NoError(t, err)
	}
	add(5000) // worker-1, the specialist
	add(300)  // worker-2, the generalist
	add(5000) // waits: a specialist grows
	require.Equal(t, 1, tm.Stats().Grown)
	require.Eventually(t, func() bool { s := tm.Stats(); return s.Done == 1 && s.Queued == 0 }, 5*time.Second, time.Millisecond, "the generalist took the waiting add")
	add(5000) // waits: the starting specialist has room for it
	s := tm.Stats()
	assert.Equal(t, 1, s.Grown, "%+v", s)
}

// In real workers: a grown worker is not released while the Count worker
// is down (backing off after a crash, then failing its restarts: its
// script's URL is gone); once the Count worker gives up, the group still
// has the grown worker, and its tasks run.
func TestAGrownWorkerIsNotReleasedWhileItsCountWorkerIsDownInTheBrowser(t *testing.T) {
	script := echoScript(t, "job")
	tm, wm := pool(t, atmo.WorkerConfig{Tasks: []string{"job"}, Script: script, Count: 1, MaxWorkers: 2,
		IdleTimeout: 200 * time.Millisecond, Restart: atmo.RestartPolicy{Backoff: time.Second, MaxBootFailures: 2}})
	w1 := wm.Workers()[0]
	w1.Terminate() // backs off 1s
	r, err := tm.Do(testCtx(t), "job", nil)
	require.NoError(t, err)
	grown := r.(map[string]any)["worker"]
	require.NotEqual(t, w1.ID(), grown)
	js.Global().Get("URL").Call("revokeObjectURL", script) // its server goes down
	require.Eventually(t, func() bool { return w1.Status() == atmo.WorkerClosed }, 15*time.Second, 10*time.Millisecond, "the Count worker gives up")
	assert.Equal(t, 0, tm.Stats().Released, "the grown worker was released while the Count worker was down")
	r, err = tm.Do(testCtx(t), "job", nil)
	require.NoError(t, err, "the group had a healthy worker a moment ago")
	assert.Equal(t, grown, r.(map[string]any)["worker"])
}
