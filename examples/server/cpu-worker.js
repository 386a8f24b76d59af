// cpu-worker.js: the worker of the server example, a Node.js worker_threads
// script written with jsworker/atmo-worker.js. Each task is pure CPU work,
// so a pool of these uses as many cores as it has workers.
//
// Tasks:
//   heavy-computation {iterations}  a numeric loop (a whole number of
//                                   iterations, at most 1e10: minutes); returns its sum
//   data-processing   {size, seed}  builds and sorts an array; returns its median
//                                   (seed: any number, default 1)
const path = require('path');
const { atmoWorker } = require(path.join(__dirname, '../../jsworker/atmo-worker.js'));

atmoWorker({
  'heavy-computation': (params) => {
    const { iterations } = params || {}; // null params: say which to give
    // A loop that only computes cannot be cancelled: a count it could not
    // finish (Infinity, 1e15) would hold the worker until it is terminated.
    if (!(Number.isInteger(iterations) && iterations >= 0 && iterations <= 1e10)) {
      throw new Error('heavy-computation needs params.iterations, a whole number from 0 to 10,000,000,000');
    }
    let sum = 0;
    for (let i = 0; i < iterations; i++) sum += Math.sqrt(i) * Math.sin(i);
    return sum;
  },
  'data-processing': (params) => {
    const { size, seed } = params || {};
    // At most 2**27 numbers (1 GiB): more is no typed array's length here.
    if (!(Number.isInteger(size) && size > 0 && size <= 2 ** 27)) throw new Error('data-processing needs params.size, a whole number from 1 to 134,217,728');
    if (seed !== undefined && seed !== null && !Number.isFinite(seed)) throw new Error('data-processing needs params.seed to be a number, if given');
    let x = seed || 1;
    const data = new Float64Array(size);
    for (let i = 0; i < size; i++) {
      x = (x * 1103515245 + 12345) % 2147483648; // a small LCG: same data for the same seed
      data[i] = x / 2147483648;
    }
    data.sort();
    return data[size >> 1];
  },
});
