package atmo

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"
)

// transport is the thin boundary to one real worker (a Web Worker, a Node.js
// worker_threads Worker, or a fake in native tests). Calls are made with the
// TaskManager's lock held, so a transport must never call back into the pool
// synchronously: what the worker says arrives later through workerPool.receive,
// workerPool.workerError and workerPool.workerExit.
type transport interface {
	init(workerID string, tasks []string, concurrency int)
	work(taskID, workerID, name string, params any)
	cancel(taskID, workerID string)
	terminate()
}

// spawnFunc starts the real worker behind w. It may fail at once (a bad URL).
type spawnFunc func(w *TaskWorker) (transport, error)

// workerPool is what BrowserWorkerManager and ServerWorkerManager share: the
// workers of one manager and their life cycle. Only spawn differs.
type workerPool struct {
	tm      *TaskManager
	spawn   spawnFunc
	workers []*TaskWorker
	closed  bool
	waiters []chan struct{}
}

func newWorkerPool(tm *TaskManager, spawn spawnFunc, configs []WorkerConfig) (*workerPool, error) {
	if tm == nil {
		return nil, fmt.Errorf("%w: a worker manager needs a TaskManager; create one with NewTaskManager", ErrBadParams)
	}
	if len(configs) == 0 {
		return nil, fmt.Errorf("%w: a worker manager needs at least one WorkerConfig", ErrBadParams)
	}
	valid := make([]WorkerConfig, len(configs))
	for i, c := range configs {
		v, err := c.validate(i)
		if err != nil {
			return nil, err
		}
		valid[i] = v
	}
	p := &workerPool{tm: tm, spawn: spawn}
	var out deliveries
	tm.mu.Lock()
	if tm.closed {
		tm.mu.Unlock()
		return nil, fmt.Errorf("%w: cannot start workers for a closed TaskManager", ErrClosed)
	}
	tm.pools = append(tm.pools, p)
	for _, c := range valid {
		p.start(c, &out)
	}
	tm.mu.Unlock()
	tm.deliver(out)
	return p, nil
}

// start creates one worker for c and sends it init-worker. Called with mu held.
func (p *workerPool) start(c WorkerConfig, out *deliveries) *TaskWorker {
	tm := p.tm
	tm.nextWorker++
	w := &TaskWorker{
		pool: p, id: "worker-" + strconv.FormatUint(tm.nextWorker, 10), config: c, tasks: c.Tasks,
		status: WorkerOffline, inflight: map[string]*TaskRequest{},
	}
	p.workers = append(p.workers, w)
	for _, n := range w.tasks {
		tm.byName[n] = append(tm.byName[n], w)
	}
	tr, err := p.spawn(w)
	if err != nil {
		tm.closeWorker(w, "failed to start: "+err.Error(), nil, out)
		return w
	}
	w.transport = tr
	tm.emit(Message{Kind: KindWorkerUpdated, WorkerID: w.id, Content: WorkerOffline})
	tr.init(w.id, w.tasks, c.Concurrency)
	w.bootTimer = time.AfterFunc(c.StartTimeout, func() { p.bootTimeout(w) })
	return w
}

func (p *workerPool) bootTimeout(w *TaskWorker) {
	tm := p.tm
	var out deliveries
	tm.mu.Lock()
	if w.status == WorkerOffline {
		tm.closeWorker(w, fmt.Sprintf("failed to start: did not answer init-worker with worker-ready within %v: check that %s is a worker for this protocol (a wrong URL may serve an empty page)", w.config.StartTimeout, w.source()), nil, &out)
	}
	tm.mu.Unlock()
	tm.deliver(out)
}

// inbound is one decoded message from a worker.
type inbound struct {
	kind     MessageKind
	taskID   string
	workerID string
	content  any
	err      string // the worker's error; "" for none
}

