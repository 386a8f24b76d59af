package worker

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/atmoworkers/atmo/wasm/internal/protocol"
	"github.com/atmoworkers/atmo/wasm/internal/values"
)

// fakeHost records what the worker posts.
type fakeHost struct{ out chan map[string]any }

func (h *fakeHost) post(msg any) { h.out <- treeOf(msg) }

// next waits for the worker's next message.
func (h *fakeHost) next(t *testing.T) map[string]any {
	t.Helper()
	select {
	case m := <-h.out:
		return m
	case <-time.After(5 * time.Second):
		t.Fatal("the worker posted nothing within 5s")
		return nil
	}
}

func (h *fakeHost) none(t *testing.T) {
	t.Helper()
	select {
	case m := <-h.out:
		t.Fatalf("unexpected message %v", m)
	case <-time.After(50 * time.Millisecond):
	}
}

// newTestServer is a server on a fake host; register its handlers, then
// start it with ready.
func newTestServer(t *testing.T) (*server, *fakeHost) {
	h := &fakeHost{out: make(chan map[string]any, 100)}
	s := newServer()
	s.port = h
	return s, h
}

// ready sends s the host's init-worker, as worker-1, and reads its
// worker-ready.
func ready(t *testing.T, s *server, h *fakeHost) {
	t.Helper()
	s.receive(map[string]any{"message": "init-worker", "id": "worker-1", "content": []any{"add"}})
	require.Equal(t, "worker-ready", h.next(t)["message"])
}

func work(taskID, name string, params any) map[string]any {
	return map[string]any{"message": "worker-work", "taskId": taskID, "workerId": "worker-1",
		"content": map[string]any{"name": name, "params": params}}
}

func TestInitWorkerIsAnsweredWithReadyAndTheRegisteredTaskNames(t *testing.T) {
	h := &fakeHost{out: make(chan map[string]any, 1)}
	s := newServer()
	s.port = h
	s.handle("multiply", func(context.Context, any) (any, error) { return nil, nil })
	s.handle("add", func(context.Context, any) (any, error) { return nil, nil })
	s.receive(map[string]any{"message": "init-worker", "id": "worker-7", "content": []any{"add"}})
	m := h.next(t)
	assert.Equal(t, "worker-ready", m["message"])
	assert.Equal(t, "worker-7", m["workerId"])
	assert.Equal(t, []any{"add", "multiply"}, m["content"].(map[string]any)["tasks"])
}

func TestWorkRunsTheHandlerWithNameAndParamsAndAnswersItsResult(t *testing.T) {
	s, h := newTestServer(t)
	s.handle("add", func(_ context.Context, p any) (any, error) {
		m := p.(map[string]any)
		return m["a"].(float64) + m["b"].(float64), nil
	})
	ready(t, s, h)
	s.receive(work("task-1", "add", map[string]any{"a": 2.0, "b": 3.0}))
	assert.Equal(t, map[string]any{"message": "worker-response", "taskId": "task-1", "workerId": "worker-1", "content": 5.0}, h.next(t))
}

func TestHandlerErrorBecomesAnErrorResponse(t *testing.T) {
	s, h := newTestServer(t)
	s.handle("divide", func(context.Context, any) (any, error) {
		return nil, errors.New("Division by zero is not allowed")
	})
	ready(t, s, h)
	s.receive(work("task-1", "divide", nil))
	m := h.next(t)
	assert.Equal(t, "worker-response", m["message"])
	assert.Equal(t, "Division by zero is not allowed", m["error"])
	assert.NotContains(t, m, "content")
}

// nilPointerError is an error type whose Error method reads its receiver.
type nilPointerError struct{ why string }

func (e *nilPointerError) Error() string { return e.why }

