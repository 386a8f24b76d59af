package atmo

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/atmoworkers/atmo/wasm/internal/protocol"
)

// transport is the thin boundary to one real worker (a Web Worker, a Node.js
// worker_threads Worker, or a fake in native tests). Calls are made with the
// TaskManager's lock held, so a transport must never call back into the pool
// synchronously: what the worker says arrives later through workerPool.receive,
// workerPool.workerError and workerPool.workerExit. After terminate it must
// call none of them again.
type transport interface {
	init(workerID string, tasks []string, concurrency int, keepAwake time.Duration)
	// work posts task seq (whose id is "task-" and seq: the wire carries
	// the number); keep says whether its answer's content stays a JS value,
	// which Go need not read (see keepMode).
	work(seq uint64, workerID, name string, params any, keep keepMode)
	cancel(taskID, workerID string)
	terminate()
}

// keepMode is what becomes of a task's answer as it arrives: written for Go
// to decode (keepNone), left in JS as it came (keepRaw, a RawResult task),
// or copied in JS by the value rules, the copy left in JS and an answer
// that cannot be read written as the task's failure (keepCopy, a task of a
// manager whose results stay in JS, see hooks.CopyResults).
type keepMode uint8

const (
	keepNone keepMode = iota
	keepRaw
	keepCopy
)

// unposter is a transport that may hold tasks back for the turn's batch:
// unposted drops those not posted yet, so that they never are, and
// returns their seqs; unpost drops task seq alone, if it is one of them.
// A task dropped so took no buffers with it.
type unposter interface {
	unposted() []uint64
	unpost(seq uint64) bool
}

// readyReader is a transport that reads what its worker says it can do
// (batches, a lock it holds) in the worker-ready the core accepts: one
// that comes again, ignored, changes nothing.
type readyReader interface {
	ready(content any)
}

// awake says how long the page stays awake after it posts a task to w,
// and how long it asks w to stay awake after answering it (see
// Options.LoneTaskAwake and WorkerConfig.KeepAwake): w's own KeepAwake on
// the page's side (w knows it from init-worker), or else, for a task the
// TaskManager holds alone, LoneTaskAwake for the page, and for w too if w
// answered the task before, as in a loop of Do on one worker: its next task
// is likely to come to it as well. Tasks one at a time that take turns
// between workers (specialists, say) keep no worker awake, as the one
// awake would only take a core from the one at work: on two cores, the
// page, one worker kept awake and one at work made each round trip about
// twice as slow. Nothing for a task among others, nor while lone tasks rest
// (see loneAwake). Called with mu held, for the task seq, already in the
// table.
func (w *TaskWorker) awake(seq uint64) (page, worker time.Duration) {
	if w.config.KeepAwake > 0 {
		return w.config.KeepAwake, 0
	}
	tm := w.pool.tm
	if tm.tasks.len() != 1 || tm.opts.LoneTaskAwake <= 0 || !tm.lone.keep(seq, tm.now()) {
		return 0, 0
	}
	if tm.warm == w {
		return tm.opts.LoneTaskAwake, tm.opts.LoneTaskAwake
	}
	return tm.opts.LoneTaskAwake, 0
}

// loneAwake follows the answers to lone tasks kept awake. Spinning pays
// only when the answer finds the page still awake: one that comes after
// LoneTaskAwake found it asleep again, and the spins, the page's and its
// worker's, only took cores from the work. On a busy machine (two spinning
// threads and a third that needs a core, on two cores) a round trip took
// 2-4 ms with them, against 0.1-0.6 without. So after loneLate such
// answers in a row, lone tasks keep nothing awake for loneRest, then try
// again. Tasks that run longer than LoneTaskAwake rest it the same way:
// their page spun for nothing, and the worker's wake-up is a small part of
// their round trip.
type loneAwake struct {
	seq       uint64 // the lone task kept awake, 0 if none
	late      int    // answers in a row that came after LoneTaskAwake
	restUntil int64  // Unix ns: lone tasks keep nothing awake before then
}

const (
	loneLate = 4
	loneRest = time.Second
)

// keep says whether the lone task seq may keep threads awake at now, and
// notes it if so.
func (l *loneAwake) keep(seq uint64, now time.Time) bool {
	if l.restUntil > now.UnixNano() {
		return false
	}
	l.seq = seq
	return true
}

// answered notes the answer to task seq, sent d ago: a lone task kept
// awake for window, or another task, which changes nothing.
func (l *loneAwake) answered(seq uint64, d, window time.Duration, now time.Time) {
	if seq != l.seq {
		return
	}
	l.seq = 0
	if d <= window {
		l.late = 0
		return
	}
	if l.late++; l.late >= loneLate {
		l.late = 0
		l.restUntil = now.Add(loneRest).UnixNano()
	}
}

// A startWaiter is a transport whose start may wait on something of its own
// before the worker can answer init-worker, such as its Go module being
// fetched and compiled. At a start timeout, startTimedOut says what it was
// still waiting on ("" for nothing), and gives that up, so that the next
// start tries afresh.
type startWaiter interface {
	startTimedOut(d time.Duration) string
}

// spawnFunc starts the real worker behind w. It may fail at once (a bad URL).
type spawnFunc func(w *TaskWorker) (transport, error)

// workerPool is what BrowserWorkerManager and ServerWorkerManager share: the
// workers of one manager and their life cycle (start, restart, grow, shrink,
// close). Only spawn differs.
type workerPool struct {
	tm      *TaskManager
	spawn   spawnFunc
	groups  []*workerGroup // those workers may still start from
	workers []*TaskWorker  // in start order; workers released when idle leave it, and closed ones past keptClosed
	closed  bool
	closes  uint64 // workers closed so far, which number them in closing order (see forgetClosed)
	waiters []chan struct{}
	// issued are the numbers of the worker ids it gave (worker-N), as
	// ranges [lo, hi]: those of closed workers it no longer lists too. At
	// most maxIssued of them: past that the oldest merge (see newWorker).
	issued [][2]uint64
}

// maxIssued bounds a pool's issued ranges, which ids given to another
// pool of the same TaskManager split.
const maxIssued = 2 * keptClosed

