package main

import (
	"fmt"
	"os"
	"strconv"
	"testing"
	"time"
)

// varietyWorker has handlers that echo, sleep, throw, report progress, hang
// until their signal aborts, or crash the worker from a timer.
const varietyWorker = `importScripts('/jsworker/atmo-worker.js');
const sleep = (ms, signal) => new Promise((resolve, reject) => {
  if (signal.aborted) return reject(signal.reason);
  const t = setTimeout(resolve, ms);
  signal.addEventListener('abort', () => { clearTimeout(t); reject(signal.reason); }, { once: true });
});
atmoWorker({
  echo: ({ v, buf }) => ({ v, len: buf ? buf.byteLength : -1, sum: buf ? new Uint8Array(buf).reduce((a, b) => a + b, 0) : -1 }),
  sleep: async ({ v, ms }, { signal }) => { await sleep(ms, signal); return v; },
  fail: ({ v }) => { throw new Error('fail ' + v); },
  prog: async ({ v, n }, { signal, progress }) => { for (let i = 0; i < n; i++) { progress(i); await sleep(1, signal); } return v; },
  hang: (_, { signal }) => new Promise((_, reject) => signal.addEventListener('abort', () => reject(signal.reason), { once: true })),
  crash: () => { setTimeout(() => { throw new Error('stray'); }, 1); return new Promise(() => {}); },
});
`

