// atmo-worker.mjs: the same helper as atmo-worker.js, for module workers
// (`new Worker(url, { type: 'module' })`).
//
//   import { atmoWorker } from './atmo-worker.mjs';
//   atmoWorker({ add: ({ a, b }) => a + b });
import './atmo-worker.js';

export const atmoWorker = globalThis.atmoWorker;