// hadWorker says whether id is the id of a worker p started. Called with
// mu held.
func (p *workerPool) hadWorker(id string) bool {
	digits, ok := strings.CutPrefix(id, "worker-")
	n, err := strconv.ParseUint(digits, 10, 64)
	if !ok || err != nil || strconv.FormatUint(n, 10) != digits {
		return false
	}
	for _, r := range p.issued {
		if r[0] <= n && n <= r[1] {
			return true
		}
	}
	return false
}

// workerGroup is the live workers started from one WorkerConfig.
type workerGroup struct {
	config  WorkerConfig
	members []*TaskWorker // not closed
	adding  bool          // addGroup is still starting its workers: a first that gave up at once leaves it listed
	workDir string        // under Node.js, the working directory its relative paths resolve against (see node.workDir)
	// mismatched: a worker of it said, in its worker-ready, that it lacks a
	// task the config lists, or failed to start in a way no restart changes
	// (see bootFailed): the config is wrong, and every worker grown from
	// it would close the same way, so it grows no more (see grow).
	mismatched bool
	// asModule: its script, of no Type, failed to load as a classic script
	// for its module syntax; its workers start as modules from then on.
	asModule bool
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
		v, err := c.validate(fmt.Sprintf("worker config %d", i), tm.opts.Restart)
		if err != nil {
			return nil, err
		}
		valid[i] = v
	}
	p := &workerPool{tm: tm, spawn: spawn}
	tm.mu.Lock()
	defer tm.mu.Unlock()
	if tm.closed {
		return nil, fmt.Errorf("%w: cannot start workers for a closed TaskManager", ErrClosed)
	}
	tm.pools = append(tm.pools, p)
	for _, c := range valid {
		p.addGroup(c)
	}
	return p, nil
}

// addGroup starts c.Count workers of c, and returns the first. Called with
// mu held.
func (p *workerPool) addGroup(c WorkerConfig) (first *TaskWorker) {
	g := &workerGroup{config: c, adding: true}
	p.groups = append(p.groups, g)
	if c.MaxWorkers > c.Count {
		p.tm.elastic = true
	}
	for i := 0; i < c.Count; i++ {
		w := p.newWorker(g, false)
		if i == 0 {
			first = w
		}
	}
	g.adding = false
	p.dropIfEmpty(g)
	return first
}

// newWorker creates a worker of g and boots it. Called with mu held.
func (p *workerPool) newWorker(g *workerGroup, elastic bool) *TaskWorker {
	tm := p.tm
	tm.nextWorker++
	if k := len(p.issued); k > 0 && p.issued[k-1][1] == tm.nextWorker-1 {
		p.issued[k-1][1] = tm.nextWorker
	} else {
		p.issued = append(p.issued, [2]uint64{tm.nextWorker, tm.nextWorker})
		if len(p.issued) > maxIssued {
			// Another pool of tm's took the ids between, as when two
			// elastic pools grow in turn: the two oldest ranges become
			// one, so that the record stays bounded. An old id of the
			// other pool's in between then reads as one of p's, whose
			// close does nothing (see hadWorker).
			p.issued[1][0] = p.issued[0][0]
			p.issued = slices.Delete(p.issued, 0, 1)
		}
	}
	w := &TaskWorker{
		pool: p, group: g, id: "worker-" + strconv.FormatUint(tm.nextWorker, 10), config: g.config, tasks: g.config.Tasks,
		status: WorkerOffline, inflight: map[uint64]*TaskRequest{}, elastic: elastic,
	}
	p.workers = append(p.workers, w)
	g.members = append(g.members, w)
	for _, n := range w.tasks {
		tm.byName[n] = append(tm.byName[n], w)
		delete(tm.gone, n)
	}
	tm.emit(Message{Kind: KindWorkerUpdated, WorkerID: w.id, Content: WorkerOffline})
	p.boot(w)
	return w
}

// boot starts w's real worker and sends it init-worker. Called with mu held.
func (p *workerPool) boot(w *TaskWorker) {
	tr, err := p.spawn(w)
	if err != nil {
		var l lasting
		p.tm.bootFailed(w, err.Error(), errors.As(err, &l))
		return
	}
	w.transport = tr
	tr.init(w.id, w.tasks, w.config.Concurrency, w.config.KeepAwake)
	d := w.config.StartTimeout
	w.bootTimer = p.tm.clock.AfterFunc(d, func() {
		p.tm.mu.Lock()
		defer p.tm.mu.Unlock()
		if w.transport != tr || w.status != WorkerOffline {
			return
		}
		if sw, ok := tr.(startWaiter); ok {
			if why := sw.startTimedOut(d); why != "" {
				p.tm.bootFailed(w, why, false)
				return
			}
		}
		p.tm.bootFailed(w, notReady(d, fmt.Sprintf("that %s is a worker for this protocol (a wrong URL may serve an empty page)", w.source())), false)
	})
}

// lasting is an error starting a worker that no restart changes (a Script
// that is an https: URL, where a file is needed): the start fails once.
type lasting struct{ error }

// notReady is why a worker failed to start when it did not answer
// init-worker within d: check what to check, or, as a slow start and a
// wrong script look alike from the host, StartTimeout.
func notReady(d time.Duration, check string) string {
	return fmt.Sprintf("did not answer init-worker with worker-ready within %v: check %s, or, if it is only slow to start, raise WorkerConfig.StartTimeout", d, check)
}

// lazyContent is content a transport has not converted yet (in js/wasm: a
// JS value), so that a task asking for RawResult gets it with no copy and a
// late answer costs no conversion.
type lazyContent interface {
	decode() any
	raw() any
	held(reads int) any // raw, left in JS for reads reads: its slot in the held values (see hooks.HoldRawResults)
	// copied is the copy JS made of a keepCopy task's answer as it came:
	// its slot in the held values, read once, with hold, else the JS value.
	copied(hold bool) any
}

