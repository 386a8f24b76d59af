package atmo

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
	"unsafe"

	"github.com/atmoworkers/atmo/wasm/internal/values"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func ctx(t *testing.T) context.Context {
	c, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	t.Cleanup(cancel)
	return c
}

func cfg(script string, tasks ...string) WorkerConfig {
	return WorkerConfig{Tasks: tasks, Script: script}
}

func TestTaskGoesOnlyToWorkersThatListItsName(t *testing.T) {
	tm := NewTaskManager()
	defer tm.Close()
	p, _ := fakePool(t, tm, echo, cfg("a", "resize"), cfg("b", "hash"), cfg("c", "resize", "hash", "zip"))
	require.NoError(t, p.ready(ctx(t)))
	for i := 0; i < 30; i++ {
		for name, allowed := range map[string][]string{"resize": {"worker-1", "worker-3"}, "hash": {"worker-2", "worker-3"}, "zip": {"worker-3"}} {
			got, err := tm.Do(ctx(t), name, i)
			require.NoError(t, err)
			assert.Contains(t, allowed, got.(map[string]any)["worker"])
		}
	}
}

func TestUnknownNameFailsAtOnceNamingTheKnownOnes(t *testing.T) {
	tm := NewTaskManager()
	defer tm.Close()
	fakePool(t, tm, echo, cfg("a", "add", "multiply"))
	var got Response
	done := make(chan struct{})
	task, err := tm.AddTask(TaskParams{Name: "resize", OnError: func(r Response) { got = r; close(done) }})
	require.NoError(t, err, "AddTask errs only for bad params")
	<-done
	assert.ErrorIs(t, got.Err, ErrNoWorker)
	assert.Equal(t, `atmo: no worker handles this task: no worker lists task "resize" (known: add, multiply)`, got.Error)
	assert.Equal(t, TaskFailed, task.Status())
}

func TestBadTaskParamsAreRefusedWithTheReason(t *testing.T) {
	tm := NewTaskManager()
	defer tm.Close()
	cyclic := map[string]any{}
	cyclic["self"] = cyclic
	for name, p := range map[string]TaskParams{
		"empty name": {Name: " "},
		"func":       {Name: "x", Params: func() {}},
		"channel":    {Name: "x", Params: map[string]any{"c": make(chan int)}},
		"cycle":      {Name: "x", Params: cyclic},
		"complex":    {Name: "x", Params: []any{1, complex(1, 2)}},
	} {
		_, err := tm.AddTask(p)
		assert.ErrorIs(t, err, ErrBadParams, name)
	}
	_, err := tm.Do(nil, "x", nil) //nolint:staticcheck // a nil context is what is tested
	assert.ErrorIs(t, err, ErrBadParams)
}

func TestAQueuedTaskKeepsItsParamsAsTheyWillBeSentWhateverTheCallerDoesNext(t *testing.T) {
	tm := NewTaskManager()
	defer tm.Close()
	fakePool(t, tm, echo, cfg("silent", "resize")) // never ready: the task stays queued
	type size struct {
		W int `json:"w"`
	}
	params := map[string]any{"size": size{W: 3}, "tags": []any{"a", 2}}
	task, err := tm.AddTask(TaskParams{Name: "resize", Params: params})
	require.NoError(t, err)
	assert.IsType(t, values.Encoded{}, task.params, "kept as bytes while queued, not as maps")
	params["tags"].([]any)[0] = "changed"
	params["more"] = true
	want := map[string]any{"size": map[string]any{"w": 3.0}, "tags": []any{"a", 2.0}}
	assert.Equal(t, want, task.Params(), "numbers as float64, structs as maps, as they were when added")
	task.Params().(map[string]any)["tags"] = nil
	assert.Equal(t, want, task.Params(), "each call gives a copy")
}

func TestAQueuedTasksSmallBytesAreCopiedWhenAddedAtTheTopAsInsideAMap(t *testing.T) {
	// TaskRequest.Params: "small ones are copied when it is added". A
	// []byte given as the params themselves was kept as the caller's slice,
	// so a buffer reused for the next chunk changed the queued task's.
	tm := NewTaskManager()
	defer tm.Close()
	fakePool(t, tm, echo, cfg("silent", "hash")) // never ready: the tasks stay queued
	top, inMap := []byte{1, 2, 3}, []byte{1, 2, 3}
	a, err := tm.AddTask(TaskParams{Name: "hash", Params: top})
	require.NoError(t, err)
	b, err := tm.AddTask(TaskParams{Name: "hash", Params: map[string]any{"b": inMap}})
	require.NoError(t, err)
	top[0], inMap[0] = 9, 9
	assert.Equal(t, map[string]any{"b": []byte{1, 2, 3}}, b.Params(), "inside a map: copied when added")
	assert.Equal(t, []byte{1, 2, 3}, a.Params(), "the params themselves: copied when added too")
	a.Params().([]byte)[1] = 7
	assert.Equal(t, []byte{1, 2, 3}, a.Params(), "each call gives a copy")
}

