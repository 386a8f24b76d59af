package atmo

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/atmoworkers/atmo/wasm/internal/hooks"
	"github.com/atmoworkers/atmo/wasm/internal/turn"
	"github.com/atmoworkers/atmo/wasm/internal/values"
)

// Options tune a TaskManager. The zero value of each field means its default.
type Options struct {
	// AgingInterval is how long a queued task waits to gain one priority
	// level over tasks queued after it, so low priorities cannot starve.
	// Default 1s; negative turns aging off (strict priority, FIFO within one).
	// Aging bounds TaskParams.Priority to ±(2^63-1)/4/AgingInterval in
	// nanoseconds (±2,305,843,009 at the default), so that a rank cannot
	// overflow: a longer interval allows fewer levels.
	AgingInterval time.Duration
	// DefaultTimeout limits the running phase of tasks that set no Timeout
	// and whose worker config sets no TaskTimeout. Default: no limit.
	DefaultTimeout time.Duration
	// MaxQueue bounds how many tasks may wait for a worker; past it AddTask
	// and Do fail at once with ErrQueueFull. Default 1,000,000; negative: no bound.
	MaxQueue int
	// CancelGrace is how long a worker has to answer worker-cancel before it
	// is terminated and replaced. Default 1s.
	CancelGrace time.Duration
	// Restart is the default restart policy of worker configs that set none.
	Restart RestartPolicy
	// LoneTaskAwake is how long two threads stay awake around a task the
	// TaskManager holds alone, as in a loop of Do calls: the page after it
	// posts the task, until the worker's next message, and the worker
	// after it answers, until the next task, if that worker answered the
	// task before too (tasks one at a time go to the worker that answered
	// last, when it takes them; where they take turns between workers, one
	// kept awake would only take a core from the one at work). A sleeping
	// thread's wake-up is the dearest part of a round trip on a virtual
	// machine; with both awake, a round trip takes about half of raw
	// postMessage's, where threads that sleep at once took 1.3-1.5×
	// (README, "Performance").
	// Either thread takes other work the moment it comes, and a task among
	// others (a flood, a queue) never keeps anything awake, so it costs
	// CPU only where tasks come one at a time. After four lone answers in
	// a row that came later than LoneTaskAwake (a busy machine, where the
	// spins take cores from the work, or tasks that run longer), lone
	// tasks keep nothing awake for a second, then try again. In a browser only: the page
	// keeps awake with any worker, the worker only if written with
	// jsworker/atmo-worker.js or wasm/worker (a seed script ignores it).
	// A worker's own WorkerConfig.KeepAwake, when set, takes its place.
	// Default DefaultLoneTaskAwake; negative: never (each thread sleeps at
	// once, as the seed's did); at most MaxKeepAwake.
	LoneTaskAwake time.Duration
}

// RestartPolicy says what happens to a worker that crashed or failed to start.
type RestartPolicy struct {
	// Never turns restarts off: a crashed worker stays CLOSED. Otherwise a
	// worker that crashes after it started is restarted however often it
	// crashes, with the backoff below: only failed starts count toward
	// MaxBootFailures.
	Never bool
	// Backoff is the wait before a restart after the first failure in a row;
	// it doubles with each further failure, up to 5s: no wait is longer, so
	// a Backoff above 5s waits 5s. Default 100ms.
	Backoff time.Duration
	// MaxBootFailures is how many starts in a row may fail (a script that
	// does not load, a worker that dies before worker-ready) before the
	// worker is CLOSED for good. Default 3.
	MaxBootFailures int
}

// Defaults of Options and RestartPolicy.
const (
	DefaultAgingInterval   = time.Second
	DefaultMaxQueue        = 1_000_000
	DefaultCancelGrace     = time.Second
	DefaultLoneTaskAwake   = 300 * time.Microsecond
	DefaultRestartBackoff  = 100 * time.Millisecond
	DefaultMaxBootFailures = 3
	maxRestartBackoff      = 5 * time.Second
)

func (r RestartPolicy) withDefaults(base RestartPolicy) RestartPolicy {
	if r == (RestartPolicy{}) {
		r = base
	}
	if r.Backoff <= 0 {
		r.Backoff = base.Backoff
	}
	if r.Backoff <= 0 {
		r.Backoff = DefaultRestartBackoff
	}
	if r.MaxBootFailures <= 0 {
		r.MaxBootFailures = base.MaxBootFailures
	}
	if r.MaxBootFailures <= 0 {
		r.MaxBootFailures = DefaultMaxBootFailures
	}
	return r
}