// inbound is one decoded message from a worker.
type inbound struct {
	kind     MessageKind
	task     uint64 // the task's seq, from its id (see seqOf); 0 for none of ours
	workerID string
	content  any
	err      string // the worker's error; "" for none
	// permanent: a worker-exit that says a start failing so would fail
	// again (a Go module built for another target or by another Go than
	// its wasm_exec.js's, or with no worker.Run).
	permanent bool
}

// receive handles a message from w's worker.
func (p *workerPool) receive(w *TaskWorker, in inbound) { p.receiveFrom(nil, w, in) }

// receiveFrom handles a message from w's worker, sent through tr: a message
// from a thread that has since been replaced is dropped, uncounted (see
// Stats.Ignored: the thread was terminated here, and said nothing wrong). A
// nil tr skips that check (transports go silent once terminated anyway).
func (p *workerPool) receiveFrom(tr transport, w *TaskWorker, in inbound) {
	tm := p.tm
	tm.mu.Lock()
	defer tm.mu.Unlock()
	if tr != nil && w.transport != tr {
		return
	}
	tm.handle(w, in)
}

// receiveAll handles the messages of one batch from w's worker, under one
// lock and with one reading of the clock: they came together, and on
// js/wasm each reading is a call into JS (runtime.nanotime1 took ~5% of
// the main thread's profile in the bench's throughput workload).
func (p *workerPool) receiveAll(w *TaskWorker, ins []inbound) {
	tm := p.tm
	tm.mu.Lock()
	defer tm.mu.Unlock()
	tm.reading = tm.clock.Now()
	defer func() { tm.reading = time.Time{} }()
	for _, in := range ins {
		tm.handle(w, in)
	}
}

// handle acts on one message from w's worker. Called with mu held.
func (tm *TaskManager) handle(w *TaskWorker, in inbound) {
	p := w.pool
	if w.status == WorkerClosed || w.transport == nil {
		return
	}
	if in.kind != KindWorkerExit { // a word that says nothing of what it read
		w.unheard = w.unheard[:0] // it has said something since they were sent
		w.lastAnswer = ""
	}
	switch in.kind {
	case KindWorkerReady:
		if w.status != WorkerOffline {
			tm.stats.ignored++
			return
		}
		stop(w.bootTimer)
		if missing, has := unhandled(w.tasks, readyOf(in.content)); len(missing) > 0 {
			// A wrong config, not a bad start: starting again would not help.
			w.gaveUp = true
			w.group.mismatched = true
			handles := "it handles: " + strings.Join(has, ", ")
			if len(has) == 0 {
				handles = "it handles no task"
			}
			tm.closeWorker(w, fmt.Sprintf("closed: its WorkerConfig.Tasks lists %s, which %s does not handle (%s): list only its tasks in Tasks, or add handlers for them",
				strings.Join(missing, ", "), w.source(), handles))
			return
		}
		w.stops = hasFeature(readyOf(in.content), protocol.FeatureStop)
		w.catches = hasFeature(readyOf(in.content), protocol.FeatureCatch)
		if r, ok := w.transport.(readyReader); ok {
			r.ready(in.content) // before any task is posted to it
		}
		w.started = true
		w.bootFailures = 0
		w.since = tm.clock.Now()
		tm.emit(Message{Kind: KindWorkerReady, WorkerID: w.id, Content: w.Tasks()})
		tm.setWorkerStatus(w, WorkerAvailable, "")
		p.notify()
		tm.workerFreed(w)
	case KindWorkerResponse:
		t := w.inflight[in.task]
		if t == nil {
			tm.stats.ignored++ // unknown task, another worker's, or already answered
			return
		}
		delete(w.inflight, in.task)
		stop(t.timer)
		t.timer = nil
		if _, ok := tm.retryAfter[t]; ok && !t.settled {
			tm.leftWorker(t, nil) // timed out, and now stopped: its answer is dropped, and it runs again
		} else if !t.settled { // a cancelled task's late answer only frees the slot
			w.done++
			w.crashes = 0
			now := tm.now()
			ran := time.Duration(now.UnixNano() - t.started)
			tm.stats.runTime.add(ran)
			tm.lone.answered(t.seq, ran, tm.opts.LoneTaskAwake, now)
			result := in.content
			if l, ok := in.content.(lazyContent); ok {
				hold := tm.holdRaw && tm.wireOnly()
				switch {
				case t.rawResult && hold:
					// Read by the task's callback, and by each
					// subscriber's worker-response event.
					in.content = l.held(1 + len(tm.subs))
					result = in.content
				case t.rawResult:
					in.content = l.raw()
					result = in.content
				case tm.copying:
					// The result is the copy JS made as the answer came;
					// the subscribers' worker-response events have the
					// answer as it came, as a RawResult's.
					result = l.copied(hold)
					switch {
					case !tm.watched():
						in.content = nil
					case hold:
						in.content = l.held(len(tm.subs))
					default:
						in.content = l.raw()
					}
				default:
					in.content = l.decode()
					result = in.content
				}
			}
			r := Response{WorkerID: w.id, Content: result}
			if in.err != "" {
				w.failed++
				r = Response{WorkerID: w.id, Error: in.err, Err: &TaskError{TaskID: t.id, WorkerID: w.id, Message: in.err, Name: t.name}}
			}
			if tm.watched() {
				tm.emit(Message{Kind: KindWorkerResponse, TaskID: t.id, WorkerID: w.id, Content: in.content, Error: in.err})
			}
			tm.settle(t, r)
		}
		w.lastAnswer = t.id
		tm.warm = w
		tm.workerFreed(w)
	case KindWorkerProgress:
		t := w.inflight[in.task]
		if t == nil {
			tm.stats.ignored++ // unknown task, another worker's, or already answered
			return
		}
		if _, ok := tm.retryAfter[t]; ok || t.settled {
			// Cancelled, or timed out, and not yet stopped by its worker,
			// which may report before it hears so: dropped, as its answer
			// is, and no more counted as ignored than that answer.
			return
		}
		if t.onProgress == nil && !tm.watched() {
			return // nobody reads it: not even decoded
		}
		if l, ok := in.content.(lazyContent); ok {
			in.content = l.decode() // now: the callbacks run later
		}
		if tm.watched() {
			tm.emit(Message{Kind: KindWorkerProgress, TaskID: t.id, WorkerID: w.id, Content: in.content})
		}
		if fn := t.onProgress; fn != nil {
			pr := Progress{TaskID: t.id, WorkerID: w.id, Content: in.content}
			tm.queueCallback(t, func() { fn(pr) })
		}
	case KindWorkerExit:
		reason := in.err
		if reason == "" {
			reason = "the worker said it is exiting"
		}
		if in.permanent && w.status == WorkerOffline {
			tm.bootFailed(w, reason, true)
			return
		}
		tm.workerDied(w, reason)
	default:
		tm.stats.ignored++
	}
}

