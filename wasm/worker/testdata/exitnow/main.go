// Command exitnow is a broken Go worker for the browser tests: it registers
// a handler but its main returns without calling worker.Run, so its Go
// runtime exits at once.
package main

import (
	"context"

	"github.com/atmoworkers/atmo/wasm/worker"
)

func main() {
	worker.Handle("add", func(context.Context, any) (any, error) { return 0.0, nil })
}
