// bench.js: the bench page's harness. It runs one measurement at a time for
// the host (go run ./host bench), which repeats them and takes medians:
//
//   await bench.ready
//   await bench.setup(spec)     start the pool and warm it up (not timed)
//   await bench.measure()       the timed part; resolves to {figure: number}
//   await bench.teardown()      stop the pool
//
// spec is {workload, impl, ...settings}; impl is 'raw' (hand-written
// postMessage to bare workers), 'workerpool' (the npm package) or 'atmo-js' /
// 'atmo-go', which this page hands to the Go WASM program
// (examples/bench/atmobench) so that the Go side calls the TaskManager
// directly. raw and workerpool share the workload code below through a tiny
// pool interface: call(op, params, transfer) → Promise, close().
'use strict';

(function () {
  const RAW_WORKER = '/bench/raw-worker.js';
  const POOL_WORKER = '/bench/pool-worker.js';

  // rawPool starts n bare workers. Calls go round-robin and are posted at
  // once (no queue: the browser's message queues are the queue).
  function rawPool(n) {
    const workers = [];
    const pending = new Map(); // id → {resolve, reject}
    let next = 0;
    let ids = 0;
    const onmessage = (e) => {
      const { id, result, error } = e.data;
      const p = pending.get(id);
      pending.delete(id);
      if (error !== undefined) p.reject(new Error(error));
      else p.resolve(result);
    };
    for (let i = 0; i < n; i++) {
      const w = new Worker(RAW_WORKER);
      w.onmessage = onmessage;
      w.onerror = (e) => console.error('raw worker:', e.message);
      workers.push(w);
    }
    return {
      call(op, params, transfer) {
        const id = ids++;
        const w = workers[next];
        next = (next + 1) % workers.length;
        return new Promise((resolve, reject) => {
          pending.set(id, { resolve, reject });
          if (transfer) w.postMessage({ id, op, params }, transfer);
          else w.postMessage({ id, op, params }); // no empty transfer list: Chromium is slower with one
        });
      },
      close() {
        for (const w of workers) w.terminate();
      },
    };
  }

  // workerPool is workerpool with n workers, all started at once.
  function workerPool(n) {
    const pool = workerpool.pool(POOL_WORKER, { maxWorkers: n, minWorkers: n, workerType: 'web' });
    return {
      call: (op, params, transfer) => pool.exec(op, [params], transfer ? { transfer } : undefined),
      close: () => pool.terminate(true),
    };
  }

  const pools = { raw: rawPool, workerpool: workerPool };

  // heap is the page's JS heap in use, after a full GC when the browser
  // allows one (host bench starts Chromium with --js-flags=--expose-gc and
  // --enable-precise-memory-info).
  function heap() {
    if (typeof gc === 'function') gc();
    return performance.memory ? performance.memory.usedJSHeapSize : 0;
  }

  function checkBytes(result, size) {
    const got = result && result.data && result.data.byteLength;
    if (got !== size) throw new Error(`bytes: sent ${size} bytes, got ${got} back`);
  }

  function checkEcho(result, i) {
    if (!result || result.i !== i) throw new Error(`echo ${i}: got ${JSON.stringify(result)} back`);
  }

  function fib(n) {
    return n <= 1 ? n : fib(n - 1) + fib(n - 2);
  }

  // jsWorkloads run one workload on a pool made by newPool. setup returns the
  // state measure needs; everything in measure is timed.
  const jsWorkloads = {
    roundtrip: {
      async setup(spec, newPool) {
        const pool = newPool(1);
        // Warm up as long as the measure (atmobench does the same): the
        // first tasks run before the JIT has compiled the hot paths.
        for (let i = 0; i < spec.tasks; i++) await pool.call('echo', { i });
        return { pool };
      },
      async measure(spec, { pool }) {
        const t0 = performance.now();
        for (let i = 0; i < spec.tasks; i++) checkEcho(await pool.call('echo', { i }), i);
        const ms = performance.now() - t0;
        return { us_per_task: (ms * 1000) / spec.tasks, tasks: spec.tasks };
      },
    },
    throughput: {
      async setup(spec, newPool) {
        const pool = newPool(spec.workers);
        await Promise.all(Array.from({ length: 100 }, (_, i) => pool.call('echo', { i })));
        return { pool };
      },
      async measure(spec, { pool }) {
        const t0 = performance.now();
        const all = new Array(spec.tasks);
        for (let i = 0; i < spec.tasks; i++) all[i] = pool.call('echo', { i });
        const submitted = performance.now();
        const got = await Promise.all(all);
        const ms = performance.now() - t0;
        got.forEach(checkEcho);
        return {
          tasks_per_s: (spec.tasks * 1000) / ms,
          submit_us_per_task: ((submitted - t0) * 1000) / spec.tasks,
          tasks: spec.tasks,
        };
      },
    },
    cpu: {
      async setup(spec, newPool) {
        const pool = newPool(spec.workers);
        await Promise.all(Array.from({ length: spec.workers * 2 }, () => pool.call('fib', { n: 15 })));
        return { pool };
      },
      async measure(spec, { pool }) {
        const t0 = performance.now();
        const all = [];
        for (let i = 0; i < spec.tasks; i++) all.push(pool.call('fib', { n: spec.n }));
        const got = await Promise.all(all);
        const ms = performance.now() - t0;
        const want = fib(spec.n);
        for (const r of got) if (r !== want) throw new Error(`fib(${spec.n}): got ${r}, want ${want}`);
        return { ms, tasks: spec.tasks };
      },
    },
    payload: {
      async setup(spec, newPool) {
        const pool = newPool(1);
        let data = new Uint8Array(spec.size).fill(7);
        // spec.warmUps round trips of the full size, not counted.
        for (let i = 0; i < spec.warmUps; i++) {
          const r = await pool.call('bytes', { data, transfer: spec.transfer }, spec.transfer ? [data.buffer] : null);
          checkBytes(r, spec.size);
          data = r.data;
        }
        return { pool, data };
      },
      async measure(spec, state) {
        const { pool } = state;
        let data = state.data;
        const t0 = performance.now();
        for (let i = 0; i < spec.rounds; i++) {
          const r = await pool.call('bytes', { data, transfer: spec.transfer }, spec.transfer ? [data.buffer] : null);
          checkBytes(r, spec.size);
          data = r.data; // when transferred, the one sent is detached now
        }
        state.data = data;
        return { ms: (performance.now() - t0) / spec.rounds };
      },
    },
    startup: {
      async setup() {
        return {};
      },
      // Time until every one of spec.workers fresh workers answered a first
      // message (for atmo that is worker-ready; here an echo).
      async measure(spec, state, newPool) {
        const t0 = performance.now();
        const pool = newPool(spec.workers);
        state.pool = pool;
        await Promise.all(Array.from({ length: spec.workers }, (_, i) => pool.call('echo', { i })));
        return { ms: performance.now() - t0 };
      },
    },
    queue: {
      async setup() {
        return {};
      },
      // spec.tasks tasks are submitted before any worker has started; the
      // drain is timed from the first submit to the last answer, less the
      // time the memory reading took (its collection), as atmobench does.
      async measure(spec, state, newPool) {
        const before = heap();
        const t0 = performance.now();
        const pool = newPool(spec.workers);
        state.pool = pool;
        const all = new Array(spec.tasks);
        for (let i = 0; i < spec.tasks; i++) all[i] = pool.call('echo', { i });
        const submitted = performance.now();
        const after = heap();
        const measuring = performance.now() - submitted;
        const got = await Promise.all(all);
        const ms = performance.now() - t0 - measuring;
        got.forEach(checkEcho);
        return {
          drain_ms: ms,
          us_per_task: (ms * 1000) / spec.tasks,
          submit_us_per_task: ((submitted - t0) * 1000) / spec.tasks,
          bytes_per_task: Math.max(0, after - before) / spec.tasks,
          js_bytes_per_task: Math.max(0, after - before) / spec.tasks,
          tasks: spec.tasks,
        };
      },
    },
  };
  jsWorkloads['main-thread'] = jsWorkloads.throughput;

  let goReady;
  const goLoaded = new Promise((resolve) => (goReady = resolve));
  globalThis.__atmoBenchReady = () => goReady(globalThis.atmoBench);

  // The Go WASM bench program: it sets globalThis.atmoBench and calls
  // __atmoBenchReady.
  async function startGo() {
    const go = new Go();
    const { instance } = await WebAssembly.instantiateStreaming(fetch('/bench/bin/atmobench.wasm'), go.importObject);
    go.run(instance).then(() => console.error('atmobench exited'));
    return goLoaded;
  }

  let current = null; // {spec, state} of the js workload set up, or {go: true}

  const bench = {
    ready: null,
    info() {
      return {
        userAgent: navigator.userAgent,
        hardwareConcurrency: navigator.hardwareConcurrency,
        preciseMemory: typeof gc === 'function' && !!performance.memory,
      };
    },
    async setup(spec) {
      if (current) await bench.teardown();
      if (spec.impl === 'atmo-js' || spec.impl === 'atmo-go') {
        const go = await goLoaded;
        await go.setup(JSON.stringify(spec));
        current = { spec, go };
        return;
      }
      const w = jsWorkloads[spec.workload];
      const newPool = pools[spec.impl];
      if (!w || !newPool) throw new Error(`no workload ${spec.workload} for ${spec.impl}`);
      current = { spec, w, newPool, state: null };
      current.state = await w.setup(spec, newPool);
    },
    async measure() {
      if (!current) throw new Error('measure before setup');
      if (current.go) return JSON.parse(await current.go.measure());
      return current.w.measure(current.spec, current.state, current.newPool);
    },
    async teardown() {
      const c = current;
      current = null;
      if (!c) return;
      if (c.go) return c.go.teardown();
      if (c.state && c.state.pool) await c.state.pool.close();
    },
  };
  bench.ready = startGo().then(
    () => {
      document.body.dataset.state = 'ready';
    },
    (err) => {
      document.body.dataset.state = 'error';
      document.body.dataset.error = String((err && err.message) || err);
      throw err;
    },
  );
  globalThis.bench = bench;
})();
