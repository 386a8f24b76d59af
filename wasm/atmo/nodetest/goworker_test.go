//go:build js && wasm

package nodetest

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"syscall/js"
	"testing"
	"time"

	"github.com/atmoworkers/atmo/wasm/atmo"
	"github.com/atmoworkers/atmo/wasm/atmo/internal/atmotest"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// Go worker modules, built by `make build-wasm` (which `make test-node` runs first).
const (
	mathModule      = repoRoot + "/bin/wasm/workers/math.wasm"
	testModule      = repoRoot + "/bin/wasm/testdata/testworker.wasm"
	exitModule      = repoRoot + "/bin/wasm/testdata/exitnow.wasm"
	neverRunsModule = repoRoot + "/bin/wasm/testdata/neverruns.wasm"
)

var mathTasks = []string{"add", "subtract", "multiply", "divide", "power", "sqrt", "fibonacci"}

// module returns the path of a built Go worker module, or fails the test
// saying how to build it.
func module(t testing.TB, path string) string {
	t.Helper()
	if _, err := os.Stat(path); err != nil {
		t.Fatalf("%s is missing: run `make build-wasm` first (make test-node does): %v", path, err)
	}
	return path
}

// privateCopy copies a module to a path of its own, so that the compile count
// of this test is not shared with others.
func privateCopy(t testing.TB, path string) string {
	t.Helper()
	b, err := os.ReadFile(module(t, path))
	require.NoError(t, err)
	p := filepath.Join(t.TempDir(), filepath.Base(path))
	require.NoError(t, os.WriteFile(p, b, 0o644))
	return p
}

func TestGoWorkerModuleRunsInWorkerThreads(t *testing.T) {
	tm, wm := pool(t, atmo.WorkerConfig{Tasks: mathTasks, Module: module(t, mathModule)})
	assert.Equal(t, "go", wm.Workers()[0].Kind())
	answersLikeTheSeedMathWorker(t, tm)
}

func TestAGoWorkerThreadTakesMaxHeapMB(t *testing.T) {
	tm, _ := pool(t, atmo.WorkerConfig{Tasks: mathTasks, Module: module(t, mathModule), MaxHeapMB: 64})
	answersLikeTheSeedMathWorker(t, tm)
}

func TestAGoWorkerKeptAwakeAnswersAsItWouldAsleep(t *testing.T) {
	tm, _ := pool(t, atmo.WorkerConfig{Tasks: []string{"echo"}, Module: module(t, testModule), KeepAwake: 100 * time.Microsecond})
	for i := range 20 {
		got, err := tm.Do(testCtx(t), "echo", float64(i))
		require.NoError(t, err)
		require.Equal(t, float64(i), got)
	}
}

func TestGoModuleIsCompiledOnceForAllItsThreads(t *testing.T) {
	p := privateCopy(t, mathModule)
	tm, wm := pool(t, atmo.WorkerConfig{Tasks: mathTasks, Module: p, Count: 3})
	assert.Equal(t, 1, atmo.GoModuleCompiles(p))
	_, err := tm.Do(testCtx(t), "add", map[string]any{"a": 1, "b": 2})
	require.NoError(t, err)
	for _, w := range wm.Workers() {
		assert.Equal(t, atmo.WorkerAvailable, w.Status(), w.ID())
	}
}

func TestGoModuleMayBeAFileURL(t *testing.T) {
	tm, _ := pool(t, atmo.WorkerConfig{Tasks: []string{"echo"}, Module: "file://" + abs(t, module(t, testModule))})
	got, err := tm.Do(testCtx(t), "echo", map[string]any{"x": "y"})
	require.NoError(t, err)
	assert.Equal(t, map[string]any{"x": "y"}, got)
}

