// atmo-worker.js: the "atmo with JS workers" implementation's worker. The
// same three tasks as raw-worker.js, written with atmo's worker helper
// (jsworker/atmo-worker.js, served at /jsworker/ by the host).
'use strict';
importScripts('/jsworker/atmo-worker.js');

function fib(n) {
  return n <= 1 ? n : fib(n - 1) + fib(n - 2);
}

atmoWorker({
  echo: (params) => params,
  fib: (params) => fib(params.n),
  // A []byte param arrives as a Uint8Array whose buffer the host already
  // transferred; with transfer it moves back too, otherwise it is copied.
  bytes: (params) => (params.transfer ? atmoWorker.transfer(params, [params.data.buffer]) : params),
});
