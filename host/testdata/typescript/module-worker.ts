// A module Web Worker (`new Worker(url, { type: 'module' })`) in TypeScript.
import { atmoWorker } from './atmo-worker.mjs';
import type { Handler, TaskContext, Transfer } from './atmo-worker.mjs';

const add: Handler<{ a: number; b: number }, number> = ({ a, b }) => a + b;
const pixels = (p: { buf: Uint8Array }, ctx: TaskContext): Transfer<Uint8Array> => {
  ctx.progress({ at: 0 });
  if (ctx.signal.aborted) throw ctx.signal.reason;
  return atmoWorker.transfer(p.buf, [p.buf.buffer]);
};
const model = await Promise.resolve({ weights: [1, 2] }); // load first: init-worker waits
atmoWorker({ add, pixels, weights: () => model.weights, shared: (p: { sab: SharedArrayBuffer }) => atmoWorker.transfer(p.sab, [p.sab]) });
