//go:build js && wasm

// Command exitlater is atmo.wasm (wasm/cmd/atmo) that exits when the page
// calls globalThis.atmoTestExit(code): for the host's tests of what atmo.js
// does when its Go module ends under it (a panic, or Go running out of
// memory, end it the same way).
package main

import (
	"os"
	"syscall/js"

	"github.com/atmoworkers/atmo/wasm/jsapi"
)

func main() {
	code := make(chan int, 1)
	js.Global().Set("atmoTestExit", js.FuncOf(func(_ js.Value, args []js.Value) any {
		code <- args[0].Int()
		return nil
	}))
	js.Global().Get("__atmoReady").Invoke(jsapi.New())
	os.Exit(<-code)
}
