// echo-worker.js: a worker written with jsworker/atmo-worker.js, as a Node.js
// worker_threads script. Every task answers {worker, name, params, thread};
// params.delay (ms) makes it wait first, params.exit makes the thread exit
// with that code, params.throw fails the task with that message,
// params.uncaught throws that outside the task (an uncaught exception) while
// the task waits forever,
// params.fib computes fibonacci(fib) (CPU work), params.beat appends a byte
// to that file every 5 ms from then on (to see that the thread is gone).
const fs = require('fs');
const path = require('path');
const { threadId } = require('worker_threads');
const { atmoWorker } = require(path.join(__dirname, '../../../../jsworker/atmo-worker.js'));

function fibonacci(n) {
  return n <= 1 ? n : fibonacci(n - 1) + fibonacci(n - 2);
}

const handler = async (params, ctx) => {
  params = params || {};
  if (params.delay) await new Promise((r) => setTimeout(r, params.delay));
  if (params.exit !== undefined) process.exit(params.exit);
  if (params.throw) throw new Error(params.throw);
  if (params.beat) setInterval(() => fs.appendFileSync(params.beat, '.'), 5);
  if (params.uncaught) {
    setTimeout(() => { throw new Error(params.uncaught); }, 0);
    await new Promise(() => {}); // the task never ends by itself
  }
  const fib = params.fib !== undefined ? fibonacci(params.fib) : undefined;
  return { worker: ctx.workerId, name: ctx.name, params, thread: threadId, fib };
};

atmoWorker(Object.fromEntries(['echo', 'a', 'b', 'c', 'fib'].map((n) => [n, handler])));
