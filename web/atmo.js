// atmo.js: atmo's Go WebAssembly TaskManager and BrowserWorkerManager, for
// plain JavaScript pages.
//
//   import { loadAtmo } from '/atmo.js';
//   const atmo = await loadAtmo({ wasm: '/atmo.wasm' });
//   const tm = atmo.createTaskManager();
//   const wm = atmo.createBrowserWorkerManager(tm, [
//     { tasks: ['add', 'fibonacci'], script: '/workers/math-worker.js' },
//     { tasks: ['add', 'fibonacci'], module: '/workers/math.wasm' },
//   ]);
//   const sum = await tm.run('add', { a: 1, b: 2 }); // 3
//
// Every Promise settles: with the result, or with an AtmoError that carries
// a code (ERR_TASK for a worker's own error, ERR_NO_WORKER, ERR_CLOSED,
// ERR_CANCELED, ERR_BAD_ARGUMENT, ...) and, when known, taskId and workerId.
// Types: atmo.d.ts.

/** The error of every failed call and task. */
// ATMO_ERROR marks an AtmoError made by any copy of this file.
const ATMO_ERROR = Symbol.for('atmo.error');

export class AtmoError extends Error {
  // An AtmoError of any copy of this file is one of every copy's: copies
  // share one load (see LOADING), so the errors a page gets may be made by
  // another copy's class. A subclass's instanceof stays its own.
  static [Symbol.hasInstance](v) {
    if (Function.prototype[Symbol.hasInstance].call(this, v)) return true;
    return this === AtmoError && v instanceof Error && v[ATMO_ERROR] === true;
  }
  constructor(message, fields = {}) {
    super(message);
    Object.defineProperty(this, ATMO_ERROR, { value: true });
    this.name = 'AtmoError';
    this.code = fields.code || 'ERR_ATMO';
    for (const k of ['taskId', 'workerId', 'argument', 'workerMessage', 'cause', 'transfer']) {
      if (fields[k] !== undefined) this[k] = fields[k];
    }
  }
}

// fromBridge turns the bridge's {message, code, ...} into an AtmoError.
function fromBridge(e) {
  return new AtmoError(e.message, e);
}

// unwrap returns a synchronous bridge answer's value, or throws its error.
function unwrap(answer) {
  if (answer && answer.error) throw fromBridge(answer.error);
  return answer.value;
}

function badArgument(message, argument) {
  return new AtmoError(message, { code: 'ERR_BAD_ARGUMENT', argument });
}

// abortedAlready is the error of a task whose signal aborted before it was
// sent, or undefined: such a task is not sent.
function abortedAlready(opts, where) {
  const { signal } = opts;
  if (!signal || !signal.aborted) return undefined;
  return new AtmoError(`atmo: ${where}: canceled by its signal before it was sent`, { code: 'ERR_CANCELED', cause: signal.reason });
}

// shown writes a value the caller gave into a message: as JSON where it
// has one (a BigInt, a cyclic object, a function has none).
function shown(v) {
  switch (typeof v) {
    case 'bigint':
      return `${v}n`;
    case 'undefined':
      return 'undefined';
    case 'function':
      return 'a function';
    case 'symbol':
      return v.toString();
  }
  // An object JSON writes as {} says nothing of what it is: name its kind
  // (an AbortController given for its signal, a Promise not awaited).
  let text;
  try {
    if (v !== null && typeof v === 'object' && typeof v.then === 'function') return 'a Promise (a missing await?)';
    text = JSON.stringify(v);
  } catch (_) {
    return 'an object JSON cannot write';
  }
  if (text === '{}') {
    try {
      const proto = Object.getPrototypeOf(v);
      const kind = proto !== null && proto !== Object.prototype ? (proto.constructor && proto.constructor.name) || Object.prototype.toString.call(v).slice(8, -1) : '';
      if (kind) return `${/^[AEIOU]/.test(kind) ? 'an' : 'a'} ${kind}`;
    } catch (_) {
      // a Proxy that throws: {} it is
    }
  }
  return text;
}

// isShared says whether b is a SharedArrayBuffer, which crosses shared:
// structured clone takes none in a transfer list.
function isShared(b) {
  return typeof SharedArrayBuffer === 'function' && b instanceof SharedArrayBuffer;
}

// cloneParams copies params the way postMessage will, so a value that cannot
// reach a worker (a function, a DOM node) fails here, naming the argument.
// The transferables in transfer move into the copy instead of being copied
// (the caller's are left detached); it returns the copy and the list of
// what it now holds, which moves on to the worker the same way.
function cloneParams(params, transfer, where) {
  if (transfer !== undefined && transfer !== null && !Array.isArray(transfer)) {
    throw badArgument(`atmo: ${where}: transfer must be an array of ArrayBuffers (or other transferables) found in params`, 'transfer');
  }
  let list = transfer || [];
  // One buffer listed twice (two views of it) moves once, as atmo.Transfer
  // and the workers' transfer do: structured clone throws on a duplicate.
  if (list.length > 1) list = [...new Set(list)];
  // A SharedArrayBuffer crosses shared, as it is (atmo.Transfer leaves one
  // out too): structured clone takes none in its transfer list.
  list = list.filter((b) => !isShared(b));
  if (params === undefined || params === null) {
    if (list.length > 0) {
      throw badArgument(`atmo: ${where}: transfer lists ${list.length} buffer(s) but params is ${params}: list in transfer only buffers found in params, which the worker receives`, 'transfer');
    }
    return { copy: null, list };
  }
  // What structured clone would refuse in the list itself, named as the
  // caller listed it (its message would blame params, "at index 0").
  if (list.length > 0) transfer.forEach((x, i) => {
    if (ArrayBuffer.isView(x)) {
      throw badArgument(`atmo: ${where}: transfer[${i}] is ${/^[AEIO]/.test(x.constructor.name) ? 'an' : 'a'} ${x.constructor.name}, which cannot be moved itself: list its buffer (transfer: [view.buffer])`, 'transfer');
    }
    if (x instanceof ArrayBuffer && x.detached === true) {
      throw badArgument(`atmo: ${where}: transfer[${i}] is an ArrayBuffer moved already (it is detached): each buffer can be transferred once`, 'transfer');
    }
  });
  let stray = -1;
  try {
    if (list.length > 0) stray = notIn(params, transfer); // its index, as the caller listed it
  } catch (err) {
    throw cannotSend(err, where); // what structured clone would throw too (a getter's error, a revoked Proxy)
  }
  if (stray >= 0) {
    throw badArgument(`atmo: ${where}: transfer[${stray}] is not found in params, so the worker would never see it (and it would leave you detached): list in transfer only buffers found in params, which the worker receives`, 'transfer');
  }
  try {
    if (list.length === 0) {
      const copy = plainCopy(params, 0, { left: PLAIN_NODES, seen: [] });
      if (copy !== NOT_PLAIN) return { copy, list };
    }
    let out;
    try {
      out = structuredClone({ params, list }, { transfer: list });
    } catch (err) {
      // Structured clone refuses a Proxy (a Vue reactive(), a MobX
      // observable, an Immer draft), which plainCopy reads through: a
      // small one was sent and the same one grown refused. Its plain
      // objects and arrays, copied by hand, go as plainCopy's do; what
      // still cannot be cloned is refused, with the first reason.
      try {
        out = structuredClone({ params: unproxied(params, new Map()), list }, { transfer: list });
      } catch (_) {
        throw err;
      }
    }
    return { copy: out.params, list: out.list };
  } catch (err) {
    throw cannotSend(err, where);
  }
}

