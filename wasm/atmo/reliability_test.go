//go:build js && wasm

package atmo_test

import (
	"context"
	"encoding/base64"
	"strings"
	"sync"
	"sync/atomic"
	"syscall/js"
	"testing"
	"time"

	"github.com/atmoworkers/atmo/wasm/atmo"
	"github.com/atmoworkers/atmo/wasm/internal/jstest"
	"github.com/atmoworkers/atmo/wasm/internal/values"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// chaosWorker is a helper-based worker with a task for each way a worker
// can misbehave.
const chaosWorker = `
let aborted = false;
atmoWorker({
  echo: (p) => p,
  spin: () => { for (;;) {} },
  wait: (p, { signal }) => new Promise((resolve) => {
    signal.addEventListener('abort', () => { aborted = true; resolve('stopped'); });
  }),
  sawAbort: () => aborted,
  close: () => { self.close(); return new Promise(() => {}); },
  throwLater: () => { setTimeout(() => { throw new Error('async boom'); }, 0); return 'ok'; },
  sleep: ({ ms }) => new Promise((r) => setTimeout(() => r('slept'), ms)),
});`

var chaosTasks = []string{"echo", "spin", "wait", "sawAbort", "close", "throwLater", "sleep"}

func chaosConfig(t *testing.T) atmo.WorkerConfig {
	return atmo.WorkerConfig{Tasks: chaosTasks, Script: jstest.HelperWorker(t, chaosWorker)}
}

func TestABusyLoopPastItsTimeoutIsTerminatedAndReplaced(t *testing.T) {
	tm, wm := pool(t, chaosConfig(t))
	ctx := testCtx(t)
	task, err := tm.AddTask(atmo.TaskParams{Name: "spin", Timeout: 300 * time.Millisecond})
	require.NoError(t, err)
	got, err := tm.Do(ctx, "echo", "alive") // queued behind the spinning task
	require.NoError(t, err, "a fresh worker took the spinner's place")
	assert.Equal(t, "alive", got)
	assert.Equal(t, atmo.TaskFailed, task.Status())
	s := tm.Stats()
	assert.Equal(t, 1, s.TimedOut)
	assert.Equal(t, 1, s.Restarted)
	assert.Contains(t, wm.Workers()[0].LastError(), "timeout")
}

func TestATimedOutHandlerThatHeedsItsCancelStopsWithoutTakingItsWorkerDown(t *testing.T) {
	for kind, c := range map[string]atmo.WorkerConfig{
		"js": {Tasks: chaosTasks, Script: jstest.HelperWorker(t, chaosWorker), Concurrency: 2},
		"go": {Tasks: goTestTasks, Module: moduleURL(t, goTestModule), Concurrency: 2},
	} {
		t.Run(kind, func(t *testing.T) {
			tm, _ := goPool(t, c)
			ctx := goCtx(t)
			beside := make(chan error, 1)
			go func() { _, err := tm.Do(ctx, "sleep", map[string]any{"ms": 600}); beside <- err }()
			require.Eventually(t, func() bool { return len(tm.Status().Working) == 1 }, 5*time.Second, time.Millisecond)
			name := map[string]string{"js": "wait", "go": "sleep"}[kind] // each stops when its task is cancelled
			res := make(chan atmo.Response, 1)
			_, err := tm.AddTask(atmo.TaskParams{Name: name, Params: map[string]any{"ms": 60_000}, Timeout: 100 * time.Millisecond,
				OnSuccess: func(r atmo.Response) { res <- r }, OnError: func(r atmo.Response) { res <- r }})
			require.NoError(t, err)
			require.ErrorIs(t, (<-res).Err, atmo.ErrTimeout)
			require.NoError(t, <-beside, "the task beside it, on the same worker, finished")
			require.Eventually(t, func() bool { return tm.Stats().Workers[0].InFlight == 0 }, 5*time.Second, time.Millisecond)
			s := tm.Stats()
			assert.Equal(t, 1, s.TimedOut)
			assert.Equal(t, 0, s.Restarted, "the handler stopped when asked: its worker stays")
		})
	}
}

func TestATimedOutTaskFailsWithErrTimeoutAndOtherWorkersAreUntouched(t *testing.T) {
	tm, wm := pool(t, chaosConfig(t), chaosConfig(t))
	ctx := testCtx(t)
	busy := make(chan error, 1)
	go func() { _, err := tm.Do(ctx, "sleep", map[string]any{"ms": 1500}); busy <- err }()
	require.Eventually(t, func() bool { return len(tm.Status().Working) == 1 }, 5*time.Second, time.Millisecond)
	task, err := tm.AddTask(atmo.TaskParams{Name: "spin", Timeout: 200 * time.Millisecond})
	require.NoError(t, err)
	spinner := ""
	require.Eventually(t, func() bool { spinner = task.AssignedWorker(); return spinner != "" }, 5*time.Second, time.Millisecond)
	require.Eventually(t, func() bool { return task.Status() == atmo.TaskFailed }, 5*time.Second, time.Millisecond)
	require.NoError(t, <-busy, "the other worker finished its task")
	require.NoError(t, wm.Ready(ctx))
	for _, w := range tm.Stats().Workers {
		if w.ID == spinner {
			assert.Equal(t, 1, w.Restarts)
		} else {
			assert.Equal(t, 0, w.Restarts, "untouched")
		}
	}
	assert.Equal(t, 1, tm.Stats().TimedOut)
}

func TestCancelReachesAJSHandlerAsAnAbortSignal(t *testing.T) {
	tm, _ := pool(t, chaosConfig(t))
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { _, err := tm.Do(ctx, "wait", nil); done <- err }()
	require.Eventually(t, func() bool { return len(tm.Status().Working) == 1 }, 5*time.Second, time.Millisecond)
	cancel()
	err := <-done
	require.ErrorIs(t, err, atmo.ErrCanceled)
	require.ErrorIs(t, err, context.Canceled)
	saw, err := tm.Do(testCtx(t), "sawAbort", nil)
	require.NoError(t, err)
	assert.Equal(t, true, saw)
	assert.Equal(t, 0, tm.Stats().Restarted, "the worker stopped in time and stays")
}

func TestCancelOfAWorkerThatIgnoresItReplacesTheWorkerAfterTheGrace(t *testing.T) {
	tm := atmo.NewTaskManagerWithOptions(atmo.Options{CancelGrace: 100 * time.Millisecond})
	wm, err := atmo.NewBrowserWorkerManager(tm, chaosConfig(t))
	require.NoError(t, err)
	t.Cleanup(func() { tm.Close() })
	task, err := tm.AddTask(atmo.TaskParams{Name: "spin"})
	require.NoError(t, err)
	require.Eventually(t, func() bool { return task.AssignedWorker() != "" }, 5*time.Second, time.Millisecond)
	task.Cancel()
	assert.Equal(t, atmo.TaskFailed, task.Status())
	require.Eventually(t, func() bool { return tm.Stats().Restarted == 1 }, 5*time.Second, time.Millisecond)
	require.NoError(t, wm.Ready(testCtx(t)))
	got, err := tm.Do(testCtx(t), "echo", 1)
	require.NoError(t, err)
	assert.Equal(t, 1.0, got)
}

func TestAJSHandlerThatIgnoresItsCancelHoldsItsSlotAndSeesItsSignalAborted(t *testing.T) {
	tm, _ := pool(t, atmo.WorkerConfig{Tasks: []string{"stubborn", "release", "echo", "peek"}, Concurrency: 2, CancelGrace: time.Minute,
		Script: jstest.HelperWorker(t, `
let release;
const released = new Promise((r) => { release = r; });
let sawAborted = null;
atmoWorker({
  stubborn: async (_, ctx) => { await released; sawAborted = ctx.signal.aborted; return sawAborted; },
  release: () => { release(); return true; },
  echo: (p) => p,
  peek: () => sawAborted,
});`)})
	holdsItsSlotAfterCancel(t, tm)
	saw, err := tm.Do(testCtx(t), "peek", nil)
	require.NoError(t, err)
	assert.Equal(t, true, saw, "a signal first asked for after the cancel is aborted already")
}

func TestAHelperWorkerFromADataURLStartsWithoutALock(t *testing.T) {
	// A data: URL worker has an opaque origin, where Web Locks are refused:
	// it starts anyway, watched by timeouts as a seed script is.
	src := jstest.Read(t, "jsworker/atmo-worker.js") + "\natmoWorker({ echo: (p) => p });"
	url := "data:text/javascript;base64," + base64.StdEncoding.EncodeToString([]byte(src))
	tm, _ := pool(t, atmo.WorkerConfig{Tasks: []string{"echo"}, Script: url, StartTimeout: 10 * time.Second})
	got, err := tm.Do(testCtx(t), "echo", 7)
	require.NoError(t, err)
	assert.Equal(t, 7.0, got)
}

func TestATerminatedWorkersTaskIsRetriedElsewhere(t *testing.T) {
	tm, wm := pool(t, chaosConfig(t), chaosConfig(t))
	res := make(chan atmo.Response, 1)
	task, err := tm.AddTask(atmo.TaskParams{Name: "sleep", Params: map[string]any{"ms": 300}, Retries: 1,
		OnSuccess: func(r atmo.Response) { res <- r }, OnError: func(r atmo.Response) { res <- r }})
	require.NoError(t, err)
	var first string
	require.Eventually(t, func() bool { first = task.AssignedWorker(); return first != "" }, 5*time.Second, time.Millisecond)
	for _, w := range wm.Workers() {
		if w.ID() == first {
			w.Terminate()
		}
	}
	r := <-res
	require.NoError(t, r.Err)
	assert.Equal(t, "slept", r.Content)
	assert.NotEqual(t, first, r.WorkerID)
	assert.Equal(t, 1, tm.Stats().Retried)
	require.NoError(t, wm.Ready(testCtx(t)), "the terminated worker restarted")
}

func TestATerminatedWorkersTaskWithoutRetriesFailsNamingTheWorker(t *testing.T) {
	tm, wm := pool(t, chaosConfig(t))
	done := make(chan error, 1)
	go func() { _, err := tm.Do(testCtx(t), "sleep", map[string]any{"ms": 5000}); done <- err }()
	require.Eventually(t, func() bool { return len(tm.Status().Working) == 1 }, 5*time.Second, time.Millisecond)
	wm.Workers()[0].Terminate()
	err := <-done
	require.ErrorIs(t, err, atmo.ErrWorkerCrashed)
	assert.Contains(t, err.Error(), wm.Workers()[0].ID())
	assert.Contains(t, err.Error(), "Terminate()")
}

func TestASeedScriptThatEchoesInitWorkerAsItsReadyIsNotTakenForALockHolder(t *testing.T) {
	script := jstest.BlobURL(t, `
let id;
self.onmessage = (e) => {
  const d = e.data;
  if (d.message === 'init-worker') { id = d.id; self.postMessage({ message: 'worker-ready', workerId: id, content: d }); }
  if (d.message === 'worker-work') self.postMessage({ message: 'worker-response', taskId: d.taskId, workerId: id, content: d.content.params * 2 });
};`)
	tm, _ := pool(t, atmo.WorkerConfig{Tasks: []string{"twice"}, Script: script})
	for i := range 3 {
		got, err := tm.Do(testCtx(t), "twice", i)
		require.NoError(t, err)
		assert.Equal(t, float64(2*i), got)
	}
	assert.Equal(t, 0, tm.Stats().Crashed, "its echoed lock and features are the page's own, not the worker's")
}

func TestASeedScriptsAsyncHandlerThatRejectsEndsItsTaskOnlyByItsTimeout(t *testing.T) {
	// The browser tells the page nothing of a worker's unhandled
	// rejection: no error event, no answer. So the task waits for its
	// Timeout, and the worker, which cannot be asked to stop, is replaced.
	script := jstest.BlobURL(t, `
let id;
self.onmessage = async (e) => {
  const d = e.data;
  if (d.message === 'init-worker') { id = d.id; self.postMessage({ message: 'worker-ready', workerId: id }); return; }
  await null;
  throw new Error('the database is down');
};`)
	tm, wm := pool(t, atmo.WorkerConfig{Tasks: []string{"query"}, Script: script})
	res := make(chan atmo.Response, 1)
	_, err := tm.AddTask(atmo.TaskParams{Name: "query", Timeout: 200 * time.Millisecond, OnError: func(r atmo.Response) { res <- r }})
	require.NoError(t, err)
	r := <-res
	require.ErrorIs(t, r.Err, atmo.ErrTimeout)
	assert.Contains(t, r.Error, "an async onmessage that rejects answers nothing", "the likely cause is named")
	require.NoError(t, wm.Ready(testCtx(t)))
	assert.Equal(t, 1, tm.Stats().Restarted, "replaced, as it could not be asked to stop")
}

func TestAWorkerThatClosesItselfIsNoticedAndReplaced(t *testing.T) {
	tm, wm := pool(t, chaosConfig(t))
	_, err := tm.Do(testCtx(t), "close", nil)
	require.ErrorIs(t, err, atmo.ErrWorkerCrashed)
	assert.Contains(t, err.Error(), "self.close()")
	require.NoError(t, wm.Ready(testCtx(t)))
	got, err := tm.Do(testCtx(t), "echo", "back")
	require.NoError(t, err)
	assert.Equal(t, "back", got)
	assert.Equal(t, 1, tm.Stats().Crashed)
}

func TestAWorkerThePageClosedNeverCallsIntoGoWhenItsLockIsGrantedLater(t *testing.T) {
	// The page learns that a thread ended when it is granted the thread's
	// Web Lock, which can come after the page closed the worker itself, and
	// after its Go program has exited ("Go program has already exited",
	// uncaught). Once the worker is closed, the grant must not enter Go.
	spy := js.Global().Get("Function").New(`
const locks = navigator.locks, request = locks.request.bind(locks), waiting = [];
locks.request = (name, ...rest) => { waiting.push(rest[rest.length - 1]); return request(name, ...rest); };
return {
  restore: () => { delete locks.request; },
  queued: () => waiting.length,
  // grant calls every callback the page queued with, as the lock manager
  // would, and counts the calls into Go that makes.
  grant: () => {
    const resume = Go.prototype._resume;
    let entries = 0;
    Go.prototype._resume = function () { entries++; return resume.apply(this, arguments); };
    try { for (const cb of waiting) cb(); } finally { Go.prototype._resume = resume; }
    return [waiting.length, entries];
  },
};`).Invoke()
	defer spy.Call("restore")
	tm := atmo.NewTaskManager()
	defer tm.Close()
	wm, err := atmo.NewBrowserWorkerManager(tm, chaosConfig(t))
	require.NoError(t, err)
	require.NoError(t, wm.Ready(testCtx(t)))
	require.Eventually(t, func() bool { return spy.Call("queued").Int() == 1 }, 5*time.Second, time.Millisecond,
		"the page queues for the lock once it saw the worker hold it")
	wm.Close()
	got := spy.Call("grant")
	require.Equal(t, 1, got.Index(0).Int(), "the page queued for the worker's lock")
	assert.Equal(t, 0, got.Index(1).Int(), "calls into Go after the worker was closed")
}

// pretendGoExited makes the Go instance that atmo consults say that the
// program has exited (wasm_exec.js's flag) until the returned function is
// called. Only atmo's calls into Go read it; Go's own timers still wake the
// real instance, so the test may sleep meanwhile.
func pretendGoExited(t *testing.T) (restore func()) {
	hop := values.Codec.Get("hop")
	running := hop.Get("go")
	require.True(t, running.Truthy(), "atmo found the program's Go instance")
	hop.Set("go", map[string]any{"exited": true})
	return func() { hop.Set("go", running) }
}

func TestAnAnswerThatComesAfterTheGoProgramExitedIsDropped(t *testing.T) {
	// A program may return while a worker still answers. Delivering the
	// answer would only throw "Go program has already exited", uncaught, in
	// the worker's message event.
	tm, _ := pool(t, chaosConfig(t))
	answered := make(chan atmo.Response, 1)
	restore := pretendGoExited(t)
	_, err := tm.AddTask(atmo.TaskParams{Name: "echo", Params: "late",
		OnSuccess: func(r atmo.Response) { answered <- r }, OnError: func(r atmo.Response) { answered <- r }})
	require.NoError(t, err)
	time.Sleep(300 * time.Millisecond)
	restore()
	select {
	case r := <-answered:
		t.Fatalf("the answer reached the exited program: %+v", r)
	default:
	}
	assert.Equal(t, 1, tm.Stats().Running, "its task is still out, as the program left it")
}

func TestAWorkersErrorThatComesAfterTheGoProgramExitedIsDropped(t *testing.T) {
	// A seed worker, written by hand: its uncaught errors reach the page as
	// the worker's error event (the helper's go as a message).
	url := jstest.BlobURL(t, `let id;
self.onmessage = (e) => {
  const d = e.data;
  if (d.message === 'init-worker') { id = d.id; self.postMessage({ message: 'worker-ready', workerId: id }); return; }
  setTimeout(() => { throw new Error('async boom'); }, 0);
};`)
	tm, _ := pool(t, atmo.WorkerConfig{Tasks: []string{"throwLater"}, Script: url})
	failed := make(chan atmo.Response, 1)
	restore := pretendGoExited(t)
	_, err := tm.AddTask(atmo.TaskParams{Name: "throwLater", OnError: func(r atmo.Response) { failed <- r }})
	require.NoError(t, err)
	time.Sleep(300 * time.Millisecond)
	restore()
	select {
	case r := <-failed:
		t.Fatalf("the worker's error reached the exited program: %v", r.Err)
	default:
	}
	assert.Equal(t, 1, tm.Stats().Running, "its task is still out, as the program left it")
}

func TestAnUncaughtErrorOutsideATaskRestartsTheWorker(t *testing.T) {
	tm, wm := pool(t, chaosConfig(t))
	got, err := tm.Do(testCtx(t), "throwLater", nil)
	require.NoError(t, err)
	assert.Equal(t, "ok", got)
	require.Eventually(t, func() bool { return tm.Stats().Crashed == 1 }, 5*time.Second, time.Millisecond)
	assert.Contains(t, wm.Workers()[0].LastError(), "async boom")
	require.NoError(t, wm.Ready(testCtx(t)))
	got, err = tm.Do(testCtx(t), "echo", "still here")
	require.NoError(t, err)
	assert.Equal(t, "still here", got)
}

func TestAStrayThrowInAHelperWorkerWhileItRunsATaskIsACrashNeverItsHandlersOutcome(t *testing.T) {
	// atmo-worker.js answers a handler's throw itself: an error event is a
	// throw outside the handlers (here a timer's, left by a task already
	// answered), which may still run. Counted as the seed's "that task
	// threw", it failed the task running then with another's error and freed
	// its slot while its handler ran on, past the worker's Concurrency.
	script := jstest.HelperWorker(t, `
let now = 0, most = 0;
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
atmoWorker({
  leaky: () => { setTimeout(() => { throw new Error('thrown by leaky, after it answered'); }, 50); return 'leaky done'; },
  slow: async () => { now++; most = Math.max(most, now); await sleep(300); now--; return 'slow done'; },
  most: () => most,
});`)
	tm, wm := pool(t, atmo.WorkerConfig{Tasks: []string{"leaky", "slow", "most"}, Script: script}) // Concurrency 1
	ctx := testCtx(t)
	got, err := tm.Do(ctx, "leaky", nil)
	require.NoError(t, err)
	require.Equal(t, "leaky done", got)
	slow := make(chan atmo.Response, 1)
	_, err = tm.AddTask(atmo.TaskParams{Name: "slow", Retries: 1, OnSuccess: func(r atmo.Response) { slow <- r }, OnError: func(r atmo.Response) { slow <- r }})
	require.NoError(t, err)
	next := make(chan atmo.Response, 1)
	_, err = tm.AddTask(atmo.TaskParams{Name: "slow", OnSuccess: func(r atmo.Response) { next <- r }, OnError: func(r atmo.Response) { next <- r }})
	require.NoError(t, err)
	r := <-slow
	require.NoError(t, r.Err, "run again on the worker that replaced the one that threw")
	assert.Equal(t, "slow done", r.Content)
	r = <-next
	require.NoError(t, r.Err)
	assert.Equal(t, 1, tm.Stats().Crashed)
	assert.Contains(t, wm.Workers()[0].LastError(), "uncaught error that escaped its task handlers (a timer's, a listener's: the worker answers a handler's own throw as its task's error): Uncaught Error: thrown by leaky, after it answered")
	most, err := tm.Do(ctx, "most", nil)
	require.NoError(t, err)
	assert.Equal(t, 1.0, most, "a worker of Concurrency 1 never ran two handlers at once")
}

func TestAHandWrittenWorkerThatListsStopButNotCatchFailsTheTaskThatThrew(t *testing.T) {
	// stop says only that the worker stops a handler on worker-cancel; a
	// worker that throws from onmessage, as the seed's do, still fails the
	// task it ran, and lives on.
	tm := explodesThenServes(t, explodingWorker(t, "{ tasks: ['explode', 'fine'], features: ['stop'] }"))
	assert.Equal(t, 0, tm.Stats().Crashed)
}

func TestAScriptThatFailsEveryStartGivesUpAfterMaxBootFailures(t *testing.T) {
	tm := atmo.NewTaskManager()
	defer tm.Close()
	var mu sync.Mutex
	var reasons []string
	defer tm.Subscribe(func(m atmo.Message) {
		if m.Kind == atmo.KindWorkerUpdated && m.Error != "" {
			mu.Lock()
			reasons = append(reasons, m.Error)
			mu.Unlock()
		}
	})()
	wm, err := atmo.NewBrowserWorkerManager(tm, atmo.WorkerConfig{Tasks: []string{"x"}, Script: jstest.BlobURL(t, "throw new Error('broken build')"),
		Restart: atmo.RestartPolicy{MaxBootFailures: 2, Backoff: 10 * time.Millisecond}})
	require.NoError(t, err)
	defer wm.Close()
	err = wm.Ready(testCtx(t))
	require.ErrorIs(t, err, atmo.ErrWorkerStart)
	assert.Contains(t, err.Error(), "failed to start 2 times in a row, giving up")
	assert.Contains(t, err.Error(), "broken build")
	_, err = tm.Do(testCtx(t), "x", nil)
	require.ErrorIs(t, err, atmo.ErrNoWorker)
	require.Eventually(t, func() bool { mu.Lock(); defer mu.Unlock(); return len(reasons) == 2 }, 5*time.Second, time.Millisecond)
	assert.Contains(t, reasons[0], "failed to start (1 of 2)")
	assert.Contains(t, reasons[1], "giving up")
}

func TestAFullQueueRefusesTasksAtOnce(t *testing.T) {
	tm := atmo.NewTaskManagerWithOptions(atmo.Options{MaxQueue: 3})
	wm, err := atmo.NewBrowserWorkerManager(tm, chaosConfig(t))
	require.NoError(t, err)
	t.Cleanup(func() { tm.Close() })
	require.NoError(t, wm.Ready(testCtx(t)))
	for i := 0; i < 4; i++ { // one runs, three wait
		_, err := tm.AddTask(atmo.TaskParams{Name: "sleep", Params: map[string]any{"ms": 200}})
		require.NoError(t, err)
	}
	_, err = tm.AddTask(atmo.TaskParams{Name: "echo"})
	require.ErrorIs(t, err, atmo.ErrQueueFull)
	_, err = tm.Do(testCtx(t), "echo", nil)
	require.ErrorIs(t, err, atmo.ErrQueueFull)
	assert.Contains(t, err.Error(), "MaxQueue")
}

// hostileWorker answers every task with a burst of junk before its real
// answer, then answers again.
const hostileWorker = `
let id;
self.onmessage = (e) => {
  const d = e.data;
  if (d.message === 'init-worker') {
    id = d.id;
    self.postMessage(42);
    self.postMessage('worker-ready');
    self.postMessage(null);
    self.postMessage({ message: 'worker-ready', workerId: id });
    self.postMessage({ message: 'worker-ready', workerId: id });
    return;
  }
  if (d.message !== 'worker-work') return;
  const t = d.taskId;
  self.postMessage({ message: 'no-such-kind', taskId: t });
  self.postMessage({ message: 'worker-response' });
  self.postMessage({ message: 'worker-response', taskId: 'task-999999', content: 'stray' });
  self.postMessage({ message: 'worker-response', taskId: d.content.params.victim, content: 'forged' });
  self.postMessage({ message: 'worker-progress', taskId: 'nope', content: 1 });
  self.postMessage({ message: 'worker-response', taskId: t, workerId: id, error: 'x'.repeat(1 << 20) });
  self.postMessage({ message: 'worker-response', taskId: t, workerId: id, content: 'second answer' });
};`

func TestHostileMessagesFromWorkersAreIgnoredAndCounted(t *testing.T) {
	tm, _ := pool(t,
		atmo.WorkerConfig{Tasks: []string{"victim"}, Script: jstest.HelperWorker(t, `atmoWorker({ victim: ({ ms }) => new Promise((r) => setTimeout(() => r('mine'), ms)) });`)},
		atmo.WorkerConfig{Tasks: []string{"hostile"}, Script: jstest.BlobURL(t, hostileWorker)},
	)
	victim, err := tm.AddTask(atmo.TaskParams{Name: "victim", Params: map[string]any{"ms": 300}})
	require.NoError(t, err)
	var settled atomic.Int32
	res := make(chan atmo.Response, 4)
	_, err = tm.AddTask(atmo.TaskParams{Name: "hostile", Params: map[string]any{"victim": victim.ID()},
		OnSuccess: func(r atmo.Response) { settled.Add(1); res <- r },
		OnError:   func(r atmo.Response) { settled.Add(1); res <- r }})
	require.NoError(t, err)
	r := <-res
	var te *atmo.TaskError
	require.ErrorAs(t, r.Err, &te, "the first answer wins")
	assert.Less(t, len(te.Message), 5000, "a huge error string is cut")
	assert.True(t, strings.HasPrefix(te.Message, "xxxx"))
	got, err := tm.Do(testCtx(t), "victim", map[string]any{"ms": 1})
	require.NoError(t, err)
	assert.Equal(t, "mine", got)
	require.Eventually(t, func() bool { return victim.Status() == atmo.TaskDone }, 5*time.Second, time.Millisecond, "the forged answer did not settle the victim")
	require.Eventually(t, func() bool { return tm.Stats().Ignored >= 9 }, 5*time.Second, time.Millisecond)
	assert.Equal(t, int32(1), settled.Load())
}

// sparseBatchWorker answers each task after a worker-response-batch whose
// content is a sparse array of params.length items: structured clone
// carries it cheaply, and a page that walked its slots would stall for
// seconds (2^24 items), or tens of them (2^32-1).
const sparseBatchWorker = `let id;
self.onmessage = (e) => {
  const d = e.data;
  if (d.message === 'init-worker') { id = d.id; self.postMessage({ message: 'worker-ready', workerId: id }); return; }
  if (d.message !== 'worker-work') return;
  self.postMessage({ message: 'worker-response-batch', workerId: id, content: new Array(d.content.params.length) });
  self.postMessage({ message: 'worker-response', taskId: d.taskId, workerId: id, content: 'mine' });
};`

func TestAHostileBatchOfAHugeSparseArrayIsIgnoredWithoutStallingThePage(t *testing.T) {
	tm, _ := pool(t, atmo.WorkerConfig{Tasks: []string{"junk"}, Script: jstest.BlobURL(t, sparseBatchWorker)})
	ignored := 0
	for _, length := range []float64{1<<32 - 1, 1 << 24} { // more than Go reads of an array; just as many
		ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second) // the page, stalled, missed it
		got, err := tm.Do(ctx, "junk", map[string]any{"length": length})
		cancel()
		require.NoError(t, err, "length %v", length)
		assert.Equal(t, "mine", got)
		ignored++
		assert.Equal(t, ignored, tm.Stats().Ignored, "once for the whole batch, length %v", length)
	}
}

