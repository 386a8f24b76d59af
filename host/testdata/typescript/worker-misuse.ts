// What the worker types refuse.
import { atmoWorker } from './atmo-worker.mjs';

// @ts-expect-error a number has no handlers
atmoWorker(5);
// @ts-expect-error transfer needs its list
atmoWorker.transfer(new ArrayBuffer(1));
// @ts-expect-error the list is an array, not a buffer alone
atmoWorker.transfer(1, new ArrayBuffer(1));
atmoWorker({
  // @ts-expect-error progress takes the value to report
  a: (_: unknown, ctx) => ctx.progress(),
  // @ts-expect-error the context has no such member
  b: (_: unknown, ctx) => ctx.cancelled,
});
export {};