// TaskManager queues named tasks, hands them to capable workers and settles
// each one exactly once. It is safe for use by many goroutines.
type TaskManager struct {
	id          string
	opts        Options
	clock       clock
	maxPriority int64 // the largest |TaskParams.Priority| its aging can rank

	// callers are the goroutines that run its user code, by goroutine id
	// (see calledFrom).
	callers sync.Map

	mu sync.Mutex
	// reading is the clock's reading shared by the messages of one batch
	// while they are handled (see receiveAll); zero otherwise.
	reading    time.Time
	closed     bool
	nextTask   uint64
	nextWorker uint64
	tasks      taskTable // not yet settled, by seq (table.go)
	queues     map[string]*taskQueue
	queued     int                      // tasks in all queues
	byName     map[string][]*TaskWorker // live workers (not closed) per task name
	gone       map[string]*retired      // per task name no live worker lists any more: the last that did, described, and why it closed
	retired    []*retired               // gone's entries, oldest first, the keptClosed latest (see retire)
	retryAfter map[*TaskRequest]error   // timed-out tasks to run again once their worker has stopped them (see timedOut)
	pools      []*workerPool
	subs       []*subscriber
	seq        uint64
	rotate     int
	warm       *TaskWorker // the worker that answered last: its thread is the likeliest awake (see pickWorker)
	lone       loneAwake   // how the answers to lone tasks kept awake came (see TaskWorker.awake)
	elastic    bool        // some worker group may grow
	holdRaw    bool        // RawResult answers stay in JS, read once (see hooks.HoldRawResults)
	copying    bool        // the other answers stay in JS too, copied by the value rules as they come (see hooks.CopyResults)
	stats      counters

	// ranBefore are tasks that wait in line to run again, by their
	// Retries, after a run that timed out or whose worker went down
	// (crashed, replaced or closed), with the error that run ended with: a
	// close or a failed restart that leaves them no worker says that they
	// ran, and how (see failOrphans).
	ranBefore map[*TaskRequest]error

	closing chan struct{} // closed when the first Close returns
	swept   chan struct{} // closed when the first Close has settled every task

	runners callbackRunners // run OnSuccess, OnError and OnProgress (callbacks.go)
}

// NewTaskManager returns a TaskManager with default options.
func NewTaskManager() *TaskManager { return NewTaskManagerWithOptions(Options{}) }

func init() {
	hooks.HoldRawResults = func(tm any) {
		m := tm.(*TaskManager)
		m.mu.Lock()
		m.holdRaw = true
		m.mu.Unlock()
	}
	hooks.CopyResults = func(tm any) {
		m := tm.(*TaskManager)
		m.mu.Lock()
		m.copying = true
		m.mu.Unlock()
	}
	hooks.SubscribeWire = func(tm any, fn any) func() {
		return tm.(*TaskManager).subscribe(&subscriber{batchFn: fn.(func([]Message)), wire: true})
	}
	hooks.MaxPriority = func(tm any) int64 { return tm.(*TaskManager).maxPriority }
	hooks.CallbackThrew = func(tm any, taskID, text string) {
		m := tm.(*TaskManager)
		m.mu.Lock()
		defer m.mu.Unlock()
		m.stats.callbackPanics++
		m.emit(Message{Kind: KindCallbackPanic, TaskID: taskID, Error: text})
	}
	hooks.CancelTask = func(tm any, id, how string) {
		if t, ok := tm.(*TaskManager).Task(id); ok {
			t.tm.cancel(t, fmt.Errorf("%w: task %s (%s) %s", ErrCanceled, t.id, t.name, how))
		}
	}
}

// NewTaskManagerWithOptions returns a TaskManager tuned by o.
func NewTaskManagerWithOptions(o Options) *TaskManager {
	switch {
	case o.AgingInterval == 0:
		o.AgingInterval = DefaultAgingInterval
	case o.AgingInterval < 0:
		o.AgingInterval = 0
	}
	if o.MaxQueue == 0 {
		o.MaxQueue = DefaultMaxQueue
	}
	if o.CancelGrace <= 0 {
		o.CancelGrace = DefaultCancelGrace
	}
	switch {
	case o.LoneTaskAwake == 0:
		o.LoneTaskAwake = DefaultLoneTaskAwake
	case o.LoneTaskAwake < 0:
		o.LoneTaskAwake = 0
	case o.LoneTaskAwake > MaxKeepAwake:
		o.LoneTaskAwake = MaxKeepAwake
	}
	o.Restart = o.Restart.withDefaults(RestartPolicy{})
	tm := &TaskManager{
		id:          "tm-" + strconv.FormatUint(rand.Uint64()%1e9, 36),
		opts:        o,
		maxPriority: math.MaxInt64,
		clock:       realClock{},
		queues:      map[string]*taskQueue{},
		byName:      map[string][]*TaskWorker{},
		gone:        map[string]*retired{},
		retryAfter:  map[*TaskRequest]error{},
		ranBefore:   map[*TaskRequest]error{},
		closing:     make(chan struct{}),
		swept:       make(chan struct{}),
	}
	if o.AgingInterval > 0 {
		// A queued task's rank is priority×aging − queued time, in
		// nanoseconds (queue.go): past this, it would overflow.
		tm.maxPriority = math.MaxInt64 / 4 / int64(o.AgingInterval)
	}
	tm.stats.init()
	tm.runners.wait.L = &tm.mu
	tm.runners.settled.L = &tm.mu
	return tm
}

