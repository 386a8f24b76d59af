// Command neverruns is a broken Go worker for the Node.js tests: its main
// registers a handler and then waits for ever without calling worker.Run, so
// it never answers init-worker.
package main

import (
	"context"
	"time"

	"github.com/atmoworkers/atmo/wasm/worker"
)

func main() {
	worker.Handle("add", func(context.Context, any) (any, error) { return 0.0, nil })
	time.Sleep(time.Hour) // loading a model, say, before a worker.Run that never comes
}
