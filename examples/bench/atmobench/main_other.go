//go:build !(js && wasm)

// Command atmobench runs in the bench page: it is built for GOOS=js
// GOARCH=wasm by go run ./host bench. Built for any other platform it says so.
package main

import (
	"fmt"
	"os"
)

func main() {
	fmt.Fprintln(os.Stderr, "atmobench runs in the browser's bench page; run the suite with: go run ./host bench (or make bench)")
	os.Exit(2)
}
