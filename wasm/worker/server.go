package worker

import (
	"context"
	"errors"
	"fmt"
	"os"
	"reflect"
	"runtime/debug"
	"slices"
	"strings"
	"sync"

	"github.com/atmoworkers/atmo/wasm/internal/protocol"
	"github.com/atmoworkers/atmo/wasm/internal/turn"
	"github.com/atmoworkers/atmo/wasm/internal/values"
)

// errCanceledByHost is the cause of a task's ctx when the host cancels it;
// it is a context.Canceled.
var errCanceledByHost = fmt.Errorf("worker: task canceled by the host: %w", context.Canceled)

// port is the way to the host. msg is a tree of plain values (see
// normalize), or an answer or answers, which write themselves as one; the
// JS port turns it into a JS object and transfers its bytes. post may be
// called from any goroutine.
type port interface {
	post(msg any)
}

// server is the protocol engine: handlers by name and the tasks running.
// It holds no syscall/js, so it is tested natively; run_js.go connects it to
// the real host.
type server struct {
	mu        sync.Mutex
	handlers  map[string]Handler
	jsNames   []string // the tasks of HandleJS, whose params come as JS values (see handlejs_js.go)
	workerID  string
	running   map[string]*task
	port      port
	batches   bool                  // the host takes worker-response-batch
	keepAwake bool                  // init-worker asked to keep the thread awake when idle (see posted)
	told      bool                  // worker-ready told the host the task names: no handler may come after
	lone      bool                  // the last work message said the host held its task alone (see posted)
	outbox    *turn.Batcher[answer] // answers that leave together
	jobs      chan job              // hands a task to an idle runner; room for maxIdleRunners
	idle      int                   // runners waiting on jobs, each promised the next job sent
	runners   int                   // runners made so far
}

// job is a task to run: what run takes.
type job struct {
	ctx    context.Context
	t      *task
	h      Handler
	params any
}

// maxIdleRunners is how many runners may wait for work between tasks.
// Runners are made on demand, so at most as many wait as tasks ran at once
// (a host's Concurrency). With 16, a Go worker at Concurrency 64 made new
// goroutines for every batch, and growing their stacks (runtime.pcvalue,
// getStackMap) was among the largest costs in its thread's profile; with
// 256, its throughput in the bench rose from 29.9-35.0k tasks/s (1.12-1.28×
// raw postMessage) to 36.0-40.2k (1.37-1.45×).
// An idle runner holds its stack, 8-32 KiB.
const maxIdleRunners = 256

// std is the server of Handle and Run.
var std = newServer()

func newServer() *server {
	s := &server{handlers: map[string]Handler{}, running: map[string]*task{}, jobs: make(chan job, maxIdleRunners)}
	s.outbox = turn.New(s.flush)
	return s
}

func (s *server) handle(name string, h Handler) { s.register("Handle", name, h) }