// receive handles a message from w's worker.
func (p *workerPool) receive(w *TaskWorker, in inbound) {
	tm := p.tm
	var out deliveries
	tm.mu.Lock()
	defer func() {
		tm.mu.Unlock()
		tm.deliver(out)
	}()
	if w.status == WorkerClosed {
		return
	}
	switch in.kind {
	case KindWorkerReady:
		if w.status != WorkerOffline {
			return
		}
		w.bootTimer.Stop()
		w.started = true
		tm.emit(Message{Kind: KindWorkerReady, WorkerID: w.id, Content: w.Tasks()})
		tm.setWorkerStatus(w, WorkerAvailable, "")
		p.notify()
		tm.pull(w)
	case KindWorkerResponse:
		t := w.inflight[in.taskID]
		if t == nil {
			tm.ignored++ // unknown task, another worker's, or already answered
			return
		}
		delete(w.inflight, in.taskID)
		w.done++
		r := Response{WorkerID: w.id, Content: in.content}
		if in.err != "" {
			r = Response{WorkerID: w.id, Error: in.err, Err: &TaskError{TaskID: t.id, WorkerID: w.id, Message: in.err}}
		}
		tm.emit(Message{Kind: KindWorkerResponse, TaskID: t.id, WorkerID: w.id, Content: in.content, Error: in.err})
		tm.settle(t, r, &out)
		tm.workerFreed(w)
	case KindWorkerExit:
		reason := in.err
		if reason == "" {
			reason = "the worker exited"
		}
		tm.workerDied(w, reason, &out)
	default:
		tm.ignored++
	}
}

// ignore counts a message from a worker that could not be decoded.
func (p *workerPool) ignore() {
	p.tm.mu.Lock()
	p.tm.ignored++
	p.tm.mu.Unlock()
}

// workerFreed updates w's status after a task left it and gives it more work.
func (tm *TaskManager) workerFreed(w *TaskWorker) {
	tm.pull(w)
	if len(w.inflight) == 0 {
		tm.setWorkerStatus(w, WorkerAvailable, "")
	}
}

// setWorkerStatus changes w's status and tells subscribers. Called with mu held.
func (tm *TaskManager) setWorkerStatus(w *TaskWorker, s WorkerStatus, errMsg string) {
	if w.status == s && errMsg == "" {
		return
	}
	w.status = s
	tm.emit(Message{Kind: KindWorkerUpdated, WorkerID: w.id, Content: s, Error: errMsg})
}

// workerError handles an error event from w's worker: an uncaught exception
// or a script that failed to load.
func (p *workerPool) workerError(w *TaskWorker, msg string) {
	tm := p.tm
	var out deliveries
	tm.mu.Lock()
	switch {
	case w.status == WorkerClosed:
	case w.status == WorkerOffline:
		tm.closeWorker(w, "failed to start: "+msg, nil, &out)
	case len(w.inflight) > 0:
		w.lastErr = msg
		for _, t := range sortedInflight(w) {
			delete(w.inflight, t.id)
			tm.settle(t, Response{WorkerID: w.id, Error: msg, Err: &TaskError{TaskID: t.id, WorkerID: w.id, Message: msg}}, &out)
		}
		tm.workerFreed(w)
	default:
		w.lastErr = msg
		tm.setWorkerStatus(w, w.status, msg)
	}
	tm.mu.Unlock()
	tm.deliver(out)
}

// workerExit handles the death of w's worker (its thread exited, its Go
// runtime stopped).
func (p *workerPool) workerExit(w *TaskWorker, reason string) {
	tm := p.tm
	var out deliveries
	tm.mu.Lock()
	tm.workerDied(w, reason, &out)
	tm.mu.Unlock()
	tm.deliver(out)
}

// workerDied closes w after its worker died. Called with mu held.
func (tm *TaskManager) workerDied(w *TaskWorker, reason string, out *deliveries) {
	if w.status == WorkerOffline {
		tm.closeWorker(w, "failed to start: "+reason, nil, out)
	} else {
		tm.closeWorker(w, "crashed: "+reason, ErrWorkerCrashed, out)
	}
}

// closeWorker takes w out of service for good. Its running tasks fail with
// crash (when it is not nil) or go back to the queue; then queued tasks that
// no live worker can run any more fail. Called with mu held.
func (tm *TaskManager) closeWorker(w *TaskWorker, reason string, crash error, out *deliveries) {
	if w.status == WorkerClosed {
		return
	}
	w.lastErr = reason
	if w.bootTimer != nil {
		w.bootTimer.Stop()
	}
	if w.transport != nil {
		w.transport.terminate()
	}
	for _, n := range w.tasks {
		ws := tm.byName[n]
		for i, x := range ws {
			if x == w {
				ws = append(ws[:i:i], ws[i+1:]...)
				break
			}
		}
		if len(ws) == 0 {
			delete(tm.byName, n)
		} else {
			tm.byName[n] = ws
		}
	}
	tm.setWorkerStatus(w, WorkerClosed, w.describe()+" "+reason)
	for _, t := range sortedInflight(w) {
		delete(w.inflight, t.id)
		if t.settled {
			continue
		}
		if crash != nil {
			tm.settle(t, Response{WorkerID: w.id, Err: fmt.Errorf("%w: %s %s while running task %s", crash, w.describe(), reason, t.id)}, out)
			continue
		}
		t.worker = nil
		tm.route(t, out)
	}
	tm.failOrphans(w, reason, out)
	w.pool.notify()
}

