// What the page types refuse: misspelt options, missing fields, wrong kinds.
import { loadAtmo } from './atmo.js';
export async function misuse() {
  // @ts-expect-error unknown load option
  await loadAtmo({ wasmURL: '/atmo.wasm' });
  const atmo = await loadAtmo();
  // @ts-expect-error unknown manager option
  atmo.createTaskManager({ maxQueueSize: 10 });
  const tm = atmo.createTaskManager();
  // @ts-expect-error misspelt config field
  atmo.createBrowserWorkerManager(tm, [{ tasks: ['a'], scirpt: '/w.js' }]);
  // @ts-expect-error tasks required
  atmo.createBrowserWorkerManager(tm, [{ script: '/w.js' }]);
  // @ts-expect-error type must be classic or module
  atmo.createBrowserWorkerManager(tm, [{ tasks: ['a'], script: '/w.js', type: 'esm' }]);
  // @ts-expect-error misspelt run option
  await tm.run('a', {}, { timout: 5 });
  // @ts-expect-error misspelt addTask callback
  tm.addTask({ name: 'a', onSucess: () => {} });
  // @ts-expect-error name required
  tm.addTask({ params: 1 });
  // @ts-expect-error raw must be boolean
  await tm.run('a', {}, { raw: 1 });
  // @ts-expect-error ready options
  await atmo.createBrowserWorkerManager(tm, []).ready({ timeOut: 1 });
  // @ts-expect-error id is readonly
  tm.id = 'x';
  // @ts-expect-error no such method
  tm.cancelAll();
  // @ts-expect-error subscribe needs a function
  tm.subscribe('x');
}
import { AtmoError } from './atmo.js';
// @ts-expect-error code must be a string
new AtmoError('x', { code: 5 });
// @ts-expect-error misspelt field
new AtmoError('x', { taskid: 't' });
export function narrow(e: AtmoError) {
  // @ts-expect-error not one of atmo's codes
  if (e.code === 'ERR_NOPE') return 1;
  return 0;
}