// unproxied copies the plain objects and arrays of v, read as plainCopy
// reads them (through a Proxy), keeping an object met twice one copy (and a
// cycle a cycle), as structured clone does; anything else stays as it is,
// for structured clone to copy or refuse. A getter that throws throws.
function unproxied(v, seen) {
  if (v === null || typeof v !== 'object') return v;
  if (seen.has(v)) return seen.get(v);
  const proto = Object.getPrototypeOf(v);
  let out;
  if (Array.isArray(v) && proto === Array.prototype) out = new Array(v.length);
  else if (proto === Object.prototype || proto === null) out = {};
  else return v;
  seen.set(v, out);
  for (const k of Object.keys(v)) Object.defineProperty(out, k, { value: unproxied(v[k], seen), enumerable: true, writable: true, configurable: true });
  return out;
}

function cannotSend(err, where) {
  return badArgument(`atmo: ${where}: params cannot be sent to a worker (${(err && err.message) || err}); use plain objects, arrays, numbers, strings, typed arrays, and list in transfer only buffers that are not detached`, 'params');
}

// notIn returns the index of the first item of list that params does not
// reach (as a value, or as the buffer of a typed array or DataView in it), or
// -1 when params reaches them all, or when it is too large to tell within
// NOT_IN_STEPS steps (structured clone then sends it as before). It stops as
// soon as every item is found, so the usual call ({ data }, [data.buffer])
// costs a few steps.
const NOT_IN_STEPS = 1 << 16;
function notIn(params, list) {
  const left = new Set(list);
  const seen = new Set();
  const stack = [params];
  let steps = NOT_IN_STEPS;
  const push = (x) => {
    if (x !== null && (typeof x === 'object' || typeof x === 'function')) stack.push(x);
  };
  while (stack.length > 0 && left.size > 0) {
    const v = stack.pop();
    if (seen.has(v)) continue;
    seen.add(v);
    left.delete(v);
    if (ArrayBuffer.isView(v)) {
      left.delete(v.buffer);
      continue;
    }
    if (v instanceof ArrayBuffer) continue;
    const n = v instanceof Map || v instanceof Set ? v.size : Array.isArray(v) ? v.length : 0;
    if ((steps -= n + 1) < 0) return -1;
    if (v instanceof Map) {
      for (const [k, x] of v) push(k), push(x);
    } else if (v instanceof Set) {
      for (const x of v) push(x);
    } else {
      // An array's own enumerable keys are its elements and any named
      // properties, which structured clone sends too (n steps were counted
      // for an array's elements already, before listing its keys).
      const keys = Object.keys(v);
      if ((steps -= Array.isArray(v) ? Math.max(0, keys.length - n) : keys.length) < 0) return -1;
      for (const k of keys) push(v[k]);
      if (v instanceof Error) push(v.cause); // sent, though not enumerable
    }
  }
  if (left.size === 0) return -1;
  return list.findIndex((x) => left.has(x));
}

// plainCopy copies small plain data (primitives, arrays without holes and
// objects of Object.prototype, PLAIN_NODES of them at most) as structured
// clone would: own enumerable string keys, getters read, values copied.
// structuredClone's fixed cost was 4.6 µs a call, the largest part of a
// run() in a flood of small tasks; a copy by hand takes a few hundred ns.
// For anything else, even deep inside (a Date, a typed array, a Map, a
// cycle or an object found twice, which structured clone keeps one, a
// function, a larger value), it returns NOT_PLAIN and structuredClone does
// the copy, and says what cannot be sent. budget: {left: PLAIN_NODES,
// seen: []}.
const NOT_PLAIN = Symbol('not plain');
const PLAIN_NODES = 64;
function plainCopy(v, depth, budget) {
  const t = typeof v;
  if (t !== 'object') return t === 'function' || t === 'symbol' ? NOT_PLAIN : v;
  if (v === null) return v;
  if (--budget.left < 0 || depth > 8 || budget.seen.includes(v)) return NOT_PLAIN;
  budget.seen.push(v);
  if (Array.isArray(v)) {
    const n = v.length;
    if (Object.getPrototypeOf(v) !== Array.prototype || n > PLAIN_NODES || Object.keys(v).length !== n) return NOT_PLAIN;
    const out = [];
    for (let i = 0; i < n; i++) {
      const c = plainCopy(v[i], depth + 1, budget);
      if (c === NOT_PLAIN) return NOT_PLAIN;
      out.push(c);
    }
    return out;
  }
  if (Object.getPrototypeOf(v) !== Object.prototype) return NOT_PLAIN;
  const out = {};
  for (const k of Object.keys(v)) {
    const c = plainCopy(v[k], depth + 1, budget);
    if (c === NOT_PLAIN) return NOT_PLAIN;
    if (k === '__proto__') Object.defineProperty(out, k, { value: c, enumerable: true, writable: true, configurable: true });
    else out[k] = c;
  }
  return out;
}

function checkName(name, where) {
  if (typeof name !== 'string' || name.trim() === '') {
    throw badArgument(`atmo: ${where}: name must be a non-empty string, the task name a worker lists in its tasks (got ${shown(name)})`, 'name');
  }
}

// The options of run(), and the fields of addTask()'s task. addTask also
// takes, and ignores, the other fields of the seed's TaskRequest, so that a
// task object written for the seed is accepted as it is.
const RUN_OPTIONS = new Set(['priority', 'timeout', 'retries', 'onProgress', 'transfer', 'raw', 'signal']);
const SEED_TASK_FIELDS = new Set(['id', 'status', 'assignedWorker']);
const TASK_FIELDS = new Set(['name', 'params', 'onSuccess', 'onError', ...RUN_OPTIONS, ...SEED_TASK_FIELDS]);

// snapshot reads the options (or addTask's task) once, as they are now,
// into a plain object: each of known by its name (own or inherited, a
// getter, a class's method, a proxy's), so that what is checked is what
// is sent, whatever a getter gives the next time or a later change makes.
// An enumerable name not in known is refused (a misspelt onSucess would
// otherwise be a callback never called); a getter or proxy that throws
// makes a bad argument. where names the call, or is a function of what
// was read (addTask's name is among its fields).
function snapshot(opts, known, where, prefix = '') {
  const o = {};
  const at = () => (typeof where === 'function' ? where(o) : where);
  let k;
  try {
    for (k of known) {
      const v = opts[k];
      if (v !== undefined) o[k] = v;
    }
    k = undefined;
    for (const name in opts) {
      if (!known.has(name)) {
        throw badArgument(`atmo: ${at()}: unknown option ${JSON.stringify(name)}; the options are ${[...known].filter((x) => !SEED_TASK_FIELDS.has(x)).join(', ')}`, prefix + name);
      }
    }
  } catch (err) {
    if (err instanceof AtmoError) throw err;
    throw badArgument(`atmo: ${at()}: reading ${k === undefined ? 'the options' : `option ${JSON.stringify(k)}`} threw: ${(err && err.message) || err}`, k === undefined ? 'options' : prefix + k);
  }
  return o;
}

// isSignal says whether v is an AbortSignal: one of this realm, or, from
// another (an iframe's), one with its properties.
// A look-alike that throws when read (a getter, a proxy) is none: a bad
// argument, not its own error.
function isSignal(v) {
  try {
    if (typeof AbortSignal === 'function' && v instanceof AbortSignal) return true;
    return typeof v === 'object' && typeof v.aborted === 'boolean' && typeof v.addEventListener === 'function' &&
      typeof v.removeEventListener === 'function' && Object.prototype.toString.call(v) === '[object AbortSignal]';
  } catch (_) {
    return false;
  }
}