// randomOpsJS defines window.randomOps(seed, opsCount): a seeded random sequence
// of operations on a fresh TaskManager, resolving with the invariant
// violations it saw (empty when none) and a summary.
const randomOpsJS = `
window.randomOps = async (seed, nOps, weightsOverride) => {
  const atmo = window.atmo;
  const heldBy = (tm) => tm._bridge.held.values.length - tm._bridge.held.free.length;
  let s = seed >>> 0;
  const rng = () => { s = (s + 0x6D2B79F5) >>> 0; let t = s; t = Math.imul(t ^ (t >>> 15), t | 1); t ^= t + Math.imul(t ^ (t >>> 7), t | 61); return ((t ^ (t >>> 14)) >>> 0) / 4294967296; };
  const R = (n) => Math.floor(rng() * n);
  const pick = (a) => a[R(a.length)];
  const weighted = (w) => { let total = 0; for (const k in w) total += w[k]; let x = rng() * total; for (const k in w) { x -= w[k]; if (x < 0) return k; } return Object.keys(w)[0]; };
  const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
  const violations = [];
  const log = [];
  const bad = (msg) => violations.push(msg);
  const names = ['echo', 'sleep', 'fail', 'prog', 'hang', 'crash'];
  const knownCodes = new Set(['ERR_TASK', 'ERR_TIMEOUT', 'ERR_CANCELED', 'ERR_CLOSED', 'ERR_WORKER_CRASHED', 'ERR_NO_WORKER', 'ERR_QUEUE_FULL']);
  const maxQueue = R(4) === 0 ? 1 + R(4) : undefined;
  const tm = atmo.createTaskManager(maxQueue ? { maxQueue } : {});
  const cfg = () => ({ tasks: names, script: '/t/variety-worker.js', concurrency: 1 + R(3), count: 1 + R(2), cancelGrace: 100 });
  const configs = Array.from({ length: 1 + R(2) }, cfg);
  log.push('configs ' + JSON.stringify(configs.map((c) => c.concurrency)) + ' maxQueue ' + maxQueue);
  const wm = atmo.createBrowserWorkerManager(tm, configs);
  if (R(3) > 0) await wm.ready();
  const subs = [];
  const recs = [];
  let closeCalled = false, closedWorkers = 0;
  const fill = (buf, k) => { const u = new Uint8Array(buf); for (let j = 0; j < u.length; j++) u[j] = (k + j) & 255; };
  const whole = (buf, len, k) => {
    if (!(buf instanceof ArrayBuffer)) return 'not an ArrayBuffer';
    if (buf.detached) return 'detached';
    if (buf.byteLength !== len) return 'length ' + buf.byteLength + ' not ' + len;
    const u = new Uint8Array(buf);
    for (let j = 0; j < len; j++) if (u[j] !== ((k + j) & 255)) return 'byte ' + j + ' changed';
    return '';
  };
  const desc = (rec) => 'op ' + rec.i + ' ' + rec.kind + '(' + rec.name + ' ' + JSON.stringify(rec.shown) + ')' + (rec.id ? ' ' + rec.id : '');
  const settle = (rec, ok, val) => {
    rec.settles++;
    rec.settledAt = performance.now();
    if (window.__inStatus) { rec.inStatus = true; bad(desc(rec) + ': settled (callback ran) inside a tm.status() call'); }
    if (rec.settles > 1) { bad(desc(rec) + ': settled ' + rec.settles + ' times, now ' + (ok ? 'ok ' + JSON.stringify(val) : 'error ' + (val && val.code) + ' ' + (val && val.message))); return; }
    rec.ok = ok;
    rec.val = val;
    if (ok) {
      let want;
      switch (rec.name) {
        case 'echo': want = { v: rec.v, len: rec.bufLen, sum: rec.bufSum }; break;
        case 'sleep': case 'prog': want = rec.v; break;
        default: bad(desc(rec) + ': a ' + rec.name + ' task succeeded with ' + JSON.stringify(val)); return;
      }
      if (JSON.stringify(val) !== JSON.stringify(want)) bad(desc(rec) + ': resolved with ' + JSON.stringify(val) + ', want ' + JSON.stringify(want));
      if (rec.name === 'prog' && rec.wantProgress && JSON.stringify(rec.progress) !== JSON.stringify(Array.from({ length: rec.n }, (_, j) => j))) {
        bad(desc(rec) + ': succeeded after progress ' + JSON.stringify(rec.progress) + ', want 0..' + (rec.n - 1));
      }
      return;
    }
    const code = val && val.code;
    if (!knownCodes.has(code)) { bad(desc(rec) + ': error with unknown code ' + code + ': ' + (val && val.message)); return; }
    if (code === 'ERR_TASK' && !(rec.name === 'fail' && String(val.message).includes('fail ' + rec.v))) bad(desc(rec) + ': ERR_TASK: ' + val.message);
    if (code === 'ERR_TIMEOUT' && !(rec.timeout > 0 && rec.timeout !== Infinity)) bad(desc(rec) + ': ERR_TIMEOUT with timeout ' + rec.timeout + ': ' + val.message);
    if (code === 'ERR_CANCELED' && !rec.canceled && !rec.aborted) bad(desc(rec) + ': ERR_CANCELED though neither cancel() nor its signal: ' + val.message);
    if (code === 'ERR_CANCELED' && rec.aborted && !rec.canceled && val.cause !== rec.reason) bad(desc(rec) + ': ERR_CANCELED by its signal, cause ' + JSON.stringify(val.cause) + ' not ' + JSON.stringify(rec.reason));
    if (code === 'ERR_QUEUE_FULL' && !maxQueue) bad(desc(rec) + ': ERR_QUEUE_FULL with no maxQueue');
    // closeWorker fails a task it ran that has no retries left, or moved its buffers there.
    if (code === 'ERR_CLOSED' && !closeCalled && closedWorkers === 0) bad(desc(rec) + ': ERR_CLOSED before any close or closeWorker: ' + val.message);
    if (val.transfer !== undefined) {
      if (!rec.transfer) bad(desc(rec) + ': error.transfer without a transfer');
      else if (!Array.isArray(val.transfer) || val.transfer.length !== 1 || !(val.transfer[0] instanceof ArrayBuffer)) bad(desc(rec) + ': error.transfer is not [buffer]: ' + String(val.transfer));
      else { const w = whole(val.transfer[0], rec.bufLen, rec.v); if (w) bad(desc(rec) + ': given-back buffer ' + w + ' (' + code + ')'); }
    }
    rec.givenBack = val.transfer !== undefined;
    if (rec.transfer && !rec.givenBack && (code === 'ERR_QUEUE_FULL' || code === 'ERR_NO_WORKER')) bad(desc(rec) + ': ' + code + ' without giving its buffer back');
  };
  const onProgress = (rec) => (r) => {
    if (rec.settles > 0) bad(desc(rec) + ': progress ' + JSON.stringify(r.content) + ' after it settled');
    if (rec.name !== 'prog') bad(desc(rec) + ': progress from a ' + rec.name + ' task');
    if (r.content === 0 && rec.retries > 0 && rec.progress.length > 0) rec.progress = []; // a retry runs again; a task without retries never does
    if (r.content !== rec.progress.length) bad(desc(rec) + ': progress ' + JSON.stringify(r.content) + ' after ' + JSON.stringify(rec.progress));
    if (rec.id && r.taskId !== rec.id) bad(desc(rec) + ': progress for ' + r.taskId);
    rec.progress.push(r.content);
  };
  const w = Object.assign({ run: 25, addTask: 25, cancel: 6, closeWorker: 2, addWorker: 2, subscribe: 2, unsubscribe: 2, status: 3, sleep: 12, tick: 6 }, weightsOverride || {});
  const nameW = Object.assign({ echo: 30, sleep: 25, fail: 10, prog: 15, hang: 8, crash: 2 }, (weightsOverride || {}).names || {});
  delete w.names;
  for (let i = 0; i < nOps; i++) {
    const op = weighted(w);
    if (op === 'run' || op === 'addTask') {
      const name = weighted(nameW);
      const rec = { i, kind: op, name, v: i, settles: 0, progress: [], shown: {} };
      const params = { v: i };
      if (name === 'sleep') params.ms = R(20);
      if (name === 'prog') rec.n = params.n = R(5);
      const opts = {};
      if (rng() < 0.35) {
        rec.bufLen = 1 + R(64);
        rec.buf = params.buf = new ArrayBuffer(rec.bufLen);
        fill(rec.buf, i);
        rec.bufSum = new Uint8Array(rec.buf).reduce((a, b) => a + b, 0);
        if (rng() < 0.7) { opts.transfer = [rec.buf]; rec.transfer = true; }
      } else { rec.bufLen = -1; rec.bufSum = -1; }
      const t = pick([undefined, undefined, 0, 5 + R(60), Infinity]);
      if (t !== undefined) opts.timeout = t;
      rec.timeout = t;
      if (!rec.transfer && rng() < 0.4) rec.retries = opts.retries = R(3);
      if (rng() < 0.4) opts.priority = R(7) - 3;
      if (rng() < 0.3) opts.raw = true;
      if (rng() < 0.5) { opts.onProgress = onProgress(rec); rec.wantProgress = true; }
      let ac, when;
      if (rng() < 0.3) {
        ac = new AbortController();
        opts.signal = ac.signal;
        when = pick(['before', 'sync', 'micro', 'timer', 'timer']);
        rec.reason = 'reason-' + i;
        if (when === 'before') { ac.abort(rec.reason); rec.aborted = true; }
      }
      rec.shown = { ...params, buf: rec.buf ? rec.bufLen : undefined, ...opts, signal: when, onProgress: !!opts.onProgress, transfer: !!opts.transfer };
      recs.push(rec);
      if (op === 'run') {
        tm.run(name, params, opts).then((v) => settle(rec, true, v), (e) => { if (e && e.taskId) rec.id = e.taskId; settle(rec, false, e); });
      } else {
        try {
          const h = tm.addTask({ name, params, ...opts,
            onSuccess: (r) => { if (r.taskId !== rec.id) bad(desc(rec) + ': onSuccess taskId ' + r.taskId); settle(rec, true, r.content); },
            onError: (r) => { if (r.taskId !== rec.id) bad(desc(rec) + ': onError taskId ' + r.taskId); settle(rec, false, { code: r.code, message: r.error, cause: r.cause, transfer: r.transfer }); } });
          rec.id = h.id;
          if (typeof h.id !== 'string') bad(desc(rec) + ': addTask id ' + h.id);
        } catch (e) {
          rec.threw = true;
          settle(rec, false, e);
        }
      }
      if (rec.transfer && !rec.buf.detached && !(rec.threw || (rec.settles && rec.val && rec.val.transfer))) {
        // run() moves the buffers when called
        if (!(rec.aborted && op === 'run')) bad(desc(rec) + ': transfer buffer not detached after the call');
      }
      if (ac && when !== 'before') {
        const abort = () => { rec.aborted = true; ac.abort(rec.reason); };
        if (when === 'sync') abort();
        else if (when === 'micro') queueMicrotask(abort);
        else setTimeout(abort, R(30));
      }
    } else if (op === 'cancel') {
      let ids = [];
      if (rng() < 0.5) { const st = tm.status(); ids = [...st.pending, ...st.working]; }
      else ids = recs.filter((r) => r.id).map((r) => r.id);
      if (ids.length) {
        const id = pick(ids);
        for (const r of recs) if (r.id === id) r.canceled = true;
        // a run() whose id is not known yet: mark by status later
        if (!recs.some((r) => r.id === id)) (window.__unknownCancels = window.__unknownCancels || []).push(id);
        try { tm.cancel(id); } catch (e) { bad('op ' + i + ' cancel(' + id + ') threw ' + e.code + ' ' + e.message); }
        log.push('op ' + i + ' cancel ' + id);
      }
    } else if (op === 'closeWorker') {
      const live = wm.workers().filter((x) => x.status !== 'closed');
      if (live.length) {
        const id = pick(live).id;
        closedWorkers++;
        try { wm.closeWorker(id); } catch (e) { bad('op ' + i + ' closeWorker(' + id + ') threw ' + e.code + ' ' + e.message); }
        log.push('op ' + i + ' closeWorker ' + id);
      }
    } else if (op === 'addWorker') {
      try { wm.addWorker(cfg()); } catch (e) { bad('op ' + i + ' addWorker threw ' + e.code + ' ' + e.message); }
      log.push('op ' + i + ' addWorker');
    } else if (op === 'subscribe') {
      const sub = { stopped: false, last: -1, calls: 0 };
      sub.stop = tm.subscribe((m) => {
        if (sub.stopped) bad('subscriber ' + subs.indexOf(sub) + ' called after stop: ' + m.message + ' seq ' + m.seq);
        if (!(m.seq > sub.last)) bad('subscriber seq ' + m.seq + ' after ' + sub.last);
        if (m.managerId !== tm.id) bad('subscriber managerId ' + m.managerId);
        sub.last = m.seq; sub.calls++;
      });
      subs.push(sub);
    } else if (op === 'unsubscribe') {
      const live = subs.filter((x) => !x.stopped);
      if (live.length) { const sub = pick(live); sub.stopped = true; sub.stop(); }
    } else if (op === 'status') {
      window.__inStatus = true;
      let st;
      try { st = tm.status(); } finally { window.__inStatus = false; }
      for (const id of [...st.pending, ...st.working]) {
        const rec = recs.find((r) => r.id === id);
        if (rec && rec.settles && !rec.inStatus) bad(desc(rec) + ': settled (' + (rec.ok ? 'ok' : rec.val.code + ' ' + rec.val.message) + ') ' + (performance.now() - rec.settledAt).toFixed(1) + 'ms ago but status still lists it in ' + (st.pending.includes(id) ? 'pending' : 'working') + '; stats ' + JSON.stringify(tm.stats().workers.map((w) => [w.id, w.status, w.inFlight])));
      }
    } else if (op === 'sleep') {
      await sleep(R(15));
    } else {
      await null;
    }
  }
  await sleep(R(60));
  closeCalled = true;
  const closed = await Promise.race([tm.close().then(() => true), sleep(10000).then(() => false)]);
  if (!closed) bad('tm.close() did not resolve within 10s');
  await sleep(50);
  for (const rec of recs) {
    if (rec.settles === 0) bad(desc(rec) + ': never settled (progress ' + JSON.stringify(rec.progress) + ')');
  }
  const held = heldBy(tm);
  if (held !== 0) bad('heldBy(tm) is ' + held + ' after close');
  const st = tm.status();
  if (st.pending.length || st.working.length) bad('status after close: ' + JSON.stringify(st));
  // Tasks canceled via an id of a run() not known to the rec: drop the ERR_CANCELED complaint
  const unknown = new Set(window.__unknownCancels || []);
  window.__unknownCancels = [];
  const out = violations.filter((v) => { const m = / (task-\d+):/.exec(v); return !(m && unknown.has(m[1]) && v.includes('ERR_CANCELED')); });
  log.push('workers ' + JSON.stringify(wm.workers().map((x) => [x.id, x.status, x.lastError])));
  const summary = { ops: recs.length, ok: recs.filter((r) => r.ok).length, codes: {} };
  for (const r of recs) if (r.settles && !r.ok) summary.codes[r.val.code] = (summary.codes[r.val.code] || 0) + 1;
  return { violations: out, summary, log };
};
true`

