//go:build js && wasm

package atmo_test

import (
	"bytes"
	"syscall/js"
	"testing"
	"time"

	"github.com/atmoworkers/atmo/wasm/atmo"
	"github.com/atmoworkers/atmo/wasm/atmo/internal/atmotest"
	"github.com/atmoworkers/atmo/wasm/internal/jstest"
	"github.com/atmoworkers/atmo/wasm/internal/values"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// Params and answers cross the main thread's wire as bytes (values.Encode
// and its JS reader and writer). These tests pin that what a worker sees and
// what comes back are what the value rules say, whatever the path.

const wireWorker = `atmoWorker({
  echo: (p) => p,
  // describe says what the worker got, in JS terms.
  describe: (p) => ({
    text: p.text, unicode: p.unicode, n: p.n, yes: p.yes, nothing: p.nothing,
    bytesKind: Object.prototype.toString.call(p.small), small: Array.from(p.small),
    bigLength: p.big.length, bigKind: Object.prototype.toString.call(p.big),
    list: p.list, proto: Object.getPrototypeOf(p) === Object.prototype, protoKey: Object.keys(p).includes('__proto__'),
  }),
  // kinds answers with the JS values that have a rule of their own.
  kinds: () => ({
    date: new Date(Date.UTC(2026, 10, 25)), error: new RangeError('too far'),
    int16: new Int16Array([1, -1]), buffer: new Uint8Array([9, 8]).buffer,
    undef: undefined, hole: [1, , 3], nested: { when: new Date(0) },
    big: new Uint8Array(100000).fill(5), unicode: 'ünï – 😀',
  }),
  fail: () => { throw new TypeError('bad input: ✗'); },
  // hostile answers: a sparse array with a huge length, an invalid Date.
  sparse: () => ({ list: new Array(2 ** 32 - 1) }),
  badDate: () => ({ when: new Date(NaN), ok: 1 }),
});`

func wirePool(t *testing.T) *atmo.TaskManager {
	tm, _ := pool(t, atmo.WorkerConfig{Tasks: []string{"echo", "describe", "kinds", "fail", "sparse", "badDate"}, Script: jstest.HelperWorker(t, wireWorker)})
	return tm
}

func TestParamsReachTheWorkerAsTheValueRulesSay(t *testing.T) {
	tm := wirePool(t)
	big := bytes.Repeat([]byte{3}, 64<<10)
	got, err := tm.Do(testCtx(t), "describe", map[string]any{
		"text": "plain", "unicode": "héllo, 世界 😀", "n": 2.5, "yes": true, "nothing": nil,
		"small": []byte{1, 2, 3}, "big": big, "list": []any{1, "two", []any{}},
		"__proto__": "just a key",
	})
	require.NoError(t, err)
	assert.Equal(t, map[string]any{
		"text": "plain", "unicode": "héllo, 世界 😀", "n": 2.5, "yes": true, "nothing": nil,
		"bytesKind": "[object Uint8Array]", "small": []any{1.0, 2.0, 3.0},
		"bigLength": float64(len(big)), "bigKind": "[object Uint8Array]",
		"list": []any{1.0, "two", []any{}}, "proto": true, "protoKey": true,
	}, got, "a key named __proto__ is a key, not the object's prototype")
}

func TestAnswersComeBackAsTheValueRulesSay(t *testing.T) {
	tm := wirePool(t)
	got, err := tm.Do(testCtx(t), "kinds", nil)
	require.NoError(t, err)
	m := got.(map[string]any)
	assert.Equal(t, "2026-11-25T00:00:00.000Z", m["date"], "a Date is its ISO text")
	assert.Equal(t, map[string]any{"name": "RangeError", "message": "too far"}, m["error"])
	assert.Equal(t, []byte{1, 0, 0xff, 0xff}, m["int16"], "a typed array is its bytes")
	assert.Equal(t, []byte{9, 8}, m["buffer"])
	assert.Nil(t, m["undef"])
	assert.Equal(t, map[string]any{"when": "1970-01-01T00:00:00.000Z"}, m["nested"])
	assert.Equal(t, []any{1.0, nil, 3.0}, m["hole"])
	assert.Equal(t, bytes.Repeat([]byte{5}, 100000), m["big"], "large bytes come back whole")
	assert.Equal(t, "ünï – 😀", m["unicode"])
}

func TestValuesSurviveARoundTripOfEveryShape(t *testing.T) {
	tm := wirePool(t)
	deep := any("bottom")
	for range 60 {
		deep = []any{deep}
	}
	long := string(bytes.Repeat([]byte("ab€"), 50000)) // grows the wire both ways
	echoesUnchanged(t, tm, nil, true, false, 0.0, -1.5, "", "x", long, []any{}, map[string]any{},
		[]byte{}, map[string]any{"a": map[string]any{"b": []any{1.0, nil, "c"}}}, deep)
}

// echoesUnchanged runs an echo task for each value and checks what came back.
func echoesUnchanged(t *testing.T, tm *atmo.TaskManager, vs ...any) {
	t.Helper()
	for _, v := range vs {
		got, err := tm.Do(testCtx(t), "echo", v)
		require.NoError(t, err)
		assert.Equal(t, v, got)
	}
}

func TestAThrownErrorKeepsItsMessageThroughTheWire(t *testing.T) {
	tm := wirePool(t)
	_, err := tm.Do(testCtx(t), "fail", nil)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "bad input: ✗")
}