// refuseBigInts throws ERR_BAD_ARGUMENT for a BigInt in v, an options or
// config object (looked at three levels deep, as far as they nest), which
// Go's syscall/js cannot read at all.
function refuseBigInts(v, path, where, depth = 0) {
  if (typeof v === 'bigint') {
    throw badArgument(`atmo: ${where}: ${path} is a BigInt (${v}n); use a number`, path);
  }
  if (!v || typeof v !== 'object' || depth > 2) return;
  for (const k of Object.keys(v)) refuseBigInts(v[k], Array.isArray(v) ? `${path}[${k}]` : `${path}.${k}`, where, depth + 1);
}

// ownFields copies a config's or options' own enumerable fields, each read
// once, so that what is checked is what Go reads; a getter (or proxy) that
// throws is a bad argument naming the field, not a bare Error. An array,
// or anything not an object, is left as it is for Go to refuse by its kind.
function ownFields(v, path, where) {
  if (!v || typeof v !== 'object' || Array.isArray(v)) return v;
  const out = {};
  let k;
  try {
    for (k of Object.keys(v)) Object.defineProperty(out, k, { value: v[k], enumerable: true, writable: true, configurable: true });
  } catch (err) {
    const at = k === undefined ? path : `${path}.${k}`;
    throw badArgument(`atmo: ${where}: reading ${at} threw: ${(err && err.message) || err}`, at);
  }
  return out;
}

// absolute resolves a worker URL against the page (or, where atmo runs in
// a worker, the worker's script), so it means the same wherever the worker
// is started from.
function absolute(config, where) {
  if (!config || typeof config !== 'object' || Array.isArray(config)) return config; // Go says what it must be
  const out = { ...config };
  for (const k of ['script', 'module']) {
    if (out[k] instanceof URL) out[k] = out[k].href; // as new Worker(new URL('./w.js', import.meta.url)) takes it
    if (typeof out[k] !== 'string' || out[k] === '') continue;
    try {
      out[k] = resolveURL(out[k]);
    } catch (_) {
      throw badArgument(`atmo: ${where}.${k} is not a URL: ${JSON.stringify(out[k])}`, `${where}.${k}`);
    }
  }
  return out;
}

// pushTask adds a task to the meta of a bridge.run call: its name,
// priority, timeout, retries, the slots in which the bridge holds its
// params and its transfer list for Go (-1 for none), and its flags: 1 if it
// wants progress reports, + 2 if it takes its result raw. It returns the
// slots, to release once the task settles.
function pushTask(bridge, meta, name, copy, list, opts, progress, raw) {
  const params = copy === undefined || copy === null ? -1 : bridge.hold(copy);
  const moved = params >= 0 && list.length ? bridge.hold(list) : -1;
  const timeout = opts.timeout === Infinity ? -1 : opts.timeout || 0; // Go's negative Timeout: no limit
  meta.push(name, opts.priority || 0, timeout, opts.retries || 0, params, moved, (progress ? 1 : 0) + (raw ? 2 : 0));
  return [params, moved];
}

// progressOf checks a task's onProgress and returns what hands it each
// report (undefined for none): reports come with the answers
// (_settleRuns), in order, before the task settles, and one that throws is
// the manager tm's callback panic (see _callbackThrew), not the task's end.
// It is called on self, the options or task that held it, as a method is.
function progressOf(onProgress, where, tm, self) {
  if (onProgress === undefined || onProgress === null) return undefined;
  if (typeof onProgress !== 'function') throw badArgument(`atmo: ${where}: onProgress must be a function`, 'onProgress');
  return (report) => {
    try {
      onProgress.call(self, report);
    } catch (err) {
      tm._callbackThrew(report.taskId, `onProgress of task ${report.taskId}`, err);
    }
  };
}

// thrownText says what a callback threw, never throwing itself.
function thrownText(err) {
  try {
    return String(err instanceof Error ? err.message || err.name : err);
  } catch (_) {
    return 'a value that cannot be written as text';
  }
}

/** A queue of named tasks run by the workers of its worker managers. */
class TaskManager {
  constructor(bridge, handle, id, maxPriority) {
    this._bridge = bridge;
    this._handle = handle;
    // The largest |priority| the manager's aging ranks (Go refuses more):
    // checked here, before transfer's buffers move.
    this._maxPriority = maxPriority === undefined ? Number.MAX_SAFE_INTEGER : maxPriority;
    this._closed = false;
    this._subs = new Set();
    // run() calls of one turn, added with one bridge.run; every task's
    // settle(kind, payload) by task id until answered (run's and addTask's
    // answers alike come back together, once per turn).
    this._runs = [];
    this._waiting = new Map();
    this._settle = (items) => this._settleRuns(items);
    this._deliver = (items) => {
      if (!bridge.busy()) {
        this._settleRuns(items);
        return;
      }
      // Handed over during a call into Go: they wait for it to return (see
      // exitAware). An answer for a task whose id that call has not
      // returned yet came before its id (_settleRun's unposted): marked now,
      // while that is known.
      for (const item of items) if (item[1] !== null && !this._waiting.has(item[0])) item[5] = true;
      bridge.later(this._settle, items);
    };
    bridge.listen(handle, this._deliver);
    this._unwatch = bridge.onExit((err) => this._exited(err));
    // Its worker managers, and once closed its final status and stats:
    // the bridge forgets a closed manager (see _letGo).
    this._wms = new Set();
    this._final = null;
    // Callbacks that threw once close() was called, which the bridge no
    // longer takes: counted here, in stats().callbackPanics (see _callbackThrew).
    this._closedThrows = 0;
    /** The manager's id, as events carry it in managerId. */
    this.id = id;
  }

  /** True once close() was called. */
  get closed() {
    return this._closed;
  }

  _closedError(what) {
    return new AtmoError(`atmo: ${what}: this TaskManager is closed; create a new one with atmo.createTaskManager()`, { code: 'ERR_CLOSED' });
  }

  // _exited settles every task still waiting on the Go module, which has
  // exited, with its error.
  _exited(err) {
    // A task not yet posted to a worker gives its buffers back (_givenBack).
    const fail = { message: err.message, code: err.code };
    for (const [taskId, r] of this._waiting) {
      this._release(r);
      r.settle('error', this._givenBack(r, { ...fail, taskId }));
    }
    this._waiting.clear();
    for (const r of this._runs) r.reject(this._givenBackCopy(r, err, true));
    this._runs = [];
  }