// A handler that returns a nil *nilPointerError returns a non-nil error
// (Go's typed nil), whose Error method then panics: the task fails saying
// so, not as a panic of the handler's with a nil dereference's stack.
func TestAHandlerThatReturnsATypedNilErrorFailsSayingSo(t *testing.T) {
	s, h := newTestServer(t)
	s.handle("typedNil", func(context.Context, any) (any, error) {
		var e *nilPointerError // none happened
		return "done", e
	})
	ready(t, s, h)
	s.receive(work("task-1", "typedNil", nil))
	m := h.next(t)
	assert.Equal(t, `task "typedNil" returned a nil *worker.nilPointerError as its error, which is not a nil error (an interface holding a nil pointer): return nil itself for success`, m["error"])
}

func TestHandlerPanicBecomesAnErrorResponseAndTheNextTaskIsServed(t *testing.T) {
	s, h := newTestServer(t)
	s.handle("boom", func(context.Context, any) (any, error) { panic("kaboom") })
	s.handle("ok", func(context.Context, any) (any, error) { return "fine", nil })
	ready(t, s, h)
	s.receive(work("task-1", "boom", nil))
	m := h.next(t)
	assert.Equal(t, "task-1", m["taskId"])
	assert.Contains(t, m["error"], "kaboom")
	assert.Contains(t, m["error"], `"boom" panicked`)
	s.receive(work("task-2", "ok", nil))
	assert.Equal(t, "fine", h.next(t)["content"])
}

func TestAHandlerThatEndsItsGoroutineIsAnsweredWithAnErrorAndTheNextTaskIsServed(t *testing.T) {
	s, h := newTestServer(t)
	s.handle("quit", func(context.Context, any) (any, error) { runtime.Goexit(); return nil, nil })
	s.handle("ok", func(context.Context, any) (any, error) { return "fine", nil })
	ready(t, s, h)
	s.receive(work("task-1", "quit", nil))
	m := h.next(t)
	assert.Equal(t, "task-1", m["taskId"])
	assert.Equal(t, `task "quit" ended its goroutine (runtime.Goexit) before it returned; return an error instead`, m["error"])
	s.receive(work("task-2", "ok", nil))
	assert.Equal(t, "fine", h.next(t)["content"])
}

func TestUnknownTaskNameGetsAnErrorResponseListingTheKnownOnes(t *testing.T) {
	s, h := newTestServer(t)
	s.handle("add", func(context.Context, any) (any, error) { return 1.0, nil })
	s.handle("sqrt", func(context.Context, any) (any, error) { return 1.0, nil })
	ready(t, s, h)
	s.receive(work("task-1", "resize", nil))
	m := h.next(t)
	assert.Equal(t, "task-1", m["taskId"])
	assert.Equal(t, "Unknown task: resize (this Go worker handles: add, sqrt)", m["error"])
}

func TestTasksRunConcurrentlyInTheirOwnGoroutines(t *testing.T) {
	s, h := newTestServer(t)
	release := make(chan struct{})
	s.handle("wait", func(context.Context, any) (any, error) { <-release; return "waited", nil })
	s.handle("quick", func(context.Context, any) (any, error) { return "quick", nil })
	ready(t, s, h)
	s.receive(work("task-1", "wait", nil)) // must not block receive
	s.receive(work("task-2", "quick", nil))
	m := h.next(t)
	assert.Equal(t, "task-2", m["taskId"], "the quick task answers while the first still waits")
	close(release)
	assert.Equal(t, "task-1", h.next(t)["taskId"])
}

