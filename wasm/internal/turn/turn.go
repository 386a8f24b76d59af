// Package turn gathers what goroutines produce during one turn of the Go
// scheduler and hands it on in one call: the answers of one worker message,
// say, leave in one postMessage.
//
// The first Add of a turn wakes the Batcher's flusher goroutine, which
// yields once, so that the goroutines already runnable (the other tasks of
// the message) add theirs, then passes everything added so far to flush.
// The flusher is made on the first Add and lives as long as the Batcher,
// so the stack it grows while flushing (encoding a message for JS) stays
// grown: a goroutine started per turn grew a fresh stack every time, 4% of
// the main thread's profile for the JS API's tasks run one at a time.
package turn

import (
	"runtime"
	"sync"
)

// A Batcher collects items until its flusher runs. The zero value is not
// usable; make one with New.
type Batcher[T any] struct {
	flush   func([]T)
	mu      sync.Mutex
	items   []T
	spare   []T // the list flush had last, emptied, for the next turn's items
	wake    chan struct{}
	exited  chan struct{} // closed when the flusher has flushed its last
	started bool
	stopped bool
}

// New returns a Batcher that hands its items to flush, from its flusher
// goroutine, one call per turn. flush must not keep the list it is given
// after it returns: the Batcher reuses it for a later turn.
func New[T any](flush func([]T)) *Batcher[T] {
	return &Batcher[T]{flush: flush, wake: make(chan struct{}, 1), exited: make(chan struct{})}
}

// Add queues x for the flush of this turn. After Stop it flushes x at once,
// in the caller, so that nothing is lost.
func (b *Batcher[T]) Add(x T) {
	b.mu.Lock()
	if b.stopped {
		b.mu.Unlock()
		b.flush([]T{x})
		return
	}
	b.items = append(b.items, x)
	if len(b.items) == 1 {
		if !b.started {
			b.started = true
			go b.run()
		}
		select {
		case b.wake <- struct{}{}:
		default: // the flusher is already due
		}
	}
	b.mu.Unlock()
}

// Empty says whether nothing waits to be flushed, so that a caller may
// send an item of its own at once without overtaking queued ones.
func (b *Batcher[T]) Empty() bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	return len(b.items) == 0
}

// Stop ends the flusher once it has flushed what is queued, and returns
// when it has: flush is not called by the flusher after that (later Adds
// flush at once, in their caller). Do not call it from flush.
func (b *Batcher[T]) Stop() {
	b.mu.Lock()
	if !b.stopped {
		b.stopped = true
		close(b.wake)
	}
	started := b.started
	b.mu.Unlock()
	if started {
		<-b.exited
	}
}

func (b *Batcher[T]) run() {
	defer close(b.exited)
	for range b.wake {
		runtime.Gosched()
		b.flushQueued()
	}
	b.flushQueued() // stopped: what came between the last wake and Stop
}

// maxSpare is the largest list kept for reuse: one turn's flood should not
// pin its memory for the Batcher's life.
const maxSpare = 4096

// flushQueued hands on the items queued so far. The two lists take turns,
// one filling while the other is flushed, so that a steady stream of turns
// (the JS API's answers, a Go worker's) allocates none. Growing a fresh list
// each turn was 14% of the page's profile when a JS subscriber's nine
// messages a task came through a Batcher (they now come in the core's own
// batches: atmo.SubscribeBatch).
func (b *Batcher[T]) flushQueued() {
	b.mu.Lock()
	items := b.items
	b.items, b.spare = b.spare, nil
	b.mu.Unlock()
	if len(items) == 0 {
		return
	}
	b.flush(items)
	if cap(items) > maxSpare {
		return
	}
	clear(items) // let go of what the items point to
	b.mu.Lock()
	if b.spare == nil {
		b.spare = items[:0]
	}
	b.mu.Unlock()
}

// InJSCallback says whether the calling goroutine runs a js.FuncOf
// callback: syscall/js calls them from its handleEvent, on the goroutine
// that came in from JS, whose wait blocks the page's (or worker's) event
// loop. It reads the whole stack: call it off the hot path. Natively, where
// no such callback runs, it says false.
func InJSCallback() bool {
	pcs := make([]uintptr, 64)
	n := runtime.Callers(1, pcs)
	for n == len(pcs) {
		pcs = make([]uintptr, 2*len(pcs))
		n = runtime.Callers(1, pcs)
	}
	frames := runtime.CallersFrames(pcs[:n])
	for {
		f, more := frames.Next()
		if f.Function == "syscall/js.handleEvent" {
			return true
		}
		if !more {
			return false
		}
	}
}