func TestJSAndGoWorkersShareOnePool(t *testing.T) {
	tm, wm := pool(t,
		atmo.WorkerConfig{Tasks: []string{"add", "fibonacci"}, Module: module(t, mathModule)},
		atmo.WorkerConfig{Tasks: []string{"add", "multiply"}, Script: seedWorker},
	)
	goID, jsID := wm.Workers()[0].ID(), wm.Workers()[1].ID()
	ctx := testCtx(t)
	for i := 0; i < 10; i++ {
		_, err := tm.Do(ctx, "fibonacci", map[string]any{"n": 10})
		require.NoError(t, err)
		_, err = tm.Do(ctx, "multiply", map[string]any{"a": 2, "b": 3})
		require.NoError(t, err)
	}
	s := tm.Stats()
	byID := map[string]atmo.WorkerStats{}
	for _, w := range s.Workers {
		byID[w.ID] = w
	}
	assert.Equal(t, "go", byID[goID].Kind)
	assert.Equal(t, "js", byID[jsID].Kind)
	assert.Equal(t, 10, byID[goID].Done, "fibonacci only on the Go worker")
	assert.Equal(t, 10, byID[jsID].Done, "multiply only on the JS worker")
}

func TestGoWorkerExitMidTaskFailsTheTaskWithErrWorkerCrashed(t *testing.T) {
	tm, wm := pool(t, atmo.WorkerConfig{Tasks: []string{"exit", "echo"}, Module: module(t, testModule)})
	w := wm.Workers()[0]
	_, err := tm.Do(testCtx(t), "exit", nil)
	require.ErrorIs(t, err, atmo.ErrWorkerCrashed)
	assert.ErrorContains(t, err, w.ID())
	assert.ErrorContains(t, err, "Go runtime exited with code 3")

	require.NoError(t, wm.Ready(testCtx(t)))
	_, err = tm.Do(testCtx(t), "echo", "again")
	require.NoError(t, err, "the worker restarted")
}

func TestGoWorkerPanicInAGoroutineCrashesTheWorkerWithThePanic(t *testing.T) {
	tm, _ := pool(t, atmo.WorkerConfig{Tasks: []string{"gopanic"}, Module: module(t, testModule)})
	_, err := tm.Do(testCtx(t), "gopanic", nil)
	require.ErrorIs(t, err, atmo.ErrWorkerCrashed)
	assert.ErrorContains(t, err, "boom in a goroutine")
}

func TestGoWorkerPanicDeepInARecursionCrashesTheWorkerWithThePanic(t *testing.T) {
	tm, _ := pool(t, atmo.WorkerConfig{Tasks: []string{"deepPanic"}, Module: module(t, testModule)})
	_, err := tm.Do(testCtx(t), "deepPanic", nil)
	require.ErrorIs(t, err, atmo.ErrWorkerCrashed)
	assert.ErrorContains(t, err, "Go runtime exited with code 2: panic: boom at the bottom of a deep recursion")
}

func TestAGoHandlerMovesTwoViewsOfOneBufferOnceThroughAWorkerThread(t *testing.T) {
	tm, _ := pool(t, atmo.WorkerConfig{Tasks: []string{"moveViews"}, Module: module(t, testModule)})
	got, err := tm.Do(testCtx(t), "moveViews", nil)
	require.NoError(t, err)
	assert.Equal(t, map[string]any{"head": []byte{0, 1, 2, 3}, "tail": []byte{4, 5, 6, 7}}, got)
}

func TestAGoWorkerThatCallsLogFatalSaysWhatItLogged(t *testing.T) {
	tm, _ := pool(t, atmo.WorkerConfig{Tasks: []string{"fatal"}, Module: module(t, testModule)})
	_, err := tm.Do(testCtx(t), "fatal", nil)
	require.ErrorIs(t, err, atmo.ErrWorkerCrashed)
	assert.ErrorContains(t, err, "Go runtime exited with code 1")
	assert.ErrorContains(t, err, "cannot open the database: connection refused")
}

