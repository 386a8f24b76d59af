// Types of atmo.js: atmo's Go WebAssembly TaskManager and
// BrowserWorkerManager for plain JavaScript pages.

/** Why a call or a task failed. */
export type AtmoErrorCode =
  | 'ERR_TASK' // the worker answered with an error: message is the worker's message
  | 'ERR_NO_WORKER' // no worker lists the task's name
  | 'ERR_CLOSED' // the TaskManager or worker manager was closed
  | 'ERR_CANCELED' // the task was cancelled
  | 'ERR_WORKER_CRASHED' // the worker running the task died
  | 'ERR_WORKER_START' // a worker failed to start
  | 'ERR_TIMEOUT' // the task ran past its timeout; ready() past its own
  | 'ERR_QUEUE_FULL' // too many tasks were waiting
  | 'ERR_BAD_ARGUMENT' // an argument was unusable: see argument
  | 'ERR_LOAD' // atmo.wasm or wasm_exec.js could not be loaded
  | 'ERR_EXITED' // the Go module exited (a panic, or out of memory): reload the page
  | 'ERR_ATMO'
  | 'ERR_INTERNAL';

/** The fields an AtmoError may be made with: its code, and any of its other fields. */
export interface AtmoErrorFields {
  /** Default 'ERR_ATMO'. A subclass of the page's own may give a code of its own. */
  code?: AtmoErrorCode | (string & {});
  taskId?: string;
  workerId?: string;
  workerMessage?: string;
  argument?: string;
  cause?: unknown;
  transfer?: Transferable[];
}

/**
 * The error of every failed call and task. A page may make its own, or
 * subclass it (class AppError extends AtmoError {}): atmo's errors are
 * instanceof AtmoError whichever copy of atmo.js made them, and a
 * subclass's instanceof stays its own.
 */
export class AtmoError extends Error {
  constructor(message?: string, fields?: AtmoErrorFields);
  /** 'AtmoError' (a subclass may set its own). */
  name: string;
  code: AtmoErrorCode;
  /** The task that failed, when a task failed. */
  taskId?: string;
  /** The worker that ran it, when one did. */
  workerId?: string;
  /** The worker's own message (code ERR_TASK); also the error's message. */
  workerMessage?: string;
  /** The bad argument (code ERR_BAD_ARGUMENT), e.g. 'name', 'params', 'configs[1].scirpt'. */
  argument?: string;
  /** For ERR_CANCELED by a run's or task's signal: the signal's reason. */
  cause?: unknown;
  /**
   * For a task that failed before it was posted to a worker (refused, say
   * ERR_QUEUE_FULL, or cancelled while it waited): the transferables of its
   * transfer option, whole and the caller's again. A task that failed once
   * in the manager's queue is known to be unposted by its ArrayBuffers: a
   * list of only MessagePorts or canvases comes back only when the task was
   * refused or never handed over.
   */
  transfer?: Transferable[];
}

/** One worker of a pool: a JS script or a Go WASM module. */
export interface WorkerConfig {
  /** The task names the worker handles (at least one). */
  tasks: readonly string[];
  /** URL of a JS worker script (the seed's protocol, or jsworker/atmo-worker.js). */
  script?: string | URL;
  /** URL of a Go WASM worker module built with wasm/worker. Set script or module. */
  module?: string | URL;
  /** How the script loads: 'classic' (default) or 'module'. */
  type?: 'classic' | 'module';
  /** How many workers of this config start (default 1). */
  count?: number;
  /** Grow up to this many workers of this config while its tasks wait in the queue (default count); once every worker of the config has closed, it grows no more. */
  maxWorkers?: number;
  /** Milliseconds a worker above count may sit idle before it is closed, releasing its memory (default: never). */
  idleTimeout?: number;
  /** Tasks one worker may hold at once (default 1). */
  concurrency?: number;
  /** Milliseconds a worker written with atmo-worker.js, or a Go worker, stays busy after it answers with nothing left to run, so that a task posted meanwhile finds its thread awake; the page stays busy as long after it posts a task to this worker with nothing else in flight, until the worker answers, with any worker (default 0, at most 1; 0.05 spares a sleeping thread's wake-up, at up to that much CPU each time). Without it, a task the manager holds alone keeps both threads awake anyway: see createTaskManager's loneTaskAwake. */
  keepAwake?: number;
  /** Milliseconds the worker may take to become ready (default 30000). */
  startTimeout?: number;
  /** Milliseconds a task of this worker may run when it sets no timeout. */
  taskTimeout?: number;
  /** Milliseconds a handler has to stop once its task is cancelled or timed out (its signal aborted) before the worker is terminated and replaced (default 1000). */
  cancelGrace?: number;
}

export type WorkerStatus = 'offline' | 'available' | 'working' | 'closed';