// twoReadyWorker says worker-ready again, with features it never had,
// once it has a task: a seed worker that takes no batches.
const twoReadyWorker = `let id;
self.onmessage = (e) => {
  const d = e.data;
  if (d.message === 'init-worker') { id = d.id; self.postMessage({ message: 'worker-ready', workerId: id }); return; }
  if (d.message !== 'worker-work') return;
  self.postMessage({ message: 'worker-ready', workerId: id, content: { features: ['batch'] } });
  setTimeout(() => self.postMessage({ message: 'worker-response', taskId: d.taskId, workerId: id, content: d.content.params }), 50);
};`

func TestASecondWorkerReadyIsIgnoredAndChangesNothing(t *testing.T) {
	// Were the ignored ready read, batches would go to a worker that
	// cannot take them, and its tasks would never be answered.
	tm, _ := pool(t, atmo.WorkerConfig{Tasks: []string{"t"}, Concurrency: 3, Script: jstest.BlobURL(t, twoReadyWorker)})
	_, err := tm.Do(testCtx(t), "t", 0)
	require.NoError(t, err)
	require.Eventually(t, func() bool { return tm.Stats().Ignored == 1 }, 5*time.Second, time.Millisecond)
	res := make(chan any, 3)
	for i := range 3 {
		go func() {
			got, err := tm.Do(testCtx(t), "t", float64(i))
			if err != nil {
				res <- err
				return
			}
			res <- got
		}()
	}
	var got []any
	for range 3 {
		got = append(got, <-res)
	}
	assert.ElementsMatch(t, []any{0.0, 1.0, 2.0}, got)
}

