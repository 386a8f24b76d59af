package atmo

import (
	"context"
	"fmt"
	"math/rand/v2"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Options tune a TaskManager. The zero value of each field means its default.
type Options struct {
	// AgingInterval is how long a queued task waits to gain one priority
	// level over tasks queued after it, so low priorities cannot starve.
	// Default 1s; negative turns aging off (strict priority, FIFO within one).
	AgingInterval time.Duration
}

// DefaultAgingInterval is Options.AgingInterval's default.
const DefaultAgingInterval = time.Second

// TaskManager queues named tasks, hands them to capable workers and settles
// each one exactly once. It is safe for use by many goroutines.
type TaskManager struct {
	id    string
	aging time.Duration

	mu         sync.Mutex
	closed     bool
	nextTask   uint64
	nextWorker uint64
	tasks      map[string]*TaskRequest
	queues     map[string]*taskQueue
	byName     map[string][]*TaskWorker // live workers (not closed) per task name
	pools      []*workerPool
	subs       []*subscriber
	seq        uint64
	rotate     int
	done       int
	failed     int
	ignored    int // messages from workers that were ignored (malformed, unknown or late)

	closing chan struct{} // closed when the first Close has settled every task

	cbMu      sync.Mutex
	cbCond    *sync.Cond
	cbRunning int
}

// NewTaskManager returns a TaskManager with default options.
func NewTaskManager() *TaskManager { return NewTaskManagerWithOptions(Options{}) }

// NewTaskManagerWithOptions returns a TaskManager tuned by o.
func NewTaskManagerWithOptions(o Options) *TaskManager {
	if o.AgingInterval == 0 {
		o.AgingInterval = DefaultAgingInterval
	}
	if o.AgingInterval < 0 {
		o.AgingInterval = 0
	}
	tm := &TaskManager{
		id:      "tm-" + strconv.FormatUint(rand.Uint64()%1e9, 36),
		aging:   o.AgingInterval,
		tasks:   map[string]*TaskRequest{},
		queues:  map[string]*taskQueue{},
		byName:  map[string][]*TaskWorker{},
		closing: make(chan struct{}),
	}
	tm.cbCond = sync.NewCond(&tm.cbMu)
	return tm
}

// ID is the manager's id, carried by its messages as ManagerID.
func (tm *TaskManager) ID() string { return tm.id }

// AddTask queues a task and returns at once. The result reaches OnSuccess
// or OnError. It returns an error only for bad params (an empty name, params
// that cannot be sent) or a closed manager; a task no worker can run is
// added and fails at once with ErrNoWorker through OnError.
func (tm *TaskManager) AddTask(p TaskParams) (*TaskRequest, error) {
	t, err := tm.addTask(p, false)
	if err != nil {
		return nil, err
	}
	return t, nil
}

// Do runs a task and waits for its result. A worker's error comes back as
// *TaskError; other failures wrap ErrNoWorker, ErrClosed or ErrCanceled (when
// ctx ends first, the task is cancelled and Do returns an error wrapping both
// ErrCanceled and ctx.Err()).
func (tm *TaskManager) Do(ctx context.Context, name string, params any) (any, error) {
	if ctx == nil {
		return nil, fmt.Errorf("%w: Do needs a context; pass context.Background() for none", ErrBadParams)
	}
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrCanceled, err)
	}
	t, err := tm.addTask(TaskParams{Name: name, Params: params}, true)
	if err != nil {
		return nil, err
	}
	select {
	case r := <-t.done:
		return r.Content, r.Err
	case <-ctx.Done():
		tm.cancel(t, fmt.Errorf("%w: %w", ErrCanceled, ctx.Err()))
		r := <-t.done
		return r.Content, r.Err
	}
}

