//go:build js && wasm

package nodetest

import (
	"context"
	"errors"
	"fmt"

	"github.com/atmoworkers/atmo/wasm/atmo"
)

// A ServerWorkerManager runs worker scripts on Node.js worker_threads: here
// two threads of a worker written to the seed's protocol with parentPort.
// Script is a file path (relative to the working directory) or a file: URL.
func Example() {
	tm := atmo.NewTaskManager()
	defer tm.Close()
	wm, err := atmo.NewServerWorkerManager(tm, atmo.WorkerConfig{
		Tasks:  []string{"add", "multiply", "divide", "fibonacci"},
		Script: "testdata/seed-server-worker.js",
		Count:  2,
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer wm.Close()

	ctx := context.Background()
	fib, err := tm.Do(ctx, "fibonacci", map[string]any{"n": 20})
	fmt.Println(fib, err)
	_, err = tm.Do(ctx, "divide", map[string]any{"a": 1, "b": 0})
	var te *atmo.TaskError
	if errors.As(err, &te) {
		fmt.Println(te.Message) // the worker's own error text
	}
	// Output:
	// 6765 <nil>
	// Division by zero is not allowed
}
