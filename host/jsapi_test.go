package main

import (
	"fmt"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestJSAPIRunResolvesWithTheWorkersResults(t *testing.T) {
	ctx := apiPage(t)
	var got []float64
	eval(t, ctx, js(`
  const tm = atmo.createTaskManager();
  const wm = atmo.createBrowserWorkerManager(tm, [math, math]);
  await wm.ready();
  const r = await Promise.all([
    tm.run('add', { a: 2, b: 3 }),
    tm.run('multiply', { a: 6, b: 7 }),
    tm.run('sqrt', { a: 144 }),
    tm.run('fibonacci', { n: 20 }),
  ]);
  await tm.close();
  return r;`), &got)
	assert.Equal(t, []float64{5, 42, 12, 6765}, got)
}

func TestJSAPIRunsOneTaskAtATimeWithThreadsKeptAwakeOrNot(t *testing.T) {
	ctx := apiPage(t)
	var got map[string][]float64
	eval(t, ctx, js(`
  const out = {};
  for (const [name, options] of [['default', undefined], ['longer', { loneTaskAwake: 1 }], ['never', { loneTaskAwake: 0 }]]) {
    const tm = atmo.createTaskManager(options);
    atmo.createBrowserWorkerManager(tm, [math]);
    out[name] = [];
    for (let i = 0; i < 20; i++) out[name].push(await tm.run('add', { a: i, b: 1 })); // each alone
    await tm.close();
  }
  return out;`), &got)
	want := make([]float64, 20)
	for i := range want {
		want[i] = float64(i + 1)
	}
	for _, name := range []string{"default", "longer", "never"} {
		assert.Equal(t, want, got[name], name)
	}
}

func TestJSAPIRunRejectsWithTaskIDWorkerIDAndTheWorkersMessage(t *testing.T) {
	ctx := apiPage(t)
	var got map[string]any
	eval(t, ctx, js(`
  const tm = atmo.createTaskManager();
  const wm = atmo.createBrowserWorkerManager(tm, [math]);
  const ids = wm.workers().map((w) => w.id);
  try {
    await tm.run('divide', { a: 1, b: 0 });
    return { resolved: true };
  } catch (err) {
    return { isError: err instanceof Error, isAtmo: err instanceof window.AtmoError, name: err.name, message: err.message,
             code: err.code, taskId: err.taskId, workerId: err.workerId, workers: ids };
  } finally {
    await tm.close();
  }`), &got)
	assert.Equal(t, true, got["isError"])
	assert.Equal(t, true, got["isAtmo"])
	assert.Equal(t, "AtmoError", got["name"])
	assert.Equal(t, "Division by zero is not allowed", got["message"])
	assert.Equal(t, "ERR_TASK", got["code"])
	assert.Regexp(t, `^task-\d+$`, got["taskId"])
	assert.Contains(t, got["workers"], got["workerId"])
}

func TestJSAPIAddTaskCallsBackWithTheSeedsShapes(t *testing.T) {
	ctx := apiPage(t)
	var got map[string]map[string]any
	eval(t, ctx, js(`
  const tm = atmo.createTaskManager();
  atmo.createBrowserWorkerManager(tm, [math]);
  const ok = await new Promise((resolve, reject) => {
    const task = tm.addTask({ name: 'add', params: { a: 10, b: 20 }, onSuccess: resolve, onError: reject });
    if (!/^task-/.test(task.id) || task.name !== 'add') reject(new Error('bad handle ' + JSON.stringify(task)));
  });
  const bad = await new Promise((resolve, reject) => tm.addTask({ name: 'divide', params: { a: 1, b: 0 }, onSuccess: reject, onError: resolve }));
  await tm.close();
  return { ok, bad };`), &got)
	assert.Equal(t, "worker-response", got["ok"]["message"])
	assert.Equal(t, 30.0, got["ok"]["content"])
	assert.Regexp(t, `^task-\d+$`, got["ok"]["taskId"])
	assert.Regexp(t, `^worker-\d+$`, got["ok"]["workerId"])
	assert.Equal(t, "worker-response", got["bad"]["message"])
	assert.Equal(t, "Division by zero is not allowed", got["bad"]["error"])
	assert.Regexp(t, `^task-\d+$`, got["bad"]["taskId"])
	assert.Regexp(t, `^worker-\d+$`, got["bad"]["workerId"])
}

func TestJSAPICallsAfterCloseRejectClearlyAndPendingTasksSettle(t *testing.T) {
	ctx := apiPage(t)
	var got map[string]any
	eval(t, ctx, js(`
  const tm = atmo.createTaskManager();
  atmo.createBrowserWorkerManager(tm, [math]);
  // Queued behind a slow task, so both are pending when close comes.
  const slow = tm.run('fibonacci', { n: 32 }).then(() => 'resolved', (e) => e.code);
  const queued = tm.run('add', { a: 1, b: 1 }).then(() => 'resolved', (e) => e.code);
  const closing = tm.close();
  const after = await tm.run('add', { a: 1, b: 2 }).then(() => null, (e) => ({ code: e.code, message: e.message }));
  let thrown = null;
  try { tm.addTask({ name: 'add', params: {} }); } catch (e) { thrown = e.code; }
  let subThrown = null;
  try { tm.subscribe(() => {}); } catch (e) { subThrown = e.code; }
  await closing;
  return { slow: await slow, queued: await queued, after, thrown, subThrown, closed: tm.closed, status: tm.status() };`), &got)
	assert.Equal(t, "ERR_CLOSED", got["queued"], "a task still queued at close rejects with ERR_CLOSED")
	assert.Contains(t, []any{"resolved", "ERR_CLOSED"}, got["slow"], "a running task settles either way")
	after := got["after"].(map[string]any)
	assert.Equal(t, "ERR_CLOSED", after["code"])
	assert.Contains(t, after["message"], "closed")
	assert.Contains(t, after["message"], "createTaskManager")
	assert.Equal(t, "ERR_CLOSED", got["thrown"])
	assert.Equal(t, "ERR_CLOSED", got["subThrown"])
	assert.Equal(t, true, got["closed"])
	status := got["status"].(map[string]any)
	assert.Empty(t, status["pending"])
	assert.Empty(t, status["working"])
}

func TestJSAPITasksGoHasAtCloseSettleWithErrClosed(t *testing.T) {
	// Unlike the test above, close comes a while after the tasks reached Go:
	// their answers leave Go after close, and must still reach their
	// promises and callbacks.
	ctx := apiPageWith(t, map[string]string{"hold-worker.js": "importScripts('/jsworker/atmo-worker.js');\natmoWorker({ hold: () => new Promise(() => {}) });\n"})
	var got map[string]any
	eval(t, ctx, js(`
  const tm = atmo.createTaskManager();
  const wm = atmo.createBrowserWorkerManager(tm, [{ tasks: ['hold'], script: '/t/hold-worker.js' }]);
  await wm.ready();
  const running = tm.run('hold').then(() => 'resolved', (e) => e.code);
  const queued = tm.run('hold').then(() => 'resolved', (e) => e.code);
  const called = new Promise((resolve) => tm.addTask({ name: 'hold', onSuccess: () => resolve('resolved'), onError: (r) => resolve(r.code) }));
  while (tm.status().working.length === 0) await new Promise((r) => setTimeout(r, 10));
  await new Promise((r) => setTimeout(r, 100));
  await tm.close();
  return { running: await within(running), queued: await within(queued), called: await within(called) };`), &got)
	assert.Equal(t, map[string]any{"running": "ERR_CLOSED", "queued": "ERR_CLOSED", "called": "ERR_CLOSED"}, got)
}

func TestJSAPIBadArgumentsRejectNamingTheArgument(t *testing.T) {
	ctx := apiPage(t)
	var got map[string]any
	eval(t, ctx, js(`
  const tm = atmo.createTaskManager();
  atmo.createBrowserWorkerManager(tm, [math]);
  const fail = (p) => p.then((v) => ({ resolved: v }), (e) => ({ code: e.code, argument: e.argument, message: e.message }));
  const throws = (f) => { try { f(); return { resolved: true }; } catch (e) { return { code: e.code, argument: e.argument, message: e.message }; } };
  const buf = new ArrayBuffer(8);
  const cyclic = {};
  cyclic.self = cyclic;
  const out = {
    noName: await fail(tm.run(undefined, { a: 1 })),
    emptyName: await fail(tm.run('  ', { a: 1 })),
    uncloneable: await fail(tm.run('add', { a: 1, f() {} })),
    throwingGetter: await fail(tm.run('add', { get a() { throw new Error('not now'); } })),
    unknownTask: await fail(tm.run('resize', { a: 1 })),
    badPriority: await fail(tm.run('add', { a: 1, b: 2 }, { priority: 'high' })),
    unknownField: throws(() => atmo.createBrowserWorkerManager(tm, [math, { tasks: ['add'], scirpt: '/workers/math-worker.js' }])),
    noTasks: throws(() => atmo.createBrowserWorkerManager(tm, [{ script: '/workers/math-worker.js' }])),
    notArray: throws(() => atmo.createBrowserWorkerManager(tm, { tasks: ['add'] })),
    both: throws(() => atmo.createBrowserWorkerManager(tm, [{ tasks: ['add'], script: '/a.js', module: '/b.wasm' }])),
    neither: throws(() => atmo.createBrowserWorkerManager(tm, [{ tasks: ['add'], script: '' }])),
    badURL: throws(() => atmo.createBrowserWorkerManager(tm, [{ tasks: ['add'], script: 'http://[' }])),
    addTaskNoName: throws(() => tm.addTask({ params: {} })),
    keepAwakeTooLong: throws(() => atmo.createBrowserWorkerManager(tm, [{ ...math, keepAwake: 5 }])),
    keepAwakeNotANumber: throws(() => atmo.createBrowserWorkerManager(tm, [{ ...math, keepAwake: '50us' }])),
    badOption: throws(() => atmo.createTaskManager({ agingInterva: 5 })),
    loneTaskAwakeTooLong: throws(() => atmo.createTaskManager({ loneTaskAwake: 5 })),
    loneTaskAwakeNotANumber: throws(() => atmo.createTaskManager({ loneTaskAwake: '300us' })),
    misspeltCallback: throws(() => tm.addTask({ name: 'add', params: { a: 1, b: 2 }, onSucess: () => {} })),
    misspeltOption: await fail(tm.run('add', { a: 1, b: 2 }, { timout: 50 })),
    optionsNotAnObject: await fail(tm.run('add', { a: 1, b: 2 }, 50)),
    negativeTimeout: await fail(tm.run('add', { a: 1, b: 2 }, { timeout: -1 })),
    fractionalRetries: await fail(tm.run('add', { a: 1, b: 2 }, { retries: 1.5 })),
    negativeRetries: await fail(tm.run('add', { a: 1, b: 2 }, { retries: -1 })),
    fractionalPriority: await fail(tm.run('add', { a: 1, b: 2 }, { priority: 2.5 })),
    retriesWithTransfer: await fail(tm.run('add', { a: 1, b: 2, buf }, { transfer: [buf], retries: 2 })),
    priorityPastAging: await fail(tm.run('add', { a: 1, b: 2 }, { priority: 1e12 })),
    agingNaN: throws(() => atmo.createTaskManager({ agingInterval: NaN })),
    agingBigInt: throws(() => atmo.createTaskManager({ agingInterval: 10n })),
    countBigInt: throws(() => atmo.createBrowserWorkerManager(tm, [{ ...math, count: 2n }])),
    taskBigInt: throws(() => atmo.createBrowserWorkerManager(tm, [{ ...math, tasks: ['add', 7n] }])),
    priorityBigInt: await fail(tm.run('add', { a: 1, b: 2 }, { priority: 1n })),
    nameBigInt: await fail(tm.run(10n, {})),
    nameCyclic: await fail(tm.run(cyclic, {})),
    addTaskNameBigInt: throws(() => tm.addTask({ name: 10n })),
    taskTimeoutNaN: throws(() => atmo.createBrowserWorkerManager(tm, [{ ...math, taskTimeout: NaN }])),
    startTimeoutNaN: throws(() => atmo.createBrowserWorkerManager(tm, [{ ...math, startTimeout: NaN }])),
    idleTimeoutNaN: throws(() => atmo.createBrowserWorkerManager(tm, [{ ...math, maxWorkers: 2, idleTimeout: NaN }])),
    managerOptionsNotAnObject: throws(() => atmo.createTaskManager('fast')),
    transferWithoutParams: await fail(tm.run('add', null, { transfer: [buf] })),
    badProgressWithTransfer: await fail(tm.run('add', { buf }, { transfer: [buf], onProgress: 'yes' })),
  };
  out.bufferKept = buf.byteLength;
  out.noLimit = await tm.run('add', { a: 1, b: 2 }, { timeout: Infinity });
  out.seedTask = await new Promise((resolve) => tm.addTask({ id: 'mine', status: 'NEW', name: 'add', params: { a: 2, b: 2 }, onSuccess: (r) => resolve(r.content) }));
  await tm.close();
  return out;`), &got)
	for name, arg := range map[string]string{
		"noName": "name", "emptyName": "name", "uncloneable": "params", "throwingGetter": "params", "badPriority": "priority",
		"unknownField": "configs[1].scirpt", "noTasks": "configs[0].tasks", "notArray": "configs",
		"both": "configs[0]", "neither": "configs[0]", "badURL": "configs[0].script", "addTaskNoName": "name", "badOption": "options.agingInterva",
		"keepAwakeTooLong": "configs[0].keepAwake", "keepAwakeNotANumber": "configs[0].keepAwake",
		"loneTaskAwakeTooLong": "options.loneTaskAwake", "loneTaskAwakeNotANumber": "options.loneTaskAwake",
		"misspeltCallback": "onSucess", "misspeltOption": "timout", "optionsNotAnObject": "options",
		"negativeTimeout": "timeout", "fractionalRetries": "retries", "negativeRetries": "retries",
		"fractionalPriority": "priority", "retriesWithTransfer": "retries", "priorityPastAging": "priority",
		"agingNaN": "options.agingInterval", "agingBigInt": "options.agingInterval", "countBigInt": "configs[0].count", "taskBigInt": "configs[0].tasks[1]",
		"priorityBigInt": "priority", "nameBigInt": "name", "nameCyclic": "name", "addTaskNameBigInt": "name",
		"taskTimeoutNaN": "configs[0].taskTimeout", "startTimeoutNaN": "configs[0].startTimeout", "idleTimeoutNaN": "configs[0].idleTimeout",
		"managerOptionsNotAnObject": "options", "transferWithoutParams": "transfer", "badProgressWithTransfer": "onProgress",
	} {
		require.Contains(t, got, name)
		bad := got[name].(map[string]any)
		assert.Equal(t, "ERR_BAD_ARGUMENT", bad["code"], name)
		assert.Equal(t, arg, bad["argument"], name)
		assert.NotEmpty(t, bad["message"], name)
	}
	assert.Contains(t, got["misspeltCallback"].(map[string]any)["message"], `unknown option "onSucess"; the options are name, params, onSuccess, onError, priority, timeout, retries, onProgress, transfer, raw`)
	assert.Contains(t, got["retriesWithTransfer"].(map[string]any)["message"], "one that dies takes them with it")
	assert.Equal(t, 8.0, got["bufferKept"], "a refused task moves nothing, whatever check refused it")
	assert.Equal(t, 3.0, got["noLimit"], "timeout Infinity: no limit")
	assert.Equal(t, 4.0, got["seedTask"], "the other fields of the seed's TaskRequest are taken, and ignored")
	field := func(name, k string) any { return got[name].(map[string]any)[k] }
	assert.Contains(t, field("unknownField", "message"), `unknown field "scirpt"`)
	assert.Equal(t, "atmo: configs[0] has both script and module; a worker is one or the other", field("both", "message"))
	assert.Equal(t, "atmo: configs[0] needs script (the URL of a JS worker) or module (the URL of a Go worker .wasm)", field("neither", "message"))
	assert.Contains(t, field("uncloneable", "message"), "params cannot be sent")
	assert.Contains(t, field("throwingGetter", "message"), "params cannot be sent to a worker (not now)")
	assert.Equal(t, "ERR_NO_WORKER", field("unknownTask", "code"))
	assert.Contains(t, field("unknownTask", "message"), "resize")
	assert.Equal(t, "atmo: run(10n): name must be a non-empty string, the task name a worker lists in its tasks (got 10n)", field("nameBigInt", "message"))
	assert.Contains(t, field("nameCyclic", "message"), "(got an object JSON cannot write)")
}

func TestJSAPIOptionalFieldsSetToUndefinedAreLeftOut(t *testing.T) {
	// atmo.d.ts types them as optional (count?: number), which TypeScript
	// lets a caller set to undefined: {script: isGo ? undefined : url, ...}.
	ctx := apiPage(t)
	var got map[string]any
	eval(t, ctx, js(`
  const out = {};
  const attempt = (k, f) => { try { f(); out[k] = 'ok'; } catch (e) { out[k] = e.code + ' ' + e.argument; } };
  const tm = atmo.createTaskManager();
  attempt('createTaskManager', () => atmo.createTaskManager({ agingInterval: undefined, loneTaskAwake: undefined }).close());
  attempt('config', () => atmo.createBrowserWorkerManager(tm, [{ ...math, module: undefined, count: undefined, taskTimeout: undefined }]));
  attempt('noTasks', () => atmo.createBrowserWorkerManager(tm, [{ ...math, tasks: undefined }]));
  if (out.config === 'ok') out.sum = await tm.run('add', { a: 1, b: 2 }, { timeout: undefined });
  await tm.close();
  return out;`), &got)
	assert.Equal(t, map[string]any{"createTaskManager": "ok", "config": "ok", "noTasks": "ERR_BAD_ARGUMENT configs[0].tasks", "sum": 3.0}, got)
}

func TestJSAPIAnUnknownOptionIsRefusedEvenSetToUndefined(t *testing.T) {
	// A misspelt key that holds undefined today ({timout: cfg.timeout})
	// would be ignored for ever once it holds a value: every call refuses
	// it now, as run() and addTask always did.
	ctx := apiPage(t)
	var got map[string]any
	eval(t, ctx, js(`
  const out = {};
  const attempt = async (k, f) => { try { await f(); out[k] = 'ok'; } catch (e) { out[k] = e.code + ' ' + e.argument; } };
  const tm = atmo.createTaskManager();
  await attempt('createTaskManager', () => atmo.createTaskManager({ agingInteval: undefined }).close());
  await attempt('config', () => atmo.createBrowserWorkerManager(tm, [{ ...math, cout: undefined }]));
  await attempt('run', () => tm.run('add', { a: 1, b: 2 }, { timout: undefined }));
  await attempt('addTask', () => tm.addTask({ name: 'add', params: { a: 1, b: 2 }, onSucess: undefined }));
  await tm.close();
  return out;`), &got)
	assert.Equal(t, map[string]any{
		"createTaskManager": "ERR_BAD_ARGUMENT options.agingInteval", "config": "ERR_BAD_ARGUMENT configs[0].cout",
		"run": "ERR_BAD_ARGUMENT timout", "addTask": "ERR_BAD_ARGUMENT onSucess",
	}, got)
}

func TestJSAPIStatusStatsAndSubscribeFollowTheTasks(t *testing.T) {
	ctx := apiPage(t)
	var got map[string]any
	eval(t, ctx, js(`
  const tm = atmo.createTaskManager();
  const wm = atmo.createBrowserWorkerManager(tm, [math]);
  const seen = [];
  const stop = tm.subscribe((m) => seen.push(m.message + (m.taskId ? ':' + m.taskId : '')));
  await wm.ready();
  await tm.run('add', { a: 1, b: 2 });
  await tm.run('divide', { a: 1, b: 0 }).catch(() => {});
  await new Promise((r) => setTimeout(r, 100)); // events arrive on their own goroutine
  stop();
  const afterStop = seen.length;
  await tm.run('add', { a: 1, b: 2 });
  await new Promise((r) => setTimeout(r, 100));
  const stats = tm.stats();
  const out = { seen, afterStop, total: seen.length, status: tm.status(), stats: { done: stats.done, failed: stats.failed,
    workers: stats.workers.map((w) => ({ id: w.id, kind: w.kind, done: w.done, failed: w.failed })), runCount: stats.runTime.count } };
  await tm.close();
  return out;`), &got)
	seen := got["seen"].([]any)
	assert.Contains(t, seen, "new-task:task-1")
	assert.Contains(t, seen, "task-claim-granted:task-1")
	assert.Contains(t, seen, "task-deleted:task-2")
	assert.Equal(t, got["afterStop"], got["total"], "no event after unsubscribe")
	status := got["status"].(map[string]any)
	assert.Equal(t, 2.0, status["done"])
	assert.Equal(t, 1.0, status["failed"])
	stats := got["stats"].(map[string]any)
	assert.Equal(t, 2.0, stats["done"])
	assert.Equal(t, 1.0, stats["failed"])
	assert.Equal(t, 3.0, stats["runCount"])
	workers := stats["workers"].([]any)
	require.Len(t, workers, 1)
	assert.Equal(t, "js", workers[0].(map[string]any)["kind"])
}

func TestJSAPIKeepAwakeIsGivenInMillisecondsAndReachesTheWorkerInMicroseconds(t *testing.T) {
	ctx := apiPageWith(t, map[string]string{"init.js": `
let id, keepAwake;
self.onmessage = (e) => {
  const d = e.data;
  if (d.message === 'init-worker') { id = d.id; keepAwake = d.keepAwake; self.postMessage({ message: 'worker-ready', workerId: id }); return; }
  self.postMessage({ message: 'worker-response', taskId: d.taskId, workerId: id, content: keepAwake });
};`})
	var got float64
	eval(t, ctx, js(`
  const tm = atmo.createTaskManager();
  const wm = atmo.createBrowserWorkerManager(tm, [{ tasks: ['init'], script: '/t/init.js', keepAwake: 0.05 }]);
  await wm.ready();
  const v = await tm.run('init');
  await tm.close();
  return v;`), &got)
	assert.InDelta(t, 50, got, 1e-6)
}

func TestJSAPIResultsStayInJSUntilTheTaskAndEverySubscriberHaveThem(t *testing.T) {
	ctx := apiPage(t)
	var got map[string]any
	eval(t, ctx, js(`
  const tm = atmo.createTaskManager();
  const live = () => heldBy(tm);
  const wm = atmo.createBrowserWorkerManager(tm, [{ ...math, count: 2, concurrency: 8 }]);
  await wm.ready();
  const sums = (from) => Promise.all(Array.from({ length: 200 }, (_, i) => tm.run('add', { a: from + i, b: 1 })));
  // Unwatched, each result waits in JS's held values while Go hands it on.
  const alone = await sums(0);
  const afterAlone = live();
  // Watched, the result stays held until the task and each subscriber's
  // worker-response event have read it, even by a subscriber that stops
  // while answers are on their way to it.
  const answers = new Map();
  const stop = tm.subscribe((m) => { if (m.message === 'worker-response') answers.set(m.taskId, m.content); });
  let early = 0;
  const stopEarly = tm.subscribe((m) => { if (m.message === 'worker-response' && ++early === 5) stopEarly(); });
  const watched = [];
  await Promise.all(Array.from({ length: 50 }, (_, i) => new Promise((resolve, reject) => {
    tm.addTask({ name: 'add', params: { a: 1000 + i, b: 1 }, onSuccess: (r) => { watched.push(r); resolve(); }, onError: reject });
  })));
  await new Promise((r) => setTimeout(r, 100)); // events arrive on their own goroutine
  stop();
  const afterWatched = live();
  const again = await sums(2000);
  await tm.close();
  return {
    aloneOk: alone.every((r, i) => r === i + 1), afterAlone,
    events: answers.size, eventsMatch: watched.every((r) => answers.get(r.taskId) === r.content), early,
    afterWatched, againOk: again.every((r, i) => r === 2001 + i), atEnd: live(),
  };`), &got)
	assert.Equal(t, true, got["aloneOk"], "every result is its task's")
	assert.EqualValues(t, 0, got["afterAlone"], "and no slot is left once they are delivered")
	assert.EqualValues(t, 50, got["events"], "a subscriber sees every answer's content")
	assert.Equal(t, true, got["eventsMatch"], "the same content the task settled with")
	assert.EqualValues(t, 5, got["early"], "a stopped subscriber hears nothing more")
	assert.EqualValues(t, 0, got["afterWatched"], "no slot is left once the task and every subscriber have read it")
	assert.Equal(t, true, got["againOk"], "results are held again once nobody subscribes")
	assert.EqualValues(t, 0, got["atEnd"])
}

func TestJSAPIAnswersWatchedByASubscriberLeaveNoSlotWhateverBecomesOfTheirTasks(t *testing.T) {
	ctx := apiPage(t)
	var got map[string]any
	eval(t, ctx, js(`
  const tm = atmo.createTaskManager();
  const wm = atmo.createBrowserWorkerManager(tm, [{ ...math, count: 2, concurrency: 4 }]);
  await wm.ready();
  let answers = 0;
  tm.subscribe((m) => { if (m.message === 'worker-response') answers++; });
  const outcomes = { ok: 0, timedOut: 0, canceled: 0, failed: 0 };
  const settle = (p) => p.then(() => outcomes.ok++, (e) => {
    if (e.code === 'ERR_TIMEOUT') outcomes.timedOut++;
    else if (e.code === 'ERR_CANCELED') outcomes.canceled++;
    else outcomes.failed++;
  });
  const all = [];
  for (let i = 0; i < 300; i++) {
    if (i % 5 === 0) all.push(settle(tm.run('fibonacci', { n: 27 }, { timeout: 1 }))); // late answers
    else if (i % 7 === 0) {
      all.push(settle(new Promise((resolve, reject) => {
        const task = tm.addTask({ name: 'add', params: { a: i, b: 1 }, onSuccess: resolve, onError: (e) => reject(Object.assign(new Error(e.error), { code: e.code })) });
        if (i % 2 === 0) queueMicrotask(task.cancel); else setTimeout(task.cancel, 1);
      })));
    } else if (i % 11 === 0) all.push(settle(tm.run('divide', { a: 1, b: 0 })));
    else all.push(settle(tm.run('add', { a: i, b: 1 })));
  }
  await Promise.all(all);
  await new Promise((r) => setTimeout(r, 300)); // late answers and events on their way
  const left = heldBy(tm);
  await tm.close();
  return { ...outcomes, answers, left };`), &got)
	assert.Positive(t, got["ok"], "%v", got)
	assert.Positive(t, got["canceled"], "%v", got)
	assert.Positive(t, got["timedOut"], "%v", got)
	assert.Positive(t, got["failed"], "%v", got)
	assert.Positive(t, got["answers"], "%v", got)
	assert.EqualValues(t, 0, got["left"], "no answer left held in JS, whatever became of its task: %v", got)
}

func TestJSAPISubscribersGetEveryMessageInOrderWithTheFieldsItHas(t *testing.T) {
	ctx := apiPage(t)
	var got map[string]any
	eval(t, ctx, js(`
  const tm = atmo.createTaskManager();
  const seen = [];
  tm.subscribe((m) => seen.push(m));
  const wm = atmo.createBrowserWorkerManager(tm, [{ ...math, count: 1 }]);
  await wm.ready();
  await tm.run('add', { a: 1, b: 2 });
  await tm.run('divide', { a: 1, b: 0 }).catch(() => {});
  await new Promise((r) => setTimeout(r, 100)); // events arrive on their own goroutine
  await tm.close();
  const of = (message, taskId) => seen.find((m) => m.message === message && (!taskId || m.taskId === taskId));
  return {
    id: tm.id,
    seqs: seen.map((m) => m.seq),
    managerIds: [...new Set(seen.map((m) => m.managerId))],
    ready: of('worker-ready'),
    newTask: of('new-task', 'task-1'),
    claim: of('task-claim-granted', 'task-1'),
    answer: of('worker-response', 'task-1'),
    failed: seen.find((m) => m.message === 'task-updated' && m.content === 'failed'),
  };`), &got)
	seqs := got["seqs"].([]any)
	require.NotEmpty(t, seqs)
	for i := 1; i < len(seqs); i++ {
		require.Equal(t, seqs[i-1].(float64)+1, seqs[i], "seq counts the manager's messages one by one, none missing or out of order")
	}
	assert.Equal(t, []any{got["id"]}, got["managerIds"], "every message names its manager")
	assert.Equal(t, map[string]any{"message": "worker-ready", "seq": got["ready"].(map[string]any)["seq"], "managerId": got["id"],
		"workerId": "worker-1", "content": []any{"add", "subtract", "multiply", "divide", "power", "sqrt", "fibonacci"}},
		got["ready"], "worker-ready carries the worker's task names as an array")
	assert.Equal(t, map[string]any{"message": "new-task", "seq": got["newTask"].(map[string]any)["seq"], "managerId": got["id"],
		"taskId": "task-1", "content": "add"}, got["newTask"], "no workerId field before a worker has the task")
	assert.Equal(t, map[string]any{"message": "task-claim-granted", "seq": got["claim"].(map[string]any)["seq"], "managerId": got["id"],
		"taskId": "task-1", "workerId": "worker-1"}, got["claim"], "no content field when the message has none")
	assert.Equal(t, 3.0, got["answer"].(map[string]any)["content"], "the worker's answer")
	failed := got["failed"].(map[string]any)
	assert.Equal(t, "task-2", failed["taskId"])
	assert.Equal(t, "Division by zero is not allowed", failed["error"])
}

func TestJSAPIASubscriberStoppedFromItsOwnCallbackHearsNothingMore(t *testing.T) {
	ctx := apiPage(t)
	var calls float64
	eval(t, ctx, js(`
  const tm = atmo.createTaskManager();
  const wm = atmo.createBrowserWorkerManager(tm, [{ ...math, count: 1 }]);
  await wm.ready();
  let calls = 0;
  const stop = tm.subscribe(() => { calls++; stop(); });
  await tm.run('add', { a: 1, b: 2 }); // new-task, task-available, task-claim…: sent in one go
  await new Promise((r) => setTimeout(r, 100));
  await tm.close();
  return calls;`), &calls)
	assert.Equal(t, 1.0, calls, "the messages already on their way when stop() was called are dropped")
}

func TestJSAPIWorkerManagerAddsAndClosesWorkers(t *testing.T) {
	ctx := apiPage(t)
	var got map[string]any
	eval(t, ctx, js(`
  const tm = atmo.createTaskManager();
  const wm = atmo.createBrowserWorkerManager(tm, [math]);
  await wm.ready();
  const added = wm.addWorker({ tasks: ['add'], script: '/workers/math-worker.js' });
  await wm.ready();
  wm.closeWorker(wm.workers()[0].id);
  await new Promise((r) => setTimeout(r, 100));
  const statuses = wm.workers().map((w) => w.status);
  const onTheOther = await tm.run('add', { a: 40, b: 2 });
  let closeUnknown = null;
  try { wm.closeWorker('task-1'); } catch (e) { closeUnknown = e.argument; }
  await wm.close();
  let addAfter = null;
  try { wm.addWorker({ tasks: ['add'], script: '/workers/math-worker.js' }); } catch (e) { addAfter = e.code; }
  await tm.close();
  let closeAfter = null;
  try { wm.closeWorker('worker-2'); } catch (e) { closeAfter = e.code; }
  await wm.ready(); // none is starting
  return {
    added: added.id, statuses, onTheOther, closeUnknown, addAfter, closeAfter,
    after: wm.workers().map((w) => w.status), statusAfter: tm.status().done, statsAfter: tm.stats().submitted,
  };`), &got)
	assert.Equal(t, "worker-2", got["added"])
	assert.Equal(t, []any{"closed", "available"}, got["statuses"])
	assert.Equal(t, 42.0, got["onTheOther"])
	assert.Equal(t, "id", got["closeUnknown"])
	assert.Equal(t, "ERR_CLOSED", got["addAfter"])
	assert.Equal(t, []any{"closed", "closed"}, got["after"], "a closed manager still lists its workers")
	assert.Equal(t, "ERR_CLOSED", got["closeAfter"])
	assert.Equal(t, 1.0, got["statusAfter"], "and a closed TaskManager its last counts")
	assert.Equal(t, 1.0, got["statsAfter"])
}

func TestJSAPIReadyGivenUpNamesTheWorkersStillStarting(t *testing.T) {
	ctx := apiPageWith(t, map[string]string{"mute-worker.js": "self.onmessage = () => {};"})
	var got map[string]any
	eval(t, ctx, js(`
  const tm = atmo.createTaskManager();
  const wm = atmo.createBrowserWorkerManager(tm, [math, { tasks: ['add'], script: '/t/mute-worker.js' }]);
  const fail = (p) => p.then(() => ({ resolved: true }), (e) => ({ code: e.code, argument: e.argument, message: e.message }));
  const out = { late: await fail(wm.ready({ timeout: 300 })), bad: await fail(wm.ready({ timeout: -5 })) };
  await tm.close();
  return out;`), &got)
	late := got["late"].(map[string]any)
	assert.Equal(t, "ERR_TIMEOUT", late["code"])
	assert.Regexp(t, `^atmo: waiting for workers to start: ready\(\)'s timeout passed; still starting: worker-2 \(http://[^)]*/t/mute-worker.js\) \(no worker-ready from them yet\)$`, late["message"])
	bad := got["bad"].(map[string]any)
	assert.Equal(t, "ERR_BAD_ARGUMENT", bad["code"])
	assert.Equal(t, "options.timeout", bad["argument"])
}

func TestJSAPIRunsTheDataAndImageExamples(t *testing.T) {
	ctx := apiPage(t)
	var got map[string]any
	eval(t, ctx, js(`
  const tm = atmo.createTaskManager();
  atmo.createBrowserWorkerManager(tm, [
    { tasks: ['fetch', 'transform', 'validate', 'filter'], script: '/workers/data-worker.js' },
    { tasks: ['resize', 'compress', 'image-filter', 'analyze'], script: '/workers/image-worker.js' },
  ]);
  const image = new ImageData(new Uint8ClampedArray([255, 0, 0, 255, 0, 255, 0, 255, 0, 0, 255, 255, 255, 255, 255, 255]), 2, 2);
  const out = {
    fetched: (await tm.run('fetch', { url: '/data/people.json' })).data.length,
    foreign: await tm.run('fetch', { url: 'http://example.com/x.json' }).catch((e) => e.message),
    oldest: (await tm.run('transform', { url: '/data/people.json', select: ['name'], sortBy: 'age', descending: true }))[0].name,
    boston: (await tm.run('filter', { url: '/data/people.json', where: [{ field: 'city', op: '=', value: 'Boston' }] })).length,
    invalid: (await tm.run('validate', { url: '/data/people.json', schema: { age: 'number', email: 'email' } })).errors,
    resized: await tm.run('resize', { image, width: 4, height: 4 }).then((r) => [r.width, r.height, r.data.length, r.data instanceof Uint8Array]),
    inverted: await tm.run('image-filter', { image, filter: 'invert' }).then((r) => Array.from(r.data.slice(0, 4))),
    analyzed: await tm.run('analyze', { image }).then((r) => [r.pixels, r.mean.a]),
    compressed: await tm.run('compress', { image, type: 'image/png' }).then((r) => [r.type, r.size > 0, r.bytes.length === r.size]),
  };
  await tm.close();
  return out;`), &got)
	assert.Equal(t, 12.0, got["fetched"])
	assert.Contains(t, got["foreign"], "same-origin")
	assert.Equal(t, "Margaret Hamilton", got["oldest"])
	assert.Equal(t, 2.0, got["boston"])
	invalid := got["invalid"].([]any)
	require.Len(t, invalid, 1)
	assert.Equal(t, "email", invalid[0].(map[string]any)["field"])
	assert.Equal(t, []any{4.0, 4.0, 64.0, true}, got["resized"])
	assert.Equal(t, []any{0.0, 255.0, 255.0, 255.0}, got["inverted"])
	assert.Equal(t, []any{4.0, 255.0}, got["analyzed"])
	assert.Equal(t, []any{"image/png", true, true}, got["compressed"])
}

func TestJSAPIRunCallsOfOneTurnSettleEachWithItsOwnAnswer(t *testing.T) {
	ctx := apiPage(t)
	var got map[string]any
	eval(t, ctx, js(`
  const tm = atmo.createTaskManager();
  const wm = atmo.createBrowserWorkerManager(tm, [{ ...math, concurrency: 8 }, { ...math, concurrency: 8 }]);
  await wm.ready();
  // One turn: many answers, worker errors, a task no worker lists (it fails
  // at once, before its id is known), and bad arguments.
  const runs = [];
  for (let i = 0; i < 500; i++) runs.push(tm.run('add', { a: i, b: 1 }));
  runs.push(tm.run('divide', { a: 1, b: 0 }));
  runs.push(tm.run('nobody-does-this', {}));
  runs.push(tm.run('add', { f: () => 1 }));
  runs.push(tm.run('add', { a: 1, b: 1 }, { timeout: 'soon' }));
  const settled = await Promise.allSettled(runs);
  await tm.close();
  const sums = settled.slice(0, 500).map((s) => s.value);
  const why = settled.slice(500).map((s) => s.status + ' ' + (s.reason ? s.reason.code + ' ' + s.reason.message : s.value));
  return { sumsRight: sums.every((v, i) => v === i + 1), why };`), &got)
	assert.Equal(t, true, got["sumsRight"], "each run resolves with its own answer")
	why := got["why"].([]any)
	require.Len(t, why, 4)
	assert.Equal(t, "rejected ERR_TASK Division by zero is not allowed", why[0])
	assert.Contains(t, why[1], "rejected ERR_NO_WORKER")
	assert.Contains(t, why[2], "rejected ERR_BAD_ARGUMENT")
	assert.Contains(t, why[3], "rejected ERR_BAD_ARGUMENT atmo: run(\"add\"): timeout must be 0 or more milliseconds")
}

func TestJSAPIRunSendsParamsAsTheyWereWhenCalled(t *testing.T) {
	ctx := apiPageWith(t, map[string]string{
		"echo.js": "importScripts('/jsworker/atmo-worker.js'); atmoWorker({ echo: (p) => p, kind: (p) => Object.prototype.toString.call(p.when) });",
	})
	var got map[string]any
	eval(t, ctx, js(`
  const tm = atmo.createTaskManager();
  const wm = atmo.createBrowserWorkerManager(tm, [{ tasks: ['echo', 'kind'], script: '/t/echo.js', concurrency: 1 }]);
  await wm.ready();
  // Each params object is changed right after run(), while its task waits
  // in the queue behind the others: the worker must see it as it was.
  const plain = { n: 1, list: [1, 'two', { deep: true }], nested: { a: { b: { c: 'd' } } } };
  const withDate = { n: 1, when: new Date(0) };
  let reads = 0;
  const getter = { get n() { reads++; return 'read at the call'; } };
  const protoKey = JSON.parse('{"__proto__": "a key", "x": 1}');
  class Point { constructor() { this.x = 1; } }
  const deep = { a: { b: { c: { d: { e: { f: { g: { h: { i: { j: 'deep' } } } } } } } } } };
  const long = Array.from({ length: 100 }, (_, i) => i);
  const runs = {
    plain: tm.run('echo', plain), withDate: tm.run('echo', withDate), getter: tm.run('echo', getter),
    protoKey: tm.run('echo', protoKey), instance: tm.run('echo', new Point()), deep: tm.run('echo', deep),
    long: tm.run('echo', long), hole: tm.run('echo', [1, , 3]), dateKind: tm.run('kind', { when: new Date(0) }),
  };
  plain.n = 2; plain.list[2].deep = false; plain.nested.a.b.c = 'changed';
  withDate.n = 2; withDate.when.setTime(1000);
  deep.a.b.c.d.e.f.g.h.i.j = 'changed';
  long[99] = -1;
  const out = {};
  for (const [k, p] of Object.entries(runs)) out[k] = await p;
  out.reads = reads;
  out.protoIsKey = Object.keys(out.protoKey).includes('__proto__');
  await tm.close();
  return out;`), &got)
	assert.Equal(t, map[string]any{"n": 1.0, "list": []any{1.0, "two", map[string]any{"deep": true}}, "nested": map[string]any{"a": map[string]any{"b": map[string]any{"c": "d"}}}}, got["plain"])
	assert.Equal(t, map[string]any{"n": 1.0, "when": "1970-01-01T00:00:00.000Z"}, got["withDate"])
	assert.Equal(t, map[string]any{"n": "read at the call"}, got["getter"])
	assert.Equal(t, 1.0, got["reads"], "a getter is read once, when run() is called")
	assert.Equal(t, true, got["protoIsKey"], "an own __proto__ key stays a key")
	assert.Equal(t, map[string]any{"x": 1.0}, got["instance"], "a class instance goes as its own fields")
	assert.Contains(t, fmt.Sprint(got["deep"]), "deep")
	assert.Equal(t, 0.0, got["long"].([]any)[0])
	assert.Equal(t, 99.0, got["long"].([]any)[99])
	assert.Equal(t, []any{1.0, nil, 3.0}, got["hole"])
	assert.Equal(t, "[object Date]", got["dateKind"], "a Date reaches the worker as a Date")
}

func TestJSAPIParamsHeldForGoAreLetGoOnceTheirTasksSettle(t *testing.T) {
	ctx := apiPage(t)
	var got map[string]any
	eval(t, ctx, js(`
  const tm = atmo.createTaskManager();
  const live = () => heldBy(tm);
  const wm = atmo.createBrowserWorkerManager(tm, [math]);
  await wm.ready();
  const before = live();
  const outcomes = [];
  for (let i = 0; i < 20; i++) outcomes.push(tm.run('add', { a: i, b: 1 }));
  outcomes.push(tm.run('divide', { a: 1, b: 0 }));                 // the worker's error
  outcomes.push(tm.run('nobody-does-this', { a: 1 }));             // fails after its id
  outcomes.push(tm.run('add', { a: 1, b: 1 }, { onProgress: () => {} }));
  outcomes.push(tm.run('add', { a: new Uint8Array(8), b: 1 }, { transfer: [] }));
  const buf = new Uint8Array(8);
  outcomes.push(tm.run('add', { a: buf, b: 1 }, { transfer: [buf.buffer] }));
  outcomes.push(new Promise((resolve) => tm.addTask({ name: 'add', params: { a: 2, b: 2 }, onSuccess: resolve, onError: resolve })));
  const whileRunning = live();
  await Promise.allSettled(outcomes);
  const afterSettled = live();
  // Queued behind a slow task and cancelled, or still queued at close.
  const slow = tm.run('fibonacci', { n: 30 }).catch(() => {});
  const cancelled = tm.addTask({ name: 'add', params: { a: 1, b: 1 } });
  cancelled.cancel();
  const queued = tm.run('add', { a: 3, b: 3 }).catch(() => {});
  await tm.close();
  await Promise.allSettled([slow, queued]);
  return { before, whileRunning, afterSettled, atEnd: live() };`), &got)
	assert.EqualValues(t, 0, got["before"])
	assert.Positive(t, got["whileRunning"], "params are held while their tasks are out")
	assert.EqualValues(t, 0, got["afterSettled"], "and let go once they settle, whatever the outcome")
	assert.EqualValues(t, 0, got["atEnd"], "cancelled and closed tasks let theirs go too")
}

func TestJSAPIASubscriberGetsAnAnswerAsTheWorkerSentIt(t *testing.T) {
	ctx := apiPageWith(t, map[string]string{"date-worker.js": `importScripts('/jsworker/atmo-worker.js');
atmoWorker({ when: () => new Date(0) });`})
	var got map[string]any
	eval(t, ctx, js(`
  const tm = atmo.createTaskManager();
  let answer;
  tm.subscribe((m) => { if (m.message === 'worker-response') answer = m.content; });
  atmo.createBrowserWorkerManager(tm, [{ tasks: ['when'], script: '/t/date-worker.js' }]);
  const read = await tm.run('when');
  await new Promise((r) => setTimeout(r, 100)); // events arrive on their own goroutine
  await tm.close();
  return { read, seenIsDate: answer instanceof Date };`), &got)
	assert.Equal(t, "1970-01-01T00:00:00.000Z", got["read"], "run() reads it by Go's value rules")
	assert.Equal(t, true, got["seenIsDate"], "the subscriber gets it as it came")
}

func TestJSAPIASignalCancelsItsRunOrTask(t *testing.T) {
	ctx := apiPageWith(t, map[string]string{"signal-worker.js": `importScripts('/jsworker/atmo-worker.js');
let echoes = 0, aborts = 0;
atmoWorker({
  echo: (p) => { echoes++; return p; },
  wait: (_, { signal }) => new Promise((_, reject) => signal.addEventListener('abort', () => { aborts++; reject(new Error('stopped')); })),
  counts: () => ({ echoes, aborts }),
});`})
	var got map[string]any
	eval(t, ctx, js(`
  const tm = atmo.createTaskManager();
  const wm = atmo.createBrowserWorkerManager(tm, [{ tasks: ['echo', 'wait', 'counts'], script: '/t/signal-worker.js', concurrency: 4 }]);
  const fail = (p) => p.then((v) => ({ resolved: v }), (e) => ({ code: e.code, cause: String(e.cause), message: e.message, argument: e.argument }));
  // The worker is ready first, so that a run is sent as soon as it is made:
  // the tick after it lets the message go, and a run still queued when its
  // signal aborts would never reach the worker's handler (counted below).
  await wm.ready();
  const tick = () => new Promise((r) => setTimeout(r, 50));
  const out = {};
  const kept = new ArrayBuffer(8);
  out.abortedAlready = await fail(tm.run('echo', { kept }, { signal: AbortSignal.abort('too late'), transfer: [kept] }));
  out.keptBytes = kept.byteLength;
  out.abortedAlreadyWithProgress = await fail(tm.run('echo', 1, { signal: AbortSignal.abort('no'), onProgress: () => {} }));
  try {
    tm.addTask({ name: 'echo', signal: AbortSignal.abort('not now'), onError: () => { out.addTaskOnError = true; } });
  } catch (e) {
    out.addTaskAbortedAlready = { code: e.code, cause: String(e.cause) };
  }
  const c1 = new AbortController();
  const sameTurn = fail(tm.run('echo', 2, { signal: c1.signal }));
  c1.abort('changed my mind');
  out.abortedInTheSameTurn = await sameTurn;
  const c2 = new AbortController();
  const running = fail(tm.run('wait', null, { signal: c2.signal }));
  await tick();
  c2.abort(new Error('user left'));
  out.abortedWhileRunning = await running;
  const c3 = new AbortController();
  const withProgress = fail(tm.run('wait', null, { signal: c3.signal, onProgress: () => {} }));
  await tick();
  c3.abort('bye');
  out.withProgress = await withProgress;
  const c4 = new AbortController();
  const task = new Promise((resolve) => tm.addTask({ name: 'wait', signal: c4.signal, onError: resolve }));
  await tick();
  c4.abort('task bye');
  const taskErr = await task;
  out.addTask = { code: taskErr.code, cause: taskErr.cause };
  const c5 = new AbortController();
  out.resolvedFirst = await tm.run('echo', 5, { signal: c5.signal });
  c5.abort('after');
  out.notASignal = await fail(tm.run('echo', 1, { signal: 'soon' }));
  await tick();
  out.counts = await tm.run('counts');
  await tm.close();
  return out;`), &got)
	field := func(name, k string) any { return got[name].(map[string]any)[k] }
	assert.Equal(t, "ERR_CANCELED", field("abortedAlready", "code"))
	assert.Equal(t, "too late", field("abortedAlready", "cause"), "the signal's reason is the error's cause")
	assert.Equal(t, `atmo: run("echo"): canceled by its signal before it was sent`, field("abortedAlready", "message"))
	assert.Equal(t, 8.0, got["keptBytes"], "nothing sent, nothing moved")
	assert.Equal(t, "ERR_CANCELED", field("abortedAlreadyWithProgress", "code"))
	assert.Equal(t, map[string]any{"code": "ERR_CANCELED", "cause": "not now"}, got["addTaskAbortedAlready"], "addTask throws, as for any task it does not take")
	assert.NotContains(t, got, "addTaskOnError")
	assert.Equal(t, "ERR_CANCELED", field("abortedInTheSameTurn", "code"))
	assert.Equal(t, "changed my mind", field("abortedInTheSameTurn", "cause"))
	assert.Equal(t, "ERR_CANCELED", field("abortedWhileRunning", "code"))
	assert.Equal(t, "Error: user left", field("abortedWhileRunning", "cause"))
	assert.Equal(t, "ERR_CANCELED", field("withProgress", "code"))
	assert.Equal(t, "bye", field("withProgress", "cause"))
	assert.Equal(t, map[string]any{"code": "ERR_CANCELED", "cause": "task bye"}, got["addTask"])
	assert.Equal(t, 5.0, got["resolvedFirst"], "a signal aborted after its run settled changes nothing")
	assert.Equal(t, "ERR_BAD_ARGUMENT", field("notASignal", "code"))
	assert.Equal(t, "signal", field("notASignal", "argument"))
	assert.Equal(t, map[string]any{"echoes": 1.0, "aborts": 3.0}, got["counts"],
		"runs aborted before they were sent never reached the worker; running ones saw their handler's signal abort")
}

// Every failure is an AtmoError (README, "The JS API for plain pages"): a
// signal that is no AbortSignal and throws when read (a proxy, a getter)
// is an ERR_BAD_ARGUMENT naming signal, as a throwing option is, not the
// Error it threw.
func TestJSAPIASignalThatThrowsWhenReadIsABadArgument(t *testing.T) {
	ctx := apiPage(t)
	var got map[string]any
	eval(t, ctx, js(`
  const tm = atmo.createTaskManager();
  atmo.createBrowserWorkerManager(tm, [math]);
  const throwing = () => new Proxy({}, { get() { throw new Error('boom'); } });
  const of = (e) => ({ isAtmo: e instanceof window.AtmoError, code: e.code, argument: e.argument });
  const out = {};
  out.run = await tm.run('add', { a: 1, b: 2 }, { signal: throwing() }).then(() => 'resolved', of);
  try { tm.addTask({ name: 'add', params: { a: 1, b: 2 }, signal: throwing() }); out.addTask = 'added'; } catch (e) { out.addTask = of(e); }
  out.stillWorks = await tm.run('add', { a: 1, b: 2 });
  await tm.close();
  return out;`), &got)
	want := map[string]any{"isAtmo": true, "code": "ERR_BAD_ARGUMENT", "argument": "signal"}
	assert.Equal(t, want, got["run"])
	assert.Equal(t, want, got["addTask"])
	assert.Equal(t, 3.0, got["stillWorks"])
}

// A task the page cancels (cancel(), its handle's cancel(), its signal) says
// so, not that it "was deleted", which the JS API has no call for.
func TestJSAPICanceledTasksSayHowTheyWereCanceled(t *testing.T) {
	ctx := apiPageWith(t, map[string]string{"hold-worker.js": `importScripts('/jsworker/atmo-worker.js');
atmoWorker({ hold: (p, { signal }) => new Promise((resolve, reject) => signal.addEventListener('abort', () => reject(signal.reason))) });
`})
	var got map[string]string
	eval(t, ctx, js(`
  const tm = atmo.createTaskManager();
  const wm = atmo.createBrowserWorkerManager(tm, [{ tasks: ['hold'], script: '/t/hold-worker.js', concurrency: 3 }]);
  await wm.ready();
  const ac = new AbortController();
  const bySignal = tm.run('hold', null, { signal: ac.signal }).catch((e) => e.message);
  const byHandle = new Promise((resolve) => {
    const h = tm.addTask({ name: 'hold', onError: (r) => resolve(r.error) });
    setTimeout(() => h.cancel(), 100);
  });
  const byID = new Promise((resolve) => {
    const h = tm.addTask({ name: 'hold', onError: (r) => resolve(r.error) });
    setTimeout(() => tm.cancel(h.id), 100);
  });
  setTimeout(() => ac.abort(new Error('user left')), 100);
  const out = { bySignal: await bySignal, byHandle: await byHandle, byID: await byID };
  await tm.close();
  return out;`), &got)
	for k, msg := range got {
		assert.NotContains(t, msg, "deleted", k)
	}
	assert.Regexp(t, `^atmo: task canceled: task task-\d+ \(hold\) by its signal$`, got["bySignal"])
	assert.Regexp(t, `^atmo: task canceled: task task-\d+ \(hold\) by cancel\(\)$`, got["byHandle"])
	assert.Regexp(t, `^atmo: task canceled: task task-\d+ \(hold\) by cancel\(\)$`, got["byID"])
}

// A run() whose signal aborts in the same stretch of code never reaches a
// worker; the run() calls go to Go in a microtask the first of them
// queues, so one that aborts after an await of the same turn (of a value,
// which resumes in a microtask) comes once the task is sent: its worker
// runs it, and only its answer is dropped. An addTask sends at once (and
// sends the run() calls before it), so a signal that aborts after it
// returns cancels a task already sent (README, "The JS API for plain
// pages").
func TestJSAPIATaskWhoseSignalAbortsInTheSameTurnNeverReachesAWorker(t *testing.T) {
	ctx := apiPageWith(t, map[string]string{"count-worker.js": `importScripts('/jsworker/atmo-worker.js');
let n = 0;
atmoWorker({ hit: () => ++n, count: () => n });
`})
	var got map[string]any
	eval(t, ctx, js(`
  const tm = atmo.createTaskManager();
  const wm = atmo.createBrowserWorkerManager(tm, [{ tasks: ['hit', 'count'], script: '/t/count-worker.js', concurrency: 4 }]);
  await wm.ready();
  const out = {};
  const ac0 = new AbortController();
  const r0 = tm.run('hit', null, { signal: ac0.signal }).then(() => 'ran', (e) => e.code);
  ac0.abort();
  out.run = await r0;
  out.afterRun = await tm.run('count');
  const ac1 = new AbortController();
  const r1 = new Promise((resolve) => tm.addTask({ name: 'hit', signal: ac1.signal, onSuccess: () => resolve('ran'), onError: (r) => resolve(r.code) }));
  ac1.abort();
  out.addTask = await r1;
  out.afterAddTask = await tm.run('count');
  const ac2 = new AbortController();
  const r2 = tm.run('hit', null, { signal: ac2.signal }).then(() => 'ran', (e) => e.code);
  await null; // the same turn still, but run()'s microtask has sent it
  ac2.abort();
  out.afterAwait = await r2;
  out.afterAwaitCount = await tm.run('count');
  await tm.close();
  return out;`), &got)
	assert.Equal(t, "ERR_CANCELED", got["run"])
	assert.EqualValues(t, 0, got["afterRun"], "run()'s task, its signal aborted in the same stretch of code, is never sent")
	assert.Equal(t, "ERR_CANCELED", got["addTask"], "addTask's task was sent, and its signal cancels it")
	assert.Equal(t, "ERR_CANCELED", got["afterAwait"])
	assert.EqualValues(t, 2, got["afterAwaitCount"], "aborted after an await: the task was sent, and its worker ran it (as addTask's)")
}

func TestJSAPITasksReachTheQueueAsTheyWereCalled(t *testing.T) {
	ctx := apiPageWith(t, map[string]string{"order-worker.js": `importScripts('/jsworker/atmo-worker.js');
const seen = [];
atmoWorker({
  block: ({ ms }) => new Promise((r) => setTimeout(r, ms)),
  log: (n) => { seen.push(n); return n; },
  seen: () => seen.splice(0),
});`})
	var got map[string]any
	eval(t, ctx, js(`
  const tm = atmo.createTaskManager();
  const wm = atmo.createBrowserWorkerManager(tm, [{ tasks: ['block', 'log', 'seen'], script: '/t/order-worker.js' }]);
  await wm.ready();
  const out = {};
  // run(), addTask() and run() with onProgress, one after the other.
  await Promise.all([
    tm.run('log', 1),
    new Promise((resolve) => tm.addTask({ name: 'log', params: 2, onSuccess: resolve })),
    tm.run('log', 3, { onProgress: () => {} }),
  ]);
  out.callOrder = await tm.run('seen');
  // One options object, changed between calls: each run keeps what it was given.
  const blocked = tm.run('block', { ms: 300 });
  const o = {};
  const runs = [];
  for (const p of [1, 2, 3]) {
    o.priority = p;
    runs.push(tm.run('log', p, o));
  }
  o.priority = 5n; // after the calls: changes nothing, spoils nothing
  await Promise.all([blocked, ...runs]);
  out.priorityOrder = await tm.run('seen');
  // addTask calls back only once it has returned its handle.
  const order = [];
  tm.addTask({ name: 'nobody-runs-this', onError: () => order.push('onError') });
  order.push('returned');
  await new Promise((r) => setTimeout(r, 20));
  out.addTaskOrder = order;
  await tm.close();
  return out;`), &got)
	assert.Equal(t, []any{1.0, 2.0, 3.0}, got["callOrder"], "tasks reach Go in the order they were called")
	assert.Equal(t, []any{3.0, 2.0, 1.0}, got["priorityOrder"], "each run's priority as it was at its call")
	assert.Equal(t, []any{"returned", "onError"}, got["addTaskOrder"])
}

func TestTheDataAndImageExamplesRefuseOrOrderOddInputsClearly(t *testing.T) {
	ctx := apiPage(t)
	var got map[string]any
	eval(t, ctx, js(`
  const tm = atmo.createTaskManager();
  atmo.createBrowserWorkerManager(tm, [
    { tasks: ['transform', 'filter', 'validate'], script: '/workers/data-worker.js' },
    { tasks: ['image-filter', 'analyze'], script: '/workers/image-worker.js' },
  ]);
  const fail = (p) => p.then((v) => ({ resolved: v }), (e) => e.message);
  const rows = [{ name: 'Zoe' }, {}, { name: 'Ada' }, { name: null }, { name: 7 }];
  const plain = { width: 1, height: 1, data: [200, 100, 50, 255] }; // a plain array of bytes
  const out = {
    ascending: (await tm.run('transform', { records: rows, sortBy: 'name' })).map((r) => r.name ?? '-'),
    descending: (await tm.run('transform', { records: rows, sortBy: 'name', descending: true })).map((r) => r.name ?? '-'),
    ownNames: await tm.run('transform', { records: [{ constructor: 'c', toString: 's' }] }),
    notARecord: await fail(tm.run('transform', { records: [{ a: 1 }, null] })),
    inheritedOp: await fail(tm.run('filter', { records: rows, where: [{ field: 'name', op: 'constructor', value: 1 }] })),
    plainBytes: await tm.run('analyze', { image: plain }).then((r) => [r.mean.r, r.mean.g, r.mean.b]),
    inheritedFilter: await fail(tm.run('image-filter', { image: plain, filter: 'toString' })),
    badAmount: await fail(tm.run('image-filter', { image: plain, filter: 'brightness', amount: 'x' })),
    amountUnused: await tm.run('image-filter', { image: plain, filter: 'grayscale', amount: null }).then((r) => r.data.length),
    renameToNothing: await tm.run('transform', { records: [{ a: 1, b: 2 }], rename: { a: null, b: '' } }),
    renameNull: await tm.run('transform', { records: [{ a: 1 }], rename: null }),
    renameText: await fail(tm.run('transform', { records: [{ a: 1 }], rename: 'b' })),
    ruleNull: await fail(tm.run('validate', { records: [{ a: 1 }], schema: { a: null } })),
  };
  await tm.close();
  return out;`), &got)
	assert.Equal(t, []any{7.0, "Ada", "Zoe", "-", "-"}, got["ascending"], "numbers, then text, then the missing")
	assert.Equal(t, []any{"Zoe", "Ada", 7.0, "-", "-"}, got["descending"], "the missing last either way")
	assert.Equal(t, []any{map[string]any{"constructor": "c", "toString": "s"}}, got["ownNames"])
	assert.Equal(t, "records[1] is not an object: null", got["notARecord"])
	assert.Contains(t, got["inheritedOp"], `unknown op "constructor"`)
	assert.Equal(t, []any{200.0, 100.0, 50.0}, got["plainBytes"])
	assert.Contains(t, got["inheritedFilter"], `unknown filter "toString"`)
	assert.Equal(t, `params.amount must be a number, such as 1.2 (got "x")`, got["badAmount"])
	assert.Equal(t, 4.0, got["amountUnused"], "only brightness reads amount")
	assert.Equal(t, []any{map[string]any{"a": 1.0, "b": 2.0}}, got["renameToNothing"], "a name renamed to nothing keeps its own")
	assert.Equal(t, []any{map[string]any{"a": 1.0}}, got["renameNull"], "rename null: none")
	assert.Equal(t, "params.rename must be an object of {field: new name}", got["renameText"])
	assert.Contains(t, got["ruleNull"], "params.schema.a must be a type name")
}

func TestJSAPIOptionsAreReadOnceAndOddOnesRejectTheirRunAlone(t *testing.T) {
	// Options with getters, fakes of AbortSignal: what is checked is what
	// is sent, a bad one fails its own run (never a throw, a hang, or the
	// runs beside it), and no held params are left behind.
	ctx := apiPageWith(t, map[string]string{"opts-worker.js": `importScripts('/jsworker/atmo-worker.js');
atmoWorker({ echo: (p) => p, slow: (p) => new Promise((r) => setTimeout(() => r(p), 100)) });`})
	var got map[string]any
	eval(t, ctx, js(`
  const tm = atmo.createTaskManager();
  await atmo.createBrowserWorkerManager(tm, [{ tasks: ['echo', 'slow'], script: '/t/opts-worker.js', concurrency: 4 }]).ready();
  const outcome = (p) => p.then((v) => ({ resolved: v }), (e) => ({ code: e.code, argument: e.argument, message: e.message }));
  const out = {};
  out.fakeSignal = await outcome(tm.run('echo', 1, { signal: { aborted: false, addEventListener() {} } }));
  let n = 0;
  const odd = outcome(tm.run('echo', { x: 1 }, { get signal() { return n++ === 0 ? undefined : {}; } }));
  const beside = outcome(tm.run('echo', { x: 2 }));
  out.signalGetter = await odd;
  out.beside = await beside;
  let k = 0;
  out.timeoutGetter = await outcome(tm.run('slow', 1, { get timeout() { return k++ === 0 ? 20 : 'x'; } }));
  try {
    out.progressGetter = await outcome(tm.run('echo', 1, { get onProgress() { throw new Error('boom'); } }));
  } catch (e) {
    out.progressGetter = { threw: e.message };
  }
  try {
    tm.addTask({ name: 'echo', get params() { throw new Error('no params'); } });
  } catch (e) {
    out.addTaskGetter = { code: e.code, argument: e.argument, message: e.message };
  }
  out.realSignal = await outcome(tm.run('echo', 3, { signal: new AbortController().signal }));
  // Options are read by name, as ever: a class's getters and methods, a
  // proxy's, one that is not enumerable, one inherited.
  let done;
  class EchoTask {
    constructor(params) { this.name = 'echo'; this.params = params; }
    onSuccess(res) { done(res.content); }
    onError(e) { done('error ' + e.error); }
  }
  out.classTask = await new Promise((r) => { done = r; tm.addTask(new EchoTask(7)); });
  class Opts { get timeout() { return 20; } }
  out.classGetter = await outcome(tm.run('slow', 1, new Opts()));
  out.proxy = await outcome(tm.run('slow', 1, new Proxy({}, { get: (_, k) => (k === 'timeout' ? 20 : undefined) })));
  const hidden = {};
  Object.defineProperty(hidden, 'timeout', { value: 20, enumerable: false });
  out.notEnumerable = await outcome(tm.run('slow', 1, hidden));
  out.inherited = await outcome(tm.run('slow', 1, Object.create({ timeout: 20 })));
  out.misspelt = await outcome(tm.run('echo', 1, { timout: 20 }));
  out.held = heldBy(tm);
  await tm.close();
  return out;`), &got)
	field := func(name, k string) any { return got[name].(map[string]any)[k] }
	assert.Equal(t, "ERR_BAD_ARGUMENT", field("fakeSignal", "code"), "a look-alike is no AbortSignal")
	assert.Equal(t, "signal", field("fakeSignal", "argument"))
	assert.Equal(t, map[string]any{"resolved": map[string]any{"x": 1.0}}, got["signalGetter"], "read once: undefined, no signal")
	assert.Equal(t, map[string]any{"resolved": map[string]any{"x": 2.0}}, got["beside"])
	assert.Equal(t, "ERR_TIMEOUT", field("timeoutGetter", "code"), "the 20 ms checked is the 20 ms sent")
	assert.Equal(t, "ERR_BAD_ARGUMENT", field("progressGetter", "code"), "a rejection, not a throw")
	assert.Equal(t, "onProgress", field("progressGetter", "argument"))
	assert.Equal(t, `atmo: run("echo"): reading option "onProgress" threw: boom`, field("progressGetter", "message"))
	assert.Equal(t, "ERR_BAD_ARGUMENT", field("addTaskGetter", "code"))
	assert.Equal(t, "params", field("addTaskGetter", "argument"))
	assert.Equal(t, map[string]any{"resolved": 3.0}, got["realSignal"])
	assert.Equal(t, 7.0, got["classTask"], "a class's onSuccess method")
	for _, k := range []string{"classGetter", "proxy", "notEnumerable", "inherited"} {
		assert.Equal(t, "ERR_TIMEOUT", field(k, "code"), k)
	}
	assert.Equal(t, "ERR_BAD_ARGUMENT", field("misspelt", "code"))
	assert.Equal(t, "timout", field("misspelt", "argument"))
	assert.Equal(t, 0.0, got["held"], "no params left held")
}

// A subscriber that adds a task from its callback (here on 'new-task') is
// called once Go has handled the run() batch that made the message (never
// inside a call into Go), and the batch still gets its own ids.
func TestJSAPIASubscriberAddingATaskDuringABatchLeavesTheBatchIntact(t *testing.T) {
	ctx := apiPage(t)
	var got map[string]any
	eval(t, ctx, js(`
  const tm = atmo.createTaskManager();
  const wm = atmo.createBrowserWorkerManager(tm, [{ ...math, count: 1 }]);
  await wm.ready();
  let added = null;
  const stop = tm.subscribe((m) => {
    if (m.message === 'new-task' && added === null) {
      added = new Promise((resolve) => tm.addTask({ name: 'add', params: { a: 100, b: 1 }, onSuccess: (r) => resolve(r.content), onError: (e) => resolve(e.code) }));
    }
  });
  const outer = await within(Promise.all([1, 2, 3].map((a) => tm.run('add', { a, b: 10 }).catch((e) => e.code + ': ' + e.message))));
  const nested = await within(added);
  await new Promise((r) => setTimeout(r, 200));
  stop();
  const waiting = tm._waiting.size;
  await tm.close();
  return { outer, nested, waiting, held: heldBy(tm) };`), &got)
	assert.Equal(t, map[string]any{"outer": []any{11.0, 12.0, 13.0}, "nested": 101.0, "waiting": 0.0, "held": 0.0}, got)
}

func TestJSAPIWorkerConfigCancelGraceGivesAHandlerTimeToStop(t *testing.T) {
	// A handler that needs 1.5 s to stop once its signal aborts: at the
	// default grace (1 s) its worker is replaced; the README's advice is to
	// raise the grace, which the JS API could not.
	slow := "importScripts('/jsworker/atmo-worker.js');\n" +
		"atmoWorker({ wind: (p, { signal }) => new Promise((resolve) => signal.addEventListener('abort', () => setTimeout(resolve, 1500))) });\n"
	ctx := apiPageWith(t, map[string]string{"wind-worker.js": slow})
	var got map[string]any
	eval(t, ctx, js(`
  const restartsWith = async (extra) => {
    const tm = atmo.createTaskManager();
    const wm = atmo.createBrowserWorkerManager(tm, [{ tasks: ['wind'], script: '/t/wind-worker.js', ...extra }]);
    await wm.ready();
    const c = new AbortController();
    const run = tm.run('wind', {}, { signal: c.signal }).catch((e) => e.code);
    await new Promise((r) => setTimeout(r, 50));
    c.abort();
    const code = await run;
    await new Promise((r) => setTimeout(r, 2000));
    const restarts = tm.stats().workers[0].restarts;
    await tm.close();
    return { code, restarts };
  };
  let bad = null;
  try { atmo.createBrowserWorkerManager(atmo.createTaskManager(), [{ tasks: ['wind'], script: '/t/wind-worker.js', cancelGrace: -1 }]); } catch (e) { bad = e.argument; }
  return { byDefault: await restartsWith({}), raised: await restartsWith({ cancelGrace: 3000 }), bad };`), &got)
	assert.Equal(t, map[string]any{"code": "ERR_CANCELED", "restarts": 1.0}, got["byDefault"], "past the default grace: replaced")
	assert.Equal(t, map[string]any{"code": "ERR_CANCELED", "restarts": 0.0}, got["raised"], "within cancelGrace: kept")
	assert.Equal(t, "configs[0].cancelGrace", got["bad"])
}

func TestJSAPIErrorsNameTheJSOptionsNotTheGoSettings(t *testing.T) {
	// The core's errors say what to change in Go's words (TaskParams.Timeout,
	// WorkerConfig.StartTimeout); a page using the JS API has run options and
	// worker configs, so its errors name those.
	worker := "importScripts('/jsworker/atmo-worker.js');\n" +
		"atmoWorker({ slow: () => new Promise((r) => setTimeout(r, 1000)), die: () => { setTimeout(() => { throw new Error('gone'); }); return new Promise(() => {}); } });\n"
	ctx := apiPageWith(t, map[string]string{"odd-worker.js": worker, "mute-worker.js": "// answers nothing\n"})
	var got map[string]string
	eval(t, ctx, js(`
  const message = (p) => p.then(() => 'resolved', (e) => e.message);
  const tm = atmo.createTaskManager();
  const wm = atmo.createBrowserWorkerManager(tm, [
    { tasks: ['slow', 'die'], script: '/t/odd-worker.js' },
    { tasks: ['slow', 'missing'], script: '/t/odd-worker.js' },
    { tasks: ['mute'], script: '/t/mute-worker.js', startTimeout: 100 },
  ]);
  await wm.ready().catch(() => {});
  const out = {
    timeout: await message(tm.run('slow', null, { timeout: 20 })),
    crash: await message(tm.run('die', null)),
    priority: await message(tm.run('slow', null, { priority: 1e12 })),
  };
  for (const w of wm.workers()) if (w.lastError) out[w.tasks.join()] = w.lastError;
  await tm.close();
  const bounded = atmo.createTaskManager();
  atmo.createBrowserWorkerManager(bounded, [{ tasks: ['slow'], script: '/t/odd-worker.js', taskTimeout: 20 }]);
  out.taskTimeout = await message(bounded.run('slow', null));
  await bounded.close();
  return out;`), &got)
	for k, want := range map[string]string{
		"timeout":      "its timeout option",
		"crash":        "(the retries option)",
		"taskTimeout":  "its worker config's taskTimeout",
		"priority":     "priority 1000000000000; with the manager's agingInterval",
		"slow,missing": "its worker config's tasks lists missing",
		"mute":         "raise the worker config's startTimeout",
	} {
		require.Contains(t, got, k)
		assert.Contains(t, got[k], want, k)
		for _, goName := range []string{"TaskParams", "WorkerConfig", "Options.", "Retries", "Priority"} {
			assert.NotContains(t, got[k], goName, k)
		}
	}
}

func TestJSAPIMaxQueueRefusesATaskThatWouldWaitPastIt(t *testing.T) {
	// workerpool's maxQueueSize, in atmo's words: past maxQueue waiting
	// tasks, run() rejects at once with ERR_QUEUE_FULL, and the tasks
	// already queued still run.
	ctx := apiPage(t)
	var got map[string]any
	eval(t, ctx, js(`
  const tm = atmo.createTaskManager({ maxQueue: 2 });
  await atmo.createBrowserWorkerManager(tm, [math]).ready();
  const runs = [tm.run('fibonacci', { n: 25 }), tm.run('add', { a: 1, b: 1 }), tm.run('add', { a: 2, b: 2 })]; // one runs, two wait
  const full = await tm.run('add', { a: 3, b: 3 }).then(() => null, (e) => ({ code: e.code, message: e.message }));
  let thrown = null;
  try { tm.addTask({ name: 'add', params: { a: 4, b: 4 } }); } catch (e) { thrown = e.code; }
  const done = await Promise.all(runs);
  const bad = [];
  for (const maxQueue of [0, -1, 1.5, '10', NaN]) {
    try { atmo.createTaskManager({ maxQueue }); bad.push(null); } catch (e) { bad.push(e.argument); }
  }
  await tm.close();
  return { full, thrown, done, bad };`), &got)
	full := got["full"].(map[string]any)
	assert.Equal(t, "ERR_QUEUE_FULL", full["code"])
	assert.Contains(t, full["message"], "2 tasks are waiting (createTaskManager's maxQueue)")
	assert.NotContains(t, full["message"], "Options.")
	assert.Equal(t, "ERR_QUEUE_FULL", got["thrown"], "addTask throws")
	assert.Equal(t, []any{75025.0, 2.0, 4.0}, got["done"], "the tasks queued before still run")
	assert.Equal(t, []any{"options.maxQueue", "options.maxQueue", "options.maxQueue", "options.maxQueue", "options.maxQueue"}, got["bad"])
}

func TestJSAPIATaskThatFailsBeforeItsBuffersAreSentGivesThemBack(t *testing.T) {
	// transfer moves the buffers out of the caller's hands when run() or
	// addTask is called (params are sent as they were then). A task that
	// fails before it is posted to a worker (refused by a full queue,
	// cancelled while it waits, or aborted in the turn it was made) still
	// holds them: its error's transfer gives them back, whole. A task that
	// reached a worker has none to give.
	worker := "importScripts('/jsworker/atmo-worker.js');\n" +
		"atmoWorker({ hold: () => new Promise((r) => setTimeout(r, 300)), size: (p) => p.buf.byteLength, fail: () => { throw new Error('no'); } });\n"
	ctx := apiPageWith(t, map[string]string{"buf-worker.js": worker})
	var got map[string]any
	eval(t, ctx, js(`
  const tm = atmo.createTaskManager({ maxQueue: 1 });
  await atmo.createBrowserWorkerManager(tm, [{ tasks: ['hold', 'size', 'fail'], script: '/t/buf-worker.js' }]).ready();
  const given = (e) => ({ code: e.code, back: e.transfer ? e.transfer.map((b) => b.byteLength) : null });
  const bytes = (n) => new Uint8Array(n).fill(7).buffer;
  const out = {};
  const busy = tm.run('hold');
  const a = bytes(8), b = bytes(16), c = bytes(24), d = bytes(32), e = bytes(40);
  const c1 = new AbortController();
  const queued = tm.run('size', { buf: a }, { transfer: [a], signal: c1.signal }).catch(given);
  const full = tm.run('size', { buf: b }, { transfer: [b] }).catch(given);
  let thrown = null;
  try { tm.addTask({ name: 'size', params: { buf: c }, transfer: [c] }); } catch (err) { thrown = given(err); }
  out.full = await full;
  out.thrown = thrown;
  c1.abort();
  out.queued = await queued;
  const c2 = new AbortController();
  const sameTurn = tm.run('size', { buf: d }, { transfer: [d], signal: c2.signal }).catch(given);
  c2.abort();
  out.sameTurn = await sameTurn;
  await busy;
  out.sent = await tm.run('fail', { buf: e }, { transfer: [e] }).catch(given);
  out.seed = await new Promise((resolve) => {
    const f = bytes(48);
    const c3 = new AbortController();
    tm.run('hold');
    tm.addTask({ name: 'size', params: { buf: f }, transfer: [f], signal: c3.signal, onError: (r) => resolve({ code: r.code, back: r.transfer ? r.transfer.map((x) => new Uint8Array(x)[0]) : null }) });
    c3.abort();
  });
  out.callers = [a, b, c, d, e].map((x) => x.byteLength);
  await tm.close();
  return out;`), &got)
	assert.Equal(t, map[string]any{"code": "ERR_QUEUE_FULL", "back": []any{16.0}}, got["full"], "refused by a full queue")
	assert.Equal(t, map[string]any{"code": "ERR_QUEUE_FULL", "back": []any{24.0}}, got["thrown"], "addTask refused by a full queue")
	assert.Equal(t, map[string]any{"code": "ERR_CANCELED", "back": []any{8.0}}, got["queued"], "cancelled while it waited")
	assert.Equal(t, map[string]any{"code": "ERR_CANCELED", "back": []any{32.0}}, got["sameTurn"], "aborted in the turn it was made")
	assert.Equal(t, map[string]any{"code": "ERR_TASK", "back": nil}, got["sent"], "its buffers went to the worker")
	assert.Equal(t, map[string]any{"code": "ERR_CANCELED", "back": []any{7.0}}, got["seed"], "onError's response carries them too, bytes and all")
	assert.Equal(t, []any{0.0, 0.0, 0.0, 0.0, 0.0}, got["callers"], "the caller's own buffers moved when the call was made")
}

// A page that creates and closes managers for ever does not grow the Go
// module: once closed, a manager's entry leaves the bridge, while status(),
// stats(), workers(), ready() and closeWorker() still say how it ended.
func TestJSAPIClosedManagersLeaveTheBridgeAndStillSayHowTheyEnded(t *testing.T) {
	ctx := apiPage(t)
	var got map[string]any
	eval(t, ctx, js(`
  const tm = atmo.createTaskManager();
  const wm = atmo.createBrowserWorkerManager(tm, [math]);
  const wm2 = atmo.createBrowserWorkerManager(tm, [math]);
  await tm.run('add', { a: 1, b: 2 });
  await wm2.close();
  await tm.close();
  const b = tm._bridge;
  let closeAfter = null;
  try { wm.closeWorker('worker-1'); } catch (e) { closeAfter = e.code; }
  await wm.ready();
  let runAfter = null;
  try { await tm.run('add', { a: 1, b: 2 }); } catch (e) { runAfter = e.code; }
  return {
    kept: [b.status(tm._handle).error ? 'gone' : 'kept', b.workers(wm._handle).error ? 'gone' : 'kept', b.workers(wm2._handle).error ? 'gone' : 'kept'],
    done: tm.status().done, submitted: tm.stats().submitted,
    workers: wm.workers().map((w) => w.status), workers2: wm2.workers().map((w) => w.status), closeAfter, runAfter,
  };`), &got)
	assert.Equal(t, []any{"gone", "gone", "gone"}, got["kept"], "the bridge let go of the closed managers")
	assert.Equal(t, 1.0, got["done"])
	assert.Equal(t, 1.0, got["submitted"])
	assert.Equal(t, []any{"closed"}, got["workers"])
	assert.Equal(t, []any{"closed"}, got["workers2"])
	assert.Equal(t, "ERR_CLOSED", got["closeAfter"])
	assert.Equal(t, "ERR_CLOSED", got["runAfter"])
}

// README: a run() whose signal aborts later in the same stretch of
// synchronous code never reaches a worker, as the run() calls made one
// after another go together in a microtask. A run() with onProgress is a
// run() too: only addTask sends at once.
func TestJSAPIARunWithOnProgressWhoseSignalAbortsInTheSameTurnNeverReachesAWorker(t *testing.T) {
	ctx := apiPageWith(t, map[string]string{"count-worker.js": `importScripts('/jsworker/atmo-worker.js');
let n = 0;
atmoWorker({ hit: (p, { progress }) => { progress(n + 1); return ++n; }, count: () => n });
`})
	var got map[string]any
	eval(t, ctx, js(`
  const tm = atmo.createTaskManager();
  const wm = atmo.createBrowserWorkerManager(tm, [{ tasks: ['hit', 'count'], script: '/t/count-worker.js', concurrency: 4 }]);
  await wm.ready();
  const out = {};
  const ac = new AbortController();
  const reports = [];
  const r = tm.run('hit', null, { signal: ac.signal, onProgress: (p) => reports.push(p.content) }).then(() => 'ran', (e) => e.code);
  ac.abort();
  out.run = await r;
  out.count = await tm.run('count');
  // Not aborted, its reports still come, before it settles, in a batch with others.
  const seen = [];
  const [a, b] = await Promise.all([
    tm.run('hit', null, { onProgress: (p) => seen.push('report ' + p.content) }).then((v) => (seen.push('result ' + v), v)),
    tm.run('count'),
  ]);
  out.seen = seen;
  out.reports = reports.length;
  await tm.close();
  return out;`), &got)
	assert.Equal(t, "ERR_CANCELED", got["run"])
	assert.EqualValues(t, 0, got["count"], "a run() with onProgress, its signal aborted in the same turn, is never sent")
	assert.EqualValues(t, 0, got["reports"])
	assert.Equal(t, []any{"report 1", "result 1"}, got["seen"])
}

func TestJSAPIAWorkerConfigsBadTypeIsNamedAsWritten(t *testing.T) {
	// README: err.argument names the bad argument (configs[1].scirpt); a
	// type that is neither 'classic' nor 'module' is one, as its JS field.
	ctx := apiPage(t)
	var got map[string]any
	eval(t, ctx, js(`
  const tm = atmo.createTaskManager();
  const throws = (f) => { try { f(); return 'accepted'; } catch (e) { return { code: e.code, argument: e.argument, message: e.message }; } };
  const wm = atmo.createBrowserWorkerManager(tm, [math]);
  const out = {
    create: throws(() => atmo.createBrowserWorkerManager(tm, [math, { ...math, type: 'modle' }])),
    addWorker: throws(() => wm.addWorker({ ...math, type: 'Module' })),
    classic: throws(() => wm.addWorker({ ...math, type: 'classic' })),
  };
  await tm.close();
  return out;`), &got)
	create := got["create"].(map[string]any)
	assert.Equal(t, "ERR_BAD_ARGUMENT", create["code"])
	assert.Equal(t, "configs[1].type", create["argument"])
	assert.Contains(t, create["message"], "configs[1].type")
	assert.Contains(t, create["message"], `"modle"`)
	addWorker := got["addWorker"].(map[string]any)
	assert.Equal(t, "config.type", addWorker["argument"])
	assert.Equal(t, "accepted", got["classic"])
}

// An option atmo does not know, or of a type it cannot use, is an
// ERR_BAD_ARGUMENT naming it, not silently read some other way: raw must
// be a boolean (raw: 'false' would give the result raw), and ready() takes
// only {timeout} (ready(5000) or {timout: 5000} would wait 30 s).
func TestJSAPIRawAndReadysOptionsAreCheckedLikeTheOthers(t *testing.T) {
	ctx := apiPage(t)
	var got map[string]any
	eval(t, ctx, js(`
  const tm = atmo.createTaskManager();
  const wm = atmo.createBrowserWorkerManager(tm, [math]);
  const fail = (p) => within(p.then((v) => 'resolved ' + JSON.stringify(v), (e) => e.code + ' ' + e.argument));
  let added;
  try { tm.addTask({ name: 'add', params: { a: 1, b: 2 }, raw: 1 }); added = 'added'; } catch (e) { added = e.code + ' ' + e.argument; }
  const out = {
    rawString: await fail(tm.run('add', { a: 1, b: 2 }, { raw: 'false' })),
    rawNumber: added,
    rawFalse: await fail(tm.run('add', { a: 1, b: 2 }, { raw: false })),
    readyNumber: await fail(wm.ready(5000)),
    readyMisspelt: await fail(wm.ready({ timout: 5000 })),
    readyGood: await fail(wm.ready({ timeout: 5000 })),
    readyUndefined: await fail(wm.ready({ timeout: undefined })),
  };
  await tm.close();
  return out;`), &got)
	assert.Equal(t, map[string]any{
		"rawString":      "ERR_BAD_ARGUMENT raw",
		"rawNumber":      "ERR_BAD_ARGUMENT raw",
		"rawFalse":       "resolved 3",
		"readyNumber":    "ERR_BAD_ARGUMENT options",
		"readyMisspelt":  "ERR_BAD_ARGUMENT options.timout",
		"readyGood":      "resolved undefined",
		"readyUndefined": "resolved undefined",
	}, got)
}

// A worker config that is an array, or a config or manager option whose
// getter throws, is an ERR_BAD_ARGUMENT naming it as written, like every
// other bad argument, not an "unknown field \"0\"" or a bare Error.
func TestJSAPIConfigsAndOptionsThatCannotBeReadAreRefusedNamingThem(t *testing.T) {
	ctx := apiPage(t)
	var got map[string]any
	eval(t, ctx, js(`
  const tm = atmo.createTaskManager();
  const throws = (f) => { try { f(); return 'accepted'; } catch (e) { return (e instanceof window.AtmoError ? e.code + ' ' + e.argument : 'bare ' + e.name) + ': ' + e.message; } };
  const wm = atmo.createBrowserWorkerManager(tm, [math]);
  const out = {
    arrayConfig: throws(() => atmo.createBrowserWorkerManager(tm, [math, ['add']])),
    arrayAddWorker: throws(() => wm.addWorker(['add'])),
    configGetter: throws(() => atmo.createBrowserWorkerManager(tm, [{ tasks: ['add'], get script() { throw new Error('not yet'); } }])),
    addWorkerGetter: throws(() => wm.addWorker({ get tasks() { throw new Error('not yet'); }, script: '/workers/math-worker.js' })),
    optionsGetter: throws(() => atmo.createTaskManager({ get agingInterval() { throw new Error('not yet'); } })),
    getterRead: throws(() => atmo.createTaskManager({ get agingInterval() { return 500; } })),
  };
  await tm.close();
  return out;`), &got)
	assert.Regexp(t, `^ERR_BAD_ARGUMENT configs\[1\]: .*configs\[1\] must be an object like`, got["arrayConfig"])
	assert.Regexp(t, `^ERR_BAD_ARGUMENT config: .*config must be an object like`, got["arrayAddWorker"])
	assert.Regexp(t, `^ERR_BAD_ARGUMENT configs\[0\]\.script: .*reading configs\[0\]\.script threw: not yet`, got["configGetter"])
	assert.Regexp(t, `^ERR_BAD_ARGUMENT config\.tasks: .*not yet`, got["addWorkerGetter"])
	assert.Regexp(t, `^ERR_BAD_ARGUMENT options\.agingInterval: .*not yet`, got["optionsGetter"])
	assert.Equal(t, "accepted", got["getterRead"])
}

func TestJSAPIAWorkerConfigTakesAURLObjectAsNewWorkerDoes(t *testing.T) {
	// new Worker(new URL('./w.js', import.meta.url)) is how pages and
	// bundlers name a worker script; a worker config takes the same URL.
	ctx := apiPage(t)
	var got map[string]any
	eval(t, ctx, js(`
  const tm = atmo.createTaskManager();
  const wm = atmo.createBrowserWorkerManager(tm, [{ ...math, script: new URL('/workers/math-worker.js', location.href) }]);
  await wm.ready();
  const sum = await tm.run('add', { a: 1, b: 2 });
  const script = wm.workers()[0].script;
  await tm.close();
  return { sum, script };`), &got)
	assert.Equal(t, 3.0, got["sum"])
	assert.Contains(t, got["script"], "/workers/math-worker.js")
}

func TestJSAPIARunClosedInItsOwnTurnGivesItsTransferBack(t *testing.T) {
	ctx := apiPage(t)
	var got map[string]any
	eval(t, ctx, js(`
  const tm = atmo.createTaskManager();
  atmo.createBrowserWorkerManager(tm, [math]);
  const buf = new ArrayBuffer(8);
  const run = tm.run('add', { a: 1, b: 2, buf }, { transfer: [buf] }).catch((e) => ({ code: e.code, back: e.transfer ? e.transfer[0].byteLength : null }));
  await tm.close();
  return await run;`), &got)
	assert.Equal(t, map[string]any{"code": "ERR_CLOSED", "back": 8.0}, got)
}

// A page closes a worker with wm.closeWorker(id): its lastError, the events
// and the error of a task left with no worker name that, not Go's Close(),
// which the JS API has no counterpart of.
func TestJSAPIAWorkerClosedByCloseWorkerSaysSoInTheJSAPIsWords(t *testing.T) {
	ctx := apiPage(t)
	var got map[string]string
	eval(t, ctx, js(`
  const tm = atmo.createTaskManager();
  const wm = atmo.createBrowserWorkerManager(tm, [{ tasks: ['add'], script: '/workers/math-worker.js' }]);
  await wm.ready();
  let event = '';
  tm.subscribe((m) => { if (m.message === 'worker-updated' && m.content === 'closed') event = m.error; });
  const [w] = wm.workers();
  wm.closeWorker(w.id);
  await new Promise((r) => setTimeout(r, 100));
  const out = { lastError: wm.workers()[0].lastError, stats: tm.stats().workers[0].lastError, event };
  out.run = await tm.run('add', { a: 1, b: 2 }).then(() => 'resolved', (e) => e.message);
  await tm.close();
  return out;`), &got)
	for k, v := range got {
		assert.NotContains(t, v, "Close()", k)
		assert.Contains(t, v, "closeWorker", k)
	}
}

// createTaskManager's maxQueue is "as workerpool's maxQueueSize", whose
// default is Infinity: a page porting { maxQueueSize: Infinity }, or one
// that wants no bound (Go's Options.MaxQueue takes negative for that), is
// refused; and a bound past 2^31-1 is refused by a message saying any whole
// number of 1 or more will do.
func TestJSAPIMaxQueueTakesInfinityForNoBound(t *testing.T) {
	ctx := apiPage(t)
	var got map[string]any
	eval(t, ctx, js(`
  const made = (o) => { try { const tm = atmo.createTaskManager(o); tm.close(); return 'made'; } catch (e) { return e.code + ': ' + e.message; } };
  return { infinity: made({ maxQueue: Infinity }), big: made({ maxQueue: 3e9 }) };`), &got)
	assert.Equal(t, "made", got["infinity"])
	assert.NotRegexp(t, `1 or more \(default`, got["big"], "3e9 is a whole number of 1 or more")
}

// README: "cancel() does nothing" for a task that has ended; closing a
// worker that has closed already is the same, also once the manager has
// forgotten it (it lists the latest 64 closed workers), not a bad argument
// telling the page that "id must be a worker's id". An id that cannot be a
// worker's is still one.
func TestJSAPIClosingAWorkerTwiceDoesNothingEvenOnceItIsNoLongerListed(t *testing.T) {
	ctx := apiPageWith(t, map[string]string{"noop-worker.js": `importScripts('/jsworker/atmo-worker.js'); atmoWorker({ noop: () => 0 });`})
	var got map[string]any
	eval(t, ctx, js(`
  const tm = atmo.createTaskManager();
  const wm = atmo.createBrowserWorkerManager(tm, [{ tasks: ['noop'], script: '/t/noop-worker.js', count: 66 }]);
  await wm.ready();
  const ids = wm.workers().map((w) => w.id);
  for (const id of ids) wm.closeWorker(id);
  await new Promise((r) => setTimeout(r, 300));
  const attempt = (id) => { try { wm.closeWorker(id); return 'ok'; } catch (e) { return e.code + ': ' + e.message; } };
  const out = {
    listed: wm.workers().length,
    firstListed: wm.workers().some((w) => w.id === ids[0]),
    again: attempt(ids[0]),
    againListed: attempt(ids[65]),
    taskId: attempt('task-1'),
  };
  await tm.close();
  return out;`), &got)
	assert.Equal(t, 64.0, got["listed"], "the manager keeps 64 closed workers listed")
	assert.Equal(t, false, got["firstListed"])
	assert.Equal(t, "ok", got["againListed"], "a closed worker still listed")
	assert.Equal(t, "ok", got["again"], "a closed worker no longer listed")
	assert.Contains(t, got["taskId"], "ERR_BAD_ARGUMENT")
}

// closeWorker(id) of an id no worker of this manager ever had is a bad
// argument: a worker of another manager of the same TaskManager (ids are
// the TaskManager's: worker-1, worker-2...) is not closed by this one, and
// an id never given (a typo) closes nothing; both left the page believing
// the worker closed, without a word.
func TestJSAPIClosingAWorkerOfAnotherManagerOrNeverMadeIsABadArgument(t *testing.T) {
	ctx := apiPageWith(t, map[string]string{"noop-worker.js": `importScripts('/jsworker/atmo-worker.js'); atmoWorker({ noop: () => 0 });`})
	var got map[string]any
	eval(t, ctx, js(`
  const tm = atmo.createTaskManager();
  const a = atmo.createBrowserWorkerManager(tm, [{ tasks: ['noop'], script: '/t/noop-worker.js' }]);
  const b = atmo.createBrowserWorkerManager(tm, [{ tasks: ['noop'], script: '/t/noop-worker.js' }]);
  await a.ready(); await b.ready();
  const aID = a.workers()[0].id;
  const attempt = (wm, id) => { try { wm.closeWorker(id); return 'ok'; } catch (e) { return e.code; } };
  const out = { other: attempt(b, aID), never: attempt(a, 'worker-99') };
  await new Promise((r) => setTimeout(r, 200));
  out.aStatus = a.workers()[0].status;
  await tm.close();
  return out;`), &got)
	assert.Equal(t, "ERR_BAD_ARGUMENT", got["other"], "another manager's live worker")
	assert.NotEqual(t, "closed", got["aStatus"])
	assert.Equal(t, "ERR_BAD_ARGUMENT", got["never"], "an id no worker had")
}

func TestJSAPIAPriorityPastSafeIntegersSaysTheRangeNotThatItIsNoWholeNumber(t *testing.T) {
	// 2 ** 60 is a whole number: what is wrong with it is its size, so the
	// error says the range, as it does for 1e12 (the README: "priority and
	// retries are whole numbers").
	ctx := apiPage(t)
	var got map[string]string
	eval(t, ctx, js(`
  const message = (p) => p.then(() => 'resolved', (e) => e.argument + ': ' + e.message);
  const tm = atmo.createTaskManager();
  const flat = atmo.createTaskManager({ agingInterval: -1 });
  const out = {
    aging: await message(tm.run('add', { a: 1, b: 2 }, { priority: 2 ** 60 })),
    negative: await message(tm.run('add', { a: 1, b: 2 }, { priority: -(2 ** 60) })),
    noAging: await message(flat.run('add', { a: 1, b: 2 }, { priority: 2 ** 60 })),
    fraction: await message(tm.run('add', { a: 1, b: 2 }, { priority: 2.5 })),
    retries: await message(tm.run('add', { a: 1, b: 2 }, { retries: 2 ** 60 })),
  };
  await tm.close();
  await flat.close();
  return out;`), &got)
	for _, k := range []string{"aging", "negative", "noAging"} {
		assert.NotContains(t, got[k], "must be a whole number", k)
		assert.Contains(t, got[k], "priority: atmo: run(\"add\"): priority ", k)
		assert.Contains(t, got[k], " run from -", k)
	}
	assert.Contains(t, got["aging"], "to 2305843009 (higher first)")
	assert.Contains(t, got["noAging"], "to 9007199254740991")
	assert.Contains(t, got["fraction"], "priority must be a whole number")
	assert.Contains(t, got["retries"], "retries must be a whole number from 0 to 9007199254740991 (got 1152921504606847000)", "a whole number too: its range is what is wrong")
}

// status() and stats() count the run() calls made before them, as they
// count an addTask made before them: a page that calls run() and shows
// tm.stats() at once (a queue length in its UI) saw the task nowhere,
// neither pending nor submitted, until the end of its turn.
func TestJSAPIStatusAndStatsCountTheRunsOfTheirTurn(t *testing.T) {
	ctx := apiPage(t)
	var got map[string]any
	eval(t, ctx, js(`
  const tm = atmo.createTaskManager();
  atmo.createBrowserWorkerManager(tm, [math]);
  const a = tm.run('fibonacci', { n: 25 });
  const st = tm.status();
  const b = tm.run('fibonacci', { n: 25 });
  const s = tm.stats();
  const h = tm.addTask({ name: 'add', params: { a: 1, b: 2 } });
  const after = tm.status();
  const results = await Promise.all([a, b]);
  await tm.close();
  return { afterRun: st.pending.length + st.working.length, submitted: s.submitted, afterAdd: after.pending.length + after.working.length, results };`), &got)
	assert.Equal(t, 1.0, got["afterRun"], "status() right after one run()")
	assert.Equal(t, 2.0, got["submitted"], "stats() right after two run() calls")
	assert.Equal(t, 3.0, got["afterAdd"], "status() right after addTask")
	assert.Equal(t, []any{75025.0, 75025.0}, got["results"])
}

// A result atmo.js cannot read by the value rules (a BigInt, a Blob) rejects
// run() with ERR_TASK, as the README says such an answer "fails its task".
// The manager must count it as failed too: stats(), status() and the
// task-updated event must agree with what the caller got.
func TestJSAPIAnUnreadableResultCountsAsFailedWhereItRejects(t *testing.T) {
	ctx := apiPageWith(t, map[string]string{"big.js": `importScripts('/jsworker/atmo-worker.js');
atmoWorker({ big: () => 10n, ok: () => 1 });`})
	var got map[string]any
	eval(t, ctx, js(`
  const tm = atmo.createTaskManager();
  atmo.createBrowserWorkerManager(tm, [{ tasks: ['big', 'ok'], script: '/t/big.js' }]);
  const statuses = [];
  tm.subscribe((e) => { if (e.message === 'task-updated' && (e.content === 'done' || e.content === 'failed')) statuses.push(e.content); });
  const code = await tm.run('big').then(() => 'resolved', (e) => e.code);
  const raw = await tm.run('big', null, { raw: true }).then((v) => typeof v, (e) => e.code);
  await tm.run('ok');
  await new Promise((r) => setTimeout(r, 50));
  const s = tm.stats(), st = tm.status(), held = heldBy(tm);
  await tm.close();
  return { code, raw, done: s.done, failed: s.failed, statusDone: st.done, statusFailed: st.failed, statuses, held };`), &got)
	assert.Equal(t, "ERR_TASK", got["code"])
	assert.Equal(t, "bigint", got["raw"], "raw: true gives the BigInt as it came")
	assert.Equal(t, 2.0, got["done"], "stats().done: the raw run and ok")
	assert.Equal(t, 1.0, got["failed"], "stats().failed: the run that rejected")
	assert.Equal(t, 2.0, got["statusDone"])
	assert.Equal(t, 1.0, got["statusFailed"])
	assert.Equal(t, []any{"failed", "done", "done"}, got["statuses"])
	assert.EqualValues(t, 0, got["held"], "the copies and the answers held for the subscriber's events were all read")
}
