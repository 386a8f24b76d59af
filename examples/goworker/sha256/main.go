// Command sha256 is a CPU-heavy Go worker with bytes in and out: it hashes
// a Uint8Array with SHA-256, as many rounds as asked (each round hashes the
// previous digest), and answers the 32-byte digest as a Uint8Array.
//
//	tm.Do(ctx, "sha256", map[string]any{"data": []byte("hello"), "rounds": 1})
//
// sha256Stream (stream_js.go) hashes a Blob, a File or a typed array as it
// came, a chunk at a time, with worker.HandleJS.
//
// Build it with GOOS=js GOARCH=wasm (make build-wasm puts it at
// bin/wasm/workers/sha256.wasm) and start it with
// atmo.WorkerConfig{Tasks: []string{"sha256"}, Module: "/workers/sha256.wasm"}.
package main

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"

	"github.com/atmoworkers/atmo/wasm/worker"
)

// params is {data: Uint8Array, rounds?: number}.
type params struct {
	Data   *[]byte `json:"data"` // nil: no data given, which is not the empty input
	Rounds int     `json:"rounds"`
}

// progressEvery is how many rounds pass between progress reports.
const progressEvery = 100_000

func main() {
	worker.HandleTyped("sha256", func(ctx context.Context, p params) ([]byte, error) {
		if p.Data == nil {
			return nil, errors.New("params.data is missing: send the bytes to hash, a Uint8Array (an empty one for the empty input)")
		}
		if p.Rounds < 0 {
			return nil, fmt.Errorf("rounds is %d; give 1 or more (0 means 1)", p.Rounds)
		}
		sum := sha256.Sum256(*p.Data)
		for i := 1; i < p.Rounds; i++ {
			if i%progressEvery == 0 {
				// A cancel reaches a Go worker only when it waits:
				// Yield lets it in, and says if it came.
				if err := worker.Yield(ctx); err != nil {
					return nil, err // the host cancelled the task
				}
				_ = worker.Progress(ctx, float64(i)/float64(p.Rounds))
			}
			sum = sha256.Sum256(sum[:])
		}
		return sum[:], nil
	})
	worker.Run()
}
