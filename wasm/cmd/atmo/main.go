//go:build js && wasm

// Command atmo is the main-thread WebAssembly module behind web/atmo.js:
// it builds the JS API bridge and hands it to the page. Build it with
// GOOS=js GOARCH=wasm (make build writes bin/wasm/atmo.wasm).
package main

import (
	"syscall/js"

	"github.com/atmoworkers/atmo/wasm/atmo"
	"github.com/atmoworkers/atmo/wasm/jsapi"
)

func main() {
	ready := js.Global().Get("__atmoReady")
	if ready.Type() == js.TypeFunction {
		// atmo.js says where the page loaded wasm_exec.js from, for its Go
		// worker modules (loadAtmo's wasmExec option).
		if u := ready.Get("wasmExec"); u.Type() == js.TypeString && u.String() != "" {
			atmo.SetGoModuleOptions(atmo.GoModuleOptions{WasmExec: u.String()})
		}
	}
	bridge := jsapi.New()
	if ready.Type() == js.TypeFunction {
		ready.Invoke(bridge)
	} else {
		// Loaded without atmo.js: leave the bridge where a page can find it.
		js.Global().Set("atmoBridge", bridge)
	}
	select {} // serve JS calls for the life of the page
}
