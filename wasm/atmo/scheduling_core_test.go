package atmo

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestThePoolGrowsUnderABurstAndShrinksBackWhenIdle(t *testing.T) {
	tm := NewTaskManager()
	defer tm.Close()
	clk := withClock(tm)
	release := make(chan struct{})
	p, _ := fakePool(t, tm, func(w *TaskWorker, name string, params any) (any, string) {
		<-release
		return nil, ""
	}, WorkerConfig{Tasks: []string{"job"}, Script: "a", Count: 1, MaxWorkers: 3, IdleTimeout: time.Minute})
	require.NoError(t, p.ready(ctx(t)))
	var wg sync.WaitGroup
	for i := 0; i < 10; i++ {
		wg.Add(1)
		go func() { defer wg.Done(); _, _ = tm.Do(ctx(t), "job", nil) }()
	}
	settleSoon(t, func() bool { return len(p.list()) == 3 })
	require.NoError(t, p.ready(ctx(t)))
	assert.Equal(t, 2, tm.Stats().Grown, "grew to MaxWorkers and no further")
	close(release)
	wg.Wait()
	settleSoon(t, func() bool { return tm.Stats().Running == 0 })
	clk.Advance(time.Minute - time.Second)
	assert.Len(t, p.list(), 3, "not before IdleTimeout")
	clk.Advance(time.Second)
	assert.Len(t, p.list(), 1, "back to Count")
	assert.Equal(t, 2, tm.Stats().Released)
	_, err := tm.Do(ctx(t), "job", nil)
	require.NoError(t, err)
}

func TestAGrownPoolShrinksBackUnderATrickleItsCountWorkersCanServe(t *testing.T) {
	tm := NewTaskManager()
	defer tm.Close()
	clk := withClock(tm)
	// The first task of each worker waits at its worker's gate.
	gates := map[string]chan struct{}{"worker-1": make(chan struct{}), "worker-2": make(chan struct{})}
	var mu sync.Mutex
	n := 0
	p, _ := fakePool(t, tm, func(w *TaskWorker, name string, params any) (any, string) {
		mu.Lock()
		g := gates[w.id]
		delete(gates, w.id)
		n++
		mu.Unlock()
		if g != nil {
			<-g
		}
		return w.id, ""
	}, WorkerConfig{Tasks: []string{"job"}, Script: "a", Count: 1, MaxWorkers: 2, IdleTimeout: time.Minute})
	require.NoError(t, p.ready(ctx(t)))
	open1, open2 := gates["worker-1"], gates["worker-2"]
	r1 := doAsync(tm, TaskParams{Name: "job"}) // worker-1
	r2 := doAsync(tm, TaskParams{Name: "job"}) // queued: worker-2 grows and takes it
	settleSoon(t, func() bool { mu.Lock(); defer mu.Unlock(); return n == 2 })
	close(open1)
	require.Equal(t, "worker-1", (<-r1).Content)
	close(open2) // the grown worker answers last: the warm one
	require.Equal(t, "worker-2", (<-r2).Content)
	for range 30 { // one task every 10 s for 5 minutes
		got, err := tm.Do(ctx(t), "job", nil)
		require.NoError(t, err)
		assert.Equal(t, "worker-1", got, "a tie goes to a Count worker, so a grown one can idle")
		clk.Advance(10 * time.Second)
	}
	assert.Len(t, p.list(), 1, "the grown worker was released once idle for IdleTimeout")
}

func TestAGrownPoolShrinksBackWhenItsCountWorkersHaveRoomForTheLoad(t *testing.T) {
	tm := NewTaskManager()
	defer tm.Close()
	clk := withClock(tm)
	var mu sync.Mutex
	gate, entered := make(chan struct{}), 0
	p, _ := fakePool(t, tm, func(w *TaskWorker, name string, params any) (any, string) {
		mu.Lock()
		g := gate
		entered++
		mu.Unlock()
		<-g
		return w.id, ""
	}, WorkerConfig{Tasks: []string{"job"}, Script: "a", Count: 1, MaxWorkers: 2, Concurrency: 2, IdleTimeout: time.Minute})
	require.NoError(t, p.ready(ctx(t)))
	open := func(n int) { // once n tasks wait at the gate, let them through
		settleSoon(t, func() bool { mu.Lock(); defer mu.Unlock(); return entered == n })
		mu.Lock()
		close(gate)
		gate, entered = make(chan struct{}), 0
		mu.Unlock()
	}
	// A burst grows the pool: three tasks for a worker that holds two.
	burst := []<-chan Response{doAsync(tm, TaskParams{Name: "job"}), doAsync(tm, TaskParams{Name: "job"}), doAsync(tm, TaskParams{Name: "job"})}
	open(3)
	for _, r := range burst {
		require.NoError(t, (<-r).Err)
	}
	require.Equal(t, 1, tm.Stats().Grown)
	for range 12 { // two tasks at once every 10 s for 2 minutes
		a, b := doAsync(tm, TaskParams{Name: "job"}), doAsync(tm, TaskParams{Name: "job"})
		open(2)
		assert.Equal(t, "worker-1", (<-a).Content)
		assert.Equal(t, "worker-1", (<-b).Content, "the Count worker has room for both: the grown one idles")
		clk.Advance(10 * time.Second)
	}
	assert.Len(t, p.list(), 1, "the grown worker was released once idle for IdleTimeout")
}

func TestAWorkerHoldsUpToConcurrencyTasks(t *testing.T) {
	tm := NewTaskManager()
	defer tm.Close()
	release := make(chan struct{})
	p, _ := fakePool(t, tm, func(*TaskWorker, string, any) (any, string) { <-release; return nil, "" },
		WorkerConfig{Tasks: []string{"job"}, Script: "a", Concurrency: 4})
	require.NoError(t, p.ready(ctx(t)))
	for i := 0; i < 6; i++ {
		_, err := tm.AddTask(TaskParams{Name: "job"})
		require.NoError(t, err)
	}
	s := tm.Stats()
	assert.Equal(t, 4, s.Running)
	assert.Equal(t, 2, s.Queued)
	assert.Equal(t, 4, s.Workers[0].InFlight)
	close(release)
}

