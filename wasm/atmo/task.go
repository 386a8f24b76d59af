package atmo

import "time"

// TaskParams describes a task to add: the seed's ITaskParams.
type TaskParams struct {
	// Name picks the workers that may run the task: those whose Tasks list it.
	Name string
	// Params is sent to the worker as content.params. Numbers, strings,
	// bools, nil, maps, slices, structs (by their json tags) and []byte
	// (a Uint8Array) can be sent; anything else is an error from AddTask.
	Params any
	// OnSuccess runs once, in its own goroutine, when a worker answers with content.
	OnSuccess func(Response)
	// OnError runs once, in its own goroutine, when the task fails for any
	// reason: a worker's error, no capable worker, cancel, close.
	OnError func(Response)
	// Priority orders queued tasks: higher runs first, equal priorities in
	// the order they were added. See TaskManager.AgingInterval for how long
	// waits raise a task's rank.
	Priority int
}

// Response is what a task settled with: the seed's worker-response.
type Response struct {
	TaskID, WorkerID string
	Content          any    // the result, decoded from JS (see the package doc)
	Error            string // set when the task failed
	Err              error  // the failure as a value for errors.Is/As; nil on success
}

// TaskRequest is one task in the TaskManager's table.
type TaskRequest struct {
	tm        *TaskManager
	id, name  string
	params    any // normalized, ready to cross to JS
	priority  int
	onSuccess func(Response)
	onError   func(Response)
	done      chan Response // for Do; buffered so settling never blocks

	// Guarded by tm.mu.
	status  TaskStatus
	worker  *TaskWorker
	queued  time.Time
	seq     uint64 // order of adding, for FIFO among equals
	index   int    // position in its queue's heap, -1 when not queued
	settled bool
}

// ID is the task's id, unique within its TaskManager.
func (t *TaskRequest) ID() string { return t.id }

// Name is the task name that picks its workers.
func (t *TaskRequest) Name() string { return t.name }

// Params are the params as they will be sent: numbers as float64, structs as
// maps (see TaskParams.Params).
func (t *TaskRequest) Params() any { return t.params }

// Status is where the task is now: new (queued), working, done or failed.
func (t *TaskRequest) Status() TaskStatus {
	t.tm.mu.Lock()
	defer t.tm.mu.Unlock()
	return t.status
}

// AssignedWorker is the id of the worker running the task, or "" when none
// has claimed it yet.
func (t *TaskRequest) AssignedWorker() string {
	t.tm.mu.Lock()
	defer t.tm.mu.Unlock()
	if t.worker == nil {
		return ""
	}
	return t.worker.id
}