// ID is the manager's id, carried by its messages as ManagerID.
func (tm *TaskManager) ID() string { return tm.id }

// AddTask queues a task and returns at once. The result reaches OnSuccess
// or OnError. It returns an error only for bad params (ErrBadParams: an
// empty name, params that cannot be sent, a negative Retries, a Priority
// beyond Options.AgingInterval's bound), a Context that has already ended
// (ErrCanceled), a full queue (ErrQueueFull) or a closed manager
// (ErrClosed); a task no worker can run is added and fails at once with
// ErrNoWorker through OnError.
func (tm *TaskManager) AddTask(p TaskParams) (*TaskRequest, error) {
	return tm.addTask(p, false)
}

// Do runs a task and waits for its result. A worker's error comes back as
// *TaskError; other failures wrap ErrBadParams, ErrNoWorker, ErrTimeout,
// ErrWorkerCrashed, ErrQueueFull, ErrClosed or ErrCanceled (when ctx ends
// first the task is cancelled, and the error wraps ErrCanceled, ctx.Err()
// and the context's cause, if it has one of its own).
//
// In js/wasm, call Do from a goroutine, never inside a js.FuncOf callback
// (an event listener): while such a callback blocks, Go handles no other JS
// event, so the worker's answer never reaches Do, which returns only when
// ctx ends, its error then saying so.
func (tm *TaskManager) Do(ctx context.Context, name string, params any) (any, error) {
	if ctx == nil {
		return nil, fmt.Errorf("%w: Do needs a context; pass context.Background() for none", ErrBadParams)
	}
	t, err := tm.addTask(TaskParams{Name: name, Params: params, Context: ctx}, true)
	if err != nil {
		return nil, err
	}
	// Do waits on ctx itself: registering a context.AfterFunc per task, as
	// AddTask does, took ~1.9 µs and three allocations of a ~3.5 µs round
	// trip in the core's native benchmark.
	var r Response
	select {
	case r = <-t.done:
	case <-ctx.Done():
		tm.cancel(t, canceledBy(ctx, t))
		r = <-t.done // the cancel's error, or the answer that came first
		if r.Err != nil && turn.InJSCallback() {
			// Likely why it waited out its context: read only now, as
			// reading the stack costs more than a round trip.
			r.Err = fmt.Errorf("%w (Do was called inside a JS callback, a js.FuncOf, whose wait blocks the page's event loop: no answer can arrive meanwhile; call Do from a goroutine, go func() { ... }(), or use AddTask with OnSuccess)", r.Err)
		}
	}
	doneChans.Put(t.done) // empty again: a task settles, and sends, once
	return r.Content, r.Err
}

// doneChans keeps Do's answer channels for reuse.
var doneChans = sync.Pool{New: func() any { return make(chan Response, 1) }}

// canceledBy is the error of task t (nil: one not added yet) whose context
// ended: it names the task, and wraps ErrCanceled, ctx.Err() and, when one
// was given (WithCancelCause, WithTimeoutCause), the context's cause.
func canceledBy(ctx context.Context, t *TaskRequest) error {
	err, cause := ctx.Err(), context.Cause(ctx)
	by := "its context"
	if t != nil {
		by = fmt.Sprintf("task %s (%s) by its context", t.id, t.name)
	}
	if cause == nil || cause == err {
		return fmt.Errorf("%w: %s: %w", ErrCanceled, by, err)
	}
	return fmt.Errorf("%w: %s: %w: %w", ErrCanceled, by, err, cause)
}

