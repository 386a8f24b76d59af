//go:build !(js && wasm)

// Command server needs Node.js: it is built for GOOS=js GOARCH=wasm and run
// by Go's Node.js runner. Built for any other platform it says how to run it.
package main

import (
	"fmt"
	"os"
)

func main() {
	fmt.Fprintln(os.Stderr, `examples/server runs under Node.js. From the repository root:

	PATH="$(go env GOROOT)/lib/wasm:$PATH" GOOS=js GOARCH=wasm go run ./examples/server`)
	os.Exit(2)
}