func TestATaskRecordFitsTheAllocatorsTwoHundredTwentyFourByteClass(t *testing.T) {
	// Every queued task holds one; the next size class up is 240 bytes.
	assert.LessOrEqual(t, unsafe.Sizeof(TaskRequest{}), uintptr(224))
}

func TestQueuedTasksWaitForABusyWorkerInOrder(t *testing.T) {
	tm := NewTaskManagerWithOptions(Options{AgingInterval: -1})
	defer tm.Close()
	release := make(chan struct{})
	var order []float64
	var mu sync.Mutex
	p, _ := fakePool(t, tm, func(w *TaskWorker, name string, params any) (any, string) {
		if params == "gate" {
			<-release
		}
		mu.Lock()
		order = append(order, asFloat(params))
		mu.Unlock()
		return params, ""
	}, cfg("a", "job"))
	require.NoError(t, p.ready(ctx(t)))
	var wg sync.WaitGroup
	add := func(params any, prio int) {
		wg.Add(1)
		_, err := tm.AddTask(TaskParams{Name: "job", Params: params, Priority: prio,
			OnSuccess: func(Response) { wg.Done() }, OnError: func(r Response) { t.Error(r.Error); wg.Done() }})
		require.NoError(t, err)
	}
	add("gate", 0)
	require.Eventually(t, func() bool { return len(tm.Status().Working) == 1 }, time.Second, time.Millisecond)
	add(1, 0)
	add(2, 0)
	add(3, 5)
	add(4, 0)
	add(5, 5)
	assert.Len(t, tm.Status().Pending, 5)
	close(release)
	wg.Wait()
	assert.Equal(t, []float64{-1, 3, 5, 1, 2, 4}, order, "higher priority first, FIFO within a priority")
}

func TestATaskBackInLineKeepsItsPlaceWithAgingOn(t *testing.T) {
	tm := NewTaskManager() // aging on, by default
	defer tm.Close()
	clk := withClock(tm)
	var mu sync.Mutex
	var order []string
	first := make(chan struct{})
	p, fakes := fakePool(t, tm, func(w *TaskWorker, name string, params any) (any, string) {
		mu.Lock()
		order = append(order, params.(string))
		n := len(order)
		mu.Unlock()
		if n == 1 {
			<-first // A's first run: its worker crashes under it
		}
		return params, ""
	}, cfg("a", "job"))
	defer close(first)
	require.NoError(t, p.ready(ctx(t)))
	a := doAsync(tm, TaskParams{Name: "job", Params: "A", Retries: 1})
	settleSoon(t, func() bool { mu.Lock(); defer mu.Unlock(); return len(order) == 1 }) // A's first run has begun
	clk.Advance(time.Second)
	b := doAsync(tm, TaskParams{Name: "job", Params: "B"})
	clk.Advance(time.Second)
	c := doAsync(tm, TaskParams{Name: "job", Params: "C"})
	clk.Advance(time.Second)

	p.workerExit((*fakes)[0].w, "exit code 1")
	clk.Advance(DefaultRestartBackoff)
	for _, r := range []<-chan Response{a, b, c} {
		select {
		case r := <-r:
			require.NoError(t, r.Err)
		case <-time.After(5 * time.Second):
			mu.Lock()
			defer mu.Unlock()
			t.Fatalf("not every task settled; ran: %v; status %+v; stats %+v", order, tm.Status(), tm.Stats())
		}
	}
	assert.Equal(t, []string{"A", "A", "B", "C"}, order, "A, added first, runs again before B and C")
	s := tm.Stats()
	assert.Equal(t, 3, s.QueueWait.Count, "a retry's wait is not counted twice")
}

func asFloat(v any) float64 {
	if f, ok := v.(float64); ok {
		return f
	}
	return -1
}

func TestAgingLetsALongWaitingTaskPassNewerHigherPriorities(t *testing.T) {
	now := time.Now()
	old := &TaskRequest{priority: 0, queued: now.UnixNano(), seq: 1}
	newer := &TaskRequest{priority: 2, queued: now.Add(3 * time.Second).UnixNano(), seq: 2}
	fresh := &TaskRequest{priority: 2, queued: now.Add(time.Second).UnixNano(), seq: 3}
	order := func(aging time.Duration, tasks ...*TaskRequest) []uint64 {
		q := &taskQueue{aging: aging}
		for _, t := range tasks {
			q.push(t)
		}
		var seqs []uint64
		for q.Len() > 0 {
			seqs = append(seqs, q.pop().seq)
		}
		return seqs
	}
	assert.Equal(t, []uint64{1, 2}, order(time.Second, newer, old), "waited 3 intervals, beats +2 priority")
	assert.Equal(t, []uint64{3, 1}, order(time.Second, old, fresh), "waited 1 interval, loses to +2 priority")
	assert.Equal(t, []uint64{2, 1}, order(0, old, newer), "without aging, priority decides")
}