  // _check throws for a closed manager, a gone module, a bad name or a bad
  // option (opts is snapshot's): one of a wrong type or out of range, or
  // retries for params that move buffers, which a retry could not resend.
  _check(name, opts, where) {
    if (this._closed) throw this._closedError(where);
    const gone = this._bridge.gone();
    if (gone) throw gone;
    checkName(name, where);
    const { priority, timeout, retries, transfer } = opts;
    if (priority !== undefined && !Number.isInteger(priority)) {
      throw badArgument(`atmo: ${where}: priority must be a whole number, higher first (got ${String(priority)})`, 'priority');
    }
    // A whole number past the range is told the range, one past the safe
    // integers (2 ** 60) too: what is wrong with it is its size.
    const most = Math.min(this._maxPriority, Number.MAX_SAFE_INTEGER);
    if (priority !== undefined && Math.abs(priority) > most) {
      const bound = most === this._maxPriority ? "with the manager's agingInterval priorities" : 'priorities, safe integers,';
      throw badArgument(`atmo: ${where}: priority ${priority}; ${bound} run from ${-most} to ${most} (higher first)`, 'priority');
    }
    if (timeout !== undefined && (typeof timeout !== 'number' || !(timeout >= 0))) {
      throw badArgument(`atmo: ${where}: timeout must be 0 or more milliseconds of running (0: the worker config's taskTimeout, if any; Infinity: no limit) (got ${String(timeout)})`, 'timeout');
    }
    if (retries !== undefined && !(Number.isSafeInteger(retries) && retries >= 0)) {
      throw badArgument(`atmo: ${where}: retries must be a whole number from 0 to ${Number.MAX_SAFE_INTEGER} (got ${String(retries)})`, 'retries');
    }
    if (opts.raw !== undefined && typeof opts.raw !== 'boolean') {
      throw badArgument(`atmo: ${where}: raw must be true (the result as the worker sent it) or false (by the value rules) (got ${shown(opts.raw)})`, 'raw');
    }
    const { signal } = opts;
    if (signal !== undefined && signal !== null && !isSignal(signal)) {
      throw badArgument(`atmo: ${where}: signal must be an AbortSignal, such as new AbortController().signal (got ${shown(signal)})`, 'signal');
    }
    // A SharedArrayBuffer listed is shared, not moved (cloneParams): it
    // takes nothing away that a retry would need.
    if (retries > 0 && Array.isArray(transfer) && transfer.some((b) => !isShared(b))) {
      throw badArgument(`atmo: ${where}: retries ${retries} cannot be kept with transfer: the buffers move to the worker, and one that dies takes them with it, so there would be nothing to send again; use retries 0, or leave the buffers out of transfer to have them copied`, 'retries');
    }
  }

  // _add queues a task and calls done(kind, payload) once it settles:
  // ('success', {message, taskId, workerId, content}) or ('error', {message,
  // code, taskId, workerId, ...}). opts: priority, timeout (ms), retries,
  // onProgress, transfer, raw.
  _add(name, params, opts, done, where, self) {
    this._check(name, opts, where);
    const aborted = abortedAlready(opts, where);
    if (aborted) throw aborted;
    // The run() calls before it, waiting for their turn's batch, go first:
    // tasks reach Go in the order they were called.
    if (this._runs.length > 0) this._flushRuns();
    const progress = progressOf(opts.onProgress, where, this, self);
    // Last of the checks: it moves transfer's buffers out of the caller's hands.
    const { copy, list } = cloneParams(params, opts.transfer, where);
    const meta = [this._handle];
    const r = { settle: done, progress, signal: opts.signal, list, held: pushTask(this._bridge, meta, name, copy, list, opts, !!progress, !!opts.raw) };
    let id;
    try {
      id = unwrap(this._bridge.run(meta))[0];
    } catch (err) {
      this._release(r);
      const e = this._bridge.gone() || err; // the module exited meanwhile: ERR_EXITED, not what that left behind
      throw this._givenBackCopy(r, e);
    }
    if (typeof id !== 'string') {
      this._release(r);
      throw this._givenBack(r, fromBridge(id), true);
    }
    this._expect(id, r);
    return id;
  }

  // _watch cancels task id, which r waits for, when r's signal aborts (at
  // once if it has); the cancel settles it through Go, with ERR_CANCELED
  // and the signal's reason as its cause. _release stops the watch.
  _watch(r, id) {
    const { signal } = r;
    const abort = () => {
      r.abortReason = signal.reason;
      try {
        this._cancel(id, 'by its signal');
      } catch (_) {
        // the Go module has exited: the task settles with that (_exited)
      }
    };
    if (signal.aborted) {
      abort();
      return;
    }
    signal.addEventListener('abort', abort, { once: true });
    r.unwatch = () => signal.removeEventListener('abort', abort);
  }

  // _givenBack sets err.transfer to the transferables r's caller moved into
  // its params, when the task failed before it was posted to a worker: they
  // are the caller's again. unposted says the task never reached Go's queue
  // (refused, or never handed over): all of them, whatever they are, come
  // back. Otherwise posting moves them all at once, so an ArrayBuffer among
  // them that is not detached says none went; with no ArrayBuffer in the
  // list, whether they went is not known, and none are given. It returns err.
  _givenBack(r, err, unposted = false) {
    const list = r.list;
    if (!list || !list.length) return err;
    // A detached ArrayBuffer among them says they were posted, whatever the
    // path: they are the worker's, not the caller's.
    const buffers = list.filter((b) => b instanceof ArrayBuffer);
    if (buffers.some((b) => this._bridge.detached(b))) return err;
    if (unposted || buffers.length > 0) err.transfer = list;
    return err;
  }

  // _givenBackCopy is _givenBack for an AtmoError that several tasks share
  // (the module's exit, a batch that failed): a task with a transfer list
  // gets a copy of its own to carry it. Any other error is left as it is.
  _givenBackCopy(r, err, unposted = false) {
    if (!(err instanceof AtmoError) || !r.list || !r.list.length) return err;
    return this._givenBack(r, new AtmoError(err.message, err), unposted);
  }

  // _release lets go of the params the bridge held for a task: it settled,
  // or was never added.
  _release(r) {
    for (const k of r.held) this._bridge.release(k);
    r.held = [];
    if (r.unwatch) {
      const unwatch = r.unwatch;
      r.unwatch = null;
      try {
        unwatch();
      } catch (_) {
        // the task settles all the same
      }
    }
  }

  // _expect waits for task id's answer. One that came during the call that
  // added the task waited for that call to return (see _deliver), so it is
  // not here yet either.
  _expect(id, r) {
    this._waiting.set(id, r);
    if (r.signal) this._watch(r, id);
  }

  /**
   * Runs a task and resolves with its result, or rejects with an AtmoError
   * (code ERR_TASK carries the worker's message, taskId and workerId).
   * options: priority (higher first), timeout (ms of running), retries
   * (re-runs after a worker crash or timeout), onProgress (called with
   * {taskId, workerId, content} for each report the worker sends, in order,
   * before the Promise settles), transfer (ArrayBuffers in params that move
   * to the worker instead of being copied; yours are left detached, and a
   * task that fails before it is posted gives them back in its error's
   * transfer), raw
   * (the result as the worker sent it: typed arrays keep their type and a
   * buffer the worker transferred arrives with no copy), signal (an
   * AbortSignal: its abort cancels the task, which rejects with
   * ERR_CANCELED and the signal's reason as its cause; one aborted already
   * sends nothing).
   */
  run(name, params, options = {}) {
    const where = `run(${shown(name)})`;
    if (typeof (options || {}) !== 'object') {
      return Promise.reject(badArgument(`atmo: ${where}: options must be an object like {timeout, retries, transfer}`, 'options'));
    }
    let opts;
    try {
      opts = snapshot(options || {}, RUN_OPTIONS, where);
    } catch (err) {
      return Promise.reject(err);
    }
    // The run() calls of one turn go to Go together and their answers come
    // back together: one crossing per turn, not per task.
    return new Promise((resolve, reject) => {
      this._check(name, opts, where);
      const aborted = abortedAlready(opts, where);
      if (aborted) {
        reject(aborted); // nothing sent, and transfer's buffers stay yours
        return;
      }
      const progress = progressOf(opts.onProgress, where, this, options);
      const { copy, list } = cloneParams(params, opts.transfer, where);
      const settle = (kind, payload) => (kind === 'success' ? resolve(payload.content) : reject(fromBridge(payload)));
      // The options as they were when run() was called, checked: the batch
      // is sent later.
      const sent = { priority: opts.priority, timeout: opts.timeout, retries: opts.retries };
      this._runs.push({ name, copy, list, opts: sent, raw: !!opts.raw, settle, reject, progress, signal: opts.signal, where });
      if (this._runs.length === 1) queueMicrotask(() => this._flushRuns());
    });
  }

