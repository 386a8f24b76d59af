package main

import (
	"context"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// progressWorker is a JS worker written with atmo-worker.js: steps reports
// 1..n before it answers; hold waits until the page posts 'release' on a
// BroadcastChannel, so a test decides when tasks end instead of a clock.
const progressWorker = `importScripts('/jsworker/atmo-worker.js');
const release = new Promise((resolve) => {
  const ch = new BroadcastChannel('atmo-test-release');
  ch.onmessage = () => resolve();
});
atmoWorker({
  steps: async ({ n }, { progress }) => {
    for (let i = 1; i <= n; i++) {
      progress(i);
      await new Promise((r) => setTimeout(r, 0));
    }
    return 'steps done';
  },
  hold: async ({ i }) => { await release; return i; },
  shaped: (_, { progress }) => { progress({ step: 1, label: 'one', list: [1, 'two', null] }); progress('half'); return 'shaped done'; },
});
`

// apiPageWithWorker is apiPage with the test worker served at
// /t/progress-worker.js.
func apiPageWithWorker(t *testing.T) context.Context {
	t.Helper()
	return apiPageWith(t, map[string]string{"progress-worker.js": progressWorker})
}

func TestJSAPIOnProgressFromAJSWorkerArrivesInOrderBeforeTheResult(t *testing.T) {
	ctx := apiPageWithWorker(t)
	var got map[string]any
	eval(t, ctx, js(`
  const tm = atmo.createTaskManager();
  atmo.createBrowserWorkerManager(tm, [{ tasks: ['steps', 'hold'], script: '/t/progress-worker.js', concurrency: 2 }]);
  // run(): reports, then the Promise.
  const runSeen = [];
  let runIds = new Set();
  const result = await tm.run('steps', { n: 5 }, { onProgress: (r) => { runSeen.push(r.content); runIds.add(r.taskId + '/' + r.workerId); } });
  runSeen.push(result);
  // addTask(): reports, then onSuccess, in one sequence.
  const addSeen = [];
  const handle = await new Promise((resolve, reject) => {
    const h = tm.addTask({ name: 'steps', params: { n: 3 },
      onProgress: (r) => addSeen.push(['progress', r.content, r.taskId === h.id, /^worker-\d+$/.test(r.workerId)]),
      onSuccess: (r) => { addSeen.push(['success', r.content]); resolve(h); },
      onError: reject });
  });
  // A throwing onProgress is reported, not fatal: the task still resolves.
  const afterThrow = await tm.run('steps', { n: 2 }, { onProgress: () => { throw new Error('listener bug'); } });
  const badProgress = await tm.run('steps', { n: 1 }, { onProgress: 'no' }).then(() => null, (e) => [e.code, e.argument]);
  let badAddTask = null;
  try { tm.addTask({ name: 'steps', params: { n: 1 }, onProgress: 5 }); } catch (e) { badAddTask = [e.code, e.argument]; }
  await tm.close();
  return { runSeen, runIds: [...runIds], addSeen, afterThrow, badProgress, badAddTask };`), &got)
	assert.Equal(t, []any{1.0, 2.0, 3.0, 4.0, 5.0, "steps done"}, got["runSeen"], "every report, in order, before the result")
	require.Len(t, got["runIds"], 1, "every report names the task and its worker")
	assert.Regexp(t, `^task-\d+/worker-\d+$`, got["runIds"].([]any)[0])
	assert.Equal(t, []any{
		[]any{"progress", 1.0, true, true}, []any{"progress", 2.0, true, true}, []any{"progress", 3.0, true, true},
		[]any{"success", "steps done"},
	}, got["addSeen"])
	assert.Equal(t, "steps done", got["afterThrow"])
	assert.Equal(t, []any{"ERR_BAD_ARGUMENT", "onProgress"}, got["badProgress"])
	assert.Equal(t, []any{"ERR_BAD_ARGUMENT", "onProgress"}, got["badAddTask"])
}

func TestJSAPIProgressReportsArriveWithTheirShape(t *testing.T) {
	ctx := apiPageWithWorker(t)
	var got []any
	eval(t, ctx, js(`
  const tm = atmo.createTaskManager();
  atmo.createBrowserWorkerManager(tm, [{ tasks: ['shaped'], script: '/t/progress-worker.js' }]);
  const seen = [];
  await new Promise((resolve) => tm.addTask({ name: 'shaped', onProgress: (r) => seen.push(r.content), onSuccess: (r) => { seen.push(r.content); resolve(); } }));
  await tm.close();
  return seen;`), &got)
	assert.Equal(t, []any{map[string]any{"step": 1.0, "label": "one", "list": []any{1.0, "two", nil}}, "half", "shaped done"}, got)
}

func TestJSAPIOnProgressFromAGoWorkerArrivesInOrderBeforeTheResult(t *testing.T) {
	ctx := apiPage(t)
	var got map[string]any
	eval(t, ctx, js(`
  const tm = atmo.createTaskManager();
  atmo.createBrowserWorkerManager(tm, [{ tasks: ['sha256'], module: '/workers/sha256.wasm' }]);
  const seen = [];
  const digest = await tm.run('sha256', { data: new TextEncoder().encode('atmo'), rounds: 500000 },
    { onProgress: (r) => seen.push(r.content) });
  seen.push('result');
  await tm.close();
  return { seen, digest: digest instanceof Uint8Array ? digest.length : String(digest) };`), &got)
	// sha256 reports every 100,000 rounds: 0.2, 0.4, 0.6, 0.8 of 500,000.
	assert.Equal(t, []any{0.2, 0.4, 0.6, 0.8, "result"}, got["seen"])
	assert.Equal(t, 32.0, got["digest"])
}

func TestJSAPIElasticConfigGrowsUnderABurstAndShrinksAfterIdleTimeout(t *testing.T) {
	ctx := apiPageWithWorker(t)
	var got map[string]any
	eval(t, ctx, js(`
  const tm = atmo.createTaskManager();
  const wm = atmo.createBrowserWorkerManager(tm, [
    { tasks: ['hold'], script: '/t/progress-worker.js', count: 1, maxWorkers: 3, idleTimeout: 200, concurrency: 2 }]);
  await wm.ready();
  const until = async (cond) => { while (!cond()) await new Promise((r) => setTimeout(r, 20)); };
  const start = tm.stats();
  // A burst of 6 tasks that hold until released: the pool grows to 3
  // workers of 2 tasks each.
  const burst = Array.from({ length: 6 }, (_, i) => tm.run('hold', { i }));
  await until(() => { const s = tm.stats(); return s.workers.length === 3 && s.running === 6; });
  const busy = tm.stats();
  new BroadcastChannel('atmo-test-release').postMessage('go');
  const results = await Promise.all(burst);
  // Idle past idleTimeout, the grown workers are closed.
  await until(() => tm.stats().workers.length === 1);
  const after = tm.stats();
  const listed = wm.workers().map((w) => w.status);
  await tm.close();
  const pick = (s) => ({ grown: s.grown, released: s.released, queued: s.queued, running: s.running,
    workers: s.workers.map((w) => ({ status: w.status, inFlight: w.inFlight, capacity: w.capacity, restarts: w.restarts, uptime: w.uptime > 0 })) });
  return { start: pick(start), busy: pick(busy), after: pick(after), results, listed };`), &got)
	start := got["start"].(map[string]any)
	assert.Equal(t, 0.0, start["grown"])
	assert.Len(t, start["workers"], 1)

	busy := got["busy"].(map[string]any)
	assert.Equal(t, 2.0, busy["grown"], "grew from count 1 to maxWorkers 3")
	assert.Equal(t, 0.0, busy["released"])
	for _, w := range busy["workers"].([]any) {
		assert.Equal(t, map[string]any{"status": "working", "inFlight": 2.0, "capacity": 2.0, "restarts": 0.0, "uptime": true}, w)
	}

	assert.Equal(t, []any{0.0, 1.0, 2.0, 3.0, 4.0, 5.0}, got["results"])
	after := got["after"].(map[string]any)
	assert.Equal(t, 2.0, after["grown"])
	assert.Equal(t, 2.0, after["released"], "the two workers above count were released")
	assert.Equal(t, []any{map[string]any{"status": "available", "inFlight": 0.0, "capacity": 2.0, "restarts": 0.0, "uptime": true}}, after["workers"])
	assert.Equal(t, []any{"available"}, got["listed"], "released workers leave the list")
}

func TestJSAPIWorkerConfigChecksMaxWorkersAndIdleTimeout(t *testing.T) {
	ctx := apiPage(t)
	var got map[string]map[string]any
	eval(t, ctx, js(`
  const tm = atmo.createTaskManager();
  const wm = atmo.createBrowserWorkerManager(tm, [{ ...math, count: 1, maxWorkers: 2, idleTimeout: 1000 }]);
  const throws = (f) => { try { f(); return { resolved: true }; } catch (e) { return { code: e.code, argument: e.argument, message: e.message }; } };
  const out = {
    maxNotWhole: throws(() => atmo.createBrowserWorkerManager(tm, [{ ...math, maxWorkers: 2.5 }])),
    maxZero: throws(() => atmo.createBrowserWorkerManager(tm, [{ ...math, maxWorkers: 0 }])),
    maxBelowCount: throws(() => atmo.createBrowserWorkerManager(tm, [math, { ...math, count: 3, maxWorkers: 2 }])),
    idleNegative: throws(() => atmo.createBrowserWorkerManager(tm, [{ ...math, idleTimeout: -5 }])),
    idleString: throws(() => atmo.createBrowserWorkerManager(tm, [{ ...math, idleTimeout: '5s' }])),
    addCount: throws(() => wm.addWorker({ ...math, count: 2 })),
    unknown: throws(() => atmo.createBrowserWorkerManager(tm, [{ ...math, maxWorker: 2 }])),
    addElastic: throws(() => wm.addWorker({ ...math, maxWorkers: 3, idleTimeout: 500 })),
  };
  await tm.close();
  return out;`), &got)
	for name, arg := range map[string]string{
		"maxNotWhole": "configs[0].maxWorkers", "maxZero": "configs[0].maxWorkers", "maxBelowCount": "configs[1].maxWorkers",
		"idleNegative": "configs[0].idleTimeout", "idleString": "configs[0].idleTimeout",
		"unknown": "configs[0].maxWorker",
	} {
		require.Contains(t, got, name)
		assert.Equal(t, "ERR_BAD_ARGUMENT", got[name]["code"], name)
		assert.Equal(t, arg, got[name]["argument"], name)
		assert.NotEmpty(t, got[name]["message"], name)
	}
	assert.Contains(t, got["unknown"]["message"], "maxWorkers, idleTimeout", "the known fields include the new ones")
	assert.Equal(t, map[string]any{"resolved": true}, got["addElastic"], "addWorker takes an elastic config")
	assert.Equal(t, map[string]any{"resolved": true}, got["addCount"], "addWorker starts count workers")
}

// The page compiles a Go module in a worker of its own: a module the
// server does not have fails the start with the server's own answer.
func TestJSAPIGoWorkerWhoseModuleTheServerLacksFailsToStartWithTheServersAnswer(t *testing.T) {
	ctx := apiPage(t)
	var got map[string]any
	eval(t, ctx, js(`
  const tm = atmo.createTaskManager();
  const wm = atmo.createBrowserWorkerManager(tm, [{ tasks: ['sha256'], module: '/workers/no-such-worker.wasm', startTimeout: 20000 }]);
  const out = {};
  try {
    await wm.ready();
    out.ready = 'resolved';
  } catch (err) {
    out.ready = err.message;
  }
  try {
    await tm.run('sha256', { data: new Uint8Array(1), rounds: 1 });
    out.run = 'resolved';
  } catch (err) {
    out.run = err.message;
    out.code = err.code;
  }
  out.lastError = wm.workers()[0].lastError;
  await tm.close();
  return out;`), &got)
	want := `fetching http://127\.0\.0\.1:\d+/workers/no-such-worker\.wasm: 404 Not Found`
	assert.Regexp(t, want, got["ready"])
	assert.Regexp(t, want, got["lastError"])
	assert.Equal(t, "ERR_NO_WORKER", got["code"])
	assert.Regexp(t, `no worker lists task "sha256" any more \(known: none\); the last worker that did, worker-1 \(.*\), `+
		`failed to start 3 times in a row, giving up; last: `+want, got["run"], "a task added after the worker gave up says why")
}

func TestJSAPICallbacksThatThrowAreCountedAndReportedAsGoCallbacksPanicsAre(t *testing.T) {
	// stats().callbackPanics and the 'callback-panic' event tell a page of
	// its own callbacks' throws, as they tell a Go program of its panics.
	ctx := apiPageWithWorker(t)
	var got map[string]any
	eval(t, ctx, js(`
  const tm = atmo.createTaskManager();
  atmo.createBrowserWorkerManager(tm, [{ tasks: ['steps'], script: '/t/progress-worker.js' }]);
  const panics = [];
  let subscriberThrows = 0;
  tm.subscribe((m) => { if (m.message === 'callback-panic') panics.push([m.taskId || '', m.error]); });
  tm.subscribe((m) => {
    // throws on every worker-response, and on every callback-panic too,
    // which must not report itself again and again
    if (m.message === 'worker-response' || m.message === 'callback-panic') { subscriberThrows++; throw new TypeError('subscriber bug'); }
  });
  const quiet = console.error;
  console.error = () => {};
  try {
    await tm.run('steps', { n: 1 }, { onProgress: () => { throw new Error('progress bug'); } });
    await new Promise((resolve) => tm.addTask({ name: 'steps', params: { n: 0 }, onSuccess: () => { setTimeout(resolve, 0); throw 'success bug'; } }));
    await new Promise((r) => setTimeout(r, 200)); // events arrive on their own goroutine
  } finally {
    console.error = quiet;
  }
  const out = { panics, callbackPanics: tm.stats().callbackPanics, subscriberThrows };
  await tm.close();
  return out;`), &got)
	assert.ElementsMatch(t, []any{
		[]any{"task-1", "atmo: onProgress of task task-1 threw: progress bug"},
		[]any{"task-1", "atmo: a subscriber, on worker-response, threw: subscriber bug"},
		[]any{"task-2", "atmo: onSuccess of task task-2 threw: success bug"},
		[]any{"task-2", "atmo: a subscriber, on worker-response, threw: subscriber bug"},
	}, got["panics"])
	assert.Equal(t, 4.0, got["callbackPanics"])
	assert.Equal(t, 6.0, got["subscriberThrows"], "two worker-responses and four callback-panics, none of which reported itself")
}

func TestJSAPICallbacksThatThrowWhileCloseSettlesTheTasksAreCounted(t *testing.T) {
	// The README: a callback that throws is "counted in stats().callbackPanics",
	// as a Go callback's panic is, also one of those Close settles (Go's
	// Stats().CallbackPanics counts them). Here onError of two tasks close()
	// fails, and a subscriber on the events of that close, throw.
	ctx := apiPageWithWorker(t)
	var got map[string]any
	eval(t, ctx, js(`
  const tm = atmo.createTaskManager();
  atmo.createBrowserWorkerManager(tm, [{ tasks: ['steps', 'hold'], script: '/t/progress-worker.js' }]);
  await tm.run('steps', { n: 0 });
  let closing = false, onErrors = 0, subscriberThrows = 0;
  tm.subscribe((m) => { if (closing && m.message !== 'callback-panic') { subscriberThrows++; throw new Error('subscriber bug'); } });
  const quiet = console.error;
  console.error = () => {};
  try {
    for (let i = 0; i < 2; i++) tm.addTask({ name: 'hold', params: { i }, onError: () => { onErrors++; throw new Error('onError bug'); } });
    await new Promise((r) => setTimeout(r, 100));
    const before = tm.stats().callbackPanics;
    closing = true;
    await tm.close();
    await new Promise((r) => setTimeout(r, 100));
    return { before, after: tm.stats().callbackPanics, onErrors, subscriberThrows };
  } finally {
    console.error = quiet;
  }`), &got)
	assert.Equal(t, 0.0, got["before"])
	assert.Equal(t, 2.0, got["onErrors"])
	assert.Greater(t, got["subscriberThrows"], 0.0, "the subscriber saw events of the close")
	assert.Equal(t, got["onErrors"].(float64)+got["subscriberThrows"].(float64), got["after"], "every throw counted, as Go counts a callback's panic during Close")
}

// addTask reads a task's callbacks wherever they are, a class's methods
// too (snapshot), so a task may be an instance of a class of the page's;
// its methods are then called on it, as task.onSuccess(response) would be,
// not as bare functions whose this is undefined (a TypeError, reported as a
// callback panic, and the result lost). run()'s onProgress likewise on its
// options.
func TestJSAPIATasksCallbacksAreCalledOnTheTask(t *testing.T) {
	ctx := apiPageWithWorker(t)
	var got map[string]any
	eval(t, ctx, js(`
  const tm = atmo.createTaskManager();
  atmo.createBrowserWorkerManager(tm, [{ tasks: ['steps'], script: '/t/progress-worker.js' }]);
  const panics = [];
  tm.subscribe((e) => { if (e.message === 'callback-panic') panics.push(e.error); });
  class Steps {
    constructor(n) { this.name = 'steps'; this.params = { n }; }
    onProgress(r) { Steps.seen.push(this instanceof Steps ? r.content : 'unbound'); }
    onSuccess(r) { Steps.seen.push(this instanceof Steps ? r.content : 'unbound'); }
    onError(r) { Steps.seen.push('error ' + r.error); }
  }
  Steps.seen = [];
  await new Promise((resolve) => { tm.addTask(new Steps(2)); setTimeout(resolve, 500); });
  const options = { onProgress(r) { seen.push(this === options ? r.content : 'unbound'); } };
  const seen = [];
  await tm.run('steps', { n: 2 }, options);
  await tm.close();
  return { task: Steps.seen, run: seen, panics };`), &got)
	assert.Equal(t, []any{1.0, 2.0, "steps done"}, got["task"])
	assert.Equal(t, []any{1.0, 2.0}, got["run"])
	assert.Empty(t, got["panics"])
}
