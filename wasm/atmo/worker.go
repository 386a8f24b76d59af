package atmo

import (
	"fmt"
	"slices"
	"strings"
	"time"
)

// WorkerConfig describes one worker of a pool: the seed's WorkerConfig.
type WorkerConfig struct {
	// Tasks are the task names this worker can do (at least one).
	Tasks []string
	// Script is the URL (in the browser) of a JS worker script that speaks
	// the protocol: the seed's workers and those written with jsworker/atmo-worker.js.
	Script string
	// Module is the URL (in the browser) of a Go WASM worker module, built
	// with GOOS=js GOARCH=wasm from a main package that uses
	// github.com/atmoworkers/atmo/wasm/worker. Set Script or Module, not both.
	Module string
	// Type is how the script loads: "classic" (the default, may use
	// importScripts) or "module" (may use import).
	Type string
	// StartTimeout bounds how long the worker may take to answer
	// init-worker with worker-ready; past it the worker is CLOSED. This is
	// what catches a URL that serves an empty or unrelated script. Default 30s.
	StartTimeout time.Duration
	// Concurrency is how many tasks the worker may hold at once. Default 1,
	// the seed's one-task-at-a-time behaviour; a worker written with
	// atmo-worker.js overlaps async handlers up to this many.
	Concurrency int
}

// DefaultStartTimeout is WorkerConfig.StartTimeout's default.
const DefaultStartTimeout = 30 * time.Second

func (c WorkerConfig) validate(i int) (WorkerConfig, error) {
	if len(c.Tasks) == 0 {
		return c, fmt.Errorf("%w: worker config %d lists no Tasks; list the task names its script handles", ErrBadParams, i)
	}
	for _, n := range c.Tasks {
		if strings.TrimSpace(n) == "" {
			return c, fmt.Errorf("%w: worker config %d lists an empty task name", ErrBadParams, i)
		}
	}
	if c.Script == "" && c.Module == "" {
		return c, fmt.Errorf("%w: worker config %d has no Script or Module; set Script to the URL of a JS worker script or Module to a Go WASM worker module", ErrBadParams, i)
	}
	if c.Script != "" && c.Module != "" {
		return c, fmt.Errorf("%w: worker config %d sets both Script and Module; a worker is one or the other", ErrBadParams, i)
	}
	switch c.Type {
	case "", "classic", "module":
	default:
		return c, fmt.Errorf("%w: worker config %d has Type %q; use \"classic\" or \"module\"", ErrBadParams, i, c.Type)
	}
	if c.StartTimeout <= 0 {
		c.StartTimeout = DefaultStartTimeout
	}
	if c.Concurrency <= 0 {
		c.Concurrency = 1
	}
	c.Tasks = slices.Clone(c.Tasks)
	return c, nil
}

// TaskWorker is one worker of a pool: the seed's BrowserTaskWorker (and
// ServerTaskWorker). Its methods are safe for use by many goroutines.
type TaskWorker struct {
	pool   *workerPool
	id     string
	config WorkerConfig
	tasks  []string

	// Guarded by pool.tm.mu.
	transport transport
	status    WorkerStatus
	inflight  map[string]*TaskRequest
	done      int
	started   bool // answered worker-ready once
	lastErr   string
	bootTimer *time.Timer
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

// TasksDone counts the tasks this worker answered.
func (w *TaskWorker) TasksDone() int {
	w.pool.tm.mu.Lock()
	defer w.pool.tm.mu.Unlock()
	return w.done
}

// LastError is why the worker closed, or the last error it reported; "" if none.
func (w *TaskWorker) LastError() string {
	w.pool.tm.mu.Lock()
	defer w.pool.tm.mu.Unlock()
	return w.lastErr
}

// Close terminates the worker. Its running tasks go back to the queue for
// other capable workers; those no worker is left for fail.
func (w *TaskWorker) Close() error {
	tm := w.pool.tm
	var out deliveries
	tm.mu.Lock()
	tm.closeWorker(w, "closed by Close()", nil, &out)
	tm.mu.Unlock()
	tm.deliver(out)
	return nil
}

func (w *TaskWorker) hasRoom() bool {
	return (w.status == WorkerAvailable || w.status == WorkerWorking) && len(w.inflight) < w.config.Concurrency
}

func (w *TaskWorker) describe() string {
	return fmt.Sprintf("%s (%s)", w.id, w.source())
}
