//go:build !(js && wasm)

package worker

// Run serves the protocol for the life of the worker. A Go worker runs only
// as a WebAssembly module (GOOS=js GOARCH=wasm) inside a Web Worker or a
// Node.js worker_threads Worker, so in any other build Run panics saying so.
func Run() {
	panic("worker.Run: a Go worker runs only as WebAssembly in a Web Worker or worker_threads Worker; build it with GOOS=js GOARCH=wasm and start it with atmo.WorkerConfig{Module: url}")
}
