package atmo

import (
	"fmt"
	"slices"
	"strings"
	"time"
)

// WorkerConfig describes the workers of one kind in a pool: the seed's
// WorkerConfig. The zero value of each optional field means its default.
type WorkerConfig struct {
	// Tasks are the task names this worker can do (at least one; a name
	// listed twice counts once).
	Tasks []string
	// Script is the URL (in the browser; a file path under Node.js) of a JS
	// worker script that speaks the protocol: the seed's workers and those
	// written with jsworker/atmo-worker.js.
	Script string
	// Module is the URL of a Go WASM worker module, built with GOOS=js
	// GOARCH=wasm from a main package that uses
	// github.com/atmoworkers/atmo/wasm/worker. Set Script or Module, not both.
	Module string
	// Type is how the script loads: "classic" (the default, may use
	// importScripts) or "module" (may use import).
	Type string

	// Count is how many workers of this config start at once. Default 1.
	Count int
	// MaxWorkers lets the pool grow up to this many workers of this config
	// while tasks it can run wait in the queue. Default Count. Once every
	// worker of the config has closed (Close, or a crash or start failure
	// past its RestartPolicy), it grows no more.
	MaxWorkers int
	// IdleTimeout closes workers above Count after this long without a
	// task, which releases their memory (a Go worker holds a whole runtime).
	// 0 (or less): never.
	IdleTimeout time.Duration
	// Concurrency is how many tasks one worker may hold at once. Default 1,
	// the seed's one-task-at-a-time behaviour; workers written with
	// atmo-worker.js or wasm/worker overlap async handlers up to this many.
	Concurrency int
	// KeepAwake is how long a Go worker, or a JS worker written with
	// jsworker/atmo-worker.js, stays busy after it answers with nothing
	// left to run, before its thread sleeps: a task posted within that time
	// starts at once, without waking a sleeping thread, which on a virtual
	// machine costs tens of µs of a round trip (README, "Performance").
	// In a browser the page stays busy as long, too, after it posts a task
	// to the worker with nothing else in flight, until the worker's next
	// message, so that the answer finds it awake; that part works with seed
	// scripts as well, which ignore the rest. Either side takes other work
	// the moment it comes. It spends up to that much CPU each time, CPU a
	// flood's page may need, so it pays where tasks come one at a time and
	// close together. 0, the default: sleep at once, but for a task the
	// TaskManager holds alone (Options.LoneTaskAwake), which is what most
	// one-at-a-time use wants. At most MaxKeepAwake.
	KeepAwake time.Duration

	// MaxHeapMB bounds the worker's JS heap, in MiB, under Node.js
	// (worker_threads' resourceLimits.maxOldGenerationSizeMb): past it the
	// thread dies out of memory, which counts as a crash. 0: Node's default.
	// A Go module's thread gets it too, but its WebAssembly memory, where
	// Go's heap lives, is not part of the JS heap and is not bounded by it.
	// Browsers offer no such bound, and Chromium runs dedicated workers in
	// the page's process, so a worker that exhausts its heap takes the page
	// down with it: there is nothing left to recover.
	MaxHeapMB int

	// StartTimeout bounds how long a worker may take to answer init-worker
	// with worker-ready; past it the start counts as failed. This is what
	// catches a URL that serves an empty or unrelated script. Default 30s.
	StartTimeout time.Duration
	// TaskTimeout limits the running phase of this config's tasks that set
	// no Timeout of their own. Default: Options.DefaultTimeout.
	TaskTimeout time.Duration
	// CancelGrace is how long the worker has to answer worker-cancel before
	// it is terminated and replaced. Default: Options.CancelGrace.
	CancelGrace time.Duration
	// Restart says what happens after a crash or a failed start. Default:
	// Options.Restart, whose Backoff and MaxBootFailures also stand for
	// those this one leaves zero (Never is this one's own once it sets
	// any field).
	Restart RestartPolicy
}

