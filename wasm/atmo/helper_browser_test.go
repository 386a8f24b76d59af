//go:build js && wasm

package atmo_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/atmoworkers/atmo/wasm/atmo"
	"github.com/atmoworkers/atmo/wasm/internal/jstest"
)

func TestAHelperWorkerMayRegisterItsHandlersAfterAnAwait(t *testing.T) {
	// A worker that loads a model or a module first: what the host posts
	// meanwhile (init-worker) is kept until atmoWorker is called.
	for typ, body := range map[string]string{
		"classic": `setTimeout(() => atmoWorker({ add: ({ a, b }) => a + b }), 50);`,
		"module":  "await new Promise((r) => setTimeout(r, 50));\natmoWorker({ add: ({ a, b }) => a + b });",
	} {
		tm, _ := pool(t, atmo.WorkerConfig{Tasks: []string{"add"}, Script: jstest.HelperWorker(t, body), Type: typ})
		got, err := tm.Do(testCtx(t), "add", map[string]any{"a": 3, "b": 4})
		require.NoError(t, err, typ)
		assert.Equal(t, 7.0, got, typ)
	}
}

// startError starts one worker of script listing tasks, on a manager of
// its own, and returns what Ready says (nil once it started).
func startError(t *testing.T, script string, tasks ...string) error {
	t.Helper()
	return startErrorOf(t, atmo.WorkerConfig{Tasks: tasks, Script: script, StartTimeout: 5 * time.Second})
}

// startErrorOf is what Ready says of a worker started from c.
func startErrorOf(t *testing.T, c atmo.WorkerConfig) error {
	t.Helper()
	tm := atmo.NewTaskManager()
	t.Cleanup(func() { tm.Close() })
	wm, err := atmo.NewBrowserWorkerManager(tm, c)
	require.NoError(t, err)
	t.Cleanup(func() { wm.Close() })
	return wm.Ready(testCtx(t))
}

func TestAHelperWorkerCalledTwiceFailsToStartSayingSo(t *testing.T) {
	err := startError(t, jstest.HelperWorker(t, "atmoWorker({ add: ({ a, b }) => a + b });\natmoWorker({ mul: ({ a, b }) => a * b });"), "add")
	require.ErrorIs(t, err, atmo.ErrWorkerStart)
	assert.Contains(t, err.Error(), "atmoWorker was called already in this worker: give every handler in one call, such as atmoWorker({ ...mathTasks, ...imageTasks }) (this call: mul)")
}

func TestAHelperWorkersTasksAreItsFunctionsCalledOnTheirObject(t *testing.T) {
	tm, _ := pool(t, atmo.WorkerConfig{Tasks: []string{"double", "quad", "add"}, Script: jstest.HelperWorker(t, `
class MathTasks {
  constructor() { this.factor = 2; }
  double(x) { return this.factor * x; }
  quad(x) { return this.double(this.double(x)); }
}
const tasks = new MathTasks();
tasks.add = ({ a, b }) => a + b;
tasks.settings = { verbose: true }; // not a function: not a task
atmoWorker(tasks);`)})
	got, err := tm.Do(testCtx(t), "quad", 3)
	require.NoError(t, err)
	assert.Equal(t, 12.0, got, "a method sees its object as this; a class's methods are tasks")
	got, err = tm.Do(testCtx(t), "add", map[string]any{"a": 1, "b": 2})
	require.NoError(t, err)
	assert.Equal(t, 3.0, got)
	_, err = tm.Do(testCtx(t), "settings", nil)
	require.ErrorIs(t, err, atmo.ErrNoWorker, "settings is no task of the worker's")
}