func TestAGoWorkerThatExitsRightAfterARecoveredPanicDoesNotBlameThePanicsStack(t *testing.T) {
	tm, _ := pool(t, atmo.WorkerConfig{Tasks: []string{"panic", "exit"}, Module: module(t, testModule)})
	_, err := tm.Do(testCtx(t), "panic", nil)
	require.ErrorContains(t, err, "handler blew up")
	_, err = tm.Do(testCtx(t), "exit", nil)
	require.ErrorIs(t, err, atmo.ErrWorkerCrashed)
	assert.ErrorContains(t, err, "Go runtime exited with code 3")
	assert.NotContains(t, err.Error(), "its last line on stderr", "the stack of a recovered panic is not why os.Exit(3) ended the program")
}

func TestARelativeWasmExecRestartsAGoWorkerAfterTheProgramChangesDirectory(t *testing.T) {
	// wasm_exec.js next to the program, named relative to where it starts.
	wd, err := os.Getwd()
	require.NoError(t, err)
	t.Cleanup(func() { os.Chdir(wd) })
	text, err := os.ReadFile(js.Global().Get("require").Call("resolve", "./wasm_exec").String())
	require.NoError(t, err)
	home := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(home, "wasm_exec.js"), text, 0o644))
	mod := abs(t, module(t, testModule))
	require.NoError(t, os.Chdir(home))
	atmo.SetGoModuleOptions(atmo.GoModuleOptions{WasmExec: "wasm_exec.js"})
	t.Cleanup(func() { atmo.SetGoModuleOptions(atmo.GoModuleOptions{}) })
	tm, wm := pool(t, atmo.WorkerConfig{Tasks: []string{"exit", "echo"}, Module: mod})

	require.NoError(t, os.Chdir(t.TempDir())) // a data directory, say
	_, err = tm.Do(testCtx(t), "exit", nil)
	require.ErrorIs(t, err, atmo.ErrWorkerCrashed)
	require.NoError(t, wm.Ready(testCtx(t)), "the worker restarts with the wasm_exec.js it started with")
	_, err = tm.Do(testCtx(t), "echo", "back")
	require.NoError(t, err)
}

func TestGoWorkerWhoseMainReturnsFailsToStart(t *testing.T) {
	_, wm := start(t, atmo.WorkerConfig{Tasks: []string{"add"}, Module: module(t, exitModule)})
	err := wm.Ready(testCtx(t))
	require.ErrorIs(t, err, atmo.ErrWorkerStart)
	assert.ErrorContains(t, err, "main returned")
}

func TestAGoWorkerThatNeverCallsRunFailsToStartSayingWhatItsMainMustDo(t *testing.T) {
	// Its main blocks without calling worker.Run, which the module does not
	// even contain: it fails once, at once, not after StartTimeout.
	tm, wm := start(t, atmo.WorkerConfig{Tasks: []string{"add"}, Module: module(t, neverRunsModule)})
	atmotest.FailedToStartOnce(testCtx(t), t, tm, wm, nil, "is not an atmo worker: it never calls worker.Run", "the program's own main module?")
	assert.NotContains(t, wm.Ready(testCtx(t)).Error(), "URL", "a file was read: no URL, no empty page")
}

func TestAGoWorkerStillCompilingAtStartTimeoutSaysSoWithoutAServer(t *testing.T) {
	c := atmo.WorkerConfig{Tasks: []string{"echo"}, Module: privateCopy(t, testModule), StartTimeout: 5 * time.Millisecond}
	c.Restart.MaxBootFailures = 1
	_, wm := start(t, c)
	err := wm.Ready(testCtx(t))
	require.ErrorIs(t, err, atmo.ErrWorkerStart)
	assert.ErrorContains(t, err, "was still being read and compiled after 5ms (StartTimeout): raise WorkerConfig.StartTimeout")
	assert.NotContains(t, err.Error(), "server", "a file was read: no server, no link")
}

func TestMissingModuleClosesItsWorkerWithNoSuchFile(t *testing.T) {
	_, wm := start(t, atmo.WorkerConfig{Tasks: []string{"add"}, Module: "testdata/nope.wasm"})
	err := wm.Ready(testCtx(t))
	require.ErrorIs(t, err, atmo.ErrWorkerStart)
	assert.ErrorContains(t, err, "no such file: "+abs(t, "testdata/nope.wasm"))
	assert.ErrorContains(t, err, "a Go worker module is built first, with GOOS=js GOARCH=wasm go build -o "+abs(t, "testdata/nope.wasm"))
}