/** What workers() says about one worker. */
export interface WorkerInfo {
  id: string;
  kind: 'js' | 'go';
  tasks: string[];
  script: string;
  module: string;
  status: WorkerStatus;
  tasksDone: number;
  /** Why the worker closed, or the last error it reported; '' if none. */
  lastError: string;
}

/** The seed's status(). */
export interface StatusSummary {
  pending: string[];
  working: string[];
  done: number;
  failed: number;
}

/** Duration percentiles, in milliseconds, over the last 1024 tasks. */
export interface Percentiles {
  count: number;
  p50: number;
  p95: number;
  p99: number;
  max: number;
}

/** One worker in stats(). */
export interface WorkerStats {
  id: string;
  kind: 'js' | 'go';
  source: string;
  tasks: string[];
  status: WorkerStatus;
  done: number;
  failed: number;
  /** Tasks it holds now. */
  inFlight: number;
  /** Tasks it may hold at once: its config's concurrency. */
  capacity: number;
  /** Times its thread was restarted: after a crash, a timeout of a seed script's task, a cancel or timeout it did not heed within cancelGrace, or a failed start. */
  restarts: number;
  /** ms since its current thread became ready. */
  uptime: number;
  lastError: string;
}

/** What stats() returns: the Go TaskManager's Stats(). */
export interface Stats {
  submitted: number;
  done: number;
  failed: number;
  retried: number;
  canceled: number;
  /** Runs past their timeout: a task retried after one counts once for each. */
  timedOut: number;
  rejected: number;
  crashed: number;
  restarted: number;
  /** Workers started above count because tasks waited. */
  grown: number;
  /** Workers closed after idleTimeout. */
  released: number;
  ignored: number;
  /** Callbacks that threw: onSuccess, onError, onProgress, subscribers (each also a 'callback-panic' event, and logged). */
  callbackPanics: number;
  queued: number;
  running: number;
  workers: WorkerStats[];
  queueWait: Percentiles;
  runTime: Percentiles;
}

/** One event of the claim flow, as subscribe() sees it (the seed's events$). */
export interface AtmoEvent {
  message:
    | 'new-task'
    | 'task-available'
    | 'task-claim'
    | 'task-claim-granted'
    | 'task-updated'
    | 'task-deleted'
    | 'worker-ready'
    | 'worker-updated'
    | 'worker-work'
    | 'worker-response'
    | 'worker-progress'
    | 'callback-panic'
    | string;
  seq: number;
  managerId: string;
  taskId?: string;
  workerId?: string;
  content?: unknown;
  error?: string;
}

/** What onSuccess receives: the seed's worker-response. */
export interface SuccessResponse<R = unknown> {
  message: 'worker-response';
  taskId: string;
  workerId: string;
  content: R;
}

/** What onError receives. */
export interface ErrorResponse {
  message: 'worker-response';
  taskId: string;
  workerId?: string;
  error: string;
  code: AtmoErrorCode;
  /** For ERR_CANCELED by the task's signal: the signal's reason. */
  cause?: unknown;
  /** For a task that failed before it was posted to a worker: its transfer's transferables, the caller's again. */
  transfer?: Transferable[];
}

/** Options of a task. */
export interface RunOptions {
  /** Higher runs first among queued tasks (default 0). */
  priority?: number;
  /**
   * Milliseconds the task may run (queue time not counted); ERR_TIMEOUT past
   * it. 0 or absent: the worker config's taskTimeout, if any; Infinity: no
   * limit, whatever that says.
   */
  timeout?: number;
  /**
   * Re-runs after a worker crash, a timeout or the worker's close (not after
   * the worker's own error): a whole number, 0 or more. Not with a non-empty transfer, whose
   * buffers leave with the first worker.
   */
  retries?: number;
  /**
   * Called for each progress report the worker sends (progress(value) in
   * atmo-worker.js, worker.Progress in Go), in order, before the task settles.
   * A task run again by `retries` reports again from its start.
   */
  onProgress?: (report: ProgressReport) => void;
  /**
   * ArrayBuffers (or other transferables) in params that move to the worker
   * instead of being copied; the caller's are left detached when the call is
   * made. Should the task fail before it is posted to a worker, its error's
   * transfer has them back. A SharedArrayBuffer listed crosses shared, as it is.
   */
  transfer?: readonly (Transferable | SharedArrayBuffer)[];
  /**
   * The result as the worker sent it (typed arrays keep their type, Dates stay
   * Dates, a buffer the worker transferred arrives with no copy) instead of
   * converted by atmo's value rules (bytes as Uint8Array, Dates as ISO text).
   */
  raw?: boolean;
  /**
   * Cancels the task when it aborts, as cancel() does: the task settles with
   * ERR_CANCELED, the signal's reason as the error's cause, and the worker's
   * handler sees its own signal abort. A signal aborted already sends nothing:
   * run() rejects and addTask() throws, with ERR_CANCELED.
   */
  signal?: AbortSignal;
}

