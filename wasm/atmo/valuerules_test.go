//go:build js && wasm

package atmo_test

import (
	"syscall/js"
	"testing"

	"github.com/atmoworkers/atmo/wasm/atmo"
	"github.com/atmoworkers/atmo/wasm/internal/jstest"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// A JS worker's answer that structured clone keeps as a non-plain object
// arrives faithfully by the value rules, or fails its task saying what to
// do: never a silent {} or nil.
const valueRulesWorker = `atmoWorker({
  map: () => new Map([['a', 1], [2, 'two']]),
  set: () => new Set(['x', 'x', 3]),
  regexp: () => /a+/g,
  falseObject: () => new Boolean(false),
  image: () => new ImageData(new Uint8ClampedArray([1, 2, 3, 4, 5, 6, 7, 8]), 2, 1),
  point: () => new DOMPoint(1, 2),
  blob: () => new Blob(['hello']),
  bigint: () => 10n,
  nested: ({ levels }) => { let v = 'leaf'; for (let i = 0; i < levels; i++) v = [v]; return v; },
  report: (_, { progress }) => {
    progress(new Map([['step', 1]]));
    progress({ file: new Blob([]) });
    progress(new Set([2]));
    return 'done';
  },
});`

var valueRulesTasks = []string{"map", "set", "regexp", "falseObject", "image", "point", "blob", "bigint", "nested", "report"}

func TestAJSWorkersNonPlainAnswersArriveByTheValueRules(t *testing.T) {
	tm, _ := pool(t, atmo.WorkerConfig{Tasks: valueRulesTasks, Script: jstest.HelperWorker(t, valueRulesWorker)})
	for name, want := range map[string]any{
		"map":         map[string]any{"a": 1.0, "2": "two"},
		"set":         []any{"x", 3.0},
		"regexp":      "/a+/g",
		"falseObject": false,
		"image": map[string]any{"width": 2.0, "height": 1.0, "colorSpace": "srgb",
			"data": []byte{1, 2, 3, 4, 5, 6, 7, 8}},
		"point": map[string]any{"x": 1.0, "y": 2.0, "z": 0.0, "w": 1.0},
	} {
		got, err := tm.Do(testCtx(t), name, nil)
		require.NoError(t, err, name)
		assert.Equal(t, want, got, name)
	}
}

func TestAJSWorkersBlobOrBigIntAnswerFailsItsTaskSayingWhatToDo(t *testing.T) {
	tm, _ := pool(t, atmo.WorkerConfig{Tasks: valueRulesTasks, Script: jstest.HelperWorker(t, valueRulesWorker)})
	_, err := tm.Do(testCtx(t), "blob", nil)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "the worker's answer cannot be read: a Blob cannot be read as a Go value: "+
		"send its bytes (await blob.arrayBuffer()), or take it as it came: a task's result with RawResult (raw: true in the JS API), a Go worker's params with HandleJS")
	_, err = tm.Do(testCtx(t), "bigint", nil)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "the worker's answer cannot be read: a BigInt (10n) cannot be read as a Go value: convert it with Number() or String() first")

	res := make(chan atmo.Response, 1)
	settle := func(r atmo.Response) { res <- r }
	_, err = tm.AddTask(atmo.TaskParams{Name: "blob", RawResult: true, OnSuccess: settle, OnError: settle})
	require.NoError(t, err)
	r := <-res
	require.NoError(t, r.Err, "as the message says, RawResult takes it as it came")
	blob, ok := r.Content.(js.Value)
	require.True(t, ok, "a js.Value, got %T", r.Content)
	assert.True(t, blob.InstanceOf(js.Global().Get("Blob")))
	assert.Equal(t, 5, blob.Get("size").Int())
}

func TestAJSWorkersAnswerNestedDeeperThanGoSendsFailsItsTask(t *testing.T) {
	// Go sends a value nested 64 levels and refuses 65; an answer is read
	// by the same rule, not cut short with a nil where its depth ran out.
	tm, _ := pool(t, atmo.WorkerConfig{Tasks: valueRulesTasks, Script: jstest.HelperWorker(t, valueRulesWorker)})
	nested := func(levels int) any {
		var v any = "leaf"
		for range levels {
			v = []any{v}
		}
		return v
	}
	got, err := tm.Do(testCtx(t), "nested", map[string]any{"levels": 64})
	require.NoError(t, err)
	assert.Equal(t, nested(64), got)
	_, err = tm.Do(testCtx(t), "nested", nested(65))
	require.ErrorIs(t, err, atmo.ErrBadParams, "as params, 65 levels are refused")
	for _, levels := range []int{65, 66, 200} {
		_, err = tm.Do(testCtx(t), "nested", map[string]any{"levels": levels})
		require.Error(t, err, "%d levels", levels)
		assert.Contains(t, err.Error(), "the worker's answer cannot be read: it nests deeper than 64 levels", "%d levels", levels)
	}
}

func TestAJSWorkersProgressReportThatGoCannotReadIsDroppedAndCounted(t *testing.T) {
	tm, _ := pool(t, atmo.WorkerConfig{Tasks: valueRulesTasks, Script: jstest.HelperWorker(t, valueRulesWorker)})
	before := tm.Stats().Ignored
	reports, r := runWithProgress(t, tm, "report", nil)
	require.NoError(t, r.Err)
	assert.Equal(t, []any{map[string]any{"step": 1.0}, []any{2.0}}, reports, "the report with a Blob is dropped, not read as {file: nil}")
	assert.Equal(t, before+1, tm.Stats().Ignored)
}