func TestGoroutinesAreReusedBetweenTasksAndAtMostMaxIdleRunnersWait(t *testing.T) {
	s, h := newTestServer(t)
	release := make(chan struct{})
	var mu sync.Mutex
	running := 0
	s.handle("wait", func(context.Context, any) (any, error) {
		mu.Lock()
		running++
		mu.Unlock()
		<-release
		return nil, nil
	})
	ready(t, s, h)
	burst := func(round, n int) {
		t.Helper()
		for i := range n {
			s.receive(work(fmt.Sprintf("task-%d-%d", round, i), "wait", nil))
		}
		require.Eventually(t, func() bool { mu.Lock(); defer mu.Unlock(); return running == n }, 5*time.Second, time.Millisecond,
			"all %d tasks run at once, whether on new or on reused goroutines", n)
		for range n {
			release <- struct{}{}
			h.next(t)
		}
		mu.Lock()
		running = 0
		mu.Unlock()
	}
	idle := func() int { s.mu.Lock(); defer s.mu.Unlock(); return s.idle }
	made := func() int { s.mu.Lock(); defer s.mu.Unlock(); return s.runners }

	burst(0, 40)
	require.Eventually(t, func() bool { return idle() == 40 }, 5*time.Second, time.Millisecond,
		"the goroutines of finished tasks wait for the next ones")
	assert.Equal(t, 40, made())

	burst(1, 40)
	require.Eventually(t, func() bool { return idle() == 40 }, 5*time.Second, time.Millisecond)
	assert.Equal(t, 40, made(), "a second burst as large runs on the goroutines of the first")

	burst(2, maxIdleRunners+20)
	require.Eventually(t, func() bool { return idle() == maxIdleRunners }, 5*time.Second, time.Millisecond,
		"no more than maxIdleRunners wait, however many tasks ran at once")
	assert.Equal(t, maxIdleRunners+20, made(), "only the tasks beyond the waiting goroutines made new ones")
}

func TestCancelCancelsTheHandlersContextAndDropsItsLateAnswer(t *testing.T) {
	s, h := newTestServer(t)
	stopped := make(chan error, 1)
	s.handle("slow", func(ctx context.Context, _ any) (any, error) {
		<-ctx.Done()
		stopped <- context.Cause(ctx)
		return "too late", nil
	})
	ready(t, s, h)
	s.receive(work("task-1", "slow", nil))
	s.receive(map[string]any{"message": "worker-cancel", "taskId": "task-1", "workerId": "worker-1"})
	m := h.next(t)
	assert.Equal(t, "task-1", m["taskId"])
	assert.Equal(t, "canceled", m["error"])
	require.ErrorIs(t, <-stopped, errCanceledByHost)
	require.ErrorIs(t, errCanceledByHost, context.Canceled)
	h.none(t)
}

func TestACancelledHandlerHoldsItsSlotUntilItReturns(t *testing.T) {
	s, h := newTestServer(t)
	release := make(chan struct{})
	s.handle("stubborn", func(ctx context.Context, _ any) (any, error) {
		<-release // ignores ctx for a while
		return "too late", nil
	})
	ready(t, s, h)
	s.receive(work("task-1", "stubborn", nil))
	s.receive(map[string]any{"message": "worker-cancel", "taskId": "task-1"})
	s.receive(map[string]any{"message": "worker-cancel", "taskId": "task-1"})
	h.none(t) // no answer while the handler runs: the host keeps the slot taken, and its CancelGrace running
	close(release)
	m := h.next(t)
	assert.Equal(t, "task-1", m["taskId"])
	assert.Equal(t, "canceled", m["error"], "its outcome is dropped")
	assert.Nil(t, m["content"])
	h.none(t)
}

func TestCancelOfATaskNotRunningIsIgnored(t *testing.T) {
	s, h := newTestServer(t)
	ready(t, s, h)
	s.receive(map[string]any{"message": "worker-cancel", "taskId": "task-9"})
	h.none(t)
}

func TestUnknownOrMalformedMessagesAreIgnored(t *testing.T) {
	s, h := newTestServer(t)
	ready(t, s, h)
	s.receive("not an object")
	s.receive(map[string]any{"message": "something-new"})
	s.receive(map[string]any{"message": "worker-work", "content": map[string]any{"name": "add"}}) // no taskId
	h.none(t)
}