  _flushRuns() {
    let runs = this._runs;
    this._runs = [];
    if (runs.length === 0) return; // the module's exit settled them
    if (this._closed) {
      for (const r of runs) r.reject(this._givenBack(r, this._closedError(`run(${JSON.stringify(r.name)})`), true));
      return;
    }
    const gone = this._bridge.gone();
    if (gone) {
      for (const r of runs) r.reject(this._givenBackCopy(r, gone, true));
      return;
    }
    // A run whose signal aborted before it was sent is not sent.
    if (runs.some((r) => r.signal && r.signal.aborted)) {
      const sent = [];
      for (const r of runs) {
        const aborted = abortedAlready(r, r.where);
        if (aborted) r.reject(this._givenBack(r, aborted, true));
        else sent.push(r);
      }
      if (sent.length === 0) return;
      runs = sent;
    }
    const meta = [this._handle];
    for (const r of runs) r.held = pushTask(this._bridge, meta, r.name, r.copy, r.list, r.opts, !!r.progress, r.raw);
    // The module may exit during the call (it then throws, or gives no
    // answer): every run still settles, with the exit's error.
    let answer, failed;
    try {
      answer = this._bridge.run(meta);
      if (answer && answer.error) failed = fromBridge(answer.error);
    } catch (err) {
      failed = err instanceof AtmoError ? err : new AtmoError(`atmo: run() failed: ${(err && err.message) || err}`, { code: 'ERR_INTERNAL', cause: err });
    }
    if (failed) {
      failed = this._bridge.gone() || failed;
      for (const r of runs) {
        this._release(r);
        r.reject(this._givenBackCopy(r, failed));
      }
      return;
    }
    answer.value.forEach((id, i) => {
      const r = runs[i];
      if (typeof id !== 'string') {
        this._release(r);
        r.reject(this._givenBack(r, fromBridge(id), true));
        return;
      }
      this._expect(id, r);
    });
  }

  // _settleRuns takes a batch of answers, [taskId, ok, content, workerId,
  // error, early], and of progress reports, [taskId, null, content,
  // workerId]: early marks an answer that came, during the call that added
  // its task, before its id (see _deliver).
  _settleRuns(items) {
    for (const item of items) {
      const r = this._waiting.get(item[0]);
      if (item[1] === null) {
        if (r && r.progress) r.progress({ taskId: item[0], workerId: item[3], content: item[2] });
        continue;
      }
      if (!r) continue; // no one waits for it any more: the module's exit settled it
      this._waiting.delete(item[0]);
      this._settleRun(r, item, item[5] === true && !item[3]);
    }
  }

  // _settleRun settles a task with its answer. The content is the
  // worker's, as it came for a raw task, else what Go's value rules made of
  // it as it came (the page's wire copies it then, and fails the task, in
  // the manager's counts too, when it cannot be read).
  _settleRun(r, [taskId, ok, content, workerId, error], unposted = false) {
    this._release(r);
    if (!ok) {
      r.settle('error', this._givenBack(r, r.abortReason !== undefined && error.code === 'ERR_CANCELED' ? { ...error, cause: r.abortReason } : { ...error }, unposted));
      return;
    }
    r.settle('success', { message: 'worker-response', taskId, workerId, content });
  }

  /**
   * The seed's addTask: callbacks instead of a Promise. onProgress gets
   * {taskId, workerId, content} for each report, in order, before the task
   * settles; onSuccess gets {message, taskId, workerId, content}; onError
   * gets {message, taskId, workerId, error, code}. Returns {id, name,
   * cancel()}; throws an AtmoError for a bad argument, a closed manager, or
   * a signal aborted already (ERR_CANCELED: nothing is sent).
   */
  addTask(task) {
    if (!task || typeof task !== 'object') throw badArgument('atmo: addTask(task): task must be an object like {name, params, onSuccess, onError}', 'task');
    // Its callbacks are called on it, as task.onSuccess(response) is: a
    // class instance's methods see their this.
    const self = task;
    task = snapshot(task, TASK_FIELDS, (t) => `addTask(${shown(t.name)})`);
    const { name, params, onSuccess, onError, onProgress } = task;
    for (const [k, fn] of [['onSuccess', onSuccess], ['onError', onError], ['onProgress', onProgress]]) {
      if (fn !== undefined && typeof fn !== 'function') throw badArgument(`atmo: addTask(task): task.${k} must be a function`, k);
    }
    const where = `addTask(${shown(name)})`;
    const id = this._add(name, params, task, (kind, payload) => {
      try {
        if (kind === 'success') onSuccess && onSuccess.call(self, payload);
        else if (onError) {
          const e = { message: 'worker-response', taskId: payload.taskId, workerId: payload.workerId, error: payload.message, code: payload.code };
          if (payload.cause !== undefined) e.cause = payload.cause; // the reason of the signal that canceled it
          if (payload.transfer !== undefined) e.transfer = payload.transfer; // its buffers, never sent
          onError.call(self, e);
        }
      } catch (err) {
        this._callbackThrew(payload.taskId, `${kind === 'success' ? 'onSuccess' : 'onError'} of task ${payload.taskId}`, err);
      }
    }, where, self);
    return { id, name, cancel: () => this.cancel(id) };
  }

  // _callbackThrew logs what a callback of the page's threw (what names the
  // callback), and has Go count it in stats().callbackPanics and report it
  // as a 'callback-panic' event, as a Go callback's panic is. Once close()
  // was called (its tasks' onError, a subscriber on its events) it is
  // counted here, as Go counts a callback's panic during Close; the event
  // stream has ended then, for Go's callbacks too.
  _callbackThrew(taskId, what, err) {
    console.error(`atmo: ${what} threw`, err);
    if (this._closed) {
      this._closedThrows++;
      return;
    }
    try {
      this._bridge.callbackThrew(this._handle, taskId || '', `atmo: ${what} threw: ${thrownText(err)}`);
    } catch (_) {
      // the manager closed meanwhile
    }
  }

  /** Cancels a queued or running task; it settles with ERR_CANCELED. */
  cancel(taskId) {
    if (!this._closed && typeof taskId !== 'string') {
      const handle = taskId && typeof taskId === 'object' && typeof taskId.id === 'string' ? `; pass its id (${JSON.stringify(taskId.id)}), or call the cancel() of what addTask returned` : '';
      throw badArgument(`atmo: cancel(taskId): taskId must be a task's id, a string such as addTask(...).id (got ${shown(taskId)})${handle}`, 'taskId');
    }
    this._cancel(taskId, 'by cancel()');
  }

  _cancel(taskId, how) {
    if (this._closed) return;
    unwrap(this._bridge.cancelTask(this._handle, taskId, how));
  }

  /** The seed's status(): ids of pending and working tasks, counts of done and failed. */
  status() {
    if (this._final) return finalCopy(this._final.status);
    // The run() calls before it count, as an addTask before it does.
    if (this._runs.length > 0) this._flushRuns();
    return unwrap(this._bridge.status(this._handle));
  }

  /**
   * tm.Stats(): totals (submitted, done, failed, retried, canceled,
   * timedOut, grown, released, ...), queued and running now, every worker
   * (done, failed, inFlight, capacity, uptime in ms, restarts, ...) and
   * percentiles in ms of queueWait and runTime.
   */
  stats() {
    if (!this._final && this._runs.length > 0) this._flushRuns(); // as status()
    const s = this._final ? finalCopy(this._final.stats) : unwrap(this._bridge.stats(this._handle));
    if (this._closedThrows > 0) s.callbackPanics += this._closedThrows;
    return s;
  }

