package atmo

import (
	"context"
	"fmt"
	"math/rand/v2"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// checkInvariants checks, under tm.mu, what must hold between any two
// messages: every submitted task is in exactly one place.
func checkInvariants(t *testing.T, tm *TaskManager, step string) {
	t.Helper()
	tm.mu.Lock()
	defer tm.mu.Unlock()
	c := &tm.stats
	if c.submitted != c.done+c.failed+tm.tasks.len() {
		t.Fatalf("%s: submitted %d != done %d + failed %d + in table %d", step, c.submitted, c.done, c.failed, tm.tasks.len())
	}
	if c.canceled > c.failed {
		t.Fatalf("%s: canceled %d > failed %d", step, c.canceled, c.failed)
	}
	queued := 0
	for name, q := range tm.queues {
		queued += q.Len()
		if q.Len() > 0 && len(tm.byName[name]) == 0 {
			t.Fatalf("%s: %d tasks of %q queued with no worker listing it", step, q.Len(), name)
		}
	}
	if queued != tm.queued {
		t.Fatalf("%s: tm.queued %d, queues hold %d", step, tm.queued, queued)
	}
	running := 0
	for _, p := range tm.pools {
		for _, w := range p.workers {
			if len(w.inflight) > w.config.Concurrency {
				t.Fatalf("%s: %s holds %d > Concurrency %d", step, w.id, len(w.inflight), w.config.Concurrency)
			}
			for _, x := range w.inflight {
				if !x.settled {
					running++
					if x.worker != w {
						t.Fatalf("%s: %s on %s says its worker is %v", step, x.id, w.id, x.worker)
					}
				}
			}
			if w.status != WorkerClosed && w.hasRoom() {
				for _, n := range w.tasks {
					if q := tm.queues[n]; q != nil && q.Len() > 0 {
						t.Fatalf("%s: %s has room (%d/%d, %v) while %d tasks of %q wait", step, w.id, len(w.inflight), w.config.Concurrency, w.status, q.Len(), n)
					}
				}
			}
		}
	}
	if running != tm.tasks.len()-tm.queued {
		t.Fatalf("%s: %d running on workers, table %d - queued %d", step, running, tm.tasks.len(), tm.queued)
	}
}

func TestRandomOperationsKeepEveryTaskInExactlyOnePlace(t *testing.T) {
	seeds := 150
	for seed := uint64(1); seed <= uint64(seeds); seed++ {
		t.Run(fmt.Sprint(seed), func(t *testing.T) { randomRun(t, seed) })
	}
}

func randomRun(t *testing.T, seed uint64) {
	rng := rand.New(rand.NewPCG(seed, 7))
	tm := NewTaskManagerWithOptions(Options{CancelGrace: 500 * time.Millisecond, MaxQueue: 5 + rng.IntN(20)})
	clk := withClock(tm)
	forever := make(chan struct{})
	defer close(forever)
	run := func(w *TaskWorker, name string, params any) (any, string) {
		switch name {
		case "hang":
			<-forever
		case "err":
			return nil, "boom"
		}
		return w.id, ""
	}
	configs := []WorkerConfig{
		{Tasks: []string{"ok", "hang", "err"}, Script: "stops", Concurrency: 2},
		{Tasks: []string{"ok", "hang"}, Script: "plain", Count: 1, MaxWorkers: 3, IdleTimeout: time.Second, Concurrency: 1 + rng.IntN(2)},
		{Tasks: []string{"ok", "err"}, Script: "plain2", Restart: RestartPolicy{Never: rng.IntN(2) == 0}},
	}
	spawn := func(w *TaskWorker) (transport, error) {
		if rng.IntN(10) == 0 {
			return nil, fmt.Errorf("spawn failed")
		}
		f := &fakeTransport{pool: w.pool, w: w, run: run, stops: w.config.Script == "stops", silent: rng.IntN(10) == 0}
		if f.stops && rng.IntN(3) == 0 {
			f.onCancel = func(*fakeTransport, string) {} // hears the cancel, and goes on
		}
		return f, nil
	}
	p, err := newWorkerPool(tm, spawn, configs)
	require.NoError(t, err)
	var p2 *workerPool
	if rng.IntN(2) == 0 {
		p2, err = newWorkerPool(tm, spawn, []WorkerConfig{{Tasks: []string{"hang", "ok"}, Script: "stops", Concurrency: 3}})
		require.NoError(t, err)
	}
	var mu sync.Mutex
	var doWG sync.WaitGroup
	settled := map[string]int{}
	var tasks []*TaskRequest
	var cancels []context.CancelFunc
	cb := func(r Response) { mu.Lock(); settled[r.TaskID]++; mu.Unlock() }
	names := []string{"ok", "hang", "err", "hang", "ok"}
	for step := 0; step < 200; step++ {
		op := rng.IntN(12)
		desc := ""
		switch {
		case op < 5:
			c, cancel := context.WithCancel(context.Background())
			cancels = append(cancels, cancel)
			tp := TaskParams{Name: names[rng.IntN(len(names))], Retries: rng.IntN(3), OnSuccess: cb, OnError: cb, Priority: rng.IntN(3)}
			if rng.IntN(2) == 0 {
				tp.Timeout = time.Duration(1+rng.IntN(3)) * 300 * time.Millisecond
			}
			if rng.IntN(3) == 0 {
				tp.Context = c
			}
			task, err := tm.AddTask(tp)
			if err == nil {
				tasks = append(tasks, task)
			}
			desc = "add " + tp.Name
		case op == 5 && len(tasks) > 0:
			tasks[rng.IntN(len(tasks))].Cancel()
			desc = "cancel"
		case op == 6 && len(cancels) > 0:
			cancels[rng.IntN(len(cancels))]()
			desc = "ctx cancel"
		case op == 7:
			ws := p.list()
			w := ws[rng.IntN(len(ws))]
			p.workerExit(w, "chaos")
			desc = "crash " + w.id
		case op == 8:
			ws := p.list()
			w := ws[rng.IntN(len(ws))]
			p.workerError(w, "Uncaught chaos")
			desc = "error " + w.id
		case op == 9 && rng.IntN(4) == 0:
			ws := p.list()
			w := ws[rng.IntN(len(ws))]
			_ = w.Close()
			desc = "close " + w.id
		case op == 11 && rng.IntN(2) == 0:
			dctx, dcancel := context.WithCancel(context.Background())
			cancels = append(cancels, dcancel)
			name := names[rng.IntN(len(names))]
			doWG.Add(1)
			go func() {
				defer doWG.Done()
				_, _ = tm.Do(dctx, name, nil)
			}()
			desc = "do " + name
		case op == 11 && p2 != nil && rng.IntN(8) == 0:
			p2.close(ErrClosed)
			p2 = nil
			desc = "close p2"
		case op == 10 && rng.IntN(4) == 0:
			_, _ = p.add(configs[rng.IntN(len(configs))])
			desc = "add worker"
		default:
			d := time.Duration(rng.IntN(8)) * 100 * time.Millisecond
			clk.Advance(d)
			desc = fmt.Sprint("advance ", d)
		}
		time.Sleep(200 * time.Microsecond) // let fake answers come
		checkInvariants(t, tm, fmt.Sprintf("seed %d step %d (%s)", seed, step, desc))
	}
	// Everything settles at Close, once.
	closed := make(chan struct{})
	go func() {
		if rng.IntN(2) == 0 {
			for _, c := range cancels {
				c()
			}
		}
		close(closed)
	}()
	require.NoError(t, tm.Close())
	<-closed
	dos := make(chan struct{})
	go func() { doWG.Wait(); close(dos) }()
	select {
	case <-dos:
	case <-time.After(5 * time.Second):
		t.Fatalf("seed %d: a Do hangs after Close", seed)
	}
	mu.Lock()
	defer mu.Unlock()
	for _, task := range tasks {
		if settled[task.ID()] != 1 {
			t.Fatalf("seed %d: task %s settled %d times", seed, task.ID(), settled[task.ID()])
		}
	}
	s := tm.Stats()
	if s.Submitted != s.Done+s.Failed || s.Queued != 0 || s.Running != 0 {
		t.Fatalf("seed %d: after Close %+v", seed, s)
	}
}