func TestProgressReachesOnProgressInOrderBeforeTheResult(t *testing.T) {
	tm := NewTaskManager()
	defer tm.Close()
	var p *workerPool
	p, _ = fakePool(t, tm, func(w *TaskWorker, name string, params any) (any, string) {
		id := runningOn(w)
		for i := 1; i <= 50; i++ {
			p.receive(w, inbound{kind: KindWorkerProgress, task: id, content: float64(i)})
		}
		return "done", ""
	}, cfg("a", "job"))
	require.NoError(t, p.ready(ctx(t)))
	var mu sync.Mutex
	var got []any
	res := doAsync(tm, TaskParams{Name: "job", OnProgress: func(pr Progress) {
		time.Sleep(10 * time.Microsecond)
		mu.Lock()
		got = append(got, pr.Content)
		mu.Unlock()
	}})
	r := <-res
	require.NoError(t, r.Err)
	mu.Lock()
	defer mu.Unlock()
	require.Len(t, got, 50, "every report arrived before the result")
	for i, v := range got {
		assert.Equal(t, float64(i+1), v)
	}
}

func TestARetriedTaskReportsProgressAgainFromItsStart(t *testing.T) {
	tm := NewTaskManager()
	defer tm.Close()
	var p *workerPool
	var runs atomic.Int32
	p, _ = fakePool(t, tm, func(w *TaskWorker, name string, params any) (any, string) {
		id := runningOn(w)
		p.receive(w, inbound{kind: KindWorkerProgress, task: id, content: "half"})
		if runs.Add(1) == 1 {
			p.workerExit(w, "crash") // the first run dies half way
			return "lost", ""
		}
		p.receive(w, inbound{kind: KindWorkerProgress, task: id, content: "all"})
		return "done", ""
	}, cfg("a", "job"), cfg("b", "job"))
	require.NoError(t, p.ready(ctx(t)))
	var mu sync.Mutex
	var seen []string
	deleted := make(chan struct{}) // the task's last event: the stream reaches a subscriber on its own time
	defer tm.Subscribe(func(m Message) {
		mu.Lock()
		defer mu.Unlock()
		switch {
		case m.Kind == KindWorkerProgress:
			seen = append(seen, "event "+fmt.Sprint(m.Content))
		case m.Kind == KindTaskUpdated && m.Content == TaskNew:
			seen = append(seen, "back to new")
		case m.Kind == KindTaskDeleted:
			close(deleted)
		}
	})()
	var got []any
	r := <-doAsync(tm, TaskParams{Name: "job", Retries: 1, OnProgress: func(pr Progress) {
		mu.Lock()
		got = append(got, pr.Content)
		mu.Unlock()
	}})
	require.NoError(t, r.Err)
	assert.Equal(t, "done", r.Content)
	<-deleted
	mu.Lock()
	defer mu.Unlock()
	assert.Equal(t, []any{"half", "half", "all"}, got, "the second run reports from its start")
	assert.Equal(t, []string{"event half", "back to new", "event half", "event all"}, seen)
}

func TestStatsCountWhatHappened(t *testing.T) {
	tm := NewTaskManager()
	defer tm.Close()
	p, _ := fakePool(t, tm, func(w *TaskWorker, name string, params any) (any, string) {
		if name == "bad" {
			return nil, "no"
		}
		return 1, ""
	}, cfg("a", "good", "bad"), cfg("b", "good"))
	require.NoError(t, p.ready(ctx(t)))
	for i := 0; i < 10; i++ {
		_, _ = tm.Do(ctx(t), "good", nil)
	}
	_, _ = tm.Do(ctx(t), "bad", nil)
	_, _ = tm.Do(ctx(t), "unknown", nil)
	s := tm.Stats()
	assert.Equal(t, 12, s.Submitted)
	assert.Equal(t, 10, s.Done)
	assert.Equal(t, 2, s.Failed)
	assert.Equal(t, 11, s.RunTime.Count)
	assert.Equal(t, 11, s.Workers[0].Done+s.Workers[1].Done)
	assert.Equal(t, 1, s.Workers[0].Failed)
	assert.Equal(t, "js", s.Workers[0].Kind)
	assert.Equal(t, []string{"good", "bad"}, s.Workers[0].Tasks)
}

func TestATaskASeedWorkerThrewOnCountsItsRunTime(t *testing.T) {
	// A seed script's throw is an error event from its onmessage: the task
	// ran, and failed, as one answered with an error did.
	tm := NewTaskManager()
	defer tm.Close()
	p, fakes := fakePool(t, tm, hangOn(t), cfg("a", "hang"))
	require.NoError(t, p.ready(ctx(t)))
	res := doAsync(tm, TaskParams{Name: "hang"})
	settleSoon(t, func() bool { return len(tm.Status().Working) == 1 })
	p.workerError((*fakes)[0].w, "Uncaught TypeError")
	require.Error(t, (<-res).Err)
	s := tm.Stats()
	assert.Equal(t, 1, s.Workers[0].Done)
	assert.Equal(t, 1, s.Workers[0].Failed)
	assert.Equal(t, 1, s.QueueWait.Count)
	assert.Equal(t, 1, s.RunTime.Count, "run time covers the tasks that ran")
}

func TestTheStatsWindowKeepsTheLatestSamples(t *testing.T) {
	var c counters
	c.init()
	for i := 1; i <= StatsWindow+100; i++ {
		c.runTime.add(time.Duration(i))
	}
	p := c.runTime.percentiles()
	assert.Equal(t, StatsWindow, p.Count)
	assert.Equal(t, time.Duration(StatsWindow+100), p.Max)
	assert.Equal(t, time.Duration(100+StatsWindow/2), p.P50, "the lower of the two middle ones")
}

