// Command sha256 is a CPU-heavy Go worker with bytes in and out: it hashes
// a Uint8Array (or text, as its UTF-8 bytes) with SHA-256, as many rounds as asked (each round hashes the
// previous digest), and answers the 32-byte digest as a Uint8Array.
//
//	tm.Do(ctx, "sha256", map[string]any{"data": []byte("hello"), "rounds": 1})
//
// sha256Stream (stream_js.go) hashes a Blob, a File or a typed array as it
// came, a chunk at a time, with worker.HandleJS.
//
// Build it with GOOS=js GOARCH=wasm (make build-wasm puts it at
// bin/wasm/workers/sha256.wasm) and start it with
// atmo.WorkerConfig{Tasks: []string{"sha256", "sha256Stream"}, Module: "/workers/sha256.wasm"}.
package main

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"math"
	"strconv"

	"github.com/atmoworkers/atmo/wasm/worker"
)

// params is {data: Uint8Array | string | number[], rounds?: number}.
type params struct {
	Data   any `json:"data"` // []byte for a typed array, string for text (hashed as its UTF-8 bytes), []any for an array of bytes, nil when missing
	Rounds int `json:"rounds"`
}

// input is the bytes params.data stands for.
func (p params) input() ([]byte, error) {
	switch d := p.Data.(type) {
	case []byte:
		return d, nil
	case string:
		return []byte(d), nil // text: its UTF-8 bytes (not read as base64, as a []byte field would)
	case []any: // numbers 0-255, as HandleTyped reads a []byte (JSON has no Uint8Array)
		b := make([]byte, len(d))
		for i, e := range d {
			f, ok := e.(float64)
			if !ok || f != math.Trunc(f) || f < 0 || f > 255 {
				return nil, fmt.Errorf("params.data[%d] is %s; an array of data holds bytes, whole numbers 0 to 255", i, describe(e))
			}
			b[i] = byte(f)
		}
		return b, nil
	case nil:
		return nil, errors.New("params.data is missing: send the bytes to hash: a Uint8Array (an empty one for the empty input), an array of byte values, or text")
	}
	return nil, fmt.Errorf("params.data is %s; send the bytes to hash: a Uint8Array, an array of byte values, or text", kind(p.Data))
}

// describe is a params value as the page sent it: a number itself, else
// its kind.
func describe(v any) string {
	if f, ok := v.(float64); ok {
		return strconv.FormatFloat(f, 'g', -1, 64)
	}
	return kind(v)
}

// kind names a params value as the page sent it.
func kind(v any) string {
	switch v.(type) {
	case float64:
		return "a number"
	case bool:
		return "a boolean"
	case []any:
		return "an array"
	case map[string]any:
		return "an object"
	}
	return fmt.Sprintf("a %T", v)
}

// progressEvery is how many rounds pass between progress reports.
const progressEvery = 100_000

func main() {
	worker.HandleTyped("sha256", func(ctx context.Context, p params) ([]byte, error) {
		data, err := p.input()
		if err != nil {
			return nil, err
		}
		if p.Rounds < 0 {
			return nil, fmt.Errorf("rounds is %d; give 1 or more (0 means 1)", p.Rounds)
		}
		sum := sha256.Sum256(data)
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