func TestHostileCallerInputIsAClearErrorNeverAPanic(t *testing.T) {
	tm, _ := pool(t, chaosConfig(t))
	cyclic := map[string]any{}
	cyclic["self"] = cyclic
	for name, params := range map[string]any{"func": func() {}, "channel": make(chan int), "cyclic map": cyclic} {
		_, err := tm.Do(testCtx(t), "echo", params)
		require.ErrorIs(t, err, atmo.ErrBadParams, name)
	}
	_, err := tm.AddTask(atmo.TaskParams{Name: ""})
	require.ErrorIs(t, err, atmo.ErrBadParams)
	_, err = tm.Do(nil, "echo", 1) //nolint:staticcheck // a nil context is what is tested
	require.ErrorIs(t, err, atmo.ErrBadParams)

	panics := make(chan atmo.Message, 1)
	defer tm.Subscribe(func(m atmo.Message) {
		if m.Kind == atmo.KindCallbackPanic {
			panics <- m
		}
	})()
	_, err = tm.AddTask(atmo.TaskParams{Name: "echo", OnSuccess: func(atmo.Response) { panic("user bug") }})
	require.NoError(t, err)
	assert.Contains(t, (<-panics).Error, "user bug")
	got, err := tm.Do(testCtx(t), "echo", "fine")
	require.NoError(t, err)
	assert.Equal(t, "fine", got)
}