// DefaultStartTimeout is WorkerConfig.StartTimeout's default.
const DefaultStartTimeout = 30 * time.Second

// MaxKeepAwake bounds WorkerConfig.KeepAwake: past it, the CPU a worker
// burns would cost more than any wake-up it spares.
const MaxKeepAwake = time.Millisecond

// validate checks c and fills in its defaults; what names c in errors:
// "worker config 1" for the second config of NewBrowserWorkerManager,
// "AddWorker's config" for the one AddWorker takes.
func (c WorkerConfig) validate(what string, base RestartPolicy) (WorkerConfig, error) {
	if len(c.Tasks) == 0 {
		return c, fmt.Errorf("%w: %s lists no Tasks; list the task names its script or module handles", ErrBadParams, what)
	}
	for _, n := range c.Tasks {
		if strings.TrimSpace(n) == "" {
			return c, fmt.Errorf("%w: %s lists an empty task name", ErrBadParams, what)
		}
	}
	if c.Script == "" && c.Module == "" {
		return c, fmt.Errorf("%w: %s has no Script or Module; set Script to the URL of a JS worker script or Module to a Go WASM worker module", ErrBadParams, what)
	}
	if c.Script != "" && c.Module != "" {
		return c, fmt.Errorf("%w: %s sets both Script and Module; a worker is one or the other", ErrBadParams, what)
	}
	switch c.Type {
	case "", "classic", "module":
	default:
		return c, fmt.Errorf("%w: %s has Type %q; use \"classic\" or \"module\"", ErrBadParams, what, c.Type)
	}
	for _, f := range []struct {
		name string
		n    int
	}{{"Count", c.Count}, {"MaxWorkers", c.MaxWorkers}, {"Concurrency", c.Concurrency}, {"MaxHeapMB", c.MaxHeapMB}} {
		if f.n < 0 {
			return c, fmt.Errorf("%w: %s has %s %d; use 0 (its default) or more", ErrBadParams, what, f.name, f.n)
		}
	}
	if c.KeepAwake < 0 || c.KeepAwake > MaxKeepAwake {
		return c, fmt.Errorf("%w: %s has KeepAwake %v; use 0 to %v (tens of µs spare a thread's wake-up)", ErrBadParams, what, c.KeepAwake, MaxKeepAwake)
	}
	if c.Count == 0 {
		c.Count = 1
	}
	if c.MaxWorkers == 0 {
		c.MaxWorkers = c.Count
	}
	if c.MaxWorkers < c.Count {
		return c, fmt.Errorf("%w: %s has MaxWorkers %d below Count %d", ErrBadParams, what, c.MaxWorkers, c.Count)
	}
	if c.StartTimeout <= 0 {
		c.StartTimeout = DefaultStartTimeout
	}
	if c.Concurrency == 0 {
		c.Concurrency = 1
	}
	c.Restart = c.Restart.withDefaults(base)
	c.Tasks = uniqueNames(c.Tasks)
	return c, nil
}

// uniqueNames is a copy of names, each once, in their first order: a name
// listed twice is one task the worker handles.
func uniqueNames(names []string) []string {
	out := make([]string, 0, len(names))
	for _, n := range names {
		if !slices.Contains(out, n) {
			out = append(out, n)
		}
	}
	return out
}