func TestAPercentileIsTheSmallestSampleThatManyAreAtOrBelow(t *testing.T) {
	// The nearest rank: P99 of 100 samples is the 99th, not the largest.
	var c counters
	c.init()
	c.runTime.add(2)
	c.runTime.add(1)
	p := c.runTime.percentiles()
	assert.Equal(t, Percentiles{Count: 2, P50: 1, P95: 2, P99: 2, Max: 2}, p)
	for i := 3; i <= 100; i++ {
		c.runTime.add(time.Duration(i))
	}
	p = c.runTime.percentiles()
	assert.Equal(t, Percentiles{Count: 100, P50: 50, P95: 95, P99: 99, Max: 100}, p)
}

// BenchmarkQueue measures adding to and taking from the queue with n tasks
// already waiting: it should stay flat-ish (O(log n)) from 1k to 100k with
// mixed priorities, and flat (O(1)) with equal ones, added in the order they
// run, as most tasks are.
func BenchmarkQueue(b *testing.B) {
	for _, kind := range []struct {
		name       string
		priorities int
	}{{"mixed-priorities", 5}, {"equal-priorities", 1}} {
		for _, n := range []int{1_000, 10_000, 100_000} {
			b.Run(fmt.Sprintf("%s/queued=%d", kind.name, n), func(b *testing.B) {
				q := &taskQueue{aging: time.Second}
				now := time.Now()
				for i := 0; i < n; i++ {
					q.push(&TaskRequest{seq: uint64(i), priority: i % kind.priorities, queued: now.Add(time.Duration(i)).UnixNano()})
				}
				b.ResetTimer()
				for i := 0; i < b.N; i++ {
					q.push(&TaskRequest{seq: uint64(n + i), priority: i % kind.priorities, queued: now.Add(time.Duration(n + i)).UnixNano()})
					q.pop()
				}
			})
		}
	}
}

// BenchmarkCoreRoundTrip is one Do at a time through the pure core, with a
// fake worker answering from a goroutine: queueing, routing, settling and
// two goroutine hand-offs, with no JS. Run under wasmbrowsertest it is the
// core's share of a browser round trip (BenchmarkRoundTrip).
func BenchmarkCoreRoundTrip(b *testing.B) {
	tm := NewTaskManager()
	defer tm.Close()
	p, _ := rawFakePool(b, tm, func(_ *TaskWorker, _ string, params any) (any, string) { return params, "" },
		WorkerConfig{Tasks: []string{"echo"}, Script: "echo.js"})
	require.NoError(b, p.ready(context.Background()))
	// A context that can end, as most callers pass: Do must not pay for
	// watching it (a context.AfterFunc per task cost ~1.9 µs and three
	// allocations here).
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := tm.Do(ctx, "echo", map[string]any{"i": 1}); err != nil {
			b.Fatal(err)
		}
	}
}

func TestAnElasticConfigWhoseWorkersAreAllClosedDoesNotGrowAgain(t *testing.T) {
	// Its workers closed, the config is done with: a burst of a task that
	// another worker lists starts nothing of it, and a page that adds and
	// closes such workers for ever keeps no trace of each.
	tm := NewTaskManager()
	defer tm.Close()
	release := make(chan struct{})
	p, _ := fakePool(t, tm, func(w *TaskWorker, name string, params any) (any, string) {
		if name == "slow" {
			<-release
		}
		return nil, ""
	}, WorkerConfig{Tasks: []string{"job", "slow"}, Script: "base"})
	require.NoError(t, p.ready(ctx(t)))
	for range 1000 {
		w, err := p.add(WorkerConfig{Tasks: []string{"job"}, Script: "elastic", MaxWorkers: 3})
		require.NoError(t, err)
		require.NoError(t, w.Close())
	}
	tm.mu.Lock()
	groups := len(p.groups)
	tm.mu.Unlock()
	assert.Equal(t, 1, groups, "the base config's alone")

	_, err := tm.AddTask(TaskParams{Name: "slow"}) // holds the base worker
	require.NoError(t, err)
	var wg sync.WaitGroup
	for range 10 {
		wg.Add(1)
		go func() { defer wg.Done(); _, _ = tm.Do(ctx(t), "job", nil) }()
	}
	settleSoon(t, func() bool { return tm.Stats().Queued == 10 })
	assert.Equal(t, 0, tm.Stats().Grown)
	assert.Len(t, p.list(), 1+keptClosed, "the base worker and the closed ones kept listed")
	close(release)
	wg.Wait()
}

func TestNoWorkerErrorsRecallTheLatestRetiredTaskNamesOnly(t *testing.T) {
	// A page that names its tasks per dataset, and closes their workers,
	// does not grow the manager's memory of them for ever: the latest
	// keptClosed names say why they are gone, older ones only that no
	// worker lists them.
	tm := NewTaskManager()
	defer tm.Close()
	p, _ := fakePool(t, tm, echo, WorkerConfig{Tasks: []string{"base"}, Script: "base"})
	require.NoError(t, p.ready(ctx(t)))
	for i := range 1000 {
		w, err := p.add(WorkerConfig{Tasks: []string{fmt.Sprintf("render-%d", i)}, Script: "panel"})
		require.NoError(t, err)
		require.NoError(t, w.Close())
	}
	tm.mu.Lock()
	gone := len(tm.gone)
	tm.mu.Unlock()
	assert.Equal(t, keptClosed, gone)
	_, err := tm.Do(ctx(t), "render-999", nil)
	require.ErrorIs(t, err, ErrNoWorker)
	assert.Contains(t, err.Error(), `no worker lists task "render-999" any more (known: base); the last worker that did, worker-1001 (panel), closed by Close()`)
	_, err = tm.Do(ctx(t), "render-0", nil)
	require.ErrorIs(t, err, ErrNoWorker)
	assert.Equal(t, `atmo: no worker handles this task: no worker lists task "render-0" (known: base)`, err.Error())
}