// readyOf is a worker-ready's content, {tasks, features, lock}, or nil: for
// one that is not an object, or is a message (a seed script that echoes
// init-worker back, whose lock and features are the page's own).
func readyOf(ready any) map[string]any {
	c, _ := ready.(map[string]any)
	if _, echo := c["message"]; echo {
		return nil
	}
	return c
}

// hasFeature says whether a worker-ready's content (see readyOf) lists
// feature in its features.
func hasFeature(ready map[string]any, feature string) bool {
	features, _ := ready["features"].([]any)
	return slices.Contains(features, any(feature))
}

// unhandled returns the names of tasks that a worker-ready's content (see
// readyOf) leaves out of its tasks, and the names it lists; none when it
// lists none (a seed script may say nothing of its tasks).
func unhandled(tasks []string, ready map[string]any) (missing, has []string) {
	list, ok := ready["tasks"].([]any)
	if !ok {
		return nil, nil
	}
	for _, n := range list {
		if s, ok := n.(string); ok {
			has = append(has, s)
		}
	}
	for _, t := range tasks {
		if !slices.Contains(has, t) {
			missing = append(missing, t)
		}
	}
	return missing, has
}

// ignore counts a message from a worker that could not be decoded.
func (p *workerPool) ignore() {
	p.tm.mu.Lock()
	p.tm.stats.ignored++
	p.tm.mu.Unlock()
}

// workerError handles an error event from w's worker: a script that failed
// to load, or an uncaught exception.
func (p *workerPool) workerError(w *TaskWorker, msg string) {
	tm := p.tm
	tm.mu.Lock()
	defer tm.mu.Unlock()
	w.unheard = w.unheard[:0] // a word: its thread ran after they were sent
	switch {
	case w.status == WorkerClosed || w.transport == nil:
	case w.status == WorkerOffline:
		tm.bootFailed(w, msg, false)
	case w.catches:
		// The worker answers its handlers' throws itself (atmo-worker.js, Go
		// workers: FeatureCatch): an error event from it is a throw that
		// escaped them (a timer's, a listener's), no task's outcome, and
		// the handlers it runs may still answer. As after a crash: the
		// worker is replaced, its tasks retried while their Retries last.
		tm.workerDied(w, "uncaught error that escaped its task handlers (a timer's, a listener's: the worker answers a handler's own throw as its task's error): "+msg)
	case len(w.inflight) > 1:
		// An error event does not say which task threw, and the others'
		// handlers may still be running: freeing all their slots would let
		// the worker run more than its Concurrency. So it is a crash: the
		// worker is replaced, its tasks retried while their Retries last.
		// A task that timed out and was asked to stop counts too: its
		// handler, ending, is as likely to have thrown as any other.
		tm.workerDied(w, fmt.Sprintf("uncaught error with %d tasks on the worker, so which one threw is not known: %s", len(w.inflight), msg))
	case len(w.inflight) == 1:
		// The seed's workers throw from onmessage: the task failed, the
		// worker lives on.
		w.lastErr = msg
		for _, t := range w.inflight {
			delete(w.inflight, t.seq)
			stop(t.timer)
			if _, waiting := tm.retryAfter[t]; waiting {
				// It timed out and was asked to stop: the throw is its
				// handler ending. Its slot is free, and it runs again
				// now, not after the grace.
				tm.leftWorker(t, nil)
			} else if tm.settle(t, Response{WorkerID: w.id, Error: msg, Err: &TaskError{TaskID: t.id, WorkerID: w.id, Message: msg, Name: t.name}}) {
				w.done++ // not a task settled already (cancelled), which only held its slot
				w.failed++
				tm.stats.runTime.add(time.Duration(tm.now().UnixNano() - t.started)) // it ran, as an answered task did
			}
		}
		tm.workerFreed(w)
	default:
		// An uncaught error outside any task: its state is suspect.
		tm.workerDied(w, "uncaught error outside a task: "+msg)
	}
}

// workerDying stops w taking more tasks: its thread tr reported an uncaught
// error and is about to exit (Node.js), though the answers it posted before
// may still come and free its slots. Its exit ends it as a crash.
func (p *workerPool) workerDying(w *TaskWorker, tr transport) {
	p.tm.mu.Lock()
	defer p.tm.mu.Unlock()
	if w.transport == tr {
		w.dying = true
		w.unheard = w.unheard[:0] // a word: its thread ran after they were sent
	}
}

// workerExit handles the death of w's worker (its thread exited, its Go
// runtime stopped).
func (p *workerPool) workerExit(w *TaskWorker, reason string) {
	p.tm.mu.Lock()
	defer p.tm.mu.Unlock()
	p.tm.workerDied(w, reason)
}

