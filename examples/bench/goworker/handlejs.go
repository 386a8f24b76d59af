//go:build js && wasm

package main

import (
	"context"
	"fmt"
	"sync"
	"syscall/js"

	"github.com/atmoworkers/atmo/wasm/worker"
)

// The tasks that take their params as they came (worker.HandleJS), which
// only a js/wasm build has.
func init() {
	worker.HandleJS("bytesJS", func(_ context.Context, p js.Value) (any, error) {
		return map[string]any{"data": worker.Transfer(p.Get("data")), "transfer": true}, nil
	})
	worker.HandleJS("bytesRead", func(_ context.Context, p js.Value) (any, error) {
		data := p.Get("data")
		mu.Lock()
		defer mu.Unlock()
		if n := data.Get("byteLength").Int(); cap(buf) < n {
			buf = make([]byte, n)
		}
		b := buf[:js.CopyBytesToGo(buf[:cap(buf)], data)]
		if len(b) > 0 && (b[0] != 7 || b[len(b)-1] != 7) {
			return nil, fmt.Errorf("bytesRead: read %d and %d at the ends, want 7", b[0], b[len(b)-1])
		}
		return map[string]any{"data": worker.Transfer(data), "transfer": true}, nil
	})
}

// buf is bytesRead's: one buffer for every task, as a handler that reads
// large data would keep one, instead of a new slice (zeroed, its memory
// touched afresh) each time.
var (
	mu  sync.Mutex
	buf []byte
)
