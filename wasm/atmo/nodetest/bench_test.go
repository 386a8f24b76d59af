//go:build js && wasm

package nodetest

import (
	"context"
	"fmt"
	"sync"
	"syscall/js"
	"testing"
	"time"

	"github.com/atmoworkers/atmo/wasm/atmo"
	"github.com/stretchr/testify/require"
)

// cores is Node.js's os.cpus().length (runtime.NumCPU is 1 under js/wasm).
func cores() int { return js.Global().Get("require").Invoke("os").Call("cpus").Length() }

// fibBatch runs tasks fib tasks at once on tm and waits for all of them.
func fibBatch(b *testing.B, tm *atmo.TaskManager, tasks, n int) {
	var wg sync.WaitGroup
	wg.Add(tasks)
	for i := 0; i < tasks; i++ {
		_, err := tm.AddTask(atmo.TaskParams{
			Name: "fib", Params: map[string]any{"fib": n},
			OnSuccess: func(atmo.Response) { wg.Done() },
			OnError: func(r atmo.Response) {
				b.Errorf("fib task failed: %v", r.Err)
				wg.Done()
			},
		})
		require.NoError(b, err)
	}
	wg.Wait()
}

// BenchmarkCPUSpeedup reports how much faster a batch of CPU-bound tasks
// (fibonacci(27), 8 per core) runs on one worker per core than on one worker.
// It reports; it asserts nothing about timings.
//
//	PATH="$(go env GOROOT)/lib/wasm:$PATH" GOOS=js GOARCH=wasm go test -run '^$' -bench CPUSpeedup ./wasm/atmo/nodetest/
func BenchmarkCPUSpeedup(b *testing.B) {
	const fibN = 27
	n := cores()
	tasks := 8 * n
	start := func(workers int) *atmo.TaskManager {
		tm := atmo.NewTaskManager()
		wm, err := atmo.NewServerWorkerManager(tm, atmo.WorkerConfig{Tasks: []string{"fib"}, Script: echoWorker, Count: workers})
		require.NoError(b, err)
		b.Cleanup(func() { wm.Close(); tm.Close() })
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		require.NoError(b, wm.Ready(ctx))
		fibBatch(b, tm, workers, fibN) // warm up every worker's JIT
		return tm
	}
	one, many := start(1), start(n)

	var tOne, tMany time.Duration
	b.ResetTimer()
	for b.Loop() {
		t0 := time.Now()
		fibBatch(b, one, tasks, fibN)
		t1 := time.Now()
		fibBatch(b, many, tasks, fibN)
		tOne += t1.Sub(t0)
		tMany += time.Since(t1)
	}
	b.ReportMetric(float64(tOne.Microseconds())/float64(b.N)/1e3, "ms/batch-1-worker")
	b.ReportMetric(float64(tMany.Microseconds())/float64(b.N)/1e3, fmt.Sprintf("ms/batch-%d-workers", n))
	b.ReportMetric(float64(tOne)/float64(tMany), "speedup")
}