func TestManyTasksInOneTurnCrossAsBatchesUnchanged(t *testing.T) {
	tm, _ := pool(t, atmo.WorkerConfig{Tasks: []string{"echo"}, Script: jstest.HelperWorker(t, wireWorker), Concurrency: 16})
	const n = 500
	res := make(chan atmo.Response, n)
	for i := range n {
		_, err := tm.AddTask(atmo.TaskParams{Name: "echo", Params: map[string]any{"i": float64(i), "s": "é"},
			OnSuccess: func(r atmo.Response) { res <- r }, OnError: func(r atmo.Response) { res <- r }})
		require.NoError(t, err)
	}
	seen := map[float64]bool{}
	for range n {
		r := <-res
		require.NoError(t, r.Err)
		m := r.Content.(map[string]any)
		assert.Equal(t, "é", m["s"])
		seen[m["i"].(float64)] = true
	}
	assert.Len(t, seen, n)
}

func TestATaskCancelledInTheTurnItJoinedItsWorkersBatchNeverReachesIt(t *testing.T) {
	// A busy worker's next task waits for the turn's batch. Cancelled in that
	// same turn, it is taken out of the batch: its handler never starts, its
	// moved buffer stays the page's, and its slot is free at once. (It was
	// posted, then told to stop: started, its buffer gone to the worker.)
	tm, _ := pool(t, atmo.WorkerConfig{Tasks: []string{"wait", "seen"}, Concurrency: 2, Script: jstest.HelperWorker(t, `
const seen = [];
atmoWorker({
  wait: ({ ms }, { taskId }) => { seen.push(taskId); return new Promise((r) => setTimeout(r, ms)); },
  seen: () => seen,
});`)})
	_, err := tm.Do(testCtx(t), "seen", nil)
	require.NoError(t, err)
	busy := make(chan atmo.Response, 1)
	first, err := tm.AddTask(atmo.TaskParams{Name: "wait", Params: map[string]any{"ms": 300},
		OnSuccess: func(r atmo.Response) { busy <- r }, OnError: func(r atmo.Response) { busy <- r }})
	require.NoError(t, err)
	u8 := js.Global().Get("Uint8Array").New(8)
	canceled := make(chan atmo.Response, 1)
	req, err := tm.AddTask(atmo.TaskParams{Name: "wait", Params: map[string]any{"ms": 0, "b": atmo.Transfer(u8)},
		OnSuccess: func(r atmo.Response) { canceled <- r }, OnError: func(r atmo.Response) { canceled <- r }})
	require.NoError(t, err)
	req.Cancel() // the same turn: no yield since AddTask
	require.ErrorIs(t, (<-canceled).Err, atmo.ErrCanceled)
	assert.Equal(t, 8, u8.Get("byteLength").Int(), "its buffer never left the page")
	assert.Equal(t, 1, tm.Stats().Workers[0].InFlight, "its slot is free at once, with the busy task still running")
	require.NoError(t, (<-busy).Err)
	got, err := tm.Do(testCtx(t), "seen", nil)
	require.NoError(t, err)
	assert.Equal(t, []any{first.ID()}, got, "the worker never started it")
}