/** One progress report of a running task. */
export interface ProgressReport<C = unknown> {
  taskId: string;
  workerId: string;
  /** What the worker passed to progress(value). */
  content: C;
}

export interface TaskParams<P = unknown, R = unknown> extends RunOptions {
  name: string;
  params?: P;
  onSuccess?: (response: SuccessResponse<R>) => void;
  onError?: (response: ErrorResponse) => void;
  /** The seed's TaskRequest fields: taken, and ignored (atmo gives the id). */
  id?: string;
  status?: string;
  assignedWorker?: string;
}

/** A task added with addTask. */
export interface TaskHandle {
  id: string;
  name: string;
  /** Cancels the task; it settles with ERR_CANCELED. */
  cancel(): void;
}

export interface TaskManager {
  readonly id: string;
  readonly closed: boolean;
  /** Runs a task; rejects with an AtmoError (ERR_TASK carries the worker's message). */
  run<R = unknown>(name: string, params?: unknown, options?: RunOptions): Promise<R>;
  /** The seed's addTask, with callbacks. Throws an AtmoError for a bad argument, after close, or for a signal aborted already. */
  addTask<P = unknown, R = unknown>(task: TaskParams<P, R>): TaskHandle;
  cancel(taskId: string): void;
  status(): StatusSummary;
  /** tm.Stats(): counters, workers and latency percentiles (ms). */
  stats(): Stats;
  /** Calls fn with every event, in order (seq counts them). Returns a function that unsubscribes: fn is not called after it, not even for events already on their way. */
  subscribe(fn: (event: AtmoEvent) => void): () => void;
  /** Settles every task with ERR_CLOSED and terminates the workers. */
  close(): Promise<void>;
}

/** Options of ready(). */
export interface ReadyOptions {
  /** Milliseconds to wait for the workers still starting (default 30000). */
  timeout?: number;
}

export interface BrowserWorkerManager {
  readonly taskManager: TaskManager;
  workers(): WorkerInfo[];
  /**
   * Resolves when every worker is available or closed; rejects naming those
   * that failed (ERR_WORKER_START), and, past timeout (ms, default 30000),
   * those still starting (ERR_TIMEOUT when none failed).
   */
  ready(options?: ReadyOptions): Promise<void>;
  addWorker(config: WorkerConfig): WorkerInfo;
  /**
   * Terminates one worker; its running tasks go to other capable workers
   * while their retries last, else fail with ERR_CLOSED. A worker closed
   * already (listed or not any more) is left as it is. Throws ERR_CLOSED
   * once the manager is closed, and ERR_BAD_ARGUMENT for an id that is no
   * worker of this manager's.
   */
  closeWorker(id: string): void;
  close(): Promise<void>;
}

/** Options of createTaskManager(). */
export interface TaskManagerOptions {
  /** ms a queued task waits to gain a priority level (default 1000; negative: no aging). */
  agingInterval?: number;
  /**
   * ms the page and the worker stay awake around a task the manager holds
   * alone, as in a loop of awaited runs, so that neither pays a sleeping
   * thread's wake-up (default 0.3, at most 1; 0 or negative: never).
   * Workers' own keepAwake takes its place.
   */
  loneTaskAwake?: number;
  /**
   * The most tasks that may wait (default 1000000; Infinity: no bound); past
   * it run() rejects, and addTask throws, with ERR_QUEUE_FULL.
   */
  maxQueue?: number;
}

export interface Atmo {
  createTaskManager(options?: TaskManagerOptions): TaskManager;
  /** Throws an AtmoError naming the bad argument, e.g. an unknown config field. */
  createBrowserWorkerManager(tm: TaskManager, configs: readonly WorkerConfig[]): BrowserWorkerManager;
}

export interface LoadOptions {
  /** URL of the main-thread module (default '/atmo.wasm'). */
  wasm?: string | URL;
  /**
   * URL of the wasm_exec.js matching the Go that built it (default
   * '/wasm_exec.js'); Go worker modules load it from there too, so a site
   * served under a path of its own ('../wasm_exec.js') needs none at the
   * origin's root.
   */
  wasmExec?: string | URL;
  /**
   * Milliseconds the module, once started, has to hand over the API (default
   * 10000); past it loadAtmo rejects with ERR_LOAD (another Go program, such
   * as a worker module, never does).
   */
  timeout?: number;
}

/** Loads the Go module once per page and resolves with the API. */
export function loadAtmo(options?: LoadOptions): Promise<Atmo>;

declare global {
  /**
   * The same loadAtmo, for classic scripts. atmo.js is an ES module: a
   * classic <script src="/atmo.js"> fails on its export and sets nothing.
   * Load it with <script type="module" src="/atmo.js"></script>; it sets
   * this global when it runs, after the page is parsed, so a classic script
   * calls it from DOMContentLoaded or later (or imports it: import('/atmo.js')).
   */
  function loadAtmo(options?: LoadOptions): Promise<Atmo>;
}
