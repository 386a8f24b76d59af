//go:build js && wasm

// Package nodetest specifies ServerWorkerManager under Node.js with real
// worker_threads workers. It holds only tests, run by `make test-node` with Go's
// own Node.js runner (go_js_wasm_exec), never in the browser.
package nodetest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"maps"
	"math"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall/js"
	"testing"
	"time"

	"github.com/atmoworkers/atmo/wasm/atmo"
	"github.com/atmoworkers/atmo/wasm/atmo/internal/atmotest"
	"github.com/atmoworkers/atmo/wasm/internal/values"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// The test's working directory is this package's directory (go test's rule,
// kept by go_js_wasm_exec), so relative paths reach the repository.
const (
	seedWorker = "testdata/seed-server-worker.js"
	echoWorker = "testdata/echo-worker.js"
	repoRoot   = "../../.."
)

func testCtx(t testing.TB) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// abs is a repository-relative path made absolute.
func abs(t testing.TB, rel string) string {
	t.Helper()
	p, err := filepath.Abs(rel)
	require.NoError(t, err)
	return p
}

// start starts a TaskManager and a ServerWorkerManager on configs, and closes
// both when the test ends. It does not wait for the workers.
func start(t testing.TB, configs ...atmo.WorkerConfig) (*atmo.TaskManager, *atmo.ServerWorkerManager) {
	t.Helper()
	tm := atmo.NewTaskManager()
	wm, err := atmo.NewServerWorkerManager(tm, configs...)
	require.NoError(t, err)
	t.Cleanup(func() { wm.Close(); tm.Close() })
	return tm, wm
}

// pool is start, then waits until every worker is ready.
func pool(t testing.TB, configs ...atmo.WorkerConfig) (*atmo.TaskManager, *atmo.ServerWorkerManager) {
	t.Helper()
	tm, wm := start(t, configs...)
	require.NoError(t, wm.Ready(testCtx(t)))
	return tm, wm
}

// script writes a worker script into a temporary directory and returns its path.
func script(t testing.TB, name, text string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	require.NoError(t, os.WriteFile(p, []byte(text), 0o644))
	return p
}

func echo(t testing.TB, tasks ...string) atmo.WorkerConfig {
	return atmo.WorkerConfig{Tasks: tasks, Script: echoWorker}
}

func TestSeedServerWorkerWithParentPortRunsUnchanged(t *testing.T) {
	tm, _ := pool(t, atmo.WorkerConfig{Tasks: []string{"add", "multiply", "divide", "fibonacci"}, Script: seedWorker})
	answersLikeTheSeedMathWorker(t, tm)
}

func TestAnswersReachGoThroughTheWasmExportInNodeToo(t *testing.T) {
	// Node's wasm_exec.js runs Go as the browser's does, so answers skip
	// syscall/js's event path here too (see values.Receiver); and without
	// the export they still arrive.
	require.True(t, values.SetHop(true), "the Go instance was found under Node.js")
	t.Cleanup(func() { values.SetHop(true) })
	for _, export := range []bool{true, false} {
		values.SetHop(export)
		tm, _ := pool(t, atmo.WorkerConfig{Tasks: []string{"add", "multiply", "divide", "fibonacci"}, Script: seedWorker})
		answersLikeTheSeedMathWorker(t, tm)
	}
}

// answersLikeTheSeedMathWorker checks add, fibonacci and divide's
// division-by-zero error, as the seed's math worker answers them.
func answersLikeTheSeedMathWorker(t *testing.T, tm *atmo.TaskManager) {
	t.Helper()
	ctx := testCtx(t)
	sum, err := tm.Do(ctx, "add", map[string]any{"a": 10, "b": 20})
	require.NoError(t, err)
	assert.Equal(t, 30.0, sum)
	fib, err := tm.Do(ctx, "fibonacci", map[string]any{"n": 20})
	require.NoError(t, err)
	assert.Equal(t, 6765.0, fib)

	_, err = tm.Do(ctx, "divide", map[string]any{"a": 1, "b": 0})
	var te *atmo.TaskError
	require.ErrorAs(t, err, &te)
	assert.Equal(t, "Division by zero is not allowed", te.Message)
}

func TestAtmoWorkerHelperRunsUnchangedInWorkerThreads(t *testing.T) {
	tm, wm := pool(t, echo(t, "echo"))
	got, err := tm.Do(testCtx(t), "echo", map[string]any{"x": 1, "bytes": []byte{1, 2, 3}})
	require.NoError(t, err)
	m := got.(map[string]any)
	assert.Equal(t, wm.Workers()[0].ID(), m["worker"])
	assert.Equal(t, "echo", m["name"])
	assert.Equal(t, map[string]any{"x": 1.0, "bytes": []byte{1, 2, 3}}, m["params"])
	assert.Equal(t, "testdata/echo-worker.js", wm.Workers()[0].Script())
}

func TestAtmoWorkerHelperRunsAsAnESModuleInAPackageOfTypeModule(t *testing.T) {
	dir := t.TempDir()
	for _, f := range []string{"atmo-worker.js", "atmo-worker.mjs"} {
		b, err := os.ReadFile(filepath.Join(repoRoot, "jsworker", f))
		require.NoError(t, err)
		require.NoError(t, os.WriteFile(filepath.Join(dir, f), b, 0o644))
	}
	require.NoError(t, os.WriteFile(filepath.Join(dir, "package.json"), []byte(`{"type": "module"}`), 0o644))
	worker := filepath.Join(dir, "worker.js")
	require.NoError(t, os.WriteFile(worker, []byte("import { atmoWorker } from './atmo-worker.mjs';\natmoWorker({ twice: (n) => 2 * n });\n"), 0o644))
	tm, _ := pool(t, atmo.WorkerConfig{Tasks: []string{"twice"}, Script: worker})
	got, err := tm.Do(testCtx(t), "twice", 21)
	require.NoError(t, err)
	assert.Equal(t, 42.0, got)
}

func TestParamsThatCannotBePostedToAThreadFailTheirTask(t *testing.T) {
	tm, _ := pool(t, echo(t, "echo"))
	ctx := testCtx(t)
	_, err := tm.Do(ctx, "echo", map[string]any{"f": js.Global().Get("Function").New("")})
	var te *atmo.TaskError
	require.ErrorAs(t, err, &te, "a function cannot cross to a thread")
	assert.Contains(t, te.Message, "params could not be posted to the worker")
	got, err := tm.Do(ctx, "echo", 1)
	require.NoError(t, err)
	assert.Equal(t, 1.0, got.(map[string]any)["params"])
}

func TestABufferMovedTwiceFailsItsTaskInsteadOfVanishingInWorkerThreads(t *testing.T) {
	// Node.js 20's postMessage drops a message whose transfer list holds a
	// buffer moved already, without throwing: both ways, that task would
	// wait for ever.
	giver := script(t, "giver.js", fmt.Sprintf(`const { atmoWorker } = require(%q);
const keep = new Uint8Array(8);
atmoWorker({ give: () => atmoWorker.transfer(keep, [keep.buffer]) });`, abs(t, repoRoot+"/jsworker/atmo-worker.js")))
	tm, _ := pool(t, echo(t, "echo"), atmo.WorkerConfig{Tasks: []string{"give"}, Script: giver})
	ctx := testCtx(t)
	u8 := js.Global().Get("Uint8Array").New(16)
	_, err := tm.Do(ctx, "echo", map[string]any{"b": atmo.Transfer(u8)})
	require.NoError(t, err)
	_, err = tm.Do(ctx, "echo", map[string]any{"b": atmo.Transfer(u8)})
	require.ErrorIs(t, err, atmo.ErrBadParams, "the page's buffer was moved by the first task: refused when added")
	assert.Contains(t, err.Error(), "params.b is atmo.Transfer of a buffer moved already (detached)")
	var te *atmo.TaskError

	_, err = tm.Do(ctx, "give", nil)
	require.NoError(t, err)
	_, err = tm.Do(ctx, "give", nil)
	require.ErrorAs(t, err, &te, "the worker's buffer was moved by its first answer")
	assert.Contains(t, te.Message, "an ArrayBuffer in the transfer list was moved already (it is detached)")
}

