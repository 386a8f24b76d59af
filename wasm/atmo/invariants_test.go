//go:build js && wasm

package atmo_test

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"math/rand/v2"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/atmoworkers/atmo/wasm/atmo"
	"github.com/atmoworkers/atmo/wasm/atmo/internal/atmotest"
	"github.com/atmoworkers/atmo/wasm/internal/jstest"
)

var (
	fuzzSeeds = flag.Int("invariants.seeds", 20, "seeds TestRandomOperationsOnRealWorkersKeepEveryInvariant runs")
	fuzzFirst = flag.Int("invariants.first", 1, "first seed")
	fuzzDump  = flag.Bool("invariants.dump", false, "log the events before a priority violation")
	fuzzOps   = flag.Int("invariants.ops", 120, "operations per seed")
)

const fuzzJSWorker = `
const sleep = (ms, signal) => new Promise((resolve, reject) => {
  if (signal.aborted) return reject(signal.reason);
  const timer = setTimeout(resolve, ms);
  signal.addEventListener('abort', () => { clearTimeout(timer); reject(signal.reason); }, { once: true });
});
atmoWorker({
  echo: (p) => p,
  sleep: async ({ id, ms }, { signal }) => { await sleep(ms, signal); return { id, slept: true }; },
  fail: ({ message }) => { throw new Error(message); },
  progress: async ({ id, steps }, { progress }) => {
    for (let i = 1; i <= steps; i++) { progress(i); await new Promise((r) => setTimeout(r, 1)); }
    return { id, steps };
  },
  busy: ({ id, ms }) => { const end = Date.now() + ms; while (Date.now() < end) {} return { id, busy: true }; },
  crash: () => { setTimeout(() => { throw new Error('crash on purpose'); }, 0); return new Promise(() => {}); },
});`

var fuzzTasks = []string{"echo", "sleep", "fail", "progress", "busy", "crash"}

type fuzzTask struct {
	i                   int
	name                string
	params              map[string]any
	viaDo               bool
	settles             atomic.Int32
	resp                atmo.Response
	progs               []any
	afterSettleProgress bool
	submitted           bool
	settledClosing      bool
	settledWorkerClosed bool        // a worker's Close came first: one it ran, without Retries, fails with ErrClosed
	cancelable          atomic.Bool // Cancel, DeleteTask or a context may have cancelled it
	timeout             time.Duration
}

type fuzzRun struct {
	t       *testing.T
	seed    uint64
	mu      sync.Mutex
	errs    []string
	closed  atomic.Bool // tm.Close returned
	closing atomic.Bool // tm.Close or wm.Close called
	// workerClosed: a worker's Close called
	workerClosed atomic.Bool
}

func (f *fuzzRun) fail(format string, a ...any) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.errs = append(f.errs, fmt.Sprintf(format, a...))
}

func TestRandomOperationsOnRealWorkersKeepEveryInvariant(t *testing.T) {
	jsURL := jstest.HelperWorker(t, fuzzJSWorker)
	goURL := moduleURL(t, "bin/wasm/testdata/variety.wasm")
	base := atmotest.Goroutines("atmo_test.")
	if len(base) > 0 {
		t.Logf("atmo goroutines before: %d", len(base))
	}
	for s := *fuzzFirst; s < *fuzzFirst+*fuzzSeeds; s++ {
		seed := uint64(s)
		start := time.Now()
		f := fuzzOne(t, seed, jsURL, goURL, *fuzzOps)
		if len(f.errs) > 0 {
			for _, e := range f.errs {
				t.Errorf("seed %d: %s", seed, e)
			}
		}
		t.Logf("seed %d in %v", seed, time.Since(start).Round(time.Millisecond))
	}
}