// workerDied handles a worker that died by itself. Its running tasks are
// retried elsewhere while their Retries last, else fail with
// ErrWorkerCrashed; the worker restarts under its policy. Called with mu held.
func (tm *TaskManager) workerDied(w *TaskWorker, reason string) {
	if w.status == WorkerClosed || w.transport == nil {
		return
	}
	if w.status == WorkerOffline {
		tm.bootFailed(w, reason, false)
		return
	}
	tm.stats.crashed++
	w.crashes++
	// A task sent after its last word, an answer, may never have been
	// read: a thread that ends right after answering (process.exit, a
	// throw) has the next task sent to it before its end is known. It
	// may as well have been read and died in, so it runs again only while
	// its Retries last, but its error says so.
	lastAnswer, unheard := w.lastAnswer, slices.Clone(w.unheard)
	tasks := tm.takeDown(w)
	tm.scheduleRestart(w, "crashed: "+reason)
	for _, t := range tasks {
		err := fmt.Errorf("%w: %s crashed while running task %s (%s): %s", ErrWorkerCrashed, w.id, t.id, t.name, reason)
		if lastAnswer != "" && slices.Contains(unheard, t.seq) {
			err = fmt.Errorf("%w: %s crashed with task %s (%s) sent to it after it answered %s and not a word from it since: %s (a worker that ends its thread right after answering may have ended before reading it: end a worker only when it is closed, or give its tasks retries)", ErrWorkerCrashed, w.id, t.id, t.name, lastAnswer, reason)
		}
		tm.leftDown(t, w, "crashed: "+reason, err, nil)
	}
}

// bootFailed handles a start that failed: restart with backoff, or give up
// after MaxBootFailures in a row, or at once for a failure no restart
// changes (permanent: a Go module built for another target, or by
// another Go than its wasm_exec.js's, or one that is no atmo worker), when
// w's group grows no more either, so that the tasks waiting for it fail
// now. Called with mu held.
func (tm *TaskManager) bootFailed(w *TaskWorker, reason string, permanent bool) {
	w.bootFailures++
	tasks := tm.takeDown(w)
	n, limit := w.bootFailures, w.config.Restart.MaxBootFailures
	if n >= limit || w.config.Restart.Never || permanent {
		if n > 1 && !permanent {
			reason = fmt.Sprintf("failed to start %d times in a row, giving up; last: %s", n, reason)
		} else {
			reason = "failed to start: " + reason
		}
		w.gaveUp = true
		if permanent {
			w.group.mismatched = true
		}
		tm.closeWorker(w, reason)
	} else {
		tm.scheduleRestart(w, fmt.Sprintf("failed to start (%d of %d): %s", n, limit, reason))
	}
	for _, t := range tasks {
		tm.requeue(t, reason)
	}
}

// restartWorker terminates w's thread and starts a fresh one in its place.
// Its running tasks that are not settled go back to the queue while their
// Retries last, and fail with ErrWorkerCrashed after. Called with mu held.
func (tm *TaskManager) restartWorker(w *TaskWorker, reason string) {
	if w.status == WorkerClosed || w.transport == nil {
		return
	}
	tasks := tm.takeDown(w)
	tm.scheduleRestart(w, reason)
	for _, t := range tasks {
		tm.leftDown(t, w, reason, fmt.Errorf("%w: task %s (%s) was running on %s when it was %s", ErrWorkerCrashed, t.id, t.name, w.id, reason), nil)
	}
}

// takeDown terminates w's thread and takes w out of service; it returns the
// unsettled tasks it was running. Called with mu held.
func (tm *TaskManager) takeDown(w *TaskWorker) []*TaskRequest {
	stop(w.bootTimer)
	stop(w.idleTimer)
	stop(w.restartTimer)
	var dropped []uint64 // tasks still in the turn's batch: never sent
	if w.transport != nil {
		if u, ok := w.transport.(unposter); ok {
			dropped = u.unposted()
		}
		w.transport.terminate()
		w.transport = nil
	}
	w.dying = false
	w.unheard, w.lastAnswer = w.unheard[:0], ""
	if w.status != WorkerClosed {
		w.status = WorkerOffline // out of service; the caller sets the final status
	}
	var tasks []*TaskRequest
	for _, t := range sortedInflight(w) {
		stop(t.timer)
		t.timer = nil
		t.unposted = slices.Contains(dropped, t.seq)
		if !t.settled {
			tasks = append(tasks, t)
		}
	}
	clear(w.inflight)
	return tasks
}

// scheduleRestart boots w again after its backoff, or closes it when
// restarts are off. Called with mu held, after takeDown.
func (tm *TaskManager) scheduleRestart(w *TaskWorker, reason string) {
	if w.config.Restart.Never || w.pool.closed || tm.closed {
		tm.closeWorker(w, reason)
		return
	}
	w.lastErr = reason
	tm.setWorkerStatus(w, WorkerOffline, reason)
	// Failures in a row: the crashes since its last answered task, and the
	// starts that failed since its last worker-ready (a crash, then a failed
	// start, are two).
	n := max(w.bootFailures+w.crashes, 1)
	// Capped before the doubling too, which would overflow a huge Backoff.
	delay := min(w.config.Restart.Backoff, maxRestartBackoff) << min(n-1, 16)
	delay = min(delay, maxRestartBackoff)
	w.restartTimer = tm.clock.AfterFunc(delay, func() {
		tm.mu.Lock()
		defer tm.mu.Unlock()
		if w.status == WorkerOffline && w.transport == nil && !w.pool.closed && !tm.closed {
			// Counted now, as it happens: a worker closed during its
			// backoff (Close, its manager's) was never restarted.
			w.restarts++
			tm.stats.restarted++
			w.pool.boot(w)
		}
	})
}

// workerFreed gives w more work and updates its status after a task left it
// or it became ready. Called with mu held.
func (tm *TaskManager) workerFreed(w *TaskWorker) {
	tm.pull(w)
	if len(w.inflight) > 0 {
		return
	}
	tm.setWorkerStatus(w, WorkerAvailable, "")
	g := w.group
	if !w.elastic || g.config.IdleTimeout <= 0 || len(g.members) <= g.config.Count {
		return
	}
	since := tm.clock.Now()
	w.idleSince = since
	stop(w.idleTimer)
	var release func()
	release = func() {
		tm.mu.Lock()
		defer tm.mu.Unlock()
		if w.status != WorkerAvailable || len(w.inflight) > 0 || !w.idleSince.Equal(since) || len(g.members) <= g.config.Count {
			return
		}
		if g.up(w) < g.config.Count {
			// A worker of the group is down (backing off after a crash,
			// failing its restarts): w is not above Count while it is,
			// and may be all the group has left if it gives up. Looked
			// at again after another IdleTimeout.
			w.idleTimer = tm.clock.AfterFunc(g.config.IdleTimeout, release)
			return
		}
		tm.closeWorker(w, fmt.Sprintf("released after %v idle", g.config.IdleTimeout))
		tm.stats.released++
	}
	w.idleTimer = tm.clock.AfterFunc(g.config.IdleTimeout, release)
}