func TestModuleThatIsNotWasmFailsToStartSayingSo(t *testing.T) {
	_, wm := start(t, atmo.WorkerConfig{Tasks: []string{"add"}, Module: seedWorker})
	err := wm.Ready(testCtx(t))
	require.ErrorIs(t, err, atmo.ErrWorkerStart)
	assert.ErrorContains(t, err, "compiling "+abs(t, seedWorker))
	assert.ErrorContains(t, err, "GOOS=js GOARCH=wasm")
}

func TestCloseEndsGoWorkerThreads(t *testing.T) {
	tm, wm := pool(t, atmo.WorkerConfig{Tasks: []string{"sleep"}, Module: module(t, testModule), Count: 2})
	errs := make(chan error, 1)
	go func() {
		_, err := tm.Do(testCtx(t), "sleep", map[string]any{"ms": 60_000})
		errs <- err
	}()
	require.Eventually(t, func() bool { return len(tm.Status().Working) == 1 }, 10*time.Second, 5*time.Millisecond)
	require.NoError(t, wm.Close())
	require.ErrorIs(t, <-errs, atmo.ErrClosed)
	for _, w := range wm.Workers() {
		assert.Equal(t, atmo.WorkerClosed, w.Status(), w.ID())
	}
}

func TestGoWorkerProgressReachesOnProgressBeforeTheResult(t *testing.T) {
	tm, _ := pool(t, atmo.WorkerConfig{Tasks: []string{"progress"}, Module: module(t, testModule)})
	var seen []any
	done := make(chan atmo.Response, 1)
	_, err := tm.AddTask(atmo.TaskParams{
		Name: "progress", Params: map[string]any{"steps": 3},
		OnProgress: func(p atmo.Progress) { seen = append(seen, p.Content) },
		OnSuccess:  func(r atmo.Response) { done <- r },
		OnError:    func(r atmo.Response) { done <- r },
	})
	require.NoError(t, err)
	r := <-done
	require.NoError(t, r.Err)
	assert.Equal(t, "done", r.Content)
	assert.Equal(t, []any{1.0, 2.0, 3.0}, seen)
}

func TestCancelReachesAGoWorkerThreadWhichKeepsServing(t *testing.T) {
	tm, wm := pool(t, atmo.WorkerConfig{Tasks: []string{"sleep", "echo"}, Module: module(t, testModule)})
	ctx, cancel := context.WithTimeout(testCtx(t), 100*time.Millisecond)
	defer cancel()
	_, err := tm.Do(ctx, "sleep", map[string]any{"ms": 60_000})
	require.ErrorIs(t, err, atmo.ErrCanceled)

	got, err := tm.Do(testCtx(t), "echo", "after")
	require.NoError(t, err)
	assert.Equal(t, "after", got)
	assert.Zero(t, tm.Stats().Restarted, "the worker stopped the task itself, no restart was needed")
	assert.Equal(t, atmo.WorkerAvailable, wm.Workers()[0].Status())
}

func TestCancelReachesAGoHandlerThatOnlyComputesAndReportsProgress(t *testing.T) {
	// No wait, no Yield: Progress lets the event loop in every 10 ms.
	tm, _ := pool(t, atmo.WorkerConfig{Tasks: []string{"progressSpin", "echo"}, Module: module(t, testModule), CancelGrace: 3 * time.Second})
	atmotest.CancelReachesAProgressLoop(testCtx(t), t, tm)
}