// TaskWorker is one worker of a pool: the seed's BrowserTaskWorker (and
// ServerTaskWorker). When its thread crashes it is restarted in place, under
// the same id. Its methods are safe for use by many goroutines.
type TaskWorker struct {
	pool   *workerPool
	group  *workerGroup
	id     string
	config WorkerConfig
	tasks  []string

	// Guarded by pool.tm.mu.
	transport    transport
	status       WorkerStatus
	inflight     map[uint64]*TaskRequest
	done         int
	failed       int
	restarts     int
	bootFailures int  // failed starts in a row
	crashes      int  // crashes in a row without a finished task
	started      bool // answered worker-ready at least once
	gaveUp       bool // closed after failing to start MaxBootFailures times (see Ready)
	stops        bool // its worker-ready listed FeatureStop: a timeout asks it to stop the task (see timedOut)
	catches      bool // its worker-ready listed FeatureCatch: an error event is a crash, no task's (see workerError)
	dying        bool // its thread reported an uncaught error and is about to exit: it takes no more tasks (see workerDying)
	lastErr      string
	unheard      []uint64  // the tasks sent to it since its last word (any message), by seq
	lastAnswer   string    // the task it answered last, if its last word was that answer
	since        time.Time // when the current incarnation became ready
	idleSince    time.Time
	bootTimer    stopper
	restartTimer stopper
	idleTimer    stopper
	elastic      bool   // started above Count; may be closed when idle
	closedSeq    uint64 // when it closed, in its pool's closing order (see forgetClosed); 0 while not closed
}

// ID is the worker's id, sent to it in init-worker.
func (w *TaskWorker) ID() string { return w.id }

// Tasks are the task names the worker can do.
func (w *TaskWorker) Tasks() []string { return slices.Clone(w.tasks) }

// Script is the URL of the worker's JS script ("" for a Go module worker).
func (w *TaskWorker) Script() string { return w.config.Script }

// Module is the URL of the worker's Go WASM module ("" for a JS worker).
func (w *TaskWorker) Module() string { return w.config.Module }

// Kind is "go" for a Go WASM module worker, "js" for a script.
func (w *TaskWorker) Kind() string {
	if w.config.Module != "" {
		return "go"
	}
	return "js"
}

// source is the URL the worker runs.
func (w *TaskWorker) source() string {
	if w.config.Module != "" {
		return w.config.Module
	}
	return w.config.Script
}

// CanDo reports whether the worker lists the task name.
func (w *TaskWorker) CanDo(name string) bool { return slices.Contains(w.tasks, name) }

// Status is the worker's current status.
func (w *TaskWorker) Status() WorkerStatus {
	w.pool.tm.mu.Lock()
	defer w.pool.tm.mu.Unlock()
	return w.status
}

// TasksDone counts the tasks this worker answered (with content or an error).
func (w *TaskWorker) TasksDone() int {
	w.pool.tm.mu.Lock()
	defer w.pool.tm.mu.Unlock()
	return w.done
}

// LastError is why the worker closed or last restarted, or the last error
// it reported; "" if none.
func (w *TaskWorker) LastError() string {
	w.pool.tm.mu.Lock()
	defer w.pool.tm.mu.Unlock()
	return w.lastErr
}

// Close terminates the worker for good. Its running tasks, which may have
// begun, run again on other capable workers while their Retries last, as
// after a crash, else fail with ErrClosed (one that timed out and waited
// to run again says so, and which limit to raise); those it was never
// sent (still in its turn's batch) go back in line, and those no worker is
// left for fail.
func (w *TaskWorker) Close() error {
	tm := w.pool.tm
	tm.mu.Lock()
	defer tm.mu.Unlock()
	tm.closeWorker(w, closedByClose)
	return nil
}

// closedByClose is the reason of a worker closed by TaskWorker.Close.
const closedByClose = "closed by Close()"

// Terminate kills the worker's thread as a crash would: its running tasks
// are retried elsewhere while their Retries last (else they fail with
// ErrWorkerCrashed), and the worker restarts under its restart policy. It is
// for tests and chaos experiments.
func (w *TaskWorker) Terminate() {
	tm := w.pool.tm
	tm.mu.Lock()
	defer tm.mu.Unlock()
	tm.workerDied(w, "terminated by Terminate()")
}

func (w *TaskWorker) hasRoom() bool {
	return (w.status == WorkerAvailable || w.status == WorkerWorking) && !w.dying && len(w.inflight) < w.config.Concurrency
}

func (w *TaskWorker) describe() string {
	return fmt.Sprintf("%s (%s)", w.id, w.source())
}