// up counts the members of g other than w that are up: ready, not
// starting (a start may fail), nor backing off after a crash or a failed
// start. Called with mu held.
func (g *workerGroup) up(w *TaskWorker) int {
	n := 0
	for _, x := range g.members {
		if x != w && (x.status == WorkerAvailable || x.status == WorkerWorking) {
			n++
		}
	}
	return n
}

// grow starts one more worker for a queued task of this name, unless a
// group that lists the name is starting workers enough for every task of
// its names that waits (a specialist growing for them: a generalist need
// not grow for them too), in a group that may grow and whose starting
// workers do not already cover the queue:
// of those, the one whose config lists the fewest task names (config order
// breaks a tie), as free workers are picked, so that a burst of one task
// grows its specialists and leaves the generalists' room to the other tasks
// they list. A task that waits for a restart (see route) counts a worker
// backing off as one starting. It says whether it started one that has not
// closed at once. Called with mu held.
func (tm *TaskManager) grow(name string, waitRestart bool) bool {
	if q := tm.queues[name]; !tm.elastic || q == nil || q.Len() == 0 {
		// No task of it waits: a group is grown for the tasks of one of
		// its names, not of another (regrow asks for each of them).
		return false
	}
	var bestPool *workerPool
	var best *workerGroup
	for _, p := range tm.pools {
		if p.closed {
			continue
		}
		for _, g := range p.groups {
			if !g.mismatched && slices.Contains(g.config.Tasks, name) && tm.covered(g, waitRestart) {
				// A group that lists it is starting workers enough for
				// every task of its names that waits, this one among
				// them: another group (a generalist, when a specialist
				// grows) need not start one for it too.
				return false
			}
		}
	}
	for _, p := range tm.pools {
		if p.closed {
			continue
		}
		for _, g := range p.groups {
			if (best == nil || len(g.config.Tasks) < len(best.config.Tasks)) && tm.mayGrow(g, name, waitRestart) {
				bestPool, best = p, g
			}
		}
	}
	if best == nil {
		return false
	}
	w := bestPool.newWorker(best, true)
	tm.stats.grown++
	// One that gave up at once (a spawn that failed, under Restart.Never
	// or MaxBootFailures 1) is no worker started: growing again would
	// only give up again, for ever in regrow's loop.
	return w.status != WorkerClosed
}

// mayGrow says whether group g may start one more worker for a queued task
// of this name (see grow). Called with mu held.
func (tm *TaskManager) mayGrow(g *workerGroup, name string, waitRestart bool) bool {
	// A config without MaxWorkers above its Count is no elastic group: a
	// worker of it that closed is not replaced.
	if g.mismatched || g.config.MaxWorkers <= g.config.Count || len(g.members) >= g.config.MaxWorkers || !slices.Contains(g.config.Tasks, name) {
		return false
	}
	return !tm.covered(g, waitRestart)
}

// covered says whether g's starting workers have room for every task of
// g's names that waits. Called with mu held.
func (tm *TaskManager) covered(g *workerGroup, waitRestart bool) bool {
	// Workers booting will take tasks soon; one that ran, and waits out
	// its restart backoff after a crash (no thread), may not for seconds,
	// and does not count. One whose starts fail does: more of its script
	// would fail as well.
	starting := 0
	for _, w := range g.members {
		backingOff := w.transport == nil && w.started && w.bootFailures == 0
		if w.status == WorkerOffline && (!backingOff || waitRestart) {
			starting++
		}
	}
	waiting := 0
	for _, n := range g.config.Tasks {
		if q := tm.queues[n]; q != nil {
			waiting += q.Len()
		}
	}
	return waiting <= starting*g.config.Concurrency
}

func (tm *TaskManager) setWorkerStatus(w *TaskWorker, s WorkerStatus, errMsg string) {
	if w.status == s && errMsg == "" {
		return
	}
	w.status = s
	if tm.watched() {
		tm.emit(Message{Kind: KindWorkerUpdated, WorkerID: w.id, Content: s, Error: errMsg})
	}
}

// closeWorker takes w out of service for good. Its unsettled running tasks
// are handled as leftDown says; then queued tasks that no live worker can
// run any more fail. Called with mu held.
func (tm *TaskManager) closeWorker(w *TaskWorker, reason string) {
	if w.status == WorkerClosed {
		return
	}
	for _, t := range tm.shut(w, reason) {
		if timeout, ok := tm.retryAfter[t]; ok && len(tm.byName[t.name]) == 0 {
			// It timed out and waited to run again: the close, not the
			// timeout, leaves it no worker to run on (see closedBeforeRetry).
			tm.settle(t, Response{WorkerID: w.id, Err: closedBeforeRetry(t, fmt.Sprintf("%s, the last worker that lists %q, was %s", w.id, t.name, reason), timeout)})
			continue
		}
		moved := fmt.Errorf("%w: task %s (%s) cannot be sent again: its params moved JS buffers (atmo.Transfer) to %s, which was %s; add the task again with fresh buffers", ErrClosed, t.id, t.name, w.id, reason)
		tm.leftDown(t, w, reason, fmt.Errorf("%w: task %s (%s) was running on %s when it was %s", ErrClosed, t.id, t.name, w.id, reason), moved)
	}
	tm.failOrphans(w)
	if !w.gaveUp && !w.pool.closed && !tm.closed {
		// Its place in its group is free: tasks that wait for the group
		// grow it again, up to MaxWorkers, as they would have when added.
		// Not for a worker that gave up starting (a bad script, a config
		// its worker-ready does not match): another would only fail too.
		tm.regrow(w.group)
	}
	w.pool.notify()
}

// regrow grows g while tasks of its names wait that its starting workers
// do not cover (see grow). Called with mu held.
func (tm *TaskManager) regrow(g *workerGroup) {
	for _, n := range g.config.Tasks {
		for tm.grow(n, false) {
		}
	}
}