func TestLargeBytesComeBackWholeRoundAfterRoundInWorkerThreads(t *testing.T) {
	// Above values.BigCopy the listener first collects garbage, and each
	// round's send reuses the buffer of the last answer: under Node.js too.
	tm, _ := pool(t, echo(t, "echo"))
	for round := range 3 {
		b := make([]byte, values.BigCopy)
		for i := range b {
			b[i] = byte(i + round)
		}
		got, err := tm.Do(testCtx(t), "echo", b)
		require.NoError(t, err)
		m := got.(map[string]any)
		require.True(t, bytes.Equal(b, m["params"].([]byte)), "round %d", round)
	}
}

func TestAtmoWorkerModuleHelperRunsAsESModule(t *testing.T) {
	helper := url.URL{Scheme: "file", Path: abs(t, repoRoot+"/jsworker/atmo-worker.mjs")}
	p := script(t, "worker.mjs", fmt.Sprintf("import { atmoWorker } from %q;\natmoWorker({ add: ({ a, b }) => a + b });\n", helper.String()))
	tm, _ := pool(t, atmo.WorkerConfig{Tasks: []string{"add"}, Script: p})
	got, err := tm.Do(testCtx(t), "add", map[string]any{"a": 2, "b": 3})
	require.NoError(t, err)
	assert.Equal(t, 5.0, got)
}

func TestScriptMayBeAnAbsolutePathOrAFileURL(t *testing.T) {
	fileURL := url.URL{Scheme: "file", Path: abs(t, echoWorker)}
	tm, wm := pool(t,
		atmo.WorkerConfig{Tasks: []string{"a"}, Script: abs(t, echoWorker)},
		atmo.WorkerConfig{Tasks: []string{"b"}, Script: fileURL.String()},
	)
	for _, name := range []string{"a", "b"} {
		_, err := tm.Do(testCtx(t), name, nil)
		require.NoError(t, err, name)
	}
	for _, w := range wm.Workers() {
		assert.Equal(t, atmo.WorkerAvailable, w.Status(), w.ID())
	}
}

func TestTasksGoOnlyToWorkersThatListThem(t *testing.T) {
	tm, wm := pool(t, echo(t, "a"), echo(t, "b"), echo(t, "a", "b", "c"))
	ws := wm.Workers()
	ctx := testCtx(t)
	seen := map[string]map[string]bool{"a": {}, "b": {}, "c": {}}
	var mu sync.Mutex
	var wg sync.WaitGroup
	for i := 0; i < 30; i++ { // all at once, so that every worker that may take one does
		for _, name := range []string{"a", "b", "c"} {
			wg.Add(1)
			go func() {
				defer wg.Done()
				got, err := tm.Do(ctx, name, map[string]any{"i": i})
				if !assert.NoError(t, err) {
					return
				}
				mu.Lock()
				seen[name][got.(map[string]any)["worker"].(string)] = true
				mu.Unlock()
			}()
		}
	}
	wg.Wait()
	assert.Subset(t, []string{ws[0].ID(), ws[2].ID()}, slices.Collect(maps.Keys(seen["a"])))
	assert.Subset(t, []string{ws[1].ID(), ws[2].ID()}, slices.Collect(maps.Keys(seen["b"])))
	assert.Equal(t, map[string]bool{ws[2].ID(): true}, seen["c"])
	assert.True(t, seen["a"][ws[0].ID()] && seen["b"][ws[1].ID()], "with the generalist busy, the specialists took their share: %v", seen)

	_, err := tm.Do(ctx, "resize", nil)
	assert.ErrorIs(t, err, atmo.ErrNoWorker)
}

func TestThousandTasksRunExactlyOnce(t *testing.T) {
	const n = 1000
	tm, wm := pool(t, atmo.WorkerConfig{Tasks: []string{"echo"}, Script: echoWorker, Count: 4})
	require.Len(t, wm.Workers(), 4)
	var mu sync.Mutex
	answers := map[int]int{} // params.i → results seen
	var wg sync.WaitGroup
	wg.Add(n)
	for i := 0; i < n; i++ {
		_, err := tm.AddTask(atmo.TaskParams{
			Name: "echo", Params: map[string]any{"i": i},
			OnSuccess: func(r atmo.Response) {
				defer wg.Done()
				p := r.Content.(map[string]any)["params"].(map[string]any)
				mu.Lock()
				answers[int(p["i"].(float64))]++
				mu.Unlock()
			},
			OnError: func(r atmo.Response) {
				defer wg.Done()
				t.Errorf("task %s failed: %v", r.TaskID, r.Err)
			},
		})
		require.NoError(t, err)
	}
	wg.Wait()
	require.Len(t, answers, n)
	for i := 0; i < n; i++ {
		assert.Equal(t, 1, answers[i], "task %d", i)
	}
	total := 0
	for _, w := range wm.Workers() {
		total += w.TasksDone()
		assert.Positive(t, w.TasksDone(), "%s got no task", w.ID())
	}
	assert.Equal(t, n, total)
	s := tm.Status()
	assert.Equal(t, n, s.Done)
	assert.Zero(t, s.Failed)
	assert.Empty(t, s.Pending)
	assert.Empty(t, s.Working)
}

// A missing Script closes its worker saying which file; only a relative
// path is said to be resolved against the working directory.
func TestMissingScriptClosesItsWorkerWithNoSuchFile(t *testing.T) {
	for _, script := range []string{"testdata/nope.js", abs(t, "testdata/nope.js")} {
		tm, wm := start(t, atmo.WorkerConfig{Tasks: []string{"echo"}, Script: script})
		err := wm.Ready(testCtx(t))
		require.ErrorIs(t, err, atmo.ErrWorkerStart)
		assert.ErrorContains(t, err, "no such file: "+abs(t, "testdata/nope.js"))
		if filepath.IsAbs(script) {
			assert.NotContains(t, err.Error(), "relative path", script)
		} else {
			assert.ErrorContains(t, err, "a relative path is resolved against the working directory")
		}
		w := wm.Workers()[0]
		assert.Equal(t, atmo.WorkerClosed, w.Status())
		assert.Contains(t, w.LastError(), "no such file: "+abs(t, "testdata/nope.js"))

		_, err = tm.Do(testCtx(t), "echo", nil)
		assert.ErrorIs(t, err, atmo.ErrNoWorker)
	}
}

func TestMissingScriptSendsItsTasksToTheOtherWorkers(t *testing.T) {
	tm, wm := start(t,
		atmo.WorkerConfig{Tasks: []string{"echo"}, Script: "testdata/nope.js"},
		echo(t, "echo"),
	)
	got, err := tm.Do(testCtx(t), "echo", nil)
	require.NoError(t, err)
	assert.Equal(t, wm.Workers()[1].ID(), got.(map[string]any)["worker"])
}