func TestTheCompactFormOfWorkRunsEachTaskItNames(t *testing.T) {
	s, h := newTestServer(t)
	s.handle("double", func(_ context.Context, p any) (any, error) { return 2 * p.(float64), nil })
	ready(t, s, h)
	s.receive([]any{workTag, "worker-1", "task-1", "double", 2.0, nil, "task-2", "double", 3.0, nil})
	got := map[any]any{}
	for range 2 {
		m := h.next(t)
		assert.Equal(t, "worker-1", m["workerId"])
		got[m["taskId"]] = m["content"]
	}
	assert.Equal(t, map[any]any{"task-1": 4.0, "task-2": 6.0}, got)

	s.receive([]any{workTag, "", "task-3", "nope", nil, nil})
	m := h.next(t)
	assert.Equal(t, "worker-1", m["workerId"], "no worker id: the one from init-worker")
	assert.Contains(t, m["error"], "Unknown task: nope")
}

func TestMalformedCompactWorkIsIgnored(t *testing.T) {
	s, h := newTestServer(t)
	ready(t, s, h)
	s.receive([]any{workTag, "worker-1", "task-1", "add", nil}) // a task short of an item
	s.receive([]any{"another tag", "worker-1", "task-1", "add", nil, nil})
	s.receive([]any{workTag})
	s.receive([]any{})
	s.receive([]any{workTag, "worker-1", true, "add", nil, nil}) // a bool is no task id
	s.receive([]any{workTag, "worker-1", nil, "add", nil, nil})
	h.none(t)
}

func TestTheCompactFormReadsIdsAsTheGeneralPathDoes(t *testing.T) {
	s, h := newTestServer(t)
	s.handle("double", func(_ context.Context, p any) (any, error) { return 2 * p.(float64), nil })
	ready(t, s, h)
	s.receive([]any{workTag, 3.0, 7.0, "double", 2.0, nil}) // a hand-written host's numbers
	m := h.next(t)
	assert.Equal(t, "7", m["taskId"])
	assert.Equal(t, "3", m["workerId"])
	s.receive([]any{workTag, nil, 1.5, "double", 2.0, nil})
	m = h.next(t)
	assert.Equal(t, "1.5", m["taskId"])
	assert.Equal(t, "worker-1", m["workerId"], "no worker id: the one from init-worker")
}

func TestProgressPostsWorkerProgressForTheRunningTask(t *testing.T) {
	s, h := newTestServer(t)
	s.handle("long", func(ctx context.Context, _ any) (any, error) {
		for i := 1; i <= 2; i++ {
			if err := Progress(ctx, map[string]int{"step": i}); err != nil {
				return nil, err
			}
		}
		return "done", nil
	})
	ready(t, s, h)
	s.receive(work("task-1", "long", nil))
	for i := 1; i <= 2; i++ {
		assert.Equal(t, map[string]any{"message": "worker-progress", "taskId": "task-1", "workerId": "worker-1",
			"content": map[string]any{"step": float64(i)}}, h.next(t))
	}
	assert.Equal(t, "done", h.next(t)["content"])
}

func TestProgressNeedsAHandlersContext(t *testing.T) {
	err := Progress(context.Background(), 1)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "not a task's context")
}

func TestProgressAfterCancelSendsNothing(t *testing.T) {
	s, h := newTestServer(t)
	got := make(chan error, 1)
	s.handle("slow", func(ctx context.Context, _ any) (any, error) {
		<-ctx.Done()
		got <- Progress(ctx, 50)
		return nil, nil
	})
	ready(t, s, h)
	s.receive(work("task-1", "slow", nil))
	s.receive(map[string]any{"message": "worker-cancel", "taskId": "task-1"})
	assert.Equal(t, "canceled", h.next(t)["error"])
	require.ErrorIs(t, <-got, errCanceledByHost)
	h.none(t)
}