func (tm *TaskManager) addTask(p TaskParams, wait bool) (*TaskRequest, error) {
	if strings.TrimSpace(p.Name) == "" {
		return nil, fmt.Errorf("%w: a task needs a Name (the task name workers list in their Tasks)", ErrBadParams)
	}
	params, err := normalize(p.Params)
	if err != nil {
		return nil, fmt.Errorf("task %q: %w", p.Name, err)
	}
	t := &TaskRequest{
		tm: tm, name: p.Name, params: params, priority: p.Priority,
		onSuccess: p.OnSuccess, onError: p.OnError,
		status: TaskNew, index: -1,
	}
	if wait {
		t.done = make(chan Response, 1)
	}
	var out deliveries
	tm.mu.Lock()
	if tm.closed {
		tm.mu.Unlock()
		return nil, fmt.Errorf("%w: cannot add task %q to a closed TaskManager", ErrClosed, p.Name)
	}
	tm.nextTask++
	t.seq = tm.nextTask
	t.id = "task-" + strconv.FormatUint(t.seq, 10)
	tm.tasks[t.id] = t
	tm.emit(Message{Kind: KindNewTask, TaskID: t.id, Content: t.name})
	tm.route(t, &out)
	tm.mu.Unlock()
	tm.deliver(out)
	return t, nil
}

// route gives t to a free capable worker, queues it, or fails it when no
// worker lists its name. Called with mu held.
func (tm *TaskManager) route(t *TaskRequest, out *deliveries) {
	candidates := tm.byName[t.name]
	if len(candidates) == 0 {
		tm.settle(t, Response{Err: noWorkerError(t.name, tm.knownNames())}, out)
		return
	}
	tm.emit(Message{Kind: KindTaskAvailable, TaskID: t.id, Content: t.name})
	if w := tm.pickWorker(candidates); w != nil {
		tm.assign(w, t)
		return
	}
	q := tm.queues[t.name]
	if q == nil {
		q = &taskQueue{aging: tm.aging}
		tm.queues[t.name] = q
	}
	t.status = TaskNew
	t.queued = time.Now()
	q.push(t)
}

// pickWorker spreads load: the free worker with the fewest tasks in flight,
// starting the scan at a rotating index so ties do not always go to the first.
func (tm *TaskManager) pickWorker(candidates []*TaskWorker) *TaskWorker {
	var best *TaskWorker
	n := len(candidates)
	tm.rotate++
	for i := 0; i < n; i++ {
		w := candidates[(tm.rotate+i)%n]
		if !w.hasRoom() {
			continue
		}
		if best == nil || len(w.inflight) < len(best.inflight) {
			best = w
		}
	}
	return best
}

// assign hands t to w: the seed's claim, grant and work. Called with mu held.
func (tm *TaskManager) assign(w *TaskWorker, t *TaskRequest) {
	t.status = TaskWorking
	t.worker = w
	w.inflight[t.id] = t
	tm.setWorkerStatus(w, WorkerWorking, "")
	tm.emit(Message{Kind: KindTaskClaim, TaskID: t.id, WorkerID: w.id})
	tm.emit(Message{Kind: KindTaskClaimGranted, TaskID: t.id, WorkerID: w.id})
	tm.emit(Message{Kind: KindTaskUpdated, TaskID: t.id, WorkerID: w.id, Content: TaskWorking})
	tm.emit(Message{Kind: KindWorkerWork, TaskID: t.id, WorkerID: w.id, Content: t.name})
	w.transport.work(t.id, w.id, t.name, t.params)
}

// pull fills w's free slots with the best queued tasks it can do. Called with mu held.
func (tm *TaskManager) pull(w *TaskWorker) {
	for w.hasRoom() {
		var best *TaskRequest
		var from *taskQueue
		for _, name := range w.tasks {
			q := tm.queues[name]
			if q == nil {
				continue
			}
			if h := q.peek(); h != nil && (best == nil || runsBefore(h, best, tm.aging)) {
				best, from = h, q
			}
		}
		if best == nil {
			return
		}
		from.pop()
		tm.assign(w, best)
	}
}