func TestAnElasticConfigWhoseFirstWorkerGaveUpAtOnceStillGrowsFromTheOthers(t *testing.T) {
	// The first of Count workers fails to start before the second is even
	// made: the config still has a live worker, and grows under a burst.
	tm := NewTaskManager()
	defer tm.Close()
	release := make(chan struct{})
	defer close(release)
	spawns := 0
	p, err := newWorkerPool(tm, func(w *TaskWorker) (transport, error) {
		if spawns++; spawns == 1 {
			return nil, errors.New("out of threads")
		}
		return &fakeTransport{pool: w.pool, w: w, run: func(*TaskWorker, string, any) (any, string) { <-release; return nil, "" }}, nil
	}, []WorkerConfig{{Tasks: []string{"job"}, Script: "x", Count: 2, MaxWorkers: 4, Restart: RestartPolicy{Never: true}}})
	require.NoError(t, err)
	_ = p.ready(ctx(t)) // worker-1 gave up; worker-2 is ready
	for range 6 {
		_, err := tm.AddTask(TaskParams{Name: "job"})
		require.NoError(t, err)
	}
	settleSoon(t, func() bool { return tm.Stats().Grown > 0 })
}

// A task only a generalist can run must not wait behind a task a free
// specialist could have taken.
func TestAFreeSpecialistTakesItsTaskSoTheGeneralistStaysFree(t *testing.T) {
	tm := NewTaskManager()
	defer tm.Close()
	hold := make(chan struct{})
	defer close(hold)
	p, _ := fakePool(t, tm, func(w *TaskWorker, name string, params any) (any, string) {
		if name == "add" {
			<-hold
		}
		return w.id, ""
	}, cfg("specialist", "add"), cfg("generalist", "add", "mul"))
	require.NoError(t, p.ready(ctx(t)))
	add, err := tm.AddTask(TaskParams{Name: "add"})
	require.NoError(t, err)
	assert.Equal(t, "worker-1", add.AssignedWorker(), "the free specialist takes add")
	mulRunsAtOnceOnTheGeneralist(t, tm)
}

// mulRunsAtOnceOnTheGeneralist adds a mul, which only the generalist
// (worker-2) lists, and expects it answered without waiting for an add.
func mulRunsAtOnceOnTheGeneralist(t *testing.T, tm *TaskManager) {
	t.Helper()
	select {
	case r := <-doAsync(tm, TaskParams{Name: "mul"}):
		assert.Equal(t, "worker-2", r.Content)
	case <-time.After(2 * time.Second): // the adds never end on their own: this is a hang, not a timing
		t.Errorf("mul waits for the generalist, busy with an add, while a specialist idles: %+v", tm.Status())
	}
}

func TestABurstOfOneTaskGrowsTheSpecialistsNotAGeneralistListedFirst(t *testing.T) {
	// Growth picks as free workers are picked: of the configs that list
	// the task and may grow, the one listing the fewest names, whatever
	// their order, so that the generalist's room stays for mul and div.
	tm := NewTaskManager()
	defer tm.Close()
	release := make(chan struct{})
	defer close(release)
	p, _ := fakePool(t, tm, func(w *TaskWorker, name string, params any) (any, string) {
		<-release
		return nil, ""
	}, WorkerConfig{Tasks: []string{"add", "mul", "div"}, Script: "generalist", Count: 1, MaxWorkers: 3, IdleTimeout: time.Minute},
		WorkerConfig{Tasks: []string{"add"}, Script: "specialist", Count: 1, MaxWorkers: 3, IdleTimeout: time.Minute})
	require.NoError(t, p.ready(ctx(t)))
	for i := 0; i < 4; i++ {
		doAsync(tm, TaskParams{Name: "add"})
	}
	settleSoon(t, func() bool { return tm.Stats().Grown == 2 })
	var scripts []string
	for _, w := range p.list() {
		scripts = append(scripts, w.config.Script)
	}
	assert.Equal(t, []string{"generalist", "specialist", "specialist", "specialist"}, scripts)
}

// A specialist that an elastic group grew is still a specialist: a free one
// takes its task, so that a task only the generalist can run does not wait
// behind it.
func TestAFreeGrownSpecialistTakesItsTaskSoTheGeneralistStaysFree(t *testing.T) {
	tm := NewTaskManager()
	defer tm.Close()
	gate := gates(t)
	p, _ := fakePool(t, tm, func(w *TaskWorker, name string, params any) (any, string) {
		if name == "add" {
			<-gate(asFloat(params))
		}
		return w.id, ""
	}, WorkerConfig{Tasks: []string{"add"}, Script: "specialist", Count: 1, MaxWorkers: 2, IdleTimeout: time.Minute},
		WorkerConfig{Tasks: []string{"add", "mul"}, Script: "generalist", Count: 1})
	require.NoError(t, p.ready(ctx(t)))
	// A burst of three adds: the specialist (worker-1) and the generalist
	// (worker-2) take one each, the third waits and grows worker-3, a
	// specialist.
	a1 := doAsync(tm, TaskParams{Name: "add", Params: 1})
	a2 := doAsync(tm, TaskParams{Name: "add", Params: 2})
	a3 := doAsync(tm, TaskParams{Name: "add", Params: 3})
	settleSoon(t, func() bool { return tm.Stats().Grown == 1 && tm.Stats().Running == 3 })
	close(gate(3))
	require.Equal(t, "worker-3", (<-a3).Content)
	close(gate(2))
	require.Equal(t, "worker-2", (<-a2).Content)
	// worker-1 still busy; worker-3 (grown specialist) and worker-2
	// (generalist) are free. An add, then a mul.
	a4 := doAsync(tm, TaskParams{Name: "add", Params: 4})
	mulRunsAtOnceOnTheGeneralist(t, tm)
	close(gate(4))
	close(gate(1))
	<-a4
	<-a1
}