func TestValuesCrossAGoWorkerUnchanged(t *testing.T) {
	tm, _ := goPool(t, atmo.WorkerConfig{Tasks: goTestTasks, Module: moduleURL(t, goTestModule)})
	big := bytes.Repeat([]byte{9}, 100_000) // set aside, not inlined, both ways
	long := string(bytes.Repeat([]byte("ab€"), 50_000))
	echoesUnchanged(t, tm, nil, true, 0.0, -1.5, "", "héllo, 世界 😀", long, []any{}, map[string]any{},
		[]byte{1, 2, 3}, big, map[string]any{"a": map[string]any{"b": []any{1.0, nil, "c", []byte{4}}}, "__proto__": "a key"})
}

func TestAnAnswerTooBigToReadFailsItsTaskInsteadOfHangingThePage(t *testing.T) {
	tm := wirePool(t)
	_, err := tm.Do(testCtx(t), "sparse", nil)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "the worker's answer cannot be read: it holds an array of 4294967295 items")
	got, err := tm.Do(testCtx(t), "echo", "still serving")
	require.NoError(t, err)
	assert.Equal(t, "still serving", got)
}

func TestARawResultIsNotReadIntoGoAtAll(t *testing.T) {
	// The answer of a RawResult task stays in JS as it came: even one Go
	// could not read arrives, and a large one costs nothing to pass on.
	tm := wirePool(t)
	for _, tasks := range []int{1, 3} { // a lone task, and a batch
		answers := make(chan atmo.Response, tasks)
		for range tasks {
			_, err := tm.AddTask(atmo.TaskParams{Name: "sparse", RawResult: true,
				OnSuccess: func(r atmo.Response) { answers <- r }, OnError: func(r atmo.Response) { answers <- r }})
			require.NoError(t, err)
		}
		for range tasks {
			r := <-answers
			require.NoError(t, r.Err)
			v, ok := r.Content.(js.Value)
			require.True(t, ok, "RawResult gave %T, want js.Value", r.Content)
			assert.Equal(t, 1<<32-1, v.Get("list").Length())
		}
	}
	got, err := tm.Do(testCtx(t), "sparse", nil)
	require.Error(t, err, "without RawResult, Go still reads the answer, and says it cannot")
	assert.Nil(t, got)
}

func TestAnInvalidDateComesBackAsNil(t *testing.T) {
	tm := wirePool(t)
	got, err := tm.Do(testCtx(t), "badDate", nil)
	require.NoError(t, err)
	assert.Equal(t, map[string]any{"when": nil, "ok": 1.0}, got)
}

func TestAnswersReachGoThroughTheWasmExportAndWithoutIt(t *testing.T) {
	// Answers enter Go through the wasm export atmoWireDeliver when the
	// page's Go instance is found, else through a js.Func. Both must carry
	// the same values, set-aside bytes and raw results included.
	require.True(t, values.SetHop(true), "wasmbrowsertest's page runs wasm_exec.js's Go: the export path is available")
	t.Cleanup(func() { values.SetHop(true) })
	for _, export := range []bool{true, false} {
		values.SetHop(export)
		tm := wirePool(t)
		big := bytes.Repeat([]byte{3}, 64<<10)
		long := string(bytes.Repeat([]byte("ab€"), 50000))
		echoesUnchanged(t, tm, nil, "x", long, big, map[string]any{"a": []any{1.0, big}})
		_, err := tm.Do(testCtx(t), "fail", nil)
		assert.ErrorContains(t, err, "bad input", "export %v", export)

		bounce, _ := pool(t, atmo.WorkerConfig{Tasks: []string{"bounce"}, Script: jstest.HelperWorker(t, bounceWorker)})
		got, err := moveRoundTrip(bounce, "bounce", js.Global().Get("Uint8Array").New(8))
		require.NoError(t, err, "export %v", export)
		assert.Equal(t, 7, got.Index(0).Int(), "a raw result is read while its message is delivered")
	}
}

