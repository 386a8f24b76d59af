//go:build js && wasm

// Command variety is the Go worker of the random-operation browser test
// (invariants_test.go): the same task names and answers as its JS worker.
package main

import (
	"context"
	"errors"
	"os"
	"time"

	"github.com/atmoworkers/atmo/wasm/worker"
)

type p struct {
	ID      int    `json:"id"`
	Ms      int    `json:"ms"`
	Steps   int    `json:"steps"`
	Message string `json:"message"`
}

func main() {
	worker.Handle("echo", func(_ context.Context, params any) (any, error) { return params, nil })
	worker.HandleTyped("sleep", func(ctx context.Context, q p) (any, error) {
		select {
		case <-time.After(time.Duration(q.Ms) * time.Millisecond):
			return map[string]any{"id": q.ID, "slept": true}, nil
		case <-ctx.Done():
			return nil, context.Cause(ctx)
		}
	})
	worker.HandleTyped("fail", func(_ context.Context, q p) (any, error) { return nil, errors.New(q.Message) })
	worker.HandleTyped("progress", func(ctx context.Context, q p) (any, error) {
		for i := 1; i <= q.Steps; i++ {
			if err := worker.Progress(ctx, i); err != nil {
				return nil, err
			}
			time.Sleep(time.Millisecond)
		}
		return map[string]any{"id": q.ID, "steps": q.Steps}, nil
	})
	// busy ignores its cancel: it answers after ms whatever happens.
	worker.HandleTyped("busy", func(_ context.Context, q p) (any, error) {
		time.Sleep(time.Duration(q.Ms) * time.Millisecond)
		return map[string]any{"id": q.ID, "busy": true}, nil
	})
	worker.Handle("crash", func(context.Context, any) (any, error) {
		os.Exit(3)
		return nil, nil
	})
	worker.Run()
}
