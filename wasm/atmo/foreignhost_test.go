//go:build js && wasm

package atmo_test

import (
	"fmt"
	"math"
	"math/rand/v2"
	"strings"
	"syscall/js"
	"testing"
	"time"

	"github.com/atmoworkers/atmo/wasm/atmo"
	"github.com/atmoworkers/atmo/wasm/internal/jstest"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// A foreign or buggy host, talking to atmo's workers by hand: whatever it
// posts, a worker answers each task it can once, with the id it came with,
// throws nothing out of its listener, and serves the next task.

// converse starts a worker from url and runs script, with w the worker and
// post(msg[, transfer]) its postMessage, to say what a host says. It
// collects every message the worker posts (a batch's answers one by one, as
// worker-response) until each of waitFor has come (an answer's taskId, or
// "ready:" and a worker-ready's workerId); then it posts the task "last"
// (name lastName, params 0) and stops once that is answered, so that any
// answer still on its way is in. It gives up after 10 s. errors counts the
// worker's uncaught errors; exited says its thread ended (Node's exit).
var converse = js.Global().Get("Function").New("url", "script", "waitFor", "lastName", `return new Promise((resolve) => {
  const w = new Worker(url);
  const got = [];
  let errors = 0, sentLast = false, over = false;
  const end = () => { if (over) return; over = true; w.terminate(); resolve({ got, errors }); };
  const has = (want) => got.some((m) => want.startsWith('ready:')
    ? m.message === 'worker-ready' && m.workerId === want.slice(6)
    : m.message === 'worker-response' && m.taskId === want);
  w.onerror = (e) => { e.preventDefault(); errors++; };
  w.addEventListener('message', (e) => {
    const d = e.data;
    if (d && d.message === 'worker-response-batch' && Array.isArray(d.content)) {
      for (const it of d.content) got.push(Object.assign({ message: 'worker-response', workerId: d.workerId }, it));
    } else got.push(d);
    if (!sentLast && waitFor.every(has)) {
      sentLast = true;
      w.postMessage({ message: 'worker-work', taskId: 'last', content: { name: lastName, params: 0 } });
    }
    if (has('last')) end();
  });
  setTimeout(end, 10000);
  (new Function('w', 'post', script))(w, (m, t) => w.postMessage(m, t || []));
});`)

type conversation struct {
	answers  map[string][]js.Value // by taskId (string ids only)
	readies  []js.Value
	errors   int
	untagged int // worker-responses with no string taskId
}

func talk(t *testing.T, url, script, lastName string, waitFor ...string) conversation {
	t.Helper()
	w := make([]any, len(waitFor))
	for i, s := range waitFor {
		w[i] = s
	}
	r := await(t, converse.Invoke(url, script, w, lastName))
	c := conversation{answers: map[string][]js.Value{}, errors: r.Get("errors").Int()}
	got := r.Get("got")
	for i := 0; i < got.Length(); i++ {
		m := got.Index(i)
		switch m.Get("message").String() {
		case "worker-ready":
			c.readies = append(c.readies, m)
		case "worker-response":
			if id := m.Get("taskId"); id.Type() == js.TypeString {
				c.answers[id.String()] = append(c.answers[id.String()], m)
			} else {
				c.untagged++
			}
		}
	}
	require.Len(t, c.answers["last"], 1, "the worker serves the next task")
	return c
}

// foreignHelper is a helper worker with a quick task and a slow one.
const foreignHelper = `atmoWorker({
  double: (n) => 2 * n,
  slow: (v, { signal }) => new Promise((resolve, reject) => {
    const timer = setTimeout(() => resolve(v), 100);
    signal.addEventListener('abort', () => { clearTimeout(timer); reject(signal.reason); });
  }),
});`

func TestAHelperWorkerSkipsABatchItemThatIsNoTaskAndAnswersTheRest(t *testing.T) {
	c := talk(t, jstest.HelperWorker(t, foreignHelper), `
post({ message: 'init-worker', id: 'w', features: ['batch'] });
post({ message: 'worker-work-batch', workerId: 'w', content: [{ taskId: 'a', name: 'double', params: 1 }, null, 7, { name: 'double', params: 5 }, { taskId: 'b', name: 'double', params: 2 }] });`,
		"double", "a", "b")
	assert.Zero(t, c.errors)
	assert.Zero(t, c.untagged, "an item with no taskId is no task: no answer no host could match")
	require.Len(t, c.answers["a"], 1)
	require.Len(t, c.answers["b"], 1)
	assert.Equal(t, 4, c.answers["b"][0].Get("content").Int())
}

func TestAHelperWorkerIgnoresAKeepAwakeThatIsNoNumber(t *testing.T) {
	c := talk(t, jstest.HelperWorker(t, foreignHelper), `
post({ message: 'init-worker', id: 'w', keepAwake: 100n });
post({ message: 'worker-work', taskId: 't1', awake: 50n, content: { name: 'double', params: 1 } });`,
		"double", "t1")
	assert.Zero(t, c.errors, "nothing thrown after the answer, when the thread would stay awake")
	require.Len(t, c.answers["t1"], 1)
}

func TestAHelperWorkerGivenAnIdItCannotPostBackThrowsNothingAndServesOn(t *testing.T) {
	c := talk(t, jstest.HelperWorker(t, foreignHelper), `
post({ message: 'init-worker', id: 'w' });
const { port1, port2 } = new MessageChannel();
post({ message: 'worker-work', taskId: port2, content: { name: 'double', params: 1 } }, [port2]);
post({ message: 'worker-work', taskId: 't', content: { name: 'double', params: 2 } });`,
		"double", "t")
	assert.Zero(t, c.errors)
	require.Len(t, c.answers["t"], 1)
}

func TestAHelperWorkerRunsATaskIdGivenTwiceOnlyOnce(t *testing.T) {
	// The host's own retry comes only once the slot is free: a second
	// worker-work with the id of a running task is a duplicate.
	c := talk(t, jstest.HelperWorker(t, foreignHelper), `
post({ message: 'init-worker', id: 'w' });
post({ message: 'worker-work', taskId: 'x', content: { name: 'slow', params: 1 } });
post({ message: 'worker-work', taskId: 'x', content: { name: 'slow', params: 2 } });
post({ message: 'worker-work', taskId: 'x', content: { name: 'nope', params: 3 } });`,
		"slow", "x")
	require.Len(t, c.answers["x"], 1)
	assert.Equal(t, 1, c.answers["x"][0].Get("content").Int(), "the first run's answer")
}

func TestAHelperWorkerRunsATaskIdGivenTwiceInOneBatchOnlyOnce(t *testing.T) {
	// As with two worker-work messages for a running task: the same id twice
	// in one batch is one task, whether its handler answers at once or not.
	c := talk(t, jstest.HelperWorker(t, foreignHelper), `
post({ message: 'init-worker', id: 'w', features: ['batch'], concurrency: 4 });
post({ message: 'worker-work-batch', workerId: 'w', content: [{ taskId: 'a', name: 'double', params: 1 }, { taskId: 'a', name: 'double', params: 5 }, { taskId: 's', name: 'slow', params: 1 }, { taskId: 's', name: 'slow', params: 2 }] });`,
		"double", "a", "s")
	assert.Zero(t, c.errors)
	require.Len(t, c.answers["s"], 1, "a slow handler: run once")
	require.Len(t, c.answers["a"], 1, "a quick handler: run once too")
	assert.Equal(t, 2, c.answers["a"][0].Get("content").Int(), "the first item's answer")
}

func TestAHelperWorkerRegisteredAfterAnAwaitAnswersEveryInitWorker(t *testing.T) {
	// A Web Worker drops a message nobody listens for; the helper keeps
	// every init-worker until atmoWorker is called, as parentPort would.
	c := talk(t, jstest.HelperWorker(t, "setTimeout(() => "+strings.TrimSuffix(foreignHelper, ";")+", 100);"), `
post({ message: 'init-worker', id: 'w1' });
post({ message: 'init-worker', id: 'w2' });`,
		"double", "ready:w2")
	require.Len(t, c.readies, 2, "a second init-worker is answered with another worker-ready, as when registered at once")
	assert.Equal(t, "w1", c.readies[0].Get("workerId").String())
}

func TestAHelperWorkerAnswersASecondInitWorkerNamingTheLockItHolds(t *testing.T) {
	lock := fmt.Sprintf("atmo-test-lock-%d", rand.Uint32())
	c := talk(t, jstest.HelperWorker(t, foreignHelper), `
const lock = `+"`"+lock+"`"+`;
w.addEventListener('message', (e) => {
  if (e.data.message === 'worker-ready' && e.data.workerId === 'w1') post({ message: 'init-worker', id: 'w2', lock });
});
post({ message: 'init-worker', id: 'w1', lock });`,
		"double", "ready:w2")
	require.Len(t, c.readies, 2)
	assert.Equal(t, lock, c.readies[1].Get("content").Get("lock").String())
}

func TestAGoWorkerIgnoresAKeepAwakeThatIsNoNumber(t *testing.T) {
	module := moduleURL(t, goTestModule)
	c := talk(t, jstest.FileURL(t, "jsworker/go-worker.js"), `
post({ message: 'go-module', url: `+"`"+module+"`"+` });
post({ message: 'init-worker', id: 'w', content: ['echo'], keepAwake: 100n });
post({ message: 'worker-work', taskId: 't1', awake: 5, content: { name: 'echo', params: 1 } });`,
		"echo", "t1")
	assert.Zero(t, c.errors)
	require.Len(t, c.answers["t1"], 1)
	assert.Equal(t, 1, c.answers["t1"][0].Get("content").Int())
}

func TestWorkersTakeABurstAsLargeAsAHugeConcurrencyAllows(t *testing.T) {
	// Concurrency far above any batch bound (math.MaxInt32, "no limit"):
	// a burst of 1,100 tasks goes out as one batch, which every worker runs.
	const n = 1100
	for _, c := range []struct {
		config atmo.WorkerConfig
		task   string
		params any
	}{
		{atmo.WorkerConfig{Tasks: []string{"wait"}, Script: jstest.HelperWorker(t, `atmoWorker({ wait: (x) => new Promise((r) => setTimeout(() => r(x), 200)) });`)}, "wait", 1},
		{atmo.WorkerConfig{Tasks: goTestTasks, Module: moduleURL(t, goTestModule)}, "sleep", map[string]any{"Ms": 200}},
	} {
		c.config.Concurrency = math.MaxInt32
		tm, _ := goPool(t, c.config)
		done := make(chan error, n)
		for range n {
			_, err := tm.AddTask(atmo.TaskParams{Name: c.task, Params: c.params, Timeout: 20 * time.Second, // a dropped batch: not for ever
				OnSuccess: func(atmo.Response) { done <- nil }, OnError: func(r atmo.Response) { done <- r.Err }})
			require.NoError(t, err)
		}
		for range n {
			require.NoError(t, <-done, c.task)
		}
	}
}