func TestAQueueGivesUpItsTasksInRankOrderWhateverWasAddedAndRemoved(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	base := time.Now()
	for round := range 200 {
		aging := time.Duration(0)
		if round%2 == 1 {
			aging = time.Second
		}
		q := &taskQueue{aging: aging}
		var kept []*TaskRequest
		for i := range 1 + rng.IntN(60) {
			task := &TaskRequest{priority: rng.IntN(5) - 2, queued: base.Add(time.Duration(rng.IntN(5000)) * time.Millisecond).UnixNano(), seq: uint64(i + 1), index: -1}
			q.push(task)
			kept = append(kept, task)
			if rng.IntN(4) == 0 { // take out a task still waiting, anywhere in the heap
				j := rng.IntN(len(kept))
				q.remove(kept[j])
				assert.Equal(t, -1, kept[j].index)
				kept = slices.Delete(kept, j, j+1)
			}
		}
		rank := func(t *TaskRequest) int64 {
			if aging > 0 {
				return int64(t.priority)*int64(aging) - t.queued
			}
			return int64(t.priority)
		}
		want := slices.Clone(kept)
		slices.SortFunc(want, func(a, b *TaskRequest) int { // higher rank first, then adding order
			if c := cmp.Compare(rank(b), rank(a)); c != 0 {
				return c
			}
			return cmp.Compare(a.seq, b.seq)
		})
		var got []*TaskRequest
		for q.peek() != nil {
			got = append(got, q.pop())
		}
		require.Equal(t, want, got, "round %d", round)
		assert.Nil(t, q.pop(), "an empty queue gives nothing")
	}
}

func TestAQueueGivesUpItsTasksInRankOrderWhileTasksComeGoAndAreTakenInAnyOrder(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	base := time.Now()
	rank := func(aging time.Duration, t *TaskRequest) int64 {
		if aging > 0 {
			return int64(t.priority)*int64(aging) - t.queued
		}
		return int64(t.priority)
	}
	for round := range 300 {
		aging := time.Duration(0)
		if round%2 == 1 {
			aging = time.Second
		}
		// Most rounds add tasks mostly in the order they run (equal
		// priorities, later and later), as real queues do; some add a
		// higher priority now and then, some at random.
		outOfOrder := []int{0, 20, 100}[round%3]
		q := &taskQueue{aging: aging}
		var kept []*TaskRequest
		seq, clock := uint64(0), base
		first := func() *TaskRequest { // what should run first, worked out the slow way
			var best *TaskRequest
			for _, k := range kept {
				if best == nil || rank(aging, k) > rank(aging, best) || rank(aging, k) == rank(aging, best) && k.seq < best.seq {
					best = k
				}
			}
			return best
		}
		for range 1000 {
			switch op := rng.IntN(100); {
			case op < 55:
				seq++
				clock = clock.Add(time.Duration(rng.IntN(3)) * time.Millisecond)
				task := &TaskRequest{queued: clock.UnixNano(), seq: seq, index: -1}
				if rng.IntN(100) < outOfOrder {
					task.priority = rng.IntN(5) - 2
					task.queued = base.Add(time.Duration(rng.IntN(5000)) * time.Millisecond).UnixNano()
				}
				q.push(task)
				kept = append(kept, task)
			case op < 70 && len(kept) > 0: // a task still waiting is taken out, from anywhere
				j := rng.IntN(len(kept))
				q.remove(kept[j])
				require.Equal(t, -1, kept[j].index, "round %d", round)
				kept = slices.Delete(kept, j, j+1)
			default:
				want := first()
				require.Equal(t, want, q.peek(), "round %d", round)
				require.Equal(t, want, q.pop(), "round %d", round)
				if want != nil {
					require.Equal(t, -1, want.index, "round %d", round)
					kept = slices.DeleteFunc(kept, func(k *TaskRequest) bool { return k == want })
				}
			}
			require.Equal(t, len(kept), q.Len(), "round %d", round)
		}
	}
}

func TestEveryTaskSettlesExactlyOnceUnderConcurrentAddCancelAndClose(t *testing.T) {
	tm := NewTaskManager()
	p, _ := fakePool(t, tm, func(w *TaskWorker, name string, params any) (any, string) {
		time.Sleep(time.Duration(asFloat(params)) * time.Microsecond)
		if int(asFloat(params))%7 == 0 {
			return nil, "seven"
		}
		return params, ""
	}, cfg("a", "job"), cfg("b", "job"), cfg("c", "job"))
	require.NoError(t, p.ready(ctx(t)))
	const n = 2000
	var settled [n]atomic.Int32
	var wg sync.WaitGroup
	for g := 0; g < 4; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := g; i < n; i += 4 {
				cb := func(Response) { settled[i].Add(1) }
				task, err := tm.AddTask(TaskParams{Name: "job", Params: i % 50, OnSuccess: cb, OnError: cb})
				if err != nil {
					settled[i].Add(1) // refused after Close: settled by the error
					continue
				}
				if i%5 == 0 {
					tm.DeleteTask(task.ID())
				}
				if i == n/2 {
					go tm.Close()
				}
			}
		}()
	}
	wg.Wait()
	require.NoError(t, tm.Close())
	for i := range settled {
		assert.Equal(t, int32(1), settled[i].Load(), "task %d", i)
	}
}