func TestARelativeScriptRestartsFromTheSameFileAfterTheProgramChangesDirectory(t *testing.T) {
	// A server that chdirs after starting its workers (to a data directory,
	// say): a crash must bring back the worker it had, not close it for
	// good with "no such file" because the relative path now points
	// elsewhere.
	tm, wm := pool(t, echo(t, "echo"))
	wd, err := os.Getwd()
	require.NoError(t, err)
	t.Cleanup(func() { os.Chdir(wd) })
	require.NoError(t, os.Chdir(t.TempDir()))

	_, err = tm.Do(testCtx(t), "echo", map[string]any{"exit": 3})
	require.ErrorIs(t, err, atmo.ErrWorkerCrashed)
	require.NoError(t, wm.Ready(testCtx(t)), "the worker restarts from the file it started from")
	got, err := tm.Do(testCtx(t), "echo", "back")
	require.NoError(t, err)
	assert.Equal(t, "back", got.(map[string]any)["params"])
}

func TestAGoModuleGivenAsScriptFailsToStartSayingToUseModule(t *testing.T) {
	_, wm := start(t, atmo.WorkerConfig{Tasks: []string{"echo"}, Script: module(t, testModule), Restart: atmo.RestartPolicy{MaxBootFailures: 1}})
	err := wm.Ready(testCtx(t))
	require.ErrorIs(t, err, atmo.ErrWorkerStart)
	assert.ErrorContains(t, err, "WorkerConfig.Module")
}

func TestAScriptThatNeverAnswersInitWorkerFailsToStartSayingWhereNodeWorkersListen(t *testing.T) {
	silent := script(t, "silent.js", "setInterval(() => {}, 1000); // runs, listens to nothing\n")
	_, wm := start(t, atmo.WorkerConfig{Tasks: []string{"echo"}, Script: silent, StartTimeout: 300 * time.Millisecond, Restart: atmo.RestartPolicy{MaxBootFailures: 1}})
	err := wm.Ready(testCtx(t))
	require.ErrorIs(t, err, atmo.ErrWorkerStart)
	assert.ErrorContains(t, err, "did not answer init-worker with worker-ready within 300ms")
	assert.ErrorContains(t, err, "require('worker_threads').parentPort", "a Node.js worker's words")
	assert.ErrorContains(t, err, "if it is only slow to start, raise WorkerConfig.StartTimeout")
	assert.NotContains(t, err.Error(), "empty page", "not a browser's")
}

func TestAWebWorkerScriptFailsToStartSayingHowNodeWorkersListen(t *testing.T) {
	for text, undefined := range map[string]string{
		"self.onmessage = (e) => self.postMessage(e.data);":        "self",
		"addEventListener('message', (e) => postMessage(e.data));": "addEventListener",
	} {
		file := script(t, "web-worker.js", text)
		_, wm := start(t, atmo.WorkerConfig{Tasks: []string{"echo"}, Script: file, Restart: atmo.RestartPolicy{MaxBootFailures: 1}})
		err := wm.Ready(testCtx(t))
		require.ErrorIs(t, err, atmo.ErrWorkerStart)
		assert.ErrorContains(t, err, "ReferenceError: "+undefined+" is not defined (a Web Worker script: under Node.js a worker talks through require('worker_threads').parentPort")
	}
}

func TestAnESModuleLoadedAsCommonJSFailsToStartSayingHowNodeLoadsModules(t *testing.T) {
	dir := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(dir, "package.json"), []byte(`{"type": "commonjs"}`), 0o644))
	file := filepath.Join(dir, "esm.js")
	require.NoError(t, os.WriteFile(file, []byte("import { parentPort } from 'node:worker_threads';\nparentPort.on('message', () => {});\n"), 0o644))
	_, wm := start(t, atmo.WorkerConfig{Tasks: []string{"echo"}, Script: file, Type: "module", Restart: atmo.RestartPolicy{MaxBootFailures: 1}})
	err := wm.Ready(testCtx(t))
	require.ErrorIs(t, err, atmo.ErrWorkerStart)
	assert.ErrorContains(t, err, `(an ES module: under Node.js WorkerConfig.Type is not used; name the file .mjs, or put it in a package whose package.json says "type": "module")`)
}

func TestAGoModuleThatIsNoWasmFailsToStartSayingWhatItMustBe(t *testing.T) {
	atmo.SetGoModuleOptions(atmo.GoModuleOptions{CompileInWorker: true})
	t.Cleanup(func() { atmo.SetGoModuleOptions(atmo.GoModuleOptions{}) })
	file := script(t, "not-wasm.wasm", "// a script, not a module")
	_, wm := start(t, atmo.WorkerConfig{Tasks: []string{"echo"}, Module: file, Restart: atmo.RestartPolicy{MaxBootFailures: 1}})
	err := wm.Ready(testCtx(t))
	require.ErrorIs(t, err, atmo.ErrWorkerStart)
	assert.ErrorContains(t, err, "(is it a .wasm built with GOOS=js GOARCH=wasm?)")
}

func TestURLScriptIsRejectedOnceSayingWhatIsExpected(t *testing.T) {
	// No restart turns a URL into a file: the start fails once, and the
	// task waiting for it fails with why.
	for _, c := range []atmo.WorkerConfig{
		{Tasks: []string{"echo"}, Script: "https://example.com/worker.js", Count: 2},
		{Tasks: []string{"echo"}, Module: "https://example.com/worker.wasm"},
		{Tasks: []string{"echo"}, Script: "file://host:port/worker.js"},
	} {
		tm, wm := start(t, c)
		done := make(chan error, 1)
		go func() { _, err := tm.Do(testCtx(t), "echo", nil); done <- err }()
		atmotest.FailedToStartOnce(testCtx(t), t, tm, wm, done, "file: URL")
	}
}

func TestWorkerThatThrowsAtStartFailsToStart(t *testing.T) {
	p := script(t, "throws.js", "throw new Error('no database configured');\n")
	tm, wm := start(t, atmo.WorkerConfig{Tasks: []string{"echo"}, Script: p})
	err := wm.Ready(testCtx(t))
	require.ErrorIs(t, err, atmo.ErrWorkerStart)
	assert.ErrorContains(t, err, "no database configured")
	w := wm.Workers()[0]
	assert.Equal(t, atmo.WorkerClosed, w.Status())
	assert.Contains(t, w.LastError(), "failed to start")

	_, err = tm.Do(testCtx(t), "echo", nil)
	assert.ErrorIs(t, err, atmo.ErrNoWorker)
}

func TestScriptThatNeverListensFailsToStart(t *testing.T) {
	p := script(t, "idle.js", "// does nothing: the thread ends at once\n")
	_, wm := start(t, atmo.WorkerConfig{Tasks: []string{"echo"}, Script: p})
	err := wm.Ready(testCtx(t))
	require.ErrorIs(t, err, atmo.ErrWorkerStart)
	assert.ErrorContains(t, err, "exited with code 0")
	assert.ErrorContains(t, err, "parentPort")
}

func TestExitMidTaskFailsTheTaskWithErrWorkerCrashedAndRestartsTheWorker(t *testing.T) {
	tm, wm := pool(t, echo(t, "echo"))
	w := wm.Workers()[0]
	_, err := tm.Do(testCtx(t), "echo", map[string]any{"exit": 3})
	require.ErrorIs(t, err, atmo.ErrWorkerCrashed)
	assert.ErrorContains(t, err, w.ID())
	assert.ErrorContains(t, err, "exited with code 3")
	assert.Contains(t, w.LastError(), "crashed")

	// The same worker comes back on a fresh thread.
	require.NoError(t, wm.Ready(testCtx(t)))
	assert.Equal(t, atmo.WorkerAvailable, w.Status())
	got, err := tm.Do(testCtx(t), "echo", nil)
	require.NoError(t, err)
	assert.Equal(t, w.ID(), got.(map[string]any)["worker"])
	assert.Equal(t, 1, tm.Stats().Restarted)
}

