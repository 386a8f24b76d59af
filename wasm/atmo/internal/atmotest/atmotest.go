//go:build js && wasm

// Package atmotest holds checks that the browser tests and the Node.js
// worker_threads tests both make, each with its own kind of worker, so
// that the two transports are held to the same words. (It cannot live in
// jstest: values' tests import jstest, and atmo imports values.)
package atmotest

import (
	"context"
	"syscall/js"
	"testing"
	"time"

	"github.com/atmoworkers/atmo/wasm/atmo"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// AnswerBesideAnotherTasksAnswer checks a pool whose one worker, for task
// name "t", answers each task in a worker-response-batch that also holds
// an answer to a task that is not ours ('someone-else', content 'not
// ours'), its own content being {list: [1, 2]}. Its answer reads like any
// other: into Go, or kept in JS for a RawResult task; the other is counted
// as ignored, once per task.
func AnswerBesideAnotherTasksAnswer(ctx context.Context, t *testing.T, tm *atmo.TaskManager) {
	t.Helper()
	got, err := tm.Do(ctx, "t", nil)
	require.NoError(t, err)
	assert.Equal(t, map[string]any{"list": []any{1.0, 2.0}}, got)

	answers := make(chan atmo.Response, 1)
	settle := func(r atmo.Response) { answers <- r }
	_, err = tm.AddTask(atmo.TaskParams{Name: "t", RawResult: true, OnSuccess: settle, OnError: settle})
	require.NoError(t, err)
	r := <-answers
	require.NoError(t, r.Err)
	v, ok := r.Content.(js.Value)
	require.True(t, ok, "RawResult gave %T, want js.Value, though another task's answer came in the same message", r.Content)
	assert.Equal(t, 2, v.Get("list").Length())
	assert.EqualValues(t, 2, tm.Stats().Ignored, "the other task's answers are counted as answers to unknown tasks")
}

// WASIModule is the smallest module GOOS=wasip1 could have built: it
// imports fd_write from wasi_snapshot_preview1, as every Go wasip1 program
// does, and nothing from gojs.
var WASIModule = []byte{
	0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00, // \0asm, version 1
	0x01, 0x09, 0x01, 0x60, 0x04, 0x7f, 0x7f, 0x7f, 0x7f, 0x01, 0x7f, // type 0: (i32 i32 i32 i32) -> i32
	0x02, 0x23, 0x01, // one import:
	0x16, 'w', 'a', 's', 'i', '_', 's', 'n', 'a', 'p', 's', 'h', 'o', 't', '_', 'p', 'r', 'e', 'v', 'i', 'e', 'w', '1',
	0x08, 'f', 'd', '_', 'w', 'r', 'i', 't', 'e', 0x00, 0x00, // a function of type 0
}

// NotGoModule is a valid WebAssembly module that imports nothing: no Go
// program (a C or Rust library, say).
var NotGoModule = []byte{0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00}

// GoModuleOfAnotherGo is the smallest module a Go release newer than this
// one could have built: it imports from gojs a function that this Go's
// wasm_exec.js does not give, and its producers section says go1.99.0 built
// it, as Go's linker writes it.
var GoModuleOfAnotherGo = goModule("go1.99.0", [2]string{"gojs", "runtime.wasmExitOfTheFuture"})

// GoModuleBeforeGo121 is the smallest module Go 1.20 could have built: it
// imports wasm_exec.js's functions from "go", as Go did before 1.21.
var GoModuleBeforeGo121 = goModule("go1.20.14", [2]string{"go", "runtime.wasmExit"})

// TinyGoModule is the smallest module TinyGo's js target could have built:
// it imports from "gojs" what Go's wasm_exec.js gives, and fd_write from
// "wasi_snapshot_preview1", which only TinyGo's wasm_exec.js gives.
var TinyGoModule = goModule("", [2]string{"gojs", "syscall/js.valueGet"}, [2]string{"wasi_snapshot_preview1", "fd_write"})

// goModule builds a module that imports functions, each (i32) -> (), as
// {module, name}, and names version, if any, as the Go that built it.
func goModule(version string, imports ...[2]string) []byte {
	str := func(s string) []byte { return append([]byte{byte(len(s))}, s...) } // every length here is under 128
	section := func(id byte, body ...[]byte) []byte {
		b := []byte{}
		for _, p := range body {
			b = append(b, p...)
		}
		return append([]byte{id, byte(len(b))}, b...)
	}
	m := []byte{0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00}
	m = append(m, section(1, []byte{0x01, 0x60, 0x01, 0x7f, 0x00})...) // type 0: (i32) -> ()
	list := [][]byte{{byte(len(imports))}}
	for _, im := range imports {
		list = append(list, str(im[0]), str(im[1]), []byte{0x00, 0x00}) // a function of type 0
	}
	m = append(m, section(2, list...)...)
	if version != "" {
		m = append(m, section(0, str("producers"), []byte{0x02},
			str("language"), []byte{0x01}, str("Go"), str(version),
			str("processed-by"), []byte{0x01}, str("Go cmd/compile"), str(version))...)
	}
	return m
}

// Starter is a worker manager of either transport.
type Starter interface {
	Ready(ctx context.Context) error
	Workers() []*atmo.TaskWorker
}

// FailedToStartOnce checks wm, whose workers' start can never succeed (a
// module built for another target, one with no worker.Run), and the answer
// of a task that waited for them (done): the workers closed after one try
// each, with an error holding each of want, and the task failed with it.
func FailedToStartOnce(ctx context.Context, t *testing.T, tm *atmo.TaskManager, wm Starter, done <-chan error, want ...string) {
	t.Helper()
	err := wm.Ready(ctx)
	require.ErrorIs(t, err, atmo.ErrWorkerStart)
	for _, w := range want {
		assert.ErrorContains(t, err, w)
	}
	assert.NotContains(t, err.Error(), "times in a row", "not started again")
	assert.Zero(t, tm.Stats().Restarted, "not started again")
	for _, w := range wm.Workers() {
		assert.Equal(t, atmo.WorkerClosed, w.Status(), w.ID())
	}
	if done == nil {
		return
	}
	select {
	case err := <-done:
		require.ErrorIs(t, err, atmo.ErrNoWorker)
		assert.ErrorContains(t, err, want[0])
	case <-ctx.Done():
		t.Fatal("the task that waited for the workers did not fail")
	}
}

// CancelReachesAProgressLoop checks a pool whose one worker, a Go module's,
// handles "progressSpin" (it computes and reports progress after each
// step, never waiting nor calling worker.Yield, and returns its ctx's error
// once it sees it end) and "echo". Cancelled, the handler sees its ctx end,
// as worker.Progress lets the event loop in now and then: the worker
// answers the next task without being terminated and replaced, as it is
// when a handler ignores a cancel past CancelGrace.
func CancelReachesAProgressLoop(ctx context.Context, t *testing.T, tm *atmo.TaskManager) {
	t.Helper()
	progress := make(chan struct{}, 1)
	task, err := tm.AddTask(atmo.TaskParams{Name: "progressSpin", OnProgress: func(atmo.Progress) {
		select {
		case progress <- struct{}{}:
		default:
		}
	}})
	require.NoError(t, err)
	select {
	case <-progress:
	case <-ctx.Done():
		t.Fatal("no progress report")
	}
	task.Cancel()
	require.Eventually(t, func() bool { return tm.Stats().Workers[0].InFlight == 0 }, 10*time.Second, 5*time.Millisecond)
	got, err := tm.Do(ctx, "echo", "after")
	require.NoError(t, err)
	assert.Equal(t, "after", got)
	s := tm.Stats()
	assert.Zero(t, s.Restarted, "its worker was not terminated and replaced")
	assert.Empty(t, s.Workers[0].LastError)
}
