// echo-worker.js: a worker written with jsworker/atmo-worker.js, as a Node.js
// worker_threads script. Every task (echo, a, b, c, fib) answers
// {worker, name, params, thread, fib}. Params steer it:
//   delay: ms      wait that long first
//   exit: code     end the thread with that exit code
//   exitOnce: file end the thread with code 1 unless the file exists (it is
//                  created first, so a retry succeeds)
//   spin: true     loop forever (only terminate() stops it)
//   throw: msg     fail the task with that message
//   uncaught: msg  throw msg outside the task (an uncaught exception) while
//                  the task waits forever
//   fib: n         compute fibonacci(n) (CPU work)
//   beat: file     append a byte to the file every 5 ms from now on (to see
//                  whether the thread is still alive)
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
  if (params.exitOnce && !fs.existsSync(params.exitOnce)) {
    fs.writeFileSync(params.exitOnce, 'crashed once');
    process.exit(1);
  }
  if (params.spin) for (;;);
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
