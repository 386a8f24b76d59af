// A classic Web Worker in TypeScript: the README's helper example, as a
// TypeScript user would write it.
/// <reference path="./atmo-worker.d.ts" />
importScripts('/jsworker/atmo-worker.js');
// sleep waits ms, or rejects as soon as the task is cancelled.
const sleep = (ms: number, signal: AbortSignal) => new Promise<void>((resolve, reject) => {
  if (signal.aborted) return reject(signal.reason);
  const timer = setTimeout(resolve, ms);
  signal.addEventListener('abort', () => { clearTimeout(timer); reject(signal.reason); }, { once: true });
});
atmoWorker({
  add: ({ a, b }: { a: number; b: number }) => a + b,
  divide: ({ a, b }: { a: number; b: number }) => { if (b === 0) throw new Error('Division by zero is not allowed'); return a / b; },
  slow: async ({ ms }: { ms: number }, { signal, progress }) => { progress(0.5); await sleep(ms, signal); return 'done'; },
  bytes: (p: { buf: Uint8Array }) => atmoWorker.transfer(p.buf, [p.buf.buffer]), // move an ArrayBuffer back, no copy
  context: (_: unknown, ctx) => [ctx.name, ctx.taskId, ctx.workerId],
});

// A class's methods are tasks too.
class Model {
  scale = 2;
  predict(x: number) { return x * this.scale; }
}
atmoWorker(new Model());