// register registers h for the task name; by names the function the
// program called (Handle, HandleTyped, HandleJS), which its panics name.
func (s *server) register(by, name string, h Handler) {
	if strings.TrimSpace(name) == "" {
		panic(fmt.Sprintf("worker: %s with an empty task name", by))
	}
	if h == nil {
		panic(fmt.Sprintf("worker: %s(%q) with a nil handler", by, name))
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, dup := s.handlers[name]; dup {
		panic(fmt.Sprintf("worker: %s(%q): task %s has a handler already; each task name has one handler (Handle, HandleTyped or HandleJS)", by, name, name))
	}
	if s.told {
		panic(fmt.Sprintf("worker: %s(%q) after the worker told the host its tasks (%s): the host never sends it a task named %s; register every handler before worker.Run",
			by, name, strings.Join(s.names(), ", "), name))
	}
	s.handlers[name] = h
}

// names lists the registered task names, sorted. Called with mu held.
func (s *server) names() []string {
	ns := make([]string, 0, len(s.handlers))
	for n := range s.handlers {
		ns = append(ns, n)
	}
	slices.Sort(ns)
	return ns
}

// task is one running task.
type task struct {
	Task
	server   *server
	ctx      context.Context // the task's own, which ends with it, whatever ctx Progress is given
	cancel   context.CancelCauseFunc
	canceled bool // the host cancelled it: it answers "canceled" once its handler returns
}

// Task describes the task a handler is running; see TaskFrom.
type Task struct {
	Name     string // the task name
	ID       string // the host's task id
	WorkerID string // this worker's id, from init-worker
}

type taskKey struct{}

// TaskFrom returns the task that ctx belongs to: the ctx a handler received,
// or one derived from it.
func TaskFrom(ctx context.Context) (Task, bool) {
	t, ok := ctx.Value(taskKey{}).(*task)
	if !ok {
		return Task{}, false
	}
	return t.Task, true
}

// Progress sends a progress report for the task of ctx to the host, where the
// task's OnProgress callback receives value. value follows the same rules as
// a result. It is an error to call it with a ctx that is not a handler's, or
// with a value that cannot be sent; after the task ended it does nothing and
// returns the error of the task's ctx (also through a ctx that never ends,
// from context.WithoutCancel).
//
// In js/wasm builds, when more than 10 ms passed since the worker's event loop
// last ran Go code (a message from the host, a Yield), Progress first lets it
// run once, as Yield does: a handler that computes and reports progress,
// without waiting nor calling Yield, still hears a cancel (its ctx ends, and
// Progress returns ctx's error). Otherwise it costs a clock read. Called
// from a js.FuncOf callback, where waiting would deadlock, it never yields.
// As around Yield, hold no lock across it that one of your own js.FuncOf
// callbacks takes: that callback may run in the yield, and wait for ever.
func Progress(ctx context.Context, value any) error {
	t, ok := ctx.Value(taskKey{}).(*task)
	if !ok {
		return errors.New("worker.Progress: ctx is not a task's context; pass the ctx your handler received")
	}
	v, err := normalize(value, "progress")
	if err != nil {
		return fmt.Errorf("worker.Progress: %w", err)
	}
	s := t.server
	progressYield() // lets a cancel in, for a loop that reports progress and never waits
	s.mu.Lock()
	live := s.running[t.ID] == t && !t.canceled
	s.mu.Unlock()
	if !live {
		// The task's own ctx: one derived from it may never end
		// (context.WithoutCancel).
		if err := context.Cause(t.ctx); err != nil {
			return err
		}
		return context.Canceled // ended, its ctx about to be cancelled
	}
	msg := map[string]any{"message": protocol.WorkerProgress, "taskId": t.ID, "workerId": t.WorkerID, "content": v}
	if p, ok := s.port.(interface{ tryPost(msg any) error }); ok {
		if err := p.tryPost(msg); err != nil {
			return fmt.Errorf("worker.Progress: the report could not be posted to the host: %w", err)
		}
		return nil
	}
	s.port.post(msg)
	return nil
}

// receive handles one message from the host, already converted from JS. It
// runs inside the JS message callback, so it never blocks: a task runs in a
// goroutine of its own. Messages it does not know are ignored, as the
// protocol asks.
func (s *server) receive(msg any) {
	if w, ok := msg.([]any); ok {
		s.receiveWork(w)
		return
	}
	m, ok := msg.(map[string]any)
	if !ok {
		return
	}
	kind, _ := m["message"].(string)
	switch kind {
	case protocol.InitWorker:
		s.mu.Lock()
		s.workerID = protocol.IDText(m["id"])
		features, _ := m["features"].([]any)
		s.batches = slices.Contains(features, any(protocol.FeatureBatch))
		keepAwake, _ := m["keepAwake"].(float64)
		s.keepAwake = keepAwake > 0
		id, names := s.workerID, s.names()
		s.told = true
		s.mu.Unlock()
		tasks := make([]any, len(names))
		for i, n := range names {
			tasks[i] = n
		}
		s.port.post(map[string]any{
			"message": protocol.WorkerReady, "workerId": id,
			"content": map[string]any{"tasks": tasks, "features": []any{"cancel", protocol.FeatureStop, protocol.FeatureCatch, "progress", "concurrency", protocol.FeatureBatch}},
		})
	case protocol.WorkerWork:
		s.setLone(m["awake"])
		content, _ := m["content"].(map[string]any)
		name, _ := content["name"].(string)
		s.start(protocol.IDText(m["taskId"]), protocol.IDText(m["workerId"]), name, content["params"], "")
	case protocol.WorkerWorkBatch:
		s.setLone(nil)
		items, _ := m["content"].([]any)
		for _, it := range items {
			if item, ok := it.(map[string]any); ok {
				name, _ := item["name"].(string)
				s.start(protocol.IDText(item["taskId"]), protocol.IDText(m["workerId"]), name, item["params"], "")
			}
		}
	case protocol.WorkerCancel:
		s.cancelTask(protocol.IDText(m["taskId"]))
	}
}

// workTag starts the compact form in which the JS side of the port
// (run_js.go) writes worker-work and worker-work-batch messages:
// [workTag, workerId, then taskId, name, params, unreadable for each task],
// ids as the host sent them. unreadable is null, or, where the port could
// not write the params by the value rules (a Blob, a BigInt), why: the
// params are null then, and the task fails saying why. Go builds no map for
// the envelope of each task, only its params.
const workTag = "\x00atmo-work"

// loneWorkTag starts a worker-work message in the compact form that
// carries awake: the host held that task alone, and asks the thread to
// stay awake for a while once it has answered (see posted).
const loneWorkTag = "\x00atmo-work-lone"

// compactTask is how many items a task takes in the compact form.
const compactTask = 4

// receiveWork starts the tasks of a message in the compact form; anything
// else that came as an array is not a protocol message, and is ignored.
func (s *server) receiveWork(w []any) {
	if len(w) < 2 || (len(w)-2)%compactTask != 0 || (w[0] != workTag && w[0] != loneWorkTag) {
		return
	}
	s.mu.Lock()
	s.lone = w[0] == loneWorkTag
	s.mu.Unlock()
	workerID := protocol.IDText(w[1])
	for i := 2; i < len(w); i += compactTask {
		name, _ := w[i+1].(string)
		unreadable, _ := w[i+3].(string)
		if unreadable == "" && w[i+3] != nil {
			unreadable = "the worker's port could not write them for Go"
		}
		s.start(protocol.IDText(w[i]), workerID, name, w[i+2], unreadable)
	}
}

// dropParams lets go of the params of a task that will not run: those a
// HandleJS handler would have taken (see handlejs_js.go).
var dropParams = func(params any) {}

// start begins a task of a worker-work or worker-work-batch message; or,
// where unreadable says why its params could not be read, fails it saying
// so, once it is known to be a task this worker would run.
func (s *server) start(taskID, workerID, name string, params any, unreadable string) {
	if taskID == "" {
		dropParams(params)
		return // nothing to answer to
	}
	s.mu.Lock()
	if workerID == "" {
		workerID = s.workerID
	}
	if _, dup := s.running[taskID]; dup {
		s.mu.Unlock()
		dropParams(params)
		return // the same task twice, whatever its name now: the first answer will do
	}
	h := s.handlers[name]
	if h == nil {
		known := strings.Join(s.names(), ", ")
		s.mu.Unlock()
		dropParams(params)
		s.respond(taskID, workerID, nil, fmt.Sprintf("Unknown task: %s (this Go worker handles: %s)", name, known))
		return
	}
	if unreadable != "" {
		s.mu.Unlock()
		s.respond(taskID, workerID, nil, fmt.Sprintf("the params of task %q cannot be read: %s", name, unreadable))
		return
	}
	ctx, cancel := context.WithCancelCause(context.Background())
	t := &task{Task: Task{Name: name, ID: taskID, WorkerID: workerID}, server: s, ctx: ctx, cancel: cancel}
	s.running[taskID] = t
	s.mu.Unlock()
	s.spawn(job{ctx: context.WithValue(ctx, taskKey{}, t), t: t, h: h, params: params})
}

// spawn runs j on a goroutine: an idle runner when one waits, else a new
// one. Runners are kept between tasks because a fresh goroutine starts on a
// small stack and grows it, copying, on every task: a CPU profile of a Go
// worker's round trip showed the stack copying among its largest costs.
//
// An idle runner counts itself in idle before it waits on jobs, and spawn
// takes it out as it sends: so a runner that said it is idle always gets
// the job, even if it has not reached the receive yet (the channel's room
// holds the job meanwhile, and never fills: there are at most
// maxIdleRunners idle), and no goroutine is made while one is idle.
func (s *server) spawn(j job) {
	s.mu.Lock()
	if s.idle > 0 {
		s.idle--
		s.mu.Unlock()
		s.jobs <- j
		return
	}
	s.runners++
	s.mu.Unlock()
	go s.runner(j)
}

// runner runs j, then the jobs handed to it, until enough others wait.
// It waits without a timer: a pending Go timer makes the js/wasm runtime
// arm a JS timeout every time it goes idle.
func (s *server) runner(j job) {
	for {
		s.run(j.ctx, j.t, j.h, j.params)
		s.mu.Lock()
		if s.idle >= maxIdleRunners {
			s.mu.Unlock()
			return
		}
		s.idle++
		s.mu.Unlock()
		j = <-s.jobs // spawn took this runner out of idle
	}
}

// run calls the handler and answers: with "canceled" if the host cancelled
// the task meanwhile (the host settled it already, and counts the slot
// free only now). A handler that ends its goroutine (runtime.Goexit) is
// answered too, with an error: else its task would wait for ever.
func (s *server) run(ctx context.Context, t *task, h Handler, params any) {
	var result any
	var errText string
	returned := false
	defer func() {
		if !returned {
			errText = fmt.Sprintf("task %q ended its goroutine (runtime.Goexit) before it returned; return an error instead", t.Name)
		}
		s.mu.Lock()
		live := s.running[t.ID] == t
		if live {
			delete(s.running, t.ID)
		}
		canceled := t.canceled
		s.mu.Unlock()
		t.cancel(nil)
		switch {
		case !live:
		case canceled:
			s.respond(t.ID, t.WorkerID, nil, "canceled")
		default:
			s.respond(t.ID, t.WorkerID, result, errText)
		}
	}()
	result, errText = call(ctx, t.Name, h, params)
	returned = true
}

// call runs h and turns its outcome into a result or an error text. A panic
// becomes an error with the panic's text; its stack goes to stderr (the
// worker's console) for debugging.
func call(ctx context.Context, name string, h Handler, params any) (result any, errText string) {
	returned := false
	defer func() {
		if p := recover(); p != nil {
			result = nil
			errText = fmt.Sprintf("task %q panicked: %v", name, p)
			fmt.Fprintf(os.Stderr, "atmo worker: %s\n%s", errText, debug.Stack())
		} else if !returned {
			// h neither returned nor panicked with a value: panic(nil)
			// where GODEBUG has panicnil=1, which recover gives as nil
			// (call returns this), or runtime.Goexit (run says so).
			result = nil
			errText = fmt.Sprintf("task %q panicked with nil (GODEBUG panicnil=1)", name)
		}
	}()
	r, err := h(ctx, params)
	returned = true
	if err != nil {
		return nil, errorText(name, err)
	}
	v, err := normalize(r, "result")
	if err != nil {
		return nil, fmt.Sprintf("task %q returned a result the host cannot receive: %v", name, err)
	}
	return v, ""
}

// errorText is the text of err, the error task name returned. An Error
// method that panics is said so: most often a handler that returned a nil
// pointer of its error type, which is a non-nil error (Go's typed nil).
func errorText(name string, err error) (msg string) {
	defer func() {
		if p := recover(); p != nil {
			if v := reflect.ValueOf(err); v.Kind() == reflect.Pointer && v.IsNil() {
				msg = fmt.Sprintf("task %q returned a nil %T as its error, which is not a nil error (an interface holding a nil pointer): return nil itself for success", name, err)
			} else {
				msg = fmt.Sprintf("task %q failed, and the Error method of its error (%T) panicked: %v", name, err, p)
			}
		}
	}()
	msg = err.Error()
	if msg == "" {
		msg = fmt.Sprintf("task %q failed with an empty error (%T)", name, err)
	}
	return msg
}

// cancelTask cancels a running task's ctx. Its handler's outcome is
// dropped, and the answer "canceled" leaves when the handler returns, not
// before: until then the task still holds its slot, so that the host never
// hands this worker more tasks than its Concurrency, and a handler that
// ignores its ctx past the host's CancelGrace has its worker replaced.
func (s *server) cancelTask(taskID string) {
	s.mu.Lock()
	t := s.running[taskID]
	if t == nil || t.canceled {
		s.mu.Unlock()
		return // finished already, cancelled already, or not ours
	}
	t.canceled = true
	s.mu.Unlock()
	t.cancel(errCanceledByHost)
}

// respond answers a task. When the host takes batches, answers given while
// other tasks are still running leave together, once the other runnable
// goroutines (tasks) have added theirs (see package turn). The answer of a
// lone task leaves at once.
func (s *server) respond(taskID, workerID string, result any, errText string) {
	a := answer{taskID: taskID, workerID: workerID, result: result, errText: errText}
	s.mu.Lock()
	alone := !s.batches || len(s.running) == 0
	s.mu.Unlock()
	if alone && s.outbox.Empty() {
		s.port.post(a)
		s.posted()
		return
	}
	// The answer leaves at the turn's end, after the other handlers of the
	// turn ran: a buffer it holds that a handler may write again (one it
	// keeps, for the next task) is copied now, as it would be into JS if
	// the answer left at once.
	a.result = ownBytes(a.result)
	s.outbox.Add(a)
}

// ownBytes copies the []byte values in v, a tree from normalize, whose
// maps and slices are its own already (so only a []byte's place in them is
// written). A JS value in it is read as it leaves (see HandleJS).
func ownBytes(v any) any {
	switch x := v.(type) {
	case []byte:
		return slices.Clone(x)
	case []any:
		for i, e := range x {
			if b, ok := e.([]byte); ok {
				x[i] = slices.Clone(b)
			} else {
				ownBytes(e)
			}
		}
	case map[string]any:
		for k, e := range x {
			if b, ok := e.([]byte); ok {
				x[k] = slices.Clone(b)
			} else {
				ownBytes(e)
			}
		}
	}
	return v
}

// posted runs after answers left: when the host asked for KeepAwake, or
// said it held the last task alone (LoneTaskAwake), and no task is left
// running, the port keeps the thread awake for the next (go-worker.js
// applies it, for as long as the host asked). Otherwise, as in a flood, it
// costs no call into JS.
func (s *server) posted() {
	s.mu.Lock()
	idle := (s.keepAwake || s.lone) && len(s.running) == 0
	s.mu.Unlock()
	if p, ok := s.port.(interface{ idle() }); ok && idle {
		p.idle()
	}
}

// setLone notes a work message's awake: a number above 0 when the host
// held that task alone.
func (s *server) setLone(awake any) {
	us, _ := awake.(float64)
	s.mu.Lock()
	s.lone = us > 0
	s.mu.Unlock()
}

// flush posts the answers of one turn: alone, or as one batch.
func (s *server) flush(out []answer) {
	if len(out) == 1 {
		s.port.post(out[0])
	} else {
		s.mu.Lock()
		id := s.workerID
		s.mu.Unlock()
		s.port.post(answers{workerID: id, items: out})
	}
	s.posted()
}

// An answer is a task's worker-response, {message, taskId, workerId,
// content} or, when errText is set, {message, taskId, workerId, error}. It
// writes itself to the wire (values.Appender) as that tree: building the
// tree as a map, with each string boxed, took four of a task's eight
// allocations in a Go worker.
type answer struct {
	taskID, workerID string
	result           any
	errText          string
}

func (a answer) AppendWire(buf []byte, refs *[]any) []byte {
	buf = appendHead(buf, 4, protocol.WorkerResponse, a.workerID)
	return a.appendOutcome(buf, refs)
}

// appendHead starts a message of n keys: its kind and workerId, then the
// caller's n-2 keys.
func appendHead(buf []byte, n int, kind, workerID string) []byte {
	buf = values.AppendObject(buf, n)
	buf = values.AppendKey(buf, "message")
	buf = values.AppendString(buf, kind)
	buf = values.AppendKey(buf, "workerId")
	return values.AppendString(buf, workerID)
}

// appendOutcome appends the keys an answer and a batch's item share:
// taskId, then content or error.
func (a answer) appendOutcome(buf []byte, refs *[]any) []byte {
	buf = values.AppendKey(buf, "taskId")
	buf = values.AppendString(buf, a.taskID)
	if a.errText != "" {
		buf = values.AppendKey(buf, "error")
		return values.AppendString(buf, a.errText)
	}
	buf = values.AppendKey(buf, "content")
	return values.Encode(buf, a.result, refs)
}

// answers is a worker-response-batch: {message, workerId, content: [{taskId,
// content or error}, ...]}, written as that tree.
type answers struct {
	workerID string
	items    []answer
}

func (as answers) AppendWire(buf []byte, refs *[]any) []byte {
	buf = appendHead(buf, 3, protocol.WorkerResponseBatch, as.workerID)
	buf = values.AppendKey(buf, "content")
	buf = values.AppendArray(buf, len(as.items))
	for _, a := range as.items {
		buf = values.AppendObject(buf, 2)
		buf = a.appendOutcome(buf, refs)
	}
	return buf
}