// addTask adds a task; with wait, for Do, it makes the task's done channel,
// and the caller watches p.Context.
func (tm *TaskManager) addTask(p TaskParams, wait bool) (*TaskRequest, error) {
	if strings.TrimSpace(p.Name) == "" {
		return nil, fmt.Errorf("%w: a task needs a Name (the task name workers list in their Tasks)", ErrBadParams)
	}
	if p.Retries < 0 {
		return nil, fmt.Errorf("%w: task %q has Retries %d; use 0 or more", ErrBadParams, p.Name, p.Retries)
	}
	if pr := int64(p.Priority); pr > tm.maxPriority || pr < -tm.maxPriority {
		return nil, fmt.Errorf("%w: task %q has Priority %d; with Options.AgingInterval %v priorities run from %d to %d", ErrBadParams, p.Name, p.Priority, tm.opts.AgingInterval, -tm.maxPriority, tm.maxPriority)
	}
	if p.Context != nil && p.Context.Err() != nil {
		return nil, fmt.Errorf("task %q: %w", p.Name, canceledBy(p.Context, nil))
	}
	params, err := prepareParams(p.Params)
	if err != nil {
		return nil, fmt.Errorf("task %q: %w", p.Name, err)
	}
	if p.Retries > 0 && values.Moves(params) {
		return nil, fmt.Errorf("%w: task %q has Retries %d, but its params move JS buffers to the worker (atmo.Transfer): a worker that dies takes them with it, so there would be nothing to send again; use Retries 0, or pass the bytes as a []byte, which is copied and can be resent", ErrBadParams, p.Name, p.Retries)
	}
	t := &TaskRequest{
		tm: tm, name: p.Name, params: params, priority: p.Priority, timeout: p.Timeout,
		onSuccess: p.OnSuccess, onError: p.OnError, onProgress: p.OnProgress, rawResult: p.RawResult,
		status: TaskNew, index: -1, retriesLeft: p.Retries,
	}
	tm.mu.Lock()
	defer tm.mu.Unlock()
	if tm.closed {
		return nil, fmt.Errorf("%w: cannot add task %q to a closed TaskManager", ErrClosed, p.Name)
	}
	// MaxQueue bounds the tasks that wait: one a free worker takes at once
	// does not, nor one no worker lists, which fails at once (ErrNoWorker).
	if tm.opts.MaxQueue > 0 && tm.queued >= tm.opts.MaxQueue && len(tm.byName[p.Name]) > 0 && !tm.roomFor(p.Name) {
		tm.stats.rejected++
		return nil, fmt.Errorf("%w: %d tasks are waiting (Options.MaxQueue); task %q was not added: retry later or raise the limit", ErrQueueFull, tm.queued, p.Name)
	}
	if wait {
		t.done = doneChans.Get().(chan Response)
	}
	tm.nextTask++
	t.seq = tm.nextTask
	var id [24]byte
	t.id = string(strconv.AppendUint(append(id[:0], "task-"...), t.seq, 10)) // one allocation, not two
	tm.tasks.add(t)
	tm.stats.submitted++
	if tm.watched() {
		tm.emit(Message{Kind: KindNewTask, TaskID: t.id, Content: t.name})
	}
	if ctx := p.Context; !wait && ctx != nil && ctx.Done() != nil {
		t.stopCtx = context.AfterFunc(ctx, func() { tm.cancel(t, canceledBy(ctx, t)) })
	}
	tm.route(t)
	return t, nil
}

// route gives t to a free capable worker, queues it, or fails it when no
// worker lists its name. Called with mu held.
func (tm *TaskManager) route(t *TaskRequest) {
	candidates := tm.byName[t.name]
	if len(candidates) == 0 {
		tm.settle(t, Response{Err: noWorkerError(t.name, tm.knownNames(), tm.gone[t.name].text())})
		return
	}
	if tm.watched() {
		tm.emit(Message{Kind: KindTaskAvailable, TaskID: t.id, Content: t.name})
	}
	w := tm.pickWorker(candidates)
	if w != nil && (t.queued == 0 || !tm.waiting(w)) {
		tm.assign(w, t)
		return
	}
	// Queued; or a task back in line (a retry, or its worker closed) whose
	// slot just came free, with tasks waiting that the free worker could
	// run: it takes its place among them, and free workers pull the best,
	// so that it runs before none of a higher rank.
	tm.enqueue(t)
	for w != nil && t.index >= 0 {
		tm.pull(w)
		w = tm.pickWorker(candidates)
	}
	if t.index >= 0 {
		// A task whose workers went down twice while it ran is likely what
		// brings them down: a fresh worker for each of its runs would skip
		// the restart backoff that slows a crash loop, so it waits for one,
		// when one will come (not under Restart.Never, whose workers close).
		tm.grow(t.name, t.downs >= 2)
	}
}

// waiting says whether a task that w lists waits in a queue. Called with mu held.
func (tm *TaskManager) waiting(w *TaskWorker) bool {
	for _, name := range w.tasks {
		if q := tm.queues[name]; q != nil && q.Len() > 0 {
			return true
		}
	}
	return false
}

// enqueue puts t in its name's queue. Called with mu held.
func (tm *TaskManager) enqueue(t *TaskRequest) {
	q := tm.queues[t.name]
	if q == nil {
		q = &taskQueue{aging: tm.opts.AgingInterval}
		tm.queues[t.name] = q
	}
	t.status = TaskNew
	t.worker = nil
	if t.queued == 0 { // a task back in line keeps its place
		t.queued = tm.now().UnixNano()
	}
	q.push(t)
	tm.queued++
}

