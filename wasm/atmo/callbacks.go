package atmo

import (
	"bytes"
	"fmt"
	"runtime"
	"strconv"
	"sync"
)

// Callbacks run on the manager's callback runners: goroutines that take
// the tasks with a callback waiting, in the order they came, and run one
// callback at a time. A goroutine started per task, as before, was ~8% of
// the page's thread in a flood of small tasks (starting and ending it);
// runners are kept parked between turns instead.
//
// A callback may block, even on another task's callback. So a runner that
// enters a callback while others wait first makes sure that another runner
// is awake, or on its way: if the callback blocks, that one takes the rest
// of the line. Under js/wasm it gets the thread only when the first parks,
// so a flood costs two wake-ups a turn, not a goroutine a task.
type callbackRunners struct {
	line    []*TaskRequest // tasks whose next callback waits for a runner
	head    int            // line[head] is next
	idle    int            // runners parked in wait, with no work
	woken   int            // runners started or signalled that have not yet looked at the line
	pending int            // tasks with callbacks queued or running
	live    int            // runners, parked or not
	closers int            // callbacks inside Close, waiting for the others (see waitCallbacks)
	closed  bool           // the manager is closed: runners do not park
	wait    sync.Cond      // idle runners park here; on tm.mu
	settled sync.Cond      // pending went down; on tm.mu
}

// maxIdleRunners is how many runners stay parked between turns: one to
// take the next turn's callbacks and one standing by in case a callback
// blocks. More are started while callbacks block, and end when idle.
const maxIdleRunners = 2

// queueCallback runs fn after the task's earlier callbacks, on a runner:
// never inside the caller, which is often a JS callback, and in order, so
// progress reports come before the result. Called with mu held.
func (tm *TaskManager) queueCallback(t *TaskRequest, fn func()) {
	t.callbacks = append(t.callbacks, fn)
	if t.calling {
		return // t is in line, or a runner is running its callback
	}
	t.calling = true
	r := &tm.runners
	r.pending++
	r.line = append(r.line, t)
	tm.wakeRunner()
}

// wakeRunner makes sure a runner will look at the line: one already on its
// way, a parked one, or a new one. Called with mu held.
func (tm *TaskManager) wakeRunner() {
	r := &tm.runners
	switch {
	case r.woken > 0:
	case r.idle > 0:
		r.idle--
		r.woken++
		r.wait.Signal()
	default:
		r.woken++
		r.live++
		go tm.runCallbacks()
	}
}

// runCallbacks is a runner: it runs the next task's next callback until
// the line is empty, then parks (or ends, when enough others are parked).
func (tm *TaskManager) runCallbacks() {
	defer tm.calling(fromRunner)()
	r := &tm.runners
	var running *TaskRequest // the task whose callback runs, while it runs
	defer func() {
		if running == nil {
			return // the runner ended as runners do
		}
		// The callback called runtime.Goexit (t.FailNow in a test does):
		// the runner ends with it, as a goroutine of the callback's own
		// would have, and the task's later callbacks and the line go on.
		tm.mu.Lock()
		tm.callbackReturned(running)
		r.live--
		if r.head < len(r.line) {
			tm.wakeRunner()
		}
		tm.mu.Unlock()
	}()
	tm.mu.Lock()
	r.woken--
	for {
		if r.head == len(r.line) {
			r.line, r.head = r.line[:0], 0
			if r.closed || r.idle >= maxIdleRunners {
				r.live--
				tm.mu.Unlock()
				return
			}
			r.idle++
			r.wait.Wait() // whoever signals moves this runner from idle to woken
			r.woken--
			continue
		}
		t := r.line[r.head]
		r.line[r.head] = nil
		r.head++
		// A line that never empties (callbacks that keep coming while
		// others run: a task's progress reports faster than its
		// OnProgress takes them) drops its taken front, or it would grow
		// with every callback run.
		if line, moved := dropFront(r.line, r.head); moved {
			r.line, r.head = line, 0
		}
		if r.head < len(r.line) {
			tm.wakeRunner() // a stand-by, in case this callback blocks
		}
		fn := t.callbacks[0]
		t.callbacks[0] = nil
		t.callbacks = t.callbacks[1:]
		running = t
		tm.mu.Unlock()
		tm.call(t.id, fn)
		tm.mu.Lock()
		running = nil
		tm.callbackReturned(t)
	}
}

// callbackReturned puts t back in line for its next callback, if it has
// one (at the back: a task's flood of progress cannot hold up the others),
// or marks it done. Called with mu held.
func (tm *TaskManager) callbackReturned(t *TaskRequest) {
	r := &tm.runners
	if len(t.callbacks) > 0 {
		r.line = append(r.line, t)
		return
	}
	t.calling = false
	t.callbacks = nil
	r.pending--
	r.settled.Broadcast()
}

// call runs a user callback; a panic is reported on the event stream and
// the manager goes on.
func (tm *TaskManager) call(taskID string, fn func()) {
	defer func() {
		if p := recover(); p != nil {
			tm.mu.Lock()
			tm.stats.callbackPanics++
			tm.emit(Message{Kind: KindCallbackPanic, TaskID: taskID, Error: fmt.Sprintf("atmo: callback for task %s panicked: %v", taskID, p)})
			tm.mu.Unlock()
		}
	}()
	fn()
}

// waitCallbacks waits until no task callback runs or waits to run; a
// Close called from inside one (inRunner) waits for the others only. Once
// closed, parked runners end.
func (tm *TaskManager) waitCallbacks(inRunner bool) {
	r := &tm.runners
	tm.mu.Lock()
	if inRunner {
		// Callbacks that called Close wait for the others, not for each
		// other: two would wait for ever.
		r.closers++
		r.settled.Broadcast()
	}
	for inRunner && r.pending > r.closers || !inRunner && r.pending > 0 {
		r.settled.Wait()
	}
	if inRunner {
		r.closers--
	}
	if tm.closed && !r.closed {
		r.closed = true
		r.woken += r.idle
		r.idle = 0
		r.wait.Broadcast()
	}
	tm.mu.Unlock()
}

// caller is where a call into the manager comes from (see calledFrom).
type caller int

const (
	fromElsewhere  caller = iota
	fromRunner            // a task's callback, run by runCallbacks
	fromSubscriber        // a subscriber's fn
)

// calledFrom says whether the current goroutine is one of tm's own that
// run user code: a runner of task callbacks or a subscriber's. Another
// manager's callback is an outside caller to tm, and so is a goroutine a
// callback started.
func (tm *TaskManager) calledFrom() caller {
	if c, ok := tm.callers.Load(goid()); ok {
		return c.(caller)
	}
	return fromElsewhere
}

// calling marks the current goroutine as one of tm's that run user code
// (see calledFrom); the function it returns unmarks it.
func (tm *TaskManager) calling(c caller) func() {
	id := goid()
	tm.callers.Store(id, c)
	return func() { tm.callers.Delete(id) }
}

// goid is the current goroutine's id, from the first line of its stack
// ("goroutine 18 [running]:"): Go offers no other way to tell goroutines
// apart, and the runners and subscribers only read it when they start.
func goid() uint64 {
	var buf [64]byte
	b := bytes.TrimPrefix(buf[:runtime.Stack(buf[:], false)], []byte("goroutine "))
	if i := bytes.IndexByte(b, ' '); i > 0 {
		if id, err := strconv.ParseUint(string(b[:i]), 10, 64); err == nil {
			return id
		}
	}
	return 0
}
