//go:build js && wasm

package worker

import (
	"syscall/js"

	"github.com/atmoworkers/atmo/wasm/internal/values"
)

// Transfer marks a JS typed array or ArrayBuffer in a handler's result (or
// a progress report) to be moved to the host instead of copied: no copy is
// made, and v is left empty (detached) in this worker. Use it for big
// binary data that already lives in JS; a []byte result is moved already,
// after one copy out of Go's memory. The host reads it as []byte, or takes
// it as the typed array it is with TaskParams.RawResult (raw: true in the
// JS API).
func Transfer(v js.Value) any { return values.Moved{Value: v, By: "worker.Transfer"} }

// TransferWith sends the JS value v with list, the transferables in it (an
// OffscreenCanvas, an ImageBitmap, a MessagePort, ArrayBuffers), which are
// moved to the host rather than cloned (a typed array listed moves its
// buffer, as with Transfer); some, like an OffscreenCanvas, can
// only cross that way. A value Go cannot read (an OffscreenCanvas) reaches
// only a task that takes its result raw (TaskParams.RawResult).
func TransferWith(v js.Value, list ...js.Value) any {
	return values.CarryingWith(v, list, "worker.TransferWith")
}