func TestAnElasticGroupGrowsForATaskThatWouldWaitOutItsWorkersRestartBackoff(t *testing.T) {
	// README: "While tasks for a config's names wait, more start, up to
	// MaxWorkers." A worker waiting out its restart backoff is not
	// starting: it cannot take the task for up to 5s.
	tm := NewTaskManager()
	defer tm.Close()
	clk := withClock(tm)
	p, fakes := fakePool(t, tm, echo, WorkerConfig{Tasks: []string{"job"}, Script: "a", Count: 1, MaxWorkers: 2, IdleTimeout: time.Minute})
	require.NoError(t, p.ready(ctx(t)))
	w := (*fakes)[0].w
	for range 3 { // crashes with no task answered between: the fourth waits 800ms
		p.workerExit(w, "crash")
		clk.Advance(maxRestartBackoff)
		require.NoError(t, p.ready(ctx(t)))
	}
	p.workerExit(w, "crash")
	res := doAsync(tm, TaskParams{Name: "job"})
	select {
	case r := <-res:
		require.NoError(t, r.Err)
		assert.NotEqual(t, w.id, r.Content.(map[string]any)["worker"], "a grown worker ran it")
	case <-time.After(2 * time.Second):
		t.Fatalf("the task waits for its worker's restart backoff while its group may grow: %+v", tm.Stats())
	}
	assert.Equal(t, 1, tm.Stats().Grown)
}

func TestATaskThatCrashesItsWorkersDoesNotGrowAFreshWorkerForEachRun(t *testing.T) {
	// A worker backing off after a crash no longer counts as starting (so
	// that other tasks need not wait out its backoff); but a task that
	// brings down each worker it runs on must not get a fresh one per
	// retry, which skips the restart backoff meant to slow a crash loop
	// and leaves MaxWorkers threads for one task.
	tm := NewTaskManager()
	defer tm.Close()
	clk := withClock(tm) // frozen: no backoff ends unless advanced
	forever := make(chan struct{})
	t.Cleanup(func() { close(forever) })
	p, _ := fakePool(t, tm, func(w *TaskWorker, name string, params any) (any, string) {
		if name == "poison" {
			go w.pool.workerExit(w, "boom")
			<-forever
		}
		return w.id, ""
	}, WorkerConfig{Tasks: []string{"poison"}, Script: "a", Count: 1, MaxWorkers: 4, IdleTimeout: time.Minute})
	require.NoError(t, p.ready(ctx(t)))
	res := doAsync(tm, TaskParams{Name: "poison", Retries: 3})
	settleSoon(t, func() bool { return tm.Stats().Crashed >= 2 })
	time.Sleep(50 * time.Millisecond)
	s := tm.Stats()
	assert.Equal(t, 2, s.Crashed, "its third run waits for a restart: %+v", s)
	assert.Equal(t, 1, s.Grown, "one fresh worker after its first crash, none after its second")
	for range 3 { // the backoffs end: it runs out its retries on restarted workers
		clk.Advance(maxRestartBackoff)
		time.Sleep(10 * time.Millisecond)
	}
	select {
	case r := <-res:
		require.ErrorIs(t, r.Err, ErrWorkerCrashed)
	case <-time.After(5 * time.Second):
		t.Fatalf("not settled: %+v", tm.Stats())
	}
	assert.Equal(t, 1, tm.Stats().Grown)
}

func TestATaskThatCrashedTwoWorkersThatAreNotRestartedStillGetsAWorker(t *testing.T) {
	// Under Restart.Never the workers it crashed are closed: no restart
	// will come to run it, and none backs off. With the group below
	// MaxWorkers it must not wait for the one busy worker left.
	tm := NewTaskManager()
	defer tm.Close()
	hold := make(chan struct{})
	t.Cleanup(func() { close(hold) })
	p, _ := fakePool(t, tm, func(w *TaskWorker, name string, params any) (any, string) {
		switch name {
		case "hold":
			<-hold
		case "poison":
			go w.pool.workerExit(w, "boom")
			<-hold
		}
		return w.id, ""
	}, WorkerConfig{Tasks: []string{"hold", "poison"}, Script: "a", Count: 2, MaxWorkers: 4, Restart: RestartPolicy{Never: true}})
	require.NoError(t, p.ready(ctx(t)))
	_, err := tm.AddTask(TaskParams{Name: "hold"})
	require.NoError(t, err)
	res := doAsync(tm, TaskParams{Name: "poison", Retries: 2})
	select {
	case r := <-res:
		require.ErrorIs(t, r.Err, ErrWorkerCrashed)
	case <-time.After(3 * time.Second):
		t.Fatalf("poison waits in the queue with no worker starting or backing off: %+v", tm.Stats())
	}
}

func TestATaskWhoseWorkersAreReplacedForNotStoppingItDoesNotGrowAFreshWorkerForEachRun(t *testing.T) {
	// A timed-out handler that ignores its stop request has its worker
	// replaced after the grace period: that worker went down while the
	// task ran, as one replaced for a busy loop (timedOut) does, and its
	// third run waits for a restart too.
	tm := NewTaskManager()
	defer tm.Close()
	clk := withClock(tm)
	forever := make(chan struct{})
	t.Cleanup(func() { close(forever) })
	p, err := newWorkerPool(tm, func(w *TaskWorker) (transport, error) {
		return &fakeTransport{pool: w.pool, w: w, stops: true, onCancel: func(*fakeTransport, string) {}, // lists stop, but never stops
			run: func(*TaskWorker, string, any) (any, string) { <-forever; return nil, "" }}, nil
	}, []WorkerConfig{{Tasks: []string{"spin"}, Script: "a", Count: 1, MaxWorkers: 4, CancelGrace: 10 * time.Millisecond, Restart: RestartPolicy{Backoff: time.Hour}}})
	require.NoError(t, err)
	require.NoError(t, p.ready(ctx(t)))
	_ = doAsync(tm, TaskParams{Name: "spin", Timeout: 10 * time.Millisecond, Retries: 3})
	for range 6 { // timeout, grace; timeout, grace; ...
		time.Sleep(20 * time.Millisecond)
		clk.Advance(10 * time.Millisecond)
	}
	time.Sleep(20 * time.Millisecond)
	s := tm.Stats()
	assert.Equal(t, 1, s.Grown, "one fresh worker after its first replacement, none after its second: %+v", s)
}