func TestAHandWrittenWorkerThatStopsATimedOutTaskByThrowingFreesItsSlotAtOnce(t *testing.T) {
	// A seed-style worker listing stop, not catch, that ends a handler on
	// worker-cancel by throwing: with only that timed-out task on it, the
	// error event is its end, so the task runs again there now, not once
	// the grace has passed and the worker has been replaced.
	script := jstest.BlobURL(t, `
let id, runs = 0;
self.onmessage = (e) => {
  const d = e.data;
  if (d.message === 'init-worker') { id = d.id; self.postMessage({ message: 'worker-ready', workerId: id, content: { features: ['stop'] } }); return; }
  if (d.message === 'worker-cancel') throw new Error('stopped ' + d.taskId);
  if (d.message !== 'worker-work') return;
  if (++runs > 1) self.postMessage({ message: 'worker-response', taskId: d.taskId, workerId: id, content: runs });
};`)
	tm, _ := pool(t, atmo.WorkerConfig{Tasks: []string{"hang"}, Script: script, CancelGrace: time.Minute})
	ctx, cancel := context.WithTimeout(testCtx(t), 10*time.Second)
	defer cancel()
	res := make(chan atmo.Response, 1)
	_, err := tm.AddTask(atmo.TaskParams{Name: "hang", Timeout: 100 * time.Millisecond, Retries: 1, Context: ctx,
		OnSuccess: func(r atmo.Response) { res <- r }, OnError: func(r atmo.Response) { res <- r }})
	require.NoError(t, err)
	r := <-res
	require.NoError(t, r.Err, "run again on its worker, well within the minute of grace")
	assert.Equal(t, 2.0, r.Content)
	assert.Equal(t, 0, tm.Stats().Restarted)
}