func TestResponsesFromTheWrongWorkerOrTwiceAreIgnored(t *testing.T) {
	tm := NewTaskManager()
	defer tm.Close()
	hold := make(chan struct{})
	p, fakes := fakePool(t, tm, func(w *TaskWorker, name string, params any) (any, string) {
		<-hold
		return "real", ""
	}, cfg("a", "job"), cfg("b", "other"))
	require.NoError(t, p.ready(ctx(t)))
	task, err := tm.AddTask(TaskParams{Name: "job"})
	require.NoError(t, err)
	a, b := (*fakes)[0].w, (*fakes)[1].w
	p.receive(b, inbound{kind: KindWorkerResponse, task: task.seq, content: "forged"})
	p.receive(a, inbound{kind: KindWorkerResponse, task: 999, content: "unknown"})
	p.receive(a, inbound{kind: "bogus"})
	assert.Equal(t, TaskWorking, task.Status())
	p.receive(a, inbound{kind: KindWorkerResponse, task: task.seq, content: "first"})
	close(hold) // the real answer now arrives second and is ignored
	require.Eventually(t, func() bool { tm.mu.Lock(); defer tm.mu.Unlock(); return tm.stats.ignored == 4 }, time.Second, time.Millisecond)
	assert.Equal(t, 1, tm.Status().Done)
}

func TestAnAnswerFindsItsTaskOnlyByAnIdTheTaskManagerWrote(t *testing.T) {
	for id, want := range map[string]uint64{
		"task-1": 1, "task-42": 42, "task-18446744073709551615": 1<<64 - 1,
		"task-07": 0, "task-0": 0, "task-": 0, "task-+1": 0, "task-1.0": 0, "task-1e3": 0,
		"task- 1": 0, "Task-1": 0, "1": 0, "": 0, "task-18446744073709551616": 0,
	} {
		assert.Equal(t, want, seqOf(id), "seqOf(%q)", id)
	}
}

func TestTaskFindsAQueuedTaskByItsIdAndNothingByAnyOtherId(t *testing.T) {
	tm := NewTaskManager()
	defer tm.Close()
	block := make(chan struct{})
	defer close(block)
	p, _ := fakePool(t, tm, func(*TaskWorker, string, any) (any, string) { <-block; return nil, "" }, cfg("a", "job"))
	require.NoError(t, p.ready(ctx(t)))
	task, err := tm.AddTask(TaskParams{Name: "job"})
	require.NoError(t, err)
	got, ok := tm.Task(task.ID())
	require.True(t, ok)
	assert.Same(t, task, got)
	for _, id := range []string{"task-0" + task.ID()[len("task-"):], "Task-1", "1", "", "task-", "task-99"} {
		_, ok := tm.Task(id)
		assert.False(t, ok, "Task(%q)", id)
		tm.DeleteTask(id) // ignored
	}
	_, ok = tm.Task(task.ID())
	assert.True(t, ok, "deleting other ids left the task alone")
}

func TestAWorkerThatNeverAnswersInitIsClosedAfterStartTimeout(t *testing.T) {
	tm := NewTaskManager()
	defer tm.Close()
	p, _ := fakePool(t, tm, echo, WorkerConfig{Tasks: []string{"job"}, Script: "silent", StartTimeout: 20 * time.Millisecond})
	_, doErr := tm.Do(ctx(t), "job", nil)
	err := p.ready(ctx(t))
	require.ErrorIs(t, err, ErrWorkerStart)
	assert.Contains(t, err.Error(), "did not answer init-worker")
	assert.Contains(t, err.Error(), "if it is only slow to start, raise WorkerConfig.StartTimeout")
	require.ErrorIs(t, doErr, ErrNoWorker)
	assert.Contains(t, doErr.Error(), "did not answer init-worker")
}

func TestReadyGivenUpSaysWhichWorkersAreStillStarting(t *testing.T) {
	tm := NewTaskManager()
	defer tm.Close()
	p, _ := fakePool(t, tm, echo, cfg("a", "job"), cfg("silent", "job"))
	c, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	err := p.ready(c)
	require.ErrorIs(t, err, context.DeadlineExceeded)
	assert.Equal(t, "atmo: waiting for workers to start: context deadline exceeded; still starting: worker-2 (silent) (no worker-ready from them yet)", err.Error())
}

func TestReadyWithoutAContextSaysToPassOne(t *testing.T) {
	tm := NewTaskManager()
	defer tm.Close()
	p, _ := fakePool(t, tm, echo, cfg("silent", "job"))
	err := p.ready(nil) //nolint:staticcheck // a nil context is what is tested
	require.ErrorIs(t, err, ErrBadParams)
	assert.Equal(t, "atmo: bad parameters: Ready needs a context; pass context.Background() to wait for as long as the workers take", err.Error())
}

func TestAWorkerClosedBeforeItStartedIsNoStartFailure(t *testing.T) {
	tm := NewTaskManager()
	defer tm.Close()
	p, fakes := fakePool(t, tm, echo, cfg("a", "job"), cfg("silent", "job"))
	(*fakes)[1].w.Close()
	require.NoError(t, p.ready(ctx(t)), "closed by its user, not failed")
}