// lookalikeWorker answers each task first under ids that only look like its
// own ("task-07" for task-7, "task-7.0", " task-7"), then under its own.
const lookalikeWorker = `let id;
self.onmessage = (e) => {
  const d = e.data;
  if (d.message === 'init-worker') { id = d.id; self.postMessage({ message: 'worker-ready', workerId: id }); return; }
  if (d.message !== 'worker-work') return;
  const n = d.taskId.slice(5);
  for (const fake of ['task-0' + n, 'task-' + n + '.0', 'task-+' + n, 'task-' + n + ' ']) {
    self.postMessage({ message: 'worker-response', taskId: fake, workerId: id, content: 'lookalike ' + fake });
  }
  self.postMessage({ message: 'worker-response-batch', workerId: id, content: [{ taskId: 'task-0' + n, content: 'lookalike in a batch' }] });
  self.postMessage({ message: 'worker-response', taskId: d.taskId, workerId: id, content: 'mine' });
};`

func TestAnAnswerSettlesOnlyTheTaskWhoseIdItCarriesExactly(t *testing.T) {
	tm, _ := pool(t, atmo.WorkerConfig{Tasks: []string{"t"}, Script: jstest.BlobURL(t, lookalikeWorker)})
	for range 3 {
		got, err := tm.Do(testCtx(t), "t", nil)
		require.NoError(t, err)
		assert.Equal(t, "mine", got, "an id that reads as the same number is another id")
	}
	assert.EqualValues(t, 3*5, tm.Stats().Ignored, "the lookalikes are counted as answers to unknown tasks")
}

// mixedBatchWorker answers each task in a worker-response-batch that also
// holds an answer to a task that is not ours.
const mixedBatchWorker = `let id;
self.onmessage = (e) => {
  const d = e.data;
  if (d.message === 'init-worker') { id = d.id; self.postMessage({ message: 'worker-ready', workerId: id }); return; }
  if (d.message !== 'worker-work') return;
  self.postMessage({ message: 'worker-response-batch', workerId: id, content: [
    { taskId: 'someone-else', content: 'not ours' },
    { taskId: d.taskId, content: { list: [1, 2] } },
  ] });
};`

func TestAnAnswerBesideAnotherTasksAnswerIsReadLikeAnyOther(t *testing.T) {
	tm, _ := pool(t, atmo.WorkerConfig{Tasks: []string{"t"}, Script: jstest.BlobURL(t, mixedBatchWorker)})
	atmotest.AnswerBesideAnotherTasksAnswer(testCtx(t), t, tm)
}

// busyCountingWorker takes batches, holds its first task, answers a task
// that is not ours, and answers everything once it holds three tasks,
// each with how many messages brought them.
const busyCountingWorker = `let id, messages = 0, held = [];
self.onmessage = (e) => {
  const d = e.data;
  if (d.message === 'init-worker') { id = d.id; self.postMessage({ message: 'worker-ready', workerId: id, content: { features: ['batch'] } }); return; }
  if (d.message === 'worker-work') held.push(d.taskId);
  else if (d.message === 'worker-work-batch') held.push(...d.content.map((w) => w.taskId));
  else return;
  messages++;
  if (held.length === 1) self.postMessage({ message: 'worker-response', taskId: 'someone-else', workerId: id, content: 'not ours' });
  if (held.length === 3) for (const taskId of held) self.postMessage({ message: 'worker-response', taskId, workerId: id, content: messages });
};`

func TestTasksForABusyWorkerLeaveTogetherEvenAfterAnAnswerThatIsNotOurs(t *testing.T) {
	tm, _ := pool(t, atmo.WorkerConfig{Tasks: []string{"t"}, Script: jstest.BlobURL(t, busyCountingWorker), Concurrency: 3})
	answers := make(chan atmo.Response, 3)
	add := func() {
		_, err := tm.AddTask(atmo.TaskParams{Name: "t", OnSuccess: func(r atmo.Response) { answers <- r }, OnError: func(r atmo.Response) { answers <- r }})
		require.NoError(t, err)
	}
	add() // goes at once: the worker was idle
	require.Eventually(t, func() bool { return tm.Stats().Ignored == 1 }, 10*time.Second, 5*time.Millisecond,
		"the worker answers a task that is not ours")
	add() // the first is still in flight, so these two wait for the turn's batch
	add()
	for range 3 {
		r := <-answers
		require.NoError(t, r.Err)
		assert.Equal(t, 2.0, r.Content, "the lone task, then one batch for the two added while it ran")
	}
}