// sleepyWorker: echo answers its params; sleep waits params.ms, or rejects
// as soon as the task is cancelled (or timed out: atmo-worker.js stops it).
const sleepyWorker = `
atmoWorker({
  echo: (p) => p,
  sleep: ({ ms }, { signal }) => new Promise((resolve, reject) => {
    const timer = setTimeout(() => resolve('slept'), ms);
    signal.addEventListener('abort', () => { clearTimeout(timer); reject(signal.reason); }, { once: true });
  }),
});`

// Found by TestFuzzOpsRealWorkers (seed 2): Close from main settles every
// task with ErrClosed; the OnError of the first calls Close too, which
// returns at once, and the OnError of the second starts after that Close
// returned. The doc of Close says none starts after Close returns (its
// exceptions are a task's own later callbacks and subscribers').
func TestACloseFromACallbackDuringAnotherCloseReturnsOnlyOnceOtherCallbacksRan(t *testing.T) {
	tm := atmo.NewTaskManager()
	wm, err := atmo.NewBrowserWorkerManager(tm, atmo.WorkerConfig{Tasks: []string{"echo", "sleep"}, Script: jstest.HelperWorker(t, sleepyWorker)})
	require.NoError(t, err)
	t.Cleanup(func() { wm.Close(); tm.Close() })
	require.NoError(t, wm.Ready(testCtx(t)))

	var innerReturned, lateStart atomic.Bool
	bDone := make(chan struct{})
	_, err = tm.AddTask(atmo.TaskParams{Name: "sleep", Params: map[string]any{"id": 1, "ms": 10_000},
		OnError: func(atmo.Response) {
			tm.Close() // the second Close, from a callback
			innerReturned.Store(true)
		}})
	require.NoError(t, err)
	_, err = tm.AddTask(atmo.TaskParams{Name: "sleep", Params: map[string]any{"id": 2, "ms": 10_000}, // queued behind it
		OnError: func(atmo.Response) {
			lateStart.Store(innerReturned.Load())
			close(bDone)
		}})
	require.NoError(t, err)
	require.Eventually(t, func() bool { return len(tm.Status().Working) == 1 }, 5*time.Second, time.Millisecond)
	tm.Close()
	<-bDone
	assert.False(t, lateStart.Load(), "task 2's OnError started after the Close in task 1's OnError had returned")
}

