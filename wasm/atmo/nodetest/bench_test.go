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

// cpuLoad is a CPU-bound task for a kind of worker.
type cpuLoad struct {
	config atmo.WorkerConfig
	name   string
	params any
}

// batch runs tasks copies of the load at once on tm and waits for all of them.
func batch(b *testing.B, tm *atmo.TaskManager, l cpuLoad, tasks int) {
	var wg sync.WaitGroup
	wg.Add(tasks)
	for i := 0; i < tasks; i++ {
		_, err := tm.AddTask(atmo.TaskParams{
			Name: l.name, Params: l.params,
			OnSuccess: func(atmo.Response) { wg.Done() },
			OnError: func(r atmo.Response) {
				b.Errorf("%s task failed: %v", l.name, r.Err)
				wg.Done()
			},
		})
		require.NoError(b, err)
	}
	wg.Wait()
}

// BenchmarkCPUSpeedup reports how much faster a batch of CPU-bound tasks (8
// per core) runs on one worker per core than on one worker: JS workers
// computing fibonacci(27), and Go workers hashing with SHA-256. It reports;
// it asserts nothing about timings.
//
//	PATH="$(go env GOROOT)/lib/wasm:$PATH" GOOS=js GOARCH=wasm go test -run '^$' -bench CPUSpeedup ./wasm/atmo/nodetest/
func BenchmarkCPUSpeedup(b *testing.B) {
	loads := map[string]cpuLoad{
		"js": {atmo.WorkerConfig{Tasks: []string{"fib"}, Script: echoWorker}, "fib", map[string]any{"fib": 27}},
		"go": {atmo.WorkerConfig{Tasks: []string{"sha256"}, Module: repoRoot + "/bin/wasm/workers/sha256.wasm"},
			"sha256", map[string]any{"data": []byte("atmo"), "rounds": 50_000}},
	}
	for _, kind := range []string{"js", "go"} {
		b.Run(kind, func(b *testing.B) { speedup(b, loads[kind]) })
	}
}

func speedup(b *testing.B, l cpuLoad) {
	n := cores()
	tasks := 8 * n
	start := func(workers int) *atmo.TaskManager {
		tm := atmo.NewTaskManager()
		c := l.config
		c.Count = workers
		wm, err := atmo.NewServerWorkerManager(tm, c)
		require.NoError(b, err)
		b.Cleanup(func() { wm.Close(); tm.Close() })
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		require.NoError(b, wm.Ready(ctx), "Go modules are built by make build-wasm")
		batch(b, tm, l, workers) // warm every worker up
		return tm
	}
	one, many := start(1), start(n)

	var tOne, tMany time.Duration
	b.ResetTimer()
	for b.Loop() {
		t0 := time.Now()
		batch(b, one, l, tasks)
		t1 := time.Now()
		batch(b, many, l, tasks)
		tOne += t1.Sub(t0)
		tMany += time.Since(t1)
	}
	b.ReportMetric(float64(tOne.Microseconds())/float64(b.N)/1e3, "ms/batch-1-worker")
	b.ReportMetric(float64(tMany.Microseconds())/float64(b.N)/1e3, fmt.Sprintf("ms/batch-%d-workers", n))
	b.ReportMetric(float64(tOne)/float64(tMany), "speedup")
}

// BenchmarkRoundTrip reports the time of one echo task at a time on one
// worker_threads worker written with atmo-worker.js, asleep between tasks
// and kept awake (WorkerConfig.KeepAwake 100 µs): two pools, taking turns
// in blocks of 100 tasks, so that both see the same machine. It reports
// µs per task for each (ns/op counts one task on each); it asserts
// nothing about timings.
//
//	PATH="$(go env GOROOT)/lib/wasm:$PATH" GOOS=js GOARCH=wasm go test -run '^$' -bench RoundTrip ./wasm/atmo/nodetest/
func BenchmarkRoundTrip(b *testing.B) {
	asleep, _ := pool(b, atmo.WorkerConfig{Tasks: []string{"echo"}, Script: abs(b, echoWorker)})
	awake, _ := pool(b, atmo.WorkerConfig{Tasks: []string{"echo"}, Script: abs(b, echoWorker), KeepAwake: 100 * time.Microsecond})
	ctx := context.Background()
	block := func(tm *atmo.TaskManager, n int) time.Duration {
		start := time.Now()
		for range n {
			if _, err := tm.Do(ctx, "echo", 1.0); err != nil {
				b.Fatal(err)
			}
		}
		return time.Since(start)
	}
	block(asleep, 200) // warm up
	block(awake, 200)
	b.ResetTimer()
	var times [2]time.Duration
	var tasks int
	for left := b.N; left > 0; left -= 100 {
		n := min(left, 100)
		times[0] += block(asleep, n)
		times[1] += block(awake, n)
		tasks += n
	}
	b.ReportMetric(float64(times[0].Microseconds())/float64(tasks), "µs/task-asleep")
	b.ReportMetric(float64(times[1].Microseconds())/float64(tasks), "µs/task-awake")
}
