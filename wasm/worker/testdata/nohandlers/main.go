//go:build js && wasm

// Command nohandlers is a Go worker that calls worker.Run without having
// registered a handler, as one whose handlers are registered in a file left
// out of the build, or after Run, would: for the test that says so.
package main

import "github.com/atmoworkers/atmo/wasm/worker"

func main() {
	worker.Run()
}
