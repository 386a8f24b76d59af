// Readonly arrays (`as const`) where the API takes lists.
import { loadAtmo } from './atmo.js';
const TASKS = ['add', 'divide'] as const;
const CONFIGS = [{ tasks: TASKS, script: '/workers/math-worker.js' }] as const;
export async function consts() {
  const atmo = await loadAtmo();
  const tm = atmo.createTaskManager();
  const wm = atmo.createBrowserWorkerManager(tm, CONFIGS);
  wm.addWorker({ tasks: TASKS, module: '/workers/math.wasm' });
  const buf = new ArrayBuffer(8);
  const transfer = [buf] as const;
  await tm.run('add', { buf }, { transfer });
}