func TestAddingAndClosingWorkersForEverKeepsThePoolSmall(t *testing.T) {
	tm := NewTaskManager()
	defer tm.Close()
	p, _ := fakePool(t, tm, echo, cfg("a", "job"))
	for i := 0; i < 1000; i++ {
		w, err := p.add(cfg("b", "job"))
		require.NoError(t, err)
		require.NoError(t, w.Close())
	}
	ws := tm.Stats().Workers
	assert.Len(t, ws, 1+keptClosed, "the live worker, and the latest closed ones with why")
	assert.Equal(t, "worker-1001", ws[len(ws)-1].ID)
	assert.Equal(t, "closed by Close()", ws[len(ws)-1].LastError)
	tm.mu.Lock()
	defer tm.mu.Unlock()
	assert.Len(t, p.groups, 1, "closed groups nothing starts from are let go")
}

// Two managers of one TaskManager that add and close workers in turn (two
// elastic pools growing and shrinking) number them from one counter: the
// ids each pool gave, kept so that closeWorker knows them, stay bounded,
// where each pool kept a range per worker it ever started.
func TestWorkersAddedAndClosedInTurnByTwoManagersKeepBothPoolsSmall(t *testing.T) {
	tm := NewTaskManager()
	defer tm.Close()
	p1, _ := fakePool(t, tm, echo, cfg("w.js", "echo"))
	p2, _ := fakePool(t, tm, echo, cfg("w.js", "echo"))
	first := map[*workerPool]string{}
	last := map[*workerPool]string{}
	for range 2000 {
		for _, p := range []*workerPool{p1, p2} {
			w, err := p.add(cfg("w.js", "echo"))
			require.NoError(t, err)
			if first[p] == "" {
				first[p] = w.id
			}
			last[p] = w.id
			require.NoError(t, w.Close())
		}
	}
	tm.mu.Lock()
	defer tm.mu.Unlock()
	assert.LessOrEqual(t, len(p1.issued), maxIssued)
	assert.LessOrEqual(t, len(p2.issued), maxIssued)
	for _, p := range []*workerPool{p1, p2} {
		assert.True(t, p.hadWorker(first[p]) && p.hadWorker(last[p]), "a pool knows its first and last workers' ids")
	}
	assert.False(t, p1.hadWorker(last[p2]) || p2.hadWorker(last[p1]), "nor takes the other's latest for its own")
}

// waitingTransport is a worker that never answers init-worker because its
// start waits on something of its own (as a Go worker's module download).
type waitingTransport struct {
	fakeTransport
	on string
}

func (w *waitingTransport) startTimedOut(d time.Duration) string {
	return w.on + " after " + d.String()
}

func TestAWorkerStillWaitingOnItsOwnStartIsClosedAfterStartTimeoutSayingOnWhat(t *testing.T) {
	tm := NewTaskManager()
	defer tm.Close()
	p, err := newWorkerPool(tm, func(w *TaskWorker) (transport, error) {
		return &waitingTransport{fakeTransport: fakeTransport{pool: w.pool, w: w, silent: true}, on: "its module was still downloading"}, nil
	}, []WorkerConfig{{Tasks: []string{"job"}, Module: "m.wasm", StartTimeout: 20 * time.Millisecond}})
	require.NoError(t, err)
	err = p.ready(ctx(t))
	require.ErrorIs(t, err, ErrWorkerStart)
	assert.Contains(t, err.Error(), "its module was still downloading after 20ms")
	assert.NotContains(t, err.Error(), "did not answer init-worker")
}

func TestClosingAWorkerHandsItsRunningTaskToAnotherOnlyWhileItsRetriesLast(t *testing.T) {
	// The task was sent to the closed worker and may have begun there: as
	// after a crash, a task without Retries never runs twice.
	for _, retries := range []int{0, 1} {
		tm := NewTaskManager()
		block := make(chan struct{})
		p, fakes := fakePool(t, tm, func(w *TaskWorker, name string, params any) (any, string) {
			if w.id == "worker-1" {
				<-block
			}
			return w.id, ""
		}, cfg("a", "job"))
		require.NoError(t, p.ready(ctx(t)))
		res := doAsync(tm, TaskParams{Name: "job", Retries: retries})
		require.Eventually(t, func() bool { return len(tm.Status().Working) == 1 }, time.Second, time.Millisecond)
		_, err := p.add(cfg("b", "job"))
		require.NoError(t, err)
		require.NoError(t, p.ready(ctx(t)))
		require.NoError(t, (*fakes)[0].w.Close())
		r := <-res
		if retries == 0 {
			require.ErrorIs(t, r.Err, ErrClosed)
			assert.Equal(t, "atmo: closed: task task-1 (job) was running on worker-1 when it was closed by Close(); it has no Retries left to run it again (TaskParams.Retries)", r.Error)
		} else {
			require.NoError(t, r.Err)
			assert.Equal(t, "worker-2", r.Content, "run again on the other worker")
			assert.Equal(t, 1, tm.Stats().Retried)
		}
		close(block)
		tm.Close()
	}
}