// Found by TestFuzzOpsRealWorkers (seeds 13, 23: a claim of a lower
// priority while a higher one waited). A task that timed out, with Retries
// left, on a worker that stops handlers on request runs again as soon as
// its handler has stopped: it is routed straight to the slot it just freed,
// ahead of a task of a higher priority that waits in the queue.
func TestARetryAfterATimeoutWaitsBehindAQueuedTaskOfHigherPriority(t *testing.T) {
	tm := atmo.NewTaskManagerWithOptions(atmo.Options{AgingInterval: -1}) // strict priorities
	wm, err := atmo.NewBrowserWorkerManager(tm, atmo.WorkerConfig{Tasks: []string{"echo", "sleep"}, Script: jstest.HelperWorker(t, sleepyWorker)})
	require.NoError(t, err)
	t.Cleanup(func() { wm.Close(); tm.Close() })
	require.NoError(t, wm.Ready(testCtx(t)))

	order := make(chan string, 2)
	_, err = tm.AddTask(atmo.TaskParams{Name: "sleep", Params: map[string]any{"id": 1, "ms": 10_000},
		Timeout: 200 * time.Millisecond, Retries: 1, // heeds its cancel: the worker stays
		OnSuccess: func(atmo.Response) { order <- "low" }, OnError: func(atmo.Response) { order <- "low" }})
	require.NoError(t, err)
	require.Eventually(t, func() bool { return len(tm.Status().Working) == 1 }, 5*time.Second, time.Millisecond)
	_, err = tm.AddTask(atmo.TaskParams{Name: "echo", Params: map[string]any{"id": 2}, Priority: 5,
		OnSuccess: func(atmo.Response) { order <- "high" }, OnError: func(atmo.Response) { order <- "high" }})
	require.NoError(t, err)
	assert.Equal(t, "high", <-order, "the queued task of priority 5 runs before the priority-0 task's retry")
	<-order
}