// leftDown handles task t, which w was running, unsettled, when w went down
// (why): crashed, replaced, or closed for good. One that never reached w
// goes back in line, as it is. One whose params moved buffers to w cannot
// be sent again: it fails with
// moved, or, if nil, as requeue fails it. Any other was sent, and may have
// begun: it runs again elsewhere only while its Retries last, so that a
// task without Retries never runs twice; else it fails with err. Called
// with mu held.
func (tm *TaskManager) leftDown(t *TaskRequest, w *TaskWorker, why string, err, moved error) {
	switch {
	case t.unposted:
		tm.requeue(t, fmt.Sprintf("never sent: %s went down (%s) before the task was posted to it; it waits again, no retry", w.id, why))
	case t.movedOut() && moved != nil:
		tm.settle(t, Response{WorkerID: w.id, Err: moved})
	case t.movedOut():
		tm.requeue(t, why)
	default:
		t.wentDown()
		if t.retriesLeft == 0 && !tm.closed && len(tm.byName[t.name]) > 0 {
			// A worker is left to run it, restarting or another.
			err = fmt.Errorf("%w; it has no Retries left to run it again (TaskParams.Retries)", err)
		}
		tm.leftWorker(t, err)
	}
}

// shut takes w out of service for good, and returns the unsettled tasks it
// was running. Called with mu held.
func (tm *TaskManager) shut(w *TaskWorker, reason string) []*TaskRequest {
	tasks := tm.takeDown(w)
	w.lastErr = reason
	if tm.warm == w {
		tm.warm = nil
	}
	var last []string // names no other worker lists
	for _, n := range w.tasks {
		ws := slices.DeleteFunc(tm.byName[n], func(x *TaskWorker) bool { return x == w })
		if len(ws) == 0 {
			delete(tm.byName, n)
			last = append(last, n)
		} else {
			tm.byName[n] = ws
		}
	}
	tm.retire(last, w.describe()+", "+reason)
	g := w.group
	g.members = slices.DeleteFunc(g.members, func(x *TaskWorker) bool { return x == w })
	if w.elastic {
		w.pool.workers = slices.DeleteFunc(w.pool.workers, func(x *TaskWorker) bool { return x == w })
	}
	w.pool.dropIfEmpty(g)
	tm.setWorkerStatus(w, WorkerClosed, w.describe()+" "+reason)
	w.pool.closes++
	w.closedSeq = w.pool.closes
	w.pool.forgetClosed()
	return tasks
}