func TestCloseWaitsForRunningCallbacksAndMayBeCalledFromOne(t *testing.T) {
	tm := NewTaskManager()
	p, _ := fakePool(t, tm, echo, cfg("a", "job"))
	require.NoError(t, p.ready(ctx(t)))
	var finished atomic.Bool
	started := make(chan struct{})
	_, err := tm.AddTask(TaskParams{Name: "job", OnSuccess: func(Response) {
		close(started)
		time.Sleep(30 * time.Millisecond)
		require.NoError(t, tm.Close(), "Close from a callback does not deadlock")
		finished.Store(true)
	}})
	require.NoError(t, err)
	<-started
	require.NoError(t, tm.Close())
	assert.True(t, finished.Load(), "Close returned only after the running callback")
}

func TestCloseFromACallbackDeepInItsOwnCallsReturns(t *testing.T) {
	tm := NewTaskManager()
	p, _ := fakePool(t, tm, echo, cfg("a", "job"))
	require.NoError(t, p.ready(ctx(t)))
	closed := make(chan struct{})
	var deep func(n int)
	deep = func(n int) {
		if n == 0 {
			require.NoError(t, tm.Close())
			close(closed)
			return
		}
		deep(n - 1)
	}
	_, err := tm.AddTask(TaskParams{Name: "job", OnSuccess: func(Response) { deep(200) }})
	require.NoError(t, err)
	select {
	case <-closed:
	case <-time.After(10 * time.Second):
		t.Fatal("Close from a callback 200 calls deep never returned: it waited for its own callback")
	}
}

func TestClosingAnotherManagerFromACallbackWaitsForThatManagersCallbacks(t *testing.T) {
	a, b := NewTaskManager(), NewTaskManager()
	defer a.Close()
	pa, _ := fakePool(t, a, echo, cfg("a", "job"))
	pb, _ := fakePool(t, b, echo, cfg("b", "job"))
	require.NoError(t, pa.ready(ctx(t)))
	require.NoError(t, pb.ready(ctx(t)))
	running, release := make(chan struct{}), make(chan struct{})
	var finished atomic.Bool
	_, err := b.AddTask(TaskParams{Name: "job", OnSuccess: func(Response) { close(running); <-release; finished.Store(true) }})
	require.NoError(t, err)
	<-running
	got := make(chan bool, 1)
	_, err = a.AddTask(TaskParams{Name: "job", OnSuccess: func(Response) {
		go func() { time.Sleep(50 * time.Millisecond); close(release) }()
		require.NoError(t, b.Close())
		got <- finished.Load()
	}})
	require.NoError(t, err)
	assert.True(t, <-got, "b.Close() from a's callback returned only after b's running callback")
}

func TestCloseFromASubscriberReturnsOnlyOnceTheTasksCallbacksHaveRun(t *testing.T) {
	tm := NewTaskManager()
	p, _ := fakePool(t, tm, hangOn(t), cfg("a", "hang"))
	require.NoError(t, p.ready(ctx(t)))
	var called atomic.Bool
	closed := make(chan bool, 1)
	tm.Subscribe(func(m Message) {
		if m.Kind == KindWorkerWork {
			require.NoError(t, tm.Close(), "Close from a subscriber does not deadlock")
			closed <- called.Load()
		}
	})
	_, err := tm.AddTask(TaskParams{Name: "hang", OnError: func(Response) { called.Store(true) }})
	require.NoError(t, err)
	assert.True(t, <-closed, "the task's OnError, which Close queued, ran before Close returned")
}

func TestPanickingCallbacksAreReportedAndTheManagerGoesOn(t *testing.T) {
	tm := NewTaskManager()
	defer tm.Close()
	p, _ := fakePool(t, tm, echo, cfg("a", "job"))
	require.NoError(t, p.ready(ctx(t)))
	panics := make(chan Message, 4)
	defer tm.Subscribe(func(m Message) {
		if m.Kind == KindCallbackPanic {
			panics <- m
		}
	})()
	_, err := tm.AddTask(TaskParams{Name: "job", OnSuccess: func(Response) { panic("oops") }})
	require.NoError(t, err)
	m := <-panics
	assert.Contains(t, m.Error, "oops")
	got, err := tm.Do(ctx(t), "job", 1.0)
	require.NoError(t, err)
	assert.Equal(t, 1.0, got.(map[string]any)["params"])
}

func TestStatusListsPendingAndWorkingInOrder(t *testing.T) {
	tm := NewTaskManager()
	defer tm.Close()
	block := make(chan struct{})
	p, _ := fakePool(t, tm, func(*TaskWorker, string, any) (any, string) { <-block; return nil, "" }, cfg("a", "job"))
	require.NoError(t, p.ready(ctx(t)))
	var ids []string
	for i := 0; i < 3; i++ {
		task, err := tm.AddTask(TaskParams{Name: "job"})
		require.NoError(t, err)
		ids = append(ids, task.ID())
	}
	s := tm.Status()
	assert.Equal(t, ids[:1], s.Working)
	assert.Equal(t, ids[1:], s.Pending)
	tm.DeleteTask(ids[2])
	_, ok := tm.Task(ids[2])
	assert.False(t, ok)
	close(block)
	require.Eventually(t, func() bool { return tm.Status().Done == 2 }, time.Second, time.Millisecond)
	assert.Equal(t, 1, tm.Status().Failed)
}