  /**
   * Calls fn with every event of the claim flow ({message, taskId,
   * workerId, content, error, seq}), in order. Returns a function that
   * unsubscribes: fn is not called after it.
   */
  subscribe(fn) {
    if (typeof fn !== 'function') throw badArgument('atmo: subscribe(fn): fn must be a function', 'fn');
    if (this._closed) throw this._closedError('subscribe');
    let active = true; // messages already on their way when stop() is called are dropped
    const safe = (m) => {
      if (!active) return;
      try {
        fn(m);
      } catch (err) {
        // Not one on a callback-panic, which would report itself for ever.
        if (m && m.message === 'callback-panic') console.error('atmo: a subscriber threw', err);
        else this._callbackThrew(m && m.taskId, `a subscriber, on ${m && m.message},`, err); // the task it was on, as Go's Subscribe says
      }
    };
    const sub = unwrap(this._bridge.subscribe(this._handle, this._bridge.guard(safe)));
    const stop = () => {
      if (!active) return;
      active = false;
      this._subs.delete(stop);
      if (!this._bridge.gone()) this._bridge.unsubscribe(sub);
    };
    this._subs.add(stop);
    return stop;
  }

  // _letGo keeps the final state of the closed manager, and of its worker
  // managers, in JS, and has the bridge forget them: a page that creates
  // and closes managers for ever does not grow the Go module's memory.
  _letGo() {
    if (this._final) return;
    this._final = { status: unwrap(this._bridge.status(this._handle)), stats: unwrap(this._bridge.stats(this._handle)) };
    for (const wm of this._wms) wm._letGo();
    this._wms.clear();
    this._bridge.forget(this._handle);
  }

  /**
   * Settles every task (with ERR_CLOSED) and terminates the workers of its
   * managers. Resolves once that is done. Calls made afterwards reject or
   * throw with code ERR_CLOSED.
   */
  close() {
    if (this._closing) return this._closing;
    this._closed = true;
    this._closing = closing(this._bridge, (done) =>
      this._bridge.closeTaskManager(this._handle, this._bridge.guard(() => {
        this._unwatch();
        try {
          this._letGo();
        } finally {
          done();
        }
      })),
    );
    return this._closing;
  }
}

// finalCopy is a closed manager's final state, kept in JS, as the bridge
// would give it: a fresh copy each time.
const finalCopy = (v) => (typeof structuredClone === 'function' ? structuredClone(v) : JSON.parse(JSON.stringify(v)));

// closing returns a Promise that resolves once close(done) has called done
// (close returns the bridge's answer: an error resolves it at once), or
// once the Go module has exited, whichever comes first.
function closing(bridge, close) {
  return new Promise((resolve) => {
    if (bridge.gone()) return resolve();
    const unwatch = bridge.onExit(() => resolve());
    const done = () => {
      unwatch();
      resolve();
    };
    const a = close(done);
    if (a && a.error) done();
  });
}

// The options ready() knows; any other is refused, not ignored.
const READY_OPTIONS = new Set(['timeout']);

/** A pool of Web Workers, one per config, attached to a TaskManager. */
class BrowserWorkerManager {
  constructor(bridge, handle, tm) {
    this._bridge = bridge;
    this._handle = handle;
    this._closed = false;
    this._final = null; // workers() once closed and forgotten by the bridge (see _letGo)
    /** The TaskManager whose tasks the workers run. */
    this.taskManager = tm;
    tm._wms.add(this);
  }

  // _letGo keeps the final list of workers in JS and has the bridge forget
  // the manager: its TaskManager or itself was closed.
  _letGo() {
    if (this._final) return;
    this._final = unwrap(this._bridge.workers(this._handle));
    this.taskManager._wms.delete(this);
    this._bridge.forget(this._handle);
  }

  _check(where) {
    if (this._closed || this.taskManager.closed) {
      throw new AtmoError(`atmo: ${where}: this BrowserWorkerManager is closed`, { code: 'ERR_CLOSED' });
    }
  }

  /** Every worker: {id, kind ('js' or 'go'), tasks, script, module, status, tasksDone, lastError}. */
  workers() {
    if (this._final) return finalCopy(this._final);
    return unwrap(this._bridge.workers(this._handle));
  }

  /**
   * Resolves once every worker is available or closed; rejects (code
   * ERR_WORKER_START) naming the workers that failed to start, or past
   * options.timeout (ms, default 30000; code ERR_TIMEOUT) naming those still
   * starting.
   */
  ready(options = {}) {
    if (options !== null && typeof options !== 'object') {
      return Promise.reject(badArgument(`atmo: ready(options): options must be an object like {timeout: 5000} (got ${shown(options)})`, 'options'));
    }
    let timeout;
    try {
      ({ timeout } = snapshot(options || {}, READY_OPTIONS, 'ready(options)', 'options.'));
    } catch (err) {
      return Promise.reject(err);
    }
    if (timeout !== undefined && !(typeof timeout === 'number' && timeout > 0)) {
      return Promise.reject(badArgument(`atmo: ready(options): options.timeout must be a number of milliseconds above 0 (default 30000) (got ${String(timeout)})`, 'options.timeout'));
    }
    return new Promise((resolve, reject) => {
      const gone = this._bridge.gone();
      if (gone) return reject(gone); // and add no watcher that would never be called
      if (this._final) return resolve(); // closed: none is starting
      const unwatch = this._bridge.onExit(reject);
      const a = this._bridge.ready(this._handle, timeout || 30000, this._bridge.guard((err) => {
        unwatch();
        if (err) reject(fromBridge(err));
        else resolve();
      }));
      if (a && a.error) {
        unwatch();
        reject(fromBridge(a.error));
      }
    });
  }

  /**
   * Starts the workers of one more config (count of them, default 1);
   * returns the description of the first. With maxWorkers (and idleTimeout)
   * they are an elastic group of their own that grows while its tasks wait.
   */
  addWorker(config) {
    this._check('addWorker');
    config = ownFields(config, 'config', 'addWorker(config)');
    refuseBigInts(config, 'config', 'addWorker(config)');
    return unwrap(this._bridge.addWorker(this._handle, absolute(config, 'config')));
  }

  /**
   * Terminates one worker; its running tasks go to other capable workers
   * while their retries last, else fail with ERR_CLOSED. A worker closed
   * already (listed or not any more) is left as it is.
   */
  closeWorker(id) {
    if (this._final) throw new AtmoError('atmo: closed: closeWorker(id): this BrowserWorkerManager is closed, and its workers with it', { code: 'ERR_CLOSED' });
    if (typeof id !== 'string') {
      const info = id && typeof id === 'object' && typeof id.id === 'string' ? `; pass its id (${JSON.stringify(id.id)}), not what workers() says of it` : '';
      throw badArgument(`atmo: closeWorker(id): id must be a worker's id, a string such as wm.workers()[0].id (got ${shown(id)})${info}`, 'id');
    }
    unwrap(this._bridge.closeWorker(this._handle, id));
  }

  /** Terminates every worker. */
  close() {
    if (this._closing) return this._closing;
    this._closed = true;
    this._closing = closing(this._bridge, (done) =>
      this._bridge.closeWorkerManager(this._handle, this._bridge.guard(() => {
        try {
          this._letGo();
        } finally {
          done();
        }
      })),
    );
    return this._closing;
  }
}

/** What loadAtmo resolves with. */
class Atmo {
  constructor(bridge) {
    this._bridge = bridge;
  }

