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
	"fmt"
	"math"

	"github.com/atmoworkers/atmo/wasm/worker"
)

// maxFibonacci is the largest fibonacci input: it is computed the slow way,
// as a CPU load for demos and benchmarks.
const maxFibonacci = 45

// number is params[key], which must be a number, said as the JS worker says it.
func number(params any, key string) (float64, error) {
	p, _ := params.(map[string]any)
	v, ok := p[key].(float64)
	if !ok || math.IsNaN(v) {
		return 0, fmt.Errorf("params.%s must be a number", key)
	}
	return v, nil
}

func main() {
	binary := func(name string, f func(a, b float64) (float64, error)) {
		worker.Handle(name, func(_ context.Context, params any) (any, error) {
			a, err := number(params, "a")
			if err != nil {
				return nil, err
			}
			b, err := number(params, "b")
			if err != nil {
				return nil, err
			}
			return f(a, b)
		})
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
	binary("power", func(a, b float64) (float64, error) { return pow(a, b), nil })
	worker.Handle("sqrt", func(_ context.Context, params any) (any, error) {
		a, err := number(params, "a")
		if err != nil {
			return nil, err
		}
		if a < 0 {
			return nil, errors.New("Square root of a negative number is not real")
		}
		return math.Sqrt(a), nil
	})
	worker.Handle("fibonacci", func(_ context.Context, params any) (any, error) {
		n, err := number(params, "n")
		if err != nil {
			return nil, err
		}
		if n < 0 {
			return nil, errors.New("Fibonacci input must be non-negative")
		}
		if n != math.Trunc(n) || n > maxFibonacci {
			return nil, fmt.Errorf("Fibonacci input must be a whole number up to %d (it is computed the slow way, as a CPU load)", maxFibonacci)
		}
		return fibonacci(n), nil
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
