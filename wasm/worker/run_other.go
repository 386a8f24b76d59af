//go:build !(js && wasm)

package worker

import "context"

// Run serves the protocol for the life of the worker. A Go worker runs only
// as a WebAssembly module (GOOS=js GOARCH=wasm) inside a Web Worker or a
// Node.js worker_threads Worker, so in any other build Run panics saying so.
func Run() {
	panic("worker.Run: a Go worker runs only as WebAssembly in a Web Worker or worker_threads Worker; build it with GOOS=js GOARCH=wasm and start it with atmo.WorkerConfig{Module: url}")
}

// Yield lets the worker's event loop run (see the js/wasm Yield); here there
// is none, so it only returns ctx's error.
func Yield(ctx context.Context) error { return ctx.Err() }

// progressYield lets the event loop run now and then (see Progress); here
// there is none.
func progressYield() {}