func TestExitMidTaskClosesTheWorkerWhenRestartsAreOff(t *testing.T) {
	c := echo(t, "echo")
	c.Restart = atmo.RestartPolicy{Never: true}
	tm, wm := pool(t, c)
	w := wm.Workers()[0]
	_, err := tm.Do(testCtx(t), "echo", map[string]any{"exit": 3})
	require.ErrorIs(t, err, atmo.ErrWorkerCrashed)
	assert.Equal(t, atmo.WorkerClosed, w.Status())
	assert.Contains(t, w.LastError(), "exited with code 3")
	_, err = tm.Do(testCtx(t), "echo", nil)
	assert.ErrorIs(t, err, atmo.ErrNoWorker)
}

func TestTaskOfAnExitedThreadIsRetriedWhenRetriesAllow(t *testing.T) {
	tm, _ := pool(t, echo(t, "echo"), echo(t, "echo"))
	marker := filepath.Join(t.TempDir(), "crashed")
	done := make(chan atmo.Response, 1)
	_, err := tm.AddTask(atmo.TaskParams{
		Name: "echo", Params: map[string]any{"exitOnce": marker}, Retries: 1,
		OnSuccess: func(r atmo.Response) { done <- r },
		OnError:   func(r atmo.Response) { done <- r },
	})
	require.NoError(t, err)
	r := <-done
	require.NoError(t, r.Err)
	assert.FileExists(t, marker, "the first run crashed")
	assert.Equal(t, 1, tm.Stats().Retried)
}

func TestUncaughtExceptionMidTaskCrashesTheWorker(t *testing.T) {
	tm, wm := pool(t, echo(t, "echo"))
	_, err := tm.Do(testCtx(t), "echo", map[string]any{"uncaught": "lost the connection"})
	require.ErrorIs(t, err, atmo.ErrWorkerCrashed)
	assert.ErrorContains(t, err, "uncaught Error: lost the connection")
	require.NoError(t, wm.Ready(testCtx(t)))
	_, err = tm.Do(testCtx(t), "echo", nil)
	require.NoError(t, err, "the worker restarted")
}

func TestASeedScriptsAsyncHandlerThatRejectsCrashesItsThreadAsAThrowDoes(t *testing.T) {
	// Node.js ends a thread on a rejection no one handles, so the task
	// fails at once, not at its Timeout as in a browser.
	w := script(t, "async-reject.js", `const { parentPort } = require('worker_threads');
let id;
parentPort.on('message', async (d) => {
  if (d.message === 'init-worker') { id = d.id; parentPort.postMessage({ message: 'worker-ready', workerId: id }); return; }
  await null;
  throw new Error('the database is down');
});`)
	tm, _ := pool(t, atmo.WorkerConfig{Tasks: []string{"query"}, Script: w})
	_, err := tm.Do(testCtx(t), "query", nil)
	require.ErrorIs(t, err, atmo.ErrWorkerCrashed)
	assert.ErrorContains(t, err, "uncaught Error: the database is down")
}

// answerThenDie is a seed-like script that answers each task, then runs
// after in the same turn (a throw, an exit).
func answerThenDie(t *testing.T, after string) string {
	return script(t, "answer-then-die.js", `const { parentPort } = require('worker_threads');
let id;
parentPort.on('message', (d) => {
  if (d.message === 'init-worker') { id = d.id; parentPort.postMessage({ message: 'worker-ready', workerId: id }); return; }
  if (d.message !== 'worker-work') return;
  if (d.content.params && d.content.params.runs) require('fs').appendFileSync(d.content.params.runs, '.');
  parentPort.postMessage({ message: 'worker-response', taskId: d.taskId, workerId: id, content: 'answered' });
  `+after+`
});`)
}

func TestAnAnswerPostedJustBeforeTheThreadDiesSettlesItsTaskOnce(t *testing.T) {
	// Node.js delivers a thread's 'error' event on a port of its own, often
	// ahead of the messages it posted before: the crash waits for 'exit',
	// which comes after them. Racy before, so many rounds.
	for name, after := range map[string]string{"a throw": "throw new Error('after answering');", "an exit": "process.exit(0);"} {
		t.Run(name, func(t *testing.T) {
			w := answerThenDie(t, after)
			for i := range 15 {
				runs := filepath.Join(t.TempDir(), "runs")
				tm, wm := pool(t, atmo.WorkerConfig{Tasks: []string{"t"}, Script: w})
				res := make(chan atmo.Response, 1)
				_, err := tm.AddTask(atmo.TaskParams{Name: "t", Params: map[string]any{"runs": runs}, Retries: 1,
					OnSuccess: func(r atmo.Response) { res <- r }, OnError: func(r atmo.Response) { res <- r }})
				require.NoError(t, err)
				r := <-res
				require.NoError(t, r.Err, "round %d", i)
				assert.Equal(t, "answered", r.Content, "round %d", i)
				wm.Close()
				b, err := os.ReadFile(runs)
				require.NoError(t, err)
				require.Len(t, b, 1, "round %d: an answered task is not run again", i)
			}
		})
	}
}

func TestTimeoutEndsABusyThreadAndReplacesIt(t *testing.T) {
	tm, wm := pool(t, echo(t, "echo"))
	_, err := tm.AddTask(atmo.TaskParams{Name: "echo", Params: map[string]any{"spin": true}, Timeout: 200 * time.Millisecond,
		OnError: func(r atmo.Response) {}})
	require.NoError(t, err)
	// A loop that never yields can only be stopped by terminating its
	// thread; the next task runs on the worker's fresh thread.
	got, err := tm.Do(testCtx(t), "echo", map[string]any{"after": "spin"})
	require.NoError(t, err)
	assert.Equal(t, wm.Workers()[0].ID(), got.(map[string]any)["worker"])
	assert.Equal(t, 1, tm.Stats().TimedOut)
}

func TestATimedOutHandlerThatHeedsItsSignalStopsWithoutTakingItsThreadDown(t *testing.T) {
	helper := abs(t, filepath.Join(repoRoot, "jsworker/atmo-worker.js"))
	w := script(t, "stops.js", fmt.Sprintf(`const { atmoWorker } = require(%q);
atmoWorker({
  wait: (_, { signal }) => new Promise((resolve) => signal.addEventListener('abort', () => resolve('stopped'))),
  sleep: ({ ms }) => new Promise((r) => setTimeout(() => r('slept'), ms)),
});`, helper))
	tm, _ := pool(t, atmo.WorkerConfig{Tasks: []string{"wait", "sleep"}, Script: w, Concurrency: 2})
	ctx := testCtx(t)
	beside := make(chan error, 1)
	go func() { _, err := tm.Do(ctx, "sleep", map[string]any{"ms": 600}); beside <- err }()
	require.Eventually(t, func() bool { return len(tm.Status().Working) == 1 }, 10*time.Second, time.Millisecond)
	res := make(chan atmo.Response, 1)
	_, err := tm.AddTask(atmo.TaskParams{Name: "wait", Timeout: 100 * time.Millisecond,
		OnSuccess: func(r atmo.Response) { res <- r }, OnError: func(r atmo.Response) { res <- r }})
	require.NoError(t, err)
	require.ErrorIs(t, (<-res).Err, atmo.ErrTimeout)
	require.NoError(t, <-beside, "the task beside it, on the same thread, finished")
	require.Eventually(t, func() bool { return tm.Stats().Workers[0].InFlight == 0 }, 10*time.Second, time.Millisecond)
	assert.Equal(t, 0, tm.Stats().Restarted, "the handler stopped when asked: its thread stays")
}