func TestTaskFromGivesTheRunningTask(t *testing.T) {
	s, h := newTestServer(t)
	s.handle("who", func(ctx context.Context, _ any) (any, error) {
		task, ok := TaskFrom(ctx)
		if !ok {
			return nil, errors.New("no task")
		}
		return []string{task.Name, task.ID, task.WorkerID}, nil
	})
	ready(t, s, h)
	s.receive(work("task-3", "who", nil))
	assert.Equal(t, []any{"who", "task-3", "worker-1"}, h.next(t)["content"])
	_, ok := TaskFrom(context.Background())
	assert.False(t, ok)
}

func TestResultThatCannotBeSentIsAnErrorResponse(t *testing.T) {
	s, h := newTestServer(t)
	s.handle("fn", func(context.Context, any) (any, error) {
		return map[string]any{"f": func() {}}, nil
	})
	ready(t, s, h)
	s.receive(work("task-1", "fn", nil))
	m := h.next(t)
	assert.Contains(t, m["error"], "result.f is a func()")
}

func TestHandleRejectsEmptyNilAndDuplicateRegistrations(t *testing.T) {
	s := newServer()
	ok := func(context.Context, any) (any, error) { return nil, nil }
	assert.PanicsWithValue(t, "worker: Handle with an empty task name", func() { s.handle(" ", ok) })
	assert.Panics(t, func() { s.handle("x", nil) })
	s.handle("x", ok)
	assert.PanicsWithValue(t, `worker: Handle("x"): task x has a handler already; each task name has one handler (Handle, HandleTyped or HandleJS)`, func() { s.handle("x", ok) })
}

// The host learns a worker's tasks from its worker-ready, once: a handler
// registered after it would never be sent a task, so Handle says so (a
// panic, which the host reports as the worker's crash), not nothing.
func TestHandleAfterTheWorkerToldTheHostItsTasksPanics(t *testing.T) {
	s, h := newTestServer(t)
	ok := func(context.Context, any) (any, error) { return nil, nil }
	s.handle("early", ok)
	ready(t, s, h)
	assert.PanicsWithValue(t, `worker: Handle("late") after the worker told the host its tasks (early): the host never sends it a task named late; register every handler before worker.Run`, func() { s.handle("late", ok) })
}

type sumParams struct {
	Values []int `json:"values"`
	Scale  float64
	Label  string `json:"label,omitempty"`
}

type sumResult struct {
	Sum   float64 `json:"sum"`
	Label string  `json:"label"`
	Raw   []byte  `json:"raw"`
}

func TestTypedHandlerDecodesParamsAndSendsItsResultByJSONTags(t *testing.T) {
	s, h := newTestServer(t)
	s.handle("sum", typed("sum", func(_ context.Context, p sumParams) (sumResult, error) {
		total := 0
		for _, v := range p.Values {
			total += v
		}
		return sumResult{Sum: float64(total) * p.Scale, Label: p.Label, Raw: []byte{1, 2}}, nil
	}))
	ready(t, s, h)
	s.receive(work("task-1", "sum", map[string]any{"values": []any{1.0, 2.0, 3.0}, "scale": 2.0, "label": "x"}))
	assert.Equal(t, map[string]any{"sum": 12.0, "label": "x", "raw": []byte{1, 2}}, h.next(t)["content"])
}

func TestTypedHandlerFailsTheTaskWhenParamsDoNotFit(t *testing.T) {
	s, h := newTestServer(t)
	called := false
	s.handle("sum", typed("sum", func(_ context.Context, p sumParams) (float64, error) {
		called = true
		return 0, nil
	}))
	ready(t, s, h)
	s.receive(work("task-1", "sum", map[string]any{"values": []any{1.0, "two"}}))
	m := h.next(t)
	assert.Equal(t, `bad params for task "sum": params.values[1] is a string ("two"), want a number for int`, m["error"])
	assert.False(t, called)
}