func TestDeleteTaskOfARunningTaskTellsTheWorker(t *testing.T) {
	tm := NewTaskManager()
	defer tm.Close()
	block := make(chan struct{})
	defer close(block)
	p, fakes := fakePool(t, tm, func(*TaskWorker, string, any) (any, string) { <-block; return nil, "" }, cfg("a", "job"))
	require.NoError(t, p.ready(ctx(t)))
	errc := make(chan error, 1)
	task, err := tm.AddTask(TaskParams{Name: "job", OnError: func(r Response) { errc <- r.Err }})
	require.NoError(t, err)
	tm.DeleteTask(task.ID())
	assert.ErrorIs(t, <-errc, ErrCanceled)
	f := (*fakes)[0]
	f.mu.Lock()
	defer f.mu.Unlock()
	assert.Equal(t, []string{task.ID()}, f.cancels)
}

func TestWorkerConfigsAreChecked(t *testing.T) {
	tm := NewTaskManager()
	defer tm.Close()
	for name, c := range map[string]WorkerConfig{
		"no tasks":      {Script: "x"},
		"empty name":    {Tasks: []string{""}, Script: "x"},
		"no script":     {Tasks: []string{"a"}},
		"bad type":      {Tasks: []string{"a"}, Script: "x", Type: "esm"},
		"keepAwake<0":   {Tasks: []string{"a"}, Script: "x", KeepAwake: -time.Microsecond},
		"keepAwake>max": {Tasks: []string{"a"}, Script: "x", KeepAwake: MaxKeepAwake + 1},
		"count<0":       {Tasks: []string{"a"}, Script: "x", Count: -1},
		"maxHeapMB<0":   {Tasks: []string{"a"}, Script: "x", MaxHeapMB: -5},
	} {
		_, err := newWorkerPool(tm, nil, []WorkerConfig{c})
		assert.ErrorIs(t, err, ErrBadParams, name)
	}
	_, err := newWorkerPool(nil, nil, []WorkerConfig{cfg("x", "a")})
	assert.ErrorIs(t, err, ErrBadParams)
}

func TestATaskNameListedTwiceIsOneTaskOfTheWorker(t *testing.T) {
	// Listed twice, a name would be counted twice where the pool weighs its
	// queue against its workers (an elastic group grew too soon).
	tm := NewTaskManager()
	defer tm.Close()
	p, fakes := fakePool(t, tm, echo, cfg("a", "job", "other", "job"))
	require.NoError(t, p.ready(ctx(t)))
	assert.Equal(t, []string{"job", "other"}, (*fakes)[0].w.Tasks())
	_, err := tm.Do(ctx(t), "job", nil)
	require.NoError(t, err)
}

func ExampleTaskManager_Do() {
	tm := NewTaskManager()
	defer tm.Close()
	// In a page: atmo.NewBrowserWorkerManager(tm, atmo.WorkerConfig{Tasks: []string{"add"}, Script: "/workers/math-worker.js"})
	_, err := tm.Do(context.Background(), "add", map[string]any{"a": 1, "b": 2})
	fmt.Println(errors.Is(err, ErrNoWorker))
	// Output: true
}

func TestANegativeCountOfAWorkerConfigIsNamedWithItsValue(t *testing.T) {
	// NewBrowserWorkerManager: "An error means a config was unusable (it
	// names the field ...)".
	tm := NewTaskManager()
	defer tm.Close()
	for field, c := range map[string]WorkerConfig{
		"Count":       {Tasks: []string{"a"}, Script: "x", Count: -1},
		"MaxWorkers":  {Tasks: []string{"a"}, Script: "x", MaxWorkers: -1},
		"Concurrency": {Tasks: []string{"a"}, Script: "x", Concurrency: -1},
		"MaxHeapMB":   {Tasks: []string{"a"}, Script: "x", MaxHeapMB: -1},
	} {
		_, err := newWorkerPool(tm, nil, []WorkerConfig{c})
		require.ErrorIs(t, err, ErrBadParams, field)
		assert.Contains(t, err.Error(), "has "+field+" -1", "names the field and its value")
		for _, other := range []string{"Count", "MaxWorkers", "Concurrency", "MaxHeapMB"} {
			if other != field {
				assert.NotContains(t, err.Error(), other, "only the field at fault: %s", err)
			}
		}
	}
}

func TestAReadyThatGivesUpLeavesNoWaiterBehind(t *testing.T) {
	// A page that polls Ready with a short timeout while a worker is slow to
	// start does not grow the pool's list of waiters with every call.
	tm := NewTaskManager()
	defer tm.Close()
	p, _ := fakePool(t, tm, echo, WorkerConfig{Tasks: []string{"job"}, Script: "silent", StartTimeout: time.Hour})
	for range 1000 {
		ctx, cancel := context.WithTimeout(context.Background(), time.Microsecond)
		require.Error(t, p.ready(ctx), "a silent worker is never ready")
		cancel()
	}
	tm.mu.Lock()
	defer tm.mu.Unlock()
	assert.Empty(t, p.waiters, "every Ready that gave up took its channel with it")
}

