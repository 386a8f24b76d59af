package atmo

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/atmoworkers/atmo/wasm/internal/values"
)

// TaskParams describes a task to add: the seed's ITaskParams.
type TaskParams struct {
	// Name picks the workers that may run the task: those whose Tasks list it.
	Name string
	// Params is sent to the worker as content.params. Numbers, strings,
	// bools, nil, maps, slices and arrays, structs (by their json tags),
	// pointers to them, values with MarshalJSON or MarshalText, []byte (a
	// Uint8Array) and, in js/wasm builds, a js.Value as it is, an
	// atmo.Transfer or an atmo.TransferWith can be sent (README, "Values");
	// anything else (a func, a channel, a complex number, a cycle) is an
	// ErrBadParams error from AddTask that says where it sits. Params are
	// taken as they are when the task is added, but for the bytes of a
	// []byte over 4 KiB, which are read when the task is sent (and again if
	// it is retried): leave such a slice unchanged until the task settles.
	Params any
	// OnSuccess runs once, in a goroutine, when a worker answers with content.
	OnSuccess func(Response)
	// OnError runs once, in a goroutine, when the task fails for any reason:
	// a worker's error, no capable worker, timeout, cancel, crash, close.
	OnError func(Response)
	// OnProgress runs for each progress report the worker sends while the
	// task runs, in order, and always before OnSuccess or OnError. A task
	// that is retried runs again from the start, so its reports start over
	// too (on the event stream, a task-updated back to TaskNew comes between
	// the two runs' reports).
	OnProgress func(Progress)
	// Priority orders queued tasks: higher runs first, equal priorities in
	// the order they were added. See Options.AgingInterval for how waiting
	// raises a task's rank so that low priorities cannot starve.
	Priority int
	// Timeout limits the running phase (time in the queue does not count).
	// 0 takes the worker config's TaskTimeout, then Options.DefaultTimeout;
	// negative means no limit. A task past its limit fails with ErrTimeout,
	// or is retried while Retries last. Its worker is asked to stop it, as on
	// a cancel, if it can (atmo-worker.js, Go workers), else, or if it has
	// not stopped within CancelGrace, terminated and replaced.
	Timeout time.Duration
	// Retries is how many times the task is run again after its worker
	// crashed or was closed (TaskWorker.Close, its manager's Close), or it
	// timed out. A worker's own error answer is never retried.
	// Params that move JS buffers (atmo.Transfer) cannot be sent twice, so
	// such a task takes no Retries.
	Retries int
	// Context cancels the task when it ends: see TaskRequest.Cancel.
	Context context.Context
	// RawResult leaves the result as it came from the worker: in the
	// browser and Node.js a js.Value, typed arrays and ArrayBuffers included,
	// with no copy into Go memory. With atmo.Transfer for params and
	// atmoWorker.transfer in the worker, big binary data makes a round trip
	// without being copied at all.
	RawResult bool
}

// Response is what a task settled with: the seed's worker-response.
type Response struct {
	TaskID, WorkerID string
	Content          any    // the result, decoded from JS (see the README's "Values")
	Error            string // set when the task failed
	Err              error  // the failure as a value for errors.Is/As; nil on success
}

// Progress is one progress report from a running task's worker.
type Progress struct {
	TaskID, WorkerID string
	Content          any // what the worker passed to progress(value) or worker.Progress
}

// TaskRequest is one task in the TaskManager's table.
type TaskRequest struct {
	tm         *TaskManager
	id, name   string
	params     any // normalized, a map or slice already written as bytes (values.Preencoded)
	priority   int
	timeout    time.Duration
	onSuccess  func(Response)
	onError    func(Response)
	onProgress func(Progress)
	done       chan Response // for Do; buffered so settling never blocks
	stopCtx    func() bool   // stops watching TaskParams.Context
	// The three bools sit together, in one word: spread out, they padded
	// the struct from 256 bytes to 272, which the allocator rounds to 288.
	rawResult bool

	// Guarded by tm.mu.
	settled     bool  // settled: it may still hold its worker's slot until the worker answers
	calling     bool  // the task is in the callback runners' line, or a runner runs its callback
	downs       uint8 // the workers that crashed, or were replaced, while it ran (see route), up to 255
	unposted    bool  // handed to a worker that went down while it still waited in that turn's batch: never sent (see takeDown)
	status      TaskStatus
	worker      *TaskWorker
	retriesLeft int
	queued      int64   // when it first took its place in line (queued, or sent at once), in Unix nanoseconds by tm's clock; 0 before
	started     int64   // when its worker took it, likewise
	seq         uint64  // order of adding, for FIFO among equals
	index       int     // position in its queue's heap, -1 when not queued
	timer       stopper // the running-phase timeout, or the cancel grace period
	callbacks   []func()
}

// movedOut says whether t's params moved JS buffers to its worker
// (atmo.Transfer, the JS API's transfer option), so that t cannot be sent
// again: not when its worker went down before t left in the turn's batch.
func (t *TaskRequest) movedOut() bool { return !t.unposted && values.Moves(t.params) }

// ID is the task's id, unique within its TaskManager.
func (t *TaskRequest) ID() string { return t.id }

// seqOf is N for "task-N", an id as the TaskManager writes it (see addTask),
// and 0 for any other id: "task-07" reads as 7 but is another id. Workers
// answer by id, and the core finds the task by its seq.
func seqOf(id string) uint64 {
	digits, ok := strings.CutPrefix(id, "task-")
	if !ok || digits == "" || digits[0] == '0' {
		return 0
	}
	n, err := strconv.ParseUint(digits, 10, 64)
	if err != nil {
		return 0
	}
	return n
}

// Name is the task name that picks its workers.
func (t *TaskRequest) Name() string { return t.name }

// Params are the params as they will be sent: numbers as float64, structs as
// maps (see TaskParams.Params), as they were when the task was added, but
// for the contents of a []byte over 4 KiB, which are read when the task is
// sent (small ones are copied when it is added). Each call returns a fresh
// copy, but for such a []byte, which is the caller's own slice.
func (t *TaskRequest) Params() any { return values.Decoded(t.params) }

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

// Cancel stops the task; it settles with ErrCanceled. A queued task leaves
// the queue at once. A running task's worker is sent worker-cancel (JS
// handlers see their AbortSignal fire, Go handlers their ctx end); a worker
// that has not answered within the cancel grace period is terminated and
// replaced. Cancelling a finished task does nothing.
func (t *TaskRequest) Cancel() {
	t.tm.cancel(t, fmt.Errorf("%w: task %s (%s) by Cancel()", ErrCanceled, t.id, t.name))
}

// wentDown counts a worker that crashed, or was replaced, while t ran (see
// route). Called with tm.mu held.
func (t *TaskRequest) wentDown() { t.downs = min(t.downs+1, 255) }
