//go:build js && wasm

package nodetest

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"syscall/js"
	"testing"
	"time"

	"github.com/atmoworkers/atmo/wasm/atmo"
	"github.com/atmoworkers/atmo/wasm/atmo/internal/atmotest"
)

// The random-operation test of ServerWorkerManager: the Node.js sibling of
// the browser's TestRandomOperationsOnRealWorkersKeepEveryInvariant
// (wasm/atmo/invariants_test.go), with real worker_threads workers, JS and
// Go, and the ways a thread dies under Node.js (process.exit, an uncaught
// throw, a loop that never yields, a handler that never answers).
//
//	go test -run TestRandomOperationsOnNodeWorkers ./wasm/atmo/nodetest -invariants.seeds 100 -invariants.first 1
var (
	nodeSeeds = flag.Int("invariants.seeds", 18, "seeds TestRandomOperationsOnNodeWorkersKeepEveryInvariant runs")
	nodeFirst = flag.Int("invariants.first", 1, "first seed")
	nodeOps   = flag.Int("invariants.ops", 80, "operations per seed")
)

// nodeFuzzWorker is the JS worker: the browser test's tasks, and some that
// only a thread can do to itself.
const nodeFuzzWorker = `const { atmoWorker } = require(%q);
const sleep = (ms, signal) => new Promise((resolve, reject) => {
  if (signal.aborted) return reject(signal.reason);
  const timer = setTimeout(resolve, ms);
  signal.addEventListener('abort', () => { clearTimeout(timer); reject(signal.reason); }, { once: true });
});
atmoWorker({
  echo: (p) => p,
  sleep: async ({ id, ms }, { signal }) => { await sleep(ms, signal); return { id, slept: true }; },
  fail: async ({ message }) => { await null; throw new Error(message); },
  throws: ({ message }) => { throw message; },
  progress: async ({ id, steps }, { progress }) => {
    for (let i = 1; i <= steps; i++) { progress(i); await new Promise((r) => setTimeout(r, 1)); }
    return { id, steps };
  },
  busy: ({ id, ms }) => { const end = Date.now() + ms; while (Date.now() < end) {} return { id, busy: true }; },
  crash: () => { setTimeout(() => { throw new Error('crash on purpose'); }, 0); return new Promise(() => {}); },
  exit: () => { process.exit(3); },
  hang: () => new Promise(() => {}),
  spin: () => { for (;;); },
  xfer: ({ id, buf }) => {
    let sum = 0;
    for (const b of buf) sum += b;
    return { id, n: buf.byteLength, sum };
  },
});`

// The Go worker is wasm/atmo/testdata/variety: these tasks only.
var (
	nodeGoTasks = []string{"echo", "sleep", "fail", "progress", "busy", "crash"}
	nodeJSTasks = []string{"echo", "sleep", "fail", "throws", "progress", "busy", "crash", "exit", "hang", "spin", "xfer"}
)

type nodeTask struct {
	i          int
	name       string
	params     map[string]any
	viaDo      bool
	listed     bool // a worker config listing its name had been given when it was added
	timeout    time.Duration
	xferLen    int
	moved      *js.Value // the Uint8Array given to atmo.Transfer
	raw        bool      // RawResult: the result is a js.Value
	retries    int
	req        atomic.Pointer[atmo.TaskRequest]
	settles    atomic.Int32
	resp       atmo.Response
	progs      []any
	closing    bool // a Close (of the TaskManager or a worker manager) was called before it settled
	gone       bool // a worker was closed or terminated before it settled
	closedAway bool // a worker, or a worker manager, was closed before it settled
	canceled   atomic.Bool
}

type nodeRun struct {
	mu   sync.Mutex
	errs []string
	seen map[string]bool
}

