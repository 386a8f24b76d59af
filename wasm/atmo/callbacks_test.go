package atmo

import (
	"runtime"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestACallbackMayBlockUntilEveryOtherTasksCallbackHasStarted(t *testing.T) {
	tm := NewTaskManager()
	defer tm.Close()
	p, _ := fakePool(t, tm, echo, WorkerConfig{Tasks: []string{"job"}, Script: "a", Concurrency: 64})
	require.NoError(t, p.ready(ctx(t)))
	const n = 20
	var started sync.WaitGroup
	started.Add(n)
	everyone := make(chan struct{})
	go func() { started.Wait(); close(everyone) }()
	done := make(chan string, n)
	for range n {
		_, err := tm.AddTask(TaskParams{Name: "job", OnSuccess: func(r Response) {
			started.Done()
			<-everyone // a barrier: no callback ends before all n have begun
			done <- r.TaskID
		}})
		require.NoError(t, err)
	}
	for range n {
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			t.Fatal("a blocked callback held up the others")
		}
	}
}

func TestAFloodOfCallbacksLeavesAFewRunnersParkedAndCloseEndsThem(t *testing.T) {
	tm := NewTaskManager()
	p, _ := fakePool(t, tm, echo, WorkerConfig{Tasks: []string{"job"}, Script: "a", Concurrency: 64})
	require.NoError(t, p.ready(ctx(t)))
	var wg sync.WaitGroup
	wg.Add(1000)
	for range 1000 {
		_, err := tm.AddTask(TaskParams{Name: "job", OnSuccess: func(Response) { wg.Done() }})
		require.NoError(t, err)
	}
	wg.Wait()
	runners := func() (pending, live int) {
		tm.mu.Lock()
		defer tm.mu.Unlock()
		return tm.runners.pending, tm.runners.live
	}
	require.Eventually(t, func() bool { pending, _ := runners(); return pending == 0 }, 5*time.Second, time.Millisecond)
	require.Eventually(t, func() bool { _, live := runners(); return live <= maxIdleRunners }, 5*time.Second, time.Millisecond,
		"between turns, only a few runners stay parked")
	require.NoError(t, tm.Close())
	assert.Eventually(t, func() bool { _, live := runners(); return live == 0 }, 5*time.Second, time.Millisecond,
		"no runner outlives Close")
}

func TestABlockedProgressCallbackHoldsUpOnlyItsOwnTasksLaterCallbacks(t *testing.T) {
	tm := NewTaskManager()
	defer tm.Close()
	var p *workerPool
	p, _ = fakePool(t, tm, func(w *TaskWorker, name string, _ any) (any, string) {
		if name == "slow" {
			id := runningOn(w)
			p.receive(w, inbound{kind: KindWorkerProgress, task: id, content: "half-way"})
		}
		return name + " done", ""
	}, cfg("a", "slow"), cfg("b", "quick"))
	require.NoError(t, p.ready(ctx(t)))
	quickDone := make(chan struct{})
	var order []string
	var mu sync.Mutex
	note := func(s string) { mu.Lock(); order = append(order, s); mu.Unlock() }
	slow := doAsync(tm, TaskParams{Name: "slow", OnProgress: func(pr Progress) {
		<-quickDone // blocks until the other task's result has been handled
		note(pr.Content.(string))
	}})
	quick := doAsync(tm, TaskParams{Name: "quick"})
	r := <-quick
	note(r.Content.(string))
	close(quickDone)
	r = <-slow
	note(r.Content.(string))
	mu.Lock()
	defer mu.Unlock()
	assert.Equal(t, []string{"quick done", "half-way", "slow done"}, order)
}

func TestACallbackThatCallsGoexitEndsOnlyItselfAndCloseStillReturns(t *testing.T) {
	tm := NewTaskManager()
	p, _ := fakePool(t, tm, echo, cfg("a", "job"))
	require.NoError(t, p.ready(ctx(t)))
	exited := make(chan struct{})
	_, err := tm.AddTask(TaskParams{Name: "job", OnSuccess: func(Response) {
		defer close(exited)
		runtime.Goexit() // what t.FailNow does in a test's callback
	}})
	require.NoError(t, err)
	<-exited
	res := doAsync(tm, TaskParams{Name: "job", Params: 2.0})
	select {
	case r := <-res:
		require.NoError(t, r.Err)
	case <-time.After(10 * time.Second):
		t.Fatal("a later task's callback never ran")
	}
	closed := make(chan error, 1)
	go func() { closed <- tm.Close() }()
	select {
	case err := <-closed:
		require.NoError(t, err)
	case <-time.After(10 * time.Second):
		t.Fatal("Close waited for a callback that had ended")
	}
}

func TestTheCallbackLineDoesNotGrowWhileCallbacksKeepComing(t *testing.T) {
	// A task whose progress reports keep coming while its callback runs (a
	// worker that reports faster than OnProgress takes them, for hours)
	// keeps the runners' line from ever emptying.
	tm := NewTaskManager()
	defer tm.Close()
	release := make(chan struct{})
	defer close(release)
	started := make(chan *TaskWorker, 1)
	fakePool(t, tm, func(w *TaskWorker, name string, params any) (any, string) {
		started <- w
		<-release
		return "done", ""
	}, WorkerConfig{Tasks: []string{"stream"}, Script: "w.js"})
	const n = 20000
	var w *TaskWorker
	var seq uint64
	count := 0
	done := make(chan struct{})
	report := func() { w.pool.receiveFrom(nil, w, inbound{kind: KindWorkerProgress, task: seq, content: count}) }
	_, err := tm.AddTask(TaskParams{Name: "stream", OnProgress: func(Progress) {
		if count++; count == n {
			close(done)
			return
		}
		report() // the next report comes while this callback still runs
	}})
	require.NoError(t, err)
	w = <-started
	seq = runningOn(w)
	report()
	<-done
	tm.mu.Lock()
	size := cap(tm.runners.line)
	tm.mu.Unlock()
	assert.LessOrEqual(t, size, 256, "the line's capacity after %d callbacks of one task", n)
}
