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
