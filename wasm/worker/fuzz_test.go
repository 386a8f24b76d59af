package worker

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/atmoworkers/atmo/wasm/internal/protocol"
	"github.com/atmoworkers/atmo/wasm/internal/values"
	"github.com/stretchr/testify/require"
)

// anyHost takes whatever the worker posts and keeps the kinds.
type anyHost struct {
	mu    sync.Mutex
	kinds []any
}

func (h *anyHost) post(msg any) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.kinds = append(h.kinds, treeOf(msg)["message"])
}

// The worker runtime reads every message a host could send it, of any
// shape the wire can carry, without panicking, and says only what the
// protocol allows: ready, answers and progress.
func FuzzTheWorkerReadsAnyMessageWithoutPanicking(f *testing.F) {
	seed := func(v any) { f.Add(values.Encode(nil, v, new([]any))) }
	seed(map[string]any{"message": protocol.InitWorker, "id": "worker-1", "features": []any{protocol.FeatureBatch}})
	seed(work("task-1", "echo", map[string]any{"a": 1.0}))
	seed(work("task-2", "typed", map[string]any{"n": 3.0, "tags": []any{"x"}, "data": []byte{1, 2}}))
	seed(work("task-3", "typed", map[string]any{"n": "three", "inner": map[string]any{"deep": []any{nil, true}}}))
	seed(map[string]any{"message": protocol.WorkerWorkBatch, "workerId": "worker-1", "content": []any{
		map[string]any{"taskId": "task-4", "name": "echo", "params": 1.0},
		map[string]any{"taskId": 5.0, "name": "typed"},
	}})
	seed(map[string]any{"message": protocol.WorkerCancel, "taskId": "task-1"})
	seed([]any{workTag, "worker-1", "task-6", "echo", nil, nil})
	seed([]any{workTag, "worker-1", "task-6b", "echo", nil, "a Blob cannot be read"})
	seed([]any{loneWorkTag, "worker-1", "task-7", "echo", nil, nil})
	seed(map[string]any{"message": protocol.WorkerWork, "taskId": "task-8", "awake": "soon", "content": map[string]any{"name": "echo"}})
	type params struct {
		N     int               `json:"n"`
		Tags  []string          `json:"tags"`
		Data  []byte            `json:"data"`
		Inner map[string][]bool `json:"inner"`
		Ptr   *float64          `json:"ptr"`
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		msg, _, err := values.Decode(b, func(int) any { return nil })
		if err != nil {
			return
		}
		h := &anyHost{}
		s := newServer()
		s.port = h
		s.handle("echo", func(_ context.Context, p any) (any, error) { return p, nil })
		s.handle("typed", typed("typed", func(_ context.Context, p params) (params, error) { return p, nil }))
		s.receive(msg)
		require.Eventually(t, func() bool {
			s.mu.Lock()
			defer s.mu.Unlock()
			return len(s.running) == 0
		}, 5*time.Second, time.Millisecond, "every task the message started ends")
		h.mu.Lock()
		defer h.mu.Unlock()
		for _, k := range h.kinds {
			require.Contains(t, []any{protocol.WorkerReady, protocol.WorkerResponse, protocol.WorkerResponseBatch, protocol.WorkerProgress}, k)
		}
	})
}