// roomFor says whether a live worker that lists name has room for a task
// now, with none of that name waiting before it. Called with mu held.
func (tm *TaskManager) roomFor(name string) bool {
	if q := tm.queues[name]; q != nil && q.Len() > 0 {
		return false
	}
	for _, w := range tm.byName[name] {
		if w.hasRoom() {
			return true
		}
	}
	return false
}

// pickWorker picks among the free workers (those with room): the one that
// lists the fewest task names, so that a specialist (Count or grown) takes
// what it can and a generalist stays free for what only it can run; then a
// worker of a group's Count before one an elastic group grew, so that a
// grown worker idles out (IdleTimeout) once the others have room for the
// load, even overlapping tasks at Concurrency above 1; then the worker with
// the fewest tasks in flight, which spreads load; a tie goes to the worker
// that answered last, whose thread is the likeliest still
// awake (kept so after a lone task: Options.LoneTaskAwake), so that tasks
// one at a time stay on one warm worker; else the scan starts at a rotating
// index so ties do not always go to the first.
func (tm *TaskManager) pickWorker(candidates []*TaskWorker) *TaskWorker {
	var best *TaskWorker
	n := len(candidates)
	tm.rotate++
	for i := 0; i < n; i++ {
		w := candidates[(tm.rotate+i)%n]
		if !w.hasRoom() {
			continue
		}
		if best == nil || tm.before(w, best) {
			best = w
		}
	}
	return best
}

// before says whether w is a better pick than best (see pickWorker).
func (tm *TaskManager) before(w, best *TaskWorker) bool {
	if a, b := len(w.tasks), len(best.tasks); a != b {
		return a < b
	}
	if w.elastic != best.elastic {
		return !w.elastic
	}
	if a, b := len(w.inflight), len(best.inflight); a != b {
		return a < b
	}
	return w == tm.warm
}

// assign hands t to w: the seed's claim, grant and work. Called with mu held.
func (tm *TaskManager) assign(w *TaskWorker, t *TaskRequest) {
	now := tm.now()
	if t.started == 0 { // its first run: how long it waited (a retry's wait is not counted again)
		if t.queued != 0 {
			tm.stats.queueWait.add(time.Duration(now.UnixNano() - t.queued))
		} else {
			tm.stats.queueWait.add(0)
			t.queued = now.UnixNano() // its place in line, should it go back there (requeue)
		}
	}
	t.status = TaskWorking
	t.worker = w
	t.started = now.UnixNano()
	if len(tm.ranBefore) > 0 {
		delete(tm.ranBefore, t) // it runs again
	}
	w.unheard = append(w.unheard, t.seq)
	w.inflight[t.seq] = t
	w.idleSince = time.Time{}
	stop(w.idleTimer)
	tm.setWorkerStatus(w, WorkerWorking, "")
	if tm.watched() {
		tm.emit(Message{Kind: KindTaskClaim, TaskID: t.id, WorkerID: w.id})
		tm.emit(Message{Kind: KindTaskClaimGranted, TaskID: t.id, WorkerID: w.id})
		tm.emit(Message{Kind: KindTaskUpdated, TaskID: t.id, WorkerID: w.id, Content: TaskWorking})
		tm.emit(Message{Kind: KindWorkerWork, TaskID: t.id, WorkerID: w.id, Content: t.name})
	}
	if d := tm.timeoutOf(t, w); d > 0 {
		var timer stopper
		timer = tm.clock.AfterFunc(d, func() { tm.timedOut(t, w, d, &timer) })
		t.timer = timer
	}
	t.unposted = false
	keep := keepNone
	switch {
	case t.rawResult:
		keep = keepRaw
	case tm.copying:
		keep = keepCopy
	}
	w.transport.work(t.seq, w.id, t.name, t.params, keep)
}

// now reads the clock, or gives the reading shared by the batch being
// handled. Called with mu held.
func (tm *TaskManager) now() time.Time {
	if !tm.reading.IsZero() {
		return tm.reading
	}
	return tm.clock.Now()
}

func (tm *TaskManager) timeoutOf(t *TaskRequest, w *TaskWorker) time.Duration {
	switch {
	case t.timeout != 0:
		return t.timeout
	case w.config.TaskTimeout != 0:
		return w.config.TaskTimeout
	}
	return tm.opts.DefaultTimeout
}

// timeoutSetting names the setting timeoutOf took t's limit on w from, so
// that a timeout's error says what to raise.
func (tm *TaskManager) timeoutSetting(t *TaskRequest, w *TaskWorker) string {
	switch {
	case t.timeout != 0:
		return "its TaskParams.Timeout"
	case w.config.TaskTimeout != 0:
		return "its worker's WorkerConfig.TaskTimeout"
	}
	return "Options.DefaultTimeout"
}

