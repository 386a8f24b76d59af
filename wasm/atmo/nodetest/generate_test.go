//go:build js && wasm

package nodetest

import (
	"testing"

	"github.com/atmoworkers/atmo/host/generate"
	"github.com/atmoworkers/atmo/wasm/atmo"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// generated writes a `server` worker with the generator (as
// `go run ./host generate-worker NAME DIR server` does) into a temporary
// directory and starts it in a ServerWorkerManager.
func generated(t *testing.T, name string) *atmo.TaskManager {
	t.Helper()
	files, err := generate.Generate(generate.Options{Name: name, Dir: t.TempDir(), Kind: generate.Server})
	require.NoError(t, err)
	var script string
	for _, f := range files {
		if f.Role == "worker" {
			script = f.Path
		}
	}
	require.NotEmpty(t, script, "the generator wrote no worker")
	tm, _ := pool(t, atmo.WorkerConfig{Tasks: generate.Tasks(generate.TemplateFor(name)), Script: script})
	return tm
}

func TestGeneratedServerMathWorkerRuns(t *testing.T) {
	tm := generated(t, "math-worker")
	ctx := testCtx(t)
	got, err := tm.Do(ctx, "add", map[string]any{"a": 10, "b": 20})
	require.NoError(t, err)
	assert.Equal(t, 30.0, got)
	got, err = tm.Do(ctx, "sqrt", map[string]any{"a": 81})
	require.NoError(t, err)
	assert.Equal(t, 9.0, got)
	_, err = tm.Do(ctx, "divide", map[string]any{"a": 1, "b": 0})
	var te *atmo.TaskError
	require.ErrorAs(t, err, &te)
	assert.Equal(t, "Division by zero is not allowed", te.Message)
}

func TestGeneratedServerDataWorkerRuns(t *testing.T) {
	tm := generated(t, "data-processor")
	got, err := tm.Do(testCtx(t), "filter", map[string]any{
		"records": []any{map[string]any{"n": 1}, map[string]any{"n": 5}},
		"where":   []any{map[string]any{"field": "n", "op": ">", "value": 2}},
	})
	require.NoError(t, err)
	assert.Equal(t, []any{map[string]any{"n": 5.0}}, got)
}

func TestGeneratedServerImageWorkerRuns(t *testing.T) {
	tm := generated(t, "image-worker")
	image := map[string]any{"width": 1, "height": 2, "data": []byte{10, 20, 30, 255, 30, 40, 50, 255}}
	got, err := tm.Do(testCtx(t), "analyze", map[string]any{"image": image})
	require.NoError(t, err)
	m := got.(map[string]any)
	assert.Equal(t, 2.0, m["pixels"])
	assert.Equal(t, map[string]any{"r": 20.0, "g": 30.0, "b": 40.0, "a": 255.0}, m["mean"])
}
