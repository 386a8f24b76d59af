// Types of atmo-worker.js, for workers written in TypeScript.
//
// A classic Web Worker that loads it with importScripts gets atmoWorker as
// a global: `/// <reference path="atmo-worker.d.ts" />`. Node.js's
// `require('.../atmo-worker.js')` gives { atmoWorker }, typed here too; an
// ES module worker imports it from atmo-worker.mjs (atmo-worker.d.mts).

/** What a handler gets besides its params. */
export interface TaskContext {
  /** The task name being run. */
  readonly name: string;
  readonly taskId: string;
  readonly workerId: string;
  /** Aborted when the host cancels the task, or stops it past its timeout. */
  readonly signal: AbortSignal;
  /**
   * Sends a progress report to the task's onProgress, in order, before its
   * answer. Throws, as postMessage does, for a value that cannot be cloned.
   * atmoWorker.transfer(value, list) moves list's buffers with the report.
   */
  progress(value: unknown): void;
}

/** A task's handler: its params, as the host sent them, and its context. */
export type Handler<P = any, R = unknown> = (params: P, ctx: TaskContext) => R | Promise<R>;

/** A value and the ArrayBuffers in it to move back instead of copying. */
export interface Transfer<T = unknown> {
  readonly value: T;
  readonly list: readonly (Transferable | SharedArrayBuffer)[];
  /**
   * A marker: a function, which structured clone refuses, so that the
   * helper finds a Transfer left inside a result or a report and moves it.
   */
  readonly atmoTransfer: () => string;
}

export interface AtmoWorker {
  /**
   * Serves the tasks named by handlers' functions (own properties and, for
   * a class instance, its methods, called with it as this). Once per worker;
   * throws a TypeError for an object with no functions. (The union keeps
   * class instances, which have no index signature, and still types an
   * object literal's handlers.)
   */
  (handlers: { readonly [name: string]: Handler } | object): void;
  /**
   * Return this from a handler to move list's buffers back with value (a
   * SharedArrayBuffer listed crosses shared, as it is).
   */
  transfer<T>(value: T, list: readonly (Transferable | SharedArrayBuffer)[]): Transfer<T>;
}

export declare const atmoWorker: AtmoWorker;

declare global {
  /** Set by importScripts('atmo-worker.js') in a classic Web Worker. */
  const atmoWorker: AtmoWorker;
}