// README: "While tasks for a config's names wait, more start, up to
// MaxWorkers." A grown worker that closes for good while tasks wait (its
// Close, or a crash under Restart.Never) leaves room under MaxWorkers: the
// group grows again for them, without waiting for another task to be
// added, and the tasks that wait are not left to the workers that remain.
func TestAGroupGrowsBackForWaitingTasksWhenOneOfItsWorkersClosesForGood(t *testing.T) {
	for name, closeIt := range map[string]func(*workerPool, *TaskWorker){
		"closed":           func(_ *workerPool, w *TaskWorker) { require.NoError(t, w.Close()) },
		"crashed for good": func(p *workerPool, w *TaskWorker) { p.workerExit(w, "out of memory") },
	} {
		t.Run(name, func(t *testing.T) {
			tm := NewTaskManager()
			defer tm.Close()
			release := make(chan struct{})
			defer close(release)
			p, _ := fakePool(t, tm, func(w *TaskWorker, name string, params any) (any, string) {
				<-release
				return w.id, ""
			}, WorkerConfig{Tasks: []string{"job"}, Script: "a", Count: 1, MaxWorkers: 3, Restart: RestartPolicy{Never: true}})
			require.NoError(t, p.ready(ctx(t)))
			for range 10 {
				_, err := tm.AddTask(TaskParams{Name: "job"})
				require.NoError(t, err)
			}
			settleSoon(t, func() bool { return tm.Stats().Running == 3 })
			require.Equal(t, 2, tm.Stats().Grown)
			ws := p.list()
			require.Len(t, ws, 3)
			closeIt(p, ws[2]) // a grown worker goes: its task fails (no Retries)
			settleSoon(t, func() bool { return tm.Stats().Failed == 1 })
			time.Sleep(20 * time.Millisecond)
			s := tm.Stats()
			assert.Equal(t, 3, s.Grown, "6 tasks wait and the group is one below MaxWorkers: %+v", s)
			settleSoon(t, func() bool { return tm.Stats().Running == 3 })
		})
	}
}

// A config without MaxWorkers (MaxWorkers = Count) does not grow: a worker
// of it closed by Close() stays closed, whatever the other configs of the
// TaskManager. It came back, as a "grown" worker, only when some other
// config was elastic.
func TestAConfigWithoutMaxWorkersNeverGrowsWhateverTheOtherConfigs(t *testing.T) {
	for _, withElastic := range []bool{false, true} {
		t.Run(map[bool]string{false: "alone", true: "beside an elastic config"}[withElastic], func(t *testing.T) {
			tm := NewTaskManager()
			defer tm.Close()
			release := make(chan struct{})
			defer close(release)
			configs := []WorkerConfig{{Tasks: []string{"job"}, Script: "fixed", Count: 2}}
			if withElastic {
				configs = append(configs, WorkerConfig{Tasks: []string{"other"}, Script: "elastic", Count: 1, MaxWorkers: 3})
			}
			p, _ := fakePool(t, tm, func(w *TaskWorker, name string, params any) (any, string) {
				<-release
				return w.id, ""
			}, configs...)
			require.NoError(t, p.ready(ctx(t)))
			require.NoError(t, p.list()[0].Close()) // the page closes one of the two fixed workers
			for range 5 {
				_, err := tm.AddTask(TaskParams{Name: "job"})
				require.NoError(t, err)
			}
			time.Sleep(20 * time.Millisecond)
			s := tm.Stats()
			assert.Equal(t, 0, s.Grown, "%+v", s)
			assert.Equal(t, 1, s.Running, "one fixed worker left: %+v", s)
		})
	}
}

// A worker whose worker-ready leaves out a task its config lists is closed
// at once, "as starting again would not help": the config is wrong, and
// so would be every worker grown from it. Tasks added while its siblings
// still start must not grow fresh workers of it, one after another, which
// kept a steady stream of tasks waiting behind workers that each start and
// close, instead of failing with ErrNoWorker.
func TestAnElasticConfigWhoseWorkerLacksATaskGrowsNoMoreWorkers(t *testing.T) {
	tm := NewTaskManager()
	defer tm.Close()
	var mu sync.Mutex
	var fakes []*fakeTransport
	p, err := newWorkerPool(tm, func(w *TaskWorker) (transport, error) {
		f := &fakeTransport{pool: w.pool, w: w, run: echo, silent: true} // says worker-ready when told
		mu.Lock()
		fakes = append(fakes, f)
		mu.Unlock()
		return f, nil
	}, []WorkerConfig{{Tasks: []string{"job", "typo"}, Script: "w.js", Count: 1, MaxWorkers: 3}})
	require.NoError(t, err)
	readyLacking := func(i int) { // worker i's worker-ready lists job alone
		mu.Lock()
		f := fakes[i]
		mu.Unlock()
		p.receiveFrom(f, f.w, inbound{kind: KindWorkerReady, content: map[string]any{"tasks": []any{"job"}}})
	}
	var res []<-chan Response
	for range 3 { // a burst before the first worker is ready grows two more
		res = append(res, doAsync(tm, TaskParams{Name: "job"}))
	}
	require.Equal(t, 2, tm.Stats().Grown)
	readyLacking(0) // worker-1 closes: its config lists typo, which it lacks
	for range 3 {   // the stream goes on
		res = append(res, doAsync(tm, TaskParams{Name: "job"}))
	}
	assert.Equal(t, 2, tm.Stats().Grown, "no worker grows from a config its workers do not match")
	mu.Lock()
	n := len(fakes)
	mu.Unlock()
	for i := 1; i < n; i++ {
		readyLacking(i)
	}
	for _, r := range res {
		select {
		case got := <-r:
			require.ErrorIs(t, got.Err, ErrNoWorker)
		case <-time.After(time.Second):
			t.Fatalf("a task still waits with every worker of its config closed or starting to close: %+v", tm.Stats())
		}
	}
}