func randomOpsPage(t *testing.T) func(seed, ops int, weights string) (violations []string, summary map[string]any) {
	ctx := apiPageWith(t, map[string]string{"variety-worker.js": varietyWorker})
	var ok bool
	eval(t, ctx, randomOpsJS, &ok)
	return func(seed, ops int, weights string) ([]string, map[string]any) {
		if weights == "" {
			weights = "undefined"
		}
		var got struct {
			Violations []string       `json:"violations"`
			Summary    map[string]any `json:"summary"`
			Log        []string       `json:"log"`
		}
		eval(t, ctx, fmt.Sprintf(`window.randomOps(%d, %d, %s)`, seed, ops, weights), &got)
		if len(got.Violations) > 0 || os.Getenv("ATMO_INVARIANTS_LOG") != "" {
			t.Logf("seed %d log: %v", seed, got.Log)
		}
		return got.Violations, got.Summary
	}
}

// TestJSAPIRandomOperations runs seeded random sequences of run, addTask,
// cancel, closeWorker, addWorker, subscribe and close, and checks the
// invariants after each. ATMO_INVARIANTS_SEED=n runs only seed n;
// ATMO_INVARIANTS_SEEDS=n runs n seeds (default 25).
func TestJSAPIRandomOperations(t *testing.T) {
	first, n := 1, 25
	if v := os.Getenv("ATMO_INVARIANTS_SEED"); v != "" {
		first, _ = strconv.Atoi(v)
		n = 1
	}
	if v := os.Getenv("ATMO_INVARIANTS_SEEDS"); v != "" {
		n, _ = strconv.Atoi(v)
	}
	ops := 60
	if v := os.Getenv("ATMO_INVARIANTS_OPS"); v != "" {
		ops, _ = strconv.Atoi(v)
	}
	run := randomOpsPage(t)
	start, pageStart := time.Now(), time.Now()
	for seed := first; seed < first+n; seed++ {
		if time.Since(pageStart) > 50*time.Second { // a tab lives 90s
			run, pageStart = randomOpsPage(t), time.Now()
		}
		v, summary := run(seed, ops, os.Getenv("ATMO_INVARIANTS_WEIGHTS"))
		t.Logf("seed %d: %v", seed, summary)
		for _, x := range v {
			t.Errorf("seed %d: %s", seed, x)
		}
		if time.Since(start) > 150*time.Second {
			t.Logf("stopping after seed %d: time", seed)
			break
		}
	}
}
