//go:build js && wasm

package workertest_test

import (
	"context"
	"testing"
	"time"

	"github.com/atmoworkers/atmo/examples/workers"
	"github.com/atmoworkers/atmo/wasm/atmo"
	"github.com/atmoworkers/atmo/wasm/atmo/workertest"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// What a page's test in another module does: its workers from a helper
// script, an embedded script and a Go module it built, none of which
// wasmbrowsertest serves.
func TestWorkersStartFromEveryKindOfBlobURL(t *testing.T) {
	tm := atmo.NewTaskManager()
	defer tm.Close()
	wm, err := atmo.NewBrowserWorkerManager(tm,
		atmo.WorkerConfig{Tasks: []string{"greet"}, Script: workertest.HelperScriptURL(t, "atmoWorker({ greet: ({ name }) => `hello, ${name}` });")},
		atmo.WorkerConfig{Tasks: []string{"add"}, Script: workertest.FSURL(t, workers.FS, "math-worker.js")},
		atmo.WorkerConfig{Tasks: []string{"multiply"}, Module: workertest.FileURL(t, "../../../bin/wasm/workers/math.wasm")},
		atmo.WorkerConfig{Tasks: []string{"double"}, Script: workertest.ScriptURL(t, `self.onmessage = (e) => {
  const d = e.data;
  if (d.message === 'init-worker') self.postMessage({ message: 'worker-ready', workerId: d.id });
  if (d.message === 'worker-work') self.postMessage({ message: 'worker-response', taskId: d.taskId, workerId: d.workerId, content: d.content.params * 2 });
};`)},
	)
	require.NoError(t, err)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	require.NoError(t, wm.Ready(ctx))
	for _, c := range []struct {
		name   string
		params any
		want   any
	}{
		{"greet", map[string]any{"name": "CI"}, "hello, CI"},
		{"add", map[string]any{"a": 2, "b": 3}, 5.0},
		{"multiply", map[string]any{"a": 6, "b": 7}, 42.0},
		{"double", 21, 42.0},
	} {
		got, err := tm.Do(ctx, c.name, c.params)
		require.NoError(t, err, c.name)
		assert.Equal(t, c.want, got, c.name)
	}
}
