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

function run(name, params) {
  switch (name) {
    case 'add':
      return params.a + params.b;
    case 'subtract':
      return params.a - params.b;
    case 'multiply':
      return params.a * params.b;
    case 'divide':
      if (params.b === 0) {
        throw new Error('Division by zero is not allowed');
      }
      return params.a / params.b;
    case 'power':
      return Math.pow(params.a, params.b);
    case 'sqrt':
      if (params.a < 0) {
        throw new Error('Square root of a negative number is not real');
      }
      return Math.sqrt(params.a);
    case 'fibonacci':
      if (params.n < 0) {
        throw new Error('Fibonacci input must be non-negative');
      }
      return fibonacci(params.n);
    default:
      throw new Error(`Unknown task: ${name}`);
  }
}

function fibonacci(n) {
  if (n <= 1) return n;
  return fibonacci(n - 1) + fibonacci(n - 2);
}