func TestAHelperWorkersTasksAreTakenFromTheNearestObjectThatNamesThem(t *testing.T) {
	script := jstest.HelperWorker(t, `
class Tasks {
  wipe() { return 'wiped'; }
  keep() { return 'kept'; }
}
const tasks = new Tasks();
tasks.wipe = undefined; // its own wipe, not a function, hides the class's
tasks.constructor = () => 'a task named constructor'; // an own one is a task
// As a bundler defines a module's exports: getters.
Object.defineProperty(tasks, 'add', { enumerable: true, get: () => ({ a, b }) => a + b });
atmoWorker(tasks);`)
	tm, _ := pool(t, atmo.WorkerConfig{Tasks: []string{"add", "constructor", "keep"}, Script: script})
	got, err := tm.Do(testCtx(t), "add", map[string]any{"a": 1, "b": 2})
	require.NoError(t, err, "a getter's function is a task")
	assert.Equal(t, 3.0, got)
	got, err = tm.Do(testCtx(t), "constructor", nil)
	require.NoError(t, err)
	assert.Equal(t, "a task named constructor", got)
	got, err = tm.Do(testCtx(t), "keep", nil)
	require.NoError(t, err)
	assert.Equal(t, "kept", got)

	err = startError(t, script, "wipe")
	require.ErrorIs(t, err, atmo.ErrWorkerStart, "the class's wipe is hidden by the object's own, which is no function")
	assert.Contains(t, err.Error(), "wipe")
}

func TestAHelperWorkerWithoutAFunctionFailsToStartSayingSo(t *testing.T) {
	err := startError(t, jstest.HelperWorker(t, "atmoWorker({ add: 'not yet' });"), "add")
	require.ErrorIs(t, err, atmo.ErrWorkerStart)
	assert.Contains(t, err.Error(), "atmoWorker(handlers): handlers has no functions")
}

func TestAHelperWorkerAnswersAThrowItCannotWriteAsTextAndGoesOn(t *testing.T) {
	tm, _ := pool(t, atmo.WorkerConfig{Tasks: []string{"rejects", "throws", "ok"}, Script: jstest.HelperWorker(t, `
const odd = () => { const o = Object.create(null); o.self = o; return o; };
atmoWorker({
  rejects: async () => { throw odd(); },
  throws: () => { throw odd(); },
  ok: () => 1,
});`)})
	for _, name := range []string{"rejects", "throws"} {
		_, err := tm.Do(testCtx(t), name, nil)
		var te *atmo.TaskError
		require.ErrorAs(t, err, &te, name)
		assert.Equal(t, "the handler failed with a value that cannot be written as text", te.Message, name)
	}
	got, err := tm.Do(testCtx(t), "ok", nil)
	require.NoError(t, err)
	assert.Equal(t, 1.0, got)
}

func TestAHelperWorkersSignalAbortsWithAnAbortError(t *testing.T) {
	tm, _ := pool(t, atmo.WorkerConfig{Tasks: []string{"wait", "reason"}, Concurrency: 2, Script: jstest.HelperWorker(t, `
let seen = '';
atmoWorker({
  wait: (_, { signal }) => new Promise((_, reject) => signal.addEventListener('abort', () => {
    seen = signal.reason.name + ' ' + (signal.reason instanceof DOMException) + ' ' + signal.reason.message;
    reject(signal.reason);
  })),
  reason: () => seen,
});`)})
	task, err := tm.AddTask(atmo.TaskParams{Name: "wait"})
	require.NoError(t, err)
	require.Eventually(t, func() bool { return task.Status() == atmo.TaskWorking }, 10*time.Second, time.Millisecond)
	task.Cancel()
	require.Eventually(t, func() bool {
		got, err := tm.Do(testCtx(t), "reason", nil)
		return err == nil && got != ""
	}, 10*time.Second, 10*time.Millisecond)
	got, err := tm.Do(testCtx(t), "reason", nil)
	require.NoError(t, err)
	assert.Equal(t, "AbortError true task canceled by the host", got, "as fetch's: e.name === 'AbortError' knows it")
}

