// atmo-worker.js: write a worker for atmo as a table of handlers.
//
//   importScripts('/jsworker/atmo-worker.js');      // classic Web Worker
//   atmoWorker({
//     add: ({ a, b }) => a + b,
//     slow: async ({ ms }, { signal, progress }) => { ... },
//   });
//
// As an ES module: `import { atmoWorker } from '/jsworker/atmo-worker.mjs'`.
// In Node.js worker_threads: `const { atmoWorker } = require('.../atmo-worker.js')`.
//
// The tasks are the functions of the object given (own properties and, for
// a class instance, its methods), called with the object as this. Call
// atmoWorker once per worker. Load this script first thing; the call may
// come after an await: the host's init-worker is kept until then.
//
// A handler gets (params, ctx) and returns a value or a Promise of one. A
// throw or a rejection becomes the task's error. ctx holds:
//   name, taskId, workerId  what is being run;
//   signal                  an AbortSignal, aborted when the host cancels the task;
//   progress(value)         sends a progress report to the task's OnProgress
//                           (it throws, as postMessage does, for a value that
//                           cannot be cloned: from a timer's callback, such a
//                           throw is uncaught, a crash of the worker).
// Return atmoWorker.transfer(value, [buffer, ...]) to move ArrayBuffers back
// instead of copying them; progress takes one too, and one inside a result
// or a report (in its arrays and plain objects) stands for its value.
//
// It speaks the Atmo Workers protocol: init-worker / worker-ready,
// worker-work / worker-response, plus atmo's worker-cancel and worker-progress.
(function (root) {
  'use strict';

  // The host's channel: a Web Worker's global scope, or worker_threads' parentPort.
  // A message with nothing to transfer is posted without a transfer list:
  // Chromium takes ~20 µs longer over postMessage(msg, []) than over
  // postMessage(msg) (measured, a quarter of a round trip).
  // A buffer moved already cannot be moved again: Chromium throws, Node.js
  // 20 drops the message without a word, so the poster throws first, and
  // the task fails saying why instead of waiting for ever.
  const movedAlready = (list) => {
    for (const b of list) {
      if (!(b instanceof ArrayBuffer) || b.byteLength !== 0) continue;
      if (b.detached === true) return true;
      try { new Uint8Array(b); } catch (_) { return true; } // Node.js 20 has no detached
    }
    return false;
  };
  const poster = (target) => (msg, transfer) => {
    if (!transfer || !transfer.length) return target.postMessage(msg);
    // One buffer listed twice (two views of it, or two answers of a batch
    // that share it) moves once: postMessage throws on a duplicate.
    if (transfer.length > 1) transfer = [...new Set(transfer)];
    // A SharedArrayBuffer crosses shared, as it is: postMessage takes none
    // in its transfer list.
    if (typeof SharedArrayBuffer === 'function') transfer = transfer.filter((b) => !(b instanceof SharedArrayBuffer));
    if (movedAlready(transfer)) throw new TypeError('an ArrayBuffer in the transfer list was moved already (it is detached): each buffer can be transferred once');
    target.postMessage(msg, transfer);
  };

  // In a Web Worker, the init-worker the host posts before atmoWorker is
  // called (a worker that awaits a model or a module first) is kept from
  // the moment this script loads, and handed over then: a Web Worker drops
  // a message nobody listens for, where worker_threads' parentPort keeps it.
  // Nothing else comes before the worker answers them (each init-worker is
  // kept, and answered, as parentPort would), and nothing else is kept: a
  // worker that loads the helper and never calls it keeps no more.
  const inWebWorker = typeof WorkerGlobalScope !== 'undefined' && root instanceof WorkerGlobalScope;
  let earlyInits = []; // the init-workers posted before atmoWorker is called
  let refusal = null; // why atmoWorker refused its handlers (see refusedCall)
  const keepEarly = (e) => {
    if (!e.data || e.data.message !== 'init-worker') return;
    if (refusal !== null && !registered) tellRefusal();
    else earlyInits.push(e.data);
  };
  // tellRefusal answers the host's init-worker with why atmoWorker refused
  // its handlers: the start fails (and is tried again, as one that threw
  // before any await is: handlers loaded late may come the next time).
  const tellRefusal = () => {
    try {
      root.postMessage({ message: 'worker-exit', error: refusal });
    } catch (_) {
      // nothing more to tell
    }
  };
  if (inWebWorker) root.addEventListener('message', keepEarly);

  function hostPort() {
    if (inWebWorker) {
      return {
        post: poster(root),
        listen: (fn) => {
          root.removeEventListener('message', keepEarly);
          root.addEventListener('message', (e) => fn(e.data));
          const early = earlyInits;
          earlyInits = [];
          for (const data of early) fn(data); // each answered, as parentPort keeps them all
        },
      };
    }
    // require in CommonJS; in an ES module (a package with "type": "module")
    // Node.js 20.16 and later 20.x, and 22.3 and later (not 21, nor 22.0 to
    // 22.2), give the same through process.getBuiltinModule.
    const builtin = typeof require === 'function' ? require
      : typeof process === 'object' && process && typeof process.getBuiltinModule === 'function' ? process.getBuiltinModule
        : null;
    if (builtin) {
      const { parentPort } = builtin('worker_threads');
      if (parentPort) {
        return {
          post: poster(parentPort),
          listen: (fn) => parentPort.on('message', fn),
        };
      }
      // worker_threads was reached, but this is Node.js's main thread (a
      // script run with plain `node`), where no host posts tasks.
      throw new Error('atmo-worker.js: not inside a Web Worker or a worker_threads Worker: this is Node.js\'s main thread (worker_threads.parentPort is null); start the script as a worker, with a ServerWorkerManager');
    }
    if (typeof process === 'object' && process && process.versions && process.versions.node) {
      throw new Error(`atmo-worker.js: cannot reach worker_threads from an ES module on Node.js ${process.versions.node}: use Node.js 22.3 or later (or 20.16 or later on Node.js 20), or keep atmo-worker.js out of a package whose package.json says "type": "module", where it loads as CommonJS, with require`);
    }
    throw new Error('atmo-worker.js: not inside a Web Worker or a worker_threads Worker');
  }

  // A Transfer is a marker the helper takes apart before posting: a
  // handler's result, or a progress report, is its value, posted with its
  // list. Its own enumerable function (atmoTransfer) makes structured clone refuse
  // one left inside a value (a field of a result, a report); the poster then
  // takes out each one it holds (unwrap) and posts again, so a value with
  // none is never walked.
  const marker = () => 'atmoWorker.transfer inside a value';
  class Transfer {
    constructor(value, list) {
      if (!Array.isArray(list)) {
        throw new TypeError(`atmoWorker.transfer(value, list): list must be an array of the ArrayBuffers in value to move, such as [bytes.buffer] (got ${Object.prototype.toString.call(list)})`);
      }
      this.value = value;
      this.list = list;
      this.atmoTransfer = marker;
    }
  }

  // unwrap returns v with each Transfer in it (in arrays and plain objects,
  // up to 64 levels) replaced by its value, whose list it adds to list; and
  // counts them in found.n. Only what holds one is copied; shared parts and
  // cycles stay as they are.
  function unwrap(v, list, found, depth, copies) {
    if (v instanceof Transfer) {
      found.n++;
      for (const b of v.list) list.push(b);
      return unwrap(v.value, list, found, depth + 1, copies);
    }
    if (v === null || typeof v !== 'object' || depth > 64) return v;
    const p = Object.getPrototypeOf(v);
    const array = Array.isArray(v);
    if (!array && p !== Object.prototype && p !== null) return v;
    if (copies.has(v)) return copies.get(v);
    copies.set(v, v); // met again on its own path: as it is
    const before = found.n;
    const out = array ? v.slice() : Object.assign(p === null ? Object.create(null) : {}, v);
    for (const k of Object.keys(out)) out[k] = unwrap(out[k], list, found, depth + 1, copies);
    const r = found.n > before ? out : v;
    copies.set(v, r);
    return r;
  }

  // postUnwrapped posts msg, and, if structured clone refuses its content
  // because a Transfer sits inside it, posts it again with each taken out.
  function postUnwrapped(port, msg, transfer) {
    try {
      port.post(msg, transfer);
    } catch (err) {
      if (!('content' in msg)) throw err;
      const list = transfer ? [...transfer] : [];
      const found = { n: 0 };
      const content = unwrap(msg.content, list, found, 0, new Map());
      if (found.n === 0) throw err;
      port.post(Object.assign({}, msg, { content }), list);
    }
  }

  // canceledError is the reason a cancelled task's signal aborts with: an
  // AbortError, as fetch's and AbortController.abort()'s are, so that the
  // usual e.name === 'AbortError' check knows it.
  const canceledError = () => typeof DOMException === 'function'
    ? new DOMException('task canceled by the host', 'AbortError')
    : Object.assign(new Error('task canceled by the host'), { name: 'AbortError' });

  // errorText is a failed task's error: never empty, as an error of
  // undefined or '' would tell the host the task succeeded. An object with
  // a message (an Error, or one thrown as { message }) gives its message,
  // as the host reads the seed's error field.
  function errorText(err) {
    try {
      let text;
      if (err instanceof Error) text = err.message || String(err);
      else if (typeof err === 'string') text = err;
      else if (typeof err === 'number') text = String(err); // JSON writes NaN and Infinity as null
      else if (err && typeof err === 'object' && typeof err.message === 'string' && err.message) text = err.message;
      else {
        try {
          text = JSON.stringify(err);
        } catch (_) {
          text = String(err);
        }
      }
      return text || `the handler failed with ${err === '' ? 'an empty string' : String(err)} and no message`;
    } catch (_) {
      // A value neither JSON nor String can write (a cycle with no prototype).
      return 'the handler failed with a value that cannot be written as text';
    }
  }

  // handlersOf is the table of a worker's tasks: the functions among the
  // properties of handlers, its own (getters too, as bundlers define a
  // module's exports) and, for an instance of a class, its methods; a name
  // is taken from the nearest object that has it, whatever it holds there.
  // Each is called with handlers as its this. A class's accessors are no
  // methods and are not run: a getter may read state set up later, or have
  // side effects.
  function handlersOf(handlers) {
    const table = new Map();
    const seen = new Set();
    for (let o = handlers; o && o !== Object.prototype; o = Object.getPrototypeOf(o)) {
      for (const name of Object.getOwnPropertyNames(o)) {
        if (seen.has(name) || (name === 'constructor' && o !== handlers)) continue;
        seen.add(name);
        const d = Object.getOwnPropertyDescriptor(o, name);
        let value;
        if (d && 'value' in d) value = d.value;
        else if (o === handlers) value = Reflect.get(o, name, handlers);
        if (typeof value === 'function') table.set(name, value);
      }
    }
    return table;
  }

  let registered = false; // atmoWorker was called on the host's port

  // keepAwake returns what keeps the thread awake once the worker falls idle,
  // having answered its last task: start(us) keeps it busy for us µs
  // (init-worker's keepAwake, WorkerConfig.KeepAwake, after every task; or
  // worker-work's awake, Options.LoneTaskAwake, after a task the host held
  // alone), so that a task the host posts in that time finds it awake; stop(),
  // when a task comes, ends that early. A sleeping thread's wake-up is the
  // dearest part of a round trip on a virtual machine. The time passes as a
  // chain of short links, each a background task (scheduler.postTask;
  // setImmediate under Node.js) that spins ~5 µs: between two links the thread
  // takes any message waiting, so a task posted meanwhile runs at once. One long
  // spin held it back until the spin ended (measured in
  // examples/bench/NOTES.md). A spin is a count of clock readings, calibrated at
  // the first start (or at init-worker with keepAwake), as performance.now() is
  // coarsened to 100 µs outside cross-origin isolation. Where neither way to
  // post a link exists (a browser without scheduler.postTask), start() is one
  // spin if KeepAwake asked for it, and nothing for a lone task. go-worker.js
  // has the same for Go workers: each script stands alone in its worker, so
  // neither imports it.
  function keepAwake() {
    const post =
      typeof scheduler === 'object' && scheduler && typeof scheduler.postTask === 'function'
        ? (fn) => scheduler.postTask(fn, { priority: 'background' })
        : typeof setImmediate === 'function'
          ? setImmediate
          : null;
    const clock = typeof performance === 'object' && performance && typeof performance.now === 'function';
    const linkUs = 5;
    let perUs = 0; // clock readings a µs
    let left = 0; // links still to run
    let queued = false; // one link at most is waiting to run
    const spin = (n) => {
      for (let i = 0; i < n; i++) performance.now();
    };
    const link = () => {
      queued = false;
      if (left <= 0) return;
      left--;
      spin(Math.ceil(perUs * linkUs));
      queued = true;
      post(link);
    };
    const calibrate = () => {
      if (perUs || !clock) return;
      let reads = 0;
      const end = performance.now() + 2;
      while (performance.now() < end) reads++;
      perUs = Math.max(reads / 2000, 0.001);
    };
    return {
      calibrate,
      // start(us, orSpin): with orSpin, where no link can be posted, one
      // spin of us µs stands in for the chain (KeepAwake asks for it).
      start(us, orSpin) {
        if (!(us > 0) || !clock || !(post || orSpin)) return;
        calibrate();
        us = Math.min(us, 1000);
        if (!post) {
          spin(Math.ceil(perUs * us));
          return;
        }
        left = Math.ceil(us / linkUs);
        if (!queued) {
          queued = true;
          post(link);
        }
      },
      stop() {
        left = 0;
      },
    };
  }

  // micros reads a host's keepAwake or awake, in µs: a positive number,
  // else none (a BigInt, a string, anything else a host might send).
  const micros = (x) => (typeof x === 'number' && x > 0 ? x : 0);

  // refusedCall is err, a call of atmoWorker refused, which the caller throws.
  // A call after an await throws into a promise, whose rejection a Web
  // Worker's page never hears of: the host's init-worker, kept or still to
  // come, is answered with why, so that the start fails saying so rather
  // than waiting out its StartTimeout.
  function refusedCall(err) {
    if (inWebWorker && !registered) {
      refusal = err.message;
      // Told in a task of its own: a caller that catches the throw and
      // calls again with good handlers serves as if it never threw.
      setTimeout(() => {
        if (registered || refusal === null || earlyInits.length === 0) return;
        earlyInits = [];
        tellRefusal();
      }, 0);
    }
    return err;
  }

  function atmoWorker(handlers, options) {
    if (!handlers || typeof handlers !== 'object') {
      throw refusedCall(new TypeError('atmoWorker(handlers): handlers must be an object of task name → function'));
    }
    const table = handlersOf(handlers);
    if (table.size === 0) {
      throw refusedCall(new TypeError('atmoWorker(handlers): handlers has no functions: give an object of task name → function, such as { add: ({ a, b }) => a + b }'));
    }
    const names = [...table.keys()];
    const own = !(options && options.port);
    if (own && registered) {
      throw new Error(`atmoWorker was called already in this worker: give every handler in one call, such as atmoWorker({ ...mathTasks, ...imageTasks }) (this call: ${names.join(', ')})`);
    }
    const port = own ? hostPort() : options.port;
    if (own) {
      registered = true;
      refusal = null;
    } else if (inWebWorker) root.removeEventListener('message', keepEarly);
    const running = new Map(); // taskId → { abort: AbortController made on demand }
    let workerId = null;
    let batches = false; // the host takes worker-response-batch
    // most bounds a worker-work-batch: one task per slot the host may fill
    // here (init-worker's concurrency), with room for a few it should not
    // have sent. A longer one (a sparse array from a foreign host, which
    // structured clone carries cheaply) is ignored rather than walked.
    let most = 1 + 1024;
    // lock is the Web Lock this thread asked for (name) and whether it holds
    // it yet; waiting are the init-workers whose worker-ready waits for it.
    const lock = { name: null, held: false, waiting: [] };
    const awake = keepAwake();
    let keepUs = 0; // init-worker's keepAwake: after every task
    let loneUs = 0; // the last worker-work's awake: the host held that task alone
    // idle keeps the thread awake for a while once nothing is left to run.
    const idle = () => {
      if (!starting && running.size === 0 && outbox.length === 0) awake.start(keepUs || loneUs, keepUs > 0);
    };
    let outbox = [], outboxTransfer = [], outboxStarts = []; // answer i's buffers start at outboxStarts[i]

    // respond answers a task. When the host takes batches and other tasks
    // are still running (or the rest of a worker-work-batch is still to
    // start), the answers of one turn leave together in one
    // worker-response-batch; a lone task's answer leaves at once.
    let starting = false; // inside a worker-work-batch's loop
    function respond(taskId, fields, transfer) {
      if (!batches || (!starting && running.size <= 1 && outbox.length === 0)) {
        send(Object.assign({ message: 'worker-response', taskId, workerId }, fields), transfer);
        return;
      }
      // The flush is due once the outbox has anything in it: nothing
      // may throw between the first push and queueing it.
      if (outbox.length === 0) queueMicrotask(flush);
      outboxStarts.push(outboxTransfer.length);
      outbox.push(Object.assign({ taskId }, fields));
      if (transfer) for (const b of transfer) outboxTransfer.push(b);
    }

    // send posts one answer. One that cannot be cloned (its content, or a
    // host's id that is no plain value) is answered with why instead; if
    // even that cannot be posted, no host could match it, and it is dropped
    // rather than thrown out of the listener.
    function send(msg, transfer) {
      try {
        postUnwrapped(port, msg, transfer);
      } catch (err) {
        // A result structured clone cannot copy (a function, a symbol, a
        // class instance's private state) says it is the result, and what
        // to return instead, as a Go worker's does.
        const listed = transfer && transfer.length ? ', and list in atmoWorker.transfer only the ArrayBuffers (or other transferables) found in it, each once' : '';
        const text = 'content' in msg
          ? `the handler's result cannot be sent to the host: ${errorText(err)}; return plain data (objects, arrays, numbers, strings, typed arrays), without functions or symbols in it${listed}`
          : errorText(err);
        try {
          port.post({ message: 'worker-response', taskId: msg.taskId, workerId, error: text });
        } catch (_) {
          // dropped
        }
      }
    }

    function flush() {
      const items = outbox, list = outboxTransfer, starts = outboxStarts;
      outbox = []; outboxTransfer = []; outboxStarts = [];
      try {
        if (items.length === 1) port.post(Object.assign({ message: 'worker-response', workerId }, items[0]), list);
        else port.post({ message: 'worker-response-batch', workerId, content: items }, list);
      } catch (_) {
        // One answer that cannot be cloned spoils the batch: post each
        // alone, so that the others arrive and that one says why.
        items.forEach((it, i) => send(Object.assign({ message: 'worker-response', workerId }, it), list.slice(starts[i], starts[i + 1])));
      }
      idle();
    }

    // work runs a task. A handler that returns a plain value is answered in
    // the same turn; only a promise is waited for (an await on every task
    // cost a microtask and an async frame each, measured in the round trip).
    function work(taskId, content) {
      if (taskId === undefined || taskId === null) return; // no task to answer: no host could match its answer
      if (running.has(taskId)) return; // the same task twice: its first run answers it
      const name = content && content.name;
      const handler = table.get(name);
      if (handler === undefined) {
        respond(taskId, { error: `Unknown task: ${name} (this worker handles: ${names.join(', ')})` });
        return;
      }
      // The AbortController is made only if the handler asks for ctx.signal:
      // most handlers never do, and it is the dearest part of a task. A task
      // the host cancelled stays in running until its handler ends, and is
      // answered "canceled" then: it holds its slot until then (see
      // worker-cancel).
      const task = { abort: null, canceled: false };
      running.set(taskId, task);
      const ctx = {
        name,
        taskId,
        workerId,
        get signal() {
          if (!task.abort) {
            task.abort = new AbortController();
            if (task.canceled) task.abort.abort(canceledError());
          }
          return task.abort.signal;
        },
        progress(value) {
          if (running.get(taskId) !== task || task.canceled) return;
          // atmoWorker.transfer(value, list) moves list's buffers with the report.
          const moves = value instanceof Transfer;
          postUnwrapped(port, { message: 'worker-progress', taskId, workerId, content: moves ? value.value : value }, moves ? value.list : undefined);
        },
      };
      const done = (result) => {
        if (running.get(taskId) !== task) return;
        if (task.canceled) {
          failed(); // its outcome is dropped
          return;
        }
        if (result instanceof Transfer) respond(taskId, { content: result.value }, result.list);
        else respond(taskId, { content: result });
        running.delete(taskId);
        idle();
      };
      const failed = (err) => {
        if (running.get(taskId) !== task) return;
        respond(taskId, { error: task.canceled ? 'canceled' : errorText(err) });
        running.delete(taskId);
        idle();
      };
      let result, thenable;
      try {
        result = handler.call(handlers, content.params, ctx);
        thenable = result !== null && (typeof result === 'object' || typeof result === 'function') && typeof result.then === 'function';
      } catch (err) {
        failed(err); // a throw, or a then getter that throws
        return;
      }
      if (thenable) {
        Promise.resolve(result).then(done, failed);
      } else {
        done(result);
      }
    }

    port.listen((data) => {
      if (!data || typeof data !== 'object') return;
      awake.stop(); // a message from the host: busy now
      switch (data.message) {
        case 'init-worker': {
          workerId = data.id;
          batches = Array.isArray(data.features) && data.features.includes('batch');
          const n = data.concurrency;
          most = (typeof n === 'number' && n >= 1 ? Math.min(Math.floor(n), 1 << 24) : 1) + 1024;
          keepUs = micros(data.keepAwake);
          if (keepUs) awake.calibrate();
          const ready = { tasks: names, features: ['cancel', 'stop', 'catch', 'progress', 'concurrency', 'batch'] };
          const say = () => {
            try {
              port.post({ message: 'worker-ready', workerId, content: ready });
            } catch (_) {
              // an id that is no plain value: no host could read the answer
            }
          };
          // Hold the Web Lock the host names for as long as this thread
          // lives: the host is granted it when the thread ends, however it
          // ends (self.close(), a crash, out of memory), and so learns of it.
          const locks = typeof navigator !== 'undefined' && navigator.locks;
          // Where locks are refused (an opaque origin: a data: URL, a
          // sandboxed page), the worker starts without one.
          const unlocked = () => { delete ready.lock; say(); };
          if (data.lock && locks && (lock.name === null || data.lock === lock.name)) {
            // A second init-worker naming the lock this thread holds, or
            // waits for, is answered with it: asking again would wait for ever.
            ready.lock = data.lock;
            if (lock.held) {
              say();
            } else {
              lock.waiting.push({ say, unlocked });
              if (lock.name === null) {
                lock.name = data.lock;
                const refused = () => {
                  lock.name = null;
                  for (const w of lock.waiting.splice(0)) w.unlocked();
                };
                try {
                  locks.request(data.lock, () => {
                    lock.held = true;
                    for (const w of lock.waiting.splice(0)) w.say();
                    return new Promise(() => {}); // never released while alive
                  }).catch(refused);
                } catch (_) {
                  refused();
                }
              }
            }
          } else {
            say();
          }
          break;
        }
        case 'worker-work':
          loneUs = micros(data.awake);
          work(data.taskId, data.content);
          break;
        case 'worker-work-batch':
          loneUs = 0;
          if (Array.isArray(data.content) && data.content.length <= most) {
            starting = true;
            // An id given twice is one task, as for two worker-work: one whose
            // handler answered at once has left running by its second item.
            const given = new Set();
            try {
              for (const item of data.content) {
                if (item === null || typeof item !== 'object' || given.has(item.taskId)) continue; // no task, or one given already
                given.add(item.taskId);
                work(item.taskId, item);
              }
            } finally {
              starting = false;
            }
          }
          break;
        case 'worker-cancel': {
          // The handler's signal fires (also if it first asks for it
          // later); its task is answered once the handler ends, so that this
          // worker never runs more tasks than the host gave it, and one that
          // ignores its signal past the host's cancelGrace is replaced.
          const task = running.get(data.taskId);
          if (task && !task.canceled) {
            task.canceled = true;
            if (task.abort) task.abort.abort(canceledError());
          }
          break;
        }
      }
    });
  }

  atmoWorker.transfer = (value, list) => new Transfer(value, list);

  root.atmoWorker = atmoWorker;
  if (typeof module === 'object' && module.exports) module.exports = { atmoWorker };
})(typeof self !== 'undefined' ? self : globalThis);