// A worker's own error answer names the task by its name as well as its id,
// as every other task error does ("task task-1 (resize) ..."): with many
// kinds of task in one pool, an id alone does not say which handler failed.
func TestAWorkersErrorAnswerNamesTheTaskItFailed(t *testing.T) {
	tm := NewTaskManager()
	defer tm.Close()
	p, _ := fakePool(t, tm, func(w *TaskWorker, name string, params any) (any, string) {
		return nil, "Cannot read properties of null (reading 'x')"
	}, cfg("a", "resize"))
	require.NoError(t, p.ready(ctx(t)))
	_, err := tm.Do(ctx(t), "resize", nil)
	var te *TaskError
	require.True(t, errors.As(err, &te), "%v", err)
	assert.Equal(t, "atmo: task task-1 (resize) failed on worker worker-1: Cannot read properties of null (reading 'x')", err.Error())
}

// Ready given up while a worker that failed to start waits to start again
// says why its starts failed: "no worker-ready from them yet" alone hides
// the cause, and what to do about it, that the worker has already reported.
// Ready's doc: "It returns an error wrapping ErrWorkerStart naming each
// worker that failed to start, or ctx's error." A Ready whose context ends
// while one worker is still starting must not hide another that has already
// failed to start for good: that failure is the one to fix.
func TestReadyGivenUpStillNamesTheWorkersThatFailedToStartForGood(t *testing.T) {
	tm := NewTaskManager()
	defer tm.Close()
	p, fakes := fakePool(t, tm, echo,
		WorkerConfig{Tasks: []string{"job"}, Script: "silent", Restart: RestartPolicy{Never: true}},
		WorkerConfig{Tasks: []string{"job"}, Script: "silent"})
	p.workerError((*fakes)[0].w, "Failed to load the worker script (404 Not Found)")
	require.Equal(t, WorkerClosed, (*fakes)[0].w.Status())

	c, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	err := p.ready(c)
	require.ErrorIs(t, err, context.DeadlineExceeded)
	assert.ErrorIs(t, err, ErrWorkerStart, "worker-1 gave up starting: errors.Is(err, ErrWorkerStart) holds whether or not another is still starting")
	assert.Contains(t, err.Error(), "worker-1 (silent) failed to start: Failed to load the worker script (404 Not Found)")
	assert.Contains(t, err.Error(), "still starting: worker-2 (silent)")
}

func TestReadyGivenUpSaysWhyAWorkerStartingAgainFailedBefore(t *testing.T) {
	tm := NewTaskManager()
	defer tm.Close()
	clock := withClock(tm)
	p, _ := fakePool(t, tm, echo, WorkerConfig{Tasks: []string{"job"}, Script: "silent", StartTimeout: time.Second})
	clock.Advance(time.Second) // its first start times out; it starts again after its backoff
	require.Equal(t, WorkerOffline, p.workers[0].Status())
	c, cancel := context.WithCancel(context.Background())
	cancel()
	err := p.ready(c)
	require.ErrorIs(t, err, context.Canceled)
	assert.Contains(t, err.Error(), "still starting: worker-1 (silent)")
	assert.Contains(t, err.Error(), "did not answer init-worker with worker-ready within 1s", "the failed start's cause is kept")
}

func TestParamsNestedTooDeepByAMarshalJSONAreRefusedByAddTaskNotAPanicLater(t *testing.T) {
	// README: a value nested more than 64 levels deep is an ErrBadParams
	// error from AddTask, never a panic. What a MarshalJSON writes
	// (json.RawMessage) was not held to the bound: AddTask took it, and
	// TaskRequest.Params panicked decoding the queued bytes.
	tm := NewTaskManager()
	defer tm.Close()
	fakePool(t, tm, echo, cfg("silent", "deep")) // never ready: the task stays queued
	raw := json.RawMessage(strings.Repeat("[", 70) + strings.Repeat("]", 70))
	_, err := tm.AddTask(TaskParams{Name: "deep", Params: map[string]any{"raw": raw}})
	require.ErrorIs(t, err, ErrBadParams)
	require.ErrorContains(t, err, "params.raw[0]")
}

// AddWorker takes one config: its error must not name it "worker config 2"
// (its place among the pool's configs), which the caller never wrote.
func TestAddWorkersBadConfigErrorNamesAddWorkersConfig(t *testing.T) {
	tm := NewTaskManager()
	defer tm.Close()
	p, _ := fakePool(t, tm, echo, cfg("a", "add"), cfg("b", "mul"))
	_, err := p.add(WorkerConfig{Script: "c.js"})
	if !errors.Is(err, ErrBadParams) {
		t.Fatalf("want ErrBadParams, got %v", err)
	}
	want := "atmo: bad parameters: AddWorker's config lists no Tasks; list the task names its script or module handles"
	if err.Error() != want {
		t.Errorf("got  %q\nwant %q", err, want)
	}
}
