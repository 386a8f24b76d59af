package atmo

import (
	"context"
	"errors"
	"fmt"
	"math"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/atmoworkers/atmo/wasm/internal/values"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// hangOn returns a worker body that never answers tasks named hang (until
// the test ends) and echoes the rest.
func hangOn(t *testing.T) func(*TaskWorker, string, any) (any, string) {
	forever := make(chan struct{})
	t.Cleanup(func() { close(forever) })
	return func(w *TaskWorker, name string, params any) (any, string) {
		if name == "hang" {
			<-forever
		}
		return w.id, ""
	}
}

func settleSoon(t *testing.T, f func() bool) {
	t.Helper()
	require.Eventually(t, f, 5*time.Second, time.Millisecond)
}

func doAsync(tm *TaskManager, p TaskParams) <-chan Response {
	c := make(chan Response, 1)
	p.OnSuccess = func(r Response) { c <- r }
	p.OnError = func(r Response) { c <- r }
	if _, err := tm.AddTask(p); err != nil {
		c <- Response{Err: err}
	}
	return c
}

func TestATaskPastItsTimeoutFailsWithErrTimeoutAndItsWorkerIsReplaced(t *testing.T) {
	tm := NewTaskManager()
	defer tm.Close()
	clk := withClock(tm)
	p, fakes := fakePool(t, tm, hangOn(t), cfg("a", "hang", "echo"))
	require.NoError(t, p.ready(ctx(t)))
	res := doAsync(tm, TaskParams{Name: "hang", Timeout: time.Second})
	settleSoon(t, func() bool { return len(tm.Status().Working) == 1 })
	clk.Advance(time.Second)
	r := <-res
	require.ErrorIs(t, r.Err, ErrTimeout)
	assert.Contains(t, r.Error, "ran longer than 1s")
	w := (*fakes)[0].w
	assert.Equal(t, WorkerOffline, w.Status(), "terminated, restarting")
	assert.True(t, (*fakes)[0].ended)
	clk.Advance(DefaultRestartBackoff)
	require.NoError(t, p.ready(ctx(t)))
	got, err := tm.Do(ctx(t), "echo", nil)
	require.NoError(t, err, "a fresh worker took its place")
	assert.Equal(t, w.id, got, "restarted in place, under the same id")
	assert.Len(t, *fakes, 2)
	s := tm.Stats()
	assert.Equal(t, 1, s.TimedOut)
	assert.Equal(t, 1, s.Restarted)
}

func TestATimedOutTaskIsRetriedWhileItsRetriesLast(t *testing.T) {
	tm := NewTaskManager()
	defer tm.Close()
	clk := withClock(tm)
	var mu sync.Mutex
	first := "" // the worker given the task first hangs; the retry lands on the other
	forever := make(chan struct{})
	defer close(forever)
	p, _ := fakePool(t, tm, func(w *TaskWorker, name string, params any) (any, string) {
		mu.Lock()
		if first == "" {
			first = w.id
		}
		hang := first == w.id
		mu.Unlock()
		if hang {
			<-forever
		}
		return w.id, ""
	}, cfg("a", "job"), cfg("b", "job"))
	require.NoError(t, p.ready(ctx(t)))
	res := doAsync(tm, TaskParams{Name: "job", Timeout: time.Second, Retries: 1})
	settleSoon(t, func() bool { mu.Lock(); defer mu.Unlock(); return first != "" })
	clk.Advance(time.Second)
	r := <-res
	require.NoError(t, r.Err)
	assert.NotEqual(t, first, r.Content)
	assert.Equal(t, 1, tm.Stats().Retried)
}

// stoppingWorker is a TaskManager on a fake clock with one ready worker at
// Concurrency 2 that lists FeatureStop, taking hang and echo.
func stoppingWorker(t *testing.T) (*TaskManager, *fakeClock, *workerPool, *[]*fakeTransport) {
	t.Helper()
	tm := NewTaskManager()
	t.Cleanup(func() { tm.Close() })
	clk := withClock(tm)
	c := cfg("stops", "hang", "echo")
	c.Concurrency = 2
	p, fakes := fakePool(t, tm, hangOn(t), c)
	require.NoError(t, p.ready(ctx(t)))
	return tm, clk, p, fakes
}

// jobWorker is a TaskManager on a fake clock with one ready worker that
// lists FeatureStop and takes job: the n-th run of job calls block(n), then
// answers n. runs counts the runs begun.
func jobWorker(t *testing.T, block func(n int)) (tm *TaskManager, clk *fakeClock, p *workerPool, fakes *[]*fakeTransport, runs func() int) {
	t.Helper()
	tm = NewTaskManager()
	t.Cleanup(func() { tm.Close() })
	clk = withClock(tm)
	var mu sync.Mutex
	n := 0
	p, fakes = fakePool(t, tm, func(*TaskWorker, string, any) (any, string) {
		mu.Lock()
		n++
		mine := n
		mu.Unlock()
		block(mine)
		return mine, ""
	}, cfg("stops", "job"))
	require.NoError(t, p.ready(ctx(t)))
	return tm, clk, p, fakes, func() int { mu.Lock(); defer mu.Unlock(); return n }
}

func TestATimeoutOnAWorkerThatStopsHandlersAsksItToStopAndLeavesItsOtherTasksRunning(t *testing.T) {
	tm, clk, _, fakes := stoppingWorker(t)
	beside := doAsync(tm, TaskParams{Name: "hang"})
	late := doAsync(tm, TaskParams{Name: "hang", Timeout: time.Second})
	settleSoon(t, func() bool { return len(tm.Status().Working) == 2 })

	clk.Advance(time.Second)
	r := <-late
	require.ErrorIs(t, r.Err, ErrTimeout, "the task fails at its timeout")
	f := (*fakes)[0]
	f.mu.Lock()
	assert.Equal(t, []string{"task-2"}, f.cancels, "its worker is asked to stop it")
	f.mu.Unlock()
	settleSoon(t, func() bool { return tm.Stats().Workers[0].InFlight == 1 })
	clk.Advance(DefaultCancelGrace)
	assert.False(t, f.ended, "the worker stopped the handler: not terminated")
	assert.Equal(t, 0, tm.Stats().Restarted)
	select {
	case r := <-beside:
		t.Fatalf("the task beside it was touched: %+v", r)
	default:
	}
	assert.Equal(t, 1, tm.Stats().TimedOut)
}

func TestATimedOutTaskOnAWorkerThatStopsHandlersRunsAgainOnceItsSlotIsFree(t *testing.T) {
	var mu sync.Mutex
	running, most := 0, 0
	stop := make(chan struct{})
	tm, clk, _, fakes, runs := jobWorker(t, func(n int) {
		mu.Lock()
		running++
		most = max(most, running)
		mu.Unlock()
		if n == 1 {
			<-stop // the first run hangs until the worker is asked to stop it
		}
		mu.Lock()
		running--
		mu.Unlock()
	})
	(*fakes)[0].onCancel = func(*fakeTransport, string) { close(stop) } // the handler returns; its answer is dropped
	res := doAsync(tm, TaskParams{Name: "job", Timeout: time.Second, Retries: 1})
	settleSoon(t, func() bool { return runs() == 1 })
	clk.Advance(time.Second)
	r := <-res
	require.NoError(t, r.Err)
	assert.Equal(t, 2, r.Content, "run again on the same worker, once it had stopped the first run")
	mu.Lock()
	assert.Equal(t, 1, most, "never two runs at once")
	mu.Unlock()
	assert.Equal(t, 1, tm.Stats().Retried)
	assert.Equal(t, 0, tm.Stats().Restarted)
}

func TestATimedOutTaskWaitingForItsWorkerToStopItRunsOnceMoreWhenThatWorkerCloses(t *testing.T) {
	forever := make(chan struct{})
	defer close(forever)
	tm, clk, p, fakes, runs := jobWorker(t, func(n int) {
		if n == 1 {
			<-forever
		}
	})
	(*fakes)[0].onCancel = func(*fakeTransport, string) {} // hears the cancel, and goes on
	res := doAsync(tm, TaskParams{Name: "job", Timeout: time.Second, Retries: 2})
	settleSoon(t, func() bool { return runs() == 1 })
	clk.Advance(time.Second)
	_, err := p.add(cfg("stops", "job"))
	require.NoError(t, err)
	require.NoError(t, p.ready(ctx(t)))
	p.workers[0].Close() // before the grace ends: the task goes to the other worker
	r := <-res
	require.NoError(t, r.Err)
	assert.Equal(t, 2, r.Content, "the run on the other worker answers, and is kept")
	assert.Equal(t, 1, tm.Stats().Retried, "that run is the timeout's retry")
}

func TestAGraceTimerStoppedTooLateLeavesTheTasksRetryOnTheSameWorkerAlone(t *testing.T) {
	stop, gate := make(chan struct{}), make(chan struct{})
	tm, clk, _, fakes, runs := jobWorker(t, func(n int) {
		if n == 1 {
			<-stop
		} else {
			<-gate
		}
	})
	var grace *fakeTimer
	(*fakes)[0].onCancel = func(f *fakeTransport, _ string) {
		tm.mu.Lock()
		grace = f.w.inflight[1].timer.(*fakeTimer) // the timed-out task's grace timer
		tm.mu.Unlock()
		close(stop) // the handler returns: the answer frees the slot, and the retry comes back here
	}
	res := doAsync(tm, TaskParams{Name: "job", Timeout: time.Second, Retries: 1})
	settleSoon(t, func() bool { return runs() == 1 })
	clk.Advance(time.Second)
	settleSoon(t, func() bool { return runs() == 2 })

	grace.f() // the grace timer fires as if stopped too late, its callback already waiting for the lock
	assert.Equal(t, 0, tm.Stats().Restarted, "not the task's timer any more: the worker, which stopped the handler, stays")
	close(gate)
	r := <-res
	require.NoError(t, r.Err)
	assert.Equal(t, 2, r.Content)
}

func TestCancellingATimedOutTaskThatWaitsToBeStoppedSettlesItWithoutAskingAgain(t *testing.T) {
	tm, clk, _, fakes := stoppingWorker(t)
	f := (*fakes)[0]
	f.onCancel = func(*fakeTransport, string) {} // hears the cancel, and goes on
	task, err := tm.AddTask(TaskParams{Name: "hang", Timeout: time.Second, Retries: 1})
	require.NoError(t, err)
	settleSoon(t, func() bool { return len(tm.Status().Working) == 1 })
	clk.Advance(time.Second)
	clk.Advance(DefaultCancelGrace / 2)
	task.Cancel()
	assert.Equal(t, TaskFailed, task.Status(), "settled by the cancel")
	f.mu.Lock()
	assert.Len(t, f.cancels, 1, "its worker was asked to stop it once, at the timeout")
	f.mu.Unlock()
	clk.Advance(DefaultCancelGrace / 2)
	f.mu.Lock()
	assert.True(t, f.ended, "not stopped within its grace: terminated")
	f.mu.Unlock()
	clk.Advance(DefaultRestartBackoff)
	settleSoon(t, func() bool { return tm.Stats().Restarted == 1 })
	assert.Equal(t, 0, tm.Stats().Retried, "cancelled: not run again")
}

func TestAnUncaughtErrorFromAWorkerThatAnswersItsHandlersThrowsIsACrash(t *testing.T) {
	// Such a worker (atmo-worker.js, a Go worker) answers a handler's throw
	// itself: an error event is a throw outside its handlers, not one
	// task's outcome, and its handlers may still run. Its task, timed out
	// and waiting to be stopped here, runs again on the worker that
	// replaces it; the one beside it, with no Retries, fails saying why.
	tm, clk, p, fakes := stoppingWorker(t)
	(*fakes)[0].onCancel = func(*fakeTransport, string) {} // hears the cancel, and goes on
	beside := doAsync(tm, TaskParams{Name: "hang"})
	res := doAsync(tm, TaskParams{Name: "hang", Timeout: time.Second, Retries: 1})
	settleSoon(t, func() bool { return len(tm.Status().Working) == 2 })
	clk.Advance(time.Second)
	p.workerError(p.workers[0], "Uncaught boom")
	r := <-beside
	require.ErrorIs(t, r.Err, ErrWorkerCrashed)
	assert.Contains(t, r.Error, "uncaught error that escaped its task handlers (a timer's, a listener's: the worker answers a handler's own throw as its task's error): Uncaught boom")
	assert.True(t, (*fakes)[0].ended, "the thread whose handlers may still run is ended")
	runsAgainOnTheFreshWorker(t, tm, clk, p, res)
}

func TestATimedOutTaskWhoseHandlerDoesNotStopHasItsWorkerReplacedAfterTheGrace(t *testing.T) {
	tm, clk, p, fakes := stoppingWorker(t)
	(*fakes)[0].onCancel = func(*fakeTransport, string) {} // hears the cancel, and goes on
	beside := doAsync(tm, TaskParams{Name: "hang"})
	late := doAsync(tm, TaskParams{Name: "hang", Timeout: time.Second, Retries: 1})
	settleSoon(t, func() bool { return len(tm.Status().Working) == 2 })

	clk.Advance(time.Second)
	clk.Advance(DefaultCancelGrace)
	f := (*fakes)[0]
	f.mu.Lock()
	assert.True(t, f.ended, "not stopped within its grace: terminated")
	f.mu.Unlock()
	r := <-beside
	require.ErrorIs(t, r.Err, ErrWorkerCrashed, "the task beside it had no Retries")
	assert.Contains(t, r.Error, "did not stop timed-out task task-2 (past its 1s timeout) within 1s")
	runsAgainOnTheFreshWorker(t, tm, clk, p, late)
	assert.Equal(t, 1, tm.Stats().Restarted)
}

func TestNegativeTimeoutMeansNoLimitAndDefaultsApply(t *testing.T) {
	tm := NewTaskManagerWithOptions(Options{DefaultTimeout: time.Minute})
	defer tm.Close()
	w := &TaskWorker{config: WorkerConfig{TaskTimeout: 5 * time.Second}}
	assert.Equal(t, time.Duration(-1), tm.timeoutOf(&TaskRequest{timeout: -1}, w))
	assert.Equal(t, 5*time.Second, tm.timeoutOf(&TaskRequest{}, w))
	assert.Equal(t, time.Minute, tm.timeoutOf(&TaskRequest{}, &TaskWorker{}))
}

func TestACrashRetriesOnAnotherWorkerThenFailsWithErrWorkerCrashed(t *testing.T) {
	tm := NewTaskManagerWithOptions(Options{Restart: RestartPolicy{Never: true}})
	defer tm.Close()
	p, fakes := fakePool(t, tm, hangOn(t), cfg("a", "hang"), cfg("b", "hang"))
	require.NoError(t, p.ready(ctx(t)))
	res := doAsync(tm, TaskParams{Name: "hang", Retries: 1})
	settleSoon(t, func() bool { return len(tm.Status().Working) == 1 })
	task := func(id string) *TaskRequest { t, _ := tm.Task(id); return t }
	first := task(tm.Status().Working[0]).AssignedWorker()
	var a, b *TaskWorker
	for _, f := range *fakes {
		if f.w.id == first {
			a = f.w
		} else {
			b = f.w
		}
	}
	p.workerExit(a, "exit code 1")
	settleSoon(t, func() bool { w := tm.Status().Working; return len(w) == 1 && task(w[0]).AssignedWorker() == b.id })
	p.workerExit(b, "exit code 2")
	r := <-res
	require.ErrorIs(t, r.Err, ErrWorkerCrashed)
	assert.NotContains(t, r.Error, "Retries left", "no worker is left to run it again: Retries would not have helped")
	assert.Contains(t, r.Error, b.id)
	assert.Contains(t, r.Error, "exit code 2")
	assert.Equal(t, WorkerClosed, a.Status(), "restarts are off")
	s := tm.Stats()
	assert.Equal(t, 2, s.Crashed)
	assert.Equal(t, 1, s.Retried)
}

func TestACrashOfTheLastWorkerForANameFailsItsTaskWithTheCrashNotARetry(t *testing.T) {
	tm := NewTaskManagerWithOptions(Options{Restart: RestartPolicy{Never: true}})
	defer tm.Close()
	p, fakes := fakePool(t, tm, hangOn(t), cfg("a", "hang"))
	require.NoError(t, p.ready(ctx(t)))
	res := doAsync(tm, TaskParams{Name: "hang", Retries: 1})
	settleSoon(t, func() bool { return len(tm.Status().Working) == 1 })
	p.workerExit((*fakes)[0].w, "exit code 1")
	r := <-res
	require.ErrorIs(t, r.Err, ErrWorkerCrashed, "no worker is left to retry on: %v", r.Err)
	assert.Contains(t, r.Error, "exit code 1")
	assert.NotContains(t, r.Error, "Retries", "it had one: no worker was left to use it")
	assert.Equal(t, 0, tm.Stats().Retried, "no retry ran")
}

func TestATimedOutTaskWaitingToRunAgainWhoseLastWorkerCrashesFailsWithTheCrashNamingTheTimeout(t *testing.T) {
	// The task timed out with Retries left, and waits for its worker to
	// stop it to run again; then the worker crashes, under Restart.Never,
	// and no worker is left to run it. The crash ended it, as it ends
	// every task running there (see the test above): ErrWorkerCrashed,
	// saying that its last run timed out, and so which limit to raise.
	tm := NewTaskManagerWithOptions(Options{Restart: RestartPolicy{Never: true}})
	defer tm.Close()
	clk := withClock(tm)
	c := cfg("stops", "hang")
	p, fakes := fakePool(t, tm, hangOn(t), c)
	require.NoError(t, p.ready(ctx(t)))
	f := (*fakes)[0]
	f.onCancel = func(*fakeTransport, string) {} // hears the cancel, and goes on
	res := doAsync(tm, TaskParams{Name: "hang", Timeout: time.Second, Retries: 1})
	settleSoon(t, func() bool { return len(tm.Status().Working) == 1 })
	clk.Advance(time.Second) // timed out: its worker is asked to stop it
	p.workerExit(f.w, "exit code 1")
	r := <-res
	require.ErrorIs(t, r.Err, ErrWorkerCrashed, "%v", r.Err)
	assert.NotErrorIs(t, r.Err, ErrTimeout, "one sentinel: the crash ended it")
	assert.Contains(t, r.Error, "exit code 1", "says what crashed")
	assert.Contains(t, r.Error, "ran longer than 1s", "it says its last run timed out")
	assert.Contains(t, r.Error, "its TaskParams.Timeout", "and which limit to raise")
	assert.Equal(t, 0, tm.Stats().Retried, "it never ran again")
}

func TestADyingWorkerTakesNoMoreTasksThoughItsAnswersStillCome(t *testing.T) {
	// Node.js: a thread's uncaught error comes ahead of its exit, and of
	// answers it posted before. A task queued behind waits for the worker
	// that replaces it, and so needs no Retries.
	tm := NewTaskManager()
	defer tm.Close()
	clk := withClock(tm)
	release := make(chan struct{})
	p, fakes := fakePool(t, tm, func(w *TaskWorker, name string, params any) (any, string) {
		if name == "slow" {
			<-release
		}
		return w.id, ""
	}, cfg("a", "slow", "echo"))
	require.NoError(t, p.ready(ctx(t)))
	slow := doAsync(tm, TaskParams{Name: "slow"})
	settleSoon(t, func() bool { return len(tm.Status().Working) == 1 })
	next := doAsync(tm, TaskParams{Name: "echo"})
	w, dying := (*fakes)[0].w, (*fakes)[0]
	p.workerDying(w, dying)
	close(release)
	require.NoError(t, (<-slow).Err, "an answer posted before the error counts")
	assert.Equal(t, 1, tm.Stats().Queued, "not sent to the dying thread")
	p.workerExit(w, "uncaught Error: boom")
	clk.Advance(DefaultRestartBackoff)
	r := <-next
	require.NoError(t, r.Err)
	assert.Len(t, *fakes, 2, "it ran on the replacement")
	assert.Equal(t, 0, tm.Stats().Retried)
}

// moving is params that move JS buffers to the worker, as the JS API holds
// those of run(name, params, {transfer}): once sent, they are gone from
// the page.
var moving = values.Held{Value: 1, List: 2}

func TestATaskThatMovesBuffersCannotAskForRetries(t *testing.T) {
	tm := NewTaskManager()
	defer tm.Close()
	_, err := tm.AddTask(TaskParams{Name: "job", Params: moving, Retries: 2})
	require.ErrorIs(t, err, ErrBadParams)
	assert.Contains(t, err.Error(), `task "job" has Retries 2, but its params move JS buffers to the worker (atmo.Transfer)`)
	assert.Contains(t, err.Error(), "use Retries 0, or pass the bytes as a []byte")
	_, err = tm.AddTask(TaskParams{Name: "job", Params: values.Held{Value: 1, List: -1}, Retries: 2})
	require.NoError(t, err, "held params with no transfer list are copied, and can be sent again")
}

func TestATaskThatMovedBuffersFailsWhenItsWorkerIsReplacedInsteadOfBeingSentAgain(t *testing.T) {
	tm := NewTaskManager()
	defer tm.Close()
	clk := withClock(tm)
	c := cfg("a", "hang")
	c.Concurrency = 3
	p, fakes := rawFakePool(t, tm, hangOn(t), c)
	require.NoError(t, p.ready(ctx(t)))
	moved := doAsync(tm, TaskParams{Name: "hang", Params: moving})
	copied := doAsync(tm, TaskParams{Name: "hang", Params: "copied", Retries: 1})
	late := doAsync(tm, TaskParams{Name: "hang", Timeout: time.Second})
	settleSoon(t, func() bool { return len(tm.Status().Working) == 3 })

	clk.Advance(time.Second) // the worker is replaced; its other tasks leave it
	require.ErrorIs(t, (<-late).Err, ErrTimeout)
	r := <-moved
	require.ErrorIs(t, r.Err, ErrWorkerCrashed)
	assert.Regexp(t, `task task-1 \(hang\) cannot be sent again: its params moved JS buffers \(atmo.Transfer\) to worker-1 \(terminated: task task-3 ran past its 1s timeout\); add the task again with fresh buffers`, r.Error)

	clk.Advance(DefaultRestartBackoff)
	require.NoError(t, p.ready(ctx(t)))
	settleSoon(t, func() bool { return len(tm.Status().Working) == 1 })
	fresh := (*fakes)[1]
	fresh.mu.Lock()
	defer fresh.mu.Unlock()
	require.Len(t, fresh.awakes, 1, "only the task with copied params goes to the fresh worker")
	select {
	case r := <-copied:
		t.Fatalf("the copied task settled: %+v", r)
	default:
	}
}

func TestATaskThatMovedBuffersToAWorkerThatCrashedSaysItCannotBeSentAgain(t *testing.T) {
	// As when its worker is replaced: the error says why the task is not
	// sent again, not only that the worker crashed.
	tm := NewTaskManager()
	defer tm.Close()
	p, _ := rawFakePool(t, tm, hangOn(t), cfg("a", "hang"))
	require.NoError(t, p.ready(ctx(t)))
	moved := doAsync(tm, TaskParams{Name: "hang", Params: moving})
	settleSoon(t, func() bool { return len(tm.Status().Working) == 1 })
	p.workerExit(p.list()[0], "exit code 3")
	r := <-moved
	require.ErrorIs(t, r.Err, ErrWorkerCrashed)
	assert.Contains(t, r.Error, "task task-1 (hang) cannot be sent again: its params moved JS buffers (atmo.Transfer) to worker-1 (crashed: exit code 3); add the task again with fresh buffers")
}

func TestATaskThatMovedBuffersToAWorkerClosedByCloseFailsWithErrClosed(t *testing.T) {
	// Nothing crashed: the program closed the worker (a task with copied
	// params would go to the worker beside it).
	tm := NewTaskManager()
	defer tm.Close()
	c := cfg("a", "hang")
	c.Count = 2
	p, _ := rawFakePool(t, tm, hangOn(t), c)
	require.NoError(t, p.ready(ctx(t)))
	moved := doAsync(tm, TaskParams{Name: "hang", Params: moving})
	settleSoon(t, func() bool { return len(tm.Status().Working) == 1 })
	task, ok := tm.Task("task-1")
	require.True(t, ok)
	var first *TaskWorker
	for _, x := range p.list() {
		if x.ID() == task.AssignedWorker() {
			first = x
		}
	}
	require.NotNil(t, first)
	require.NoError(t, first.Close())
	r := <-moved
	require.ErrorIs(t, r.Err, ErrClosed)
	assert.NotErrorIs(t, r.Err, ErrWorkerCrashed)
	assert.Contains(t, r.Error, "task task-1 (hang) cannot be sent again: its params moved JS buffers (atmo.Transfer) to "+first.ID()+", which was closed by Close(); add the task again with fresh buffers")
}

func TestTasksBesideOneThatTimedOutRunAgainOnlyWhileTheirRetriesLast(t *testing.T) {
	tm := NewTaskManager()
	defer tm.Close()
	clk := withClock(tm)
	c := cfg("a", "hang")
	c.Concurrency = 3
	p, _ := fakePool(t, tm, hangOn(t), c)
	require.NoError(t, p.ready(ctx(t)))
	once := doAsync(tm, TaskParams{Name: "hang"})
	again := doAsync(tm, TaskParams{Name: "hang", Retries: 1})
	late := doAsync(tm, TaskParams{Name: "hang", Timeout: time.Second})
	settleSoon(t, func() bool { return len(tm.Status().Working) == 3 })

	clk.Advance(time.Second) // late times out: the worker running all three is replaced
	require.ErrorIs(t, (<-late).Err, ErrTimeout)
	r := <-once
	require.ErrorIs(t, r.Err, ErrWorkerCrashed, "a task without Retries is never run twice")
	assert.Equal(t, "atmo: worker crashed: task task-1 (hang) was running on worker-1 when it was terminated: task task-3 ran past its 1s timeout; it has no Retries left to run it again (TaskParams.Retries)", r.Error)
	runsAgainOnTheFreshWorker(t, tm, clk, p, again)
}

// runsAgainOnTheFreshWorker checks that, once p's replaced worker is back,
// the one task with Retries (whose answer comes to res) runs on it, counted
// as retried, and still runs (the fake's hang).
func runsAgainOnTheFreshWorker(t *testing.T, tm *TaskManager, clk *fakeClock, p *workerPool, res <-chan Response) {
	t.Helper()
	clk.Advance(DefaultRestartBackoff)
	require.NoError(t, p.ready(ctx(t)))
	settleSoon(t, func() bool { return len(tm.Status().Working) == 1 })
	assert.Equal(t, 1, tm.Stats().Retried, "the task with Retries runs again, and is counted")
	select {
	case r := <-res:
		t.Fatalf("the task with Retries settled: %+v", r)
	default:
	}
}

func TestClosingAWorkerManagerHandsItsRunningTasksWithRetriesToAnotherThatListsThem(t *testing.T) {
	tm := NewTaskManager()
	defer tm.Close()
	forever := make(chan struct{})
	defer close(forever)
	closing, _ := fakePool(t, tm, func(*TaskWorker, string, any) (any, string) { <-forever; return nil, "" }, cfg("a", "hang", "only"), cfg("b", "hang", "only"), cfg("d", "hang"))
	require.NoError(t, closing.ready(ctx(t)))
	shared := doAsync(tm, TaskParams{Name: "hang", Retries: 1})
	once := doAsync(tm, TaskParams{Name: "hang"})
	own := doAsync(tm, TaskParams{Name: "only", Retries: 1})
	settleSoon(t, func() bool { return len(tm.Status().Working) == 3 })
	moved := doAsync(tm, TaskParams{Name: "hang", Params: moving}) // queued: every worker is busy
	other, fakes := fakePool(t, tm, func(w *TaskWorker, name string, params any) (any, string) { return w.id, "" }, cfg("c", "hang"))
	require.NoError(t, other.ready(ctx(t)))

	closing.close(ErrClosed)
	r := <-shared
	require.NoError(t, r.Err, "run again on the other manager's worker: it has Retries")
	assert.Equal(t, (*fakes)[0].w.id, r.Content)
	r = <-once
	require.ErrorIs(t, r.Err, ErrClosed, "no Retries: it may have begun, and never runs twice")
	assert.Contains(t, r.Error, "the worker manager was closed while task task-2 (hang) ran on worker-")
	assert.Contains(t, r.Error, "; it has no Retries left to run it again (TaskParams.Retries)")
	r = <-own
	require.ErrorIs(t, r.Err, ErrClosed, "no other manager lists it")
	assert.Contains(t, r.Error, "the worker manager was closed while task task-3 (only) ran on worker-")
	require.NoError(t, (<-moved).Err, "a queued task whose buffers never left is free to go anywhere")
	assert.Equal(t, 1, tm.Stats().Retried)
}

func TestClosingAWorkerManagerFailsARunningTaskWhoseBuffersMovedWithErrClosed(t *testing.T) {
	tm := NewTaskManager()
	defer tm.Close()
	forever := make(chan struct{})
	defer close(forever)
	closing, _ := rawFakePool(t, tm, func(*TaskWorker, string, any) (any, string) { <-forever; return nil, "" }, cfg("a", "hang"))
	require.NoError(t, closing.ready(ctx(t)))
	moved := doAsync(tm, TaskParams{Name: "hang", Params: moving})
	settleSoon(t, func() bool { return len(tm.Status().Working) == 1 })
	other, _ := rawFakePool(t, tm, echo, cfg("b", "hang"))
	require.NoError(t, other.ready(ctx(t)))
	closing.close(ErrClosed)
	r := <-moved
	require.ErrorIs(t, r.Err, ErrClosed, "its buffers are with the closed worker: it cannot move, and fails as the manager's own")
}

func TestAnUncaughtErrorAfterACancelFailsNoTaskTwiceInTheWorkersCounts(t *testing.T) {
	tm := NewTaskManager()
	defer tm.Close()
	p, fakes := fakePool(t, tm, hangOn(t), cfg("a", "hang"))
	require.NoError(t, p.ready(ctx(t)))
	task, err := tm.AddTask(TaskParams{Name: "hang"})
	require.NoError(t, err)
	settleSoon(t, func() bool { return len(tm.Status().Working) == 1 })
	task.Cancel() // settled; it holds its worker's slot until the worker answers
	p.workerError((*fakes)[0].w, "Uncaught TypeError")
	w := tm.Stats().Workers[0]
	assert.Equal(t, 0, w.Done)
	assert.Equal(t, 0, w.Failed)
}

func TestAnUncaughtErrorWithTasksRunningSideBySideIsACrashOfTheirWorker(t *testing.T) {
	// An error event does not say which task threw, and the other handlers
	// may still run: freeing every slot would let the worker take more than
	// its Concurrency. The worker is replaced, as after a crash.
	tm := NewTaskManager()
	defer tm.Close()
	c := cfg("a", "hang")
	c.Concurrency = 2
	p, fakes := fakePool(t, tm, hangOn(t), c)
	require.NoError(t, p.ready(ctx(t)))
	r1 := doAsync(tm, TaskParams{Name: "hang"})
	r2 := doAsync(tm, TaskParams{Name: "hang"})
	settleSoon(t, func() bool { return len(tm.Status().Working) == 2 })
	p.workerError((*fakes)[0].w, "Uncaught TypeError: x is undefined")
	for _, r := range []Response{<-r1, <-r2} {
		require.ErrorIs(t, r.Err, ErrWorkerCrashed)
		assert.Contains(t, r.Error, "uncaught error with 2 tasks on the worker, so which one threw is not known: Uncaught TypeError: x is undefined")
	}
	assert.True(t, (*fakes)[0].ended, "the thread whose handlers may still run is ended")
	assert.Equal(t, 1, tm.Stats().Crashed)
}

func TestACrashedWorkerRestartsWithBackoff(t *testing.T) {
	tm := NewTaskManager()
	defer tm.Close()
	clk := withClock(tm)
	p, fakes := fakePool(t, tm, echo, cfg("a", "job"))
	require.NoError(t, p.ready(ctx(t)))
	w := (*fakes)[0].w
	for i, wait := range []time.Duration{100 * time.Millisecond, 200 * time.Millisecond, 400 * time.Millisecond} {
		p.workerExit(w, "crash")
		assert.Equal(t, WorkerOffline, w.Status())
		clk.Advance(wait - time.Millisecond)
		assert.Len(t, *fakes, i+1, "not before its backoff")
		clk.Advance(time.Millisecond)
		assert.Len(t, *fakes, i+2)
		require.NoError(t, p.ready(ctx(t)))
	}
	_, err := tm.Do(ctx(t), "job", nil)
	require.NoError(t, err)
}

func TestACrashThenAFailedStartAreTwoFailuresInARowAndDoubleTheBackoff(t *testing.T) {
	tm := NewTaskManager()
	defer tm.Close()
	clk := withClock(tm)
	starts, failing := 0, false
	var w *TaskWorker
	p, err := newWorkerPool(tm, func(x *TaskWorker) (transport, error) {
		starts++
		w = x
		if failing {
			return nil, errors.New("404")
		}
		return &fakeTransport{pool: x.pool, w: x, run: echo}, nil
	}, []WorkerConfig{{Tasks: []string{"job"}, Script: "a", Restart: RestartPolicy{MaxBootFailures: 5}}})
	require.NoError(t, err)
	require.NoError(t, p.ready(ctx(t)))
	failing = true
	p.workerExit(w, "crash") // the first failure: a restart after 100ms
	clk.Advance(100 * time.Millisecond)
	require.Equal(t, 2, starts, "that start fails: the second failure in a row")
	clk.Advance(199 * time.Millisecond)
	assert.Equal(t, 2, starts, "the second failure in a row waits 200ms, not 100ms")
	clk.Advance(time.Millisecond)
	assert.Equal(t, 3, starts)
}

func TestAScriptThatFailsEveryStartIsClosedAfterMaxBootFailures(t *testing.T) {
	tm := NewTaskManager()
	defer tm.Close()
	clk := withClock(tm)
	starts := 0
	_, err := newWorkerPool(tm, func(w *TaskWorker) (transport, error) {
		starts++
		return nil, errors.New("SyntaxError: Unexpected token")
	}, []WorkerConfig{{Tasks: []string{"job"}, Script: "bad.js", Restart: RestartPolicy{MaxBootFailures: 4}}})
	require.NoError(t, err)
	res := doAsync(tm, TaskParams{Name: "job"})
	for i := 0; i < 10; i++ {
		clk.Advance(maxRestartBackoff)
	}
	r := <-res
	assert.Equal(t, 4, starts)
	require.ErrorIs(t, r.Err, ErrNoWorker)
	assert.Contains(t, r.Error, "failed to start 4 times in a row, giving up; last: SyntaxError: Unexpected token")

	_, err = tm.Do(ctx(t), "job", nil)
	require.ErrorIs(t, err, ErrNoWorker, "a task added after the worker gave up")
	assert.Equal(t, `atmo: no worker handles this task: no worker lists task "job" any more (known: none); `+
		`the last worker that did, worker-1 (bad.js), failed to start 4 times in a row, giving up; last: SyntaxError: Unexpected token`, err.Error(),
		"it says why, not to start a worker manager")

	_, err = newWorkerPool(tm, func(w *TaskWorker) (transport, error) { return nil, errors.New("still broken") },
		[]WorkerConfig{{Tasks: []string{"job"}, Script: "bad.js", Restart: RestartPolicy{MaxBootFailures: 1}}})
	require.NoError(t, err)
	res = doAsync(tm, TaskParams{Name: "job"})
	clk.Advance(maxRestartBackoff)
	r = <-res
	assert.Contains(t, r.Error, "the last worker that did, worker-2 (bad.js), failed to start: still broken", "a worker listing it again replaces the last word")
}

func TestAWorkerExitSayingItsStartCanNeverSucceedClosesTheWorkerWithoutRetries(t *testing.T) {
	// go-worker.js says so (permanent) of a module built for another target,
	// or one with no worker.Run: every start would fail the same way.
	tm := NewTaskManager()
	defer tm.Close()
	p, fakes := fakePool(t, tm, echo, WorkerConfig{Tasks: []string{"a"}, Script: "silent", Count: 2, MaxWorkers: 4})
	in, err := decodeInbound(map[string]any{"message": "worker-exit", "error": "x.wasm is built with GOOS=wasip1", "permanent": true})
	require.NoError(t, err)
	require.True(t, in.permanent)
	res := doAsync(tm, TaskParams{Name: "a"})
	settleSoon(t, func() bool { return len(tm.Status().Pending) == 1 })
	for _, f := range slices.Clone(*fakes) {
		p.receiveFrom(f, f.w, in)
	}
	r := <-res
	require.ErrorIs(t, r.Err, ErrNoWorker, "the task waiting for them fails now")
	assert.Contains(t, r.Error, "failed to start: x.wasm is built with GOOS=wasip1")
	require.ErrorIs(t, p.ready(ctx(t)), ErrWorkerStart)
	for _, w := range p.list() {
		assert.Equal(t, WorkerClosed, w.Status(), w.ID())
		assert.Equal(t, "failed to start: x.wasm is built with GOOS=wasip1", w.LastError(), w.ID())
	}
	s := tm.Stats()
	assert.Zero(t, s.Restarted, "not started again")
	assert.Zero(t, s.Grown, "its group grows no more")
}

func TestAWorkerExitSayingItsStartCanNeverSucceedAfterReadyIsACrashAsAnyOther(t *testing.T) {
	// Only a worker that has not started can say so: one that has is
	// restarted, whatever it says.
	tm := NewTaskManager()
	defer tm.Close()
	p, fakes := fakePool(t, tm, echo, cfg("js", "a"))
	require.NoError(t, p.ready(ctx(t)))
	f := (*fakes)[0]
	p.receiveFrom(f, f.w, inbound{kind: KindWorkerExit, err: "gone", permanent: true})
	_, err := tm.Do(ctx(t), "a", "x")
	require.NoError(t, err, "run by the restarted worker")
	s := tm.Stats()
	assert.Equal(t, 1, s.Crashed)
	assert.Equal(t, 1, s.Restarted)
}

func TestWorkersAddedAndClosedOnePerDatasetLeaveNothingBehind(t *testing.T) {
	// A page that names its tasks per dataset adds a worker for each, adds
	// its tasks (some time out, some are still queued when it closes), then
	// closes it: nothing the manager keeps grows with the datasets.
	tm := NewTaskManager()
	defer tm.Close()
	p, _ := fakePool(t, tm, echo, cfg("w.js", "base"))
	sizes := func() []int {
		tm.mu.Lock()
		defer tm.mu.Unlock()
		return []int{len(tm.queues), len(tm.byName), len(tm.gone), len(tm.retired), len(tm.retryAfter), tm.tasks.len(), len(p.workers), len(p.groups)}
	}
	var quarter []int
	const n = 400
	for i := range n {
		name := fmt.Sprintf("dataset-%d", i)
		w, err := p.add(cfg("w.js", name))
		require.NoError(t, err)
		for range 3 {
			_, err := tm.AddTask(TaskParams{Name: name, Timeout: 1})
			require.NoError(t, err)
		}
		require.NoError(t, w.Close())
		if i == n/4-1 {
			quarter = sizes()
		}
	}
	end := sizes()
	for k := range end {
		assert.LessOrEqual(t, end[k], quarter[k]+2, "queues, byName, gone, retired, retryAfter, tasks, workers, groups: %v after %d datasets, %v after %d", quarter, n/4, end, n)
	}
}

func TestAWorkerOfManyTaskNamesThatClosesSaysWhyForEveryOneOfThem(t *testing.T) {
	// More names than the manager keeps closed workers' words for: they are
	// one worker's, kept or forgotten together.
	tm := NewTaskManager()
	defer tm.Close()
	release := make(chan struct{})
	defer close(release)
	names := make([]string, 3*keptClosed)
	for i := range names {
		names[i] = fmt.Sprintf("t%d", i)
	}
	last := names[len(names)-1]
	p, _ := fakePool(t, tm, func(w *TaskWorker, name string, _ any) (any, string) {
		if name == last {
			<-release
		}
		return nil, ""
	}, WorkerConfig{Tasks: []string{"base"}, Script: "base"})
	require.NoError(t, p.ready(ctx(t)))
	w, err := p.add(WorkerConfig{Tasks: names, Script: "many"})
	require.NoError(t, err)
	require.NoError(t, p.ready(ctx(t)))
	_, err = tm.AddTask(TaskParams{Name: last}) // holds the worker
	require.NoError(t, err)
	queued := doAsync(tm, TaskParams{Name: "t0"})
	settleSoon(t, func() bool { return tm.Stats().Queued == 1 })
	require.NoError(t, w.Close())
	r := <-queued
	require.ErrorIs(t, r.Err, ErrNoWorker)
	assert.Contains(t, r.Err.Error(), `no worker lists task "t0" any more (known: base); the last worker that did, worker-2 (many), closed by Close()`)
	_, err = tm.Do(ctx(t), "t1", nil)
	assert.Contains(t, err.Error(), "worker-2 (many), closed by Close()")
}

func TestCancellingAQueuedTaskRemovesItAtOnce(t *testing.T) {
	tm := NewTaskManager()
	defer tm.Close()
	p, _ := fakePool(t, tm, hangOn(t), cfg("a", "hang"))
	require.NoError(t, p.ready(ctx(t)))
	doAsync(tm, TaskParams{Name: "hang"})
	why := make(chan Response, 1)
	task, err := tm.AddTask(TaskParams{Name: "hang", OnError: func(r Response) { why <- r }})
	require.NoError(t, err)
	assert.Equal(t, 1, tm.Stats().Queued)
	task.Cancel()
	assert.Equal(t, TaskFailed, task.Status())
	assert.Equal(t, 0, tm.Stats().Queued)
	assert.Equal(t, 1, tm.Stats().Canceled)
	r := <-why
	require.ErrorIs(t, r.Err, ErrCanceled)
	assert.Equal(t, "atmo: task canceled: task task-2 (hang) by Cancel()", r.Error, "it says which task, and how")
}

func TestCancellingARunningTaskTellsItsWorkerAndReplacesOneThatIgnoresIt(t *testing.T) {
	tm := NewTaskManager()
	defer tm.Close()
	clk := withClock(tm)
	p, fakes := fakePool(t, tm, hangOn(t), cfg("a", "hang", "echo"))
	require.NoError(t, p.ready(ctx(t)))
	ctx2, cancel := context.WithCancel(context.Background())
	res := doAsync(tm, TaskParams{Name: "hang", Context: ctx2})
	settleSoon(t, func() bool { return len(tm.Status().Working) == 1 })
	cancel()
	r := <-res
	require.ErrorIs(t, r.Err, ErrCanceled)
	require.ErrorIs(t, r.Err, context.Canceled)
	f := (*fakes)[0]
	settleSoon(t, func() bool { f.mu.Lock(); defer f.mu.Unlock(); return len(f.cancels) == 1 })
	assert.Equal(t, WorkerWorking, f.w.Status(), "the slot stays taken until the worker answers")
	clk.Advance(DefaultCancelGrace)
	assert.True(t, f.ended, "terminated after the grace period")
	clk.Advance(DefaultRestartBackoff)
	require.NoError(t, p.ready(ctx(t)))
	_, err := tm.Do(ctx(t), "echo", nil)
	require.NoError(t, err)
}

func TestACanceledTasksErrorCarriesItsContextsCause(t *testing.T) {
	tm := NewTaskManager()
	defer tm.Close()
	p, _ := fakePool(t, tm, hangOn(t), cfg("a", "hang"))
	require.NoError(t, p.ready(ctx(t)))
	userLeft := errors.New("the user left the page")

	running, cancel := context.WithCancelCause(context.Background())
	errc := make(chan error, 1)
	go func() { _, err := tm.Do(running, "hang", nil); errc <- err }()
	settleSoon(t, func() bool { return len(tm.Status().Working) == 1 })
	cancel(userLeft)
	err := <-errc
	require.ErrorIs(t, err, ErrCanceled)
	require.ErrorIs(t, err, context.Canceled, "errors.Is against the context's error still holds")
	require.ErrorIs(t, err, userLeft, "and against its cause")
	assert.ErrorContains(t, err, "task task-1 (hang) by its context: context canceled: the user left the page", "it names the task")

	watched, cancelWatched := context.WithCancel(context.Background())
	r := doAsync(tm, TaskParams{Name: "hang", Context: watched})
	cancelWatched()
	err = (<-r).Err
	require.ErrorIs(t, err, context.Canceled)
	assert.ErrorContains(t, err, "task task-2 (hang) by its context: context canceled", "AddTask's Context too")

	ended, stop := context.WithTimeoutCause(context.Background(), time.Nanosecond, userLeft)
	defer stop()
	<-ended.Done()
	_, err = tm.AddTask(TaskParams{Name: "hang", Context: ended})
	require.ErrorIs(t, err, ErrCanceled, "a context already ended refuses the task")
	require.ErrorIs(t, err, context.DeadlineExceeded)
	require.ErrorIs(t, err, userLeft)
}

func TestDoCancelsItsTaskWhenItsContextEndsAndOnlyThen(t *testing.T) {
	tm := NewTaskManager()
	defer tm.Close()
	p, fakes := fakePool(t, tm, hangOn(t), cfg("a", "hang", "echo"))
	require.NoError(t, p.ready(ctx(t)))

	running, cancel := context.WithCancel(context.Background())
	errc := make(chan error, 1)
	go func() {
		_, err := tm.Do(running, "hang", nil)
		errc <- err
	}()
	settleSoon(t, func() bool { return len(tm.Status().Working) == 1 })
	cancel()
	err := <-errc
	require.ErrorIs(t, err, ErrCanceled)
	require.ErrorIs(t, err, context.Canceled)
	f := (*fakes)[0]
	settleSoon(t, func() bool { f.mu.Lock(); defer f.mu.Unlock(); return len(f.cancels) == 1 })
	assert.Equal(t, 1, tm.Stats().Canceled)

	// A context that lives on after its task has no effect on it.
	other, stop := context.WithCancel(context.Background())
	defer stop()
	tm2 := NewTaskManager()
	defer tm2.Close()
	p2, _ := fakePool(t, tm2, func(_ *TaskWorker, _ string, params any) (any, string) { return params, "" }, cfg("b", "echo"))
	require.NoError(t, p2.ready(ctx(t)))
	got, err := tm2.Do(other, "echo", "hi")
	require.NoError(t, err)
	assert.Equal(t, "hi", got)
	stop()
	assert.Equal(t, 0, tm2.Stats().Canceled)
}

func TestAWorkerThatHonoursCancelKeepsRunning(t *testing.T) {
	tm := NewTaskManager()
	defer tm.Close()
	release := make(chan struct{})
	p, fakes := fakePool(t, tm, func(w *TaskWorker, name string, params any) (any, string) {
		if name == "slow" {
			<-release
		}
		return "ok", ""
	}, cfg("a", "slow", "echo"))
	for _, f := range *fakes {
		f.onCancel = func(*fakeTransport, string) { close(release) }
	}
	require.NoError(t, p.ready(ctx(t)))
	task, err := tm.AddTask(TaskParams{Name: "slow"})
	require.NoError(t, err)
	settleSoon(t, func() bool { return len(tm.Status().Working) == 1 })
	task.Cancel()
	got, err := tm.Do(ctx(t), "echo", nil)
	require.NoError(t, err)
	assert.Equal(t, "ok", got)
	assert.False(t, (*fakes)[0].ended)
	assert.Equal(t, 0, tm.Stats().Restarted)
}

func TestAFullQueueRefusesNewTasksAtOnce(t *testing.T) {
	tm := NewTaskManagerWithOptions(Options{MaxQueue: 2})
	defer tm.Close()
	p, _ := fakePool(t, tm, hangOn(t), cfg("a", "hang"))
	require.NoError(t, p.ready(ctx(t)))
	for i := 0; i < 3; i++ { // one runs, two wait
		_, err := tm.AddTask(TaskParams{Name: "hang"})
		require.NoError(t, err)
	}
	_, err := tm.AddTask(TaskParams{Name: "hang"})
	require.ErrorIs(t, err, ErrQueueFull)
	_, err = tm.Do(ctx(t), "hang", nil)
	require.ErrorIs(t, err, ErrQueueFull)
	assert.Equal(t, 2, tm.Stats().Rejected)
}

func TestAFullQueueStillTakesATaskThatAFreeWorkerRunsAtOnce(t *testing.T) {
	tm := NewTaskManagerWithOptions(Options{MaxQueue: 1})
	defer tm.Close()
	p, _ := fakePool(t, tm, hangOn(t), cfg("a", "hang"), cfg("b", "quick"))
	require.NoError(t, p.ready(ctx(t)))
	for i := 0; i < 2; i++ { // one runs on a, one waits: the queue is full
		_, err := tm.AddTask(TaskParams{Name: "hang"})
		require.NoError(t, err)
	}
	_, err := tm.Do(ctx(t), "quick", nil)
	require.NoError(t, err, "b is free: the task does not wait, so MaxQueue does not bound it")
	_, err = tm.AddTask(TaskParams{Name: "hang"})
	require.ErrorIs(t, err, ErrQueueFull, "one more that would wait is refused")
}

func TestHostileCallerInputIsAnErrorNeverAPanic(t *testing.T) {
	tm := NewTaskManager()
	defer tm.Close()
	done, cancel := context.WithCancel(context.Background())
	cancel()
	_, err := tm.AddTask(TaskParams{Name: "x", Context: done})
	assert.ErrorIs(t, err, ErrCanceled)
	_, err = tm.AddTask(TaskParams{Name: "x", Retries: -1})
	assert.ErrorIs(t, err, ErrBadParams)
}

func TestAPriorityTooLargeForAgingToRankIsRefusedNotWrappedAround(t *testing.T) {
	hourly := NewTaskManagerWithOptions(Options{AgingInterval: time.Hour})
	defer hourly.Close()
	_, err := hourly.AddTask(TaskParams{Name: "x", Priority: -4_000_000})
	require.ErrorIs(t, err, ErrBadParams)
	assert.Equal(t, `atmo: bad parameters: task "x" has Priority -4000000; with Options.AgingInterval 1h0m0s priorities run from -640511 to 640511`, err.Error())
	_, err = hourly.AddTask(TaskParams{Name: "x", Priority: 640511})
	require.NoError(t, err, "the largest is taken")

	unaged := NewTaskManagerWithOptions(Options{AgingInterval: -1})
	defer unaged.Close()
	_, err = unaged.AddTask(TaskParams{Name: "x", Priority: math.MaxInt32})
	require.NoError(t, err, "without aging, priority alone ranks")
}

func TestCloseDuringTimeoutsCancelsAndCrashesSettlesEachTaskOnce(t *testing.T) {
	for round := 0; round < 20; round++ {
		tm := NewTaskManager()
		clk := withClock(tm)
		p, fakes := fakePool(t, tm, hangOn(t), cfg("a", "hang", "echo"), cfg("b", "hang", "echo"))
		require.NoError(t, p.ready(ctx(t)))
		var mu sync.Mutex
		settled := map[string]int{}
		cb := func(r Response) { mu.Lock(); settled[r.TaskID]++; mu.Unlock() }
		var ids []string
		for i := 0; i < 50; i++ {
			name := []string{"hang", "echo"}[i%2]
			task, err := tm.AddTask(TaskParams{Name: name, Timeout: time.Second, Retries: i % 3, OnSuccess: cb, OnError: cb})
			require.NoError(t, err)
			ids = append(ids, task.ID())
			if i%7 == 0 {
				go task.Cancel()
			}
		}
		var wg sync.WaitGroup
		wg.Add(3)
		go func() { defer wg.Done(); clk.Advance(time.Second) }()
		go func() { defer wg.Done(); p.workerExit((*fakes)[round%2].w, "chaos") }()
		go func() { defer wg.Done(); require.NoError(t, tm.Close()) }()
		wg.Wait()
		require.NoError(t, tm.Close())
		mu.Lock()
		for _, id := range ids {
			assert.Equal(t, 1, settled[id], "round %d task %s", round, id)
		}
		mu.Unlock()
	}
}

// RestartPolicy.Backoff: "the wait before a restart after the first failure
// in a row; it doubles with each further failure, up to 5s."
func TestAHugeBackoffNeverRestartsAtOnce(t *testing.T) {
	tm := NewTaskManager()
	defer tm.Close()
	clk := withClock(tm)
	p, fakes := fakePool(t, tm, echo, WorkerConfig{Tasks: []string{"job"}, Script: "a", Restart: RestartPolicy{Backoff: 1 << 62}})
	require.NoError(t, p.ready(ctx(t)))
	w := (*fakes)[0].w
	for i := 0; i < 3; i++ {
		p.workerExit(w, "crash")
		clk.Advance(time.Millisecond)
		assert.Len(t, *fakes, i+1, "crash %d: restarted after 1ms, not after a backoff of at least 5s", i+1)
		clk.Advance(maxRestartBackoff)
		require.Len(t, *fakes, i+2)
		require.NoError(t, p.ready(ctx(t)))
	}
}

// Ready: "It returns an error wrapping ErrWorkerStart naming each worker
// that failed to start". Here the worker's restart after a crash fails
// MaxBootFailures times and it is CLOSED for good.
func TestReadyNamesAWorkerWhoseRestartFailedForGood(t *testing.T) {
	tm := NewTaskManager()
	defer tm.Close()
	clk := withClock(tm)
	starts := 0
	var fake *fakeTransport
	p, err := newWorkerPool(tm, func(w *TaskWorker) (transport, error) {
		starts++
		if starts > 1 {
			return nil, errors.New("404 Not Found")
		}
		fake = &fakeTransport{pool: w.pool, w: w, run: echo}
		return fake, nil
	}, []WorkerConfig{cfg("a.js", "job")})
	require.NoError(t, err)
	require.NoError(t, p.ready(ctx(t)))
	p.workerExit(fake.w, "crash")
	for i := 0; i < 10; i++ {
		clk.Advance(maxRestartBackoff)
	}
	require.Equal(t, WorkerClosed, fake.w.Status())
	t.Log("LastError:", fake.w.LastError())
	err = p.ready(ctx(t))
	assert.ErrorIs(t, err, ErrWorkerStart, "the worker failed to start, and is closed for good")
}

// ErrNoWorker, not ErrQueueFull, for a task no worker lists, however full
// the queue: it would not wait, and retrying later cannot help.
func TestATaskNoWorkerListsFailsWithErrNoWorkerEvenWhenTheQueueIsFull(t *testing.T) {
	tm := NewTaskManagerWithOptions(Options{MaxQueue: 1})
	defer tm.Close()
	p, _ := fakePool(t, tm, hangOn(t), cfg("a", "hang"))
	require.NoError(t, p.ready(ctx(t)))
	for range 2 { // one runs, one waits: the queue is full
		_, err := tm.AddTask(TaskParams{Name: "hang"})
		require.NoError(t, err)
	}
	_, err := tm.Do(ctx(t), "hnag", nil) // a typo
	assert.ErrorIs(t, err, ErrNoWorker)
	assert.NotErrorIs(t, err, ErrQueueFull)
	assert.Equal(t, 0, tm.Stats().Rejected)
}

func TestAWorkerClosedDuringItsRestartBackoffCountsNoRestart(t *testing.T) {
	for _, by := range []string{"TaskManager.Close", "TaskWorker.Close"} {
		t.Run(by, func(t *testing.T) {
			tm := NewTaskManager()
			defer tm.Close()
			clk := withClock(tm)
			p, fakes := fakePool(t, tm, echo, cfg("a", "job"))
			require.NoError(t, p.ready(ctx(t)))
			w := (*fakes)[0].w
			p.workerExit(w, "crash")
			clk.Advance(50 * time.Millisecond) // within its 100ms backoff
			if by == "TaskWorker.Close" {
				require.NoError(t, w.Close())
			} else {
				require.NoError(t, tm.Close())
			}
			clk.Advance(time.Second)
			assert.Len(t, *fakes, 1, "it never started again")
			s := tm.Stats()
			assert.Equal(t, 1, s.Crashed)
			assert.Equal(t, 0, s.Restarted, "closed during its backoff: no restart happened")
			for _, ws := range s.Workers {
				assert.Equal(t, 0, ws.Restarts, "closed during its backoff: never restarted")
			}
		})
	}
}

func TestATimedOutTaskWaitingToRunAgainWhoseLastWorkerIsClosedFailsWithErrClosedNamingTheTimeout(t *testing.T) {
	// The task timed out with Retries left, and waits for its worker to
	// stop it to run again; then its last capable worker is closed, by
	// TaskWorker.Close or its worker manager's Close. It would have run
	// again: the close ended it, as a TaskManager's Close does. So the
	// error is ErrClosed whichever was closed, as for a task that ran
	// there and had not timed out (README, "A worker closed"), and it
	// says that its last run timed out, and which limit to raise.
	for closed, says := range map[string]string{
		"worker":         `worker-1, the last worker that lists "hang", was closed by Close() before task task-1 (hang) ran again`,
		"worker manager": "the worker manager was closed before task task-1 (hang) ran again",
	} {
		t.Run(closed, func(t *testing.T) {
			tm, clk, p, fakes := stoppingWorker(t)
			f := (*fakes)[0]
			f.onCancel = func(*fakeTransport, string) {} // hears the cancel, and goes on
			res := doAsync(tm, TaskParams{Name: "hang", Timeout: time.Second, Retries: 1})
			settleSoon(t, func() bool { return len(tm.Status().Working) == 1 })
			clk.Advance(time.Second) // timed out: its worker is asked to stop it
			if closed == "worker" {
				require.NoError(t, f.w.Close())
			} else {
				p.close(ErrClosed)
			}
			closedAfterTimeout(t, <-res, says)
			s := tm.Stats()
			assert.Equal(t, 1, s.TimedOut)
			assert.Equal(t, 0, s.Retried, "it never ran again")
		})
	}
}

func TestATimeoutErrorNamesTheSettingThatSetItsLimit(t *testing.T) {
	// A limit comes from one of three places; the error says which, so
	// that the user knows what to raise.
	for _, c := range []struct {
		name    string
		opts    Options
		config  WorkerConfig
		timeout time.Duration
		setting string
	}{
		{"task", Options{DefaultTimeout: time.Minute}, cfg("a", "hang"), time.Second, "TaskParams.Timeout"},
		{"config", Options{DefaultTimeout: time.Minute}, WorkerConfig{Tasks: []string{"hang"}, Script: "a", TaskTimeout: time.Second}, 0, "WorkerConfig.TaskTimeout"},
		{"default", Options{DefaultTimeout: time.Second}, cfg("a", "hang"), 0, "Options.DefaultTimeout"},
	} {
		t.Run(c.name, func(t *testing.T) {
			tm := NewTaskManagerWithOptions(c.opts)
			defer tm.Close()
			clk := withClock(tm)
			p, _ := fakePool(t, tm, hangOn(t), c.config)
			require.NoError(t, p.ready(ctx(t)))
			res := doAsync(tm, TaskParams{Name: "hang", Timeout: c.timeout})
			settleSoon(t, func() bool { return len(tm.Status().Working) == 1 })
			clk.Advance(time.Second)
			r := <-res
			require.ErrorIs(t, r.Err, ErrTimeout)
			assert.Contains(t, r.Error, "ran longer than 1s")
			assert.Contains(t, r.Error, c.setting, "says where its limit came from")
		})
	}
}

func TestATaskWithRetriesLeftIsNotToldToGetRetriesWhenNoWorkerIsLeftToRunIt(t *testing.T) {
	// Its worker, under Restart.Never, is replaced for another task's busy
	// loop: it has Retries, but no worker is left to run them.
	tm := NewTaskManager()
	defer tm.Close()
	forever := make(chan struct{})
	t.Cleanup(func() { close(forever) })
	p, _ := fakePool(t, tm, func(*TaskWorker, string, any) (any, string) { <-forever; return nil, "" },
		WorkerConfig{Tasks: []string{"spin", "hold"}, Script: "a", Concurrency: 2, Restart: RestartPolicy{Never: true}})
	require.NoError(t, p.ready(ctx(t)))
	hold := doAsync(tm, TaskParams{Name: "hold", Retries: 2})
	_ = doAsync(tm, TaskParams{Name: "spin", Timeout: 20 * time.Millisecond})
	select {
	case r := <-hold:
		require.ErrorIs(t, r.Err, ErrWorkerCrashed)
		assert.NotContains(t, r.Err.Error(), "Retries left", "it has 2: %v", r.Err)
	case <-time.After(3 * time.Second):
		t.Fatal("not settled")
	}
}

func TestAnErrorEventFromASeedStyleWorkerEndsTheTimedOutTaskItWasAskedToStop(t *testing.T) {
	// A worker that stops handlers on request but answers no throw itself
	// (a seed-style script listing "stop", not "catch"): its error event,
	// with only a timed-out task on it, is that task's handler ending.
	// The slot is free at once and the task runs again there, not after
	// the grace on a replaced worker.
	forever := make(chan struct{})
	defer close(forever)
	tm, clk, p, fakes, runs := jobWorker(t, func(n int) {
		if n == 1 {
			<-forever
		}
	})
	w := p.workers[0]
	tm.mu.Lock()
	w.catches = false
	tm.mu.Unlock()
	(*fakes)[0].onCancel = func(*fakeTransport, string) { p.workerError(w, "Uncaught Error: stopped") }
	res := doAsync(tm, TaskParams{Name: "job", Timeout: time.Second, Retries: 1})
	settleSoon(t, func() bool { return runs() == 1 })
	clk.Advance(time.Second)
	r := <-res
	require.NoError(t, r.Err)
	assert.Equal(t, 2, r.Content, "run again on the same worker, its slot freed by the error")
	assert.Equal(t, 0, tm.Stats().Restarted, "the worker lives on, as after any seed-style throw")
	assert.Equal(t, 1, tm.Stats().Retried)
}

func TestClosingTheTaskManagerSaysSoToItsRunningAndQueuedTasks(t *testing.T) {
	// Only the TaskManager was closed: its tasks' errors name it, not the
	// worker manager the user never closed.
	tm := NewTaskManager()
	p, _ := fakePool(t, tm, hangOn(t), cfg("a", "hang"))
	require.NoError(t, p.ready(ctx(t)))
	running := doAsync(tm, TaskParams{Name: "hang"})
	settleSoon(t, func() bool { return len(tm.Status().Working) == 1 })
	queued := doAsync(tm, TaskParams{Name: "hang"})
	require.NoError(t, tm.Close())
	for what, res := range map[string]<-chan Response{"running": running, "queued": queued} {
		r := <-res
		require.ErrorIs(t, r.Err, ErrClosed, what)
		assert.Contains(t, r.Error, "the TaskManager was closed", what)
		assert.NotContains(t, r.Error, "worker manager", what)
	}
}

func TestAnUncaughtErrorBesideATimedOutTaskIsACrashWhateverThatTasksRetries(t *testing.T) {
	// A worker whose worker-ready lists stop but not catch (a hand-written
	// script that answers worker-cancel, and lets a throw escape as the
	// seed's do: the README's protocol lets it list either alone). Which
	// task threw is not known: the timed-out one, whose handler was just
	// told to stop, as likely as the one beside it. With Retries 0 the
	// timed-out task holds its slot settled and the error is a crash; with
	// Retries 1 it waits to run again, and the task beside it must not be
	// failed with what may be the other's throw as its own TaskError,
	// which no Retries would run again.
	for _, retries := range []int{0, 1} {
		tm := NewTaskManager()
		clk := withClock(tm)
		c := cfg("silent", "hang")
		c.Concurrency = 2
		p, fakes := fakePool(t, tm, hangOn(t), c)
		f := (*fakes)[0]
		f.onCancel = func(*fakeTransport, string) {} // hears the cancel; its handler ends by throwing
		p.receive(f.w, inbound{kind: KindWorkerReady, content: map[string]any{"features": []any{"cancel", "stop"}}})
		require.NoError(t, p.ready(ctx(t)))
		beside := doAsync(tm, TaskParams{Name: "hang", Retries: 1})
		doAsync(tm, TaskParams{Name: "hang", Timeout: time.Second, Retries: retries})
		settleSoon(t, func() bool { return len(tm.Status().Working) == 2 })
		clk.Advance(time.Second) // timed out: its worker is asked to stop it
		p.workerError(f.w, "Uncaught Error: stopped task-2")
		select {
		case r := <-beside:
			var te *TaskError
			assert.False(t, errors.As(r.Err, &te), "retries %d: the task beside the timed-out one failed with a throw that may be the other's: %v", retries, r.Err)
		case <-time.After(200 * time.Millisecond): // back in line for the fresh worker, as after a crash
		}
		assert.Equal(t, 1, tm.Stats().Crashed, "retries %d: which task threw is not known: a crash", retries)
		tm.Close()
	}
}

func TestAWorkersMessagesAboutATaskItIsStoppingAreNotCountedAsIgnored(t *testing.T) {
	// A worker asked to stop a task (a cancel, a timeout) may still report
	// progress before it sees the request, and answers once its handler
	// has ended: that is the protocol at work, and both are dropped the
	// same way. Ignored counts what a worker should not have sent:
	// malformed or unknown messages, and late ones, for a task it had
	// answered already.
	tm, clk, p, fakes := stoppingWorker(t)
	f := (*fakes)[0]
	f.onCancel = func(f *fakeTransport, taskID string) {
		seq := seqOf(taskID)
		p.receive(f.w, inbound{kind: KindWorkerProgress, task: seq, content: "half"})
		p.receive(f.w, inbound{kind: KindWorkerResponse, task: seq, err: "canceled"})
	}
	idle := func() bool { return runningOn(f.w) == 0 }

	cancelled, err := tm.AddTask(TaskParams{Name: "hang"})
	require.NoError(t, err)
	settleSoon(t, func() bool { return len(tm.Status().Working) == 1 })
	cancelled.Cancel()
	settleSoon(t, idle)
	assert.Equal(t, 0, tm.Stats().Ignored, "a cancelled task's progress and answer")

	timedOut, err := tm.AddTask(TaskParams{Name: "hang", Timeout: time.Second, Retries: 1})
	require.NoError(t, err)
	settleSoon(t, func() bool { return len(tm.Status().Working) == 1 })
	clk.Advance(time.Second)
	settleSoon(t, func() bool { return tm.Stats().Retried == 1 })
	assert.Equal(t, 0, tm.Stats().Ignored, "a timed-out task's progress and answer, before its retry")
	timedOut.Cancel()
	settleSoon(t, idle)

	p.receive(f.w, inbound{kind: KindWorkerProgress, task: cancelled.seq, content: "late"})
	p.receive(f.w, inbound{kind: KindWorkerResponse, task: cancelled.seq, content: "late"})
	assert.Equal(t, 2, tm.Stats().Ignored, "a report and an answer for a task its worker had answered already are late")
}

func TestClosingTheTaskManagerBeforeATimedOutTaskRunsAgainFailsItWithErrClosedNamingTheTimeout(t *testing.T) {
	// The task timed out with Retries left, and waits for its worker to
	// stop it to run again. Close ends it, as it does every unsettled
	// task: ErrClosed, which says that its last run timed out, so that
	// the user knows there is a limit to raise. Whether the worker's
	// answer comes before Close closes the worker manager, or Close
	// terminates the worker first, the error is the same.
	for _, answerFirst := range []bool{false, true} {
		t.Run(fmt.Sprint("answerFirst=", answerFirst), func(t *testing.T) {
			tm, clk, p, fakes := stoppingWorker(t)
			f := (*fakes)[0]
			f.onCancel = func(*fakeTransport, string) {} // hears the cancel, and goes on
			res := doAsync(tm, TaskParams{Name: "hang", Timeout: time.Second, Retries: 1})
			settleSoon(t, func() bool { return len(tm.Status().Working) == 1 })
			seq := runningOn(f.w)
			clk.Advance(time.Second) // timed out: its worker is asked to stop it
			if answerFirst {
				// The handler's answer comes while Close runs: after it
				// marked the manager closed, before it closed the pool.
				tm.mu.Lock()
				tm.closed = true
				tm.mu.Unlock()
				p.receive(f.w, inbound{kind: KindWorkerResponse, task: seq, err: "canceled"})
				tm.mu.Lock()
				tm.closed = false // for the Close below
				tm.mu.Unlock()
			}
			require.NoError(t, tm.Close())
			r := <-res
			require.ErrorIs(t, r.Err, ErrClosed, "%v", r.Err)
			assert.NotErrorIs(t, r.Err, ErrTimeout, "one sentinel: Close ended it")
			assert.Contains(t, r.Error, "the TaskManager was closed")
			assert.Contains(t, r.Error, "ran longer than 1s", "it says its last run timed out")
			assert.Contains(t, r.Error, "its TaskParams.Timeout", "and which limit to raise")
			assert.Equal(t, 0, tm.Stats().Retried)
		})
	}
}

func TestWhatAReplacedThreadSaysIsDroppedUncountedAndSettlesNothing(t *testing.T) {
	// A worker's thread is replaced after a crash; its task, with Retries,
	// runs again on the fresh thread. An answer still on its way from the
	// old thread is not the new run's: it settles nothing. Nor is it
	// counted in Ignored, which counts what a worker should not have sent:
	// the old thread was terminated here, and what it said after is
	// dropped as a stopped task's messages are (Stats.Ignored's doc).
	tm := NewTaskManager()
	defer tm.Close()
	clk := withClock(tm)
	p, fakes := fakePool(t, tm, hangOn(t), cfg("a", "hang"))
	require.NoError(t, p.ready(ctx(t)))
	res := doAsync(tm, TaskParams{Name: "hang", Retries: 1})
	settleSoon(t, func() bool { return len(tm.Status().Working) == 1 })
	old := (*fakes)[0]
	seq := runningOn(old.w)
	old.w.Terminate()
	clk.Advance(DefaultRestartBackoff) // the fresh thread starts, and the task runs there
	settleSoon(t, func() bool { return runningOn(old.w) == seq && old.w.Status() == WorkerWorking })
	require.Len(t, *fakes, 2)
	p.receiveFrom(old, old.w, inbound{kind: KindWorkerProgress, task: seq, content: "half"})
	p.receiveFrom(old, old.w, inbound{kind: KindWorkerResponse, task: seq, content: "stale"})
	select {
	case r := <-res:
		t.Fatalf("settled by the old thread's answer: %+v", r)
	case <-time.After(20 * time.Millisecond):
	}
	s := tm.Stats()
	assert.Equal(t, 0, s.Ignored, "a replaced thread's messages are dropped, uncounted")
	assert.Equal(t, 1, s.Running, "the task still runs on the fresh thread")
}

// heldFake is a worker whose tasks all wait in its turn's batch, never
// posted: each cancel takes its task back (unposter).
type heldFake struct{ *fakeTransport }

func (h heldFake) init(string, []string, int, time.Duration) {
	go h.pool.receiveFrom(h, h.w, inbound{kind: KindWorkerReady})
}
func (heldFake) work(uint64, string, string, any, keepMode) {}
func (heldFake) unposted() []uint64                         { return nil }
func (heldFake) unpost(uint64) bool                         { return true }

func TestTasksCancelledBeforeTheyLeftTheBatchAreNotKeptAsSentToASilentWorker(t *testing.T) {
	// A worker keeps the tasks sent to it since it last said a word (to
	// say, if it dies, that one may never have been read). One cancelled
	// while still in the turn's batch was never sent: a loop of add and
	// cancel to a worker that says nothing must not grow that list.
	tm := NewTaskManager()
	defer tm.Close()
	var w *TaskWorker
	p, err := newWorkerPool(tm, func(tw *TaskWorker) (transport, error) {
		w = tw
		return heldFake{&fakeTransport{pool: tw.pool, w: tw, run: echo}}, nil
	}, []WorkerConfig{cfg("a", "t")})
	require.NoError(t, err)
	require.NoError(t, p.ready(ctx(t)))
	for range 1000 {
		task, err := tm.AddTask(TaskParams{Name: "t"})
		require.NoError(t, err)
		task.Cancel()
	}
	tm.mu.Lock()
	defer tm.mu.Unlock()
	assert.Empty(t, w.inflight)
	assert.Zero(t, len(w.unheard), "no task was ever sent")
}

// Stats lists a worker manager's latest closed workers with why they
// closed: the worker that closed last is among them, even when it was
// the first started.
func TestTheWorkerThatClosedLastStaysListedWithWhy(t *testing.T) {
	tm := NewTaskManager()
	defer tm.Close()
	p, _ := fakePool(t, tm, echo, cfg("a", "job"), cfg("a", "job"))
	require.NoError(t, p.ready(ctx(t)))
	for range keptClosed {
		w, err := p.add(cfg("b", "job"))
		require.NoError(t, err)
		require.NoError(t, w.Close())
	}
	first := p.list()[0]
	require.Equal(t, "worker-1", first.ID())
	require.NoError(t, first.Close()) // the latest to close
	var ids []string
	listed := false
	for _, ws := range tm.Stats().Workers {
		ids = append(ids, ws.ID)
		if ws.ID == "worker-1" {
			listed = true
			require.Equal(t, "closed by Close()", ws.LastError)
		}
	}
	require.True(t, listed, "worker-1, closed last, is not listed; listed: %v", ids)
	require.Len(t, ids, 1+keptClosed)
}

// Ready names every worker that failed to start for good: the first one
// started too, when it gives up after many other workers were closed.
func TestReadyNamesTheFirstWorkerWhenItGivesUpAfterManyOthersClosed(t *testing.T) {
	tm := NewTaskManager()
	defer tm.Close()
	clk := withClock(tm)
	p, _ := fakePool(t, tm, echo, WorkerConfig{Tasks: []string{"job"}, Script: "silent", StartTimeout: time.Second}, cfg("a", "job"))
	for range keptClosed {
		w, err := p.add(cfg("b", "job"))
		require.NoError(t, err)
		require.NoError(t, w.Close())
	}
	first := p.list()[0]
	for range 10 { // start timeouts and backoffs, past MaxBootFailures
		clk.Advance(time.Second)
	}
	require.Equal(t, WorkerClosed, first.Status())
	err := p.ready(ctx(t))
	require.ErrorIs(t, err, ErrWorkerStart, "worker-1 failed to start 3 times and gave up")
	require.Contains(t, err.Error(), "worker-1 (silent) failed to start 3 times in a row")
}

func TestOnlyAThreadThatDiesWithoutAWordAfterAnAnswerIsSaidToMayNotHaveReadItsNextTask(t *testing.T) {
	// A thread that exits right after answering may end before it reads
	// the task sent to it meanwhile: its error says so. One that says
	// something first (an uncaught error, an error event) ran after that
	// task was sent: its crash is told as any other.
	for how, says := range map[string]bool{"exit": true, "uncaught error": false} {
		t.Run(how, func(t *testing.T) {
			tm, _, p, fakes := stoppingWorker(t)
			f := (*fakes)[0]
			_, err := tm.Do(ctx(t), "echo", nil)
			require.NoError(t, err)
			res := doAsync(tm, TaskParams{Name: "hang"})
			settleSoon(t, func() bool { return len(tm.Status().Working) == 1 })
			if how == "exit" {
				p.workerExit(f.w, "its thread exited with code 0")
			} else {
				p.workerError(f.w, "Uncaught Error: gone")
			}
			r := <-res
			require.ErrorIs(t, r.Err, ErrWorkerCrashed)
			assert.Equal(t, says, strings.Contains(r.Error, "may have ended before reading it"), "%s: %s", how, r.Error)
			assert.Contains(t, r.Error, "(TaskParams.Retries)", "names the setting, which the JS API puts in its words")
		})
	}
}

// README, "Reliability", Timeout: a task past its Timeout "is retried (a
// Close of the TaskManager before it runs again fails it with ErrClosed,
// ..., and so does a Close of its worker manager, or of the last worker
// that lists it, that leaves no worker to run it again: the message says
// it timed out and which limit to raise)". A seed script cannot stop a
// handler: its worker is terminated and restarted after a backoff, and the
// task waits in line for it. A close in that wait must say the same as for
// a worker that stops handlers (see
// TestATimedOutTaskWaitingToRunAgainWhoseLastWorkerIsClosedFailsWithErrClosedNamingTheTimeout).
func TestATimedOutTaskWaitingInLineForItsRestartingSeedWorkerFailsWithErrClosedNamingTheTimeout(t *testing.T) {
	for closed, says := range map[string]string{
		"task manager":   "the TaskManager was closed before task task-1 (hang) ran again",
		"worker manager": "the worker manager was closed before task task-1 (hang) ran again",
		"worker":         `worker-1, the last worker that lists "hang", was closed by Close() before task task-1 (hang) ran again`,
	} {
		t.Run(closed, func(t *testing.T) {
			tm := NewTaskManager()
			t.Cleanup(func() { tm.Close() })
			clk := withClock(tm)
			p, fakes := fakePool(t, tm, hangOn(t), cfg("seed", "hang")) // a seed script: no FeatureStop
			require.NoError(t, p.ready(ctx(t)))
			res := doAsync(tm, TaskParams{Name: "hang", Timeout: time.Second, Retries: 1})
			settleSoon(t, func() bool { return len(tm.Status().Working) == 1 })
			clk.Advance(time.Second) // timed out: its worker is terminated, and restarts after its backoff
			require.Equal(t, []string{"task-1"}, tm.Status().Pending, "it waits in line to run again")
			switch closed {
			case "task manager":
				require.NoError(t, tm.Close())
			case "worker manager":
				p.close(ErrClosed)
			default:
				require.NoError(t, (*fakes)[0].w.Close())
			}
			closedAfterTimeout(t, <-res, says)
		})
	}
}

// The same for a worker that stops handlers, once it has stopped the
// timed-out task: the task goes back in line, behind a task of a higher
// priority that takes its slot, and waits there to run again.
func TestATimedOutTaskWaitingInLineBehindAnotherFailsWithErrClosedNamingTheTimeout(t *testing.T) {
	tm, clk, _, _ := stoppingWorker(t) // Concurrency 2; answers worker-cancel as a handler that stopped
	beside := doAsync(tm, TaskParams{Name: "hang"})
	res := doAsync(tm, TaskParams{Name: "hang", Timeout: time.Second, Retries: 1})
	settleSoon(t, func() bool { return len(tm.Status().Working) == 2 })
	first := doAsync(tm, TaskParams{Name: "hang", Priority: 5})
	clk.Advance(time.Second) // timed out, stopped: the task of priority 5 takes its slot
	settleSoon(t, func() bool { return len(tm.Status().Pending) == 1 && tm.Status().Pending[0] == "task-2" })
	require.NoError(t, tm.Close())
	r := <-res
	require.ErrorIs(t, r.Err, ErrClosed, "%v", r.Err)
	assert.Contains(t, r.Error, "the TaskManager was closed before task task-2 (hang) ran again")
	assert.Contains(t, r.Error, "ran longer than 1s", "it says its last run timed out")
	<-beside
	<-first
}

func TestATaskThatRanAndWaitsToRunAgainIsNotSaidNeverToHaveRunWhenItsManagerCloses(t *testing.T) {
	// A task ran on a worker that crashed (or was closed), and waits in
	// line to run again by its Retries. A close that leaves it no worker
	// must not say it was closed "before task ... ran": it ran, and may
	// have done part of its work.
	for _, closeTM := range []bool{true, false} {
		tm := NewTaskManager()
		withClock(tm) // the crashed worker's restart backoff never ends
		p, fakes := fakePool(t, tm, hangOn(t), cfg("a", "hang"))
		require.NoError(t, p.ready(ctx(t)))
		res := doAsync(tm, TaskParams{Name: "hang", Retries: 1})
		settleSoon(t, func() bool { return len(tm.Status().Working) == 1 })
		(*fakes)[0].w.Terminate() // a crash: the task goes back in line
		settleSoon(t, func() bool { return len(tm.Status().Pending) == 1 })
		if closeTM {
			require.NoError(t, tm.Close())
		} else {
			p.close(ErrClosed)
		}
		r := <-res
		require.ErrorIs(t, r.Err, ErrClosed)
		assert.NotRegexp(t, `before task task-1 \(hang\) ran$`, r.Error, "it ran, on the worker that crashed")
		assert.Contains(t, r.Error, "ran again; its last run ended: atmo: worker crashed")
		tm.Close()
	}
}

func TestATaskWhoseCrashedWorkerThenFailsToRestartFailsAsCrashedNotAsNeverListed(t *testing.T) {
	// The README: ErrWorkerCrashed is for a task whose worker died and whose
	// Retries were used up, "or no worker is left to use them". Here the
	// only worker that lists the task crashes while running it; the task,
	// with Retries, waits for the worker's restart, which fails for good.
	tm := NewTaskManager()
	clk := withClock(tm)
	p, fakes := fakePool(t, tm, hangOn(t), cfg("silent", "hang"))
	f := (*fakes)[0]
	p.receive(f.w, inbound{kind: KindWorkerReady}) // the first start answers; restarts never do
	require.NoError(t, p.ready(ctx(t)))
	res := doAsync(tm, TaskParams{Name: "hang", Retries: 1})
	settleSoon(t, func() bool { return len(tm.Status().Working) == 1 })
	f.w.Terminate()
	settleSoon(t, func() bool { return len(tm.Status().Pending) == 1 })
	for i := 0; i < 10 && f.w.Status() != WorkerClosed; i++ {
		clk.Advance(DefaultStartTimeout) // a backoff, then a start that never answers
	}
	require.Equal(t, WorkerClosed, f.w.Status())
	r := <-res
	t.Log(r.Error)
	assert.ErrorIs(t, r.Err, ErrWorkerCrashed, "it ran on a worker that crashed, and no worker was left to use its Retries")
	tm.Close()
}

// A worker config's Restart that sets some fields takes those it leaves
// zero from Options.Restart, as "Default: Options.Restart" reads: setting
// only Backoff gave the package's MaxBootFailures of 3 where the manager
// said 1.
func TestAWorkerConfigsRestartTakesTheFieldsItLeavesZeroFromTheManagers(t *testing.T) {
	tm := NewTaskManagerWithOptions(Options{Restart: RestartPolicy{MaxBootFailures: 1, Backoff: time.Second}})
	defer tm.Close()
	p, _ := fakePool(t, tm, echo,
		WorkerConfig{Tasks: []string{"job"}, Script: "a", Restart: RestartPolicy{Backoff: 2 * time.Second}},
		WorkerConfig{Tasks: []string{"job"}, Script: "a", Restart: RestartPolicy{MaxBootFailures: 5}},
		WorkerConfig{Tasks: []string{"job"}, Script: "a"})
	tm.mu.Lock()
	defer tm.mu.Unlock()
	assert.Equal(t, RestartPolicy{Backoff: 2 * time.Second, MaxBootFailures: 1}, p.workers[0].config.Restart)
	assert.Equal(t, RestartPolicy{Backoff: time.Second, MaxBootFailures: 5}, p.workers[1].config.Restart)
	assert.Equal(t, RestartPolicy{Backoff: time.Second, MaxBootFailures: 1}, p.workers[2].config.Restart)
}

// closedAfterTimeout checks r, the answer of a task that timed out after
// 1s and that a close (says: which) ended before it ran again: ErrClosed
// alone, saying what was closed, that its last run timed out, and which
// limit to raise.
func closedAfterTimeout(t *testing.T, r Response, says string) {
	t.Helper()
	require.ErrorIs(t, r.Err, ErrClosed, "%v", r.Err)
	assert.NotErrorIs(t, r.Err, ErrTimeout, "one sentinel: the close ended it")
	assert.Contains(t, r.Error, says, "says what was closed")
	assert.Contains(t, r.Error, "ran longer than 1s", "it says its last run timed out")
	assert.Contains(t, r.Error, "its TaskParams.Timeout", "and which limit to raise")
}