// fail records a violation, each one once (Stats are read all along).
func (f *nodeRun) fail(format string, a ...any) {
	f.mu.Lock()
	defer f.mu.Unlock()
	e := fmt.Sprintf(format, a...)
	if f.seen == nil {
		f.seen = map[string]bool{}
	}
	if len(f.errs) < 20 && !f.seen[e] {
		f.seen[e] = true
		f.errs = append(f.errs, e)
	}
}

// activeResources counts the main thread's Node.js resources by kind:
// Timeout (setTimeout / setInterval), MessagePort, Worker and so on.
func activeResources() map[string]int {
	m := map[string]int{}
	list := js.Global().Get("process").Call("getActiveResourcesInfo")
	for i := 0; i < list.Length(); i++ {
		m[list.Index(i).String()]++
	}
	return m
}

func TestRandomOperationsOnNodeWorkersKeepEveryInvariant(t *testing.T) {
	jsPath := script(t, "fuzz-worker.js", fmt.Sprintf(nodeFuzzWorker, abs(t, repoRoot+"/jsworker/atmo-worker.js")))
	goPath := abs(t, module(t, repoRoot+"/bin/wasm/testdata/variety.wasm"))
	if g := atmotest.Goroutines("nodetest."); len(g) > 0 {
		t.Logf("atmo goroutines before: %d", len(g))
	}
	base := activeResources()
	t.Logf("Node.js resources before: %v", base)
	start := time.Now()
	for s := *nodeFirst; s < *nodeFirst+*nodeSeeds; s++ {
		t0 := time.Now()
		f := nodeFuzzOne(t, uint64(s), jsPath, goPath, *nodeOps, base)
		for _, e := range f.errs {
			t.Errorf("seed %d: %s", s, e)
		}
		t.Logf("seed %d in %v", s, time.Since(t0).Round(time.Millisecond))
	}
	t.Logf("%d seeds in %v", *nodeSeeds, time.Since(start).Round(time.Millisecond))
}