// pull fills w's free slots with the best queued tasks it can do. Called with mu held.
func (tm *TaskManager) pull(w *TaskWorker) {
	for w.hasRoom() {
		var best place
		var from *taskQueue
		for _, name := range w.tasks {
			q := tm.queues[name]
			if q == nil {
				continue
			}
			if h, ok := q.head(); ok && (from == nil || h.before(best)) {
				best, from = h, q
			}
		}
		if from == nil {
			return
		}
		from.pop()
		tm.queued--
		tm.assign(w, best.t)
	}
}

// unqueue takes t out of its queue, if it is in one. Called with mu held.
func (tm *TaskManager) unqueue(t *TaskRequest) {
	if t.index < 0 {
		return
	}
	if q := tm.queues[t.name]; q != nil {
		q.remove(t)
		tm.queued--
	}
}

// settle ends t exactly once: it leaves the table and its queue, is counted,
// and its result goes to Do and to its callbacks. A running task keeps its
// place in its worker until the worker answers. Called with mu held.
func (tm *TaskManager) settle(t *TaskRequest, r Response) bool {
	if t.settled {
		return false
	}
	t.settled = true
	stop(t.timer)
	t.timer = nil
	if len(tm.retryAfter) > 0 {
		delete(tm.retryAfter, t)
	}
	if len(tm.ranBefore) > 0 {
		delete(tm.ranBefore, t)
	}
	if t.stopCtx != nil {
		t.stopCtx()
	}
	r.TaskID = t.id
	if r.WorkerID == "" && t.worker != nil {
		r.WorkerID = t.worker.id
	}
	tm.unqueue(t)
	tm.tasks.remove(t.seq)
	if r.Err == nil {
		t.status = TaskDone
		tm.stats.done++
	} else {
		t.status = TaskFailed
		tm.stats.failed++
		if r.Error == "" {
			r.Error = r.Err.Error()
		}
	}
	if tm.watched() {
		tm.emit(Message{Kind: KindTaskUpdated, TaskID: t.id, WorkerID: r.WorkerID, Content: t.status, Error: r.Error})
		tm.emit(Message{Kind: KindTaskDeleted, TaskID: t.id, WorkerID: r.WorkerID})
	}
	if t.done != nil {
		t.done <- r // buffered, and a task settles once: never blocks
	}
	fn := t.onSuccess
	if r.Err != nil {
		fn = t.onError
	}
	if fn != nil {
		tm.queueCallback(t, func() { fn(r) })
	}
	return true
}

// retryOrFail runs t again when it has retries left, else settles it with
// err. Called with mu held, once t has left its worker.
func (tm *TaskManager) retryOrFail(t *TaskRequest, err error) {
	if t.settled {
		return
	}
	// A retry needs a worker to run on: with none left for the name (its
	// only worker crashed under Restart.Never), the crash is the answer.
	if t.retriesLeft > 0 && !tm.closed && len(tm.byName[t.name]) > 0 {
		t.retriesLeft--
		tm.stats.retried++
		tm.requeue(t, err.Error())
		tm.waitsAgain(t, err)
		return
	}
	tm.settle(t, Response{Err: err})
}

// requeue puts t, which left its worker through no fault of its own, back
// in line; it keeps its place (its seq). A task whose params moved JS
// buffers to that worker cannot be sent again: it fails, with why its
// worker went. Called with mu held.
func (tm *TaskManager) requeue(t *TaskRequest, why string) {
	stop(t.timer)
	t.timer = nil
	if timeout, ok := tm.retryAfter[t]; ok {
		// It timed out, and waited for its worker to stop it: this run
		// is its retry (see timedOut), if a worker is left to run it
		// (see retryOrFail); else the timeout is the answer.
		delete(tm.retryAfter, t)
		if len(tm.byName[t.name]) == 0 {
			tm.settle(t, Response{Err: timeout})
			return
		}
		t.retriesLeft--
		tm.stats.retried++
		defer tm.waitsAgain(t, timeout)
	}
	if t.movedOut() {
		wid := "its worker"
		if t.worker != nil {
			wid = t.worker.id
		}
		tm.settle(t, Response{Err: fmt.Errorf("%w: task %s (%s) cannot be sent again: its params moved JS buffers (atmo.Transfer) to %s (%s); add the task again with fresh buffers", ErrWorkerCrashed, t.id, t.name, wid, why)})
		return
	}
	left := ""
	if t.worker != nil {
		left = t.worker.id
	}
	t.worker = nil
	if tm.watched() {
		// Which worker it left, and why: a retry, or a task that never
		// reached its worker (see leftDown), which is none.
		tm.emit(Message{Kind: KindTaskUpdated, TaskID: t.id, WorkerID: left, Content: TaskNew, Error: why})
	}
	tm.route(t)
}

