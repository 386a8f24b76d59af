//go:build js && wasm

package atmo_test

import (
	"sync"
	"testing"
	"time"

	"github.com/atmoworkers/atmo/wasm/atmo"
	"github.com/atmoworkers/atmo/wasm/internal/jstest"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestKeepAwakeReachesTheWorkerInInitWorkerInMicroseconds(t *testing.T) {
	script := jstest.BlobURL(t, `
let id, keepAwake;
self.onmessage = (e) => {
  const d = e.data;
  if (d.message === 'init-worker') { id = d.id; keepAwake = 'keepAwake' in d ? d.keepAwake : 'absent'; self.postMessage({ message: 'worker-ready', workerId: id }); return; }
  self.postMessage({ message: 'worker-response', taskId: d.taskId, workerId: id, content: keepAwake });
};`)
	tm, _ := pool(t,
		atmo.WorkerConfig{Tasks: []string{"awake"}, Script: script, KeepAwake: 50 * time.Microsecond},
		atmo.WorkerConfig{Tasks: []string{"asleep"}, Script: script})
	got, err := tm.Do(testCtx(t), "awake", nil)
	require.NoError(t, err)
	assert.Equal(t, 50.0, got)
	got, err = tm.Do(testCtx(t), "asleep", nil)
	require.NoError(t, err)
	assert.Equal(t, "absent", got, "without KeepAwake a seed script sees the init-worker it knows")
}

func TestAHelperWorkerKeptAwakeAnswersAsItWouldAsleep(t *testing.T) {
	script := jstest.HelperWorker(t, `atmoWorker({
  echo: (p) => p,
  later: async (p) => { await null; return p; },
  fail: () => { throw new Error('no'); },
});`)
	tm, _ := pool(t, atmo.WorkerConfig{Tasks: []string{"echo", "later", "fail"}, Script: script, KeepAwake: atmo.MaxKeepAwake, Concurrency: 8})
	for i := range 20 { // one at a time: each answer leaves alone, then the worker stays awake
		for _, name := range []string{"echo", "later"} {
			got, err := tm.Do(testCtx(t), name, float64(i))
			require.NoError(t, err)
			require.Equal(t, float64(i), got)
		}
		_, err := tm.Do(testCtx(t), "fail", nil)
		require.ErrorContains(t, err, "no")
	}
	// A burst: answers leave in batches, and the worker stays awake after each.
	var wg sync.WaitGroup
	got := make([]any, 200)
	for i := range got {
		wg.Add(1)
		name := []string{"echo", "later"}[i%2]
		_, err := tm.AddTask(atmo.TaskParams{Name: name, Params: float64(i), OnSuccess: func(r atmo.Response) { got[i] = r.Content; wg.Done() },
			OnError: func(r atmo.Response) { got[i] = r.Err; wg.Done() }})
		require.NoError(t, err)
	}
	wg.Wait()
	for i, v := range got {
		require.Equal(t, float64(i), v)
	}
}

func TestAGoWorkerKeptAwakeAnswersAsItWouldAsleep(t *testing.T) {
	tm, _ := goPool(t, atmo.WorkerConfig{Tasks: goTestTasks, Module: moduleURL(t, goTestModule), KeepAwake: atmo.MaxKeepAwake, Concurrency: 8})
	ctx := goCtx(t)
	for i := range 20 { // one at a time: the worker falls idle after each answer
		got, err := tm.Do(ctx, "echo", float64(i))
		require.NoError(t, err)
		require.Equal(t, float64(i), got)
		_, err = tm.Do(ctx, "fail", map[string]any{"message": "no"})
		require.ErrorContains(t, err, "no")
	}
	var wg sync.WaitGroup
	got := make([]any, 200)
	for i := range got {
		wg.Add(1)
		_, err := tm.AddTask(atmo.TaskParams{Name: "echo", Params: float64(i), OnSuccess: func(r atmo.Response) { got[i] = r.Content; wg.Done() },
			OnError: func(r atmo.Response) { got[i] = r.Err; wg.Done() }})
		require.NoError(t, err)
	}
	wg.Wait()
	for i, v := range got {
		require.Equal(t, float64(i), v)
	}
}

// KeepAwake keeps the page awake too, while a lone task is out: a seed
// script, which ignores the rest, still answers each task in turn, and a task
// it never answers times out as it would, with the page awake or not.
func TestAPageKeptAwakeForASeedWorkerStillGetsEveryAnswerAndEveryTimeout(t *testing.T) {
	script := jstest.BlobURL(t, `
let id;
self.onmessage = (e) => {
  const d = e.data;
  if (d.message === 'init-worker') { id = d.id; self.postMessage({ message: 'worker-ready', workerId: id }); return; }
  if (d.content.name === 'silent') return;
  self.postMessage({ message: 'worker-response', taskId: d.taskId, workerId: id, content: d.content.params });
};`)
	tm, _ := pool(t, atmo.WorkerConfig{Tasks: []string{"echo", "silent"}, Script: script, KeepAwake: atmo.MaxKeepAwake, CancelGrace: 50 * time.Millisecond})
	for i := range 20 {
		got, err := tm.Do(testCtx(t), "echo", float64(i))
		require.NoError(t, err)
		require.Equal(t, float64(i), got)
	}
	failed := make(chan error, 1)
	_, err := tm.AddTask(atmo.TaskParams{Name: "silent", Timeout: 20 * time.Millisecond, OnError: func(r atmo.Response) { failed <- r.Err }})
	require.NoError(t, err)
	require.ErrorIs(t, <-failed, atmo.ErrTimeout)
	got, err := tm.Do(testCtx(t), "echo", "after")
	require.NoError(t, err, "the worker that took its place answers")
	assert.Equal(t, "after", got)
}

// A task the TaskManager holds alone asks its worker to stay awake once it
// has answered, in worker-work's awake (µs), which seed scripts ignore, if
// that worker answered the task before; a task among others, or with
// LoneTaskAwake turned off, does not.
func TestAWorkerWorkCarriesAwakeOnlyForATaskTheManagerHoldsAlone(t *testing.T) {
	script := jstest.BlobURL(t, `
let id;
self.onmessage = (e) => {
  const d = e.data;
  if (d.message === 'init-worker') { id = d.id; self.postMessage({ message: 'worker-ready', workerId: id }); return; }
  const answer = () => self.postMessage({ message: 'worker-response', taskId: d.taskId, workerId: id, content: 'awake' in d ? d.awake : 'absent' });
  if (d.content.name === 'hold') setTimeout(answer, 100); else answer();
};`)
	config := atmo.WorkerConfig{Tasks: []string{"probe", "hold"}, Script: script, Count: 2}
	tm, _ := pool(t, config)
	got, err := tm.Do(testCtx(t), "probe", nil)
	require.NoError(t, err)
	assert.Equal(t, "absent", got, "no worker has answered yet: only the page stays awake")
	got, err = tm.Do(testCtx(t), "probe", nil)
	require.NoError(t, err)
	assert.Equal(t, float64(atmo.DefaultLoneTaskAwake/time.Microsecond), got, "alone, to the worker that answered last: LoneTaskAwake, in µs")

	held := make(chan any, 1)
	_, err = tm.AddTask(atmo.TaskParams{Name: "hold", OnSuccess: func(r atmo.Response) { held <- r.Content }})
	require.NoError(t, err)
	got, err = tm.Do(testCtx(t), "probe", nil) // posted while hold is out
	require.NoError(t, err)
	assert.Equal(t, "absent", got, "among others: nothing kept awake")
	assert.Equal(t, float64(atmo.DefaultLoneTaskAwake/time.Microsecond), <-held)

	off := atmo.NewTaskManagerWithOptions(atmo.Options{LoneTaskAwake: -1})
	wm, err := atmo.NewBrowserWorkerManager(off, config)
	require.NoError(t, err)
	t.Cleanup(func() { wm.Close(); off.Close() })
	for range 2 {
		got, err = off.Do(testCtx(t), "probe", nil)
		require.NoError(t, err)
		assert.Equal(t, "absent", got, "LoneTaskAwake turned off: as the seed")
	}
}

// Where a worker cannot post itself background tasks (a browser without
// scheduler.postTask), staying awake would be one spin that holds back the
// next task: KeepAwake, asked for, still spins; a lone task never does.
func TestWithoutPostTaskOnlyKeepAwakeSpinsAWorkerNeverALoneTask(t *testing.T) {
	script := jstest.HelperWorker(t, `
Object.defineProperty(self, 'scheduler', { value: undefined }); // as where postTask is missing
let reads = 0; // clock readings: a spin is a count of them
const now = performance.now.bind(performance);
performance.now = () => { reads++; return now(); };
atmoWorker({ reads: () => reads });`)
	tm, _ := pool(t, atmo.WorkerConfig{Tasks: []string{"reads"}, Script: script})
	for range 5 { // each alone, to the worker that answered the one before
		got, err := tm.Do(testCtx(t), "reads", nil)
		require.NoError(t, err)
		require.Equal(t, 0.0, got, "a lone task's worker read the clock: it spun")
	}

	kept, _ := pool(t, atmo.WorkerConfig{Tasks: []string{"reads"}, Script: script, KeepAwake: 50 * time.Microsecond})
	_, err := kept.Do(testCtx(t), "reads", nil)
	require.NoError(t, err)
	got, err := kept.Do(testCtx(t), "reads", nil)
	require.NoError(t, err)
	assert.Greater(t, got, 0.0, "KeepAwake spun once the first task was answered")
}