// failOrphans fails the queued tasks that only the closed worker w could run.
func (tm *TaskManager) failOrphans(w *TaskWorker, reason string, out *deliveries) {
	for _, n := range w.tasks {
		if len(tm.byName[n]) > 0 {
			continue
		}
		q := tm.queues[n]
		if q == nil {
			continue
		}
		for q.Len() > 0 {
			t := q.pop()
			var err error
			if w.pool.closed {
				err = fmt.Errorf("%w: the worker manager was closed before task %s (%s) ran", ErrClosed, t.id, n)
			} else {
				err = fmt.Errorf("%w; the last worker that did, %s, %s", noWorkerError(n, tm.knownNames()), w.describe(), reason)
			}
			tm.settle(t, Response{Err: err}, out)
		}
		delete(tm.queues, n)
	}
}

// notify wakes Ready waiters. Called with mu held.
func (p *workerPool) notify() {
	for _, c := range p.waiters {
		close(c)
	}
	p.waiters = nil
}

// ready waits until no worker is offline. It returns an error wrapping
// ErrWorkerStart that names every worker that failed to start.
func (p *workerPool) ready(ctx context.Context) error {
	tm := p.tm
	for {
		tm.mu.Lock()
		waiting := false
		var errs []error
		for _, w := range p.workers {
			switch {
			case w.status == WorkerOffline:
				waiting = true
			case w.status == WorkerClosed && !w.started && !p.closed:
				errs = append(errs, fmt.Errorf("%w: %s %s", ErrWorkerStart, w.describe(), w.lastErr))
			}
		}
		if !waiting {
			tm.mu.Unlock()
			return errors.Join(errs...)
		}
		c := make(chan struct{})
		p.waiters = append(p.waiters, c)
		tm.mu.Unlock()
		select {
		case <-c:
		case <-ctx.Done():
			return fmt.Errorf("atmo: waiting for workers to start: %w", ctx.Err())
		}
	}
}

// close terminates every worker of the pool; their tasks settle with cause
// (ErrClosed).
func (p *workerPool) close(cause error) {
	tm := p.tm
	var out deliveries
	tm.mu.Lock()
	if p.closed {
		tm.mu.Unlock()
		return
	}
	p.closed = true
	for _, w := range p.workers {
		for _, t := range sortedInflight(w) {
			tm.settle(t, Response{WorkerID: w.id, Err: fmt.Errorf("%w: the worker manager was closed while task %s (%s) ran on %s", cause, t.id, t.name, w.id)}, &out)
		}
		tm.closeWorker(w, "closed with its manager", nil, &out)
	}
	for i, x := range tm.pools {
		if x == p {
			tm.pools = append(tm.pools[:i:i], tm.pools[i+1:]...)
			break
		}
	}
	tm.mu.Unlock()
	tm.deliver(out)
}

func (p *workerPool) list() []*TaskWorker {
	p.tm.mu.Lock()
	defer p.tm.mu.Unlock()
	return append([]*TaskWorker(nil), p.workers...)
}

func sortedInflight(w *TaskWorker) []*TaskRequest {
	ts := make([]*TaskRequest, 0, len(w.inflight))
	for _, t := range w.inflight {
		ts = append(ts, t)
	}
	for i := 1; i < len(ts); i++ {
		for j := i; j > 0 && ts[j].seq < ts[j-1].seq; j-- {
			ts[j], ts[j-1] = ts[j-1], ts[j]
		}
	}
	return ts
}

// add starts one more worker from c.
func (p *workerPool) add(c WorkerConfig) (*TaskWorker, error) {
	c, err := c.validate(len(p.list()))
	if err != nil {
		return nil, err
	}
	tm := p.tm
	var out deliveries
	tm.mu.Lock()
	if p.closed || tm.closed {
		tm.mu.Unlock()
		return nil, fmt.Errorf("%w: cannot add a worker to a closed manager", ErrClosed)
	}
	w := p.start(c, &out)
	tm.mu.Unlock()
	tm.deliver(out)
	return w, nil
}
