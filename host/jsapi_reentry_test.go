package main

import (
	"testing"

	"github.com/stretchr/testify/assert"
)

// reentryWorker sleeps (until its signal aborts) and reports progress.
const reentryWorker = `importScripts('/jsworker/atmo-worker.js');
const sleep = (ms, signal) => new Promise((resolve, reject) => {
  const t = setTimeout(resolve, ms);
  signal.addEventListener('abort', () => { clearTimeout(t); reject(signal.reason); }, { once: true });
});
atmoWorker({
  sleep: async ({ ms }, { signal }) => { await sleep(ms, signal); return ms; },
  prog: async ({ n }, { signal, progress }) => { for (let i = 0; i < n; i++) { progress(i); await sleep(0, signal); } return n; },
});
`

// JS code runs to completion: no callback of the page's (addTask's
// onSuccess, onError and onProgress, run()'s onProgress, a subscriber)
// runs inside a synchronous call of the JS API, even when Go, handling
// that call, lets its other goroutines run, which hand answers and events
// to JS. Here calls are made in a tight loop, with a flag set around them,
// while tasks time out, are canceled and answer; no callback may see the
// flag, and one that calls back into the API (status(), addTask) is not
// itself called inside a call.
func TestJSAPICallbacksNeverRunInsideASynchronousCall(t *testing.T) {
	ctx := apiPageWith(t, map[string]string{"reentry-worker.js": reentryWorker})
	var got map[string]any
	eval(t, ctx, js(`
  const tm = atmo.createTaskManager();
  const wm = atmo.createBrowserWorkerManager(tm, [{ tasks: ['sleep', 'prog'], script: '/t/reentry-worker.js', concurrency: 8, count: 2, cancelGrace: 50 }]);
  await wm.ready();
  let inside = 0, calls = 0, closed = false, outer = '';
  const seen = {}, after = {};
  const note = (what) => {
    calls++;
    if (inside > 0) seen[what + ' inside ' + outer] = true;
    if (closed) after[what] = (after[what] || 0) + 1;
  };
  // call makes one API call, named what, with the flag set around it.
  const call = (what, fn) => { if (inside === 0) outer = what; inside++; try { return fn(); } finally { inside--; } };
  const stop = tm.subscribe((m) => { note('subscriber'); if (m.message === 'task-deleted') call('status', () => tm.status()); });
  const ids = [];
  const start = performance.now();
  let rounds = 0, nested = 0;
  while (performance.now() - start < 4000 && Object.keys(seen).length === 0) {
    rounds++;
    for (let i = 0; i < 30; i++) {
      const h = call('addTask', () => tm.addTask({ name: i % 3 ? 'sleep' : 'prog', params: { ms: i % 4, n: 3 }, timeout: 1 + (i % 3),
        onSuccess: () => note('onSuccess'),
        onError: () => { note('onError'); if (nested < 50 && !tm.closed) { nested++; call('addTask', () => tm.addTask({ name: 'sleep', params: { ms: 0 }, onSuccess: () => note('nested onSuccess'), onError: () => note('nested onError') })); } },
        onProgress: () => { note('onProgress'); call('stats', () => tm.stats()); } }));
      ids.push(h.id);
      tm.run('prog', { n: 2 }, { timeout: 2, onProgress: () => note('run onProgress') }).then(() => note('run resolved'), () => note('run rejected'));
      call('status', () => tm.status());
      call('stats', () => tm.stats());
      if (i % 5 === 0) call('cancel', () => tm.cancel(ids[ids.length - 1 - (i % 7)] || h.id));
      call('workers', () => wm.workers());
    }
    await new Promise((r) => setTimeout(r, 0));
  }
  await new Promise((r) => setTimeout(r, 100));
  stop();
  await tm.close();
  closed = true;
  await new Promise((r) => setTimeout(r, 100));
  return { seen, after, called: calls > 0, rounds: rounds > 0 };`), &got)
	assert.Equal(t, map[string]any{"seen": map[string]any{}, "after": map[string]any{}, "called": true, "rounds": true}, got)
}
