package atmo

import (
	"fmt"
	"runtime"
	"strings"
)

// queueCallback runs fn after the task's earlier callbacks, on a goroutine:
// never inside the caller, which is often a JS callback, and in order, so
// progress reports come before the result. Called with mu held.
func (tm *TaskManager) queueCallback(t *TaskRequest, fn func()) {
	t.callbacks = append(t.callbacks, fn)
	if t.calling {
		return
	}
	t.calling = true
	tm.cbMu.Lock()
	tm.cbRunning++
	tm.cbMu.Unlock()
	go tm.runCallbacks(t)
}

// runCallbacks runs t's queued callbacks one by one until none is left.
func (tm *TaskManager) runCallbacks(t *TaskRequest) {
	defer func() {
		tm.cbMu.Lock()
		tm.cbRunning--
		tm.cbCond.Broadcast()
		tm.cbMu.Unlock()
	}()
	for {
		tm.mu.Lock()
		if len(t.callbacks) == 0 {
			t.calling = false
			t.callbacks = nil
			tm.mu.Unlock()
			return
		}
		fn := t.callbacks[0]
		t.callbacks = t.callbacks[1:]
		tm.mu.Unlock()
		tm.call(t.id, fn)
	}
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

// calledFromCallback reports whether a user callback started by
// runCallbacks or a subscriber is on the current goroutine's stack.
func calledFromCallback() bool {
	pcs := make([]uintptr, 64)
	n := runtime.Callers(2, pcs)
	frames := runtime.CallersFrames(pcs[:n])
	for {
		f, more := frames.Next()
		if strings.HasSuffix(f.Function, ".(*TaskManager).runCallbacks") || strings.HasSuffix(f.Function, ".(*subscriber).run") {
			return true
		}
		if !more {
			return false
		}
	}
}
