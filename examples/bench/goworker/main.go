// Command goworker is the worker of the "atmo with Go workers"
// implementation of the benchmark suite (go run ./host bench): the same
// three tasks as the suite's JS workers, written with wasm/worker.
//
//	echo   params back as they came
//	fib    {n} → fib(n), the naive recursion, on float64 as JS computes it
//	bytes  {data: Uint8Array, transfer} back; wasm/worker always transfers
//	       the []byte it answers, so transfer changes nothing here
//
// and two variants of bytes that take their params as they came
// (worker.HandleJS, in handlejs.go) and move data back with worker.Transfer:
//
//	bytesJS    the bytes never enter Go: no copy at all
//	bytesRead  the bytes are read into Go (one copy, into a buffer reused
//	           from task to task), and the JS original is moved back
//
// host bench builds it with GOOS=js GOARCH=wasm into bin/wasm/bench/goworker.wasm.
package main

import (
	"context"

	"github.com/atmoworkers/atmo/wasm/worker"
)

func main() {
	worker.Handle("echo", func(_ context.Context, params any) (any, error) { return params, nil })
	worker.HandleTyped("fib", func(_ context.Context, p struct {
		N float64 `json:"n"`
	}) (float64, error) {
		return fib(p.N), nil
	})
	worker.HandleTyped("bytes", func(_ context.Context, p struct {
		Data     []byte `json:"data"`
		Transfer bool   `json:"transfer"`
	}) (map[string]any, error) {
		return map[string]any{"data": p.Data, "transfer": p.Transfer}, nil
	})
	worker.Run()
}

func fib(n float64) float64 {
	if n <= 1 {
		return n
	}
	return fib(n-1) + fib(n-2)
}