// batchServer is a server with a double task whose host takes batches; its
// worker-ready has been read.
func batchServer(t *testing.T) (*server, *fakeHost) {
	h := &fakeHost{out: make(chan map[string]any, 100)}
	s := newServer()
	s.port = h
	s.handle("double", func(_ context.Context, p any) (any, error) { return p.(float64) * 2, nil })
	s.receive(map[string]any{"message": "init-worker", "id": "worker-1", "features": []any{"batch"}})
	ready := h.next(t)
	assert.Contains(t, ready["content"].(map[string]any)["features"], "batch")
	return s, h
}

func TestABatchOfWorkIsRunAndAnsweredInOneBatchWhenTheHostTakesBatches(t *testing.T) {
	s, h := batchServer(t)
	var items []any
	for i := 1; i <= 5; i++ {
		items = append(items, map[string]any{"taskId": fmt.Sprintf("task-%d", i), "name": "double", "params": float64(i)})
	}
	s.receive(map[string]any{"message": "worker-work-batch", "workerId": "worker-1", "content": items})
	got := map[string]any{}
	for len(got) < 5 {
		m := h.next(t)
		if m["message"] == "worker-response" {
			got[m["taskId"].(string)] = m["content"]
			continue
		}
		require.Equal(t, "worker-response-batch", m["message"])
		for _, it := range m["content"].([]any) {
			r := it.(map[string]any)
			got[r["taskId"].(string)] = r["content"]
		}
	}
	for i := 1; i <= 5; i++ {
		assert.Equal(t, float64(2*i), got[fmt.Sprintf("task-%d", i)])
	}
}

func TestAnswersAreNotBatchedForAHostThatDidNotAskForBatches(t *testing.T) {
	s, h := newTestServer(t)
	s.handle("double", func(_ context.Context, p any) (any, error) { return p.(float64) * 2, nil })
	ready(t, s, h)
	s.receive(work("task-1", "double", 1.0))
	assert.Equal(t, "worker-response", h.next(t)["message"])
}

func TestALoneTasksAnswerLeavesAtOnceEvenWhenTheHostTakesBatches(t *testing.T) {
	s, h := batchServer(t)
	s.receive(work("task-1", "double", 1.0))
	m := h.next(t)
	assert.Equal(t, "worker-response", m["message"])
	assert.Equal(t, 2.0, m["content"])
}

func TestAnswersWriteThemselvesAsTheMessagesTheyStandFor(t *testing.T) {
	big := bytes.Repeat([]byte{7}, values.InlineBytes+1)
	decode := func(msg any) any {
		var refs []any
		buf := values.Encode(nil, msg, &refs)
		v, rest, err := values.Decode(buf, func(i int) any { return refs[i] })
		require.NoError(t, err)
		require.Empty(t, rest)
		return v
	}
	for _, msg := range []any{
		answer{taskID: "task-1", workerID: "worker-1", result: map[string]any{"n": 1.0, "b": big}},
		answer{taskID: "task-2", workerID: "worker-1", result: nil},
		answer{taskID: "task-3", workerID: "worker-1", errText: "bad input"},
		answers{workerID: "worker-1", items: []answer{{taskID: "task-4", result: "é"}, {taskID: "task-5", errText: "no"}}},
	} {
		assert.Equal(t, decode(treeOf(msg)), decode(msg), "%#v", msg)
	}
}

// wireHost writes what the worker posts as the JS port does (values.Send),
// into a buffer it reuses.
type wireHost struct {
	buf  []byte
	refs []any
	out  chan struct{}
}

func (h *wireHost) post(msg any) {
	h.refs = h.refs[:0]
	h.buf = values.Encode(h.buf[:0], msg, &h.refs)
	h.out <- struct{}{}
}

// BenchmarkServerTask is a Go worker's own work for one echo task, natively:
// reading the compact worker-work, running the handler on a kept runner,
// and writing the answer as the port would.
func BenchmarkServerTask(b *testing.B) {
	h := &wireHost{out: make(chan struct{}, 1)}
	s := newServer()
	s.port = h
	s.handle("echo", func(_ context.Context, p any) (any, error) { return p, nil })
	s.receive(map[string]any{"message": "init-worker", "id": "worker-1", "content": []any{"echo"}})
	<-h.out
	work := []any{workTag, "worker-1", "task-1", "echo", 1.0, nil}
	b.ReportAllocs()
	for b.Loop() {
		s.receiveWork(work)
		<-h.out
	}
}

