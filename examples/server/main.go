//go:build js && wasm

// Command server is the seed's server example on atmo: CPU-heavy tasks spread
// over every core with a ServerWorkerManager on Node.js worker_threads. It
// runs the same batch on one worker and then on one worker per core, and
// prints how the tasks spread over the workers and the speedup.
//
// Run it from the repository root with Go's Node.js runner on PATH:
//
//	PATH="$(go env GOROOT)/lib/wasm:$PATH" GOOS=js GOARCH=wasm go run ./examples/server
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"sync"
	"syscall/js"
	"time"

	"github.com/atmoworkers/atmo/wasm/atmo"
)

func main() {
	cores := js.Global().Get("require").Invoke("os").Call("cpus").Length()
	tasks := flag.Int("tasks", 8*cores, "how many heavy-computation tasks to run")
	iterations := flag.Int("iterations", 2_000_000, "loop iterations of each task")
	workers := flag.Int("workers", cores, "workers of the parallel run (default: one per core, os.cpus().length)")
	script := flag.String("script", defaultScript(), "the worker script (a path or a file: URL)")
	flag.Parse()
	if err := run(*script, *tasks, *iterations, *workers, cores); err != nil {
		fmt.Fprintln(os.Stderr, "server:", err)
		os.Exit(1)
	}
}

// defaultScript is cpu-worker.js next to this file, for go run from anywhere
// in the repository.
func defaultScript() string {
	if _, file, _, ok := runtime.Caller(0); ok {
		p := filepath.Join(filepath.Dir(file), "cpu-worker.js")
		if _, err := os.Stat(p); err == nil {
			return p
		}
	}
	return "examples/server/cpu-worker.js"
}

func run(script string, tasks, iterations, workers, cores int) error {
	fmt.Printf("%d tasks of heavy-computation (%d iterations each); %d cores\n\n", tasks, iterations, cores)
	one, _, err := batch(script, 1, tasks, iterations)
	if err != nil {
		return err
	}
	fmt.Printf("1 worker:   %v\n\n", one.Round(time.Millisecond))
	many, spread, err := batch(script, workers, tasks, iterations)
	if err != nil {
		return err
	}
	fmt.Printf("%d workers: %v\n", workers, many.Round(time.Millisecond))
	for _, s := range spread {
		fmt.Printf("  %s: %d tasks\n", s.id, s.done)
	}
	fmt.Printf("\nspeedup over one worker: %.2fx\n", float64(one)/float64(many))
	return nil
}

type share struct {
	id   string
	done int
}

// batch starts n workers, waits until they are ready, then times the run of
// every task, added at once as the seed's example does.
func batch(script string, n, tasks, iterations int) (time.Duration, []share, error) {
	tm := atmo.NewTaskManager()
	defer tm.Close()
	wm, err := atmo.NewServerWorkerManager(tm, atmo.WorkerConfig{
		Tasks:  []string{"heavy-computation", "data-processing"},
		Script: script,
		Count:  n,
	})
	if err != nil {
		return 0, nil, err
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := wm.Ready(ctx); err != nil {
		return 0, nil, err
	}

	var wg sync.WaitGroup
	var mu sync.Mutex
	var failures []string
	begin := time.Now()
	for i := 0; i < tasks; i++ {
		wg.Add(1)
		_, err := tm.AddTask(atmo.TaskParams{
			Name:      "heavy-computation",
			Params:    map[string]any{"iterations": iterations},
			OnSuccess: func(atmo.Response) { wg.Done() },
			OnError: func(r atmo.Response) {
				mu.Lock()
				failures = append(failures, fmt.Sprintf("task %d: %v", i, r.Err))
				mu.Unlock()
				wg.Done()
			},
		})
		if err != nil {
			return 0, nil, err
		}
	}
	wg.Wait()
	elapsed := time.Since(begin)
	if len(failures) > 0 {
		return 0, nil, fmt.Errorf("%d tasks failed, the first: %s", len(failures), failures[0])
	}
	var spread []share
	for _, w := range wm.Workers() {
		spread = append(spread, share{w.ID(), w.TasksDone()})
	}
	return elapsed, spread, wm.Close()
}