// failOrphans fails the queued tasks that only the closed worker w could run,
// with the word closeWorker left in tm.gone: w, and why it closed. Called
// with mu held.
func (tm *TaskManager) failOrphans(w *TaskWorker) {
	for _, n := range w.tasks {
		if len(tm.byName[n]) > 0 {
			continue
		}
		q := tm.queues[n]
		if q == nil {
			continue
		}
		for q.Len() > 0 {
			t := q.peek()
			var err error
			// One that ran already, and waits to run again, says so, and
			// how its last run ended.
			last, ran := tm.ranBefore[t]
			timedOut := ran && errors.Is(last, ErrTimeout)
			switch {
			case timedOut && w.pool.closed:
				err = closedBeforeRetry(t, tm.closedOne()+" was closed", last)
			case timedOut && w.lastErr == closedByClose:
				err = closedBeforeRetry(t, fmt.Sprintf("%s, the last worker that lists %q, was %s", w.id, n, w.lastErr), last)
			case ran && w.pool.closed:
				err = fmt.Errorf("%w: %s was closed before task %s (%s) ran again; its last run ended: %v", ErrClosed, tm.closedOne(), t.id, n, last)
			case w.pool.closed:
				err = fmt.Errorf("%w: %s was closed before task %s (%s) ran", ErrClosed, tm.closedOne(), t.id, n)
			case ran:
				err = fmt.Errorf("%w; it waited to run again, but %w", last, noWorkerError(n, tm.knownNames(), tm.gone[n].text()))
			default:
				err = noWorkerError(n, tm.knownNames(), tm.gone[n].text())
			}
			tm.settle(t, Response{Err: err})
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
	if ctx == nil {
		return fmt.Errorf("%w: Ready needs a context; pass context.Background() to wait for as long as the workers take", ErrBadParams)
	}
	tm := p.tm
	for {
		tm.mu.Lock()
		waiting := false
		for _, w := range p.workers {
			if w.status == WorkerOffline {
				waiting = true
			}
		}
		if !waiting {
			errs := p.startFailures()
			tm.mu.Unlock()
			return errors.Join(errs...)
		}
		c := make(chan struct{})
		p.waiters = append(p.waiters, c)
		tm.mu.Unlock()
		select {
		case <-c:
		case <-ctx.Done():
			tm.mu.Lock()
			// Given up: its channel leaves the list, which would otherwise
			// grow with every Ready that times out while a worker starts.
			p.waiters = slices.DeleteFunc(p.waiters, func(x chan struct{}) bool { return x == c })
			var starting []string
			for _, w := range p.workers {
				if w.status == WorkerOffline {
					// One starting again says why its last start, or its
					// last run, ended: that is what to fix.
					if w.lastErr != "" {
						starting = append(starting, fmt.Sprintf("%s, starting again after it %s", w.describe(), w.lastErr))
					} else {
						starting = append(starting, w.describe())
					}
				}
			}
			// The workers that have already failed to start for good are
			// named too, and wrap ErrWorkerStart: they are what to fix,
			// whether or not another is still starting.
			errs := p.startFailures()
			tm.mu.Unlock()
			err := fmt.Errorf("atmo: waiting for workers to start: %w; still starting: %s (no worker-ready from them yet)", ctx.Err(), strings.Join(starting, ", "))
			return errors.Join(append(errs, err)...)
		}
	}
}

// startFailures are the errors, wrapping ErrWorkerStart, of p's workers
// that failed to start for good: they never started, or gave up
// restarting. Called with mu held.
func (p *workerPool) startFailures() []error {
	var errs []error
	for _, w := range p.workers {
		if w.gaveUp && !p.closed {
			errs = append(errs, fmt.Errorf("%w: %s %s", ErrWorkerStart, w.describe(), w.lastErr))
		}
	}
	return errs
}

// close terminates every worker of the pool. Their running tasks that a
// worker of another pool lists go on as leftDown says, once all of this
// pool's are gone (not to a sibling about to close): back in line if never
// sent, else only while their Retries last; the others settle with cause
// (ErrClosed), as do queued tasks no other pool can run.
func (p *workerPool) close(cause error) {
	tm := p.tm
	tm.mu.Lock()
	defer tm.mu.Unlock()
	if p.closed {
		return
	}
	p.closed = true
	const why = "closed with its manager"
	type left struct {
		t *TaskRequest
		w *TaskWorker
	}
	var lefts []left
	var shut []*TaskWorker
	for _, w := range slices.Clone(p.workers) {
		if w.status == WorkerClosed {
			continue
		}
		for _, t := range tm.shut(w, why) {
			lefts = append(lefts, left{t, w})
		}
		shut = append(shut, w)
	}
	tm.pools = slices.DeleteFunc(tm.pools, func(x *workerPool) bool { return x == p })
	// Its workers are out of byName now: a task goes on only where a
	// worker of another manager lists it (leftDown), and fails as a
	// closed manager's task does elsewhere.
	for _, l := range lefts {
		err := fmt.Errorf("%w: %s was closed while task %s (%s) ran on %s", cause, tm.closedOne(), l.t.id, l.t.name, l.w.id)
		if tm.closed || len(tm.byName[l.t.name]) == 0 {
			if timeout, ok := tm.retryAfter[l.t]; ok {
				err = closedBeforeRetry(l.t, tm.closedOne()+" was closed", timeout)
			}
			tm.settle(l.t, Response{WorkerID: l.w.id, Err: err})
			continue
		}
		tm.leftDown(l.t, l.w, why, err, err)
	}
	for _, w := range shut {
		tm.failOrphans(w)
	}
	p.notify()
}

// closedOne names what was closed when a pool closes: the TaskManager,
// whose Close closes its pools, or the worker manager alone. Called with mu
// held.
func (tm *TaskManager) closedOne() string {
	if tm.closed {
		return "the TaskManager"
	}
	return "the worker manager"
}

// listedOutside says whether a worker that is not p's, and not closed,
// lists task name. Called with mu held.
func (tm *TaskManager) listedOutside(name string, p *workerPool) bool {
	for _, w := range tm.byName[name] {
		if w.pool != p && w.status != WorkerClosed {
			return true
		}
	}
	return false
}

// add starts the workers of one more config (c.Count of them, default 1), in
// a group of its own, and returns the first.
func (p *workerPool) add(c WorkerConfig) (*TaskWorker, error) {
	tm := p.tm
	tm.mu.Lock()
	defer tm.mu.Unlock()
	c, err := c.validate("AddWorker's config", tm.opts.Restart)
	if err != nil {
		return nil, err
	}
	if p.closed || tm.closed {
		return nil, fmt.Errorf("%w: cannot add a worker to a closed manager", ErrClosed)
	}
	return p.addGroup(c), nil
}

// keptClosed is how many closed workers a pool keeps listed (Workers,
// Stats), with why they closed; the oldest beyond it are forgotten, so that
// adding and closing workers for ever does not grow the pool.
const keptClosed = 64

// dropIfEmpty forgets g once its last worker is closed for good: an
// elastic group does not grow again from nothing (its workers were closed,
// or gave up, or crashed past their restarts). Called with mu held.
func (p *workerPool) dropIfEmpty(g *workerGroup) {
	if len(g.members) == 0 && !g.adding {
		p.groups = slices.DeleteFunc(p.groups, func(x *workerGroup) bool { return x == g })
	}
}

// retired is why no worker lists some task names any more (see
// noWorkerError): the last worker that listed them, described, and why it
// closed.
type retired struct {
	why   string
	names []string
}

// text is r's why, or "" for none (nil: never listed, or forgotten).
func (r *retired) text() string {
	if r == nil {
		return ""
	}
	return r.why
}

// retire notes that w was the last worker listing names, and why it
// closed. The words of the keptClosed latest such workers are kept, every
// name of each, so that a page that names its tasks per dataset, and closes
// their workers, does not grow tm.gone for ever. Called with mu held.
func (tm *TaskManager) retire(names []string, why string) {
	if len(names) == 0 {
		return
	}
	r := &retired{why: why, names: names}
	for _, n := range names {
		tm.gone[n] = r
	}
	tm.retired = append(tm.retired, r)
	if len(tm.retired) <= keptClosed {
		return
	}
	old := tm.retired[0]
	tm.retired = slices.Delete(tm.retired, 0, 1)
	for _, n := range old.names {
		if tm.gone[n] == old { // not listed, and retired, again since
			delete(tm.gone, n)
		}
	}
}

// forgetClosed drops the closed workers past keptClosed that closed
// longest ago (not those started first: a worker that has run since the
// pool started and has just closed stays listed, with why). Called with mu
// held.
func (p *workerPool) forgetClosed() {
	n := 0
	for _, w := range p.workers {
		if w.status == WorkerClosed {
			n++
		}
	}
	for ; n > keptClosed; n-- {
		oldest := -1
		for i, w := range p.workers {
			if w.status == WorkerClosed && (oldest < 0 || w.closedSeq < p.workers[oldest].closedSeq) {
				oldest = i
			}
		}
		p.workers = slices.Delete(p.workers, oldest, oldest+1)
	}
}

func (p *workerPool) list() []*TaskWorker {
	p.tm.mu.Lock()
	defer p.tm.mu.Unlock()
	return slices.Clone(p.workers)
}

func sortedInflight(w *TaskWorker) []*TaskRequest {
	ts := make([]*TaskRequest, 0, len(w.inflight))
	for _, t := range w.inflight {
		ts = append(ts, t)
	}
	slices.SortFunc(ts, func(a, b *TaskRequest) int { return int(a.seq) - int(b.seq) })
	return ts
}