// tree is the message an answer stands for, as a map.
func (a answer) tree() map[string]any {
	m := map[string]any{"message": protocol.WorkerResponse, "taskId": a.taskID, "workerId": a.workerID}
	if a.errText != "" {
		m["error"] = a.errText
	} else {
		m["content"] = a.result
	}
	return m
}

// tree is the message a batch stands for, as a map.
func (as answers) tree() map[string]any {
	items := make([]any, len(as.items))
	for i, a := range as.items {
		m := a.tree()
		delete(m, "message")
		delete(m, "workerId")
		items[i] = m
	}
	return map[string]any{"message": protocol.WorkerResponseBatch, "workerId": as.workerID, "content": items}
}

// treeOf is msg, a message for port.post, as a map: what the host gets.
// The fake hosts record it so.
func treeOf(msg any) map[string]any {
	switch m := msg.(type) {
	case answer:
		return m.tree()
	case answers:
		return m.tree()
	}
	m, _ := msg.(map[string]any)
	return m
}

// idleHost is a fakeHost that also records when the worker says it has
// answered its last task (what go-worker.js turns into KeepAwake).
type idleHost struct {
	fakeHost
	idles chan struct{}
}

func (h *idleHost) idle() { h.idles <- struct{}{} }

// idled waits for the worker to say it is idle.
func (h *idleHost) idled(t *testing.T) {
	t.Helper()
	select {
	case <-h.idles:
	case <-time.After(5 * time.Second):
		t.Fatal("the worker never said it was idle")
	}
}

func TestAWorkerSaysItIsIdleOnlyOnceItsLastTaskIsAnswered(t *testing.T) {
	h := &idleHost{fakeHost: fakeHost{out: make(chan map[string]any, 100)}, idles: make(chan struct{}, 100)}
	s := newServer()
	s.port = h
	release := make(chan struct{})
	s.handle("add", func(context.Context, any) (any, error) { return 1.0, nil })
	s.handle("slow", func(context.Context, any) (any, error) { <-release; return 2.0, nil })
	s.receive(map[string]any{"message": "init-worker", "id": "worker-1", "content": []any{"add"}, "features": []any{protocol.FeatureBatch}, "keepAwake": 100.0})
	h.next(t) // worker-ready
	s.receive(work("task-1", "add", nil))
	assert.Equal(t, 1.0, h.next(t)["content"])
	h.idled(t) // a lone task's answer left, then the worker fell idle

	s.receive(work("task-2", "slow", nil))
	s.receive(work("task-3", "add", nil))
	h.next(t) // task-3's answer, while task-2 still runs
	select {
	case <-h.idles:
		t.Fatal("the worker said it was idle with a task still running")
	case <-time.After(50 * time.Millisecond):
	}
	close(release)
	assert.Equal(t, 2.0, h.next(t)["content"])
	h.idled(t) // once the last task is answered
}

func TestWithoutKeepAwakeAWorkerSaysItIsIdleOnlyAfterATaskTheHostHeldAlone(t *testing.T) {
	h := &idleHost{fakeHost: fakeHost{out: make(chan map[string]any, 100)}, idles: make(chan struct{}, 100)}
	s := newServer()
	s.port = h
	s.handle("add", func(context.Context, any) (any, error) { return 1.0, nil })
	s.receive(map[string]any{"message": "init-worker", "id": "worker-1", "content": []any{"add"}, "features": []any{protocol.FeatureBatch}})
	h.next(t) // worker-ready
	notIdle := func(why string) {
		t.Helper()
		select {
		case <-h.idles:
			t.Fatal(why)
		case <-time.After(50 * time.Millisecond):
		}
	}

	lone := work("task-1", "add", nil)
	lone["awake"] = 300.0 // Options.LoneTaskAwake, in µs
	s.receive(lone)
	h.next(t)
	h.idled(t)

	s.receive(work("task-2", "add", nil)) // a task among others: no awake
	h.next(t)
	notIdle("the worker said it was idle after a task the host did not hold alone")

	s.receive([]any{loneWorkTag, "worker-1", "task-3", "add", nil, nil}) // the compact form run_js.go writes
	h.next(t)
	h.idled(t)

	s.receive([]any{workTag, "worker-1", "task-4", "add", nil, nil})
	h.next(t)
	notIdle("the worker said it was idle after a compact task not held alone")
}

