// Types of atmo-worker.mjs, the ES module form of atmo-worker.js.
export type { TaskContext, Handler, Transfer, AtmoWorker } from './atmo-worker.js';
import type { AtmoWorker } from './atmo-worker.js';
export declare const atmoWorker: AtmoWorker;