func TestAGoHandlerOfHandleJSMovesBytesThroughAWorkerThreadUncopied(t *testing.T) {
	tm, _ := pool(t, atmo.WorkerConfig{Tasks: []string{"passOn"}, Module: module(t, testModule)})
	sent := js.Global().Get("Uint8Array").New(1 << 20)
	sent.Call("fill", 9)
	res := make(chan atmo.Response, 1)
	_, err := tm.AddTask(atmo.TaskParams{Name: "passOn", Params: map[string]any{"data": atmo.Transfer(sent), "extra": "x"}, RawResult: true,
		OnSuccess: func(r atmo.Response) { res <- r }, OnError: func(r atmo.Response) { res <- r }})
	require.NoError(t, err)
	r := <-res
	require.NoError(t, r.Err)
	assert.Equal(t, 0, sent.Get("byteLength").Int(), "moved to the thread, not copied")
	c, ok := r.Content.(js.Value)
	require.True(t, ok, "%T", r.Content)
	got := c.Get("data")
	require.Equal(t, 1<<20, got.Get("byteLength").Int(), "and moved back")
	assert.Equal(t, 9, got.Index(1<<20-1).Int())
	assert.Equal(t, "String", c.Get("extra").String())
}

func TestAGoWorkerThreadHasTheFilesAndEnvironmentOfItsProcess(t *testing.T) {
	// As a JS worker thread, and the main thread's Go program, have them.
	file := filepath.Join(t.TempDir(), "note.txt")
	require.NoError(t, os.WriteFile(file, []byte("written by the test"), 0o644))
	tm, _ := pool(t, atmo.WorkerConfig{Tasks: []string{"readFile", "getenv", "writeSyncPart"}, Module: module(t, testModule)})
	got, err := tm.Do(testCtx(t), "readFile", file)
	require.NoError(t, err)
	assert.Equal(t, "written by the test", got)
	written := filepath.Join(t.TempDir(), "part.txt")
	_, err = tm.Do(testCtx(t), "writeSyncPart", written)
	require.NoError(t, err, "fs.writeSync takes all its arguments, and a string for stderr")
	b, err := os.ReadFile(written)
	require.NoError(t, err)
	assert.Equal(t, "cd", string(b), "offset and length are passed on")
	got, err = tm.Do(testCtx(t), "getenv", "HOME")
	require.NoError(t, err)
	assert.Equal(t, os.Getenv("HOME"), got)
	assert.NotEmpty(t, got)
}

// A HandleJS handler that reads its params where they are, and does not
// move them back, leaves them to JS once it returns: a worker fed 4 MiB
// buffers for a long while does not hold every one it was given. Go's
// js.Value lets go of its JS value only when a Go collection finalizes it,
// and a handler that allocates little in Go would hold hundreds of them
// (4 MiB each) before its heap grew enough for one.
// README: a Go worker thread has "the process's files, environment and
// stderr, as the main thread's Go program has". A server that sets a
// variable with os.Setenv before it starts its workers (a key, a mode)
// must find it in them: Go's os.Setenv changes the Go program's
// environment, not Node.js's process.env, which a thread copies by default.
func TestAWorkerThreadHasTheEnvironmentTheGoProgramSet(t *testing.T) {
	t.Setenv("ATMO_SET_BY_GO", "from-go")
	jsw := script(t, "env.js", fmt.Sprintf(`const { atmoWorker } = require(%q);
atmoWorker({ jsenv: (k) => process.env[k] ?? null });`, abs(t, repoRoot+"/jsworker/atmo-worker.js")))
	tm, _ := pool(t,
		atmo.WorkerConfig{Tasks: []string{"getenv"}, Module: module(t, testModule)},
		atmo.WorkerConfig{Tasks: []string{"jsenv"}, Script: jsw})
	got, err := tm.Do(testCtx(t), "getenv", "ATMO_SET_BY_GO")
	require.NoError(t, err)
	assert.Equal(t, "from-go", got, "a Go worker")
	got, err = tm.Do(testCtx(t), "jsenv", "ATMO_SET_BY_GO")
	require.NoError(t, err)
	assert.Equal(t, "from-go", got, "a JS worker")
}

