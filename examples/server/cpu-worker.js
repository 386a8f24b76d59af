// cpu-worker.js: the worker of the server example, a Node.js worker_threads
// script written with jsworker/atmo-worker.js. Each task is pure CPU work,
// so a pool of these uses as many cores as it has workers.
//
// Tasks:
//   heavy-computation {iterations}  a numeric loop; returns its sum
//   data-processing   {size, seed}  builds and sorts an array; returns its median
const path = require('path');
const { atmoWorker } = require(path.join(__dirname, '../../jsworker/atmo-worker.js'));

atmoWorker({
  'heavy-computation': (params) => {
    const { iterations } = params || {}; // null params: say which to give
    if (!(iterations >= 0)) throw new Error('heavy-computation needs params.iterations >= 0');
    let sum = 0;
    for (let i = 0; i < iterations; i++) sum += Math.sqrt(i) * Math.sin(i);
    return sum;
  },
  'data-processing': (params) => {
    const { size, seed } = params || {};
    // At most 2**27 numbers (1 GiB): more is no typed array's length here.
    if (!(Number.isInteger(size) && size > 0 && size <= 2 ** 27)) throw new Error('data-processing needs params.size, a whole number from 1 to 134,217,728');
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
