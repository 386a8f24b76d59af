//go:build js && wasm

package nodetest

import (
	"os"
	"strconv"
	"strings"
	"testing"

	"github.com/atmoworkers/atmo/host/generate"
	"github.com/atmoworkers/atmo/wasm/atmo"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// generated writes a `server` worker with the generator (as
// `go run ./host generate-worker NAME DIR server` does) into a temporary
// directory and starts it in a ServerWorkerManager. Each of added, as a
// user would, appends a handler of that name to the file: "name: code".
func generated(t *testing.T, name string, added ...string) *atmo.TaskManager {
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
	tasks := generate.Tasks(generate.TemplateFor(name))
	for _, h := range added {
		task, code, _ := strings.Cut(h, ": ")
		f, err := os.OpenFile(script, os.O_APPEND|os.O_WRONLY, 0)
		require.NoError(t, err)
		_, err = f.WriteString("\nhandlers[" + strconv.Quote(task) + "] = " + code + ";\n")
		require.NoError(t, err)
		require.NoError(t, f.Close())
		tasks = append(tasks, task)
	}
	tm, _ := pool(t, atmo.WorkerConfig{Tasks: tasks, Script: script})
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

func TestAGeneratedWorkersHandlerThatThrowsAnEmptyStringFails(t *testing.T) {
	// The seed's protocol reads an empty error as success: the generated
	// worker must not send one, whatever a handler throws.
	tm := generated(t, "math-worker", `empty: () => { throw ''; }`, `emptyError: () => { throw new Error(''); }`)
	for _, name := range []string{"empty", "emptyError"} {
		got, err := tm.Do(testCtx(t), name, nil)
		var te *atmo.TaskError
		require.ErrorAs(t, err, &te, "%s: got %v", name, got)
		assert.NotEmpty(t, te.Message, name)
	}
}
