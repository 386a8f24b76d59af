// pool-worker.js: the workerpool implementation's worker. The same three
// tasks as raw-worker.js, registered with workerpool (installed by npm under
// node_modules/, not copied).
'use strict';
importScripts('/bench/node_modules/workerpool/dist/workerpool.min.js');

function fib(n) {
  return n <= 1 ? n : fib(n - 1) + fib(n - 2);
}

workerpool.worker({
  echo: (params) => params,
  fib: (params) => fib(params.n),
  // With transfer the buffer moves back instead of being copied.
  bytes: (params) => (params.transfer ? new workerpool.Transfer(params, [params.data.buffer]) : params),
});
