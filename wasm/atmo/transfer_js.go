//go:build js && wasm

package atmo

import (
	"syscall/js"

	"github.com/atmoworkers/atmo/wasm/internal/values"
)

// Transfer marks a JS typed array or ArrayBuffer in params to be moved to
// the worker instead of copied: no copy is made, and v is left empty
// (detached) on this side. Use it for big binary data that already lives in
// JS (a []byte param is copied once into JS, then moved). Pair it with
// TaskParams.RawResult, and atmoWorker.transfer in the worker, for a round
// trip without a copy. Other transferables move the same way, and only so:
// an OffscreenCanvas (from a canvas's transferControlToOffscreen), an
// ImageBitmap, a MessagePort. The moved buffer leaves with the worker, so the task
// cannot be sent twice: it takes no Retries, and it fails with
// ErrWorkerCrashed should its worker be replaced while it runs. A
// SharedArrayBuffer (or a view of one) crosses shared instead, as it is:
// nothing moves, and Retries stand. Under Node.js, a small Buffer
// (Buffer.from('abc'), Buffer.allocUnsafe(10)) is a view into Node's shared
// pool, which cannot move: its own bytes cross as a copy (a Uint8Array),
// the Buffer is left as it was, and Retries stand.
func Transfer(v js.Value) any { return values.Moved{Value: v, By: "atmo.Transfer"} }

// TransferWith sends the JS value v with list, the transferables in it
// (ArrayBuffers, an OffscreenCanvas, an ImageBitmap, a MessagePort), which
// move to the worker rather than being cloned; a typed array listed moves
// its buffer, as with Transfer. As with Transfer, what moved
// leaves with the worker: the task takes no Retries, and fails with
// ErrWorkerCrashed should its worker be replaced while it runs. Under
// Node.js a small Buffer, a view into Node's shared pool, cannot be listed
// (v holds the view, and the pool cannot move): the task is refused with
// ErrBadParams; send it with Transfer. worker.TransferWith is the same in
// a Go worker.
func TransferWith(v js.Value, list ...js.Value) any {
	return values.CarryingWith(v, list, "atmo.TransferWith")
}