func fuzzOne(t *testing.T, seed uint64, jsURL, goURL string, nops int) *fuzzRun {
	rng := rand.New(rand.NewPCG(seed, seed*7919+1))
	f := &fuzzRun{t: t, seed: seed}
	aging := []time.Duration{0, -1, 20 * time.Millisecond}[rng.IntN(3)]
	tm := atmo.NewTaskManagerWithOptions(atmo.Options{
		CancelGrace:   time.Duration(50+rng.IntN(200)) * time.Millisecond,
		Restart:       atmo.RestartPolicy{Backoff: 10 * time.Millisecond, MaxBootFailures: 5},
		MaxQueue:      []int{0, 3, 10}[rng.IntN(3)],
		AgingInterval: aging,
	})
	var rejected int
	// A subscriber for the whole run: Seq goes up by one, every task's
	// events end with one task-deleted, after one final task-updated.
	rec := &atmotest.Recorder{Over: f.closed.Load, KeepAll: *fuzzDump}
	tm.Subscribe(rec.Record)
	cfg := func() atmo.WorkerConfig {
		c := atmo.WorkerConfig{Tasks: fuzzTasks, Concurrency: 1 + rng.IntN(4), StartTimeout: 20 * time.Second}
		if rng.IntN(2) == 0 {
			c.Script = jsURL
		} else {
			c.Module = goURL
		}
		if rng.IntN(3) == 0 {
			c.Count = 2
		}
		if rng.IntN(3) == 0 {
			c.MaxWorkers = max(c.Count, 1) + 1 + rng.IntN(2)
			c.IdleTimeout = time.Duration(20+rng.IntN(200)) * time.Millisecond
		}
		if c.Script != "" && rng.IntN(3) == 0 {
			c.Type = "module"
		}
		if rng.IntN(4) == 0 {
			c.KeepAwake = time.Duration(rng.IntN(1000)) * time.Microsecond
		}
		return c
	}
	var configs []atmo.WorkerConfig
	for n := 1 + rng.IntN(2); n > 0; n-- {
		configs = append(configs, cfg())
	}
	wm, err := atmo.NewBrowserWorkerManager(tm, configs...)
	if err != nil {
		f.fail("NewBrowserWorkerManager: %v", err)
		tm.Close()
		return f
	}
	if rng.IntN(2) == 0 {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		if err := wm.Ready(ctx); err != nil {
			f.fail("Ready: %v", err)
		}
		cancel()
	}

	var tasks []*fuzzTask
	var reqs []*atmo.TaskRequest
	var reqTask []*fuzzTask
	var doWG sync.WaitGroup
	var unsubs []func()
	var subSeqErr atomic.Value
	var tmu sync.Mutex // guards fuzzTask fields written by callbacks

	// Sometimes a callback closes the manager: after that Close returns,
	// no other task's callback starts.
	closerIdx := -1
	closerKind := rng.IntN(3) // 0: OnSuccess/OnError, 1: OnProgress, 2: a subscriber
	if rng.IntN(3) == 0 {
		closerIdx = rng.IntN(nops / 2)
	}
	var innerClosed atomic.Bool
	var closer *fuzzTask
	check := func(ft *fuzzTask, r atmo.Response) {
		if !ft.viaDo && innerClosed.Load() && ft != closer {
			f.fail("task %d (%s): callback started after a Close from a callback returned: %+v", ft.i, ft.name, r)
		}
		if !ft.viaDo && f.closed.Load() {
			f.fail("task %d (%s): settled after Close returned: %+v", ft.i, ft.name, r)
		}
		if n := ft.settles.Add(1); n != 1 {
			f.fail("task %d (%s): settled %d times", ft.i, ft.name, n)
			return
		}
		tmu.Lock()
		ft.resp = r
		ft.settledClosing = f.closing.Load()
		ft.settledWorkerClosed = f.workerClosed.Load()
		tmu.Unlock()
	}
	newTask := func(name string, viaDo bool) *fuzzTask {
		ft := &fuzzTask{i: len(tasks), name: name, viaDo: viaDo}
		ft.params = map[string]any{"id": ft.i}
		switch name {
		case "sleep", "busy":
			ft.params["ms"] = rng.IntN(150)
		case "progress":
			ft.params["steps"] = 1 + rng.IntN(5)
		case "fail":
			ft.params["message"] = fmt.Sprintf("failure %d", ft.i)
		}
		tasks = append(tasks, ft)
		return ft
	}
	pickName := func() string {
		w := rng.IntN(100)
		switch {
		case w < 30:
			return "echo"
		case w < 50:
			return "sleep"
		case w < 62:
			return "fail"
		case w < 80:
			return "progress"
		case w < 94:
			return "busy"
		case w < 97:
			return "crash"
		}
		return "nosuch"
	}
	if closerIdx >= 0 && closerKind == 2 {
		var deleted atomic.Int32
		tm.Subscribe(func(m atmo.Message) {
			if m.Kind == atmo.KindTaskDeleted && int(deleted.Add(1)) == closerIdx+1 {
				f.closing.Store(true)
				tm.Close()
				innerClosed.Store(true)
			}
		})
	}
	var workerGone atomic.Bool // a worker's Close or Terminate (a start it kills counts as a failed one)
	burst := 0
	for op := 0; op < nops; op++ {
		k := rng.IntN(100)
		if burst > 0 {
			burst--
			k = rng.IntN(60)
		} else if rng.IntN(20) == 0 {
			burst = 5 + rng.IntN(20)
		}
		switch {
		case k < 45: // AddTask
			ft := newTask(pickName(), false)
			ctx, arm := atmotest.RandContext(rng)
			p := atmo.TaskParams{Name: ft.name, Params: ft.params, Priority: rng.IntN(7) - 3, Retries: rng.IntN(3), Context: ctx}
			if rng.IntN(3) == 0 {
				p.Timeout = time.Duration(20+rng.IntN(200)) * time.Millisecond
				if rng.IntN(2) == 0 {
					p.Timeout = time.Duration(1+rng.IntN(5000)) * time.Microsecond
				}
			}
			p.OnSuccess = func(r atmo.Response) { check(ft, r) }
			p.OnError = func(r atmo.Response) { check(ft, r) }
			if closer == nil && closerIdx >= 0 && ft.i >= closerIdx && closerKind == 1 && ft.name == "progress" {
				closer = ft
				prev := p.OnProgress
				p.OnProgress = func(pr atmo.Progress) {
					if prev != nil {
						prev(pr)
					}
					f.closing.Store(true)
					tm.Close()
					innerClosed.Store(true)
				}
			}
			if closer == nil && closerIdx >= 0 && ft.i >= closerIdx && closerKind == 0 {
				closer = ft
				p.OnSuccess = func(r atmo.Response) {
					check(ft, r)
					f.closing.Store(true)
					tm.Close() // the first Close, or a second one while Close from main runs
					innerClosed.Store(true)
				}
				p.OnError = p.OnSuccess
			}
			if rng.IntN(2) == 0 {
				p.OnProgress = func(pr atmo.Progress) {
					if f.closed.Load() {
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
			if errors.Is(err, atmo.ErrClosed) && f.closing.Load() {
				ft.settles.Store(-100)
				continue
			}
			if errors.Is(err, atmo.ErrQueueFull) {
				rejected++
				ft.settles.Store(-100)
				continue
			}
			if err != nil {
				f.fail("AddTask %d (%s): %v", ft.i, ft.name, err)
				ft.settles.Store(-100)
				continue
			}
			ft.submitted = true
			rec.SetPriority(req.ID(), p.Priority)
			ft.timeout = p.Timeout
			reqs = append(reqs, req)
			reqTask = append(reqTask, ft)
			if arm != nil {
				ft.cancelable.Store(true)
				arm()
			}
		case k < 60: // Do
			ft := newTask(pickName(), true)
			ctx, arm := atmotest.RandContext(rng)
			if ctx == nil {
				ctx = context.Background()
			}
			if arm != nil {
				ft.cancelable.Store(true)
				arm()
			}
			ft.submitted = true
			doWG.Add(1)
			go func() {
				defer doWG.Done()
				v, err := tm.Do(ctx, ft.name, ft.params)
				check(ft, atmo.Response{Content: v, Err: err})
			}()
		case k < 70: // Cancel or DeleteTask
			if len(reqs) > 0 {
				j := rng.IntN(len(reqs))
				r := reqs[j]
				reqTask[j].cancelable.Store(true)
				if rng.IntN(2) == 0 {
					r.Cancel()
				} else {
					tm.DeleteTask(r.ID())
				}
			}
		case k < 74: // AddWorker
			if _, err := wm.AddWorker(cfg()); err != nil && !(errors.Is(err, atmo.ErrClosed) && f.closing.Load()) {
				f.fail("AddWorker: %v", err)
			}
		case k < 77: // a worker's Close
			if ws := wm.Workers(); len(ws) > 0 {
				workerGone.Store(true)
				f.workerClosed.Store(true)
				ws[rng.IntN(len(ws))].Close()
			}
		case k < 82: // a worker's Terminate
			if ws := wm.Workers(); len(ws) > 0 {
				workerGone.Store(true)
				ws[rng.IntN(len(ws))].Terminate()
			}
		case k < 86: // Subscribe
			var last uint64
			sub := func(m atmo.Message) {
				if m.Seq <= last {
					subSeqErr.Store(fmt.Sprintf("Seq %d after %d (%s)", m.Seq, last, m.Kind))
				}
				last = m.Seq
			}
			if rng.IntN(2) == 0 {
				unsubs = append(unsubs, tm.Subscribe(sub))
			} else {
				unsubs = append(unsubs, tm.SubscribeBatch(func(ms []atmo.Message) {
					for _, m := range ms {
						sub(m)
					}
				}))
			}
		case k < 89: // unsubscribe
			if len(unsubs) > 0 {
				i := rng.IntN(len(unsubs))
				unsubs[i]()
				unsubs = append(unsubs[:i], unsubs[i+1:]...)
			}
		case k < 95: // Stats
			atmotest.CheckStats(tm.Stats(), f.fail)
		default:
			time.Sleep(time.Duration(rng.IntN(60)) * time.Millisecond)
		}
		if burst == 0 && rng.IntN(3) == 0 {
			time.Sleep(time.Duration(rng.IntN(15)) * time.Millisecond)
		}
	}
	// Let things run for a while, then Close (sometimes the worker manager first).
	time.Sleep(time.Duration(rng.IntN(400)) * time.Millisecond)
	f.closing.Store(true)
	if rng.IntN(3) == 0 {
		wm.Close()
	}
	closeDone := make(chan struct{})
	go func() { tm.Close(); f.closed.Store(true); close(closeDone) }()
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
	for _, u := range unsubs {
		u()
	}
	if e := subSeqErr.Load(); e != nil {
		f.fail("subscriber: %v", e)
	}

	// Check every task.
	var seen atmotest.Tally
	for _, ft := range tasks {
		if !ft.submitted || ft.settles.Load() == -100 {
			continue
		}
		n := ft.settles.Load()
		if n != 1 {
			f.fail("task %d (%s, Do=%v): settled %d times", ft.i, ft.name, ft.viaDo, n)
			continue
		}
		tmu.Lock()
		r := ft.resp
		progs := append([]any(nil), ft.progs...)
		tmu.Unlock()
		if ft.viaDo && r.Err != nil && !strings.Contains(r.Err.Error(), "task-") && !errors.Is(r.Err, atmo.ErrNoWorker) {
			// Refused before it was added (a context already ended, a closed manager).
			if errors.Is(r.Err, atmo.ErrQueueFull) {
				rejected++
			} else if !errors.Is(r.Err, atmo.ErrCanceled) && !errors.Is(r.Err, atmo.ErrClosed) {
				f.fail("task %d (%s, Do): refused with %v", ft.i, ft.name, r.Err)
			}
			continue
		}
		seen.Add(r.Err)
		if r.Err == nil {
			if want, ok := atmotest.Result(ft.name, ft.i, ft.params); !ok {
				f.fail("task %d (%s): succeeded with %v", ft.i, ft.name, r.Content)
			} else if fmt.Sprint(want) != fmt.Sprint(r.Content) {
				f.fail("task %d (%s): result %v, want %v", ft.i, ft.name, r.Content, want)
			}
		} else {
			var te *atmo.TaskError
			switch {
			case errors.As(r.Err, &te):
				if ft.name != "fail" {
					f.fail("task %d (%s): TaskError %v", ft.i, ft.name, r.Err)
				} else if te.Message != ft.params["message"] || te.Name != ft.name || te.TaskID == "" || te.WorkerID == "" {
					f.fail("task %d: TaskError fields %+v", ft.i, *te)
				}
			case errors.Is(r.Err, atmo.ErrCanceled):
				if ft.viaDo && !errors.Is(r.Err, context.Canceled) {
					f.fail("task %d (%s, Do): cancelled, not by its context: %v", ft.i, ft.name, r.Err)
				}
				if !ft.cancelable.Load() {
					f.fail("task %d (%s): cancelled, but nothing cancelled it: %v", ft.i, ft.name, r.Err)
				}
			case errors.Is(r.Err, atmo.ErrTimeout):
				if ft.timeout == 0 {
					f.fail("task %d (%s): timed out with no Timeout: %v", ft.i, ft.name, r.Err)
				}
			case errors.Is(r.Err, atmo.ErrClosed):
				if !ft.settledClosing && !ft.settledWorkerClosed {
					f.fail("task %d (%s): ErrClosed before any Close: %v", ft.i, ft.name, r.Err)
				}
			case errors.Is(r.Err, atmo.ErrNoWorker):
				if ft.name != "nosuch" && !workerGone.Load() && !ft.settledClosing {
					f.fail("task %d (%s): no worker, though none was closed: %v", ft.i, ft.name, r.Err)
				}
			case errors.Is(r.Err, atmo.ErrWorkerCrashed):
			default:
				f.fail("task %d (%s): error wraps no sentinel: %v", ft.i, ft.name, r.Err)
			}
			if ft.name == "fail" && te == nil && !errors.Is(r.Err, atmo.ErrCanceled) && !errors.Is(r.Err, atmo.ErrClosed) && !errors.Is(r.Err, atmo.ErrWorkerCrashed) && !errors.Is(r.Err, atmo.ErrNoWorker) && !errors.Is(r.Err, atmo.ErrTimeout) {
				f.fail("task %d (fail): %v", ft.i, r.Err)
			}
		}
		if _, err := atmotest.ProgressRuns(progs); err != nil { // again from 1 on a retry
			f.fail("task %d: %v", ft.i, err)
		}
	}
	s := tm.Stats()
	atmotest.CheckClosed(tm, s, seen, wm.Workers(), f.fail)
	if s.Rejected != rejected {
		f.fail("final Stats: Rejected %d, seen %d", s.Rejected, rejected)
	}
	f.t.Logf("seed %d: %d submitted, %d done, %d failed, %d canceled, %d timed out, %d retried, %d crashed, %d restarted, %d rejected, %d grown, %d released, %d ignored",
		seed, s.Submitted, s.Done, s.Failed, s.Canceled, s.TimedOut, s.Retried, s.Crashed, s.Restarted, s.Rejected, s.Grown, s.Released, s.Ignored)
	// Strict priorities (aging off).
	if aging < 0 && !innerClosed.Load() {
		for _, v := range rec.Violations(nil) {
			f.fail("%v", v)
			if *fuzzDump {
				for _, m := range rec.Around(v.Claim.Seq, 60, 5) {
					f.t.Logf("  %d %s task=%s worker=%s %v %s", m.Seq, m.Kind, m.TaskID, m.WorkerID, m.Content, m.Error)
				}
			}
		}
	}
	rec.Check(s, innerClosed.Load(), f.fail)
	// No goroutine of the package remains.
	var left []string
	if !atmotest.Eventually(2*time.Second, func() bool { left = atmotest.Goroutines("atmo_test."); return len(left) == 0 }) {
		f.fail("%d atmo goroutines after Close, first:\n%s", len(left), left[0])
	}
	return f
}