// A helper worker's handler whose result structured clone cannot copy fails
// its task saying that the result is what could not be sent, and what to
// return instead, as a Go worker's does ("returned a result the host cannot
// receive"); the browser's DataCloneError alone names neither the result
// nor a way out.
func TestAHelperHandlersResultThatCannotBeSentFailsSayingSo(t *testing.T) {
	tm, _ := pool(t, atmo.WorkerConfig{Tasks: []string{"fn", "listed"}, Script: jstest.HelperWorker(t, `atmoWorker({
  fn: () => ({ total: 3, format: () => '3' }),
  listed: () => atmoWorker.transfer({ total: 3 }, [{ total: 3 }]),
});`)})
	_, err := tm.Do(testCtx(t), "fn", nil)
	var te *atmo.TaskError
	require.ErrorAs(t, err, &te)
	assert.Contains(t, te.Message, "could not be cloned", "the browser's cause is kept")
	assert.Contains(t, te.Message, "the handler's result cannot be sent to the host")
	assert.Contains(t, te.Message, "return plain data")
	assert.NotContains(t, te.Message, "atmoWorker.transfer", "it listed nothing")
	_, err = tm.Do(testCtx(t), "listed", nil)
	require.ErrorAs(t, err, &te)
	assert.Contains(t, te.Message, "list in atmoWorker.transfer only the ArrayBuffers (or other transferables) found in it", "a transfer list that postMessage refuses is named")
}

// A class's accessors are no methods: registering its instance must not run
// them (a getter that reads state set up later throws, and one with side
// effects would run them at start).
func TestAHelperWorkersClassWithAGetterStartsWithoutCallingIt(t *testing.T) {
	tm, _ := pool(t, atmo.WorkerConfig{Tasks: []string{"resize", "calls"}, Script: jstest.HelperWorker(t, `
let getterCalls = 0;
class ImageTasks {
  constructor() { this.canvas = null; } // made on the first task
  get context() { getterCalls++; return this.canvas.getContext('2d'); }
  resize({ w }) { return w * 2; }
  calls() { return getterCalls; }
}
atmoWorker(new ImageTasks());`)})
	got, err := tm.Do(testCtx(t), "resize", map[string]any{"w": 4})
	require.NoError(t, err)
	assert.Equal(t, 8.0, got)
	got, err = tm.Do(testCtx(t), "calls", nil)
	require.NoError(t, err)
	assert.Equal(t, 0.0, got, "the class's getter was run by atmoWorker")
}

// atmoWorker called after an await (as the README allows: a model to load
// first) with handlers it refuses: the throw is a rejection the page never
// hears of, where the same call before any await fails the start at once,
// saying why.
func TestAHelperWorkerRegisteredLateWithBadHandlersFailsToStartSayingWhy(t *testing.T) {
	for name, body := range map[string]string{
		"no functions": `(async () => { await new Promise((r) => setTimeout(r, 20)); atmoWorker({ add: 'not yet' }); })();`,
		"no object":    `(async () => { await new Promise((r) => setTimeout(r, 20)); atmoWorker(null); })();`,
		"at once":      `(async () => { await null; atmoWorker({}); })();`,
	} {
		t.Run(name, func(t *testing.T) {
			err := startErrorOf(t, atmo.WorkerConfig{Tasks: []string{"add"}, Script: jstest.HelperWorker(t, body), StartTimeout: 3 * time.Second})
			require.ErrorIs(t, err, atmo.ErrWorkerStart)
			assert.Contains(t, err.Error(), "atmoWorker(handlers): handlers")
			assert.NotContains(t, err.Error(), "within", "told at once, not found out by StartTimeout")
		})
	}
}

// One that catches the refusal and calls again with handlers it takes
// serves, as if the refused call never was.
func TestAHelperWorkerThatCatchesARefusedCallAndCallsAgainServes(t *testing.T) {
	tm, _ := pool(t, atmo.WorkerConfig{Tasks: []string{"add"}, Script: jstest.HelperWorker(t, `(async () => {
  await new Promise((r) => setTimeout(r, 20));
  try { atmoWorker({}); } catch (_) { atmoWorker({ add: ({ a, b }) => a + b }); }
})();`)})
	got, err := tm.Do(testCtx(t), "add", map[string]any{"a": 1, "b": 2})
	require.NoError(t, err)
	assert.Equal(t, 3.0, got)
}