// stopThrowsWorker is a hand-written worker whose worker-ready lists stop
// (it answers worker-cancel) but not catch: as a seed worker does, it ends
// a task by throwing, here the task it was told to stop.
const stopThrowsWorker = `
let id;
const running = new Map();
self.onmessage = (e) => {
  const d = e.data;
  switch (d.message) {
    case 'init-worker':
      id = d.id;
      self.postMessage({ message: 'worker-ready', workerId: id, content: { tasks: d.content, features: ['cancel', 'stop'] } });
      break;
    case 'worker-work': {
      const taskId = d.taskId;
      const ms = d.content.name === 'slow' ? 1500 : 1e9;
      running.set(taskId, setTimeout(() => { running.delete(taskId); self.postMessage({ message: 'worker-response', taskId, workerId: id, content: d.content.name + ' done' }); }, ms));
      break;
    }
    case 'worker-cancel':
      if (running.has(d.taskId)) {
        clearTimeout(running.get(d.taskId));
        running.delete(d.taskId);
        throw new Error('stopped ' + d.taskId);
      }
  }
};`

func TestAThrowOfATimedOutTasksHandlerIsNotPinnedOnTheTaskBesideIt(t *testing.T) {
	tm, _ := pool(t, atmo.WorkerConfig{Tasks: []string{"slow", "hang"}, Concurrency: 2, Script: jstest.BlobURL(t, stopThrowsWorker)})
	// hang times out twice (it has one retry), and each time its handler
	// throws beside slow: two crashes, which slow's two Retries outlast.
	beside := make(chan atmo.Response, 1)
	_, err := tm.AddTask(atmo.TaskParams{Name: "slow", Retries: 2,
		OnSuccess: func(r atmo.Response) { beside <- r }, OnError: func(r atmo.Response) { beside <- r }})
	require.NoError(t, err)
	late := make(chan atmo.Response, 1)
	_, err = tm.AddTask(atmo.TaskParams{Name: "hang", Timeout: 200 * time.Millisecond, Retries: 1,
		OnSuccess: func(r atmo.Response) { late <- r }, OnError: func(r atmo.Response) { late <- r }})
	require.NoError(t, err)
	r := <-beside
	require.NoError(t, r.Err, "the slow task must not fail with the throw of the timed-out task's handler as its own error")
	assert.Equal(t, "slow done", r.Content, "run again on the fresh worker, as after a crash")
	require.ErrorIs(t, (<-late).Err, atmo.ErrTimeout)
}