func TestAGoHandleJSHandlerDoesNotHoldTheParamsOfEveryTaskItRan(t *testing.T) {
	tm, _ := pool(t, atmo.WorkerConfig{Tasks: []string{"peek", "external"}, Module: module(t, testModule)})
	ctx := testCtx(t)
	data := make([]byte, 4<<20)
	data[0] = 5
	for range 150 { // 600 MiB in all
		got, err := tm.Do(ctx, "peek", map[string]any{"data": data})
		require.NoError(t, err)
		require.Equal(t, 5.0, got)
	}
	held := heldMiB(t, tm)
	assert.Less(t, held, 256.0, "the worker thread still holds %.0f MiB of ArrayBuffers after 150 tasks of 4 MiB", held)
}

// heldMiB is what the test module's worker thread holds outside V8's heap,
// its ArrayBuffers, in MiB, once V8 has collected (its external task).
func heldMiB(t *testing.T, tm *atmo.TaskManager) float64 {
	t.Helper()
	external, err := tm.Do(testCtx(t), "external", nil)
	require.NoError(t, err)
	return external.(float64) / (1 << 20)
}

// A handler that reads a large Blob a chunk at a time with worker.Await
// does not hold every chunk it read: each is a JS ArrayBuffer that Go's
// js.Value lets go of only when a Go collection finalizes it, and reading
// allocates too little in Go for one to come by itself. atmo collects for
// each 64 MiB held; the last 64 MiB, and what the collection before left
// to finalize, may still be held when the handler ends: well under the
// 256 MiB it held before.
func TestAGoHandlerThatAwaitsABlobAChunkAtATimeDoesNotHoldEveryChunk(t *testing.T) {
	tm, _ := pool(t, atmo.WorkerConfig{Tasks: []string{"readBlob", "external"}, Module: module(t, testModule)})
	ctx := testCtx(t)
	u8 := js.Global().Get("Uint8Array").New(256 << 20)
	u8.SetIndex(256<<20-1, 9)
	blob := js.Global().Get("Blob").New([]any{u8})
	got, err := tm.Do(ctx, "readBlob", map[string]any{"data": blob})
	require.NoError(t, err)
	require.Equal(t, 9.0, got)
	held := heldMiB(t, tm)
	assert.Less(t, held, 192.0, "the worker thread still holds %.0f MiB of ArrayBuffers after reading a 256 MiB Blob a MiB at a time", held)
}

func TestAGoModuleBuiltForWasip1OrByAnotherGoOrTinyGoFailsItsStartOnceSayingWhatToDo(t *testing.T) {
	cases := []struct {
		file   string
		module []byte
		want   []string
	}{
		{"wasip1.wasm", atmotest.WASIModule, []string{" is built with GOOS=wasip1", "GOOS=js GOARCH=wasm go build"}},
		// It imports what the Go toolchain's wasm_exec.js does not give.
		{"go1.99.wasm", atmotest.GoModuleOfAnotherGo, []string{" is built by go1.99.0", "wasm_exec.js at ", "gojs.runtime.wasmExitOfTheFuture", "serve the wasm_exec.js of go1.99.0"}},
		{"tinygo.wasm", atmotest.TinyGoModule, []string{" looks built by TinyGo", "GOOS=js GOARCH=wasm go build"}},
	}
	for _, inWorker := range []bool{false, true} {
		for _, c := range cases {
			t.Run(map[bool]string{false: "compiled once", true: "in each thread"}[inWorker]+"/"+c.file, func(t *testing.T) {
				if inWorker {
					atmo.SetGoModuleOptions(atmo.GoModuleOptions{CompileInWorker: true})
					t.Cleanup(func() { atmo.SetGoModuleOptions(atmo.GoModuleOptions{}) })
				}
				path := filepath.Join(t.TempDir(), c.file)
				require.NoError(t, os.WriteFile(path, c.module, 0o644))
				tm, wm := start(t, atmo.WorkerConfig{Tasks: []string{"add"}, Module: path, Count: 2})
				done := make(chan error, 1)
				go func() { _, err := tm.Do(testCtx(t), "add", map[string]any{"a": 1, "b": 2}); done <- err }()
				atmotest.FailedToStartOnce(testCtx(t), t, tm, wm, done, append([]string{path + c.want[0]}, c.want[1:]...)...)
			})
		}
	}
}