func TestTaskThatThrowsFailsWithTheWorkersMessage(t *testing.T) {
	tm, wm := pool(t, echo(t, "echo"))
	_, err := tm.Do(testCtx(t), "echo", map[string]any{"throw": "bad input"})
	var te *atmo.TaskError
	require.ErrorAs(t, err, &te)
	assert.Equal(t, "bad input", te.Message)
	assert.Equal(t, wm.Workers()[0].ID(), te.WorkerID)
	assert.Equal(t, atmo.WorkerAvailable, wm.Workers()[0].Status())
}

func TestCloseSettlesRunningTasksAndEndsTheThreads(t *testing.T) {
	tm, wm := pool(t, echo(t, "echo", "a"), echo(t, "echo", "b"))
	// Each thread appends to its own file every 5 ms from now on.
	beats := []string{filepath.Join(t.TempDir(), "a"), filepath.Join(t.TempDir(), "b")}
	for i, name := range []string{"a", "b"} {
		_, err := tm.Do(testCtx(t), name, map[string]any{"beat": beats[i]})
		require.NoError(t, err)
	}
	errs := make(chan error, 1)
	go func() {
		_, err := tm.Do(testCtx(t), "echo", map[string]any{"delay": 60_000})
		errs <- err
	}()
	require.Eventually(t, func() bool {
		_, errA := os.Stat(beats[0])
		_, errB := os.Stat(beats[1])
		return len(tm.Status().Working) == 1 && errA == nil && errB == nil
	}, 10*time.Second, 5*time.Millisecond)

	require.NoError(t, wm.Close())
	require.ErrorIs(t, <-errs, atmo.ErrClosed)
	for _, w := range wm.Workers() {
		assert.Equal(t, atmo.WorkerClosed, w.Status(), w.ID())
	}
	_, err := wm.AddWorker(echo(t, "echo"))
	assert.ErrorIs(t, err, atmo.ErrClosed)

	// The threads are gone: their files stop growing.
	time.Sleep(100 * time.Millisecond)
	for _, beat := range beats {
		before, err := os.Stat(beat)
		require.NoError(t, err)
		time.Sleep(100 * time.Millisecond)
		after, err := os.Stat(beat)
		require.NoError(t, err)
		assert.Equal(t, before.Size(), after.Size(), "a worker thread still runs after Close")
	}
}

func TestAddWorkerStartsAnotherThread(t *testing.T) {
	tm, wm := pool(t, echo(t, "a"))
	w, err := wm.AddWorker(echo(t, "b"))
	require.NoError(t, err)
	got, err := tm.Do(testCtx(t), "b", nil)
	require.NoError(t, err)
	assert.Equal(t, w.ID(), got.(map[string]any)["worker"])
	assert.Len(t, wm.Workers(), 2)
}

func TestClosingTheTaskManagerEndsItsServerWorkers(t *testing.T) {
	tm, wm := pool(t, echo(t, "echo"))
	require.NoError(t, tm.Close())
	assert.Equal(t, atmo.WorkerClosed, wm.Workers()[0].Status())
	_, err := tm.Do(context.Background(), "echo", nil)
	assert.True(t, errors.Is(err, atmo.ErrClosed), "%v", err)
}

func TestServerExampleWorkerRunsBothTasks(t *testing.T) {
	tm, _ := pool(t, atmo.WorkerConfig{Tasks: []string{"heavy-computation", "data-processing"}, Script: repoRoot + "/examples/server/cpu-worker.js"})
	sum, err := tm.Do(testCtx(t), "heavy-computation", map[string]any{"iterations": 1000})
	require.NoError(t, err)
	assert.IsType(t, 0.0, sum)
	median, err := tm.Do(testCtx(t), "data-processing", map[string]any{"size": 1001, "seed": 7})
	require.NoError(t, err)
	assert.InDelta(t, 0.5, median, 0.1)
	_, err = tm.Do(testCtx(t), "heavy-computation", map[string]any{})
	assert.ErrorContains(t, err, "needs params.iterations")
	// No params at all (nil, null in JS) are missing params too.
	for name, want := range map[string]string{
		"heavy-computation": "heavy-computation needs params.iterations, a whole number from 0 to 10,000,000,000",
		"data-processing":   "data-processing needs params.size, a whole number from 1 to 134,217,728",
	} {
		_, err := tm.Do(testCtx(t), name, nil)
		var te *atmo.TaskError
		require.ErrorAs(t, err, &te, name)
		assert.Equal(t, want, te.Message, name)
	}
	for _, size := range []float64{2.5, 1e12} {
		_, err = tm.Do(testCtx(t), "data-processing", map[string]any{"size": size})
		assert.ErrorContains(t, err, "needs params.size, a whole number from 1 to 134,217,728", "not a RangeError about typed array lengths")
	}
}

// TestServerExampleWorkerRefusesIterationsItCannotFinish: heavy-computation
// checks its input as data-processing does: a count that is no whole
// number, or one beyond what finishes in reasonable time (Infinity, 1e15),
// is refused at once with the reason, not run until the caller gives up;
// and a seed that is no number is refused, not answered NaN.
func TestServerExampleWorkerRefusesIterationsItCannotFinish(t *testing.T) {
	tm, _ := pool(t, atmo.WorkerConfig{Tasks: []string{"heavy-computation", "data-processing"}, Script: repoRoot + "/examples/server/cpu-worker.js"})
	for _, it := range []any{math.Inf(1), 1e15, "1000", true, 2.5} {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		start := time.Now()
		_, err := tm.Do(ctx, "heavy-computation", map[string]any{"iterations": it})
		cancel()
		assert.ErrorContains(t, err, "heavy-computation needs params.iterations", "iterations %v (after %v)", it, time.Since(start))
	}
	got, err := tm.Do(testCtx(t), "data-processing", map[string]any{"size": 11, "seed": "x"})
	assert.ErrorContains(t, err, "params.seed", "seed \"x\": got %v", got)
}

func TestAThreadThatRunsOutOfMemoryCrashesAndIsReplaced(t *testing.T) {
	helper := abs(t, repoRoot+"/jsworker/atmo-worker.js")
	file := script(t, "hog-worker.js", fmt.Sprintf(`const { atmoWorker } = require(%q);
atmoWorker({
  hog: () => { const a = []; for (;;) a.push(new Array(1e5).fill(1.5)); },
  echo: (p) => p,
});`, helper))
	tm, wm := pool(t, atmo.WorkerConfig{Tasks: []string{"hog", "echo"}, Script: file, MaxHeapMB: 16})
	_, err := tm.Do(testCtx(t), "hog", nil)
	require.ErrorIs(t, err, atmo.ErrWorkerCrashed)
	assert.ErrorContains(t, err, "memory")
	assert.ErrorContains(t, err, "WorkerConfig.MaxHeapMB, 16 MiB here: raise it", "says which setting bounds it")
	require.NoError(t, wm.Ready(testCtx(t)))
	got, err := tm.Do(testCtx(t), "echo", "back")
	require.NoError(t, err, "the worker restarted")
	assert.Equal(t, "back", got)
}

