// seed-server-worker.js: a worker written by hand to the Atmo Workers
// protocol for Node.js worker_threads, the way the seed's generator writes a
// `server` worker: parentPort instead of self, no helper.
//
// Tasks: add, multiply, divide, fibonacci.
const { parentPort } = require('worker_threads');

let myWorkerId = null; // our id, from init-worker, sent back with every message

parentPort.on('message', (data) => {
  const { message, taskId, content } = data;

  switch (message) {
    case 'init-worker':
      myWorkerId = data.id;
      parentPort.postMessage({
        message: 'worker-ready',
        workerId: myWorkerId,
        content: { tasks: data.content },
      });
      break;

    case 'worker-work': {
      const { name, params } = content;
      try {
        parentPort.postMessage({
          message: 'worker-response',
          taskId,
          workerId: myWorkerId,
          content: run(name, params),
        });
      } catch (error) {
        parentPort.postMessage({
          message: 'worker-response',
          taskId,
          workerId: myWorkerId,
          error: error.message,
        });
      }
      break;
    }
  }
});

function run(name, params) {
  switch (name) {
    case 'add':
      return params.a + params.b;
    case 'multiply':
      return params.a * params.b;
    case 'divide':
      if (params.b === 0) {
        throw new Error('Division by zero is not allowed');
      }
      return params.a / params.b;
    case 'fibonacci':
      return fibonacci(params.n);
    default:
      throw new Error(`Unknown task: ${name}`);
  }
}

function fibonacci(n) {
  return n <= 1 ? n : fibonacci(n - 1) + fibonacci(n - 2);
}