  /**
   * A new TaskManager. options: {agingInterval: ms, loneTaskAwake: ms,
   * maxQueue: tasks}: loneTaskAwake is how long the page and the worker stay
   * awake around a task the manager holds alone (default 0.3, at most 1; 0 or
   * negative: never); maxQueue is the most tasks that may wait (default
   * 1000000; Infinity: no bound), past which a task is refused with ERR_QUEUE_FULL.
   */
  createTaskManager(options) {
    options = ownFields(options, 'options', 'createTaskManager(options)');
    refuseBigInts(options, 'options', 'createTaskManager(options)');
    const { handle, id, maxPriority } = unwrap(this._bridge.createTaskManager(options));
    return new TaskManager(this._bridge, handle, id, maxPriority);
  }

  /**
   * Starts workers for each config ({tasks, script} for a JS worker,
   * {tasks, module} for a Go .wasm worker; optional type, count,
   * maxWorkers, idleTimeout in ms, concurrency, keepAwake, startTimeout,
   * taskTimeout and cancelGrace in ms) and attaches them to tm. With maxWorkers above count the pool
   * grows while tasks wait and closes the extra workers after idleTimeout. Throws an AtmoError naming the
   * bad argument, e.g. argument 'configs[1].scirpt' for an unknown field.
   */
  createBrowserWorkerManager(tm, configs) {
    if (!(tm instanceof TaskManager)) throw badArgument('atmo: createBrowserWorkerManager(tm, configs): tm must come from atmo.createTaskManager()', 'tm');
    if (tm.closed) throw tm._closedError('createBrowserWorkerManager');
    if (!Array.isArray(configs)) throw badArgument('atmo: createBrowserWorkerManager(tm, configs): configs must be an array of {tasks, script} or {tasks, module}', 'configs');
    configs = configs.map((c, i) => ownFields(c, `configs[${i}]`, 'createBrowserWorkerManager(tm, configs)'));
    configs.forEach((c, i) => refuseBigInts(c, `configs[${i}]`, 'createBrowserWorkerManager(tm, configs)'));
    const handle = unwrap(this._bridge.createWorkerManager(tm._handle, configs.map((c, i) => absolute(c, `configs[${i}]`))));
    return new BrowserWorkerManager(this._bridge, handle, tm);
  }
}

// exitAware wraps the Go module's bridge. Once the module has exited (a
// panic, or Go out of memory), every call that would enter Go throws the
// exit's AtmoError (code ERR_EXITED, from exitError()) instead of
// wasm_exec.js's bare "Go program has already exited", and whatever waits on
// Go (tasks, ready(), close()) is settled through onExit rather than left
// waiting for ever. go is the module's wasm_exec.js Go: its exited flag is
// set during the exit itself, before the Promise of go.run settles.
// copy, hold, release, held and detached are plain JS and work on.
//
// It also keeps JS's run to completion: a call into Go that waits, however
// briefly (a lock another goroutine holds), lets Go's other goroutines run,
// and those hand answers and events to JS (listen's deliver, a subscriber,
// close's and ready's done) during the call. A page's callback run then
// would run inside its own tm.status() or addTask(), and could call back
// into Go mid-call. So what Go hands over during a call, or while earlier
// deliveries still wait, waits in one queue, in the order it came, and runs
// once the outermost call has returned, in a microtask; the exit's
// watchers wait there too (gone() may be called within any call).
const PLAIN_JS = new Set(['copy', 'hold', 'release', 'held', 'detached']);
function exitAware(b, go, exitError) {
  let error = null;
  const watchers = new Set();
  let depth = 0; // calls into Go under way
  let due = false; // a flush of the queue is scheduled or running
  const queue = []; // fn, arg, fn, arg, ...: deliveries that wait
  const flush = () => {
    // Deliveries queued while it runs (a callback's own call into Go) run
    // in this loop too, after the others.
    for (let i = 0; i < queue.length; i += 2) {
      const fn = queue[i], a = queue[i + 1];
      queue[i] = queue[i + 1] = undefined;
      try {
        fn(a);
      } catch (err) {
        console.error('atmo: a delivery from Go threw', err); // atmo.js's own callers catch theirs
      }
    }
    queue.length = 0;
    due = false;
  };
  const later = (fn, a) => {
    queue.push(fn, a);
    if (depth === 0 && !due) {
      due = true;
      queueMicrotask(flush);
    }
  };
  const gone = () => {
    if (error === null && go.exited) {
      error = exitError();
      for (const fn of watchers) later(fn, error);
      watchers.clear();
    }
    return error;
  };
  const w = {};
  for (const [k, f] of Object.entries(b)) {
    if (typeof f !== 'function' || PLAIN_JS.has(k)) {
      w[k] = f;
      continue;
    }
    w[k] = (...args) => {
      if (gone()) throw error;
      depth++;
      try {
        return f(...args);
      } finally {
        if (--depth === 0 && queue.length > 0 && !due) {
          due = true;
          queueMicrotask(flush);
        }
      }
    };
  }
  // busy says whether what Go hands over now must wait (see later).
  w.busy = () => depth > 0 || queue.length > 0;
  // later(fn, a) calls fn(a) once no call into Go is under way, after the
  // deliveries that wait already.
  w.later = later;
  // guard(fn) is fn, of one argument, for Go to call: at once when no call
  // into Go is under way and nothing waits, else later.
  w.guard = (fn) => (a) => {
    if (depth === 0 && queue.length === 0) fn(a);
    else later(fn, a);
  };
  // gone is the exit's error, or null while the module runs.
  w.gone = gone;
  // onExit calls fn(error) once the module has exited; the function it
  // returns stops that.
  w.onExit = (fn) => {
    watchers.add(fn);
    return () => watchers.delete(fn);
  };
  return w;
}

// The load under way or done, shared by every copy of this file the page
// imports (two URLs of it: a cache-busting query, a bundled copy), as the
// Go module hands its API over through one global.
const LOADING = Symbol.for('atmo.loading');

const wasmExecAdvice = 'it must be the wasm_exec.js of the Go that built the module (the host server serves it at /wasm_exec.js)';

// resolveURL is url resolved against the page (its base) or the worker; in
// a Blob URL worker, which resolves no relative URL, against its origin.
function resolveURL(url) {
  try {
    return new URL(url, typeof document === 'undefined' ? location.href : document.baseURI).href;
  } catch (err) {
    // Only a path from the root ('/workers/x.wasm') means the same there:
    // the folder a relative one ('x.js') meant is not known.
    if (!String(url).startsWith('/')) throw err;
    return new URL(url, location.origin).href;
  }
}

// loadScript runs a classic script (wasm_exec.js defines globalThis.Go):
// in a page through a script element; in a worker with importScripts, or,
// in a module worker, which has none, as a module.
async function loadScript(src) {
  if (typeof document === 'undefined') {
    try {
      const url = resolveURL(src);
      try {
        importScripts(url);
      } catch (err) {
        if (!(err instanceof TypeError)) throw err; // a module worker: no importScripts
        await import(url);
      }
    } catch (err) {
      throw new AtmoError(`atmo: could not load ${src}: ${(err && err.message) || err}; ${wasmExecAdvice}`, { code: 'ERR_LOAD' });
    }
    return;
  }
  await new Promise((resolve, reject) => {
    const s = document.createElement('script');
    s.src = src;
    s.onload = () => resolve();
    s.onerror = () => reject(new AtmoError(`atmo: could not load ${src}; ${wasmExecAdvice}`, { code: 'ERR_LOAD' }));
    document.head.appendChild(s);
  });
}