func TestAnAnswerBesideAnotherTasksAnswerIsReadLikeAnyOtherInWorkerThreads(t *testing.T) {
	// A worker_threads worker answers each task in a batch that also holds
	// an answer to a task that is not ours.
	mixed := script(t, "mixed.js", `const { parentPort } = require('worker_threads');
let id;
parentPort.on('message', (d) => {
  if (d.message === 'init-worker') { id = d.id; parentPort.postMessage({ message: 'worker-ready', workerId: id }); return; }
  if (d.message !== 'worker-work') return;
  parentPort.postMessage({ message: 'worker-response-batch', workerId: id, content: [
    { taskId: 'someone-else', content: 'not ours' },
    { taskId: d.taskId, content: { list: [1, 2] } },
  ] });
});`)
	tm, _ := pool(t, atmo.WorkerConfig{Tasks: []string{"t"}, Script: mixed})
	atmotest.AnswerBesideAnotherTasksAnswer(testCtx(t), t, tm)
}

func TestAHostileBatchOfAHugeSparseArrayIsIgnoredInWorkerThreads(t *testing.T) {
	// Structured clone carries new Array(2 ** 32 - 1) cheaply: walked slot
	// by slot, it took the process down (an invalid size error in V8).
	sparse := script(t, "sparse.js", `const { parentPort } = require('worker_threads');
let id;
parentPort.on('message', (d) => {
  if (d.message === 'init-worker') { id = d.id; parentPort.postMessage({ message: 'worker-ready', workerId: id }); return; }
  if (d.message !== 'worker-work') return;
  parentPort.postMessage({ message: 'worker-response-batch', workerId: id, content: new Array(d.content.params.length) });
  parentPort.postMessage({ message: 'worker-response', taskId: d.taskId, workerId: id, content: 'mine' });
});`)
	tm, _ := pool(t, atmo.WorkerConfig{Tasks: []string{"junk"}, Script: sparse})
	for i, length := range []float64{1<<32 - 1, 1 << 24} {
		got, err := tm.Do(testCtx(t), "junk", map[string]any{"length": length})
		require.NoError(t, err)
		assert.Equal(t, "mine", got)
		assert.Equal(t, i+1, tm.Stats().Ignored, "once for the whole batch, length %v", length)
	}
}

func TestAServerWorkerKeptAwakeAnswersAsItWouldAsleep(t *testing.T) {
	tm, _ := pool(t, atmo.WorkerConfig{Tasks: []string{"echo"}, Script: abs(t, echoWorker), KeepAwake: 100 * time.Microsecond, Concurrency: 4})
	for i := range 20 {
		got, err := tm.Do(testCtx(t), "echo", map[string]any{"i": float64(i)})
		require.NoError(t, err)
		require.Equal(t, map[string]any{"i": float64(i)}, got.(map[string]any)["params"])
	}
	errs := make(chan error, 40)
	for i := range 40 {
		go func() {
			_, err := tm.Do(testCtx(t), "echo", map[string]any{"i": float64(i), "delay": float64(i % 3)})
			errs <- err
		}()
	}
	for range 40 {
		require.NoError(t, <-errs)
	}
}

// Under Node.js, where there are no Web Workers, NewBrowserWorkerManager
// returned a manager whose workers failed three starts each with "new
// Worker(...): syscall/js: call of Value.Invoke on undefined". It says at
// once which manager to use, as NewServerWorkerManager does in a browser.
func TestABrowserWorkerManagerUnderNodeIsRefusedNamingTheServerOne(t *testing.T) {
	tm := atmo.NewTaskManager()
	defer tm.Close()
	wm, err := atmo.NewBrowserWorkerManager(tm, atmo.WorkerConfig{Tasks: []string{"echo"}, Script: echoWorker})
	require.Error(t, err)
	assert.Nil(t, wm)
	assert.Contains(t, err.Error(), "use NewServerWorkerManager")
}

func TestATransferOfABufferMovedAlreadyIsErrBadParamsInNodeToo(t *testing.T) {
	// README: an atmo.Transfer "of a buffer moved already" is an
	// ErrBadParams error from AddTask. Node.js 20's ArrayBuffer has no
	// detached property.
	tm, _ := pool(t, echo(t, "echo"))
	u8 := js.Global().Get("Uint8Array").New(4)
	_, err := tm.Do(testCtx(t), "echo", map[string]any{"data": atmo.Transfer(u8)})
	require.NoError(t, err)
	_, err = tm.AddTask(atmo.TaskParams{Name: "echo", Params: map[string]any{"data": atmo.Transfer(u8)}})
	require.ErrorIs(t, err, atmo.ErrBadParams, "refused when added, not failed when posted as a worker's error")
	assert.Contains(t, err.Error(), "params.data is atmo.Transfer of a buffer moved already (detached)")
	_, err = tm.Do(testCtx(t), "echo", map[string]any{"data": atmo.Transfer(js.Global().Get("ArrayBuffer").New(0))})
	require.NoError(t, err, "a buffer of no bytes, not moved, is no detached one")
}

func TestTransferWithOfAViewOnASharedArrayBufferSendsIt(t *testing.T) {
	tm, _ := pool(t, echo(t, "echo"))
	u8 := js.Global().Get("Uint8Array").New(js.Global().Get("SharedArrayBuffer").New(4))
	v := js.Global().Get("Object").New()
	v.Set("b", u8)
	_, err := tm.Do(testCtx(t), "echo", atmo.TransferWith(v, u8))
	require.NoError(t, err)
	_, err = tm.Do(testCtx(t), "echo", map[string]any{"b": atmo.Transfer(u8)})
	require.NoError(t, err)
	// Shared, nothing moves: a worker that dies takes nothing a retry
	// would need, so Retries stand, as the JS API's retries do.
	for _, p := range []any{atmo.Transfer(u8), atmo.TransferWith(v, u8)} {
		_, err = tm.AddTask(atmo.TaskParams{Name: "echo", Params: p, Retries: 2})
		require.NoError(t, err, "%T", p)
	}
}

// An uncaught error of a worker thread says where it was thrown, as the
// browser's error event does (errorPlace): a syntax error's line, a
// throw's first frame in the worker's code.
// A SharedArrayBuffer crosses shared (atmo.Transfer of one moves nothing),
// and a view of one reads as []byte: the buffer itself, as a result, echoed
// back in one, or in a Go worker's params, reads as []byte too, as an
// ArrayBuffer does, not as "a SharedArrayBuffer cannot be read as a Go
// value".
func TestASharedArrayBufferReadsAsBytesAsAnArrayBufferDoes(t *testing.T) {
	w := script(t, "sab.js", fmt.Sprintf(`const { atmoWorker } = require(%q);
atmoWorker({
  sab: () => { const s = new SharedArrayBuffer(4); new Uint8Array(s).set([9, 8, 7, 6]); return s; },
  view: () => { const s = new SharedArrayBuffer(4); new Uint8Array(s).set([9, 8, 7, 6]); return new Uint8Array(s, 1, 2); },
  echo: (p) => p,
});`, abs(t, repoRoot+"/jsworker/atmo-worker.js")))
	tm, _ := pool(t, atmo.WorkerConfig{Tasks: []string{"sab", "view", "echo"}, Script: w})
	goTM, _ := pool(t, atmo.WorkerConfig{Tasks: []string{"echo"}, Module: module(t, testModule)})
	ctx := testCtx(t)
	got, err := tm.Do(ctx, "view", nil)
	require.NoError(t, err)
	assert.Equal(t, []byte{8, 7}, got, "a view of one reads as []byte")
	got, err = tm.Do(ctx, "sab", nil)
	require.NoError(t, err, "a worker's result")
	assert.Equal(t, []byte{9, 8, 7, 6}, got)

	sab := js.Global().Get("SharedArrayBuffer").New(3)
	js.Global().Get("Uint8Array").New(sab).Call("set", []any{1, 2, 3})
	for _, p := range []any{sab, atmo.Transfer(sab)} {
		got, err = tm.Do(ctx, "echo", map[string]any{"b": p})
		require.NoError(t, err, "echoed by a JS worker: %T", p)
		assert.Equal(t, map[string]any{"b": []byte{1, 2, 3}}, got)
		got, err = goTM.Do(ctx, "echo", map[string]any{"b": p})
		require.NoError(t, err, "a Go worker's params: %T", p)
		assert.Equal(t, map[string]any{"b": []byte{1, 2, 3}}, got)
	}
}

