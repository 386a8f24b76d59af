// Command math is a Go worker with the same tasks and results as the JS
// worker examples/workers/math-worker.js: add, subtract, multiply, divide,
// power, sqrt and fibonacci, on numbers as JS has them (float64).
//
// Build it with GOOS=js GOARCH=wasm (make build-wasm puts it at
// bin/wasm/workers/math.wasm) and start it with
// atmo.WorkerConfig{Tasks: [...], Module: "/workers/math.wasm"}.
package main

import (
	"context"
	"errors"
	"math"

	"github.com/atmoworkers/atmo/wasm/worker"
)

// pair is the params of the two-operand tasks: {a, b}.
type pair struct {
	A float64 `json:"a"`
	B float64 `json:"b"`
}

func main() {
	binary := func(name string, f func(a, b float64) (float64, error)) {
		worker.HandleTyped(name, func(_ context.Context, p pair) (float64, error) { return f(p.A, p.B) })
	}
	binary("add", func(a, b float64) (float64, error) { return a + b, nil })
	binary("subtract", func(a, b float64) (float64, error) { return a - b, nil })
	binary("multiply", func(a, b float64) (float64, error) { return a * b, nil })
	binary("divide", func(a, b float64) (float64, error) {
		if b == 0 {
			return 0, errors.New("Division by zero is not allowed")
		}
		return a / b, nil
	})
	binary("power", func(a, b float64) (float64, error) { return math.Pow(a, b), nil })
	worker.HandleTyped("sqrt", func(_ context.Context, p struct {
		A float64 `json:"a"`
	}) (float64, error) {
		if p.A < 0 {
			return 0, errors.New("Square root of a negative number is not real")
		}
		return math.Sqrt(p.A), nil
	})
	worker.HandleTyped("fibonacci", func(_ context.Context, p struct {
		N float64 `json:"n"`
	}) (float64, error) {
		if p.N < 0 {
			return 0, errors.New("Fibonacci input must be non-negative")
		}
		return fibonacci(p.N), nil
	})
	worker.Run()
}

// fibonacci is the JS worker's recursion, on float64 as JS computes it.
func fibonacci(n float64) float64 {
	if n <= 1 {
		return n
	}
	return fibonacci(n-1) + fibonacci(n-2)
}