// settle ends t exactly once: it leaves the table (and its queue), is
// counted, and its result is queued for delivery. Called with mu held.
func (tm *TaskManager) settle(t *TaskRequest, r Response, out *deliveries) bool {
	if t.settled {
		return false
	}
	t.settled = true
	r.TaskID = t.id
	if r.WorkerID == "" && t.worker != nil {
		r.WorkerID = t.worker.id
	}
	if t.index >= 0 {
		if q := tm.queues[t.name]; q != nil {
			q.remove(t)
		}
	}
	delete(tm.tasks, t.id)
	if r.Err == nil {
		t.status = TaskDone
		tm.done++
	} else {
		t.status = TaskFailed
		tm.failed++
		if r.Error == "" {
			r.Error = r.Err.Error()
		}
	}
	tm.emit(Message{Kind: KindTaskUpdated, TaskID: t.id, WorkerID: r.WorkerID, Content: t.status, Error: r.Error})
	tm.emit(Message{Kind: KindTaskDeleted, TaskID: t.id, WorkerID: r.WorkerID})
	out.add(t, r, tm)
	return true
}

// Task returns a task that is still in the table: queued or running.
// Settled tasks leave the table, so memory stays bounded.
func (tm *TaskManager) Task(id string) (*TaskRequest, bool) {
	tm.mu.Lock()
	defer tm.mu.Unlock()
	t, ok := tm.tasks[id]
	return t, ok
}

// DeleteTask removes a task from the table. A task that has not finished is
// cancelled: it settles with ErrCanceled, and a worker running it is sent
// worker-cancel. Unknown ids are ignored.
func (tm *TaskManager) DeleteTask(id string) {
	tm.mu.Lock()
	t := tm.tasks[id]
	tm.mu.Unlock()
	if t != nil {
		tm.cancel(t, fmt.Errorf("%w: task %s was deleted", ErrCanceled, id))
	}
}

// cancel settles t with err; a running task's worker is told to stop. The
// worker's slot stays taken until it answers.
func (tm *TaskManager) cancel(t *TaskRequest, err error) {
	var out deliveries
	tm.mu.Lock()
	if tm.settle(t, Response{Err: err}, &out) && t.status == TaskFailed && t.worker != nil {
		t.worker.transport.cancel(t.id, t.worker.id)
	}
	tm.mu.Unlock()
	tm.deliver(out)
}

// StatusSummary is the seed's status(): queued and running task ids, and
// how many tasks have finished so far.
type StatusSummary struct {
	Pending []string // queued, waiting for a worker
	Working []string // running on a worker
	Done    int      // finished with a result so far
	Failed  int      // finished with an error so far
}

// Status summarizes the tasks: ids of pending and working tasks, in the
// order they were added, and counts of those done and failed.
func (tm *TaskManager) Status() StatusSummary {
	tm.mu.Lock()
	defer tm.mu.Unlock()
	s := StatusSummary{Done: tm.done, Failed: tm.failed}
	ts := make([]*TaskRequest, 0, len(tm.tasks))
	for _, t := range tm.tasks {
		ts = append(ts, t)
	}
	sort.Slice(ts, func(i, j int) bool { return ts[i].seq < ts[j].seq })
	for _, t := range ts {
		if t.status == TaskWorking {
			s.Working = append(s.Working, t.id)
		} else {
			s.Pending = append(s.Pending, t.id)
		}
	}
	return s
}

// knownNames lists the task names some live worker lists, sorted.
func (tm *TaskManager) knownNames() []string {
	names := make([]string, 0, len(tm.byName))
	for n, ws := range tm.byName {
		if len(ws) > 0 {
			names = append(names, n)
		}
	}
	sort.Strings(names)
	return names
}