func TestAnUncaughtErrorOfAThreadSaysWhereItHappened(t *testing.T) {
	syntax := script(t, "syntax.js", "const { parentPort } = require('worker_threads');\nparentPort.on('message', (d) => {\n  let x = ;\n});\n")
	_, wm := start(t, atmo.WorkerConfig{Tasks: []string{"x"}, Script: syntax})
	err := wm.Ready(testCtx(t))
	require.ErrorIs(t, err, atmo.ErrWorkerStart)
	assert.ErrorContains(t, err, "SyntaxError: Unexpected token ';'")
	assert.ErrorContains(t, err, syntax+":3", "the line of the syntax error")

	refer := script(t, "refer.js", "const { parentPort } = require('worker_threads');\nfunction f() { foo(); }\nf();\n")
	_, wm = start(t, atmo.WorkerConfig{Tasks: []string{"x"}, Script: refer})
	err = wm.Ready(testCtx(t))
	require.ErrorIs(t, err, atmo.ErrWorkerStart)
	assert.ErrorContains(t, err, "ReferenceError: foo is not defined")
	assert.ErrorContains(t, err, refer+":2:16", "where foo was called")

	// A seed worker that throws outside its handler mid-task.
	mid := script(t, "mid.js", `const { parentPort } = require('worker_threads');
let id;
parentPort.on('message', (d) => {
  if (d.message === 'init-worker') { id = d.id; parentPort.postMessage({ message: 'worker-ready', workerId: id, content: { tasks: d.content } }); return; }
  setTimeout(() => { JSON.parse('{'); }, 0);
});
`)
	tm, _ := pool(t, atmo.WorkerConfig{Tasks: []string{"x"}, Script: mid})
	_, err = tm.Do(testCtx(t), "x", nil)
	require.ErrorIs(t, err, atmo.ErrWorkerCrashed)
	assert.ErrorContains(t, err, "uncaught SyntaxError")
	assert.ErrorContains(t, err, mid+":5:", "the line of the throw in the worker's script, not in node:internal")
}

// A thrown value that is no Error is said as JSON, as a worker's `error`
// field is (errorText), not as "[object Object]".
func TestAnUncaughtNonErrorOfAThreadIsSaidAsJSON(t *testing.T) {
	w := script(t, "throwobj.js", "throw { code: 5, why: 'db down' };\n")
	_, wm := start(t, atmo.WorkerConfig{Tasks: []string{"x"}, Script: w})
	err := wm.Ready(testCtx(t))
	require.ErrorIs(t, err, atmo.ErrWorkerStart)
	assert.NotContains(t, err.Error(), "[object Object]")
	assert.ErrorContains(t, err, `"why":"db down"`)
}

// A Go program that takes large results raw (RawResult), reads them and
// drops them, does not hold them all: each is a js.Value, which Go lets go
// of only when a Go collection finalizes it, and the program allocates too
// little in Go for one to come by itself.
func TestRawResultsAGoProgramDropsAreNotAllHeldUntilItsHeapGrows(t *testing.T) {
	w := script(t, "raw.js", `
const { parentPort } = require('worker_threads');
let id;
parentPort.on('message', (d) => {
  if (d.message === 'init-worker') { id = d.id; parentPort.postMessage({ message: 'worker-ready', workerId: id, content: { tasks: d.content } }); return; }
  if (d.message === 'worker-work') {
    const u8 = new Uint8Array(4 << 20); u8[0] = 3;
    parentPort.postMessage({ message: 'worker-response', taskId: d.taskId, workerId: id, content: u8 }, [u8.buffer]);
  }
});`)
	tm, _ := pool(t, atmo.WorkerConfig{Tasks: []string{"big"}, Script: w})
	for range 150 { // 600 MiB in all
		done := make(chan atmo.Response, 1)
		_, err := tm.AddTask(atmo.TaskParams{Name: "big", RawResult: true, OnSuccess: func(r atmo.Response) { done <- r }, OnError: func(r atmo.Response) { done <- r }})
		require.NoError(t, err)
		r := <-done
		require.NoError(t, r.Err)
		require.Equal(t, 3, r.Content.(js.Value).Index(0).Int())
	}
	external := js.Global().Get("process").Call("memoryUsage").Get("external").Float()
	assert.Less(t, external, float64(256<<20), "this thread still holds %.0f MiB of ArrayBuffers after 150 raw results of 4 MiB", external/(1<<20))
}

// A small Node.js Buffer (Buffer.from('abc'), Buffer.allocUnsafe(10)) is
// a view into Node's shared 8 KiB pool, whose ArrayBuffer cannot move:
// postMessage copies it whole, without a word. atmo.Transfer of one sent
// the worker the whole pool (8 KiB, with every other small Buffer's bytes
// in it) for a 3-byte view; it now sends the view's own bytes, and as
// nothing moves, the sender's Buffer keeps its bytes and Retries stand.
func TestATransferOfAPooledNodeBufferSendsTheViewsBytesNotTheWholePool(t *testing.T) {
	tm, abc := pooledLook(t)
	buffer := js.Global().Get("Buffer")
	require.Equal(t, buffer.Get("poolSize").Int(), abc.Get("buffer").Get("byteLength").Int())

	got, err := tm.Do(testCtx(t), "look", map[string]any{"b": atmo.Transfer(abc)})
	require.NoError(t, err)
	m := got.(map[string]any)
	assert.Equal(t, "abc", m["text"])
	assert.Equal(t, 3.0, m["length"])
	assert.Equal(t, 3.0, m["whole"], "the view's bytes, not Node's whole pool: %v", m)
	assert.Equal(t, "abc", abc.Call("toString").String(), "the pool cannot move: the sender's Buffer is as it was")

	_, err = tm.AddTask(atmo.TaskParams{Name: "look", Params: map[string]any{"b": atmo.Transfer(abc)}, Retries: 2})
	require.NoError(t, err, "nothing moves: Retries stand")

	// A Buffer of its own (past half the pool) moves, as any buffer does.
	own := buffer.Call("alloc", 8192)
	own.Call("write", "own")
	got, err = tm.Do(testCtx(t), "look", map[string]any{"b": atmo.Transfer(own)})
	require.NoError(t, err)
	assert.Equal(t, 8192.0, got.(map[string]any)["whole"])
	assert.Equal(t, 0, own.Get("byteLength").Int(), "moved: detached here")

	// A plain Uint8Array over a small Buffer's bytes (the usual way to turn
	// a Buffer into one) is a view into the pool as much as the Buffer is:
	// under Node.js 20, which has no isMarkedAsUntransferable, only a
	// Buffer was told as pooled, and such a view sent the whole pool, and
	// was refused Retries.
	view := js.Global().Get("Uint8Array").New(abc.Get("buffer"), abc.Get("byteOffset"), abc.Get("length"))
	got, err = tm.Do(testCtx(t), "look", map[string]any{"b": atmo.Transfer(view)})
	require.NoError(t, err)
	m = got.(map[string]any)
	assert.Equal(t, 3.0, m["whole"], "the view's bytes, not Node's whole pool")
	assert.NotContains(t, m["all"], "another Buffer's bytes")
	_, err = tm.AddTask(atmo.TaskParams{Name: "look", Params: map[string]any{"b": atmo.Transfer(view)}, Retries: 1})
	assert.NoError(t, err, "nothing moves: Retries stand, as for the Buffer itself")
}