// buildAtmoWasm builds atmo.wasm outside the atmo repository, where the
// host server (go tool host) serves it from by default.
const buildAtmoWasm = '`GOOS=js GOARCH=wasm go build -o bin/wasm/atmo.wasm github.com/atmoworkers/atmo/wasm/cmd/atmo`';

async function instantiate(url, importObject) {
  let res;
  try {
    res = await fetch(url);
  } catch (err) {
    throw new AtmoError(`atmo: could not load ${url}: ${err.message}`, { code: 'ERR_LOAD' });
  }
  if (!res.ok) {
    throw new AtmoError(`atmo: could not load ${url} (HTTP ${res.status}); build it with \`make build\` and serve it with \`go run ./host\` (in the atmo repository), or, from a module of your own, ${buildAtmoWasm} and serve it with \`go tool host\` (after \`go get -tool github.com/atmoworkers/atmo/host\`)`, { code: 'ERR_LOAD' });
  }
  try {
    // Streaming takes only the bare type: 'application/wasm; charset=utf-8'
    // (a proxy's, a static server's) fails it, so it goes as bytes.
    if (WebAssembly.instantiateStreaming && (res.headers.get('content-type') || '').trim().toLowerCase() === 'application/wasm') {
      return await WebAssembly.instantiateStreaming(res, importObject);
    }
    return await WebAssembly.instantiate(await res.arrayBuffer(), importObject);
  } catch (err) {
    throw new AtmoError(`atmo: could not start ${url}: ${err.message}; it must be atmo.wasm, built with \`make build\` (from a module of your own: ${buildAtmoWasm}) by the Go whose wasm_exec.js the page loads (a server that answers an unknown path with a page sends HTML)`, { code: 'ERR_LOAD' });
  }
}

// The options loadAtmo knows; any other is refused, not ignored (a
// misspelt wasm would load the default module).
const LOAD_OPTIONS = new Set(['wasm', 'wasmExec', 'timeout']);

/**
 * Loads the Go module and resolves with the API. options: wasm (default
 * '/atmo.wasm'), wasmExec (default '/wasm_exec.js'; Go worker modules load
 * it from there too), timeout (ms the module, once started, has to hand
 * over the API, default 10000: another Go program, such as a worker
 * module, never does). The module loads once per page, whichever copy of
 * this file is asked; later calls share it.
 */
export function loadAtmo(options = {}) {
  if (options === null || typeof options !== 'object') {
    return Promise.reject(badArgument(`atmo: loadAtmo(options): options must be an object like {wasm: '/atmo.wasm', wasmExec: '/wasm_exec.js'} (got ${shown(options)})`, 'options'));
  }
  try {
    options = snapshot(options, LOAD_OPTIONS, 'loadAtmo(options)', 'options.');
  } catch (err) {
    return Promise.reject(err);
  }
  const urls = {};
  for (const k of ['wasm', 'wasmExec']) {
    let v = options[k];
    if (typeof URL === 'function' && v instanceof URL) v = v.href; // new URL('atmo.wasm', import.meta.url)
    if (v !== undefined && (typeof v !== 'string' || v === '')) {
      return Promise.reject(badArgument(`atmo: loadAtmo(options): options.${k} must be a URL, as a string or a URL object, or left out for the default (got ${shown(v)})`, 'options.' + k));
    }
    urls[k] = v;
  }
  // Checked before a load under way is shared, as the URLs are: a bad
  // value is refused on every call, not only on the first.
  const timeout = options.timeout === undefined ? 10000 : options.timeout;
  if (!(typeof timeout === 'number' && timeout > 0)) {
    return Promise.reject(badArgument(`atmo: loadAtmo(options): options.timeout must be a number of milliseconds above 0 (got ${String(timeout)})`, 'options.timeout'));
  }
  const wasm = urls.wasm || '/atmo.wasm';
  const wasmExec = urls.wasmExec || '/wasm_exec.js';
  const first = globalThis[LOADING];
  if (first) {
    // Once per page: a later call with other URLs gets the first load, and
    // is told so rather than left to wonder which module it runs.
    const o = first.atmoLoaded;
    const same = (a, b) => {
      try {
        return resolveURL(a) === resolveURL(b); // '/atmo.wasm', 'atmo.wasm' from the root and its URL object are one
      } catch (_) {
        return a === b;
      }
    };
    if (o && ((urls.wasm !== undefined && !same(wasm, o.wasm)) || (urls.wasmExec !== undefined && !same(wasmExec, o.wasmExec)))) {
      console.warn(`atmo: loadAtmo(${JSON.stringify(urls)}): atmo loads once per page, and this page loaded it already from ${o.wasm} (wasm_exec.js: ${o.wasmExec}); this call gets that load`);
    }
    return first;
  }
  const loading = (async () => {
    if (typeof globalThis.Go !== 'function') await loadScript(wasmExec);
    if (typeof globalThis.Go !== 'function') {
      throw new AtmoError(`atmo: ${wasmExec} loaded but did not define Go; ${wasmExecAdvice}`, { code: 'ERR_LOAD' });
    }
    const go = new globalThis.Go();
    const bridge = new Promise((resolve) => {
      globalThis.__atmoReady = resolve;
    });
    // Its Go worker modules load wasm_exec.js from where this page did (a
    // site served under a path of its own has none at the origin's root),
    // told to the Go program on the handshake's function (its environment
    // holds a few KiB: a data: URL would not fit).
    try {
      globalThis.__atmoReady.wasmExec = resolveURL(wasmExec);
    } catch (_) {
      // no base at all: Go's own default
    }
    let wasmURL = wasm;
    if (typeof document === 'undefined') {
      try {
        wasmURL = resolveURL(wasm); // a Blob URL worker's fetch resolves no relative URL
      } catch (_) {
        // fetch says what is wrong with it
      }
    }
    const { instance } = await instantiate(wasmURL, go.importObject);
    let exitCode = 0;
    const onExit = go.exit;
    go.exit = (code) => {
      exitCode = code;
      onExit.call(go, code);
    };
    const ran = go.run(instance);
    const early = ran.then(() => {
      throw new AtmoError(`atmo: the Go module ${wasm} exited (code ${exitCode}) before it was ready`, { code: 'ERR_LOAD' });
    });
    early.catch(() => {}); // once ready, the exit is for exitAware to report
    let timer;
    const silent = new Promise((_, reject) => {
      timer = setTimeout(() => reject(new AtmoError(`atmo: ${wasm} started but did not hand over atmo's API within ${timeout} ms; it must be atmo.wasm, built from ./wasm/cmd/atmo (a Go worker module is started by a worker config's module, not by loadAtmo)`, { code: 'ERR_LOAD' })), timeout);
    });
    const api = await Promise.race([bridge, early, silent]).finally(() => clearTimeout(timer));
    const b = exitAware(api, go, () => {
      const why = exitCode === 0 ? '' : ' (the console shows why)';
      return new AtmoError(`atmo: the Go module ${wasm} exited with code ${exitCode}${why}, so its tasks cannot finish; reload the page to start again`, { code: 'ERR_EXITED' });
    });
    delete globalThis.__atmoReady;
    ran.then(() => b.gone()); // settle what waits, even if nothing calls
    return new Atmo(b);
  })();
  loading.atmoLoaded = { wasm, wasmExec };
  globalThis[LOADING] = loading;
  loading.catch(() => {
    if (globalThis[LOADING] === loading) delete globalThis[LOADING]; // let a later call try again
  });
  return loading;
}

// For classic scripts, once this module has run (see atmo.d.ts): a classic
// <script src> cannot load this file, which is an ES module.
globalThis.loadAtmo = loadAtmo;