// A group regrows for waiting tasks when one of its workers closes for
// good; a worker that fails to start at once and gives up (Restart.Never,
// or MaxBootFailures 1: under Node.js, a Script file removed since the
// group started) must not make that regrow start another, for ever, with
// the TaskManager's lock held.
func TestARegrowWhoseWorkersGiveUpAtOnceEnds(t *testing.T) {
	for name, policy := range map[string]RestartPolicy{
		"Never":             {Never: true},
		"MaxBootFailures 1": {MaxBootFailures: 1},
	} {
		t.Run(name, func(t *testing.T) {
			tm := NewTaskManager()
			var failSpawn atomic.Bool
			var spawns atomic.Int64
			forever := make(chan struct{})
			defer close(forever)
			p, err := newWorkerPool(tm, func(w *TaskWorker) (transport, error) {
				spawns.Add(1)
				if failSpawn.Load() {
					return nil, errors.New("no such file: /srv/w.js")
				}
				return &fakeTransport{pool: w.pool, w: w, run: func(*TaskWorker, string, any) (any, string) { <-forever; return nil, "" }}, nil
			}, []WorkerConfig{{Tasks: []string{"job"}, Script: "w.js", Count: 2, MaxWorkers: 3, Restart: policy}})
			require.NoError(t, err)
			require.NoError(t, p.ready(ctx(t)))
			for range 3 { // two run, one waits: worker-3 grows for it
				_, err := tm.AddTask(TaskParams{Name: "job"})
				require.NoError(t, err)
			}
			settleSoon(t, func() bool { return tm.Stats().Running == 3 }) // the group is at MaxWorkers
			failSpawn.Store(true)                                         // the script is gone now
			_, err = tm.AddTask(TaskParams{Name: "job"})
			require.NoError(t, err)
			done := make(chan struct{})
			go func() {
				defer close(done)
				_ = p.list()[0].Close() // a task waits: the group regrows
			}()
			select {
			case <-done:
			case <-time.After(3 * time.Second):
				t.Fatalf("Close of a worker has not returned after 3s: %d spawns so far, still growing", spawns.Load())
			}
			require.NoError(t, tm.Close())
		})
	}
}

// README: "where several configs list a waiting task and may grow, the one
// listing the fewest names does ... so a burst of one task leaves the
// generalists to the others", and a worker that closes for good while
// tasks wait "is replaced by a fresh one". When a generalist closes while
// adds wait that the specialist's growing workers already cover, the
// generalist's group must not start a worker for each of those adds: it
// counted them as its own to cover, whoever else was starting for them.
func TestAGeneralistClosingWhileASpecialistGrowsForTheWaitingTasksDoesNotGrowForThemToo(t *testing.T) {
	tm := NewTaskManager()
	defer tm.Close()
	hold := make(chan struct{})
	defer close(hold)
	p, err := newWorkerPool(tm, func(w *TaskWorker) (transport, error) {
		// The specialist's grown workers take their time to start.
		silent := w.elastic && w.config.Script == "specialist"
		return &fakeTransport{pool: w.pool, w: w, silent: silent, run: func(*TaskWorker, string, any) (any, string) { <-hold; return nil, "" }}, nil
	}, []WorkerConfig{
		{Tasks: []string{"add"}, Script: "specialist", Count: 1, MaxWorkers: 3},
		{Tasks: []string{"add", "mul"}, Script: "generalist", Count: 2, MaxWorkers: 4},
	})
	require.NoError(t, err)
	require.NoError(t, p.ready(ctx(t)))
	for range 3 { // the specialist and both generalists run one each
		_, err := tm.AddTask(TaskParams{Name: "add"})
		require.NoError(t, err)
	}
	settleSoon(t, func() bool { return tm.Stats().Running == 3 })
	for range 2 { // two wait: the specialist grows two workers for them
		_, err := tm.AddTask(TaskParams{Name: "add"})
		require.NoError(t, err)
	}
	require.Equal(t, 2, tm.Stats().Grown)
	var gen *TaskWorker
	for _, w := range p.list() {
		if w.config.Script == "generalist" {
			gen = w
			break
		}
	}
	require.NoError(t, gen.Close()) // its add fails (no Retries); two adds still wait
	s := tm.Stats()
	assert.Equal(t, 2, s.Grown, "two specialists start for the two waiting adds, which they cover: the closed generalist's group grows none for them: %+v", s)
}