// pooledLook starts a worker whose task look says what it got as b (the
// view's place and bytes, and all of its ArrayBuffer's), and makes abc, a
// small Buffer, in Node's pool beside another's bytes.
func pooledLook(t *testing.T) (*atmo.TaskManager, js.Value) {
	w := script(t, "look.js", fmt.Sprintf(`const { atmoWorker } = require(%q);
atmoWorker({ look: ({ b }) => ({ offset: b.byteOffset, length: b.byteLength, whole: b.buffer.byteLength,
  text: Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString(), all: Buffer.from(b.buffer).toString('latin1') }) });`,
		abs(t, repoRoot+"/jsworker/atmo-worker.js")))
	tm, _ := pool(t, atmo.WorkerConfig{Tasks: []string{"look"}, Script: w})
	buffer := js.Global().Get("Buffer")
	other := buffer.Call("from", "another Buffer's bytes")
	abc := buffer.Call("from", "abc")
	require.True(t, abc.Get("buffer").Equal(other.Get("buffer")), "both in Node's pool")
	return tm, abc
}

func TestAHugeUncaughtErrorOfAThreadIsCutAsAWorkersErrorIs(t *testing.T) {
	w := script(t, "huge-throw.js", `const { parentPort } = require('worker_threads');
let id;
parentPort.on('message', (d) => {
  if (d.message === 'init-worker') { id = d.id; parentPort.postMessage({ message: 'worker-ready', workerId: id }); return; }
  if (d.message !== 'worker-work') return;
  throw new Error('bad row: ' + 'x'.repeat(1 << 20));
});`)
	c := atmo.WorkerConfig{Tasks: []string{"t"}, Script: w}
	c.Restart = atmo.RestartPolicy{Never: true}
	tm, wm := pool(t, c)
	_, err := tm.Do(testCtx(t), "t", nil)
	require.ErrorIs(t, err, atmo.ErrWorkerCrashed)
	assert.ErrorContains(t, err, "bad row: xxx")
	assert.Less(t, len(err.Error()), 8<<10, "an uncaught error's text is cut, as a worker's error over 4 KiB is")
	assert.Less(t, len(wm.Workers()[0].LastError()), 8<<10)
}

func TestAFileURLWithItsSchemeInCapitalsIsAFileURL(t *testing.T) {
	// URL schemes are case-insensitive (RFC 3986 3.1): Node.js's own
	// fileURLToPath and new Worker(new URL(...)) take FILE:///... as file:.
	for _, scheme := range []string{"FILE", "File"} {
		_, wm := start(t, atmo.WorkerConfig{Tasks: []string{"echo"}, Script: scheme + "://" + abs(t, echoWorker), Restart: atmo.RestartPolicy{MaxBootFailures: 1}})
		require.NoError(t, wm.Ready(testCtx(t)), scheme)
	}
}

func TestATaskSentToAThreadThatExitsRightAfterAnsweringSaysItMayNeverHaveBeenRead(t *testing.T) {
	// Node.js delivers the answer before the 'exit' event, and the next
	// task goes to the worker in between: the thread never read it. It is
	// not run again (the thread may as well have read it and exited in its
	// middle), but its error says what happened.
	w := answerThenDie(t, "process.exit(0);")
	tm, _ := pool(t, atmo.WorkerConfig{Tasks: []string{"t"}, Script: w})
	_, err := tm.Do(testCtx(t), "t", nil)
	require.NoError(t, err)
	_, err = tm.Do(testCtx(t), "t", nil)
	require.ErrorIs(t, err, atmo.ErrWorkerCrashed)
	assert.ErrorContains(t, err, "its thread exited with code 0")
	assert.ErrorContains(t, err, "after it answered task-1")
	assert.ErrorContains(t, err, "may have ended before reading it")

	// A task its thread ran and exited in the middle of, with a word from
	// it since it was sent (a progress report), is not said so.
	helper := abs(t, repoRoot+"/jsworker/atmo-worker.js")
	mid := script(t, "exit-mid.js", `const { atmoWorker } = require(`+"`"+helper+"`"+`);
atmoWorker({ t: async (p, { progress }) => { if (p && p.exit) { progress(1); await new Promise((r) => setTimeout(r, 20)); process.exit(0); } return 'ok'; } });`)
	tm2, _ := pool(t, atmo.WorkerConfig{Tasks: []string{"t"}, Script: mid})
	_, err = tm2.Do(testCtx(t), "t", nil)
	require.NoError(t, err)
	_, err = tm2.Do(testCtx(t), "t", map[string]any{"exit": true})
	require.ErrorIs(t, err, atmo.ErrWorkerCrashed)
	assert.NotContains(t, err.Error(), "before reading it")
}

// The helper loaded outside any worker (a script run with plain `node`, to
// try it) cannot serve: its error must say so, not blame an ES module or
// the Node.js version on a CommonJS load under a current Node.js.
func TestAHelperCalledOutsideAWorkerThreadSaysSo(t *testing.T) {
	helper := abs(t, repoRoot+"/jsworker/atmo-worker.js")
	try := js.Global().Get("Function").New("require", "path", `
try { require(path).atmoWorker({ add: (p) => p }); return 'no throw'; }
catch (e) { return String(e && e.message); }`)
	msg := try.Invoke(js.Global().Get("require"), helper).String()
	t.Logf("message: %s", msg)
	assert.NotContains(t, msg, "ES module", "the helper was loaded with require()")
	assert.Contains(t, msg, "not inside a Web Worker or a worker_threads Worker")
}

// atmo.TransferWith(v, b) with b a small Buffer (a view into Node's shared
// pool, which cannot move): the pool's ArrayBuffer was listed, so the task
// was refused Retries as one whose buffers move, though nothing moved, and
// the worker got the whole 8 KiB pool, with every other small Buffer's bytes
// in it. atmo.Transfer(b) sends b's own bytes; TransferWith cannot rewrite
// v, so it says so when the task is added.
func TestATransferWithListingAPooledNodeBufferIsErrBadParamsSayingWhatToDo(t *testing.T) {
	tm, abc := pooledLook(t)
	v := js.Global().Get("Object").New()
	v.Set("b", abc)

	got, err := tm.Do(testCtx(t), "look", atmo.TransferWith(v, abc))
	if err == nil {
		m := got.(map[string]any)
		assert.Failf(t, "sent", "the worker got a buffer of %v bytes, another Buffer's bytes in it: %v", m["whole"], strings.Contains(m["all"].(string), "another Buffer's bytes"))
	}
	require.ErrorIs(t, err, atmo.ErrBadParams)
	assert.Contains(t, err.Error(), "params is atmo.TransferWith listing a small Node.js Buffer")
	assert.Contains(t, err.Error(), "atmo.Transfer(b)")
	assert.Equal(t, "abc", abc.Call("toString").String())
}
