// math-worker.js: a worker written to the Atmo Workers protocol by hand, with
// no helper, exactly as the seed README shows. It runs unchanged under atmo.
//
// Tasks: add, subtract, multiply, divide, power, sqrt, fibonacci.
let myWorkerId = null; // our id, from init-worker, sent back with every message

self.onmessage = function (e) {
  const { message, taskId, content } = e.data;

  switch (message) {
    case 'init-worker':
      myWorkerId = e.data.id;
      self.postMessage({
        message: 'worker-ready',
        workerId: myWorkerId,
        content: { tasks: e.data.content },
      });
      break;

    case 'worker-work': {
      const { name, params } = content;
      try {
        self.postMessage({
          message: 'worker-response',
          taskId,
          workerId: myWorkerId,
          content: run(name, params),
        });
      } catch (error) {
        self.postMessage({
          message: 'worker-response',
          taskId,
          workerId: myWorkerId,
          error: error.message,
        });
      }
      break;
    }
  }
};

// The largest fibonacci input: it is computed the slow way, as a CPU load
// for demos and benchmarks (45 takes seconds, each step up 1.6 times longer).
const MAX_FIBONACCI = 45;

// number is params[key], which must be a number.
function number(params, key) {
  const v = params === null || typeof params !== 'object' ? undefined : params[key];
  if (typeof v !== 'number' || Number.isNaN(v)) {
    throw new Error(`params.${key} must be a number`);
  }
  return v;
}

function run(name, params) {
  switch (name) {
    case 'add':
      return number(params, 'a') + number(params, 'b');
    case 'subtract':
      return number(params, 'a') - number(params, 'b');
    case 'multiply':
      return number(params, 'a') * number(params, 'b');
    case 'divide': {
      const a = number(params, 'a');
      const b = number(params, 'b');
      if (b === 0) {
        throw new Error('Division by zero is not allowed');
      }
      return a / b;
    }
    case 'power':
      return Math.pow(number(params, 'a'), number(params, 'b'));
    case 'sqrt': {
      const a = number(params, 'a');
      if (a < 0) {
        throw new Error('Square root of a negative number is not real');
      }
      return Math.sqrt(a);
    }
    case 'fibonacci': {
      const n = number(params, 'n');
      if (n < 0) {
        throw new Error('Fibonacci input must be non-negative');
      }
      if (!Number.isInteger(n) || n > MAX_FIBONACCI) {
        throw new Error(`Fibonacci input must be a whole number up to ${MAX_FIBONACCI} (it is computed the slow way, as a CPU load)`);
      }
      return fibonacci(n);
    }
    default:
      throw new Error(`Unknown task: ${name}`);
  }
}

function fibonacci(n) {
  if (n <= 1) return n;
  return fibonacci(n - 1) + fibonacci(n - 2);
}