// timedOut handles a task past its running-phase limit.
// timer is the timer that fired, read once mu is held (it is set under
// mu): one stopped too late, once the task had left w and come back to it,
// is not the task's any more.
func (tm *TaskManager) timedOut(t *TaskRequest, w *TaskWorker, d time.Duration, timer *stopper) {
	tm.mu.Lock()
	defer tm.mu.Unlock()
	if t.settled || t.timer != *timer || t.worker != w || w.inflight[t.seq] != t {
		return
	}
	tm.stats.timedOut++
	hint := "raise it if the task needs longer"
	if !w.catches {
		// A hand-written script answers a throw only if it catches it,
		// and a browser tells the page nothing of an async handler's
		// rejection: a common reason for a task that never answers.
		hint += ", or, if its handler may have thrown, catch the error in the worker script and post it as the worker-response's error (in a browser, an async onmessage that rejects answers nothing), or write the worker with atmo-worker.js, which does"
	}
	err := fmt.Errorf("%w: task %s (%s) ran longer than %v on %s, the limit of %s: %s", ErrTimeout, t.id, t.name, d, w.id, tm.timeoutSetting(t, w), hint)
	if !w.stops {
		// A busy loop cannot be interrupted: replace the worker, then run
		// the task again elsewhere or fail it.
		delete(w.inflight, t.seq)
		t.wentDown()
		tm.restartWorker(w, fmt.Sprintf("terminated: task %s ran past its %v timeout", t.id, d))
		tm.retryOrFail(t, err)
		return
	}
	// The worker stops handlers on request (atmo-worker.js, Go workers):
	// ask it, as a cancel does, and terminate it only if the handler has
	// not stopped within the grace period, so that the other tasks it runs
	// go on. The task fails now, or, with Retries left, runs again once
	// its slot is free.
	if t.retriesLeft > 0 && !tm.closed {
		tm.retryAfter[t] = err
	} else {
		tm.settle(t, Response{Err: err})
	}
	tm.stopOnWorker(t, w, fmt.Sprintf("timed-out task %s (past its %v timeout)", t.id, d))
}

// leftWorker is the error with which a task that left its worker unsettled
// runs again or fails: err, unless it timed out and waited for its worker
// to stop it, when it is that timeout; but when what took it off (err: a
// crash) or a close leaves it no worker to run again on, that ended it,
// and the error says so, and that its last run timed out. Called with mu
// held.
func (tm *TaskManager) leftWorker(t *TaskRequest, err error) {
	if timeout, ok := tm.retryAfter[t]; ok {
		delete(tm.retryAfter, t)
		switch {
		case tm.closed:
			err = closedBeforeRetry(t, "the TaskManager was closed", timeout)
		case err != nil && len(tm.byName[t.name]) == 0:
			err = fmt.Errorf("%w, before it ran again after its last run timed out (%v)", err, timeout)
		default:
			err = timeout
		}
	}
	tm.retryOrFail(t, err)
}

// waitsAgain notes t, whose last run ended with err (a timeout, its
// worker's crash or close), if it now waits in line to run again: a close
// or a failed restart that leaves it no worker before it runs says that it
// ran, and how (see failOrphans). Called with mu held.
func (tm *TaskManager) waitsAgain(t *TaskRequest, err error) {
	if !t.settled && t.index >= 0 {
		tm.ranBefore[t] = err
	}
}

// closedBeforeRetry is the error of task t, which timed out (timeout) and
// waited for its worker to stop it, to run again, when a close (what: the
// TaskManager's, its worker manager's, or TaskWorker.Close of the last
// worker that lists it) left it none to run on: ErrClosed, as for every
// task a close ends, saying that its last run timed out, and so which
// limit to raise.
func closedBeforeRetry(t *TaskRequest, what string, timeout error) error {
	return fmt.Errorf("%w: %s before task %s (%s) ran again after its last run timed out (%v)", ErrClosed, what, t.id, t.name, timeout)
}

// Task returns a task that is still in the table: queued or running.
// Settled tasks leave the table, so memory stays bounded.
func (tm *TaskManager) Task(id string) (*TaskRequest, bool) {
	tm.mu.Lock()
	defer tm.mu.Unlock()
	t := tm.tasks.get(seqOf(id)) // seq 0, for an id not of ours, is never a task's
	return t, t != nil
}

// DeleteTask removes a task from the table; a task not yet finished is
// cancelled as by TaskRequest.Cancel. Unknown ids are ignored.
func (tm *TaskManager) DeleteTask(id string) {
	tm.mu.Lock()
	t := tm.tasks.get(seqOf(id))
	tm.mu.Unlock()
	if t != nil {
		tm.cancel(t, fmt.Errorf("%w: task %s was deleted", ErrCanceled, id))
	}
}