// Close settles every queued and running task with ErrClosed, closes the
// worker managers attached to tm (terminating their workers) and stops the
// event stream. Callbacks already running are waited for (unless Close is
// called from one); none starts after Close returns. Close is idempotent.
func (tm *TaskManager) Close() error {
	inCallback := calledFromCallback()
	tm.mu.Lock()
	if tm.closed {
		tm.mu.Unlock()
		if !inCallback {
			<-tm.closing // the first Close has settled everything
			tm.waitCallbacks(false)
		}
		return nil
	}
	tm.closed = true
	defer close(tm.closing)
	pools := append([]*workerPool(nil), tm.pools...)
	tm.mu.Unlock()
	for _, p := range pools {
		p.close(ErrClosed)
	}
	var out deliveries
	tm.mu.Lock()
	for _, t := range tm.sortedTasks() {
		tm.settle(t, Response{Err: fmt.Errorf("%w: TaskManager closed before task %s (%s) finished", ErrClosed, t.id, t.name)}, &out)
	}
	subs := tm.subs
	tm.subs = nil
	tm.mu.Unlock()
	tm.deliver(out)
	for _, s := range subs {
		s.stop(!inCallback)
	}
	tm.waitCallbacks(inCallback)
	return nil
}

func (tm *TaskManager) sortedTasks() []*TaskRequest {
	ts := make([]*TaskRequest, 0, len(tm.tasks))
	for _, t := range tm.tasks {
		ts = append(ts, t)
	}
	sort.Slice(ts, func(i, j int) bool { return ts[i].seq < ts[j].seq })
	return ts
}

// deliveries collects the results settled under mu, to hand out after it is released.
type deliveries []delivery

type delivery struct {
	t *TaskRequest
	r Response
}

func (d *deliveries) add(t *TaskRequest, r Response, tm *TaskManager) {
	if t.done == nil && t.onSuccess == nil && t.onError == nil {
		return
	}
	if (r.Err == nil && t.onSuccess != nil) || (r.Err != nil && t.onError != nil) {
		tm.cbMu.Lock()
		tm.cbRunning++
		tm.cbMu.Unlock()
	}
	*d = append(*d, delivery{t, r})
}

// deliver hands out results: to Do through its channel, to callbacks each in
// a goroutine of its own, never inside the caller (often a JS callback).
func (tm *TaskManager) deliver(out deliveries) {
	for _, d := range out {
		if d.t.done != nil {
			d.t.done <- d.r
		}
		fn := d.t.onSuccess
		if d.r.Err != nil {
			fn = d.t.onError
		}
		if fn != nil {
			go tm.runCallback(fn, d.r)
		}
	}
}

func (tm *TaskManager) runCallback(fn func(Response), r Response) {
	defer func() {
		if p := recover(); p != nil {
			tm.reportPanic(r.TaskID, p)
		}
		tm.cbMu.Lock()
		tm.cbRunning--
		tm.cbCond.Broadcast()
		tm.cbMu.Unlock()
	}()
	fn(r)
}

func (tm *TaskManager) reportPanic(taskID string, p any) {
	tm.mu.Lock()
	tm.emit(Message{Kind: KindCallbackPanic, TaskID: taskID, Error: fmt.Sprintf("atmo: callback for task %s panicked: %v", taskID, p)})
	tm.mu.Unlock()
}

// waitCallbacks waits until no callback runs; a Close called from inside a
// callback waits for the others only.
func (tm *TaskManager) waitCallbacks(inCallback bool) {
	limit := 0
	if inCallback {
		limit = 1
	}
	tm.cbMu.Lock()
	for tm.cbRunning > limit {
		tm.cbCond.Wait()
	}
	tm.cbMu.Unlock()
}

// calledFromCallback reports whether a user callback started by runCallback
// or a subscriber is on the current goroutine's stack.
func calledFromCallback() bool {
	pcs := make([]uintptr, 64)
	n := runtime.Callers(2, pcs)
	frames := runtime.CallersFrames(pcs[:n])
	for {
		f, more := frames.Next()
		if strings.HasSuffix(f.Function, ".(*TaskManager).runCallback") || strings.HasSuffix(f.Function, ".(*subscriber).run") {
			return true
		}
		if !more {
			return false
		}
	}
}
