// raw-worker.js: the "raw" implementation's worker, the physical limit the
// suite compares against. No protocol, no library: each message is
// {id, op, params}, answered at once with {id, result}.
//
// ops: echo (params back), fib ({n} → fib(n)), bytes ({data, transfer} back;
// with transfer the Uint8Array's buffer is moved, not copied).
'use strict';

function fib(n) {
  return n <= 1 ? n : fib(n - 1) + fib(n - 2);
}

self.onmessage = (e) => {
  const { id, op, params } = e.data;
  switch (op) {
    case 'echo':
      self.postMessage({ id, result: params });
      break;
    case 'fib':
      self.postMessage({ id, result: fib(params.n) });
      break;
    case 'bytes':
      self.postMessage({ id, result: params }, params.transfer ? [params.data.buffer] : []);
      break;
    default:
      self.postMessage({ id, error: 'unknown op ' + op });
  }
};
