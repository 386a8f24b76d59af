//go:build js && wasm

package atmo_test

import (
	"errors"
	"flag"
	"fmt"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/atmoworkers/atmo/wasm/atmo"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

var soakTasks = flag.Int("soak.tasks", 10_000, "tasks the chaos soak runs (make soak runs more)")

// TestChaosSoak runs many tasks over a mixed pool of JS and Go workers while
// a chaos monkey terminates a random running worker about every 200 tasks, some
// tasks time out and some are cancelled. Every task must settle exactly
// once, with the right result or an error of an expected kind, and the pool
// must come back whole.
func TestChaosSoak(t *testing.T) {
	n := *soakTasks
	js := atmo.WorkerConfig{Tasks: []string{"echo", "sleep"}, Script: chaosConfig(t).Script, Concurrency: 2}
	gow := atmo.WorkerConfig{Tasks: []string{"echo", "sleep"}, Module: moduleURL(t, goTestModule), Concurrency: 2}
	tm, wm := pool(t, js, js, gow, gow)
	start := time.Now()

	type kind int
	const (
		plain    kind = iota
		slow          // runs past its timeout
		canceled      // cancelled while queued or running
	)
	settled := make([]atomic.Int32, n)
	outcome := make([]atmo.Response, n)
	kinds := make([]kind, n)
	var wg sync.WaitGroup
	var doneCount atomic.Int64

	stopMonkey := make(chan struct{})
	var kills atomic.Int32
	go func() { // the chaos monkey
		next := int64(200)
		for {
			select {
			case <-stopMonkey:
				return
			case <-time.After(2 * time.Millisecond):
			}
			if doneCount.Load() >= next {
				// Only a worker that is up: one killed while it starts counts
				// as a failed start, and after three in a row its slot gives
				// up by design (Restart.MaxBootFailures), which is not what
				// this soak is about.
				var up []*atmo.TaskWorker
				for _, w := range wm.Workers() {
					if s := w.Status(); s == atmo.WorkerAvailable || s == atmo.WorkerWorking {
						up = append(up, w)
					}
				}
				if len(up) == 0 {
					continue
				}
				next += 150 + rand.Int64N(100)
				up[rand.IntN(len(up))].Terminate()
				kills.Add(1)
			}
		}
	}()

	var toCancel []*atmo.TaskRequest
	for i := 0; i < n; i++ {
		p := atmo.TaskParams{Name: "echo", Params: map[string]any{"i": i}, Retries: 5}
		switch {
		case i%97 == 0:
			kinds[i] = slow
			p = atmo.TaskParams{Name: "sleep", Params: map[string]any{"ms": 5000}, Timeout: 150 * time.Millisecond}
		case i%89 == 0:
			kinds[i] = canceled
			p = atmo.TaskParams{Name: "sleep", Params: map[string]any{"ms": 2000}}
		}
		wg.Add(1)
		settle := func(r atmo.Response) {
			if settled[i].Add(1) == 1 {
				outcome[i] = r
			}
			doneCount.Add(1)
			wg.Done()
		}
		p.OnSuccess, p.OnError = settle, settle
		task, err := tm.AddTask(p)
		require.NoError(t, err)
		if kinds[i] == canceled {
			toCancel = append(toCancel, task)
		}
	}
	go func() {
		for _, task := range toCancel {
			time.Sleep(time.Duration(rand.IntN(20)) * time.Millisecond)
			task.Cancel()
		}
	}()
	wg.Wait()
	close(stopMonkey)
	elapsed := time.Since(start)

	counts := map[string]int{}
	for i := 0; i < n; i++ {
		require.Equal(t, int32(1), settled[i].Load(), "task %d settled once", i)
		r := outcome[i]
		switch {
		case kinds[i] == plain && r.Err == nil:
			counts["ok"]++
			assert.Equal(t, map[string]any{"i": float64(i)}, r.Content, "task %d", i)
		case kinds[i] == plain:
			counts["crashed"]++
			assert.ErrorIs(t, r.Err, atmo.ErrWorkerCrashed, "task %d: %v", i, r.Err)
		case kinds[i] == slow:
			counts["timed out"]++
			assert.True(t, errors.Is(r.Err, atmo.ErrTimeout) || errors.Is(r.Err, atmo.ErrWorkerCrashed), "task %d: %v", i, r.Err)
		case kinds[i] == canceled:
			counts["canceled"]++
			assert.True(t, errors.Is(r.Err, atmo.ErrCanceled) || errors.Is(r.Err, atmo.ErrWorkerCrashed) || r.Err == nil, "task %d: %v", i, r.Err)
		}
	}
	require.NoError(t, wm.Ready(testCtx(t)), "every slot restarted")
	notAvailable := func() (out []string) {
		for _, w := range wm.Workers() {
			if w.Status() != atmo.WorkerAvailable {
				out = append(out, fmt.Sprintf("%s (%s) %s, last error %q", w.ID(), w.Kind(), w.Status(), w.LastError()))
			}
		}
		return out
	}
	for deadline := time.Now().Add(10 * time.Second); len(notAvailable()) > 0 && time.Now().Before(deadline); {
		time.Sleep(10 * time.Millisecond)
	}
	require.Empty(t, notAvailable(), "every worker slot back to available; tasks still working: %v", tm.Status().Working)
	st := tm.Status()
	assert.Empty(t, st.Pending)
	assert.Empty(t, st.Working)
	s := tm.Stats()
	assert.Equal(t, n, s.Done+s.Failed)
	fmt.Printf("chaos soak: %d tasks in %v (%.0f tasks/s): %d ok, %d failed after crashes, %d timed out, %d cancelled; "+
		"%d kills, %d crashes, %d restarts, %d retries, %d ignored messages\n",
		n, elapsed.Round(time.Millisecond), float64(n)/elapsed.Seconds(), counts["ok"], counts["crashed"], counts["timed out"], counts["canceled"],
		kills.Load(), s.Crashed, s.Restarted, s.Retried, s.Ignored)
}