func nodeFuzzOne(t *testing.T, seed uint64, jsPath, goPath string, nops int, baseRes map[string]int) *nodeRun {
	rng := rand.New(rand.NewPCG(seed, seed*7919+1))
	f := &nodeRun{}
	aging := []time.Duration{0, -1, 20 * time.Millisecond}[rng.IntN(3)]
	var defaultTimeout time.Duration
	if rng.IntN(6) == 0 {
		defaultTimeout = time.Duration(100+rng.IntN(400)) * time.Millisecond
	}
	// Sometimes starts may fail: a StartTimeout that a Go module, compiled on a
	// busy machine, may miss, and few boot failures allowed.
	startsMayFail := rng.IntN(6) == 0
	// Half the seeds run no task that never ends by itself (hang, spin, a
	// Go busy that ignores its cancel for seconds): there every task must
	// settle before the final Close.
	drain := rng.IntN(2) == 0
	tm := atmo.NewTaskManagerWithOptions(atmo.Options{
		DefaultTimeout: defaultTimeout,
		LoneTaskAwake:  []time.Duration{0, -1, 200 * time.Microsecond}[rng.IntN(3)],
		CancelGrace:    []time.Duration{time.Millisecond, time.Duration(30+rng.IntN(200)) * time.Millisecond}[rng.IntN(2)],
		Restart:        atmo.RestartPolicy{Backoff: 10 * time.Millisecond, MaxBootFailures: 5},
		MaxQueue:       []int{0, 3, 10}[rng.IntN(3)],
		AgingInterval:  aging,
	})
	var (
		closing    atomic.Bool // a Close of tm or of a worker manager was called
		tmClosing  atomic.Bool // tm.Close was called
		tmClosed   atomic.Bool // tm.Close returned
		workerGone atomic.Bool // a worker's Close or Terminate was called
		closedOne  atomic.Bool // a worker's Close or a worker manager's was called
		listedMu   sync.Mutex
		listed     = map[string]bool{}
	)
	// A subscriber for the whole run: Seq goes up by one, and every task's
	// events are one new-task, one final task-updated, then one
	// task-deleted, and nothing after it.
	rec := &atmotest.Recorder{Over: tmClosed.Load}
	tm.Subscribe(rec.Record)
	cfg := func() atmo.WorkerConfig {
		c := atmo.WorkerConfig{Concurrency: 1 + rng.IntN(4), StartTimeout: 30 * time.Second}
		if rng.IntN(2) == 0 {
			c.Script, c.Tasks = jsPath, nodeJSTasks
		} else {
			c.Module, c.Tasks = goPath, nodeGoTasks
		}
		if rng.IntN(3) == 0 {
			c.Count = 2
		}
		if rng.IntN(3) == 0 {
			c.MaxWorkers = max(c.Count, 1) + 1 + rng.IntN(2)
			c.IdleTimeout = time.Duration(20+rng.IntN(200)) * time.Millisecond
		}
		if rng.IntN(4) == 0 {
			c.KeepAwake = time.Duration(rng.IntN(1000)) * time.Microsecond
		}
		if rng.IntN(5) == 0 {
			c.TaskTimeout = time.Duration(50+rng.IntN(300)) * time.Millisecond
		}
		if startsMayFail {
			c.StartTimeout = time.Duration(20+rng.IntN(400)) * time.Millisecond
			c.Restart = atmo.RestartPolicy{Backoff: time.Millisecond, MaxBootFailures: 1 + rng.IntN(2)}
		}
		listedMu.Lock()
		for _, n := range c.Tasks {
			listed[n] = true
		}
		listedMu.Unlock()
		return c
	}
	var configs []atmo.WorkerConfig
	for n := 1 + rng.IntN(2); n > 0; n-- {
		configs = append(configs, cfg())
	}
	wm, err := atmo.NewServerWorkerManager(tm, configs...)
	if err != nil {
		f.fail("NewServerWorkerManager: %v", err)
		tm.Close()
		return f
	}
	wms := []*atmo.ServerWorkerManager{wm}
	if rng.IntN(2) == 0 {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		if err := wm.Ready(ctx); err != nil && !(startsMayFail && errors.Is(err, atmo.ErrWorkerStart)) {
			f.fail("Ready: %v", err)
		}
		cancel()
	}

	// Stats and Status, read all along from another goroutine.
	stopReader := make(chan struct{})
	readerDone := make(chan struct{})
	go func() {
		defer close(readerDone)
		lastDone, lastFailed, lastSubmitted := 0, 0, 0
		for {
			select {
			case <-stopReader:
				return
			case <-time.After(time.Millisecond):
			}
			s := tm.Stats()
			atmotest.CheckStats(s, f.fail)
			if s.Done < lastDone || s.Failed < lastFailed || s.Submitted < lastSubmitted {
				f.fail("Stats went back: Submitted %d→%d Done %d→%d Failed %d→%d", lastSubmitted, s.Submitted, lastDone, s.Done, lastFailed, s.Failed)
			}
			lastDone, lastFailed, lastSubmitted = s.Done, s.Failed, s.Submitted
			st := tm.Status()
			if st.Done < s.Done || st.Failed < s.Failed {
				f.fail("Status %d done, %d failed after Stats' %d, %d", st.Done, st.Failed, s.Done, s.Failed)
			}
		}
	}()

	var tasks []*nodeTask
	var reqs []*atmo.TaskRequest
	var reqTask []*nodeTask
	var doWG sync.WaitGroup
	var tmu sync.Mutex

	// A callback may close the TaskManager (the browser test's closer):
	// once that Close returns, no other task's callback starts.
	closerIdx := -1
	closerKind := rng.IntN(3) // 0: OnSuccess/OnError, 1: OnProgress, 2: a subscriber
	if rng.IntN(5) == 0 {
		closerIdx = rng.IntN(nops / 2)
	}
	var innerClosed atomic.Bool
	var closer *nodeTask
	// Or the main goroutine closes it mid-way.
	midClose := -1
	if closerIdx < 0 && rng.IntN(5) == 0 {
		midClose = rng.IntN(nops)
	}

	check := func(ft *nodeTask, r atmo.Response) {
		if !ft.viaDo && innerClosed.Load() && ft != closer {
			f.fail("task %d (%s): callback started after a Close from a callback returned: %v", ft.i, ft.name, r.Err)
		}
		if !ft.viaDo && tmClosed.Load() {
			f.fail("task %d (%s): settled after Close returned: %v", ft.i, ft.name, r.Err)
		}
		if n := ft.settles.Add(1); n != 1 {
			f.fail("task %d (%s): settled %d times", ft.i, ft.name, n)
			return
		}
		if req := ft.req.Load(); req != nil && !ft.viaDo {
			if st, want := req.Status(), map[bool]atmo.TaskStatus{true: atmo.TaskDone, false: atmo.TaskFailed}[r.Err == nil]; st != want {
				f.fail("task %d (%s): Status %s in its callback, want %s (%v)", ft.i, ft.name, st, want, r.Err)
			}
		}
		tmu.Lock()
		ft.resp = r
		ft.closing = closing.Load()
		ft.gone = workerGone.Load()
		ft.closedAway = closedOne.Load()
		tmu.Unlock()
	}
	newTask := func(name string, viaDo bool) *nodeTask {
		ft := &nodeTask{i: len(tasks), name: name, viaDo: viaDo}
		ft.params = map[string]any{"id": ft.i}
		switch name {
		case "sleep":
			ft.params["ms"] = rng.IntN(150)
		case "busy":
			ft.params["ms"] = rng.IntN(100)
			if !drain && rng.IntN(6) == 0 {
				ft.params["ms"] = 1000 + rng.IntN(2000) // all but hangs
			}
		case "progress":
			ft.params["steps"] = 1 + rng.IntN(5)
		case "fail", "throws":
			ft.params["message"] = fmt.Sprintf("failure %d", ft.i)
		case "xfer":
			n := rng.IntN(5000)
			ft.xferLen = n
			if rng.IntN(3) == 0 {
				b := make([]byte, n)
				for i := range b {
					b[i] = byte(ft.i % 251)
				}
				ft.params["buf"] = b // copied: may take Retries
			} else {
				u8 := js.Global().Get("Uint8Array").New(n)
				u8.Call("fill", ft.i%251)
				ft.params["buf"] = atmo.Transfer(u8)
				ft.moved = &u8
			}
		}
		listedMu.Lock()
		ft.listed = listed[name]
		listedMu.Unlock()
		tasks = append(tasks, ft)
		return ft
	}
	pickName := func() string {
		w := rng.IntN(100)
		switch {
		case w < 22:
			return "echo"
		case w < 38:
			return "sleep"
		case w < 46:
			return "fail"
		case w < 52:
			return "throws"
		case w < 64:
			return "progress"
		case w < 72:
			return "busy"
		case w < 76:
			return "crash"
		case w < 79:
			return "exit"
		case w < 85 && drain:
			return "echo"
		case w < 83:
			return "hang"
		case w < 85:
			return "spin"
		case w < 97:
			return "xfer"
		}
		return "nosuch"
	}
	closeTM := func() {
		closing.Store(true)
		tmClosing.Store(true)
		tm.Close()
	}

	if closerIdx >= 0 && closerKind == 2 {
		var deleted atomic.Int32
		tm.Subscribe(func(m atmo.Message) {
			if m.Kind == atmo.KindTaskDeleted && int(deleted.Add(1)) == closerIdx+1 {
				closeTM()
				innerClosed.Store(true)
			}
		})
	}
	for op := 0; op < nops; op++ {
		if op == midClose {
			closeTM()
			tmClosed.Store(true)
		}
		k := rng.IntN(100)
		switch {
		case k < 45: // AddTask
			ft := newTask(pickName(), false)
			ctx, arm := atmotest.RandContext(rng)
			p := atmo.TaskParams{Name: ft.name, Params: ft.params, Priority: rng.IntN(7) - 3, Context: ctx}
			if ft.name == "xfer" && rng.IntN(2) == 0 {
				p.RawResult = true
				ft.raw = true
			}
			if _, copied := ft.params["buf"].([]byte); copied || ft.name != "xfer" {
				p.Retries = rng.IntN(3)
			}
			if rng.IntN(3) == 0 {
				p.Timeout = time.Duration(20+rng.IntN(200)) * time.Millisecond
				if rng.IntN(2) == 0 {
					p.Timeout = time.Duration(1+rng.IntN(5000)) * time.Microsecond
				}
			}
			ft.timeout = p.Timeout
			ft.retries = p.Retries
			p.OnSuccess = func(r atmo.Response) { check(ft, r) }
			p.OnError = func(r atmo.Response) { check(ft, r) }
			if closer == nil && closerIdx >= 0 && ft.i >= closerIdx && closerKind == 1 && ft.name == "progress" {
				closer = ft
				p.OnProgress = func(atmo.Progress) {
					closeTM()
					innerClosed.Store(true)
				}
			}
			if closer == nil && closerIdx >= 0 && ft.i >= closerIdx && closerKind == 0 {
				closer = ft
				p.OnSuccess = func(r atmo.Response) {
					check(ft, r)
					closeTM()
					innerClosed.Store(true)
				}
				p.OnError = p.OnSuccess
			}
			if ft != closer && rng.IntN(2) == 0 {
				p.OnProgress = func(pr atmo.Progress) {
					if tmClosed.Load() && !innerClosed.Load() {
						f.fail("task %d: progress after Close returned", ft.i)
					}
					if ft.settles.Load() != 0 {
						f.fail("task %d: progress %v after its result", ft.i, pr.Content)
					}
					tmu.Lock()
					ft.progs = append(ft.progs, pr.Content)
					tmu.Unlock()
				}
			}
			req, err := tm.AddTask(p)
			switch {
			case err == nil:
			case errors.Is(err, atmo.ErrClosed) && tmClosing.Load(), errors.Is(err, atmo.ErrQueueFull):
				ft.settles.Store(-100)
				continue
			default:
				f.fail("AddTask %d (%s): %v", ft.i, ft.name, err)
				ft.settles.Store(-100)
				continue
			}
			ft.req.Store(req)
			reqs = append(reqs, req)
			reqTask = append(reqTask, ft)
			rec.SetPriority(req.ID(), p.Priority)
			if arm != nil {
				ft.canceled.Store(true)
				arm()
			}
		case k < 57: // Do
			ft := newTask(pickName(), true)
			ctx, arm := atmotest.RandContext(rng)
			if ctx == nil {
				ctx = context.Background()
			}
			if arm != nil {
				ft.canceled.Store(true)
				arm()
			}
			doWG.Add(1)
			go func() {
				defer doWG.Done()
				v, err := tm.Do(ctx, ft.name, ft.params)
				check(ft, atmo.Response{Content: v, Err: err})
			}()
		case k < 66: // Cancel or DeleteTask
			if len(reqs) > 0 {
				j := rng.IntN(len(reqs))
				reqTask[j].canceled.Store(true)
				if rng.IntN(2) == 0 {
					reqs[j].Cancel()
				} else {
					tm.DeleteTask(reqs[j].ID())
				}
			}
		case k < 70: // AddWorker
			w := wms[rng.IntN(len(wms))]
			if _, err := w.AddWorker(cfg()); err != nil && !(errors.Is(err, atmo.ErrClosed) && closing.Load()) {
				f.fail("AddWorker: %v", err)
			}
		case k < 72: // another worker manager
			m, err := atmo.NewServerWorkerManager(tm, cfg())
			if err != nil {
				if !(errors.Is(err, atmo.ErrClosed) && tmClosing.Load()) {
					f.fail("second NewServerWorkerManager: %v", err)
				}
			} else {
				wms = append(wms, m)
			}
		case k < 74: // a worker manager's Close
			if rng.IntN(2) == 0 {
				closing.Store(true)
				workerGone.Store(true)
				closedOne.Store(true) // its running tasks without Retries fail with ErrClosed
				wms[rng.IntN(len(wms))].Close()
			}
		case k < 76: // a worker's Close
			w := wms[rng.IntN(len(wms))]
			if ws := w.Workers(); len(ws) > 0 {
				workerGone.Store(true)
				closedOne.Store(true) // its running tasks without Retries fail with ErrClosed
				ws[rng.IntN(len(ws))].Close()
			}
		case k < 79: // a worker's Terminate
			w := wms[rng.IntN(len(wms))]
			if ws := w.Workers(); len(ws) > 0 {
				workerGone.Store(true)
				ws[rng.IntN(len(ws))].Terminate()
			}
		case k < 83: // Ready, bounded
			w := wms[rng.IntN(len(wms))]
			ctx, cancel := context.WithTimeout(context.Background(), time.Duration(rng.IntN(300))*time.Millisecond)
			err := w.Ready(ctx)
			cancel()
			if err != nil && !errors.Is(err, context.DeadlineExceeded) && !(errors.Is(err, atmo.ErrWorkerStart) && (workerGone.Load() || startsMayFail)) {
				f.fail("Ready: %v", err)
			}
		default:
			time.Sleep(time.Duration(rng.IntN(40)) * time.Millisecond)
		}
		if rng.IntN(3) == 0 {
			time.Sleep(time.Duration(rng.IntN(10)) * time.Millisecond)
		}
	}

	if drain {
		// Every task ends by itself: retried, timed out, crashed, failed
		// for want of a worker, but never lost.
		var open []string
		if !atmotest.Eventually(15*time.Second, func() bool {
			open = open[:0]
			for _, ft := range tasks {
				if ft.settles.Load() == 0 {
					st := "Do"
					if req := ft.req.Load(); req != nil {
						st = fmt.Sprintf("%s on %q", req.Status(), req.AssignedWorker())
					}
					open = append(open, fmt.Sprintf("%d (%s, %s)", ft.i, ft.name, st))
				}
			}
			return len(open) == 0
		}) {
			s := tm.Stats()
			var ws []string
			for _, w := range s.Workers {
				ws = append(ws, fmt.Sprintf("%s %s %d/%d %q", w.ID, w.Status, w.InFlight, w.Capacity, w.LastError))
			}
			f.fail("%d tasks never settled in 15s: %v; queued %d, running %d; workers: %s", len(open), open, s.Queued, s.Running, strings.Join(ws, "; "))
		}
	}

	// Let things run for a while, then Close (sometimes a worker manager first).
	time.Sleep(time.Duration(rng.IntN(300)) * time.Millisecond)
	if rng.IntN(3) == 0 {
		closing.Store(true)
		wms[rng.IntN(len(wms))].Close()
	}
	closeDone := make(chan struct{})
	if rng.IntN(3) == 0 { // a worker manager's Close racing the TaskManager's
		m := wms[rng.IntN(len(wms))]
		closing.Store(true)
		go m.Close()
	}
	go func() { closeTM(); tmClosed.Store(true); close(closeDone) }()
	select {
	case <-closeDone:
	case <-time.After(20 * time.Second):
		f.fail("Close did not return in 20s")
		return f
	}
	doneDo := make(chan struct{})
	go func() { doWG.Wait(); close(doneDo) }()
	select {
	case <-doneDo:
	case <-time.After(10 * time.Second):
		f.fail("some Do did not return 10s after Close")
	}
	close(stopReader)
	<-readerDone

	// Every task.
	var seen atmotest.Tally
	ranTwice := 0
	kinds := map[string]int{}
	for _, ft := range tasks {
		n := ft.settles.Load()
		if n == -100 {
			continue
		}
		if n != 1 {
			f.fail("task %d (%s, Do=%v): settled %d times", ft.i, ft.name, ft.viaDo, n)
			continue
		}
		tmu.Lock()
		r, progs := ft.resp, append([]any(nil), ft.progs...)
		tmu.Unlock()
		if ft.viaDo && r.Err != nil && !strings.Contains(r.Err.Error(), "task-") && !errors.Is(r.Err, atmo.ErrNoWorker) {
			// Refused before it was added.
			switch {
			case errors.Is(r.Err, atmo.ErrQueueFull), errors.Is(r.Err, atmo.ErrCanceled) && ft.canceled.Load(), errors.Is(r.Err, atmo.ErrClosed) && ft.closing:
			default:
				f.fail("task %d (%s, Do): refused with %v", ft.i, ft.name, r.Err)
			}
			continue
		}
		seen.Add(r.Err)
		if r.Err == nil {
			want, ok := atmotest.Result(ft.name, ft.i, ft.params)
			if ft.name == "xfer" {
				want, ok = map[string]any{"id": float64(ft.i), "n": float64(ft.xferLen), "sum": float64(ft.xferLen * (ft.i % 251))}, true
				if v, isJS := r.Content.(js.Value); ft.raw && isJS {
					r.Content = map[string]any{"id": v.Get("id").Float(), "n": v.Get("n").Float(), "sum": v.Get("sum").Float()}
				} else if ft.raw {
					f.fail("task %d (xfer): RawResult gave a %T", ft.i, r.Content)
				}
			}
			if !ok {
				f.fail("task %d (%s): succeeded with %v", ft.i, ft.name, r.Content)
			} else if fmt.Sprint(want) != fmt.Sprint(r.Content) {
				f.fail("task %d (%s): result %v, want %v", ft.i, ft.name, r.Content, want)
			}
			if ft.moved != nil && ft.moved.Get("byteLength").Int() != 0 {
				f.fail("task %d (xfer): its atmo.Transfer buffer of %d bytes was copied, not moved", ft.i, ft.xferLen)
			}
		} else {
			var te *atmo.TaskError
			switch {
			case errors.As(r.Err, &te):
				kinds["task error"]++
				if ft.name != "fail" && ft.name != "throws" {
					f.fail("task %d (%s): TaskError %v", ft.i, ft.name, r.Err)
				} else if te.Message != ft.params["message"] || te.Name != ft.name || te.TaskID == "" || te.WorkerID == "" {
					f.fail("task %d: TaskError fields %+v", ft.i, *te)
				}
			case errors.Is(r.Err, atmo.ErrCanceled):
				kinds["canceled"]++
				if ft.viaDo && !errors.Is(r.Err, context.Canceled) {
					f.fail("task %d (%s, Do): cancelled, not by its context: %v", ft.i, ft.name, r.Err)
				}
				if !ft.canceled.Load() {
					f.fail("task %d (%s): cancelled, but nothing cancelled it: %v", ft.i, ft.name, r.Err)
				}
			case errors.Is(r.Err, atmo.ErrTimeout):
				kinds["timeout"]++
				if ft.timeout == 0 && !strings.Contains(r.Err.Error(), "TaskTimeout") && defaultTimeout == 0 {
					f.fail("task %d (%s): timed out with no Timeout: %v", ft.i, ft.name, r.Err)
				}
			case errors.Is(r.Err, atmo.ErrClosed):
				kinds["closed"]++
				// A task running on a worker closed by TaskWorker.Close
				// fails with ErrClosed too, with no Retries left or with
				// its buffers moved there (errors.go).
				if !ft.closing && !ft.closedAway {
					f.fail("task %d (%s): ErrClosed before any Close: %v", ft.i, ft.name, r.Err)
				}
			case errors.Is(r.Err, atmo.ErrNoWorker):
				kinds["no worker"]++
				if ft.listed && !ft.gone && !ft.closing && !startsMayFail {
					f.fail("task %d (%s): no worker, though none was closed: %v", ft.i, ft.name, r.Err)
				}
			case errors.Is(r.Err, atmo.ErrWorkerCrashed):
				kinds["crashed"]++
			default:
				f.fail("task %d (%s): error wraps no sentinel: %v", ft.i, ft.name, r.Err)
			}
			if !ft.viaDo && !ft.listed && !errors.Is(r.Err, atmo.ErrNoWorker) && !errors.Is(r.Err, atmo.ErrCanceled) && !errors.Is(r.Err, atmo.ErrClosed) {
				f.fail("task %d (%s): no config listed it, yet it failed with %v", ft.i, ft.name, r.Err)
			}
		}
		runs, err := atmotest.ProgressRuns(progs) // 1..n, again from 1 on a retry
		if err != nil {
			f.fail("task %d: %v", ft.i, err)
		}
		if runs > ft.retries+1 {
			f.fail("task %d (%s): ran %d times (progress %v) with Retries %d", ft.i, ft.name, runs, progs, ft.retries)
		}
		ranTwice += max(runs-1, 0)
	}
	s := tm.Stats()
	var workers []*atmo.ServerTaskWorker
	for _, m := range wms {
		workers = append(workers, m.Workers()...)
	}
	atmotest.CheckClosed(tm, s, seen, workers, f.fail)
	if s.Retried < ranTwice {
		f.fail("final Stats: Retried %d, but %d runs again were seen", s.Retried, ranTwice)
	}
	t.Logf("seed %d: failures %v, inner close %v, wm closes %v", seed, kinds, innerClosed.Load(), closing.Load())
	t.Logf("seed %d: %d worker managers, %d submitted, %d done, %d failed, %d canceled, %d timed out, %d retried, %d crashed, %d restarted, %d rejected, %d grown, %d released, %d ignored",
		seed, len(wms), s.Submitted, s.Done, s.Failed, s.Canceled, s.TimedOut, s.Retried, s.Crashed, s.Restarted, s.Rejected, s.Grown, s.Released, s.Ignored)

	// Strict priorities (aging off), among the tasks a Go worker lists
	// too (it lists fewer names than a JS one; tasks of Do have priority 0).
	if aging < 0 && !innerClosed.Load() {
		goTask := func(name string) bool { return slices.Contains(nodeGoTasks, name) }
		for _, v := range rec.Violations(func(a, b string) bool { return goTask(a) && goTask(b) }) {
			f.fail("%v", v)
		}
	}
	rec.Check(s, innerClosed.Load(), f.fail)

	// Nothing of the package is left running: no goroutine, no thread,
	// no port, and no more timers than a bound.
	var left []string
	var res map[string]int
	leak := func() string {
		var out []string
		for k, n := range res {
			if k == "PipeWrap" || k == "TTYWrap" {
				continue // process.stdout and stderr, made when a thread first writes to them
			}
			bound := baseRes[k]
			if k == "Timeout" {
				bound += 4 // the Go runtime's own wake-ups
			}
			if n > bound {
				out = append(out, fmt.Sprintf("%s %d (before %d)", k, n, baseRes[k]))
			}
		}
		return strings.Join(out, ", ")
	}
	atmotest.Eventually(3*time.Second, func() bool {
		left, res = atmotest.Goroutines("nodetest."), activeResources()
		return len(left) == 0 && leak() == ""
	})
	if len(left) > 0 {
		f.fail("%d atmo goroutines after Close, first:\n%s", len(left), left[0])
	}
	if l := leak(); l != "" {
		f.fail("Node.js resources left after Close: %s", l)
	}
	return f
}
