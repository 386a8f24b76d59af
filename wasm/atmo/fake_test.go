package atmo

import (
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/atmoworkers/atmo/wasm/internal/values"
)

// fakeTransport stands in for a real worker in native tests of the pure core.
// It answers asynchronously, as a real worker does, by calling the pool from
// a goroutine. Real workers are tested in the browser tests.
type fakeTransport struct {
	pool     *workerPool
	w        *TaskWorker
	run      func(w *TaskWorker, name string, params any) (content any, errText string)
	silent   bool                                  // never answers init-worker
	stops    bool                                  // lists FeatureStop, and answers worker-cancel as a handler that stopped
	raw      bool                                  // run gets the params as the core sends them (preencoded), not decoded
	onCancel func(f *fakeTransport, taskID string) // how the worker answers worker-cancel
	mu       sync.Mutex
	cancels  []string
	ended    bool
	awakes   []awakeAsked // what each task posted asked to keep awake (see TaskWorker.awake)
}

// awakeAsked is how long a task's post kept the page awake, and asked the
// worker to.
type awakeAsked struct {
	name         string
	page, worker time.Duration
}

func (f *fakeTransport) init(string, []string, int, time.Duration) {
	if !f.silent {
		var ready any
		if f.stops {
			ready = map[string]any{"features": []any{"cancel", "stop", "catch"}}
		}
		go f.pool.receiveFrom(f, f.w, inbound{kind: KindWorkerReady, content: ready})
	}

}

func (f *fakeTransport) work(seq uint64, workerID, name string, params any, _ keepMode) {
	page, worker := f.w.awake(seq)
	f.mu.Lock()
	f.awakes = append(f.awakes, awakeAsked{name, page, worker})
	f.mu.Unlock()
	go func() {
		if !f.raw {
			params = values.Decoded(params)
		}
		content, errText := f.run(f.w, name, params)
		f.pool.receiveFrom(f, f.w, inbound{kind: KindWorkerResponse, task: seq, workerID: workerID, content: content, err: errText})
	}()
}

func (f *fakeTransport) cancel(taskID, _ string) {
	f.mu.Lock()
	f.cancels = append(f.cancels, taskID)
	f.mu.Unlock()
	switch {
	case f.onCancel != nil:
		go f.onCancel(f, taskID)
	case f.stops:
		go f.pool.receiveFrom(f, f.w, inbound{kind: KindWorkerResponse, task: seqOf(taskID), err: "canceled"})
	}
}

func (f *fakeTransport) terminate() {
	f.mu.Lock()
	f.ended = true
	f.mu.Unlock()
}

// fakePool starts a pool of fake workers running run; the returned slice
// gets each worker's transport.
func fakePool(t testing.TB, tm *TaskManager, run func(w *TaskWorker, name string, params any) (any, string), configs ...WorkerConfig) (*workerPool, *[]*fakeTransport) {
	t.Helper()
	return newFakePool(t, tm, run, false, configs...)
}

// rawFakePool is fakePool with workers that, like real ones, take the
// params as the core sends them, without decoding them: for benchmarks of
// the core alone.
func rawFakePool(t testing.TB, tm *TaskManager, run func(w *TaskWorker, name string, params any) (any, string), configs ...WorkerConfig) (*workerPool, *[]*fakeTransport) {
	t.Helper()
	return newFakePool(t, tm, run, true, configs...)
}

func newFakePool(t testing.TB, tm *TaskManager, run func(w *TaskWorker, name string, params any) (any, string), raw bool, configs ...WorkerConfig) (*workerPool, *[]*fakeTransport) {
	t.Helper()
	var mu sync.Mutex
	var fakes []*fakeTransport
	p, err := newWorkerPool(tm, func(w *TaskWorker) (transport, error) {
		f := &fakeTransport{pool: w.pool, w: w, run: run, silent: w.config.Script == "silent", stops: w.config.Script == "stops", raw: raw}
		mu.Lock()
		fakes = append(fakes, f)
		mu.Unlock()
		return f, nil
	}, configs)
	if err != nil {
		t.Fatal(err)
	}
	return p, &fakes
}

// runningOn is the seq of a task fake worker w runs: for a handler, running
// alone on its worker, that reports progress on its own task.
func runningOn(w *TaskWorker) uint64 {
	tm := w.pool.tm
	tm.mu.Lock()
	defer tm.mu.Unlock()
	for k := range w.inflight {
		return k
	}
	return 0
}

// echo answers with the worker's id and the params.
func echo(w *TaskWorker, name string, params any) (any, string) {
	return map[string]any{"worker": w.id, "name": name, "params": params}, ""
}

// fakeClock is a clock that moves only when told to, for timeouts,
// restarts and the elastic pool.
type fakeClock struct {
	mu     sync.Mutex
	now    time.Time
	timers []*fakeTimer
}

type fakeTimer struct {
	c       *fakeClock
	at      time.Time
	f       func()
	stopped bool
}

func newFakeClock() *fakeClock { return &fakeClock{now: time.Unix(1_700_000_000, 0)} }

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) AfterFunc(d time.Duration, f func()) stopper {
	c.mu.Lock()
	defer c.mu.Unlock()
	t := &fakeTimer{c: c, at: c.now.Add(d), f: f}
	c.timers = append(c.timers, t)
	return t
}

func (t *fakeTimer) Stop() bool {
	t.c.mu.Lock()
	defer t.c.mu.Unlock()
	was := !t.stopped
	t.stopped = true
	return was
}

// Advance moves the clock and runs the timers that came due, in time order.
func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	c.now = c.now.Add(d)
	var due []*fakeTimer
	rest := c.timers[:0]
	for _, t := range c.timers {
		switch {
		case t.stopped:
		case !t.at.After(c.now):
			t.stopped = true
			due = append(due, t)
		default:
			rest = append(rest, t)
		}
	}
	c.timers = rest
	c.mu.Unlock()
	slices.SortFunc(due, func(a, b *fakeTimer) int { return a.at.Compare(b.at) })
	for _, t := range due {
		t.f()
	}
}

// withClock gives tm a fake clock; call before starting workers.
func withClock(tm *TaskManager) *fakeClock {
	c := newFakeClock()
	tm.clock = c
	return c
}
