package atmo

import (
	"errors"
	"fmt"
	"strings"
)

var (
	// ErrNoWorker: no worker, live or starting, lists the task's name.
	ErrNoWorker = errors.New("atmo: no worker handles this task")
	// ErrClosed: the TaskManager or the worker manager was closed, or the
	// worker that ran the task (TaskWorker.Close) while the task had no
	// Retries left, or no other worker, to run again elsewhere (one that
	// had timed out and waited to run again says so), or had moved its
	// buffers there.
	ErrClosed = errors.New("atmo: closed")
	// ErrCanceled: the task was cancelled or deleted before it finished.
	ErrCanceled = errors.New("atmo: task canceled")
	// ErrTimeout: the task ran longer than its Timeout.
	ErrTimeout = errors.New("atmo: task timed out")
	// ErrQueueFull: Options.MaxQueue tasks already wait; the task was not added.
	ErrQueueFull = errors.New("atmo: queue full")
	// ErrWorkerCrashed: the worker running the task died.
	ErrWorkerCrashed = errors.New("atmo: worker crashed")
	// ErrWorkerStart: a worker failed to start (script or module failed to load).
	ErrWorkerStart = errors.New("atmo: worker failed to start")
	// ErrBadParams: TaskParams or a WorkerConfig were not usable.
	ErrBadParams = errors.New("atmo: bad parameters")
)

// TaskError is a task that a worker answered with an error: the worker's own
// message, as the seed's `error` field carried it. Do returns it as *TaskError.
// Name is the task's name.
type TaskError struct {
	TaskID, WorkerID, Message string
	Name                      string
}

func (e *TaskError) Error() string {
	if e.Name == "" {
		return fmt.Sprintf("atmo: task %s failed on worker %s: %s", e.TaskID, e.WorkerID, e.Message)
	}
	return fmt.Sprintf("atmo: task %s (%s) failed on worker %s: %s", e.TaskID, e.Name, e.WorkerID, e.Message)
}

// noWorkerError names the task and the task names the pool knows, and, when
// a worker that listed the task has closed since (gone: that worker,
// described, and why it closed), that worker.
func noWorkerError(name string, known []string, gone string) error {
	list := "none: start a worker manager with worker configs first"
	if len(known) > 0 {
		list = strings.Join(known, ", ")
	} else if gone != "" {
		list = "none"
	}
	if gone != "" {
		return fmt.Errorf("%w: no worker lists task %q any more (known: %s); the last worker that did, %s", ErrNoWorker, name, list, gone)
	}
	return fmt.Errorf("%w: no worker lists task %q (known: %s)", ErrNoWorker, name, list)
}
