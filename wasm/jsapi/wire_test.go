//go:build js && wasm

package jsapi

import (
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