func TestAHandlerThatPanicsWithNilFailsItsTaskEvenWherePanicNilIsOld(t *testing.T) {
	// Under GODEBUG=panicnil=1 (a module whose go.mod says go 1.20, a
	// //go:debug line, or the GODEBUG of a Node.js process), recover gives
	// nil for panic(nil): the task must still fail, not answer null.
	if os.Getenv("ATMO_PANICNIL_CHILD") == "" {
		if runtime.GOOS == "js" {
			t.Skip("runs itself again with GODEBUG")
		}
		cmd := exec.Command(os.Args[0], "-test.run=^TestAHandlerThatPanicsWithNilFailsItsTaskEvenWherePanicNilIsOld$", "-test.v")
		cmd.Env = append(os.Environ(), "ATMO_PANICNIL_CHILD=1", "GODEBUG=panicnil=1")
		out, err := cmd.CombinedOutput()
		assert.NoError(t, err, "%s", out)
		return
	}
	s, h := newTestServer(t)
	s.handle("nilpanic", func(context.Context, any) (any, error) { panic(nil) })
	s.handle("ok", func(context.Context, any) (any, error) { return "fine", nil })
	ready(t, s, h)
	s.receive(work("t1", "nilpanic", nil))
	m := h.next(t)
	assert.NotContains(t, m, "content")
	assert.Contains(t, m["error"], `task "nilpanic" panicked`)
	s.receive(work("t2", "ok", nil))
	assert.Equal(t, "fine", h.next(t)["content"])
}

func TestProgressAfterItsTaskEndedIsAnErrorEvenWithACtxThatNeverEnds(t *testing.T) {
	// A ctx derived from the handler's with context.WithoutCancel carries
	// the task but never ends: Progress, which sends nothing once the task
	// ended, must still say so rather than return nil.
	s, h := newTestServer(t)
	detached := make(chan context.Context, 1)
	s.handle("bg", func(ctx context.Context, _ any) (any, error) {
		detached <- context.WithoutCancel(ctx)
		return 1, nil
	})
	ready(t, s, h)
	s.receive(work("t1", "bg", nil))
	assert.Equal(t, 1.0, h.next(t)["content"])
	ctx := <-detached
	_, ok := TaskFrom(ctx)
	require.True(t, ok, "the ctx carries the task")
	err := Progress(ctx, 0.5)
	assert.ErrorIs(t, err, context.Canceled, "the task ended")
	h.none(t)
}

// HandleTyped's panics name HandleTyped, the function the program called,
// and a second registration of a name does not say the first call was
// made twice.
func TestHandleTypedPanicsNameHandleTyped(t *testing.T) {
	old := std
	std = newServer()
	defer func() { std = old }()
	ok := func(context.Context, struct{}) (int, error) { return 0, nil }
	assert.PanicsWithValue(t, "worker: HandleTyped with an empty task name", func() { HandleTyped("", ok) })
	Handle("x", func(context.Context, any) (any, error) { return nil, nil })
	assert.PanicsWithValue(t, `worker: HandleTyped("x"): task x has a handler already; each task name has one handler (Handle, HandleTyped or HandleJS)`, func() { HandleTyped("x", ok) })
}
