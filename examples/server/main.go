//go:build js && wasm

// Command server is the seed's server example on atmo: CPU-heavy tasks spread
// over every core with a ServerWorkerManager on Node.js worker_threads. It
// runs the same batch on one worker and then on one worker per core, and
// prints how the tasks spread over the workers and the speedup.
//
// Run it from the repository root with Go's Node.js runner on PATH:
//
//	PATH="$(go env GOROOT)/lib/wasm:$PATH" GOOS=js GOARCH=wasm go run ./examples/server
//
// With -go, the workers are the Go WASM worker module
// bin/wasm/workers/sha256.wasm (built by make build-wasm) instead of the JS
// script cpu-worker.js.
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
	goWorker := flag.Bool("go", false, "use the Go WASM worker module -module (sha256 rounds) instead of -script")
	module := flag.String("module", defaultModule(), "the Go worker module for -go (built by make build-wasm)")
	flag.Parse()
	if *workers < 1 || *tasks < 1 || *iterations < 1 {
		fmt.Fprintln(os.Stderr, "server: -workers, -tasks and -iterations must be 1 or more")
		os.Exit(2)
	}
	l := load{
		config: atmo.WorkerConfig{Tasks: []string{"heavy-computation", "data-processing"}, Script: *script},
		name:   "heavy-computation", params: map[string]any{"iterations": *iterations},
		what: fmt.Sprintf("heavy-computation (%d iterations each) on %s", *iterations, *script),
	}
	if *goWorker {
		rounds := max(1, *iterations/40) // a SHA-256 round costs about 40 loop iterations of cpu-worker.js; the worker does 1 at least
		l = load{
			config: atmo.WorkerConfig{Tasks: []string{"sha256"}, Module: *module},
			name:   "sha256", params: map[string]any{"data": []byte("atmo"), "rounds": rounds},
			what: fmt.Sprintf("sha256 (%d rounds each) on the Go module %s", rounds, *module),
		}
	}
	if err := run(l, *tasks, *workers, cores); err != nil {
		fmt.Fprintln(os.Stderr, "server:", err)
		os.Exit(1)
	}
}

// defaultModule is the sha256 Go worker make build-wasm builds, in the
// repository this file is in, for go run from anywhere in it.
func defaultModule() string {
	if _, file, _, ok := runtime.Caller(0); ok {
		p := filepath.Join(filepath.Dir(file), "..", "..", "bin", "wasm", "workers", "sha256.wasm")
		if _, err := os.Stat(p); err == nil {
			return filepath.Clean(p)
		}
	}
	return "bin/wasm/workers/sha256.wasm"
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

// load is the kind of task the example runs, and on which workers.
type load struct {
	config atmo.WorkerConfig
	name   string
	params any
	what   string
}

func run(l load, tasks, workers, cores int) error {
	fmt.Printf("%d tasks of %s; %d cores\n\n", tasks, l.what, cores)
	one, _, err := batch(l, 1, tasks)
	if err != nil {
		return err
	}
	fmt.Printf("1 worker:   %v\n\n", one.Round(time.Millisecond))
	many, spread, err := batch(l, workers, tasks)
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
// the tasks and counts how many each worker ran.
func batch(l load, n, tasks int) (time.Duration, []share, error) {
	tm := atmo.NewTaskManager()
	defer tm.Close()
	c := l.config
	c.Count = n
	wm, err := atmo.NewServerWorkerManager(tm, c)
	if err != nil {
		return 0, nil, err
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := wm.Ready(ctx); err != nil {
		return 0, nil, err
	}

	// Warm up: one task per worker, untimed, so the engine has compiled the
	// hot code to optimized machine code before the measured batch.
	if err := runAll(tm, l, n); err != nil {
		return 0, nil, err
	}
	before := map[string]int{}
	for _, w := range wm.Workers() {
		before[w.ID()] = w.TasksDone()
	}
	begin := time.Now()
	if err := runAll(tm, l, tasks); err != nil {
		return 0, nil, err
	}
	elapsed := time.Since(begin)
	var spread []share
	for _, w := range wm.Workers() {
		spread = append(spread, share{w.ID(), w.TasksDone() - before[w.ID()]})
	}
	return elapsed, spread, wm.Close()
}

// runAll adds tasks copies of l's task at once, as the seed's example does,
// and waits for all of them.
func runAll(tm *atmo.TaskManager, l load, tasks int) error {
	var wg sync.WaitGroup
	var mu sync.Mutex
	var failures []string
	for i := 0; i < tasks; i++ {
		wg.Add(1)
		_, err := tm.AddTask(atmo.TaskParams{
			Name:      l.name,
			Params:    l.params,
			OnSuccess: func(atmo.Response) { wg.Done() },
			OnError: func(r atmo.Response) {
				mu.Lock()
				failures = append(failures, fmt.Sprintf("task %d: %v", i, r.Err))
				mu.Unlock()
				wg.Done()
			},
		})
		if err != nil {
			return err
		}
	}
	wg.Wait()
	if len(failures) > 0 {
		return fmt.Errorf("%d tasks failed, the first: %s", len(failures), failures[0])
	}
	return nil
}