// README: "where several configs list a waiting task and may grow, the one
// listing the fewest names does ... so a burst of one task leaves the
// generalists to the others". A specialist already starting a worker with
// room for every add that waits covers the next one too: the generalist's
// group, which counts only its own starting workers, must not start one
// for it as well (and, with no IdleTimeout, keep it for ever).
func TestAGeneralistDoesNotGrowForATaskASpecialistsStartingWorkerHasRoomFor(t *testing.T) {
	tm := NewTaskManager()
	defer tm.Close()
	gate := gates(t)
	p, err := newWorkerPool(tm, func(w *TaskWorker) (transport, error) {
		silent := w.elastic && w.config.Script == "specialist"
		return &fakeTransport{pool: w.pool, w: w, silent: silent, run: func(_ *TaskWorker, _ string, params any) (any, string) { <-gate(asFloat(params)); return nil, "" }}, nil
	}, []WorkerConfig{
		{Tasks: []string{"add"}, Script: "specialist", Count: 1, MaxWorkers: 3},
		{Tasks: []string{"add", "mul"}, Script: "generalist", Count: 1, MaxWorkers: 3},
	})
	require.NoError(t, err)
	require.NoError(t, p.ready(ctx(t)))
	doAsync(tm, TaskParams{Name: "add", Params: 1})       // specialist
	r2 := doAsync(tm, TaskParams{Name: "add", Params: 2}) // generalist
	settleSoon(t, func() bool { return tm.Stats().Running == 2 })
	doAsync(tm, TaskParams{Name: "add", Params: 3}) // waits: a specialist grows
	require.Equal(t, 1, tm.Stats().Grown)
	close(gate(2))
	<-r2 // the generalist takes add 3
	settleSoon(t, func() bool { return tm.Stats().Queued == 0 && tm.Stats().Running == 2 })
	doAsync(tm, TaskParams{Name: "add", Params: 4}) // waits: the starting specialist will take it
	s := tm.Stats()
	assert.Equal(t, 1, s.Grown, "%+v", s)
	for _, n := range []float64{1, 3, 4} {
		close(gate(n))
	}
}

// elasticPool starts a pool of fake workers whose spawn fails while
// *broken is set (a script server that is briefly down).
func elasticPool(t *testing.T, tm *TaskManager, broken *atomic.Bool, run func(w *TaskWorker, name string, params any) (any, string), c WorkerConfig) (*workerPool, *[]*fakeTransport) {
	t.Helper()
	var mu sync.Mutex
	var fakes []*fakeTransport
	p, err := newWorkerPool(tm, func(w *TaskWorker) (transport, error) {
		if broken.Load() {
			return nil, errors.New("script unreachable")
		}
		f := &fakeTransport{pool: w.pool, w: w, run: run}
		mu.Lock()
		fakes = append(fakes, f)
		mu.Unlock()
		return f, nil
	}, []WorkerConfig{c})
	require.NoError(t, err)
	return p, &fakes
}

// README: "Workers above Count idle for IdleTimeout are closed". A grown
// worker is not above Count while a Count worker is down (in its restart
// backoff, or failing its restarts): releasing it left the group with no
// live worker, and once the Count worker gave up, the group was gone and
// its tasks failed with ErrNoWorker, though a healthy worker had run them
// a moment before.
func TestAGrownWorkerIsNotReleasedWhileACountWorkerIsDown(t *testing.T) {
	tm := NewTaskManager()
	defer tm.Close()
	clk := withClock(tm)
	var broken atomic.Bool
	p, fakes := elasticPool(t, tm, &broken, echo, WorkerConfig{Tasks: []string{"job"}, Script: "a", Count: 1, MaxWorkers: 2,
		IdleTimeout: time.Second, Restart: RestartPolicy{Backoff: 5 * time.Second, MaxBootFailures: 3}})
	require.NoError(t, p.ready(ctx(t)))
	w1 := (*fakes)[0].w
	p.workerExit(w1, "crash") // backs off 5s
	r := <-doAsync(tm, TaskParams{Name: "job"})
	require.NoError(t, r.Err)
	require.Equal(t, 1, tm.Stats().Grown)
	w2 := (*fakes)[1].w
	require.Equal(t, w2.id, r.Content.(map[string]any)["worker"])
	broken.Store(true) // the script's server goes down for a while
	clk.Advance(time.Second)
	assert.Equal(t, WorkerAvailable, w2.Status(), "released while the Count worker is down: %s", w2.LastError())
	for range 3 { // the Count worker's restarts fail: it gives up
		clk.Advance(maxRestartBackoff)
	}
	require.Equal(t, WorkerClosed, w1.Status())
	broken.Store(false)
	r = <-doAsync(tm, TaskParams{Name: "job"})
	require.NoError(t, r.Err, "the group had a healthy worker a moment ago")
	assert.Equal(t, 0, tm.Stats().Released)
}

// The grown worker kept while a Count worker was down is released once
// that worker is back and it has idled for IdleTimeout.
func TestAGrownWorkerKeptWhileACountWorkerWasDownIsReleasedOnceItIsBack(t *testing.T) {
	tm := NewTaskManager()
	defer tm.Close()
	clk := withClock(tm)
	var broken atomic.Bool
	p, fakes := elasticPool(t, tm, &broken, echo, WorkerConfig{Tasks: []string{"job"}, Script: "a", Count: 1, MaxWorkers: 2,
		IdleTimeout: time.Second, Restart: RestartPolicy{Backoff: 5 * time.Second}})
	require.NoError(t, p.ready(ctx(t)))
	w1 := (*fakes)[0].w
	p.workerExit(w1, "crash") // backs off 5s
	require.NoError(t, (<-doAsync(tm, TaskParams{Name: "job"})).Err)
	w2 := (*fakes)[1].w
	clk.Advance(time.Second)
	require.Equal(t, WorkerAvailable, w2.Status(), "kept while the Count worker is down")
	clk.Advance(4 * time.Second) // the Count worker restarts
	settleSoon(t, func() bool { return w1.Status() == WorkerAvailable })
	clk.Advance(time.Second)
	clk.Advance(time.Second)
	assert.Equal(t, WorkerClosed, w2.Status())
	assert.Equal(t, 1, tm.Stats().Released)
}

// gates gives each task a gate by its number, which its handler waits on
// until the test closes it; the test's end opens those still shut.
func gates(t *testing.T) func(n float64) chan struct{} {
	var mu sync.Mutex
	all := map[float64]chan struct{}{}
	t.Cleanup(func() {
		mu.Lock()
		defer mu.Unlock()
		for _, g := range all {
			select {
			case <-g:
			default:
				close(g)
			}
		}
	})
	return func(n float64) chan struct{} {
		mu.Lock()
		defer mu.Unlock()
		if all[n] == nil {
			all[n] = make(chan struct{})
		}
		return all[n]
	}
}
