//go:build js && wasm

package atmo

import "fmt"

// spawnGoWebWorker starts a Web Worker running a Go WASM worker module.
func spawnGoWebWorker(w *TaskWorker) (transport, error) {
	return nil, fmt.Errorf("Go WASM worker modules are not supported yet (%s)", w.config.Module)
}
