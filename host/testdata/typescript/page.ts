// A page in TypeScript: the README's JS API example and every option it lists.
import { loadAtmo, AtmoError } from './atmo.js';
import type { AtmoEvent, Stats, WorkerInfo, StatusSummary } from './atmo.js';

export async function readme() {
  const atmo = await loadAtmo({ wasm: '/atmo.wasm' });
  const tm = atmo.createTaskManager();
  const wm = atmo.createBrowserWorkerManager(tm, [
    { tasks: ['add', 'divide', 'fibonacci'], script: '/workers/math-worker.js' },
    { tasks: ['add', 'divide', 'fibonacci'], module: '/workers/math.wasm' },
  ]);
  await tm.run('add', { a: 1, b: 2 });
  try { await tm.run('divide', { a: 1, b: 0 }); }
  catch (e) { if (e instanceof AtmoError) { e.message; e.code; e.taskId; e.workerId; } }
  tm.addTask({ name: 'fibonacci', params: { n: 30 }, onSuccess: (r) => r.content, onError: (r) => r.error });
  tm.status(); tm.stats(); const stop = tm.subscribe((event) => {}); await tm.close();
  stop();
  const pixels = new Uint8Array(64 << 20);
  const out = await tm.run('blur', { pixels }, { transfer: [pixels.buffer], raw: true });
  // options
  const ac = new AbortController();
  await tm.run('x', 1, { priority: 2, timeout: Infinity, retries: 1, onProgress: (p) => p.content, signal: ac.signal });
  tm.addTask({ name: 'x', priority: 1, timeout: 5, retries: 0, raw: false, signal: ac.signal, transfer: [], onProgress: (r) => r.workerId, id: 'seed', status: 'pending', assignedWorker: '' });
  atmo.createTaskManager({ agingInterval: 1000, loneTaskAwake: 0.3, maxQueue: Infinity });
  wm.addWorker({ tasks: ['a'], script: new URL('./w.js', import.meta.url), type: 'module', count: 2, maxWorkers: 4, idleTimeout: 1000, concurrency: 2, keepAwake: 0.05, startTimeout: 1, taskTimeout: 1, cancelGrace: 1 });
  await wm.ready({ timeout: 5000 });
  await wm.ready();
  const ws: WorkerInfo[] = wm.workers();
  wm.closeWorker(ws[0].id);
  await wm.close();
  const s: Stats = tm.stats();
  s.workers[0].inFlight; s.queueWait.p99;
  const st: StatusSummary = tm.status();
  const e: AtmoEvent = { message: 'new-task', seq: 1, managerId: 'm' };
  await loadAtmo({ wasm: new URL('atmo.wasm', import.meta.url), wasmExec: '../wasm_exec.js', timeout: 1000 });
  await globalThis.loadAtmo();
  tm.id; tm.closed; wm.taskManager.id;
  return [out, st, e];
}

// The subclass host/jsapi_load_test.go writes:
export class AppError extends AtmoError {}
export class TimeoutError extends AtmoError { constructor(m: string) { super(m, { code: 'ERR_APP_TIMEOUT' }); this.name = 'TimeoutError'; } }
export const mine = new AtmoError('x', { code: 'ERR_TASK', taskId: 't1' });
