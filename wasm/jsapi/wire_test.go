//go:build js && wasm

package jsapi

import (
	"syscall/js"
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/atmoworkers/atmo/wasm/atmo"
	"github.com/atmoworkers/atmo/wasm/internal/values"
)

// A subscriber gets nine messages a task, and the JS API's answers come one
// a task: writing them to the wire allocates nothing per message (building
// each as a []any took eight allocations).
func TestMessagesAndAnswersCrossWithoutAllocatingPerItem(t *testing.T) {
	ms := make(events, 64)
	rs := make(runItems, 64)
	for i := range ms {
		ms[i] = atmo.Message{Kind: atmo.KindTaskUpdated, Seq: uint64(i), ManagerID: "tm-1", TaskID: "task-12", WorkerID: "worker-1", Content: atmo.TaskWorking}
		rs[i] = runItem{taskID: "task-12", workerID: "worker-1", ok: true, content: 3.0}
	}
	values.Send(ms) // the wire grows once
	perCall := func(v any) float64 { return testing.AllocsPerRun(100, func() { values.Send(v) }) }
	assert.Equal(t, perCall(ms[:1]), perCall(ms), "64 messages allocate what one does")
	assert.Equal(t, perCall(rs[:1]), perCall(rs), "64 answers allocate what one does")
}

// Events cross as one flat list with each kind as a number; JS rebuilds
// each message with only the fields it has, and a kind the list does not
// know crosses as its name.
func TestEventsReachJSAsTheObjectsSubscribersGet(t *testing.T) {
	var got []map[string]any
	collect := js.FuncOf(func(_ js.Value, args []js.Value) any {
		got = append(got, values.FromJS(args[0]).(map[string]any))
		return nil
	})
	defer collect.Release()
	sendBatch(deliverEvents, collect.Value, events{
		{Kind: atmo.KindTaskClaimGranted, Seq: 7, ManagerID: "tm-1", TaskID: "task-3", WorkerID: "worker-2"},
		{Kind: atmo.KindTaskUpdated, Seq: 8, ManagerID: "tm-1", TaskID: "task-3", Content: atmo.TaskFailed, Error: "boom"},
		{Kind: "made-up", Seq: 9, ManagerID: "tm-1", Content: 0.0},
	})
	assert.Equal(t, []map[string]any{
		{"message": "task-claim-granted", "seq": 7.0, "managerId": "tm-1", "taskId": "task-3", "workerId": "worker-2"},
		{"message": "task-updated", "seq": 8.0, "managerId": "tm-1", "taskId": "task-3", "content": "failed", "error": "boom"},
		{"message": "made-up", "seq": 9.0, "managerId": "tm-1", "content": 0.0},
	}, got)
	for i, k := range eventKinds {
		assert.Equal(t, i, kindIndex(k))
	}
}