// cancel settles t with err. A running task's worker is told to stop and
// keeps the task's slot until it answers or the grace period ends.
func (tm *TaskManager) cancel(t *TaskRequest, err error) {
	tm.mu.Lock()
	defer tm.mu.Unlock()
	w := t.worker
	// A task that timed out and waits for its worker to stop it was sent
	// worker-cancel already: it settles, and its grace timer, which settle
	// would stop, goes on bounding that wait.
	_, stopping := tm.retryAfter[t]
	grace := t.timer
	if stopping {
		t.timer = nil
	}
	if !tm.settle(t, Response{Err: err}) {
		return
	}
	tm.stats.canceled++
	if stopping {
		t.timer = grace
		return
	}
	if w == nil || w.inflight[t.seq] != t {
		return
	}
	if u, ok := w.transport.(unposter); ok && u.unpost(t.seq) {
		// Still in the turn's batch: it never reaches the worker, its
		// buffers stay here, and its slot is free now.
		delete(w.inflight, t.seq)
		if i := slices.Index(w.unheard, t.seq); i >= 0 {
			w.unheard = slices.Delete(w.unheard, i, i+1) // never sent: a silent worker's list does not grow with such tasks
		}
		stop(t.timer)
		t.timer = nil
		tm.workerFreed(w)
		return
	}
	tm.stopOnWorker(t, w, "cancelled task "+t.id)
}

// stopOnWorker sends worker-cancel for t, which keeps its slot on w until
// w answers; if w has not within the grace period, it is replaced (and t,
// if it waits to run again, runs again elsewhere). what names the task in
// the reason. Called with mu held.
func (tm *TaskManager) stopOnWorker(t *TaskRequest, w *TaskWorker, what string) {
	w.transport.cancel(t.id, w.id)
	grace := w.config.CancelGrace
	if grace <= 0 {
		grace = tm.opts.CancelGrace
	}
	stop(t.timer)
	var timer stopper
	timer = tm.clock.AfterFunc(grace, func() {
		tm.mu.Lock()
		defer tm.mu.Unlock()
		// Not a timer stopped too late, once the task had been answered
		// and sent to w again (a retry).
		if t.timer == timer && w.inflight[t.seq] == t {
			delete(w.inflight, t.seq)
			t.wentDown() // its worker goes down for it, as in timedOut
			tm.restartWorker(w, fmt.Sprintf("terminated: did not stop %s within %v", what, grace))
			if _, ok := tm.retryAfter[t]; ok {
				tm.leftWorker(t, nil)
			}
		}
	})
	t.timer = timer
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
	s := StatusSummary{Done: tm.stats.done, Failed: tm.stats.failed}
	for _, t := range tm.tasks.sorted() {
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

// Close settles every queued and running task with ErrClosed (one that
// timed out and waits to run again, by its Retries, too: its error says
// that it timed out), closes the worker managers attached to tm
// (terminating their workers) and stops the event stream. It has every
// task callback that was queued run (the OnError of each task it settles
// too) and waits for them, but the one it is called from; called from
// elsewhere than a callback, it has every subscriber take what was queued
// for it, and waits for that too. So a callback or subscriber that blocks
// holds Close up as long, and one that never returns, for ever (a
// subscriber unsubscribed before Close is not waited for). None starts
// after Close returns, but the later callbacks of a task whose own
// callback (an OnProgress) called Close: a task's callbacks keep their
// order; and, when Close is called from a callback, a subscriber's call
// already on its way, and a SubscribeBatch subscriber's, which gets what
// was queued for it (see SubscribeBatch). Close is idempotent.
func (tm *TaskManager) Close() error {
	from := tm.calledFrom()
	inCallback := from != fromElsewhere
	tm.mu.Lock()
	if tm.closed {
		tm.mu.Unlock()
		if !inCallback {
			<-tm.closing
			tm.waitCallbacks(false)
		} else {
			// Another Close is under way: once it has settled every task,
			// wait, as a first Close from a callback does, for the other
			// callbacks, so that none starts after this Close returns.
			<-tm.swept
			tm.waitCallbacks(from == fromRunner)
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
	tm.mu.Lock()
	for _, t := range tm.tasks.sorted() {
		tm.settle(t, Response{Err: fmt.Errorf("%w: TaskManager closed before task %s (%s) finished", ErrClosed, t.id, t.name)})
	}
	close(tm.swept)
	subs := tm.subs
	tm.subs = nil
	tm.mu.Unlock()
	for _, s := range subs {
		s.stop(!inCallback)
	}
	// From a subscriber, every task callback is waited for: none of them
	// is the caller's own.
	tm.waitCallbacks(from == fromRunner)
	return nil
}
